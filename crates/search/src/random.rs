//! Seeded random search: independent draws from each parameter's prior.

use rand::Rng;

use crate::math::{self, unit};
use crate::space::{Distribution, Space, Value};

/// One proposal of random search: each parameter drawn independently, in space order, from `rng`.
///
/// - `Uniform`: `low + (high − low)·u`, one uniform u in [0, 1).
/// - `LogUniform`: `exp(ln low + (ln high − ln low)·u)`, i.e. uniform in log space; clamped to `[low, high]`
///   because exp(ln high) may land an ulp outside.
/// - `Int`, linear: uniform over the integers `low..=high` (rand's unbiased `gen_range`).
/// - `Int`, log: uniform in log space over `[ln(low − ½), ln(high + ½)]`, then rounded (ties to even) and
///   clamped. Each integer k thus gets probability ∝ ln((k + ½)/(k − ½)): the mass of its own bin, including
///   full bins at both ends (drawing on [ln low, ln high] and rounding would give the end values half bins).
///   It is Optuna's `RandomSampler` rule and the same discretised range TPE models, so the startup trials and
///   the prior kernel agree on what "uniform" means.
/// - `Choice`: uniform over the indices.
///
/// Every parameter takes exactly one draw from `rng` except linear `Int`, whose rejection sampling may take
/// more (rarely); give each proposal its own stream so that this never shifts another proposal.
pub fn random_proposal<R: Rng + ?Sized>(space: &Space, rng: &mut R) -> Vec<Value> {
    space.params().iter().map(|(_, d)| random_value(d, rng)).collect()
}

pub(crate) fn random_value<R: Rng + ?Sized>(dist: &Distribution, rng: &mut R) -> Value {
    match *dist {
        Distribution::Uniform { low, high } => Value::Float((low + (high - low) * unit(rng)).max(low).min(high)),
        Distribution::LogUniform { low, high } => {
            let (a, b) = (math::ln(low), math::ln(high));
            Value::Float(math::exp(a + (b - a) * unit(rng)).max(low).min(high))
        }
        Distribution::Int { low, high, log: false } => Value::Int(rng.gen_range(low..=high)),
        Distribution::Int { low, high, log: true } => {
            let (a, b) = (math::ln(low as f64 - 0.5), math::ln(high as f64 + 0.5));
            let x = math::exp(a + (b - a) * unit(rng));
            Value::Int((x.round_ties_even() as i64).max(low).min(high))
        }
        // u64, not usize, so that the draw is the same whatever the pointer width.
        Distribution::Choice(ref values) => Value::Choice(rng.gen_range(0..values.len().max(1) as u64) as usize),
    }
}
