//! The one matrix product the probe and PCA need, on f64 slices with explicit strides, and the
//! fixed row chunking that keeps every sum independent of the thread count.
//!
//! Each product runs single-threaded inside gemm; callers parallelise over chunks whose
//! boundaries depend only on the problem's shape, and add chunk results in chunk order. So the
//! numbers are the same whether rayon has one thread or sixteen.

/// A matrix operand of the probe (see [`matmul::View`]).
pub(crate) type View<'a> = matmul::View<'a, f64>;

/// [`matmul::matmul`] in f64. Returns false (and computes nothing) when the shapes do not fit
/// the slices: a bug in the caller, which reports it.
#[must_use]
pub(crate) fn matmul(dst: &mut [f64], dst_rs: usize, accumulate: bool, a: View<'_>, b: View<'_>) -> bool {
    matmul::matmul(dst, dst_rs, accumulate, a, b).is_ok()
}

/// Rows per parallel task of the probe's passes over the samples: large enough for gemm to run
/// at speed, small enough that 60,000 samples make dozens of tasks. A constant, so that the
/// partial sums (and the results) do not depend on the thread count.
pub(crate) const ROWS_PER_TASK: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_match_direct_loops_with_and_without_transposes() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.11).cos()).collect();
        let mut dst = vec![1.0; m * n];
        assert!(matmul(&mut dst, n, true, View::rows(&a, m, k), View::rows(&b, k, n)));
        for r in 0..m {
            for c in 0..n {
                let direct: f64 = (0..k).map(|j| a[r * k + j] * b[j * n + c]).sum::<f64>() + 1.0;
                assert!((dst[r * n + c] - direct).abs() < 1e-12);
            }
        }
        // aᵀ · a' where a' = a[:, ..n]: (k × m) · (m × n) through a transposed view.
        let mut ata = vec![0.0; k * k];
        assert!(matmul(&mut ata, k, false, View::cols(&a, k, m), View::rows(&a, m, k)));
        for i in 0..k {
            for j in 0..k {
                let direct: f64 = (0..m).map(|r| a[r * k + i] * a[r * k + j]).sum();
                assert!((ata[i * k + j] - direct).abs() < 1e-12);
            }
        }
        assert!(!matmul(&mut dst[..2], n, false, View::rows(&a, m, k), View::rows(&b, k, n)));
        assert!(!matmul(&mut dst, n, false, View::rows(&a, m, k), View::rows(&b, n, k)));
    }
}
