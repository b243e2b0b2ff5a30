//! A model where it runs: an auto-encoder on a [`Device`] — the CPU model of [`crate::model`]
//! (the fast kernels, every kind) or the device-generic model of [`crate::generic`] on another
//! device — as the rest of the workspace builds, trains, evaluates and checkpoints it, through
//! plain slices ([`infer`]). Above both [`crate::model`] and [`crate::device`], so that neither
//! imports the other's user.

pub mod infer;

pub use infer::{EvalSums, EVAL_CHUNK};

use crate::device::{Device, DeviceModel};
use crate::error::NnError;
use crate::model::{CpuModel, Head, ModelSpec, ParamValues, SummaryRow};
use dfdx::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// An auto-encoder on a [`Device`]: what the rest of the workspace builds, trains, evaluates and
/// checkpoints, through plain slices. On [`Device::Cpu`] it is a [`CpuModel`] (the fast
/// kernels, every kind); on the other devices the device-generic model of [`crate::generic`].
#[derive(Debug, Clone)]
pub struct Model {
    pub(crate) backend: Backend,
}

#[derive(Debug, Clone)]
// One per trainer: boxing the conv model would save nothing worth an indirection.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Backend {
    Cpu(CpuModel),
    Device(DeviceModel),
}

impl From<CpuModel> for Model {
    fn from(m: CpuModel) -> Self {
        Self { backend: Backend::Cpu(m) }
    }
}

impl Model {
    /// Builds a model on `device` with Keras' initialisation (glorot-uniform kernels, zero
    /// biases), drawing the kernels from `rng` in parameter order (the caller owns the random
    /// streams): the same weights on every device. Opens the device on first use.
    pub fn new(device: Device, spec: &ModelSpec, rng: &mut ChaCha8Rng) -> Result<Self, NnError> {
        let cpu = CpuModel::new(&Cpu::default(), spec, rng)?;
        Self::from(cpu).to_device(device)
    }

    /// The same model (weights copied) on `device`.
    pub fn to_device(self, device: Device) -> Result<Self, NnError> {
        let cpu = match self.backend {
            Backend::Cpu(m) if device == Device::Cpu => return Ok(Self::from(m)),
            Backend::Device(d) if d.device() == device => return Ok(Self { backend: Backend::Device(d) }),
            Backend::Cpu(m) => m,
            Backend::Device(d) => {
                // Any stream will do: every weight is overwritten.
                let mut m = CpuModel::new(&Cpu::default(), d.spec(), &mut ChaCha8Rng::seed_from_u64(0))?;
                for (p, w) in m.params_mut().into_iter().zip(d.weights()) {
                    p.set(&w.values)?;
                }
                m
            }
        };
        Ok(match device {
            Device::Cpu => Self::from(cpu),
            _ => Self { backend: Backend::Device(DeviceModel::upload(device, &cpu)?) },
        })
    }

    /// The device the model's parameters live on.
    pub fn device(&self) -> Device {
        match &self.backend {
            Backend::Cpu(_) => Device::Cpu,
            Backend::Device(d) => d.device(),
        }
    }

    /// The CPU model, on [`Device::Cpu`].
    pub fn cpu(&self) -> Option<&CpuModel> {
        match &self.backend {
            Backend::Cpu(m) => Some(m),
            Backend::Device(_) => None,
        }
    }

    pub fn cpu_mut(&mut self) -> Option<&mut CpuModel> {
        match &mut self.backend {
            Backend::Cpu(m) => Some(m),
            Backend::Device(_) => None,
        }
    }

    /// The CPU model, or an error saying that `what` runs on the CPU device only.
    pub(crate) fn cpu_only(&self, what: &str) -> Result<&CpuModel, NnError> {
        self.cpu().ok_or_else(|| {
            NnError::Config(format!("{what} runs on the CPU device only; this model is on `{}`", self.device()))
        })
    }

    pub fn spec(&self) -> ModelSpec {
        match &self.backend {
            Backend::Cpu(m) => m.spec(),
            Backend::Device(d) => d.spec().clone(),
        }
    }

    pub fn latent_dim(&self) -> usize {
        match &self.backend {
            Backend::Cpu(m) => m.latent_dim(),
            Backend::Device(d) => d.spec().latent_dim,
        }
    }

    pub fn head(&self) -> Head {
        match &self.backend {
            Backend::Cpu(m) => m.head(),
            Backend::Device(d) => d.spec().head,
        }
    }

    /// Every parameter's name, shape and values on the host, in a fixed order (checkpoints and
    /// optimizer state follow it).
    pub fn weights(&self) -> Vec<ParamValues> {
        match &self.backend {
            Backend::Cpu(m) => m
                .params()
                .into_iter()
                .map(|p| ParamValues { name: p.name.clone(), shape: p.shape.clone(), values: p.tensor.as_vec() })
                .collect(),
            Backend::Device(d) => d.weights(),
        }
    }

    /// Every parameter's name and shape, in [`Model::weights`] order.
    pub fn param_shapes(&self) -> Vec<(String, Vec<usize>)> {
        match &self.backend {
            Backend::Cpu(m) => m.params().into_iter().map(|p| (p.name.clone(), p.shape.clone())).collect(),
            Backend::Device(d) => d.weights().into_iter().map(|w| (w.name, w.shape)).collect(),
        }
    }

    /// Replaces the values of parameter `index` (in [`Model::weights`] order), same count.
    pub fn set_weights(&mut self, index: usize, values: &[f32]) -> Result<(), NnError> {
        match &mut self.backend {
            Backend::Cpu(m) => {
                let mut params = m.params_mut();
                let p = params.get_mut(index).ok_or_else(|| NnError::Shape(format!("no parameter #{index}")))?;
                p.set(values)
            }
            Backend::Device(d) => d.set(index, values),
        }
    }

    /// Multiply-adds of one sample's forward pass (see [`CpuModel::forward_macs_per_sample`]).
    pub fn forward_macs_per_sample(&self) -> usize {
        match &self.backend {
            Backend::Cpu(m) => m.forward_macs_per_sample(),
            Backend::Device(d) => d.forward_macs_per_sample(),
        }
    }

    pub fn num_params(&self) -> usize {
        self.param_shapes().iter().map(|(_, s)| s.iter().product::<usize>()).sum()
    }

    /// Rows of a Keras-`summary()`-like table.
    pub fn summary(&self) -> Vec<SummaryRow> {
        match &self.backend {
            Backend::Cpu(m) => m.summary(),
            Backend::Device(d) => d.summary(),
        }
    }
}
