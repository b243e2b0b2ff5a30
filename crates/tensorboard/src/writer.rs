//! [`EventWriter`]: appends scalar and text summaries to one event file, and [`read_event_file`],
//! its inverse for checks on the Rust side.
//!
//! The writer never reads the clock: every wall time comes from the caller, so a test can pin it
//! and the file name (which embeds it) is predictable.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use prost::Message;

use crate::error::TensorboardError;
use crate::proto::{
    event, summary, summary_metadata, DataType, Event, Summary, SummaryMetadata, TensorProto, TensorShapeProto,
};
use crate::record::{encode_record, read_records};

/// The `file_version` of the first record. TensorBoard parses the number after the colon; version
/// 2 makes it purge stale steps only on an explicit `SessionLog.START` (which this crate never
/// writes) instead of whenever a step goes backwards.
pub const FILE_VERSION: &str = "brain.Event:2";

/// The plugin that shows string tensors as (Markdown) text.
pub const TEXT_PLUGIN: &str = "text";

/// The name TensorFlow gives an event file: `events.out.tfevents.<secs>.<host>`, with `secs` the
/// integer part of `wall_time` (saturating; NaN gives 0). TensorBoard only requires `tfevents` in
/// the name and loads a directory's files in name order, so the seconds also order the files of a
/// run that was written more than once. Path separators and NUL in `host` become `_`, so that the
/// host cannot move the file out of its directory.
pub fn file_name(wall_time: f64, host: &str) -> String {
    let secs = wall_time as i64;
    let host: String = host.chars().map(|c| if matches!(c, '/' | '\\' | '\0') { '_' } else { c }).collect();
    format!("events.out.tfevents.{secs}.{host}")
}

/// Wraps `text` in a fenced Markdown code block (with `info`, e.g. `"toml"`, after the opening
/// fence), so that TensorBoard's text plugin, which renders Markdown, shows it verbatim: without
/// it a TOML comment `# ...` becomes a heading and the lines of a table run together. The fence is
/// one backtick longer than the longest run of backticks in `text`, and at least three.
pub fn markdown_code_block(text: &str, info: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    let newline = if text.ends_with('\n') || text.is_empty() { "" } else { "\n" };
    format!("{fence}{info}\n{text}{newline}{fence}\n")
}

/// Writes one event file. Records go through a `BufWriter`; call [`EventWriter::flush`] at the
/// end of each epoch so that a TensorBoard watching the directory sees them (dropping the writer
/// also flushes, but cannot report an error, and does not fsync).
#[derive(Debug)]
pub struct EventWriter {
    path: PathBuf,
    out: BufWriter<File>,
}

impl EventWriter {
    /// Creates `dir` (and its parents), then the file [`file_name`]`(wall_time, host)` in it, and
    /// writes and flushes the `file_version` record at step 0.
    ///
    /// Fails if the file already exists: two writers on one file would interleave records, and a
    /// retrained run is expected to have its old directory deleted by the caller first.
    pub fn create(dir: &Path, wall_time: f64, host: &str) -> Result<Self, TensorboardError> {
        fs::create_dir_all(dir).map_err(|cause| TensorboardError::CreateDir { path: dir.to_path_buf(), cause })?;
        let path = dir.join(file_name(wall_time, host));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|cause| TensorboardError::Create { path: path.clone(), cause })?;
        let mut writer = EventWriter { path, out: BufWriter::new(file) };
        writer.write_event(&Event {
            wall_time,
            step: 0,
            what: Some(event::What::FileVersion(FILE_VERSION.to_owned())),
        })?;
        writer.flush()?;
        Ok(writer)
    }

    /// Writes the scalar `value` for `tag` at `step`.
    pub fn scalar(&mut self, tag: &str, step: i64, value: f32, wall_time: f64) -> Result<(), TensorboardError> {
        let value = summary::Value {
            tag: tag.to_owned(),
            // No metadata: TensorBoard maps `simple_value` to the scalars plugin on its own.
            metadata: None,
            value: Some(summary::value::Value::SimpleValue(value)),
        };
        self.write_summary(value, step, wall_time)
    }

    /// Writes `text` for `tag` at `step`, as the text plugin expects it: a scalar (shape `[]`)
    /// `DT_STRING` tensor holding the UTF-8 bytes, tagged with plugin `"text"`. TensorBoard
    /// renders it as Markdown, so callers that want verbatim text (e.g. TOML) should wrap it with
    /// [`markdown_code_block`] first.
    pub fn text(&mut self, tag: &str, step: i64, text: &str, wall_time: f64) -> Result<(), TensorboardError> {
        let value = summary::Value {
            tag: tag.to_owned(),
            // Written on every text value, not only the first per tag: readers keep the first
            // they see, and a reader that starts mid-file still learns the plugin.
            metadata: Some(SummaryMetadata {
                plugin_data: Some(summary_metadata::PluginData {
                    plugin_name: TEXT_PLUGIN.to_owned(),
                    // `TextPluginData { version: 0 }` serializes to nothing.
                    content: Vec::new(),
                }),
            }),
            value: Some(summary::value::Value::Tensor(TensorProto {
                dtype: DataType::DtString as i32,
                tensor_shape: Some(TensorShapeProto { dim: Vec::new() }),
                string_val: vec![text.as_bytes().to_vec()],
            })),
        };
        self.write_summary(value, step, wall_time)
    }

    /// Flushes the buffer and fsyncs the file, so that a TensorBoard reading it while training
    /// goes on sees whole records, and a crash loses at most the records written since.
    pub fn flush(&mut self) -> Result<(), TensorboardError> {
        self.out.flush().map_err(|cause| TensorboardError::Write { path: self.path.clone(), cause })?;
        // Data only: the file's size is included, its timestamps are not needed.
        self.out.get_ref().sync_data().map_err(|cause| TensorboardError::Sync { path: self.path.clone(), cause })
    }

    /// The event file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_summary(&mut self, value: summary::Value, step: i64, wall_time: f64) -> Result<(), TensorboardError> {
        self.write_event(&Event { wall_time, step, what: Some(event::What::Summary(Summary { value: vec![value] })) })
    }

    fn write_event(&mut self, event: &Event) -> Result<(), TensorboardError> {
        let record = encode_record(&event.encode_to_vec());
        self.out.write_all(&record).map_err(|cause| TensorboardError::Write { path: self.path.clone(), cause })
    }
}

/// Reads an event file back: every record's CRCs are verified and every record is decoded as an
/// [`Event`]. Unlike TensorBoard, which stops silently at the first bad or partial record (it may
/// be still being written), a damaged or truncated file is an error here.
pub fn read_event_file(path: &Path) -> Result<Vec<Event>, TensorboardError> {
    let bytes = fs::read(path).map_err(|cause| TensorboardError::Read { path: path.to_path_buf(), cause })?;
    let records = read_records(&bytes).map_err(|cause| TensorboardError::Record { path: path.to_path_buf(), cause })?;
    records
        .iter()
        .enumerate()
        .map(|(index, data)| {
            Event::decode(data.as_slice()).map_err(|cause| TensorboardError::Decode {
                path: path.to_path_buf(),
                index,
                cause,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::markdown_code_block;

    #[test]
    fn code_block_fences() {
        assert_eq!(markdown_code_block("a = 1\n", "toml"), "```toml\na = 1\n```\n");
        assert_eq!(markdown_code_block("a = 1", "toml"), "```toml\na = 1\n```\n");
        assert_eq!(markdown_code_block("", ""), "```\n```\n");
        // A fence inside the text must not close the block early.
        assert_eq!(markdown_code_block("x = \"```\"\n", ""), "````\nx = \"```\"\n````\n");
        assert_eq!(markdown_code_block("`````", ""), "``````\n`````\n``````\n");
    }
}
