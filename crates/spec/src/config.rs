//! The resolved configuration of one run: every key has its final value, every value is in range.
//!
//! This is what training sees, what `config.toml` in a run folder holds, and what a run id is
//! computed from. Nothing here knows about sweep files, variants or the command line. Each
//! section's types live in its own module (`data`, `model`, `train`, `noise`).

use crate::data::DataConfig;
use crate::model::ModelConfig;
use crate::noise::Noise;
use crate::train::TrainConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub data: DataConfig,
    pub model: ModelConfig,
    pub train: TrainConfig,
    /// Not [`Noise::None`] for a denoising auto-encoder; no section in `config.toml` otherwise.
    #[serde(default, skip_serializing_if = "Noise::is_none")]
    pub noise: Noise,
}

impl RunConfig {
    /// True when this run trains a denoising auto-encoder.
    pub fn is_denoising(&self) -> bool {
        !self.noise.is_none()
    }

    /// Every epoch the run trains: the pre-training phases' (`stacked`), then `train.epochs`.
    pub fn total_epochs(&self) -> usize {
        self.model.pretrain_phases() * self.model.pretrain_epochs() + self.train.epochs
    }

    /// The canonical text of the configuration: what the run id hashes and `config.toml` holds.
    pub fn canonical(&self) -> String {
        // Plain structs of numbers, strings and enums always serialise to TOML.
        toml::to_string(self).unwrap_or_else(|e| format!("{self:?} {e}"))
    }
}
