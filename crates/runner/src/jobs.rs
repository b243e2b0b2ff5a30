//! Training a list of runs, several at once: each of `--jobs` jobs takes the next run when it is
//! free and trains it in a thread pool of its own; a run already done (or another process's) is
//! skipped, one that diverges or fails is recorded and the others go on. Used by `runner sweep`
//! for a grid and by a search for each round (and each stage of a round, with successive
//! halving).

use crate::env::{open_device, provenance};
use crate::plan::{Datasets, Planned};
use crate::progress::{Display, Slot};
use anyhow::{bail, Result};
use data::Dataset;
use results::{RunRecord, SweepDir};
use spec::{MetricRow, RunFile, RunStatus, Sweep};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// What happened to the runs a sweep (or a shard, or a search round) was given.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub completed: usize,
    /// Stopped at a search's rung, to be promoted or pruned.
    pub paused: usize,
    pub skipped: usize,
    pub pruned: usize,
    pub diverged: usize,
    pub failed: usize,
    /// Wall time spent training lists of runs (several at once with jobs), summed over the lists.
    pub train_seconds: f64,
}

impl Tally {
    pub fn add(&mut self, o: Tally) {
        self.completed += o.completed;
        self.paused += o.paused;
        self.skipped += o.skipped;
        self.pruned += o.pruned;
        self.diverged += o.diverged;
        self.failed += o.failed;
        self.train_seconds += o.train_seconds;
    }
}

/// How many runs train at once, and how the threads are shared among them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jobs {
    /// Threads of each job's pool; `len()` jobs.
    pub threads: Vec<usize>,
}

impl Jobs {
    /// `--jobs` (a count or `auto`) and `--threads` for `runs` runs to train: `threads` (default
    /// all cores) split evenly over the jobs, the remainder one each to the first jobs; `auto`
    /// takes one job per thread (the models are small: two one-thread runs side by side train
    /// 1.14× (conv) to 1.6× (dense) faster than one run on two threads, measured with `runner bench`), at most one per run, and fewer when the
    /// estimated memory of the runs would exceed half of the memory available.
    pub fn resolve(jobs: &str, threads: Option<usize>, runs: &[&Planned]) -> Result<Self> {
        let total = threads.filter(|&t| t > 0).unwrap_or_else(rayon::current_num_threads).max(1);
        let n = match jobs.trim() {
            "auto" => {
                let memory = crate::env::available_memory_mb().map_or(usize::MAX, |available| {
                    let per_run = runs.iter().map(|p| estimated_run_mb(&p.spec.config)).fold(1.0f64, f64::max);
                    ((available / 2.0) / per_run).floor().max(1.0) as usize
                });
                total.min(runs.len().max(1)).min(memory)
            }
            other => match other.parse::<usize>() {
                Ok(n) if n >= 1 => n,
                _ => bail!("--jobs {other:?}: expected a number ≥ 1 or `auto`"),
            },
        };
        if n > total {
            bail!("--jobs {n} exceeds the {total} threads (--threads): every job needs at least one");
        }
        Ok(Self::split(total, n))
    }

    /// `total` threads over `n` jobs: evenly, the remainder one each to the first jobs.
    fn split(total: usize, n: usize) -> Self {
        Self { threads: (0..n).map(|k| total / n + usize::from(k < total % n)).collect() }
    }

    pub fn len(&self) -> usize {
        self.threads.len()
    }

    /// At most `runs` jobs with all the threads between them: a search's stage with one trial
    /// left trains it on every thread rather than leave the other jobs' threads idle (the bits do
    /// not depend on the thread count).
    pub fn at_most(&self, runs: usize) -> Self {
        let n = runs.max(1);
        if n >= self.len() {
            return self.clone();
        }
        Self::split(self.threads.iter().sum(), n)
    }
}

/// A run's peak memory in MB, roughly: measured with `runner bench` at batch 100 and 1000 (conv:
/// 84 and 290 MB; dense 512-256: 40 and 110 MB), beside the dataset that the jobs share.
fn estimated_run_mb(config: &spec::RunConfig) -> f64 {
    let per_sample = match config.model.architecture {
        spec::Architecture::Conv => 0.23,
        spec::Architecture::Dense => 0.08,
    };
    60.0 + per_sample * config.train.batch_size as f64
}

/// What the jobs that train a list of runs share.
pub struct Context<'a> {
    pub sweep: &'a Sweep,
    pub store: &'a SweepDir,
    pub datasets: &'a Datasets,
    pub display: &'a Display,
    /// Retrain runs that completed (or diverged) before.
    pub force: bool,
    /// `--tensorboard`: the log directory each run's events go to as its epochs end.
    pub tensorboard: Option<&'a crate::events::Logdir>,
    /// The devices opened before the sweep started (a run whose device is not among them opens
    /// it when it starts).
    pub devices: &'a [nn::DeviceInfo],
    /// Successive halving: train the runs up to this epoch of the whole model and pause them
    /// there (a run already that far is skipped); none trains them to the end.
    pub until: Option<usize>,
}

/// Trains `runs` with `jobs` jobs, each taking the next run in order when it is free. Results
/// do not depend on the job count: every run trains alone in its job's thread pool, and the
/// kernels give the same bits whatever a pool's size. Errors of the results store (which cannot
/// record anything) stop the jobs from taking new runs and are returned; runs already being
/// trained finish first.
pub fn train_runs(runs: &[&Planned], jobs: &Jobs, ctx: &Context<'_>) -> Result<Tally> {
    let started = Instant::now();
    let jobs = jobs.at_most(runs.len());
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let first_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let tally = Mutex::new(Tally::default());
    std::thread::scope(|scope| {
        for (k, &threads) in jobs.threads.iter().enumerate() {
            let (next, stop, first_error, tally) = (&next, &stop, &first_error, &tally);
            scope.spawn(move || {
                let fail = |e: anyhow::Error| {
                    stop.store(true, Ordering::SeqCst);
                    if let Ok(mut slot) = first_error.lock() {
                        slot.get_or_insert(e);
                    }
                };
                let pool = match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
                    Ok(pool) => pool,
                    Err(e) => return fail(anyhow::anyhow!("cannot start the thread pool of job {k}: {e}")),
                };
                let slot = ctx.display.slot(k);
                while !stop.load(Ordering::SeqCst) {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(p) = runs.get(i) else { break };
                    match pool.install(|| process(p, ctx, &slot)) {
                        Ok(t) => {
                            if let Ok(mut total) = tally.lock() {
                                total.add(t);
                            }
                        }
                        Err(e) => fail(e),
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().ok().flatten() {
        return Err(e);
    }
    let mut tally = tally.into_inner().map_err(|_| anyhow::anyhow!("a job stopped while counting runs"))?;
    tally.train_seconds = started.elapsed().as_secs_f64();
    Ok(tally)
}

/// Trains one run unless it is another process's, or done and not to be redone.
fn process(p: &Planned, ctx: &Context<'_>, slot: &Slot<'_>) -> Result<Tally> {
    let (store, display) = (ctx.store, ctx.display);
    let mut t = Tally::default();
    // Take the run before reading its record: a shard of another count may be training it, or
    // may have just finished it.
    let Some(lock) = store.lock_run(&p.id)? else {
        t.skipped += 1;
        display.line(&format!("{} {}: being trained by another process, skipped", p.id, p.spec.label()));
        display.skip_run();
        return Ok(t);
    };
    let record = store.record(&p.id);
    let reached = record.as_ref().is_some_and(|r| ctx.until.is_some_and(|u| r.epochs_completed >= u as u64));
    let skip = |why: &str| {
        display.line(&format!("{} {}: {why}", p.id, p.spec.label()));
        display.skip_run();
    };
    match record.as_ref().map(|r| r.status) {
        Some(RunStatus::Completed) if !ctx.force => {
            t.skipped += 1;
            skip("already completed, skipped");
            return Ok(t);
        }
        Some(RunStatus::Diverged) if !ctx.force => {
            t.diverged += 1;
            skip("diverged before, skipped (--force retrains it)");
            return Ok(t);
        }
        Some(status @ (RunStatus::Paused | RunStatus::Pruned)) if reached && !ctx.force => {
            let epochs = record.as_ref().map_or(0, |r| r.epochs_completed);
            display.line(&format!("{} {}: {status} after epoch {epochs} before, skipped", p.id, p.spec.label()));
            // A pruned run is done with; a paused one is not counted yet: its rung decides.
            if status == RunStatus::Pruned {
                t.skipped += 1;
                display.skip_run();
            }
            return Ok(t);
        }
        _ => {}
    }
    // A paused run goes on from its state (a pruned one, or a paused one whose state is gone,
    // restarts: its rows alone cannot be continued).
    let resume_after = if ctx.force { None } else { store.resumable(&p.id) };
    let dataset = ctx.datasets.get(&p.dataset)?;
    let device = train::device(&p.spec.config);
    let device = match ctx.devices.iter().find(|d| d.device == device) {
        Some(d) => d.clone(),
        // A run another process finished has turned unfinished again (its record removed), or a
        // search's later round: open its device now.
        None => open_device(device, &format!("run {}: `train.device = \"{device}\"`", p.id))?,
    };
    let stretch = train::Stretch { resume_after: resume_after.map(|e| e as usize), pause_at: ctx.until };
    let status = train_one(ctx, p, dataset, slot, lock, &device, stretch)?;
    match status {
        RunStatus::Completed => t.completed += 1,
        RunStatus::Paused => t.paused += 1,
        RunStatus::Pruned => t.pruned += 1,
        RunStatus::Diverged => t.diverged += 1,
        RunStatus::Failed | RunStatus::Running => t.failed += 1,
    }
    slot.end_run(status.is_final());
    Ok(t)
}

/// Trains one run and records how it ended. Errors of training itself become a `failed` record;
/// only errors of the results store (which cannot record anything) end the sweep.
fn train_one(
    ctx: &Context<'_>,
    p: &Planned,
    dataset: &Dataset,
    slot: &Slot<'_>,
    lock: results::RunLock,
    device: &nn::DeviceInfo,
    stretch: train::Stretch,
) -> Result<RunStatus> {
    let (sweep, store, tensorboard) = (ctx.sweep, ctx.store, ctx.tensorboard);
    let label = p.spec.label();
    let file = RunFile {
        trial: p.spec.trial,
        ..RunFile::new(p.id.clone(), &sweep.name, &p.spec.variant, label.clone(), &dataset.fingerprint, &p.spec.config)
    };
    let record = RunRecord {
        run_id: p.id.clone(),
        sweep: sweep.name.clone(),
        variant: p.spec.variant.clone(),
        label: label.clone(),
        status: RunStatus::Running,
        error: None,
        started_at: results::now_rfc3339(),
        finished_at: None,
        seed: p.spec.config.train.seed,
        dataset_fingerprint: dataset.fingerprint.clone(),
        provenance: provenance(device),
        epochs_completed: 0,
        train_seconds: 0.0,
        final_metrics: None,
    };
    let mut writer = match stretch.resume_after {
        Some(epoch) => {
            slot.line(&format!("{} {label}: going on after epoch {epoch}", p.id));
            store.resume_run(&p.id, lock)?
        }
        None => store.start_run(&file, record, lock)?,
    };
    let run_dir = writer.dir.clone();
    slot.start_run(&format!("{} {label}", p.id), p.spec.config.total_epochs());
    let started = Instant::now();
    let info = train::RunInfo {
        run_id: &p.id,
        sweep: &sweep.name,
        variant: &p.spec.variant,
        config: &p.spec.config,
        out_dir: Some(&run_dir),
        stretch,
    };
    let mut observer = Observer {
        writer: &mut writer,
        slot,
        label: format!("{} {label}", p.id),
        epochs: p.spec.config.train.epochs,
        pretrain_epochs: p.spec.config.model.pretrain_epochs(),
        batch_size: p.spec.config.train.batch_size,
        epoch_started: Instant::now(),
        probe: None,
        events: tensorboard
            .map(|t| t.start(&p.id, &file.to_toml(), crate::events::now(), &crate::env::hostname()))
            .transpose()?,
    };
    // A resumed run's event file starts anew: with the rows of its earlier stretches.
    if let Some(events) = &mut observer.events {
        for row in observer.writer.rows() {
            events.epoch(row, crate::events::now())?;
        }
    }
    let outcome = train::run(&info, dataset, &mut observer);
    let seconds = started.elapsed().as_secs_f64();
    let (status, error) = match outcome {
        Ok(train::Outcome::Completed { .. }) => (RunStatus::Completed, None),
        Ok(train::Outcome::Paused { last }) => {
            slot.line(&format!("{} {label}: paused after epoch {} for the rung's decision", p.id, last.epoch));
            (RunStatus::Paused, None)
        }
        Ok(train::Outcome::Diverged { reason, .. }) => (RunStatus::Diverged, Some(reason)),
        Err(e) => (RunStatus::Failed, Some(format!("{e:#}"))),
    };
    match (&status, &error) {
        // A paused run said so above, with its epoch.
        (RunStatus::Completed | RunStatus::Paused, _) => {}
        (s, Some(e)) => slot.line(&format!("{} {label}: {s}: {e}", p.id)),
        (s, None) => slot.line(&format!("{} {label}: {s}", p.id)),
    }
    writer.finish(status, error, seconds)?;
    Ok(status)
}

struct Observer<'a> {
    writer: &'a mut results::RunWriter,
    slot: &'a Slot<'a>,
    label: String,
    epochs: usize,
    /// Epochs of each pre-training phase (`stacked`).
    pretrain_epochs: usize,
    batch_size: usize,
    epoch_started: Instant,
    /// The probe of the current epoch, shown in its line.
    probe: Option<String>,
    /// `--tensorboard`: the run's event file.
    events: Option<crate::events::RunEvents>,
}

impl train::Observer for Observer<'_> {
    fn batch(&mut self, epoch: usize, batch: usize, batches: usize, loss: f32) {
        if batch == 1 {
            self.epoch_started = Instant::now();
        }
        self.slot.batch(epoch, batch, batches, loss, batch * self.batch_size, self.epoch_started);
    }

    fn probe(&mut self, _epoch: usize, r: &probe::ProbeResult, seconds: f64) {
        let cap = if r.converged { "" } else { ", the cap" };
        self.probe = Some(format!(
            ", probe_accuracy {:.4} (train {:.4}; {} L-BFGS iterations{cap}; {seconds:.1} s)",
            r.accuracy, r.train_accuracy, r.iterations
        ));
    }

    fn epoch(&mut self, row: &MetricRow) -> Result<(), String> {
        self.writer.append(row).map_err(|e| e.to_string())?;
        if let Some(events) = &mut self.events {
            events.epoch(row, crate::events::now()).map_err(|e| format!("{e:#}"))?;
        }
        let noisy = row.noisy_test_bce.map_or(String::new(), |b| format!(" noisy_test_bce {b:.4}"));
        let probe = self.probe.take().unwrap_or_default();
        let (phase, of) = match row.phase.as_deref() {
            Some(p) if p != spec::metrics::FINETUNE_PHASE => (format!(" {p}"), self.pretrain_epochs),
            Some(p) => (format!(" {p}"), self.epochs),
            None => (String::new(), self.epochs),
        };
        let penalty = row.penalty.map_or(String::new(), |p| format!(" penalty {p:.4}"));
        let vae = match (row.test_kl, row.test_neg_elbo) {
            (Some(kl), Some(bound)) => format!(" test_kl {kl:.2} test_neg_elbo {bound:.2}"),
            _ => String::new(),
        };
        let nll = match (row.test_nll, row.nll_seconds) {
            (Some(nll), Some(s)) => format!(" test_nll {nll:.2} ({s:.1} s)"),
            _ => String::new(),
        };
        self.slot.epoch(&format!(
            "{}{phase} epoch {}/{of}: train_loss {:.4}{penalty} test_bce {:.4} test_mse {:.5} psnr {:.2} dB{noisy}{vae}{nll}, \
             {:.0} samples/s{probe}",
            self.label,
            row.epoch,
            row.train_loss,
            row.test_bce,
            row.test_mse,
            row.test_psnr,
            row.samples_per_second
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_split_evenly_and_fewer_runs_than_jobs_get_every_thread() {
        let five = Jobs::resolve("2", Some(5), &[]).unwrap();
        assert_eq!(five.threads, vec![3, 2], "5 threads, 2 jobs: 3 + 2");
        assert_eq!(five.at_most(1).threads, vec![5], "one run left: all five threads");
        assert_eq!(five.at_most(0).threads, vec![5]);
        assert_eq!(five.at_most(7), five);
        let four = Jobs::resolve("4", Some(4), &[]).unwrap();
        assert_eq!(four.at_most(3).threads, vec![2, 1, 1]);
        assert!(Jobs::resolve("3", Some(2), &[]).is_err(), "more jobs than threads");
        assert!(Jobs::resolve("none", Some(2), &[]).is_err());
    }
}
