//! Fused forward and backward passes of one convolution or transposed-convolution layer over a
//! whole batch, with bias and ReLU folded in.
//!
//! Forward, per chunk of samples: bias → product (im2col·W, or (x·Wᵀ) scattered by col2im) → ReLU.
//! Backward, per chunk: ReLU mask → bias sums → one im2col shared by the weight gradient and the
//! input gradient. The im2col matrix of a chunk lives in a per-thread scratch buffer, so a
//! training step allocates nothing after the first.
//!
//! Weight and bias gradients are summed per group of consecutive chunks, then the group sums are
//! added in group order. Chunk and group sizes depend only on the batch size and the geometry,
//! never on the thread count: results are bit-identical whatever `RAYON_NUM_THREADS` is.

use crate::error::NnError;
use crate::kernel::{col2im_add, im2col, matmul, Geometry, View};
use rayon::prelude::*;
use std::cell::RefCell;

/// How many partial sums a weight gradient is split into (see the module header).
const GROUPS: usize = 16;

thread_local! {
    /// The im2col matrix of the chunk a thread is working on.
    static COL: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's scratch buffer, at least `len` floats long.
fn with_col<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    COL.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() < len {
            c.resize(len, 0.0);
        }
        f(&mut c[..len])
    })
}

/// A layer's shape: its geometry (batch ignored), direction and activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerShape {
    pub geometry: Geometry,
    /// A transposed convolution (small → big) rather than a convolution (big → small).
    pub transpose: bool,
    pub relu: bool,
}

impl LayerShape {
    /// Floats of one input sample.
    pub fn in_len(&self) -> usize {
        if self.transpose {
            self.geometry.small_len()
        } else {
            self.geometry.big_len()
        }
    }

    /// Floats of one output sample.
    pub fn out_len(&self) -> usize {
        if self.transpose {
            self.geometry.big_len()
        } else {
            self.geometry.small_len()
        }
    }

    /// Output channels (the bias length).
    pub fn out_c(&self) -> usize {
        if self.transpose {
            self.geometry.big_c
        } else {
            self.geometry.small_c
        }
    }

    fn check(&self, what: &str, len: usize, want: usize) -> Result<(), NnError> {
        if len == want {
            Ok(())
        } else {
            Err(NnError::Shape(format!("layer {what}: {len} values where {want} are needed ({self:?})")))
        }
    }
}

/// Sets every row of `out` (rows of `row.len()` values) to `row`. A loop rather than
/// `copy_from_slice`, which calls `memcpy` for every row: ruinous for one-channel rows.
fn fill_rows(out: &mut [f32], row: &[f32]) {
    if let [v] = row {
        out.fill(*v);
        return;
    }
    for px in out.chunks_exact_mut(row.len()) {
        for (d, s) in px.iter_mut().zip(row) {
            *d = *s;
        }
    }
}

/// `y = act(layer(x) + b)` for `batch` samples.
pub fn forward(l: &LayerShape, batch: usize, x: &[f32], w: &[f32], b: &[f32], y: &mut [f32]) -> Result<(), NnError> {
    let g = l.geometry.with_batch(batch);
    l.check("input", x.len(), batch * l.in_len())?;
    l.check("output", y.len(), batch * l.out_len())?;
    l.check("weight", w.len(), g.weight_len())?;
    l.check("bias", b.len(), l.out_c())?;
    if batch == 0 {
        return Ok(());
    }
    let chunk = g.chunk();
    y.par_chunks_mut(chunk * l.out_len())
        .zip(x.par_chunks(chunk * l.in_len()))
        .try_for_each(|(yc, xc)| forward_samples(l, &g, xc, w, b, yc))
}

/// The forward pass of the samples in `x` (a whole number of them), on this thread, in chunks of
/// the geometry's size.
pub(crate) fn forward_samples(
    l: &LayerShape,
    g: &Geometry,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    y: &mut [f32],
) -> Result<(), NnError> {
    let (patch, rows, chunk) = (g.patch(), g.positions(), g.chunk());
    for (yc, xc) in y.chunks_mut(chunk * l.out_len()).zip(x.chunks(chunk * l.in_len())) {
        let n = yc.len() / l.out_len();
        fill_rows(yc, b);
        if g.big_c == 1 && g.small_c == 1 {
            if l.transpose {
                direct::scatter(g, n, xc, w, yc);
            } else {
                direct::gather(g, n, xc, w, yc);
            }
        } else {
            with_col(n * rows * patch, |col| {
                if l.transpose {
                    matmul(col, patch, false, View::rows(xc, n * rows, g.small_c), View::cols(w, g.small_c, patch))?;
                    col2im_add(g, col, n, yc);
                    Ok(())
                } else {
                    im2col(g, xc, n, col);
                    matmul(yc, g.small_c, true, View::rows(col, n * rows, patch), View::rows(w, patch, g.small_c))
                }
            })?;
        }
        if l.relu {
            for v in yc.iter_mut() {
                // Not `max`: a NaN must stay NaN so that divergence is seen. A select, not a
                // branch, so that the loop vectorises.
                *v = if *v < 0.0 { 0.0 } else { *v };
            }
        }
    }
    Ok(())
}

/// Gradients of a layer given its input `x`, its output `y` (needed for the ReLU mask only) and
/// the output gradient `gy` (masked in place). Writes `dx` (when given) and adds into `dw` and `db`.
/// `partials` is scratch space kept by the caller between steps.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    l: &LayerShape,
    batch: usize,
    x: &[f32],
    y: Option<&[f32]>,
    w: &[f32],
    gy: &mut [f32],
    dx: Option<&mut [f32]>,
    dw: &mut [f32],
    db: &mut [f32],
    partials: &mut Vec<f32>,
) -> Result<(), NnError> {
    let g = l.geometry.with_batch(batch);
    l.check("input", x.len(), batch * l.in_len())?;
    let y = match (l.relu, y) {
        (true, Some(y)) => y,
        (true, None) => return Err(NnError::Shape("a ReLU layer's backward pass needs its output".into())),
        // Not read without a ReLU; an empty slice splits into empty group pieces.
        (false, _) => &[][..],
    };
    if l.relu {
        l.check("output", y.len(), batch * l.out_len())?;
    }
    l.check("output gradient", gy.len(), batch * l.out_len())?;
    l.check("weight", w.len(), g.weight_len())?;
    l.check("weight gradient", dw.len(), g.weight_len())?;
    l.check("bias gradient", db.len(), l.out_c())?;
    if let Some(dx) = &dx {
        l.check("input gradient", dx.len(), batch * l.in_len())?;
    }
    if batch == 0 {
        return Ok(());
    }
    let chunk = g.chunk();
    let chunks = batch.div_ceil(chunk);
    let per_group = chunks.div_ceil(GROUPS.min(chunks));
    let group_samples = per_group * chunk;
    let part_len = w.len() + db.len();
    let groups = batch.div_ceil(group_samples);
    partials.clear();
    partials.resize(groups * part_len, 0.0);

    let work = |part: &mut [f32], gy: &mut [f32], x: &[f32], y: &[f32], dx: Option<&mut [f32]>| {
        backward_samples(l, &g, w, part, gy, x, y, dx)
    };
    let parts = partials.par_chunks_mut(part_len);
    let gys = gy.par_chunks_mut(group_samples * l.out_len());
    let xs = x.par_chunks(group_samples * l.in_len());
    // Without a ReLU there is no output to read: give every group an empty piece.
    let empty: Vec<&[f32]> = vec![&[]; groups];
    let ys: Vec<&[f32]> = if l.relu { y.chunks(group_samples * l.out_len()).collect() } else { empty };
    let ys = ys.into_par_iter();
    match dx {
        Some(dx) => parts
            .zip(gys)
            .zip(xs)
            .zip(ys)
            .zip(dx.par_chunks_mut(group_samples * l.in_len()))
            .try_for_each(|((((p, gy), x), y), dx)| work(p, gy, x, y, Some(dx)))?,
        None => parts.zip(gys).zip(xs).zip(ys).try_for_each(|(((p, gy), x), y)| work(p, gy, x, y, None))?,
    }
    for part in partials.chunks_exact(part_len) {
        for (d, p) in dw.iter_mut().zip(&part[..w.len()]) {
            *d += p;
        }
        for (d, p) in db.iter_mut().zip(&part[w.len()..]) {
            *d += p;
        }
    }
    Ok(())
}

/// The backward pass of the samples in `gy`, on this thread, chunk by chunk in order: their
/// weight and bias gradients are added into `part` (`[dw, db]`), `dx` is overwritten. `y` is
/// only read for a ReLU layer.
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward_samples(
    l: &LayerShape,
    g: &Geometry,
    w: &[f32],
    part: &mut [f32],
    gy: &mut [f32],
    x: &[f32],
    y: &[f32],
    mut dx: Option<&mut [f32]>,
) -> Result<(), NnError> {
    let (patch, rows, chunk) = (g.patch(), g.positions(), g.chunk());
    let (dw, db) = part.split_at_mut(w.len());
    let (in_len, out_len) = (l.in_len(), l.out_len());
    let samples = gy.len() / out_len;
    let mut start = 0;
    while start < samples {
        let n = chunk.min(samples - start);
        let gyc = &mut gy[start * out_len..(start + n) * out_len];
        let xc = &x[start * in_len..(start + n) * in_len];
        // One pass: the ReLU mask, then the bias gradient's column sums.
        let oc = l.out_c();
        if l.relu {
            let yc = &y[start * out_len..(start + n) * out_len];
            for (gp, yp) in gyc.chunks_exact_mut(oc).zip(yc.chunks_exact(oc)) {
                for ((d, g), &v) in db.iter_mut().zip(gp.iter_mut()).zip(yp) {
                    *g = if v > 0.0 { *g } else { 0.0 };
                    *d += *g;
                }
            }
        } else {
            for gp in gyc.chunks_exact(oc) {
                for (d, g) in db.iter_mut().zip(gp) {
                    *d += g;
                }
            }
        }
        let dxc = dx.as_deref_mut().map(|d| &mut d[start * in_len..(start + n) * in_len]);
        if g.big_c == 1 && g.small_c == 1 {
            if l.transpose {
                direct::weight_grad(g, n, gyc, xc, dw);
                if let Some(dxc) = dxc {
                    dxc.fill(0.0);
                    direct::gather(g, n, gyc, w, dxc);
                }
            } else {
                direct::weight_grad(g, n, xc, gyc, dw);
                if let Some(dxc) = dxc {
                    dxc.fill(0.0);
                    direct::scatter(g, n, gyc, w, dxc);
                }
            }
            start += n;
            continue;
        }
        with_col(n * rows * patch, |col| -> Result<(), NnError> {
            if l.transpose {
                // big = output gradient, small = input.
                im2col(g, gyc, n, col);
                matmul(dw, g.small_c, true, View::cols(col, patch, n * rows), View::rows(xc, n * rows, g.small_c))?;
                if let Some(dxc) = dxc {
                    matmul(dxc, g.small_c, false, View::rows(col, n * rows, patch), View::rows(w, patch, g.small_c))?;
                }
            } else {
                // big = input, small = output gradient.
                im2col(g, xc, n, col);
                matmul(dw, g.small_c, true, View::cols(col, patch, n * rows), View::rows(gyc, n * rows, g.small_c))?;
                if let Some(dxc) = dxc {
                    matmul(col, patch, false, View::rows(gyc, n * rows, g.small_c), View::cols(w, g.small_c, patch))?;
                    dxc.fill(0.0);
                    col2im_add(g, col, n, dxc);
                }
            }
            Ok(())
        })?;
        start += n;
    }
    Ok(())
}

/// Layers with one channel on both sides (the last transposed convolution): a 3×3 stencil. The
/// products have a single column, so these loop tap by tap along rows instead, where the inner
/// loop is a plain (vectorisable) sweep.
mod direct {
    use crate::kernel::{tap_span, Geometry};

    /// Calls `f(tap, small start, big start, count)` for every tap and small-side row: the row's
    /// valid columns read small `[small start + i]` and big `[big start + i·stride]`, i < count.
    #[inline(always)]
    fn rows(g: &Geometry, mut f: impl FnMut(usize, usize, usize, usize)) {
        for kh in 0..g.kernel {
            for kw in 0..g.kernel {
                for oh in 0..g.small_h {
                    if let Some((ih, span)) = tap_span(g, kh, kw, oh) {
                        let big_start = ih * g.big_w + span.start * g.stride + kw - g.pad_left;
                        f(kh * g.kernel + kw, oh * g.small_w + span.start, big_start, span.len());
                    }
                }
            }
        }
    }

    /// `small[p] += Σ_tap big[src(p, tap)] · w[tap]` for `n` samples.
    pub(super) fn gather(g: &Geometry, n: usize, big: &[f32], w: &[f32], small: &mut [f32]) {
        for b in 0..n {
            let img = &big[b * g.big_len()..(b + 1) * g.big_len()];
            let out = &mut small[b * g.small_len()..(b + 1) * g.small_len()];
            rows(g, |t, so, bo, len| {
                let (wt, o) = (w[t], &mut out[so..so + len]);
                if g.stride == 1 {
                    for (o, v) in o.iter_mut().zip(&img[bo..bo + len]) {
                        *o += v * wt;
                    }
                } else {
                    for (o, v) in o.iter_mut().zip(img[bo..].iter().step_by(g.stride)) {
                        *o += v * wt;
                    }
                }
            });
        }
    }

    /// `big[src(p, tap)] += small[p] · w[tap]` for `n` samples (the adjoint of [`gather`]).
    pub(super) fn scatter(g: &Geometry, n: usize, small: &[f32], w: &[f32], big: &mut [f32]) {
        for b in 0..n {
            let inp = &small[b * g.small_len()..(b + 1) * g.small_len()];
            let img = &mut big[b * g.big_len()..(b + 1) * g.big_len()];
            rows(g, |t, so, bo, len| {
                let (wt, i) = (w[t], &inp[so..so + len]);
                if g.stride == 1 {
                    for (d, v) in img[bo..bo + len].iter_mut().zip(i) {
                        *d += v * wt;
                    }
                } else {
                    for (d, v) in img[bo..].iter_mut().step_by(g.stride).zip(i) {
                        *d += v * wt;
                    }
                }
            });
        }
    }

    /// `dw[tap] += Σ_p big[src(p, tap)] · small[p]` for `n` samples.
    pub(super) fn weight_grad(g: &Geometry, n: usize, big: &[f32], small: &[f32], dw: &mut [f32]) {
        for b in 0..n {
            let img = &big[b * g.big_len()..(b + 1) * g.big_len()];
            let s = &small[b * g.small_len()..(b + 1) * g.small_len()];
            rows(g, |t, so, bo, len| {
                let sm = &s[so..so + len];
                dw[t] += if g.stride == 1 {
                    dot(&img[bo..bo + len], sm)
                } else {
                    img[bo..].iter().step_by(g.stride).zip(sm).fold(0.0f32, |acc, (a, b)| acc + a * b)
                };
            });
        }
    }

    /// A dot product with eight running sums (in a fixed order), so that it vectorises.
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        let mut acc = [0.0f32; 8];
        let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
        let tail: f32 = ac.remainder().iter().zip(bc.remainder()).map(|(x, y)| x * y).sum();
        for (x, y) in ac.zip(bc) {
            for i in 0..8 {
                acc[i] += x[i] * y[i];
            }
        }
        ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
    }
}
