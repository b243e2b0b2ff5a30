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
    crate::model::KindName::Plain.to_string()
}

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

/// Reconstruction of a test split: BCE (from the logits, as Keras) and MSE per pixel, PSNR in dB.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Reconstruction {
    pub bce: f64,
    pub mse: f64,
    pub psnr: f64,
}

/// What an epoch's training steps measured.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Training {
    /// Mean over the epoch's images of the reconstruction term of the loss.
    pub loss: f64,
    /// Mean over the epoch's images of the term added to it (the kinds that add one).
    pub penalty: Option<f64>,
    /// Wall time of the training steps (evaluation excluded).
    pub seconds: f64,
    pub samples_per_second: f64,
}

/// The `vae` metrics of a test split.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct VaeMetrics {
    pub kl: f64,
    pub neg_elbo: f64,
}

/// A value and the wall time it took.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Timed {
    pub value: f64,
    pub seconds: f64,
}

/// The metrics of one epoch, before they are labelled with their run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EpochMetrics {
    pub epoch: u64,
    pub phase: Option<String>,
    pub training: Training,
    /// Clean test inputs.
    pub test: Reconstruction,
    /// Denoising runs: corrupted test inputs against the clean ones.
    pub noisy_test: Option<Reconstruction>,
    pub vae: Option<VaeMetrics>,
    /// `test_nll`, on the epoch it is estimated.
    pub nll: Option<Timed>,
    /// The probe's test accuracy, on epochs with a probe.
    pub probe: Option<Timed>,
    pub eval_seconds: f64,
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
            kind: c.model.kind.name().to_string(),
            latent_dim: c.model.latent_dim as u64,
            noise_kind: c.noise.kind().map(|k| k.to_string()),
            noise_level: c.noise.level(),
            learning_rate: c.train.learning_rate,
            batch_size: c.train.batch_size as u64,
            optimizer: c.train.optimizer.name().to_string(),
            loss: c.train.loss.to_string(),
            seed: c.train.seed,
            epoch: m.epoch,
            phase: m.phase.clone(),
            train_loss: m.training.loss,
            penalty: m.training.penalty,
            test_bce: m.test.bce,
            test_mse: m.test.mse,
            test_psnr: m.test.psnr,
            noisy_test_bce: m.noisy_test.map(|n| n.bce),
            noisy_test_mse: m.noisy_test.map(|n| n.mse),
            noisy_test_psnr: m.noisy_test.map(|n| n.psnr),
            test_kl: m.vae.map(|v| v.kl),
            test_neg_elbo: m.vae.map(|v| v.neg_elbo),
            test_nll: m.nll.map(|n| n.value),
            probe_accuracy: m.probe.map(|p| p.value),
            epoch_seconds: m.training.seconds,
            eval_seconds: m.eval_seconds,
            probe_seconds: m.probe.map(|p| p.seconds),
            nll_seconds: m.nll.map(|n| n.seconds),
            samples_per_second: m.training.samples_per_second,
        }
    }

    /// The row's metric columns ([`Column::Metric`]) and their values, in column order (`None`
    /// where the column is empty). Read through the row's own serialisation, so a metric field
    /// added to the struct and to [`COLUMNS`] is here without more code.
    pub fn metric_values(&self) -> Vec<(&'static str, Option<f64>)> {
        let table = toml::Table::try_from(self).unwrap_or_default();
        COLUMNS
            .iter()
            .filter(|(_, role)| *role == Column::Metric)
            .map(|(name, _)| {
                let value = table.get(*name).and_then(|v| match v {
                    toml::Value::Float(f) => Some(*f),
                    toml::Value::Integer(i) => Some(*i as f64),
                    _ => None,
                });
                (*name, value)
            })
            .collect()
    }

    /// The first metric that is NaN or infinite, named: what makes a run diverged.
    pub fn non_finite(&self) -> Option<String> {
        self.metric_values()
            .into_iter()
            .find_map(|(name, v)| v.filter(|v| !v.is_finite()).map(|v| format!("{name} became {v}")))
    }
}

/// What a [`MetricRow`] column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// Which run and configuration the row belongs to, and which epoch.
    Label,
    /// What the epoch measured: checked for divergence, summarised in the run's final metrics,
    /// compared by `runner check`.
    Metric,
    /// Wall time: differs between reruns, left out of reproducibility checks.
    Timing,
}

/// Every [`MetricRow`] column with its role, in field order (a test checks it against the struct).
pub const COLUMNS: [(&str, Column); 33] = [
    ("run_id", Column::Label),
    ("sweep", Column::Label),
    ("variant", Column::Label),
    ("dataset", Column::Label),
    ("architecture", Column::Label),
    ("kind", Column::Label),
    ("latent_dim", Column::Label),
    ("noise_kind", Column::Label),
    ("noise_level", Column::Label),
    ("learning_rate", Column::Label),
    ("batch_size", Column::Label),
    ("optimizer", Column::Label),
    ("loss", Column::Label),
    ("seed", Column::Label),
    ("epoch", Column::Label),
    ("phase", Column::Label),
    ("train_loss", Column::Metric),
    ("penalty", Column::Metric),
    ("test_bce", Column::Metric),
    ("test_mse", Column::Metric),
    ("test_psnr", Column::Metric),
    ("noisy_test_bce", Column::Metric),
    ("noisy_test_mse", Column::Metric),
    ("noisy_test_psnr", Column::Metric),
    ("test_kl", Column::Metric),
    ("test_neg_elbo", Column::Metric),
    ("test_nll", Column::Metric),
    ("probe_accuracy", Column::Metric),
    ("epoch_seconds", Column::Timing),
    ("eval_seconds", Column::Timing),
    ("probe_seconds", Column::Timing),
    ("nll_seconds", Column::Timing),
    ("samples_per_second", Column::Timing),
];

/// The metric columns, in order.
pub fn metric_columns() -> impl Iterator<Item = &'static str> {
    COLUMNS.iter().filter(|(_, r)| *r == Column::Metric).map(|(n, _)| *n)
}

/// Columns that measure time: they differ between reruns and are left out of reproducibility checks.
pub fn timing_columns() -> impl Iterator<Item = &'static str> {
    COLUMNS.iter().filter(|(_, r)| *r == Column::Timing).map(|(n, _)| *n)
}

/// The state of a run in its `run.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    /// A search's run stopped at a successive-halving rung, its full training state saved, until
    /// the rung's decision: promoted runs go on from there, the others become `pruned`.
    Paused,
    Completed,
    /// A search's run not promoted at a rung: its rows up to the rung are kept.
    Pruned,
    Diverged,
    Failed,
}

impl RunStatus {
    /// Whether a run in this state is done with (nothing more will be trained without `--force`).
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Running | Self::Paused)
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Completed => "completed",
            Self::Pruned => "pruned",
            Self::Diverged => "diverged",
            Self::Failed => "failed",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_row() -> MetricRow {
        let o = Some(1.0);
        MetricRow {
            run_id: "r".into(),
            sweep: "s".into(),
            variant: "v".into(),
            dataset: "mnist".into(),
            architecture: "conv".into(),
            kind: "plain".into(),
            latent_dim: 2,
            noise_kind: Some("masking".into()),
            noise_level: o,
            learning_rate: 1.0,
            batch_size: 1,
            optimizer: "adam".into(),
            loss: "bce".into(),
            seed: 0,
            epoch: 1,
            phase: Some("finetune".into()),
            train_loss: 1.0,
            penalty: o,
            test_bce: 2.0,
            test_mse: 1.0,
            test_psnr: 1.0,
            noisy_test_bce: o,
            noisy_test_mse: o,
            noisy_test_psnr: o,
            test_kl: o,
            test_neg_elbo: o,
            test_nll: o,
            probe_accuracy: o,
            epoch_seconds: 1.0,
            eval_seconds: 1.0,
            probe_seconds: o,
            nll_seconds: o,
            samples_per_second: 1.0,
        }
    }

    #[test]
    fn every_column_is_classified_once_in_field_order() {
        let fields: Vec<String> = toml::Table::try_from(full_row()).unwrap().keys().cloned().collect();
        let listed: Vec<&str> = COLUMNS.iter().map(|(n, _)| *n).collect();
        assert_eq!(fields, listed);
    }

    #[test]
    fn metric_values_and_the_divergence_check_read_the_metric_columns() {
        let mut row = full_row();
        row.probe_accuracy = None;
        let values = row.metric_values();
        assert_eq!(values.len(), metric_columns().count());
        assert_eq!(values[2], ("test_bce", Some(2.0)));
        assert!(values.contains(&("probe_accuracy", None)));
        assert_eq!(row.non_finite(), None);
        row.test_nll = Some(f64::INFINITY);
        assert_eq!(row.non_finite().as_deref(), Some("test_nll became inf"));
        // A timing column is not a metric: an odd wall time does not make a run diverged.
        let mut row = full_row();
        row.epoch_seconds = f64::NAN;
        assert_eq!(row.non_finite(), None);
    }
}
