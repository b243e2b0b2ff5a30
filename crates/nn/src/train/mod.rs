//! Training a model on batches given as plain slices, so that callers never handle dfdx types:
//! one step (forward, loss, backward, update) of any kind's [`Objective`], a stacked model's
//! layer-wise pre-training step, gradients alone, and the trainer's whole state in a file
//! ([`state`]). Inference is on the model itself ([`crate::on_device::infer`]).
//!
//! On [`Device::Cpu`] a step runs the objective's ops and [`optim::Optimizer`]; on the other
//! devices the device-generic step ([`crate::generic`]), which trains the reconstruction alone.

pub mod optim;
pub mod state;

use crate::device::{Device, DeviceOptimizer};
use crate::error::NnError;
use crate::kind::{Objective, Reconstruction};
use crate::model::{CpuModel, IMAGE_LEN};
use crate::on_device::{Backend, Model};
use crate::op::loss::{mse_mean, LossKind};
use dfdx::prelude::*;
use optim::{Optimizer, OptimizerKind};

/// A step's loss: the reconstruction term and the term added to it (`None` for a plain
/// objective); their sum is what the step minimised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepLoss {
    pub reconstruction: f32,
    pub penalty: Option<f32>,
}

impl StepLoss {
    pub fn total(&self) -> f32 {
        self.reconstruction + self.penalty.unwrap_or(0.0)
    }
}

pub struct Trainer {
    pub model: Model,
    pub loss: LossKind,
    objective: Box<dyn Objective>,
    optimizer_kind: OptimizerKind,
    optimizer: Updates,
    /// A stacked run's pre-training (CPU only): the encoder layer being trained (1-based) and the
    /// optimizer state of its phase.
    pretrain: Option<(usize, Optimizer)>,
}

/// The optimizer state of the whole model, on the model's device.
enum Updates {
    Cpu(Optimizer),
    Device(DeviceOptimizer),
}

impl Trainer {
    /// A trainer of the reconstruction alone.
    pub fn new(model: Model, loss: LossKind, optimizer: OptimizerKind) -> Self {
        // dfdx's allocation cache stays off (its default) on the CPU: it takes in every dropped
        // buffer but hands out only those asked for by `alloc`, while our ops build tensors from
        // vectors, so it grew by a batch of buffers each step (a 24 GB run). The global allocator
        // (mimalloc) reuses freed memory as well, measured no slower with `runner bench`. (The
        // CUDA device turns it on: its ops are dfdx's own.)
        let updates = match &model.backend {
            Backend::Cpu(_) => Updates::Cpu(Optimizer::new(optimizer)),
            Backend::Device(d) => Updates::Device(d.optimizer(optimizer)),
        };
        Self {
            model,
            loss,
            objective: Box::new(Reconstruction),
            optimizer_kind: optimizer,
            optimizer: updates,
            pretrain: None,
        }
    }

    /// A trainer of `objective`, which must fit the model's head, and, off the CPU device, have a
    /// device-generic form ([`Objective::trains_on_devices`]).
    pub fn with_objective(
        model: Model,
        loss: LossKind,
        optimizer: OptimizerKind,
        objective: Box<dyn Objective>,
    ) -> Result<Self, NnError> {
        objective.check(&model)?;
        if model.device().is_generic() && !objective.trains_on_devices() {
            return Err(NnError::Config(format!(
                "{objective:?} trains on the `{}` device only; `{}` trains the plain reconstruction",
                Device::Cpu,
                model.device()
            )));
        }
        Ok(Self { objective, ..Self::new(model, loss, optimizer) })
    }

    pub fn objective(&self) -> &dyn Objective {
        self.objective.as_ref()
    }

    pub fn optimizer_kind(&self) -> OptimizerKind {
        self.optimizer_kind
    }

    /// How many standard normal draws a step on `batch` images needs.
    pub fn noise_len(&self, batch: usize) -> usize {
        self.objective.noise_len(&self.model, batch)
    }

    /// The loss of a batch and its gradient for every parameter, in [`Model::weights`] order,
    /// with the step's standard normal draws ([`Trainer::noise_len`]).
    pub fn gradients(
        &self,
        inputs: &[f32],
        targets: &[f32],
        noise: &[f32],
    ) -> Result<(StepLoss, Vec<Vec<f32>>), NnError> {
        match &self.model.backend {
            Backend::Cpu(m) => {
                let wanted = self.noise_len(inputs.len() / IMAGE_LEN);
                let objective = self.objective.as_ref();
                let (loss, mut grads) = cpu_loss_and_grads(objective, self.loss, m, (inputs, targets, noise), wanted)?;
                let mut out = Vec::new();
                for p in m.params() {
                    out.push(grads.get_or_alloc_mut(&p.tensor)?.to_vec());
                }
                Ok((loss, out))
            }
            Backend::Device(d) => {
                no_noise(noise)?;
                let (reconstruction, grads) = d.gradients(inputs, targets, self.loss)?;
                Ok((StepLoss { reconstruction, penalty: None }, grads))
            }
        }
    }

    /// One optimisation step on a batch, with its standard normal draws ([`Trainer::noise_len`]);
    /// returns the batch's loss before the update.
    pub fn step(&mut self, inputs: &[f32], targets: &[f32], noise: &[f32]) -> Result<StepLoss, NnError> {
        let wanted = self.noise_len(inputs.len() / IMAGE_LEN);
        match (&mut self.model.backend, &mut self.optimizer) {
            (Backend::Cpu(m), Updates::Cpu(optimizer)) => {
                let objective = self.objective.as_ref();
                let (loss, mut grads) = cpu_loss_and_grads(objective, self.loss, m, (inputs, targets, noise), wanted)?;
                optimizer.update(m.params_mut(), &mut grads)?;
                Ok(loss)
            }
            (Backend::Device(d), Updates::Device(optimizer)) => {
                no_noise(noise)?;
                let reconstruction = d.step(optimizer, inputs, targets, self.loss)?;
                Ok(StepLoss { reconstruction, penalty: None })
            }
            _ => Err(NnError::Config("the trainer's model was moved to another device than its optimizer's".into())),
        }
    }

    /// One step of greedy layer-wise pre-training (dense model, CPU device): encoder layer
    /// `layer` (1-based) and its mirror in the decoder, trained as a shallow auto-encoder on the
    /// codes that the layers below give `inputs`, reconstructing the codes they give `targets`
    /// (the images themselves for layer 1, with the run's loss; the MSE of the codes above).
    /// Only those two layers change, with an optimizer state of their own, fresh for each layer
    /// (Keras compiles each shallow model anew). Returns the loss before the update.
    pub fn pretrain_step(&mut self, layer: usize, inputs: &[f32], targets: &[f32]) -> Result<f32, NnError> {
        let model = self.model.cpu_only("layer-wise pre-training")?;
        let CpuModel::Dense(m) = model else {
            return Err(NnError::Config("layer-wise pre-training needs the dense model".into()));
        };
        if layer == 0 || layer > m.encoder.len() {
            return Err(NnError::Config(format!("no encoder layer {layer} to pre-train (1..={})", m.encoder.len())));
        }
        if inputs.len() != targets.len() {
            return Err(NnError::Shape(format!("{} input values but {} target values", inputs.len(), targets.len())));
        }
        let below = m.encode_layers(model.images(inputs)?, layer - 1)?; // [b, width below]
        let enc = &m.encoder[layer - 1];
        let dec = &m.decoder[m.mirror(layer - 1)];
        let code = enc.forward(below.leaky_traced(), enc.outputs)?; // [b, width of the layer]
        let out = dec.forward(code, dec.outputs)?; // [b, width below]
        let loss = if layer == 1 {
            self.loss.mean(out, targets)?
        } else {
            let wanted = m.encode_layers(model.images(targets)?, layer - 1)?.as_vec();
            mse_mean(out, &wanted)?
        };
        let value = loss.array();
        let mut grads = loss.try_backward()?;
        if self.pretrain.as_ref().map(|p| p.0) != Some(layer) {
            self.pretrain = Some((layer, Optimizer::new(self.optimizer_kind)));
        }
        let (Some((_, optimizer)), Some(CpuModel::Dense(m))) = (&mut self.pretrain, self.model.cpu_mut()) else {
            return Err(NnError::Config("layer-wise pre-training needs the dense model".into()));
        };
        let params = pretrain_params(m, layer);
        optimizer.update(params, &mut grads)?;
        Ok(value)
    }

    pub fn optimizer_steps(&self) -> u64 {
        match &self.optimizer {
            Updates::Cpu(o) => o.steps(),
            Updates::Device(o) => o.steps(),
        }
    }
}

/// The parameters a pre-training step of encoder layer `layer` (1-based) updates, in its
/// optimizer's order: the layer's kernel and bias, then its mirror's.
pub(crate) fn pretrain_params(m: &mut crate::model::DenseAutoEncoder, layer: usize) -> Vec<&mut crate::model::Param> {
    let mirror = m.mirror(layer - 1);
    m.encoder[layer - 1].params_mut().into_iter().chain(m.decoder[mirror].params_mut()).collect()
}

/// The names and shapes of [`pretrain_params`], in the same order.
pub(crate) fn pretrain_shapes(m: &crate::model::DenseAutoEncoder, layer: usize) -> Vec<(String, Vec<usize>)> {
    let mirror = m.mirror(layer - 1);
    m.encoder[layer - 1]
        .params()
        .into_iter()
        .chain(m.decoder[mirror].params())
        .map(|p| (p.name.clone(), p.shape.clone()))
        .collect()
}

/// The device-generic step draws nothing: its only objective, the reconstruction, needs no noise.
fn no_noise(noise: &[f32]) -> Result<(), NnError> {
    if noise.is_empty() {
        Ok(())
    } else {
        Err(NnError::Shape(format!("{} noise values for an objective that takes none", noise.len())))
    }
}

/// Forward and backward pass of one batch on the CPU model: its loss and the gradients in the tape.
/// `wanted` is the noise length the objective needs for this batch ([`Trainer::noise_len`]).
fn cpu_loss_and_grads(
    objective: &dyn Objective,
    loss_kind: LossKind,
    model: &CpuModel,
    batch: (&[f32], &[f32], &[f32]),
    wanted: usize,
) -> Result<(StepLoss, Gradients<f32, Cpu>), NnError> {
    let (inputs, targets, noise) = batch;
    if inputs.len() != targets.len() {
        return Err(NnError::Shape(format!("{} input values but {} target values", inputs.len(), targets.len())));
    }
    let x = model.images(inputs)?;
    let b = x.shape().0;
    if noise.len() != wanted {
        return Err(NnError::Shape(format!(
            "{} noise values for a batch of {b}; this objective needs {wanted}",
            noise.len()
        )));
    }
    let terms = objective.terms(model, x.leaky_traced(), targets, loss_kind, noise)?;
    let loss =
        StepLoss { reconstruction: terms.reconstruction.array(), penalty: terms.penalty.as_ref().map(|p| p.array()) };
    let total = match terms.penalty {
        Some(p) => terms.reconstruction + p,
        None => terms.reconstruction,
    };
    Ok((loss, total.try_backward()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::contractive::{Contraction, Contractive};
    use crate::kind::sparse::{SparseKl, SparseL1};
    use crate::kind::vae::{self, image_kl, log_mean_exp, Vae, LN_2PI};
    use crate::model::{Architecture, Head, ModelSpec};
    use crate::scalar::bce_with_logits;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn model(spec: &ModelSpec, seed: u64) -> Model {
        Model::new(Device::Cpu, spec, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap()
    }

    fn trainer(arch: Architecture, loss: LossKind) -> Trainer {
        Trainer::new(model(&ModelSpec::plain(arch, 8, vec![32]), 1), loss, OptimizerKind::adam(1e-3))
    }

    fn images(n: usize) -> Vec<f32> {
        (0..n * IMAGE_LEN).map(|i| ((i * 7919) % 97) as f32 / 96.0).collect()
    }

    fn normals(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.sample::<f64, _>(rand_distr::StandardNormal) as f32).collect()
    }

    #[test]
    fn training_lowers_the_loss() {
        for arch in [Architecture::Conv, Architecture::Dense] {
            for loss in [LossKind::Bce, LossKind::Mse] {
                let mut t = trainer(arch, loss);
                let x = images(4);
                let first = t.step(&x, &x, &[]).unwrap().total();
                let mut last = first;
                for _ in 0..10 {
                    last = t.step(&x, &x, &[]).unwrap().total();
                }
                assert!(last < first, "{arch:?} {loss:?}: {first} → {last}");
            }
        }
    }

    #[test]
    fn evaluation_matches_the_training_loss_definition() {
        // The step's BCE (dfdx, mean over pixels) and the evaluation's (per-pixel formula, f64
        // sum) are the same quantity.
        let t = trainer(Architecture::Conv, LossKind::Bce);
        let x = images(4);
        let (loss, _) = t.gradients(&x, &x, &[]).unwrap();
        let sums = t.model.evaluate(&x, &x, None).unwrap();
        let loss = loss.total();
        assert!((sums.bce_mean() - loss as f64).abs() < 1e-5, "{} vs {loss}", sums.bce_mean());
        assert_eq!(sums.pixels, 4 * 784);
        let recon = t.model.reconstruct(&x, None).unwrap();
        let mse: f64 = recon.iter().zip(&x).map(|(a, b)| ((a - b) * (a - b)) as f64).sum::<f64>() / recon.len() as f64;
        assert!((mse - sums.mse_mean()).abs() < 1e-9);
        assert!((sums.psnr() - (-10.0 * mse.log10())).abs() < 1e-6);
        assert_eq!(t.model.encode_all(&x).unwrap().len(), 4 * 8);
    }

    #[test]
    fn bce_formula_is_stable_for_large_logits() {
        assert!((bce_with_logits(100.0, 1.0)).abs() < 1e-6);
        assert!((bce_with_logits(-100.0, 1.0) - 100.0).abs() < 1e-3);
        assert!((bce_with_logits(0.0, 0.5) - std::f32::consts::LN_2).abs() < 1e-6);
    }

    #[test]
    fn bad_batches_are_errors() {
        let mut t = trainer(Architecture::Dense, LossKind::Bce);
        assert!(t.step(&[0.0; 100], &[0.0; 100], &[]).is_err());
        assert!(t.step(&images(1), &images(2), &[]).is_err());
    }

    fn kind_trainer(
        arch: Architecture,
        hidden: Vec<usize>,
        latent: usize,
        head: Head,
        objective: Box<dyn Objective>,
    ) -> Trainer {
        let spec = ModelSpec { architecture: arch, latent_dim: latent, hidden, head };
        Trainer::with_objective(model(&spec, 1), LossKind::Bce, OptimizerKind::adam(1e-3), objective).unwrap()
    }

    /// Every kind's objective with the head it needs, and whether it adds a penalty.
    fn objectives() -> Vec<(Head, Box<dyn Objective>, bool)> {
        vec![
            (Head::Linear, Box::new(Reconstruction), false),
            (Head::Linear, Box::new(SparseL1 { weight: 0.05 }), true),
            (Head::Sigmoid, Box::new(SparseKl { weight: 0.05, target: 0.1 }), true),
            (Head::Sigmoid, Box::new(Contractive { weight: 0.05 }), true),
            (Head::Linear, Box::new(Contractive { weight: 0.05 }), true),
            (Head::Gaussian, Box::new(Vae { beta: 2.0 }), true),
        ]
    }

    #[test]
    fn each_objective_gradient_matches_finite_differences_of_its_loss() {
        // A shallow dense model (784 → 3 → 784) has no ReLU, so every objective is smooth in
        // every parameter. Reference: central differences in f64 of the step's total loss (f32),
        // step 1e-2, at a spread of each parameter's elements, with the noise held fixed.
        let x = images(2);
        for (head, objective, penalised) in objectives() {
            let name = format!("{objective:?}");
            let mut t = kind_trainer(Architecture::Dense, vec![], 3, head, objective);
            let noise = normals(t.noise_len(2), 3);
            let (loss, analytic) = t.gradients(&x, &x, &noise).unwrap();
            assert_eq!(loss.penalty.is_some(), penalised, "{name}");
            assert_eq!(t.objective().has_penalty(), penalised, "{name}");
            let h = 1e-2f32;
            // The f32 loss is rounded to ~1e-7 of itself; divided by 2h.
            let floor = 1e-7 * loss.total().abs() as f64 / h as f64 * 4.0;
            let mut checked = 0;
            for (p, grad) in analytic.iter().enumerate() {
                let n = grad.len();
                for i in (0..n).step_by((n / 6).max(1)) {
                    let base = t.model.weights()[p].values.clone();
                    let mut at = |d: f32| {
                        let mut v = base.clone();
                        v[i] += d;
                        t.model.set_weights(p, &v).unwrap();
                        t.gradients(&x, &x, &noise).unwrap().0.total() as f64
                    };
                    let numeric = (at(h) - at(-h)) / (2.0 * h as f64);
                    at(0.0);
                    let a = grad[i] as f64;
                    assert!(
                        (a - numeric).abs() <= 2e-2 * numeric.abs() + floor,
                        "{name} parameter {p} element {i}: analytic {a} vs numeric {numeric}"
                    );
                    checked += 1;
                }
            }
            assert!(checked >= 20, "{name}: {checked}");
            if head == Head::Sigmoid && name.starts_with("Contractive") {
                assert_eq!((Contraction::of(&t.model), t.noise_len(2)), (Contraction::Exact, 0), "Rifai's closed form");
            }
        }
    }

    #[test]
    fn every_objective_trains_with_both_architectures() {
        let x = images(4);
        for arch in [Architecture::Dense, Architecture::Conv] {
            for (head, objective, _) in objectives() {
                let name = format!("{objective:?}");
                let mut t = kind_trainer(arch, vec![16], 4, head, objective);
                let noise = normals(t.noise_len(4), 5);
                let first = t.step(&x, &x, &noise).unwrap();
                let mut last = first;
                for _ in 0..10 {
                    last = t.step(&x, &x, &noise).unwrap();
                }
                assert!(last.total() < first.total(), "{arch:?} {name}: {first:?} → {last:?}");
                assert!(last.penalty.is_none_or(|p| p.is_finite() && p >= 0.0), "{arch:?} {name}");
            }
        }
    }

    #[test]
    fn objectives_refuse_heads_they_cannot_train_and_missing_noise() {
        let build = |head, objective: Box<dyn Objective>| {
            let spec = ModelSpec { architecture: Architecture::Dense, latent_dim: 2, hidden: vec![], head };
            Trainer::with_objective(model(&spec, 0), LossKind::Bce, OptimizerKind::adam(1e-3), objective)
        };
        assert!(build(Head::Linear, Box::new(Vae { beta: 1.0 })).is_err());
        assert!(build(Head::Gaussian, Box::new(Reconstruction)).is_err());
        assert!(build(Head::Linear, Box::new(SparseKl { weight: 1.0, target: 0.1 })).is_err());
        assert!(build(Head::Sigmoid, Box::new(SparseKl { weight: 1.0, target: 1.5 })).is_err());
        assert!(build(Head::Linear, Box::new(SparseL1 { weight: -1.0 })).is_err());
        let mut vae = build(Head::Gaussian, Box::new(Vae { beta: 1.0 })).unwrap();
        let e = vae.step(&images(1), &images(1), &[]).unwrap_err().to_string();
        assert!(e.contains("noise"), "{e}");
    }

    #[test]
    fn the_vae_trains_on_the_sampled_code_and_reconstructs_from_the_mean() {
        let x = images(3);
        let t = kind_trainer(Architecture::Dense, vec![8], 2, Head::Gaussian, Box::new(Vae { beta: 1.0 }));
        let noise = normals(t.noise_len(3), 1);
        let (loss, _) = t.gradients(&x, &x, &noise).unwrap();
        // Reference for the loss: the per-image BCE sum of decoding μ + σε, and the closed-form KL.
        let m = t.model.cpu().unwrap();
        let stats = m.encode_stats(m.images(&x).unwrap()).unwrap().as_vec();
        let z: Vec<f32> = stats
            .chunks(4)
            .zip(noise.chunks(2))
            .flat_map(|(s, e)| (0..2).map(move |j| s[j] + (0.5 * s[2 + j]).exp() * e[j]))
            .collect();
        let logits = m.decode(m.codes(z).unwrap()).unwrap().as_vec();
        let recon: f64 = logits.iter().zip(&x).map(|(&l, &v)| bce_with_logits(l, v) as f64).sum::<f64>() / 3.0;
        let kl: f64 = stats.chunks(4).map(|s| image_kl(&s[..2], &s[2..])).sum::<f64>() / 3.0;
        assert!((loss.reconstruction as f64 - recon).abs() < 1e-3 * recon, "{} vs {recon}", loss.reconstruction);
        assert!((loss.penalty.unwrap() as f64 - kl).abs() < 1e-4 * (1.0 + kl));
        // Codes and reconstructions use the mean.
        let codes = t.model.encode_all(&x).unwrap();
        assert_eq!(codes, stats.chunks(4).flat_map(|s| s[..2].to_vec()).collect::<Vec<_>>());
        let recon_mu = t.model.decode_all(&codes).unwrap();
        assert_eq!(recon_mu, t.model.reconstruct(&x, None).unwrap());
    }

    #[test]
    fn the_importance_sampled_likelihood_matches_integration_over_a_one_dimensional_code() {
        // Reference: p(x) = ∫ p(x|z) p(z) dz by the trapezoid rule over z in [−8, 8] (4001 points,
        // decoded in one batch), log-sum-exp in f64. With 2000 importance samples the estimate
        // must agree to a few hundredths of a nat, and it must exceed the ELBO of one sample
        // (the negative ELBO bounds −log p(x) from above, up to sampling noise of ~1 nat here).
        let t = kind_trainer(Architecture::Dense, vec![16], 1, Head::Gaussian, Box::new(Vae { beta: 1.0 }));
        let x = images(2);
        let grid: Vec<f32> = (0..4001).map(|k| -8.0 + k as f32 * 0.004).collect();
        let m = t.model.cpu().unwrap();
        let decoded = m.decode(m.codes(grid.clone()).unwrap()).unwrap().as_vec();
        for (i, image) in x.chunks(IMAGE_LEN).enumerate() {
            let terms: Vec<f64> = grid
                .iter()
                .zip(decoded.chunks(IMAGE_LEN))
                .enumerate()
                .map(|(k, (&z, l))| {
                    let w = if k == 0 || k == grid.len() - 1 { 0.5f64 } else { 1.0 };
                    let log_px: f64 = l.iter().zip(image).map(|(&a, &b)| -(bce_with_logits(a, b) as f64)).sum();
                    log_px - 0.5 * ((z as f64).powi(2) + LN_2PI) + (w * 0.004).ln()
                })
                .collect();
            let exact = log_mean_exp(&terms) + (terms.len() as f64).ln();
            let fill = |_: usize, e: &mut [f32]| e.copy_from_slice(&normals(e.len(), 7 + i as u64));
            let estimate = vae::log_likelihood(&t.model, LossKind::Bce, image, 2000, fill).unwrap();
            assert!((estimate - exact).abs() < 0.05, "image {i}: IS {estimate} vs integral {exact}");
            let fill = |_: usize, e: &mut [f32]| e.copy_from_slice(&normals(e.len(), 9));
            let bound = vae::evaluate(&t.model, LossKind::Bce, image, fill).unwrap();
            assert!(-bound.neg_elbo_mean() < exact + 1.0, "ELBO {} vs log p(x) {exact}", -bound.neg_elbo_mean());
            assert!(bound.kl >= 0.0 && bound.images == 1);
        }
    }

    #[test]
    fn the_likelihood_estimate_does_not_depend_on_how_images_are_grouped() {
        // The draws of image i come from `noise(i, ·)` whatever group it is decoded in.
        let t = kind_trainer(Architecture::Dense, vec![8], 2, Head::Gaussian, Box::new(Vae { beta: 1.0 }));
        let x = images(5);
        let fill = |i: usize, e: &mut [f32]| e.copy_from_slice(&normals(e.len(), i as u64));
        let whole = vae::log_likelihood(&t.model, LossKind::Bce, &x, 300, fill).unwrap();
        let one_by_one: f64 = x
            .chunks(IMAGE_LEN)
            .enumerate()
            .map(|(i, img)| vae::log_likelihood(&t.model, LossKind::Bce, img, 300, |_, e| fill(i, e)).unwrap())
            .sum();
        assert!((whole - one_by_one).abs() < 1e-9 * whole.abs(), "{whole} vs {one_by_one}");
    }

    #[test]
    fn layer_wise_pretraining_changes_only_the_layer_and_its_mirror() {
        let mut t = kind_trainer(Architecture::Dense, vec![32, 16], 4, Head::Linear, Box::new(Reconstruction));
        let x = images(6);
        let before: Vec<Vec<f32>> = t.model.weights().into_iter().map(|w| w.values).collect();
        let names: Vec<String> = t.model.weights().into_iter().map(|w| w.name).collect();
        let first = t.pretrain_step(2, &x, &x).unwrap();
        let mut last = first;
        for _ in 0..15 {
            last = t.pretrain_step(2, &x, &x).unwrap();
        }
        assert!(last < first, "layer 2's reconstruction of the layer-1 codes: {first} → {last}");
        let changed: Vec<&str> = t
            .model
            .weights()
            .iter()
            .zip(&before)
            .zip(&names)
            .filter(|((w, b), _)| w.values != **b)
            .map(|(_, n)| n.as_str())
            .collect();
        assert_eq!(
            changed,
            ["encoder.dense2.kernel", "encoder.dense2.bias", "decoder.dense2.kernel", "decoder.dense2.bias"]
        );
        assert_eq!(t.optimizer_steps(), 0, "the fine-tuning optimizer is untouched");
        // Evaluation at depth 2: the two pre-trained encoder layers and their mirrors.
        let partial = t.model.evaluate(&x, &x, Some(2)).unwrap();
        assert_ne!(partial, t.model.evaluate(&x, &x, None).unwrap());
        assert!(t.model.evaluate(&x, &x, Some(4)).is_err() && t.pretrain_step(4, &x, &x).is_err());
    }
}
