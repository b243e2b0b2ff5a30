//! Searches (issue #15): a sweep whose runs are the trials of a hyperparameter search has a
//! `search.json` beside its runs, and a `trial` column (the trial index) in its run rows:
//!
//! ```json
//! {"method": "tpe", "metric": "test_bce", "goal": "minimize",
//!  "space": [{"key": "train.learning_rate", "log": true},
//!            {"key": "train.optimizer", "log": false, "choices": ["adam", "sgd"]}]}
//! ```
//!
//! The report reads it into [`Search`] (an absent file is no search; fields it does not know are
//! ignored, so that the search can record more). A trial's value is the mean of its runs' final
//! metric over its seeds, as the search scores it. The table ranks the trials ([`ranking_notes`]
//! says what was searched, the best trial and what pruning saved), and the charts are: each
//! trial's value with the best so far against the trial index; the value against each numeric
//! searched key; parallel coordinates of the searched keys (and the metric), one line per
//! completed trial coloured by its value; and the learning curves of every trial. Trials that were
//! pruned (stopped early at a rung) or did not complete are left out of all but the learning
//! curves (there in grey) and counted in the captions: their last value is not the value of a
//! finished trial.

use crate::columns::{resolve_key, Metric};
use crate::draw::{tick, Picture};
use crate::error::ReportError;
use crate::load::SweepResults;
use crate::plot::{min_max, number, Chart, Drawing, Figure, Line, Point, Series};
use crate::table::{value, TableRow, Value, TRIAL};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use polars::prelude::{col, lit, ChunkAgg, DataType, IntoLazy, JoinArgs, JoinType, PolarsError, SortMultipleOptions};
use spec::RunStatus;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The file a search writes beside its runs.
pub const SEARCH_FILE: &str = "search.json";

/// A sweep's `search.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Search {
    /// `tpe` or `random` (shown, not interpreted).
    pub method: String,
    /// The metric the search optimises, a column of the metric rows (e.g. `test_bce`).
    pub metric: String,
    pub goal: Goal,
    /// The searched keys, in the order the search lists them.
    pub space: Vec<SearchKey>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Goal {
    Minimize,
    Maximize,
}

/// One searched key: a sweep path (`train.learning_rate`), searched on a log scale or not, or
/// among given choices.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SearchKey {
    pub key: String,
    #[serde(default)]
    pub log: bool,
    #[serde(default)]
    pub choices: Option<Vec<serde_json::Value>>,
}

/// Reads `<dir>/search.json`: none when there is no such file; an error naming the file when it
/// is not a search description.
pub fn read_search(dir: &Path) -> Result<Option<Search>, ReportError> {
    let path = dir.join(SEARCH_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(results::ResultsError::io(&path, e).into()),
    };
    serde_json::from_str(&text).map(Some).map_err(|e| ReportError::Search { file: path, message: e.to_string() })
}

impl Search {
    pub fn higher_is_better(&self) -> bool {
        self.goal == Goal::Maximize
    }
}

/// One trial as the charts need it.
#[derive(Debug, Clone)]
struct Trial {
    index: u64,
    /// The search's value of the trial: the mean of its runs' final metric over its seeds, when
    /// every run completed with a finite value (as the search itself scores a trial).
    value: Option<f64>,
    /// One per key of the search space (null for a key the report cannot read).
    keys: Vec<Value>,
}

/// The trials of a search and, per key of its space, the run rows' column (none where the key is
/// not a column of the run rows).
type Trials = (Vec<Trial>, Vec<Option<&'static str>>);

/// The trials of a search, sorted by index, and the space keys' columns; none when the run rows
/// have no `trial` column or no column of the search's metric.
fn trials(sweep: &SweepResults, search: &Search) -> Result<Option<Trials>, ReportError> {
    let pl = |e: PolarsError| ReportError::polars(&sweep.name, "reading the search's trials", e);
    let runs = &sweep.runs;
    let final_column = format!("final_{}", search.metric);
    let (Ok(trial), Ok(metric)) = (runs.column("trial"), runs.column(&final_column)) else { return Ok(None) };
    let trial = trial.cast(&DataType::UInt64).map_err(pl)?;
    let trial = trial.u64().map_err(pl)?;
    let metric = metric.cast(&DataType::Float64).map_err(pl)?;
    let metric = metric.f64().map_err(pl)?;
    let status = runs.column("status").and_then(|c| c.str().cloned()).map_err(pl)?;
    let columns: Vec<Option<&'static str>> = search
        .space
        .iter()
        .map(|k| resolve_key(&k.key, "search.json").ok().filter(|c| runs.column(c).is_ok()))
        .collect();
    // Per trial: its keys (the same for all its runs) and each run's value, if it has one.
    let mut by_trial: BTreeMap<u64, (Vec<Value>, Vec<Option<f64>>)> = BTreeMap::new();
    for i in 0..runs.height() {
        let Some(index) = trial.get(i) else { continue };
        let completed = status.get(i) == Some("completed");
        let run_value = metric.get(i).filter(|v| completed && v.is_finite());
        if let Some((_, values)) = by_trial.get_mut(&index) {
            values.push(run_value);
            continue;
        }
        let mut keys = Vec::with_capacity(columns.len());
        for c in &columns {
            keys.push(match c {
                Some(c) => runs.column(c).and_then(|col| col.get(i)).map(value).map_err(pl)?,
                None => Value::Null,
            });
        }
        by_trial.insert(index, (keys, vec![run_value]));
    }
    let out = by_trial
        .into_iter()
        .map(|(index, (keys, values))| {
            let all: Option<Vec<f64>> = values.into_iter().collect();
            let value = all.map(|v| v.iter().sum::<f64>() / v.len() as f64);
            Trial { index, value, keys }
        })
        .collect();
    Ok(Some((out, columns)))
}

/// The metric's axis title: the report's own when it knows the metric.
fn metric_label(search: &Search) -> String {
    Metric::parse(&search.metric).map_or_else(|_| search.metric.clone(), |m| m.axis_label().to_string())
}

fn left_out(trials: &[Trial]) -> String {
    let n = trials.iter().filter(|t| t.value.is_none()).count();
    match n {
        0 => String::new(),
        1 => " One trial that was pruned or did not complete is left out.".to_string(),
        n => format!(" {n} trials that were pruned or did not complete are left out."),
    }
}

/// The notes under a search's ranked table: what was searched and how the trials ended, the best
/// trial with its values, and what successive halving saved (epochs trained against training
/// every trial to the end).
pub(crate) fn ranking_notes(
    sweep: &SweepResults,
    search: &Search,
    keys: &[String],
    rows: &[TableRow],
    metric: Metric,
) -> Result<Vec<String>, ReportError> {
    let mut notes = Vec::new();
    let completed = rows.iter().filter(|r| r.runs > 0 && r.completed == r.runs).count();
    let pruned = rows.iter().filter(|r| r.pruned > 0).count();
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
        let (mean, std) = crate::render::stat_parts(stat, false, "");
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

/// A search's learning curves: one line per trial that completed or was pruned, the mean of the
/// metric over its seeds per epoch; completed trials in colour, pruned ones in faint grey up to
/// the epoch they were stopped at.
pub(crate) fn trial_curves(sweep: &SweepResults, metric: Metric) -> Result<Vec<Series>, ReportError> {
    let pl = |e: PolarsError| ReportError::polars(&sweep.name, "computing the trials' learning curves", e);
    let status = |s: RunStatus| col("status").eq(lit(s.to_string()));
    let runs = sweep
        .runs
        .clone()
        .lazy()
        .filter(col(TRIAL).is_not_null().and(status(RunStatus::Completed).or(status(RunStatus::Pruned))))
        .select([col("run_id"), col(TRIAL).cast(DataType::UInt64), status(RunStatus::Pruned).alias("_pruned")]);
    let final_phase = col("phase").is_null().or(col("phase").eq(lit(spec::metrics::FINETUNE_PHASE)));
    let df = sweep
        .metrics
        .clone()
        .lazy()
        .filter(final_phase)
        .select([col("run_id"), col("epoch").cast(DataType::Float64), col(metric.name()).cast(DataType::Float64)])
        .join(runs, [col("run_id")], [col("run_id")], JoinArgs::new(JoinType::Inner))
        .group_by_stable([col(TRIAL), col("epoch")])
        .agg([col(metric.name()).mean().alias("_value"), col("_pruned").any(true).alias("_pruned")])
        .sort([TRIAL, "epoch"], SortMultipleOptions::default())
        .collect()
        .map_err(pl)?;
    let trial = df.column(TRIAL).and_then(|c| c.u64().cloned()).map_err(pl)?;
    let epoch = df.column("epoch").and_then(|c| c.f64().cloned()).map_err(pl)?;
    let mean = df.column("_value").and_then(|c| c.f64().cloned()).map_err(pl)?;
    let pruned = df.column("_pruned").and_then(|c| c.bool().cloned()).map_err(pl)?;
    let mut series: Vec<(u64, Series)> = Vec::new();
    for i in 0..df.height() {
        let Some(t) = trial.get(i) else { continue };
        if series.last().is_none_or(|(last, _)| *last != t) {
            let faint = pruned.get(i).unwrap_or(false);
            let line = if faint { Line::Faint } else { Line::Solid };
            series.push((t, Series { label: format!("trial {t}"), points: Vec::new(), line }));
        }
        if let (Some(x), Some(y), Some((_, s))) = (epoch.get(i), mean.get(i), series.last_mut()) {
            if y.is_finite() {
                s.points.push(Point { x, y, err: None });
            }
        }
    }
    // Completed trials first, so that their colours are drawn over the grey; the grey lines share
    // one legend entry.
    let (done, cut): (Vec<Series>, Vec<Series>) = series.into_iter().map(|(_, s)| s).partition(|s| s.line == Line::Solid);
    let mut out = done;
    for (i, mut s) in cut.into_iter().enumerate() {
        s.label = if i == 0 { "pruned trials".to_string() } else { String::new() };
        out.insert(i, s);
    }
    Ok(out)
}

/// `<metric>_vs_<key>` for a search: each completed trial's value (the mean over its seeds)
/// against each numeric searched key, on a log axis for a key searched on one.
pub(crate) fn key_charts(sweep: &SweepResults, search: &Search) -> Result<Vec<Figure>, ReportError> {
    let Some((trials, columns)) = trials(sweep, search)? else { return Ok(Vec::new()) };
    let mut figures = Vec::new();
    for (k, key) in search.space.iter().enumerate() {
        let Some(column) = columns[k] else { continue };
        if key.choices.is_some() {
            continue;
        }
        let points: Vec<Point> = trials
            .iter()
            .filter_map(|t| Some(Point { x: number(&t.keys[k])?, y: t.value?, err: None }))
            .collect();
        let xs: Vec<f64> = points.iter().map(|p| p.x).collect();
        let (lo, hi) = min_max(&xs);
        if points.len() < 2 || lo == hi {
            continue;
        }
        let x_log = key.log && lo > 0.0;
        let integer_x = trials.iter().all(|t| matches!(t.keys[k], Value::Int(_) | Value::Null));
        let chart = Chart {
            title: format!("{}: final {} vs {} per trial", sweep.name, search.metric, key.key),
            x_label: key.key.clone(),
            y_label: metric_label(search),
            integer_x,
            x_log,
            ticks_at_values: false,
            dodge: false,
            bands: false,
            series: vec![Series { label: "completed trial".to_string(), points, line: Line::Markers }],
            legend_low: search.higher_is_better(),
        };
        figures.push(Figure {
            name: format!("{}_vs_{column}", search.metric),
            caption: format!(
                "The {} search: each completed trial's final {} (the mean over its seeds) against {}{}.{}",
                search.method,
                search.metric,
                key.key,
                if x_log { " (log axis, as searched)" } else { "" },
                left_out(&trials)
            ),
            drawing: Drawing::Lines(chart),
        });
    }
    Ok(figures)
}

/// `<metric>_best_so_far_vs_trial`: each completed trial's value, the mean of its final metric
/// over its seeds (grey points), and the best value so far (a step line), against the trial
/// index.
pub(crate) fn trial_series(sweep: &SweepResults, search: &Search) -> Result<Option<Figure>, ReportError> {
    let Some((trials, _)) = trials(sweep, search)? else { return Ok(None) };
    let done: Vec<(f64, f64)> = trials.iter().filter_map(|t| t.value.map(|v| (t.index as f64, v))).collect();
    if done.is_empty() {
        return Ok(None);
    }
    let better = |a: f64, b: f64| if search.higher_is_better() { a > b } else { a < b };
    let mut best: Vec<Point> = Vec::new();
    let mut current: Option<f64> = None;
    for &(x, y) in &done {
        match current {
            Some(c) if !better(y, c) => {}
            _ => {
                // A step: the previous best holds until this trial.
                if let Some(c) = current {
                    best.push(Point { x, y: c, err: None });
                }
                best.push(Point { x, y, err: None });
                current = Some(y);
            }
        }
    }
    if let (Some(&(last, _)), Some(c)) = (done.last(), current) {
        best.push(Point { x: last, y: c, err: None });
    }
    let points = done.iter().map(|&(x, y)| Point { x, y, err: None }).collect();
    let goal = if search.higher_is_better() { "highest" } else { "lowest" };
    let chart = Chart {
        title: format!("{}: {} search, final {} per trial", sweep.name, search.method, search.metric),
        x_label: "trial".to_string(),
        y_label: metric_label(search),
        integer_x: true,
        x_log: false,
        ticks_at_values: true,
        dodge: false,
        bands: false,
        series: vec![
            Series { label: "trial".to_string(), points, line: Line::Markers },
            Series { label: format!("best so far ({goal})"), points: best, line: Line::Plain },
        ],
        legend_low: search.higher_is_better(),
    };
    Ok(Some(Figure {
        name: format!("{}_best_so_far_vs_trial", search.metric),
        caption: format!(
            "The {} search: each completed trial's final {} (the mean over its seeds; grey) and the best so far, \
             against the trial index.{}",
            search.method,
            search.metric,
            left_out(&trials)
        ),
        drawing: Drawing::Lines(chart),
    }))
}

/// One vertical axis of a parallel-coordinates chart: its title and its ticks (position in
/// [0, 1], text).
#[derive(Debug, Clone)]
pub(crate) struct Axis {
    title: String,
    ticks: Vec<(f64, String)>,
}

/// Parallel coordinates: one polyline per trial across the axes (positions in [0, 1]; none where
/// the trial has no value), coloured by `shade` (0 the best trial, 1 the worst).
#[derive(Debug, Clone)]
pub(crate) struct ParallelChart {
    title: String,
    axes: Vec<Axis>,
    lines: Vec<(Vec<Option<f64>>, f64)>,
    /// The colour bar: its title and the metric's best and worst values as text.
    scale: (String, String, String),
}

/// How an axis maps its values to [0, 1].
enum Scale {
    Linear(f64, f64),
    Log(f64, f64),
    /// In this order (text of the value).
    Categories(Vec<String>),
}

impl Scale {
    fn of(values: &[Value], log: bool, choices: Option<&[serde_json::Value]>) -> Self {
        let numbers: Vec<f64> = values.iter().filter_map(number).collect();
        let all_numeric = values.iter().all(|v| matches!(v, Value::Int(_) | Value::Float(_) | Value::Null));
        if choices.is_none() && all_numeric && !numbers.is_empty() {
            let (lo, hi) = min_max(&numbers);
            return if log && lo > 0.0 { Scale::Log(lo, hi) } else { Scale::Linear(lo, hi) };
        }
        // The choices in the search's order, then any other value seen.
        let mut names: Vec<String> = choices
            .unwrap_or_default()
            .iter()
            .map(|c| match c {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        let mut seen: Vec<String> = values.iter().map(|v| v.text("-")).collect();
        seen.sort();
        seen.dedup();
        for s in seen {
            if !names.contains(&s) {
                names.push(s);
            }
        }
        Scale::Categories(names)
    }

    fn position(&self, v: &Value) -> Option<f64> {
        let spread = |t: f64, lo: f64, hi: f64| if hi > lo { (t - lo) / (hi - lo) } else { 0.5 };
        match self {
            Scale::Linear(lo, hi) => number(v).map(|x| spread(x, *lo, *hi)),
            Scale::Log(lo, hi) => number(v).filter(|x| *x > 0.0).map(|x| spread(x.ln(), lo.ln(), hi.ln())),
            Scale::Categories(names) => {
                let text = v.text("-");
                let i = names.iter().position(|n| *n == text)?;
                Some(if names.len() > 1 { i as f64 / (names.len() - 1) as f64 } else { 0.5 })
            }
        }
    }

    fn ticks(&self) -> Vec<(f64, String)> {
        match self {
            Scale::Linear(lo, hi) if hi > lo => {
                (0..=4).map(|i| i as f64 / 4.0).map(|t| (t, tick(lo + t * (hi - lo), false))).collect()
            }
            Scale::Log(lo, hi) if hi > lo => (0..=4)
                .map(|i| i as f64 / 4.0)
                .map(|t| (t, tick((lo.ln() + t * (hi.ln() - lo.ln())).exp(), false)))
                .collect(),
            Scale::Linear(lo, _) | Scale::Log(lo, _) => vec![(0.5, tick(*lo, false))],
            Scale::Categories(names) => names
                .iter()
                .enumerate()
                .map(|(i, n)| (if names.len() > 1 { i as f64 / (names.len() - 1) as f64 } else { 0.5 }, n.clone()))
                .collect(),
        }
    }
}

/// `search_parallel_coordinates`: the searched keys the report can read, then the metric.
pub(crate) fn parallel_chart(sweep: &SweepResults, search: &Search) -> Result<Option<Figure>, ReportError> {
    let Some((trials, columns)) = trials(sweep, search)? else { return Ok(None) };
    let done: Vec<&Trial> = trials.iter().filter(|t| t.value.is_some()).collect();
    let values: Vec<f64> = done.iter().filter_map(|t| t.value).collect();
    let readable: Vec<usize> = (0..columns.len()).filter(|&k| columns[k].is_some()).collect();
    if done.is_empty() || readable.is_empty() {
        return Ok(None);
    }
    let mut axes = Vec::new();
    let mut scales = Vec::new();
    for &k in &readable {
        let key = &search.space[k];
        let seen: Vec<Value> = done.iter().map(|t| t.keys[k].clone()).collect();
        let scale = Scale::of(&seen, key.log, key.choices.as_deref());
        let log = if matches!(scale, Scale::Log(..)) { " (log)" } else { "" };
        axes.push(Axis { title: format!("{}{log}", key.key), ticks: scale.ticks() });
        scales.push(scale);
    }
    let (lo, hi) = min_max(&values);
    let metric_log = lo > 0.0 && hi / lo >= 100.0;
    let metric_scale = if metric_log { Scale::Log(lo, hi) } else { Scale::Linear(lo, hi) };
    axes.push(Axis { title: search.metric.clone(), ticks: metric_scale.ticks() });
    let mut lines: Vec<(Vec<Option<f64>>, f64)> = done
        .iter()
        .map(|t| {
            let v = t.value.unwrap_or(lo);
            let mut positions: Vec<Option<f64>> =
                readable.iter().zip(&scales).map(|(&k, s)| s.position(&t.keys[k])).collect();
            let at = metric_scale.position(&Value::Float(v)).unwrap_or(0.5);
            positions.push(Some(at));
            // 0 for the best trial, 1 for the worst.
            let shade = if search.higher_is_better() { 1.0 - at } else { at };
            (positions, shade)
        })
        .collect();
    // The best trials last, on top of the others.
    lines.sort_by(|a, b| b.1.total_cmp(&a.1));
    let (best, worst) = if search.higher_is_better() { (hi, lo) } else { (lo, hi) };
    let unread: Vec<&str> =
        (0..columns.len()).filter(|&k| columns[k].is_none()).map(|k| search.space[k].key.as_str()).collect();
    let unread = if unread.is_empty() {
        String::new()
    } else {
        format!(" Searched keys that are not columns of the run rows, not drawn: {}.", unread.join(", "))
    };
    let chart = ParallelChart {
        title: format!("{}: {} search, {} trials across the searched keys", sweep.name, search.method, done.len()),
        axes,
        lines,
        scale: (search.metric.clone(), tick(best, false), tick(worst, false)),
    };
    Ok(Some(Figure {
        name: "search_parallel_coordinates".to_string(),
        caption: format!(
            "Parallel coordinates of the {} search: one line per completed trial through its values of the searched \
             keys and its final {}, coloured by it (dark: best).{}{unread}",
            search.method,
            search.metric,
            left_out(&trials)
        ),
        drawing: Drawing::Parallel(chart),
    }))
}

/// Viridis at t in [0, 1] (matplotlib's, at nine stops, linearly between them).
fn viridis(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 9] = [
        (68, 1, 84),
        (71, 44, 122),
        (59, 81, 139),
        (44, 113, 142),
        (33, 144, 141),
        (39, 173, 129),
        (92, 200, 99),
        (170, 220, 50),
        (253, 231, 37),
    ];
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 } * (STOPS.len() - 1) as f64;
    let i = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - i as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + f * (f64::from(b) - f64::from(a))).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The colour of a trial: dark for the best, light green for the worst (the yellow end of viridis
/// is hard to see on white, so it is not used).
fn shade_colour(shade: f64) -> RGBColor {
    viridis(0.85 * shade)
}

/// Width of the colour bar beside the axes, in pixels.
const BAR_WIDTH: u32 = 150;

impl Picture for ParallelChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let err = |e: &dyn std::fmt::Display| e.to_string();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let body = root.titled(&self.title, ("sans-serif", 22)).map_err(|e| err(&e))?;
        let (w, h) = body.dim_in_pixel();
        let (plot, bar) = body.split_horizontally(w.saturating_sub(BAR_WIDTH));
        let n = self.axes.len().max(1);
        let mut ctx = ChartBuilder::on(&plot)
            .margin(20)
            .margin_left(40)
            .margin_right(60)
            .x_label_area_size(50)
            .build_cartesian_2d(-0.15..(n - 1) as f64 + 0.15, -0.04..1.04)
            .map_err(|e| err(&e))?;
        for (positions, shade) in &self.lines {
            let style = shade_colour(*shade).mix(0.75).stroke_width(2);
            // A trial without a value on an axis is drawn in pieces around it.
            let mut piece: Vec<(f64, f64)> = Vec::new();
            for (i, p) in positions.iter().enumerate() {
                match p {
                    Some(y) => piece.push((i as f64, *y)),
                    None => {
                        if piece.len() > 1 {
                            ctx.draw_series(LineSeries::new(piece.clone(), style)).map_err(|e| err(&e))?;
                        }
                        piece.clear();
                    }
                }
            }
            if piece.len() > 1 {
                ctx.draw_series(LineSeries::new(piece, style)).map_err(|e| err(&e))?;
            }
        }
        let tick_font = ("sans-serif", 15).into_font().color(&BLACK);
        let title_font = ("sans-serif", 17).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top));
        for (i, axis) in self.axes.iter().enumerate() {
            let x = i as f64;
            ctx.draw_series(std::iter::once(PathElement::new(vec![(x, 0.0), (x, 1.0)], BLACK.stroke_width(2))))
                .map_err(|e| err(&e))?;
            for (at, text) in &axis.ticks {
                let mark = EmptyElement::at((x, *at))
                    + PathElement::new(vec![(-5, 0), (5, 0)], BLACK.stroke_width(1))
                    + Text::new(text.clone(), (8, -8), tick_font.clone());
                ctx.draw_series(std::iter::once(mark)).map_err(|e| err(&e))?;
            }
            let label = EmptyElement::at((x, -0.04)) + Text::new(axis.title.clone(), (0, 12), title_font.clone());
            ctx.draw_series(std::iter::once(label)).map_err(|e| err(&e))?;
        }

        // The colour bar: best at the top.
        let (title, best, worst) = &self.scale;
        let (top, bottom) = (60i32, h as i32 - 90);
        let steps = 64;
        for s in 0..steps {
            let y0 = top + (bottom - top) * s / steps;
            let y1 = top + (bottom - top) * (s + 1) / steps;
            let colour = shade_colour(f64::from(s) / f64::from(steps - 1));
            bar.draw(&Rectangle::new([(20, y0), (44, y1)], colour.filled())).map_err(|e| err(&e))?;
        }
        bar.draw(&Rectangle::new([(20, top), (44, bottom)], BLACK.stroke_width(1))).map_err(|e| err(&e))?;
        let font = ("sans-serif", 15).into_font();
        bar.draw(&Text::new(title.clone(), (10, top - 36), font.clone())).map_err(|e| err(&e))?;
        bar.draw(&Text::new(format!("{best} best"), (50, top - 6), font.clone())).map_err(|e| err(&e))?;
        bar.draw(&Text::new(worst.clone(), (50, bottom - 10), font)).map_err(|e| err(&e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_files_are_read_tolerantly_and_bad_ones_named() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_search(dir.path()).unwrap(), None, "no search.json: no search");
        std::fs::write(
            dir.path().join(SEARCH_FILE),
            r#"{"method": "tpe", "metric": "test_bce", "goal": "minimize", "seed": 3,
                "space": [{"key": "train.learning_rate", "log": true},
                          {"key": "train.optimizer", "log": false, "choices": ["adam", "sgd"]}]}"#,
        )
        .unwrap();
        let s = read_search(dir.path()).unwrap().unwrap();
        assert_eq!((s.method.as_str(), s.metric.as_str(), s.goal), ("tpe", "test_bce", Goal::Minimize));
        assert_eq!(s.space.len(), 2);
        assert!(s.space[0].log && s.space[0].choices.is_none());
        assert_eq!(s.space[1].choices.as_ref().unwrap().len(), 2);
        std::fs::write(dir.path().join(SEARCH_FILE), r#"{"method": "tpe", "goal": "sideways"}"#).unwrap();
        let e = read_search(dir.path()).unwrap_err().to_string();
        assert!(e.contains("search.json") && e.contains("sideways"), "{e}");
    }

    #[test]
    fn scales_place_values_on_their_axis() {
        let v = |x: f64| Value::Float(x);
        let log = Scale::of(&[v(1e-4), v(1e-2), v(1e-3)], true, None);
        assert!((log.position(&v(1e-3)).unwrap() - 0.5).abs() < 1e-12, "the geometric middle");
        let lin = Scale::of(&[v(0.0), v(4.0)], false, None);
        assert_eq!(lin.position(&v(1.0)), Some(0.25));
        assert_eq!(lin.position(&Value::Null), None);
        let choices = [serde_json::json!("adam"), serde_json::json!("sgd")];
        let cat = Scale::of(&[Value::Text("sgd".into())], false, Some(&choices));
        assert_eq!(cat.position(&Value::Text("adam".into())), Some(0.0));
        assert_eq!(cat.position(&Value::Text("sgd".into())), Some(1.0));
        assert_eq!(cat.ticks().iter().map(|t| t.1.as_str()).collect::<Vec<_>>(), ["adam", "sgd"]);
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
    }
}
