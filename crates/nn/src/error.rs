//! Errors of the model crate.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum NnError {
    /// Sizes that do not fit together: a bug in the caller or a malformed checkpoint.
    #[error("shape mismatch: {0}")]
    Shape(String),

    #[error("tensor device error: {0}")]
    Device(String),

    #[error("checkpoint {}: {message}", file.display())]
    Checkpoint { file: PathBuf, message: String },

    #[error("invalid model: {0}")]
    Config(String),

    /// A device that this build or this machine cannot run (see [`crate::Device::open`]).
    #[error("device `{device}` cannot be used: {reason}")]
    Unavailable { device: &'static str, reason: String },

    /// A training-state file that cannot be written, read or restored into this trainer.
    #[error("training state {}: {message}", file.display())]
    State { file: PathBuf, message: String },
}

impl From<dfdx::tensor::CpuError> for NnError {
    fn from(e: dfdx::tensor::CpuError) -> Self {
        Self::Device(e.to_string())
    }
}
