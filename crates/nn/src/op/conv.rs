//! Convolution and transposed convolution as differentiable dfdx operations.
//!
//! Each op computes its forward pass with [`crate::kernel::layer`] (bias and an optional ReLU fused), and
//! registers its backward pass on the input's tape with
//! `Tape::add_backward_op`; gradients are added (`+=`) into the buffers that
//! `Gradients::get_or_alloc_mut` hands out, since several ops may feed the same tensor.
//! Tensors are NHWC; weights use the Keras layouts described in `kernel`.

use crate::error::NnError;
use crate::kernel::layer::{self, LayerShape};
use crate::kernel::Geometry;
use crate::op::{add, Activation};
use dfdx::prelude::*;

/// Which way an op maps the geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// big → small: a convolution.
    Conv,
    /// small → big: a transposed convolution.
    Transpose,
}

/// `relu(conv(x) + bias)` (or without the ReLU). `x` holds `[batch, h, w, c_in]` in any shape
/// type with that many elements; the batch is `x`'s length over the geometry's input size.
pub fn conv2d<I: Shape, O: Shape, W: Shape, B: Shape, T: Tape<f32, Cpu>>(
    x: Tensor<I, f32, Cpu, T>,
    weight: &Tensor<W, f32, Cpu>,
    bias: &Tensor<B, f32, Cpu>,
    geometry: Geometry,
    activation: Activation,
    out_shape: O,
) -> Result<Tensor<O, f32, Cpu, T>, NnError> {
    apply(Direction::Conv, x, weight, bias, geometry, activation, out_shape)
}

/// `relu(conv_transpose(x) + bias)` (or without the ReLU), TensorFlow's `Conv2DTranspose`.
pub fn conv_transpose2d<I: Shape, O: Shape, W: Shape, B: Shape, T: Tape<f32, Cpu>>(
    x: Tensor<I, f32, Cpu, T>,
    weight: &Tensor<W, f32, Cpu>,
    bias: &Tensor<B, f32, Cpu>,
    geometry: Geometry,
    activation: Activation,
    out_shape: O,
) -> Result<Tensor<O, f32, Cpu, T>, NnError> {
    apply(Direction::Transpose, x, weight, bias, geometry, activation, out_shape)
}

fn apply<I: Shape, O: Shape, W: Shape, B: Shape, T: Tape<f32, Cpu>>(
    dir: Direction,
    x: Tensor<I, f32, Cpu, T>,
    weight: &Tensor<W, f32, Cpu>,
    bias: &Tensor<B, f32, Cpu>,
    geometry: Geometry,
    activation: Activation,
    out_shape: O,
) -> Result<Tensor<O, f32, Cpu, T>, NnError> {
    let (in_len, out_len, out_c) = match dir {
        Direction::Conv => (geometry.big_len(), geometry.small_len(), geometry.small_c),
        Direction::Transpose => (geometry.small_len(), geometry.big_len(), geometry.big_c),
    };
    if activation == Activation::Sigmoid {
        return Err(NnError::Config("convolution layers take a linear or ReLU activation, not a sigmoid".into()));
    }
    let numel = x.shape().num_elements();
    if in_len == 0 || !numel.is_multiple_of(in_len) {
        return Err(NnError::Shape(format!("input of {numel} values is not a whole batch of {in_len}-value samples")));
    }
    let g = geometry.with_batch(numel / in_len);
    if out_shape.num_elements() != g.batch * out_len {
        return Err(NnError::Shape(format!(
            "output shape holds {} values, the geometry gives {}",
            out_shape.num_elements(),
            g.batch * out_len
        )));
    }
    if weight.shape().num_elements() != g.weight_len() || bias.shape().num_elements() != out_c {
        return Err(NnError::Shape(format!(
            "weight/bias of {}/{} values, the geometry needs {}/{out_c}",
            weight.shape().num_elements(),
            bias.shape().num_elements(),
            g.weight_len()
        )));
    }

    let dev = x.device().clone();
    let (x, mut tape) = x.split_tape();
    let layer = LayerShape { geometry, transpose: dir == Direction::Transpose, relu: activation == Activation::Relu };
    let batch = g.batch;
    let xs = x.as_vec();
    let ws = weight.as_vec();
    let mut out = vec![0.0; batch * out_len];
    layer::forward(&layer, batch, &xs, &ws, &bias.as_vec(), &mut out)?;
    // The backward pass needs the output for the ReLU mask; the tensor gets the original.
    let kept = if T::OWNS_TAPE && layer.relu { out.clone() } else { Vec::new() };
    let y = dev.try_tensor_from_vec(out, out_shape)?;

    if T::OWNS_TAPE {
        let (xg, wg, bg, yg) = (x.ghost(), weight.ghost(), bias.ghost(), y.ghost());
        drop(x);
        tape.add_backward_op(move |grads| {
            // This op is the output's only producer and every consumer has run: take its gradient
            // instead of copying it (it is not read again).
            let mut gy: Vec<f32> = std::mem::take(&mut **grads.get_or_alloc_mut(&yg)?);
            let mut dx = vec![0.0; xs.len()];
            let mut dw = vec![0.0; ws.len()];
            let mut db = vec![0.0; out_c];
            layer::backward(
                &layer,
                batch,
                &xs,
                layer.relu.then_some(&kept[..]),
                &ws,
                &mut gy,
                Some(&mut dx),
                &mut dw,
                &mut db,
                &mut Vec::new(),
            )?;
            add(grads.get_or_alloc_mut(&xg)?, &dx);
            add(grads.get_or_alloc_mut(&wg)?, &dw);
            add(grads.get_or_alloc_mut(&bg)?, &db);
            Ok(())
        });
    }
    Ok(y.put_tape(tape))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::Padding;

    fn values(dev: &Cpu, n: usize, seed: u64) -> Vec<f32> {
        use rand::{Rng, SeedableRng};
        let _ = dev;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect()
    }

    /// Loss L = Σ y·v for a fixed random v, so dL/dy = v. Returns L and the gradients of x, w, b.
    fn loss_and_grads(
        dir: Direction,
        g: &Geometry,
        act: Activation,
        x: &[f32],
        w: &[f32],
        b: &[f32],
        v: &[f32],
    ) -> (f64, Vec<f32>, Vec<f32>, Vec<f32>) {
        let dev = Cpu::default();
        let xt = dev.tensor_from_vec(x.to_vec(), (x.len(),));
        let wt = dev.tensor_from_vec(w.to_vec(), (w.len(),));
        let bt = dev.tensor_from_vec(b.to_vec(), (b.len(),));
        let out_len = v.len();
        let y = match dir {
            Direction::Conv => conv2d(xt.leaky_trace(), &wt, &bt, *g, act, (out_len,)),
            Direction::Transpose => conv_transpose2d(xt.leaky_trace(), &wt, &bt, *g, act, (out_len,)),
        }
        .unwrap();
        let vt = dev.tensor_from_vec(v.to_vec(), (out_len,));
        let loss = (y * vt).sum();
        let l = loss.array() as f64;
        let grads = loss.backward();
        (l, grads.get(&xt).as_vec(), grads.get(&wt).as_vec(), grads.get(&bt).as_vec())
    }

    /// Pre-activation outputs of the op (no ReLU).
    fn outputs(dir: Direction, g: &Geometry, x: &[f32], w: &[f32], b: &[f32], n: usize) -> Vec<f32> {
        let dev = Cpu::default();
        let xt = dev.tensor_from_vec(x.to_vec(), (x.len(),));
        let wt = dev.tensor_from_vec(w.to_vec(), (w.len(),));
        let bt = dev.tensor_from_vec(b.to_vec(), (b.len(),));
        match dir {
            Direction::Conv => conv2d(xt, &wt, &bt, *g, Activation::Linear, (n,)),
            Direction::Transpose => conv_transpose2d(xt, &wt, &bt, *g, Activation::Linear, (n,)),
        }
        .unwrap()
        .as_vec()
    }

    /// Central finite differences in f64 over f32 evaluations: step 1e-2 keeps the rounding error
    /// (≈ 1e-7·|L|/h) well under the tolerance; the loss is piecewise linear, so away from ReLU
    /// kinks the difference quotient is exact up to rounding.
    fn check_fd(dir: Direction, g: Geometry, act: Activation) {
        let dev = Cpu::default();
        let (in_len, out_len, out_c) = match dir {
            Direction::Conv => (g.big_len(), g.small_len(), g.small_c),
            Direction::Transpose => (g.small_len(), g.big_len(), g.big_c),
        };
        let x = values(&dev, g.batch * in_len, 1);
        let w = values(&dev, g.weight_len(), 2);
        let b = values(&dev, out_c, 3);
        let v = values(&dev, g.batch * out_len, 4);
        let (_, gx, gw, gb) = loss_and_grads(dir, &g, act, &x, &w, &b, &v);
        let h = 1e-2f32;
        let mut checked = 0;
        for (which, base, analytic) in [(0, &x, &gx), (1, &w, &gw), (2, &b, &gb)] {
            // Every element of small tensors, a spread of them for larger ones.
            let step = (base.len() / 40).max(1);
            for i in (0..base.len()).step_by(step) {
                let eval = |delta: f32| {
                    let mut p = [x.clone(), w.clone(), b.clone()];
                    p[which][i] += delta;
                    loss_and_grads(dir, &g, act, &p[0], &p[1], &p[2], &v).0
                };
                let (lp, lm) = (eval(h), eval(-h));
                let numeric = (lp - lm) / (2.0 * h as f64);
                // Skip points where a ReLU switches inside the step: the loss has a kink there.
                if act == Activation::Relu {
                    let pre = |delta: f32| {
                        let mut p = [x.clone(), w.clone(), b.clone()];
                        p[which][i] += delta;
                        outputs(dir, &g, &p[0], &p[1], &p[2], out_len * g.batch)
                    };
                    let (a, b0, c) = (pre(-h), pre(0.0), pre(h));
                    if a.iter().zip(&b0).zip(&c).any(|((a, b), c)| (*a > 0.0) != (*b > 0.0) || (*b > 0.0) != (*c > 0.0))
                    {
                        continue;
                    }
                }
                let a = analytic[i] as f64;
                assert!(
                    (a - numeric).abs() <= 2e-3 * (1.0 + numeric.abs()),
                    "{dir:?} {act:?} tensor {which} index {i}: analytic {a} vs numeric {numeric}"
                );
                checked += 1;
            }
        }
        assert!(checked > 20, "only {checked} points checked");
    }

    #[test]
    fn conv_gradients_match_finite_differences() {
        for (s, p) in [
            (1, Padding::Same),
            (2, Padding::Valid),
            (3, Padding::Same),
            (2, Padding::Same),
            (1, Padding::Valid),
            (3, Padding::Valid),
        ] {
            for act in [Activation::Linear, Activation::Relu] {
                let g = Geometry::conv(2, 7, 6, 2, 3, 3, s, p).unwrap();
                check_fd(Direction::Conv, g, act);
                // One input channel: the single-channel im2col; one on both sides: direct loops.
                let g = Geometry::conv(2, 7, 6, 1, 3, 3, s, p).unwrap();
                check_fd(Direction::Conv, g, act);
                let g = Geometry::conv(2, 7, 6, 1, 1, 3, s, p).unwrap();
                check_fd(Direction::Conv, g, act);
            }
        }
    }

    #[test]
    fn conv_transpose_gradients_match_finite_differences() {
        for (s, p) in
            [(1, Padding::Same), (2, Padding::Same), (3, Padding::Same), (2, Padding::Valid), (1, Padding::Valid)]
        {
            for act in [Activation::Linear, Activation::Relu] {
                let g = Geometry::conv_transpose(2, 4, 5, 3, 2, 3, s, p).unwrap();
                check_fd(Direction::Transpose, g, act);
                // One output channel: the single-channel col2im; one on both sides: direct loops.
                let g = Geometry::conv_transpose(2, 4, 5, 3, 1, 3, s, p).unwrap();
                check_fd(Direction::Transpose, g, act);
                let g = Geometry::conv_transpose(2, 4, 5, 1, 1, 3, s, p).unwrap();
                check_fd(Direction::Transpose, g, act);
            }
        }
    }

    #[test]
    fn relu_and_bias_are_fused() {
        let dev = Cpu::default();
        let g = Geometry::conv(1, 3, 3, 1, 1, 3, 1, Padding::Valid).unwrap();
        let x = dev.tensor_from_vec(vec![1.0; 9], (9,));
        let w = dev.tensor_from_vec(vec![1.0; 9], (9,));
        let y = conv2d(x.clone(), &w, &dev.tensor([-10.0f32]), g, Activation::Relu, (1,)).unwrap();
        assert_eq!(y.as_vec(), [0.0]);
        let y = conv2d(x, &w, &dev.tensor([0.5f32]), g, Activation::Linear, (1,)).unwrap();
        assert_eq!(y.as_vec(), [9.5]);
    }

    #[test]
    fn wrong_sizes_are_errors() {
        let dev = Cpu::default();
        let g = Geometry::conv(1, 3, 3, 1, 1, 3, 1, Padding::Valid).unwrap();
        let x = dev.tensor_from_vec(vec![1.0; 10], (10,));
        let w = dev.tensor_from_vec(vec![1.0; 9], (9,));
        let b = dev.tensor([0.0f32]);
        assert!(conv2d(x, &w, &b, g, Activation::Linear, (1,)).is_err());
        let x = dev.tensor_from_vec(vec![1.0; 9], (9,));
        assert!(conv2d(x.clone(), &w, &b, g, Activation::Linear, (2,)).is_err());
        let w8 = dev.tensor_from_vec(vec![1.0; 8], (8,));
        assert!(conv2d(x, &w8, &b, g, Activation::Linear, (1,)).is_err());
    }
}
