//! The `[search]` section: instead of a grid, a seeded search over a space — random search or TPE
//! (the `search` crate's samplers), optionally with successive halving. The keys as written, their
//! validation (naming the file, line and key), and the resolved [`SearchSpec`].
//!
//! A search has `trials` configurations, proposed `batch` at a time: round k's proposals depend
//! only on the results of rounds < k. Each trial is replicated over what remains of the grid (the
//! variants and the `[sweep]` axes, e.g. seeds); a trial's value is the mean of `metric` over its
//! runs. The space's keys are set at the axes' layer (see `sweep.rs`), so they may not also be an
//! axis, a zip key or a variant's key.

use crate::error::Problem;
use crate::metrics::metric_columns;
use crate::value::AtLeastOne;
use search::{ChoiceValue, Distribution, Goal, Method, Space, TpeConfig};
use serde::Deserialize;
use std::collections::BTreeSet;
use toml::{Table, Value};

/// Trials of a TPE search that are drawn at random before the model is used (Optuna's
/// `n_startup_trials`).
pub const DEFAULT_STARTUP: u64 = 10;
/// Proposals per round: enough for a few jobs or shards to train at once.
pub const DEFAULT_BATCH: u64 = 8;

/// `[search]` as written (the typed pass: unknown keys and wrong types, with TOML's line).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchKeys {
    pub method: MethodName,
    pub trials: AtLeastOne,
    #[serde(default)]
    pub seed: u64,
    pub metric: String,
    pub goal: Option<GoalName>,
    pub batch: Option<AtLeastOne>,
    pub startup: Option<AtLeastOne>,
    pub space: Table,
    pub prune: Option<PruneKeys>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MethodName {
    Random,
    Tpe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GoalName {
    Minimize,
    Maximize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PruneKeys {
    pub min_epochs: AtLeastOne,
    pub eta: AtLeastOne,
}

/// One `[search.space]` entry as written: exactly one distribution, and `log` with `int` only.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DistributionKeys {
    uniform: Option<Vec<Value>>,
    log_uniform: Option<Vec<Value>>,
    int: Option<Vec<Value>>,
    log: Option<bool>,
    choice: Option<Vec<Value>>,
}

/// Successive halving on the per-epoch metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prune {
    /// The first rung.
    pub min_epochs: usize,
    /// Keep the best 1/eta at each rung.
    pub eta: usize,
}

impl Prune {
    /// The rungs below `epochs`: `min_epochs · eta^k`, k = 0, 1, …
    pub fn rungs(&self, epochs: usize) -> Vec<usize> {
        let mut rungs = Vec::new();
        let mut r = self.min_epochs;
        while r < epochs {
            rungs.push(r);
            r = match r.checked_mul(self.eta) {
                Some(next) => next,
                None => break,
            };
        }
        rungs
    }
}

/// A resolved search.
#[derive(Debug, Clone)]
pub struct SearchSpec {
    pub method: Method,
    pub trials: u64,
    pub seed: u64,
    /// A metric column of the epoch rows (`spec::metrics::metric_columns`).
    pub metric: String,
    pub goal: Goal,
    pub batch: u64,
    pub space: Space,
    pub prune: Option<Prune>,
}

impl SearchSpec {
    /// Rounds of `batch` trials (the last one may be shorter).
    pub fn rounds(&self) -> u64 {
        self.trials.div_ceil(self.batch)
    }

    /// The trial indices of round `round`.
    pub fn round_trials(&self, round: u64) -> std::ops::Range<u64> {
        let first = round * self.batch;
        first..(first + self.batch).min(self.trials)
    }

    /// Whether a distribution is on a log axis (for plots and reports).
    pub fn is_log(d: &Distribution) -> bool {
        matches!(d, Distribution::LogUniform { .. } | Distribution::Int { log: true, .. })
    }
}

/// A sampled value as the TOML value the run's config takes.
pub fn toml_value(d: &Distribution, v: &search::Value) -> Value {
    match (d, v) {
        (Distribution::Choice(choices), search::Value::Choice(i)) => match choices.get(*i) {
            Some(ChoiceValue::Str(s)) => Value::String(s.clone()),
            Some(ChoiceValue::Int(n)) => Value::Integer(*n),
            Some(ChoiceValue::Float(f)) => Value::Float(*f),
            Some(ChoiceValue::Bool(b)) => Value::Boolean(*b),
            None => Value::String(String::new()),
        },
        (_, search::Value::Int(n)) => Value::Integer(*n),
        (_, search::Value::Float(f)) => Value::Float(*f),
        (_, search::Value::Choice(i)) => Value::Integer(*i as i64),
    }
}

/// What a search's keys must not collide with, and how to check a key and its values: given by the
/// sweep file's reader.
pub(crate) struct Context<'a> {
    /// The `[sweep]` axis and zip keys, and every key a variant sets.
    pub taken: &'a BTreeSet<(String, &'static str)>,
    /// The 1-based line of a dotted key path of the file.
    pub line: &'a dyn Fn(&str) -> Option<usize>,
    /// Whether a path names a sweepable key (`section.key`), and whether a value fits it.
    pub check_path: &'a dyn Fn(&str) -> Result<(), String>,
    pub check_value: &'a dyn Fn(&str, &Value) -> Result<(), String>,
    /// `train.epochs` of the base sections (what the rungs are measured against).
    pub epochs: usize,
}

/// Validates the typed `[search]` keys into a [`SearchSpec`], or the problems, each naming its key.
pub(crate) fn resolve(keys: &SearchKeys, ctx: &Context<'_>) -> Result<SearchSpec, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut problem = |key: &str, message: String| problems.push(Problem::new((ctx.line)(key), key, message));

    let metrics: Vec<&str> = metric_columns().collect();
    if !metrics.contains(&keys.metric.as_str()) {
        problem(
            "search.metric",
            format!("`{}` is not a metric column; expected one of {}", keys.metric, metrics.join(", ")),
        );
    }
    // A metric's natural direction when none is written.
    let goal = match keys.goal {
        Some(GoalName::Minimize) => Goal::Minimize,
        Some(GoalName::Maximize) => Goal::Maximize,
        None if matches!(keys.metric.as_str(), "probe_accuracy" | "test_psnr" | "noisy_test_psnr") => Goal::Maximize,
        None => Goal::Minimize,
    };
    let batch = keys.batch.map_or(DEFAULT_BATCH, |b| b.0 as u64);
    let method = match keys.method {
        MethodName::Random => {
            if keys.startup.is_some() {
                problem("search.startup", "applies to `method = \"tpe\"` only".to_string());
            }
            Method::Random
        }
        MethodName::Tpe => Method::Tpe(TpeConfig::new(keys.startup.map_or(DEFAULT_STARTUP, |s| s.0 as u64), goal)),
    };

    let mut params = Vec::new();
    if keys.space.is_empty() {
        problem(
            "search.space",
            "is empty; give at least one key to search, e.g. \"train.learning_rate\" = { log_uniform = [1e-4, 1e-2] }"
                .into(),
        );
    }
    for (path, entry) in &keys.space {
        let key = format!("search.space.{path}");
        let at = |message: String| Problem::new((ctx.line)(&key), format!("search.space.\"{path}\""), message);
        if let Err(m) = (ctx.check_path)(path) {
            problems.push(at(m));
            continue;
        }
        if let Some((_, what)) = ctx.taken.iter().find(|(k, _)| k == path) {
            problems.push(at(format!("is also {what}; a searched key is set by the search alone")));
            continue;
        }
        match distribution(path, entry, ctx) {
            Ok(d) => params.push((path.clone(), d)),
            Err(m) => problems.push(at(m)),
        }
    }

    let prune = keys.prune.as_ref().map(|p| Prune { min_epochs: p.min_epochs.0, eta: p.eta.0 });
    if let Some(p) = prune {
        if p.eta < 2 {
            problems.push(Problem::new(
                (ctx.line)("search.prune.eta"),
                "search.prune.eta",
                format!("{} keeps every trial; expected an integer ≥ 2 (keep the best 1/eta at each rung)", p.eta),
            ));
        }
        if p.min_epochs >= ctx.epochs {
            problems.push(Problem::new(
                (ctx.line)("search.prune.min_epochs"),
                "search.prune.min_epochs",
                format!(
                    "{} is not below train.epochs ({}): the first rung must come before the last epoch",
                    p.min_epochs, ctx.epochs
                ),
            ));
        }
        if let Some((_, what)) = ctx.taken.iter().find(|(k, _)| k == "train.epochs") {
            problems.push(Problem::new(
                (ctx.line)("search.prune"),
                "search.prune",
                format!("needs one `train.epochs` for every run, but it is {what}"),
            ));
        }
        if params.iter().any(|(k, _)| k == "train.epochs") {
            problems.push(Problem::new(
                (ctx.line)("search.prune"),
                "search.prune",
                "needs one `train.epochs` for every run, but it is searched".to_string(),
            ));
        }
        if matches!(keys.metric.as_str(), "probe_accuracy" | "test_nll") {
            problems.push(Problem::new(
                (ctx.line)("search.metric"),
                "search.metric",
                format!("`{}` is measured after the last epoch only; successive halving compares a metric of every epoch (e.g. test_bce)", keys.metric),
            ));
        }
    }

    let space = if params.is_empty() {
        None
    } else {
        match Space::new(params) {
            Ok(s) => Some(s),
            Err(e) => {
                problems.push(Problem::new((ctx.line)("search.space"), "search.space", e.to_string()));
                None
            }
        }
    };
    match space {
        Some(space) if problems.is_empty() => Ok(SearchSpec {
            method,
            trials: keys.trials.0 as u64,
            seed: keys.seed,
            metric: keys.metric.clone(),
            goal,
            batch,
            space,
            prune,
        }),
        _ => Err(problems),
    }
}

/// One space entry as a distribution whose values fit the key.
fn distribution(path: &str, entry: &Value, ctx: &Context<'_>) -> Result<Distribution, String> {
    const FORMS: &str = "one of { uniform = [low, high] }, { log_uniform = [low, high] }, { int = [low, high] } (with \
                         optional log = true), { choice = [a, b, …] }";
    let Value::Table(t) = entry else { return Err(format!("must be a table: {FORMS}")) };
    let keys: DistributionKeys =
        t.clone().try_into().map_err(|e: toml::de::Error| format!("{}; expected {FORMS}", e.message().trim()))?;
    let given = [keys.uniform.is_some(), keys.log_uniform.is_some(), keys.int.is_some(), keys.choice.is_some()];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(format!("must give exactly one distribution: {FORMS}"));
    }
    if keys.log.is_some() && keys.int.is_none() {
        return Err("`log` applies to `int` only (use log_uniform for a float range)".into());
    }
    let fits = |v: &Value| (ctx.check_value)(path, v).map_err(|m| format!("{} does not fit the key: {m}", display(v)));
    let pair = |name: &str, list: &[Value]| -> Result<(Value, Value), String> {
        match list {
            [lo, hi] => Ok((lo.clone(), hi.clone())),
            _ => Err(format!("`{name}` takes two bounds, [low, high]; got {} values", list.len())),
        }
    };
    let number = |v: &Value| match v {
        Value::Float(f) => Ok(*f),
        Value::Integer(i) => Ok(*i as f64),
        other => Err(format!("bound {} is not a number", display(other))),
    };
    let d = if let Some(list) = &keys.uniform {
        let (lo, hi) = pair("uniform", list)?;
        let (a, b) = (number(&lo)?, number(&hi)?);
        fits(&Value::Float(a))?;
        fits(&Value::Float(b))?;
        Distribution::uniform(a, b).map_err(|e| e.to_string())?
    } else if let Some(list) = &keys.log_uniform {
        let (lo, hi) = pair("log_uniform", list)?;
        let (a, b) = (number(&lo)?, number(&hi)?);
        if a <= 0.0 || b <= 0.0 {
            return Err(format!("a log range needs bounds > 0, got [{a}, {b}]"));
        }
        fits(&Value::Float(a))?;
        fits(&Value::Float(b))?;
        Distribution::log_uniform(a, b).map_err(|e| e.to_string())?
    } else if let Some(list) = &keys.int {
        let (lo, hi) = pair("int", list)?;
        let int = |v: &Value| match v {
            Value::Integer(i) => Ok(*i),
            other => Err(format!("`int` bounds must be integers, got {}", display(other))),
        };
        let (a, b) = (int(&lo)?, int(&hi)?);
        if a >= b {
            return Err(format!("low ({a}) must be below high ({b})"));
        }
        fits(&lo)?;
        fits(&hi)?;
        Distribution::int(a, b, keys.log.unwrap_or(false)).map_err(|e| e.to_string())?
    } else {
        let list = keys.choice.unwrap_or_default();
        let mut choices = Vec::new();
        for v in &list {
            fits(v)?;
            choices.push(match v {
                Value::String(s) => ChoiceValue::Str(s.clone()),
                Value::Integer(i) => ChoiceValue::Int(*i),
                Value::Float(f) => ChoiceValue::Float(*f),
                Value::Boolean(b) => ChoiceValue::Bool(*b),
                other => return Err(format!("choice {} is not a string, number or boolean", display(other))),
            });
        }
        Distribution::choice(choices).map_err(|e| e.to_string())?
    };
    Ok(d)
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rungs_grow_by_eta_below_the_last_epoch() {
        assert_eq!(Prune { min_epochs: 1, eta: 3 }.rungs(9), [1, 3]);
        assert_eq!(Prune { min_epochs: 1, eta: 3 }.rungs(10), [1, 3, 9]);
        assert_eq!(Prune { min_epochs: 2, eta: 2 }.rungs(16), [2, 4, 8]);
        assert!(Prune { min_epochs: 5, eta: 2 }.rungs(5).is_empty());
    }
}
