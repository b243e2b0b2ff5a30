//! The `[train]` section: epochs, batches, the optimizer and the loss, the seed, the linear
//! probe's schedule, the device. The keys a user writes, their resolution, the resolved
//! [`TrainConfig`] (the optimizer and the probe schedule as enums carrying their settings), and
//! its `config.toml` form.

use crate::model::{KindName, ModelConfig};
use crate::problems::Problems;
use crate::value::{AtLeastOne, Count, Momentum, Positive};
use serde::{Deserialize, Serialize};
use std::fmt;

pub const DEFAULT_EPOCHS: usize = 10;
pub const DEFAULT_BATCH_SIZE: usize = 1000;
pub const DEFAULT_LEARNING_RATE: f64 = 1e-4;
pub const DEFAULT_SGD_MOMENTUM: f64 = 0.9;

/// `[train]` as written: every key optional, each range-checked while it is read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainKeys {
    pub epochs: Option<AtLeastOne>,
    pub batch_size: Option<AtLeastOne>,
    pub learning_rate: Option<Positive>,
    pub optimizer: Option<OptimizerName>,
    pub momentum: Option<Momentum>,
    pub loss: Option<Loss>,
    pub seed: Option<u64>,
    pub probe: Option<bool>,
    pub probe_every: Option<Count>,
    pub device: Option<Device>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "TrainWire", into = "TrainWire")]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub optimizer: Optimizer,
    pub loss: Loss,
    pub seed: u64,
    pub probe: Probe,
    pub device: Device,
}

/// What trains a run: the CPU (the project's kernels, every kind, bit-reproducible) or an NVIDIA
/// GPU (the plain and denoising auto-encoders; its numbers differ from the CPU's in the last
/// bits, so a CUDA run is a run of its own, with its own id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    #[default]
    Cpu,
    Cuda,
}

impl Device {
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Cuda => "cuda",
        }
    }

    pub fn is_cpu(&self) -> bool {
        *self == Self::Cpu
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kinds `train.device = "cuda"` trains: the plain auto-encoder (with a `[noise]` section, the
/// denoising one). The others' objectives are CPU ops.
pub const CUDA_KINDS: [KindName; 1] = [KindName::Plain];

/// Refuses a kind the run's device cannot train (the problem is placed at `model.kind`).
pub(crate) fn check_device(model: &ModelConfig, train: &TrainConfig, problems: &mut Problems<'_>) {
    let kind = model.kind.name();
    if train.device == Device::Cuda && !CUDA_KINDS.contains(&kind) {
        problems.add(
            "model.kind",
            format!(
                "= \"{kind}\" trains on the CPU only; `train.device = \"cuda\"` supports plain and denoising \
                 auto-encoders (`model.kind = \"plain\"`, with or without `[noise]`)"
            ),
        );
    }
}

/// The optimizer and its settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Optimizer {
    /// Keras' Adam: β1 0.9, β2 0.999, ε 1e-7.
    Adam,
    /// Keras' SGD with momentum.
    Sgd { momentum: f64 },
}

impl Optimizer {
    pub fn name(&self) -> OptimizerName {
        match self {
            Optimizer::Adam => OptimizerName::Adam,
            Optimizer::Sgd { .. } => OptimizerName::Sgd,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerName {
    Adam,
    Sgd,
}

impl fmt::Display for OptimizerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Adam => "adam",
            Self::Sgd => "sgd",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Loss {
    /// Keras' binary cross-entropy from the logits.
    Bce,
    Mse,
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Bce => "bce",
            Self::Mse => "mse",
        })
    }
}

/// When the linear probe of the codes runs (see the `probe` crate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Probe {
    /// Never.
    Off,
    /// After the last epoch.
    #[default]
    Last,
    /// After every k-th epoch, and after the last.
    Every(usize),
}

impl TrainConfig {
    /// Whether the codes are probed after `epoch` (1-based).
    pub fn probes_after(&self, epoch: usize) -> bool {
        match self.probe {
            Probe::Off => false,
            Probe::Last => epoch == self.epochs,
            Probe::Every(k) => epoch == self.epochs || (k > 0 && epoch.is_multiple_of(k)),
        }
    }
}

impl TrainKeys {
    pub(crate) fn resolve(self, problems: &mut Problems<'_>) -> TrainConfig {
        let optimizer = match (self.optimizer.unwrap_or(OptimizerName::Adam), self.momentum) {
            (OptimizerName::Sgd, m) => Optimizer::Sgd { momentum: m.map_or(DEFAULT_SGD_MOMENTUM, |m| m.0) },
            (OptimizerName::Adam, Some(_)) => {
                problems.add("train.momentum", "applies to `optimizer = \"sgd\"` only".to_string());
                Optimizer::Adam
            }
            (OptimizerName::Adam, None) => Optimizer::Adam,
        };
        let probe = match (self.probe.unwrap_or(true), self.probe_every.map_or(0, |v| v.0)) {
            (false, 0) => Probe::Off,
            (false, _) => {
                problems.add(
                    "train.probe_every",
                    "applies only while the probe is on; remove it or `probe = false`".to_string(),
                );
                Probe::Off
            }
            (true, 0) => Probe::Last,
            (true, k) => Probe::Every(k),
        };
        TrainConfig {
            epochs: self.epochs.map_or(DEFAULT_EPOCHS, |v| v.0),
            batch_size: self.batch_size.map_or(DEFAULT_BATCH_SIZE, |v| v.0),
            learning_rate: self.learning_rate.map_or(DEFAULT_LEARNING_RATE, |v| v.0),
            optimizer,
            loss: self.loss.unwrap_or(Loss::Bce),
            seed: self.seed.unwrap_or(0),
            probe,
            device: self.device.unwrap_or_default(),
        }
    }
}

/// The `config.toml` form: flat keys as the sweep file names them. `momentum` for SGD only;
/// `probe` and `probe_every` only when not at their defaults, so that runs recorded before the
/// probe existed keep their ids; `device` only when not `cpu`, so that CPU runs recorded before
/// devices existed keep theirs (and a CUDA run gets an id of its own).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrainWire {
    epochs: usize,
    batch_size: usize,
    learning_rate: f64,
    optimizer: OptimizerName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    momentum: Option<f64>,
    loss: Loss,
    seed: u64,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    probe: bool,
    #[serde(default, skip_serializing_if = "is_zero")]
    probe_every: usize,
    #[serde(default, skip_serializing_if = "Device::is_cpu")]
    device: Device,
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

impl From<TrainConfig> for TrainWire {
    fn from(t: TrainConfig) -> Self {
        let (probe, probe_every) = match t.probe {
            Probe::Off => (false, 0),
            Probe::Last => (true, 0),
            Probe::Every(k) => (true, k),
        };
        TrainWire {
            epochs: t.epochs,
            batch_size: t.batch_size,
            learning_rate: t.learning_rate,
            optimizer: t.optimizer.name(),
            momentum: match t.optimizer {
                Optimizer::Sgd { momentum } => Some(momentum),
                Optimizer::Adam => None,
            },
            loss: t.loss,
            seed: t.seed,
            probe,
            probe_every,
            device: t.device,
        }
    }
}

impl TryFrom<TrainWire> for TrainConfig {
    type Error = String;
    fn try_from(w: TrainWire) -> Result<Self, String> {
        let optimizer = match (w.optimizer, w.momentum) {
            (OptimizerName::Sgd, m) => Optimizer::Sgd { momentum: m.unwrap_or(DEFAULT_SGD_MOMENTUM) },
            (OptimizerName::Adam, None) => Optimizer::Adam,
            (OptimizerName::Adam, Some(_)) => {
                return Err("`train.momentum` applies to `optimizer = \"sgd\"` only".into())
            }
        };
        let probe = match (w.probe, w.probe_every) {
            (false, 0) => Probe::Off,
            (false, _) => return Err("`train.probe_every` applies only while the probe is on".into()),
            (true, 0) => Probe::Last,
            (true, k) => Probe::Every(k),
        };
        Ok(TrainConfig {
            epochs: w.epochs,
            batch_size: w.batch_size,
            learning_rate: w.learning_rate,
            optimizer,
            loss: w.loss,
            seed: w.seed,
            probe,
            device: w.device,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(epochs: usize, probe: Probe) -> TrainConfig {
        TrainConfig {
            epochs,
            batch_size: 10,
            learning_rate: 1e-3,
            optimizer: Optimizer::Adam,
            loss: Loss::Bce,
            seed: 0,
            probe,
            device: Device::Cpu,
        }
    }

    #[test]
    fn the_probe_schedule() {
        let after = |c: &TrainConfig| (1..=c.epochs).filter(|&e| c.probes_after(e)).collect::<Vec<_>>();
        assert_eq!(after(&config(5, Probe::Last)), [5]);
        assert_eq!(after(&config(5, Probe::Every(2))), [2, 4, 5]);
        assert_eq!(after(&config(5, Probe::Off)), Vec::<usize>::new());
    }
}
