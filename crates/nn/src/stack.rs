//! A run of convolution layers as one dfdx operation: the encoder's two convolutions, or the
//! decoder's four transposed convolutions.
//!
//! Same arithmetic as chaining the single-layer ops of [`crate::ops`], but the activations between
//! the layers, their gradients and all scratch space live in a workspace owned by the stack and
//! reused from step to step. Only the stack's input and output cross into dfdx tensors, so a
//! training step copies a few MB instead of the ~200 MB of intermediate activations at batch 1000,
//! and allocates nothing once the first step has sized the buffers.
//!
//! Taped (training) and untaped (evaluation) forward passes use separate workspaces, so evaluating
//! between a forward and its backward pass cannot overwrite what the backward pass reads; a
//! generation counter turns any other interleaving into an error instead of wrong gradients.

use crate::error::NnError;
use crate::layer::{self, LayerShape};
use crate::ops::add;
use crate::param::Param;
use dfdx::prelude::*;
use std::sync::{Arc, Mutex};

/// Layer activations, gradients and scratch, kept between steps.
#[derive(Debug, Default)]
struct Workspace {
    /// `acts[0]` is the stack's input, `acts[i + 1]` the output of layer `i`.
    acts: Vec<Vec<f32>>,
    /// Ping-pong buffers for the gradient flowing down the layers.
    grad: [Vec<f32>; 2],
    weights: Vec<Vec<f32>>,
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
        if numel % self.in_len() != 0 || params.len() != self.layers.len() {
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
        ws.acts.resize_with(self.layers.len() + 1, Vec::new);
        ws.weights.resize_with(self.layers.len(), Vec::new);
        resize(&mut ws.acts[0], batch * self.in_len());
        x.copy_into(&mut ws.acts[0]);
        for (i, (l, (w, b))) in self.layers.iter().zip(params).enumerate() {
            resize(&mut ws.weights[i], w.len());
            w.tensor.copy_into(&mut ws.weights[i]);
            resize(&mut ws.acts[i + 1], batch * l.out_len());
            let (before, after) = ws.acts.split_at_mut(i + 1);
            layer::forward(l, batch, &before[i], &ws.weights[i], &b.tensor.as_vec(), &mut after[0])?;
        }
        let out = ws.acts[self.layers.len()].clone();
        drop(guard);
        let y = dev.try_tensor_from_vec(out, out_shape)?;

        if T::OWNS_TAPE {
            let workspace = Arc::clone(&self.train);
            let layers = self.layers.clone();
            let input_grad = self.input_grad;
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
                let mut cur: Vec<f32> = std::mem::take(&mut **grads.get_or_alloc_mut(&yg)?);
                let Workspace { acts, grad, weights, dw, db, partials, batch, .. } = ws;
                dw.resize_with(layers.len(), Vec::new);
                db.resize_with(layers.len(), Vec::new);
                let mut next = std::mem::take(&mut grad[0]);
                for (i, l) in layers.iter().enumerate().rev() {
                    reset(&mut dw[i], l.geometry.weight_len());
                    reset(&mut db[i], l.out_c());
                    let want_dx = i > 0 || input_grad;
                    if want_dx {
                        resize(&mut next, *batch * l.in_len());
                    }
                    let y = l.relu.then_some(&acts[i + 1][..]);
                    let dx = want_dx.then_some(&mut next[..]);
                    layer::backward(
                        l,
                        *batch,
                        &acts[i],
                        y,
                        &weights[i],
                        &mut cur,
                        dx,
                        &mut dw[i],
                        &mut db[i],
                        partials,
                    )?;
                    add(grads.get_or_alloc_mut(&pg[i].0)?, &dw[i]);
                    add(grads.get_or_alloc_mut(&pg[i].1)?, &db[i]);
                    if want_dx {
                        std::mem::swap(&mut cur, &mut next);
                    }
                }
                if input_grad {
                    add(grads.get_or_alloc_mut(&xg)?, &cur);
                }
                // Keep the larger buffer for the next step.
                grad[0] = if next.capacity() >= cur.capacity() { next } else { cur };
                Ok(())
            });
        }
        Ok(y.put_tape(tape))
    }
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
    use crate::kernels::{Geometry, Padding};
    use crate::ops::{conv_transpose2d, Activation};
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
