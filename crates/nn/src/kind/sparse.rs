//! The sparse auto-encoder's objectives: the reconstruction plus an activity penalty on the code,
//! L1 on a linear code (the Keras blog's) or KL towards a target mean activation on a sigmoid
//! code (UFLDL's). The penalties themselves are ops in [`crate::op::penalty`].

use crate::error::NnError;
use crate::kind::{check_weight, deterministic, Objective, Taped, Terms};
use crate::model::{CpuModel, Head, Images};
use crate::on_device::Model;
use crate::op::loss::LossKind;
use crate::op::penalty::{kl_sparsity, l1_mean};
use dfdx::prelude::*;

/// + weight · mean_b Σ_j |z_j|.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SparseL1 {
    pub weight: f64,
}

/// + weight · Σ_j KL(target ‖ ρ̂_j), ρ̂_j the batch mean of code unit j.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SparseKl {
    pub weight: f64,
    pub target: f64,
}

impl Objective for SparseL1 {
    fn check(&self, model: &Model) -> Result<(), NnError> {
        check_weight(self.weight)?;
        deterministic(model)
    }

    fn terms(
        &self,
        model: &CpuModel,
        x: Images<Taped>,
        targets: &[f32],
        loss: LossKind,
        _: &[f32],
    ) -> Result<Terms, NnError> {
        // The code is consumed by the decoder and by the penalty: the penalty gets a copy with
        // its own tape, which the final sum merges back (dfdx runs the merged backward ops in
        // creation order, so the code's gradient is complete before the encoder's ops run).
        let z = model.encode(x)?; // [b, latent]
        let penalty = l1_mean(z.with_empty_tape(), self.weight)?;
        Ok(Terms { reconstruction: loss.mean(model.decode(z)?, targets)?, penalty: Some(penalty) })
    }
}

impl Objective for SparseKl {
    fn check(&self, model: &Model) -> Result<(), NnError> {
        check_weight(self.weight)?;
        if !(self.target > 0.0 && self.target < 1.0) {
            return Err(NnError::Config(format!("sparsity target {} must lie in (0, 1)", self.target)));
        }
        if model.head() != Head::Sigmoid {
            return Err(NnError::Config("the KL sparsity penalty needs a sigmoid code".into()));
        }
        Ok(())
    }

    fn terms(
        &self,
        model: &CpuModel,
        x: Images<Taped>,
        targets: &[f32],
        loss: LossKind,
        _: &[f32],
    ) -> Result<Terms, NnError> {
        let h = model.encode(x)?; // [b, latent] in (0, 1)
        let penalty = kl_sparsity(h.with_empty_tape(), self.target, self.weight)?;
        Ok(Terms { reconstruction: loss.mean(model.decode(h)?, targets)?, penalty: Some(penalty) })
    }
}
