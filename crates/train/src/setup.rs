//! The mapping from a run's resolved config onto the model crate: which model, which loss and
//! optimizer, which kind's objective (with the encoder head it needs), which random stream the
//! objective's draws come from, whether the run pre-trains its layers and evaluates a VAE's bound.
//! Adding a kind means one arm in [`kind`]: everything else about a kind lives in `spec` (its
//! keys) and in `nn::kind` (its objective).

use data::rng::{purpose, weights_rng};
use nn::kind::contractive::Contractive;
use nn::kind::sparse::{SparseKl, SparseL1};
use nn::kind::vae::Vae;
use nn::kind::{Objective, Reconstruction};
use nn::{Head, LossKind, Model, ModelSpec, OptimizerKind, Trainer};
use spec::{Architecture, Kind, Loss, Optimizer, RunConfig, Sparsity, VaeSettings};

/// How one kind trains.
pub struct KindSetup {
    /// What the encoder's last layer puts out.
    pub head: Head,
    pub objective: Box<dyn Objective>,
    /// The `purpose` of the objective's standard normal draws, when it takes any.
    pub draws: u64,
    /// `stacked`: every encoder layer is first pre-trained for this many epochs.
    pub pretrain_epochs: Option<usize>,
    /// `vae`: the test metrics of the bound and the likelihood estimate.
    pub vae: Option<VaeSettings>,
}

/// The kind of a config, mapped onto the model crate.
pub fn kind(config: &RunConfig) -> KindSetup {
    let m = &config.model;
    let plain = |objective: Box<dyn Objective>, head| KindSetup {
        head,
        objective,
        draws: purpose::JACOBIAN_PROBES,
        pretrain_epochs: None,
        vae: None,
    };
    match m.kind {
        Kind::Plain => plain(Box::new(Reconstruction), Head::Linear),
        Kind::Sparse(Sparsity::L1 { weight }) => plain(Box::new(SparseL1 { weight }), Head::Linear),
        Kind::Sparse(Sparsity::Kl { weight, target }) => plain(Box::new(SparseKl { weight, target }), Head::Sigmoid),
        // Rifai's contractive encoder is one sigmoid layer, whose penalty has a closed form;
        // deeper encoders (and the conv one) keep the plain model's linear code, so that the
        // kinds differ by the penalty alone.
        Kind::Contractive { weight } => {
            let rifai = m.architecture == Architecture::Dense && m.hidden_widths().is_empty();
            plain(Box::new(Contractive { weight }), if rifai { Head::Sigmoid } else { Head::Linear })
        }
        Kind::Stacked { pretrain_epochs } => {
            KindSetup { pretrain_epochs: Some(pretrain_epochs), ..plain(Box::new(Reconstruction), Head::Linear) }
        }
        Kind::Vae(v) => KindSetup {
            head: Head::Gaussian,
            objective: Box::new(Vae { beta: v.beta }),
            draws: purpose::LATENT_NOISE,
            pretrain_epochs: None,
            vae: Some(v),
        },
    }
}

/// The model a config describes.
pub fn model_spec(config: &RunConfig) -> ModelSpec {
    let m = &config.model;
    ModelSpec {
        architecture: match m.architecture {
            Architecture::Conv => nn::Architecture::Conv,
            Architecture::Dense => nn::Architecture::Dense,
        },
        latent_dim: m.latent_dim,
        hidden: m.hidden_widths(),
        head: kind(config).head,
    }
}

pub fn loss(config: &RunConfig) -> LossKind {
    match config.train.loss {
        Loss::Bce => LossKind::Bce,
        Loss::Mse => LossKind::Mse,
    }
}

pub fn optimizer(config: &RunConfig) -> OptimizerKind {
    let t = &config.train;
    match t.optimizer {
        Optimizer::Adam => OptimizerKind::adam(t.learning_rate),
        Optimizer::Sgd { momentum } => OptimizerKind::Sgd { learning_rate: t.learning_rate, momentum },
    }
}

/// The device `train.device` names.
pub fn device(config: &RunConfig) -> nn::Device {
    match config.train.device {
        spec::Device::Cpu => nn::Device::Cpu,
        spec::Device::Cuda => nn::Device::Cuda,
    }
}

/// The trainer of a config: its model with the seeded initial weights, its loss, optimizer and
/// objective, on the config's device.
pub fn trainer(config: &RunConfig) -> Result<Trainer, nn::NnError> {
    trainer_on(config, device(config))
}

/// [`trainer`] on another device than the config's (the same initial weights on every device).
pub fn trainer_on(config: &RunConfig, device: nn::Device) -> Result<Trainer, nn::NnError> {
    let setup = kind(config);
    let spec = ModelSpec { head: setup.head, ..model_spec(config) };
    let model = Model::new(device, &spec, &mut weights_rng(config.train.seed))?;
    Trainer::with_objective(model, loss(config), optimizer(config), setup.objective)
}
