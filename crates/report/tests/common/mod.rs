//! Shared by the report's integration tests: the committed fixture results tree and copies of it.
//!
//! The fixture (`tests/fixtures/results/fixture`) was written by `runner sweep` on the synthetic
//! dataset (ae and dae × latent_dim 2 and 32 × seeds 1 and 2) and then trimmed: model files,
//! reconstruction pictures and combined tables removed, the run `ae latent_dim=32 seed=2` deleted
//! (a missing seed) and the run `dae latent_dim=32 seed=2` turned into one that diverged in its
//! second epoch (its record and metrics.csv as `results` writes them for that case: one epoch,
//! final metrics of epoch 1, no latent.csv). The completed runs keep their latent.csv and the
//! sweep its baselines/ (raw pixels, PCA-2 and PCA-32).

#![allow(dead_code)]

use polars::prelude::{Column, DataFrame};
use report::{load, SweepResults};
use std::path::{Path, PathBuf};

pub fn fixture_results() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/results")
}

pub fn fixture_sweep() -> PathBuf {
    fixture_results().join("fixture")
}

/// The run that diverged, and the run whose configuration is missing its second seed.
pub const DIVERGED: &str = "45edc61298b6";
pub const LONE_SEED: &str = "73a6a2a03eae";

/// Copies a directory tree (the fixture) to `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(from).unwrap();
        let target = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A run's `run.json` as JSON.
pub fn record(sweep_dir: &Path, run_id: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(sweep_dir.join("runs").join(run_id).join("run.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub fn write_record(sweep_dir: &Path, run_id: &str, value: &serde_json::Value) {
    let path = sweep_dir.join("runs").join(run_id).join("run.json");
    std::fs::write(path, serde_json::to_string_pretty(value).unwrap() + "\n").unwrap();
}

/// The fixture as the trials of a search: `search.json` (committed beside the fixture) in the
/// sweep directory, a `trial` column in the run rows (in run-id order), and the diverged run
/// turned into one that was pruned.
pub fn search_fixture(dir: &Path) -> SweepResults {
    let sweep = dir.join("fixture");
    copy_tree(&fixture_sweep(), &sweep);
    let search = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/search.json");
    std::fs::copy(search, sweep.join(report::search_file::SEARCH_FILE)).unwrap();
    let mut s = load(&[dir.to_path_buf()]).unwrap().remove(0);
    assert!(s.search.is_some());
    let n = s.runs.height();
    let ids: Vec<String> =
        s.runs.column("run_id").unwrap().str().unwrap().iter().map(|v| v.unwrap().to_string()).collect();
    let trial: Vec<Option<u64>> = (0..n as u64).map(Some).collect();
    let status: Vec<String> = s
        .runs
        .column("status")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| if v == Some("diverged") { "pruned".to_string() } else { v.unwrap().to_string() })
        .collect();
    let error: Vec<Option<String>> = ids
        .iter()
        .map(|id| (id == DIVERGED).then(|| "pruned at rung 1 (epoch 1): test_bce 0.9 above the median".into()))
        .collect();
    let mut runs: DataFrame = s.runs.clone();
    runs.with_column(Column::new("trial".into(), trial)).unwrap();
    runs.with_column(Column::new("status".into(), status)).unwrap();
    runs.with_column(Column::new("error".into(), error)).unwrap();
    s.runs = runs;
    s.counts.diverged -= 1;
    s.counts.pruned += 1;
    s
}
