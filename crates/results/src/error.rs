//! Errors of the results store; each names the file or run it concerns.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("{}: {cause}", file.display())]
    Io { file: PathBuf, cause: std::io::Error },

    #[error("cannot write {}: {message}", file.display())]
    Write { file: PathBuf, message: String },

    #[error("{}:{line}: {message}", file.display())]
    Csv { file: PathBuf, line: usize, message: String },

    #[error("{}: {message}", file.display())]
    Json { file: PathBuf, message: String },

    #[error("table schema: {0}")]
    Schema(String),

    #[error("{}: another `runner sweep` is using this results directory{holder}; wait for it to finish, or run a different --shard", dir.display())]
    Locked { dir: PathBuf, holder: String },

    #[error("{0}")]
    Invalid(String),
}

impl ResultsError {
    pub fn io(file: &Path, cause: std::io::Error) -> Self {
        Self::Io { file: file.to_path_buf(), cause }
    }
}

/// An `io::Error` without its file yet: the `atomic-file` crate hands these back, and
/// [`ResultsError::naming`] puts the file in.
impl From<std::io::Error> for ResultsError {
    fn from(cause: std::io::Error) -> Self {
        Self::Io { file: PathBuf::new(), cause }
    }
}

impl ResultsError {
    /// Names `path` in an I/O error that does not name a file yet.
    pub fn naming(self, path: &Path) -> Self {
        match self {
            Self::Io { file, cause } if file.as_os_str().is_empty() => Self::Io { file: path.to_path_buf(), cause },
            other => other,
        }
    }
}

/// Replaces `path` with `bytes` atomically (the `atomic-file` crate), naming it in the error.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ResultsError> {
    atomic_file::write(path, bytes).map_err(|e| ResultsError::io(path, e))
}
