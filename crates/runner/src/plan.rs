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

/// A shard's part of a list of runs: the runs at positions i ≡ I (mod N); all without a shard.
pub fn share<'p>(
    runs: impl IntoIterator<Item = &'p Planned>,
    shard: Option<(usize, usize)>,
) -> Vec<(usize, &'p Planned)> {
    runs.into_iter().enumerate().filter(|(i, _)| shard.is_none_or(|(s, n)| i % n == s)).collect()
}

/// `--shard I/N`, or `slurm` (`slurm/N`): shard I of N from Slurm's job array.
pub fn parse_shard(s: &str) -> Result<(usize, usize)> {
    let env = |name: &str| std::env::var(name).ok();
    if s == "slurm" || s.starts_with("slurm/") {
        return slurm_shard(s, &env);
    }
    let parsed = s.split_once('/').and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((i, n)) if n >= 1 && i < n => Ok((i, n)),
        _ => bail!("--shard {s:?}: expected I/N with 0 ≤ I < N (e.g. 0/4), or `slurm` inside a job array"),
    }
}

/// The shard of a Slurm array task: I = `SLURM_ARRAY_TASK_ID`, N = `SLURM_ARRAY_TASK_COUNT` for
/// a whole array `0-(N-1)`. A partial array (resubmitting some tasks, `--array=1,3`) does not say
/// how many shards the sweep has: then N must be given, `--shard slurm/N`.
fn slurm_shard(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<(usize, usize)> {
    let number = |name: &str| -> Result<Option<usize>> {
        match env(name) {
            None => Ok(None),
            Some(v) => {
                v.trim().parse().map(Some).map_err(|_| anyhow::anyhow!("--shard {s}: {name}={v:?} is not a number"))
            }
        }
    };
    let Some(task) = number("SLURM_ARRAY_TASK_ID")? else {
        bail!("--shard {s}: SLURM_ARRAY_TASK_ID is not set; `--shard slurm` works inside a Slurm job array (sbatch --array=0-(N-1)); elsewhere give --shard I/N")
    };
    let given = s
        .strip_prefix("slurm/")
        .map(|n| n.trim().parse::<usize>())
        .transpose()
        .map_err(|_| anyhow::anyhow!("--shard {s}: expected slurm/N with N a number of shards"))?;
    let n = match given {
        Some(n) => n,
        None => {
            let (count, min, max) =
                (number("SLURM_ARRAY_TASK_COUNT")?, number("SLURM_ARRAY_TASK_MIN")?, number("SLURM_ARRAY_TASK_MAX")?);
            match (count, min, max) {
                (Some(c), Some(0), Some(m)) if m + 1 == c => c,
                (Some(c), min, max) => bail!(
                    "--shard slurm: this array ({c} tasks, ids {}–{}) is not a whole 0-(N-1) array, so it does not say how \
                     many shards the sweep has; give them: --shard slurm/N",
                    min.map_or("?".into(), |v| v.to_string()),
                    max.map_or("?".into(), |v| v.to_string())
                ),
                (None, ..) => bail!("--shard slurm: SLURM_ARRAY_TASK_COUNT is not set; give the shard count: --shard slurm/N"),
            }
        }
    };
    if n == 0 || task >= n {
        bail!("--shard {s}: array task {task} is not one of {n} shards (0–{})", n.saturating_sub(1));
    }
    Ok((task, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slurm(s: &str, vars: &[(&str, &str)]) -> Result<(usize, usize)> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        slurm_shard(s, &|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn a_slurm_array_task_is_its_shard_and_a_partial_array_needs_the_count() {
        let whole = [
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "2"),
        ];
        assert_eq!(slurm("slurm", &whole).unwrap(), (2, 3));
        let partial = [
            ("SLURM_ARRAY_TASK_ID", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "1"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "1"),
        ];
        let e = slurm("slurm", &partial).unwrap_err().to_string();
        assert!(e.contains("--shard slurm/N") && e.contains("not a whole"), "{e}");
        assert_eq!(slurm("slurm/3", &partial).unwrap(), (1, 3));
        let e = slurm("slurm", &[]).unwrap_err().to_string();
        assert!(e.contains("SLURM_ARRAY_TASK_ID is not set") && e.contains("--shard I/N"), "{e}");
        assert!(slurm("slurm/1", &partial).unwrap_err().to_string().contains("not one of 1 shards"));
        assert!(parse_shard("2/3").is_ok() && parse_shard("3/3").is_err());
    }
}
