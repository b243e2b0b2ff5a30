//! One training run: builds the model a resolved config describes (of any `model.kind`), trains
//! it epoch by epoch on a dataset — a `stacked` run first pre-trains its layers greedily, one
//! phase per encoder layer — evaluates after each epoch, probes the codes (a linear classifier on
//! the training codes, scored on the test codes) after the last epoch and every
//! `train.probe_every`-th, estimates a VAE's test log-likelihood after the last epoch, hands each
//! epoch's metric row to an observer, detects divergence, and writes the run's outputs.
//!
//! The rooms: `setup` maps a config onto the model crate (the one file a new kind touches here),
//! `epoch` trains one epoch of any phase, `evaluate` measures an epoch, `outputs` writes what a
//! finished run leaves in its folder.

mod epoch;
mod evaluate;
mod outputs;
pub mod setup;

pub use outputs::{manifold, prior_samples, write_image_grid, MANIFOLD_SIDE, SAMPLE_IMAGES, SAMPLE_SEED};
pub use setup::{device, model_spec, trainer, trainer_on};

use data::Dataset;
use epoch::{train_epoch, Buffers, Inputs, Phase, Trained};
use evaluate::{Codes, Evaluation};
use spec::metrics::EpochMetrics;
use spec::{MetricRow, RunConfig, RunDir};
use std::path::PathBuf;
use std::time::Instant;

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
    #[error("run {run}: cannot go on from {}: {message}", path.display())]
    Resume { run: String, path: PathBuf, message: String },
}

/// Which epochs of the whole model this call trains: all of them, or (successive halving) a
/// stretch that ends at a rung, its training state saved in the run folder so that a later call
/// goes on from there. A run trained in stretches gives the same rows, bit for bit, as one trained
/// straight: every random stream is derived from (seed, epoch, batch), and the state holds the
/// rest (weights, optimizer moments and step count).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stretch {
    /// Go on from the state saved after this epoch of the whole model (a stacked run's
    /// pre-training is then behind it).
    pub resume_after: Option<usize>,
    /// Stop after this epoch of the whole model, when it comes before `train.epochs`, and save
    /// the state.
    pub pause_at: Option<usize>,
}

/// What a run needs to know about itself.
pub struct RunInfo<'a> {
    pub run_id: &'a str,
    pub sweep: &'a str,
    pub variant: &'a str,
    pub config: &'a RunConfig,
    /// Where the outputs go; none for a dry check.
    pub out_dir: Option<&'a RunDir>,
    /// The epochs to train (all of them unless a search pauses the run at a rung).
    pub stretch: Stretch,
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
    /// Stopped at [`Stretch::pause_at`], the state saved in the run folder; no outputs written.
    Paused {
        last: MetricRow,
    },
}

/// The caller's key of a state file's metadata: the epoch of the whole model it was saved after.
const STATE_EPOCH: &str = "epoch";
/// The run it belongs to.
const STATE_RUN: &str = "run";

/// Trains one run to the end (or until it diverges) on its config's device, reporting each epoch
/// to `observer`.
pub fn run(info: &RunInfo<'_>, dataset: &Dataset, observer: &mut dyn Observer) -> Result<Outcome, TrainError> {
    run_on(info, dataset, observer, setup::device(info.config))
}

/// [`run`] on `device` instead of the config's (`runner check --device`; the generic path's
/// tests): the same initial weights, data order and random draws.
pub fn run_on(
    info: &RunInfo<'_>,
    dataset: &Dataset,
    observer: &mut dyn Observer,
    device: nn::Device,
) -> Result<Outcome, TrainError> {
    let run = info.run_id.to_string();
    let model_err = |cause| TrainError::Model { run: run.clone(), cause };
    let config = info.config;
    if dataset.train.is_empty() {
        return Err(TrainError::NoData { run });
    }
    let kind = setup::kind(config);
    let mut trainer = setup::trainer_on(config, device).map_err(model_err)?;
    let evaluation = Evaluation::new(dataset, trainer.loss, &config.noise, kind.vae);
    let mut buffers = Buffers::default();
    let inputs = Inputs { config, dataset, draws: kind.draws };

    // A stacked run's greedy pre-training: encoder layer k and its mirror as a shallow
    // auto-encoder, k = 1, 2, …, each evaluated as the model cut at depth k.
    let mut phases: Vec<(Phase, usize)> = (1..=config.model.pretrain_phases())
        .map(|layer| (Phase::Pretrain { layer }, config.model.pretrain_epochs()))
        .collect();
    let whole = Phase::Whole { after_pretraining: !phases.is_empty() };
    let mut first = 1;
    if let Some(done) = info.stretch.resume_after {
        resume(info, &mut trainer, done)?;
        phases.clear();
        first = done + 1;
    }
    phases.push((whole, config.train.epochs));

    let mut last = None;
    // The test codes of the last probe, reused for `latent.csv`.
    let mut test_codes = None;
    for (phase, epochs) in phases {
        let first = if phase == whole { first } else { 1 };
        for epoch in first..=epochs {
            let trained =
                train_epoch(&mut trainer, &inputs, phase, epoch, &mut buffers, observer).map_err(model_err)?;
            let training = match trained {
                Trained::Epoch(t) => t,
                Trained::Diverged(reason) => return Ok(Outcome::Diverged { epoch, reason }),
            };
            let is_whole = phase == whole;
            let likelihood = is_whole && epoch == config.train.epochs;
            let t = evaluation.run(&trainer.model, phase.depth(), likelihood).map_err(model_err)?;
            let mut m = EpochMetrics {
                epoch: epoch as u64,
                phase: phase.label(),
                training,
                test: t.test,
                noisy_test: t.noisy_test,
                vae: t.vae,
                nll: t.nll,
                probe: None,
                eval_seconds: t.seconds,
            };
            let row = MetricRow::new(info.run_id, info.sweep, info.variant, config, &m);
            if let Some(reason) = row.non_finite() {
                let at = match phase {
                    Phase::Pretrain { layer } => format!("in phase pretrain-{layer}"),
                    Phase::Whole { .. } => format!("at epoch {epoch}"),
                };
                return Ok(Outcome::Diverged { epoch, reason: format!("{reason} {at}") });
            }
            let row = if is_whole && config.train.probes_after(epoch) {
                let started = Instant::now();
                let codes = Codes::of(&trainer.model, dataset).map_err(model_err)?;
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
                m.probe = Some(spec::metrics::Timed { value: result.accuracy, seconds });
                test_codes = Some(codes.test);
                MetricRow::new(info.run_id, info.sweep, info.variant, config, &m)
            } else {
                row
            };
            observer.epoch(&row).map_err(|message| TrainError::Observer { run: run.clone(), message })?;
            if is_whole && epoch < config.train.epochs && info.stretch.pause_at == Some(epoch) {
                pause(info, &trainer, epoch)?;
                return Ok(Outcome::Paused { last: row });
            }
            if is_whole {
                last = Some(row);
            }
        }
    }

    if let Some(dir) = info.out_dir {
        outputs::write(info, dir, &trainer.model, dataset, evaluation.noisy_test.as_deref(), test_codes)?;
    }
    match last {
        Some(last) => Ok(Outcome::Completed { last }),
        // `epochs ≥ 1` is validated, so a run always has a last row.
        None => Err(TrainError::NoData { run }),
    }
}

/// Saves the state after `epoch` into the run folder.
fn pause(info: &RunInfo<'_>, trainer: &nn::Trainer, epoch: usize) -> Result<(), TrainError> {
    let run = info.run_id.to_string();
    let Some(dir) = info.out_dir else {
        return Err(TrainError::Observer { run, message: "a paused run needs a folder for its state".into() });
    };
    let meta = [(STATE_EPOCH, epoch.to_string()), (STATE_RUN, run.clone())];
    trainer.save_state(&dir.state(), &meta).map_err(|cause| TrainError::Model { run, cause })
}

/// Restores the state saved after epoch `done` of the whole model.
fn resume(info: &RunInfo<'_>, trainer: &mut nn::Trainer, done: usize) -> Result<(), TrainError> {
    let run = info.run_id.to_string();
    let Some(dir) = info.out_dir else {
        return Err(TrainError::Observer { run, message: "a resumed run needs its folder".into() });
    };
    let path = dir.state();
    let fail = |message: String| TrainError::Resume { run: run.clone(), path: path.clone(), message };
    if done >= info.config.train.epochs {
        return Err(fail(format!("epoch {done} is not before the last ({})", info.config.train.epochs)));
    }
    let meta = trainer.load_state(&path).map_err(|cause| TrainError::Model { run: run.clone(), cause })?;
    match meta.get(STATE_RUN) {
        Some(r) if *r == run => {}
        other => return Err(fail(format!("it is the state of run {}", other.map_or("(none)", String::as_str)))),
    }
    match meta.get(STATE_EPOCH).map(|e| e.parse::<usize>()) {
        Some(Ok(e)) if e == done => Ok(()),
        Some(Ok(e)) => Err(fail(format!("it was saved after epoch {e}, not {done}"))),
        _ => Err(fail(format!("its metadata has no `{STATE_EPOCH}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nn::kind::contractive::Contraction;
    use nn::Head;
    use spec::layout::{LATENT_CSV, MANIFOLD, SAMPLES};
    use spec::*;
    use std::path::Path;

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
            model: match arch {
                Architecture::Dense => ModelConfig::dense(4, vec![16]),
                Architecture::Conv => ModelConfig::plain(arch, 4),
            },
            train: TrainConfig {
                epochs: 2,
                batch_size: 16,
                learning_rate: 1e-3,
                optimizer: Optimizer::Adam,
                loss: Loss::Bce,
                seed: 3,
                probe: Probe::Last,
                device: spec::Device::Cpu,
            },
            noise: Noise::None,
        }
    }

    fn train(config: &RunConfig, out: Option<&Path>) -> (Outcome, Vec<MetricRow>, usize) {
        let dataset = ::data::synthetic::dataset(60, 20);
        train_on(config, out, &dataset)
    }

    fn train_on(config: &RunConfig, out: Option<&Path>, dataset: &Dataset) -> (Outcome, Vec<MetricRow>, usize) {
        let dir = out.map(RunDir::new);
        let info = RunInfo {
            run_id: "r",
            sweep: "s",
            variant: "v",
            config,
            out_dir: dir.as_ref(),
            stretch: Stretch::default(),
        };
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
        let (model, meta) = nn::checkpoint::load(nn::Device::Cpu, &RunDir::new(dir.path()).checkpoint()).unwrap();
        assert_eq!(model.latent_dim(), 4);
        assert_eq!(meta["run_id"], "r");
        assert!(RunDir::new(dir.path()).reconstructions().is_file());
        // The probe ran once, after the last epoch.
        assert_eq!(rows.iter().map(|r| r.probe_accuracy.is_some()).collect::<Vec<_>>(), [false, true]);
        assert!(rows[1].probe_seconds.is_some_and(|s| s > 0.0) && rows[0].probe_seconds.is_none());
        // latent.csv: every test image, its label and a point in the plane (PCA of 4-D codes).
        let latent = std::fs::read_to_string(dir.path().join(LATENT_CSV)).unwrap();
        let lines: Vec<&str> = latent.lines().collect();
        assert_eq!(lines[0], "label,x,y");
        assert_eq!(lines.len(), 1 + 20);
        let dataset = ::data::synthetic::dataset(60, 20);
        for (line, label) in lines[1..].iter().zip(&dataset.test.labels) {
            let cells: Vec<&str> = line.split(',').collect();
            assert_eq!(cells[0], label.to_string());
            assert!(cells[1..].iter().all(|v| v.parse::<f32>().unwrap().is_finite()), "{line}");
        }
    }

    #[test]
    fn the_probe_follows_its_schedule_and_reads_the_classes_from_the_codes() {
        let dataset = ::data::synthetic::dataset(600, 200);
        let mut c = config(Architecture::Dense);
        c.data.train_limit = Some(600);
        c.data.test_limit = Some(200);
        c.model.latent_dim = 8;
        c.train.epochs = 3;
        c.train.probe = Probe::Every(2);
        let (_, rows, _) = train_on(&c, None, &dataset);
        let probed: Vec<u64> = rows.iter().filter(|r| r.probe_accuracy.is_some()).map(|r| r.epoch).collect();
        assert_eq!(probed, [2, 3], "every 2nd epoch and the last");
        // Ten classes: chance is 0.1. The codes of even a briefly trained encoder keep enough of
        // the shapes for a linear read-out well above it (labels misaligned with codes would not).
        let accuracy = rows[2].probe_accuracy.unwrap();
        assert!(accuracy > 0.25, "probe accuracy {accuracy}");
        assert!((accuracy * 200.0 - (accuracy * 200.0).round()).abs() < 1e-9, "a fraction of the 200 test images");

        c.train.probe = Probe::Off;
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
        let (model, meta) = nn::checkpoint::load(nn::Device::Cpu, &RunDir::new(dir.path()).checkpoint()).unwrap();
        assert_eq!(meta["kind"], "plain");
        let dataset = ::data::synthetic::dataset(60, 20);
        let codes = model.encode_all(&dataset.test.images).unwrap();
        let latent = std::fs::read_to_string(dir.path().join(LATENT_CSV)).unwrap();
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
    fn a_whole_run_through_the_generic_path_tracks_the_cpu_path() {
        // What a CUDA run differs by, measured on the CPU: the device-generic path (the ops CUDA
        // runs, on dfdx's Cpu) against the fast kernels, a plain and a denoising run of each
        // architecture from the same weights, data order and noise. Every metric of every epoch
        // within 1e-3 relative (the tolerance `runner check` gives CUDA runs), the probe's
        // accuracy within two test images.
        let dataset = ::data::synthetic::dataset(200, 50);
        let mut worst = 0.0f64;
        for arch in [Architecture::Conv, Architecture::Dense] {
            for noise in [Noise::None, Noise::Masking { p: 0.3 }] {
                let c = RunConfig { noise, ..config(arch) };
                let info = RunInfo {
                    run_id: "r",
                    sweep: "s",
                    variant: "v",
                    config: &c,
                    out_dir: None,
                    stretch: Stretch::default(),
                };
                let (mut cpu, mut generic) = (Collect(Vec::new(), 0), Collect(Vec::new(), 0));
                run_on(&info, &dataset, &mut cpu, nn::Device::Cpu).unwrap();
                run_on(&info, &dataset, &mut generic, nn::Device::GenericCpu).unwrap();
                assert_eq!(cpu.0.len(), generic.0.len());
                for (a, b) in cpu.0.iter().zip(&generic.0) {
                    for ((name, x), (_, y)) in a.metric_values().into_iter().zip(b.metric_values()) {
                        let (Some(x), Some(y)) = (x, y) else {
                            assert_eq!(x.is_some(), y.is_some(), "{name}");
                            continue;
                        };
                        if name.ends_with("seconds") || name == "samples_per_second" {
                            continue;
                        }
                        if name == "probe_accuracy" {
                            assert!((x - y).abs() <= 2.0 / 50.0 + 1e-9, "{arch:?}: {name} {x} vs {y}");
                            continue;
                        }
                        let rel = (x - y).abs() / x.abs().max(y.abs()).max(1e-30);
                        worst = worst.max(rel);
                        assert!(rel <= 1e-3, "{arch:?} {:?} epoch {}: {name} {x} vs {y}", c.noise, a.epoch);
                    }
                }
            }
        }
        eprintln!("generic vs CPU path, 2 epochs: worst relative metric difference {worst:.2e}");
    }

    #[test]
    fn a_run_trained_in_stretches_gives_the_rows_and_outputs_of_one_trained_straight() {
        // Successive halving's promise: pause after epoch 1, go on to 3, pause, go on to the end
        // (each stretch a fresh trainer restored from the state file, as a later process would),
        // and every row and output equals the straight run's — for a conv DAE with Adam, a
        // stacked run (pre-training behind it), a VAE (its ε stream) and SGD with momentum.
        let mut dae = config(Architecture::Conv);
        dae.noise = NoiseKind::Masking.with_level(0.3).unwrap();
        let mut stacked = kind_config(Architecture::Dense, KindName::Stacked);
        stacked.model.hidden = Hidden::Given(vec![16, 8]);
        let vae = kind_config(Architecture::Dense, KindName::Vae);
        let mut sgd = kind_config(Architecture::Dense, KindName::Contractive);
        sgd.train.optimizer = Optimizer::Sgd { momentum: 0.9 };
        sgd.train.probe = Probe::Every(2);
        let dataset = ::data::synthetic::dataset(60, 20);
        for mut c in [dae, stacked, vae, sgd] {
            c.train.epochs = 4;
            let what = format!("{} {:?}", c.model.kind.name(), c.model.architecture);
            let straight = tempfile::tempdir().unwrap();
            let (_, want, _) = train_on(&c, Some(straight.path()), &dataset);

            let parted = tempfile::tempdir().unwrap();
            let dir = RunDir::new(parted.path());
            let mut rows = Vec::new();
            let stretches = [(None, Some(1)), (Some(1), Some(3)), (Some(3), None)];
            for (k, (resume_after, pause_at)) in stretches.into_iter().enumerate() {
                let info = RunInfo {
                    run_id: "r",
                    sweep: "s",
                    variant: "v",
                    config: &c,
                    out_dir: Some(&dir),
                    stretch: Stretch { resume_after, pause_at },
                };
                let mut seen = Collect(Vec::new(), 0);
                let outcome = run(&info, &dataset, &mut seen).unwrap();
                match (k, &outcome) {
                    (2, Outcome::Completed { .. }) => {}
                    (0 | 1, Outcome::Paused { last }) => {
                        assert_eq!(Some(last.epoch as usize), pause_at, "{what}");
                        assert!(dir.state().is_file() && !dir.checkpoint().is_file(), "{what}: state, no outputs yet");
                    }
                    _ => panic!("{what}: stretch {k} ended {outcome:?}"),
                }
                rows.extend(seen.0);
            }
            assert_eq!(without_timings(&rows), without_timings(&want), "{what}");
            let (a, b) = (RunDir::new(straight.path()), &dir);
            assert_eq!(
                std::fs::read(a.file(LATENT_CSV)).unwrap(),
                std::fs::read(b.file(LATENT_CSV)).unwrap(),
                "{what}"
            );
            let weights = |d: &RunDir| nn::checkpoint::load(nn::Device::Cpu, &d.checkpoint()).unwrap().0.weights();
            let (wa, wb) = (weights(&a), weights(b));
            assert!(wa.iter().zip(&wb).all(|(x, y)| x.values == y.values), "{what}: the trained weights");
        }
    }

    #[test]
    fn a_run_goes_on_only_from_its_own_state_at_the_epoch_it_was_saved() {
        let c = RunConfig {
            train: TrainConfig { epochs: 3, ..config(Architecture::Dense).train },
            ..config(Architecture::Dense)
        };
        let dataset = ::data::synthetic::dataset(60, 20);
        let tmp = tempfile::tempdir().unwrap();
        let dir = RunDir::new(tmp.path());
        let go = |run_id: &str, stretch: Stretch| {
            let info = RunInfo { run_id, sweep: "s", variant: "v", config: &c, out_dir: Some(&dir), stretch };
            run(&info, &dataset, &mut Collect(Vec::new(), 0))
        };
        go("r", Stretch { resume_after: None, pause_at: Some(1) }).unwrap();
        let err = go("r", Stretch { resume_after: Some(2), pause_at: None }).unwrap_err().to_string();
        assert!(err.contains("saved after epoch 1, not 2") && err.contains("state.safetensors"), "{err}");
        let err = go("other", Stretch { resume_after: Some(1), pause_at: None }).unwrap_err().to_string();
        assert!(err.contains("the state of run r"), "{err}");
        std::fs::remove_file(dir.state()).unwrap();
        let err = go("r", Stretch { resume_after: Some(1), pause_at: None }).unwrap_err().to_string();
        assert!(err.contains("state.safetensors"), "{err}");
    }

    #[test]
    fn a_diverging_run_stops_with_a_reason() {
        let mut c = config(Architecture::Dense);
        c.train.optimizer = Optimizer::Sgd { momentum: 0.9 };
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
            c.noise = kind.with_level(level).unwrap();
            let (outcome, rows, _) = train(&c, None);
            assert!(matches!(outcome, Outcome::Completed { .. }), "{kind}");
            let r = &rows[1];
            assert_eq!(r.noise_kind.as_deref(), Some(kind.to_string().as_str()));
            let noisy = r.noisy_test_bce.unwrap();
            assert!(noisy.is_finite() && noisy != r.test_bce, "{kind}: the corrupted test set is evaluated separately");
        }
    }

    /// A config of `kind` with its keys at their defaults (as the sweep file resolves them).
    fn kind_config(arch: Architecture, kind: KindName) -> RunConfig {
        let mut c = config(arch);
        c.model.kind = match kind {
            KindName::Plain => Kind::Plain,
            KindName::Sparse => Kind::Sparse(Sparsity::L1 { weight: spec::model::DEFAULT_SPARSITY_L1 }),
            KindName::Contractive => Kind::Contractive { weight: spec::model::DEFAULT_CONTRACTION },
            KindName::Stacked => Kind::Stacked { pretrain_epochs: 1 },
            KindName::Vae => Kind::Vae(VaeSettings { beta: 1.0, nll_samples: 20, nll_images: 1000 }),
        };
        c
    }

    #[test]
    fn every_kind_trains_records_its_own_metrics_and_reproduces_bit_for_bit() {
        let mut cases: Vec<(Architecture, KindName)> =
            KindName::ALL.iter().map(|k| (Architecture::Dense, *k)).collect();
        cases.extend([KindName::Sparse, KindName::Contractive, KindName::Vae].map(|k| (Architecture::Conv, k)));
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
            let penalised = matches!(kind, KindName::Sparse | KindName::Contractive | KindName::Vae);
            assert!(rows.iter().all(|r| r.penalty.is_some() == penalised), "{arch:?} {kind}: penalty column");
            assert!(rows.iter().all(|r| r.penalty.is_none_or(|p| p > 0.0 && p.is_finite())), "{arch:?} {kind}");
            let vae = kind == KindName::Vae;
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
            if kind != KindName::Plain && arch == Architecture::Dense {
                let plain = train(&kind_config(arch, KindName::Plain), None).1;
                assert_ne!(plain.last().unwrap().test_bce, last.test_bce, "{arch:?} {kind}: trains something else");
            }
        }
    }

    #[test]
    fn a_contractive_encoder_of_one_layer_is_rifais_with_the_closed_form_deeper_ones_are_estimated() {
        let mut c = kind_config(Architecture::Dense, KindName::Contractive);
        c.model.hidden = Hidden::Given(Vec::new());
        let t = trainer(&c).unwrap();
        assert_eq!(
            (t.model.head(), Contraction::of(&t.model), t.noise_len(16)),
            (Head::Sigmoid, Contraction::Exact, 0)
        );
        let (outcome, rows, _) = train(&c, None);
        assert!(matches!(outcome, Outcome::Completed { .. }));
        assert!(rows.iter().all(|r| r.penalty.is_some_and(|p| p > 0.0)));
        for arch in [Architecture::Dense, Architecture::Conv] {
            let t = trainer(&kind_config(arch, KindName::Contractive)).unwrap();
            assert_eq!(
                (t.model.head(), Contraction::of(&t.model)),
                (Head::Linear, Contraction::Hutchinson),
                "{arch:?}"
            );
            assert_eq!(t.noise_len(16), 16 * nn::IMAGE_LEN, "{arch:?}: one probe per image");
        }
    }

    #[test]
    fn a_stacked_run_records_each_pretraining_phase_then_finetunes() {
        let mut c = kind_config(Architecture::Dense, KindName::Stacked);
        c.model.hidden = Hidden::Given(vec![16, 8]);
        c.model.kind = Kind::Stacked { pretrain_epochs: 2 };
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
        plain.model.kind = Kind::Plain;
        assert_ne!(train(&plain, None).1[1].test_bce, rows[7].test_bce);
    }

    #[test]
    fn a_vae_run_writes_its_prior_samples_and_a_two_dimensional_manifold() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = kind_config(Architecture::Dense, KindName::Vae);
        c.model.latent_dim = 2;
        c.train.epochs = 1;
        train(&c, Some(dir.path()));
        let (model, meta) = nn::checkpoint::load(nn::Device::Cpu, &RunDir::new(dir.path()).checkpoint()).unwrap();
        assert_eq!((meta["kind"].as_str(), model.head(), model.latent_dim()), ("vae", Head::Gaussian, 2));
        let size = |name: &str| {
            let dec = png::Decoder::new(std::fs::File::open(dir.path().join(name)).unwrap());
            let info = dec.read_info().unwrap();
            (info.info().width, info.info().height)
        };
        assert_eq!(size(SAMPLES), (8 * 56 + 7 * 2, 8 * 56 + 7 * 2), "8 × 8 draws at scale 2");
        assert_eq!(size(MANIFOLD), (20 * 28 + 19 * 2, 20 * 28 + 19 * 2), "20 × 20 codes at scale 1");
        // latent.csv holds the means of the codes.
        let dataset = ::data::synthetic::dataset(60, 20);
        let mu = model.encode_all(&dataset.test.images).unwrap();
        let latent = std::fs::read_to_string(dir.path().join(LATENT_CSV)).unwrap();
        let first: Vec<f32> = latent.lines().nth(1).unwrap().split(',').skip(1).map(|v| v.parse().unwrap()).collect();
        assert_eq!(first, mu[..2]);

        // A plain run draws nothing.
        let plain = tempfile::tempdir().unwrap();
        let mut c = config(Architecture::Dense);
        c.train.epochs = 1;
        train(&c, Some(plain.path()));
        assert!(!plain.path().join(SAMPLES).exists() && !plain.path().join(MANIFOLD).exists());
    }
}
