//! Linear-probe baselines of a sweep's data, for context next to the auto-encoders' probe
//! accuracies: the probe on the raw pixels (once per dataset and limits) and on PCA codes of each
//! latent size (a linear code of the same size). `runner sweep` computes them and caches each in
//! `<sweep>/baselines/<key>-pixels.json` or `<key>-pca<k>.json`, where the key hashes the dataset's
//! fingerprint, the limits and the probe's definition: an existing file is reused, and a change
//! to any of those makes a new one. `runner report` reads them.

use crate::error::{write_file, ResultsError};
use crate::store::SweepDir;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// What the probe was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BaselineKind {
    /// The standardised pixels.
    Pixels,
    /// The first `dim` principal components of the pixels (PCA fitted on the training images).
    Pca,
}

/// One baseline: the probe's accuracy on one representation of one dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub kind: BaselineKind,
    pub dataset: String,
    pub dataset_fingerprint: String,
    pub train_limit: Option<u64>,
    pub test_limit: Option<u64>,
    pub train_samples: u64,
    pub test_samples: u64,
    /// Features the probe saw: the pixels of an image, or the PCA components.
    pub dim: u64,
    /// The probe's test accuracy.
    pub accuracy: f64,
    pub train_accuracy: f64,
    /// PCA: the fraction of the pixels' variance the components keep.
    pub explained_variance: Option<f64>,
    /// L-BFGS iterations, and whether it converged before its cap.
    pub iterations: u64,
    pub converged: bool,
    /// The probe's definition (`probe::SCHEME`).
    pub probe_scheme: String,
    /// Wall time of the PCA projection (PCA) and the probe.
    pub seconds: f64,
    pub created_at: String,
    pub runner_version: String,
}

/// The part of a baseline's file name that names its data and probe: 12 hex digits of SHA-256
/// over the dataset fingerprint, the limits and the probe scheme.
pub fn data_key(fingerprint: &str, train_limit: Option<usize>, test_limit: Option<usize>, scheme: &str) -> String {
    let limit = |l: Option<usize>| l.map_or("all".to_string(), |n| n.to_string());
    let mut h = Sha256::new();
    for part in ["ae-baseline-v1", fingerprint, &limit(train_limit), &limit(test_limit), scheme] {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    h.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// `<key>-pixels.json`, `<key>-pca<dim>.json`.
pub fn file_name(data_key: &str, kind: BaselineKind, dim: usize) -> String {
    match kind {
        BaselineKind::Pixels => format!("{data_key}-pixels.json"),
        BaselineKind::Pca => format!("{data_key}-pca{dim}.json"),
    }
}

impl SweepDir {
    pub fn baselines_dir(&self) -> PathBuf {
        self.dir.join("baselines")
    }

    /// The stored baseline at `path`; none when there is no readable one (it is computed again).
    pub fn cached_baseline(path: &Path) -> Option<Baseline> {
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Stores a baseline under its file name (atomically; shards computing the same one at once
    /// write the same content).
    pub fn write_baseline(&self, name: &str, baseline: &Baseline) -> Result<PathBuf, ResultsError> {
        let dir = self.baselines_dir();
        std::fs::create_dir_all(&dir).map_err(|e| ResultsError::io(&dir, e))?;
        let path = dir.join(name);
        let text = serde_json::to_string_pretty(baseline)
            .map_err(|e| ResultsError::Json { file: path.clone(), message: e.to_string() })?;
        write_file(&path, format!("{text}\n").as_bytes())?;
        Ok(path)
    }

    /// Every stored baseline, by file name. A file that cannot be read is an error naming it.
    pub fn load_baselines(&self) -> Result<Vec<Baseline>, ResultsError> {
        let dir = self.baselines_dir();
        let mut paths: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(ResultsError::io(&dir, e)),
        };
        paths.sort();
        paths
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p).map_err(|e| ResultsError::io(p, e))?;
                serde_json::from_str(&text).map_err(|e| ResultsError::Json { file: p.clone(), message: e.to_string() })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baseline(kind: BaselineKind, dim: u64) -> Baseline {
        Baseline {
            kind,
            dataset: "synthetic".into(),
            dataset_fingerprint: "synthetic-v1".into(),
            train_limit: Some(100),
            test_limit: None,
            train_samples: 100,
            test_samples: 2000,
            dim,
            accuracy: 0.5,
            train_accuracy: 0.75,
            explained_variance: (kind == BaselineKind::Pca).then_some(0.9),
            iterations: 12,
            converged: true,
            probe_scheme: "s".into(),
            seconds: 0.1,
            created_at: "2026-01-01T00:00:00Z".into(),
            runner_version: "0.1.0".into(),
        }
    }

    #[test]
    fn keys_change_with_the_data_the_limits_and_the_probe() {
        let k = data_key("fp", Some(100), None, "s");
        assert_eq!(k.len(), 12);
        assert_eq!(k, data_key("fp", Some(100), None, "s"));
        assert_ne!(k, data_key("fp2", Some(100), None, "s"));
        assert_ne!(k, data_key("fp", Some(101), None, "s"));
        assert_ne!(k, data_key("fp", None, Some(100), "s"));
        assert_ne!(k, data_key("fp", Some(100), None, "s2"));
        assert_eq!(file_name(&k, BaselineKind::Pca, 16), format!("{k}-pca16.json"));
        assert_eq!(file_name(&k, BaselineKind::Pixels, 784), format!("{k}-pixels.json"));
    }

    #[test]
    fn baselines_round_trip_and_a_broken_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = SweepDir::new(dir.path(), "s");
        assert!(store.load_baselines().unwrap().is_empty(), "no folder: no baselines");
        let (a, b) = (baseline(BaselineKind::Pixels, 784), baseline(BaselineKind::Pca, 16));
        let pa = store.write_baseline("k-pixels.json", &a).unwrap();
        store.write_baseline("k-pca16.json", &b).unwrap();
        assert_eq!(store.load_baselines().unwrap(), [b, a.clone()], "sorted by file name");
        assert_eq!(SweepDir::cached_baseline(&pa), Some(a));
        std::fs::write(&pa, "{").unwrap();
        assert_eq!(SweepDir::cached_baseline(&pa), None, "unreadable: computed again");
        let e = store.load_baselines().unwrap_err().to_string();
        assert!(e.contains("k-pixels.json"), "{e}");
    }
}
