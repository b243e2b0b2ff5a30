//! Finding sweeps under the given directories and reading them into polars frames.
//!
//! A sweep directory is one holding a `runs/` folder. Each is read from its combined
//! `runs.parquet` / `metrics.parquet` (lazy scans) when those are at least as new as every run's
//! `run.json` and `metrics.csv` and have the current columns, and from the run folders otherwise
//! (a sweep still running, killed, or copied together from several machines has stale or no
//! combined files). Directories with the same name (shards or machines copied side by side) are
//! one sweep; a run seen twice is kept once, preferring `completed`, then the newest `finished_at`.

use crate::error::ReportError;
use polars::prelude::*;
use results::table::{to_frame, Rows};
use results::{Baseline, ResultsError, RunRow, SweepDir};
use spec::MetricRow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// How a sweep directory was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Its combined `runs.parquet` and `metrics.parquet`.
    Combined,
    /// Its run folders (`runs/<id>/run.json`, `config.toml`, `metrics.csv`).
    RunFolders,
}

/// One directory that contributed to a sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepSource {
    pub dir: PathBuf,
    pub source: Source,
}

/// How many runs a sweep has in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounts {
    pub runs: u64,
    pub completed: u64,
    pub diverged: u64,
    pub failed: u64,
    /// Still running, or killed before it finished.
    pub running: u64,
    /// Trials of a search stopped early at a rung (issue #15).
    pub pruned: u64,
    /// A status this version does not know (written by a newer runner).
    pub other: u64,
}

/// Everything recorded about one sweep, merged over the directories it was found in.
#[derive(Debug, Clone)]
pub struct SweepResults {
    pub name: String,
    /// From its `sweep.toml`, when there is one with a description.
    pub description: Option<String>,
    /// Sorted by path; plots are written into the first.
    pub sources: Vec<SweepSource>,
    /// One row per run (the `RunRow` columns), each run once, sorted by run id.
    pub runs: DataFrame,
    /// One row per run × epoch (the `MetricRow` columns) of the runs kept, sorted by run and epoch.
    pub metrics: DataFrame,
    pub counts: RunCounts,
    /// The stored linear-probe baselines (`<sweep>/baselines/*.json`) of every directory, one per
    /// (kind, data, size): the newest when copies or older probe definitions disagree.
    pub baselines: Vec<Baseline>,
    /// The sweep's `search.json` when its runs are the trials of a search (the first directory's
    /// that has one).
    pub search: Option<crate::search_file::Search>,
}

/// The column that remembers which directory a row came from while copies of a run are merged.
const SOURCE: &str = "_source";
const RANK: &str = "_rank";

/// Finds and reads every sweep under `paths` (results directories or sweep directories), sorted
/// by name.
pub fn load(paths: &[PathBuf]) -> Result<Vec<SweepResults>, ReportError> {
    let dirs = find_sweep_dirs(paths)?;
    let mut by_name: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for dir in dirs {
        // The store names a sweep's directory after the sweep (`<results>/<sweep>/`).
        let name = dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        by_name.entry(name).or_default().push(dir);
    }
    by_name.into_iter().map(|(name, dirs)| load_sweep(&name, &dirs)).collect()
}

/// Keeps only the sweep called `name`.
pub fn select_sweep(sweeps: Vec<SweepResults>, name: &str) -> Result<Vec<SweepResults>, ReportError> {
    let found = sweeps.iter().map(|s| s.name.clone()).collect::<Vec<_>>().join(", ");
    let kept: Vec<SweepResults> = sweeps.into_iter().filter(|s| s.name == name).collect();
    if kept.is_empty() {
        return Err(ReportError::UnknownSweep { name: name.to_string(), found });
    }
    Ok(kept)
}

/// The sweep directories under `paths`, each once, sorted. A path that is itself a sweep
/// directory counts; the search does not go into a sweep directory or hidden folders.
pub fn find_sweep_dirs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ReportError> {
    // Canonical path → the path as found, so that `results results/tiny` reads `tiny` once.
    let mut found: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    for root in paths {
        if !root.exists() {
            return Err(ReportError::MissingPath { path: root.clone() });
        }
        if !root.is_dir() {
            return Err(ReportError::NotADirectory { path: root.clone() });
        }
        let mut walk = walkdir::WalkDir::new(root).sort_by_file_name().into_iter();
        while let Some(entry) = walk.next() {
            let entry = entry.map_err(|cause| ReportError::Walk { path: root.clone(), cause })?;
            if !entry.file_type().is_dir() {
                continue;
            }
            if entry.depth() > 0 && entry.file_name().to_string_lossy().starts_with('.') {
                walk.skip_current_dir();
                continue;
            }
            if entry.path().join("runs").is_dir() {
                let canonical = entry.path().canonicalize().map_err(|e| ResultsError::io(entry.path(), e))?;
                found.entry(canonical).or_insert_with(|| entry.path().to_path_buf());
                // Run folders hold no sweeps.
                walk.skip_current_dir();
            }
        }
    }
    if found.is_empty() {
        let paths = paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
        return Err(ReportError::NoSweeps { paths });
    }
    let mut dirs: Vec<PathBuf> = found.into_values().collect();
    dirs.sort();
    Ok(dirs)
}

/// Reads the directories of one sweep and merges them.
fn load_sweep(name: &str, dirs: &[PathBuf]) -> Result<SweepResults, ReportError> {
    let pl = |what: &str| {
        let what = what.to_string();
        move |e: PolarsError| ReportError::polars(name, &what, e)
    };
    let mut runs = Vec::new();
    let mut metrics = Vec::new();
    let mut sources = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        let (r, m, source) = load_dir(dir)?;
        let tag = lit(i as u32).alias(SOURCE);
        runs.push(r.with_column(tag.clone()));
        metrics.push(m.with_column(tag));
        sources.push(SweepSource { dir: dir.clone(), source });
    }
    let runs = concat(runs, UnionArgs::default()).map_err(pl("merging runs"))?;
    let metrics = concat(metrics, UnionArgs::default()).map_err(pl("merging metrics"))?;

    // Copies of a run: a completed copy first, then the newest finish (RFC 3339 UTC sorts as
    // text; unfinished last), then the first directory; keep the first of each run id.
    let completed = col("status").eq(lit(spec::RunStatus::Completed.to_string()));
    let kept = runs
        .with_column(when(completed).then(lit(0u32)).otherwise(lit(1u32)).alias(RANK))
        .sort_by_exprs(
            [col(RANK), col("finished_at"), col(SOURCE)],
            SortMultipleOptions::default()
                .with_order_descending_multi([false, true, false])
                .with_nulls_last(true)
                .with_maintain_order(true),
        )
        .unique_stable(Some(cols(["run_id"])), UniqueKeepStrategy::First)
        .sort(["run_id"], SortMultipleOptions::default());
    // Each kept run's epochs come from the same copy as its record.
    let metrics = metrics
        .join(
            kept.clone().select([col("run_id"), col(SOURCE)]),
            [col("run_id"), col(SOURCE)],
            [col("run_id"), col(SOURCE)],
            JoinArgs::new(JoinType::Inner),
        )
        .drop(cols([SOURCE]))
        .sort(["run_id", "epoch"], SortMultipleOptions::default())
        .collect()
        .map_err(pl("reading metrics"))?;
    let runs = kept.drop(cols([SOURCE, RANK])).collect().map_err(pl("reading runs"))?;
    let counts = count_runs(name, &runs)?;
    let description = dirs.iter().find_map(|d| description(d));
    let mut baselines: Vec<Baseline> = Vec::new();
    for dir in dirs {
        for b in (SweepDir { dir: dir.clone() }).load_baselines()? {
            let same = |o: &Baseline| {
                (o.kind, &o.dataset_fingerprint, o.train_limit, o.test_limit, o.dim)
                    == (b.kind, &b.dataset_fingerprint, b.train_limit, b.test_limit, b.dim)
            };
            match baselines.iter_mut().find(|o| same(o)) {
                // RFC 3339 UTC times sort as text.
                Some(o) if b.created_at > o.created_at => *o = b,
                Some(_) => {}
                None => baselines.push(b),
            }
        }
    }
    let mut search = None;
    for dir in dirs {
        if let Some(s) = crate::search_file::read_search(dir)? {
            search = Some(s);
            break;
        }
    }
    Ok(SweepResults { name: name.to_string(), description, sources, runs, metrics, counts, baselines, search })
}

/// The runs and metric rows of one sweep directory, and where they were read from.
fn load_dir(dir: &Path) -> Result<(LazyFrame, LazyFrame, Source), ReportError> {
    if combined_is_fresh(dir) {
        let runs = scan_if_current::<RunRow>(&dir.join("runs.parquet"))?;
        let metrics = scan_if_current::<MetricRow>(&dir.join("metrics.parquet"))?;
        if let (Some(runs), Some(metrics)) = (runs, metrics) {
            return Ok((runs, metrics, Source::Combined));
        }
    }
    let stored = SweepDir { dir: dir.to_path_buf() }.load_runs()?;
    let rows: Vec<RunRow> = stored.iter().map(|r| RunRow::new(&r.file, &r.record)).collect();
    let epochs: Vec<MetricRow> = stored.iter().flat_map(|r| r.rows.iter().cloned()).collect();
    Ok((to_frame(&rows)?.lazy(), to_frame(&epochs)?.lazy(), Source::RunFolders))
}

/// Whether both combined files exist and none of the run files is newer than either (a run that
/// finished after the last rebuild, or a run folder added or removed, makes them stale).
fn combined_is_fresh(dir: &Path) -> bool {
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let (Some(a), Some(b)) = (mtime(&dir.join("runs.parquet")), mtime(&dir.join("metrics.parquet"))) else {
        return false;
    };
    let built = a.min(b);
    let runs = dir.join("runs");
    let Some(mut newest): Option<SystemTime> = mtime(&runs) else { return false };
    let Ok(entries) = std::fs::read_dir(&runs) else { return false };
    for entry in entries.flatten() {
        for file in ["run.json", "metrics.csv"] {
            if let Some(t) = mtime(&entry.path().join(file)) {
                newest = newest.max(t);
            }
        }
    }
    newest <= built
}

/// A lazy scan of a combined Parquet file, or none when its columns are not those of `T` today
/// (written by another version) or it cannot be read: the run folders are read instead.
fn scan_if_current<T: Rows>(path: &Path) -> Result<Option<LazyFrame>, ReportError> {
    let expected = to_frame::<T>(&[])?;
    let Ok(source) = PlRefPath::try_from_path(path) else { return Ok(None) };
    let args = ScanArgsParquet {
        // The path is a file name, not a pattern, and `key=value` folders above it are not
        // columns.
        glob: false,
        hive_options: HiveOptions::new_disabled(),
        ..ScanArgsParquet::default()
    };
    let Ok(mut scan) = LazyFrame::scan_parquet(source, args) else { return Ok(None) };
    let Ok(schema) = scan.collect_schema() else { return Ok(None) };
    let want: Vec<(&str, &DataType)> = expected.columns().iter().map(|c| (c.name().as_str(), c.dtype())).collect();
    let have: Vec<(&str, &DataType)> = schema.iter().map(|(n, t)| (n.as_str(), t)).collect();
    Ok((want == have).then_some(scan))
}

fn count_runs(name: &str, runs: &DataFrame) -> Result<RunCounts, ReportError> {
    let status = runs
        .column("status")
        .and_then(|c| c.str().cloned())
        .map_err(|e| ReportError::polars(name, "reading run statuses", e))?;
    let mut counts = RunCounts::default();
    for s in status.iter().flatten() {
        counts.runs += 1;
        match s {
            "completed" => counts.completed += 1,
            "diverged" => counts.diverged += 1,
            "failed" => counts.failed += 1,
            "running" | "paused" => counts.running += 1,
            "pruned" => counts.pruned += 1,
            _ => counts.other += 1,
        }
    }
    Ok(counts)
}

/// The `description` of the sweep file stored beside the results. A sweep file that cannot be read
/// only costs the title its description, so errors are not reported.
fn description(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("sweep.toml")).ok()?;
    let table: toml::Table = text.parse().ok()?;
    let d = table.get("description")?.as_str()?.trim();
    (!d.is_empty()).then(|| d.to_string())
}
