//! Reconstruction losses as single dfdx operations: each computes the mean loss and its gradient
//! in one parallel pass over the logits, and the backward pass only scales and adds the stored
//! gradient. (dfdx's own `bce_with_logits(..).mean()` makes three passes and a gradient for the
//! targets, which never need one.)
//!
//! Sums run over fixed-size chunks in f64 and the chunk sums are added in order, so the loss does
//! not depend on the thread count.

use crate::error::NnError;
use crate::op::add_scaled;
use crate::scalar::{bce_with_logits, sigmoid};
use dfdx::prelude::*;
use rayon::prelude::*;

/// The reconstruction loss a run trains with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossKind {
    /// Keras' BinaryCrossentropy on a sigmoid output: from the logits, mean over all pixels.
    Bce,
    /// Mean squared error of the sigmoid output, over all pixels.
    Mse,
}

impl LossKind {
    /// The loss of `logits` against `targets`, mean over all values.
    pub fn mean<S: Shape, T: Tape<f32, Cpu>>(
        self,
        logits: Tensor<S, f32, Cpu, T>,
        targets: &[f32],
    ) -> Result<Tensor<Rank0, f32, Cpu, T>, NnError> {
        match self {
            LossKind::Bce => bce_with_logits_mean(logits, targets),
            LossKind::Mse => sigmoid_mse_mean(logits, targets),
        }
    }

    /// log p(x|z) of one pixel given its logit: Bernoulli for BCE (the standard surrogate for
    /// grey levels), a Gaussian of variance ½ around the sigmoid output for MSE (whose
    /// log-density is −(x − μ)² − ½ ln π, so that the summed squared error is its negative up to
    /// a constant).
    pub fn log_likelihood(self, logit: f32, target: f32) -> f64 {
        match self {
            LossKind::Bce => -(bce_with_logits(logit, target) as f64),
            LossKind::Mse => {
                let d = (sigmoid(logit) - target) as f64;
                -d * d - 0.5 * std::f64::consts::PI.ln()
            }
        }
    }
}

/// Elements per chunk of the parallel sums (a fixed size: see the module header).
const CHUNK: usize = 8192;

/// Keras' `BinaryCrossentropy` on a sigmoid output, from the logits (TensorFlow's
/// `sigmoid_cross_entropy_with_logits`: max(x, 0) − x·z + log(1 + e^−|x|)), mean over all values.
/// Its gradient is (σ(x) − z)/n.
pub fn bce_with_logits_mean<S: Shape, T: Tape<f32, Cpu>>(
    logits: Tensor<S, f32, Cpu, T>,
    targets: &[f32],
) -> Result<Tensor<Rank0, f32, Cpu, T>, NnError> {
    mean_loss(logits, targets, |x, z| {
        let loss = bce_with_logits(x, z);
        (loss, sigmoid(x) - z)
    })
}

/// Mean squared error of the sigmoid output: mean((σ(x) − z)²); gradient 2(σ − z)σ(1 − σ)/n.
pub fn sigmoid_mse_mean<S: Shape, T: Tape<f32, Cpu>>(
    logits: Tensor<S, f32, Cpu, T>,
    targets: &[f32],
) -> Result<Tensor<Rank0, f32, Cpu, T>, NnError> {
    mean_loss(logits, targets, |x, z| {
        let s = sigmoid(x);
        let d = s - z;
        (d * d, 2.0 * d * s * (1.0 - s))
    })
}

/// Mean squared error of the values themselves: mean((x − z)²); gradient 2(x − z)/n. A stacked
/// run's pre-training phases reconstruct hidden codes with it.
pub fn mse_mean<S: Shape, T: Tape<f32, Cpu>>(
    values: Tensor<S, f32, Cpu, T>,
    targets: &[f32],
) -> Result<Tensor<Rank0, f32, Cpu, T>, NnError> {
    mean_loss(values, targets, |x, z| {
        let d = x - z;
        (d * d, 2.0 * d)
    })
}

/// `f(logit, target)` gives (loss, d loss / d logit) per element; the op returns their mean.
fn mean_loss<S: Shape, T: Tape<f32, Cpu>>(
    logits: Tensor<S, f32, Cpu, T>,
    targets: &[f32],
    f: impl Fn(f32, f32) -> (f32, f32) + Sync,
) -> Result<Tensor<Rank0, f32, Cpu, T>, NnError> {
    let n = logits.shape().num_elements();
    if targets.len() != n || n == 0 {
        return Err(NnError::Shape(format!("loss of {n} logits against {} targets", targets.len())));
    }
    let dev = logits.device().clone();
    let (logits, mut tape) = logits.split_tape();
    let xs = logits.as_vec();
    let mut grad = if T::OWNS_TAPE { vec![0.0f32; n] } else { Vec::new() };
    let inv_n = 1.0 / n as f32;
    let sums: Vec<f64> = if T::OWNS_TAPE {
        xs.par_chunks(CHUNK)
            .zip(targets.par_chunks(CHUNK))
            .zip(grad.par_chunks_mut(CHUNK))
            .map(|((x, z), g)| {
                let mut sum = 0.0f64;
                for ((x, z), g) in x.iter().zip(z).zip(g.iter_mut()) {
                    let (l, d) = f(*x, *z);
                    sum += l as f64;
                    *g = d * inv_n;
                }
                sum
            })
            .collect()
    } else {
        xs.par_chunks(CHUNK)
            .zip(targets.par_chunks(CHUNK))
            .map(|(x, z)| x.iter().zip(z).map(|(x, z)| f(*x, *z).0 as f64).sum())
            .collect()
    };
    let mean = (sums.iter().sum::<f64>() / n as f64) as f32;
    let out = dev.try_tensor(mean)?;
    if T::OWNS_TAPE {
        let (lg, og) = (logits.ghost(), out.ghost());
        tape.add_backward_op(move |grads| {
            let scale = grads.get_or_alloc_mut(&og)?[0];
            add_scaled(grads.get_or_alloc_mut(&lg)?, &grad, scale);
            Ok(())
        });
    }
    Ok(out.put_tape(tape))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_and_gradients_match_dfdx_composition() {
        // Reference: dfdx's own ops, the definition these fused ops replace.
        let dev = Cpu::default();
        let xs: Vec<f32> = (0..300).map(|i| (i as f32 - 150.0) / 17.0).collect();
        let zs: Vec<f32> = (0..300).map(|i| ((i * 37) % 101) as f32 / 100.0).collect();
        let x = dev.tensor_from_vec(xs.clone(), (300,));
        let z = dev.tensor_from_vec(zs.clone(), (300,));

        let ours = bce_with_logits_mean(x.leaky_trace(), &zs).unwrap();
        let theirs = x.leaky_trace().bce_with_logits(z.clone()).mean();
        assert!((ours.array() - theirs.array()).abs() < 1e-6);
        let (g1, g2) = (ours.backward().get(&x).as_vec(), theirs.backward().get(&x).as_vec());
        assert!(g1.iter().zip(&g2).all(|(a, b)| (a - b).abs() < 1e-7), "BCE gradient");

        let ours = sigmoid_mse_mean(x.leaky_trace(), &zs).unwrap();
        let theirs = (x.leaky_trace().sigmoid() - z.clone()).square().mean();
        assert!((ours.array() - theirs.array()).abs() < 1e-6);
        let (g1, g2) = (ours.backward().get(&x).as_vec(), theirs.backward().get(&x).as_vec());
        assert!(g1.iter().zip(&g2).all(|(a, b)| (a - b).abs() < 1e-7), "MSE gradient");

        let ours = mse_mean(x.leaky_trace(), &zs).unwrap();
        let theirs = (x.leaky_trace() - z).square().mean();
        assert!((ours.array() - theirs.array()).abs() < 1e-5 * theirs.array());
        let (g1, g2) = (ours.backward().get(&x).as_vec(), theirs.backward().get(&x).as_vec());
        assert!(g1.iter().zip(&g2).all(|(a, b)| (a - b).abs() < 1e-6), "plain MSE gradient");
    }

    #[test]
    fn sizes_must_agree() {
        let dev = Cpu::default();
        let x = dev.tensor_from_vec(vec![0.0; 4], (4,));
        assert!(bce_with_logits_mean(x, &[0.0; 3]).is_err());
    }
}
