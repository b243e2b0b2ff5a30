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
