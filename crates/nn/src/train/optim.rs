//! Optimizers, updating parameters in place exactly as Keras 3 does.
//!
//! Adam (Keras): m ← m + (g − m)(1 − β1); v ← v + (g² − v)(1 − β2);
//! α = lr·√(1 − β2ᵗ)/(1 − β1ᵗ); p ← p − α·m/(√v + ε), with ε added outside the bias correction
//! (unlike the paper's ε̂ and dfdx's Adam). SGD with momentum (Keras, not Nesterov):
//! u ← μ·u − lr·g; p ← p + u.

use crate::error::NnError;
use crate::model::param::Param;
use dfdx::prelude::*;
use rayon::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptimizerKind {
    Adam { learning_rate: f64, beta1: f64, beta2: f64, epsilon: f64 },
    Sgd { learning_rate: f64, momentum: f64 },
}

impl OptimizerKind {
    /// Adam with Keras' defaults (β1 0.9, β2 0.999, ε 1e-7).
    pub fn adam(learning_rate: f64) -> Self {
        Self::Adam { learning_rate, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }
    }

    /// `adam` or `sgd` (the settings left out).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Adam { .. } => "adam",
            Self::Sgd { .. } => "sgd",
        }
    }
}

/// An optimizer's state on the host, as a training-state file holds it: the updates applied
/// so far and, per parameter in [`crate::Model::weights`] order, the first moment (Adam) or
/// velocity (SGD) and Adam's second moment. No moments before the first update.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MomentState {
    pub steps: u64,
    pub moments: Vec<(Vec<f32>, Option<Vec<f32>>)>,
}

#[derive(Debug, Clone)]
pub struct Optimizer {
    kind: OptimizerKind,
    steps: u64,
    /// Per parameter: first moment (Adam) or velocity (SGD), and second moment (Adam).
    state: Vec<(Vec<f32>, Vec<f32>)>,
    scratch: Vec<f32>,
}

impl Optimizer {
    pub fn new(kind: OptimizerKind) -> Self {
        Self { kind, steps: 0, state: Vec::new(), scratch: Vec::new() }
    }

    pub fn steps(&self) -> u64 {
        self.steps
    }

    pub fn kind(&self) -> OptimizerKind {
        self.kind
    }

    /// The state, copied (see [`MomentState`]).
    pub fn export(&self) -> MomentState {
        let adam = matches!(self.kind, OptimizerKind::Adam { .. });
        let moments = self.state.iter().map(|(m, v)| (m.clone(), adam.then(|| v.clone()))).collect();
        MomentState { steps: self.steps, moments }
    }

    /// Replaces the state by `state`; an SGD state gets the unused second buffer a fresh one has.
    pub fn import(&mut self, state: MomentState) -> Result<(), NnError> {
        let adam = matches!(self.kind, OptimizerKind::Adam { .. });
        let mut moments = Vec::with_capacity(state.moments.len());
        for (m, v) in state.moments {
            let v = match (adam, v) {
                (true, Some(v)) if v.len() == m.len() => v,
                (true, _) => return Err(NnError::Shape("an Adam state needs both moments, of equal length".into())),
                (false, _) => vec![0.0; m.len()],
            };
            moments.push((m, v));
        }
        self.steps = state.steps;
        self.state = moments;
        Ok(())
    }

    /// Applies one update from the gradients of `params` held in `grads`.
    pub fn update(&mut self, params: Vec<&mut Param>, grads: &mut Gradients<f32, Cpu>) -> Result<(), NnError> {
        if self.state.is_empty() {
            self.state = params.iter().map(|p| (vec![0.0; p.len()], vec![0.0; p.len()])).collect();
        }
        if self.state.len() != params.len() {
            return Err(NnError::Shape(format!(
                "optimizer holds state for {} parameters, got {}",
                self.state.len(),
                params.len()
            )));
        }
        self.steps += 1;
        let t = self.steps as i32;
        for (p, (m, v)) in params.into_iter().zip(&mut self.state) {
            let g: &[f32] = grads.get_or_alloc_mut(&p.tensor)?;
            if g.len() != p.len() || m.len() != p.len() {
                return Err(NnError::Shape(format!(
                    "{}: gradient of {} values for {} parameters",
                    p.name,
                    g.len(),
                    p.len()
                )));
            }
            self.scratch.resize(p.len(), 0.0);
            p.tensor.copy_into(&mut self.scratch);
            // Element-wise updates: splitting them across threads cannot change any result.
            const SPLIT: usize = 16 * 1024;
            let (scratch, g) = (&mut self.scratch[..], g);
            match self.kind {
                OptimizerKind::Adam { learning_rate, beta1, beta2, epsilon } => {
                    let alpha = (learning_rate * (1.0 - beta2.powi(t)).sqrt() / (1.0 - beta1.powi(t))) as f32;
                    let (b1, b2, eps) = (beta1 as f32, beta2 as f32, epsilon as f32);
                    scratch
                        .par_chunks_mut(SPLIT)
                        .zip(m.par_chunks_mut(SPLIT))
                        .zip(v.par_chunks_mut(SPLIT))
                        .zip(g.par_chunks(SPLIT))
                        .for_each(|(((p, m), v), g)| {
                            for i in 0..p.len() {
                                m[i] += (g[i] - m[i]) * (1.0 - b1);
                                v[i] += (g[i] * g[i] - v[i]) * (1.0 - b2);
                                p[i] -= alpha * m[i] / (v[i].sqrt() + eps);
                            }
                        });
                }
                OptimizerKind::Sgd { learning_rate, momentum } => {
                    let (lr, mu) = (learning_rate as f32, momentum as f32);
                    scratch.par_chunks_mut(SPLIT).zip(m.par_chunks_mut(SPLIT)).zip(g.par_chunks(SPLIT)).for_each(
                        |((p, m), g)| {
                            for i in 0..p.len() {
                                m[i] = mu * m[i] - lr * g[i];
                                p[i] += m[i];
                            }
                        },
                    );
                }
            }
            p.tensor.copy_from(&self.scratch);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: OptimizerKind, grads_seq: &[f32]) -> f32 {
        let dev = Cpu::default();
        let mut p = Param::zeros(&dev, "w", &[1]);
        p.set(&[1.0]).unwrap();
        let mut opt = Optimizer::new(kind);
        for &g in grads_seq {
            let mut grads = Gradients::leaky();
            grads.get_or_alloc_mut(&p.tensor).unwrap()[0] = g;
            opt.update(vec![&mut p], &mut grads).unwrap();
        }
        p.tensor.as_vec()[0]
    }

    #[test]
    fn adam_matches_keras() {
        // Keras 3: w = Variable([1.0]); Adam(0.1) applied to gradients 0.5, then −0.25.
        // Step 1: m = 0.05, v = 0.00025, α = 0.1·√0.001/0.1 = 0.0316228,
        // w = 1 − 0.0316228·0.05/(√0.00025 + 1e-7) = 0.90000063. Step 2 from the same rule in f64.
        let w1 = run(OptimizerKind::adam(0.1), &[0.5]);
        assert!((w1 - 0.900_000_63).abs() < 1e-6, "{w1}");
        let w2 = run(OptimizerKind::adam(0.1), &[0.5, -0.25]);
        let (m, v): (f64, f64) = (0.9 * 0.05 + 0.1 * -0.25, 0.999 * 0.00025 + 0.001 * 0.0625);
        let alpha = 0.1 * (1.0f64 - 0.999f64.powi(2)).sqrt() / (1.0 - 0.9f64.powi(2));
        let want = w1 as f64 - alpha * m / (v.sqrt() + 1e-7);
        assert!((w2 as f64 - want).abs() < 1e-6, "{w2} vs {want}");
    }

    #[test]
    fn sgd_momentum_matches_keras() {
        // u1 = −0.1·1 = −0.1 → w 0.9; u2 = 0.9·(−0.1) − 0.1·1 = −0.19 → w 0.71.
        let w = run(OptimizerKind::Sgd { learning_rate: 0.1, momentum: 0.9 }, &[1.0, 1.0]);
        assert!((w - 0.71).abs() < 1e-6, "{w}");
    }
}
