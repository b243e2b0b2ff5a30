//! Keras 3's Adam and SGD with momentum on any dfdx device, updating parameters in place (dfdx's
//! `axpy`), so that a parameter keeps its tensor id — the key of its gradient — across steps.
//! The same rules, in the same order of operations, as [`crate::train::optim`] (see there).
//!
//! dfdx's own optimizers do not fit: its Adam adds ε to the bias-corrected √v̂ (Keras adds it to
//! √v, a different value in the first thousands of steps), its momentum SGD keeps u/(−lr) (rounded
//! differently), and both update only a `TensorCollection` model.

use crate::error::NnError;
use crate::generic::DeviceResult;
use crate::train::optim::{MomentState, OptimizerKind};
use dfdx::prelude::*;

/// A flat parameter (or moment) tensor.
pub type Flat<D> = Tensor<(usize,), f32, D>;

/// One optimizer's state: per parameter, the first moment (Adam) or velocity (SGD), and the
/// second moment (Adam only), on the parameters' device.
#[derive(Debug, Clone)]
pub struct GenericOptimizer<D: Storage<f32>> {
    kind: OptimizerKind,
    steps: u64,
    state: Vec<(Flat<D>, Option<Flat<D>>)>,
}

impl<D: Device<f32>> GenericOptimizer<D> {
    pub fn new(kind: OptimizerKind) -> Self {
        Self { kind, steps: 0, state: Vec::new() }
    }

    /// Updates applied so far (Adam's `t` of the last one).
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Applies one update to `params` (the same list, in the same order, every step) from their
    /// gradients in `grads`. A parameter that `grads` holds no gradient for gets a zero one
    /// (dfdx's `Gradients::get` panics on a missing id, so one is allocated first).
    pub fn update(&mut self, params: &mut [&mut Flat<D>], grads: &mut Gradients<f32, D>) -> Result<(), NnError> {
        if self.state.is_empty() {
            let adam = matches!(self.kind, OptimizerKind::Adam { .. });
            for p in params.iter() {
                let dev = p.device().clone();
                let m = dev.try_zeros_like(p.shape()).dev()?;
                let v = if adam { Some(dev.try_zeros_like(p.shape()).dev()?) } else { None };
                self.state.push((m, v));
            }
        }
        if self.state.len() != params.len() {
            return Err(NnError::Shape(format!(
                "optimizer holds state for {} parameters, got {}",
                self.state.len(),
                params.len()
            )));
        }
        // `axpy` asserts equal shapes: check before touching anything.
        for (p, (m, _)) in params.iter().zip(&self.state) {
            if p.shape() != m.shape() {
                return Err(NnError::Shape(format!("parameter {:?} against state {:?}", p.shape(), m.shape())));
            }
        }
        self.steps += 1;
        let t = i32::try_from(self.steps).map_err(|_| NnError::Config("too many optimizer steps".into()))?;
        for (p, (m, v)) in params.iter_mut().zip(&mut self.state) {
            grads.try_alloc_for(&**p).dev()?;
            let g = grads.get(&**p); // a copy, with the parameter's shape and strides
            match self.kind {
                OptimizerKind::Adam { learning_rate, beta1, beta2, epsilon } => {
                    let v = v.as_mut().ok_or_else(|| NnError::Config("Adam state without a second moment".into()))?;
                    // α in f64, then f32, as the CPU optimizer computes it.
                    let alpha = (learning_rate * (1.0 - beta2.powi(t)).sqrt() / (1.0 - beta1.powi(t))) as f32;
                    let (b1, b2, eps) = (beta1 as f32, beta2 as f32, epsilon as f32);
                    // m += (g − m)(1 − β1): axpy with 1 and 1 adds exactly.
                    let dm = g.clone().try_sub(m.clone()).dev()?.try_mul(1.0 - b1).dev()?;
                    m.try_axpy(1.0f32, &dm, 1.0f32).dev()?;
                    let dv = g.try_square().dev()?.try_sub(v.clone()).dev()?.try_mul(1.0 - b2).dev()?;
                    v.try_axpy(1.0f32, &dv, 1.0f32).dev()?;
                    let denom = v.clone().try_sqrt().dev()?.try_add(eps).dev()?;
                    let step = m.clone().try_mul(alpha).dev()?.try_div(denom).dev()?;
                    p.try_axpy(1.0f32, &step, -1.0f32).dev()?; // p − step, exactly
                }
                OptimizerKind::Sgd { learning_rate, momentum } => {
                    // u·μ + g·(−lr) rounds as Keras' μ·u − lr·g.
                    m.try_axpy(momentum as f32, &g, -(learning_rate as f32)).dev()?;
                    p.try_axpy(1.0f32, &*m, 1.0f32).dev()?;
                }
            }
        }
        Ok(())
    }

    /// The state on the host: the step count and, per parameter, its moments (none before the
    /// first step).
    pub fn export(&self) -> MomentState {
        let moments = self.state.iter().map(|(m, v)| (m.as_vec(), v.as_ref().map(|v| v.as_vec()))).collect();
        MomentState { steps: self.steps, moments }
    }

    /// Replaces the state by `state` (as [`Self::export`] gives it), uploaded to `dev`.
    pub fn import(&mut self, dev: &D, state: MomentState) -> Result<(), NnError> {
        let adam = matches!(self.kind, OptimizerKind::Adam { .. });
        let mut moments = Vec::with_capacity(state.moments.len());
        for (m, v) in state.moments {
            let upload = |values: Vec<f32>| {
                let n = values.len();
                dev.try_tensor_from_vec(values, (n,)).dev()
            };
            let v = match (adam, v) {
                (true, Some(v)) => Some(upload(v)?),
                (false, _) => None,
                (true, None) => return Err(NnError::Config("Adam state without a second moment".into())),
            };
            moments.push((upload(m)?, v));
        }
        self.steps = state.steps;
        self.state = moments;
        Ok(())
    }
}
