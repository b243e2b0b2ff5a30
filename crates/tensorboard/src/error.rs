//! The crate's error type. Every variant carries the path of the file or directory it is about,
//! because a sweep writes one event file per run and "permission denied" alone does not say which.

use std::path::PathBuf;

use crate::record::RecordError;

#[derive(Debug, thiserror::Error)]
pub enum TensorboardError {
    #[error("cannot create TensorBoard log directory {}: {source}", path.display())]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("cannot create event file {}: {source}", path.display())]
    Create { path: PathBuf, source: std::io::Error },
    #[error("cannot write event file {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot flush event file {} to disk: {source}", path.display())]
    Sync { path: PathBuf, source: std::io::Error },
    #[error("cannot read event file {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("corrupt event file {}: {source}", path.display())]
    Record { path: PathBuf, source: RecordError },
    #[error("event file {}: record {index} is not an Event protobuf: {source}", path.display())]
    Decode { path: PathBuf, index: usize, source: prost::DecodeError },
}
