//! The resolved configuration of one run: every key has its final value, every value is in range.
//!
//! This is what training sees, what `config.toml` in a run folder holds, and what a run id is
//! computed from. Nothing here knows about sweep files, variants or the command line.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Defaults follow the TensorFlow tutorial this project reproduces.
pub const DEFAULT_LATENT_DIM: usize = 100;
pub const DEFAULT_EPOCHS: usize = 10;
pub const DEFAULT_BATCH_SIZE: usize = 1000;
pub const DEFAULT_LEARNING_RATE: f64 = 1e-4;
pub const DEFAULT_SGD_MOMENTUM: f64 = 0.9;
pub const DEFAULT_DENSE_HIDDEN: [usize; 2] = [512, 256];

/// `sparse`: the L1 activity weight of the Keras blog's sparse auto-encoder (`10e-5` on a 32-unit
/// code), on a loss that, like this project's, is a mean over pixels.
pub const DEFAULT_SPARSITY_L1: f64 = 1e-4;
/// `sparse` with `sparsity_target`: the KL weight. UFLDL's sparse auto-encoder uses β = 3 on a
/// squared error summed over an image's pixels; this project's loss is a mean over the 784
/// pixels, so the same balance is about 3/784.
pub const DEFAULT_SPARSITY_KL: f64 = 4e-3;
/// `contractive`: λ. Rifai et al. weigh a per-image cross-entropy; about 0.1 of it per image is
/// 1e-4 on a per-pixel mean.
pub const DEFAULT_CONTRACTION: f64 = 1e-4;
pub const DEFAULT_PRETRAIN_EPOCHS: usize = 1;
pub const DEFAULT_BETA: f64 = 1.0;
/// Importance samples per image of the VAE's test log-likelihood (pythae's reproduction tables).
pub const DEFAULT_NLL_SAMPLES: usize = 200;
/// Test images the VAE's log-likelihood is estimated on: 200 decoder passes per image make all
/// 10,000 of Fashion-MNIST cost minutes for the conv model.
pub const DEFAULT_NLL_IMAGES: usize = 1000;

/// Largest Gaussian noise standard deviation accepted: images live in [0, 1], so anything
/// larger only measures the clipping.
pub const MAX_GAUSSIAN_LEVEL: f64 = 5.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub data: DataConfig,
    pub model: ModelConfig,
    pub train: TrainConfig,
    /// Present for a denoising auto-encoder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<NoiseConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    pub dataset: DatasetName,
    /// Use only the first N training samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_limit: Option<usize>,
    /// Use only the first N test samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_limit: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub architecture: Architecture,
    pub latent_dim: usize,
    /// Hidden layer widths of the dense architecture, encoder side (the decoder mirrors them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<Vec<usize>>,
    /// Which auto-encoder. Left out of `config.toml` (and so of the run id) for `plain`, and each
    /// kind's keys below are set only for that kind, so that plain runs keep the ids they had
    /// before kinds existed.
    #[serde(default, skip_serializing_if = "ModelKind::is_plain")]
    pub kind: ModelKind,
    /// `sparse`: the penalty's weight (L1 of the code, or with `sparsity_target` the KL term).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sparsity: Option<f64>,
    /// `sparse`: ρ in (0, 1); present = a sigmoid code and the KL sparsity penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sparsity_target: Option<f64>,
    /// `contractive`: λ of λ‖J_f(x)‖²_F.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contraction: Option<f64>,
    /// `stacked`: epochs of each layer's greedy pre-training.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretrain_epochs: Option<usize>,
    /// `vae`: the KL term's weight in the training loss (β-VAE; 1 is the ELBO).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    /// `vae`: importance samples per image of the test log-likelihood.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nll_samples: Option<usize>,
    /// `vae`: test images (the first N) the log-likelihood is estimated on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nll_images: Option<usize>,
}

impl ModelConfig {
    /// A plain model of an architecture and latent size (every other key at its default).
    pub fn plain(architecture: Architecture, latent_dim: usize, hidden: Option<Vec<usize>>) -> Self {
        Self {
            architecture,
            latent_dim,
            hidden,
            kind: ModelKind::Plain,
            sparsity: None,
            sparsity_target: None,
            contraction: None,
            pretrain_epochs: None,
            beta: None,
            nll_samples: None,
            nll_images: None,
        }
    }

    /// The hidden widths a dense model is built with (the default when none were given).
    pub fn dense_hidden(&self) -> Vec<usize> {
        self.hidden.clone().unwrap_or_else(|| DEFAULT_DENSE_HIDDEN.to_vec())
    }

    /// How many greedy pre-training phases a run has: one per encoder layer of a `stacked` dense
    /// model (each hidden layer and the code layer), none otherwise.
    pub fn pretrain_phases(&self) -> usize {
        match (self.kind, self.architecture) {
            (ModelKind::Stacked, Architecture::Dense) => self.dense_hidden().len() + 1,
            _ => 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub optimizer: Optimizer,
    /// SGD only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub momentum: Option<f64>,
    pub loss: Loss,
    pub seed: u64,
    /// The linear probe of the codes (see the `probe` crate): on unless switched off. Left out of
    /// `config.toml` (and so of the run id) at its default, so that ids of runs recorded before
    /// the probe existed stay the same.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub probe: bool,
    /// Probe after every `probe_every`-th epoch too; 0: only after the last epoch.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub probe_every: usize,
}

impl TrainConfig {
    /// Whether the codes are probed after `epoch` (1-based): the last epoch, and every
    /// `probe_every`-th.
    pub fn probes_after(&self, epoch: usize) -> bool {
        self.probe && (epoch == self.epochs || (self.probe_every > 0 && epoch.is_multiple_of(self.probe_every)))
    }
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseConfig {
    pub kind: NoiseKind,
    pub level: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    Conv,
    Dense,
}

/// The kind of auto-encoder: what is trained besides the reconstruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Reconstruction alone (the tutorial).
    #[default]
    Plain,
    /// An activity penalty on the code: L1, or KL towards a target mean activation.
    Sparse,
    /// λ‖J_f(x)‖²_F, the squared Frobenius norm of the encoder's Jacobian (Rifai et al. 2011).
    Contractive,
    /// Greedy layer-wise pre-training of the dense model's layers, then fine-tuning.
    Stacked,
    /// The variational auto-encoder (Kingma & Welling): a Gaussian code, loss = reconstruction
    /// summed per image + β·KL.
    Vae,
}

impl ModelKind {
    pub const ALL: [ModelKind; 5] = [Self::Plain, Self::Sparse, Self::Contractive, Self::Stacked, Self::Vae];

    pub fn is_plain(&self) -> bool {
        *self == Self::Plain
    }

    /// The `model.*` keys only this kind takes.
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            Self::Plain => &[],
            Self::Sparse => &["sparsity", "sparsity_target"],
            Self::Contractive => &["contraction"],
            Self::Stacked => &["pretrain_epochs"],
            Self::Vae => &["beta", "nll_samples", "nll_images"],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    Adam,
    Sgd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Loss {
    Bce,
    Mse,
}

/// How training inputs are corrupted in a denoising run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseKind {
    /// Add N(0, level²) to every pixel, clip to [0, 1].
    Gaussian,
    /// Zero each pixel with probability `level` (dropout on the input).
    Masking,
    /// Set each pixel to 0 or 1 (equally likely) with probability `level`.
    SaltPepper,
}

/// A dataset, as written in a sweep file: `mnist`, `fashion-mnist`, `synthetic` or `idx:<dir>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DatasetName {
    Mnist,
    FashionMnist,
    Synthetic,
    Idx(PathBuf),
}

/// What a dataset key may be; used in error messages.
pub const DATASET_CHOICES: &str = "`mnist`, `fashion-mnist`, `synthetic` or `idx:<directory>`";

/// The classes of the synthetic dataset, by label (its generator draws one shape per class).
pub const SYNTHETIC_CLASS_NAMES: [&str; 10] =
    ["ring", "blob", "horizontal bar", "vertical bar", "plus", "cross", "square", "triangle", "corner", "dots"];

/// Fashion-MNIST's classes, by label (Zalando's README).
pub const FASHION_MNIST_CLASS_NAMES: [&str; 10] =
    ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

/// MNIST's classes: the digits.
pub const MNIST_CLASS_NAMES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

impl DatasetName {
    /// The names of the classes by label, for legends; none for an `idx:` directory (its labels
    /// are shown as numbers).
    pub fn class_names(&self) -> Option<&'static [&'static str]> {
        match self {
            Self::Mnist => Some(&MNIST_CLASS_NAMES),
            Self::FashionMnist => Some(&FASHION_MNIST_CLASS_NAMES),
            Self::Synthetic => Some(&SYNTHETIC_CLASS_NAMES),
            Self::Idx(_) => None,
        }
    }

    /// Parses the form written in sweep files; the error says what is allowed.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "mnist" => Ok(Self::Mnist),
            "fashion-mnist" => Ok(Self::FashionMnist),
            "synthetic" => Ok(Self::Synthetic),
            other => match other.strip_prefix("idx:") {
                Some("") => Err("`idx:` needs a directory, e.g. `idx:/data/my-set`".to_string()),
                Some(dir) => Ok(Self::Idx(PathBuf::from(dir))),
                None => Err(format!("unknown dataset `{other}`; expected {DATASET_CHOICES}")),
            },
        }
    }
}

impl fmt::Display for DatasetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Mnist => f.write_str("mnist"),
            Self::FashionMnist => f.write_str("fashion-mnist"),
            Self::Synthetic => f.write_str("synthetic"),
            Self::Idx(dir) => write!(f, "idx:{}", dir.display()),
        }
    }
}

impl FromStr for DatasetName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s)
    }
}

impl Serialize for DatasetName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DatasetName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

macro_rules! display_via_serde_name {
    ($($t:ty => { $($v:ident = $s:literal),* $(,)? }),* $(,)?) => {
        $(impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self { $(Self::$v => $s),* })
            }
        })*
    };
}

display_via_serde_name! {
    Architecture => { Conv = "conv", Dense = "dense" },
    ModelKind => { Plain = "plain", Sparse = "sparse", Contractive = "contractive", Stacked = "stacked", Vae = "vae" },
    Optimizer => { Adam = "adam", Sgd = "sgd" },
    Loss => { Bce = "bce", Mse = "mse" },
    NoiseKind => { Gaussian = "gaussian", Masking = "masking", SaltPepper = "salt_pepper" },
}

impl NoiseKind {
    /// The range a level of this kind must lie in, as (low exclusive, high, high inclusive?).
    pub fn level_range(self) -> (f64, f64, bool) {
        match self {
            Self::Gaussian => (0.0, MAX_GAUSSIAN_LEVEL, true),
            Self::Masking | Self::SaltPepper => (0.0, 1.0, false),
        }
    }

    /// Human text of [`Self::level_range`].
    pub fn level_range_text(self) -> String {
        let (lo, hi, inclusive) = self.level_range();
        let what = match self {
            Self::Gaussian => "a standard deviation",
            Self::Masking | Self::SaltPepper => "a probability",
        };
        format!("{what} in ({lo}, {hi}{}", if inclusive { "]" } else { ")" })
    }

    pub fn level_in_range(self, level: f64) -> bool {
        let (lo, hi, inclusive) = self.level_range();
        level.is_finite() && level > lo && (level < hi || (inclusive && level == hi))
    }
}

impl RunConfig {
    /// True when this run trains a denoising auto-encoder.
    pub fn is_denoising(&self) -> bool {
        self.noise.is_some()
    }

    /// Every epoch the run trains: the pre-training phases' (`stacked`), then `train.epochs`.
    pub fn total_epochs(&self) -> usize {
        self.model.pretrain_phases() * self.model.pretrain_epochs.unwrap_or(DEFAULT_PRETRAIN_EPOCHS) + self.train.epochs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_names_round_trip() {
        for s in ["mnist", "fashion-mnist", "synthetic", "idx:/some/dir"] {
            let d = DatasetName::parse(s).unwrap();
            assert_eq!(d.to_string(), s);
        }
    }

    #[test]
    fn unknown_dataset_names_what_is_allowed() {
        let e = DatasetName::parse("cifar").unwrap_err();
        assert!(e.contains("cifar") && e.contains("fashion-mnist") && e.contains("idx:"), "{e}");
        assert!(DatasetName::parse("idx:").is_err());
    }

    #[test]
    fn noise_level_ranges() {
        assert!(NoiseKind::Masking.level_in_range(0.5));
        assert!(!NoiseKind::Masking.level_in_range(1.0));
        assert!(!NoiseKind::Masking.level_in_range(0.0));
        assert!(NoiseKind::Gaussian.level_in_range(MAX_GAUSSIAN_LEVEL));
        assert!(!NoiseKind::Gaussian.level_in_range(f64::NAN));
        assert!(!NoiseKind::SaltPepper.level_in_range(-0.1));
    }
}
