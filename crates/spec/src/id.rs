//! Run identity: a short stable hash of the resolved configuration, its variant and the dataset's
//! content fingerprint, and the `config.toml` that records all of it in the run's folder.

use crate::config::RunConfig;
use crate::data::DataConfig;
use crate::error::SpecError;
use crate::model::ModelConfig;
use crate::noise::Noise;
use crate::train::TrainConfig;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Bumped when the meaning of a config changes, so that old results are not taken for new ones.
const ID_SCHEME: &str = "ae-run-v1";

/// The id of a run: 12 hex digits of SHA-256 over the variant, the resolved config (canonical
/// TOML) and the dataset fingerprint. The sweep's name is not part of it: the same run in two
/// sweeps is the same experiment.
pub fn run_id(variant: &str, config: &RunConfig, dataset_fingerprint: &str) -> String {
    let canonical = config.canonical();
    let mut h = Sha256::new();
    for part in [ID_SCHEME, variant, &canonical, dataset_fingerprint] {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    h.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// `runs/<run_id>/config.toml`: everything needed to train the run again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunFile {
    pub run_id: String,
    pub sweep: String,
    pub variant: String,
    pub label: String,
    /// A search's trial the run was first trained for; none in a grid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial: Option<u64>,
    pub dataset_fingerprint: String,
    pub data: DataConfig,
    pub model: ModelConfig,
    pub train: TrainConfig,
    #[serde(default, skip_serializing_if = "Noise::is_none")]
    pub noise: Noise,
}

impl RunFile {
    pub fn new(
        run_id: String,
        sweep: &str,
        variant: &str,
        label: String,
        dataset_fingerprint: &str,
        c: &RunConfig,
    ) -> Self {
        Self {
            run_id,
            sweep: sweep.to_string(),
            variant: variant.to_string(),
            label,
            trial: None,
            dataset_fingerprint: dataset_fingerprint.to_string(),
            data: c.data.clone(),
            model: c.model.clone(),
            train: c.train.clone(),
            noise: c.noise,
        }
    }

    pub fn config(&self) -> RunConfig {
        RunConfig { data: self.data.clone(), model: self.model.clone(), train: self.train.clone(), noise: self.noise }
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// Reads a run's `config.toml`; unknown keys are refused like in sweep files.
    pub fn read(path: &Path) -> Result<Self, SpecError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SpecError::RunConfig { file: path.to_path_buf(), message: e.to_string() })?;
        toml::from_str(&text).map_err(|e| crate::error::toml_error(path, &text, &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::*;

    fn cfg() -> RunConfig {
        RunConfig {
            data: DataConfig { dataset: DatasetName::Synthetic, train_limit: Some(100), test_limit: None },
            model: ModelConfig::plain(Architecture::Conv, 8),
            train: TrainConfig {
                epochs: 1,
                batch_size: 10,
                learning_rate: 1e-3,
                optimizer: Optimizer::Adam,
                loss: Loss::Bce,
                seed: 0,
                probe: Probe::Last,
                device: Device::Cpu,
            },
            noise: Noise::None,
        }
    }

    #[test]
    fn ids_are_short_stable_and_sensitive() {
        let a = run_id("ae", &cfg(), "fp");
        assert_eq!(a.len(), 12);
        assert_eq!(a, run_id("ae", &cfg(), "fp"));
        assert_ne!(a, run_id("dae", &cfg(), "fp"));
        assert_ne!(a, run_id("ae", &cfg(), "other data"));
        let mut c = cfg();
        c.train.seed = 1;
        assert_ne!(a, run_id("ae", &c, "fp"));
    }

    #[test]
    fn id_is_pinned() {
        // Pinned so that a change to the hashing (which would orphan every stored result) is seen.
        assert_eq!(run_id("ae", &cfg(), "fp"), "7761351022ef");
    }

    #[test]
    fn probe_settings_change_the_id_only_when_not_the_default() {
        // Runs recorded before the probe existed keep their ids: the defaults are not written.
        let canonical = toml::to_string(&cfg()).unwrap();
        assert!(!canonical.contains("probe"), "{canonical}");
        let mut c = cfg();
        c.train.probe = Probe::Every(2);
        assert_ne!(run_id("ae", &c, "fp"), run_id("ae", &cfg(), "fp"));
        let mut c = cfg();
        c.train.probe = Probe::Off;
        assert_ne!(run_id("ae", &c, "fp"), run_id("ae", &cfg(), "fp"));
        let text = RunFile::new("abc".into(), "s", "ae", "ae".into(), "fp", &c).to_toml();
        assert!(text.contains("probe = false"), "{text}");
    }

    #[test]
    fn a_cuda_run_has_an_id_of_its_own_and_a_cpu_run_keeps_its_id() {
        // `id_is_pinned` holds with the device field present: `cpu` is not written.
        let canonical = toml::to_string(&cfg()).unwrap();
        assert!(!canonical.contains("device"), "{canonical}");
        let mut c = cfg();
        c.train.device = Device::Cuda;
        assert_ne!(run_id("ae", &c, "fp"), run_id("ae", &cfg(), "fp"));
        let text = RunFile::new("abc".into(), "s", "ae", "ae".into(), "fp", &c).to_toml();
        assert!(text.contains("device = \"cuda\""), "{text}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::write(&p, &text).unwrap();
        assert_eq!(RunFile::read(&p).unwrap().config(), c);
    }

    #[test]
    fn a_kind_changes_the_id_and_plain_writes_no_kind_keys() {
        let canonical = toml::to_string(&cfg()).unwrap();
        for key in ["kind", "sparsity", "contraction", "pretrain_epochs", "beta", "nll_"] {
            assert!(!canonical.contains(key), "{key}: {canonical}");
        }
        let mut c = cfg();
        c.model.kind = Kind::Vae(VaeSettings { beta: 1.0, nll_samples: 200, nll_images: 1000 });
        assert_ne!(run_id("ae", &c, "fp"), run_id("ae", &cfg(), "fp"));
        let text = RunFile::new("abc".into(), "s", "ae", "ae".into(), "fp", &c).to_toml();
        assert!(text.contains("kind = \"vae\"") && text.contains("beta = 1.0"), "{text}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::write(&p, &text).unwrap();
        assert_eq!(RunFile::read(&p).unwrap().config(), c);
    }

    #[test]
    fn run_file_round_trips() {
        let rf = RunFile::new("abc".into(), "s", "ae", "ae".into(), "fp", &cfg());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::write(&p, rf.to_toml()).unwrap();
        assert_eq!(RunFile::read(&p).unwrap(), rf);
        std::fs::write(&p, rf.to_toml() + "\nextra = 1\n").unwrap();
        let e = RunFile::read(&p).unwrap_err().to_string();
        assert!(e.contains("config.toml") && e.contains("extra"), "{e}");
    }
}
