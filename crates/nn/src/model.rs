//! The auto-encoders: the TensorFlow tutorial's convolutional model and a dense one.
//!
//! Inputs are flat 28×28 images, `[batch, 784]` in [0, 1]; decoders return logits (the sigmoid is
//! applied by the loss, as Keras does, or by [`crate::Trainer::reconstruct`]). The latent size is
//! a run-time value; every other dimension of the conv model is a compile-time shape.

use crate::error::NnError;
use crate::kernels::{Geometry, Padding};
use crate::layer::LayerShape;
use crate::ops::Activation;
use crate::param::Param;
use crate::stack::ConvStack;
use dfdx::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub const IMAGE_SIDE: usize = 28;
pub const IMAGE_LEN: usize = IMAGE_SIDE * IMAGE_SIDE;

/// Which model to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    Conv,
    Dense,
}

/// What the encoder's last layer puts out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Head {
    /// A linear code (the tutorial).
    #[default]
    Linear,
    /// A code in (0, 1): sparse codes with a target activation, Rifai's contractive encoder.
    Sigmoid,
    /// The VAE's q(z|x): `2·latent` outputs, the mean then the log-variance (see [`crate::vae`]);
    /// the code of an image is the mean.
    Gaussian,
}

impl Head {
    /// The name in checkpoint metadata.
    pub fn name(self) -> &'static str {
        match self {
            Self::Linear => "linear",
            Self::Sigmoid => "sigmoid",
            Self::Gaussian => "gaussian",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Linear, Self::Sigmoid, Self::Gaussian].into_iter().find(|h| h.name() == s)
    }

    /// Outputs of the encoder's last layer for a latent size.
    pub fn width(self, latent_dim: usize) -> usize {
        if self == Self::Gaussian {
            2 * latent_dim
        } else {
            latent_dim
        }
    }

    fn activation(self) -> Activation {
        if self == Self::Sigmoid {
            Activation::Sigmoid
        } else {
            Activation::Linear
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    pub architecture: Architecture,
    pub latent_dim: usize,
    /// Dense only: encoder hidden widths (the decoder mirrors them).
    pub hidden: Vec<usize>,
    pub head: Head,
}

impl ModelSpec {
    /// A model with a linear code (the tutorial's kind).
    pub fn plain(architecture: Architecture, latent_dim: usize, hidden: Vec<usize>) -> Self {
        Self { architecture, latent_dim, hidden, head: Head::Linear }
    }
}

/// A batch of flat images, or of reconstruction logits.
pub type Images<T> = Tensor<(usize, Const<IMAGE_LEN>), f32, Cpu, T>;
/// A batch of latent codes.
pub type Codes<T> = Tensor<(usize, usize), f32, Cpu, T>;

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
    fn new(dev: &Cpu, name: &str, inputs: usize, outputs: usize, activation: Activation, rng: &mut ChaCha8Rng) -> Self {
        Self {
            kernel: Param::glorot(dev, format!("{name}.kernel"), &[inputs, outputs], rng),
            bias: Param::zeros(dev, format!("{name}.bias"), &[outputs]),
            inputs,
            outputs,
            activation,
        }
    }

    /// `[batch, in] → [batch, out]`, one fused op (see [`crate::dense`]).
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
        crate::dense::linear(x, &self.kernel.tensor, &self.bias.tensor, shape, self.activation, (batch, out))
    }

    fn params(&self) -> [&Param; 2] {
        [&self.kernel, &self.bias]
    }

    pub(crate) fn params_mut(&mut self) -> [&mut Param; 2] {
        [&mut self.kernel, &mut self.bias]
    }
}

/// A convolution or transposed convolution with its parameters and geometry.
#[derive(Debug, Clone)]
pub struct ConvLayer {
    pub kernel: Param,
    pub bias: Param,
    pub geometry: Geometry,
    pub activation: Activation,
    pub transpose: bool,
}

impl ConvLayer {
    #[allow(clippy::too_many_arguments)]
    fn new(
        dev: &Cpu,
        name: &str,
        transpose: bool,
        (h, w, c_in): (usize, usize, usize),
        c_out: usize,
        kernel: usize,
        stride: usize,
        padding: Padding,
        activation: Activation,
        rng: &mut ChaCha8Rng,
    ) -> Result<Self, NnError> {
        let geometry = if transpose {
            Geometry::conv_transpose(0, h, w, c_in, c_out, kernel, stride, padding)?
        } else {
            Geometry::conv(0, h, w, c_in, c_out, kernel, stride, padding)?
        };
        // Keras layouts: Conv2D (kh, kw, in, out); Conv2DTranspose (kh, kw, out, in).
        let shape = if transpose { [kernel, kernel, c_out, c_in] } else { [kernel, kernel, c_in, c_out] };
        Ok(Self {
            kernel: Param::glorot(dev, format!("{name}.kernel"), &shape, rng),
            bias: Param::zeros(dev, format!("{name}.bias"), &[c_out]),
            geometry,
            activation,
            transpose,
        })
    }

    pub fn shape(&self) -> LayerShape {
        LayerShape { geometry: self.geometry, transpose: self.transpose, relu: self.activation == Activation::Relu }
    }

    fn pair(&self) -> (&Param, &Param) {
        (&self.kernel, &self.bias)
    }

    /// The layer alone as a dfdx op (the stacks hide their intermediate activations; the
    /// contractive penalty's tangent pass needs them).
    pub(crate) fn forward<I: Shape, O: Shape, T: Tape<f32, Cpu>>(
        &self,
        x: Tensor<I, f32, Cpu, T>,
        out_shape: O,
    ) -> Result<Tensor<O, f32, Cpu, T>, NnError> {
        self.apply(x, &self.bias.tensor, self.activation, out_shape)
    }

    /// The layer with another bias and activation: the tangent pass runs the kernel alone.
    pub(crate) fn apply<I: Shape, O: Shape, B: Shape, T: Tape<f32, Cpu>>(
        &self,
        x: Tensor<I, f32, Cpu, T>,
        bias: &Tensor<B, f32, Cpu>,
        activation: Activation,
        out_shape: O,
    ) -> Result<Tensor<O, f32, Cpu, T>, NnError> {
        if self.transpose {
            crate::ops::conv_transpose2d(x, &self.kernel.tensor, bias, self.geometry, activation, out_shape)
        } else {
            crate::ops::conv2d(x, &self.kernel.tensor, bias, self.geometry, activation, out_shape)
        }
    }

    /// Output `(h, w, c)` of one sample.
    fn output(&self) -> (usize, usize, usize) {
        let g = &self.geometry;
        if self.transpose {
            (g.big_h, g.big_w, g.big_c)
        } else {
            (g.small_h, g.small_w, g.small_c)
        }
    }

    fn params(&self) -> [&Param; 2] {
        [&self.kernel, &self.bias]
    }

    fn params_mut(&mut self) -> [&mut Param; 2] {
        [&mut self.kernel, &mut self.bias]
    }
}

/// The tutorial's model. Encoder: Conv(32,k3,s2,valid,relu) → Conv(32,k3,s2,valid,relu) →
/// Flatten → Dense(latent). Decoder: Dense(7·7·32,relu) → Reshape → ConvT(64,k3,s2,same,relu) →
/// ConvT(32,k3,s2,same,relu) → ConvT(1,k3,s1,same) → ConvT(1,k3,s1,same,sigmoid).
#[derive(Debug, Clone)]
pub struct ConvAutoEncoder {
    pub latent_dim: usize,
    pub head: Head,
    pub conv1: ConvLayer,
    pub conv2: ConvLayer,
    pub encoder_dense: DenseLayer,
    pub decoder_dense: DenseLayer,
    pub deconv1: ConvLayer,
    pub deconv2: ConvLayer,
    pub deconv3: ConvLayer,
    pub deconv4: ConvLayer,
    /// conv1 → conv2 as one op (the data batch needs no gradient).
    encoder_stack: ConvStack,
    /// deconv1 → … → deconv4 as one op.
    decoder_stack: ConvStack,
}

impl ConvAutoEncoder {
    pub fn new(dev: &Cpu, latent_dim: usize, head: Head, rng: &mut ChaCha8Rng) -> Result<Self, NnError> {
        use Activation::{Linear, Relu};
        use Padding::{Same, Valid};
        if latent_dim == 0 {
            return Err(NnError::Config("latent_dim must be at least 1".into()));
        }
        let conv1 = ConvLayer::new(dev, "encoder.conv1", false, (28, 28, 1), 32, 3, 2, Valid, Relu, rng)?;
        let conv2 = ConvLayer::new(dev, "encoder.conv2", false, (13, 13, 32), 32, 3, 2, Valid, Relu, rng)?;
        let code = head.width(latent_dim);
        let encoder_dense = DenseLayer::new(dev, "encoder.dense", 6 * 6 * 32, code, head.activation(), rng);
        let decoder_dense = DenseLayer::new(dev, "decoder.dense", latent_dim, 7 * 7 * 32, Relu, rng);
        let deconv1 = ConvLayer::new(dev, "decoder.deconv1", true, (7, 7, 32), 64, 3, 2, Same, Relu, rng)?;
        let deconv2 = ConvLayer::new(dev, "decoder.deconv2", true, (14, 14, 64), 32, 3, 2, Same, Relu, rng)?;
        let deconv3 = ConvLayer::new(dev, "decoder.deconv3", true, (28, 28, 32), 1, 3, 1, Same, Linear, rng)?;
        let deconv4 = ConvLayer::new(dev, "decoder.deconv4", true, (28, 28, 1), 1, 3, 1, Same, Linear, rng)?;
        let encoder_stack = ConvStack::new(vec![conv1.shape(), conv2.shape()], false)?;
        let decoder_stack =
            ConvStack::new(vec![deconv1.shape(), deconv2.shape(), deconv3.shape(), deconv4.shape()], true)?;
        Ok(Self {
            latent_dim,
            head,
            conv1,
            conv2,
            encoder_dense,
            decoder_dense,
            deconv1,
            deconv2,
            deconv3,
            deconv4,
            encoder_stack,
            decoder_stack,
        })
    }

    /// The encoder's output: `[b, latent]`, or `[b, 2·latent]` for a Gaussian head.
    pub fn encode_stats<T: Tape<f32, Cpu>>(&self, x: Images<T>) -> Result<Codes<T>, NnError> {
        let b = x.shape().0;
        // [b, 28, 28, 1] → conv1 → [b, 13, 13, 32] → conv2 → [b, 6, 6, 32], flattened in NHWC order
        // as Keras' Flatten does: [b, 1152].
        let params = [self.conv1.pair(), self.conv2.pair()];
        let h = self.encoder_stack.forward(x, &params, (b, Const::<1152>))?;
        self.encoder_dense.forward(h, self.encoder_dense.outputs) // [b, latent] or [b, 2·latent]
    }

    pub fn decode<T: Tape<f32, Cpu>>(&self, z: Codes<T>) -> Result<Images<T>, NnError> {
        let b = z.shape().0;
        let h = self.decoder_dense.forward(z, Const::<1568>)?; // [b, 1568], read as [b, 7, 7, 32] (NHWC)
                                                               // → deconv1 → [b, 14, 14, 64] → deconv2 → [b, 28, 28, 32] → deconv3 → [b, 28, 28, 1]
                                                               // → deconv4 → [b, 28, 28, 1] logits, flat: [b, 784].
        let params = [self.deconv1.pair(), self.deconv2.pair(), self.deconv3.pair(), self.deconv4.pair()];
        self.decoder_stack.forward(h, &params, (b, Const::<IMAGE_LEN>))
    }

    fn layers(&self) -> Vec<LayerRef<'_>> {
        vec![
            LayerRef::Conv(&self.conv1),
            LayerRef::Conv(&self.conv2),
            LayerRef::Flatten(1152),
            LayerRef::Dense(&self.encoder_dense),
            LayerRef::Dense(&self.decoder_dense),
            LayerRef::Reshape(7, 7, 32),
            LayerRef::Conv(&self.deconv1),
            LayerRef::Conv(&self.deconv2),
            LayerRef::Conv(&self.deconv3),
            LayerRef::Conv(&self.deconv4),
        ]
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        let mut v = Vec::new();
        v.extend(self.conv1.params_mut());
        v.extend(self.conv2.params_mut());
        v.extend(self.encoder_dense.params_mut());
        v.extend(self.decoder_dense.params_mut());
        v.extend(self.deconv1.params_mut());
        v.extend(self.deconv2.params_mut());
        v.extend(self.deconv3.params_mut());
        v.extend(self.deconv4.params_mut());
        v
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

/// Either model, dispatched by match (generic methods keep this from being a trait object).
// One per trainer: boxing the conv model would save nothing worth an indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Model {
    Conv(ConvAutoEncoder),
    Dense(DenseAutoEncoder),
}

impl Model {
    /// Builds a model with Keras' initialisation (glorot-uniform kernels, zero biases) from a seed.
    pub fn new(dev: &Cpu, spec: &ModelSpec, seed: u64) -> Result<Self, NnError> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Ok(match spec.architecture {
            Architecture::Conv => Model::Conv(ConvAutoEncoder::new(dev, spec.latent_dim, spec.head, &mut rng)?),
            Architecture::Dense => {
                Model::Dense(DenseAutoEncoder::new(dev, spec.latent_dim, &spec.hidden, spec.head, &mut rng)?)
            }
        })
    }

    pub fn spec(&self) -> ModelSpec {
        match self {
            Model::Conv(m) => ModelSpec {
                architecture: Architecture::Conv,
                latent_dim: m.latent_dim,
                hidden: Vec::new(),
                head: m.head,
            },
            Model::Dense(m) => ModelSpec {
                architecture: Architecture::Dense,
                latent_dim: m.latent_dim,
                hidden: m.hidden.clone(),
                head: m.head,
            },
        }
    }

    pub fn latent_dim(&self) -> usize {
        match self {
            Model::Conv(m) => m.latent_dim,
            Model::Dense(m) => m.latent_dim,
        }
    }

    pub fn head(&self) -> Head {
        match self {
            Model::Conv(m) => m.head,
            Model::Dense(m) => m.head,
        }
    }

    /// The encoder's output: the code `[b, latent]`, or for a Gaussian head the mean and the
    /// log-variance `[b, 2·latent]`.
    pub fn encode_stats<T: Tape<f32, Cpu>>(&self, x: Images<T>) -> Result<Codes<T>, NnError> {
        match self {
            Model::Conv(m) => m.encode_stats(x),
            Model::Dense(m) => m.encode_stats(x),
        }
    }

    /// The code of each image, `[b, latent]`: for a Gaussian head the mean of q(z|x).
    pub fn encode<T: Tape<f32, Cpu>>(&self, x: Images<T>) -> Result<Codes<T>, NnError> {
        let stats = self.encode_stats(x)?;
        match self.head() {
            Head::Gaussian => crate::vae::columns(stats, 0, self.latent_dim()),
            Head::Linear | Head::Sigmoid => Ok(stats),
        }
    }

    /// Codes → reconstruction logits.
    pub fn decode<T: Tape<f32, Cpu>>(&self, z: Codes<T>) -> Result<Images<T>, NnError> {
        match self {
            Model::Conv(m) => m.decode(z),
            Model::Dense(m) => m.decode(z),
        }
    }

    /// Images → reconstruction logits.
    pub fn forward<T: Tape<f32, Cpu>>(&self, x: Images<T>) -> Result<Images<T>, NnError> {
        self.decode(self.encode(x)?)
    }

    /// Parameters in a fixed order (checkpoints and optimizer state follow it).
    pub fn params(&self) -> Vec<&Param> {
        match self {
            Model::Conv(m) => m.layers().into_iter().flat_map(|l| l.params()).collect(),
            Model::Dense(m) => m.encoder.iter().chain(&m.decoder).flat_map(|l| l.params()).collect(),
        }
    }

    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        match self {
            Model::Conv(m) => m.params_mut(),
            Model::Dense(m) => m.encoder.iter_mut().chain(&mut m.decoder).flat_map(|l| l.params_mut()).collect(),
        }
    }

    /// Multiply-adds of one sample's forward pass. A training step costs about three times the
    /// forward pass (forward, input gradient, weight gradient): 6 FLOP per multiply-add.
    pub fn forward_macs_per_sample(&self) -> usize {
        let dense = |d: &DenseLayer| d.inputs * d.outputs;
        let conv = |c: &ConvLayer| c.geometry.small_h * c.geometry.small_w * c.geometry.weight_len();
        match self {
            Model::Conv(m) => {
                [&m.conv1, &m.conv2, &m.deconv1, &m.deconv2, &m.deconv3, &m.deconv4]
                    .into_iter()
                    .map(conv)
                    .sum::<usize>()
                    + dense(&m.encoder_dense)
                    + dense(&m.decoder_dense)
            }
            Model::Dense(m) => m.encoder.iter().chain(&m.decoder).map(dense).sum(),
        }
    }

    pub fn num_params(&self) -> usize {
        self.params().iter().map(|p| p.len()).sum()
    }

    /// Rows of a Keras-`summary()`-like table.
    pub fn summary(&self) -> Vec<SummaryRow> {
        let layers: Vec<LayerRef<'_>> = match self {
            Model::Conv(m) => m.layers(),
            Model::Dense(m) => m.encoder.iter().chain(&m.decoder).map(LayerRef::Dense).collect(),
        };
        let mut rows = vec![SummaryRow {
            layer: "input".into(),
            kind: "Input".into(),
            output: "(None, 28, 28, 1)".into(),
            params: 0,
        }];
        for l in layers {
            rows.push(l.summary());
        }
        rows
    }
}

/// One line of [`Model::summary`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    pub layer: String,
    pub kind: String,
    pub output: String,
    pub params: usize,
}

enum LayerRef<'a> {
    Conv(&'a ConvLayer),
    Dense(&'a DenseLayer),
    Flatten(usize),
    Reshape(usize, usize, usize),
}

impl<'a> LayerRef<'a> {
    fn params(&self) -> Vec<&'a Param> {
        match self {
            LayerRef::Conv(c) => c.params().to_vec(),
            LayerRef::Dense(d) => d.params().to_vec(),
            _ => Vec::new(),
        }
    }

    fn summary(&self) -> SummaryRow {
        let layer_name = |p: &Param| p.name.trim_end_matches(".kernel").to_string();
        match self {
            LayerRef::Conv(c) => {
                let (h, w, ch) = c.output();
                let act = if c.activation == Activation::Relu { ", relu" } else { "" };
                let kind = if c.transpose { "Conv2DTranspose" } else { "Conv2D" };
                SummaryRow {
                    layer: layer_name(&c.kernel),
                    kind: format!("{kind} (k{}, s{}{act})", c.geometry.kernel, c.geometry.stride),
                    output: format!("(None, {h}, {w}, {ch})"),
                    params: c.kernel.len() + c.bias.len(),
                }
            }
            LayerRef::Dense(d) => SummaryRow {
                layer: layer_name(&d.kernel),
                kind: match d.activation {
                    Activation::Relu => "Dense (relu)".into(),
                    Activation::Sigmoid => "Dense (sigmoid)".into(),
                    Activation::Linear => "Dense".into(),
                },
                output: format!("(None, {})", d.outputs),
                params: d.kernel.len() + d.bias.len(),
            },
            LayerRef::Flatten(n) => SummaryRow {
                layer: "encoder.flatten".into(),
                kind: "Flatten".into(),
                output: format!("(None, {n})"),
                params: 0,
            },
            LayerRef::Reshape(h, w, c) => SummaryRow {
                layer: "decoder.reshape".into(),
                kind: "Reshape".into(),
                output: format!("(None, {h}, {w}, {c})"),
                params: 0,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(latent: usize) -> Model {
        Model::new(&Cpu::default(), &ModelSpec::plain(Architecture::Conv, latent, vec![]), 0).unwrap()
    }

    #[test]
    fn tutorial_model_has_320495_parameters_at_latent_100() {
        assert_eq!(conv(100).num_params(), 320_495);
        let rows = conv(100).summary();
        assert_eq!(rows.iter().map(|r| r.params).sum::<usize>(), 320_495);
        assert_eq!(rows.last().unwrap().output, "(None, 28, 28, 1)");
        // conv1 169·9·32 + conv2 36·288·32 + 1152·100 + 100·1568 + deconv1 49·576·32
        // + deconv2 196·288·64 + deconv3 784·9·32 + deconv4 784·9·1
        assert_eq!(conv(100).forward_macs_per_sample(), 5_401_136);
    }

    #[test]
    fn any_latent_size_runs() {
        let dev = Cpu::default();
        for latent in [1, 2, 7, 128] {
            let m = conv(latent);
            let x: Images<NoneTape> = dev.zeros_like(&(3, Const));
            let z = m.encode(x).unwrap();
            assert_eq!(z.shape(), &(3, latent));
            assert_eq!(m.decode(z).unwrap().shape().0, 3);
        }
    }

    #[test]
    fn dense_model_mirrors_its_hidden_layers() {
        let dev = Cpu::default();
        let m = Model::new(&dev, &ModelSpec::plain(Architecture::Dense, 16, vec![64, 32]), 0).unwrap();
        let names: Vec<_> = m.params().iter().map(|p| p.name.clone()).collect();
        assert_eq!(names[0], "encoder.dense1.kernel");
        assert!(
            names.contains(&"encoder.code.kernel".to_string()) && names.contains(&"decoder.output.bias".to_string())
        );
        // 784·64+64 + 64·32+32 + 32·16+16 + 16·32+32 + 32·64+64 + 64·784+784
        assert_eq!(m.num_params(), 50240 + 2080 + 528 + 544 + 2112 + 50960);
        let x: Images<NoneTape> = dev.zeros_like(&(2, Const));
        assert_eq!(m.forward(x).unwrap().shape().0, 2);
        let shallow = Model::new(&dev, &ModelSpec::plain(Architecture::Dense, 8, vec![]), 0).unwrap();
        assert_eq!(shallow.num_params(), 784 * 8 + 8 + 8 * 784 + 784);
    }

    #[test]
    fn a_gaussian_head_puts_out_mean_and_log_variance_and_codes_are_the_mean() {
        let dev = Cpu::default();
        for architecture in [Architecture::Conv, Architecture::Dense] {
            let spec = ModelSpec { architecture, latent_dim: 3, hidden: vec![8], head: Head::Gaussian };
            let m = Model::new(&dev, &spec, 0).unwrap();
            let x: Images<NoneTape> =
                dev.tensor_from_vec((0..2 * IMAGE_LEN).map(|i| (i % 7) as f32 / 7.0).collect(), (2, Const));
            let stats = m.encode_stats(x.clone()).unwrap();
            assert_eq!(stats.shape(), &(2, 6), "{architecture:?}");
            let mu: Vec<f32> = stats.as_vec().chunks(6).flat_map(|r| r[..3].to_vec()).collect();
            assert_eq!(m.encode(x.clone()).unwrap().as_vec(), mu, "{architecture:?}");
            // The decoder reads the code, not the encoder's output.
            assert_eq!(m.forward(x).unwrap().shape().0, 2);
            assert_eq!(m.latent_dim(), 3);
        }
        let spec = ModelSpec { architecture: Architecture::Dense, latent_dim: 4, hidden: vec![], head: Head::Sigmoid };
        let m = Model::new(&dev, &spec, 0).unwrap();
        assert_eq!(m.summary()[1].kind, "Dense (sigmoid)");
        let x: Images<NoneTape> = dev.tensor_from_vec(vec![1.0; IMAGE_LEN], (1, Const));
        assert!(m.encode(x).unwrap().as_vec().iter().all(|&h| h > 0.0 && h < 1.0));
    }

    #[test]
    fn same_seed_same_weights() {
        let a: Vec<f32> = conv(10).params().iter().flat_map(|p| p.tensor.as_vec()).collect();
        let b: Vec<f32> = conv(10).params().iter().flat_map(|p| p.tensor.as_vec()).collect();
        assert_eq!(a, b);
    }
}
