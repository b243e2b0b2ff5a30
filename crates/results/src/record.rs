//! What the store keeps about a run: `run.json` (status, provenance, final metrics) and the row
//! it contributes to the combined `runs.csv` / `runs.parquet`.

use serde::{Deserialize, Serialize};
use spec::metrics::is_final_phase;
use spec::{MetricRow, RunFile, RunStatus};

/// Where and with what a run was produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub runner_version: String,
    pub git_revision: String,
    pub dfdx_version: String,
    pub host: String,
    /// Worker threads of the training pool. Results do not depend on it (fixed chunking), but it
    /// is recorded so that a difference can be traced.
    pub threads: usize,
}

/// `runs/<run_id>/run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub sweep: String,
    pub variant: String,
    pub label: String,
    pub status: RunStatus,
    /// Why a run diverged or failed.
    pub error: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub seed: u64,
    pub dataset_fingerprint: String,
    pub provenance: Provenance,
    /// Epochs of the whole model completed (a `stacked` run's pre-training epochs not counted).
    pub epochs_completed: u64,
    pub train_seconds: f64,
    pub final_metrics: Option<FinalMetrics>,
}

/// Summary of a run's epochs: of the phase that trains the whole model (a `stacked` run's
/// pre-training rows measure the model cut at a shallower depth, and are left out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinalMetrics {
    pub train_loss: f64,
    pub test_bce: f64,
    pub test_mse: f64,
    pub test_psnr: f64,
    pub noisy_test_bce: Option<f64>,
    pub noisy_test_mse: Option<f64>,
    pub noisy_test_psnr: Option<f64>,
    /// The linear probe's test accuracy at the last epoch (none when it was switched off, or for
    /// runs recorded before it existed).
    #[serde(default)]
    pub probe_accuracy: Option<f64>,
    /// The last epoch's `penalty`, `test_kl`, `test_neg_elbo` and `test_nll`, for the kinds that
    /// have them (none for runs recorded before kinds existed).
    #[serde(default)]
    pub penalty: Option<f64>,
    #[serde(default)]
    pub test_kl: Option<f64>,
    #[serde(default)]
    pub test_neg_elbo: Option<f64>,
    #[serde(default)]
    pub test_nll: Option<f64>,
    /// Epoch with the lowest test BCE, and that BCE.
    pub best_epoch: u64,
    pub best_test_bce: f64,
    pub mean_samples_per_second: f64,
}

impl FinalMetrics {
    /// From a run's metric rows; none when it has no rows.
    pub fn from_rows(rows: &[MetricRow]) -> Option<Self> {
        let rows: Vec<&MetricRow> = rows.iter().filter(|r| is_final_phase(r.phase.as_deref())).collect();
        let last = *rows.last()?;
        let best = rows.iter().min_by(|a, b| a.test_bce.total_cmp(&b.test_bce))?;
        Some(Self {
            train_loss: last.train_loss,
            test_bce: last.test_bce,
            test_mse: last.test_mse,
            test_psnr: last.test_psnr,
            noisy_test_bce: last.noisy_test_bce,
            noisy_test_mse: last.noisy_test_mse,
            noisy_test_psnr: last.noisy_test_psnr,
            probe_accuracy: last.probe_accuracy,
            penalty: last.penalty,
            test_kl: last.test_kl,
            test_neg_elbo: last.test_neg_elbo,
            test_nll: last.test_nll,
            best_epoch: best.epoch,
            best_test_bce: best.test_bce,
            mean_samples_per_second: rows.iter().map(|r| r.samples_per_second).sum::<f64>() / rows.len() as f64,
        })
    }
}

/// One row of `runs.csv` / `runs.parquet`: the run's configuration as columns, its status and its
/// final metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub run_id: String,
    pub sweep: String,
    pub variant: String,
    pub label: String,
    pub status: String,
    pub error: Option<String>,
    pub dataset: String,
    /// The content fingerprint of the dataset (what the stored baselines are matched on).
    pub dataset_fingerprint: String,
    pub train_limit: Option<u64>,
    pub test_limit: Option<u64>,
    pub architecture: String,
    pub latent_dim: u64,
    /// Dense only: hidden widths joined by `-`, e.g. `512-256`.
    pub hidden: Option<String>,
    /// `model.kind`, and its keys (each empty for the other kinds).
    pub kind: String,
    pub sparsity: Option<f64>,
    pub sparsity_target: Option<f64>,
    pub contraction: Option<f64>,
    pub pretrain_epochs: Option<u64>,
    pub beta: Option<f64>,
    pub nll_samples: Option<u64>,
    pub nll_images: Option<u64>,
    pub epochs: u64,
    pub batch_size: u64,
    pub learning_rate: f64,
    pub optimizer: String,
    pub momentum: Option<f64>,
    pub loss: String,
    pub seed: u64,
    pub noise_kind: Option<String>,
    pub noise_level: Option<f64>,
    pub epochs_completed: u64,
    pub final_train_loss: Option<f64>,
    pub final_test_bce: Option<f64>,
    pub final_test_mse: Option<f64>,
    pub final_test_psnr: Option<f64>,
    pub final_noisy_test_bce: Option<f64>,
    pub final_noisy_test_mse: Option<f64>,
    pub final_noisy_test_psnr: Option<f64>,
    pub final_probe_accuracy: Option<f64>,
    pub final_penalty: Option<f64>,
    pub final_test_kl: Option<f64>,
    pub final_test_neg_elbo: Option<f64>,
    pub final_test_nll: Option<f64>,
    pub best_epoch: Option<u64>,
    pub best_test_bce: Option<f64>,
    pub mean_samples_per_second: Option<f64>,
    pub train_seconds: f64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub runner_version: String,
    pub git_revision: String,
    pub host: String,
    pub threads: u64,
}

impl RunRow {
    pub fn new(file: &RunFile, r: &RunRecord) -> Self {
        let f = r.final_metrics.as_ref();
        Self {
            run_id: r.run_id.clone(),
            sweep: r.sweep.clone(),
            variant: r.variant.clone(),
            label: r.label.clone(),
            status: r.status.to_string(),
            error: r.error.clone(),
            dataset: file.data.dataset.to_string(),
            dataset_fingerprint: file.dataset_fingerprint.clone(),
            train_limit: file.data.train_limit.map(|v| v as u64),
            test_limit: file.data.test_limit.map(|v| v as u64),
            architecture: file.model.architecture.to_string(),
            latent_dim: file.model.latent_dim as u64,
            hidden: file.model.hidden.as_ref().map(|h| h.iter().map(|w| w.to_string()).collect::<Vec<_>>().join("-")),
            kind: file.model.kind.to_string(),
            sparsity: file.model.sparsity,
            sparsity_target: file.model.sparsity_target,
            contraction: file.model.contraction,
            pretrain_epochs: file.model.pretrain_epochs.map(|v| v as u64),
            beta: file.model.beta,
            nll_samples: file.model.nll_samples.map(|v| v as u64),
            nll_images: file.model.nll_images.map(|v| v as u64),
            epochs: file.train.epochs as u64,
            batch_size: file.train.batch_size as u64,
            learning_rate: file.train.learning_rate,
            optimizer: file.train.optimizer.to_string(),
            momentum: file.train.momentum,
            loss: file.train.loss.to_string(),
            seed: file.train.seed,
            noise_kind: file.noise.as_ref().map(|n| n.kind.to_string()),
            noise_level: file.noise.as_ref().map(|n| n.level),
            epochs_completed: r.epochs_completed,
            final_train_loss: f.map(|f| f.train_loss),
            final_test_bce: f.map(|f| f.test_bce),
            final_test_mse: f.map(|f| f.test_mse),
            final_test_psnr: f.map(|f| f.test_psnr),
            final_noisy_test_bce: f.and_then(|f| f.noisy_test_bce),
            final_noisy_test_mse: f.and_then(|f| f.noisy_test_mse),
            final_noisy_test_psnr: f.and_then(|f| f.noisy_test_psnr),
            final_probe_accuracy: f.and_then(|f| f.probe_accuracy),
            final_penalty: f.and_then(|f| f.penalty),
            final_test_kl: f.and_then(|f| f.test_kl),
            final_test_neg_elbo: f.and_then(|f| f.test_neg_elbo),
            final_test_nll: f.and_then(|f| f.test_nll),
            best_epoch: f.map(|f| f.best_epoch),
            best_test_bce: f.map(|f| f.best_test_bce),
            mean_samples_per_second: f.map(|f| f.mean_samples_per_second),
            train_seconds: r.train_seconds,
            started_at: r.started_at.clone(),
            finished_at: r.finished_at.clone(),
            runner_version: r.provenance.runner_version.clone(),
            git_revision: r.provenance.git_revision.clone(),
            host: r.provenance.host.clone(),
            threads: r.provenance.threads as u64,
        }
    }
}

/// The current time as RFC 3339 UTC (`2026-11-28T19:02:30Z`), without a date-time dependency.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-from-civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        // `date -u -d @1795892550 +%FT%TZ`
        assert_eq!(rfc3339(1_795_892_550), "2026-11-28T19:02:30Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
