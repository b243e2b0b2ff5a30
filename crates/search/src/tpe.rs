//! The Tree-structured Parzen Estimator (Bergstra et al. 2011, "Algorithms for Hyper-Parameter Optimization"),
//! univariate, with Optuna 4.x `TPESampler` defaults as the reference: settings, the good/bad split, fitting
//! one model per round, and drawing a proposal from it.
//!
//! Per parameter (independently, as Optuna's default `multivariate=False`): split the history into the best
//! γ(n) trials and the rest, fit l(x) to the former and g(x) to the latter, draw `n_ei_candidates` candidates
//! from l, and keep the one with the largest log l(x) − log g(x) (which maximises expected improvement under
//! the TPE model), ties to the earliest candidate.

use rand::Rng;

use crate::error::SearchError;
use crate::history::{self, Goal, Split, Trial};
use crate::parzen::{Axis, CategoricalParzen, KernelSettings, NumericParzen};
use crate::space::{Distribution, Space, Value};

/// Settings of TPE. [`TpeConfig::new`] gives Optuna 4.x's `TPESampler` defaults for everything but `startup`
/// (Optuna: `n_startup_trials = 10`) and `goal`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TpeConfig {
    /// Trials with global index `t < startup` are drawn at random; later ones from the model.
    pub startup: u64,
    /// Direction of the objective; maximised values are negated before ranking.
    pub goal: Goal,
    /// Candidates drawn from l(x) per parameter per proposal (Optuna: 24).
    pub n_ei_candidates: usize,
    /// Weight of the prior kernel relative to one trial's (Optuna: 1.0). Must be > 0 here: it keeps g(x) > 0,
    /// so the acquisition is always finite (Optuna 4.x accepts 0 and can then compare −∞ − (−∞)).
    pub prior_weight: f64,
    /// Floor kernel widths at range / min(100, n + 2) (Optuna: true).
    pub consider_magic_clip: bool,
    /// Let the outermost kernels' widths count their gap to the range ends (Optuna: false).
    pub consider_endpoints: bool,
}

impl TpeConfig {
    /// Optuna 4.x defaults: 24 candidates, prior weight 1, magic clip on, endpoints off.
    pub fn new(startup: u64, goal: Goal) -> Self {
        TpeConfig {
            startup,
            goal,
            n_ei_candidates: 24,
            prior_weight: 1.0,
            consider_magic_clip: true,
            consider_endpoints: false,
        }
    }

    /// Rejects settings the algorithm cannot use.
    pub fn validate(&self) -> Result<(), SearchError> {
        if self.n_ei_candidates == 0 {
            return Err(SearchError::BadSetting { name: "n_ei_candidates", reason: "must be at least 1".into() });
        }
        if !(self.prior_weight.is_finite() && self.prior_weight > 0.0) {
            return Err(SearchError::BadSetting {
                name: "prior_weight",
                reason: format!("must be a finite number > 0, got {}", self.prior_weight),
            });
        }
        Ok(())
    }
}

/// Optuna's `default_gamma`: the good set is the best 10 %, rounded up, at most 25 trials. Integer arithmetic,
/// so no float rounding is involved; it equals Python's `min(math.ceil(0.1 * n), 25)` for every n (checked
/// against Python for n < 400 when written; from n = 241 on both are 25).
pub fn gamma(n: usize) -> usize {
    n.div_ceil(10).min(25)
}

#[derive(Debug, Clone)]
enum ParamModel {
    Numeric { below: NumericParzen, above: NumericParzen },
    Categorical { below: CategoricalParzen, above: CategoricalParzen },
}

/// The fitted l(x)/g(x) pair of every parameter for one round. Fitting depends only on the history, so one
/// model serves all the round's proposals; each proposal differs only by its RNG stream.
#[derive(Debug, Clone)]
pub struct TpeModel {
    params: Vec<ParamModel>,
    n_ei_candidates: usize,
    split: Split,
}

impl TpeModel {
    /// Fits the model to `history`, which may be in any order (it is sorted by trial index here). Trials must
    /// fit `space`; their indices must be distinct (the round they come from is not checked here:
    /// [`propose`](crate::propose) does that).
    pub fn fit(space: &Space, config: &TpeConfig, history: &[Trial]) -> Result<Self, SearchError> {
        config.validate()?;
        let sorted = history::canonical(space, history, 0, u64::MAX)?;
        Ok(Self::fit_sorted(space, config, &sorted))
    }

    pub(crate) fn fit_sorted(space: &Space, config: &TpeConfig, sorted: &[&Trial]) -> Self {
        let split = history::split(sorted, config.goal, gamma);
        let settings = KernelSettings {
            prior_weight: config.prior_weight,
            consider_magic_clip: config.consider_magic_clip,
            consider_endpoints: config.consider_endpoints,
        };
        // Both index lists are ascending, as is `sorted`, so a merge-style walk would do; a lookup keeps it simple.
        let below: Vec<&Trial> = pick_trials(sorted, &split.below);
        let above: Vec<&Trial> = pick_trials(sorted, &split.above);
        let params = space
            .params()
            .iter()
            .enumerate()
            .map(|(i, (_, dist))| match dist {
                Distribution::Choice(choices) => ParamModel::Categorical {
                    below: CategoricalParzen::fit(choices.len(), &choice_obs(&below, i), settings.prior_weight),
                    above: CategoricalParzen::fit(choices.len(), &choice_obs(&above, i), settings.prior_weight),
                },
                Distribution::Uniform { low, high } => {
                    numeric(Axis::Float { low: *low, high: *high, log: false }, &below, &above, i, settings)
                }
                Distribution::LogUniform { low, high } => {
                    numeric(Axis::Float { low: *low, high: *high, log: true }, &below, &above, i, settings)
                }
                Distribution::Int { low, high, log } => {
                    numeric(Axis::Int { low: *low, high: *high, log: *log }, &below, &above, i, settings)
                }
            })
            .collect();
        TpeModel { params, n_ei_candidates: config.n_ei_candidates, split }
    }

    /// The trial indices behind l(x) (`below`, the good ones) and g(x) (`above`), ascending.
    pub fn split(&self) -> &Split {
        &self.split
    }

    /// One proposal, parameter by parameter in space order. Draws from `rng`: per numerical parameter exactly
    /// 2 · n_ei_candidates, per choice exactly n_ei_candidates, whatever the values — so a parameter's draws
    /// depend only on the kinds of the parameters before it.
    pub fn propose<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<Value> {
        self.params.iter().map(|p| self.propose_param(p, rng)).collect()
    }

    fn propose_param<R: Rng + ?Sized>(&self, model: &ParamModel, rng: &mut R) -> Value {
        let mut best: Option<(f64, Value)> = None;
        for _ in 0..self.n_ei_candidates {
            let (candidate, acq) = match model {
                ParamModel::Numeric { below, above } => {
                    let v = below.sample(rng);
                    (v, below.log_pdf(&v) - above.log_pdf(&v))
                }
                ParamModel::Categorical { below, above } => {
                    let v = below.sample(rng);
                    (v, below.log_pdf(&v) - above.log_pdf(&v))
                }
            };
            // NaN cannot arise with prior_weight > 0 (both densities finite), but if it did it must lose, not
            // poison the comparison. Strictly greater: ties go to the earliest candidate. Exact ties happen
            // (e.g. repeated integer candidates); near-ties are where a last-bit difference in exp/ln could flip
            // the choice, which the bit-identical libm in `math` rules out.
            let acq = if acq.is_nan() { f64::NEG_INFINITY } else { acq };
            match best {
                Some((b, _)) if acq <= b => {}
                _ => best = Some((acq, candidate)),
            }
        }
        match best {
            Some((_, v)) => v,
            // n_ei_candidates ≥ 1 is validated; this arm only satisfies the type. Draw one more from l.
            None => match model {
                ParamModel::Numeric { below, .. } => below.sample(rng),
                ParamModel::Categorical { below, .. } => below.sample(rng),
            },
        }
    }
}

fn pick_trials<'a>(sorted: &[&'a Trial], indices: &[u64]) -> Vec<&'a Trial> {
    indices.iter().filter_map(|&t| sorted.binary_search_by_key(&t, |tr| tr.index).ok().map(|k| sorted[k])).collect()
}

fn choice_obs(trials: &[&Trial], param: usize) -> Vec<usize> {
    trials
        .iter()
        .filter_map(|t| match t.values.get(param) {
            Some(Value::Choice(c)) => Some(*c),
            _ => None,
        })
        .collect()
}

fn numeric(axis: Axis, below: &[&Trial], above: &[&Trial], param: usize, settings: KernelSettings) -> ParamModel {
    let obs = |trials: &[&Trial]| -> Vec<f64> {
        trials
            .iter()
            .filter_map(|t| match t.values.get(param) {
                Some(Value::Float(x)) => Some(*x),
                Some(Value::Int(i)) => Some(*i as f64),
                _ => None,
            })
            .collect()
    };
    ParamModel::Numeric {
        below: NumericParzen::fit(axis, &obs(below), settings),
        above: NumericParzen::fit(axis, &obs(above), settings),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::history::Outcome;

    /// Reference: Optuna 4.x `default_gamma(x) = min(math.ceil(0.1 * x), 25)`, values by hand.
    #[test]
    fn gamma_matches_optuna() {
        let want = [(0, 0), (1, 1), (9, 1), (10, 1), (11, 2), (30, 3), (240, 24), (241, 25), (1000, 25)];
        for (n, g) in want {
            assert_eq!(gamma(n), g, "n = {n}");
        }
    }

    fn t(index: u64, outcome: Outcome) -> Trial {
        Trial { index, values: vec![Value::Float(0.5)], outcome }
    }

    #[test]
    fn split_ranks_complete_then_pruned_and_keeps_failed_above() {
        let space = Space::new(vec![("x".into(), Distribution::Uniform { low: 0.0, high: 1.0 })]).unwrap();
        let cfg = TpeConfig::new(0, Goal::Minimize);
        // 11 ranked trials → γ = 2. Complete: #3 (0.1), #7 (0.1, tie → after #3), #0 (0.5). Pruned: #5 at rung 2,
        // #1 at rung 1. Failed: #2, #4 (NaN), #6 (∞ complete = failed) never below.
        let mut h = vec![
            t(0, Outcome::Complete(0.5)),
            t(1, Outcome::Pruned { rung: 1, value: Some(0.0) }),
            t(2, Outcome::Failed),
            t(3, Outcome::Complete(0.1)),
            t(4, Outcome::Complete(f64::NAN)),
            t(5, Outcome::Pruned { rung: 2, value: None }),
            t(6, Outcome::Complete(f64::INFINITY)),
            t(7, Outcome::Complete(0.1)),
        ];
        for i in 8..14 {
            h.push(t(i, Outcome::Complete(1.0)));
        }
        let m = TpeModel::fit(&space, &cfg, &h).unwrap();
        assert_eq!(m.split().below, vec![3, 7]);
        assert_eq!(m.split().above, vec![0, 1, 2, 4, 5, 6, 8, 9, 10, 11, 12, 13]);

        // Maximize flips the ranking of completed values.
        let cfg = TpeConfig::new(0, Goal::Maximize);
        let m = TpeModel::fit(&space, &cfg, &h).unwrap();
        assert_eq!(m.split().below, vec![8, 9]);

        // Only pruned trials: deeper rung wins, then lower value, valueless last.
        let h = vec![
            t(0, Outcome::Pruned { rung: 1, value: Some(0.3) }),
            t(1, Outcome::Pruned { rung: 3, value: None }),
            t(2, Outcome::Pruned { rung: 3, value: Some(9.0) }),
        ];
        let m = TpeModel::fit(&space, &TpeConfig::new(0, Goal::Minimize), &h).unwrap();
        assert_eq!(m.split().below, vec![2]);
    }

    #[test]
    fn bad_settings_are_rejected() {
        let mut c = TpeConfig::new(10, Goal::Minimize);
        c.prior_weight = 0.0;
        assert!(matches!(c.validate(), Err(SearchError::BadSetting { name: "prior_weight", .. })));
        c.prior_weight = f64::NAN;
        assert!(c.validate().is_err());
        let mut c = TpeConfig::new(10, Goal::Minimize);
        c.n_ei_candidates = 0;
        assert!(matches!(c.validate(), Err(SearchError::BadSetting { name: "n_ei_candidates", .. })));
    }
}
