//! The one matrix product the probe and PCA need, on f64 slices with explicit strides, and the
//! fixed row chunking that keeps every sum independent of the thread count.
//!
//! Each product runs single-threaded inside gemm; callers parallelise over chunks whose
//! boundaries depend only on the problem's shape, and add chunk results in chunk order. So the
//! numbers are the same whether rayon has one thread or sixteen.

/// A read-only matrix view: element (r, c) is `data[r * rs + c * cs]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View<'a> {
    pub data: &'a [f64],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

impl<'a> View<'a> {
    /// A row-major `rows × cols` matrix.
    pub fn rows(data: &'a [f64], rows: usize, cols: usize) -> Self {
        Self { data, rows, cols, rs: cols, cs: 1 }
    }

    /// The transpose of a row-major `rows × cols` matrix, as a `cols × rows` view.
    pub fn transposed(data: &'a [f64], rows: usize, cols: usize) -> Self {
        Self { data, rows: cols, cols: rows, rs: 1, cs: cols }
    }

    fn fits(&self) -> bool {
        self.rows == 0 || self.cols == 0 || (self.rows - 1) * self.rs + (self.cols - 1) * self.cs < self.data.len()
    }
}

/// `dst (row-major, row stride dst_rs) = [dst +] a · b`, single-threaded. Returns false (and
/// computes nothing) when the shapes do not fit the slices: a bug in the caller, which reports it.
#[must_use]
pub(crate) fn matmul(dst: &mut [f64], dst_rs: usize, accumulate: bool, a: View<'_>, b: View<'_>) -> bool {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let dst_fits = m == 0 || n == 0 || (m - 1) * dst_rs + n <= dst.len();
    if b.rows != k || !a.fits() || !b.fits() || !dst_fits || dst_rs < n {
        return false;
    }
    if m == 0 || n == 0 {
        return true;
    }
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                dst[r * dst_rs..r * dst_rs + n].fill(0.0);
            }
        }
        return true;
    }
    // SAFETY: every operand's extent was checked against its slice above; `dst` is exclusively
    // borrowed and cannot alias the shared inputs.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_rs as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
    true
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
        assert!(matmul(&mut ata, k, false, View::transposed(&a, m, k), View::rows(&a, m, k)));
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
