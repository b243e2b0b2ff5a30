//! One epoch of training, the same loop for every phase: a stacked run's greedy pre-training of
//! encoder layer k, and the training of the whole model (every other run's only phase).
//!
//! Seeds: the epoch order from (seed, epoch, phase); training noise, a VAE's ε and the
//! contractive probes from (seed, epoch, batch), each from a stream of its own purpose.

use crate::Observer;
use data::noise::corrupt;
use data::rng::{purpose, rng_for, standard_normal};
use data::Dataset;
use nn::Trainer;
use spec::metrics::{pretrain_phase, Training, FINETUNE_PHASE};
use spec::RunConfig;
use std::time::Instant;

/// What a phase trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// A stacked run's pre-training of encoder layer `layer` (1-based) and its mirror, as a
    /// shallow auto-encoder on the codes of the layers below.
    Pretrain { layer: usize },
    /// The whole model, with the kind's objective.
    Whole {
        /// A stacked run names it `finetune` in its rows.
        after_pretraining: bool,
    },
}

impl Phase {
    /// The `phase` column of its rows.
    pub(crate) fn label(self) -> Option<String> {
        match self {
            Phase::Pretrain { layer } => Some(pretrain_phase(layer)),
            Phase::Whole { after_pretraining: true } => Some(FINETUNE_PHASE.to_string()),
            Phase::Whole { after_pretraining: false } => None,
        }
    }

    /// The encoder depth its evaluation cuts the model at.
    pub(crate) fn depth(self) -> Option<usize> {
        match self {
            Phase::Pretrain { layer } => Some(layer),
            Phase::Whole { .. } => None,
        }
    }

    /// Its epoch orders' stream (phase 0 is the whole model's, so plain runs keep theirs).
    fn order_stream(self) -> u64 {
        match self {
            Phase::Pretrain { layer } => layer as u64,
            Phase::Whole { .. } => 0,
        }
    }

    /// The stream of the input corruption of batch `batch` in `epoch`.
    fn noise_stream(self, seed: u64, epoch: u64, batch: usize) -> rand_chacha::ChaCha8Rng {
        match self {
            Phase::Pretrain { layer } => {
                rng_for(seed, purpose::PRETRAIN_NOISE, epoch, ((layer as u64) << 32) | batch as u64)
            }
            Phase::Whole { .. } => rng_for(seed, purpose::TRAIN_NOISE, epoch, batch as u64),
        }
    }
}

/// How an epoch's training ended.
pub(crate) enum Trained {
    Epoch(Training),
    /// A step's loss became NaN or infinite: why.
    Diverged(String),
}

/// Buffers reused from batch to batch.
#[derive(Default)]
pub(crate) struct Buffers {
    clean: Vec<f32>,
    inputs: Vec<f32>,
    draws: Vec<f32>,
}

/// What every epoch of a run trains on.
pub(crate) struct Inputs<'a> {
    pub config: &'a RunConfig,
    pub dataset: &'a Dataset,
    /// The purpose of the objective's standard normal draws.
    pub draws: u64,
}

/// Trains one epoch (1-based) of `phase`.
pub(crate) fn train_epoch(
    trainer: &mut Trainer,
    inputs: &Inputs<'_>,
    phase: Phase,
    epoch: usize,
    buffers: &mut Buffers,
    observer: &mut dyn Observer,
) -> Result<Trained, nn::NnError> {
    let Inputs { config, dataset, draws } = *inputs;
    let train = &dataset.train;
    let seed = config.train.seed;
    let batch_size = config.train.batch_size;
    let started = Instant::now();
    let order = data::batch::phase_order(train.len(), seed, epoch as u64, phase.order_stream());
    let batches = data::batch::batch_count(order.len(), batch_size);
    let (mut loss_sum, mut penalty_sum) = (0.0f64, 0.0f64);
    let Buffers { clean, inputs: corrupted, draws: noise } = buffers;
    for (bi, idx) in data::batch::batches(&order, batch_size).enumerate() {
        data::batch::gather(train, idx, clean);
        let x = if config.noise.is_none() {
            &*clean
        } else {
            corrupted.resize(clean.len(), 0.0);
            corrupt(&config.noise, clean, corrupted, &mut phase.noise_stream(seed, epoch as u64, bi));
            &*corrupted
        };
        let (total, reconstruction, penalty) = match phase {
            Phase::Pretrain { layer } => {
                let loss = trainer.pretrain_step(layer, x, clean)?;
                if !loss.is_finite() {
                    return Ok(Trained::Diverged(format!(
                        "pre-training loss of layer {layer} became {loss} at epoch {epoch}, batch {}",
                        bi + 1
                    )));
                }
                (loss, loss, None)
            }
            Phase::Whole { .. } => {
                noise.resize(trainer.noise_len(idx.len()), 0.0);
                if !noise.is_empty() {
                    standard_normal(&mut rng_for(seed, draws, epoch as u64, bi as u64), noise);
                }
                let loss = trainer.step(x, clean, noise)?;
                if !loss.total().is_finite() {
                    return Ok(Trained::Diverged(format!(
                        "training loss became {} at epoch {epoch}, batch {}",
                        loss.total(),
                        bi + 1
                    )));
                }
                (loss.total(), loss.reconstruction, loss.penalty)
            }
        };
        loss_sum += reconstruction as f64 * idx.len() as f64;
        penalty_sum += penalty.unwrap_or(0.0) as f64 * idx.len() as f64;
        observer.batch(epoch, bi + 1, batches, total);
    }
    let seconds = started.elapsed().as_secs_f64();
    let has_penalty = matches!(phase, Phase::Whole { .. }) && trainer.objective().has_penalty();
    Ok(Trained::Epoch(Training {
        loss: loss_sum / train.len() as f64,
        penalty: has_penalty.then(|| penalty_sum / train.len() as f64),
        seconds,
        samples_per_second: train.len() as f64 / seconds.max(1e-9),
    }))
}
