//! Where a model runs: the one place in the workspace that decides between the CPU's fast
//! kernels and the device-generic path ([`crate::generic`]), and that opens the GPU. The rest of
//! the workspace sees a [`Device`] value, never a dfdx device type, and no `cfg` of the `cuda`
//! feature outside this crate.
//!
//! - [`Device::Cpu`]: the project's CPU kernels ([`crate::op`], [`crate::kernel`]): every kind,
//!   bit-reproducible whatever the thread count.
//! - [`Device::Cuda`]: dfdx's `Cuda` (feature `cuda`), the generic path: the plain and denoising
//!   auto-encoders of both architectures.
//! - [`Device::GenericCpu`]: the generic path on dfdx's `Cpu` — what CUDA runs, on the CPU, so
//!   that it can be tested against the fast kernels here (slower than [`Device::Cpu`]).

use crate::error::NnError;
use crate::generic::{GenericModel, GenericOptimizer};
use crate::model::{CpuModel, SummaryRow};
use crate::op::loss::LossKind;
use crate::train::optim::{MomentState, OptimizerKind};
use dfdx::prelude::*;

#[cfg(feature = "cuda")]
mod cuda;

/// Which device and kernels run a model (see the module header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, strum::VariantArray)]
pub enum Device {
    #[default]
    Cpu,
    Cuda,
    GenericCpu,
}

impl Device {
    /// Every device, derived from the enum (a new one cannot be left out of the name table).
    pub const ALL: &'static [Device] = <Device as strum::VariantArray>::VARIANTS;

    pub fn name(self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::Cuda => "cuda",
            Device::GenericCpu => "generic-cpu",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|d| d.name() == s)
    }

    /// Whether the device-generic path runs it (every device but [`Device::Cpu`]).
    pub fn is_generic(self) -> bool {
        self != Device::Cpu
    }

    /// Opens the device and proves that it computes: for CUDA, that this build has it, that the
    /// driver finds a GPU, and that one training step of a small model runs on it (which loads
    /// every kernel a run needs, so that a driver too old for the compiled PTX fails here, not
    /// in the first run). Never panics; the GPU stays open for the rest of the thread.
    pub fn open(self) -> Result<DeviceInfo, NnError> {
        let gpu = match self {
            Device::Cpu => return Ok(DeviceInfo { device: self, gpu: None }),
            Device::GenericCpu => None,
            Device::Cuda => Some(cuda_name()?),
        };
        probe(self)?;
        Ok(DeviceInfo { device: self, gpu })
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether this build can run [`Device::Cuda`] (the `cuda` feature).
pub fn cuda_compiled() -> bool {
    cfg!(feature = "cuda")
}

/// What [`Device::open`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    pub device: Device,
    /// The GPU's name as its driver reports it (CUDA only).
    pub gpu: Option<String>,
}

#[cfg(feature = "cuda")]
fn cuda_name() -> Result<String, NnError> {
    cuda::open().map(|(_, name)| name)
}

#[cfg(not(feature = "cuda"))]
fn cuda_name() -> Result<String, NnError> {
    Err(not_compiled())
}

#[cfg(not(feature = "cuda"))]
fn not_compiled() -> NnError {
    NnError::Unavailable {
        device: Device::Cuda.name(),
        reason: "this program was built without CUDA support (the `cuda` feature of the nn crate)".into(),
    }
}

/// One Adam step and one MSE gradient of a small conv model on `device`, which must be finite.
fn probe(device: Device) -> Result<(), NnError> {
    use rand::SeedableRng;
    let spec = crate::model::ModelSpec::plain(crate::model::Architecture::Conv, 2, Vec::new());
    let cpu = CpuModel::new(&Cpu::default(), &spec, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0))?;
    let mut model = DeviceModel::upload(device, &cpu)?;
    let mut optimizer = model.optimizer(OptimizerKind::adam(1e-3));
    let images: Vec<f32> = (0..2 * crate::model::IMAGE_LEN).map(|i| (i % 7) as f32 / 7.0).collect();
    let bce = model.step(&mut optimizer, &images, &images, LossKind::Bce)?;
    let (mse, grads) = model.gradients(&images, &images, LossKind::Mse)?;
    let finite = bce.is_finite() && mse.is_finite() && grads.iter().flatten().all(|g| g.is_finite());
    if finite {
        Ok(())
    } else {
        Err(NnError::Unavailable {
            device: device.name(),
            reason: format!("a test step computed non-finite values (loss {bce}, {mse})"),
        })
    }
}

/// A model on the device-generic path, on whichever device runs it.
#[derive(Debug, Clone)]
pub(crate) enum DeviceModel {
    GenericCpu(GenericModel<Cpu>),
    #[cfg(feature = "cuda")]
    Cuda(GenericModel<dfdx::tensor::Cuda>),
}

/// The optimizer state of a [`DeviceModel`], on the same device.
#[derive(Debug, Clone)]
pub(crate) enum DeviceOptimizer {
    GenericCpu(GenericOptimizer<Cpu>),
    #[cfg(feature = "cuda")]
    Cuda(GenericOptimizer<dfdx::tensor::Cuda>),
}

/// `$body` with `$m` bound to the value inside `$value`, whichever device's variant it is.
macro_rules! each_device {
    ($value:expr, $enum:ident, $m:ident => $body:expr) => {
        match $value {
            $enum::GenericCpu($m) => $body,
            #[cfg(feature = "cuda")]
            $enum::Cuda($m) => $body,
        }
    };
}

impl DeviceModel {
    /// `model`'s layers and weights on `device` (a generic one).
    pub(crate) fn upload(device: Device, model: &CpuModel) -> Result<Self, NnError> {
        match device {
            Device::GenericCpu => Ok(Self::GenericCpu(GenericModel::from_cpu(&Cpu::default(), model)?)),
            #[cfg(feature = "cuda")]
            Device::Cuda => Ok(Self::Cuda(GenericModel::from_cpu(&cuda::open()?.0, model)?)),
            #[cfg(not(feature = "cuda"))]
            Device::Cuda => Err(not_compiled()),
            Device::Cpu => Err(NnError::Config("the CPU device runs the CPU model, not the generic one".into())),
        }
    }

    pub(crate) fn device(&self) -> Device {
        match self {
            Self::GenericCpu(_) => Device::GenericCpu,
            #[cfg(feature = "cuda")]
            Self::Cuda(_) => Device::Cuda,
        }
    }

    pub(crate) fn spec(&self) -> &crate::model::ModelSpec {
        each_device!(self, Self, m => m.spec())
    }

    pub(crate) fn summary(&self) -> Vec<SummaryRow> {
        each_device!(self, Self, m => m.summary())
    }

    pub(crate) fn forward_macs_per_sample(&self) -> usize {
        each_device!(self, Self, m => m.forward_macs_per_sample())
    }

    /// Every parameter's name, shape and values, on the host.
    pub(crate) fn weights(&self) -> Vec<crate::model::ParamValues> {
        each_device!(self, Self, m => m
            .params()
            .into_iter()
            .map(|p| crate::model::ParamValues { name: p.name.clone(), shape: p.shape.clone(), values: p.tensor.as_vec() })
            .collect())
    }

    pub(crate) fn set(&mut self, index: usize, values: &[f32]) -> Result<(), NnError> {
        each_device!(self, Self, m => m.set(index, values))
    }

    pub(crate) fn logits(&self, images: &[f32]) -> Result<Vec<f32>, NnError> {
        each_device!(self, Self, m => m.logits(images))
    }

    pub(crate) fn codes(&self, images: &[f32]) -> Result<Vec<f32>, NnError> {
        each_device!(self, Self, m => m.codes(images))
    }

    pub(crate) fn decoded(&self, codes: &[f32]) -> Result<Vec<f32>, NnError> {
        each_device!(self, Self, m => m.decoded(codes))
    }

    pub(crate) fn gradients(
        &self,
        inputs: &[f32],
        targets: &[f32],
        loss: LossKind,
    ) -> Result<(f32, Vec<Vec<f32>>), NnError> {
        each_device!(self, Self, m => m.gradients(inputs, targets, loss))
    }

    /// A fresh optimizer on this model's device.
    pub(crate) fn optimizer(&self, kind: OptimizerKind) -> DeviceOptimizer {
        match self {
            Self::GenericCpu(_) => DeviceOptimizer::GenericCpu(GenericOptimizer::new(kind)),
            #[cfg(feature = "cuda")]
            Self::Cuda(_) => DeviceOptimizer::Cuda(GenericOptimizer::new(kind)),
        }
    }

    pub(crate) fn step(
        &mut self,
        optimizer: &mut DeviceOptimizer,
        inputs: &[f32],
        targets: &[f32],
        loss: LossKind,
    ) -> Result<f32, NnError> {
        match (self, optimizer) {
            (Self::GenericCpu(m), DeviceOptimizer::GenericCpu(o)) => m.step(o, inputs, targets, loss),
            #[cfg(feature = "cuda")]
            (Self::Cuda(m), DeviceOptimizer::Cuda(o)) => m.step(o, inputs, targets, loss),
            #[allow(unreachable_patterns)]
            _ => Err(NnError::Config("the optimizer's state is on another device than the model".into())),
        }
    }

    /// Replaces `optimizer`'s state by `state`, uploaded to this model's device.
    pub(crate) fn import(&self, optimizer: &mut DeviceOptimizer, state: MomentState) -> Result<(), NnError> {
        match (self, optimizer) {
            (Self::GenericCpu(m), DeviceOptimizer::GenericCpu(o)) => o.import(m.device(), state),
            #[cfg(feature = "cuda")]
            (Self::Cuda(m), DeviceOptimizer::Cuda(o)) => o.import(m.device(), state),
            #[allow(unreachable_patterns)]
            _ => Err(NnError::Config("the optimizer's state is on another device than the model".into())),
        }
    }
}

impl DeviceOptimizer {
    pub(crate) fn steps(&self) -> u64 {
        each_device!(self, Self, o => o.steps())
    }

    pub(crate) fn export(&self) -> MomentState {
        each_device!(self, Self, o => o.export())
    }
}
