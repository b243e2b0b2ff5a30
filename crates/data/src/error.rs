//! The one error type of the data crate. Every message is a single line that names the file (or
//! the dataset) and says what was expected, so that a user can act on it without a backtrace.

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("missing file {}: {hint}", file.display())]
    Missing { file: PathBuf, hint: String },

    #[error("cannot read {}: {cause}", file.display())]
    Read { file: PathBuf, cause: std::io::Error },

    #[error("cannot write {}: {cause}", file.display())]
    Write { file: PathBuf, cause: std::io::Error },

    #[error("{} is empty; expected {expected}", file.display())]
    Empty { file: PathBuf, expected: &'static str },

    #[error("{}: found {found}, expected {expected}", file.display())]
    Magic { file: PathBuf, found: String, expected: String },

    #[error("{}: wrong dimensions: found {found}, expected {expected}", file.display())]
    Dimensions { file: PathBuf, found: String, expected: String },

    #[error("{}: truncated {what}: expected {expected} bytes, found {found}", file.display())]
    Truncated { file: PathBuf, what: &'static str, expected: u64, found: u64 },

    #[error("{}: {found} bytes after the data, expected the file to end after {expected} bytes", file.display())]
    TrailingData { file: PathBuf, expected: u64, found: u64 },

    #[error("{}: corrupt gzip data: {message}", file.display())]
    Gzip { file: PathBuf, message: String },

    #[error(
        "{} holds {n_images} images but {} holds {n_labels} labels; expected the same count",
        images.display(),
        labels.display()
    )]
    CountMismatch { images: PathBuf, n_images: usize, labels: PathBuf, n_labels: usize },

    #[error("dataset {dataset}: {split}_limit is {limit} but the {split} split has only {available} samples")]
    Limit { dataset: String, split: &'static str, limit: usize, available: usize },

    #[error("dataset {dataset}: the {split} split is empty; expected at least one sample")]
    EmptySplit { dataset: String, split: &'static str },

    /// A caller handed in data that does not fit what it asked for (e.g. a pixel buffer whose
    /// length is not n × rows × cols); names the file that was to be written.
    #[error("{}: {message}", file.display())]
    Invalid { file: PathBuf, message: String },
}

pub type Result<T, E = DataError> = std::result::Result<T, E>;

/// Replaces `path` atomically (the `atomic-file` crate), naming it in the error.
pub(crate) fn write_atomic(path: &Path, fill: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>) -> Result<()> {
    atomic_file::write_with(path, fill).map_err(|cause| DataError::Write { file: path.to_path_buf(), cause })
}
