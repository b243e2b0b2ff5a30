//! Convolution and transposed convolution from dfdx's public ops only — a `gather` and a matmul
//! each — so that they run on any dfdx device, `Cuda` included, with the backward pass coming
//! from dfdx's tape (the gather's backward is dfdx's scatter-add).
//!
//! A layer connects output position `q`, kernel tap `t = (kh, kw)` and input position `p(q, t)`:
//!
//! | layer                | q                       | p(q, t), or padding / a hole                                   |
//! |----------------------|-------------------------|----------------------------------------------------------------|
//! | conv (big → small)   | small `(oh, ow)`        | big `(oh·s + kh − pt, ow·s + kw − pl)`                          |
//! | conv-T (small → big) | big `(bh, bw)`          | small `((bh + pt − kh)/s, (bw + pl − kw)/s)` when whole, inside |
//!
//! and is lowered in one of two ways ([`Lowering`]), each one gather and one product:
//!
//! * im2col: gather the input into `[batch·out_pos, K²·c_in]` patches, multiply by the
//!   `[K²·c_in, c_out]` kernel matrix;
//! * col2im: multiply first, `[batch·in_pos, c_in] × [c_in, K²·c_out]`, then gather each output
//!   position's contributions into `[batch·out_pos, T, c_out]` and sum them, T being the most
//!   taps any output position actually has (4 for a k3 s2 transposed convolution, not 9).
//!
//! Both gather with a per-sample index whose entries are flat offsets in the sample or one of a
//! few zero slots appended after it (padding, and the holes of a strided transposed convolution).
//! col2im gathers `T·c_out` values per output position instead of `K²·c_in`, and its product
//! multiplies no padding or hole: for the tutorial's 14×14×64 → 28×28×32 layer, 128 instead of
//! 576 gathered values per position and 4× fewer multiplications.
//! The transposed convolution indexes taps by the forward convolution's `(kh, kw)`, so its
//! kernel needs no spatial flip, only a reordering of Keras' layout into the matrix the product
//! takes: a differentiable gather of the flat weight, redone every call so that the gradient
//! flows back to the parameter's own tensor id.
//!
//! Index tensors are built once per layer shape ([`GatherConv`]) and are per sample: they are
//! broadcast over the batch (stride 0), so one index serves every batch size.
//!
//! On `Cuda` the gather's backward pass is a scatter-add with one `atomicAdd` per gathered value:
//! the order of those additions, and so the last bits of the gradients, change from run to run.
//! A CUDA run is therefore not bit-reproducible (its metrics agree within a tolerance, see the
//! README); on `Cpu` the same ops are deterministic.

use crate::error::NnError;
use crate::generic::DeviceResult;
use crate::kernel::Geometry;
use dfdx::prelude::*;

/// Zero slots appended to every gathered sample. One would do, but on CUDA the gather's backward
/// pass is an `atomicAdd` per gathered element, and a stride-2 transposed convolution lowered as
/// im2col points 3/4 of its entries at zeros: spreading them over 32 slots (one per lane of a
/// warp) avoids serialising those atomics on a single address.
pub const ZERO_SLOTS: usize = 32;

/// Which way a layer maps its geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// big → small: TensorFlow's `Conv2D`, kernel `(kh, kw, in, out)`.
    Conv,
    /// small → big: TensorFlow's `Conv2DTranspose`, kernel `(kh, kw, out, in)`.
    Transpose,
}

/// How a layer is lowered onto one gather and one matmul (see the module header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lowering {
    /// Gather, then multiply: gathers `K²·c_in` values per output position.
    Im2col,
    /// Multiply, then gather and sum the taps: gathers `T·c_out` values per output position, T
    /// being the most taps that reach one output position.
    Col2im,
}

/// One convolution layer's shape and its gather indices, on the device. Build it once per layer
/// (index construction is host work plus one upload) and reuse it for every batch.
#[derive(Debug, Clone)]
pub struct GatherConv<D: Storage<usize>> {
    geometry: Geometry,
    direction: Direction,
    lowering: Lowering,
    /// Spatial positions of one input and one output sample.
    in_pos: usize,
    out_pos: usize,
    c_in: usize,
    c_out: usize,
    /// K².
    taps: usize,
    /// Taps gathered per output position: K² for im2col (each has its own weight rows), the
    /// most that reach one output position for col2im (only real contributions are summed).
    gathered_taps: usize,
    /// Zero slots appended to each gathered sample: [`ZERO_SLOTS`], or 0 when no index entry
    /// points outside the sample (a VALID convolution), which saves the concatenation.
    zero_slots: usize,
    /// `[out_pos·K²·C]` (C = c_in for im2col, c_out for col2im): entry `(q·K² + t)·C + c` is the
    /// flat offset, in the gathered sample, of what output position q takes for tap t, channel c.
    index: Tensor<(usize,), usize, D>,
    /// The Keras kernel as the product's matrix, as offsets into the flat kernel; `None` when the
    /// kernel is that matrix already (an im2col convolution).
    weight_index: Option<Tensor<(usize,), usize, D>>,
}

impl<D: Device<f32>> GatherConv<D> {
    /// A convolution (big → small) with `geometry`'s shape (its `batch` is ignored), lowered the
    /// cheaper way.
    pub fn conv(dev: &D, geometry: Geometry) -> Result<Self, NnError> {
        Self::new(dev, geometry, Direction::Conv)
    }

    /// A transposed convolution (small → big) with `geometry`'s shape, lowered the cheaper way.
    pub fn conv_transpose(dev: &D, geometry: Geometry) -> Result<Self, NnError> {
        Self::new(dev, geometry, Direction::Transpose)
    }

    /// A layer lowered the way that gathers fewer values: col2im when `T·c_out < K²·c_in`.
    pub fn new(dev: &D, geometry: Geometry, direction: Direction) -> Result<Self, NnError> {
        let im2col = Self::with_lowering(dev, geometry, direction, Lowering::Im2col)?;
        let col2im_taps = im2col.max_taps();
        Ok(if col2im_taps * im2col.c_out < im2col.taps * im2col.c_in {
            Self::with_lowering(dev, geometry, direction, Lowering::Col2im)?
        } else {
            im2col
        })
    }

    /// A layer lowered as asked. Builds the indices on the host and uploads them.
    pub fn with_lowering(
        dev: &D,
        geometry: Geometry,
        direction: Direction,
        lowering: Lowering,
    ) -> Result<Self, NnError> {
        let g = geometry;
        if [g.big_h, g.big_w, g.big_c, g.small_h, g.small_w, g.small_c, g.kernel, g.stride].contains(&0) {
            return Err(NnError::Shape(format!("a convolution geometry needs every size ≥ 1: {g:?}")));
        }
        let (big_pos, small_pos) = (g.big_h * g.big_w, g.small_h * g.small_w);
        let (in_pos, out_pos, c_in, c_out) = match direction {
            Direction::Conv => (big_pos, small_pos, g.big_c, g.small_c),
            Direction::Transpose => (small_pos, big_pos, g.small_c, g.big_c),
        };
        let taps = g.kernel * g.kernel;
        let mut layer = Self {
            geometry,
            direction,
            lowering,
            in_pos,
            out_pos,
            c_in,
            c_out,
            taps,
            gathered_taps: taps,
            zero_slots: 0,
            index: dev.try_tensor_from_vec(Vec::new(), (0,)).dev()?,
            weight_index: None,
        };
        if lowering == Lowering::Col2im {
            layer.gathered_taps = layer.max_taps();
        }
        let (index, zero_used) = layer.build_index();
        layer.zero_slots = if zero_used { ZERO_SLOTS } else { 0 };
        let n = index.len();
        layer.index = dev.try_tensor_from_vec(index, (n,)).dev()?;
        layer.weight_index = match layer.build_weight_index() {
            Some(w) => {
                let n = w.len();
                Some(dev.try_tensor_from_vec(w, (n,)).dev()?)
            }
            None => None,
        };
        Ok(layer)
    }

    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    pub fn direction(&self) -> Direction {
        self.direction
    }

    pub fn lowering(&self) -> Lowering {
        self.lowering
    }

    /// Floats of one input sample.
    pub fn in_len(&self) -> usize {
        self.in_pos * self.c_in
    }

    /// Floats of one output sample.
    pub fn out_len(&self) -> usize {
        self.out_pos * self.c_out
    }

    /// Output channels: the bias length.
    pub fn out_channels(&self) -> usize {
        self.c_out
    }

    /// Floats of the kernel (either Keras layout).
    pub fn weight_len(&self) -> usize {
        self.taps * self.c_in * self.c_out
    }

    /// Per sample: rows and columns of the gathered matrix (`[out_pos, K²·c_in]` for im2col,
    /// `[out_pos, T·c_out]` for col2im).
    pub fn gather_shape(&self) -> (usize, usize) {
        (self.out_pos, self.gathered_taps * self.gathered_channels())
    }

    /// Floats per sample of what [`Self::gather`] reads: the input (im2col) or the per-tap
    /// products `[in_pos, K², c_out]` (col2im).
    pub fn source_len(&self) -> usize {
        match self.lowering {
            Lowering::Im2col => self.in_len(),
            Lowering::Col2im => self.in_pos * self.taps * self.c_out,
        }
    }

    /// The product, as (rows per sample, inner, columns): `[out_pos, K²·c_in] × [K²·c_in, c_out]`
    /// (im2col) or `[in_pos, c_in] × [c_in, K²·c_out]` (col2im).
    pub fn matmul_shape(&self) -> (usize, usize, usize) {
        match self.lowering {
            Lowering::Im2col => (self.out_pos, self.taps * self.c_in, self.c_out),
            Lowering::Col2im => (self.in_pos, self.c_in, self.taps * self.c_out),
        }
    }

    fn gathered_channels(&self) -> usize {
        match self.lowering {
            Lowering::Im2col => self.c_in,
            Lowering::Col2im => self.c_out,
        }
    }

    /// `act(layer(x) + bias)`, `act` ReLU or identity. `x` is `[batch, in_len]` (NHWC flattened per
    /// sample), `weight` the flat Keras kernel, `bias` `[out_channels]`; returns `[batch, out_len]`.
    /// Gradients reach `weight` and `bias` under their own ids (they carry no tape: the input's
    /// tape records every op).
    pub fn forward<T: Tape<f32, D>>(
        &self,
        x: Tensor<(usize, usize), f32, D, T>,
        weight: &Tensor<(usize,), f32, D>,
        bias: &Tensor<(usize,), f32, D>,
        relu: bool,
    ) -> Result<Tensor<(usize, usize), f32, D, T>, NnError> {
        let (batch, in_len) = *x.shape();
        let (c_in, c_out, taps) = (self.c_in, self.c_out, self.taps);
        // dfdx asserts (panics) on mismatched shapes: check everything first.
        if in_len != self.in_len() || batch == 0 {
            return Err(NnError::Shape(format!(
                "{:?} layer takes [batch ≥ 1, {}], got [{batch}, {in_len}]",
                self.direction,
                self.in_len()
            )));
        }
        self.check_batch(batch)?;
        if weight.shape().0 != self.weight_len() || bias.shape().0 != c_out {
            return Err(NnError::Shape(format!(
                "{:?} layer needs a kernel of {} and a bias of {c_out} values, got {} and {}",
                self.direction,
                self.weight_len(),
                weight.shape().0,
                bias.shape().0
            )));
        }

        // The kernel as the product's matrix. Reordering it is a gather, which must be on the
        // tape for the gradient to reach `weight`: borrow the input's tape for it.
        let (x, tape) = x.split_tape();
        let (w, tape) = match &self.weight_index {
            Some(idx) => {
                let w: Tensor<(usize,), f32, D, T> = weight.clone().put_tape(tape).try_gather(idx.clone()).dev()?;
                w.split_tape()
            }
            None => (weight.clone(), tape),
        };
        let x = x.put_tape(tape);

        let rows = batch * self.out_pos;
        // Contiguous reshapes keep the tensor's id and record no op.
        let y = match self.lowering {
            Lowering::Im2col => {
                let w = w.try_reshape_like(&(taps * c_in, c_out)).dev()?; // [K²·c_in, c_out]
                let cols = self.gather(x)?; // [batch·out_pos, K²·c_in]
                cols.try_matmul(w).dev()? // [batch·out_pos, c_out]
            }
            Lowering::Col2im => {
                let w = w.try_reshape_like(&(c_in, taps * c_out)).dev()?; // [c_in, K²·c_out]
                let x = x.try_reshape_like(&(batch * self.in_pos, c_in)).dev()?; // [batch·in_pos, c_in]
                let z = x.try_matmul(w).dev()?; // [batch·in_pos, K²·c_out]
                let z = z.try_reshape_like(&(batch, self.source_len())).dev()?; // [batch, in_pos·K²·c_out]
                let parts = self.gather(z)?; // [batch·out_pos, T·c_out]
                let parts = parts.try_reshape_like(&(rows, self.gathered_taps, c_out)).dev()?; // [batch·out_pos, T, c_out]
                parts.try_sum::<(usize, usize), Axis<1>>().dev()? // [batch·out_pos, c_out]
            }
        };
        let b = bias.clone().try_broadcast_like::<_, Axis<0>>(&(rows, c_out)).dev()?;
        let y = y.try_add(b).dev()?; // [batch·out_pos, c_out]
        let y = if relu { y.try_relu().dev()? } else { y };
        y.try_reshape_like(&(batch, self.out_len())).dev() // [batch, out_len]
    }

    /// The layer's gather alone: `[batch, source_len]` → `[batch·out_pos, K²·C]` (see
    /// [`Self::gather_shape`]); for im2col the source is the input and this is the im2col matrix.
    /// Differentiable: its backward pass is dfdx's scatter-add (col2im).
    pub fn gather<T: Tape<f32, D>>(
        &self,
        src: Tensor<(usize, usize), f32, D, T>,
    ) -> Result<Tensor<(usize, usize), f32, D, T>, NnError> {
        let (batch, len) = *src.shape();
        if len != self.source_len() {
            return Err(NnError::Shape(format!("gather of [{batch}, {len}] for sources of {}", self.source_len())));
        }
        let (rows, cols) = self.gather_shape();
        self.check_batch(batch)?;
        let src = if self.zero_slots > 0 {
            let zeros = src.device().clone().try_zeros_like(&(batch, self.zero_slots)).dev()?;
            (src, zeros).try_concat_along(Axis::<1>).dev()? // [batch, len + ZERO_SLOTS]
        } else {
            src // [batch, len]
        };
        // The same per-sample index for every sample: a stride-0 view, no copy.
        let idx = self.index.clone().try_broadcast_like::<_, Axis<0>>(&(batch, rows * cols)).dev()?;
        let out: Tensor<(usize, usize), f32, D, T> = src.try_gather(idx).dev()?; // [batch, rows·cols]
        out.try_reshape_like(&(batch * rows, cols)).dev() // [batch·rows, cols]
    }

    /// dfdx's CUDA gather and element-wise kernels index with 32-bit `unsigned int`: beyond 2³²
    /// values a tensor's indices would wrap silently. Checked on every device, before anything of
    /// the batch's size is computed.
    fn check_batch(&self, batch: usize) -> Result<(), NnError> {
        let (rows, cols) = self.gather_shape();
        let per_sample = [rows * cols, self.source_len() + self.zero_slots, self.in_len(), self.out_len()];
        let largest = per_sample.iter().map(|n| batch.saturating_mul(*n)).max().unwrap_or(0);
        if largest > u32::MAX as usize {
            return Err(NnError::Shape(format!(
                "a batch of {batch} makes a tensor of {largest} values in this layer: over the 2³² that \
                 dfdx's CUDA kernels can index"
            )));
        }
        Ok(())
    }

    /// The input position (row, column) that output position `(qh, qw)` reads through tap
    /// `(kh, kw)`, or `None` for padding or a hole.
    fn source(&self, qh: usize, qw: usize, kh: usize, kw: usize) -> Option<usize> {
        let g = &self.geometry;
        let (h, w) = match self.direction {
            Direction::Conv => (
                (qh * g.stride + kh).checked_sub(g.pad_top).filter(|&i| i < g.big_h),
                (qw * g.stride + kw).checked_sub(g.pad_left).filter(|&i| i < g.big_w),
            ),
            Direction::Transpose => {
                // oh·s + kh − pt = bh must hold for a whole oh inside the input.
                let back = |b: usize, pad: usize, tap: usize, len: usize| {
                    (b + pad).checked_sub(tap).filter(|n| n % g.stride == 0).map(|n| n / g.stride).filter(|&o| o < len)
                };
                (back(qh, g.pad_top, kh, g.small_h), back(qw, g.pad_left, kw, g.small_w))
            }
        };
        let in_w = match self.direction {
            Direction::Conv => g.big_w,
            Direction::Transpose => g.small_w,
        };
        Some(h? * in_w + w?)
    }

    /// Output rows and columns.
    fn out_hw(&self) -> (usize, usize) {
        match self.direction {
            Direction::Conv => (self.geometry.small_h, self.geometry.small_w),
            Direction::Transpose => (self.geometry.big_h, self.geometry.big_w),
        }
    }

    /// For output position `(qh, qw)`: the (input position, tap) pairs that reach it.
    fn links(&self, qh: usize, qw: usize) -> impl Iterator<Item = (Option<usize>, usize)> + '_ {
        let k = self.geometry.kernel;
        (0..k * k).map(move |t| (self.source(qh, qw, t / k, t % k), t))
    }

    /// The most taps that reach one output position (at least 1).
    fn max_taps(&self) -> usize {
        let (out_h, out_w) = self.out_hw();
        let reaching = |qh, qw| self.links(qh, qw).filter(|(p, _)| p.is_some()).count();
        (0..out_h)
            .flat_map(|qh| (0..out_w).map(move |qw| (qh, qw)))
            .map(|(qh, qw)| reaching(qh, qw))
            .max()
            .unwrap_or(1)
            .max(1)
    }

    /// The gather index (see the `index` field) and whether any entry is a zero slot.
    fn build_index(&self) -> (Vec<usize>, bool) {
        let (out_h, out_w) = self.out_hw();
        let (ch, src_len) = (self.gathered_channels(), self.source_len());
        let mut index = Vec::with_capacity(self.out_pos * self.gathered_taps * ch);
        let mut zero_used = false;
        let mut push = |index: &mut Vec<usize>, entry: Option<usize>| {
            let j = index.len();
            index.push(entry.unwrap_or_else(|| {
                zero_used = true;
                src_len + j % ZERO_SLOTS
            }));
        };
        for qh in 0..out_h {
            for qw in 0..out_w {
                match self.lowering {
                    // Every tap, in kernel order: the weight matrix's rows follow it.
                    Lowering::Im2col => {
                        for (p, _) in self.links(qh, qw) {
                            for c in 0..ch {
                                push(&mut index, p.map(|p| p * self.c_in + c));
                            }
                        }
                    }
                    // The taps that reach this position, then zero slots up to T: they are summed.
                    Lowering::Col2im => {
                        let real: Vec<(usize, usize)> = self.links(qh, qw).filter_map(|(p, t)| Some((p?, t))).collect();
                        for slot in 0..self.gathered_taps {
                            let pt = real.get(slot);
                            for c in 0..ch {
                                push(&mut index, pt.map(|&(p, t)| (p * self.taps + t) * self.c_out + c));
                            }
                        }
                    }
                }
            }
        }
        (index, zero_used)
    }

    /// The product's kernel matrix as offsets into the flat Keras kernel: `[(t, c_in), c_out]`
    /// for im2col, `[c_in, (t, c_out)]` for col2im; `None` where that is the kernel's own order.
    fn build_weight_index(&self) -> Option<Vec<usize>> {
        let (taps, ci, co) = (self.taps, self.c_in, self.c_out);
        // Offset of (tap, input channel, output channel) in the Keras kernel.
        let keras = |t: usize, c: usize, o: usize| match self.direction {
            Direction::Conv => (t * ci + c) * co + o,      // (kh, kw, in, out)
            Direction::Transpose => (t * co + o) * ci + c, // (kh, kw, out, in)
        };
        let mut index = Vec::with_capacity(taps * ci * co);
        match self.lowering {
            Lowering::Im2col if self.direction == Direction::Conv => return None,
            Lowering::Im2col => {
                for t in 0..taps {
                    for c in 0..ci {
                        for o in 0..co {
                            index.push(keras(t, c, o));
                        }
                    }
                }
            }
            Lowering::Col2im => {
                for c in 0..ci {
                    for t in 0..taps {
                        for o in 0..co {
                            index.push(keras(t, c, o));
                        }
                    }
                }
            }
        }
        Some(index)
    }
}

/// A convolution through `layer` (which must be a [`Direction::Conv`] one): `[batch, big_len]` →
/// `[batch, small_len]`, kernel `(kh, kw, in, out)`.
pub fn conv2d_gather<D: Device<f32>, T: Tape<f32, D>>(
    x: Tensor<(usize, usize), f32, D, T>,
    weight: &Tensor<(usize,), f32, D>,
    bias: &Tensor<(usize,), f32, D>,
    layer: &GatherConv<D>,
    relu: bool,
) -> Result<Tensor<(usize, usize), f32, D, T>, NnError> {
    expect_direction(layer, Direction::Conv)?;
    layer.forward(x, weight, bias, relu)
}

/// A transposed convolution through `layer` (a [`Direction::Transpose`] one): `[batch, small_len]`
/// → `[batch, big_len]`, kernel `(kh, kw, out, in)`.
pub fn conv_transpose2d_gather<D: Device<f32>, T: Tape<f32, D>>(
    x: Tensor<(usize, usize), f32, D, T>,
    weight: &Tensor<(usize,), f32, D>,
    bias: &Tensor<(usize,), f32, D>,
    layer: &GatherConv<D>,
    relu: bool,
) -> Result<Tensor<(usize, usize), f32, D, T>, NnError> {
    expect_direction(layer, Direction::Transpose)?;
    layer.forward(x, weight, bias, relu)
}

fn expect_direction<D: Device<f32>>(layer: &GatherConv<D>, want: Direction) -> Result<(), NnError> {
    if layer.direction == want {
        Ok(())
    } else {
        Err(NnError::Config(format!("a {want:?} op was given a {:?} layer", layer.direction)))
    }
}
