//! The dense model: fully connected layers, each one fused dfdx op (see [`crate::op::dense`]).

use crate::error::NnError;
use crate::model::param::Param;
use crate::model::{Codes, Head, Images, IMAGE_LEN};
use crate::op::Activation;
use dfdx::prelude::*;
use rand_chacha::ChaCha8Rng;

/// A fully connected layer: `y = act(x·W + b)`, W in Keras' `(in, out)` layout.
#[derive(Debug, Clone)]
pub struct DenseLayer {
    pub kernel: Param,
    pub bias: Param,
    pub inputs: usize,
    pub outputs: usize,
    pub activation: Activation,
}

impl DenseLayer {
    pub(crate) fn new(
        dev: &Cpu,
        name: &str,
        inputs: usize,
        outputs: usize,
        activation: Activation,
        rng: &mut ChaCha8Rng,
    ) -> Self {
        Self {
            kernel: Param::glorot(dev, format!("{name}.kernel"), &[inputs, outputs], rng),
            bias: Param::zeros(dev, format!("{name}.bias"), &[outputs]),
            inputs,
            outputs,
            activation,
        }
    }

    /// `[batch, in] → [batch, out]`, one fused op (see [`crate::op::dense`]).
    pub(crate) fn forward<I: Dim, O: Dim, T: Tape<f32, Cpu>>(
        &self,
        x: Tensor<(usize, I), f32, Cpu, T>,
        out: O,
    ) -> Result<Tensor<(usize, O), f32, Cpu, T>, NnError> {
        let (batch, inp) = *x.shape();
        if inp.size() != self.inputs || out.size() != self.outputs {
            return Err(NnError::Shape(format!(
                "{}: [{}×{}] layer applied as [{}×{}]",
                self.kernel.name,
                self.inputs,
                self.outputs,
                inp.size(),
                out.size()
            )));
        }
        let shape = (self.inputs, self.outputs);
        crate::op::dense::linear(x, &self.kernel.tensor, &self.bias.tensor, shape, self.activation, (batch, out))
    }

    pub(crate) fn params(&self) -> [&Param; 2] {
        [&self.kernel, &self.bias]
    }

    pub(crate) fn params_mut(&mut self) -> [&mut Param; 2] {
        [&mut self.kernel, &mut self.bias]
    }
}

/// A fully connected auto-encoder: 784 → hidden… → latent → …hidden → 784, ReLU between layers,
/// a linear code, logits out.
#[derive(Debug, Clone)]
pub struct DenseAutoEncoder {
    pub latent_dim: usize,
    pub hidden: Vec<usize>,
    pub head: Head,
    pub encoder: Vec<DenseLayer>,
    pub decoder: Vec<DenseLayer>,
}

impl DenseAutoEncoder {
    pub fn new(
        dev: &Cpu,
        latent_dim: usize,
        hidden: &[usize],
        head: Head,
        rng: &mut ChaCha8Rng,
    ) -> Result<Self, NnError> {
        if latent_dim == 0 || hidden.contains(&0) {
            return Err(NnError::Config(format!(
                "layer widths must be at least 1: latent {latent_dim}, hidden {hidden:?}"
            )));
        }
        let mut widths = vec![IMAGE_LEN];
        widths.extend(hidden);
        widths.push(head.width(latent_dim));
        let mut encoder = Vec::new();
        for (i, w) in widths.windows(2).enumerate() {
            let last = i + 2 == widths.len();
            let name = if last { "encoder.code".to_string() } else { format!("encoder.dense{}", i + 1) };
            encoder.push(DenseLayer::new(
                dev,
                &name,
                w[0],
                w[1],
                if last { head.activation() } else { Activation::Relu },
                rng,
            ));
        }
        // The decoder starts from the code, whatever the encoder's head puts out.
        if let Some(last) = widths.last_mut() {
            *last = latent_dim;
        }
        widths.reverse();
        let mut decoder = Vec::new();
        for (i, w) in widths.windows(2).enumerate() {
            let last = i + 2 == widths.len();
            let name = if last { "decoder.output".to_string() } else { format!("decoder.dense{}", i + 1) };
            decoder.push(DenseLayer::new(
                dev,
                &name,
                w[0],
                w[1],
                if last { Activation::Linear } else { Activation::Relu },
                rng,
            ));
        }
        Ok(Self { latent_dim, hidden: hidden.to_vec(), head, encoder, decoder })
    }

    /// The encoder's output: `[b, latent]`, or `[b, 2·latent]` for a Gaussian head.
    pub fn encode_stats<T: Tape<f32, Cpu>>(&self, x: Images<T>) -> Result<Codes<T>, NnError> {
        self.encode_layers(x, self.encoder.len())
    }

    /// The first `depth` encoder layers: `[b, 784] → [b, width of layer depth]`.
    pub fn encode_layers<T: Tape<f32, Cpu>>(&self, x: Images<T>, depth: usize) -> Result<Codes<T>, NnError> {
        let (b, _) = *x.shape();
        let mut h: Codes<T> = x.try_reshape_like(&(b, IMAGE_LEN))?; // [b, 784]
        for layer in self.encoder.iter().take(depth) {
            h = layer.forward(h, layer.outputs)?; // [b, width]
        }
        Ok(h)
    }

    /// The decoder layer that mirrors encoder layer `layer` (0-based): it maps that layer's output
    /// back to its input.
    pub fn mirror(&self, layer: usize) -> usize {
        self.encoder.len() - 1 - layer
    }

    /// The model cut at encoder depth `depth` (1 ≤ depth ≤ layers): the first `depth` encoder
    /// layers, then their mirrors, `[b, 784] → [b, 784]` logits. What a `stacked` run has trained
    /// after its `depth`-th pre-training phase.
    pub fn forward_depth<T: Tape<f32, Cpu>>(&self, x: Images<T>, depth: usize) -> Result<Images<T>, NnError> {
        if depth == 0 || depth > self.encoder.len() {
            return Err(NnError::Config(format!("depth {depth} of a {}-layer encoder", self.encoder.len())));
        }
        let mut h = self.encode_layers(x, depth)?; // [b, width of layer depth]
        for layer in &self.decoder[self.mirror(depth - 1)..] {
            h = layer.forward(h, layer.outputs)?; // [b, width]
        }
        let b = h.shape().0;
        Ok(h.try_reshape_like(&(b, Const::<IMAGE_LEN>))?) // [b, 784] logits
    }

    pub fn decode<T: Tape<f32, Cpu>>(&self, z: Codes<T>) -> Result<Images<T>, NnError> {
        let mut h = z; // [b, latent]
        for layer in &self.decoder {
            h = layer.forward(h, layer.outputs)?; // [b, width]
        }
        let b = h.shape().0;
        Ok(h.try_reshape_like(&(b, Const::<IMAGE_LEN>))?) // [b, 784] logits
    }
}
