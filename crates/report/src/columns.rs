//! What each column of a run row means to a report, in one place: configuration (a key a sweep can
//! vary, with its sweep path), the seed (what tables aggregate over), identity (which run, where,
//! when) or outcome (what the run produced). A test checks the classification against the
//! `RunRow` columns, so a column added there cannot be forgotten here. Also the metrics a report
//! can lead with.

use crate::error::ReportError;
use results::table::{flat_schema, Rows};
use results::RunRow;
use std::fmt;
use std::sync::LazyLock;

/// The part a `RunRow` column plays in a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A configuration key, with the path a sweep file or `--group-by` names it by.
    Config(&'static str),
    /// The seed: runs that differ only in it are repeats of one configuration.
    Seed(&'static str),
    /// Which run this is, and where and when it ran.
    Identity,
    /// What the run produced.
    Outcome,
}

/// The roles of `RunRow`'s fixed columns. Its kind-key columns (`spec::KindColumns`) are the
/// configuration keys `model.<key>`, and its `final_*` columns (one per metric of the epoch
/// rows) are outcomes, whichever they are: a kind or a metric added elsewhere needs nothing here.
const FIXED: [(&str, Role); 35] = [
    ("run_id", Role::Identity),
    ("sweep", Role::Identity),
    ("variant", Role::Config("variant")),
    ("label", Role::Identity),
    ("trial", Role::Identity),
    ("status", Role::Outcome),
    ("error", Role::Outcome),
    ("dataset", Role::Config("data.dataset")),
    ("dataset_fingerprint", Role::Identity),
    ("train_limit", Role::Config("data.train_limit")),
    ("test_limit", Role::Config("data.test_limit")),
    ("architecture", Role::Config("model.architecture")),
    ("latent_dim", Role::Config("model.latent_dim")),
    ("hidden", Role::Config("model.hidden")),
    ("kind", Role::Config("model.kind")),
    ("epochs", Role::Config("train.epochs")),
    ("batch_size", Role::Config("train.batch_size")),
    ("learning_rate", Role::Config("train.learning_rate")),
    ("optimizer", Role::Config("train.optimizer")),
    ("momentum", Role::Config("train.momentum")),
    ("loss", Role::Config("train.loss")),
    ("seed", Role::Seed("train.seed")),
    ("noise_kind", Role::Config("noise.kind")),
    ("noise_level", Role::Config("noise.level")),
    ("epochs_completed", Role::Outcome),
    ("best_epoch", Role::Outcome),
    ("best_test_bce", Role::Outcome),
    ("mean_samples_per_second", Role::Outcome),
    ("train_seconds", Role::Outcome),
    ("started_at", Role::Identity),
    ("finished_at", Role::Identity),
    ("runner_version", Role::Identity),
    ("git_revision", Role::Identity),
    ("host", Role::Identity),
    ("threads", Role::Identity),
];

/// Every `RunRow` column with its role, in the row's order.
pub fn run_columns() -> &'static [(&'static str, Role)] {
    static COLUMNS: LazyLock<Vec<(&'static str, Role)>> = LazyLock::new(|| {
        let kind_keys: Vec<String> =
            flat_schema::<spec::KindColumns>().unwrap_or_default().into_iter().map(|(n, _)| n).collect();
        let names: Vec<String> = RunRow::schema().unwrap_or_default().into_iter().map(|(n, _)| n).collect();
        names
            .into_iter()
            .filter_map(|name| {
                // The names live as long as the program: this table is built once.
                let name: &'static str = Box::leak(name.into_boxed_str());
                let role = if let Some((_, r)) = FIXED.iter().find(|(n, _)| *n == name) {
                    *r
                } else if kind_keys.iter().any(|k| k == name) {
                    Role::Config(Box::leak(format!("model.{name}").into_boxed_str()))
                } else if name.starts_with("final_") {
                    Role::Outcome
                } else {
                    // A column no rule classifies: left out, and the test below fails.
                    return None;
                };
                Some((name, role))
            })
            .collect()
    });
    &COLUMNS
}

/// The configuration columns, in row order: the candidates for a sweep's varying keys.
pub fn config_columns() -> impl Iterator<Item = &'static str> {
    run_columns().iter().filter(|(_, r)| matches!(r, Role::Config(_))).map(|(n, _)| *n)
}

/// The columns a table can be grouped by: the configuration keys and the seed.
fn key_columns() -> impl Iterator<Item = (&'static str, &'static str)> {
    run_columns().iter().filter_map(|(n, r)| match r {
        Role::Config(path) | Role::Seed(path) => Some((*n, *path)),
        _ => None,
    })
}

/// The column a key names, given as a column (`latent_dim`, `noise_kind`) or as its sweep path
/// (`model.latent_dim`, `noise.kind`, `train.seed`). `option` names the flag in the message.
pub fn resolve_key(given: &str, option: &'static str) -> Result<&'static str, ReportError> {
    let given = given.trim();
    key_columns().find(|(name, path)| *name == given || *path == given).map(|(name, _)| name).ok_or_else(|| {
        ReportError::UnknownKey {
            option,
            given: given.to_string(),
            allowed: key_columns().map(|(n, _)| n).collect::<Vec<_>>().join(", "),
        }
    })
}

/// A metric a table can lead with and mark the best of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::VariantArray)]
pub enum Metric {
    TestBce,
    TestMse,
    TestPsnr,
    NoisyTestBce,
    NoisyTestMse,
    NoisyTestPsnr,
    TrainLoss,
    /// The linear probe's test accuracy (on epochs with a probe).
    ProbeAccuracy,
    /// A VAE's negative ELBO per test image (nats).
    TestNegElbo,
    /// A VAE's importance-sampled −log p(x) per test image (nats; after the last epoch).
    TestNll,
}

impl Metric {
    /// Every metric, derived from the enum (`--metric` parses through it).
    pub const ALL: &'static [Metric] = <Metric as strum::VariantArray>::VARIANTS;

    /// Its name, which is also its column in the per-epoch metric rows.
    pub fn name(self) -> &'static str {
        match self {
            Self::TestBce => "test_bce",
            Self::TestMse => "test_mse",
            Self::TestPsnr => "test_psnr",
            Self::NoisyTestBce => "noisy_test_bce",
            Self::NoisyTestMse => "noisy_test_mse",
            Self::NoisyTestPsnr => "noisy_test_psnr",
            Self::TrainLoss => "train_loss",
            Self::ProbeAccuracy => "probe_accuracy",
            Self::TestNegElbo => "test_neg_elbo",
            Self::TestNll => "test_nll",
        }
    }

    /// Its column in the run rows: the value at the last epoch.
    pub fn final_column(self) -> &'static str {
        match self {
            Self::TestBce => "final_test_bce",
            Self::TestMse => "final_test_mse",
            Self::TestPsnr => "final_test_psnr",
            Self::NoisyTestBce => "final_noisy_test_bce",
            Self::NoisyTestMse => "final_noisy_test_mse",
            Self::NoisyTestPsnr => "final_noisy_test_psnr",
            Self::TrainLoss => "final_train_loss",
            Self::ProbeAccuracy => "final_probe_accuracy",
            Self::TestNegElbo => "final_test_neg_elbo",
            Self::TestNll => "final_test_nll",
        }
    }

    /// PSNR is a signal-to-noise ratio and the probe's an accuracy; every other metric is a loss
    /// (the negative ELBO and log-likelihood too).
    pub fn higher_is_better(self) -> bool {
        matches!(self, Self::TestPsnr | Self::NoisyTestPsnr | Self::ProbeAccuracy)
    }

    /// Axis label, with the unit.
    pub fn axis_label(self) -> &'static str {
        match self {
            Self::TestBce => "test BCE per pixel",
            Self::TestMse => "test MSE per pixel",
            Self::TestPsnr => "test PSNR (dB)",
            Self::NoisyTestBce => "noisy-input test BCE per pixel",
            Self::NoisyTestMse => "noisy-input test MSE per pixel",
            Self::NoisyTestPsnr => "noisy-input test PSNR (dB)",
            Self::TrainLoss => "training loss (per pixel; per image for a VAE)",
            Self::ProbeAccuracy => "linear-probe test accuracy",
            Self::TestNegElbo => "test negative ELBO (nats per image)",
            Self::TestNll => "test −log p(x) (nats per image)",
        }
    }

    pub fn parse(given: &str) -> Result<Self, ReportError> {
        Self::ALL.iter().copied().find(|m| m.name() == given.trim()).ok_or_else(|| ReportError::UnknownMetric {
            given: given.to_string(),
            allowed: Self::ALL.iter().map(|m| m.name()).collect::<Vec<_>>().join(", "),
        })
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spec::MetricRow;

    #[test]
    fn every_run_row_column_is_classified_once_in_order() {
        let names: Vec<String> = RunRow::schema().unwrap().into_iter().map(|(n, _)| n).collect();
        let classified: Vec<&str> = run_columns().iter().map(|(n, _)| *n).collect();
        assert_eq!(names, classified, "every RunRow column needs a role");
        // The kind's keys are configuration keys by their sweep path.
        assert!(run_columns().contains(&("beta", Role::Config("model.beta"))));
        assert!(run_columns().contains(&("final_test_nll", Role::Outcome)));
    }

    #[test]
    fn keys_resolve_by_column_or_sweep_path() {
        assert_eq!(resolve_key("latent_dim", "--group-by").unwrap(), "latent_dim");
        assert_eq!(resolve_key("model.latent_dim", "--group-by").unwrap(), "latent_dim");
        assert_eq!(resolve_key("noise.kind", "--group-by").unwrap(), "noise_kind");
        assert_eq!(resolve_key("train.seed", "--group-by").unwrap(), "seed");
        assert_eq!(resolve_key("variant", "--group-by").unwrap(), "variant");
        assert_eq!(resolve_key("model.kind", "--group-by").unwrap(), "kind");
        assert_eq!(resolve_key("model.beta", "--group-by").unwrap(), "beta");
        // Outcome and identity columns are not keys.
        for bad in ["final_test_bce", "run_id", "model.epochs", "latent"] {
            let e = resolve_key(bad, "--group-by").unwrap_err().to_string();
            assert!(e.contains(bad) && e.contains("allowed: variant, dataset"), "{e}");
        }
    }

    #[test]
    fn metrics_name_real_columns() {
        let run: Vec<String> = RunRow::schema().unwrap().into_iter().map(|(n, _)| n).collect();
        let epoch: Vec<String> = MetricRow::schema().unwrap().into_iter().map(|(n, _)| n).collect();
        for &m in Metric::ALL {
            assert!(run.iter().any(|c| c == m.final_column()), "{m}");
            assert!(epoch.iter().any(|c| c == m.name()), "{m}");
            assert_eq!(Metric::parse(m.name()).unwrap(), m);
        }
        let e = Metric::parse("test_ssim").unwrap_err().to_string();
        assert!(e.contains("test_ssim") && e.contains("train_loss, probe_accuracy, test_neg_elbo, test_nll"), "{e}");
        assert!(Metric::ProbeAccuracy.higher_is_better() && !Metric::TestMse.higher_is_better());
        assert!(!Metric::TestNll.higher_is_better(), "a negative log-likelihood: lower is better");
    }
}
