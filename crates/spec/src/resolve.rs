//! From the merged sections of one run to its [`RunConfig`]: defaults, then the rules that tie
//! keys together. Each problem names the key and where its value came from.

use crate::config::*;
use crate::error::Problem;
use crate::keys::SectionKeys;
use std::collections::HashMap;

/// Where the value of a key came from, so that an error can point at the right line.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    /// "the base sections", "variant \"dae\"", "sweep axis", "--set".
    pub what: String,
    pub line: Option<usize>,
}

/// Dotted key (`model.latent_dim`) → where its current value came from.
pub type Origins = HashMap<String, Origin>;

/// Resolves merged sections into a run configuration, or the list of what is wrong.
pub fn resolve(sections: &toml::Table, origins: &Origins) -> Result<RunConfig, Vec<Problem>> {
    // Every layer was type-checked on its own, so this only fails on a bug in the merge.
    let keys: SectionKeys = sections
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| vec![Problem::new(None, "(merged)", e.message().to_string())])?;
    let mut problems = Vec::new();
    let mut problem = |key: &str, message: String| {
        let origin = origins.get(key);
        let mut message = message;
        if let Some(o) = origin {
            message = format!("{message} (set in {})", o.what);
        }
        problems.push(Problem::new(origin.and_then(|o| o.line), key, message));
    };

    let data = keys.data.unwrap_or_default();
    let dataset = match data.dataset {
        Some(d) => Some(d),
        None => {
            problem("data.dataset", format!("is required; one of {DATASET_CHOICES}"));
            None
        }
    };

    let model = keys.model.unwrap_or_default();
    let architecture = model.architecture.unwrap_or(Architecture::Conv);
    let hidden = model.hidden.map(|h| h.into_iter().map(|v| v.0).collect::<Vec<_>>());
    if hidden.is_some() && architecture != Architecture::Dense {
        problem("model.hidden", format!("applies to the `dense` architecture only, not `{architecture}`"));
    }
    let kind = model.kind.unwrap_or_default();
    let kind_keys = [
        ("sparsity", model.sparsity.is_some()),
        ("sparsity_target", model.sparsity_target.is_some()),
        ("contraction", model.contraction.is_some()),
        ("pretrain_epochs", model.pretrain_epochs.is_some()),
        ("beta", model.beta.is_some()),
        ("nll_samples", model.nll_samples.is_some()),
        ("nll_images", model.nll_images.is_some()),
    ];
    for (key, given) in kind_keys {
        if !given || kind.keys().contains(&key) {
            continue;
        }
        let owner = ModelKind::ALL.into_iter().find(|k| k.keys().contains(&key)).unwrap_or_default();
        let takes = match kind.keys() {
            [] => "which takes none of the kinds' keys".to_string(),
            keys => {
                format!("whose keys are {}", keys.iter().map(|k| format!("`model.{k}`")).collect::<Vec<_>>().join(", "))
            }
        };
        problem(&format!("model.{key}"), format!("applies to `kind = \"{owner}\"` only, not `{kind}` ({takes})"));
    }
    if kind == ModelKind::Stacked {
        if architecture != Architecture::Dense {
            problem(
                "model.kind",
                format!(
                    "`stacked` pre-trains the dense model's layers one by one: it needs `architecture = \"dense\"`, \
                     not `{architecture}`"
                ),
            );
        } else if hidden.as_ref().is_some_and(Vec::is_empty) {
            problem(
                "model.hidden",
                "is empty, but `kind = \"stacked\"` needs at least one hidden layer to stack".to_string(),
            );
        }
    }
    let only = |k: ModelKind| kind == k;
    let sparsity = only(ModelKind::Sparse).then(|| {
        let default = if model.sparsity_target.is_some() { DEFAULT_SPARSITY_KL } else { DEFAULT_SPARSITY_L1 };
        model.sparsity.map_or(default, |v| v.0)
    });
    let sparsity_target = model.sparsity_target.filter(|_| only(ModelKind::Sparse)).map(|v| v.0);
    let contraction = only(ModelKind::Contractive).then(|| model.contraction.map_or(DEFAULT_CONTRACTION, |v| v.0));
    let pretrain_epochs =
        only(ModelKind::Stacked).then(|| model.pretrain_epochs.map_or(DEFAULT_PRETRAIN_EPOCHS, |v| v.0));
    let beta = only(ModelKind::Vae).then(|| model.beta.map_or(DEFAULT_BETA, |v| v.0));
    let nll_samples = only(ModelKind::Vae).then(|| model.nll_samples.map_or(DEFAULT_NLL_SAMPLES, |v| v.0));
    let nll_images = only(ModelKind::Vae).then(|| model.nll_images.map_or(DEFAULT_NLL_IMAGES, |v| v.0));

    let train = keys.train.unwrap_or_default();
    let optimizer = train.optimizer.unwrap_or(Optimizer::Adam);
    let momentum = match (optimizer, train.momentum) {
        (Optimizer::Sgd, m) => Some(m.map_or(DEFAULT_SGD_MOMENTUM, |m| m.0)),
        (Optimizer::Adam, Some(_)) => {
            problem("train.momentum", "applies to `optimizer = \"sgd\"` only".to_string());
            None
        }
        (Optimizer::Adam, None) => None,
    };

    let probe = train.probe.unwrap_or(true);
    let probe_every = train.probe_every.map_or(0, |v| v.0);
    if !probe && probe_every > 0 {
        problem("train.probe_every", "applies only while the probe is on; remove it or `probe = false`".to_string());
    }

    let noise = match keys.noise {
        None => None,
        Some(n) => match n.kind {
            None => {
                problem(
                    "noise.kind",
                    "is required when a [noise] section is present; one of `gaussian`, `masking`, \
                     `salt_pepper`, `none`"
                        .to_string(),
                );
                None
            }
            Some(choice) => match (choice.kind(), n.level) {
                (None, _) => None,
                (Some(kind), None) => {
                    problem("noise.level", format!("is required for `{kind}` noise: {}", kind.level_range_text()));
                    None
                }
                (Some(kind), Some(level)) => {
                    if !kind.level_in_range(level.0) {
                        problem(
                            "noise.level",
                            format!("{} is out of range for `{kind}` noise: {}", level.0, kind.level_range_text()),
                        );
                    }
                    Some(NoiseConfig { kind, level: level.0 })
                }
            },
        },
    };

    if !problems.is_empty() {
        return Err(problems);
    }
    let Some(dataset) = dataset else {
        return Err(vec![Problem::new(None, "data.dataset", "is required".to_string())]);
    };
    Ok(RunConfig {
        data: DataConfig {
            dataset,
            train_limit: data.train_limit.map(|v| v.0),
            test_limit: data.test_limit.map(|v| v.0),
        },
        model: ModelConfig {
            architecture,
            latent_dim: model.latent_dim.map_or(DEFAULT_LATENT_DIM, |v| v.0),
            hidden,
            kind,
            sparsity,
            sparsity_target,
            contraction,
            pretrain_epochs,
            beta,
            nll_samples,
            nll_images,
        },
        train: TrainConfig {
            epochs: train.epochs.map_or(DEFAULT_EPOCHS, |v| v.0),
            batch_size: train.batch_size.map_or(DEFAULT_BATCH_SIZE, |v| v.0),
            learning_rate: train.learning_rate.map_or(DEFAULT_LEARNING_RATE, |v| v.0),
            optimizer,
            momentum,
            loss: train.loss.unwrap_or(Loss::Bce),
            seed: train.seed.unwrap_or(0),
            probe,
            probe_every,
        },
        noise,
    })
}
