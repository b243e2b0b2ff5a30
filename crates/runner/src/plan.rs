//! What a sweep is made of before anything trains: the sweep file read with its overrides, the
//! datasets its runs need (each loaded once, so that a missing file or a limit beyond the data
//! stops the sweep first), each run's id, and the `--shard I/N` selection.

use anyhow::{bail, Context, Result};
use data::Dataset;
use spec::{DatasetName, Override, RunSpec, Sweep};
use std::collections::HashMap;
use std::path::Path;

/// A run with everything it needs resolved: its id and its dataset.
#[derive(Clone)]
pub struct Planned {
    pub spec: RunSpec,
    pub id: String,
    pub dataset: DataKey,
}

/// Datasets are loaded once per (name, limits).
pub type DataKey = (DatasetName, Option<usize>, Option<usize>);

/// Loads each dataset the runs need, once.
#[derive(Default)]
pub struct Datasets(HashMap<DataKey, Dataset>);

impl Datasets {
    pub fn key(spec: &RunSpec) -> DataKey {
        let d = &spec.config.data;
        (d.dataset.clone(), d.train_limit, d.test_limit)
    }

    pub fn load(&mut self, key: &DataKey, data_dir: &Path) -> Result<&Dataset> {
        if !self.0.contains_key(key) {
            let ds = data::load(&key.0, data_dir, key.1, key.2).with_context(|| format!("dataset `{}`", key.0))?;
            self.0.insert(key.clone(), ds);
        }
        self.0.get(key).context("dataset cache")
    }

    pub fn get(&self, key: &DataKey) -> Result<&Dataset> {
        self.0.get(key).with_context(|| format!("dataset `{}` was not loaded", key.0))
    }
}

/// Reads a sweep file with its overrides.
pub fn load_sweep(file: &Path, overrides: &[String]) -> Result<Sweep> {
    let overrides = overrides.iter().map(|s| Override::parse(s)).collect::<Result<Vec<_>, _>>()?;
    Ok(spec::load(file, &overrides)?)
}

/// Loads the datasets of a grid's runs and gives each run its id.
pub fn plan(sweep: &Sweep, data_dir: &Path, datasets: &mut Datasets) -> Result<Vec<Planned>> {
    plan_runs(sweep.runs.clone(), data_dir, datasets)
}

/// Loads the datasets of `runs` (each once) and gives each run its id.
pub fn plan_runs(runs: Vec<RunSpec>, data_dir: &Path, datasets: &mut Datasets) -> Result<Vec<Planned>> {
    let mut planned = Vec::with_capacity(runs.len());
    for r in runs {
        let key = Datasets::key(&r);
        let fingerprint = datasets.load(&key, data_dir)?.fingerprint.clone();
        let id = spec::run_id(&r.variant, &r.config, &fingerprint);
        planned.push(Planned { spec: r, id, dataset: key });
    }
    Ok(planned)
}

/// `--shard I/N`.
pub fn parse_shard(s: &str) -> Result<(usize, usize)> {
    let parsed = s.split_once('/').and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((i, n)) if n >= 1 && i < n => Ok((i, n)),
        _ => bail!("--shard {s:?}: expected I/N with 0 ≤ I < N, e.g. 0/4"),
    }
}
