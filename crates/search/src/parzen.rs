//! Parzen estimators of TPE, one parameter at a time: truncated-Gaussian mixtures for float and integer
//! parameters, weighted categoricals for choices, and the trial weights they share.
//!
//! Reference: Optuna 4.9's `optuna/samplers/_tpe/parzen_estimator.py` and `probability_distributions.py`
//! (univariate path), re-derived here from its documented behaviour, not translated line by line.

use rand::Rng;

use crate::math::{self, gauss_mass, log_sum_exp, truncnorm_ppf, unit, LN_SQRT_2PI};
use crate::space::Value;

/// Optuna's `default_weights(n)`: all ones up to 25 trials; beyond, the 25 newest keep weight 1 and the older
/// n − 25 ramp linearly from 1/n up to 1 (numpy's `linspace(1/n, 1, n − 25)`, reproduced operation for operation:
/// `start + i·step`, last point set to `stop`). Old trials fade so that the model tracks where the search is now.
pub(crate) fn default_weights(n: usize) -> Vec<f64> {
    if n < 25 {
        return vec![1.0; n];
    }
    let m = n - 25;
    let start = 1.0 / n as f64;
    let mut w = Vec::with_capacity(n);
    if m == 1 {
        w.push(start);
    } else if m > 1 {
        let step = (1.0 - start) / (m - 1) as f64;
        for i in 0..m {
            w.push(i as f64 * step + start);
        }
        w[m - 1] = 1.0;
    }
    w.resize(n, 1.0);
    w
}

/// Mixture weights: the trials' weights followed by the prior's, normalised (summed left to right). With no
/// trials the prior alone has weight 1.
fn mixture_weights(n_obs: usize, prior_weight: f64) -> Vec<f64> {
    let mut w = default_weights(n_obs);
    w.push(if n_obs == 0 { 1.0 } else { prior_weight });
    let total: f64 = w.iter().sum();
    for x in &mut w {
        *x /= total;
    }
    w
}

/// Cumulative sums for inverse-CDF picking, the last forced to 1 so that a draw in [0, 1) always lands.
fn cumulative(p: &[f64]) -> Vec<f64> {
    let mut acc = 0.0;
    let mut c: Vec<f64> = p
        .iter()
        .map(|x| {
            acc += x;
            acc
        })
        .collect();
    if let Some(last) = c.last_mut() {
        *last = 1.0;
    }
    c
}

/// The first index whose cumulative weight exceeds `u` (u in [0, 1)).
fn pick(cum: &[f64], u: f64) -> usize {
    cum.iter().position(|&c| u < c).unwrap_or(cum.len().saturating_sub(1))
}

/// Settings of the numerical estimators (Optuna's `_ParzenEstimatorParameters`, less the weights function).
#[derive(Debug, Clone, Copy)]
pub(crate) struct KernelSettings {
    pub prior_weight: f64,
    pub consider_magic_clip: bool,
    pub consider_endpoints: bool,
}

/// How a numerical parameter maps to the estimator's internal axis and back.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Axis {
    /// A float on [low, high], optionally on a log axis.
    Float { low: f64, high: f64, log: bool },
    /// An integer on low..=high, as a continuous range [low − ½, high + ½] (log axis optional) sampled then
    /// rounded, with the density of each integer the mass of its bin.
    Int { low: i64, high: i64, log: bool },
}

impl Axis {
    /// The internal range (Optuna's "adapted" bounds).
    fn internal_bounds(self) -> (f64, f64) {
        match self {
            Axis::Float { low, high, log } => {
                if log {
                    (math::ln(low), math::ln(high))
                } else {
                    (low, high)
                }
            }
            Axis::Int { low, high, log } => {
                let (l, h) = (low as f64 - 0.5, high as f64 + 0.5);
                if log {
                    (math::ln(l), math::ln(h))
                } else {
                    (l, h)
                }
            }
        }
    }

    /// A value's position on the internal axis (an observation's kernel centre).
    fn internal(self, v: f64) -> f64 {
        match self {
            Axis::Float { log: true, .. } | Axis::Int { log: true, .. } => math::ln(v),
            _ => v,
        }
    }
}

/// A mixture of truncated normals on the internal axis: one kernel per observation plus the prior kernel.
#[derive(Debug, Clone)]
pub(crate) struct NumericParzen {
    axis: Axis,
    low: f64,
    high: f64,
    mus: Vec<f64>,
    sigmas: Vec<f64>,
    cum_weights: Vec<f64>,
    /// ln wₖ − ln Zₖ, where Zₖ is kernel k's mass inside [low, high]; for floats also − ln σₖ − ln √(2π).
    log_coef: Vec<f64>,
}

impl NumericParzen {
    /// Fits the estimator to `obs` (values in the parameter's own units, in trial order).
    ///
    /// Bandwidths: Optuna's neighbour rule as of 4.9 (after "Remove prior_mu from compute_sigmas"): sort the
    /// centres, add the range ends, and give each centre the larger of its two gaps; without
    /// `consider_endpoints` the outermost centres use their inner gap only (a lone point at the edge would else get
    /// a huge kernel). Then the "magic clip" to [range / min(100, n_kernels + 1), range], n_kernels = n + 1:
    /// the floor keeps clustered points from collapsing to spikes, shrinking as evidence accumulates. The prior
    /// kernel sits at the range's centre with σ = the whole range: it keeps both densities positive everywhere,
    /// so log l − log g is always finite.
    pub(crate) fn fit(axis: Axis, obs: &[f64], settings: KernelSettings) -> Self {
        let (low, high) = axis.internal_bounds();
        // Clamp: ln of an in-range value stays in range mathematically; this also covers the last ulp.
        let centres: Vec<f64> = obs.iter().map(|&v| axis.internal(v).max(low).min(high)).collect();
        let n = centres.len();
        let mut sigmas = vec![0.0; n];
        if n > 0 {
            // Sort by value, ties by trial order (the stable sort), so the assignment is fully determined.
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&i, &j| centres[i].total_cmp(&centres[j]));
            let mut s = Vec::with_capacity(n + 2);
            s.push(low);
            s.extend(order.iter().map(|&i| centres[i]));
            s.push(high);
            let mut sorted_sigmas: Vec<f64> = (0..n).map(|i| (s[i + 1] - s[i]).max(s[i + 2] - s[i + 1])).collect();
            if !settings.consider_endpoints && n >= 2 {
                sorted_sigmas[0] = s[2] - s[1];
                sorted_sigmas[n - 1] = s[n] - s[n - 1];
            }
            let max_sigma = high - low;
            let min_sigma =
                if settings.consider_magic_clip { (high - low) / f64::min(100.0, 1.0 + (n + 1) as f64) } else { 1e-12 };
            for (rank, &i) in order.iter().enumerate() {
                sigmas[i] = sorted_sigmas[rank].max(min_sigma).min(max_sigma);
            }
        }
        let mut mus = centres;
        mus.push(0.5 * (low + high));
        sigmas.push(high - low);

        let weights = mixture_weights(n, settings.prior_weight);
        let log_coef = mus
            .iter()
            .zip(&sigmas)
            .zip(&weights)
            .map(|((&mu, &sigma), &w)| {
                let z = gauss_mass((low - mu) / sigma, (high - mu) / sigma);
                let base = math::ln(w) - math::ln(z);
                match axis {
                    Axis::Float { .. } => base - math::ln(sigma) - LN_SQRT_2PI,
                    Axis::Int { .. } => base,
                }
            })
            .collect();
        NumericParzen { axis, low, high, mus, sigmas, cum_weights: cumulative(&weights), log_coef }
    }

    /// One draw: a kernel by weight (one uniform), then that kernel's truncated normal by inversion (one uniform),
    /// mapped back to the parameter's units: exp for log axes, rounding (ties to even, as numpy) and clamping for
    /// integers. Always exactly two draws from `rng`.
    pub(crate) fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Value {
        let k = pick(&self.cum_weights, unit(rng));
        let (mu, sigma) = (self.mus[k], self.sigmas[k]);
        let z = truncnorm_ppf((self.low - mu) / sigma, (self.high - mu) / sigma, unit(rng));
        let x = (mu + sigma * z).max(self.low).min(self.high);
        match self.axis {
            Axis::Float { low, high, log } => {
                let v = if log { math::exp(x) } else { x };
                Value::Float(v.max(low).min(high))
            }
            Axis::Int { low, high, log } => {
                let v = if log { math::exp(x) } else { x };
                // Within ±2^53 + 1 here, so the conversion is exact; `as` saturates rather than panics anyway.
                Value::Int((v.round_ties_even() as i64).max(low).min(high))
            }
        }
    }

    /// ln of the mixture's density at `value` (floats: density on the internal axis; integers: probability of
    /// the integer, the mass of its bin). The same axis is used for l and g, so the ratio is unaffected by the
    /// missing Jacobian of the log axis. −∞ for a value of the wrong kind (cannot happen within this crate).
    pub(crate) fn log_pdf(&self, value: &Value) -> f64 {
        let mut terms = Vec::with_capacity(self.mus.len());
        match (self.axis, *value) {
            (Axis::Float { .. }, Value::Float(v)) => {
                let x = self.axis.internal(v);
                for ((&mu, &sigma), &c) in self.mus.iter().zip(&self.sigmas).zip(&self.log_coef) {
                    let z = (x - mu) / sigma;
                    terms.push(c - 0.5 * z * z);
                }
            }
            (Axis::Int { log, .. }, Value::Int(i)) => {
                let (mut left, mut right) = (i as f64 - 0.5, i as f64 + 0.5);
                if log {
                    (left, right) = (math::ln(left), math::ln(right));
                }
                for ((&mu, &sigma), &c) in self.mus.iter().zip(&self.sigmas).zip(&self.log_coef) {
                    terms.push(c + math::ln(gauss_mass((left - mu) / sigma, (right - mu) / sigma)));
                }
            }
            _ => return f64::NEG_INFINITY,
        }
        log_sum_exp(&terms)
    }

    #[cfg(test)]
    pub(crate) fn kernels(&self) -> (&[f64], &[f64]) {
        (&self.mus, &self.sigmas)
    }
}

/// A weighted categorical: each observation's kernel puts mass 1 on its choice plus prior_weight / n_kernels on
/// every choice (then normalised), the prior kernel is uniform, and the kernels mix with the trial weights. For
/// one parameter the mixture collapses to a single probability vector, which is all that sampling and the
/// density need.
#[derive(Debug, Clone)]
pub(crate) struct CategoricalParzen {
    log_probs: Vec<f64>,
    cum: Vec<f64>,
}

impl CategoricalParzen {
    pub(crate) fn fit(n_choices: usize, obs: &[usize], prior_weight: f64) -> Self {
        let n = obs.len();
        let c = n_choices.max(1) as f64;
        let mut probs = vec![0.0; n_choices];
        let weights = mixture_weights(n, prior_weight);
        // Observation kernels, in trial order, then the prior: a fixed summation order.
        let smoothing = prior_weight / (n + 1) as f64;
        let row_total = 1.0 + c * smoothing;
        for (&choice, &w) in obs.iter().zip(&weights) {
            for (j, p) in probs.iter_mut().enumerate() {
                let mass = if j == choice { 1.0 + smoothing } else { smoothing };
                *p += w * mass / row_total;
            }
        }
        let w_prior = weights.last().copied().unwrap_or(1.0);
        for p in &mut probs {
            *p += w_prior / c;
        }
        let cum = cumulative(&probs);
        CategoricalParzen { log_probs: probs.iter().map(|&p| math::ln(p)).collect(), cum }
    }

    /// One draw by inversion: exactly one uniform from `rng`.
    pub(crate) fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Value {
        Value::Choice(pick(&self.cum, unit(rng)))
    }

    pub(crate) fn log_pdf(&self, value: &Value) -> f64 {
        match *value {
            Value::Choice(i) => self.log_probs.get(i).copied().unwrap_or(f64::NEG_INFINITY),
            _ => f64::NEG_INFINITY,
        }
    }

    #[cfg(test)]
    pub(crate) fn probs(&self) -> Vec<f64> {
        self.log_probs.iter().map(|&l| math::exp(l)).collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const OPTUNA: KernelSettings =
        KernelSettings { prior_weight: 1.0, consider_magic_clip: true, consider_endpoints: false };

    /// Reference: Optuna 4.x `default_weights` (numpy linspace), values worked by hand.
    #[test]
    fn default_weights_match_optuna() {
        assert!(default_weights(0).is_empty());
        assert_eq!(default_weights(24), vec![1.0; 24]);
        assert_eq!(default_weights(25), vec![1.0; 25]);
        let w26 = default_weights(26);
        assert_eq!(w26[0], 1.0 / 26.0);
        assert!(w26[1..].iter().all(|&x| x == 1.0));
        let w30 = default_weights(30);
        let step = (1.0 - 1.0 / 30.0) / 4.0;
        assert_eq!(&w30[..5], &[1.0 / 30.0, 1.0 / 30.0 + step, 2.0 * step + 1.0 / 30.0, 3.0 * step + 1.0 / 30.0, 1.0]);
        assert!(w30[5..].iter().all(|&x| x == 1.0));
    }

    /// Reference: Optuna 4.9 `_calculate_numerical_distributions`, worked by hand on [0, 10].
    #[test]
    fn neighbour_bandwidths_with_magic_clip() {
        let axis = Axis::Float { low: 0.0, high: 10.0, log: false };
        // One observation: max of its gaps to the ends (endpoints count when n = 1): max(2, 8) = 8.
        let p = NumericParzen::fit(axis, &[2.0], OPTUNA);
        assert_eq!(p.kernels().0, &[2.0, 5.0]);
        assert_eq!(p.kernels().1, &[8.0, 10.0]);
        // Three, given out of order: sorted 1, 4, 9 → inner gaps only at the ends: 3, max(3, 5) = 5, 5.
        // Magic clip floor: 10 / min(100, 1 + 4) = 2.
        let p = NumericParzen::fit(axis, &[9.0, 1.0, 4.0], OPTUNA);
        assert_eq!(p.kernels().0, &[9.0, 1.0, 4.0, 5.0]);
        assert_eq!(p.kernels().1, &[5.0, 3.0, 5.0, 10.0]);
        // Clustered points are floored at the clip: 10 / (1 + 4) = 2.
        let p = NumericParzen::fit(axis, &[5.0, 5.1, 5.2], OPTUNA);
        assert!(p.kernels().1[..3].iter().all(|&s| s == 2.0), "{:?}", p.kernels().1);
    }

    #[test]
    fn float_density_integrates_to_one() {
        let axis = Axis::Float { low: -1.0, high: 3.0, log: false };
        let p = NumericParzen::fit(axis, &[-0.9, 0.5, 0.6, 2.9], OPTUNA);
        let n = 40_000;
        let h = 4.0 / n as f64;
        let total: f64 = (0..n).map(|i| math::exp(p.log_pdf(&Value::Float(-1.0 + (i as f64 + 0.5) * h))) * h).sum();
        assert!((total - 1.0).abs() < 1e-6, "∫ = {total}");
    }

    #[test]
    fn int_probabilities_sum_to_one() {
        for log in [false, true] {
            let axis = Axis::Int { low: 1, high: 256, log };
            let p = NumericParzen::fit(axis, &[1.0, 32.0, 31.0, 200.0], OPTUNA);
            let total: f64 = (1..=256).map(|i| math::exp(p.log_pdf(&Value::Int(i)))).sum();
            assert!((total - 1.0).abs() < 1e-9, "log = {log}: Σ = {total}");
        }
    }

    /// Reference: Optuna 4.9 `_calculate_categorical_distributions`: 2 observations of choice 0 out of 3,
    /// prior_weight 1 → each kernel row (1 + 1/3, 1/3, 1/3) / 2, prior row uniform; weights 1/3 each.
    #[test]
    fn categorical_kernel_weights() {
        let p = CategoricalParzen::fit(3, &[0, 0], 1.0);
        let row0 = (4.0 / 3.0) / 2.0;
        let row_other = (1.0 / 3.0) / 2.0;
        let want = [(2.0 * row0 + 1.0 / 3.0) / 3.0, (2.0 * row_other + 1.0 / 3.0) / 3.0];
        let got = p.probs();
        assert!(
            (got[0] - want[0]).abs() < 1e-15 && (got[1] - want[1]).abs() < 1e-15 && (got[2] - want[1]).abs() < 1e-15
        );
        assert!((got.iter().sum::<f64>() - 1.0).abs() < 1e-15);
    }

    fn assert_close(name: &str, got: f64, want: f64) {
        assert!((got - want).abs() < 1e-12 * want.abs().max(1.0), "{name}: got {got}, Optuna {want}");
    }

    /// Reference: Optuna 5.0.0 (univariate path unchanged since 4.9) `_ParzenEstimator(...).log_pdf`, with
    /// `_ParzenEstimatorParameters(prior_weight=1.0, consider_magic_clip=True, consider_endpoints=False,
    /// weights=default_weights, multivariate=False)`; values printed by Optuna itself, pasted here.
    #[test]
    fn log_pdf_matches_optuna() {
        let float = |low, high, log| Axis::Float { low, high, log };
        let int = |low, high, log| Axis::Int { low, high, log };
        // (name, axis, observations, points, Optuna's log_pdf at the points)
        type Case = (&'static str, Axis, Vec<f64>, Vec<f64>, Vec<f64>);
        let cases: Vec<Case> = vec![
            (
                "float",
                float(0.0, 10.0, false),
                vec![9.0, 1.0, 4.0],
                vec![0.5, 5.0, 9.9],
                vec![-2.2302979122683735, -2.2684217919147946, -2.595036044425509],
            ),
            (
                "float_empty",
                float(0.0, 10.0, false),
                vec![],
                vec![0.5, 5.0],
                vec![-2.3628572925030964, -2.261607292503096],
            ),
            (
                "float_log",
                float(1e-5, 1e-1, true),
                vec![1e-3, 2e-4, 5e-2],
                vec![1e-4, 1e-3, 0.09],
                vec![-2.1053224028212023, -2.050871993861641, -2.4304715826196848],
            ),
            (
                "int_log",
                int(1, 256, true),
                vec![32.0, 31.0, 200.0, 1.0],
                vec![1.0, 32.0, 100.0, 256.0],
                vec![-2.1588514521542184, -5.0980641759508565, -6.215156587371912, -7.275642511438972],
            ),
            (
                "int",
                int(-3, 3, false),
                vec![0.0, 0.0, 3.0],
                vec![-3.0, 0.0, 3.0],
                vec![-2.5683838019161302, -1.670602500975435, -2.052344251664394],
            ),
            (
                "float_ramp",
                float(0.0, 1.0, false),
                (0..30).map(|i| ((i * 7) % 30) as f64 / 30.0).collect(),
                vec![0.05, 0.5, 0.95],
                vec![0.014656644574797317, -0.037429301837969775, 0.0056860101075869585],
            ),
        ];
        for (name, axis, obs, xs, want) in cases {
            let p = NumericParzen::fit(axis, &obs, OPTUNA);
            for (&x, &w) in xs.iter().zip(&want) {
                let v = match axis {
                    Axis::Float { .. } => Value::Float(x),
                    Axis::Int { .. } => Value::Int(x as i64),
                };
                assert_close(name, p.log_pdf(&v), w);
            }
        }
        let cat = CategoricalParzen::fit(3, &[0, 0], 1.0);
        assert_close("cat", cat.log_pdf(&Value::Choice(0)), -0.5877866649021191);
        assert_close("cat", cat.log_pdf(&Value::Choice(1)), -1.5040773967762742);
        let obs: Vec<usize> = (0..27).map(|i| if i < 20 { i % 4 } else { 2 }).collect();
        let cat = CategoricalParzen::fit(4, &obs, 1.0);
        let want = [-1.7720072058109124, -1.6036754378393483, -0.8493404702091447, -1.6036754378393479];
        for (c, &w) in want.iter().enumerate() {
            assert_close("cat_ramp", cat.log_pdf(&Value::Choice(c)), w);
        }
    }
}
