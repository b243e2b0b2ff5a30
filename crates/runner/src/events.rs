//! TensorBoard event files of a sweep's runs, written by `runner export tensorboard` from the run
//! folders and by `runner sweep --tensorboard DIR` as epochs finish. One log directory per sweep,
//! one folder per run, one event file per folder:
//!
//! ```text
//! <logdir>/<variant>/<label>/events.out.tfevents.<secs>.<host>
//! ```
//!
//! `<label>` is the run's label without its variant (`latent_dim=8,seed=1`; spaces become commas,
//! characters other than letters, digits and `. _ = , + -` become `_`, and a run with no varying
//! key is named by its id); two runs of a sweep whose folders would be the same both get
//! `,run=<id>` appended. In TensorBoard a run is then `ae/latent_dim=8,seed=1`, and the run
//! selector's regex filters by key.
//!
//! What an event file holds:
//!
//! - at step 0, the run's `config.toml` as the text summary `config` (a Markdown code block, so
//!   that TensorBoard shows it verbatim);
//! - per metric row, every column `spec::metrics::COLUMNS` classifies as a metric as the scalar of
//!   its name (`test_bce`), every timing column under `timing/` (`timing/epoch_seconds`), at step
//!   = the row's epoch; empty cells write nothing. The label columns (the run's configuration and
//!   the epoch itself) are not scalars. A `stacked` run numbers its epochs from 1 in each phase:
//!   its fine-tuning rows are written as above, so that their steps line up with the epochs of
//!   every other run, and each pre-training phase's rows under the phase's name
//!   (`pretrain-1/test_bce`, `pretrain-1/timing/epoch_seconds`), each phase its own curve.
//!
//! TensorBoard stores scalars as float32: a value is the metric's f64 rounded to the nearest
//! float32. `scripts/check-tensorboard.sh` reads every file back with TensorBoard's own reader
//! and compares each scalar with `metrics.csv` exactly in that sense.

use anyhow::{Context, Result};
use spec::metrics::{is_final_phase, Column, COLUMNS};
use spec::MetricRow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tensorboard::{markdown_code_block, EventWriter};

/// The text summary that holds a run's configuration.
pub const CONFIG_TAG: &str = "config";

/// The log directory of one sweep: which folder each run's events go to.
#[derive(Debug, Clone)]
pub struct Logdir {
    root: PathBuf,
    /// Run id → folder under the root.
    folders: BTreeMap<String, PathBuf>,
    /// The runs the folders were chosen over (id, variant, label).
    runs: Vec<(String, String, String)>,
}

impl Logdir {
    /// The folders of `runs` (run id, variant, label) under `root`, chosen over all of them, so
    /// that runs whose folders would coincide are told apart.
    pub fn new(root: &Path, runs: impl IntoIterator<Item = (String, String, String)>) -> Self {
        let runs: Vec<(String, String, String)> = runs.into_iter().collect();
        let plain: Vec<PathBuf> = runs.iter().map(|(id, variant, label)| run_folder(id, variant, label)).collect();
        let mut folders = BTreeMap::new();
        for (i, (id, _, _)) in runs.iter().enumerate() {
            let shared = plain.iter().enumerate().any(|(j, p)| j != i && *p == plain[i] && runs[j].0 != *id);
            let folder = if shared { disambiguated(&plain[i], id) } else { plain[i].clone() };
            folders.insert(id.clone(), folder);
        }
        Self { root: root.to_path_buf(), folders, runs }
    }

    /// This log directory with the folders of more runs (a search's next round), chosen over them
    /// all.
    pub fn with_runs(&self, runs: impl IntoIterator<Item = (String, String, String)>) -> Self {
        let mut all = self.runs.clone();
        all.extend(runs);
        Self::new(&self.root, all)
    }

    /// [`Logdir::new`], and the root created now: `runner sweep --tensorboard` reports an
    /// unwritable log directory before it trains anything.
    pub fn create(root: &Path, runs: impl IntoIterator<Item = (String, String, String)>) -> Result<Self> {
        std::fs::create_dir_all(root)
            .with_context(|| format!("--tensorboard {}: cannot create the log directory", root.display()))?;
        Ok(Self::new(root, runs))
    }

    /// The folder of a run (a run not given to [`Logdir::new`] is named by its id).
    pub fn folder(&self, run_id: &str) -> PathBuf {
        self.root.join(self.folders.get(run_id).cloned().unwrap_or_else(|| PathBuf::from(sanitise(run_id))))
    }

    /// Starts a run's event file (named after `wall_time` and `host`) with its configuration
    /// text. Event files an earlier export or attempt of the run left in its folder are removed
    /// first: TensorBoard would show their epochs a second time.
    pub fn start(&self, run_id: &str, config_text: &str, wall_time: f64, host: &str) -> Result<RunEvents> {
        let dir = self.folder(run_id);
        remove_event_files(&dir)?;
        let mut writer = EventWriter::create(&dir, wall_time, host)?;
        writer.text(CONFIG_TAG, 0, &markdown_code_block(config_text, "toml"), wall_time)?;
        writer.flush()?;
        Ok(RunEvents { writer, scalars: 0 })
    }
}

/// The event file of one run, open for its epochs.
#[derive(Debug)]
pub struct RunEvents {
    writer: EventWriter,
    scalars: usize,
}

impl RunEvents {
    /// Writes a metric row's scalars and flushes them, so that a TensorBoard watching the log
    /// directory shows the epoch.
    pub fn epoch(&mut self, row: &MetricRow, wall_time: f64) -> Result<()> {
        let step = i64::try_from(row.epoch).unwrap_or(i64::MAX);
        for (tag, value) in scalars(row) {
            // TensorBoard keeps float32: rounded to nearest, as the reader's numpy would.
            self.writer.scalar(&tag, step, value as f32, wall_time)?;
            self.scalars += 1;
        }
        self.writer.flush()?;
        Ok(())
    }

    #[cfg(test)]
    pub fn path(&self) -> &Path {
        self.writer.path()
    }

    /// Scalars written so far.
    pub fn scalars(&self) -> usize {
        self.scalars
    }
}

/// The tags and values of a metric row: its metric and timing columns (by `spec::metrics`, so a
/// column added there is exported without more code), a pre-training phase's under its name.
pub fn scalars(row: &MetricRow) -> Vec<(String, f64)> {
    // The row's own serialisation names every column, as `MetricRow::metric_values` reads it.
    let table = toml::Table::try_from(row).unwrap_or_default();
    let phase = row.phase.as_deref().filter(|p| !is_final_phase(Some(p)));
    COLUMNS
        .iter()
        .filter_map(|(name, role)| {
            let tag = match role {
                Column::Label => return None,
                Column::Metric => name.to_string(),
                Column::Timing => format!("timing/{name}"),
            };
            let value = match table.get(*name)? {
                toml::Value::Float(f) => *f,
                toml::Value::Integer(i) => *i as f64,
                _ => return None,
            };
            Some((phase.map_or(tag.clone(), |p| format!("{p}/{tag}")), value))
        })
        .collect()
}

/// `<variant>/<label without the variant>`, both made safe as folder names.
fn run_folder(run_id: &str, variant: &str, label: &str) -> PathBuf {
    let rest = label.strip_prefix(variant).unwrap_or(label).trim();
    let rest = sanitise(&rest.split_whitespace().collect::<Vec<_>>().join(","));
    let variant = sanitise(variant);
    let variant = if variant.is_empty() { "run".to_string() } else { variant };
    PathBuf::from(variant).join(if rest.is_empty() { sanitise(run_id) } else { rest })
}

fn disambiguated(folder: &Path, run_id: &str) -> PathBuf {
    let name = folder.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    folder.with_file_name(format!("{name},run={}", sanitise(run_id)))
}

/// Letters, digits and `. _ = , + -` kept, brackets and quotes dropped (`hidden=[512, 256]`
/// reads `hidden=512,256`), anything else `_`; no leading `.` (no hidden folder, no `..`).
fn sanitise(s: &str) -> String {
    let kept: String = s
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | '"' | '\''))
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '=' | ',' | '+' | '-') { c } else { '_' })
        .collect();
    let mut out = kept.trim_start_matches('.').to_string();
    while out.contains(",,") {
        out = out.replace(",,", ",");
    }
    out
}

/// Removes the event files (names with `tfevents`, as TensorBoard finds them) in `dir`.
fn remove_event_files(dir: &Path) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot list the run's old event files", dir.display())),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("{}: cannot list the run's old event files", dir.display()))?;
        if entry.file_name().to_string_lossy().contains("tfevents") && entry.path().is_file() {
            std::fs::remove_file(entry.path())
                .with_context(|| format!("{}: cannot remove the old event file", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Seconds since the Unix epoch of an RFC 3339 UTC time as the results store writes it
/// (`2026-11-28T19:02:30Z`, fractions of a second allowed).
pub fn parse_rfc3339(s: &str) -> Option<f64> {
    let (date, time) = s.strip_suffix('Z')?.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.splitn(3, ':');
    let (hh, mm) = (t.next()?.parse::<i64>().ok()?, t.next()?.parse::<i64>().ok()?);
    let ss = t.next()?.parse::<f64>().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || !(0..24).contains(&hh) || !(0..60).contains(&mm) {
        return None;
    }
    // Howard Hinnant's days-from-civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hh * 3600 + mm * 60) as f64 + ss)
}

/// Now, as an event's wall time.
pub fn now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(phase: Option<&str>) -> MetricRow {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../report/tests/fixtures/results/fixture/runs/0f46bffbc172/metrics.csv"),
        )
        .unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let mut row: MetricRow = reader.deserialize().next().unwrap().unwrap();
        row.phase = phase.map(str::to_string);
        row
    }

    #[test]
    fn metrics_and_timings_are_scalars_labels_are_not() {
        // Every optional column filled: one scalar per metric and timing column.
        let mut r = row(None);
        let o = Some(0.5);
        (r.penalty, r.noisy_test_bce, r.noisy_test_mse, r.noisy_test_psnr) = (o, o, o, o);
        (r.test_kl, r.test_neg_elbo, r.test_nll, r.probe_accuracy) = (o, o, o, o);
        (r.probe_seconds, r.nll_seconds) = (o, o);
        let tags: Vec<String> = scalars(&r).into_iter().map(|(t, _)| t).collect();
        assert_eq!(tags.len(), COLUMNS.iter().filter(|(_, role)| *role != Column::Label).count(), "{tags:?}");
        assert!(
            tags.contains(&"test_bce".to_string()) && tags.contains(&"timing/epoch_seconds".to_string()),
            "{tags:?}"
        );
        for label in ["epoch", "latent_dim", "seed", "learning_rate", "batch_size", "noise_level"] {
            assert!(!tags.iter().any(|t| t.ends_with(label)), "{label} is not a metric: {tags:?}");
        }
        let bce = scalars(&r).into_iter().find(|(t, _)| t == "test_bce").unwrap().1;
        assert_eq!(bce, r.test_bce);
        // An empty cell writes nothing.
        r.penalty = None;
        let fewer: Vec<String> = scalars(&r).into_iter().map(|(t, _)| t).collect();
        assert_eq!(fewer.len(), tags.len() - 1);
        assert!(!fewer.contains(&"penalty".to_string()));
    }

    #[test]
    fn a_pretraining_phase_gets_its_own_tags() {
        let pre: Vec<String> = scalars(&row(Some("pretrain-2"))).into_iter().map(|(t, _)| t).collect();
        assert!(pre.contains(&"pretrain-2/test_bce".to_string()), "{pre:?}");
        assert!(pre.contains(&"pretrain-2/timing/epoch_seconds".to_string()), "{pre:?}");
        let fine: Vec<String> = scalars(&row(Some("finetune"))).into_iter().map(|(t, _)| t).collect();
        assert!(fine.contains(&"test_bce".to_string()), "fine-tuning lines up with other runs: {fine:?}");
    }

    #[test]
    fn folders_are_readable_safe_and_unique() {
        let runs = [
            ("aaa", "ae", "ae latent_dim=8 seed=1"),
            ("bbb", "dae/x", "dae/x hidden=[512, 256] seed=0"),
            ("ccc", "ae", "ae"),
            ("ddd", "..", ".. seed=2"),
            // Two labels that differ only in characters the folder drops.
            ("eee", "v", "v key=\"a\""),
            ("fff", "v", "v key=a"),
        ];
        let logdir = Logdir::new(Path::new("/tb"), runs.map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())));
        assert_eq!(logdir.folder("aaa"), Path::new("/tb/ae/latent_dim=8,seed=1"));
        assert_eq!(logdir.folder("bbb"), Path::new("/tb/dae_x/hidden=512,256,seed=0"));
        assert_eq!(logdir.folder("ccc"), Path::new("/tb/ae/ccc"));
        assert_eq!(logdir.folder("ddd"), Path::new("/tb/run/seed=2"));
        assert_eq!(logdir.folder("eee"), Path::new("/tb/v/key=a,run=eee"));
        assert_eq!(logdir.folder("fff"), Path::new("/tb/v/key=a,run=fff"));
        assert_eq!(logdir.folder("zzz"), Path::new("/tb/zzz"));
    }

    #[test]
    fn recorded_times_parse() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_rfc3339("2026-11-28T19:02:30Z"), Some(1_795_892_550.0));
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00.5Z"), Some(951_782_400.5));
        assert_eq!(parse_rfc3339("2026-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn starting_again_replaces_the_old_event_file() {
        let dir = tempfile::tempdir().unwrap();
        let logdir = Logdir::new(dir.path(), [("aaa".to_string(), "ae".to_string(), "ae seed=1".to_string())]);
        let mut first = logdir.start("aaa", "a = 1\n", 100.0, "h").unwrap();
        first.epoch(&row(None), 101.0).unwrap();
        assert!(first.scalars() > 5);
        drop(first);
        let second = logdir.start("aaa", "a = 1\n", 200.0, "h").unwrap();
        let files: Vec<String> = std::fs::read_dir(logdir.folder("aaa"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(files, ["events.out.tfevents.200.h"]);
        let events = tensorboard::read_event_file(second.path()).unwrap();
        assert_eq!(events.len(), 2, "the file version and the configuration");
    }
}
