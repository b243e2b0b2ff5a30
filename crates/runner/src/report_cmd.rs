//! `runner report`: checks the options, reads the sweeps under the given directories, prints (or
//! writes) their comparison tables and, with `--plots`, draws their pictures (into
//! `<sweep>/plots/`, and each run's latent space into its own folder) and, with `--html`, writes
//! one page of everything. Fails when no sweep has a completed run, after showing what there is,
//! so that a script notices.

use crate::cli::ReportArgs;
use anyhow::{bail, Context, Result};
use report::{HtmlOptions, PlotOptions, SweepResults, TableOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn run(args: ReportArgs) -> Result<ExitCode> {
    // Options first: a typo is reported before anything is read.
    let options = TableOptions::new(args.metric.as_deref(), &args.group_by, args.best, args.sort.as_deref())?;
    let (paths, mut sweeps) = if args.paths.is_empty() {
        (vec![PathBuf::from(RESULTS)], report::load(&default_sweep_dirs()?)?)
    } else {
        (args.paths.clone(), report::load(&args.paths)?)
    };
    if let Some(name) = &args.sweep {
        sweeps = report::select_sweep(sweeps, name)?;
    }
    let tables = sweeps.iter().map(|s| report::table(s, &options)).collect::<Result<Vec<_>, _>>()?;
    let text = report::render(&tables, args.format);
    match &args.output {
        Some(path) => {
            atomic_file::write(path, text.as_bytes()).with_context(|| format!("--output {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        None => print!("{text}"),
    }

    if let Some(given) = &args.html {
        let path = html_path(given.as_deref(), &sweeps, &paths)?;
        let opts = HtmlOptions { table: options.clone(), generator: format!("runner {}", crate::cli::VERSION) };
        let page = report::html_report(&sweeps, &opts)?;
        atomic_file::write(&path, page.as_bytes()).with_context(|| format!("--html {}", path.display()))?;
        eprintln!("wrote {} ({} KiB)", path.display(), page.len().div_ceil(1024));
    }

    if args.plots {
        for sweep in &sweeps {
            let plot = PlotOptions::new(options.metric_of(sweep));
            let Some(first) = sweep.sources.first() else { continue };
            let dir = first.dir.join("plots");
            let written = report::plots(sweep, &plot, &dir)?;
            if written.is_empty() {
                eprintln!("{}: no completed runs, nothing to plot", sweep.name);
            }
            // Paths go to stderr so that CSV or JSON on stdout stays machine-readable.
            for path in written {
                eprintln!("wrote {}", path.display());
            }
            let latent = report::latent_plots(sweep, plot.width, plot.height)?;
            if let Some(first) = latent.first() {
                let runs = first.parent().and_then(|p| p.parent()).unwrap_or(first);
                eprintln!("wrote {} latent-space pictures: {}/*/latent.png", latent.len(), runs.display());
            }
        }
    }

    if !sweeps.iter().any(|s| s.counts.completed > 0) {
        let what: Vec<String> = sweeps
            .iter()
            .map(|s| {
                format!(
                    "{}: {} runs, {} diverged, {} failed",
                    s.name, s.counts.runs, s.counts.diverged, s.counts.failed
                )
            })
            .collect();
        bail!("no sweep has a completed run ({}); nothing to compare", what.join("; "));
    }
    Ok(ExitCode::SUCCESS)
}

/// Where `runner report` looks without paths.
const RESULTS: &str = "results";
/// The committed references under `results/` (what `runner check` and CI compare with).
const REFERENCE: &str = "reference";

/// Without paths: every folder under `results/` but `results/reference/`. The references' sweeps
/// have the names of the shipped sweeps, so they would be merged with the user's (a smoke sweep
/// with the committed smoke reference), and `--plots` or `--html` would write into the
/// committed folder. `runner report results/reference` shows them.
fn default_sweep_dirs() -> Result<Vec<PathBuf>> {
    let root = Path::new(RESULTS);
    if !root.is_dir() {
        // report::load says what is wrong with it.
        return Ok(vec![root.to_path_buf()]);
    }
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(root).with_context(|| format!("reading {}", root.display()))? {
        let entry = entry.with_context(|| format!("reading {}", root.display()))?;
        if entry.file_name() != REFERENCE && entry.path().is_dir() {
            dirs.push(entry.path());
        }
    }
    if dirs.is_empty() {
        bail!(
            "no sweeps under {RESULTS}/ yet (run one: `runner sweep experiments/smoke.toml`); \
             {RESULTS}/{REFERENCE}/ holds the committed references that `runner check` compares with, \
             and `runner report {RESULTS}/{REFERENCE}` shows them"
        );
    }
    dirs.sort();
    Ok(dirs)
}

/// Where `--html` writes: the path given; else `report.html` in the sweep's directory (its first,
/// when copies were merged), or for several sweeps in the one directory given.
fn html_path(given: Option<&Path>, sweeps: &[SweepResults], paths: &[PathBuf]) -> Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path.to_path_buf());
    }
    match (sweeps, paths) {
        ([one], _) => match one.sources.first() {
            Some(source) => Ok(source.dir.join("report.html")),
            None => bail!("sweep {}: no directory to write report.html into; give --html=PATH", one.name),
        },
        (_, [dir]) => Ok(dir.join("report.html")),
        _ => bail!(
            "--html: {} sweeps from {} directories and no page path; give one, e.g. --html=report.html",
            sweeps.len(),
            paths.len()
        ),
    }
}
