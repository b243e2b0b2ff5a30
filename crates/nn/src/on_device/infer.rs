//! Inference on plain slices, so that callers never handle dfdx types: evaluation sums,
//! reconstructions, codes and decoded images, in chunks of a fixed size, on the model's device
//! (the sums themselves are added on the host, in f64, by the same formulas for every device).
//!
//! A `stacked` run evaluates its model cut at the encoder depth pre-trained so far (`depth`, see
//! [`crate::model::DenseAutoEncoder::forward_depth`]); every other caller passes `None`.

use crate::error::NnError;
use crate::model::{Codes, CpuModel, Images, IMAGE_LEN};
use crate::on_device::{Backend, Model};
use crate::scalar::{bce_with_logits, sigmoid};
use dfdx::prelude::*;

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

impl CpuModel {
    /// The device the model's parameters live on.
    pub fn device(&self) -> Cpu {
        self.params().first().map_or_else(Cpu::default, |p| p.tensor.device().clone())
    }

    /// A batch of images as a tensor (whole 784-pixel images only).
    pub fn images(&self, values: &[f32]) -> Result<Images<NoneTape>, NnError> {
        if !values.len().is_multiple_of(IMAGE_LEN) {
            return Err(NnError::Shape(format!("{} values are not whole {IMAGE_LEN}-pixel images", values.len())));
        }
        Ok(self.device().try_tensor_from_vec(values.to_vec(), (values.len() / IMAGE_LEN, Const))?)
    }

    /// A batch of codes as a tensor (whole `latent`-value codes only).
    pub fn codes(&self, values: Vec<f32>) -> Result<Codes<NoneTape>, NnError> {
        let latent = self.latent_dim();
        if !values.len().is_multiple_of(latent) {
            return Err(NnError::Shape(format!("{} values are not whole {latent}-value codes", values.len())));
        }
        let n = values.len() / latent;
        Ok(self.device().try_tensor_from_vec(values, (n, latent))?)
    }

    /// Reconstruction logits of one chunk of images (a VAE's from the mean code), cut at encoder
    /// depth `depth` (a stacked run's pre-training) or whole.
    fn chunk_logits(&self, chunk: &[f32], depth: Option<usize>) -> Result<Vec<f32>, NnError> {
        let x = self.images(chunk)?;
        let logits = match (depth, self) {
            (Some(depth), CpuModel::Dense(m)) => m.forward_depth(x, depth)?,
            (Some(depth), CpuModel::Conv(_)) => {
                return Err(NnError::Config(format!("cannot cut the conv model at encoder depth {depth}")))
            }
            (None, _) => self.forward(x)?,
        };
        Ok(logits.as_vec())
    }
}

impl Model {
    /// Reconstruction logits of a set of images, chunk by chunk.
    fn logits(
        &self,
        inputs: &[f32],
        depth: Option<usize>,
        mut each: impl FnMut(usize, &[f32]) -> Result<(), NnError>,
    ) -> Result<(), NnError> {
        for (i, chunk) in inputs.chunks(EVAL_CHUNK * IMAGE_LEN).enumerate() {
            let logits = match (&self.backend, depth) {
                (Backend::Cpu(m), _) => m.chunk_logits(chunk, depth)?,
                (Backend::Device(d), None) => d.logits(chunk)?,
                (Backend::Device(_), Some(depth)) => {
                    return Err(NnError::Config(format!(
                        "the model cut at encoder depth {depth} (a stacked run's pre-training) runs on the CPU only"
                    )))
                }
            };
            each(i * EVAL_CHUNK * IMAGE_LEN, &logits)?;
        }
        Ok(())
    }

    /// BCE (from logits, as Keras) and MSE (of the sigmoid output) of `inputs`' reconstructions
    /// against `targets`, summed over every pixel.
    pub fn evaluate(&self, inputs: &[f32], targets: &[f32], depth: Option<usize>) -> Result<EvalSums, NnError> {
        if inputs.len() != targets.len() {
            return Err(NnError::Shape(format!("{} input values but {} target values", inputs.len(), targets.len())));
        }
        let mut sums = EvalSums::default();
        self.logits(inputs, depth, |offset, logits| {
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
    pub fn reconstruct(&self, inputs: &[f32], depth: Option<usize>) -> Result<Vec<f32>, NnError> {
        let mut out = Vec::with_capacity(inputs.len());
        self.logits(inputs, depth, |_, logits| {
            out.extend(logits.iter().map(|&x| sigmoid(x)));
            Ok(())
        })?;
        Ok(out)
    }

    /// Latent codes of a set of images, `[n, latent]` row-major (a VAE's: the means).
    pub fn encode_all(&self, inputs: &[f32]) -> Result<Vec<f32>, NnError> {
        let mut out = Vec::with_capacity(inputs.len() / IMAGE_LEN * self.latent_dim());
        for chunk in inputs.chunks(EVAL_CHUNK * IMAGE_LEN) {
            match &self.backend {
                Backend::Cpu(m) => out.extend(m.encode(m.images(chunk)?)?.as_vec()),
                Backend::Device(d) => out.extend(d.codes(chunk)?),
            }
        }
        Ok(out)
    }

    /// Images (after the sigmoid) decoded from codes `[n, latent]` row-major.
    pub fn decode_all(&self, codes: &[f32]) -> Result<Vec<f32>, NnError> {
        let latent = self.latent_dim();
        let mut out = Vec::with_capacity(codes.len() / latent.max(1) * IMAGE_LEN);
        for chunk in codes.chunks(EVAL_CHUNK * latent.max(1)) {
            let logits = match &self.backend {
                Backend::Cpu(m) => m.decode(m.codes(chunk.to_vec())?)?.as_vec(),
                Backend::Device(d) => d.decoded(chunk)?,
            };
            out.extend(logits.iter().map(|&x| sigmoid(x)));
        }
        Ok(out)
    }
}
