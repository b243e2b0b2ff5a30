//! `runner report --html`: one self-contained page per call, a section per sweep. Nothing on it
//! is fetched: charts are inline SVG drawn by the same code as the PNGs of `--plots`
//! ([`crate::plot`], [`crate::latent`]), the runs' pictures are embedded as `data:` PNGs, the
//! style sheet and the small table-sorting script are inline, and text is in the browser's own
//! sans-serif. Each sweep's section has:
//!
//! - the summary table of `runner report` (the same rows and rounded numbers, the best marked),
//!   each row followed by a `<details>` with its runs and the full configuration of its first run;
//! - the runs that did not complete (diverged, failed, pruned, unfinished, or a status this
//!   version does not know), with their error text;
//! - the charts of `--plots` (learning curves with a band over seeds instead of bars; for a
//!   search, its trials);
//! - the reconstructions of the best and the worst configuration (each by its best, resp. worst,
//!   run) and the latent codes of the best run.
//!
//! Everything taken from the results (names, labels, keys, error text, configurations) is escaped.
//! The page holds no clock time and no paths, so the same results give the same page. A print
//! style sheet drops the interactive parts and keeps figures whole on a page.
//!
//! Element ids and classes, for the browser check (`scripts/check-html-report.sh`): each sweep is
//! `<section class="sweep" id="S" data-sweep="NAME">`, each table row
//! `<tr class="config" data-sweep="NAME">`, each chart `<figure class="chart" id="S-CHART"
//! data-chart="CHART">` with CHART the PNG's file stem (`test_bce_per_epoch`), and each picture
//! `<figure class="picture" data-picture="best|worst">`; the latent chart is CHART `latent`.

use crate::columns::Metric;
use crate::draw::{render_svg, Picture};
use crate::error::ReportError;
use crate::latent::LatentPicture;
use crate::load::SweepResults;
use crate::plot::figures;
use crate::render::{accuracy_text, legend, shows_pca, stat_parts};
use crate::table::{table, value, SweepTable, TableOptions, Value};
use base64::Engine as _;
use polars::prelude::{DataType, PolarsError};
use results::SweepDir;
use std::collections::BTreeMap;

/// What goes on the page.
#[derive(Debug, Clone, PartialEq)]
pub struct HtmlOptions {
    /// The tables, as for the other formats (their metric also leads the charts).
    pub table: TableOptions,
    /// Shown at the foot of the page (e.g. `runner 0.1.0 (git …)`); the page has no clock time.
    pub generator: String,
}

/// The size charts are drawn at, in SVG user units (the page scales them to its width).
const CHART_SIZE: (u32, u32) = (1024, 640);
const LATENT_SIZE: (u32, u32) = (1024, 640);

/// The page of `sweeps`.
pub fn html_report(sweeps: &[SweepResults], opts: &HtmlOptions) -> Result<String, ReportError> {
    let title = match sweeps {
        [one] => format!("ae-sweep report: {}", one.name),
        _ => format!("ae-sweep report: {} sweeps", sweeps.len()),
    };
    let mut ids: Vec<String> = Vec::new();
    let mut sections = String::new();
    let mut nav = String::new();
    for sweep in sweeps {
        let id = unique_id(&mut ids, &sweep.name);
        nav.push_str(&format!("<li><a href=\"#{id}\">{}</a></li>", esc(&sweep.name)));
        sections.push_str(&section(sweep, &id, opts)?);
    }
    let mut page = String::with_capacity(sections.len() + 8192);
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    page.push_str(&format!("<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n", esc(&title)));
    page.push_str(&format!("<header>\n<h1>{}</h1>\n", esc(&title)));
    if sweeps.len() > 1 {
        page.push_str(&format!("<nav><ul>{nav}</ul></nav>\n"));
    }
    page.push_str("</header>\n<main>\n");
    page.push_str(&sections);
    page.push_str(&format!(
        "</main>\n<footer>Written by {} (<code>runner report --html</code>). Click a column title to sort \
         a table.</footer>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        esc(&opts.generator)
    ));
    Ok(page)
}

/// An id from a sweep name: letters, digits, `-` and `_` kept, anything else `-`; a name already
/// taken gets `-2`, `-3`, ….
fn unique_id(taken: &mut Vec<String>, name: &str) -> String {
    let base: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    let base = format!("sweep-{base}");
    let mut id = base.clone();
    let mut n = 1;
    while taken.contains(&id) {
        n += 1;
        id = format!("{base}-{n}");
    }
    taken.push(id.clone());
    id
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One run of the sweep, as the page shows it.
#[derive(Debug, Clone)]
struct RunInfo {
    /// Its row in the sweep's run frame.
    index: usize,
    id: String,
    label: String,
    status: String,
    error: Option<String>,
    seed: Option<u64>,
    /// The final value of the table's leading metric (completed runs).
    value: Option<f64>,
}

fn run_infos(sweep: &SweepResults, metric: Metric) -> Result<Vec<RunInfo>, ReportError> {
    let pl = |e: PolarsError| ReportError::polars(&sweep.name, "reading the runs for the HTML report", e);
    let runs = &sweep.runs;
    let text = |name: &str| runs.column(name).and_then(|c| c.str().cloned()).map_err(pl);
    let (ids, labels, statuses, errors) = (text("run_id")?, text("label")?, text("status")?, text("error")?);
    let seeds = runs.column("seed").and_then(|c| c.cast(&DataType::UInt64)).map_err(pl)?;
    let seeds = seeds.u64().map_err(pl)?;
    let values = runs.column(metric.final_column()).and_then(|c| c.cast(&DataType::Float64)).map_err(pl)?;
    let values = values.f64().map_err(pl)?;
    Ok((0..runs.height())
        .map(|i| {
            let status = statuses.get(i).unwrap_or("unknown").to_string();
            let value = values.get(i).filter(|v| v.is_finite() && status == "completed");
            RunInfo {
                index: i,
                id: ids.get(i).unwrap_or_default().to_string(),
                label: labels.get(i).unwrap_or_default().to_string(),
                status,
                error: errors.get(i).map(str::to_string),
                seed: seeds.get(i),
                value,
            }
        })
        .collect())
}

/// The runs of each table row: those whose values of the table's key columns are the row's.
fn runs_of_rows(sweep: &SweepResults, t: &SweepTable, runs: &[RunInfo]) -> Result<Vec<Vec<usize>>, ReportError> {
    let pl = |e: PolarsError| ReportError::polars(&sweep.name, "matching runs to table rows", e);
    let mut keyed: Vec<Vec<Value>> = Vec::with_capacity(runs.len());
    for r in runs {
        let values = t
            .keys
            .iter()
            .map(|k| sweep.runs.column(k).and_then(|c| c.get(r.index)).map(value))
            .collect::<Result<Vec<_>, _>>()
            .map_err(pl)?;
        keyed.push(values);
    }
    Ok(t.rows.iter().map(|row| (0..runs.len()).filter(|&i| keyed[i] == row.keys).collect()).collect())
}

/// The text of a run's `config.toml`, from the first directory of the sweep that has it.
fn config_text(sweep: &SweepResults, id: &str) -> Option<String> {
    sweep
        .sources
        .iter()
        .find_map(|s| std::fs::read_to_string(SweepDir { dir: s.dir.clone() }.run_dir(id).config()).ok())
}

fn section(sweep: &SweepResults, id: &str, opts: &HtmlOptions) -> Result<String, ReportError> {
    let t = table(sweep, &opts.table)?;
    let metric = t.metric;
    let runs = run_infos(sweep, metric)?;
    let row_runs = runs_of_rows(sweep, &t, &runs)?;
    let mut out = format!("<section class=\"sweep\" id=\"{id}\" data-sweep=\"{}\">\n", esc(&sweep.name));
    out.push_str(&format!("<h2>{}</h2>\n", esc(&sweep.name)));
    if let Some(d) = &sweep.description {
        out.push_str(&format!("<p class=\"description\">{}</p>\n", esc(d)));
    }
    out.push_str(&format!("<p class=\"counts\">{}</p>\n", esc(&status_counts(&runs))));
    // A ranked table's first note says what was searched; other views of a search say it here.
    if let (Some(s), false) = (&sweep.search, t.ranked_trials) {
        let keys: Vec<String> = s.space.iter().map(|k| esc(&k.key)).collect();
        let goal = if s.higher_is_better() { "maximise" } else { "minimise" };
        out.push_str(&format!(
            "<p class=\"search\">A {} search to {goal} <code>{}</code> over <code>{}</code>.</p>\n",
            esc(&s.method),
            esc(&s.metric),
            keys.join("</code>, <code>")
        ));
    }

    out.push_str("<h3>Summary</h3>\n");
    out.push_str(&summary_table(sweep, &t, &runs, &row_runs, id));

    let unfinished: Vec<&RunInfo> = runs.iter().filter(|r| r.status != "completed").collect();
    if !unfinished.is_empty() {
        out.push_str("<h3>Runs that did not complete</h3>\n<table class=\"problems\">\n<thead><tr>");
        out.push_str("<th>run</th><th>label</th><th>status</th><th>error</th></tr></thead>\n<tbody>\n");
        for r in unfinished {
            let error = r.error.as_deref().unwrap_or("");
            out.push_str(&format!(
                "<tr class=\"problem status-{}\"><td><code>{}</code></td><td>{}</td><td>{}</td><td><pre>{}</pre></td></tr>\n",
                css_word(&r.status),
                esc(&r.id),
                esc(&r.label),
                esc(&r.status),
                esc(error)
            ));
        }
        out.push_str("</tbody>\n</table>\n");
    }

    let figures = figures(sweep, metric, true)?;
    if !figures.is_empty() {
        out.push_str("<h3>Charts</h3>\n");
    }
    for f in &figures {
        out.push_str(&figure(id, &f.name, &f.caption, &f.drawing, CHART_SIZE)?);
    }
    out.push_str(&pictures(sweep, &t, &runs, &row_runs, id)?);
    out.push_str("</section>\n");
    Ok(out)
}

/// `42 runs: 40 completed, 1 diverged, 1 pruned`, every status by its own name.
fn status_counts(runs: &[RunInfo]) -> String {
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for r in runs {
        *by.entry(r.status.as_str()).or_default() += 1;
    }
    // Completed first, then the others by name.
    let mut parts: Vec<String> = by.get("completed").map(|n| format!("{n} completed")).into_iter().collect();
    parts.extend(by.iter().filter(|(s, _)| **s != "completed").map(|(s, n)| format!("{n} {s}")));
    let n = runs.len();
    format!(
        "{n} run{}: {}",
        if n == 1 { "" } else { "s" },
        if parts.is_empty() { "none".to_string() } else { parts.join(", ") }
    )
}

/// A status as a class name (letters and digits only).
fn css_word(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

fn summary_table(sweep: &SweepResults, t: &SweepTable, runs: &[RunInfo], row_runs: &[Vec<usize>], id: &str) -> String {
    if t.rows.is_empty() {
        let notes: Vec<String> = t.notes.iter().map(|n| format!("<p class=\"note\">{}</p>", esc(n))).collect();
        return format!("{}\n", notes.join("\n"));
    }
    let numeric_key: Vec<bool> = (0..t.keys.len())
        .map(|k| t.rows.iter().any(|r| matches!(r.keys.get(k), Some(Value::Int(_) | Value::Float(_)))))
        .collect();
    // Statuses other than the three counted columns (pruned, unfinished, unknown) get a column.
    let other = |row: &[usize]| {
        row.iter().filter(|&&i| !matches!(runs[i].status.as_str(), "completed" | "diverged" | "failed")).count()
    };
    let shows_other = row_runs.iter().any(|r| other(r) > 0);
    let mut head: Vec<(String, bool)> = t.keys.iter().zip(&numeric_key).map(|(k, n)| (k.clone(), *n)).collect();
    for c in ["runs", "completed", "diverged", "failed"] {
        head.push((c.to_string(), true));
    }
    if shows_other {
        head.push(("other".to_string(), true));
    }
    head.extend(t.metrics.iter().map(|m| (m.name().to_string(), true)));
    if shows_pca(t) {
        head.push(("pca_probe_accuracy".to_string(), true));
    }
    head.extend([("best_epoch".to_string(), true), ("samples/s".to_string(), true)]);
    let columns = head.len();

    let mut out = format!("<table class=\"summary sortable\" id=\"{id}-table\">\n<thead><tr>");
    for (h, numeric) in &head {
        let class = if *numeric { " class=\"num\"" } else { "" };
        out.push_str(&format!("<th{class} title=\"sort by {0}\">{0}</th>", esc(h)));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (i, (r, members)) in t.rows.iter().zip(row_runs).enumerate() {
        let best = if r.best { " best" } else { "" };
        out.push_str(&format!("<tr class=\"config{best}\" data-sweep=\"{}\" data-row=\"{i}\">", esc(&sweep.name)));
        for (v, numeric) in r.keys.iter().zip(&numeric_key) {
            out.push_str(&cell(&v.text("-"), sort_value(v), *numeric));
        }
        for n in [r.runs, r.completed, r.diverged, r.failed] {
            out.push_str(&cell(&n.to_string(), Some(n as f64), true));
        }
        if shows_other {
            let n = other(members);
            out.push_str(&cell(&n.to_string(), Some(n as f64), true));
        }
        for (j, s) in r.metrics.iter().enumerate() {
            let (m, sd) = stat_parts(s, false, "");
            let text = match sd {
                Some(sd) => format!("{m} ± {sd}"),
                None => m,
            };
            if j == 0 && r.best {
                out.push_str(&format!(
                    "<td class=\"num best\" data-sort=\"{}\"><strong>{}</strong> <span class=\"mark\" title=\"best {}\">★</span></td>",
                    s.mean.map_or(String::new(), |v| format!("{v:?}")),
                    esc(&text),
                    esc(t.metric.name())
                ));
            } else {
                out.push_str(&cell(&text, s.mean, true));
            }
        }
        if shows_pca(t) {
            out.push_str(&cell(&accuracy_text(r.pca_probe_accuracy), r.pca_probe_accuracy, true));
        }
        out.push_str(&cell(
            &r.best_epoch.map_or("-".to_string(), |e| e.to_string()),
            r.best_epoch.map(|e| e as f64),
            true,
        ));
        out.push_str(&cell(
            &r.samples_per_second.map_or("-".to_string(), |s| format!("{s:.0}")),
            r.samples_per_second,
            true,
        ));
        out.push_str("</tr>\n");
        out.push_str(&format!(
            "<tr class=\"details\"><td colspan=\"{columns}\">{}</td></tr>\n",
            row_details(sweep, members, runs, t.metric)
        ));
    }
    out.push_str("</tbody>\n</table>\n");
    if !t.notes.is_empty() {
        out.push_str("<ul class=\"notes\">\n");
        for n in &t.notes {
            out.push_str(&format!("<li>{}</li>\n", esc(n)));
        }
        out.push_str("</ul>\n");
    }
    out.push_str(&format!("<p class=\"legend\">{}</p>\n", esc(&legend(t, "★"))));
    out
}

fn sort_value(v: &Value) -> Option<f64> {
    match v {
        Value::Int(n) => Some(*n as f64),
        Value::Float(x) => Some(*x),
        _ => None,
    }
}

fn cell(text: &str, sort: Option<f64>, numeric: bool) -> String {
    let class = if numeric { " class=\"num\"" } else { "" };
    let sort = sort.filter(|v| v.is_finite()).map_or(String::new(), |v| format!(" data-sort=\"{v:?}\""));
    format!("<td{class}{sort}>{}</td>", esc(text))
}

/// A row's runs (id, seed, status, final metric, error) and its first run's `config.toml`.
fn row_details(sweep: &SweepResults, members: &[usize], runs: &[RunInfo], metric: Metric) -> String {
    let n = members.len();
    let mut out = format!(
        "<details><summary>configuration and {n} run{}</summary>\n<table class=\"runs\"><thead><tr><th>run</th>\
         <th>label</th><th>seed</th><th>status</th><th>final {}</th></tr></thead><tbody>\n",
        if n == 1 { "" } else { "s" },
        metric.name()
    );
    for &i in members {
        let r = &runs[i];
        let value = r.value.map_or("-".to_string(), |v| format!("{v:.6}"));
        let status = match &r.error {
            Some(e) if r.status != "completed" => format!("{} ({})", r.status, e),
            _ => r.status.clone(),
        };
        out.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td></tr>\n",
            esc(&r.id),
            esc(&r.label),
            r.seed.map_or("-".to_string(), |s| s.to_string()),
            esc(&status),
            esc(&value)
        ));
    }
    out.push_str("</tbody></table>\n");
    // The configuration of the first completed run (else the first): the runs of a row differ
    // only in the keys the table aggregates over.
    let first = members.iter().find(|&&i| runs[i].status == "completed").or(members.first());
    if let Some(&i) = first {
        let r = &runs[i];
        match config_text(sweep, &r.id) {
            Some(text) => out.push_str(&format!(
                "<p>Resolved configuration of run <code>{}</code> (<code>config.toml</code>):</p>\n<pre class=\"config\">{}</pre>\n",
                esc(&r.id),
                esc(&text)
            )),
            None => out.push_str(&format!("<p>No <code>config.toml</code> found for run <code>{}</code>.</p>\n", esc(&r.id))),
        }
    }
    out.push_str("</details>");
    out
}

/// A chart as a figure with its inline SVG and caption.
fn figure(
    id: &str,
    name: &str,
    caption: &str,
    picture: &impl Picture,
    size: (u32, u32),
) -> Result<String, ReportError> {
    let svg = render_svg(picture, size.0, size.1)
        .map_err(|message| ReportError::Plot { path: format!("{name}.svg").into(), message })?;
    Ok(format!(
        "<figure class=\"chart\" id=\"{id}-{0}\" data-chart=\"{0}\">\n{svg}<figcaption>{1}</figcaption>\n</figure>\n",
        esc(name),
        esc(caption)
    ))
}

/// The reconstructions of the best and the worst configuration, and the latent codes of the best
/// run.
fn pictures(
    sweep: &SweepResults,
    t: &SweepTable,
    runs: &[RunInfo],
    row_runs: &[Vec<usize>],
    id: &str,
) -> Result<String, ReportError> {
    let higher = t.metric.higher_is_better();
    let better = |a: f64, b: f64| if higher { a > b } else { a < b };
    let means: Vec<(usize, f64)> =
        t.rows.iter().enumerate().filter_map(|(i, r)| r.metrics.first().and_then(|s| s.mean).map(|m| (i, m))).collect();
    let Some(&(best_row, _)) = means.iter().find(|(i, _)| t.rows[*i].best).or(means.first()) else {
        return Ok(String::new());
    };
    let worst_row = means.iter().fold(None, |acc: Option<(usize, f64)>, &(i, m)| match acc {
        Some((_, w)) if !better(w, m) => acc,
        _ => Some((i, m)),
    });
    // The extreme completed run of a row: the best of the best row, the worst of the worst.
    let extreme = |row: usize, best: bool| -> Option<&RunInfo> {
        row_runs[row].iter().map(|&i| &runs[i]).filter(|r| r.value.is_some()).reduce(|a, b| {
            let (x, y) = (a.value.unwrap_or(0.0), b.value.unwrap_or(0.0));
            if better(x, y) == best || x == y {
                a
            } else {
                b
            }
        })
    };
    let describe = |row: usize| -> String {
        let pairs: Vec<String> = t
            .keys
            .iter()
            .zip(&t.rows[row].keys)
            .filter(|(_, v)| **v != Value::Null)
            .map(|(k, v)| format!("{k}={}", v.text("-")))
            .collect();
        if pairs.is_empty() {
            "the only configuration".to_string()
        } else {
            pairs.join(" ")
        }
    };
    let mut out = String::new();
    let mut shown: Vec<(&str, usize, &RunInfo)> = Vec::new();
    if let Some(r) = extreme(best_row, true) {
        shown.push(("best", best_row, r));
    }
    if let Some((w, _)) = worst_row.filter(|(w, _)| *w != best_row) {
        if let Some(r) = extreme(w, false) {
            shown.push(("worst", w, r));
        }
    }
    if !shown.is_empty() {
        out.push_str("<h3>Reconstructions</h3>\n<div class=\"pictures\">\n");
    }
    for (which, row, r) in &shown {
        let caption = format!(
            "The {which} configuration by mean {} ({}): its {which} run {} ({} {}). Test images on top, their \
             reconstructions below (corrupted inputs between them for a denoising run).",
            t.metric,
            describe(*row),
            r.id,
            t.metric,
            r.value.map_or("-".to_string(), |v| format!("{v:.4}"))
        );
        let png = sweep
            .sources
            .iter()
            .map(|s| SweepDir { dir: s.dir.clone() }.run_dir(&r.id).reconstructions())
            .find(|p| p.is_file());
        match png {
            Some(path) => {
                let bytes = std::fs::read(&path).map_err(|cause| ReportError::Embed { path: path.clone(), cause })?;
                let (w, _) = png_size(&bytes).unwrap_or((600, 120));
                out.push_str(&format!(
                    "<figure class=\"picture\" id=\"{id}-reconstructions-{which}\" data-picture=\"{which}\">\n<img alt=\"reconstructions of run {}\" \
                     style=\"width: {}px\" src=\"data:image/png;base64,{}\">\n<figcaption>{}</figcaption>\n</figure>\n",
                    esc(&r.id),
                    // At their own size: the best and the worst side by side on a laptop screen.
                    w,
                    base64::engine::general_purpose::STANDARD.encode(&bytes),
                    esc(&caption)
                ));
            }
            None => out.push_str(&format!(
                "<p class=\"note\">The {which} run {} has no <code>{}</code>.</p>\n",
                esc(&r.id),
                spec::layout::RECONSTRUCTIONS
            )),
        }
    }
    if !shown.is_empty() {
        out.push_str("</div>\n");
    }

    // The latent codes of the best completed run of the sweep.
    let best_run = runs.iter().filter(|r| r.value.is_some()).reduce(|a, b| {
        if better(b.value.unwrap_or(0.0), a.value.unwrap_or(0.0)) {
            b
        } else {
            a
        }
    });
    if let Some(r) = best_run {
        if let Some((picture, _)) = LatentPicture::of_run(sweep, r.index)? {
            let caption = format!(
                "The test codes of the best run {} ({}, final {} {}) in the plane, coloured by class.",
                r.id,
                r.label,
                t.metric,
                r.value.map_or("-".to_string(), |v| format!("{v:.4}"))
            );
            out.push_str("<h3>Latent space</h3>\n");
            out.push_str(&figure(id, "latent", &caption, &picture, LATENT_SIZE)?);
        }
    }
    Ok(out)
}

/// Width and height from a PNG's header.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let w = bytes.get(16..20)?;
    let h = bytes.get(20..24)?;
    Some((u32::from_be_bytes(w.try_into().ok()?), u32::from_be_bytes(h.try_into().ok()?)))
}

/// Screen: one readable column, tables that scroll sideways when wide, charts at the page's width.
/// Print: A4 landscape (a summary table is wider than it is tall), no navigation or expanders,
/// figures kept whole, each sweep on a new page.
const STYLE: &str = r#"
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1260px; padding: 0 1rem 2rem; color: #1a1a1a; line-height: 1.4; }
header h1 { font-size: 1.6rem; margin: 1.2rem 0 0.4rem; }
nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 0.4rem 1.2rem; }
section.sweep { border-top: 2px solid #ddd; margin-top: 1.5rem; }
h2 { font-size: 1.35rem; margin: 1rem 0 0.3rem; }
h3 { font-size: 1.1rem; margin: 1.4rem 0 0.5rem; }
p.description { margin: 0.2rem 0; color: #333; }
p.counts, p.search, p.legend, ul.notes { color: #444; font-size: 0.92rem; }
table { border-collapse: collapse; font-size: 0.84rem; margin: 0.4rem 0; }
table.summary { display: block; overflow-x: auto; max-width: 100%; }
th, td { padding: 0.2rem 0.42rem; border-bottom: 1px solid #e4e4e4; text-align: left; vertical-align: top; }
tr.config td, th { white-space: nowrap; }
th { background: #f3f3f3; position: sticky; top: 0; }
table.sortable th { cursor: pointer; user-select: none; }
th[aria-sort="ascending"]::after { content: " \25B2"; }
th[aria-sort="descending"]::after { content: " \25BC"; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.config.best { background: #fff4cc; }
td.best strong { font-weight: 700; }
span.mark { color: #b8860b; }
tr.details td { border-bottom: 1px solid #ccc; padding-top: 0; }
tr.details summary { cursor: pointer; color: #335; font-size: 0.85rem; }
tr.details table.runs { font-size: 0.82rem; }
pre { margin: 0; white-space: pre-wrap; word-break: break-word; font-size: 0.82rem; }
pre.config { background: #f7f7f7; padding: 0.5rem; border: 1px solid #e4e4e4; max-width: 60rem; }
table.problems pre { color: #8b0000; }
figure { margin: 1rem 0; }
figure.chart svg { width: 100%; height: auto; max-width: 1024px; display: block; }
figcaption { font-size: 0.88rem; color: #444; max-width: 60rem; }
div.pictures { display: flex; flex-wrap: wrap; gap: 1rem 2rem; }
figure.picture img { max-width: 100%; image-rendering: pixelated; display: block; border: 1px solid #ddd; }
footer { margin-top: 2rem; font-size: 0.82rem; color: #666; }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav, footer, tr.details { display: none; }
  section.sweep { border: none; }
  section.sweep + section.sweep { break-before: page; }
  table.summary { display: table; overflow: visible; font-size: 6.8pt; }
  th, td { padding: 1px 4px; }
  th { position: static; }
  tr, figure { break-inside: avoid; }
  figure.chart svg { max-width: 19cm; }
  a { color: inherit; text-decoration: none; }
}
"#;

/// Sorting a table by a column: numbers by their `data-sort` value, else by text; a row's
/// details row moves with it.
const SCRIPT: &str = r#"
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0], groups = [], row = body.firstElementChild;
      while (row) {
        var next = row.nextElementSibling, group = [row];
        if (next && next.classList.contains("details")) { group.push(next); next = next.nextElementSibling; }
        groups.push(group);
        row = next;
      }
      var up = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", up ? "ascending" : "descending");
      function key(g) {
        var c = g[0].cells[col], v = c && c.getAttribute("data-sort");
        return v === null || v === undefined ? (c ? c.textContent : "") : parseFloat(v);
      }
      groups.sort(function (a, b) {
        var x = key(a), y = key(b), n = typeof x === "number", m = typeof y === "number";
        if (n !== m) { return n ? -1 : 1; }
        var d = n ? x - y : String(x).localeCompare(String(y));
        return up ? d : -d;
      });
      groups.forEach(function (g) { g.forEach(function (r) { body.appendChild(r); }); });
    });
  });
});
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_content_and_attributes() {
        assert_eq!(esc(r#"<b a="1">'x' & y</b>"#), "&lt;b a=&quot;1&quot;&gt;&#39;x&#39; &amp; y&lt;/b&gt;");
    }

    #[test]
    fn ids_are_safe_and_unique() {
        let mut taken = Vec::new();
        assert_eq!(unique_id(&mut taken, "latent_sizes"), "sweep-latent_sizes");
        assert_eq!(unique_id(&mut taken, "a b\"<"), "sweep-a-b--");
        assert_eq!(unique_id(&mut taken, "latent_sizes"), "sweep-latent_sizes-2");
    }

    #[test]
    fn png_sizes_are_read_from_the_header() {
        let mut header = vec![0u8; 24];
        header[16..20].copy_from_slice(&578u32.to_be_bytes());
        header[20..24].copy_from_slice(&114u32.to_be_bytes());
        assert_eq!(png_size(&header), Some((578, 114)));
        assert_eq!(png_size(&header[..10]), None);
    }
}
