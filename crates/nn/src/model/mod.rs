//! The auto-encoders: the TensorFlow tutorial's convolutional model and a dense one.
//!
//! Inputs are flat 28×28 images, `[batch, 784]` in [0, 1]; decoders return logits (the sigmoid is
//! applied by the loss, as Keras does, or by inference in [`crate::on_device`]). The latent size
//! is a run-time value; every other dimension of the conv model is a compile-time shape. The
//! layers of each architecture are in `conv` and `dense`.

pub mod conv;
pub mod dense;
pub mod param;
pub mod summary;

pub use conv::{ConvAutoEncoder, ConvLayer};
pub use dense::{DenseAutoEncoder, DenseLayer};
pub use param::Param;
pub use summary::SummaryRow;

use crate::error::NnError;
use crate::op::Activation;
use conv::LayerRef;
use dfdx::prelude::*;
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
    /// The VAE's q(z|x): `2·latent` outputs, the mean then the log-variance (see [`crate::kind::vae`]);
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

    pub(crate) fn activation(self) -> Activation {
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

/// Either model on the CPU with the fast kernels, dispatched by match (generic methods keep this
/// from being a trait object). The CPU half of [`crate::on_device::Model`], and what the kinds' objectives train.
// One per trainer: boxing the conv model would save nothing worth an indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum CpuModel {
    Conv(ConvAutoEncoder),
    Dense(DenseAutoEncoder),
}

impl CpuModel {
    /// Builds a model with Keras' initialisation (glorot-uniform kernels, zero biases), drawing
    /// the kernels from `rng` in parameter order (the caller owns the random streams).
    pub fn new(dev: &Cpu, spec: &ModelSpec, rng: &mut ChaCha8Rng) -> Result<Self, NnError> {
        Ok(match spec.architecture {
            Architecture::Conv => CpuModel::Conv(ConvAutoEncoder::new(dev, spec.latent_dim, spec.head, rng)?),
            Architecture::Dense => {
                CpuModel::Dense(DenseAutoEncoder::new(dev, spec.latent_dim, &spec.hidden, spec.head, rng)?)
            }
        })
    }

    pub fn spec(&self) -> ModelSpec {
        match self {
            CpuModel::Conv(m) => ModelSpec {
                architecture: Architecture::Conv,
                latent_dim: m.latent_dim,
                hidden: Vec::new(),
                head: m.head,
            },
            CpuModel::Dense(m) => ModelSpec {
                architecture: Architecture::Dense,
                latent_dim: m.latent_dim,
                hidden: m.hidden.clone(),
                head: m.head,
            },
        }
    }

    pub fn latent_dim(&self) -> usize {
        match self {
            CpuModel::Conv(m) => m.latent_dim,
            CpuModel::Dense(m) => m.latent_dim,
        }
    }

    pub fn head(&self) -> Head {
        match self {
            CpuModel::Conv(m) => m.head,
            CpuModel::Dense(m) => m.head,
        }
    }

    /// The encoder's output: the code `[b, latent]`, or for a Gaussian head the mean and the
    /// log-variance `[b, 2·latent]`.
    pub fn encode_stats<T: Tape<f32, Cpu>>(&self, x: Images<T>) -> Result<Codes<T>, NnError> {
        match self {
            CpuModel::Conv(m) => m.encode_stats(x),
            CpuModel::Dense(m) => m.encode_stats(x),
        }
    }

    /// The code of each image, `[b, latent]`: for a Gaussian head the mean of q(z|x).
    pub fn encode<T: Tape<f32, Cpu>>(&self, x: Images<T>) -> Result<Codes<T>, NnError> {
        let stats = self.encode_stats(x)?;
        match self.head() {
            Head::Gaussian => crate::op::slice::columns(stats, 0, self.latent_dim()),
            Head::Linear | Head::Sigmoid => Ok(stats),
        }
    }

    /// Codes → reconstruction logits.
    pub fn decode<T: Tape<f32, Cpu>>(&self, z: Codes<T>) -> Result<Images<T>, NnError> {
        match self {
            CpuModel::Conv(m) => m.decode(z),
            CpuModel::Dense(m) => m.decode(z),
        }
    }

    /// Images → reconstruction logits.
    pub fn forward<T: Tape<f32, Cpu>>(&self, x: Images<T>) -> Result<Images<T>, NnError> {
        self.decode(self.encode(x)?)
    }

    /// Parameters in a fixed order (checkpoints and optimizer state follow it).
    pub fn params(&self) -> Vec<&Param> {
        match self {
            CpuModel::Conv(m) => m.layers().into_iter().flat_map(|l| l.params()).collect(),
            CpuModel::Dense(m) => m.encoder.iter().chain(&m.decoder).flat_map(|l| l.params()).collect(),
        }
    }

    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        match self {
            CpuModel::Conv(m) => m.params_mut(),
            CpuModel::Dense(m) => m.encoder.iter_mut().chain(&mut m.decoder).flat_map(|l| l.params_mut()).collect(),
        }
    }

    /// Multiply-adds of one sample's forward pass. A training step costs about three times the
    /// forward pass (forward, input gradient, weight gradient): 6 FLOP per multiply-add.
    pub fn forward_macs_per_sample(&self) -> usize {
        let dense = |d: &DenseLayer| d.inputs * d.outputs;
        let conv = |c: &ConvLayer| c.geometry.small_h * c.geometry.small_w * c.geometry.weight_len();
        match self {
            CpuModel::Conv(m) => {
                [&m.conv1, &m.conv2, &m.deconv1, &m.deconv2, &m.deconv3, &m.deconv4]
                    .into_iter()
                    .map(conv)
                    .sum::<usize>()
                    + dense(&m.encoder_dense)
                    + dense(&m.decoder_dense)
            }
            CpuModel::Dense(m) => m.encoder.iter().chain(&m.decoder).map(dense).sum(),
        }
    }

    pub fn num_params(&self) -> usize {
        self.params().iter().map(|p| p.len()).sum()
    }

    /// Rows of a Keras-`summary()`-like table.
    pub fn summary(&self) -> Vec<SummaryRow> {
        let layers: Vec<LayerRef<'_>> = match self {
            CpuModel::Conv(m) => m.layers(),
            CpuModel::Dense(m) => m.encoder.iter().chain(&m.decoder).map(LayerRef::Dense).collect(),
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

/// A parameter's name, Keras-layout shape and values, on the host (whatever device holds it).
#[derive(Debug, Clone, PartialEq)]
pub struct ParamValues {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    use rand::SeedableRng;

    fn rng() -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(0)
    }

    fn conv(latent: usize) -> CpuModel {
        CpuModel::new(&Cpu::default(), &ModelSpec::plain(Architecture::Conv, latent, vec![]), &mut rng()).unwrap()
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
        let m = CpuModel::new(&dev, &ModelSpec::plain(Architecture::Dense, 16, vec![64, 32]), &mut rng()).unwrap();
        let names: Vec<_> = m.params().iter().map(|p| p.name.clone()).collect();
        assert_eq!(names[0], "encoder.dense1.kernel");
        assert!(
            names.contains(&"encoder.code.kernel".to_string()) && names.contains(&"decoder.output.bias".to_string())
        );
        // 784·64+64 + 64·32+32 + 32·16+16 + 16·32+32 + 32·64+64 + 64·784+784
        assert_eq!(m.num_params(), 50240 + 2080 + 528 + 544 + 2112 + 50960);
        let x: Images<NoneTape> = dev.zeros_like(&(2, Const));
        assert_eq!(m.forward(x).unwrap().shape().0, 2);
        let shallow = CpuModel::new(&dev, &ModelSpec::plain(Architecture::Dense, 8, vec![]), &mut rng()).unwrap();
        assert_eq!(shallow.num_params(), 784 * 8 + 8 + 8 * 784 + 784);
    }

    #[test]
    fn a_gaussian_head_puts_out_mean_and_log_variance_and_codes_are_the_mean() {
        let dev = Cpu::default();
        for architecture in [Architecture::Conv, Architecture::Dense] {
            let spec = ModelSpec { architecture, latent_dim: 3, hidden: vec![8], head: Head::Gaussian };
            let m = CpuModel::new(&dev, &spec, &mut rng()).unwrap();
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
        let m = CpuModel::new(&dev, &spec, &mut rng()).unwrap();
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
