//! `runner sweep`: validate, expand, load the data, then train every run that is not already
//! done, recording each as it goes. A run that diverges or fails is recorded and the sweep goes on.

use crate::cli::SweepArgs;
use crate::env::{init_threads, open_device};
use crate::jobs::{train_runs, Context, Jobs, Tally};
use crate::plan::{load_sweep, parse_shard, plan, Datasets, Planned};
use crate::progress::Display;
use anyhow::{Context as _, Result};
use results::SweepDir;
use spec::{RunStatus, Sweep};
use std::process::ExitCode;

pub fn run(args: SweepArgs) -> Result<ExitCode> {
    let mut overrides = args.overrides.clone();
    // `--device` is `train.device`: a CUDA run is a run of its own (its numbers differ in the last
    // bits), so the device belongs in its config and its id, not only on the command line.
    overrides.extend(args.device.map(|d| format!("train.device={}", d.name())));
    let sweep = load_sweep(&args.file, &overrides)?;
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    init_threads(args.threads.threads)?;
    let mut datasets = Datasets::default();
    let store = SweepDir::new(&args.results_dir, &sweep.name);
    // A grid's runs, or a search's first round (what a dry run shows; later rounds depend on
    // results).
    let (planned, first_round) = match &sweep.search {
        None => (plan(&sweep, &args.data.data_dir, &mut datasets)?, Vec::new()),
        Some(search) => {
            let trials = crate::search::round(search, 0, &[], &args.data.data_dir, &mut datasets)?;
            (trials.iter().flat_map(|t| t.runs.iter().map(Planned::clone)).collect(), trials)
        }
    };
    let numbered = crate::plan::share(&planned, shard);
    let mine: Vec<&Planned> = numbered.iter().map(|&(_, p)| p).collect();
    let jobs = Jobs::resolve(&args.jobs, args.threads.threads, &mine)?;

    if args.dry_run {
        print_plan(&sweep, planned.len(), &numbered, &store, shard);
        if let Some(search) = &sweep.search {
            let rounds = search.spec.rounds();
            println!(
                "round 1 of {rounds}: {} trials; the trials of later rounds depend on the results of earlier ones",
                first_round.len()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }

    // Folders from every planned run (not only this shard's), so that they do not depend on sharding
    // (a search adds each round's runs as it plans them).
    let runs = planned.iter().map(|p| (p.id.clone(), p.spec.variant.clone(), p.spec.label()));
    let tensorboard = args.tensorboard.as_deref().map(|dir| crate::events::Logdir::create(dir, runs)).transpose()?;
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
    let total = match &sweep.search {
        None => mine.len(),
        Some(search) => {
            let per_trial = planned.len() / first_round.len().max(1);
            (search.spec.trials as usize * per_trial).div_ceil(shard.map_or(1, |(_, n)| n))
        }
    };
    let display = Display::new(args.progress, total, jobs.len());
    let shard_text = shard.map_or(String::new(), |(i, n)| format!(" (shard {i}/{n})"));
    let threads = jobs.threads.iter().map(|t| t.to_string()).collect::<Vec<_>>().join("+");
    display.line(&format!(
        "sweep {}: {total} runs{shard_text}, {} at a time ({threads} threads) → {}",
        sweep.name,
        jobs.len(),
        store.dir.display()
    ));
    if !args.no_baselines {
        crate::baselines::ensure(&store, &mine, &datasets, &display).context("storing the baselines")?;
    }

    let tally = match &sweep.search {
        None => {
            let ctx = Context {
                sweep: &sweep,
                store: &store,
                datasets: &datasets,
                display: &display,
                force: args.force,
                tensorboard: tensorboard.as_ref(),
                devices: &devices,
                until: None,
            };
            train_runs(&mine, &jobs, &ctx)?
        }
        Some(search) => {
            store.save_search(&search_record(search)).context("writing search.json")?;
            let opts = crate::search::Options {
                store: &store,
                display: &display,
                force: args.force,
                data_dir: &args.data.data_dir,
                shard,
                wait: std::time::Duration::from_secs(args.search_wait),
                baselines: !args.no_baselines,
                tensorboard: tensorboard.as_ref(),
                devices: &devices,
            };
            crate::search::run(&sweep, search, &jobs, &mut datasets, &opts)?
        }
    };
    // Once, at the end: a run's end writes only its own folder, so a sweep's bookkeeping does not
    // grow with the runs before it. A sweep killed before this point leaves combined files that
    // are stale but whole (each is replaced atomically); `runner report` then reads the folders.
    store.rebuild().context("writing the combined results")?;
    display.finish();

    let Tally { completed, skipped, pruned, diverged, failed, .. } = tally;
    let pruned_text = if sweep.search.is_some() { format!(", {pruned} pruned") } else { String::new() };
    eprintln!(
        "sweep {}{shard_text}: {total} runs: {completed} completed, {skipped} skipped (already done){pruned_text}, {diverged} diverged, {failed} failed; results in {}",
        sweep.name,
        store.dir.display()
    );
    Ok(if diverged + failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// What `search.json` holds: the search's settings and its space, for reports.
fn search_record(search: &spec::Search) -> results::SearchRecord {
    let s = &search.spec;
    results::SearchRecord {
        method: match s.method {
            ::search::Method::Random => "random".into(),
            ::search::Method::Tpe(_) => "tpe".into(),
        },
        trials: s.trials,
        batch: s.batch,
        seed: s.seed,
        metric: s.metric.clone(),
        goal: match s.goal {
            ::search::Goal::Minimize => "minimize".into(),
            ::search::Goal::Maximize => "maximize".into(),
        },
        space: s
            .space
            .params()
            .iter()
            .map(|(key, d)| results::SearchKey {
                key: key.clone(),
                log: spec::SearchSpec::is_log(d),
                choices: match d {
                    ::search::Distribution::Choice(c) => Some(
                        c.iter()
                            .map(|v| match v {
                                ::search::ChoiceValue::Str(s) => s.clone(),
                                other => other.to_string(),
                            })
                            .collect(),
                    ),
                    _ => None,
                },
            })
            .collect(),
        prune: s.prune.map(|p| results::SearchPrune { min_epochs: p.min_epochs, eta: p.eta }),
    }
}

/// The runs of this process (with their index among all `total`), their ids and status.
fn print_plan(
    sweep: &Sweep,
    total: usize,
    mine: &[(usize, &Planned)],
    store: &SweepDir,
    shard: Option<(usize, usize)>,
) {
    println!("sweep {} ({}): {}", sweep.name, sweep.file.display(), sweep.description);
    println!("{:>5}  {:<12}  {:<10}  run", "index", "id", "status");
    for (index, p) in mine {
        let status = store.record(&p.id).map_or("new".to_string(), |r| r.status.to_string());
        println!("{index:>5}  {:<12}  {:<10}  {}", p.id, status, p.spec.label());
    }
    let varying = if sweep.varying_keys.is_empty() { "nothing".to_string() } else { sweep.varying_keys.join(", ") };
    let dup = if sweep.duplicates > 0 {
        format!(", {} duplicate combinations collapsed", sweep.duplicates)
    } else {
        String::new()
    };
    match shard {
        Some((i, n)) => println!("{} of {total} runs in shard {i}/{n} (varying: {varying}{dup})", mine.len()),
        None => println!("{total} runs (varying: {varying}{dup})"),
    }
}
