//! CPU kernels of 2-D convolution and transposed convolution, NHWC, on plain slices.
//!
//! Both layers are one geometry seen from two sides. The "big" side is a convolution's input and
//! a transposed convolution's output; the "small" side is the other one. With the kernel stored as
//! a `[K·K·big_c, small_c]` row-major matrix (exactly Keras' `(kh, kw, in, out)` for `Conv2D` and
//! `(kh, kw, out, in)` for `Conv2DTranspose`), three products cover every pass:
//!
//! | kernel              | computes                              | conv              | transposed conv   |
//! |---------------------|---------------------------------------|-------------------|-------------------|
//! | [`gather_matmul`]   | small += im2col(big) · W              | forward           | input gradient    |
//! | [`matmul_scatter`]  | big += col2im(small · Wᵀ)             | input gradient    | forward           |
//! | [`weight_grad`]     | dW += Σ_b im2col(big_b)ᵀ · small_b    | weight gradient   | weight gradient   |
//!
//! The batch is cut into chunks whose size depends only on the geometry, never on the thread
//! count, and per-chunk partial sums are added in chunk order: results are bit-identical whatever
//! `RAYON_NUM_THREADS` is.

pub mod layer;

use crate::error::NnError;
use rayon::prelude::*;

/// TensorFlow's padding modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// No padding: a convolution's output is `(in − k)/s + 1` (floored).
    Valid,
    /// A convolution's output is `ceil(in/s)`, a transposed convolution's `in·s`; the padding is
    /// split with the smaller half at the start, as TensorFlow does.
    Same,
}

/// One convolution geometry for a whole batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub batch: usize,
    pub big_h: usize,
    pub big_w: usize,
    pub big_c: usize,
    pub small_h: usize,
    pub small_w: usize,
    pub small_c: usize,
    pub kernel: usize,
    pub stride: usize,
    pub pad_top: usize,
    pub pad_left: usize,
}

/// Samples per chunk are chosen so that a chunk's im2col matrix holds about this many floats
/// (a few hundred KiB: it stays in a core's L2 cache while the product reads it).
const COL_TARGET_FLOATS: usize = 192 * 1024;

impl Geometry {
    /// A convolution from `[batch, h, w, c_in]` to `[batch, oh, ow, c_out]`.
    #[allow(clippy::too_many_arguments)]
    pub fn conv(
        batch: usize,
        h: usize,
        w: usize,
        c_in: usize,
        c_out: usize,
        kernel: usize,
        stride: usize,
        padding: Padding,
    ) -> Result<Self, NnError> {
        check_args(h, w, c_in, c_out, kernel, stride)?;
        let (oh, pt) = conv_out(h, kernel, stride, padding)?;
        let (ow, pl) = conv_out(w, kernel, stride, padding)?;
        Ok(Self {
            batch,
            big_h: h,
            big_w: w,
            big_c: c_in,
            small_h: oh,
            small_w: ow,
            small_c: c_out,
            kernel,
            stride,
            pad_top: pt,
            pad_left: pl,
        })
    }

    /// A transposed convolution from `[batch, h, w, c_in]` to `[batch, oh, ow, c_out]`: the
    /// adjoint of the convolution from the output size back to the input size.
    #[allow(clippy::too_many_arguments)]
    pub fn conv_transpose(
        batch: usize,
        h: usize,
        w: usize,
        c_in: usize,
        c_out: usize,
        kernel: usize,
        stride: usize,
        padding: Padding,
    ) -> Result<Self, NnError> {
        check_args(h, w, c_in, c_out, kernel, stride)?;
        let (oh, pt) = transpose_out(h, kernel, stride, padding);
        let (ow, pl) = transpose_out(w, kernel, stride, padding);
        Ok(Self {
            batch,
            big_h: oh,
            big_w: ow,
            big_c: c_out,
            small_h: h,
            small_w: w,
            small_c: c_in,
            kernel,
            stride,
            pad_top: pt,
            pad_left: pl,
        })
    }

    pub fn with_batch(self, batch: usize) -> Self {
        Self { batch, ..self }
    }

    /// Floats of one sample on the big side.
    pub fn big_len(&self) -> usize {
        self.big_h * self.big_w * self.big_c
    }

    /// Floats of one sample on the small side.
    pub fn small_len(&self) -> usize {
        self.small_h * self.small_w * self.small_c
    }

    /// Spatial positions of one sample on the small side (rows of its im2col matrix).
    pub(crate) fn positions(&self) -> usize {
        self.small_h * self.small_w
    }

    /// Columns of the im2col matrix, rows of the weight matrix.
    pub fn patch(&self) -> usize {
        self.kernel * self.kernel * self.big_c
    }

    /// Floats of the weight matrix.
    pub fn weight_len(&self) -> usize {
        self.patch() * self.small_c
    }

    /// Samples per chunk: a function of the layer's shape alone, never of the batch or the thread
    /// count (see the module header). As many as keep the im2col matrix near
    /// [`COL_TARGET_FLOATS`], preferring a count whose rows (positions × samples) are a multiple
    /// of 6, the width of gemm's f32 micro-kernel: no remainder kernels then.
    pub(crate) fn chunk(&self) -> usize {
        let per_sample = (self.positions() * self.patch()).max(1);
        let most = (COL_TARGET_FLOATS / per_sample).max(1);
        (1..=most).rev().find(|n| (self.positions() * n).is_multiple_of(6)).unwrap_or(most)
    }

    fn check(&self, what: &str, len: usize, want: usize) -> Result<(), NnError> {
        if len == want {
            Ok(())
        } else {
            Err(NnError::Shape(format!("{what}: {len} values for a geometry that needs {want} ({self:?})")))
        }
    }
}

fn check_args(h: usize, w: usize, c_in: usize, c_out: usize, kernel: usize, stride: usize) -> Result<(), NnError> {
    if [h, w, c_in, c_out, kernel, stride].contains(&0) {
        return Err(NnError::Shape(format!(
            "convolution sizes must be ≥ 1: h={h} w={w} c_in={c_in} c_out={c_out} kernel={kernel} stride={stride}"
        )));
    }
    Ok(())
}

/// Output length and start padding of a convolution along one axis (TensorFlow's rules).
fn conv_out(len: usize, k: usize, s: usize, padding: Padding) -> Result<(usize, usize), NnError> {
    match padding {
        Padding::Valid => {
            if len < k {
                return Err(NnError::Shape(format!("VALID convolution: input {len} is smaller than kernel {k}")));
            }
            Ok(((len - k) / s + 1, 0))
        }
        Padding::Same => {
            let out = len.div_ceil(s);
            let total = ((out - 1) * s + k).saturating_sub(len);
            Ok((out, total / 2))
        }
    }
}

/// Output length and start crop of a transposed convolution along one axis: the full output is
/// `(len − 1)·s + k` long; SAME keeps `len·s` of it, dropping `max(k − s, 0)/2` at the start.
fn transpose_out(len: usize, k: usize, s: usize, padding: Padding) -> (usize, usize) {
    match padding {
        Padding::Valid => ((len - 1) * s + k, 0),
        Padding::Same => {
            let out = len * s;
            let total = ((len - 1) * s + k).saturating_sub(out);
            (out, total / 2)
        }
    }
}

/// Fills `col` (`[n·positions, patch]`) with the patches of `n` samples of `big`.
pub(crate) fn im2col(g: &Geometry, big: &[f32], n: usize, col: &mut [f32]) {
    if g.big_c == 1 {
        return im2col_single_channel(g, big, n, col);
    }
    let (k, s, c) = (g.kernel, g.stride, g.big_c);
    let row_len = g.patch();
    for b in 0..n {
        let img = &big[b * g.big_len()..(b + 1) * g.big_len()];
        for oh in 0..g.small_h {
            for ow in 0..g.small_w {
                let r = (b * g.positions() + oh * g.small_w + ow) * row_len;
                let row = &mut col[r..r + row_len];
                for kh in 0..k {
                    let ih = (oh * s + kh) as isize - g.pad_top as isize;
                    let dst = &mut row[kh * k * c..(kh + 1) * k * c];
                    if ih < 0 || ih >= g.big_h as isize {
                        dst.fill(0.0);
                        continue;
                    }
                    let line = &img[ih as usize * g.big_w * c..(ih as usize + 1) * g.big_w * c];
                    for kw in 0..k {
                        let iw = (ow * s + kw) as isize - g.pad_left as isize;
                        let d = &mut dst[kw * c..(kw + 1) * c];
                        if iw < 0 || iw >= g.big_w as isize {
                            d.fill(0.0);
                        } else {
                            // A loop, not `copy_from_slice`: a `memcpy` call per 32–64 floats costs
                            // more than the copy.
                            for (d, s) in d.iter_mut().zip(&line[iw as usize * c..(iw as usize + 1) * c]) {
                                *d = *s;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Adds the patches in `col` back into `n` samples of `big` (the adjoint of [`im2col`]).
pub(crate) fn col2im_add(g: &Geometry, col: &[f32], n: usize, big: &mut [f32]) {
    if g.big_c == 1 {
        return col2im_add_single_channel(g, col, n, big);
    }
    let (k, s, c) = (g.kernel, g.stride, g.big_c);
    let row_len = g.patch();
    for b in 0..n {
        let img = &mut big[b * g.big_len()..(b + 1) * g.big_len()];
        for oh in 0..g.small_h {
            for ow in 0..g.small_w {
                let r = (b * g.positions() + oh * g.small_w + ow) * row_len;
                let row = &col[r..r + row_len];
                for kh in 0..k {
                    let ih = (oh * s + kh) as isize - g.pad_top as isize;
                    if ih < 0 || ih >= g.big_h as isize {
                        continue;
                    }
                    for kw in 0..k {
                        let iw = (ow * s + kw) as isize - g.pad_left as isize;
                        if iw < 0 || iw >= g.big_w as isize {
                            continue;
                        }
                        let at = (ih as usize * g.big_w + iw as usize) * c;
                        let src = &row[(kh * k + kw) * c..(kh * k + kw + 1) * c];
                        for (d, v) in img[at..at + c].iter_mut().zip(src) {
                            *d += v;
                        }
                    }
                }
            }
        }
    }
}

/// For kernel tap `(kh, kw)` and small-side row `oh`: the big-side row and the range of small-side
/// columns whose source pixel lies inside the big image (the offset of column `ow`'s source is
/// `ow·stride + kw − pad_left`); `None` when the whole row falls in the padding.
#[inline(always)]
pub(crate) fn tap_span(g: &Geometry, kh: usize, kw: usize, oh: usize) -> Option<(usize, std::ops::Range<usize>)> {
    let ih = (oh * g.stride + kh) as isize - g.pad_top as isize;
    if ih < 0 || ih >= g.big_h as isize {
        return None;
    }
    // iw = ow·s + kw − pl must lie in [0, big_w).
    let first = g.pad_left as isize - kw as isize;
    let lo = if first <= 0 { 0 } else { (first as usize).div_ceil(g.stride) };
    let last = g.big_w as isize - 1 + g.pad_left as isize - kw as isize;
    let hi = if last < 0 { 0 } else { (last as usize / g.stride + 1).min(g.small_w) };
    Some((ih as usize, lo.min(hi)..hi))
}

/// [`im2col`] for a one-channel big side, tap by tap: each patch entry is one float, so walking
/// a tap across a row beats copying 1-float slices per position.
fn im2col_single_channel(g: &Geometry, big: &[f32], n: usize, col: &mut [f32]) {
    let (k, patch, sw) = (g.kernel, g.patch(), g.small_w);
    for b in 0..n {
        let img = &big[b * g.big_len()..(b + 1) * g.big_len()];
        for kh in 0..k {
            for kw in 0..k {
                let t = kh * k + kw;
                for oh in 0..g.small_h {
                    let base = (b * g.positions() + oh * sw) * patch + t;
                    let (ih, span) = tap_span(g, kh, kw, oh).unwrap_or((0, 0..0));
                    for ow in (0..span.start).chain(span.end..sw) {
                        col[base + ow * patch] = 0.0;
                    }
                    for ow in span {
                        col[base + ow * patch] = img[ih * g.big_w + ow * g.stride + kw - g.pad_left];
                    }
                }
            }
        }
    }
}

/// [`col2im_add`] for a one-channel big side, tap by tap.
fn col2im_add_single_channel(g: &Geometry, col: &[f32], n: usize, big: &mut [f32]) {
    let (k, patch, sw) = (g.kernel, g.patch(), g.small_w);
    for b in 0..n {
        let img = &mut big[b * g.big_len()..(b + 1) * g.big_len()];
        for kh in 0..k {
            for kw in 0..k {
                let t = kh * k + kw;
                for oh in 0..g.small_h {
                    let Some((ih, span)) = tap_span(g, kh, kw, oh) else { continue };
                    let base = (b * g.positions() + oh * sw) * patch + t;
                    for ow in span {
                        img[ih * g.big_w + ow * g.stride + kw - g.pad_left] += col[base + ow * patch];
                    }
                }
            }
        }
    }
}

/// `small += im2col(big) · W` for the whole batch.
pub fn gather_matmul(g: &Geometry, big: &[f32], w: &[f32], small: &mut [f32]) -> Result<(), NnError> {
    g.check("gather_matmul big", big.len(), g.batch * g.big_len())?;
    g.check("gather_matmul weight", w.len(), g.weight_len())?;
    g.check("gather_matmul small", small.len(), g.batch * g.small_len())?;
    if g.batch == 0 {
        return Ok(());
    }
    let chunk = g.chunk();
    let (patch, rows) = (g.patch(), g.positions());
    small.par_chunks_mut(chunk * g.small_len()).zip(big.par_chunks(chunk * g.big_len())).try_for_each_init(
        Vec::new,
        |col: &mut Vec<f32>, (out, inp)| {
            let n = out.len() / g.small_len();
            col.resize(n * rows * patch, 0.0);
            im2col(g, inp, n, col);
            matmul(out, g.small_c, true, View::rows(col, n * rows, patch), View::rows(w, patch, g.small_c))
        },
    )
}

/// `big += col2im(small · Wᵀ)` for the whole batch.
pub fn matmul_scatter(g: &Geometry, small: &[f32], w: &[f32], big: &mut [f32]) -> Result<(), NnError> {
    g.check("matmul_scatter small", small.len(), g.batch * g.small_len())?;
    g.check("matmul_scatter weight", w.len(), g.weight_len())?;
    g.check("matmul_scatter big", big.len(), g.batch * g.big_len())?;
    if g.batch == 0 {
        return Ok(());
    }
    let chunk = g.chunk();
    let (patch, rows) = (g.patch(), g.positions());
    big.par_chunks_mut(chunk * g.big_len()).zip(small.par_chunks(chunk * g.small_len())).try_for_each_init(
        Vec::new,
        |col: &mut Vec<f32>, (out, inp)| {
            let n = out.len() / g.big_len();
            col.resize(n * rows * patch, 0.0);
            matmul(col, patch, false, View::rows(inp, n * rows, g.small_c), View::cols(w, g.small_c, patch))?;
            col2im_add(g, col, n, out);
            Ok(())
        },
    )
}

/// `dw += Σ_b im2col(big_b)ᵀ · small_b`. Partial sums per chunk, added in chunk order.
pub fn weight_grad(g: &Geometry, big: &[f32], small: &[f32], dw: &mut [f32]) -> Result<(), NnError> {
    g.check("weight_grad big", big.len(), g.batch * g.big_len())?;
    g.check("weight_grad small", small.len(), g.batch * g.small_len())?;
    g.check("weight_grad dw", dw.len(), g.weight_len())?;
    if g.batch == 0 {
        return Ok(());
    }
    let chunk = g.chunk();
    let (patch, rows) = (g.patch(), g.positions());
    let partials = big
        .par_chunks(chunk * g.big_len())
        .zip(small.par_chunks(chunk * g.small_len()))
        .map_init(Vec::new, |col: &mut Vec<f32>, (b, s)| {
            let n = b.len() / g.big_len();
            col.resize(n * rows * patch, 0.0);
            im2col(g, b, n, col);
            let mut part = vec![0.0f32; g.weight_len()];
            matmul(&mut part, g.small_c, false, View::cols(col, patch, n * rows), View::rows(s, n * rows, g.small_c))?;
            Ok(part)
        })
        .collect::<Result<Vec<_>, NnError>>()?;
    for part in partials {
        for (d, p) in dw.iter_mut().zip(&part) {
            *d += p;
        }
    }
    Ok(())
}

/// `db[c] += Σ_rows grad[row, c]`, in row order.
pub fn bias_grad(grad: &[f32], channels: usize, db: &mut [f32]) {
    for row in grad.chunks_exact(channels) {
        for (d, g) in db.iter_mut().zip(row) {
            *d += g;
        }
    }
}

/// A matrix operand of the kernels (see [`matmul::View`]).
pub(crate) type View<'a> = matmul::View<'a, f32>;

/// [`matmul::matmul`] in f32, its shape error as this crate's.
pub(crate) fn matmul(
    dst: &mut [f32],
    dst_rs: usize,
    accumulate: bool,
    a: View<'_>,
    b: View<'_>,
) -> Result<(), NnError> {
    matmul::matmul(dst, dst_rs, accumulate, a, b).map_err(|e| NnError::Shape(e.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct-loop convolution, the definition the kernels must agree with.
    fn naive_conv(g: &Geometry, big: &[f32], w: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0; g.batch * g.small_len()];
        for b in 0..g.batch {
            for oh in 0..g.small_h {
                for ow in 0..g.small_w {
                    for o in 0..g.small_c {
                        let mut acc = 0.0f64;
                        for kh in 0..g.kernel {
                            for kw in 0..g.kernel {
                                let ih = (oh * g.stride + kh) as isize - g.pad_top as isize;
                                let iw = (ow * g.stride + kw) as isize - g.pad_left as isize;
                                if ih < 0 || iw < 0 || ih >= g.big_h as isize || iw >= g.big_w as isize {
                                    continue;
                                }
                                for c in 0..g.big_c {
                                    let x = big[b * g.big_len() + (ih as usize * g.big_w + iw as usize) * g.big_c + c];
                                    let wv = w[((kh * g.kernel + kw) * g.big_c + c) * g.small_c + o];
                                    acc += (x * wv) as f64;
                                }
                            }
                        }
                        out[b * g.small_len() + (oh * g.small_w + ow) * g.small_c + o] = acc as f32;
                    }
                }
            }
        }
        out
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        // A small LCG: deterministic, no dependency, values in [-1, 1).
        let mut s = seed.wrapping_mul(2654435761).wrapping_add(12345);
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1664525).wrapping_add(1013904223);
                (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
            })
            .collect()
    }

    fn close(a: &[f32], b: &[f32], tol: f32) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= tol * (1.0 + y.abs()), "index {i}: {x} vs {y}");
        }
    }

    #[test]
    fn output_sizes_follow_tensorflow() {
        let g = Geometry::conv(1, 28, 28, 1, 32, 3, 2, Padding::Valid).unwrap();
        assert_eq!((g.small_h, g.small_w), (13, 13));
        let g = Geometry::conv(1, 13, 13, 32, 32, 3, 2, Padding::Valid).unwrap();
        assert_eq!((g.small_h, g.small_w), (6, 6));
        let g = Geometry::conv(1, 28, 28, 1, 1, 3, 2, Padding::Same).unwrap();
        assert_eq!((g.small_h, g.pad_top), (14, 0));
        let g = Geometry::conv(1, 7, 7, 1, 1, 3, 1, Padding::Same).unwrap();
        assert_eq!((g.small_h, g.pad_top), (7, 1));
        // Transposed SAME: k3 s2 keeps [0, 2n) of the 2n+1 full output; k3 s1 drops one at each end.
        let g = Geometry::conv_transpose(1, 7, 7, 32, 64, 3, 2, Padding::Same).unwrap();
        assert_eq!((g.big_h, g.big_w, g.pad_top, g.pad_left), (14, 14, 0, 0));
        let g = Geometry::conv_transpose(1, 28, 28, 32, 1, 3, 1, Padding::Same).unwrap();
        assert_eq!((g.big_h, g.pad_top), (28, 1));
        let g = Geometry::conv_transpose(1, 5, 5, 1, 1, 3, 2, Padding::Valid).unwrap();
        assert_eq!(g.big_h, 11);
        assert!(Geometry::conv(1, 2, 2, 1, 1, 3, 1, Padding::Valid).is_err());
        assert!(Geometry::conv(1, 4, 4, 1, 1, 3, 0, Padding::Valid).is_err());
    }

    #[test]
    fn gather_matmul_matches_direct_loops() {
        for (h, c_in, c_out, k, s, p, batch) in [
            (7, 3, 4, 3, 1, Padding::Same, 3),
            (8, 2, 5, 3, 2, Padding::Valid, 2),
            (9, 1, 2, 3, 3, Padding::Same, 5),
            (10, 4, 3, 2, 2, Padding::Same, 1),
            (28, 1, 32, 3, 2, Padding::Valid, 40),
        ] {
            let g = Geometry::conv(batch, h, h + 1, c_in, c_out, k, s, p).unwrap();
            let x = values(batch * g.big_len(), 1);
            let w = values(g.weight_len(), 2);
            let mut y = vec![0.0; batch * g.small_len()];
            gather_matmul(&g, &x, &w, &mut y).unwrap();
            close(&y, &naive_conv(&g, &x, &w), 1e-5);
        }
    }

    #[test]
    fn scatter_is_the_adjoint_of_gather() {
        // ⟨conv(u), v⟩ = ⟨u, conv_transpose(v)⟩ for the same weights: the transposed convolution
        // is exactly the adjoint, which is what TensorFlow's Conv2DTranspose computes.
        for (h, k, s, p, c) in [
            (14, 3, 2, Padding::Same, 3),
            (28, 3, 1, Padding::Same, 3),
            (9, 3, 3, Padding::Valid, 3),
            (11, 5, 2, Padding::Same, 3),
            (28, 3, 1, Padding::Same, 1),
            (13, 3, 2, Padding::Valid, 1),
        ] {
            let g = Geometry::conv(2, h, h, c, 4, k, s, p).unwrap();
            let u = values(2 * g.big_len(), 3);
            let v = values(2 * g.small_len(), 4);
            let w = values(g.weight_len(), 5);
            let mut cu = vec![0.0; v.len()];
            gather_matmul(&g, &u, &w, &mut cu).unwrap();
            let mut tv = vec![0.0; u.len()];
            matmul_scatter(&g, &v, &w, &mut tv).unwrap();
            let lhs: f64 = cu.iter().zip(&v).map(|(a, b)| (a * b) as f64).sum();
            let rhs: f64 = u.iter().zip(&tv).map(|(a, b)| (a * b) as f64).sum();
            assert!((lhs - rhs).abs() < 1e-4 * lhs.abs().max(1.0), "{lhs} vs {rhs}");
        }
    }

    #[test]
    fn weight_grad_is_the_adjoint_in_the_weights() {
        // d⟨conv(x; W), v⟩/dW = weight_grad(x, v): check it against the directional derivative,
        // which is exact for a bilinear map: ⟨weight_grad, D⟩ = ⟨conv(x; D), v⟩.
        let g = Geometry::conv(5, 9, 9, 2, 3, 3, 2, Padding::Same).unwrap();
        let x = values(5 * g.big_len(), 6);
        let v = values(5 * g.small_len(), 7);
        let d = values(g.weight_len(), 8);
        let mut dw = vec![0.0; g.weight_len()];
        weight_grad(&g, &x, &v, &mut dw).unwrap();
        let lhs: f64 = dw.iter().zip(&d).map(|(a, b)| (a * b) as f64).sum();
        let cd = naive_conv(&g, &x, &d);
        let rhs: f64 = cd.iter().zip(&v).map(|(a, b)| (a * b) as f64).sum();
        assert!((lhs - rhs).abs() < 1e-4 * rhs.abs().max(1.0), "{lhs} vs {rhs}");
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let g = Geometry::conv(64, 14, 14, 16, 8, 3, 2, Padding::Same).unwrap();
        let x = values(64 * g.big_len(), 9);
        let v = values(64 * g.small_len(), 10);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let mut dw = vec![0.0; g.weight_len()];
                weight_grad(&g, &x, &v, &mut dw).unwrap();
                dw
            })
        };
        let one = run(1);
        assert_eq!(one, run(2));
        assert_eq!(one, run(3));
    }

    #[test]
    fn bias_grad_sums_rows() {
        let mut db = vec![1.0, 0.0];
        bias_grad(&[1.0, 2.0, 3.0, 4.0], 2, &mut db);
        assert_eq!(db, [5.0, 6.0]);
    }

    #[test]
    fn mismatched_slices_are_errors_not_panics() {
        let g = Geometry::conv(2, 5, 5, 1, 1, 3, 1, Padding::Valid).unwrap();
        let mut out = vec![0.0; 3];
        assert!(gather_matmul(&g, &[0.0; 50], &[0.0; 9], &mut out).is_err());
        // [2×2]·[2×1] needs 2 output values.
        assert!(matmul(&mut out[..1], 1, false, View::rows(&[1.0; 4], 2, 2), View::rows(&[1.0; 2], 2, 1)).is_err());
        assert!(matmul(&mut out[..2], 1, false, View::rows(&[1.0; 4], 2, 2), View::rows(&[1.0; 2], 2, 1)).is_ok());
    }
}
