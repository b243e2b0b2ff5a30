//! `runner sweep` of a sweep file with a `[search]` section: the search runs in rounds. Round k's
//! proposals come from the `search` crate's samplers, a pure function of the sweep file and the
//! results of rounds < k read back from the run folders; each trial's runs (the grid it is
//! replicated over) get their ids like any run, so a rerun, another shard or another machine
//! computes the same trials and skips what is done.
//!
//! Shards split each round's runs (by their position in the round); a shard that has trained its
//! part waits, polling the run folders, until every run of the round is done, then computes the
//! next round itself.

use crate::plan::{plan_runs, Datasets, Planned};
use crate::progress::Display;
use crate::sweep::{train_runs, Context, Jobs, Tally};
use anyhow::{bail, Context as _, Result};
use data::rng::{purpose, rng_for};
use results::SweepDir;
use search::{Outcome, Trial};
use spec::{RunStatus, Search, Sweep};
use std::path::Path;
use std::time::{Duration, Instant};

/// How a search is run by this process.
pub struct Options<'a> {
    pub store: &'a SweepDir,
    pub display: &'a Display,
    /// Retrain runs that completed (or diverged) before.
    pub force: bool,
    pub data_dir: &'a Path,
    pub shard: Option<(usize, usize)>,
    /// How long a shard waits for the other shards' runs of a round before it gives up.
    pub wait: Duration,
    /// Compute the linear-probe baselines the round's runs need (`--no-baselines` skips them).
    pub baselines: bool,
    /// `--tensorboard`: the log directory (each round adds its runs' folders).
    pub tensorboard: Option<&'a crate::events::Logdir>,
    /// The devices opened before the search started.
    pub devices: &'a [nn::DeviceInfo],
}

/// One trial: its values and its runs.
pub struct TrialRuns {
    pub index: u64,
    pub values: Vec<search::Value>,
    pub runs: Vec<Planned>,
}

/// The trials of round `round`, given the finished trials of the rounds before it.
pub fn round(
    search: &Search,
    round: u64,
    history: &[Trial],
    data_dir: &Path,
    datasets: &mut Datasets,
) -> Result<Vec<TrialRuns>> {
    let spec = &search.spec;
    let trials = spec.round_trials(round);
    let proposals = search::propose(&spec.space, &spec.method, round, spec.batch, history, |t| {
        rng_for(spec.seed, purpose::SEARCH, t, 0)
    })
    .with_context(|| format!("proposing the trials of round {}", round + 1))?;
    let mut out = Vec::new();
    for (t, values) in trials.zip(proposals) {
        let specs =
            search.trial(t, &values).map_err(|problems| anyhow::anyhow!("trial {t}: {}", spec_problems(&problems)))?;
        out.push(TrialRuns { index: t, values, runs: plan_runs(specs, data_dir, datasets)? });
    }
    Ok(out)
}

fn spec_problems(problems: &[spec::Problem]) -> String {
    problems.iter().map(|p| format!("`{}` {}", p.key, p.message)).collect::<Vec<_>>().join("; ")
}

/// A finished trial as the samplers see it: the mean of the metric over its runs, or failed when
/// any run failed or diverged, or a metric is missing or not finite.
pub fn outcome(store: &SweepDir, search: &Search, trial: &TrialRuns) -> Outcome {
    let mut values = Vec::new();
    for p in &trial.runs {
        let Some(record) = store.record(&p.id) else { return Outcome::Failed };
        match record.status {
            RunStatus::Completed => match record.final_metrics.as_ref().and_then(|f| f.metric(&search.spec.metric)) {
                Some(v) if v.is_finite() => values.push(v),
                _ => return Outcome::Failed,
            },
            _ => return Outcome::Failed,
        }
    }
    if values.is_empty() {
        return Outcome::Failed;
    }
    Outcome::Complete(values.iter().sum::<f64>() / values.len() as f64)
}

/// Runs the whole search: every round in order, training this process's part of each.
pub fn run(sweep: &Sweep, search: &Search, jobs: &Jobs, datasets: &mut Datasets, opts: &Options<'_>) -> Result<Tally> {
    let spec = &search.spec;
    let (store, display, force) = (opts.store, opts.display, opts.force);
    let mut history: Vec<Trial> = Vec::new();
    let mut tally = Tally::default();
    let started = Instant::now();
    for k in 0..spec.rounds() {
        let trials = round(search, k, &history, opts.data_dir, datasets)?;
        let all: Vec<&Planned> = trials.iter().flat_map(|t| &t.runs).collect();
        let mine: Vec<&Planned> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| opts.shard.is_none_or(|(s, n)| i % n == s))
            .map(|(_, p)| *p)
            .collect();
        display.line(&format!(
            "search {}: round {}/{}: trials {}–{}, {} runs ({} here)",
            sweep.name,
            k + 1,
            spec.rounds(),
            spec.round_trials(k).start,
            spec.round_trials(k).end - 1,
            all.len(),
            mine.len()
        ));
        if opts.baselines {
            crate::baselines::ensure(store, &mine, datasets, display).context("storing the baselines")?;
        }
        let logdir = opts
            .tensorboard
            .map(|l| l.with_runs(all.iter().map(|p| (p.id.clone(), p.spec.variant.clone(), p.spec.label()))));
        let ctx =
            Context { sweep, store, datasets, display, force, tensorboard: logdir.as_ref(), devices: opts.devices };
        tally.add(train_runs(&mine, jobs, &ctx)?);
        wait_for_round(store, &all, opts.wait, display, k)?;
        for t in &trials {
            history.push(Trial { index: t.index, values: t.values.clone(), outcome: outcome(store, search, t) });
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let outside = (wall - tally.train_seconds / jobs.len() as f64).max(0.0);
    display.line(&format!(
        "search {}: {} trials in {} rounds, {wall:.1} s, {outside:.1} s of it ({:.1}%) outside training",
        sweep.name,
        spec.trials,
        spec.rounds(),
        100.0 * outside / wall.max(1e-9)
    ));
    Ok(tally)
}

/// Waits until every run of a round has ended (trained by this process or by other shards).
fn wait_for_round(store: &SweepDir, runs: &[&Planned], wait: Duration, display: &Display, round: u64) -> Result<()> {
    let started = Instant::now();
    let mut said = None::<Instant>;
    loop {
        let pending: Vec<&str> = runs
            .iter()
            .filter(|p| !store.record(&p.id).is_some_and(|r| r.status.is_final()))
            .map(|p| p.id.as_str())
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        if started.elapsed() > wait {
            bail!(
                "round {}: waited {} s for {} runs of other shards that did not end ({}); rerun the sweep (or the missing \
                 shard) to train them, or raise --search-wait",
                round + 1,
                wait.as_secs(),
                pending.len(),
                pending.join(", ")
            );
        }
        if said.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
            display.line(&format!(
                "round {}: waiting for {} runs of other shards: {}",
                round + 1,
                pending.len(),
                pending.join(", ")
            ));
            said = Some(Instant::now());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
