//! The keys a user writes: the four sections that make up a run's configuration, each as partial,
//! optional values (each section's keys are in its own module, with their resolution).
//!
//! `deny_unknown_fields` everywhere, and every value range-checked while it is read, so that
//! TOML's own error (with line and column) names the mistake for the base sections and variants.

use crate::data::DataKeys;
use crate::model::ModelKeys;
use crate::noise::NoiseKeys;
use crate::train::TrainKeys;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionKeys {
    pub data: Option<DataKeys>,
    pub model: Option<ModelKeys>,
    pub train: Option<TrainKeys>,
    pub noise: Option<NoiseKeys>,
}

/// The names of the sections a sweep path may start with.
pub const SECTIONS: [&str; 4] = ["data", "model", "train", "noise"];
