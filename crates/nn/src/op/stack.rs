//! A run of convolution layers as one dfdx operation: the encoder's two convolutions, or the
//! decoder's four transposed convolutions.
//!
//! Same arithmetic as chaining the single-layer ops of [`crate::op::conv`], but the activations between
//! the layers, their gradients and all scratch space live in a workspace owned by the stack and
//! reused from step to step. Only the stack's input and output cross into dfdx tensors, so a
//! training step copies a few MB instead of the ~200 MB of intermediate activations at batch 1000,
//! and allocates nothing once the first step has sized the buffers.
//!
//! Taped (training) and untaped (evaluation) forward passes use separate workspaces, so evaluating
//! between a forward and its backward pass cannot overwrite what the backward pass reads; a
//! generation counter turns any other interleaving into an error instead of wrong gradients.

use crate::error::NnError;
use crate::kernel::layer::{self, LayerShape};
use crate::model::param::Param;
use crate::op::add;
use dfdx::prelude::*;
use rayon::prelude::*;
use std::cell::RefCell;
use std::sync::{Arc, Mutex};

/// Floats of activations a micro-batch may hold across all layers (about 512 KiB: a core's L2).
const MICRO_BATCH_FLOATS: usize = 512 * 1024;
/// How many partial sums the weight gradients are split into: fixed, so that results do not
/// depend on the thread count.
const GROUPS: usize = 16;

thread_local! {
    /// Per thread: the two buffers the gradient flows through between a micro-batch's layers.
    static GRADS: RefCell<[Vec<f32>; 2]> = const { RefCell::new([Vec::new(), Vec::new()]) };
}

/// Layer activations, gradients and scratch, kept between steps.
#[derive(Debug, Default)]
struct Workspace {
    /// `acts[0]` is the stack's input, `acts[i + 1]` the output of layer `i`.
    acts: Vec<Vec<f32>>,
    /// The gradient of the stack's input, when it needs one.
    input_grad: Vec<f32>,
    weights: Vec<Vec<f32>>,
    biases: Vec<Vec<f32>>,
    dw: Vec<Vec<f32>>,
    db: Vec<Vec<f32>>,
    partials: Vec<f32>,
    batch: usize,
    /// Bumped by every taped forward pass; its backward pass must find its own generation.
    generation: u64,
}

#[derive(Debug)]
pub struct ConvStack {
    layers: Vec<LayerShape>,
    /// Whether the stack's input needs a gradient (not when it is the data batch).
    input_grad: bool,
    train: Arc<Mutex<Workspace>>,
    eval: Arc<Mutex<Workspace>>,
}

impl Clone for ConvStack {
    /// A clone gets workspaces of its own: two models must never share activations.
    fn clone(&self) -> Self {
        Self {
            layers: self.layers.clone(),
            input_grad: self.input_grad,
            train: Default::default(),
            eval: Default::default(),
        }
    }
}

fn poisoned<T>(_: T) -> NnError {
    NnError::Device("a previous step panicked while holding the layer workspace".into())
}

impl ConvStack {
    pub fn new(layers: Vec<LayerShape>, input_grad: bool) -> Result<Self, NnError> {
        if layers.is_empty() {
            return Err(NnError::Config("a convolution stack needs at least one layer".into()));
        }
        for pair in layers.windows(2) {
            if pair[0].out_len() != pair[1].in_len() {
                return Err(NnError::Shape(format!(
                    "layer output {:?} does not feed layer input {:?}",
                    pair[0], pair[1]
                )));
            }
        }
        Ok(Self { layers, input_grad, train: Default::default(), eval: Default::default() })
    }

    pub fn in_len(&self) -> usize {
        self.layers[0].in_len()
    }

    pub fn out_len(&self) -> usize {
        self.layers[self.layers.len() - 1].out_len()
    }

    /// Runs the layers on `x` (`[batch, in_len]` in any shape type); `params` are each layer's
    /// (kernel, bias); the result has `out_shape`.
    pub fn forward<I: Shape, O: Shape, T: Tape<f32, Cpu>>(
        &self,
        x: Tensor<I, f32, Cpu, T>,
        params: &[(&Param, &Param)],
        out_shape: O,
    ) -> Result<Tensor<O, f32, Cpu, T>, NnError> {
        let numel = x.shape().num_elements();
        if !numel.is_multiple_of(self.in_len()) || params.len() != self.layers.len() {
            return Err(NnError::Shape(format!(
                "stack of {} layers given {} parameter pairs and {numel} input values ({} per sample)",
                self.layers.len(),
                params.len(),
                self.in_len()
            )));
        }
        let batch = numel / self.in_len();
        if out_shape.num_elements() != batch * self.out_len() {
            return Err(NnError::Shape(format!(
                "output shape holds {} values, the stack gives {}",
                out_shape.num_elements(),
                batch * self.out_len()
            )));
        }
        for (l, (w, b)) in self.layers.iter().zip(params) {
            if w.len() != l.geometry.weight_len() || b.len() != l.out_c() {
                return Err(NnError::Shape(format!(
                    "{}: {} weights, the layer needs {}",
                    w.name,
                    w.len(),
                    l.geometry.weight_len()
                )));
            }
        }

        let dev = x.device().clone();
        let (x, mut tape) = x.split_tape();
        let arc = if T::OWNS_TAPE { &self.train } else { &self.eval };
        let mut guard = arc.lock().map_err(poisoned)?;
        let ws = &mut *guard;
        ws.batch = batch;
        ws.generation += 1;
        let generation = ws.generation;
        let n = self.layers.len();
        ws.acts.resize_with(n + 1, Vec::new);
        ws.weights.resize_with(n, Vec::new);
        ws.biases.resize_with(n, Vec::new);
        resize(&mut ws.acts[0], batch * self.in_len());
        x.copy_into(&mut ws.acts[0]);
        for (i, (l, (w, b))) in self.layers.iter().zip(params).enumerate() {
            resize(&mut ws.weights[i], w.len());
            w.tensor.copy_into(&mut ws.weights[i]);
            resize(&mut ws.biases[i], b.len());
            b.tensor.copy_into(&mut ws.biases[i]);
            resize(&mut ws.acts[i + 1], batch * l.out_len());
        }
        self.forward_pass(ws)?;
        let out = ws.acts[n].clone();
        drop(guard);
        let y = dev.try_tensor_from_vec(out, out_shape)?;

        if T::OWNS_TAPE {
            let workspace = Arc::clone(&self.train);
            let stack = self.clone();
            let (xg, yg) = (x.ghost(), y.ghost());
            let pg: Vec<_> = params.iter().map(|(w, b)| (w.tensor.ghost(), b.tensor.ghost())).collect();
            drop(x);
            tape.add_backward_op(move |grads| {
                let mut guard = workspace.lock().map_err(|_| CpuError::WrongNumElements)?;
                let ws = &mut *guard;
                if ws.generation != generation {
                    // Another taped forward pass ran before this backward pass: the activations
                    // are not ours any more.
                    return Err(CpuError::WrongNumElements);
                }
                let mut top: Vec<f32> = std::mem::take(&mut **grads.get_or_alloc_mut(&yg)?);
                stack.backward_pass(ws, &mut top)?;
                for (i, (wg, bg)) in pg.iter().enumerate() {
                    add(grads.get_or_alloc_mut(wg)?, &ws.dw[i]);
                    add(grads.get_or_alloc_mut(bg)?, &ws.db[i]);
                }
                if stack.input_grad {
                    add(grads.get_or_alloc_mut(&xg)?, &ws.input_grad);
                }
                Ok(())
            });
        }
        Ok(y.put_tape(tape))
    }

    /// Samples per micro-batch: all layers run on one micro-batch before the next, so the
    /// activations between layers are still in cache when the next layer reads them. A function
    /// of the layer sizes alone (never of the thread count).
    fn micro_batch(&self, batch: usize) -> usize {
        let per_sample: usize = self.layers.iter().map(|l| l.in_len() + l.out_len()).sum();
        let most = (MICRO_BATCH_FLOATS / per_sample.max(1)).max(1);
        // A multiple of 6 when it can be, so that the layers' chunks (see `Geometry::chunk`)
        // divide it.
        let mb = if most >= 6 { most - most % 6 } else { most };
        mb.clamp(1, batch.max(1))
    }

    /// Every layer, micro-batch by micro-batch (micro-batches in parallel).
    fn forward_pass(&self, ws: &mut Workspace) -> Result<(), NnError> {
        let batch = ws.batch;
        let mb = self.micro_batch(batch);
        let Workspace { acts, weights, biases, .. } = ws;
        let pieces = split_per_micro_batch(acts, &self.lens(), mb, batch);
        let (weights, biases) = (&*weights, &*biases);
        pieces.into_par_iter().try_for_each(|mut slices| {
            for (i, l) in self.layers.iter().enumerate() {
                let (before, after) = slices.split_at_mut(i + 1);
                layer::forward_samples(l, &l.geometry, before[i], &weights[i], &biases[i], after[0])?;
            }
            Ok(())
        })
    }

    /// Floats per sample of `acts[0..=n]`.
    fn lens(&self) -> Vec<usize> {
        std::iter::once(self.in_len()).chain(self.layers.iter().map(LayerShape::out_len)).collect()
    }

    /// Gradients of every layer, micro-batch by micro-batch, given the output gradient `top`
    /// (masked in place). Micro-batches are grouped; each group sums its weight and bias
    /// gradients on its own, and the groups' sums are added in order.
    fn backward_pass(&self, ws: &mut Workspace, top: &mut [f32]) -> Result<(), NnError> {
        let batch = ws.batch;
        let n = self.layers.len();
        let mb = self.micro_batch(batch);
        let micro_batches = batch.div_ceil(mb);
        let per_group = micro_batches.div_ceil(GROUPS.min(micro_batches).max(1));
        let group_samples = per_group * mb;
        let groups = batch.div_ceil(group_samples);
        let offsets: Vec<usize> = self
            .layers
            .iter()
            .scan(0, |at, l| {
                let start = *at;
                *at += l.geometry.weight_len() + l.out_c();
                Some(start)
            })
            .collect();
        let part_len: usize = self.layers.iter().map(|l| l.geometry.weight_len() + l.out_c()).sum();
        if top.len() != batch * self.out_len() {
            return Err(NnError::Shape(format!("output gradient of {} values for {batch} samples", top.len())));
        }
        let Workspace { acts, weights, dw, db, partials, input_grad, .. } = ws;
        partials.clear();
        partials.resize(groups * part_len, 0.0);
        reset(input_grad, if self.input_grad { batch * self.in_len() } else { 0 });
        let acts = &*acts;
        let weights = &*weights;
        let max_len = self.lens().into_iter().max().unwrap_or(0);
        let in_grads: Vec<Option<&mut [f32]>> = if self.input_grad {
            input_grad.chunks_mut(group_samples * self.in_len()).map(Some).collect()
        } else {
            (0..groups).map(|_| None).collect()
        };
        partials
            .par_chunks_mut(part_len)
            .zip(top.par_chunks_mut(group_samples * self.out_len()))
            .zip(in_grads)
            .enumerate()
            .try_for_each(|(gi, ((part, top), mut in_grad))| -> Result<(), NnError> {
                GRADS.with(|bufs| {
                    let mut bufs = bufs.borrow_mut();
                    for buf in bufs.iter_mut() {
                        resize(buf, mb * max_len);
                    }
                    let first = gi * group_samples;
                    let samples = top.len() / self.out_len();
                    let mut start = 0;
                    while start < samples {
                        let m = mb.min(samples - start);
                        let s0 = first + start;
                        // The gradient flowing down: the top slice, then the two scratch
                        // buffers in turn (`src` says which holds the current layer's gradient).
                        let top_slice = &mut top[start * self.out_len()..(start + m) * self.out_len()];
                        let mut src: Option<usize> = None;
                        for i in (0..n).rev() {
                            let l = &self.layers[i];
                            let (il, ol) = (l.in_len(), l.out_len());
                            let x = &acts[i][s0 * il..(s0 + m) * il];
                            let y = &acts[i + 1][s0 * ol..(s0 + m) * ol];
                            let part_i = &mut part[offsets[i]..offsets[i] + l.geometry.weight_len() + l.out_c()];
                            let dst = if src == Some(0) { 1 } else { 0 };
                            let [b0, b1] = &mut *bufs;
                            let (gy, free): (&mut [f32], &mut Vec<f32>) = match src {
                                None => (&mut *top_slice, if dst == 0 { b0 } else { b1 }),
                                Some(0) => (&mut b0[..m * ol], b1),
                                Some(_) => (&mut b1[..m * ol], b0),
                            };
                            let dx: Option<&mut [f32]> = if i > 0 {
                                Some(&mut free[..m * il])
                            } else {
                                in_grad.as_deref_mut().map(|d| &mut d[start * il..(start + m) * il])
                            };
                            layer::backward_samples(l, &l.geometry, &weights[i], part_i, gy, x, y, dx)?;
                            src = Some(dst);
                        }
                        start += m;
                    }
                    Ok(())
                })
            })?;
        dw.resize_with(n, Vec::new);
        db.resize_with(n, Vec::new);
        for (i, l) in self.layers.iter().enumerate() {
            reset(&mut dw[i], l.geometry.weight_len());
            reset(&mut db[i], l.out_c());
        }
        for part in partials.chunks_exact(part_len) {
            for (i, l) in self.layers.iter().enumerate() {
                let (w, b) = part[offsets[i]..].split_at(l.geometry.weight_len());
                add(&mut dw[i], w);
                add(&mut db[i], &b[..l.out_c()]);
            }
        }
        Ok(())
    }
}

/// Cuts each activation buffer (`lens[i]` floats per sample) into micro-batches of `mb` samples
/// and hands out, per micro-batch, its slice of every buffer.
fn split_per_micro_batch<'a>(
    acts: &'a mut [Vec<f32>],
    lens: &[usize],
    mb: usize,
    batch: usize,
) -> Vec<Vec<&'a mut [f32]>> {
    let count = batch.div_ceil(mb);
    let mut pieces: Vec<Vec<&mut [f32]>> = (0..count).map(|_| Vec::with_capacity(acts.len())).collect();
    for (a, &len) in acts.iter_mut().zip(lens) {
        for (piece, chunk) in pieces.iter_mut().zip(a.chunks_mut(mb * len)) {
            piece.push(chunk);
        }
    }
    pieces
}

/// Sets the length, keeping the allocation (contents are overwritten by the caller).
fn resize(v: &mut Vec<f32>, len: usize) {
    v.resize(len, 0.0);
}

/// Sets the length and zeroes every value.
fn reset(v: &mut Vec<f32>, len: usize) {
    v.clear();
    v.resize(len, 0.0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{Geometry, Padding};
    use crate::op::conv::conv_transpose2d;
    use crate::op::Activation;
    use rand::SeedableRng;

    /// The decoder's shape at a small scale: two transposed convolutions, ReLU then linear.
    fn layers() -> Vec<LayerShape> {
        let g1 = Geometry::conv_transpose(0, 3, 3, 4, 5, 3, 2, Padding::Same).unwrap();
        let g2 = Geometry::conv_transpose(0, 6, 6, 5, 2, 3, 1, Padding::Same).unwrap();
        vec![
            LayerShape { geometry: g1, transpose: true, relu: true },
            LayerShape { geometry: g2, transpose: true, relu: false },
        ]
    }

    #[test]
    fn stack_equals_the_chained_single_layer_ops() {
        let dev = Cpu::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let ls = layers();
        let params: Vec<(Param, Param)> = ls
            .iter()
            .enumerate()
            .map(|(i, l)| {
                (
                    Param::glorot(&dev, format!("w{i}"), &[l.geometry.weight_len()], &mut rng),
                    Param::glorot(&dev, format!("b{i}"), &[l.out_c()], &mut rng),
                )
            })
            .collect();
        let refs: Vec<(&Param, &Param)> = params.iter().map(|(w, b)| (w, b)).collect();
        let batch = 3;
        let xv: Vec<f32> = (0..batch * 36).map(|i| ((i * 37) % 17) as f32 / 8.0 - 1.0).collect();
        let x = dev.tensor_from_vec(xv, (batch * 36,));
        let out = batch * ls[1].out_len();

        let stack = ConvStack::new(ls.clone(), true).unwrap();
        let y = stack.forward(x.leaky_trace(), &refs, (out,)).unwrap();
        let y_values = y.as_vec();
        let g = y.square().sum().backward();

        let h = conv_transpose2d(
            x.leaky_trace(),
            &params[0].0.tensor,
            &params[0].1.tensor,
            ls[0].geometry,
            Activation::Relu,
            (batch * ls[0].out_len(),),
        )
        .unwrap();
        let z =
            conv_transpose2d(h, &params[1].0.tensor, &params[1].1.tensor, ls[1].geometry, Activation::Linear, (out,))
                .unwrap();
        let z_values = z.as_vec();
        let g2 = z.square().sum().backward();

        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-5 * (1.0 + y.abs()));
        assert!(close(&y_values, &z_values));
        assert!(close(&g.get(&x).as_vec(), &g2.get(&x).as_vec()), "input gradient");
        for (w, b) in &params {
            assert!(close(&g.get(&w.tensor).as_vec(), &g2.get(&w.tensor).as_vec()), "{}", w.name);
            assert!(close(&g.get(&b.tensor).as_vec(), &g2.get(&b.tensor).as_vec()), "{}", b.name);
        }
        // Untaped (evaluation) passes in between do not disturb a later step.
        let again = stack.forward(x.clone(), &refs, (out,)).unwrap();
        assert_eq!(again.as_vec(), y_values);
    }

    #[test]
    fn a_backward_pass_after_another_forward_pass_is_an_error() {
        let dev = Cpu::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let ls = layers();
        let params: Vec<(Param, Param)> = ls
            .iter()
            .map(|l| {
                (Param::glorot(&dev, "w", &[l.geometry.weight_len()], &mut rng), Param::zeros(&dev, "b", &[l.out_c()]))
            })
            .collect();
        let refs: Vec<(&Param, &Param)> = params.iter().map(|(w, b)| (w, b)).collect();
        let stack = ConvStack::new(ls.clone(), true).unwrap();
        let x = dev.tensor_from_vec(vec![0.5; 36], (36,));
        let out = ls[1].out_len();
        let first = stack.forward(x.leaky_trace(), &refs, (out,)).unwrap();
        let _second = stack.forward(x.leaky_trace(), &refs, (out,)).unwrap();
        assert!(first.sum().try_backward().is_err());
    }
}
