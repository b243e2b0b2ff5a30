//! The linear probe: multinomial logistic regression on standardised features, fitted by
//! full-batch L-BFGS, scored by its accuracy on held-out features.
//!
//! Objective (on standardised training features x_i with labels y_i, weights W of `dim × classes`
//! and an unpenalised bias b): mean_i [log Σ_c exp(z_ic) − z_iy_i] + λ/2 ‖W‖², z_i = Wᵀx_i + b.
//! It is strictly convex in W, so the optimum does not depend on the solver's path, and a fixed
//! λ makes the numbers of different representations comparable.
//!
//! Preconditioning: correlated features (neighbouring pixels, the dimensions of a code) make this
//! objective badly conditioned, and L-BFGS then needs thousands of iterations. So it is solved in
//! whitened coordinates: with C = Uᵀ·diag(s)·U the covariance of the standardised training
//! features (eigenvalues floored at λ) and M = Uᵀ·diag(s)^(−1/2), the weights are W = M·V, the
//! features X·M and the penalty λ/2 ‖M·V‖² = λ/2 Σ_i ‖V_i‖² / s_i (U is orthogonal). That is the
//! same objective at the same W, reached in a few hundred iterations instead.
//!
//! Deterministic: the passes over the samples cut them into fixed chunks of rows
//! ([`ROWS_PER_TASK`]) evaluated in parallel, each with a single-threaded gemm, and add the chunks'
//! losses and gradients in chunk order; the L-BFGS steps are sequential. Same inputs → the same
//! bits, whatever the thread count.

use crate::eigen::symmetric_eigen;
use crate::error::ProbeError;
use crate::linalg::{matmul, View, ROWS_PER_TASK};
use crate::standardize::{rows, Standardizer};
use rayon::prelude::*;
use std::collections::VecDeque;

/// Identifies the probe's definition (λ, solver, stopping rule). Stored baselines are keyed by it,
/// so that a change to any of [`ProbeOptions::default`] must come with a new value here (a test
/// pins the two together).
pub const SCHEME: &str = "logreg-l2=1e-4-whitened-lbfgs10-it500-g1e-5-f1e-10-v1";

/// How the probe is fitted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeOptions {
    /// λ: the weight of λ/2 ‖W‖² next to the mean cross-entropy. 1e-4 is a light touch (about
    /// scikit-learn's default C = 1 on 10,000 samples) that still bounds the weights when the
    /// classes are separable, so the solver always has an optimum to converge to.
    pub l2: f64,
    /// L-BFGS iterations at most: bounds the time on badly conditioned features (raw pixels).
    pub max_iterations: usize,
    /// Converged when no gradient component exceeds this.
    pub gradient_tolerance: f64,
    /// Or when an iteration lowers the objective by less than this fraction of it.
    pub relative_decrease: f64,
    /// Correction pairs kept by L-BFGS.
    pub memory: usize,
    /// Solve in whitened coordinates (see the module's documentation). Off only to check that it
    /// changes the path, not the optimum.
    pub precondition: bool,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        Self {
            l2: 1e-4,
            max_iterations: 500,
            gradient_tolerance: 1e-5,
            relative_decrease: 1e-10,
            memory: 10,
            precondition: true,
        }
    }
}

/// What a probe found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeResult {
    /// Fraction of the test samples whose label the probe predicts.
    pub accuracy: f64,
    /// The same on the training samples (how much the probe overfits).
    pub train_accuracy: f64,
    /// Classes: one more than the largest label seen.
    pub classes: usize,
    /// L-BFGS iterations done.
    pub iterations: usize,
    /// Objective evaluations (one pass over the training set each).
    pub evaluations: usize,
    /// A stopping rule was met before the iteration cap.
    pub converged: bool,
    /// The objective at the end.
    pub objective: f64,
}

/// A fitted probe: weights `dim × classes` (row-major) and biases, on standardised features.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    pub dim: usize,
    pub classes: usize,
    pub weights: Vec<f64>,
    pub bias: Vec<f64>,
    pub iterations: usize,
    pub evaluations: usize,
    pub converged: bool,
    pub objective: f64,
}

/// Fits the probe on `train` (`n × dim` features, row-major) and scores it on `test`. Features
/// are standardised with the training mean and standard deviation first.
pub fn linear_probe(
    train: &[f32],
    train_labels: &[u8],
    test: &[f32],
    test_labels: &[u8],
    dim: usize,
    options: &ProbeOptions,
) -> Result<ProbeResult, ProbeError> {
    labelled("training features", train, train_labels, dim)?;
    labelled("test features", test, test_labels, dim)?;
    let classes = train_labels.iter().chain(test_labels).map(|&l| usize::from(l) + 1).max().unwrap_or(1);
    let standardizer = Standardizer::fit(train, dim)?;
    let x = standardizer.apply("training features", train)?;
    let fit = fit(&x, train_labels, dim, classes, options)?;
    let train_accuracy = fit.accuracy(&x, train_labels)?;
    drop(x);
    let x = standardizer.apply("test features", test)?;
    let accuracy = fit.accuracy(&x, test_labels)?;
    Ok(ProbeResult {
        accuracy,
        train_accuracy,
        classes,
        iterations: fit.iterations,
        evaluations: fit.evaluations,
        converged: fit.converged,
        objective: fit.objective,
    })
}

/// Rows of a labelled, non-empty feature matrix.
fn labelled(what: &'static str, x: &[f32], labels: &[u8], dim: usize) -> Result<usize, ProbeError> {
    let n = rows(what, x, dim)?;
    if n != labels.len() {
        return Err(ProbeError::Labels { what, rows: n, labels: labels.len() });
    }
    if n == 0 {
        return Err(ProbeError::Empty { what });
    }
    Ok(n)
}

/// The objective of the probe on standardised features, or in whitened coordinates.
pub struct Objective<'a> {
    x: &'a [f64],
    labels: &'a [u8],
    n: usize,
    dim: usize,
    classes: usize,
    l2: f64,
    /// 1/s_i per feature when the parameters are whitened-coordinate weights V of W = M·V: the
    /// penalty on row i of V is then weighted by it.
    penalty_weights: Option<&'a [f64]>,
}

impl<'a> Objective<'a> {
    /// `x` holds `labels.len()` rows of `dim` features; labels must be below `classes`.
    pub fn new(x: &'a [f64], labels: &'a [u8], dim: usize, classes: usize, l2: f64) -> Result<Self, ProbeError> {
        let n = labels.len();
        if dim == 0 {
            return Err(ProbeError::NoFeatures { what: "training features" });
        }
        if x.len() != n * dim {
            return Err(ProbeError::Shape { what: "training features", values: x.len(), dim });
        }
        if n == 0 {
            return Err(ProbeError::Empty { what: "training features" });
        }
        if labels.iter().any(|&l| usize::from(l) >= classes) {
            return Err(ProbeError::Internal("a label is not below the class count"));
        }
        Ok(Self { x, labels, n, dim, classes, l2, penalty_weights: None })
    }

    /// The same objective with the weights given in the coordinates of features `x` = X·M.
    fn whitened(mut self, penalty_weights: &'a [f64]) -> Result<Self, ProbeError> {
        if penalty_weights.len() != self.dim {
            return Err(ProbeError::Internal("whitening penalty of the wrong size"));
        }
        self.penalty_weights = Some(penalty_weights);
        Ok(self)
    }

    /// Parameters: the weights (`dim × classes`, row-major), then the biases.
    pub fn parameters(&self) -> usize {
        (self.dim + 1) * self.classes
    }

    /// The objective at `theta`, its gradient written into `grad`.
    pub fn evaluate(&self, theta: &[f64], grad: &mut [f64]) -> Result<f64, ProbeError> {
        let (dk, k) = (self.dim * self.classes, self.classes);
        if theta.len() != self.parameters() || grad.len() != self.parameters() {
            return Err(ProbeError::Internal("parameter vector of the wrong length"));
        }
        let (w, b) = theta.split_at(dk);
        let parts: Vec<(f64, Vec<f64>)> = (0..self.n.div_ceil(ROWS_PER_TASK))
            .into_par_iter()
            .map(|c| self.chunk(c, w, b))
            .collect::<Result<_, _>>()?;
        // Chunk results are added in chunk order: the thread count does not change the sums.
        grad.fill(0.0);
        let mut loss = 0.0;
        for (l, g) in &parts {
            loss += l;
            for (a, v) in grad.iter_mut().zip(g) {
                *a += v;
            }
        }
        let inv_n = 1.0 / self.n as f64;
        for g in grad.iter_mut() {
            *g *= inv_n;
        }
        // λ/2 Σ_i c_i ‖w_i‖² over the rows w_i of the weights: c_i = 1 on standardised features,
        // 1/s_i in whitened coordinates.
        let mut penalty = 0.0;
        for (i, (g_row, w_row)) in grad[..dk].chunks_exact_mut(k).zip(w.chunks_exact(k)).enumerate() {
            let c = self.penalty_weights.map_or(1.0, |p| p[i]);
            for (g, &wv) in g_row.iter_mut().zip(w_row) {
                *g += self.l2 * c * wv;
                penalty += c * wv * wv;
            }
        }
        Ok(loss * inv_n + 0.5 * self.l2 * penalty)
    }

    /// Chunk `c` of the samples: its summed cross-entropy and gradient (unscaled, unpenalised).
    fn chunk(&self, c: usize, w: &[f64], b: &[f64]) -> Result<(f64, Vec<f64>), ProbeError> {
        let (d, k) = (self.dim, self.classes);
        let start = c * ROWS_PER_TASK;
        let end = (start + ROWS_PER_TASK).min(self.n);
        let m = end - start;
        let xc = &self.x[start * d..end * d];
        let mut z = Vec::with_capacity(m * k);
        for _ in 0..m {
            z.extend_from_slice(b);
        }
        if !matmul(&mut z, k, true, View::rows(xc, m, d), View::rows(w, d, k)) {
            return Err(ProbeError::Internal("logits: shapes do not fit"));
        }
        // Softmax in place, then the residual p − onehot(y), which is the logits' gradient.
        let mut loss = 0.0;
        for (row, &y) in z.chunks_exact_mut(k).zip(&self.labels[start..end]) {
            let y = usize::from(y);
            let max = row.iter().fold(f64::NEG_INFINITY, |a, &v| a.max(v));
            let zy = row[y] - max;
            let mut sum = 0.0;
            for v in row.iter_mut() {
                *v = (*v - max).exp();
                sum += *v;
            }
            loss += sum.ln() - zy;
            let inv = 1.0 / sum;
            for v in row.iter_mut() {
                *v *= inv;
            }
            row[y] -= 1.0;
        }
        let mut g = vec![0.0; (d + 1) * k];
        if !matmul(&mut g[..d * k], k, false, View::cols(xc, d, m), View::rows(&z, m, k)) {
            return Err(ProbeError::Internal("gradient: shapes do not fit"));
        }
        for row in z.chunks_exact(k) {
            for (gb, r) in g[d * k..].iter_mut().zip(row) {
                *gb += r;
            }
        }
        Ok((loss, g))
    }
}

/// Fits the probe by L-BFGS from zero weights on standardised features `x` (`labels.len()` rows
/// of `dim`), in whitened coordinates unless `options.precondition` is off.
pub fn fit(x: &[f64], labels: &[u8], dim: usize, classes: usize, options: &ProbeOptions) -> Result<Fit, ProbeError> {
    let objective = Objective::new(x, labels, dim, classes, options.l2)?;
    if !options.precondition {
        return minimise(&objective, options, None);
    }
    let (m, penalty_weights) = whitening(x, labels.len(), dim, options.l2)?;
    let xm = times(x, labels.len(), dim, &m)?;
    let whitened = Objective::new(&xm, labels, dim, classes, options.l2)?.whitened(&penalty_weights)?;
    minimise(&whitened, options, Some(&m))
}

/// M = Uᵀ·diag(s)^(−1/2) (`d × d`, row-major) for the covariance C = Uᵀ·diag(s)·U of the
/// (centred) features `x`, and the penalty weights 1/s. The eigenvalues are floored at `floor`
/// (and at 1e-10 of the largest): directions without variance are not blown up, and in whitened
/// coordinates no direction's curvature from the penalty exceeds about 1.
fn whitening(x: &[f64], n: usize, d: usize, floor: f64) -> Result<(Vec<f64>, Vec<f64>), ProbeError> {
    let cov = crate::pca::covariance(x, n, d)?;
    let (values, vectors) = symmetric_eigen(&cov, d)?;
    let largest = values.first().copied().unwrap_or(0.0);
    let floor = floor.max(largest * 1e-10).max(f64::MIN_POSITIVE);
    let s: Vec<f64> = values.iter().map(|v| v.max(floor)).collect();
    // Column i of M is eigenvector i (row i of `vectors`) over √s_i.
    let mut m = vec![0.0; d * d];
    for (i, (u, si)) in vectors.chunks_exact(d).zip(&s).enumerate() {
        let f = 1.0 / si.sqrt();
        for (r, ur) in u.iter().enumerate() {
            m[r * d + i] = ur * f;
        }
    }
    Ok((m, s.iter().map(|si| 1.0 / si).collect()))
}

/// `x · m` for `x` of `n × d` and `m` of `d × d`, over fixed row chunks.
fn times(x: &[f64], n: usize, d: usize, m: &[f64]) -> Result<Vec<f64>, ProbeError> {
    let parts: Vec<Vec<f64>> = (0..n.div_ceil(ROWS_PER_TASK))
        .into_par_iter()
        .map(|c| {
            let start = c * ROWS_PER_TASK;
            let end = (start + ROWS_PER_TASK).min(n);
            let mut out = vec![0.0; (end - start) * d];
            if !matmul(&mut out, d, false, View::rows(&x[start * d..end * d], end - start, d), View::rows(m, d, d)) {
                return Err(ProbeError::Internal("whitened features: shapes do not fit"));
            }
            Ok(out)
        })
        .collect::<Result<_, _>>()?;
    Ok(parts.concat())
}

/// L-BFGS from zero on `objective`; with `whitening` (M), the weights found are mapped back
/// (W = M·V).
fn minimise(objective: &Objective<'_>, options: &ProbeOptions, whitening: Option<&[f64]>) -> Result<Fit, ProbeError> {
    let (dim, classes) = (objective.dim, objective.classes);
    let p = objective.parameters();
    let mut theta = vec![0.0; p];
    let mut grad = vec![0.0; p];
    let mut f = objective.evaluate(&theta, &mut grad)?;
    let mut evaluations = 1;
    let mut iterations = 0;
    let mut converged = false;
    let mut memory: VecDeque<Pair> = VecDeque::with_capacity(options.memory + 1);
    let mut trial = vec![0.0; p];
    let mut trial_grad = vec![0.0; p];
    while iterations < options.max_iterations {
        if max_abs(&grad) <= options.gradient_tolerance {
            converged = true;
            break;
        }
        let mut direction = two_loop(&grad, &memory);
        let mut slope = dot(&grad, &direction);
        if slope.is_nan() || slope >= 0.0 {
            // Not a descent direction (rounding in a flat region): restart from the gradient.
            memory.clear();
            direction = grad.iter().map(|g| -g).collect();
            slope = -dot(&grad, &grad);
        }
        // Without curvature pairs the direction is the raw gradient: a first step of unit length.
        let mut step = if memory.is_empty() { (1.0 / dot(&grad, &grad).sqrt()).min(1.0) } else { 1.0 };
        let mut accepted = None;
        for _ in 0..MAX_HALVINGS {
            for ((t, &x0), &dx) in trial.iter_mut().zip(&theta).zip(&direction) {
                *t = x0 + step * dx;
            }
            let ft = objective.evaluate(&trial, &mut trial_grad)?;
            evaluations += 1;
            // Armijo: a sufficient decrease along the direction.
            if ft.is_finite() && ft <= f + ARMIJO * step * slope {
                accepted = Some(ft);
                break;
            }
            step *= 0.5;
        }
        // No step lowers the objective: it is as low as rounding lets it get along this line.
        let Some(f_new) = accepted else { break };
        iterations += 1;
        let s: Vec<f64> = trial.iter().zip(&theta).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = trial_grad.iter().zip(&grad).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        // The objective is convex, so sᵀy ≥ 0; a pair without curvature would break the update.
        if sy > f64::EPSILON * dot(&y, &y) {
            memory.push_back(Pair { rho: 1.0 / sy, s, y });
            if memory.len() > options.memory {
                memory.pop_front();
            }
        }
        std::mem::swap(&mut theta, &mut trial);
        std::mem::swap(&mut grad, &mut trial_grad);
        let decrease = f - f_new;
        f = f_new;
        if decrease <= options.relative_decrease * f.abs().max(1.0) {
            converged = true;
            break;
        }
    }
    if !converged && max_abs(&grad) <= options.gradient_tolerance {
        converged = true;
    }
    let bias = theta.split_off(dim * classes);
    let weights = match whitening {
        Some(pm) => {
            let mut w = vec![0.0; dim * classes];
            if !matmul(&mut w, classes, false, View::rows(pm, dim, dim), View::rows(&theta, dim, classes)) {
                return Err(ProbeError::Internal("weights: shapes do not fit"));
            }
            w
        }
        None => theta,
    };
    Ok(Fit { dim, classes, weights, bias, iterations, evaluations, converged, objective: f })
}

/// Halvings of the step before the line search gives up.
const MAX_HALVINGS: usize = 40;
/// The Armijo constant (the usual 1e-4).
const ARMIJO: f64 = 1e-4;

struct Pair {
    s: Vec<f64>,
    y: Vec<f64>,
    rho: f64,
}

/// L-BFGS two-loop recursion: −H·g for the inverse-Hessian estimate of the stored pairs, scaled
/// by sᵀy / yᵀy of the newest pair.
fn two_loop(grad: &[f64], memory: &VecDeque<Pair>) -> Vec<f64> {
    let mut q = grad.to_vec();
    let mut alpha = vec![0.0; memory.len()];
    for (i, p) in memory.iter().enumerate().rev() {
        alpha[i] = p.rho * dot(&p.s, &q);
        for (qv, yv) in q.iter_mut().zip(&p.y) {
            *qv -= alpha[i] * yv;
        }
    }
    let gamma = memory.back().map_or(1.0, |p| 1.0 / (p.rho * dot(&p.y, &p.y)));
    for v in &mut q {
        *v *= gamma;
    }
    for (i, p) in memory.iter().enumerate() {
        let beta = p.rho * dot(&p.y, &q);
        for (qv, sv) in q.iter_mut().zip(&p.s) {
            *qv += (alpha[i] - beta) * sv;
        }
    }
    for v in &mut q {
        *v = -*v;
    }
    q
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m: f64, v| m.max(v.abs()))
}

impl Fit {
    /// The predicted class of each row of standardised features (ties: the lowest class).
    pub fn predict(&self, x: &[f64]) -> Result<Vec<u8>, ProbeError> {
        let (d, k) = (self.dim, self.classes);
        if d == 0 || !x.len().is_multiple_of(d) {
            return Err(ProbeError::Shape { what: "features", values: x.len(), dim: d });
        }
        let n = x.len() / d;
        let chunks: Vec<Vec<u8>> = (0..n.div_ceil(ROWS_PER_TASK))
            .into_par_iter()
            .map(|c| {
                let start = c * ROWS_PER_TASK;
                let end = (start + ROWS_PER_TASK).min(n);
                let m = end - start;
                let mut z = Vec::with_capacity(m * k);
                for _ in 0..m {
                    z.extend_from_slice(&self.bias);
                }
                let xc = &x[start * d..end * d];
                if !matmul(&mut z, k, true, View::rows(xc, m, d), View::rows(&self.weights, d, k)) {
                    return Err(ProbeError::Internal("predictions: shapes do not fit"));
                }
                Ok(z.chunks_exact(k).map(argmax).collect())
            })
            .collect::<Result<_, _>>()?;
        Ok(chunks.concat())
    }

    /// Fraction of rows whose predicted class is their label.
    pub fn accuracy(&self, x: &[f64], labels: &[u8]) -> Result<f64, ProbeError> {
        let predicted = self.predict(x)?;
        if predicted.len() != labels.len() {
            return Err(ProbeError::Labels { what: "features", rows: predicted.len(), labels: labels.len() });
        }
        let correct = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
        Ok(correct as f64 / labels.len().max(1) as f64)
    }
}

fn argmax(row: &[f64]) -> u8 {
    let mut best = 0;
    for (c, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = c;
        }
    }
    // Classes come from u8 labels, so there are at most 256.
    u8::try_from(best).unwrap_or(u8::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    /// `n` codes of `dim` features around one well-separated centre per class (labels cycle
    /// through the classes), with unit Gaussian noise.
    fn blobs(n: usize, dim: usize, classes: usize, spread: f32, seed: u64) -> (Vec<f32>, Vec<u8>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let centres: Vec<Vec<f32>> =
            (0..classes).map(|_| (0..dim).map(|_| rng.gen_range(-spread..spread)).collect()).collect();
        let noise = Normal::new(0.0f32, 1.0).unwrap();
        let mut x = Vec::with_capacity(n * dim);
        let mut y = Vec::with_capacity(n);
        for i in 0..n {
            let c = i % classes;
            x.extend(centres[c].iter().map(|m| m + noise.sample(&mut rng)));
            y.push(c as u8);
        }
        (x, y)
    }

    #[test]
    fn separable_codes_are_read_almost_perfectly() {
        // Ten classes in 16 dimensions, centres drawn in [−8, 8]: far apart next to unit noise.
        let (train, train_y) = blobs(3000, 16, 10, 8.0, 1);
        // The same centres (same seed), fresh noise: the first 3,000 draws are the training set's.
        let (all, all_y) = blobs(4000, 16, 10, 8.0, 1);
        let (test, test_y) = (&all[3000 * 16..], &all_y[3000..]);
        let r = linear_probe(&train, &train_y, test, test_y, 16, &ProbeOptions::default()).unwrap();
        assert!(r.accuracy >= 0.99 && r.train_accuracy >= 0.99, "{r:?}");
        assert_eq!(r.classes, 10);
        assert!(r.converged && r.iterations < 500, "{r:?}");
    }

    #[test]
    fn random_labels_give_chance_level() {
        // Labels drawn independently of the features: 10% expected; 2,000 test samples put three
        // standard deviations at ±2 points.
        let (train, _) = blobs(4000, 32, 10, 3.0, 2);
        let (test, _) = blobs(2000, 32, 10, 3.0, 3);
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let train_y: Vec<u8> = (0..4000).map(|_| rng.gen_range(0..10)).collect();
        let test_y: Vec<u8> = (0..2000).map(|_| rng.gen_range(0..10)).collect();
        let r = linear_probe(&train, &train_y, &test, &test_y, 32, &ProbeOptions::default()).unwrap();
        assert!((0.08..=0.12).contains(&r.accuracy), "{r:?}");
        // It does fit noise in the training set a little, which is why the test set decides.
        assert!(r.train_accuracy > r.accuracy, "{r:?}");
    }

    /// The 30-sample, 2-feature, 3-class problem of the numpy reference below.
    fn small_problem() -> (Vec<f64>, Vec<u8>) {
        let x = (0..30)
            .flat_map(|i| {
                let c = (i % 3) as f64;
                [((i * 37) % 11) as f64 / 5.0 - 1.0 + c * 0.5, ((i * 23) % 7) as f64 / 3.0 - 1.0 - c * 0.25]
            })
            .collect();
        (x, (0..30).map(|i| (i % 3) as u8).collect())
    }

    #[test]
    fn the_optimum_matches_newtons_method_in_numpy() {
        // Reference: the same objective (mean cross-entropy + λ/2‖W‖², bias unpenalised,
        // λ = 0.01) minimised in numpy by 50 Newton steps with the exact Hessian
        // (Σ kron(x̃x̃ᵀ, diag(p) − ppᵀ)/n + λ on the weights, pinv for the bias' flat direction):
        //   objective → 0.8335567191418903 (gradient 3e-17)
        //   p(sample 0) → [0.732472412457258, 0.218688901585047, 0.048838685957695]
        //   p(sample 1) → [0.251650544898891, 0.443031905826855, 0.305317549274254]
        let (x, y) = small_problem();
        let options =
            ProbeOptions { l2: 1e-2, gradient_tolerance: 1e-12, relative_decrease: 0.0, ..ProbeOptions::default() };
        let f = fit(&x, &y, 2, 3, &options).unwrap();
        assert!(f.converged, "{f:?}");
        assert!((f.objective - 0.8335567191418903).abs() < 1e-12, "{}", f.objective);
        let probabilities = |i: usize| -> Vec<f64> {
            let z: Vec<f64> =
                (0..3).map(|c| f.bias[c] + x[2 * i] * f.weights[c] + x[2 * i + 1] * f.weights[3 + c]).collect();
            let sum: f64 = z.iter().map(|v| v.exp()).sum();
            z.iter().map(|v| v.exp() / sum).collect()
        };
        let expected = [
            [0.732472412457258, 0.218688901585047, 0.048838685957695],
            [0.251650544898891, 0.443031905826855, 0.305317549274254],
        ];
        for (i, e) in expected.iter().enumerate() {
            for (p, r) in probabilities(i).iter().zip(e) {
                // The objective is flat to f64 precision within ~1e-8 of the optimum: the
                // weights (and probabilities) agree to about that.
                assert!((p - r).abs() < 1e-7, "sample {i}: {:?}", probabilities(i));
            }
        }
    }

    #[test]
    fn the_gradient_is_the_objectives_derivative() {
        // Central differences of the objective itself, at a point away from the optimum.
        let (x, y) = small_problem();
        let objective = Objective::new(&x, &y, 2, 3, 0.05).unwrap();
        let theta: Vec<f64> = (0..9).map(|i| (i as f64 * 0.7).sin()).collect();
        let mut grad = vec![0.0; 9];
        objective.evaluate(&theta, &mut grad).unwrap();
        let mut scratch = vec![0.0; 9];
        for i in 0..9 {
            let h = 1e-6;
            let mut plus = theta.clone();
            plus[i] += h;
            let mut minus = theta.clone();
            minus[i] -= h;
            let numeric = (objective.evaluate(&plus, &mut scratch).unwrap()
                - objective.evaluate(&minus, &mut scratch).unwrap())
                / (2.0 * h);
            assert!((numeric - grad[i]).abs() < 1e-8, "parameter {i}: {numeric} vs {}", grad[i]);
        }
    }

    /// Blobs seen through a mixing matrix that makes the features strongly correlated (and one
    /// feature constant), as neighbouring pixels are.
    fn correlated(n: usize, seed: u64) -> (Vec<f64>, Vec<u8>) {
        let (raw, y) = blobs(n, 6, 4, 1.5, seed);
        let mut x = Vec::with_capacity(n * 8);
        for r in raw.chunks_exact(6) {
            let r: Vec<f64> = r.iter().map(|&v| f64::from(v)).collect();
            let s: f64 = r.iter().sum();
            x.extend(r.iter().map(|v| v + 3.0 * s));
            x.extend([s + 0.01 * r[0], 0.0]);
        }
        let s = Standardizer::fit(&x.iter().map(|&v| v as f32).collect::<Vec<_>>(), 8).unwrap();
        (s.apply("x", &x.iter().map(|&v| v as f32).collect::<Vec<_>>()).unwrap(), y)
    }

    #[test]
    fn whitening_changes_the_path_not_the_optimum() {
        let (x, y) = correlated(2000, 8);
        let tight = ProbeOptions {
            max_iterations: 20_000,
            gradient_tolerance: 1e-9,
            relative_decrease: 0.0,
            ..ProbeOptions::default()
        };
        let white = fit(&x, &y, 8, 4, &tight).unwrap();
        let plain = fit(&x, &y, 8, 4, &ProbeOptions { precondition: false, ..tight }).unwrap();
        assert!(white.converged && plain.converged, "{white:?} {plain:?}");
        assert!((white.objective - plain.objective).abs() < 1e-10, "{} vs {}", white.objective, plain.objective);
        for (a, b) in white.weights.iter().zip(&plain.weights) {
            assert!((a - b).abs() < 1e-4 * (1.0 + b.abs()), "{:?} vs {:?}", white.weights, plain.weights);
        }
        assert_eq!(white.predict(&x).unwrap(), plain.predict(&x).unwrap());
        // …in far fewer iterations at the default tolerances.
        let white = fit(&x, &y, 8, 4, &ProbeOptions::default()).unwrap();
        let plain = fit(&x, &y, 8, 4, &ProbeOptions { precondition: false, ..ProbeOptions::default() }).unwrap();
        assert!(white.iterations * 3 < plain.iterations, "{} vs {} iterations", white.iterations, plain.iterations);
    }

    #[test]
    fn the_whitened_objective_is_the_objective_and_its_gradient_its_derivative() {
        // Central differences of the objective in whitened coordinates, as L-BFGS sees it.
        let (x, y) = correlated(300, 9);
        let (m, penalty) = whitening(&x, 300, 8, 0.05).unwrap();
        let xm = times(&x, 300, 8, &m).unwrap();
        let objective = Objective::new(&xm, &y, 8, 4, 0.05).unwrap().whitened(&penalty).unwrap();
        let theta: Vec<f64> = (0..36).map(|i| (i as f64 * 0.37).cos()).collect();
        let mut grad = vec![0.0; 36];
        let value = objective.evaluate(&theta, &mut grad).unwrap();
        // The same value as the plain objective at W = M·V (the bias as it is).
        let mut w = vec![0.0; 32];
        assert!(matmul(&mut w, 4, false, View::rows(&m, 8, 8), View::rows(&theta[..32], 8, 4)));
        w.extend_from_slice(&theta[32..]);
        let mut scratch = vec![0.0; 36];
        let plain = Objective::new(&x, &y, 8, 4, 0.05).unwrap().evaluate(&w, &mut scratch).unwrap();
        assert!((value - plain).abs() < 1e-9 * plain, "{value} vs {plain}");
        for i in 0..36 {
            let h = 1e-6;
            let (mut plus, mut minus) = (theta.clone(), theta.clone());
            plus[i] += h;
            minus[i] -= h;
            let numeric = (objective.evaluate(&plus, &mut scratch).unwrap()
                - objective.evaluate(&minus, &mut scratch).unwrap())
                / (2.0 * h);
            assert!(
                (numeric - grad[i]).abs() < 1e-6 * (1.0 + numeric.abs()),
                "parameter {i}: {numeric} vs {}",
                grad[i]
            );
        }
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        // 2,500 samples: three row chunks, one partial.
        let (all, all_y) = blobs(3200, 12, 5, 1.5, 5);
        let (train, train_y) = (&all[..2500 * 12], &all_y[..2500]);
        let (test, test_y) = (&all[2500 * 12..], &all_y[2500..]);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let s = Standardizer::fit(train, 12).unwrap();
                let x = s.apply("train", train).unwrap();
                let f = fit(&x, train_y, 12, 5, &ProbeOptions::default()).unwrap();
                let r = linear_probe(train, train_y, test, test_y, 12, &ProbeOptions::default()).unwrap();
                (f, r)
            })
        };
        let (f1, r1) = run(1);
        let (f3, r3) = run(3);
        assert_eq!(f1, f3, "bit-identical weights");
        assert_eq!(r1, r3);
        assert!(r1.iterations > 5, "{r1:?}");
    }

    #[test]
    fn the_scheme_names_the_default_options() {
        // Stored baselines are keyed by SCHEME: a new default must come with a new SCHEME.
        let o = ProbeOptions::default();
        assert_eq!(
            (o.l2, o.memory, o.max_iterations, o.gradient_tolerance, o.relative_decrease, o.precondition),
            (1e-4, 10, 500, 1e-5, 1e-10, true)
        );
        assert_eq!(SCHEME, "logreg-l2=1e-4-whitened-lbfgs10-it500-g1e-5-f1e-10-v1");
    }

    #[test]
    fn the_iteration_cap_is_respected_and_reported() {
        let (train, train_y) = blobs(500, 8, 4, 1.0, 7);
        let options = ProbeOptions { max_iterations: 3, gradient_tolerance: 0.0, ..ProbeOptions::default() };
        let r = linear_probe(&train, &train_y, &train, &train_y, 8, &options).unwrap();
        assert_eq!((r.iterations, r.converged), (3, false));
        assert!(r.evaluations >= 4);
    }

    #[test]
    fn bad_inputs_are_errors_naming_the_split() {
        let o = ProbeOptions::default();
        let e = linear_probe(&[0.0; 6], &[0, 1, 1], &[0.0; 3], &[0], 3, &o).unwrap_err().to_string();
        assert_eq!(e, "training features: 2 rows but 3 labels");
        let e = linear_probe(&[0.0; 6], &[0, 1], &[0.0; 4], &[0], 3, &o).unwrap_err().to_string();
        assert_eq!(e, "test features: 4 values are not whole rows of 3 features");
        let e = linear_probe(&[0.0; 6], &[0, 1], &[], &[], 3, &o).unwrap_err().to_string();
        assert_eq!(e, "test features: no samples");
        let e = linear_probe(&[0.0, f32::INFINITY], &[0], &[0.0; 2], &[0], 2, &o).unwrap_err().to_string();
        assert_eq!(e, "training features: feature 1 of row 0 is inf");
    }
}
