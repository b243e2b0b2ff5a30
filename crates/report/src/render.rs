//! Rendering tables: one exporter per format behind a small trait. The terminal table and
//! Markdown round metrics to four significant digits for reading; CSV and JSON keep every digit
//! (mean and std in separate columns) and mark the best row with a boolean `best` column. The
//! linear-probe baselines are a column (`pca_probe_accuracy`) and a note in the terminal and
//! Markdown tables, two columns in CSV and JSON.

use crate::columns::Metric;
use crate::format::mean_and_spread;
use crate::table::{Stat, SweepTable, TableRow, Value, PCA_COLUMN, PIXELS_COLUMN};

/// An output format of `runner report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::VariantArray)]
pub enum Format {
    /// Aligned columns for a terminal.
    Table,
    /// GitHub-flavoured Markdown tables.
    Markdown,
    /// One CSV table of every sweep, with a `sweep` column.
    Csv,
    /// An array with one object per sweep.
    Json,
}

impl Format {
    /// Every format, derived from the enum (`--format` lists it).
    pub const ALL: &'static [Format] = <Format as strum::VariantArray>::VARIANTS;

    /// The name `runner report --format` takes.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Markdown => "markdown",
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Format::ALL.iter().copied().find(|f| f.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
            format!("unknown format `{s}`; expected one of {}", names.join(", "))
        })
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Renders the tables of several sweeps in one format.
pub fn render(tables: &[SweepTable], format: Format) -> String {
    exporter(format).render(tables)
}

trait Exporter {
    fn render(&self, tables: &[SweepTable]) -> String;
}

fn exporter(format: Format) -> &'static dyn Exporter {
    match format {
        Format::Table => &TextTable,
        Format::Markdown => &Markdown,
        Format::Csv => &Csv,
        Format::Json => &Json,
    }
}

/// The count columns, after the keys: runs by status, and the most epochs a row's runs trained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::VariantArray)]
enum Count {
    Runs,
    Completed,
    Diverged,
    Failed,
    Pruned,
    EpochsTrained,
}

impl Count {
    /// CSV and JSON carry them all, so that their columns do not depend on the results.
    const ALL: &'static [Count] = <Count as strum::VariantArray>::VARIANTS;

    fn name(self) -> &'static str {
        match self {
            Count::Runs => "runs",
            Count::Completed => "completed",
            Count::Diverged => "diverged",
            Count::Failed => "failed",
            Count::Pruned => "pruned",
            Count::EpochsTrained => "epochs_trained",
        }
    }

    fn of(self, r: &TableRow) -> Option<u64> {
        match self {
            Count::Runs => Some(r.runs),
            Count::Completed => Some(r.completed),
            Count::Diverged => Some(r.diverged),
            Count::Failed => Some(r.failed),
            Count::Pruned => Some(r.pruned),
            Count::EpochsTrained => r.epochs_trained,
        }
    }
}

/// The count columns the terminal and Markdown tables show: `pruned` where the sweep has pruned
/// runs or is a search, and a search's epochs trained per trial (where its pruned trials stopped).
fn shown_counts(t: &SweepTable) -> Vec<Count> {
    Count::ALL
        .iter()
        .copied()
        .filter(|c| match c {
            Count::Pruned => t.ranked_trials || t.counts.pruned > 0,
            Count::EpochsTrained => t.ranked_trials,
            _ => true,
        })
        .collect()
}

fn count_text(c: Count, r: &TableRow) -> String {
    c.of(r).map_or("-".to_string(), |n| n.to_string())
}

/// How to read the metric columns: the mark (when a row has it), what the numbers are.
pub(crate) fn legend(t: &SweepTable, mark: &str) -> String {
    let better = if t.metric.higher_is_better() { "higher" } else { "lower" };
    let mut parts = Vec::new();
    if t.rows.iter().any(|r| r.best) {
        parts.push(format!("{mark} best {} ({better} is better)", t.metric));
    }
    let spread = t.rows.iter().any(|r| r.metrics.iter().any(|s| s.std.is_some()));
    parts.push(format!("metrics: {} over completed seeds", if spread { "mean ± sample std" } else { "mean" }));
    parts.push(format!("best_epoch: epoch of the best seed-mean {}", t.metric));
    parts.join("; ")
}

/// The terminal and Markdown tables show the PCA baseline column when a row has one (the raw
/// pixels' baseline is one number per dataset: a note under the table).
pub(crate) fn shows_pca(t: &SweepTable) -> bool {
    t.rows.iter().any(|r| r.pca_probe_accuracy.is_some())
}

/// An accuracy as the tables show metrics: four decimals.
pub(crate) fn accuracy_text(x: Option<f64>) -> String {
    x.map_or("-".to_string(), |v| format!("{v:.4}"))
}

/// Text keys left, numeric keys right (a column whose first rows are unset is still numeric).
fn key_aligns(t: &SweepTable) -> Vec<Align> {
    (0..t.keys.len())
        .map(|k| {
            if t.rows.iter().any(|r| matches!(r.keys.get(k), Some(Value::Int(_) | Value::Float(_)))) {
                Align::Right
            } else {
                Align::Left
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Terminal table

struct TextTable;

#[derive(Clone, Copy, PartialEq)]
enum Align {
    Left,
    Right,
}

impl Exporter for TextTable {
    fn render(&self, tables: &[SweepTable]) -> String {
        let mut out = String::new();
        for (i, t) in tables.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&t.title());
            out.push('\n');
            if t.rows.is_empty() {
                for n in &t.notes {
                    out.push_str(&format!("  {n}\n"));
                }
                continue;
            }
            let counts = shown_counts(t);
            let mut header: Vec<String> = t.keys.clone();
            header.extend(counts.iter().map(|c| c.name().to_string()));
            header.extend(t.metrics.iter().map(|m| m.name().to_string()));
            if shows_pca(t) {
                header.push(PCA_COLUMN.to_string());
            }
            header.extend(["best_epoch", "samples/s"].map(String::from));
            let mut align = key_aligns(t);
            align.resize(header.len(), Align::Right);

            let mut body: Vec<Vec<String>> = t
                .rows
                .iter()
                .map(|r| {
                    let mut cells: Vec<String> = r.keys.iter().map(|v| v.text("-")).collect();
                    cells.extend(counts.iter().map(|c| count_text(*c, r)));
                    cells.extend(std::iter::repeat_n(String::new(), t.metrics.len()));
                    if shows_pca(t) {
                        cells.push(accuracy_text(r.pca_probe_accuracy));
                    }
                    cells.push(r.best_epoch.map_or("-".to_string(), |e| e.to_string()));
                    cells.push(r.samples_per_second.map_or("-".to_string(), |s| format!("{s:.0}")));
                    cells
                })
                .collect();
            // Metric cells: means right-aligned on one edge and ± std on another, so that a
            // configuration with a single run (no std) still lines up with the others.
            let first_metric = t.keys.len() + counts.len();
            for (j, _) in t.metrics.iter().enumerate() {
                let parts: Vec<(String, Option<String>)> = t
                    .rows
                    .iter()
                    .map(|r| r.metrics.get(j).map_or(("-".to_string(), None), |s| stat_parts(s, j == 0 && r.best, "*")))
                    .collect();
                let wm = parts.iter().map(|(m, _)| width(m)).max().unwrap_or(0);
                let ws = parts.iter().filter_map(|(_, s)| s.as_deref().map(width)).max();
                for (row, (m, s)) in body.iter_mut().zip(parts) {
                    let mut cell = format!("{}{m}", " ".repeat(wm - width(&m)));
                    if let Some(ws) = ws {
                        match s {
                            Some(s) => cell.push_str(&format!(" ± {s}{}", " ".repeat(ws - width(&s)))),
                            None => cell.push_str(&" ".repeat(ws + 3)),
                        }
                    }
                    if let Some(c) = row.get_mut(first_metric + j) {
                        *c = cell;
                    }
                }
            }
            let widths: Vec<usize> = (0..header.len())
                .map(|c| body.iter().map(|r| width(&r[c])).chain([width(&header[c])]).max().unwrap_or(0))
                .collect();
            let line = |cells: &[String]| -> String {
                let padded: Vec<String> =
                    cells.iter().zip(&widths).zip(&align).map(|((c, w), a)| pad(c, *w, *a)).collect();
                format!("{}\n", padded.join("  ").trim_end())
            };
            out.push_str(&line(&header));
            out.push_str(&line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>()));
            for row in &body {
                out.push_str(&line(row));
            }
            for n in &t.notes {
                out.push_str(&format!("{n}\n"));
            }
            out.push_str(&format!("{}\n", legend(t, "*")));
        }
        out
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn pad(s: &str, w: usize, a: Align) -> String {
    let fill = " ".repeat(w.saturating_sub(width(s)));
    match a {
        Align::Left => format!("{s}{fill}"),
        Align::Right => format!("{fill}{s}"),
    }
}

/// A table cell's mean (with the mark, when best) and std (see [`mean_and_spread`]).
pub(crate) fn stat_parts(s: &Stat, best: bool, mark: &str) -> (String, Option<String>) {
    mean_and_spread(s.mean, s.std, best, mark)
}

// ---------------------------------------------------------------------------------------------
// Markdown

struct Markdown;

impl Exporter for Markdown {
    fn render(&self, tables: &[SweepTable]) -> String {
        let mut out = String::new();
        for (i, t) in tables.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&format!("### {}\n\n", md_escape(&t.title())));
            if t.rows.is_empty() {
                for n in &t.notes {
                    out.push_str(&format!("{}\n", md_escape(n)));
                }
                continue;
            }
            let counts = shown_counts(t);
            let mut header: Vec<String> = t.keys.clone();
            header.extend(counts.iter().map(|c| c.name().to_string()));
            header.extend(t.metrics.iter().map(|m| m.name().to_string()));
            if shows_pca(t) {
                header.push(PCA_COLUMN.to_string());
            }
            header.extend(["best_epoch", "samples/s"].map(String::from));
            let mut rule: Vec<&str> = key_aligns(t).into_iter().map(md_rule).collect();
            rule.resize(header.len(), md_rule(Align::Right));
            out.push_str(&format!("| {} |\n", header.iter().map(|h| md_escape(h)).collect::<Vec<_>>().join(" | ")));
            out.push_str(&format!("|{}|\n", rule.join("|")));
            for r in &t.rows {
                let mut cells: Vec<String> = r.keys.iter().map(|v| md_escape(&v.text("-"))).collect();
                cells.extend(counts.iter().map(|c| count_text(*c, r)));
                for (j, s) in r.metrics.iter().enumerate() {
                    let (m, sd) = stat_parts(s, false, "");
                    let text = match sd {
                        Some(sd) => format!("{m} ± {sd}"),
                        None => m,
                    };
                    cells.push(if j == 0 && r.best { format!("**{text}**") } else { text });
                }
                if shows_pca(t) {
                    cells.push(accuracy_text(r.pca_probe_accuracy));
                }
                cells.push(r.best_epoch.map_or("-".to_string(), |e| e.to_string()));
                cells.push(r.samples_per_second.map_or("-".to_string(), |s| format!("{s:.0}")));
                out.push_str(&format!("| {} |\n", cells.join(" | ")));
            }
            out.push('\n');
            // Two trailing spaces: a Markdown line break between the notes.
            for n in &t.notes {
                out.push_str(&format!("{}  \n", md_escape(n)));
            }
            out.push_str(&format!("{}\n", md_escape(&legend(t, "Bold:"))));
        }
        out
    }
}

fn md_rule(a: Align) -> &'static str {
    match a {
        Align::Left => ":---",
        Align::Right => "---:",
    }
}

/// Escapes what would break a table cell or start emphasis.
fn md_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace('*', "\\*")
}

// ---------------------------------------------------------------------------------------------
// CSV

struct Csv;

/// Columns of every table, in order of first appearance: sweeps vary different keys.
fn union_columns(tables: &[SweepTable]) -> (Vec<String>, Vec<Metric>) {
    let mut keys: Vec<String> = Vec::new();
    let mut metrics: Vec<Metric> = Vec::new();
    for t in tables {
        for k in &t.keys {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
        for m in &t.metrics {
            if !metrics.contains(m) {
                metrics.push(*m);
            }
        }
    }
    (keys, metrics)
}

impl Exporter for Csv {
    fn render(&self, tables: &[SweepTable]) -> String {
        let (keys, metrics) = union_columns(tables);
        let mut header: Vec<String> = vec!["sweep".to_string()];
        header.extend(keys.iter().cloned());
        header.extend(Count::ALL.iter().map(|c| c.name().to_string()));
        for m in &metrics {
            header.push(format!("{m}_mean"));
            header.push(format!("{m}_std"));
        }
        header.extend([PCA_COLUMN, PIXELS_COLUMN, "best_epoch", "samples_per_second", "best"].map(String::from));
        let mut out = csv_line(&header);
        for t in tables {
            for r in &t.rows {
                let mut cells = vec![t.sweep.clone()];
                for k in &keys {
                    cells.push(
                        t.keys
                            .iter()
                            .position(|tk| tk == k)
                            .and_then(|i| r.keys.get(i))
                            .map_or(String::new(), |v| v.exact("")),
                    );
                }
                cells.extend(Count::ALL.iter().map(|c| c.of(r).map_or(String::new(), |n| n.to_string())));
                for m in &metrics {
                    let s = stat_of(t, r, *m);
                    cells.push(float_text(s.and_then(|s| s.mean)));
                    cells.push(float_text(s.and_then(|s| s.std)));
                }
                cells.push(float_text(r.pca_probe_accuracy));
                cells.push(float_text(r.pixels_probe_accuracy));
                cells.push(r.best_epoch.map_or(String::new(), |e| e.to_string()));
                cells.push(float_text(r.samples_per_second));
                cells.push(r.best.to_string());
                out.push_str(&csv_line(&cells));
            }
        }
        out
    }
}

fn stat_of<'a>(t: &SweepTable, r: &'a TableRow, m: Metric) -> Option<&'a Stat> {
    t.metrics.iter().position(|tm| *tm == m).and_then(|i| r.metrics.get(i))
}

/// Every digit, in a form CSV readers parse back to the same number.
fn float_text(x: Option<f64>) -> String {
    x.map_or(String::new(), |x| format!("{x:?}"))
}

fn csv_line(cells: &[String]) -> String {
    let quoted: Vec<String> = cells
        .iter()
        .map(|c| if c.contains([',', '"', '\n', '\r']) { format!("\"{}\"", c.replace('"', "\"\"")) } else { c.clone() })
        .collect();
    format!("{}\n", quoted.join(","))
}

// ---------------------------------------------------------------------------------------------
// JSON

struct Json;

impl Exporter for Json {
    fn render(&self, tables: &[SweepTable]) -> String {
        use serde_json::{json, Map, Value as J};
        let number = |x: Option<f64>| x.and_then(serde_json::Number::from_f64).map_or(J::Null, J::Number);
        let sweeps: Vec<J> = tables
            .iter()
            .map(|t| {
                let rows: Vec<J> = t
                    .rows
                    .iter()
                    .map(|r| {
                        let mut o = Map::new();
                        for (k, v) in t.keys.iter().zip(&r.keys) {
                            let v = match v {
                                Value::Null => J::Null,
                                Value::Text(s) => J::String(s.clone()),
                                Value::Int(n) => J::from(*n),
                                Value::Float(x) => number(Some(*x)),
                            };
                            o.insert(k.clone(), v);
                        }
                        for &c in Count::ALL {
                            o.insert(c.name().to_string(), c.of(r).map_or(J::Null, J::from));
                        }
                        for (m, s) in t.metrics.iter().zip(&r.metrics) {
                            o.insert(format!("{m}_mean"), number(s.mean));
                            o.insert(format!("{m}_std"), number(s.std));
                        }
                        o.insert(PCA_COLUMN.into(), number(r.pca_probe_accuracy));
                        o.insert(PIXELS_COLUMN.into(), number(r.pixels_probe_accuracy));
                        o.insert("best_epoch".into(), r.best_epoch.map_or(J::Null, J::from));
                        o.insert("samples_per_second".into(), number(r.samples_per_second));
                        o.insert("best".into(), J::Bool(r.best));
                        J::Object(o)
                    })
                    .collect();
                let c = &t.counts;
                json!({
                    "sweep": t.sweep,
                    "description": t.description,
                    "runs": c.runs,
                    "completed": c.completed,
                    "diverged": c.diverged,
                    "failed": c.failed,
                    "pruned": c.pruned,
                    "running": c.running,
                    "metric": t.metric.name(),
                    "higher_is_better": t.metric.higher_is_better(),
                    "group_by": t.keys[..t.group_keys],
                    "chosen_over": t.keys[t.group_keys..],
                    "notes": t.notes,
                    "rows": rows,
                })
            })
            .collect();
        // Serialising maps of strings and numbers cannot fail.
        let text = serde_json::to_string_pretty(&J::Array(sweeps)).unwrap_or_default();
        format!("{text}\n")
    }
}
