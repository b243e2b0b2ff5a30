//! The matrix product the project's own kernels are built on: `dst = [dst +] a · b` over slices
//! with explicit strides, bounds-checked, single-threaded inside `gemm`. Callers parallelise over
//! chunks whose boundaries depend only on the problem's shape and add the chunk results in chunk
//! order, so every sum is the same whatever the thread count. The conv kernels use it in f32,
//! the probe and the PCA in f64.
//!
//! The inner dimension is cut here, not by `gemm`: gemm splits a long k into blocks whose size it
//! derives from the CPU's cache sizes (at least 512, then k split evenly), and the order in which a
//! sum's blocks are added then depends on the machine. Blocks of at most [`K_BLOCK`], cut by k
//! alone, make every sum's order the same on every machine whose gemm kernel is the same
//! (FMA-capable x86-64: AVX2 or AVX-512), so that two machines of one kind give the same bits.

/// The float types the product is used with.
pub trait Float: Copy + 'static {
    const ZERO: Self;
    const ONE: Self;
}

impl Float for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
}

impl Float for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
}

/// A matrix operand: `rows × cols`, element (r, c) at `data[r * rs + c * cs]`.
#[derive(Debug, Clone, Copy)]
pub struct View<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a, T> View<'a, T> {
    /// A row-major `rows × cols` matrix.
    pub fn rows(data: &'a [T], rows: usize, cols: usize) -> Self {
        Self { data, rows, cols, rs: cols, cs: 1 }
    }

    /// The transpose of a row-major `cols × rows` matrix, seen as `rows × cols`.
    pub fn cols(data: &'a [T], rows: usize, cols: usize) -> Self {
        Self { data, rows, cols, rs: 1, cs: rows }
    }

    /// A `rows × cols` matrix with explicit row and column strides.
    pub fn strided(data: &'a [T], rows: usize, cols: usize, rs: usize, cs: usize) -> Self {
        Self { data, rows, cols, rs, cs }
    }

    fn fits(&self) -> bool {
        self.rows == 0 || self.cols == 0 || (self.rows - 1) * self.rs + (self.cols - 1) * self.cs < self.data.len()
    }
}

/// Operands whose shapes do not fit each other or their slices: a bug in the caller, which
/// reports it in its own error type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeMismatch(pub String);

impl std::fmt::Display for ShapeMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ShapeMismatch {}

/// The longest inner dimension handed to gemm at once (gemm never splits a k this short).
pub const K_BLOCK: usize = 512;

/// `dst (row-major, row stride dst_rs) = [dst +] a · b`, single-threaded. Computes nothing when
/// the shapes do not fit.
pub fn matmul<T: Float>(
    dst: &mut [T],
    dst_rs: usize,
    accumulate: bool,
    a: View<'_, T>,
    b: View<'_, T>,
) -> Result<(), ShapeMismatch> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let dst_fits = m == 0 || n == 0 || (m - 1) * dst_rs + n <= dst.len();
    if b.rows != k || !a.fits() || !b.fits() || !dst_fits || dst_rs < n {
        return Err(ShapeMismatch(format!(
            "matmul: [{m}×{k}]·[{}×{n}] into {} values (row stride {dst_rs})",
            b.rows,
            dst.len()
        )));
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                dst[r * dst_rs..r * dst_rs + n].fill(T::ZERO);
            }
        }
        return Ok(());
    }
    // As gemm itself would cut it with 512-long blocks: ⌈k/512⌉ blocks of equal length (the last
    // shorter), so that on a machine whose gemm chose 512 the sums are what they were.
    let blocks = k.div_ceil(K_BLOCK);
    let len = k.div_ceil(blocks);
    for (i, k0) in (0..k).step_by(len).enumerate() {
        let kb = len.min(k - k0);
        // SAFETY: every operand's extent was checked against its slice above, and the block's
        // columns of `a` and rows of `b` lie inside them; `dst` is exclusively borrowed and cannot
        // alias the shared inputs.
        unsafe {
            gemm::gemm(
                m,
                n,
                kb,
                dst.as_mut_ptr(),
                1,
                dst_rs as isize,
                accumulate || i > 0,
                a.data.as_ptr().add(k0 * a.cs),
                a.cs as isize,
                a.rs as isize,
                b.data.as_ptr().add(k0 * b.rs),
                b.cs as isize,
                b.rs as isize,
                T::ONE,
                T::ONE,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_in_both_precisions_and_layouts() {
        // numpy: np.array([[1,2,3],[4,5,6]]) @ np.array([[1,0],[0,1],[1,1]]) = [[4,5],[10,11]]
        let a = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [1.0f64, 0.0, 0.0, 1.0, 1.0, 1.0];
        let mut c = [0.0f64; 4];
        matmul(&mut c, 2, false, View::rows(&a, 2, 3), View::rows(&b, 3, 2)).unwrap();
        assert_eq!(c, [4.0, 5.0, 10.0, 11.0]);
        // The same with `a` stored transposed (3 × 2 row-major), accumulating onto the result.
        let at = [1.0f32, 4.0, 2.0, 5.0, 3.0, 6.0];
        let b32: Vec<f32> = b.iter().map(|&v| v as f32).collect();
        let mut c32 = [1.0f32; 4];
        matmul(&mut c32, 2, true, View::cols(&at, 2, 3), View::rows(&b32, 3, 2)).unwrap();
        assert_eq!(c32, [5.0, 6.0, 11.0, 12.0]);
    }

    #[test]
    fn a_long_inner_dimension_is_cut_into_blocks_that_sum_to_the_product() {
        // Reference: the product summed in f64 by plain loops. k = 1300 makes 3 blocks of 434.
        let (m, k, n) = (3, 1300, 2);
        let a: Vec<f64> = (0..m * k).map(|i| ((i * 37) % 101) as f64 / 101.0 - 0.5).collect();
        let b: Vec<f64> = (0..k * n).map(|i| ((i * 53) % 97) as f64 / 97.0 - 0.5).collect();
        let mut want = vec![0.0f64; m * n];
        for r in 0..m {
            for c in 0..n {
                want[r * n + c] = (0..k).map(|j| a[r * k + j] * b[j * n + c]).sum();
            }
        }
        let mut got = vec![1.0f64; m * n];
        matmul(&mut got, n, false, View::rows(&a, m, k), View::rows(&b, k, n)).unwrap();
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-12, "{g} vs {w}");
        }
        // With a transposed left operand, accumulating.
        let at: Vec<f64> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
        let mut acc = vec![1.0f64; m * n];
        matmul(&mut acc, n, true, View::cols(&at, m, k), View::rows(&b, k, n)).unwrap();
        for (g, w) in acc.iter().zip(&want) {
            assert!((g - (w + 1.0)).abs() < 1e-12, "{g} vs {}", w + 1.0);
        }
    }

    #[test]
    fn shapes_that_do_not_fit_are_refused_untouched() {
        let a = [1.0f32; 6];
        let mut c = [7.0f32; 3];
        assert!(matmul(&mut c, 2, false, View::rows(&a, 2, 3), View::rows(&a, 3, 2)).is_err());
        assert!(matmul(&mut c, 2, false, View::rows(&a, 2, 3), View::rows(&a, 2, 3)).is_err());
        assert_eq!(c, [7.0; 3]);
        // An empty inner dimension gives zeros, or leaves an accumulated result as it was.
        let mut z = [7.0f32; 4];
        matmul(&mut z, 2, false, View::rows(&[], 2, 0), View::rows(&[], 0, 2)).unwrap();
        assert_eq!(z, [0.0; 4]);
    }
}
