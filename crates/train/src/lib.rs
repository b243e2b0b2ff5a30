//! One training run: builds the model a resolved config describes, trains it epoch by epoch on a
//! dataset, evaluates after each epoch, probes the codes (a linear classifier on the training
//! codes, scored on the test codes) after the last epoch and every `train.probe_every`-th, hands
//! each epoch's metric row to an observer, detects divergence, and writes the run's checkpoint,
//! reconstruction picture and test codes in the plane (`latent.csv`).
//!
//! Seeds: weights from `train.seed`; the epoch order from (seed, epoch); training noise from
//! (seed, epoch, batch); the test-set corruption from a fixed seed shared by every run, so that
//! denoising metrics of different runs see the same corrupted images.

use data::noise::{corrupt, purpose, rng_for};
use data::Dataset;
use nn::{EvalSums, LossKind, Model, ModelSpec, OptimizerKind, Trainer};
use spec::metrics::EpochMetrics;
use spec::{Architecture, Loss, MetricRow, NoiseConfig, Optimizer, RunConfig};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The seed of the test-set corruption: fixed, not the run's, so runs compare on the same images.
const TEST_NOISE_SEED: u64 = 0x7e57_7e57;
/// Test images shown in a run's reconstruction picture (the tutorial's `plot_AE` shows 10).
const PICTURE_IMAGES: usize = 10;

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
    ModelSpec {
        architecture: match config.model.architecture {
            Architecture::Conv => nn::Architecture::Conv,
            Architecture::Dense => nn::Architecture::Dense,
        },
        latent_dim: config.model.latent_dim,
        hidden: match config.model.architecture {
            Architecture::Dense => config.model.dense_hidden(),
            Architecture::Conv => Vec::new(),
        },
    }
}

/// Builds the trainer (model with its seeded initialisation, loss, optimizer) of a config.
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
    Ok(Trainer::new(dev, model, loss, optimizer))
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

    let batch_size = config.train.batch_size;
    let mut clean = Vec::new();
    let mut inputs = Vec::new();
    let mut last = None;
    // The test codes of the last probe, reused for `latent.csv`.
    let mut test_codes = None;
    for epoch in 1..=config.train.epochs {
        let started = Instant::now();
        let order = data::batch::epoch_order(train.len(), config.train.seed, epoch as u64);
        let batches = order.len().div_ceil(batch_size);
        let mut loss_sum = 0.0f64;
        for (bi, idx) in data::batch::batches(&order, batch_size).enumerate() {
            data::batch::gather(train, idx, &mut clean);
            let x = match noise {
                Some(n) => {
                    let mut rng = rng_for(config.train.seed, purpose::TRAIN_NOISE, epoch as u64, bi as u64);
                    inputs.resize(clean.len(), 0.0);
                    corrupt(n.kind, n.level, &clean, &mut inputs, &mut rng);
                    &inputs
                }
                None => &clean,
            };
            let loss = trainer.step(x, &clean).map_err(model_err)?;
            if !loss.is_finite() {
                return Ok(Outcome::Diverged {
                    epoch,
                    reason: format!("training loss became {loss} at epoch {epoch}, batch {}", bi + 1),
                });
            }
            loss_sum += loss as f64 * idx.len() as f64;
            observer.batch(epoch, bi + 1, batches, loss);
        }
        let epoch_seconds = started.elapsed().as_secs_f64();

        let eval_started = Instant::now();
        let sums = trainer.evaluate(&test.images, &test.images).map_err(model_err)?;
        let noisy = match &noisy_test {
            Some(images) => Some(trainer.evaluate(images, &test.images).map_err(model_err)?),
            None => None,
        };
        let mut m = EpochMetrics {
            epoch: epoch as u64,
            train_loss: loss_sum / train.len() as f64,
            test_bce: sums.bce_mean(),
            test_mse: sums.mse_mean(),
            test_psnr: sums.psnr(),
            noisy: noisy.map(|s: EvalSums| (s.bce_mean(), s.mse_mean(), s.psnr())),
            probe: None,
            epoch_seconds,
            eval_seconds: eval_started.elapsed().as_secs_f64(),
            samples_per_second: train.len() as f64 / epoch_seconds.max(1e-9),
        };
        let bad = [("test_bce", m.test_bce), ("test_mse", m.test_mse), ("train_loss", m.train_loss)]
            .into_iter()
            .find(|(_, v)| !v.is_finite());
        if let Some((name, v)) = bad {
            return Ok(Outcome::Diverged { epoch, reason: format!("{name} became {v} at epoch {epoch}") });
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
    data::grid::write_grid_png(&png, &rows, 28, 28, 2).map_err(|e| out_err(&png, e.to_string()))
}

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
            model: ModelConfig {
                architecture: arch,
                latent_dim: 4,
                hidden: (arch == Architecture::Dense).then(|| vec![16]),
            },
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
        let (trainer, _) = nn::checkpoint::load(&nn::Cpu::default(), &dir.path().join("model.safetensors")).unwrap();
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
}
