//! `runner sweep` of a sweep file with a `[search]` section: the search runs in rounds. Round k's
//! proposals come from the `search` crate's samplers, a pure function of the sweep file and the
//! results of rounds < k read back from the run folders; each trial's runs (the grid it is
//! replicated over) get their ids like any run, so a rerun, another shard or another machine
//! computes the same trials and skips what is done.
//!
//! Shards split each round's runs (by their position in the round); a shard that has trained its
//! part waits, polling the run folders, until every run of the round (with successive halving:
//! of the rung) is done, then decides the rung or computes the next round itself.

use crate::jobs::{train_runs, Context, Jobs, Tally};
use crate::plan::{plan_runs, Datasets, Planned};
use crate::progress::Display;
use anyhow::{bail, Context as _, Result};
use data::rng::{purpose, rng_for};
use results::SweepDir;
use search::{Outcome, Trial};
use spec::{RunStatus, Search, Sweep};
use std::collections::HashMap;
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

/// Which earlier trial a trial repeats: by its place in the history, or in this round.
enum Repeat {
    Earlier(usize),
    Same(usize),
}

/// A trial's run ids, sorted: what makes two trials the same experiment.
fn run_key(t: &TrialRuns) -> Vec<String> {
    let mut ids: Vec<String> = t.runs.iter().map(|p| p.id.clone()).collect();
    ids.sort();
    ids
}

/// A trial of an earlier round as the rung decisions of later rounds see it.
struct Entered {
    index: u64,
    runs: Vec<String>,
    /// How many rungs it entered (was alive at): it competes at rungs `0..rungs`.
    rungs: usize,
}

/// Runs the whole search: every round in order, training this process's part of each. With
/// `[search.prune]`, a round trains its trials rung by rung: every alive trial's runs up to the
/// rung's epoch (paused there, their state saved), then the rung's decision — the best ⌈m/η⌉ of
/// the m trials of this and earlier rounds that reached the rung go on, the others are pruned —
/// and the survivors to the last epoch. A trial with a run that diverged or failed before a rung
/// did not reach it: it stops there and counts as failed, not pruned (its other runs are recorded
/// as pruned, since they will not go on).
pub fn run(sweep: &Sweep, search: &Search, jobs: &Jobs, datasets: &mut Datasets, opts: &Options<'_>) -> Result<Tally> {
    let spec = &search.spec;
    let (store, display, force) = (opts.store, opts.display, opts.force);
    let mut history: Vec<Trial> = Vec::new();
    let mut earlier: Vec<Entered> = Vec::new();
    // The run ids of every trial that trained its own runs, and its place in `history`.
    let mut first_seen: HashMap<Vec<String>, usize> = HashMap::new();
    let mut tally = Tally::default();
    let started = Instant::now();
    // Time spent on the linear-probe baselines of each round's data and latent sizes: work for
    // the reports, not the search's own bookkeeping.
    let mut baseline_seconds = 0.0;
    for k in 0..spec.rounds() {
        let trials = round(search, k, &history, opts.data_dir, datasets)?;
        let all: Vec<&Planned> = trials.iter().flat_map(|t| &t.runs).collect();
        display.line(&format!(
            "search {}: round {}/{}: trials {}–{}, {} runs ({} here)",
            sweep.name,
            k + 1,
            spec.rounds(),
            spec.round_trials(k).start,
            spec.round_trials(k).end - 1,
            all.len(),
            share(&all, opts.shard).len()
        ));
        // A trial whose configuration an earlier trial had (likely with integers and choices)
        // has that trial's runs, since run ids come from configurations: it is not trained or
        // ranked again, and takes that trial's result.
        let keys: Vec<Vec<String>> = trials.iter().map(run_key).collect();
        let mut repeats: Vec<Option<Repeat>> = Vec::with_capacity(trials.len());
        for (i, t) in trials.iter().enumerate() {
            let repeat = match first_seen.get(&keys[i]) {
                Some(&h) => Some(Repeat::Earlier(h)),
                None => (0..i).find(|&j| repeats[j].is_none() && keys[j] == keys[i]).map(Repeat::Same),
            };
            if let Some(r) = &repeat {
                let of = match *r {
                    Repeat::Earlier(h) => history[h].index,
                    Repeat::Same(j) => trials[j].index,
                };
                display.line(&format!(
                    "search {}: trial {} repeats trial {of}'s configuration: it shares its runs and its result",
                    sweep.name, t.index
                ));
            }
            repeats.push(repeat);
        }
        if opts.baselines {
            let mine = share(&all, opts.shard);
            let began = Instant::now();
            crate::baselines::ensure(store, &mine, datasets, display).context("storing the baselines")?;
            baseline_seconds += began.elapsed().as_secs_f64();
        }
        let logdir = opts
            .tensorboard
            .map(|l| l.with_runs(all.iter().map(|p| (p.id.clone(), p.spec.variant.clone(), p.spec.label()))));
        // `train.epochs` is one for every run of a pruned search (validated).
        let epochs = all.first().map_or(0, |p| p.spec.config.train.epochs);
        let rungs = spec.prune.map_or_else(Vec::new, |p| p.rungs(epochs));
        let mut alive: Vec<usize> = (0..trials.len()).filter(|&i| repeats[i].is_none()).collect();
        let mut pruned: Vec<Option<(u64, Option<f64>)>> = vec![None; trials.len()];
        // The stage at which a trial stopped because a run diverged or failed.
        let mut stopped: Vec<Option<usize>> = vec![None; trials.len()];
        let stages = rungs.iter().map(|&r| Some(r)).chain([None]);
        for (stage, until) in stages.enumerate() {
            // Nothing of this round left to train (every trial pruned, stopped or a repeat).
            if alive.is_empty() {
                break;
            }
            let runs: Vec<&Planned> = alive.iter().flat_map(|&i| &trials[i].runs).collect();
            // Shared out by position among the stage's runs; after the first stage, runs that are
            // done with (a promoted trial's, on a rerun) were counted there already.
            let mine: Vec<&Planned> = share(&runs, opts.shard)
                .into_iter()
                .filter(|p| stage == 0 || !store.record(&p.id).is_some_and(|r| r.status.is_final()))
                .collect();
            let ctx = Context {
                sweep,
                store,
                datasets,
                display,
                // Only the first stage starts runs afresh: later ones go on from its pauses.
                force: force && stage == 0,
                tensorboard: logdir.as_ref(),
                devices: opts.devices,
                until,
            };
            tally.add(train_runs(&mine, jobs, &ctx)?);
            let round_text = format!("round {}", k + 1);
            let Some(rung) = until else {
                wait_for(store, &runs, opts.wait, display, &round_text, |r| r.status.is_final())?;
                break;
            };
            let at = format!("{round_text}, rung {} (epoch {rung})", stage + 1);
            wait_for(store, &runs, opts.wait, display, &at, |r| {
                r.status.is_final() || (r.status == RunStatus::Paused && r.epochs_completed >= rung as u64)
            })?;
            for &i in &alive {
                let ended = trials[i].runs.iter().find(|p| {
                    store.record(&p.id).is_some_and(|r| matches!(r.status, RunStatus::Diverged | RunStatus::Failed))
                });
                if let Some(p) = ended {
                    stopped[i] = Some(stage);
                    // Its other runs go no further either.
                    let reason = format!(
                        "stopped after epoch {rung}: run {} of trial {} did not reach it",
                        p.id, trials[i].index
                    );
                    tally.pruned += prune_runs(store, display, &trials[i].runs, &reason)?;
                }
            }
            alive.retain(|&i| stopped[i].is_none());

            // The rung's decision: this round's alive trials and the earlier rounds' trials that
            // entered this rung, ranked by their mean metric at exactly this epoch.
            let mut entrants: Vec<(u64, Option<f64>, Option<usize>)> = Vec::new();
            for e in earlier.iter().filter(|e| e.rungs > stage) {
                entrants.push((e.index, rung_value(store, search, &e.runs, rung)?, None));
            }
            for &i in &alive {
                let ids: Vec<String> = trials[i].runs.iter().map(|p| p.id.clone()).collect();
                entrants.push((trials[i].index, rung_value(store, search, &ids, rung)?, Some(i)));
            }
            let eta = spec.prune.map_or(2, |p| p.eta.max(2));
            let ranked = rank(&entrants, spec.goal);
            let keep = entrants.len().div_ceil(eta);
            let promoted: Vec<u64> = ranked.iter().take(keep).map(|&j| entrants[j].0).collect();
            let mut dropped = Vec::new();
            for (place, &j) in ranked.iter().enumerate() {
                let (index, value, Some(i)) = entrants[j] else { continue };
                if promoted.contains(&index) {
                    continue;
                }
                pruned[i] = Some((stage as u64, value));
                dropped.push(index);
                let shown = value.map_or("no value".to_string(), |v| format!("{} {v:.6}", spec.metric));
                let reason = format!(
                    "pruned after epoch {rung}: trial {index}'s {shown} ranked {} of {} at rung {} (the best {keep} go on)",
                    place + 1,
                    entrants.len(),
                    stage + 1
                );
                tally.pruned += prune_runs(store, display, &trials[i].runs, &reason)?;
            }
            dropped.sort_unstable();
            alive.retain(|&i| pruned[i].is_none());
            let list = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
            let going_on: Vec<u64> = alive.iter().map(|&i| trials[i].index).collect();
            display.line(&format!(
                "search {}: {at}: {} trials compared, the best {keep} go on; trials {} continue, {} pruned",
                sweep.name,
                entrants.len(),
                if going_on.is_empty() { "none".to_string() } else { list(&going_on) },
                if dropped.is_empty() { "none".to_string() } else { list(&dropped) },
            ));
        }
        let mut outcomes: Vec<Outcome> = Vec::with_capacity(trials.len());
        for (i, t) in trials.iter().enumerate() {
            let outcome = match (&repeats[i], pruned[i]) {
                (Some(Repeat::Earlier(h)), _) => history[*h].outcome,
                (Some(Repeat::Same(j)), _) => outcomes[*j],
                (None, Some((rung, value))) => Outcome::Pruned { rung, value },
                (None, None) => outcome(store, search, t),
            };
            outcomes.push(outcome);
            if repeats[i].is_none() {
                first_seen.insert(keys[i].clone(), history.len());
            }
            history.push(Trial { index: t.index, values: t.values.clone(), outcome });
            // A repeat has no runs of its own: it never competes at a rung, nor counts twice.
            let (runs, entered) = match (&repeats[i], pruned[i], stopped[i]) {
                (Some(_), _, _) => (Vec::new(), 0),
                (None, Some((rung, _)), _) => (t.runs.iter().map(|p| p.id.clone()).collect(), rung as usize + 1),
                (None, None, Some(stage)) => (t.runs.iter().map(|p| p.id.clone()).collect(), stage),
                (None, None, None) => (t.runs.iter().map(|p| p.id.clone()).collect(), rungs.len()),
            };
            earlier.push(Entered { index: t.index, runs, rungs: entered });
        }
    }
    // The search's own share of the wall time: what is left after training (the wall time of
    // its stages' runs, several at once) and the baselines: proposals, planning, reading results
    // back, rung decisions, waiting for other shards.
    let wall = started.elapsed().as_secs_f64();
    let training = tally.train_seconds;
    let own = (wall - training - baseline_seconds).max(0.0);
    display.line(&format!(
        "search {}: {} trials in {} rounds, {wall:.1} s: training {training:.1} s, baselines {baseline_seconds:.1} s, \
         the search's own bookkeeping {own:.1} s ({:.1}%)",
        sweep.name,
        spec.trials,
        spec.rounds(),
        100.0 * own / wall.max(1e-9)
    ));
    if spec.prune.is_some() {
        let (spent, full) = epoch_budget(store, &earlier);
        display.line(&format!(
            "search {}: {spent} epochs trained of the {full} that training every trial fully takes ({:.0}%)",
            sweep.name,
            100.0 * spent as f64 / full.max(1) as f64
        ));
    }
    Ok(tally)
}

/// This process's share of `runs`: by position, `i mod N = I` for shard I/N.
fn share<'p>(runs: &[&'p Planned], shard: Option<(usize, usize)>) -> Vec<&'p Planned> {
    crate::plan::share(runs.iter().copied(), shard).into_iter().map(|(_, p)| p).collect()
}

/// The mean of the search's metric over a trial's runs at epoch `epoch` of the whole model; none
/// when a run has no such row (it diverged or failed before) or its value is not finite.
fn rung_value(store: &SweepDir, search: &Search, runs: &[String], epoch: usize) -> Result<Option<f64>> {
    let mut sum = 0.0;
    for id in runs {
        let rows = store.rows(id).with_context(|| format!("reading the rows of run {id}"))?;
        let row = rows.iter().find(|r| spec::metrics::is_final_phase(r.phase.as_deref()) && r.epoch == epoch as u64);
        let value = row.and_then(|r| {
            r.metric_values().into_iter().find(|(name, _)| *name == search.spec.metric).and_then(|(_, v)| v)
        });
        match value {
            Some(v) if v.is_finite() => sum += v,
            _ => return Ok(None),
        }
    }
    Ok((!runs.is_empty()).then(|| sum / runs.len() as f64))
}

/// Positions of `entrants` (trial index, value) from best to worst: by the goal, a missing value
/// last, ties by trial index.
fn rank(entrants: &[(u64, Option<f64>, Option<usize>)], goal: search::Goal) -> Vec<usize> {
    let mut order: Vec<usize> = (0..entrants.len()).collect();
    order.sort_by(|&a, &b| {
        let (ia, va, _) = entrants[a];
        let (ib, vb, _) = entrants[b];
        match (va, vb) {
            (Some(x), Some(y)) => goal.loss(x).total_cmp(&goal.loss(y)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then(ia.cmp(&ib))
    });
    order
}

/// Records the paused runs of a trial that was not promoted as `pruned`; how many this process
/// marked. Every shard makes the same decision and tries every run, so a run whose lock another
/// shard holds for a moment (to mark it, or to see that it is at the rung) is marked by one of
/// them; marking is idempotent.
fn prune_runs(store: &SweepDir, display: &Display, runs: &[Planned], reason: &str) -> Result<usize> {
    let mut n = 0;
    for p in runs {
        let mut lock = store.lock_run(&p.id)?;
        for _ in 0..20 {
            if lock.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
            lock = store.lock_run(&p.id)?;
        }
        let Some(lock) = lock else { continue };
        if store.mark_pruned(&p.id, &lock, reason.to_string())? {
            display.line(&format!("{} {}: {reason}", p.id, p.spec.label()));
            display.skip_run();
            n += 1;
        }
    }
    Ok(n)
}

/// Epochs of the whole model trained by the search's runs, and what training every run to the
/// end would have taken.
fn epoch_budget(store: &SweepDir, trials: &[Entered]) -> (u64, u64) {
    let (mut spent, mut full) = (0, 0);
    for id in trials.iter().flat_map(|t| &t.runs) {
        spent += store.record(id).map_or(0, |r| r.epochs_completed);
        full += spec::RunFile::read(&store.run_dir(id).config()).map_or(0, |f| f.config().train.epochs as u64);
    }
    (spent, full)
}

/// Waits until every run of `runs` is `done` (trained by this process or by other shards).
fn wait_for(
    store: &SweepDir,
    runs: &[&Planned],
    wait: Duration,
    display: &Display,
    what: &str,
    done: impl Fn(&results::RunRecord) -> bool,
) -> Result<()> {
    let started = Instant::now();
    let mut said = None::<Instant>;
    loop {
        let pending: Vec<&str> =
            runs.iter().filter(|p| !store.record(&p.id).is_some_and(|r| done(&r))).map(|p| p.id.as_str()).collect();
        if pending.is_empty() {
            return Ok(());
        }
        if started.elapsed() > wait {
            bail!(
                "{what}: waited {} s for {} runs of other shards that did not get there ({}); rerun the sweep (or the \
                 missing shard) to train them, or raise --search-wait",
                wait.as_secs(),
                pending.len(),
                pending.join(", ")
            );
        }
        if said.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
            display.line(&format!(
                "{what}: waiting for {} runs of other shards: {}",
                pending.len(),
                pending.join(", ")
            ));
            said = Some(Instant::now());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
