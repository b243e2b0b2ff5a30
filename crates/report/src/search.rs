//! Searches (issue #15): a sweep whose runs are the trials of a hyperparameter search has a
//! `search.json` beside its runs, and a `trial` column (the trial index) in its run rows:
//!
//! ```json
//! {"method": "tpe", "metric": "test_bce", "goal": "minimize",
//!  "space": [{"key": "train.learning_rate", "log": true},
//!            {"key": "train.optimizer", "log": false, "choices": ["adam", "sgd"]}]}
//! ```
//!
//! The report reads it into [`Search`] ([`crate::search_file`]). A trial's value is the mean of
//! its runs' final metric over its seeds, as the search scores it. The table ranks the trials
//! ([`crate::table`], whose notes say what was searched, the best trial and what pruning saved);
//! this module draws its charts ([`crate::chart`]): each
//! trial's value with the best so far against the trial index; the value against each numeric
//! searched key; parallel coordinates of the searched keys (and the metric), one line per
//! completed trial coloured by its value; and the learning curves of the completed and the pruned
//! trials. Trials that were pruned (stopped early at a rung) or did not complete are left out of
//! the other charts and counted in their captions: their last value is not the value of a
//! finished trial. Pruned trials' learning curves are grey, up to their rung.

use crate::chart::{min_max, number, Axis, Chart, Drawing, Figure, Line, ParallelChart, Point, Series};
use crate::columns::{resolve_key, Metric};
use crate::draw::tick;
use crate::error::ReportError;
use crate::load::SweepResults;
use crate::search_file::Search;
use crate::table::{value, Value, TRIAL};
use polars::prelude::{col, lit, DataType, IntoLazy, JoinArgs, JoinType, PolarsError, SortMultipleOptions};
use spec::RunStatus;
use std::collections::BTreeMap;

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

/// The charts of a search's trials, from one reading of them: the metric against each numeric
/// searched key, the best so far against the trial index, and the parallel coordinates.
pub(crate) fn trial_charts(sweep: &SweepResults, search: &Search) -> Result<Vec<Figure>, ReportError> {
    let Some(read) = trials(sweep, search)? else { return Ok(Vec::new()) };
    let mut figures = key_charts(sweep, search, &read)?;
    figures.extend(trial_series(sweep, search, &read.0)?);
    figures.extend(parallel_chart(sweep, search, &read)?);
    Ok(figures)
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
    // The grey lines first, so that the completed trials' colours are drawn over them; they share
    // one legend entry.
    let (done, mut cut): (Vec<Series>, Vec<Series>) =
        series.into_iter().map(|(_, s)| s).partition(|s| s.line == Line::Solid);
    for (i, s) in cut.iter_mut().enumerate() {
        s.label = if i == 0 { "pruned trials".to_string() } else { String::new() };
    }
    Ok(cut.into_iter().chain(done).collect())
}

/// `<metric>_vs_<key>` for a search: each completed trial's value (the mean over its seeds)
/// against each numeric searched key, on a log axis for a key searched on one.
fn key_charts(sweep: &SweepResults, search: &Search, (trials, columns): &Trials) -> Result<Vec<Figure>, ReportError> {
    let mut figures = Vec::new();
    for (k, key) in search.space.iter().enumerate() {
        let Some(column) = columns[k] else { continue };
        if key.choices.is_some() {
            continue;
        }
        let points: Vec<Point> =
            trials.iter().filter_map(|t| Some(Point { x: number(&t.keys[k])?, y: t.value?, err: None })).collect();
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
                left_out(trials)
            ),
            drawing: Drawing::Lines(chart),
        });
    }
    Ok(figures)
}

/// `<metric>_best_so_far_vs_trial`: each completed trial's value, the mean of its final metric
/// over its seeds (grey points), and the best value so far (a step line), against the trial
/// index.
fn trial_series(sweep: &SweepResults, search: &Search, trials: &[Trial]) -> Result<Option<Figure>, ReportError> {
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
            left_out(trials)
        ),
        drawing: Drawing::Lines(chart),
    }))
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
        // Matched by every digit: the display form rounds long floats.
        let mut seen: Vec<String> = values.iter().map(|v| v.exact("-")).collect();
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
                let text = v.exact("-");
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
fn parallel_chart(
    sweep: &SweepResults,
    search: &Search,
    (trials, columns): &Trials,
) -> Result<Option<Figure>, ReportError> {
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
            left_out(trials)
        ),
        drawing: Drawing::Parallel(chart),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::viridis;
    use plotters::style::RGBColor;

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
