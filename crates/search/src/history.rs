//! The history a round is proposed from: finished trials, their outcomes, and the objective's direction.
//!
//! Also owns the one canonical ordering of a history (by trial index) and its validation against a space, so
//! every sampler sees the same trials in the same order however the caller collected them.

use crate::error::SearchError;
use crate::space::{Space, Value};

/// Whether smaller or larger objective values are better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    Minimize,
    Maximize,
}

impl Goal {
    /// The value as a loss (smaller is better). Negation is exact in IEEE 754, so this costs no determinism.
    pub fn loss(self, value: f64) -> f64 {
        match self {
            Goal::Minimize => value,
            Goal::Maximize => -value,
        }
    }
}

/// How a finished trial ended, as far as the search is concerned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// Ran to the end; the value is the configuration's objective (its mean over seeds). A non-finite value
    /// (NaN from a diverged run, ±∞) is read as [`Outcome::Failed`]: NaN has no rank, and an infinite objective
    /// is a divergence, not a record.
    Complete(f64),
    /// Stopped early by a pruner after reaching rung `rung` (0 = first). `value` is the objective at that rung
    /// (`None`, or a non-finite value, when it had none). Ranked after every completed trial, deeper rungs first,
    /// then by value, valueless last.
    Pruned { rung: u64, value: Option<f64> },
    /// Crashed, diverged or was otherwise lost without a usable value. Always counted among the bad trials.
    Failed,
}

/// One finished trial: its global index `t = round · batch + j`, the parameter values it ran with (in the
/// space's order) and how it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Trial {
    pub index: u64,
    pub values: Vec<Value>,
    pub outcome: Outcome,
}

/// The history in canonical order (by trial index), after checking that every entry fits `space`, that no index
/// repeats, and that every trial comes before `first`, the first trial index of the round being proposed.
///
/// Sorting here is what makes proposals independent of the order the caller collected results in (e.g. the order
/// in which parallel runs finished).
pub(crate) fn canonical<'a>(
    space: &Space,
    history: &'a [Trial],
    round: u64,
    first: u64,
) -> Result<Vec<&'a Trial>, SearchError> {
    let mut sorted: Vec<&Trial> = history.iter().collect();
    // Stable, and the key is unique once duplicates are rejected, so the order is total.
    sorted.sort_by_key(|t| t.index);
    for pair in sorted.windows(2) {
        if pair[0].index == pair[1].index {
            return Err(SearchError::DuplicateTrial { trial: pair[0].index });
        }
    }
    for trial in &sorted {
        if trial.index >= first {
            return Err(SearchError::FutureTrial { trial: trial.index, round, first });
        }
        if trial.values.len() != space.len() {
            return Err(SearchError::HistoryArity { trial: trial.index, got: trial.values.len(), want: space.len() });
        }
        for ((key, dist), value) in space.params().iter().zip(&trial.values) {
            dist.check(value).map_err(|cause| SearchError::HistoryValue {
                trial: trial.index,
                key: key.clone(),
                cause,
            })?;
        }
    }
    Ok(sorted)
}

/// The good/bad split of TPE: trial indices of l(x)'s trials ("below") and g(x)'s ("above"), each ascending.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Split {
    pub below: Vec<u64>,
    pub above: Vec<u64>,
}

/// Splits a canonical history into the best `gamma(n)` trials and the rest, where `n` counts the completed and
/// pruned trials (Optuna's `_split_trials`, single objective, no constraints).
///
/// Ranking: completed trials by loss, then pruned trials by (deeper rung first, loss, no value last); ties by
/// trial index, which the stable sort on the index-ordered input gives. Failed trials (and completed ones with a
/// non-finite value) are never in `below`, and do not count in `n`: Optuna ignores FAIL trials entirely; we go one
/// step further and put them in g(x), so that regions that crash or diverge (a too-large learning rate) are
/// actively avoided rather than merely not rewarded.
pub(crate) fn split(sorted: &[&Trial], goal: Goal, gamma: impl Fn(usize) -> usize) -> Split {
    let mut complete: Vec<(f64, u64)> = Vec::new();
    // (rung, loss or +∞ for "no value", index)
    let mut pruned: Vec<(u64, f64, u64)> = Vec::new();
    let mut failed: Vec<u64> = Vec::new();
    for t in sorted {
        match t.outcome {
            Outcome::Complete(v) if v.is_finite() => complete.push((goal.loss(v), t.index)),
            Outcome::Complete(_) | Outcome::Failed => failed.push(t.index),
            Outcome::Pruned { rung, value } => {
                let loss = match value {
                    Some(v) if v.is_finite() => goal.loss(v),
                    _ => f64::INFINITY,
                };
                pruned.push((rung, loss, t.index));
            }
        }
    }
    let n = complete.len() + pruned.len();
    let n_below = gamma(n).min(n);

    // Losses here are finite or +∞ (non-finite values were mapped above), and the trial index is the last key,
    // so the order is total and independent of the sort algorithm.
    complete.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    pruned.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2)));

    let ranked = complete.iter().map(|c| c.1).chain(pruned.iter().map(|p| p.2));
    let mut split = Split::default();
    for (rank, index) in ranked.enumerate() {
        if rank < n_below {
            split.below.push(index);
        } else {
            split.above.push(index);
        }
    }
    split.above.extend(failed);
    // Back to trial order: Optuna's weights ramp over trial age, oldest first.
    split.below.sort_unstable();
    split.above.sort_unstable();
    split
}
