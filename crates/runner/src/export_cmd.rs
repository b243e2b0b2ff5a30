//! `runner export tensorboard <sweep dir> [--out DIR]`: the event files of every recorded run of
//! a sweep (see `events.rs`), from its run folders. The results are only read: the log directory
//! defaults to `tensorboard/<sweep>` in the working directory and may not be inside the sweep
//! directory, so that exporting never changes what `runner report` or `runner check` read.
//! Wall times are the recorded ones: a run's start, then the end of each epoch's training,
//! evaluation and probe.

use crate::cli::ExportTensorboardArgs;
use crate::events::{parse_rfc3339, Logdir};
use anyhow::{bail, Context, Result};
use results::SweepDir;
use std::path::{Component, Path, PathBuf};

pub fn tensorboard(args: &ExportTensorboardArgs) -> Result<()> {
    let dir = &args.sweep_dir;
    let store = SweepDir { dir: dir.clone() };
    check_sweep_dir(dir)?;
    let runs = store.load_runs().with_context(|| format!("{}: reading the runs", dir.display()))?;
    let Some(first) = runs.first() else {
        bail!("{}: no recorded runs (runs/<id>/run.json); nothing to export", dir.display());
    };
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("tensorboard").join(&first.record.sweep));
    if inside(&out, dir)? {
        bail!(
            "--out {}: inside the sweep directory {}; exporting does not write into the results, choose a folder \
             outside it (default: tensorboard/<sweep>)",
            out.display(),
            dir.display()
        );
    }
    let logdir = Logdir::new(
        &out,
        runs.iter().map(|r| (r.record.run_id.clone(), r.record.variant.clone(), r.record.label.clone())),
    );
    let mut scalars = 0;
    for run in &runs {
        let r = &run.record;
        // The configuration exactly as stored (what `config.toml` says, comments and all).
        let config = std::fs::read_to_string(run.dir.config())
            .with_context(|| format!("{}: cannot read the run's configuration", run.dir.config().display()))?;
        let mut wall = parse_rfc3339(&r.started_at).unwrap_or(0.0);
        let mut events = logdir.start(&r.run_id, &config, wall, &r.provenance.host)?;
        for row in &run.rows {
            wall += row.epoch_seconds + row.eval_seconds + row.probe_seconds.unwrap_or(0.0);
            events.epoch(row, wall)?;
        }
        scalars += events.scalars();
    }
    eprintln!(
        "wrote {} event files ({scalars} scalars) of sweep {} under {}; view them with: tensorboard --logdir {}",
        runs.len(),
        first.record.sweep,
        out.display(),
        out.display()
    );
    Ok(())
}

/// A sweep directory holds `runs/`; a directory above sweeps is named as such, with the sweeps.
fn check_sweep_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        bail!("{}: no such directory; give a sweep's results directory (holding runs/)", dir.display());
    }
    if !dir.is_dir() {
        bail!("{}: not a directory; give a sweep's results directory (holding runs/)", dir.display());
    }
    if dir.join("runs").is_dir() {
        return Ok(());
    }
    let below = report::find_sweep_dirs(&[dir.to_path_buf()]).unwrap_or_default();
    if below.is_empty() {
        bail!(
            "{}: no results (no runs/ folder); give a sweep's results directory, written by `runner sweep`",
            dir.display()
        );
    }
    let names: Vec<String> = below.iter().map(|d| d.display().to_string()).collect();
    bail!("{}: not a sweep directory but a directory of sweeps; export one of: {}", dir.display(), names.join(", "))
}

/// Whether `path` (which need not exist) is `dir` or inside it, links resolved: the deepest
/// existing ancestor is canonicalised and the rest appended with `..` applied.
fn inside(path: &Path, dir: &Path) -> Result<bool> {
    let dir = dir.canonicalize().with_context(|| format!("{}: cannot resolve the path", dir.display()))?;
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().context("cannot read the working directory")?.join(path)
    };
    let mut existing = absolute.as_path();
    let mut rest: Vec<Component> = Vec::new();
    while !existing.exists() {
        let Some(parent) = existing.parent() else { break };
        if let Some(last) = existing.components().next_back() {
            rest.push(last);
        }
        existing = parent;
    }
    let mut resolved = existing.canonicalize().unwrap_or_else(|_| existing.to_path_buf());
    for c in rest.into_iter().rev() {
        match c {
            Component::ParentDir => {
                resolved.pop();
            }
            Component::CurDir => {}
            other => resolved.push(other),
        }
    }
    Ok(resolved.starts_with(&dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_inside_the_sweep_are_recognised_before_they_exist() {
        let tmp = tempfile::tempdir().unwrap();
        let sweep = tmp.path().join("results/smoke");
        std::fs::create_dir_all(sweep.join("runs")).unwrap();
        assert!(inside(&sweep, &sweep).unwrap());
        assert!(inside(&sweep.join("tb/x"), &sweep).unwrap());
        assert!(inside(&tmp.path().join("results/other/../smoke/tb"), &sweep).unwrap());
        assert!(!inside(&tmp.path().join("results/smoke-tb"), &sweep).unwrap(), "a sibling, not inside");
        assert!(!inside(&tmp.path().join("tensorboard/smoke"), &sweep).unwrap());
        assert!(!inside(&sweep.join("../../tb"), &sweep).unwrap());
    }
}
