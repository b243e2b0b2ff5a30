//! `runner check`: retrain recorded runs from their `config.toml` and compare every metric of
//! every epoch with what was recorded. Timing columns are left out; everything else must match
//! bit for bit, or within `--tolerance` (relative). A run trained on CUDA, or retrained there, is
//! compared within [`CUDA_TOLERANCE`] unless `--tolerance` says otherwise: CUDA's scatter-adds
//! (atomic, in no fixed order) change the last bits from run to run.

use crate::cli::{CheckArgs, CompareArgs};
use crate::env::{device_of, open_device};
use anyhow::{bail, Context, Result};
use results::{StoredRun, SweepDir};
use spec::metrics::timing_columns;
use spec::{MetricRow, RunStatus};
use std::process::ExitCode;

/// One value that did not reproduce (or differs between two directories: `recorded` is the
/// first, `rerun` the second).
struct Mismatch {
    run: String,
    epoch: String,
    column: String,
    recorded: String,
    rerun: String,
    difference: String,
}

/// The relative tolerance of a check that involves CUDA (a run recorded on CUDA, or retrained
/// there; also `--device generic-cpu`, CUDA's ops on the CPU). The device-generic path that CUDA runs differs from the CPU's kernels by ~1e-6
/// relative in every metric after two epochs on the CPU (`train`'s test
/// `a_whole_run_through_the_generic_path_tracks_the_cpu_path`); CUDA adds its own summation
/// orders. 1e-3 leaves room for longer runs, where rounding differences grow through training,
/// while a wrong kernel, layout or formula moves the metrics by far more.
pub const CUDA_TOLERANCE: f64 = 1e-3;

pub fn run(args: CheckArgs) -> Result<ExitCode> {
    crate::env::init_threads(args.threads.threads)?;
    if let Some(t) = args.tolerance {
        if !(t.is_finite() && t >= 0.0) {
            bail!("--tolerance must be a number ≥ 0, got {t}");
        }
    }
    if !args.sweep_dir.join("runs").is_dir() {
        bail!("{}: not a sweep's results directory (no runs/ inside)", args.sweep_dir.display());
    }
    let store = SweepDir { dir: args.sweep_dir.clone() };
    // A search's pruned runs too: retrained up to the epoch they were pruned at.
    let completed: Vec<StoredRun> = store
        .load_runs()?
        .into_iter()
        .filter(|r| matches!(r.record.status, RunStatus::Completed | RunStatus::Pruned))
        .collect();
    if completed.is_empty() {
        bail!("{}: no completed or pruned runs to check", args.sweep_dir.display());
    }
    let take = if args.all { completed.len() } else { args.runs.min(completed.len()) };
    let selected = &completed[..take];

    let version = env!("CARGO_PKG_VERSION");
    for r in selected {
        let recorded = &r.record.provenance.runner_version;
        if recorded != version && !args.allow_version_change {
            bail!(
                "run {} was recorded by runner {recorded}, this is runner {version}; results may legitimately differ \
                 (pass --allow-version-change to compare anyway)",
                r.record.run_id
            );
        }
    }

    // Every device the retraining needs, opened before the first run.
    let device_of_run = |r: &StoredRun| args.device.map_or_else(|| train::device(&r.file.config()), device_of);
    let mut opened: Vec<nn::Device> = Vec::new();
    for r in selected {
        let device = device_of_run(r);
        if !opened.contains(&device) {
            let what = match args.device {
                Some(_) => format!("--device {device}"),
                None => format!(
                    "run {}: `train.device = \"{device}\"` (`--device cpu` retrains it on the CPU)",
                    r.record.run_id
                ),
            };
            open_device(device, &what)?;
            opened.push(device);
        }
    }

    let mut mismatches = Vec::new();
    let mut tolerances = Vec::new();
    for r in selected {
        let config = r.file.config();
        let device = device_of_run(r);
        // The generic path (CUDA, generic-cpu) on either side: rounding differs from the CPU's.
        let generic = device.is_generic() || r.record.provenance.device != nn::Device::Cpu.name();
        let tolerance = args.tolerance.unwrap_or(if generic { CUDA_TOLERANCE } else { 0.0 });
        tolerances.push(tolerance);
        let d = &config.data;
        let dataset = data::load(&d.dataset, &args.data.data_dir, d.train_limit, d.test_limit)
            .with_context(|| format!("run {}: loading its dataset", r.record.run_id))?;
        if dataset.fingerprint != r.file.dataset_fingerprint {
            bail!(
                "run {}: dataset `{}` in {} is not the data the run was recorded with (fingerprint {} vs recorded {})",
                r.record.run_id,
                d.dataset,
                args.data.data_dir.display(),
                dataset.fingerprint,
                r.file.dataset_fingerprint
            );
        }
        let on = if device.name() == r.record.provenance.device {
            String::new()
        } else {
            format!(", recorded on {}, retrained on {device}", r.record.provenance.device)
        };
        let within = if tolerance == 0.0 { "bit-exact".to_string() } else { format!("within {tolerance:e}") };
        eprintln!("checking {} {} ({} epochs{on}; {within})", r.record.run_id, r.record.label, r.rows.len());
        let tmp = tempfile::tempdir().context("creating a temporary directory")?;
        let out = spec::RunDir::new(tmp.path());
        let info = train::RunInfo {
            run_id: &r.file.run_id,
            sweep: &r.file.sweep,
            variant: &r.file.variant,
            config: &config,
            out_dir: Some(&out),
            stretch: train::Stretch {
                resume_after: None,
                pause_at: (r.record.status == RunStatus::Pruned).then_some(r.record.epochs_completed as usize),
            },
        };
        let mut rows = Collect(Vec::new());
        let outcome = train::run_on(&info, &dataset, &mut rows, device)?;
        if let train::Outcome::Diverged { reason, .. } = outcome {
            mismatches.push(Mismatch {
                run: r.record.run_id.clone(),
                epoch: "-".into(),
                column: "status".into(),
                recorded: r.record.status.to_string(),
                rerun: format!("diverged: {reason}"),
                difference: "-".into(),
            });
        }
        let one_image = 1.0 / dataset.test.len().max(1) as f64;
        compare(&r.record.run_id, &r.rows, &rows.0, tolerance, Some(one_image), &mut mismatches)?;
    }

    let loose = tolerances.iter().filter(|t| **t > 0.0).count();
    let most = tolerances.iter().copied().fold(0.0, f64::max);
    let how = if loose == 0 {
        "bit-exact".to_string()
    } else if loose == tolerances.len() {
        format!("within {most:e}")
    } else {
        format!("within {most:e} for the {loose} on the device-generic path, bit-exact for the others")
    };
    report(&mismatches, selected.len(), &how, "reproduced", ["recorded", "rerun"])
}

/// `runner compare A B`: the runs two results directories share must have the same metrics.
pub fn compare_dirs(args: CompareArgs) -> Result<ExitCode> {
    if !(args.tolerance.is_finite() && args.tolerance >= 0.0) {
        bail!("--tolerance must be a number ≥ 0, got {}", args.tolerance);
    }
    let load = |dir: &std::path::Path| -> Result<Vec<StoredRun>> {
        if !dir.join("runs").is_dir() {
            bail!("{}: not a sweep's results directory (no runs/ inside)", dir.display());
        }
        Ok(SweepDir { dir: dir.to_path_buf() }.load_runs()?)
    };
    let (a, b) = (load(&args.a)?, load(&args.b)?);
    let ids = |runs: &[StoredRun]| -> std::collections::BTreeSet<String> {
        runs.iter().map(|r| r.record.run_id.clone()).collect()
    };
    let mut mismatches = Vec::new();
    for id in ids(&a).symmetric_difference(&ids(&b)) {
        let (has, lacks) = if ids(&a).contains(id) { (&args.a, &args.b) } else { (&args.b, &args.a) };
        mismatches.push(Mismatch {
            run: id.clone(),
            epoch: "-".into(),
            column: "run".into(),
            recorded: format!("in {}", has.display()),
            rerun: format!("not in {}", lacks.display()),
            difference: "-".into(),
        });
    }
    let mut compared = 0;
    for ra in &a {
        let Some(rb) = b.iter().find(|r| r.record.run_id == ra.record.run_id) else { continue };
        compared += 1;
        if ra.record.status != rb.record.status {
            mismatches.push(Mismatch {
                run: ra.record.run_id.clone(),
                epoch: "-".into(),
                column: "status".into(),
                recorded: ra.record.status.to_string(),
                rerun: rb.record.status.to_string(),
                difference: "-".into(),
            });
        }
        compare(&ra.record.run_id, &ra.rows, &rb.rows, args.tolerance, None, &mut mismatches)?;
    }
    if compared == 0 {
        bail!("{} and {} share no runs", args.a.display(), args.b.display());
    }
    let how = if args.tolerance == 0.0 { "bit-exact".to_string() } else { format!("within {:e}", args.tolerance) };
    report(&mismatches, compared, &how, "identical", ["first", "second"])
}

/// Prints the mismatches as a table, or the success line; the exit code says which.
/// `how` says how closely the values were compared (`bit-exact`, `within 1e-4`).
fn report(mismatches: &[Mismatch], runs: usize, how: &str, verb: &str, sides: [&str; 2]) -> Result<ExitCode> {
    if mismatches.is_empty() {
        println!("{runs} runs {verb} ({how}, every metric of every epoch)");
        return Ok(ExitCode::SUCCESS);
    }
    let header = ["run", "epoch", "metric", sides[0], sides[1], "difference"];
    let cells: Vec<[String; 6]> = mismatches
        .iter()
        .map(|m| {
            [
                m.run.clone(),
                m.epoch.clone(),
                m.column.clone(),
                m.recorded.clone(),
                m.rerun.clone(),
                m.difference.clone(),
            ]
        })
        .collect();
    let widths: Vec<usize> =
        (0..6).map(|i| cells.iter().map(|c| c[i].len()).max().unwrap_or(0).max(header[i].len())).collect();
    let line = |c: &[String]| {
        c.iter().zip(&widths).map(|(s, w)| format!("{s:<w$}")).collect::<Vec<_>>().join("  ").trim_end().to_string()
    };
    println!("{}", line(&header.map(String::from)));
    for c in &cells {
        println!("{}", line(c));
    }
    let differing: std::collections::BTreeSet<&str> = mismatches.iter().map(|m| m.run.as_str()).collect();
    println!("{} values in {} of {} runs differ beyond the tolerance ({how})", mismatches.len(), differing.len(), runs);
    Ok(ExitCode::FAILURE)
}

struct Collect(Vec<MetricRow>);

impl train::Observer for Collect {
    fn epoch(&mut self, row: &MetricRow) -> Result<(), String> {
        self.0.push(row.clone());
        Ok(())
    }
}

/// Compares two runs' rows column by column (timings excluded), by the struct's own fields.
/// `one_image` is 1 / the number of test images: with a tolerance > 0, a probe accuracy may differ
/// by one image (an accuracy is a count; a float difference far below the tolerance can move a
/// test code across a decision boundary on another CPU).
fn compare(
    run: &str,
    recorded: &[MetricRow],
    rerun: &[MetricRow],
    tolerance: f64,
    one_image: Option<f64>,
    out: &mut Vec<Mismatch>,
) -> Result<()> {
    if recorded.len() != rerun.len() {
        out.push(Mismatch {
            run: run.into(),
            epoch: "-".into(),
            column: "epochs".into(),
            recorded: recorded.len().to_string(),
            rerun: rerun.len().to_string(),
            difference: "-".into(),
        });
    }
    for (a, b) in recorded.iter().zip(rerun) {
        let (serde_json::Value::Object(a), serde_json::Value::Object(b)) =
            (serde_json::to_value(a)?, serde_json::to_value(b)?)
        else {
            bail!("metric rows are not objects");
        };
        for (column, va) in &a {
            if timing_columns().any(|t| t == column) {
                continue;
            }
            let vb = b.get(column).unwrap_or(&serde_json::Value::Null);
            let difference = match (va.as_f64(), vb.as_f64()) {
                (Some(x), Some(y)) if x == y => continue,
                (Some(x), Some(y)) => {
                    let rel = (x - y).abs() / x.abs().max(y.abs());
                    let counted = column == "probe_accuracy" && tolerance > 0.0;
                    if rel <= tolerance || (counted && one_image.is_some_and(|step| (x - y).abs() <= 1.5 * step)) {
                        continue;
                    }
                    format!("{rel:.3e} rel")
                }
                _ if va == vb => continue,
                _ => "differs".to_string(),
            };
            out.push(Mismatch {
                run: run.into(),
                epoch: epoch_label(&a),
                column: column.clone(),
                recorded: va.to_string(),
                rerun: vb.to_string(),
                difference,
            });
        }
    }
    Ok(())
}

/// A row's epoch, with its phase where it has one (`pretrain-2/1`): a `stacked` run numbers the
/// epochs of each phase from 1.
fn epoch_label(row: &serde_json::Map<String, serde_json::Value>) -> String {
    let epoch = row.get("epoch").map_or("-".into(), |e| e.to_string());
    match row.get("phase").and_then(|p| p.as_str()) {
        Some(phase) if !phase.is_empty() => format!("{phase}/{epoch}"),
        _ => epoch,
    }
}
