//! The crate's error type. Every variant carries the path of the file or directory it is about,
//! because a sweep writes one event file per run and "permission denied" alone does not say which.

use std::path::PathBuf;

use crate::record::RecordError;

#[derive(Debug, thiserror::Error)]
pub enum TensorboardError {
    #[error("cannot create TensorBoard log directory {}: {cause}", path.display())]
    CreateDir { path: PathBuf, cause: std::io::Error },
    #[error("cannot create event file {}: {cause}", path.display())]
    Create { path: PathBuf, cause: std::io::Error },
    #[error("cannot write event file {}: {cause}", path.display())]
    Write { path: PathBuf, cause: std::io::Error },
    #[error("cannot flush event file {} to disk: {cause}", path.display())]
    Sync { path: PathBuf, cause: std::io::Error },
    #[error("cannot read event file {}: {cause}", path.display())]
    Read { path: PathBuf, cause: std::io::Error },
    #[error("corrupt event file {}: {cause}", path.display())]
    Record { path: PathBuf, cause: RecordError },
    #[error("event file {}: record {index} is not an Event protobuf: {cause}", path.display())]
    Decode { path: PathBuf, index: usize, cause: prost::DecodeError },
}
