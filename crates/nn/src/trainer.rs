//! Training and evaluation of a model on batches given as plain slices, so that callers never
//! handle dfdx types: one step (forward, loss, backward, update), gradients alone, evaluation
//! sums, reconstructions and codes.

use crate::error::NnError;
use crate::model::{Images, Model, IMAGE_LEN};
use crate::optim::{Optimizer, OptimizerKind};
use dfdx::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossKind {
    /// Keras' BinaryCrossentropy on a sigmoid output: from the logits, mean over all pixels.
    Bce,
    /// Mean squared error of the sigmoid output, over all pixels.
    Mse,
}

/// Evaluation is done in chunks of this many images: a fixed size, so that the sums (and the
/// metrics) do not depend on the training batch size or the thread count.
pub const EVAL_CHUNK: usize = 500;

/// Per-pixel sums over an evaluated set, in f64.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EvalSums {
    pub bce: f64,
    pub mse: f64,
    pub pixels: u64,
}

impl EvalSums {
    pub fn bce_mean(&self) -> f64 {
        self.bce / self.pixels.max(1) as f64
    }
    pub fn mse_mean(&self) -> f64 {
        self.mse / self.pixels.max(1) as f64
    }
    /// Peak signal-to-noise ratio in dB for images in [0, 1].
    pub fn psnr(&self) -> f64 {
        -10.0 * self.mse_mean().log10()
    }
}

pub struct Trainer {
    pub dev: Cpu,
    pub model: Model,
    pub loss: LossKind,
    optimizer: Optimizer,
}

impl Trainer {
    pub fn new(dev: Cpu, model: Model, loss: LossKind, optimizer: OptimizerKind) -> Self {
        // dfdx's allocation cache: the tape's tensors and gradients have the same sizes every
        // step, so their buffers are reused instead of faulted in fresh each time.
        dev.enable_cache();
        Self { dev, model, loss, optimizer: Optimizer::new(optimizer) }
    }

    fn batch(&self, values: &[f32]) -> Result<Images<NoneTape>, NnError> {
        if values.len() % IMAGE_LEN != 0 {
            return Err(NnError::Shape(format!("{} values are not whole {IMAGE_LEN}-pixel images", values.len())));
        }
        Ok(self.dev.try_tensor_from_vec(values.to_vec(), (values.len() / IMAGE_LEN, Const))?)
    }

    /// Forward and backward pass of one batch: the mean loss and the gradients in the tape.
    fn loss_and_grads(&self, inputs: &[f32], targets: &[f32]) -> Result<(f32, Gradients<f32, Cpu>), NnError> {
        if inputs.len() != targets.len() {
            return Err(NnError::Shape(format!("{} input values but {} target values", inputs.len(), targets.len())));
        }
        let x = self.batch(inputs)?;
        let logits = self.model.forward(x.leaky_traced())?; // [b, 784]
        let loss = match self.loss {
            LossKind::Bce => crate::loss::bce_with_logits_mean(logits, targets)?,
            LossKind::Mse => crate::loss::sigmoid_mse_mean(logits, targets)?,
        };
        let value = loss.array();
        Ok((value, loss.try_backward()?))
    }

    /// The loss of a batch and its gradient for every parameter, in [`Model::params`] order.
    pub fn gradients(&self, inputs: &[f32], targets: &[f32]) -> Result<(f32, Vec<Vec<f32>>), NnError> {
        let (loss, mut grads) = self.loss_and_grads(inputs, targets)?;
        let mut out = Vec::new();
        for p in self.model.params() {
            out.push(grads.get_or_alloc_mut(&p.tensor)?.to_vec());
        }
        Ok((loss, out))
    }

    /// One optimisation step on a batch; returns the batch's mean loss before the update.
    pub fn step(&mut self, inputs: &[f32], targets: &[f32]) -> Result<f32, NnError> {
        let (loss, mut grads) = self.loss_and_grads(inputs, targets)?;
        self.optimizer.update(self.model.params_mut(), &mut grads)?;
        Ok(loss)
    }

    /// Reconstruction logits of a set of images, in chunks of [`EVAL_CHUNK`].
    fn logits(
        &self,
        inputs: &[f32],
        mut each: impl FnMut(usize, &[f32]) -> Result<(), NnError>,
    ) -> Result<(), NnError> {
        for (i, chunk) in inputs.chunks(EVAL_CHUNK * IMAGE_LEN).enumerate() {
            let logits = self.model.forward(self.batch(chunk)?)?.as_vec();
            each(i * EVAL_CHUNK * IMAGE_LEN, &logits)?;
        }
        Ok(())
    }

    /// BCE (from logits, as Keras) and MSE (of the sigmoid output) summed over every pixel.
    pub fn evaluate(&self, inputs: &[f32], targets: &[f32]) -> Result<EvalSums, NnError> {
        if inputs.len() != targets.len() {
            return Err(NnError::Shape(format!("{} input values but {} target values", inputs.len(), targets.len())));
        }
        let mut sums = EvalSums::default();
        self.logits(inputs, |offset, logits| {
            for (&x, &z) in logits.iter().zip(&targets[offset..]) {
                sums.bce += bce_with_logits(x, z) as f64;
                let d = sigmoid(x) - z;
                sums.mse += (d * d) as f64;
            }
            sums.pixels += logits.len() as u64;
            Ok(())
        })?;
        Ok(sums)
    }

    /// Reconstructions (after the sigmoid) of a set of images.
    pub fn reconstruct(&self, inputs: &[f32]) -> Result<Vec<f32>, NnError> {
        let mut out = Vec::with_capacity(inputs.len());
        self.logits(inputs, |_, logits| {
            out.extend(logits.iter().map(|&x| sigmoid(x)));
            Ok(())
        })?;
        Ok(out)
    }

    /// Latent codes of a set of images, `[n, latent]` row-major.
    pub fn encode(&self, inputs: &[f32]) -> Result<Vec<f32>, NnError> {
        let mut out = Vec::new();
        for chunk in inputs.chunks(EVAL_CHUNK * IMAGE_LEN) {
            out.extend(self.model.encode(self.batch(chunk)?)?.as_vec());
        }
        Ok(out)
    }

    pub fn optimizer_steps(&self) -> u64 {
        self.optimizer.steps()
    }
}

/// TensorFlow's `sigmoid_cross_entropy_with_logits`: max(x, 0) − x·z + log(1 + e^−|x|).
pub fn bce_with_logits(x: f32, z: f32) -> f32 {
    x.max(0.0) - x * z + (-x.abs()).exp().ln_1p()
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Architecture, ModelSpec};

    fn trainer(arch: Architecture, loss: LossKind) -> Trainer {
        let dev = Cpu::default();
        let spec = ModelSpec { architecture: arch, latent_dim: 8, hidden: vec![32] };
        Trainer::new(dev.clone(), Model::new(&dev, &spec, 1).unwrap(), loss, OptimizerKind::adam(1e-3))
    }

    fn images(n: usize) -> Vec<f32> {
        (0..n * IMAGE_LEN).map(|i| ((i * 7919) % 97) as f32 / 96.0).collect()
    }

    #[test]
    fn training_lowers_the_loss() {
        for arch in [Architecture::Conv, Architecture::Dense] {
            for loss in [LossKind::Bce, LossKind::Mse] {
                let mut t = trainer(arch, loss);
                let x = images(4);
                let first = t.step(&x, &x).unwrap();
                let mut last = first;
                for _ in 0..10 {
                    last = t.step(&x, &x).unwrap();
                }
                assert!(last < first, "{arch:?} {loss:?}: {first} → {last}");
            }
        }
    }

    #[test]
    fn evaluation_matches_the_training_loss_definition() {
        // The step's BCE (dfdx, mean over pixels) and the evaluation's (per-pixel formula, f64
        // sum) are the same quantity.
        let t = trainer(Architecture::Conv, LossKind::Bce);
        let x = images(4);
        let (loss, _) = t.gradients(&x, &x).unwrap();
        let sums = t.evaluate(&x, &x).unwrap();
        assert!((sums.bce_mean() - loss as f64).abs() < 1e-5, "{} vs {loss}", sums.bce_mean());
        assert_eq!(sums.pixels, 4 * 784);
        let recon = t.reconstruct(&x).unwrap();
        let mse: f64 = recon.iter().zip(&x).map(|(a, b)| ((a - b) * (a - b)) as f64).sum::<f64>() / recon.len() as f64;
        assert!((mse - sums.mse_mean()).abs() < 1e-9);
        assert!((sums.psnr() - (-10.0 * mse.log10())).abs() < 1e-6);
        assert_eq!(t.encode(&x).unwrap().len(), 4 * 8);
    }

    #[test]
    fn bce_formula_is_stable_for_large_logits() {
        assert!((bce_with_logits(100.0, 1.0)).abs() < 1e-6);
        assert!((bce_with_logits(-100.0, 1.0) - 100.0).abs() < 1e-3);
        assert!((bce_with_logits(0.0, 0.5) - std::f32::consts::LN_2).abs() < 1e-6);
    }

    #[test]
    fn bad_batches_are_errors() {
        let mut t = trainer(Architecture::Dense, LossKind::Bce);
        assert!(t.step(&[0.0; 100], &[0.0; 100]).is_err());
        assert!(t.step(&images(1), &images(2)).is_err());
    }
}
