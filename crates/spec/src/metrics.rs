//! The metric row: one per (run, epoch). Training produces it, the results store writes it to CSV
//! and Parquet (headers and columns come from this struct), reports read it back.

use crate::config::RunConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    pub run_id: String,
    pub sweep: String,
    pub variant: String,
    pub dataset: String,
    pub architecture: String,
    pub latent_dim: u64,
    /// Empty for a plain auto-encoder.
    pub noise_kind: Option<String>,
    pub noise_level: Option<f64>,
    pub learning_rate: f64,
    pub batch_size: u64,
    pub optimizer: String,
    pub loss: String,
    pub seed: u64,
    /// 1-based.
    pub epoch: u64,
    /// Mean training loss over the epoch's batches (on corrupted inputs for a denoising run).
    pub train_loss: f64,
    /// Clean test inputs → reconstruction vs the inputs: BCE and MSE per pixel, PSNR in dB.
    pub test_bce: f64,
    pub test_mse: f64,
    pub test_psnr: f64,
    /// Denoising runs: corrupted test inputs (fixed noise seed) → reconstruction vs clean inputs.
    pub noisy_test_bce: Option<f64>,
    pub noisy_test_mse: Option<f64>,
    pub noisy_test_psnr: Option<f64>,
    /// Test accuracy of the linear probe (logistic regression on the standardised training-set
    /// codes of clean inputs); empty on epochs without a probe (see `train.probe_every`).
    pub probe_accuracy: Option<f64>,
    /// Wall time of the epoch's training steps (evaluation excluded).
    pub epoch_seconds: f64,
    pub eval_seconds: f64,
    /// Wall time of the probe: encoding both splits and fitting it.
    pub probe_seconds: Option<f64>,
    pub samples_per_second: f64,
}

/// Columns that measure time: they differ between reruns and are left out of reproducibility checks.
pub const TIMING_COLUMNS: [&str; 4] = ["epoch_seconds", "eval_seconds", "probe_seconds", "samples_per_second"];

/// The metrics of one epoch, before they are labelled with their run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EpochMetrics {
    pub epoch: u64,
    pub train_loss: f64,
    pub test_bce: f64,
    pub test_mse: f64,
    pub test_psnr: f64,
    pub noisy: Option<(f64, f64, f64)>,
    /// The probe's test accuracy and its wall time, on epochs with a probe.
    pub probe: Option<(f64, f64)>,
    pub epoch_seconds: f64,
    pub eval_seconds: f64,
    pub samples_per_second: f64,
}

impl MetricRow {
    /// Labels an epoch's metrics with the run they belong to.
    pub fn new(run_id: &str, sweep: &str, variant: &str, c: &RunConfig, m: &EpochMetrics) -> Self {
        Self {
            run_id: run_id.to_string(),
            sweep: sweep.to_string(),
            variant: variant.to_string(),
            dataset: c.data.dataset.to_string(),
            architecture: c.model.architecture.to_string(),
            latent_dim: c.model.latent_dim as u64,
            noise_kind: c.noise.as_ref().map(|n| n.kind.to_string()),
            noise_level: c.noise.as_ref().map(|n| n.level),
            learning_rate: c.train.learning_rate,
            batch_size: c.train.batch_size as u64,
            optimizer: c.train.optimizer.to_string(),
            loss: c.train.loss.to_string(),
            seed: c.train.seed,
            epoch: m.epoch,
            train_loss: m.train_loss,
            test_bce: m.test_bce,
            test_mse: m.test_mse,
            test_psnr: m.test_psnr,
            noisy_test_bce: m.noisy.map(|n| n.0),
            noisy_test_mse: m.noisy.map(|n| n.1),
            noisy_test_psnr: m.noisy.map(|n| n.2),
            probe_accuracy: m.probe.map(|p| p.0),
            epoch_seconds: m.epoch_seconds,
            eval_seconds: m.eval_seconds,
            probe_seconds: m.probe.map(|p| p.1),
            samples_per_second: m.samples_per_second,
        }
    }
}

/// The state of a run in its `run.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Completed,
    Diverged,
    Failed,
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Diverged => "diverged",
            Self::Failed => "failed",
        })
    }
}
