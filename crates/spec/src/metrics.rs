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
    /// `model.kind`; rows written before kinds existed read as `plain`.
    #[serde(default = "plain")]
    pub kind: String,
    pub latent_dim: u64,
    /// Empty for a plain auto-encoder.
    pub noise_kind: Option<String>,
    pub noise_level: Option<f64>,
    pub learning_rate: f64,
    pub batch_size: u64,
    pub optimizer: String,
    pub loss: String,
    pub seed: u64,
    /// 1-based, within the row's phase.
    pub epoch: u64,
    /// `stacked` runs: `pretrain-1`, `pretrain-2`, … (greedy training of encoder layer k as a
    /// shallow auto-encoder), then `finetune`; empty for every other kind (one phase).
    pub phase: Option<String>,
    /// Mean over the epoch's batches of the reconstruction term of the training loss (on
    /// corrupted inputs for a denoising run): per pixel, but per image (summed) for a `vae`, and
    /// the layer's own reconstruction during a `stacked` pre-training phase.
    pub train_loss: f64,
    /// Mean over the epoch's batches of the term added to `train_loss` in the loss minimised:
    /// `sparse` the sparsity penalty, `contractive` λ‖J‖², `vae` β·KL; empty for other kinds.
    pub penalty: Option<f64>,
    /// Clean test inputs → reconstruction vs the inputs: BCE and MSE per pixel, PSNR in dB.
    pub test_bce: f64,
    pub test_mse: f64,
    pub test_psnr: f64,
    /// Denoising runs: corrupted test inputs (fixed noise seed) → reconstruction vs clean inputs.
    pub noisy_test_bce: Option<f64>,
    pub noisy_test_mse: Option<f64>,
    pub noisy_test_psnr: Option<f64>,
    /// `vae`: KL(q(z|x) ‖ p(z)) per test image, in nats (closed form).
    pub test_kl: Option<f64>,
    /// `vae`: the negative ELBO per test image in nats, −E_q[log p(x|z)] + KL with β = 1 (one
    /// reparameterised sample per image from a fixed stream): an upper bound of `test_nll`.
    pub test_neg_elbo: Option<f64>,
    /// `vae`, last epoch: −log p(x) per image in nats, importance-sampled with q(z|x) as the
    /// proposal (`model.nll_samples` per image, the first `model.nll_images` test images).
    pub test_nll: Option<f64>,
    /// Test accuracy of the linear probe (logistic regression on the standardised training-set
    /// codes of clean inputs); empty on epochs without a probe (see `train.probe_every`).
    pub probe_accuracy: Option<f64>,
    /// Wall time of the epoch's training steps (evaluation excluded).
    pub epoch_seconds: f64,
    pub eval_seconds: f64,
    /// Wall time of the probe: encoding both splits and fitting it.
    pub probe_seconds: Option<f64>,
    /// Wall time of the `test_nll` estimate (included in `eval_seconds`).
    pub nll_seconds: Option<f64>,
    pub samples_per_second: f64,
}

fn plain() -> String {
    crate::config::ModelKind::Plain.to_string()
}

/// Columns that measure time: they differ between reruns and are left out of reproducibility checks.
pub const TIMING_COLUMNS: [&str; 5] =
    ["epoch_seconds", "eval_seconds", "probe_seconds", "nll_seconds", "samples_per_second"];

/// The phase of the epochs after a `stacked` run's pre-training.
pub const FINETUNE_PHASE: &str = "finetune";

/// The phase name of pre-training encoder layer `layer` (1-based).
pub fn pretrain_phase(layer: usize) -> String {
    format!("pretrain-{layer}")
}

/// Whether a row belongs to the phase that trains the whole model: every row but a `stacked`
/// run's pre-training. Final metrics, best epochs and curves read these rows only.
pub fn is_final_phase(phase: Option<&str>) -> bool {
    phase.is_none_or(|p| p == FINETUNE_PHASE)
}

/// The `vae` metrics of a test split.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct VaeMetrics {
    pub kl: f64,
    pub neg_elbo: f64,
}

/// The metrics of one epoch, before they are labelled with their run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EpochMetrics {
    pub epoch: u64,
    pub phase: Option<String>,
    pub train_loss: f64,
    pub penalty: Option<f64>,
    pub test_bce: f64,
    pub test_mse: f64,
    pub test_psnr: f64,
    pub noisy: Option<(f64, f64, f64)>,
    pub vae: Option<VaeMetrics>,
    /// `test_nll` and its wall time, on the epoch it is estimated.
    pub nll: Option<(f64, f64)>,
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
            kind: c.model.kind.to_string(),
            latent_dim: c.model.latent_dim as u64,
            noise_kind: c.noise.as_ref().map(|n| n.kind.to_string()),
            noise_level: c.noise.as_ref().map(|n| n.level),
            learning_rate: c.train.learning_rate,
            batch_size: c.train.batch_size as u64,
            optimizer: c.train.optimizer.to_string(),
            loss: c.train.loss.to_string(),
            seed: c.train.seed,
            epoch: m.epoch,
            phase: m.phase.clone(),
            train_loss: m.train_loss,
            penalty: m.penalty,
            test_bce: m.test_bce,
            test_mse: m.test_mse,
            test_psnr: m.test_psnr,
            noisy_test_bce: m.noisy.map(|n| n.0),
            noisy_test_mse: m.noisy.map(|n| n.1),
            noisy_test_psnr: m.noisy.map(|n| n.2),
            test_kl: m.vae.map(|v| v.kl),
            test_neg_elbo: m.vae.map(|v| v.neg_elbo),
            test_nll: m.nll.map(|n| n.0),
            probe_accuracy: m.probe.map(|p| p.0),
            epoch_seconds: m.epoch_seconds,
            eval_seconds: m.eval_seconds,
            probe_seconds: m.probe.map(|p| p.1),
            nll_seconds: m.nll.map(|n| n.1),
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
