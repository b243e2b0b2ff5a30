//! The comparison table of a sweep, computed with polars from its run rows (final metrics) and
//! metric rows (per-epoch curves): one row per configuration of the group keys (by default the
//! keys that vary in the sweep; for a search, one per trial, ranked by the search's metric),
//! seeds aggregated. Runs that diverged or failed are counted but
//! their metrics are not averaged: a partial curve is not comparable with finished ones. Each row
//! also gets the stored linear-probe baselines of its data: the probe on a PCA of the pixels of
//! the row's latent size, and on the raw pixels.

use crate::columns::{config_columns, resolve_key, Metric};
use crate::error::ReportError;
use crate::format::{mean_and_spread, short_float};
use crate::load::{RunCounts, SweepResults};
use crate::search_file::Search;
use polars::prelude::*;
use results::{Baseline, BaselineKind};

/// A constant column grouped by alongside the keys, so that a table without keys (nothing
/// varies, or `--best` without `--group-by`) is computed by the same code: one group.
const ALL: &str = "_all";
const VALUE: &str = "_value";

/// How to build a table; the default: every varying key, the leading metric as [`TableOptions::metric_of`] says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableOptions {
    /// The metric that leads the table (and the charts) and whose best value is marked; `None`:
    /// a search's own metric, else `test_bce` (see [`TableOptions::metric_of`]).
    pub metric: Option<Metric>,
    /// Row keys (columns); empty: the keys that vary in each sweep.
    pub group_by: Vec<&'static str>,
    /// For each value of the group keys, only the best configuration over the other varying keys
    /// (without group keys: the best configuration of the sweep).
    pub best: bool,
    /// A column of the table to sort by instead of the keys.
    pub sort: Option<String>,
}

impl TableOptions {
    /// Checks the metric and the group keys (column names or sweep paths) before anything is read.
    /// Without a metric, tables lead with `test_bce`, a search's with the metric it optimised.
    pub fn new(metric: Option<&str>, group_by: &[String], best: bool, sort: Option<&str>) -> Result<Self, ReportError> {
        let metric = metric.map(Metric::parse).transpose()?;
        let mut keys: Vec<&'static str> = Vec::new();
        for k in group_by {
            let k = resolve_key(k, "--group-by")?;
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        Ok(Self { metric, group_by: keys, best, sort: sort.map(str::to_string) })
    }

    /// The metric a sweep's table and charts lead with: the one asked for, else a search's own
    /// metric, else `test_bce`.
    pub fn metric_of(&self, sweep: &SweepResults) -> Metric {
        self.metric.unwrap_or_else(|| {
            sweep.search.as_ref().and_then(|s| Metric::parse(&s.metric).ok()).unwrap_or(Metric::TestBce)
        })
    }
}

/// A key's value in a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Not set for these runs (e.g. `noise_kind` of a plain auto-encoder).
    Null,
    Text(String),
    Int(u64),
    Float(f64),
}

impl Value {
    /// As text for reading (tables, notes, labels); `null` for a key these runs do not have. A
    /// float a search drew shows four significant digits (see [`short_float`]).
    pub fn text(&self, null: &str) -> String {
        match self {
            Self::Float(x) => short_float(*x),
            other => other.exact(null),
        }
    }

    /// As text with every digit, for CSV.
    pub fn exact(&self, null: &str) -> String {
        match self {
            Self::Null => null.to_string(),
            Self::Text(s) => s.clone(),
            Self::Int(n) => n.to_string(),
            // Debug is the shortest text that reads back as the same f64: 0.001, 1e-5, 1e30, 0.3.
            Self::Float(x) => format!("{x:?}"),
        }
    }
}

/// A metric over the completed runs of a row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    pub mean: Option<f64>,
    /// Sample standard deviation (n − 1); none for fewer than two runs.
    pub std: Option<f64>,
    /// Completed runs with a value.
    pub n: u64,
}

/// One configuration (or, with `--group-by`, one value of the group keys).
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    /// One value per key column of the table.
    pub keys: Vec<Value>,
    pub runs: u64,
    pub completed: u64,
    pub diverged: u64,
    pub failed: u64,
    /// Runs a search stopped early at a rung.
    pub pruned: u64,
    /// The most epochs of the whole model any of its runs trained (a pruned trial's: its rung).
    pub epochs_trained: Option<u64>,
    /// One per metric column of the table.
    pub metrics: Vec<Stat>,
    /// The epoch at which the seed mean of the leading metric is best.
    pub best_epoch: Option<u64>,
    /// Mean over completed runs of their mean training throughput.
    pub samples_per_second: Option<f64>,
    /// The linear probe on a PCA of the pixels with as many components as the row's latent size
    /// (none when the row mixes latent sizes or datasets, or no baseline is stored).
    pub pca_probe_accuracy: Option<f64>,
    /// The linear probe on the raw pixels of the row's data.
    pub pixels_probe_accuracy: Option<f64>,
    /// This row has the best value of the leading metric.
    pub best: bool,
}

impl TableRow {
    /// Every run of the row completed: as a search scores a trial, only then has it a value (the
    /// ranking's sort expression says the same in polars).
    pub fn all_completed(&self) -> bool {
        self.runs > 0 && self.completed == self.runs
    }
}

/// The table of one sweep, ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepTable {
    pub sweep: String,
    pub description: Option<String>,
    pub counts: RunCounts,
    /// Leads the metric columns; its best value is marked.
    pub metric: Metric,
    /// Key columns: the group keys, then with `--best` the keys the winner was chosen over.
    pub keys: Vec<String>,
    /// How many of `keys` are group keys.
    pub group_keys: usize,
    /// Metric columns, the leading metric first.
    pub metrics: Vec<Metric>,
    pub rows: Vec<TableRow>,
    /// The rows are a search's trials (the `trial` key first), ranked: completed trials by the
    /// leading metric, best first, then the pruned ones, the furthest first.
    pub ranked_trials: bool,
    /// What sets this table apart: what it aggregates over, how the best were chosen, what is missing.
    pub notes: Vec<String>,
}

impl SweepTable {
    /// `name — description — N runs: …`.
    pub fn title(&self) -> String {
        let c = &self.counts;
        let mut counts = format!(
            "{} run{}: {} completed, {} diverged, {} failed",
            c.runs,
            if c.runs == 1 { "" } else { "s" },
            c.completed,
            c.diverged,
            c.failed
        );
        if c.pruned > 0 {
            counts.push_str(&format!(", {} pruned", c.pruned));
        }
        if c.running > 0 {
            counts.push_str(&format!(", {} running or unfinished", c.running));
        }
        if c.other > 0 {
            counts.push_str(&format!(", {} with another status", c.other));
        }
        match &self.description {
            Some(d) => format!("{} — {d} — {counts}", self.sweep),
            None => format!("{} — {counts}", self.sweep),
        }
    }

    /// The columns `--sort` accepts for this table.
    pub fn sortable_columns(&self) -> Vec<String> {
        sortable(&self.keys, &self.metrics)
    }
}

fn sortable(keys: &[String], metrics: &[Metric]) -> Vec<String> {
    let mut names: Vec<String> = keys.to_vec();
    names.extend(["runs", "completed", "diverged", "failed", "pruned", "epochs_trained"].map(String::from));
    names.extend(metrics.iter().map(|m| m.name().to_string()));
    names.extend([PCA_COLUMN, PIXELS_COLUMN, "best_epoch", "samples_per_second"].map(String::from));
    names
}

/// The baseline columns of a table row.
pub const PCA_COLUMN: &str = "pca_probe_accuracy";
pub const PIXELS_COLUMN: &str = "pixels_probe_accuracy";

/// The metric columns shown: the leading one, then the test metrics every run has.
pub fn shown_metrics(lead: Metric) -> Vec<Metric> {
    let mut shown = vec![lead];
    for m in [Metric::TestBce, Metric::TestMse, Metric::TestPsnr, Metric::ProbeAccuracy] {
        if !shown.contains(&m) {
            shown.push(m);
        }
    }
    shown
}

pub(crate) fn mean_col(m: Metric) -> String {
    format!("{m}_mean")
}

pub(crate) fn std_col(m: Metric) -> String {
    format!("{m}_std")
}

fn n_col(m: Metric) -> String {
    format!("{m}_n")
}

/// The configuration columns with more than one distinct value (a missing value counts as one)
/// among the sweep's runs, in row order.
pub fn varying_keys(sweep: &SweepResults) -> Result<Vec<&'static str>, ReportError> {
    let exprs: Vec<Expr> = config_columns().map(|c| col(c).n_unique().cast(DataType::UInt64).alias(c)).collect();
    let counts = sweep
        .runs
        .clone()
        .lazy()
        .select(exprs)
        .collect()
        .map_err(|e| ReportError::polars(&sweep.name, "finding the varying keys", e))?;
    let mut keys = Vec::new();
    for c in config_columns() {
        let n = counts
            .column(c)
            .and_then(|s| s.u64().map(|s| s.get(0)))
            .map_err(|e| ReportError::polars(&sweep.name, "finding the varying keys", e))?;
        if n.unwrap_or(0) > 1 {
            keys.push(c);
        }
    }
    Ok(keys)
}

/// The run rows' column of a search's trial index.
pub(crate) const TRIAL: &str = "trial";

/// A search's row keys: the trial index, then the columns of the searched keys (a trial's runs
/// differ only in the grid it is replicated over: seeds, variants).
fn trial_keys(sweep: &SweepResults) -> Vec<&'static str> {
    let mut keys = vec![TRIAL];
    for k in sweep.search.iter().flat_map(|s| &s.space) {
        if let Ok(column) = resolve_key(&k.key, "search.json") {
            if !keys.contains(&column) && sweep.runs.column(column).is_ok() {
                keys.push(column);
            }
        }
    }
    keys
}

/// Whether the sweep's runs are the trials of a search: it has a `search.json` and its run rows
/// a trial index.
pub(crate) fn is_search(sweep: &SweepResults) -> bool {
    sweep.search.is_some() && sweep.runs.column(TRIAL).is_ok_and(|c| c.null_count() < c.len())
}

/// Builds the table of one sweep. A search's table (unless `--group-by` or `--best` asks for
/// another view) has one row per trial, ranked by the metric.
pub fn table(sweep: &SweepResults, opts: &TableOptions) -> Result<SweepTable, ReportError> {
    let pl = |what: &'static str| move |e: PolarsError| ReportError::polars(&sweep.name, what, e);
    let varying = varying_keys(sweep)?;
    let ranked_trials = opts.group_by.is_empty() && !opts.best && is_search(sweep);
    // `--best` alone: the single best configuration of the sweep.
    let group: Vec<&'static str> = if ranked_trials {
        trial_keys(sweep)
    } else if opts.group_by.is_empty() && !opts.best {
        varying.clone()
    } else {
        opts.group_by.clone()
    };
    let mut keys = group.clone();
    if opts.best {
        keys.extend(varying.iter().filter(|k| !group.contains(k)));
    }
    let metric = opts.metric_of(sweep);
    let metrics = shown_metrics(metric);
    let key_names: Vec<String> = keys.iter().map(|k| k.to_string()).collect();

    let sort_exprs = sort_order(sweep, opts, &key_names, &group, &metrics, ranked_trials)?;
    let mut lf = aggregate(sweep, &keys, &metrics, metric);
    if opts.best {
        let by_group: Vec<String> =
            std::iter::once(ALL.to_string()).chain(group.iter().map(|k| k.to_string())).collect();
        lf = lf
            .sort_by_exprs(
                [col(mean_col(metric))],
                SortMultipleOptions::default()
                    .with_order_descending(metric.higher_is_better())
                    .with_nulls_last(true)
                    .with_maintain_order(true),
            )
            .unique_stable(Some(cols(by_group)), UniqueKeepStrategy::First);
    }
    let (by, descending, nulls_last): (Vec<Expr>, Vec<bool>, Vec<bool>) =
        sort_exprs.into_iter().fold((Vec::new(), Vec::new(), Vec::new()), |(mut b, mut d, mut n), (e, desc, nl)| {
            b.push(e);
            d.push(desc);
            n.push(nl);
            (b, d, n)
        });
    let lf = lf.sort_by_exprs(
        by,
        SortMultipleOptions::default()
            .with_order_descending_multi(descending)
            .with_nulls_last_multi(nulls_last)
            .with_maintain_order(true),
    );
    let df = lf.collect().map_err(pl("aggregating runs"))?;

    let mut rows = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let keys = keys
            .iter()
            .map(|k| df.column(k).and_then(|c| c.get(i)).map(value))
            .collect::<PolarsResult<Vec<_>>>()
            .map_err(pl("reading the table"))?;
        let count = |name: &str| -> PolarsResult<u64> { Ok(df.column(name)?.u64()?.get(i).unwrap_or(0)) };
        let float =
            |name: &str| -> PolarsResult<Option<f64>> { Ok(df.column(name)?.f64()?.get(i).filter(|v| v.is_finite())) };
        let mut stats = Vec::with_capacity(metrics.len());
        for m in &metrics {
            let n = count(&n_col(*m)).map_err(pl("reading the table"))?;
            let mean = float(&mean_col(*m)).map_err(pl("reading the table"))?;
            let std = float(&std_col(*m)).map_err(pl("reading the table"))?.filter(|_| n >= 2);
            stats.push(Stat { mean, std, n });
        }
        rows.push(TableRow {
            keys,
            runs: count("runs").map_err(pl("reading the table"))?,
            completed: count("completed").map_err(pl("reading the table"))?,
            diverged: count("diverged").map_err(pl("reading the table"))?,
            failed: count("failed").map_err(pl("reading the table"))?,
            pruned: count("pruned").map_err(pl("reading the table"))?,
            epochs_trained: df
                .column("epochs_trained")
                .and_then(|c| c.u64().map(|c| c.get(i)))
                .map_err(pl("reading the table"))?,
            metrics: stats,
            best_epoch: df
                .column("best_epoch")
                .and_then(|c| c.u64().map(|c| c.get(i)))
                .map_err(pl("reading the table"))?,
            samples_per_second: float("samples_per_second").map_err(pl("reading the table"))?,
            pca_probe_accuracy: same_in_group(&df, i, "_pca").map_err(pl("reading the table"))?,
            pixels_probe_accuracy: same_in_group(&df, i, "_pixels").map_err(pl("reading the table"))?,
            best: false,
        });
    }
    // A search's trial has a value only when every one of its runs completed, as the search
    // scores it: a trial with a seed that diverged or was cut short is not the best.
    mark_best(&mut rows, metric, |r| !ranked_trials || r.all_completed());

    let mut notes = Vec::new();
    if sweep.counts.runs == 0 {
        notes.push("no runs recorded yet".to_string());
    } else if sweep.counts.completed == 0 {
        notes.push("no completed runs: nothing to compare".to_string());
    } else if rows.iter().all(|r| r.metrics.first().and_then(|s| s.mean).is_none()) {
        notes.push(format!(
            "no completed run has {metric} (only denoising runs have the noisy_* metrics, only `vae` runs \
             test_neg_elbo and test_nll)"
        ));
    }
    let others: Vec<&str> = varying.iter().copied().filter(|k| !keys.contains(k)).collect();
    if opts.best {
        let over = &keys[group.len()..];
        let per = if group.is_empty() { "overall".to_string() } else { format!("per {}", group.join(", ")) };
        let over = if over.is_empty() {
            "nothing else varies".to_string()
        } else {
            format!("chosen over {}", over.join(", "))
        };
        notes.push(format!("best configuration {per} by mean {metric} ({over})"));
    }
    let seeds = if keys.contains(&"seed") { "" } else { " and seeds" };
    if !others.is_empty() {
        notes.push(format!("aggregated over {}{seeds}", others.join(", ")));
    }
    if let (true, Some(search)) = (ranked_trials, &sweep.search) {
        notes.extend(ranking_notes(sweep, search, &key_names, &rows, metric)?);
    }
    notes.extend(baseline_notes(sweep, &rows)?);
    Ok(SweepTable {
        sweep: sweep.name.clone(),
        description: sweep.description.clone(),
        counts: sweep.counts,
        metric,
        keys: key_names,
        group_keys: group.len(),
        metrics,
        rows,
        ranked_trials,
        notes,
    })
}

/// The notes under a search's ranked table: what was searched and how the trials ended, the best
/// trial with its values, and what successive halving saved (epochs trained against training
/// every trial to the end).
fn ranking_notes(
    sweep: &SweepResults,
    search: &Search,
    keys: &[String],
    rows: &[TableRow],
    metric: Metric,
) -> Result<Vec<String>, ReportError> {
    let mut notes = Vec::new();
    let completed = rows.iter().filter(|r| r.all_completed()).count();
    // A trial whose run diverged or failed before a rung stopped there (its other runs are marked
    // pruned): it counts as failed, as the search counted it.
    let pruned = rows.iter().filter(|r| r.pruned > 0 && r.diverged == 0 && r.failed == 0).count();
    let other = rows.len() - completed - pruned;
    let searched: Vec<&str> = search.space.iter().map(|k| k.key.as_str()).collect();
    let goal = if search.higher_is_better() { "maximise" } else { "minimise" };
    notes.push(format!(
        "{} search to {goal} {} over {}: {} trials, {completed} completed, {pruned} pruned, {other} failed, diverged \
         or unfinished; ranked by mean {metric} over each trial's seeds, then the trials without one, the furthest \
         trained first",
        search.method,
        search.metric,
        searched.join(", "),
        rows.len(),
    ));
    if let Some(best) = rows.iter().find(|r| r.best) {
        let (Some(trial), Some(stat)) = (best.keys.first(), best.metrics.first()) else { return Ok(notes) };
        let values: Vec<String> = keys
            .iter()
            .zip(&best.keys)
            .skip(1)
            .filter(|(_, v)| **v != Value::Null)
            .map(|(k, v)| format!("{k}={}", v.text("-")))
            .collect();
        let (mean, std) = mean_and_spread(stat.mean, stat.std, false, "");
        let spread = std.map_or(String::new(), |s| format!(" ± {s}"));
        notes.push(format!(
            "best: trial {} ({}): {metric} {mean}{spread} over {} seed{}",
            trial.text("-"),
            values.join(", "),
            stat.n,
            if stat.n == 1 { "" } else { "s" }
        ));
    }
    if sweep.counts.pruned > 0 {
        let (spent, full) = epoch_budget(sweep)?;
        notes.push(format!(
            "successive halving: {spent} epochs trained of the {full} that training every trial to the end takes \
             ({:.0}%)",
            100.0 * spent as f64 / full.max(1) as f64
        ));
    }
    Ok(notes)
}

/// Epochs of the whole model the sweep's runs trained, and what training each to its last epoch
/// would take.
fn epoch_budget(sweep: &SweepResults) -> Result<(u64, u64), ReportError> {
    let pl = |e: PolarsError| ReportError::polars(&sweep.name, "counting the epochs trained", e);
    let sum = |c: &str| -> Result<u64, ReportError> {
        let column = sweep.runs.column(c).and_then(|c| c.cast(&DataType::UInt64)).map_err(pl)?;
        Ok(column.u64().map_err(pl)?.sum().unwrap_or(0))
    };
    Ok((sum("epochs_completed")?, sum("epochs")?))
}

/// The sort of the final table as (expression, descending, nulls last): `--sort`'s column first
/// (metrics best first, throughput highest first), then the group keys and the other keys. A
/// search's trials without `--sort` are ranked: by the leading metric, best first, trials without
/// a value (pruned, failed) after, those that trained furthest first.
fn sort_order(
    sweep: &SweepResults,
    opts: &TableOptions,
    keys: &[String],
    group: &[&str],
    metrics: &[Metric],
    ranked_trials: bool,
) -> Result<Vec<(Expr, bool, bool)>, ReportError> {
    let mut order: Vec<(Expr, bool, bool)> = Vec::new();
    if let (true, None, Some(lead)) = (ranked_trials, &opts.sort, metrics.first()) {
        let whole = col("completed").eq(col("runs"));
        let value = when(whole).then(col(mean_col(*lead))).otherwise(lit(NULL).cast(DataType::Float64));
        order.push((value, lead.higher_is_better(), true));
        order.push((col("epochs_trained"), true, true));
    }
    if let Some(given) = &opts.sort {
        let given = given.trim();
        // A key may be named by its sweep path.
        let name = resolve_key(given, "--sort").map(str::to_string).unwrap_or_else(|_| given.to_string());
        if !sortable(keys, metrics).contains(&name) {
            return Err(ReportError::UnknownSortColumn {
                sweep: sweep.name.clone(),
                given: given.to_string(),
                allowed: sortable(keys, metrics).join(", "),
            });
        }
        match metrics.iter().find(|m| m.name() == name) {
            Some(m) => order.push((col(mean_col(*m)), m.higher_is_better(), true)),
            None if name == "samples_per_second" => order.push((col(name), true, true)),
            None if name == PCA_COLUMN => order.push((col("_pca_min"), true, true)),
            None if name == PIXELS_COLUMN => order.push((col("_pixels_min"), true, true)),
            None if name == "epochs_trained" => order.push((col(name), true, true)),
            None => order.push((col(name), false, false)),
        }
    }
    order.push((col(ALL), false, false));
    for k in group.iter().copied().chain(keys.iter().map(String::as_str).filter(|k| !group.contains(k))) {
        order.push((col(k), false, false));
    }
    Ok(order)
}

/// Per group of `keys`: run counts by status and, over completed runs, each metric's mean, sample
/// std and count, the mean throughput and the best epoch of the seed-mean curve.
fn aggregate(sweep: &SweepResults, keys: &[&str], metrics: &[Metric], lead: Metric) -> LazyFrame {
    let status = |s: spec::RunStatus| col("status").eq(lit(s.to_string()));
    let completed = status(spec::RunStatus::Completed);
    let by = group_exprs(keys);
    let mut aggs = vec![
        len().cast(DataType::UInt64).alias("runs"),
        completed.clone().sum().cast(DataType::UInt64).alias("completed"),
        status(spec::RunStatus::Diverged).sum().cast(DataType::UInt64).alias("diverged"),
        status(spec::RunStatus::Failed).sum().cast(DataType::UInt64).alias("failed"),
        status(spec::RunStatus::Pruned).sum().cast(DataType::UInt64).alias("pruned"),
        col("epochs_completed").max().cast(DataType::UInt64).alias("epochs_trained"),
    ];
    for m in metrics {
        let v = col(m.final_column()).filter(completed.clone());
        aggs.push(v.clone().mean().alias(mean_col(*m)));
        aggs.push(v.clone().std(1).alias(std_col(*m)));
        aggs.push(v.count().cast(DataType::UInt64).alias(n_col(*m)));
    }
    aggs.push(col("mean_samples_per_second").filter(completed).mean().alias("samples_per_second"));
    // A baseline belongs to a row when all its runs have the same one: min = max, no nulls.
    for b in ["_pca", "_pixels"] {
        aggs.push(col(b).min().alias(format!("{b}_min")));
        aggs.push(col(b).max().alias(format!("{b}_max")));
        aggs.push(col(b).null_count().cast(DataType::UInt64).alias(format!("{b}_nulls")));
    }
    let runs = with_baselines(sweep, sweep.runs.clone().lazy().with_column(lit(0u32).alias(ALL)));
    let table = runs.group_by_stable(by.clone()).agg(aggs);

    let best_epoch = epoch_curves(sweep, keys, lead).filter(col(VALUE).is_not_null()).group_by_stable(by.clone()).agg(
        [col("epoch")
            .sort_by(
                [col(VALUE)],
                SortMultipleOptions::default().with_order_descending(lead.higher_is_better()).with_maintain_order(true),
            )
            .first()
            .alias("best_epoch")],
    );
    // Keys may be missing (a plain auto-encoder has no noise level): they must still match.
    let args = JoinArgs { nulls_equal: true, ..JoinArgs::new(JoinType::Left) };
    table.join(best_epoch, by.clone(), by, args)
}

fn group_exprs(keys: &[&str]) -> Vec<Expr> {
    std::iter::once(col(ALL)).chain(keys.iter().map(|k| col(*k))).collect()
}

/// Per group of `keys` and epoch, over completed runs: the mean (`_value`), sample std (`_std`)
/// and count (`_n`) of `metric`, sorted by the keys and epoch. Has the `_all` column. Only the
/// rows of the phase that trains the whole model: a `stacked` run's pre-training epochs measure
/// a shallower model, and its fine-tuning epochs are numbered from 1 like every other run's.
pub(crate) fn epoch_curves(sweep: &SweepResults, keys: &[&str], metric: Metric) -> LazyFrame {
    let completed = col("status").eq(lit(spec::RunStatus::Completed.to_string()));
    let by = group_exprs(keys);
    let run_keys: Vec<Expr> = std::iter::once(col("run_id")).chain(by.iter().cloned()).collect();
    let runs = sweep.runs.clone().lazy().with_column(lit(0u32).alias(ALL)).filter(completed).select(run_keys);
    let mut by_epoch = by.clone();
    by_epoch.push(col("epoch"));
    let final_phase = col("phase").is_null().or(col("phase").eq(lit(spec::metrics::FINETUNE_PHASE)));
    sweep
        .metrics
        .clone()
        .lazy()
        .filter(final_phase)
        .select([col("run_id"), col("epoch"), col(metric.name())])
        .join(runs, [col("run_id")], [col("run_id")], JoinArgs::new(JoinType::Inner))
        .group_by_stable(by_epoch.clone())
        .agg([
            col(metric.name()).mean().alias(VALUE),
            col(metric.name()).std(1).alias("_std"),
            col(metric.name()).count().cast(DataType::UInt64).alias("_n"),
        ])
        .sort_by_exprs(by_epoch, SortMultipleOptions::default().with_nulls_last(false).with_maintain_order(true))
}

/// The runs with the baselines of their data as columns: `_pca` (the PCA of their latent size)
/// and `_pixels`, matched on the dataset fingerprint and the limits.
fn with_baselines(sweep: &SweepResults, runs: LazyFrame) -> LazyFrame {
    let data = ["dataset_fingerprint", "train_limit", "test_limit"];
    let mut runs = runs;
    for (kind, column) in [(BaselineKind::Pca, "_pca"), (BaselineKind::Pixels, "_pixels")] {
        let found: Vec<&Baseline> = sweep.baselines.iter().filter(|b| b.kind == kind).collect();
        if found.is_empty() {
            runs = runs.with_column(lit(NULL).cast(DataType::Float64).alias(column));
            continue;
        }
        let mut columns = vec![
            Column::new(data[0].into(), found.iter().map(|b| b.dataset_fingerprint.clone()).collect::<Vec<_>>()),
            Column::new(data[1].into(), found.iter().map(|b| b.train_limit).collect::<Vec<_>>()),
            Column::new(data[2].into(), found.iter().map(|b| b.test_limit).collect::<Vec<_>>()),
            Column::new(column.into(), found.iter().map(|b| b.accuracy).collect::<Vec<_>>()),
        ];
        let mut on: Vec<Expr> = data.iter().map(|c| col(*c)).collect();
        if kind == BaselineKind::Pca {
            columns.push(Column::new("latent_dim".into(), found.iter().map(|b| b.dim).collect::<Vec<_>>()));
            on.push(col("latent_dim"));
        }
        let frame = match DataFrame::new(found.len(), columns) {
            Ok(f) => f.lazy(),
            // Columns of equal length built just above cannot fail to form a frame; without it,
            // the baseline column is simply empty.
            Err(_) => {
                runs = runs.with_column(lit(NULL).cast(DataType::Float64).alias(column));
                continue;
            }
        };
        let args = JoinArgs { nulls_equal: true, ..JoinArgs::new(JoinType::Left) };
        runs = runs.join(frame, on.clone(), on, args);
    }
    runs
}

/// A group's baseline: its value when every run of the group has the same one.
fn same_in_group(df: &DataFrame, i: usize, column: &str) -> PolarsResult<Option<f64>> {
    let lo = df.column(&format!("{column}_min"))?.f64()?.get(i);
    let hi = df.column(&format!("{column}_max"))?.f64()?.get(i);
    let nulls = df.column(&format!("{column}_nulls"))?.u64()?.get(i).unwrap_or(1);
    Ok(lo.filter(|lo| nulls == 0 && Some(*lo) == hi))
}

/// The data a run was trained on, as its baselines are keyed: fingerprint and limits.
pub(crate) type DataKey = (String, Option<u64>, Option<u64>);

/// The distinct data of the sweep's runs, in run order.
pub(crate) fn data_keys(sweep: &SweepResults) -> Result<Vec<DataKey>, ReportError> {
    let pl = |e: PolarsError| ReportError::polars(&sweep.name, "reading the runs' datasets", e);
    let runs = &sweep.runs;
    let fingerprints = runs.column("dataset_fingerprint").and_then(|c| c.str().cloned()).map_err(pl)?;
    let train_limits = runs.column("train_limit").and_then(|c| c.u64().cloned()).map_err(pl)?;
    let test_limits = runs.column("test_limit").and_then(|c| c.u64().cloned()).map_err(pl)?;
    let mut keys: Vec<DataKey> = Vec::new();
    for i in 0..runs.height() {
        let key = (fingerprints.get(i).unwrap_or_default().to_string(), train_limits.get(i), test_limits.get(i));
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    Ok(keys)
}

/// The stored baseline of one kind (and, for PCA, one size) for the data of `key`.
pub(crate) fn baseline<'a>(
    sweep: &'a SweepResults,
    key: &DataKey,
    kind: BaselineKind,
    dim: Option<u64>,
) -> Option<&'a Baseline> {
    sweep.baselines.iter().find(|b| {
        b.kind == kind
            && b.dataset_fingerprint == key.0
            && (b.train_limit, b.test_limit) == (key.1, key.2)
            && dim.is_none_or(|d| d == b.dim)
    })
}

/// Lines under the table: the raw-pixel baseline of each dataset, what the PCA column is.
fn baseline_notes(sweep: &SweepResults, rows: &[TableRow]) -> Result<Vec<String>, ReportError> {
    let mut notes = Vec::new();
    for key in data_keys(sweep)? {
        if let Some(b) = baseline(sweep, &key, BaselineKind::Pixels, None) {
            let cap = if b.converged { String::new() } else { format!(", stopped at {} iterations", b.iterations) };
            notes.push(format!(
                "baseline: the probe on the {} raw pixels of {} ({} train / {} test images): accuracy {:.4}{cap}",
                b.dim, b.dataset, b.train_samples, b.test_samples, b.accuracy
            ));
        }
    }
    if rows.iter().any(|r| r.pca_probe_accuracy.is_some()) {
        notes.push(format!("{PCA_COLUMN}: the same probe on a PCA of the pixels with latent_dim components"));
    }
    Ok(notes)
}

pub(crate) fn value(v: AnyValue<'_>) -> Value {
    match v {
        AnyValue::Null => Value::Null,
        AnyValue::String(s) => Value::Text(s.to_string()),
        AnyValue::StringOwned(s) => Value::Text(s.to_string()),
        AnyValue::UInt64(n) => Value::Int(n),
        AnyValue::UInt32(n) => Value::Int(n.into()),
        AnyValue::Float64(x) => Value::Float(x),
        AnyValue::Float32(x) => Value::Float(x.into()),
        other => Value::Text(other.to_string()),
    }
}

/// Marks the `eligible` rows with the best mean of the leading metric (all of them, in a tie).
fn mark_best(rows: &mut [TableRow], metric: Metric, eligible: impl Fn(&TableRow) -> bool) {
    let lead = |r: &TableRow| r.metrics.first().and_then(|s| s.mean).filter(|_| eligible(r));
    let means = rows.iter().filter_map(lead);
    let best = if metric.higher_is_better() { means.reduce(f64::max) } else { means.reduce(f64::min) };
    if let Some(best) = best {
        for r in rows {
            r.best = lead(r) == Some(best);
        }
    }
}
