//! The tutorial's convolutional model: its layers, and the two convolution stacks that run them as
//! single ops (see [`crate::op::stack`]).

use crate::error::NnError;
use crate::kernel::layer::LayerShape;
use crate::kernel::{Geometry, Padding};
use crate::model::dense::DenseLayer;
use crate::model::param::Param;
use crate::model::{Codes, Head, Images, IMAGE_LEN};
use crate::op::stack::ConvStack;
use crate::op::Activation;
use dfdx::prelude::*;
use rand_chacha::ChaCha8Rng;

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
            crate::op::conv::conv_transpose2d(x, &self.kernel.tensor, bias, self.geometry, activation, out_shape)
        } else {
            crate::op::conv::conv2d(x, &self.kernel.tensor, bias, self.geometry, activation, out_shape)
        }
    }

    /// Output `(h, w, c)` of one sample.
    pub(crate) fn output(&self) -> (usize, usize, usize) {
        let g = &self.geometry;
        if self.transpose {
            (g.big_h, g.big_w, g.big_c)
        } else {
            (g.small_h, g.small_w, g.small_c)
        }
    }

    pub(crate) fn params(&self) -> [&Param; 2] {
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

    pub(crate) fn layers(&self) -> Vec<LayerRef<'_>> {
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

    pub(crate) fn params_mut(&mut self) -> Vec<&mut Param> {
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

/// A layer of a model as the summary and the parameter lists walk them.
pub(crate) enum LayerRef<'a> {
    Conv(&'a ConvLayer),
    Dense(&'a DenseLayer),
    Flatten(usize),
    Reshape(usize, usize, usize),
}

impl<'a> LayerRef<'a> {
    pub(crate) fn params(&self) -> Vec<&'a Param> {
        match self {
            LayerRef::Conv(c) => c.params().to_vec(),
            LayerRef::Dense(d) => d.params().to_vec(),
            _ => Vec::new(),
        }
    }
}
