//! Training and evaluation of a model on batches given as plain slices, so that callers never
//! handle dfdx types: one step (forward, loss, backward, update) of any kind's objective, a stacked
//! model's layer-wise pre-training step, gradients alone, evaluation sums (and a VAE's bound and
//! importance-sampled likelihood), reconstructions, codes and decoded samples.
//!
//! Random draws (a VAE's ε, the contractive penalty's probes) come from the caller, as slices or
//! per-image fill functions: this crate does not choose random streams.

use crate::error::NnError;
use crate::model::{Codes, Head, Images, Model, IMAGE_LEN};
use crate::optim::{Optimizer, OptimizerKind};
use crate::vae::{image_kl, log_mean_exp, LN_2PI};
use dfdx::prelude::*;

type Taped = OwnedTape<f32, Cpu>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossKind {
    /// Keras' BinaryCrossentropy on a sigmoid output: from the logits, mean over all pixels.
    Bce,
    /// Mean squared error of the sigmoid output, over all pixels.
    Mse,
}

/// What a training step minimises besides the reconstruction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Objective {
    /// The reconstruction alone.
    Reconstruction,
    /// + weight · mean_b Σ_j |z_j| (see [`crate::penalty::l1_mean`]).
    SparseL1 { weight: f64 },
    /// + weight · Σ_j KL(target ‖ ρ̂_j) on a sigmoid code (see [`crate::penalty::kl_sparsity`]).
    SparseKl { weight: f64, target: f64 },
    /// + weight · ‖J_f(x)‖²_F, see [`Contraction`].
    Contractive { weight: f64 },
    /// The negative β-ELBO: reconstruction summed per image + β·KL (see [`crate::vae`]).
    Vae { beta: f64 },
}

/// How the contractive penalty is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contraction {
    /// Rifai's closed form, for a dense encoder that is one sigmoid layer.
    Exact,
    /// Hutchinson's estimate ‖J ε‖², one Gaussian probe per image, with Jε computed exactly by a
    /// tangent pass (see [`crate::contractive`]).
    Hutchinson,
}

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

/// Evaluation is done in chunks of this many images: a fixed size, so that the sums (and the
/// metrics) do not depend on the training batch size or the thread count.
pub const EVAL_CHUNK: usize = 500;

/// Per-pixel sums over an evaluated set, in f64.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EvalSums {
    pub bce: f64,
    pub mse: f64,
    pub pixels: u64,
}

impl EvalSums {
    pub fn bce_mean(&self) -> f64 {
        self.bce / self.pixels.max(1) as f64
    }
    pub fn mse_mean(&self) -> f64 {
        self.mse / self.pixels.max(1) as f64
    }
    /// Peak signal-to-noise ratio in dB for images in [0, 1].
    pub fn psnr(&self) -> f64 {
        -10.0 * self.mse_mean().log10()
    }
}

/// A VAE's bound over a set of images: sums of per-image nats, in f64.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct VaeSums {
    /// Σ KL(q(z|x) ‖ p(z)).
    pub kl: f64,
    /// Σ (−log p(x|z) + KL) with one z ~ q(z|x) per image: the negative ELBO (β = 1).
    pub neg_elbo: f64,
    pub images: u64,
}

impl VaeSums {
    pub fn kl_mean(&self) -> f64 {
        self.kl / self.images.max(1) as f64
    }
    pub fn neg_elbo_mean(&self) -> f64 {
        self.neg_elbo / self.images.max(1) as f64
    }
}

pub struct Trainer {
    pub dev: Cpu,
    pub model: Model,
    pub loss: LossKind,
    objective: Objective,
    optimizer_kind: OptimizerKind,
    optimizer: Optimizer,
    /// A stacked run's pre-training: the encoder layer being trained (1-based) and the optimizer
    /// state of its phase.
    pretrain: Option<(usize, Optimizer)>,
    /// Evaluate and reconstruct with the model cut at this encoder depth (see
    /// [`crate::model::DenseAutoEncoder::forward_depth`]) instead of the whole model.
    depth: Option<usize>,
}

impl Trainer {
    /// A trainer of the reconstruction alone; see [`Trainer::with_objective`] for the other kinds.
    pub fn new(dev: Cpu, model: Model, loss: LossKind, optimizer: OptimizerKind) -> Self {
        // dfdx's allocation cache stays off (its default): it takes in every dropped buffer but
        // hands out only those asked for by `alloc`, while our ops build tensors from vectors,
        // so it grew by a batch of buffers each step (a 24 GB run). The global allocator
        // (mimalloc) reuses freed memory as well, measured no slower with `runner bench`.
        Self {
            dev,
            model,
            loss,
            objective: Objective::Reconstruction,
            optimizer_kind: optimizer,
            optimizer: Optimizer::new(optimizer),
            pretrain: None,
            depth: None,
        }
    }

    /// Sets what a step minimises; the model's head must fit it (a Gaussian head for the VAE and
    /// only for it, a sigmoid code for the KL sparsity term).
    pub fn with_objective(mut self, objective: Objective) -> Result<Self, NnError> {
        let head = self.model.head();
        let bad = |what: String| Err(NnError::Config(what));
        let weight_ok = |w: f64| w.is_finite() && w >= 0.0;
        match objective {
            Objective::Vae { beta } if !(beta.is_finite() && beta > 0.0) => {
                return bad(format!("β {beta} must be > 0"))
            }
            Objective::Vae { .. } if head != Head::Gaussian => {
                return bad(format!("the VAE objective needs a Gaussian head, the model has a {} code", head.name()))
            }
            Objective::Vae { .. } => {}
            _ if head == Head::Gaussian => return bad("a Gaussian head is trained with the VAE objective only".into()),
            Objective::SparseKl { target, .. } if !(target > 0.0 && target < 1.0) => {
                return bad(format!("sparsity target {target} must lie in (0, 1)"))
            }
            Objective::SparseKl { .. } if head != Head::Sigmoid => {
                return bad("the KL sparsity penalty needs a sigmoid code".into())
            }
            Objective::SparseL1 { weight } | Objective::SparseKl { weight, .. } | Objective::Contractive { weight }
                if !weight_ok(weight) =>
            {
                return bad(format!("penalty weight {weight} must be ≥ 0"))
            }
            _ => {}
        }
        self.objective = objective;
        Ok(self)
    }

    pub fn objective(&self) -> Objective {
        self.objective
    }

    /// How this model's contractive penalty is computed.
    pub fn contraction(&self) -> Contraction {
        match &self.model {
            Model::Dense(m) if m.hidden.is_empty() && m.head == Head::Sigmoid => Contraction::Exact,
            _ => Contraction::Hutchinson,
        }
    }

    /// How many standard normal draws a step on `batch` images needs: a VAE's ε (`batch ×
    /// latent`), or the contractive penalty's probes (`batch × 784`) when it is estimated.
    pub fn noise_len(&self, batch: usize) -> usize {
        match self.objective {
            Objective::Vae { .. } => batch * self.model.latent_dim(),
            Objective::Contractive { .. } if self.contraction() == Contraction::Hutchinson => batch * IMAGE_LEN,
            _ => 0,
        }
    }

    fn batch(&self, values: &[f32]) -> Result<Images<NoneTape>, NnError> {
        if !values.len().is_multiple_of(IMAGE_LEN) {
            return Err(NnError::Shape(format!("{} values are not whole {IMAGE_LEN}-pixel images", values.len())));
        }
        Ok(self.dev.try_tensor_from_vec(values.to_vec(), (values.len() / IMAGE_LEN, Const))?)
    }

    fn codes(&self, values: Vec<f32>, width: usize) -> Result<Codes<NoneTape>, NnError> {
        let n = values.len() / width.max(1);
        Ok(self.dev.try_tensor_from_vec(values, (n, width))?)
    }

    /// The reconstruction term of the loss: the mean per pixel, or for the VAE the sum per image
    /// (mean per pixel × 784), averaged over the batch.
    fn reconstruction(
        &self,
        logits: Images<Taped>,
        targets: &[f32],
    ) -> Result<Tensor<Rank0, f32, Cpu, Taped>, NnError> {
        let mean = match self.loss {
            LossKind::Bce => crate::loss::bce_with_logits_mean(logits, targets)?,
            LossKind::Mse => crate::loss::sigmoid_mse_mean(logits, targets)?,
        };
        Ok(match self.objective {
            Objective::Vae { .. } => mean * IMAGE_LEN as f32,
            _ => mean,
        })
    }

    /// Forward and backward pass of one batch: its loss and the gradients in the tape.
    fn loss_and_grads(
        &self,
        inputs: &[f32],
        targets: &[f32],
        noise: &[f32],
    ) -> Result<(StepLoss, Gradients<f32, Cpu>), NnError> {
        if inputs.len() != targets.len() {
            return Err(NnError::Shape(format!("{} input values but {} target values", inputs.len(), targets.len())));
        }
        let x = self.batch(inputs)?;
        let b = x.shape().0;
        if noise.len() != self.noise_len(b) {
            return Err(NnError::Shape(format!(
                "{} noise values for a batch of {b}; this objective needs {}",
                noise.len(),
                self.noise_len(b)
            )));
        }
        let x = x.leaky_traced();
        // The code is consumed by the decoder and by the penalty: the penalty gets a copy with
        // its own tape, which the final sum merges back (dfdx runs the merged backward ops in
        // creation order, so the code's gradient is complete before the encoder's ops run).
        let (recon, penalty) = match self.objective {
            Objective::Reconstruction => (self.reconstruction(self.model.forward(x)?, targets)?, None),
            Objective::SparseL1 { weight } => {
                let z = self.model.encode(x)?; // [b, latent]
                let p = crate::penalty::l1_mean(z.with_empty_tape(), weight)?;
                (self.reconstruction(self.model.decode(z)?, targets)?, Some(p))
            }
            Objective::SparseKl { weight, target } => {
                let h = self.model.encode(x)?; // [b, latent] in (0, 1)
                let p = crate::penalty::kl_sparsity(h.with_empty_tape(), target, weight)?;
                (self.reconstruction(self.model.decode(h)?, targets)?, Some(p))
            }
            Objective::Contractive { weight } => match (self.contraction(), &self.model) {
                (Contraction::Exact, Model::Dense(m)) => {
                    let h = self.model.encode(x)?; // [b, latent] in (0, 1)
                    let p = crate::penalty::contractive_sigmoid(h.with_empty_tape(), &m.encoder[0].kernel, weight)?;
                    (self.reconstruction(self.model.decode(h)?, targets)?, Some(p))
                }
                _ => {
                    let (z, t) = crate::contractive::encode_with_tangent(&self.model, x, noise)?; // [b, latent] each
                    let p = crate::penalty::squared_norm_mean(t, weight)?;
                    (self.reconstruction(self.model.decode(z)?, targets)?, Some(p))
                }
            },
            Objective::Vae { beta } => {
                let stats = self.model.encode_stats(x)?; // [b, 2·latent]
                let kl = crate::vae::kl_mean(stats.with_empty_tape())?;
                let z = crate::vae::reparameterize(stats, noise)?; // [b, latent]
                (self.reconstruction(self.model.decode(z)?, targets)?, Some(kl * beta as f32))
            }
        };
        let loss = StepLoss { reconstruction: recon.array(), penalty: penalty.as_ref().map(|p| p.array()) };
        let total = match penalty {
            Some(p) => recon + p,
            None => recon,
        };
        Ok((loss, total.try_backward()?))
    }

    /// The loss of a batch and its gradient for every parameter, in [`Model::params`] order (an
    /// objective that needs noise: see [`Trainer::gradients_with`]).
    pub fn gradients(&self, inputs: &[f32], targets: &[f32]) -> Result<(f32, Vec<Vec<f32>>), NnError> {
        let (loss, grads) = self.gradients_with(inputs, targets, &[])?;
        Ok((loss.total(), grads))
    }

    /// [`Trainer::gradients`] with the step's standard normal draws ([`Trainer::noise_len`]).
    pub fn gradients_with(
        &self,
        inputs: &[f32],
        targets: &[f32],
        noise: &[f32],
    ) -> Result<(StepLoss, Vec<Vec<f32>>), NnError> {
        let (loss, mut grads) = self.loss_and_grads(inputs, targets, noise)?;
        let mut out = Vec::new();
        for p in self.model.params() {
            out.push(grads.get_or_alloc_mut(&p.tensor)?.to_vec());
        }
        Ok((loss, out))
    }

    /// One optimisation step on a batch; returns the batch's loss before the update. For an
    /// objective that needs noise, see [`Trainer::step_with`].
    pub fn step(&mut self, inputs: &[f32], targets: &[f32]) -> Result<f32, NnError> {
        Ok(self.step_with(inputs, targets, &[])?.total())
    }

    /// One optimisation step with the step's standard normal draws ([`Trainer::noise_len`]).
    pub fn step_with(&mut self, inputs: &[f32], targets: &[f32], noise: &[f32]) -> Result<StepLoss, NnError> {
        let (loss, mut grads) = self.loss_and_grads(inputs, targets, noise)?;
        self.optimizer.update(self.model.params_mut(), &mut grads)?;
        Ok(loss)
    }

    /// One step of greedy layer-wise pre-training (dense model): encoder layer `layer` (1-based)
    /// and its mirror in the decoder, trained as a shallow auto-encoder on the codes that the
    /// layers below give `inputs`, reconstructing the codes they give `targets` (the images
    /// themselves for layer 1, with the run's loss; the MSE of the codes above). Only those two
    /// layers change, with an optimizer state of their own, fresh for each layer (Keras compiles
    /// each shallow model anew). Returns the loss before the update.
    pub fn pretrain_step(&mut self, layer: usize, inputs: &[f32], targets: &[f32]) -> Result<f32, NnError> {
        let Model::Dense(m) = &self.model else {
            return Err(NnError::Config("layer-wise pre-training needs the dense model".into()));
        };
        if layer == 0 || layer > m.encoder.len() {
            return Err(NnError::Config(format!("no encoder layer {layer} to pre-train (1..={})", m.encoder.len())));
        }
        if inputs.len() != targets.len() {
            return Err(NnError::Shape(format!("{} input values but {} target values", inputs.len(), targets.len())));
        }
        let below = m.encode_layers(self.batch(inputs)?, layer - 1)?; // [b, width below]
        let enc = &m.encoder[layer - 1];
        let dec = &m.decoder[m.mirror(layer - 1)];
        let code = enc.forward(below.leaky_traced(), enc.outputs)?; // [b, width of the layer]
        let out = dec.forward(code, dec.outputs)?; // [b, width below]
        let loss = if layer == 1 {
            match self.loss {
                LossKind::Bce => crate::loss::bce_with_logits_mean(out, targets)?,
                LossKind::Mse => crate::loss::sigmoid_mse_mean(out, targets)?,
            }
        } else {
            let wanted = m.encode_layers(self.batch(targets)?, layer - 1)?.as_vec();
            crate::loss::mse_mean(out, &wanted)?
        };
        let value = loss.array();
        let mut grads = loss.try_backward()?;
        if self.pretrain.as_ref().map(|p| p.0) != Some(layer) {
            self.pretrain = Some((layer, Optimizer::new(self.optimizer_kind)));
        }
        let (Some((_, optimizer)), Model::Dense(m)) = (&mut self.pretrain, &mut self.model) else {
            return Err(NnError::Config("layer-wise pre-training needs the dense model".into()));
        };
        let mirror = m.mirror(layer - 1);
        let params = m.encoder[layer - 1].params_mut().into_iter().chain(m.decoder[mirror].params_mut()).collect();
        optimizer.update(params, &mut grads)?;
        Ok(value)
    }

    /// Evaluate and reconstruct with the dense model cut at encoder depth `depth` (what a stacked
    /// run has pre-trained so far), or whole with `None`.
    pub fn set_depth(&mut self, depth: Option<usize>) -> Result<(), NnError> {
        if let Some(d) = depth {
            match &self.model {
                Model::Dense(m) if (1..=m.encoder.len()).contains(&d) => {}
                _ => return Err(NnError::Config(format!("cannot cut this model at encoder depth {d}"))),
            }
        }
        self.depth = depth;
        Ok(())
    }

    /// Reconstruction logits of a set of images, in chunks of [`EVAL_CHUNK`] (a VAE's from the
    /// mean code).
    fn logits(
        &self,
        inputs: &[f32],
        mut each: impl FnMut(usize, &[f32]) -> Result<(), NnError>,
    ) -> Result<(), NnError> {
        for (i, chunk) in inputs.chunks(EVAL_CHUNK * IMAGE_LEN).enumerate() {
            let x = self.batch(chunk)?;
            let logits = match (self.depth, &self.model) {
                (Some(depth), Model::Dense(m)) => m.forward_depth(x, depth)?,
                _ => self.model.forward(x)?,
            };
            each(i * EVAL_CHUNK * IMAGE_LEN, &logits.as_vec())?;
        }
        Ok(())
    }

    /// BCE (from logits, as Keras) and MSE (of the sigmoid output) summed over every pixel.
    pub fn evaluate(&self, inputs: &[f32], targets: &[f32]) -> Result<EvalSums, NnError> {
        if inputs.len() != targets.len() {
            return Err(NnError::Shape(format!("{} input values but {} target values", inputs.len(), targets.len())));
        }
        let mut sums = EvalSums::default();
        self.logits(inputs, |offset, logits| {
            for (&x, &z) in logits.iter().zip(&targets[offset..]) {
                sums.bce += bce_with_logits(x, z) as f64;
                let d = sigmoid(x) - z;
                sums.mse += (d * d) as f64;
            }
            sums.pixels += logits.len() as u64;
            Ok(())
        })?;
        Ok(sums)
    }

    /// Reconstructions (after the sigmoid) of a set of images.
    pub fn reconstruct(&self, inputs: &[f32]) -> Result<Vec<f32>, NnError> {
        let mut out = Vec::with_capacity(inputs.len());
        self.logits(inputs, |_, logits| {
            out.extend(logits.iter().map(|&x| sigmoid(x)));
            Ok(())
        })?;
        Ok(out)
    }

    /// Latent codes of a set of images, `[n, latent]` row-major (a VAE's: the means).
    pub fn encode(&self, inputs: &[f32]) -> Result<Vec<f32>, NnError> {
        let mut out = Vec::new();
        for chunk in inputs.chunks(EVAL_CHUNK * IMAGE_LEN) {
            out.extend(self.model.encode(self.batch(chunk)?)?.as_vec());
        }
        Ok(out)
    }

    /// Images (after the sigmoid) decoded from codes `[n, latent]` row-major.
    pub fn decode(&self, codes: &[f32]) -> Result<Vec<f32>, NnError> {
        let latent = self.model.latent_dim();
        if !codes.len().is_multiple_of(latent) {
            return Err(NnError::Shape(format!("{} values are not whole {latent}-value codes", codes.len())));
        }
        let mut out = Vec::with_capacity(codes.len() / latent * IMAGE_LEN);
        for chunk in codes.chunks(EVAL_CHUNK * latent) {
            let logits = self.model.decode(self.codes(chunk.to_vec(), latent)?)?.as_vec();
            out.extend(logits.iter().map(|&x| sigmoid(x)));
        }
        Ok(out)
    }

    /// log p(x|z) of one pixel given its logit: Bernoulli for BCE (the standard surrogate for
    /// grey levels), a Gaussian of variance ½ around the sigmoid output for MSE (whose log-density
    /// is −(x − μ)² − ½ ln π, so that the summed squared error is its negative up to a constant).
    fn log_likelihood_of(&self, logit: f32, target: f32) -> f64 {
        match self.loss {
            LossKind::Bce => -(bce_with_logits(logit, target) as f64),
            LossKind::Mse => {
                let d = (sigmoid(logit) - target) as f64;
                -d * d - 0.5 * std::f64::consts::PI.ln()
            }
        }
    }

    fn gaussian_head(&self) -> Result<usize, NnError> {
        match self.model.head() {
            Head::Gaussian => Ok(self.model.latent_dim()),
            other => Err(NnError::Config(format!("a VAE metric asked of a model with a {} code", other.name()))),
        }
    }

    /// A VAE's KL term and negative ELBO over a set of images, with one reparameterised sample
    /// per image: `noise(i, ε)` fills image i's `latent` standard normal draws.
    pub fn evaluate_vae(&self, images: &[f32], mut noise: impl FnMut(usize, &mut [f32])) -> Result<VaeSums, NnError> {
        let latent = self.gaussian_head()?;
        let mut sums = VaeSums::default();
        for (ci, chunk) in images.chunks(EVAL_CHUNK * IMAGE_LEN).enumerate() {
            let stats = self.model.encode_stats(self.batch(chunk)?)?; // [n, 2·latent]
            let n = stats.shape().0;
            let mut eps = vec![0.0f32; n * latent];
            for (i, e) in eps.chunks_exact_mut(latent).enumerate() {
                noise(ci * EVAL_CHUNK + i, e);
            }
            let sv = stats.as_vec();
            let z = crate::vae::reparameterize(stats, &eps)?; // [n, latent]
            let logits = self.model.decode(z)?.as_vec(); // [n, 784]
            for ((s, l), x) in
                sv.chunks_exact(2 * latent).zip(logits.chunks_exact(IMAGE_LEN)).zip(chunk.chunks_exact(IMAGE_LEN))
            {
                let kl = image_kl(&s[..latent], &s[latent..]);
                let log_px: f64 = l.iter().zip(x).map(|(&a, &b)| self.log_likelihood_of(a, b)).sum();
                sums.kl += kl;
                sums.neg_elbo += kl - log_px;
                sums.images += 1;
            }
        }
        Ok(sums)
    }

    /// Σ over images of the importance-sampled estimate of log p(x) (Burda et al.'s bound with
    /// q(z|x) as the proposal): log (1/K) Σ_k p(x|z_k) p(z_k) / q(z_k|x), z_k = μ + σ ε_k, in f64.
    /// `noise(i, ε)` fills image i's `samples × latent` draws. Samples are decoded `samples ×`
    /// ⌈[`EVAL_CHUNK`]/`samples`⌉ at a time: a size fixed by `samples` alone.
    pub fn log_likelihood(
        &self,
        images: &[f32],
        samples: usize,
        mut noise: impl FnMut(usize, &mut [f32]),
    ) -> Result<f64, NnError> {
        let latent = self.gaussian_head()?;
        if samples == 0 {
            return Err(NnError::Config("the likelihood estimate needs at least one sample".into()));
        }
        let per_group = (EVAL_CHUNK / samples).max(1);
        let mut total = 0.0f64;
        let mut weights = vec![0.0f64; samples];
        for (gi, group) in images.chunks(per_group * IMAGE_LEN).enumerate() {
            let stats = self.model.encode_stats(self.batch(group)?)?.as_vec(); // [g, 2·latent]
            let g = group.len() / IMAGE_LEN;
            let mut eps = vec![0.0f32; g * samples * latent];
            for (i, e) in eps.chunks_exact_mut(samples * latent).enumerate() {
                noise(gi * per_group + i, e);
            }
            let mut z = Vec::with_capacity(eps.len());
            for (s, e) in stats.chunks_exact(2 * latent).zip(eps.chunks_exact(samples * latent)) {
                let (mu, lv) = s.split_at(latent);
                for ek in e.chunks_exact(latent) {
                    z.extend(mu.iter().zip(lv).zip(ek).map(|((&m, &l), &e)| m + (0.5 * l).exp() * e));
                }
            }
            let logits = self.model.decode(self.codes(z.clone(), latent)?)?.as_vec(); // [g·K, 784]
            for (i, x) in group.chunks_exact(IMAGE_LEN).enumerate() {
                let lv = &stats[i * 2 * latent + latent..(i + 1) * 2 * latent];
                let log_q_const: f64 = lv.iter().map(|&l| -0.5 * (l as f64 + LN_2PI)).sum();
                for (k, w) in weights.iter_mut().enumerate() {
                    let row = i * samples + k;
                    let l = &logits[row * IMAGE_LEN..(row + 1) * IMAGE_LEN];
                    let log_px: f64 = l.iter().zip(x).map(|(&a, &b)| self.log_likelihood_of(a, b)).sum();
                    let zk = &z[row * latent..(row + 1) * latent];
                    let ek = &eps[row * latent..(row + 1) * latent];
                    let log_pz: f64 = zk.iter().map(|&v| -0.5 * ((v as f64).powi(2) + LN_2PI)).sum();
                    let log_q: f64 = log_q_const - 0.5 * ek.iter().map(|&v| (v as f64).powi(2)).sum::<f64>();
                    *w = log_px + log_pz - log_q;
                }
                total += log_mean_exp(&weights);
            }
        }
        Ok(total)
    }

    pub fn optimizer_steps(&self) -> u64 {
        self.optimizer.steps()
    }
}

/// TensorFlow's `sigmoid_cross_entropy_with_logits`: max(x, 0) − x·z + log(1 + e^−|x|).
pub fn bce_with_logits(x: f32, z: f32) -> f32 {
    x.max(0.0) - x * z + (-x.abs()).exp().ln_1p()
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Architecture, ModelSpec};

    fn trainer(arch: Architecture, loss: LossKind) -> Trainer {
        let dev = Cpu::default();
        let spec = ModelSpec::plain(arch, 8, vec![32]);
        Trainer::new(dev.clone(), Model::new(&dev, &spec, 1).unwrap(), loss, OptimizerKind::adam(1e-3))
    }

    fn images(n: usize) -> Vec<f32> {
        (0..n * IMAGE_LEN).map(|i| ((i * 7919) % 97) as f32 / 96.0).collect()
    }

    #[test]
    fn training_lowers_the_loss() {
        for arch in [Architecture::Conv, Architecture::Dense] {
            for loss in [LossKind::Bce, LossKind::Mse] {
                let mut t = trainer(arch, loss);
                let x = images(4);
                let first = t.step(&x, &x).unwrap();
                let mut last = first;
                for _ in 0..10 {
                    last = t.step(&x, &x).unwrap();
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
        let (loss, _) = t.gradients(&x, &x).unwrap();
        let sums = t.evaluate(&x, &x).unwrap();
        assert!((sums.bce_mean() - loss as f64).abs() < 1e-5, "{} vs {loss}", sums.bce_mean());
        assert_eq!(sums.pixels, 4 * 784);
        let recon = t.reconstruct(&x).unwrap();
        let mse: f64 = recon.iter().zip(&x).map(|(a, b)| ((a - b) * (a - b)) as f64).sum::<f64>() / recon.len() as f64;
        assert!((mse - sums.mse_mean()).abs() < 1e-9);
        assert!((sums.psnr() - (-10.0 * mse.log10())).abs() < 1e-6);
        assert_eq!(t.encode(&x).unwrap().len(), 4 * 8);
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
        assert!(t.step(&[0.0; 100], &[0.0; 100]).is_err());
        assert!(t.step(&images(1), &images(2)).is_err());
    }
}

#[cfg(test)]
mod kind_tests {
    use super::*;
    use crate::model::{Architecture, ModelSpec};
    use rand::{Rng, SeedableRng};

    fn images(n: usize) -> Vec<f32> {
        (0..n * IMAGE_LEN).map(|i| ((i * 7919) % 97) as f32 / 96.0).collect()
    }

    fn normals(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| rng.sample::<f64, _>(rand_distr::StandardNormal) as f32).collect()
    }

    fn trainer(arch: Architecture, hidden: Vec<usize>, latent: usize, head: Head, objective: Objective) -> Trainer {
        let dev = Cpu::default();
        let spec = ModelSpec { architecture: arch, latent_dim: latent, hidden, head };
        Trainer::new(dev.clone(), Model::new(&dev, &spec, 1).unwrap(), LossKind::Bce, OptimizerKind::adam(1e-3))
            .with_objective(objective)
            .unwrap()
    }

    /// Every kind's objective with the head it needs.
    fn objectives() -> Vec<(Head, Objective)> {
        vec![
            (Head::Linear, Objective::Reconstruction),
            (Head::Linear, Objective::SparseL1 { weight: 0.05 }),
            (Head::Sigmoid, Objective::SparseKl { weight: 0.05, target: 0.1 }),
            (Head::Sigmoid, Objective::Contractive { weight: 0.05 }),
            (Head::Linear, Objective::Contractive { weight: 0.05 }),
            (Head::Gaussian, Objective::Vae { beta: 2.0 }),
        ]
    }

    #[test]
    fn each_objective_gradient_matches_finite_differences_of_its_loss() {
        // A shallow dense model (784 → 3 → 784) has no ReLU, so every objective is smooth in
        // every parameter. Reference: central differences in f64 of the step's total loss (f32),
        // step 1e-2, at a spread of each parameter's elements, with the noise held fixed.
        let x = images(2);
        for (head, objective) in objectives() {
            let mut t = trainer(Architecture::Dense, vec![], 3, head, objective);
            let noise = normals(t.noise_len(2), 3);
            let (loss, analytic) = t.gradients_with(&x, &x, &noise).unwrap();
            assert_eq!(loss.penalty.is_some(), objective != Objective::Reconstruction, "{objective:?}");
            let h = 1e-2f32;
            // The f32 loss is rounded to ~1e-7 of itself; divided by 2h.
            let floor = 1e-7 * loss.total().abs() as f64 / h as f64 * 4.0;
            let mut checked = 0;
            for (p, grad) in analytic.iter().enumerate() {
                let n = grad.len();
                for i in (0..n).step_by((n / 6).max(1)) {
                    let base = t.model.params()[p].tensor.as_vec();
                    let mut at = |d: f32| {
                        let mut v = base.clone();
                        v[i] += d;
                        t.model.params_mut()[p].set(&v).unwrap();
                        t.gradients_with(&x, &x, &noise).unwrap().0.total() as f64
                    };
                    let numeric = (at(h) - at(-h)) / (2.0 * h as f64);
                    at(0.0);
                    let a = grad[i] as f64;
                    assert!(
                        (a - numeric).abs() <= 2e-2 * numeric.abs() + floor,
                        "{objective:?} parameter {p} element {i}: analytic {a} vs numeric {numeric}"
                    );
                    checked += 1;
                }
            }
            assert!(checked >= 20, "{objective:?}: {checked}");
            if head == Head::Sigmoid && matches!(objective, Objective::Contractive { .. }) {
                assert_eq!((t.contraction(), t.noise_len(2)), (Contraction::Exact, 0), "Rifai's closed form");
            }
        }
    }

    #[test]
    fn every_objective_trains_with_both_architectures() {
        let x = images(4);
        for arch in [Architecture::Dense, Architecture::Conv] {
            for (head, objective) in objectives() {
                let mut t = trainer(arch, vec![16], 4, head, objective);
                let noise = normals(t.noise_len(4), 5);
                let first = t.step_with(&x, &x, &noise).unwrap();
                let mut last = first;
                for _ in 0..10 {
                    last = t.step_with(&x, &x, &noise).unwrap();
                }
                assert!(last.total() < first.total(), "{arch:?} {objective:?}: {first:?} → {last:?}");
                assert!(last.penalty.is_none_or(|p| p.is_finite() && p >= 0.0), "{arch:?} {objective:?}");
            }
        }
    }

    #[test]
    fn objectives_refuse_heads_they_cannot_train_and_missing_noise() {
        let dev = Cpu::default();
        let build = |head| {
            let spec = ModelSpec { architecture: Architecture::Dense, latent_dim: 2, hidden: vec![], head };
            Trainer::new(dev.clone(), Model::new(&dev, &spec, 0).unwrap(), LossKind::Bce, OptimizerKind::adam(1e-3))
        };
        assert!(build(Head::Linear).with_objective(Objective::Vae { beta: 1.0 }).is_err());
        assert!(build(Head::Gaussian).with_objective(Objective::Reconstruction).is_err());
        assert!(build(Head::Linear).with_objective(Objective::SparseKl { weight: 1.0, target: 0.1 }).is_err());
        assert!(build(Head::Sigmoid).with_objective(Objective::SparseKl { weight: 1.0, target: 1.5 }).is_err());
        let mut vae = build(Head::Gaussian).with_objective(Objective::Vae { beta: 1.0 }).unwrap();
        let e = vae.step(&images(1), &images(1)).unwrap_err().to_string();
        assert!(e.contains("noise"), "{e}");
    }

    #[test]
    fn the_vae_trains_on_the_sampled_code_and_reconstructs_from_the_mean() {
        let x = images(3);
        let t = trainer(Architecture::Dense, vec![8], 2, Head::Gaussian, Objective::Vae { beta: 1.0 });
        let noise = normals(t.noise_len(3), 1);
        let (loss, _) = t.gradients_with(&x, &x, &noise).unwrap();
        // Reference for the loss: the per-image BCE sum of decoding μ + σε, and the closed-form KL.
        let dev = Cpu::default();
        let stats = t.model.encode_stats(dev.tensor_from_vec(x.clone(), (3, Const))).unwrap().as_vec();
        let z: Vec<f32> = stats
            .chunks(4)
            .zip(noise.chunks(2))
            .flat_map(|(s, e)| (0..2).map(move |j| s[j] + (0.5 * s[2 + j]).exp() * e[j]))
            .collect();
        let logits = t.model.decode(dev.tensor_from_vec(z, (3, 2))).unwrap().as_vec();
        let recon: f64 = logits.iter().zip(&x).map(|(&l, &v)| bce_with_logits(l, v) as f64).sum::<f64>() / 3.0;
        let kl: f64 = stats.chunks(4).map(|s| image_kl(&s[..2], &s[2..])).sum::<f64>() / 3.0;
        assert!((loss.reconstruction as f64 - recon).abs() < 1e-3 * recon, "{} vs {recon}", loss.reconstruction);
        assert!((loss.penalty.unwrap() as f64 - kl).abs() < 1e-4 * (1.0 + kl));
        // Codes and reconstructions use the mean.
        let codes = t.encode(&x).unwrap();
        assert_eq!(codes, stats.chunks(4).flat_map(|s| s[..2].to_vec()).collect::<Vec<_>>());
        let recon_mu = t.decode(&codes).unwrap();
        assert_eq!(recon_mu, t.reconstruct(&x).unwrap());
    }

    #[test]
    fn the_importance_sampled_likelihood_matches_integration_over_a_one_dimensional_code() {
        // Reference: p(x) = ∫ p(x|z) p(z) dz by the trapezoid rule over z in [−8, 8] (4001 points,
        // decoded in one batch), log-sum-exp in f64. With 2000 importance samples the estimate
        // must agree to a few hundredths of a nat, and it must exceed the ELBO of one sample
        // (the negative ELBO bounds −log p(x) from above, up to sampling noise of ~1 nat here).
        let t = trainer(Architecture::Dense, vec![16], 1, Head::Gaussian, Objective::Vae { beta: 1.0 });
        let x = images(2);
        let grid: Vec<f32> = (0..4001).map(|k| -8.0 + k as f32 * 0.004).collect();
        let decoded = t.model.decode(t.dev.tensor_from_vec(grid.clone(), (grid.len(), 1))).unwrap().as_vec();
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
            let estimate =
                t.log_likelihood(image, 2000, |_, e| e.copy_from_slice(&normals(e.len(), 7 + i as u64))).unwrap();
            assert!((estimate - exact).abs() < 0.05, "image {i}: IS {estimate} vs integral {exact}");
            let bound = t.evaluate_vae(image, |_, e| e.copy_from_slice(&normals(e.len(), 9))).unwrap();
            assert!(-bound.neg_elbo_mean() < exact + 1.0, "ELBO {} vs log p(x) {exact}", -bound.neg_elbo_mean());
            assert!(bound.kl >= 0.0 && bound.images == 1);
        }
    }

    #[test]
    fn the_likelihood_estimate_does_not_depend_on_how_images_are_grouped() {
        // The draws of image i come from `noise(i, ·)` whatever group it is decoded in.
        let t = trainer(Architecture::Dense, vec![8], 2, Head::Gaussian, Objective::Vae { beta: 1.0 });
        let x = images(5);
        let fill = |i: usize, e: &mut [f32]| e.copy_from_slice(&normals(e.len(), i as u64));
        let whole = t.log_likelihood(&x, 300, fill).unwrap();
        let one_by_one: f64 = x
            .chunks(IMAGE_LEN)
            .enumerate()
            .map(|(i, img)| t.log_likelihood(img, 300, |_, e| fill(i, e)).unwrap())
            .sum();
        assert!((whole - one_by_one).abs() < 1e-9 * whole.abs(), "{whole} vs {one_by_one}");
    }

    #[test]
    fn layer_wise_pretraining_changes_only_the_layer_and_its_mirror() {
        let mut t = trainer(Architecture::Dense, vec![32, 16], 4, Head::Linear, Objective::Reconstruction);
        let x = images(6);
        let before: Vec<Vec<f32>> = t.model.params().iter().map(|p| p.tensor.as_vec()).collect();
        let names: Vec<String> = t.model.params().iter().map(|p| p.name.clone()).collect();
        let first = t.pretrain_step(2, &x, &x).unwrap();
        let mut last = first;
        for _ in 0..15 {
            last = t.pretrain_step(2, &x, &x).unwrap();
        }
        assert!(last < first, "layer 2's reconstruction of the layer-1 codes: {first} → {last}");
        let changed: Vec<&str> = t
            .model
            .params()
            .iter()
            .zip(&before)
            .zip(&names)
            .filter(|((p, b), _)| p.tensor.as_vec() != **b)
            .map(|(_, n)| n.as_str())
            .collect();
        assert_eq!(
            changed,
            ["encoder.dense2.kernel", "encoder.dense2.bias", "decoder.dense2.kernel", "decoder.dense2.bias"]
        );
        assert_eq!(t.optimizer_steps(), 0, "the fine-tuning optimizer is untouched");
        // Evaluation at depth 2: the two pre-trained encoder layers and their mirrors.
        t.set_depth(Some(2)).unwrap();
        let partial = t.evaluate(&x, &x).unwrap();
        t.set_depth(None).unwrap();
        assert_ne!(partial, t.evaluate(&x, &x).unwrap());
        assert!(t.set_depth(Some(4)).is_err() && t.pretrain_step(4, &x, &x).is_err());
    }
}
