//! The `[model]` section: the architecture, the latent size and the kind of auto-encoder. The keys
//! a user writes, their resolution, the resolved [`ModelConfig`] (a [`Kind`] is an enum that
//! carries its own settings, defaults applied), and its `config.toml` form.
//!
//! Everything about the kinds is in this file. A new kind: a variant of [`KindName`] (its name and
//! keys) and of [`Kind`] (its settings), its keys in [`ModelKeys`] and [`KindColumns`], and the arms
//! the compiler then asks for (`resolve`, `columns`, `from_columns`).

use crate::problems::Problems;
use crate::value::{AtLeastOne, OpenUnit, Positive};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Defaults follow the TensorFlow tutorial this project reproduces.
pub const DEFAULT_LATENT_DIM: usize = 100;
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

/// `[model]` as written: every key optional, each range-checked while it is read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelKeys {
    pub architecture: Option<Architecture>,
    pub latent_dim: Option<AtLeastOne>,
    pub hidden: Option<Vec<AtLeastOne>>,
    pub kind: Option<KindName>,
    pub sparsity: Option<Positive>,
    pub sparsity_target: Option<OpenUnit>,
    pub contraction: Option<Positive>,
    pub pretrain_epochs: Option<AtLeastOne>,
    pub beta: Option<Positive>,
    pub nll_samples: Option<AtLeastOne>,
    pub nll_images: Option<AtLeastOne>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    /// The TensorFlow tutorial's convolutional model.
    Conv,
    /// 784 → hidden… → latent → …hidden → 784.
    Dense,
}

impl Architecture {
    pub fn name(self) -> &'static str {
        match self {
            Self::Conv => "conv",
            Self::Dense => "dense",
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The dense model's hidden widths (encoder side; the decoder mirrors them). `Default` is kept
/// apart from the same widths written out because `config.toml`, and so the run id, records what
/// the sweep file said: a run without `model.hidden` has no `hidden` key. A conv model is always
/// `Default` (it has no hidden widths).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Hidden {
    #[default]
    Default,
    Given(Vec<usize>),
}

/// The kinds by name, without their settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, strum::VariantArray)]
#[serde(rename_all = "lowercase")]
pub enum KindName {
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

impl KindName {
    /// Every kind, derived from the enum (a new kind cannot be left out).
    pub const ALL: &'static [KindName] = <KindName as strum::VariantArray>::VARIANTS;

    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::Sparse => "sparse",
            Self::Contractive => "contractive",
            Self::Stacked => "stacked",
            Self::Vae => "vae",
        }
    }

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

impl fmt::Display for KindName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kind of auto-encoder with its settings, every default applied.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Kind {
    #[default]
    Plain,
    Sparse(Sparsity),
    Contractive {
        /// λ of λ‖J_f(x)‖²_F.
        weight: f64,
    },
    Stacked {
        /// Epochs of each layer's greedy pre-training.
        pretrain_epochs: usize,
    },
    Vae(VaeSettings),
}

/// The sparse kind's penalty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sparsity {
    /// weight · the batch mean of Σ_j |z_j| on a linear code.
    L1 { weight: f64 },
    /// weight · Σ_j KL(target ‖ ρ̂_j) on a sigmoid code.
    Kl { weight: f64, target: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VaeSettings {
    /// The KL term's weight in the training loss (β-VAE; 1 is the ELBO).
    pub beta: f64,
    /// Importance samples per image of the test log-likelihood.
    pub nll_samples: usize,
    /// Test images (the first N) the log-likelihood is estimated on.
    pub nll_images: usize,
}

/// The kinds' keys as columns: how `config.toml` and the `runs` tables write a kind's settings,
/// each empty for the kinds that do not take it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KindColumns {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sparsity: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sparsity_target: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contraction: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretrain_epochs: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nll_samples: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nll_images: Option<usize>,
}

impl KindColumns {
    /// Which keys are set, by name (in [`KindName::keys`]'s spelling).
    fn given(&self) -> [(&'static str, bool); 7] {
        // Taken apart field by field: a key added to the struct does not compile until it is
        // listed here too (a key missing here would escape the check for another kind's keys).
        let KindColumns { sparsity, sparsity_target, contraction, pretrain_epochs, beta, nll_samples, nll_images } =
            self;
        [
            ("sparsity", sparsity.is_some()),
            ("sparsity_target", sparsity_target.is_some()),
            ("contraction", contraction.is_some()),
            ("pretrain_epochs", pretrain_epochs.is_some()),
            ("beta", beta.is_some()),
            ("nll_samples", nll_samples.is_some()),
            ("nll_images", nll_images.is_some()),
        ]
    }
}

impl Kind {
    pub fn name(&self) -> KindName {
        match self {
            Kind::Plain => KindName::Plain,
            Kind::Sparse(_) => KindName::Sparse,
            Kind::Contractive { .. } => KindName::Contractive,
            Kind::Stacked { .. } => KindName::Stacked,
            Kind::Vae(_) => KindName::Vae,
        }
    }

    /// The settings as columns.
    pub fn columns(&self) -> KindColumns {
        let mut c = KindColumns::default();
        match *self {
            Kind::Plain => {}
            Kind::Sparse(Sparsity::L1 { weight }) => c.sparsity = Some(weight),
            Kind::Sparse(Sparsity::Kl { weight, target }) => {
                c.sparsity = Some(weight);
                c.sparsity_target = Some(target);
            }
            Kind::Contractive { weight } => c.contraction = Some(weight),
            Kind::Stacked { pretrain_epochs } => c.pretrain_epochs = Some(pretrain_epochs),
            Kind::Vae(v) => {
                c.beta = Some(v.beta);
                c.nll_samples = Some(v.nll_samples);
                c.nll_images = Some(v.nll_images);
            }
        }
        c
    }

    /// The kind `name` with the settings in `c`, defaults for those not given. A key of another
    /// kind is an error naming it and the keys this kind takes.
    pub fn from_columns(name: KindName, c: &KindColumns) -> Result<Kind, Vec<(&'static str, String)>> {
        let mut wrong = Vec::new();
        for (key, given) in c.given() {
            if !given || name.keys().contains(&key) {
                continue;
            }
            let owner = KindName::ALL.iter().copied().find(|k| k.keys().contains(&key)).unwrap_or_default();
            let takes = match name.keys() {
                [] => "which takes none of the kinds' keys".to_string(),
                keys => format!(
                    "whose keys are {}",
                    keys.iter().map(|k| format!("`model.{k}`")).collect::<Vec<_>>().join(", ")
                ),
            };
            wrong.push((key, format!("applies to `kind = \"{owner}\"` only, not `{name}` ({takes})")));
        }
        if !wrong.is_empty() {
            return Err(wrong);
        }
        Ok(match name {
            KindName::Plain => Kind::Plain,
            KindName::Sparse => Kind::Sparse(match c.sparsity_target {
                Some(target) => Sparsity::Kl { weight: c.sparsity.unwrap_or(DEFAULT_SPARSITY_KL), target },
                None => Sparsity::L1 { weight: c.sparsity.unwrap_or(DEFAULT_SPARSITY_L1) },
            }),
            KindName::Contractive => Kind::Contractive { weight: c.contraction.unwrap_or(DEFAULT_CONTRACTION) },
            KindName::Stacked => {
                Kind::Stacked { pretrain_epochs: c.pretrain_epochs.unwrap_or(DEFAULT_PRETRAIN_EPOCHS) }
            }
            KindName::Vae => Kind::Vae(VaeSettings {
                beta: c.beta.unwrap_or(DEFAULT_BETA),
                nll_samples: c.nll_samples.unwrap_or(DEFAULT_NLL_SAMPLES),
                nll_images: c.nll_images.unwrap_or(DEFAULT_NLL_IMAGES),
            }),
        })
    }
}

/// The resolved model: what the `model` crate builds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ModelWire", into = "ModelWire")]
pub struct ModelConfig {
    pub architecture: Architecture,
    pub latent_dim: usize,
    pub hidden: Hidden,
    pub kind: Kind,
}

impl ModelConfig {
    /// A plain model of an architecture and latent size (the dense model with its default widths).
    pub fn plain(architecture: Architecture, latent_dim: usize) -> Self {
        Self { architecture, latent_dim, hidden: Hidden::Default, kind: Kind::Plain }
    }

    /// A plain dense model with the hidden widths written out.
    pub fn dense(latent_dim: usize, hidden: Vec<usize>) -> Self {
        Self { architecture: Architecture::Dense, latent_dim, hidden: Hidden::Given(hidden), kind: Kind::Plain }
    }

    /// The hidden widths the model is built with: the dense model's (its default when none were
    /// given), none for the conv model.
    pub fn hidden_widths(&self) -> Vec<usize> {
        match (self.architecture, &self.hidden) {
            (Architecture::Conv, _) => Vec::new(),
            (Architecture::Dense, Hidden::Given(h)) => h.clone(),
            (Architecture::Dense, Hidden::Default) => DEFAULT_DENSE_HIDDEN.to_vec(),
        }
    }

    /// How many greedy pre-training phases a run has: one per encoder layer of a `stacked` dense
    /// model (each hidden layer and the code layer), none otherwise.
    pub fn pretrain_phases(&self) -> usize {
        match (self.kind, self.architecture) {
            (Kind::Stacked { .. }, Architecture::Dense) => self.hidden_widths().len() + 1,
            _ => 0,
        }
    }

    /// Epochs of each pre-training phase (none but for `stacked`).
    pub fn pretrain_epochs(&self) -> usize {
        match self.kind {
            Kind::Stacked { pretrain_epochs } => pretrain_epochs,
            _ => 0,
        }
    }

    /// The rules that tie the model's keys together, given as (key, message).
    fn check(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if self.architecture == Architecture::Conv && self.hidden != Hidden::Default {
            problems.push(("model.hidden", "applies to the `dense` architecture only, not `conv`".to_string()));
        }
        if let Kind::Stacked { .. } = self.kind {
            if self.architecture != Architecture::Dense {
                problems.push((
                    "model.kind",
                    format!(
                        "`stacked` pre-trains the dense model's layers one by one: it needs `architecture = \"dense\"`, \
                         not `{}`",
                        self.architecture
                    ),
                ));
            } else if self.hidden_widths().is_empty() {
                problems.push((
                    "model.hidden",
                    "is empty, but `kind = \"stacked\"` needs at least one hidden layer to stack".to_string(),
                ));
            }
        }
        problems
    }
}

impl ModelKeys {
    /// The resolved section; problems are reported and a plain model stands in for a bad kind.
    pub(crate) fn resolve(self, problems: &mut Problems<'_>) -> ModelConfig {
        let given = KindColumns {
            sparsity: self.sparsity.map(|v| v.0),
            sparsity_target: self.sparsity_target.map(|v| v.0),
            contraction: self.contraction.map(|v| v.0),
            pretrain_epochs: self.pretrain_epochs.map(|v| v.0),
            beta: self.beta.map(|v| v.0),
            nll_samples: self.nll_samples.map(|v| v.0),
            nll_images: self.nll_images.map(|v| v.0),
        };
        let kind = Kind::from_columns(self.kind.unwrap_or_default(), &given).unwrap_or_else(|wrong| {
            for (key, message) in wrong {
                problems.add(&format!("model.{key}"), message);
            }
            Kind::Plain
        });
        let config = ModelConfig {
            architecture: self.architecture.unwrap_or(Architecture::Conv),
            latent_dim: self.latent_dim.map_or(DEFAULT_LATENT_DIM, |v| v.0),
            hidden: self.hidden.map_or(Hidden::Default, |h| Hidden::Given(h.into_iter().map(|v| v.0).collect())),
            kind,
        };
        for (key, message) in config.check() {
            problems.add(key, message);
        }
        config
    }
}

/// The `config.toml` form of [`ModelConfig`]: the keys flat, as the sweep file names them; the
/// kind and its keys left out for `plain`, `hidden` when not given. Unknown keys are refused.
#[derive(Serialize, Deserialize)]
struct ModelWire {
    architecture: Architecture,
    latent_dim: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hidden: Option<Vec<usize>>,
    #[serde(default, skip_serializing_if = "KindName::is_plain")]
    kind: KindName,
    #[serde(flatten)]
    settings: KindColumns,
    /// What is left: anything here is a key this version does not know.
    #[serde(flatten, skip_serializing)]
    unknown: BTreeMap<String, toml::Value>,
}

impl From<ModelConfig> for ModelWire {
    fn from(m: ModelConfig) -> Self {
        ModelWire {
            architecture: m.architecture,
            latent_dim: m.latent_dim,
            hidden: match m.hidden {
                Hidden::Default => None,
                Hidden::Given(h) => Some(h),
            },
            kind: m.kind.name(),
            settings: m.kind.columns(),
            unknown: BTreeMap::new(),
        }
    }
}

impl TryFrom<ModelWire> for ModelConfig {
    type Error = String;
    fn try_from(w: ModelWire) -> Result<Self, String> {
        if let Some(key) = w.unknown.keys().next() {
            return Err(format!("unknown key `model.{key}`"));
        }
        let kind = Kind::from_columns(w.kind, &w.settings).map_err(|wrong| {
            wrong.into_iter().map(|(k, m)| format!("`model.{k}` {m}")).collect::<Vec<_>>().join("; ")
        })?;
        let hidden = w.hidden.map_or(Hidden::Default, Hidden::Given);
        let config = ModelConfig { architecture: w.architecture, latent_dim: w.latent_dim, hidden, kind };
        match config.check().into_iter().next() {
            Some((key, message)) => Err(format!("`{key}` {message}")),
            None => Ok(config),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_columns() {
        let kinds = [
            Kind::Plain,
            Kind::Sparse(Sparsity::L1 { weight: 0.5 }),
            Kind::Sparse(Sparsity::Kl { weight: 0.5, target: 0.05 }),
            Kind::Contractive { weight: 0.25 },
            Kind::Stacked { pretrain_epochs: 3 },
            Kind::Vae(VaeSettings { beta: 2.0, nll_samples: 10, nll_images: 20 }),
        ];
        for kind in kinds {
            assert_eq!(Kind::from_columns(kind.name(), &kind.columns()), Ok(kind));
            for key in kind.name().keys() {
                assert!(KindColumns::default().given().iter().any(|(k, _)| k == key), "{key} has a column");
            }
        }
        assert_eq!(
            KindName::ALL.iter().map(|k| k.name()).collect::<Vec<_>>(),
            ["plain", "sparse", "contractive", "stacked", "vae"]
        );
    }

    #[test]
    fn defaults_fill_what_is_not_given_and_the_l1_kl_rule_is_in_one_place() {
        let none = KindColumns::default();
        assert_eq!(
            Kind::from_columns(KindName::Sparse, &none),
            Ok(Kind::Sparse(Sparsity::L1 { weight: DEFAULT_SPARSITY_L1 }))
        );
        let target = KindColumns { sparsity_target: Some(0.1), ..KindColumns::default() };
        assert_eq!(
            Kind::from_columns(KindName::Sparse, &target),
            Ok(Kind::Sparse(Sparsity::Kl { weight: DEFAULT_SPARSITY_KL, target: 0.1 }))
        );
        let wrong = KindColumns { beta: Some(1.0), ..KindColumns::default() };
        let e = Kind::from_columns(KindName::Sparse, &wrong).unwrap_err();
        assert_eq!(e[0].0, "beta");
        assert!(e[0].1.contains("`kind = \"vae\"`") && e[0].1.contains("model.sparsity_target"), "{}", e[0].1);
    }
}
