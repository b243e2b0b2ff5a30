//! One training run: builds the model a resolved config describes (of any `model.kind`), trains
//! it epoch by epoch on a dataset — a `stacked` run first pre-trains its layers greedily, one
//! phase per encoder layer — evaluates after each epoch, probes the codes (a linear classifier on
//! the training codes, scored on the test codes) after the last epoch and every
//! `train.probe_every`-th, estimates a VAE's test log-likelihood after the last epoch, hands each
//! epoch's metric row to an observer, detects divergence, and writes the run's checkpoint,
//! reconstruction picture, test codes in the plane (`latent.csv`) and, for a VAE, pictures of
//! draws from its prior (`samples.png`, and `manifold.png` for a 2-D latent space).
//!
//! Seeds: weights from `train.seed`; the epoch order from (seed, epoch) (and the pre-training
//! phase); training noise, a VAE's ε and the contractive probes from (seed, epoch, batch), each
//! from a stream of its own purpose; the test-set corruption and a VAE's test draws from a fixed
//! seed shared by every run, so that the test metrics of different runs see the same draws.

use data::noise::{corrupt, purpose, rng_for, standard_normal};
use data::Dataset;
use nn::{EvalSums, Head, LossKind, Model, ModelSpec, Objective, OptimizerKind, StepLoss, Trainer};
use spec::metrics::{pretrain_phase, EpochMetrics, VaeMetrics, FINETUNE_PHASE};
use spec::{Architecture, Loss, MetricRow, ModelKind, NoiseConfig, Optimizer, RunConfig};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The seed of the test-set corruption: fixed, not the run's, so runs compare on the same images.
const TEST_NOISE_SEED: u64 = 0x7e57_7e57;
/// Test images shown in a run's reconstruction picture (the tutorial's `plot_AE` shows 10).
const PICTURE_IMAGES: usize = 10;
/// Draws from a VAE's prior in `samples.png`: an 8 × 8 grid.
pub const SAMPLE_IMAGES: usize = 64;
/// The side of `manifold.png`, a 2-D latent space's picture (Kingma & Welling's figure 4).
pub const MANIFOLD_SIDE: usize = 20;
/// The seed of `samples.png`'s draws (`runner sample --seed` chooses others).
pub const SAMPLE_SEED: u64 = 0;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("run {run}: {cause}")]
    Model { run: String, cause: nn::NnError },
    #[error("run {run}: the dataset has no training images")]
    NoData { run: String },
    #[error("run {run}: {message}")]
    Observer { run: String, message: String },
    #[error("run {run}: cannot write {}: {message}", path.display())]
    Output { run: String, path: PathBuf, message: String },
    #[error("run {run}: linear probe after epoch {epoch}: {cause}")]
    Probe { run: String, epoch: usize, cause: probe::ProbeError },
}

/// What a run needs to know about itself.
pub struct RunInfo<'a> {
    pub run_id: &'a str,
    pub sweep: &'a str,
    pub variant: &'a str,
    pub config: &'a RunConfig,
    /// Where `model.safetensors` and `reconstructions.png` go; none for a dry check.
    pub out_dir: Option<&'a Path>,
}

/// Receives progress and results as training goes.
pub trait Observer {
    /// After each training step: 1-based epoch and batch, the batch count, the batch loss.
    fn batch(&mut self, _epoch: usize, _batch: usize, _batches: usize, _loss: f32) {}
    /// After each probe, before its epoch's row: what the solver did, and the probe's wall time.
    fn probe(&mut self, _epoch: usize, _result: &probe::ProbeResult, _seconds: f64) {}
    /// After each epoch's evaluation. An error stops the run (e.g. the metrics could not be saved).
    fn epoch(&mut self, row: &MetricRow) -> Result<(), String>;
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
// One value per run: boxing the row would save nothing worth an indirection.
#[allow(clippy::large_enum_variant)]
pub enum Outcome {
    Completed {
        last: MetricRow,
    },
    /// A loss or metric became NaN or infinite; rows of finished epochs were already reported.
    Diverged {
        epoch: usize,
        reason: String,
    },
}

/// Maps a resolved config onto the model crate's types.
pub fn model_spec(config: &RunConfig) -> ModelSpec {
    let m = &config.model;
    ModelSpec {
        architecture: match m.architecture {
            Architecture::Conv => nn::Architecture::Conv,
            Architecture::Dense => nn::Architecture::Dense,
        },
        latent_dim: m.latent_dim,
        hidden: match m.architecture {
            Architecture::Dense => m.dense_hidden(),
            Architecture::Conv => Vec::new(),
        },
        head: match m.kind {
            ModelKind::Vae => Head::Gaussian,
            ModelKind::Sparse if m.sparsity_target.is_some() => Head::Sigmoid,
            // Rifai's contractive encoder is one sigmoid layer, whose penalty has a closed form;
            // deeper encoders (and the conv one) keep the plain model's linear code, so that the
            // kinds differ by the penalty alone.
            ModelKind::Contractive if m.architecture == Architecture::Dense && m.dense_hidden().is_empty() => {
                Head::Sigmoid
            }
            _ => Head::Linear,
        },
    }
}

/// What a config's training steps minimise besides the reconstruction.
pub fn objective(config: &RunConfig) -> Objective {
    let m = &config.model;
    match m.kind {
        ModelKind::Plain | ModelKind::Stacked => Objective::Reconstruction,
        ModelKind::Sparse => {
            let default =
                if m.sparsity_target.is_some() { spec::DEFAULT_SPARSITY_KL } else { spec::DEFAULT_SPARSITY_L1 };
            let weight = m.sparsity.unwrap_or(default);
            match m.sparsity_target {
                Some(target) => Objective::SparseKl { weight, target },
                None => Objective::SparseL1 { weight },
            }
        }
        ModelKind::Contractive => Objective::Contractive { weight: m.contraction.unwrap_or(spec::DEFAULT_CONTRACTION) },
        ModelKind::Vae => Objective::Vae { beta: m.beta.unwrap_or(spec::DEFAULT_BETA) },
    }
}

/// Builds the trainer (model with its seeded initialisation, loss, objective, optimizer) of a
/// config.
pub fn trainer(config: &RunConfig) -> Result<Trainer, nn::NnError> {
    let dev = nn::Cpu::default();
    let model = Model::new(&dev, &model_spec(config), config.train.seed)?;
    let loss = match config.train.loss {
        Loss::Bce => LossKind::Bce,
        Loss::Mse => LossKind::Mse,
    };
    let t = &config.train;
    let optimizer = match t.optimizer {
        Optimizer::Adam => OptimizerKind::adam(t.learning_rate),
        Optimizer::Sgd => OptimizerKind::Sgd {
            learning_rate: t.learning_rate,
            momentum: t.momentum.unwrap_or(spec::DEFAULT_SGD_MOMENTUM),
        },
    };
    Trainer::new(dev, model, loss, optimizer).with_objective(objective(config))
}

/// Trains one run to the end (or until it diverges), reporting each epoch to `observer`.
pub fn run(info: &RunInfo<'_>, dataset: &Dataset, observer: &mut dyn Observer) -> Result<Outcome, TrainError> {
    let run = info.run_id.to_string();
    let model_err = |cause| TrainError::Model { run: run.clone(), cause };
    let config = info.config;
    let train = &dataset.train;
    let test = &dataset.test;
    if train.is_empty() {
        return Err(TrainError::NoData { run });
    }
    let mut trainer = trainer(config).map_err(model_err)?;
    let noise = config.noise.as_ref();
    let noisy_test = noise.map(|n| corrupted(n, &test.images, TEST_NOISE_SEED, purpose::TEST_NOISE, 0, 0));
    let seed = config.train.seed;
    let batch_size = config.train.batch_size;
    let mut clean = Vec::new();
    let mut inputs = Vec::new();
    let mut draws = Vec::new();

    // A stacked run's greedy pre-training: encoder layer k and its mirror as a shallow
    // auto-encoder, k = 1, 2, …, each evaluated as the model cut at depth k.
    let pretrain_epochs = config.model.pretrain_epochs.unwrap_or(spec::DEFAULT_PRETRAIN_EPOCHS);
    for layer in 1..=config.model.pretrain_phases() {
        trainer.set_depth(Some(layer)).map_err(model_err)?;
        for epoch in 1..=pretrain_epochs {
            let started = Instant::now();
            let order = data::batch::phase_order(train.len(), seed, epoch as u64, layer as u64);
            let batches = order.len().div_ceil(batch_size);
            let mut loss_sum = 0.0f64;
            for (bi, idx) in data::batch::batches(&order, batch_size).enumerate() {
                data::batch::gather(train, idx, &mut clean);
                let x = match noise {
                    Some(n) => {
                        let stream = ((layer as u64) << 32) | bi as u64;
                        let mut rng = rng_for(seed, purpose::PRETRAIN_NOISE, epoch as u64, stream);
                        inputs.resize(clean.len(), 0.0);
                        corrupt(n.kind, n.level, &clean, &mut inputs, &mut rng);
                        &inputs
                    }
                    None => &clean,
                };
                let loss = trainer.pretrain_step(layer, x, &clean).map_err(model_err)?;
                if !loss.is_finite() {
                    return Ok(diverged(epoch, format!("pre-training loss of layer {layer} became {loss}"), bi));
                }
                loss_sum += loss as f64 * idx.len() as f64;
                observer.batch(epoch, bi + 1, batches, loss);
            }
            let epoch_seconds = started.elapsed().as_secs_f64();
            let mut m = evaluate(&trainer, config, dataset, noisy_test.as_deref(), epoch, false).map_err(model_err)?;
            m.phase = Some(pretrain_phase(layer));
            m.train_loss = loss_sum / train.len() as f64;
            m.epoch_seconds = epoch_seconds;
            m.samples_per_second = train.len() as f64 / epoch_seconds.max(1e-9);
            if let Some(reason) = non_finite(&m) {
                return Ok(Outcome::Diverged { epoch, reason: format!("{reason} in phase pretrain-{layer}") });
            }
            let row = MetricRow::new(info.run_id, info.sweep, info.variant, config, &m);
            observer.epoch(&row).map_err(|message| TrainError::Observer { run: run.clone(), message })?;
        }
    }
    trainer.set_depth(None).map_err(model_err)?;
    let phase = (config.model.pretrain_phases() > 0).then(|| FINETUNE_PHASE.to_string());

    let mut last = None;
    // The test codes of the last probe, reused for `latent.csv`.
    let mut test_codes = None;
    for epoch in 1..=config.train.epochs {
        let started = Instant::now();
        let order = data::batch::epoch_order(train.len(), seed, epoch as u64);
        let batches = order.len().div_ceil(batch_size);
        let (mut loss_sum, mut penalty_sum) = (0.0f64, 0.0f64);
        for (bi, idx) in data::batch::batches(&order, batch_size).enumerate() {
            data::batch::gather(train, idx, &mut clean);
            let x = match noise {
                Some(n) => {
                    let mut rng = rng_for(seed, purpose::TRAIN_NOISE, epoch as u64, bi as u64);
                    inputs.resize(clean.len(), 0.0);
                    corrupt(n.kind, n.level, &clean, &mut inputs, &mut rng);
                    &inputs
                }
                None => &clean,
            };
            draws.resize(trainer.noise_len(idx.len()), 0.0);
            let stream = match trainer.objective() {
                Objective::Vae { .. } => purpose::LATENT_NOISE,
                _ => purpose::JACOBIAN_PROBES,
            };
            if !draws.is_empty() {
                standard_normal(&mut rng_for(seed, stream, epoch as u64, bi as u64), &mut draws);
            }
            let loss: StepLoss = trainer.step_with(x, &clean, &draws).map_err(model_err)?;
            if !loss.total().is_finite() {
                return Ok(diverged(epoch, format!("training loss became {}", loss.total()), bi));
            }
            loss_sum += loss.reconstruction as f64 * idx.len() as f64;
            penalty_sum += loss.penalty.unwrap_or(0.0) as f64 * idx.len() as f64;
            observer.batch(epoch, bi + 1, batches, loss.total());
        }
        let epoch_seconds = started.elapsed().as_secs_f64();

        let mut m = evaluate(&trainer, config, dataset, noisy_test.as_deref(), epoch, true).map_err(model_err)?;
        m.phase = phase.clone();
        m.train_loss = loss_sum / train.len() as f64;
        m.penalty = (trainer.objective() != Objective::Reconstruction).then(|| penalty_sum / train.len() as f64);
        m.epoch_seconds = epoch_seconds;
        m.samples_per_second = train.len() as f64 / epoch_seconds.max(1e-9);
        if let Some(reason) = non_finite(&m) {
            return Ok(Outcome::Diverged { epoch, reason: format!("{reason} at epoch {epoch}") });
        }
        if config.train.probes_after(epoch) {
            let started = Instant::now();
            let codes = Codes::of(&trainer, dataset).map_err(model_err)?;
            let result = match codes.probe() {
                Ok(r) => r,
                Err(probe::ProbeError::NonFinite { what, row, value, .. }) => {
                    return Ok(Outcome::Diverged {
                        epoch,
                        reason: format!("the {what} (codes) became {value} at epoch {epoch}, image {row}"),
                    });
                }
                Err(cause) => return Err(TrainError::Probe { run: run.clone(), epoch, cause }),
            };
            let seconds = started.elapsed().as_secs_f64();
            observer.probe(epoch, &result, seconds);
            m.probe = Some((result.accuracy, seconds));
            test_codes = Some(codes.test);
        }
        let row = MetricRow::new(info.run_id, info.sweep, info.variant, config, &m);
        observer.epoch(&row).map_err(|message| TrainError::Observer { run: run.clone(), message })?;
        last = Some(row);
    }

    if let Some(dir) = info.out_dir {
        write_outputs(info, dir, &trainer, dataset, noisy_test.as_deref())?;
        let codes = match test_codes {
            Some(codes) => codes,
            None => trainer.encode(&test.images).map_err(model_err)?,
        };
        write_latent(info, &dir.join(LATENT_FILE), &codes, &test.labels)?;
    }
    match last {
        Some(last) => Ok(Outcome::Completed { last }),
        // `epochs ≥ 1` is validated, so a run always has a last row.
        None => Err(TrainError::NoData { run }),
    }
}

fn diverged(epoch: usize, what: String, batch: usize) -> Outcome {
    Outcome::Diverged { epoch, reason: format!("{what} at epoch {epoch}, batch {}", batch + 1) }
}

/// The first metric of an epoch that is NaN or infinite, named.
fn non_finite(m: &EpochMetrics) -> Option<String> {
    let vae = m.vae.map_or([None, None], |v| [Some(v.kl), Some(v.neg_elbo)]);
    [
        ("test_bce", Some(m.test_bce)),
        ("test_mse", Some(m.test_mse)),
        ("train_loss", Some(m.train_loss)),
        ("penalty", m.penalty),
        ("test_kl", vae[0]),
        ("test_neg_elbo", vae[1]),
        ("test_nll", m.nll.map(|n| n.0)),
    ]
    .into_iter()
    .find_map(|(name, v)| v.filter(|v| !v.is_finite()).map(|v| format!("{name} became {v}")))
}

/// The test metrics of an epoch: reconstruction of clean (and corrupted) test images, for a VAE
/// its KL and negative ELBO, and after the last epoch (`final_phase`) its log-likelihood. The
/// training fields are left for the caller.
fn evaluate(
    trainer: &Trainer,
    config: &RunConfig,
    dataset: &Dataset,
    noisy_test: Option<&[f32]>,
    epoch: usize,
    final_phase: bool,
) -> Result<EpochMetrics, nn::NnError> {
    let test = &dataset.test.images;
    let started = Instant::now();
    let sums = trainer.evaluate(test, test)?;
    let noisy = match noisy_test {
        Some(images) => Some(trainer.evaluate(images, test)?),
        None => None,
    };
    let is_vae = matches!(trainer.objective(), Objective::Vae { .. });
    let vae = if is_vae {
        let bound = trainer.evaluate_vae(test, |i, e| test_draws(i, 0, e))?;
        Some(VaeMetrics { kl: bound.kl_mean(), neg_elbo: bound.neg_elbo_mean() })
    } else {
        None
    };
    let nll = match (is_vae && final_phase && epoch == config.train.epochs, config.model.nll_samples) {
        (true, Some(samples)) => {
            let started = Instant::now();
            let images = config.model.nll_images.unwrap_or(spec::DEFAULT_NLL_IMAGES).min(dataset.test.len());
            let log_p = trainer.log_likelihood(&test[..images * nn::IMAGE_LEN], samples, |i, e| test_draws(i, 1, e))?;
            Some((-log_p / images.max(1) as f64, started.elapsed().as_secs_f64()))
        }
        _ => None,
    };
    Ok(EpochMetrics {
        epoch: epoch as u64,
        test_bce: sums.bce_mean(),
        test_mse: sums.mse_mean(),
        test_psnr: sums.psnr(),
        noisy: noisy.map(|s: EvalSums| (s.bce_mean(), s.mse_mean(), s.psnr())),
        vae,
        nll,
        eval_seconds: started.elapsed().as_secs_f64(),
        ..EpochMetrics::default()
    })
}

/// A VAE's test draws for image `image`: `which` 0 for the ELBO's sample, 1 for the likelihood's
/// importance samples. The same for every run and epoch, and whatever the image's chunk.
fn test_draws(image: usize, which: u64, out: &mut [f32]) {
    standard_normal(&mut rng_for(TEST_NOISE_SEED, purpose::TEST_LATENT_NOISE, image as u64, which), out);
}

/// `count` images decoded from codes drawn from a VAE's prior N(0, I) with `seed`.
pub fn prior_samples(trainer: &Trainer, count: usize, seed: u64) -> Result<Vec<f32>, nn::NnError> {
    if trainer.model.head() != Head::Gaussian {
        return Err(nn::NnError::Config("only a VAE has a prior to draw codes from".into()));
    }
    let mut z = vec![0.0f32; count * trainer.model.latent_dim()];
    standard_normal(&mut rng_for(seed, purpose::PRIOR_SAMPLES, 0, 0), &mut z);
    trainer.decode(&z)
}

/// A `side × side` picture of a VAE's 2-D latent space, row by row: the decoded codes at evenly
/// spaced quantiles of the prior (see [`nn::vae::manifold_codes`]).
pub fn manifold(trainer: &Trainer, side: usize) -> Result<Vec<f32>, nn::NnError> {
    if trainer.model.head() != Head::Gaussian || trainer.model.latent_dim() != 2 {
        return Err(nn::NnError::Config(format!(
            "a latent-space picture needs a VAE with a 2-D latent space (this model: a {} code of {} dimensions)",
            trainer.model.head().name(),
            trainer.model.latent_dim()
        )));
    }
    trainer.decode(&nn::vae::manifold_codes(side))
}

/// Writes images (`[n, 784]`) as a grid of `per_row` columns.
pub fn write_image_grid(path: &Path, images: &[f32], per_row: usize, scale: usize) -> Result<(), data::DataError> {
    let cells: Vec<&[f32]> = images.chunks(nn::IMAGE_LEN).collect();
    let rows: Vec<Vec<&[f32]>> = cells.chunks(per_row.max(1)).map(<[&[f32]]>::to_vec).collect();
    data::grid::write_grid_png(path, &rows, 28, 28, scale)
}

/// The codes of both splits (clean inputs, also for a denoising run: the probe asks what the
/// encoder has learnt about the images, not about the noise).
struct Codes {
    dim: usize,
    train: Vec<f32>,
    test: Vec<f32>,
    train_labels: Vec<u8>,
    test_labels: Vec<u8>,
}

impl Codes {
    fn of(trainer: &Trainer, dataset: &Dataset) -> Result<Self, nn::NnError> {
        Ok(Self {
            dim: trainer.model.latent_dim(),
            train: trainer.encode(&dataset.train.images)?,
            test: trainer.encode(&dataset.test.images)?,
            train_labels: dataset.train.labels[..dataset.train.len()].to_vec(),
            test_labels: dataset.test.labels[..dataset.test.len()].to_vec(),
        })
    }

    fn probe(&self) -> Result<probe::ProbeResult, probe::ProbeError> {
        probe::linear_probe(
            &self.train,
            &self.train_labels,
            &self.test,
            &self.test_labels,
            self.dim,
            &probe::ProbeOptions::default(),
        )
    }
}

/// The run's test codes in the plane, for `runner report --plots`.
pub const LATENT_FILE: &str = "latent.csv";

/// Writes `label,x,y` per test image: the code itself for a 2-D latent space, its first two
/// principal components (PCA of the test codes) otherwise, `(z0, 0)` for a 1-D one. Replaced
/// atomically, like every output but the per-epoch rows.
fn write_latent(info: &RunInfo<'_>, path: &Path, codes: &[f32], labels: &[u8]) -> Result<(), TrainError> {
    let run = info.run_id.to_string();
    let out_err = |message: String| TrainError::Output { run: run.clone(), path: path.to_path_buf(), message };
    let dim = info.config.model.latent_dim;
    let plane: Vec<f32> = match dim {
        1 => codes.iter().flat_map(|&z| [z, 0.0]).collect(),
        2 => codes.to_vec(),
        _ => probe::Pca::fit(codes, dim).and_then(|pca| pca.transform(codes, 2)).map_err(|e| out_err(e.to_string()))?,
    };
    let mut text = String::with_capacity(labels.len() * 24 + 16);
    text.push_str("label,x,y\n");
    for (label, xy) in labels.iter().zip(plane.chunks_exact(2)) {
        text.push_str(&format!("{label},{},{}\n", xy[0], xy[1]));
    }
    let tmp = path.with_extension(format!("csv.{}.tmp", std::process::id()));
    std::fs::write(&tmp, text).map_err(|e| out_err(e.to_string()))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        out_err(e.to_string())
    })
}

/// A corrupted copy of `images`, from its own seeded stream.
fn corrupted(n: &NoiseConfig, images: &[f32], seed: u64, stream: u64, a: u64, b: u64) -> Vec<f32> {
    let mut out = vec![0.0; images.len()];
    let mut rng = rng_for(seed, stream, a, b);
    corrupt(n.kind, n.level, images, &mut out, &mut rng);
    out
}

/// The checkpoint and the reconstruction picture (the tutorial's `plot_AE`: originals on top,
/// the corrupted inputs in the middle for a denoising run, reconstructions below).
fn write_outputs(
    info: &RunInfo<'_>,
    dir: &Path,
    trainer: &Trainer,
    dataset: &Dataset,
    noisy_test: Option<&[f32]>,
) -> Result<(), TrainError> {
    let out_err = |path: &Path, message: String| TrainError::Output {
        run: info.run_id.to_string(),
        path: path.to_path_buf(),
        message,
    };
    let ckpt = dir.join("model.safetensors");
    let meta = [
        ("run_id", info.run_id.to_string()),
        ("sweep", info.sweep.to_string()),
        ("variant", info.variant.to_string()),
        ("kind", info.config.model.kind.to_string()),
        ("config", toml_config(info.config)),
    ];
    nn::checkpoint::save(&trainer.model, &ckpt, &meta).map_err(|e| out_err(&ckpt, e.to_string()))?;

    let n = PICTURE_IMAGES.min(dataset.test.len());
    let originals = &dataset.test.images[..n * nn::IMAGE_LEN];
    let inputs = noisy_test.map_or(originals, |t| &t[..n * nn::IMAGE_LEN]);
    let recon =
        trainer.reconstruct(inputs).map_err(|e| TrainError::Model { run: info.run_id.to_string(), cause: e })?;
    let split = |v: &[f32]| -> Vec<Vec<f32>> { v.chunks(nn::IMAGE_LEN).map(<[f32]>::to_vec).collect() };
    let mut rows = vec![split(originals)];
    if noisy_test.is_some() {
        rows.push(split(inputs));
    }
    rows.push(split(&recon));
    let rows: Vec<Vec<&[f32]>> = rows.iter().map(|r| r.iter().map(Vec::as_slice).collect()).collect();
    let png = dir.join("reconstructions.png");
    data::grid::write_grid_png(&png, &rows, 28, 28, 2).map_err(|e| out_err(&png, e.to_string()))?;

    if trainer.model.head() == Head::Gaussian {
        let model_err = |cause| TrainError::Model { run: info.run_id.to_string(), cause };
        let samples = prior_samples(trainer, SAMPLE_IMAGES, SAMPLE_SEED).map_err(model_err)?;
        let png = dir.join(SAMPLES_FILE);
        write_image_grid(&png, &samples, 8, 2).map_err(|e| out_err(&png, e.to_string()))?;
        if trainer.model.latent_dim() == 2 {
            let images = manifold(trainer, MANIFOLD_SIDE).map_err(model_err)?;
            let png = dir.join(MANIFOLD_FILE);
            write_image_grid(&png, &images, MANIFOLD_SIDE, 1).map_err(|e| out_err(&png, e.to_string()))?;
        }
    }
    Ok(())
}

/// A VAE run's draws from its prior.
pub const SAMPLES_FILE: &str = "samples.png";
/// A 2-D latent VAE run's picture of its latent space.
pub const MANIFOLD_FILE: &str = "manifold.png";

fn toml_config(config: &RunConfig) -> String {
    toml::to_string(config).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use spec::*;

    struct Collect(Vec<MetricRow>, usize);
    impl Observer for Collect {
        fn batch(&mut self, _: usize, _: usize, _: usize, _: f32) {
            self.1 += 1;
        }
        fn epoch(&mut self, row: &MetricRow) -> Result<(), String> {
            self.0.push(row.clone());
            Ok(())
        }
    }

    fn config(arch: Architecture) -> RunConfig {
        RunConfig {
            data: DataConfig { dataset: DatasetName::Synthetic, train_limit: Some(60), test_limit: Some(20) },
            model: ModelConfig::plain(arch, 4, (arch == Architecture::Dense).then(|| vec![16])),
            train: TrainConfig {
                epochs: 2,
                batch_size: 16,
                learning_rate: 1e-3,
                optimizer: Optimizer::Adam,
                momentum: None,
                loss: Loss::Bce,
                seed: 3,
                probe: true,
                probe_every: 0,
            },
            noise: None,
        }
    }

    fn train(config: &RunConfig, out: Option<&Path>) -> (Outcome, Vec<MetricRow>, usize) {
        let dataset = data::synthetic::dataset(60, 20);
        train_on(config, out, &dataset)
    }

    fn train_on(config: &RunConfig, out: Option<&Path>, dataset: &Dataset) -> (Outcome, Vec<MetricRow>, usize) {
        let info = RunInfo { run_id: "r", sweep: "s", variant: "v", config, out_dir: out };
        let mut c = Collect(Vec::new(), 0);
        let outcome = run(&info, dataset, &mut c).unwrap();
        (outcome, c.0, c.1)
    }

    fn without_timings(rows: &[MetricRow]) -> Vec<MetricRow> {
        rows.iter()
            .map(|r| MetricRow {
                epoch_seconds: 0.0,
                eval_seconds: 0.0,
                probe_seconds: r.probe_seconds.map(|_| 0.0),
                nll_seconds: r.nll_seconds.map(|_| 0.0),
                samples_per_second: 0.0,
                ..r.clone()
            })
            .collect()
    }

    #[test]
    fn a_run_reports_every_epoch_and_writes_its_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let c = config(Architecture::Conv);
        let (outcome, rows, batches) = train(&c, Some(dir.path()));
        assert_eq!(rows.len(), 2);
        assert_eq!(batches, 2 * 4, "60 samples in batches of 16: 4 per epoch, the last partial");
        assert_eq!(rows[1].epoch, 2);
        assert!(rows.iter().all(|r| r.test_bce.is_finite() && r.test_psnr > 0.0 && r.noisy_test_bce.is_none()));
        assert!(matches!(outcome, Outcome::Completed { ref last } if last == &rows[1]));
        let (model, meta) = nn::checkpoint::load(&nn::Cpu::default(), &dir.path().join("model.safetensors")).unwrap();
        assert_eq!(model.latent_dim(), 4);
        assert_eq!(meta["run_id"], "r");
        assert!(dir.path().join("reconstructions.png").is_file());
        // The probe ran once, after the last epoch.
        assert_eq!(rows.iter().map(|r| r.probe_accuracy.is_some()).collect::<Vec<_>>(), [false, true]);
        assert!(rows[1].probe_seconds.is_some_and(|s| s > 0.0) && rows[0].probe_seconds.is_none());
        // latent.csv: every test image, its label and a point in the plane (PCA of 4-D codes).
        let latent = std::fs::read_to_string(dir.path().join(LATENT_FILE)).unwrap();
        let lines: Vec<&str> = latent.lines().collect();
        assert_eq!(lines[0], "label,x,y");
        assert_eq!(lines.len(), 1 + 20);
        let dataset = data::synthetic::dataset(60, 20);
        for (line, label) in lines[1..].iter().zip(&dataset.test.labels) {
            let cells: Vec<&str> = line.split(',').collect();
            assert_eq!(cells[0], label.to_string());
            assert!(cells[1..].iter().all(|v| v.parse::<f32>().unwrap().is_finite()), "{line}");
        }
    }

    #[test]
    fn the_probe_follows_its_schedule_and_reads_the_classes_from_the_codes() {
        let dataset = data::synthetic::dataset(600, 200);
        let mut c = config(Architecture::Dense);
        c.data.train_limit = Some(600);
        c.data.test_limit = Some(200);
        c.model.latent_dim = 8;
        c.train.epochs = 3;
        c.train.probe_every = 2;
        let (_, rows, _) = train_on(&c, None, &dataset);
        let probed: Vec<u64> = rows.iter().filter(|r| r.probe_accuracy.is_some()).map(|r| r.epoch).collect();
        assert_eq!(probed, [2, 3], "every 2nd epoch and the last");
        // Ten classes: chance is 0.1. The codes of even a briefly trained encoder keep enough of
        // the shapes for a linear read-out well above it (labels misaligned with codes would not).
        let accuracy = rows[2].probe_accuracy.unwrap();
        assert!(accuracy > 0.25, "probe accuracy {accuracy}");
        assert!((accuracy * 200.0 - (accuracy * 200.0).round()).abs() < 1e-9, "a fraction of the 200 test images");

        c.train.probe = false;
        c.train.probe_every = 0;
        let (_, rows, _) = train_on(&c, None, &dataset);
        assert!(rows.iter().all(|r| r.probe_accuracy.is_none() && r.probe_seconds.is_none()));
    }

    #[test]
    fn a_two_dimensional_latent_space_is_written_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = config(Architecture::Dense);
        c.model.latent_dim = 2;
        c.train.epochs = 1;
        train(&c, Some(dir.path()));
        let (trainer, meta) = nn::checkpoint::load(&nn::Cpu::default(), &dir.path().join("model.safetensors")).unwrap();
        assert_eq!(meta["kind"], "plain");
        let dataset = data::synthetic::dataset(60, 20);
        let dev = nn::Cpu::default();
        let t = Trainer::new(dev, trainer, LossKind::Bce, OptimizerKind::adam(1e-3));
        let codes = t.encode(&dataset.test.images).unwrap();
        let latent = std::fs::read_to_string(dir.path().join(LATENT_FILE)).unwrap();
        let first: Vec<f32> = latent.lines().nth(1).unwrap().split(',').skip(1).map(|v| v.parse().unwrap()).collect();
        assert_eq!(first, codes[..2], "the code itself, every digit");
    }

    #[test]
    fn same_config_gives_bit_identical_metrics() {
        let c = config(Architecture::Dense);
        let (_, a, _) = train(&c, None);
        let (_, b, _) = train(&c, None);
        assert_eq!(without_timings(&a), without_timings(&b));
        let mut other = c.clone();
        other.train.seed = 4;
        let (_, d, _) = train(&other, None);
        assert_ne!(without_timings(&a), without_timings(&d));
    }

    #[test]
    fn a_diverging_run_stops_with_a_reason() {
        let mut c = config(Architecture::Dense);
        c.train.optimizer = Optimizer::Sgd;
        c.train.momentum = Some(0.9);
        c.train.learning_rate = 1e30;
        let (outcome, rows, _) = train(&c, None);
        match outcome {
            Outcome::Diverged { epoch, reason } => {
                assert_eq!(rows.len(), epoch - 1, "finished epochs were reported");
                assert!(reason.contains("became"), "{reason}");
            }
            other => panic!("expected divergence, got {other:?}"),
        }
    }

    #[test]
    fn denoising_runs_train_for_every_noise_kind() {
        for (kind, level) in [(NoiseKind::Gaussian, 0.3), (NoiseKind::Masking, 0.5), (NoiseKind::SaltPepper, 0.2)] {
            let mut c = config(Architecture::Dense);
            c.noise = Some(NoiseConfig { kind, level });
            let (outcome, rows, _) = train(&c, None);
            assert!(matches!(outcome, Outcome::Completed { .. }), "{kind}");
            let r = &rows[1];
            assert_eq!(r.noise_kind.as_deref(), Some(kind.to_string().as_str()));
            let noisy = r.noisy_test_bce.unwrap();
            assert!(noisy.is_finite() && noisy != r.test_bce, "{kind}: the corrupted test set is evaluated separately");
        }
    }

    /// A config of `kind` with its keys at their defaults (as the sweep file resolves them).
    fn kind_config(arch: Architecture, kind: ModelKind) -> RunConfig {
        let mut c = config(arch);
        c.model.kind = kind;
        match kind {
            ModelKind::Plain => {}
            ModelKind::Sparse => c.model.sparsity = Some(spec::DEFAULT_SPARSITY_L1),
            ModelKind::Contractive => c.model.contraction = Some(spec::DEFAULT_CONTRACTION),
            ModelKind::Stacked => c.model.pretrain_epochs = Some(1),
            ModelKind::Vae => {
                c.model.beta = Some(1.0);
                c.model.nll_samples = Some(20);
                c.model.nll_images = Some(1000);
            }
        }
        c
    }

    #[test]
    fn every_kind_trains_records_its_own_metrics_and_reproduces_bit_for_bit() {
        let mut cases: Vec<(Architecture, ModelKind)> =
            ModelKind::ALL.iter().map(|k| (Architecture::Dense, *k)).collect();
        cases.extend([ModelKind::Sparse, ModelKind::Contractive, ModelKind::Vae].map(|k| (Architecture::Conv, k)));
        for (arch, kind) in cases {
            let c = kind_config(arch, kind);
            let (outcome, rows, _) = train(&c, None);
            assert!(matches!(outcome, Outcome::Completed { .. }), "{arch:?} {kind}: {outcome:?}");
            // Conv runs take seconds in a debug build: the dense ones check reproduction (the
            // kinds' code paths are the same for both architectures).
            if arch == Architecture::Dense {
                let (_, again, _) = train(&c, None);
                assert_eq!(without_timings(&rows), without_timings(&again), "{kind}: the same config reproduces");
            }
            let last = rows.last().unwrap();
            assert_eq!(last.kind, kind.to_string());
            let penalised = matches!(kind, ModelKind::Sparse | ModelKind::Contractive | ModelKind::Vae);
            assert!(rows.iter().all(|r| r.penalty.is_some() == penalised), "{arch:?} {kind}: penalty column");
            assert!(rows.iter().all(|r| r.penalty.is_none_or(|p| p > 0.0 && p.is_finite())), "{arch:?} {kind}");
            let vae = kind == ModelKind::Vae;
            assert!(rows.iter().all(|r| r.test_kl.is_some() == vae && r.test_neg_elbo.is_some() == vae), "{kind}");
            // The likelihood is estimated once, after the last epoch.
            let nll: Vec<bool> = rows.iter().map(|r| r.test_nll.is_some()).collect();
            assert_eq!(nll, rows.iter().map(|r| vae && r.epoch == 2).collect::<Vec<_>>(), "{arch:?} {kind}");
            if vae {
                let (nll, bound) = (last.test_nll.unwrap(), last.test_neg_elbo.unwrap());
                // The importance-sampled estimate is a tighter bound than one sample's ELBO.
                assert!(nll > 0.0 && nll < bound, "{arch:?}: test_nll {nll} vs test_neg_elbo {bound}");
                assert!(last.test_kl.unwrap() > 0.0 && last.nll_seconds.is_some());
                // Per image, not per pixel: the reconstruction term is a sum over 784 pixels.
                assert!(last.train_loss > 50.0, "{arch:?}: train_loss {}", last.train_loss);
            }
            if kind != ModelKind::Plain && arch == Architecture::Dense {
                let plain = train(&kind_config(arch, ModelKind::Plain), None).1;
                assert_ne!(plain.last().unwrap().test_bce, last.test_bce, "{arch:?} {kind}: trains something else");
            }
        }
    }

    #[test]
    fn a_contractive_encoder_of_one_layer_is_rifais_with_the_closed_form_deeper_ones_are_estimated() {
        let mut c = kind_config(Architecture::Dense, ModelKind::Contractive);
        c.model.hidden = Some(Vec::new());
        let t = trainer(&c).unwrap();
        assert_eq!((t.model.head(), t.contraction(), t.noise_len(16)), (Head::Sigmoid, nn::Contraction::Exact, 0));
        let (outcome, rows, _) = train(&c, None);
        assert!(matches!(outcome, Outcome::Completed { .. }));
        assert!(rows.iter().all(|r| r.penalty.is_some_and(|p| p > 0.0)));
        for arch in [Architecture::Dense, Architecture::Conv] {
            let t = trainer(&kind_config(arch, ModelKind::Contractive)).unwrap();
            assert_eq!((t.model.head(), t.contraction()), (Head::Linear, nn::Contraction::Hutchinson), "{arch:?}");
            assert_eq!(t.noise_len(16), 16 * nn::IMAGE_LEN, "{arch:?}: one probe per image");
        }
    }

    #[test]
    fn a_stacked_run_records_each_pretraining_phase_then_finetunes() {
        let mut c = kind_config(Architecture::Dense, ModelKind::Stacked);
        c.model.hidden = Some(vec![16, 8]);
        c.model.pretrain_epochs = Some(2);
        let (outcome, rows, batches) = train(&c, None);
        let phases: Vec<(String, u64)> = rows.iter().map(|r| (r.phase.clone().unwrap_or_default(), r.epoch)).collect();
        let want: Vec<(String, u64)> = [
            "pretrain-1",
            "pretrain-1",
            "pretrain-2",
            "pretrain-2",
            "pretrain-3",
            "pretrain-3",
            "finetune",
            "finetune",
        ]
        .iter()
        .zip([1, 2, 1, 2, 1, 2, 1, 2])
        .map(|(p, e)| (p.to_string(), e))
        .collect();
        assert_eq!(phases, want, "two hidden layers and the code: three phases of two epochs, then fine-tuning");
        assert_eq!(rows.len(), c.total_epochs());
        assert_eq!(batches, 8 * 4, "every epoch of every phase trains on every batch");
        assert!(matches!(outcome, Outcome::Completed { ref last } if last == &rows[7]));
        // The probe runs on the fine-tuned model only; the pre-training rows evaluate the model
        // cut at their depth, so each phase measures something else.
        assert_eq!(rows.iter().filter(|r| r.probe_accuracy.is_some()).count(), 1);
        assert!(rows[7].probe_accuracy.is_some());
        let bce: Vec<f64> = rows.iter().map(|r| r.test_bce).collect();
        assert!(
            bce.iter().all(|b| b.is_finite()) && bce[1] != bce[3] && bce[3] != bce[5] && bce[5] != bce[6],
            "{bce:?}"
        );
        assert!(rows.iter().all(|r| r.penalty.is_none()));
        // Reproducible, and the fine-tuning starts from the pre-trained layers: without
        // pre-training (a plain run) the same fine-tuning ends elsewhere.
        assert_eq!(without_timings(&rows), without_timings(&train(&c, None).1));
        let mut plain = c.clone();
        plain.model.kind = ModelKind::Plain;
        plain.model.pretrain_epochs = None;
        assert_ne!(train(&plain, None).1[1].test_bce, rows[7].test_bce);
    }

    #[test]
    fn a_vae_run_writes_its_prior_samples_and_a_two_dimensional_manifold() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = kind_config(Architecture::Dense, ModelKind::Vae);
        c.model.latent_dim = 2;
        c.train.epochs = 1;
        train(&c, Some(dir.path()));
        let (model, meta) = nn::checkpoint::load(&nn::Cpu::default(), &dir.path().join("model.safetensors")).unwrap();
        assert_eq!((meta["kind"].as_str(), model.head(), model.latent_dim()), ("vae", Head::Gaussian, 2));
        let size = |name: &str| {
            let dec = png::Decoder::new(std::fs::File::open(dir.path().join(name)).unwrap());
            let info = dec.read_info().unwrap();
            (info.info().width, info.info().height)
        };
        assert_eq!(size(SAMPLES_FILE), (8 * 56 + 7 * 2, 8 * 56 + 7 * 2), "8 × 8 draws at scale 2");
        assert_eq!(size(MANIFOLD_FILE), (20 * 28 + 19 * 2, 20 * 28 + 19 * 2), "20 × 20 codes at scale 1");
        // latent.csv holds the means of the codes.
        let t = Trainer::new(nn::Cpu::default(), model, LossKind::Bce, OptimizerKind::adam(1e-3));
        let dataset = data::synthetic::dataset(60, 20);
        let mu = t.encode(&dataset.test.images).unwrap();
        let latent = std::fs::read_to_string(dir.path().join(LATENT_FILE)).unwrap();
        let first: Vec<f32> = latent.lines().nth(1).unwrap().split(',').skip(1).map(|v| v.parse().unwrap()).collect();
        assert_eq!(first, mu[..2]);

        // A plain run draws nothing.
        let plain = tempfile::tempdir().unwrap();
        let mut c = config(Architecture::Dense);
        c.train.epochs = 1;
        train(&c, Some(plain.path()));
        assert!(!plain.path().join(SAMPLES_FILE).exists() && !plain.path().join(MANIFOLD_FILE).exists());
    }
}
