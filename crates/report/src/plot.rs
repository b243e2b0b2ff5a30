//! The charts of a sweep, each described once ([`Figure`]) and drawn by one function over any
//! plotters backend: `runner report --plots` writes them as PNG (drawn into a memory buffer and
//! encoded with `png`), the HTML report inlines them as SVG.
//!
//! - `<metric>_per_epoch.png`: the metric per epoch, one line per configuration, seeds averaged
//!   (error bars of one sample std);
//! - `<metric>_vs_<key>.png`: the final metric against each numeric key that varies, one line per
//!   value of the other varying keys, error bars of one sample std over seeds;
//! - `probe_accuracy_vs_latent_dim.png` (whatever the metric): the linear probe's accuracy against
//!   the latent size, with the stored baselines: the same probe on a PCA of the pixels of each
//!   size (dashed) and on the raw pixels (dotted);
//! - for a search (`search.json` beside the runs) instead of the two above: the per-epoch chart
//!   has one line per trial, its pruned trials in light grey up to their rung;
//!   `<metric>_vs_<column>.png` for each numeric searched key (each completed trial's value, on a
//!   log axis for a key searched on one); `<metric>_best_so_far_vs_trial.png`, each trial's final
//!   metric and the best so far; and `search_parallel_coordinates.png`, one line per trial across
//!   the searched keys, coloured by the metric (see [`crate::search`]).
//!
//! Text is drawn with DejaVu Sans embedded in the binary (plotters' `ab_glyph` path), so nothing
//! depends on the fonts or font libraries of the machine. Only completed runs are drawn.

use crate::chart::{min_max, number, Chart, Drawing, Figure, Line, Point, Series};
use crate::columns::Metric;
use crate::draw::{register_font, render_rgb, write_png};
use crate::error::ReportError;
use crate::load::SweepResults;
use crate::search::{trial_charts, trial_curves};
use crate::table::{baseline, data_keys, epoch_curves, is_search, table, value, varying_keys, TableOptions, Value};
use polars::prelude::{DataType, PolarsError};
use results::BaselineKind;
use std::path::{Path, PathBuf};

/// What to draw and how large.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlotOptions {
    /// The metric on the y axis.
    pub metric: Metric,
    pub width: u32,
    pub height: u32,
}

impl PlotOptions {
    /// 1024 × 640: readable on a screen and in a pull request without zooming.
    pub fn new(metric: Metric) -> Self {
        Self { metric, width: 1024, height: 640 }
    }
}

/// Draws the pictures of a sweep into `out_dir` (created if needed) and returns the files written.
/// A sweep without completed runs has nothing to draw: no files.
pub fn plots(sweep: &SweepResults, opts: &PlotOptions, out_dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let figures = figures(sweep, opts.metric, false)?;
    if figures.is_empty() {
        return Ok(Vec::new());
    }
    std::fs::create_dir_all(out_dir).map_err(|e| results::ResultsError::io(out_dir, e))?;
    let mut written = Vec::new();
    for figure in &figures {
        let path = out_dir.join(format!("{}.png", figure.name));
        let fail = |message: String| ReportError::Plot { path: path.clone(), message };
        let rgb = render_rgb(&figure.drawing, opts.width, opts.height).map_err(fail)?;
        // Atomically: a reader never sees half a picture.
        write_png(&path, &rgb, opts.width, opts.height)?;
        written.push(path);
    }
    Ok(written)
}

/// The charts of a sweep, in the order `plots` writes them; none without completed runs. With
/// `bands`, learning curves show their spread over seeds as a band.
pub(crate) fn figures(sweep: &SweepResults, metric: Metric, bands: bool) -> Result<Vec<Figure>, ReportError> {
    if sweep.counts.completed == 0 {
        return Ok(Vec::new());
    }
    register_font()?;
    let keys = varying_keys(sweep)?;
    let mut figures = Vec::new();
    let search = sweep.search.as_ref().filter(|_| is_search(sweep));

    // A search's curves are its trials', the pruned ones too (in grey, up to their rung).
    let series = match search {
        Some(_) => trial_curves(sweep, metric)?,
        None => epoch_series(sweep, &keys, metric)?,
    };
    let per_epoch = Chart {
        title: match search {
            Some(_) => format!("{}: {metric} per epoch per trial (mean over seeds)", sweep.name),
            None => format!("{}: {metric} per epoch (mean ± std over seeds)", sweep.name),
        },
        x_label: "epoch".to_string(),
        y_label: metric.axis_label().to_string(),
        integer_x: true,
        x_log: false,
        ticks_at_values: true,
        dodge: false,
        bands,
        series,
        legend_low: metric.higher_is_better(),
    };
    if per_epoch.series.iter().any(|s| !s.points.is_empty()) {
        let spread = if bands { "a band of ± one sample std" } else { "bars of ± one sample std" };
        let caption = match search {
            Some(_) => format!(
                "Learning curves: {metric} per epoch, one line per trial, the mean over its seeds; the trials \
                 that were pruned in light grey, up to the epoch they were stopped at."
            ),
            None => format!(
                "Learning curves: {metric} per epoch, one line per configuration, the mean over its completed \
                 seeds with {spread}."
            ),
        };
        figures.push(Figure { name: format!("{metric}_per_epoch"), caption, drawing: Drawing::Lines(per_epoch) });
    }

    // A grid's final metric against its keys; a search's against its searched keys, per trial
    // (its table's rows are trials, whose keys all vary at once).
    if search.is_none() {
        figures.extend(final_vs_keys(sweep, metric, None)?);
        // The probe against the latent size, whatever the table leads with.
        if metric != Metric::ProbeAccuracy {
            figures.extend(final_vs_keys(sweep, Metric::ProbeAccuracy, Some("latent_dim"))?);
        }
    }
    if let Some(search) = search {
        figures.extend(trial_charts(sweep, search)?);
    }
    Ok(figures)
}

/// `<metric>_vs_<key>` for each numeric varying key (or only `only`) along which some line has
/// two points or more.
fn final_vs_keys(sweep: &SweepResults, metric: Metric, only: Option<&str>) -> Result<Vec<Figure>, ReportError> {
    let mut figures = Vec::new();
    let options = TableOptions { metric: Some(metric), ..TableOptions::default() };
    let finals = table(sweep, &options)?;
    for (k, key) in finals.keys.iter().enumerate() {
        if only.is_some_and(|o| o != key) {
            continue;
        }
        let xs: Vec<f64> = finals.rows.iter().filter_map(|r| r.keys.get(k).and_then(number)).collect();
        let numeric =
            finals.rows.iter().all(|r| matches!(r.keys.get(k), Some(Value::Int(_) | Value::Float(_) | Value::Null)));
        let (lo, hi) = min_max(&xs);
        if !numeric || lo == hi {
            continue;
        }
        // One line per combination of the other keys, in the table's order.
        let mut series: Vec<Series> = Vec::new();
        for r in &finals.rows {
            let lead = r.metrics.first();
            let (Some(x), Some(y)) = (r.keys.get(k).and_then(number), lead.and_then(|s| s.mean)) else { continue };
            let label = label(
                finals.keys.iter().zip(&r.keys).enumerate().filter(|(i, _)| *i != k).map(|(_, kv)| kv),
                &sweep.name,
            );
            let point = Point { x, y, err: lead.and_then(|s| s.std) };
            match series.iter_mut().find(|s| s.label == label) {
                Some(s) => s.points.push(point),
                None => series.push(Series { label, points: vec![point], line: Line::Solid }),
            }
        }
        for s in &mut series {
            s.points.sort_by(|a, b| a.x.total_cmp(&b.x));
        }
        // A key that only changes together with another (a variant's own learning rate) gives
        // lines of one point each: nothing to read off such a picture.
        if series.iter().all(|s| s.points.len() < 2) {
            continue;
        }
        if metric == Metric::ProbeAccuracy && key == "latent_dim" {
            let mut sizes: Vec<f64> = xs.clone();
            sizes.sort_by(f64::total_cmp);
            sizes.dedup();
            series.extend(baseline_series(sweep, &sizes)?);
        }
        // Sizes and rates are swept in multiples: a log axis spaces them evenly.
        let x_log = lo > 0.0 && hi / lo >= 10.0;
        let baselines = if series.iter().any(|s| s.line != Line::Solid) {
            " The PCA probe of each size is dashed, the raw-pixel probe dotted."
        } else {
            ""
        };
        let chart = Chart {
            title: format!("{}: final {metric} vs {key} (mean ± std over seeds)", sweep.name),
            x_label: key_axis_label(key),
            y_label: metric.axis_label().to_string(),
            integer_x: matches!(finals.rows.first().and_then(|r| r.keys.get(k)), Some(Value::Int(_))),
            x_log,
            ticks_at_values: true,
            dodge: true,
            bands: false,
            series,
            legend_low: metric.higher_is_better(),
        };
        figures.push(Figure {
            name: format!("{metric}_vs_{key}"),
            caption: format!(
                "Final {metric} against {key}{}: one line per value of the other keys, the mean over completed \
                 seeds with bars of ± one sample std.{baselines}",
                if x_log { " (log axis)" } else { "" }
            ),
            drawing: Drawing::Lines(chart),
        });
    }
    Ok(figures)
}

/// The stored baselines of the sweep's data at the latent sizes `sizes`: the PCA probe of each
/// size (one dashed line per dataset) and the raw-pixel probe (a dotted level across the sizes).
fn baseline_series(sweep: &SweepResults, sizes: &[f64]) -> Result<Vec<Series>, ReportError> {
    let keys = data_keys(sweep)?;
    let (Some(&first), Some(&last)) = (sizes.first(), sizes.last()) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for key in &keys {
        let name = |what: &str, b: &results::Baseline| {
            if keys.len() > 1 {
                format!("{what} ({}, {} train images)", b.dataset, b.train_samples)
            } else {
                what.to_string()
            }
        };
        let pca: Vec<&results::Baseline> =
            sizes.iter().filter_map(|&k| baseline(sweep, key, BaselineKind::Pca, Some(k as u64))).collect();
        if let Some(b) = pca.first() {
            let points = pca.iter().map(|b| Point { x: b.dim as f64, y: b.accuracy, err: None }).collect();
            out.push(Series { label: name("PCA of the pixels, same size", b), points, line: Line::Dashed });
        }
        if let Some(b) = baseline(sweep, key, BaselineKind::Pixels, None) {
            let points = [first, last].map(|x| Point { x, y: b.accuracy, err: None }).to_vec();
            out.push(Series { label: name(&format!("raw pixels ({})", b.dim), b), points, line: Line::Dotted });
        }
    }
    Ok(out)
}

/// Seed-mean curves of `metric`, one series per configuration of the varying keys.
fn epoch_series(sweep: &SweepResults, keys: &[&str], metric: Metric) -> Result<Vec<Series>, ReportError> {
    let pl = |e: PolarsError| ReportError::polars(&sweep.name, "computing the per-epoch curves", e);
    let df = epoch_curves(sweep, keys, metric).collect().map_err(pl)?;
    let epochs = df.column("epoch").and_then(|c| c.cast(&DataType::Float64)).map_err(pl)?;
    let epochs = epochs.f64().map_err(pl)?;
    let means = df.column("_value").and_then(|c| c.f64().cloned()).map_err(pl)?;
    let stds = df.column("_std").and_then(|c| c.f64().cloned()).map_err(pl)?;
    let mut series: Vec<Series> = Vec::new();
    let mut current: Option<Vec<Value>> = None;
    for i in 0..df.height() {
        let values = keys
            .iter()
            .map(|k| df.column(k).and_then(|c| c.get(i)).map(value))
            .collect::<Result<Vec<_>, _>>()
            .map_err(pl)?;
        // Rows are sorted by the keys, then the epoch: a new key tuple starts a new line.
        if current.as_ref() != Some(&values) {
            let name = label(keys.iter().map(|k| k.to_string()).collect::<Vec<_>>().iter().zip(&values), &sweep.name);
            series.push(Series { label: name, points: Vec::new(), line: Line::Solid });
            current = Some(values);
        }
        let (Some(x), Some(y)) = (epochs.get(i), means.get(i)) else { continue };
        if let Some(s) = series.last_mut() {
            if y.is_finite() {
                s.points.push(Point { x, y, err: stds.get(i).filter(|v| v.is_finite()) });
            }
        }
    }
    Ok(series)
}

/// `ae latent_dim=8`: the variant bare, other keys as key=value, unset keys left out.
fn label<'a>(pairs: impl Iterator<Item = (&'a String, &'a Value)>, fallback: &str) -> String {
    let parts: Vec<String> = pairs
        .filter(|(_, v)| **v != Value::Null)
        .map(|(k, v)| if k == "variant" { v.text("-") } else { format!("{k}={}", v.text("-")) })
        .collect();
    if parts.is_empty() {
        fallback.to_string()
    } else {
        parts.join(" ")
    }
}

/// The x-axis title of a key, with its unit where it has one.
fn key_axis_label(key: &str) -> String {
    match key {
        "latent_dim" => "latent size (dimensions)".to_string(),
        "learning_rate" => "learning rate".to_string(),
        "batch_size" => "batch size (images)".to_string(),
        "epochs" => "epochs".to_string(),
        "train_limit" => "training images".to_string(),
        "test_limit" => "test images".to_string(),
        "momentum" => "SGD momentum".to_string(),
        "noise_level" => "noise level".to_string(),
        other => other.to_string(),
    }
}
