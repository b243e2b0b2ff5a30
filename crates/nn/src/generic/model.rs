//! Either architecture on any dfdx device, from the generic ops: the layers of a
//! [`CpuModel`] with their weights uploaded (so a run starts from the same weights on every
//! device), run as a plain list — the encoder's layers, then the decoder's. Activations are
//! `[batch, values]` tensors in NHWC order per sample, so Keras' Flatten and Reshape between the
//! conv and dense layers are no-ops.
//!
//! The heads it trains are the deterministic ones (linear, sigmoid); the VAE's Gaussian head and
//! the kinds' penalties are the CPU path's ([`crate::kind`]).

use crate::error::NnError;
use crate::generic::conv::{Direction, GatherConv};
use crate::generic::dense::dense;
use crate::generic::optim::{Flat, GenericOptimizer};
use crate::generic::{loss, DeviceResult};
use crate::model::{ConvLayer, CpuModel, DenseLayer, Head, ModelSpec, SummaryRow, IMAGE_LEN};
use crate::op::loss::LossKind;
use crate::op::Activation;
use dfdx::prelude::*;

/// A batch on the device: `[batch, values per sample]`.
pub type Batch<D, T> = Tensor<(usize, usize), f32, D, T>;

/// A trainable parameter on a device: its checkpoint name, Keras-layout shape and flat tensor.
#[derive(Debug, Clone)]
pub struct DeviceParam<D: Storage<f32>> {
    pub name: String,
    pub shape: Vec<usize>,
    pub tensor: Flat<D>,
}

impl<D: Device<f32>> DeviceParam<D> {
    fn upload(dev: &D, p: &crate::model::Param) -> Result<Self, NnError> {
        let n = p.len();
        Ok(Self {
            name: p.name.clone(),
            shape: p.shape.clone(),
            tensor: dev.try_tensor_from_vec(p.tensor.as_vec(), (n,)).dev()?,
        })
    }
}

/// What a layer computes besides its kernel and bias.
#[derive(Debug, Clone)]
enum LayerOp<D: Device<f32>> {
    // Boxed: the gather indices' tensors make it 25× the size of the other variant.
    Conv { op: Box<GatherConv<D>>, relu: bool },
    Dense { outputs: usize, activation: Activation },
}

#[derive(Debug, Clone)]
struct Layer<D: Device<f32>> {
    kernel: DeviceParam<D>,
    bias: DeviceParam<D>,
    op: LayerOp<D>,
}

impl<D: Device<f32>> Layer<D> {
    fn conv(dev: &D, c: &ConvLayer) -> Result<Self, NnError> {
        let direction = if c.transpose { Direction::Transpose } else { Direction::Conv };
        if c.activation == Activation::Sigmoid {
            return Err(NnError::Config(format!("{}: a convolution takes a linear or ReLU activation", c.kernel.name)));
        }
        Ok(Self {
            kernel: DeviceParam::upload(dev, &c.kernel)?,
            bias: DeviceParam::upload(dev, &c.bias)?,
            op: LayerOp::Conv {
                op: Box::new(GatherConv::new(dev, c.geometry, direction)?),
                relu: c.activation == Activation::Relu,
            },
        })
    }

    fn dense(dev: &D, d: &DenseLayer) -> Result<Self, NnError> {
        Ok(Self {
            kernel: DeviceParam::upload(dev, &d.kernel)?,
            bias: DeviceParam::upload(dev, &d.bias)?,
            op: LayerOp::Dense { outputs: d.outputs, activation: d.activation },
        })
    }

    fn forward<T: Tape<f32, D>>(&self, x: Batch<D, T>) -> Result<Batch<D, T>, NnError> {
        match &self.op {
            LayerOp::Conv { op, relu } => op.forward(x, &self.kernel.tensor, &self.bias.tensor, *relu),
            LayerOp::Dense { outputs, activation } => {
                dense(x, &self.kernel.tensor, &self.bias.tensor, *outputs, *activation)
            }
        }
    }
}

/// A model on device `D` (see the module header).
#[derive(Debug, Clone)]
pub struct GenericModel<D: Device<f32>> {
    dev: D,
    spec: ModelSpec,
    encoder: Vec<Layer<D>>,
    decoder: Vec<Layer<D>>,
    /// The CPU model's description, which the layers do not keep.
    summary: Vec<SummaryRow>,
    macs: usize,
}

impl<D: Device<f32>> GenericModel<D> {
    /// The layers and weights of `model`, on `dev`.
    pub fn from_cpu(dev: &D, model: &CpuModel) -> Result<Self, NnError> {
        if model.head() == Head::Gaussian {
            return Err(NnError::Config(
                "a VAE's Gaussian head runs on the CPU device only (the device-generic path has no reparameterised \
                 sample)"
                    .into(),
            ));
        }
        let (encoder, decoder) = match model {
            CpuModel::Conv(m) => (
                vec![Layer::conv(dev, &m.conv1)?, Layer::conv(dev, &m.conv2)?, Layer::dense(dev, &m.encoder_dense)?],
                vec![
                    Layer::dense(dev, &m.decoder_dense)?,
                    Layer::conv(dev, &m.deconv1)?,
                    Layer::conv(dev, &m.deconv2)?,
                    Layer::conv(dev, &m.deconv3)?,
                    Layer::conv(dev, &m.deconv4)?,
                ],
            ),
            CpuModel::Dense(m) => (
                m.encoder.iter().map(|l| Layer::dense(dev, l)).collect::<Result<_, _>>()?,
                m.decoder.iter().map(|l| Layer::dense(dev, l)).collect::<Result<_, _>>()?,
            ),
        };
        let out = Self {
            dev: dev.clone(),
            spec: model.spec(),
            encoder,
            decoder,
            summary: model.summary(),
            macs: model.forward_macs_per_sample(),
        };
        // The parameter order is the CPU model's: checkpoints and optimizer state follow it.
        if !out.params().iter().map(|p| &p.name).eq(model.params().iter().map(|p| &p.name)) {
            return Err(NnError::Config("the device model's parameters are not in the CPU model's order".into()));
        }
        Ok(out)
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    pub fn summary(&self) -> Vec<SummaryRow> {
        self.summary.clone()
    }

    pub fn forward_macs_per_sample(&self) -> usize {
        self.macs
    }

    /// Parameters in the CPU model's order (each layer's kernel, then its bias).
    pub fn params(&self) -> Vec<&DeviceParam<D>> {
        self.encoder.iter().chain(&self.decoder).flat_map(|l| [&l.kernel, &l.bias]).collect()
    }

    pub fn params_mut(&mut self) -> Vec<&mut DeviceParam<D>> {
        self.encoder.iter_mut().chain(&mut self.decoder).flat_map(|l| [&mut l.kernel, &mut l.bias]).collect()
    }

    /// Replaces parameter `index`'s values in place (its tensor id stays).
    pub fn set(&mut self, index: usize, values: &[f32]) -> Result<(), NnError> {
        let mut params = self.params_mut();
        let p = params.get_mut(index).ok_or_else(|| NnError::Shape(format!("no parameter #{index}")))?;
        if values.len() != p.tensor.shape().0 {
            return Err(NnError::Shape(format!(
                "{}: {} values given, {} expected",
                p.name,
                values.len(),
                p.tensor.shape().0
            )));
        }
        p.tensor.copy_from(values);
        Ok(())
    }

    /// `[batch, width]` values from the host.
    pub fn batch(&self, values: &[f32], width: usize) -> Result<Batch<D, NoneTape>, NnError> {
        if width == 0 || !values.len().is_multiple_of(width) {
            return Err(NnError::Shape(format!("{} values are not whole rows of {width}", values.len())));
        }
        self.dev.try_tensor_from_vec(values.to_vec(), (values.len() / width, width)).dev()
    }

    /// `[batch, 784]` images → the encoder's output, `[batch, latent]`.
    pub fn encode<T: Tape<f32, D>>(&self, x: Batch<D, T>) -> Result<Batch<D, T>, NnError> {
        self.encoder.iter().try_fold(x, |h, l| l.forward(h)) // [b, width] after each layer
    }

    /// `[batch, latent]` codes → `[batch, 784]` logits.
    pub fn decode<T: Tape<f32, D>>(&self, z: Batch<D, T>) -> Result<Batch<D, T>, NnError> {
        self.decoder.iter().try_fold(z, |h, l| l.forward(h)) // [b, width] after each layer
    }

    /// `[batch, 784]` images → `[batch, 784]` reconstruction logits.
    pub fn forward<T: Tape<f32, D>>(&self, x: Batch<D, T>) -> Result<Batch<D, T>, NnError> {
        self.decode(self.encode(x)?)
    }

    /// Reconstruction logits of images given on the host, back on the host.
    pub fn logits(&self, images: &[f32]) -> Result<Vec<f32>, NnError> {
        Ok(self.forward(self.batch(images, IMAGE_LEN)?)?.as_vec())
    }

    /// Codes of images given on the host, back on the host.
    pub fn codes(&self, images: &[f32]) -> Result<Vec<f32>, NnError> {
        Ok(self.encode(self.batch(images, IMAGE_LEN)?)?.as_vec())
    }

    /// Logits decoded from codes given on the host, back on the host.
    pub fn decoded(&self, codes: &[f32]) -> Result<Vec<f32>, NnError> {
        Ok(self.decode(self.batch(codes, self.spec.latent_dim)?)?.as_vec())
    }

    /// The mean reconstruction loss of a batch and the gradients of every parameter. The inputs
    /// carry the tape (dfdx records an op only if one of its inputs does), so the first layer's
    /// input gradient is computed too: dfdx cannot skip it.
    pub fn loss_and_grads(
        &self,
        inputs: &[f32],
        targets: &[f32],
        loss: LossKind,
    ) -> Result<(f32, Gradients<f32, D>), NnError> {
        if inputs.len() != targets.len() {
            return Err(NnError::Shape(format!("{} input values but {} target values", inputs.len(), targets.len())));
        }
        let x = self.batch(inputs, IMAGE_LEN)?; // [b, 784]
        let z = self.batch(targets, IMAGE_LEN)?; // [b, 784]
        let logits = self.forward(x.leaky_traced())?; // [b, 784]
        let l = loss::mean(loss, logits, &z)?;
        let value = l.as_vec().first().copied().unwrap_or(f32::NAN);
        Ok((value, l.try_backward().dev()?))
    }

    /// The loss of a batch and each parameter's gradient on the host, in [`Self::params`] order.
    pub fn gradients(&self, inputs: &[f32], targets: &[f32], loss: LossKind) -> Result<(f32, Vec<Vec<f32>>), NnError> {
        let (value, mut grads) = self.loss_and_grads(inputs, targets, loss)?;
        let mut out = Vec::new();
        for p in self.params() {
            grads.try_alloc_for(&p.tensor).dev()?;
            out.push(grads.get(&p.tensor).as_vec());
        }
        Ok((value, out))
    }

    /// One optimisation step; returns the loss before the update.
    pub fn step(
        &mut self,
        optimizer: &mut GenericOptimizer<D>,
        inputs: &[f32],
        targets: &[f32],
        loss: LossKind,
    ) -> Result<f32, NnError> {
        let (value, mut grads) = self.loss_and_grads(inputs, targets, loss)?;
        let mut params: Vec<&mut Flat<D>> = self.params_mut().into_iter().map(|p| &mut p.tensor).collect();
        optimizer.update(&mut params, &mut grads)?;
        Ok(value)
    }

    pub fn device(&self) -> &D {
        &self.dev
    }
}
