//! `runner sweep`: validate, expand, load the data, then train every run that is not already
//! done, recording each as it goes. A run that diverges or fails is recorded and the sweep goes on.

use crate::cli::SweepArgs;
use crate::env::{init_threads, open_device, provenance};
use crate::plan::{load_sweep, parse_shard, plan, Datasets, Planned};
use crate::progress::Display;
use anyhow::{Context, Result};
use data::Dataset;
use results::{RunRecord, SweepDir};
use spec::{MetricRow, RunFile, RunStatus, Sweep};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Default)]
struct Tally {
    completed: usize,
    skipped: usize,
    diverged: usize,
    failed: usize,
}

pub fn run(args: SweepArgs) -> Result<ExitCode> {
    let mut overrides = args.overrides.clone();
    // `--device` is `train.device`: a CUDA run is a run of its own (its numbers differ in the last
    // bits), so the device belongs in its config and its id, not only on the command line.
    overrides.extend(args.device.map(|d| format!("train.device={}", d.name())));
    let sweep = load_sweep(&args.file, &overrides)?;
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    init_threads(args.threads.threads)?;
    let mut datasets = Datasets::default();
    let planned = plan(&sweep, &args.data.data_dir, &mut datasets)?;
    let store = SweepDir::new(&args.results_dir, &sweep.name);
    let mine: Vec<&Planned> = planned.iter().filter(|p| shard.is_none_or(|(i, n)| p.spec.index % n == i)).collect();

    if args.dry_run {
        print_plan(&sweep, &planned, &mine, &store, shard);
        return Ok(ExitCode::SUCCESS);
    }

    // Every device the runs to train need, opened before anything is written: a CUDA run on a
    // build without CUDA, or on a machine without a usable GPU, stops the sweep here.
    let mut devices: Vec<nn::DeviceInfo> = Vec::new();
    for p in &mine {
        let device = train::device(&p.spec.config);
        let done = matches!(store.record(&p.id).map(|r| r.status), Some(RunStatus::Completed | RunStatus::Diverged));
        if (args.force || !done) && !devices.iter().any(|d| d.device == device) {
            let what = format!("run {} {}: `train.device = \"{device}\"`", p.id, p.spec.label());
            devices.push(open_device(device, &what)?);
        }
    }

    let _lock = store.lock(shard)?;
    store.save_sweep_file(&sweep.source)?;
    let display = Display::new(args.progress, mine.len());
    let shard_text = shard.map_or(String::new(), |(i, n)| format!(" (shard {i}/{n})"));
    display.line(&format!("sweep {}: {} runs{shard_text} → {}", sweep.name, mine.len(), store.dir.display()));
    if !args.no_baselines {
        crate::baselines::ensure(&store, &mine, &datasets, &display).context("storing the baselines")?;
    }

    let mut tally = Tally::default();
    for p in &mine {
        // Take the run before reading its record: a shard of another count may be training it,
        // or may have just finished it.
        let Some(lock) = store.lock_run(&p.id)? else {
            tally.skipped += 1;
            display.line(&format!("{} {}: being trained by another process, skipped", p.id, p.spec.label()));
            display.skip_run();
            continue;
        };
        match store.record(&p.id).map(|r| r.status) {
            Some(RunStatus::Completed) if !args.force => {
                tally.skipped += 1;
                display.line(&format!("{} {}: already completed, skipped", p.id, p.spec.label()));
                display.skip_run();
                continue;
            }
            Some(RunStatus::Diverged) if !args.force => {
                tally.diverged += 1;
                display.line(&format!("{} {}: diverged before, skipped (--force retrains it)", p.id, p.spec.label()));
                display.skip_run();
                continue;
            }
            _ => {}
        }
        let dataset = datasets.get(&p.dataset)?;
        let device = train::device(&p.spec.config);
        let device = match devices.iter().find(|d| d.device == device) {
            Some(d) => d.clone(),
            // A run another process finished has turned unfinished again (its record removed):
            // open its device now.
            None => open_device(device, &format!("run {}: `train.device = \"{device}\"`", p.id))?,
        };
        let status = train_one(&sweep, p, dataset, &store, &display, lock, &device)?;
        match status {
            RunStatus::Completed => tally.completed += 1,
            RunStatus::Diverged => tally.diverged += 1,
            RunStatus::Failed | RunStatus::Running => tally.failed += 1,
        }
        store.rebuild().context("rebuilding the combined results")?;
        display.end_run();
    }
    store.rebuild().context("rebuilding the combined results")?;
    display.finish();

    let Tally { completed, skipped, diverged, failed } = tally;
    eprintln!(
        "sweep {}{shard_text}: {} runs: {completed} completed, {skipped} skipped (already completed), {diverged} diverged, {failed} failed; results in {}",
        sweep.name,
        mine.len(),
        store.dir.display()
    );
    Ok(if diverged + failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Trains one run and records how it ended. Errors of training itself become a `failed` record;
/// only errors of the results store (which cannot record anything) end the sweep.
fn train_one(
    sweep: &Sweep,
    p: &Planned,
    dataset: &Dataset,
    store: &SweepDir,
    display: &Display,
    lock: results::RunLock,
    device: &nn::DeviceInfo,
) -> Result<RunStatus> {
    let label = p.spec.label();
    let file =
        RunFile::new(p.id.clone(), &sweep.name, &p.spec.variant, label.clone(), &dataset.fingerprint, &p.spec.config);
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
    let mut writer = store.start_run(&file, record, lock)?;
    let run_dir = writer.dir.clone();
    display.start_run(&format!("{} {label}", p.id), p.spec.config.total_epochs());
    let started = Instant::now();
    let info = train::RunInfo {
        run_id: &p.id,
        sweep: &sweep.name,
        variant: &p.spec.variant,
        config: &p.spec.config,
        out_dir: Some(&run_dir),
    };
    let mut observer = Observer {
        writer: &mut writer,
        display,
        label: format!("{} {label}", p.id),
        epochs: p.spec.config.train.epochs,
        pretrain_epochs: p.spec.config.model.pretrain_epochs(),
        batch_size: p.spec.config.train.batch_size,
        epoch_started: Instant::now(),
        probe: None,
    };
    let outcome = train::run(&info, dataset, &mut observer);
    let seconds = started.elapsed().as_secs_f64();
    let (status, error) = match outcome {
        Ok(train::Outcome::Completed { .. }) => (RunStatus::Completed, None),
        Ok(train::Outcome::Diverged { reason, .. }) => (RunStatus::Diverged, Some(reason)),
        Err(e) => (RunStatus::Failed, Some(format!("{e:#}"))),
    };
    match (&status, &error) {
        (RunStatus::Completed, _) => {}
        (s, Some(e)) => display.line(&format!("{} {label}: {s}: {e}", p.id)),
        (s, None) => display.line(&format!("{} {label}: {s}", p.id)),
    }
    writer.finish(status, error, seconds)?;
    Ok(status)
}

struct Observer<'a> {
    writer: &'a mut results::RunWriter,
    display: &'a Display,
    label: String,
    epochs: usize,
    /// Epochs of each pre-training phase (`stacked`).
    pretrain_epochs: usize,
    batch_size: usize,
    epoch_started: Instant,
    /// The probe of the current epoch, shown in its line.
    probe: Option<String>,
}

impl train::Observer for Observer<'_> {
    fn batch(&mut self, epoch: usize, batch: usize, batches: usize, loss: f32) {
        if batch == 1 {
            self.epoch_started = Instant::now();
        }
        self.display.batch(epoch, batch, batches, loss, batch * self.batch_size, self.epoch_started);
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
        self.display.epoch(&format!(
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

fn print_plan(sweep: &Sweep, planned: &[Planned], mine: &[&Planned], store: &SweepDir, shard: Option<(usize, usize)>) {
    println!("sweep {} ({}): {}", sweep.name, sweep.file.display(), sweep.description);
    println!("{:>5}  {:<12}  {:<10}  run", "index", "id", "status");
    for p in mine {
        let status = store.record(&p.id).map_or("new".to_string(), |r| r.status.to_string());
        println!("{:>5}  {:<12}  {:<10}  {}", p.spec.index, p.id, status, p.spec.label());
    }
    let varying = if sweep.varying_keys.is_empty() { "nothing".to_string() } else { sweep.varying_keys.join(", ") };
    let dup = if sweep.duplicates > 0 {
        format!(", {} duplicate combinations collapsed", sweep.duplicates)
    } else {
        String::new()
    };
    match shard {
        Some((i, n)) => println!("{} of {} runs in shard {i}/{n} (varying: {varying}{dup})", mine.len(), planned.len()),
        None => println!("{} runs (varying: {varying}{dup})", planned.len()),
    }
}
