//! Helpers shared by the unit tests of the penalties and the VAE: seeded values and a
//! central-difference gradient check.

use rand::{Rng, SeedableRng};

/// `n` values drawn uniformly from `lo..hi` by a seeded ChaCha stream.
pub fn values(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.gen_range(lo..hi)).collect()
}

/// Central differences in f64 of `f` at every element of `x`, against `analytic`, to a relative
/// `tol`: each term is smooth where it is checked (L1 away from 0), so step 1e-3 leaves an
/// O(1e-6) error.
pub fn check_gradient(f: impl Fn(&[f32]) -> f64, x: &[f32], analytic: &[f32], tol: f64) {
    let h = 1e-3f32;
    for i in 0..x.len() {
        let at = |d: f32| {
            let mut p = x.to_vec();
            p[i] += d;
            f(&p)
        };
        let numeric = (at(h) - at(-h)) / (2.0 * h as f64);
        let a = analytic[i] as f64;
        assert!((a - numeric).abs() <= tol * (1e-3 + numeric.abs()), "element {i}: analytic {a} vs numeric {numeric}");
    }
}
