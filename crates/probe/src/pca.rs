//! Principal component analysis: the eigendecomposition of the covariance of mean-centred
//! features. Used for the baseline the auto-encoders are compared with (a linear code of the same
//! size as theirs) and to show codes of more than two dimensions in a plane.
//!
//! The covariance is one large product (60,000 × 784 pixels: 3.7·10¹⁰ multiply-adds), split over
//! fixed blocks of its columns, each a single-threaded gemm over every sample: the sums do not
//! depend on the thread count. The eigendecomposition is sequential ([`crate::eigen`]).

use crate::eigen::symmetric_eigen;
use crate::error::ProbeError;
use crate::linalg::{matmul, View, ROWS_PER_TASK};
use crate::standardize::rows;
use rayon::prelude::*;

/// Columns of the covariance per parallel task.
const COLUMNS_PER_TASK: usize = 64;

/// A fitted PCA: every component, by decreasing variance.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    pub dim: usize,
    /// Feature means of the fitted data.
    pub mean: Vec<f64>,
    /// Unit principal axes, `dim` rows of `dim` values (row i: the axis of `variances[i]`). Each
    /// axis's entry of largest magnitude is positive.
    pub components: Vec<f64>,
    /// The variance along each axis (the covariance's eigenvalues, denominator n − 1; rounding
    /// below zero clamped to zero), decreasing.
    pub variances: Vec<f64>,
    /// The total variance: the covariance's trace.
    pub total_variance: f64,
}

impl Pca {
    /// Fits on `x` (`n × dim`, row-major).
    pub fn fit(x: &[f32], dim: usize) -> Result<Self, ProbeError> {
        let n = rows("PCA features", x, dim)?;
        if n == 0 {
            return Err(ProbeError::Empty { what: "PCA features" });
        }
        let mut mean = vec![0.0f64; dim];
        for row in x.chunks_exact(dim) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += f64::from(v);
            }
        }
        for m in &mut mean {
            *m /= n as f64;
        }
        let centred: Vec<f64> =
            x.chunks_exact(dim).flat_map(|row| row.iter().zip(&mean).map(|(&v, m)| f64::from(v) - m)).collect();
        let cov = covariance(&centred, n, dim)?;
        drop(centred);
        let total_variance = (0..dim).map(|i| cov[i * dim + i]).sum();
        let (values, components) = symmetric_eigen(&cov, dim)?;
        let variances = values.into_iter().map(|v| v.max(0.0)).collect();
        Ok(Self { dim, mean, components, variances, total_variance })
    }

    /// The fraction of the total variance that the first `k` components hold (1 for data without
    /// variance: nothing is lost).
    pub fn explained_variance_ratio(&self, k: usize) -> f64 {
        if self.total_variance <= 0.0 {
            return 1.0;
        }
        (self.variances.iter().take(k).sum::<f64>() / self.total_variance).min(1.0)
    }

    /// The coordinates of `x` on the first `k` axes, `n × k` row-major.
    pub fn transform(&self, x: &[f32], k: usize) -> Result<Vec<f32>, ProbeError> {
        let d = self.dim;
        if k == 0 || k > d {
            return Err(ProbeError::Components { components: k, dim: d });
        }
        if !x.len().is_multiple_of(d) {
            return Err(ProbeError::Dimension { what: "PCA input", given: x.len(), expected: d });
        }
        let n = rows("PCA input", x, d)?;
        let axes = View::cols(&self.components[..k * d], d, k);
        let parts: Vec<Vec<f32>> = (0..n.div_ceil(ROWS_PER_TASK))
            .into_par_iter()
            .map(|c| {
                let start = c * ROWS_PER_TASK;
                let end = (start + ROWS_PER_TASK).min(n);
                let centred: Vec<f64> = x[start * d..end * d]
                    .chunks_exact(d)
                    .flat_map(|row| row.iter().zip(&self.mean).map(|(&v, m)| f64::from(v) - m))
                    .collect();
                let mut out = vec![0.0; (end - start) * k];
                if !matmul(&mut out, k, false, View::rows(&centred, end - start, d), axes) {
                    return Err(ProbeError::Internal("PCA projection: shapes do not fit"));
                }
                // Coordinates go to the probe, which standardises them: f32 is plenty.
                Ok(out.into_iter().map(|v| v as f32).collect())
            })
            .collect::<Result<_, _>>()?;
        Ok(parts.concat())
    }
}

/// Xᵀ·X / (n − 1) of the centred `x` (`n × d`), exactly symmetric: the blocks on and above the
/// diagonal are computed, the rest mirrored.
pub(crate) fn covariance(x: &[f64], n: usize, d: usize) -> Result<Vec<f64>, ProbeError> {
    let blocks: Vec<(usize, usize, Vec<f64>)> = (0..d.div_ceil(COLUMNS_PER_TASK))
        .into_par_iter()
        .map(|b| {
            let j0 = b * COLUMNS_PER_TASK;
            let j1 = (j0 + COLUMNS_PER_TASK).min(d);
            let w = j1 - j0;
            // Rows 0..j1 of columns j0..j1: Xᵀ[0..j1, :] · X[:, j0..j1].
            let lhs = View::strided(x, j1, n, 1, d);
            let rhs = View::strided(&x[j0..], n, w, d, 1);
            let mut out = vec![0.0; j1 * w];
            if !matmul(&mut out, w, false, lhs, rhs) {
                return Err(ProbeError::Internal("covariance: shapes do not fit"));
            }
            Ok((j0, j1, out))
        })
        .collect::<Result<_, _>>()?;
    let mut cov = vec![0.0; d * d];
    let denominator = (n.max(2) - 1) as f64;
    for (j0, j1, out) in blocks {
        let w = j1 - j0;
        for i in 0..j1 {
            for j in j0.max(i)..j1 {
                let v = out[i * w + (j - j0)] / denominator;
                cov[i * d + j] = v;
                cov[j * d + i] = v;
            }
        }
    }
    Ok(cov)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 8 samples × 3 features (the f32 values below, as numpy reads them after `astype`).
    const X: [f32; 24] = [
        2.5, 2.4, 0.5, 0.5, 0.7, 1.0, 2.2, 2.9, 0.2, 1.9, 2.2, 0.8, 3.1, 3.0, 0.1, 2.3, 2.7, 0.4, 2.0, 1.6, 0.9, 1.0,
        1.1, 1.5,
    ];

    #[test]
    fn matches_numpy_on_a_small_fixture() {
        // Reference (numpy 2.4):
        //   X = np.array(X, dtype=np.float32).astype(np.float64)
        //   w, V = np.linalg.eigh(np.cov(X, rowvar=False)); w, V = w[::-1], V[:, ::-1]
        //   (each column of V signed so that its largest-magnitude entry is positive)
        //   w                        → [1.533678632988, 0.070866052946, 0.030991029704]
        //   w.cumsum() / w.sum()     → [0.937722495647, 0.981051450355, 1]
        //   V[:, 0]                  → [0.650680267324, 0.678735002392, -0.340490801994]
        //   (X - X.mean(0)) @ V[:, :2], rows 0 and 1
        //                            → [[0.64618246355, 0.176564203618], [-1.979273048982, -0.280523976177]]
        let pca = Pca::fit(&X, 3).unwrap();
        for (v, r) in pca.variances.iter().zip([1.533678632988, 0.070866052946, 0.030991029704]) {
            assert!((v - r).abs() < 1e-11, "{:?}", pca.variances);
        }
        assert!((pca.explained_variance_ratio(1) - 0.937722495647).abs() < 1e-11);
        assert!((pca.explained_variance_ratio(2) - 0.981051450355).abs() < 1e-11);
        assert_eq!(pca.explained_variance_ratio(3), 1.0);
        for (v, r) in pca.components[..3].iter().zip([0.650680267324, 0.678735002392, -0.340490801994]) {
            assert!((v - r).abs() < 1e-11, "{:?}", pca.components);
        }
        let p = pca.transform(&X, 2).unwrap();
        assert_eq!(p.len(), 16);
        for (v, r) in p[..4].iter().zip([0.64618246355, 0.176564203618, -1.979273048982, -0.280523976177]) {
            assert!((f64::from(*v) - r).abs() < 1e-6, "{p:?}");
        }
    }

    #[test]
    fn the_covariance_does_not_depend_on_the_thread_count_or_its_blocks() {
        // 70 features: two column blocks, one partial. Compared with a direct double loop.
        let (n, d) = (300, 70);
        let x: Vec<f32> = (0..n * d).map(|i| ((i * 7919 % 1009) as f32 / 1009.0).powi(2)).collect();
        let fit = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| Pca::fit(&x, d).unwrap())
        };
        let one = fit(1);
        assert_eq!(one, fit(3));
        let mean: Vec<f64> = (0..d).map(|j| (0..n).map(|i| f64::from(x[i * d + j])).sum::<f64>() / n as f64).collect();
        let trace: f64 = (0..d)
            .map(|j| (0..n).map(|i| (f64::from(x[i * d + j]) - mean[j]).powi(2)).sum::<f64>() / (n - 1) as f64)
            .sum();
        assert!((one.total_variance - trace).abs() < 1e-12 * trace);
        assert!((one.variances.iter().sum::<f64>() - trace).abs() < 1e-10 * trace);
    }

    #[test]
    fn bad_requests_are_errors() {
        let pca = Pca::fit(&X, 3).unwrap();
        assert!(matches!(pca.transform(&X, 4), Err(ProbeError::Components { components: 4, dim: 3 })));
        assert!(matches!(pca.transform(&X, 0), Err(ProbeError::Components { .. })));
        assert!(pca.transform(&X[..5], 2).is_err());
        assert!(Pca::fit(&[], 3).is_err());
        // Data without variance: every component "explains" all of it.
        assert_eq!(Pca::fit(&[1.0; 6], 2).unwrap().explained_variance_ratio(1), 1.0);
    }
}
