//! Shared test helpers: the project's stream derivation, a search loop, and small statistics.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rand_chacha::ChaCha8Rng;
use search::{propose, Method, Outcome, Space, Trial, Value};

/// The project's stream of a search's proposals (`data::rng::purpose::SEARCH`).
pub const SEARCH: u64 = data::rng::purpose::SEARCH;

/// The project's stream derivation itself.
pub use data::rng::rng_for;

/// The stream of trial `t` of a search seeded `seed`, as the caller derives it.
pub fn trial_rng(seed: u64) -> impl Fn(u64) -> ChaCha8Rng {
    move |t| rng_for(seed, SEARCH, t, 0)
}

/// Runs a whole search of `trials` trials in rounds of `batch`, evaluating `objective` (a loss; `None` = failed)
/// after each round, as the caller will. Returns the history in trial order.
pub fn run_search(
    space: &Space,
    method: &Method,
    seed: u64,
    trials: u64,
    batch: u64,
    objective: impl Fn(&[Value]) -> Option<f64>,
) -> Vec<Trial> {
    let mut history: Vec<Trial> = Vec::new();
    let mut round = 0;
    while (history.len() as u64) < trials {
        let proposals = propose(space, method, round, batch, &history, trial_rng(seed)).unwrap();
        let first = round * batch;
        for (j, values) in proposals.into_iter().enumerate() {
            let index = first + j as u64;
            if index >= trials {
                break;
            }
            let outcome = match objective(&values) {
                Some(v) => Outcome::Complete(v),
                None => Outcome::Failed,
            };
            history.push(Trial { index, values, outcome });
        }
        round += 1;
    }
    history
}

/// The best (smallest) completed value of a history.
pub fn best(history: &[Trial]) -> f64 {
    history
        .iter()
        .filter_map(|t| match t.outcome {
            Outcome::Complete(v) if v.is_finite() => Some(v),
            _ => None,
        })
        .fold(f64::INFINITY, f64::min)
}

/// The median (mean of the two middle values for an even count).
pub fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// A proposal as exact bits, for bit-identity comparisons.
pub fn bits(p: &[Vec<Value>]) -> Vec<Vec<(u8, u64)>> {
    p.iter()
        .map(|vs| {
            vs.iter()
                .map(|v| match *v {
                    Value::Float(x) => (0, x.to_bits()),
                    Value::Int(i) => (1, i as u64),
                    Value::Choice(c) => (2, c as u64),
                })
                .collect()
        })
        .collect()
}

pub type TrialBits = (u64, Vec<Vec<(u8, u64)>>, (u8, u64, u64));

/// A history as exact bits (NaN outcomes compare equal to themselves here, unlike with `==`).
pub fn history_bits(h: &[Trial]) -> Vec<TrialBits> {
    h.iter()
        .map(|t| {
            let outcome = match t.outcome {
                Outcome::Complete(v) => (0, v.to_bits(), 0),
                Outcome::Pruned { rung, value } => (1, rung, value.map_or(u64::MAX, f64::to_bits)),
                Outcome::Failed => (2, 0, 0),
            };
            (t.index, bits(std::slice::from_ref(&t.values)), outcome)
        })
        .collect()
}
