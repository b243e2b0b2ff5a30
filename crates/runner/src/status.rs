//! `runner status`: where a sweep stands, from its folder alone (no lock is taken, so it can watch
//! a running array from a login node): counts of completed, running, paused, pending, failed,
//! diverged and pruned runs, the runs in progress with the host and process that hold them, and
//! the error of each failed one.

use crate::cli::StatusArgs;
use crate::plan::{plan, Datasets};
use anyhow::{bail, Result};
use results::SweepDir;
use spec::RunStatus;
use std::collections::BTreeMap;
use std::process::ExitCode;

pub fn run(args: StatusArgs) -> Result<ExitCode> {
    let dir = &args.sweep_dir;
    if !dir.join("runs").is_dir() {
        bail!("{}: not a sweep's results directory (no runs/ inside)", dir.display());
    }
    let store = SweepDir { dir: dir.clone() };
    let runs = store.load_runs()?;
    let mut by_status: BTreeMap<RunStatus, usize> = BTreeMap::new();
    for r in &runs {
        *by_status.entry(r.record.status).or_default() += 1;
    }
    let count = |s: RunStatus| by_status.get(&s).copied().unwrap_or(0);

    // How many runs the sweep file plans: a grid's are known (their ids need the data); a
    // search's count is its trials times the runs of a trial.
    let sweep_file = dir.join("sweep.toml");
    let planned: Result<usize> = (|| {
        let sweep = spec::load(&sweep_file, &[])?;
        let mut datasets = Datasets::default();
        Ok(match &sweep.search {
            None => plan(&sweep, &args.data.data_dir, &mut datasets)?.len(),
            Some(search) => {
                let first = crate::search::round(search, 0, &[], &args.data.data_dir, &mut datasets)?;
                let per_trial = first.iter().map(|t| t.runs.len()).max().unwrap_or(0);
                search.spec.trials as usize * per_trial
            }
        })
    })();
    let name = dir.file_name().map_or(String::new(), |n| n.to_string_lossy().to_string());
    let (planned_text, pending) = match &planned {
        Ok(n) => (format!("{n} runs planned"), Some(n.saturating_sub(runs.len()))),
        Err(e) => (format!("planned runs unknown ({e:#})"), None),
    };
    println!(
        "sweep {name}: {planned_text}: {} completed, {} running, {} paused, {} pending, {} failed, {} diverged, {} pruned",
        count(RunStatus::Completed),
        count(RunStatus::Running),
        count(RunStatus::Paused),
        pending.map_or("?".to_string(), |p| p.to_string()),
        count(RunStatus::Failed),
        count(RunStatus::Diverged),
        count(RunStatus::Pruned),
    );
    let active: Vec<_> =
        runs.iter().filter(|r| matches!(r.record.status, RunStatus::Running | RunStatus::Paused)).collect();
    if !active.is_empty() {
        println!("\nin progress:");
        for r in active {
            let epochs = r.file.train.epochs;
            let holder = match store.run_holder(&r.record.run_id) {
                Some(h) if h.is_gone() => format!(
                    "host {} pid {} since {} — that process is gone: rerun the sweep to retrain it",
                    h.host, h.pid, h.since
                ),
                Some(h) => format!("host {} pid {} since {}", h.host, h.pid, h.since),
                None => "holder unknown".to_string(),
            };
            println!(
                "  {}  {}  {} {}/{epochs} epochs  {holder}",
                r.record.run_id, r.record.label, r.record.status, r.record.epochs_completed
            );
        }
    }
    let failed: Vec<_> =
        runs.iter().filter(|r| matches!(r.record.status, RunStatus::Failed | RunStatus::Diverged)).collect();
    if !failed.is_empty() {
        println!("\nfailed or diverged:");
        for r in failed {
            println!(
                "  {}  {}  {}: {}",
                r.record.run_id,
                r.record.label,
                r.record.status,
                r.record.error.as_deref().unwrap_or("-")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
