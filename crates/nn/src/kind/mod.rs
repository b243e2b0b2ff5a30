//! What a training step minimises, per kind of auto-encoder: each kind's objective is one
//! [`Objective`] in a file of its own (`sparse`, `contractive`, `vae`; the plain reconstruction is
//! [`Reconstruction`] here), registered by its `pub mod` line below. The `train` crate's mapping
//! from a run's config picks one.
//!
//! Random draws an objective needs (a VAE's ε, the contractive penalty's probes) come from the
//! caller as slices: this crate does not choose random streams.

pub mod contractive;
pub mod sparse;
pub mod vae;

use crate::error::NnError;
use crate::model::{CpuModel, Head, Images};
use crate::on_device::Model;
use crate::op::loss::LossKind;
use dfdx::prelude::*;

/// The tape of a training step.
pub type Taped = OwnedTape<f32, Cpu>;
/// A loss term on the tape.
pub type Term = Tensor<Rank0, f32, Cpu, Taped>;

/// A step's loss on the tape: the reconstruction term, and the term the kind adds to it.
pub struct Terms {
    pub reconstruction: Term,
    pub penalty: Option<Term>,
}

/// One kind's training objective.
pub trait Objective: std::fmt::Debug + Send + Sync {
    /// Refuses a model whose head this objective cannot train. The default takes every head but
    /// the Gaussian one, which only the VAE's objective trains.
    fn check(&self, model: &Model) -> Result<(), NnError> {
        deterministic(model)
    }

    /// Standard normal draws a step on `batch` images needs (none by default).
    fn noise_len(&self, _model: &Model, _batch: usize) -> usize {
        0
    }

    /// The loss terms of a batch whose inputs `x` are traced; `noise` holds
    /// [`Objective::noise_len`] draws. The kinds' ops are the CPU path's.
    fn terms(
        &self,
        model: &CpuModel,
        x: Images<Taped>,
        targets: &[f32],
        loss: LossKind,
        noise: &[f32],
    ) -> Result<Terms, NnError>;

    /// Whether [`Objective::terms`] gives a penalty (the metric rows' `penalty` column).
    fn has_penalty(&self) -> bool {
        true
    }

    /// Whether the device-generic path ([`crate::generic`], what CUDA runs) trains this
    /// objective: only the reconstruction alone, whose loss it computes itself. The other kinds
    /// train on [`crate::Device::Cpu`] only.
    fn trains_on_devices(&self) -> bool {
        false
    }
}

/// The reconstruction alone: the tutorial, and a stacked model's fine-tuning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconstruction;

impl Objective for Reconstruction {
    fn terms(
        &self,
        model: &CpuModel,
        x: Images<Taped>,
        targets: &[f32],
        loss: LossKind,
        _: &[f32],
    ) -> Result<Terms, NnError> {
        Ok(Terms { reconstruction: loss.mean(model.forward(x)?, targets)?, penalty: None })
    }

    fn has_penalty(&self) -> bool {
        false
    }

    fn trains_on_devices(&self) -> bool {
        true
    }
}

/// Every head but the Gaussian one: only the VAE's objective trains that.
pub(crate) fn deterministic(model: &Model) -> Result<(), NnError> {
    match model.head() {
        Head::Gaussian => Err(NnError::Config("a Gaussian head is trained with the VAE objective only".into())),
        Head::Linear | Head::Sigmoid => Ok(()),
    }
}

/// Penalty weights must be finite and ≥ 0.
pub(crate) fn check_weight(weight: f64) -> Result<(), NnError> {
    if weight.is_finite() && weight >= 0.0 {
        Ok(())
    } else {
        Err(NnError::Config(format!("penalty weight {weight} must be ≥ 0")))
    }
}
