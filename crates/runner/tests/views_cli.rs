//! The two views of results from the command line: `runner report --html` and `runner export
//! tensorboard` (and `runner sweep --tensorboard`). Where they write by default, the clear errors
//! for bad arguments (no results, an output that cannot be written, an export into the results),
//! that exporting leaves the results directory exactly as it was, and that the event files hold
//! every metric of `metrics.csv` (read back here with the crate's own reader; the check with
//! TensorBoard's reader is `scripts/check-tensorboard.sh`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test may stop at a broken assumption

mod common;

use common::*;
use spec::metrics::{Column, COLUMNS, FINETUNE_PHASE};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tensorboard::proto::{event, summary};

/// The results tree committed with the report crate's tests, copied (the tests may not change it).
fn fixture_copy(to: &Path) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../report/tests/fixtures/results/fixture");
    let sweep = to.join("results/fixture");
    copy(&from, &sweep);
    sweep
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

// 1. runner report --html -----------------------------------------------------------------------

#[test]
fn html_goes_to_the_sweep_directory_by_default_and_to_the_path_given() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = fixture_copy(tmp.path());
    let out = run(tmp.path(), &["report", "results/fixture", "--html"]);
    out.success().stderr_has("wrote results/fixture/report.html");
    let page = std::fs::read_to_string(sweep.join("report.html")).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("data-chart=\"test_bce_per_epoch\""));
    // The table is still printed, as without --html.
    assert!(out.stdout.contains("fixture — AE vs DAE"), "{}", out.stdout);

    run(tmp.path(), &["report", "results", "--html=page.html", "--metric", "test_psnr"]).success();
    let page = std::fs::read_to_string(tmp.path().join("page.html")).unwrap();
    assert!(page.contains("title=\"best test_psnr\""), "the table's metric leads the page too");
}

#[test]
fn several_sweeps_make_one_page_in_the_directory_given() {
    let tmp = tempfile::tempdir().unwrap();
    fixture_copy(tmp.path());
    copy(&tmp.path().join("results/fixture"), &tmp.path().join("results/other"));
    run(tmp.path(), &["report", "results", "--html"]).success().stderr_has("wrote results/report.html");
    let page = std::fs::read_to_string(tmp.path().join("results/report.html")).unwrap();
    assert_eq!(page.matches("<section class=\"sweep\"").count(), 2);
    // Two directories and no page path: where the page goes is the user's to say.
    copy(&tmp.path().join("results/fixture"), &tmp.path().join("elsewhere/third"));
    run(tmp.path(), &["report", "results", "elsewhere", "--html"])
        .failure()
        .stderr_has("give one, e.g. --html=report.html");
}

#[test]
fn html_of_a_directory_without_results_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("empty/nothing")).unwrap();
    run(tmp.path(), &["report", "empty", "--html"]).failure().stderr_has("no sweeps under empty");
    assert!(!tmp.path().join("empty/report.html").exists());
}

#[test]
fn an_html_path_that_cannot_be_written_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    fixture_copy(tmp.path());
    std::fs::write(tmp.path().join("a-file"), "").unwrap();
    run(tmp.path(), &["report", "results", "--html=a-file/report.html"])
        .failure()
        .stderr_has("--html a-file/report.html");
}

// 2. runner export tensorboard ------------------------------------------------------------------

/// Every scalar of an event file: (tag, step) → value; and its text summaries: tag → text.
type Scalars = BTreeMap<(String, i64), f32>;

fn read_events(path: &Path) -> (Scalars, BTreeMap<String, String>) {
    let mut scalars = BTreeMap::new();
    let mut texts = BTreeMap::new();
    for e in tensorboard::read_event_file(path).unwrap() {
        let Some(event::What::Summary(s)) = e.what else { continue };
        for v in s.value {
            match v.value {
                Some(summary::value::Value::SimpleValue(x)) => {
                    assert!(scalars.insert((v.tag.clone(), e.step), x).is_none(), "{} twice at {}", v.tag, e.step);
                }
                Some(summary::value::Value::Tensor(t)) => {
                    texts.insert(v.tag, String::from_utf8(t.string_val[0].clone()).unwrap());
                }
                None => panic!("a summary value without a value"),
            }
        }
    }
    (scalars, texts)
}

/// What the event file of a run must hold, from its `metrics.csv` alone: each metric column as a
/// scalar of its name, each timing column under `timing/`, at step = epoch; a pre-training
/// phase's rows under the phase's name; empty cells (and columns the file lacks) nothing.
fn expected(metrics_csv: &Path) -> Scalars {
    let csv = Csv::read(metrics_csv);
    let mut out = BTreeMap::new();
    for row in &csv.rows {
        // Files written before a column existed lack it: empty.
        let cell = |name: &str| csv.headers.iter().position(|h| h == name).map_or(String::new(), |i| row[i].clone());
        let epoch: i64 = cell("epoch").parse().unwrap();
        let phase = cell("phase");
        for (name, role) in COLUMNS {
            let tag = match role {
                Column::Label => continue,
                Column::Metric => name.to_string(),
                Column::Timing => format!("timing/{name}"),
            };
            let tag = if phase.is_empty() || phase == FINETUNE_PHASE { tag } else { format!("{phase}/{tag}") };
            let text = cell(name);
            if !text.is_empty() {
                out.insert((tag, epoch), text.parse::<f64>().unwrap() as f32);
            }
        }
    }
    out
}

/// The one event file in each run folder under `logdir`: folder (relative) → file.
fn event_files(logdir: &Path) -> BTreeMap<PathBuf, PathBuf> {
    let mut out = BTreeMap::new();
    for rel in files(logdir) {
        if rel.file_name().unwrap().to_string_lossy().starts_with("events.out.tfevents.") {
            let folder = rel.parent().unwrap().to_path_buf();
            assert!(out.insert(folder.clone(), logdir.join(&rel)).is_none(), "two event files in {}", folder.display());
        }
    }
    out
}

/// Asserts that each run of `sweep` has one event file under `logdir` holding its configuration
/// and exactly the scalars of its `metrics.csv`; returns the run folders.
fn assert_events_match(sweep: &Path, logdir: &Path) -> Vec<PathBuf> {
    let found = event_files(logdir);
    let ids = run_dirs(sweep);
    assert_eq!(found.len(), ids.len(), "one event file per run: {found:?}");
    let mut by_id = BTreeMap::new();
    for (folder, file) in &found {
        let (scalars, texts) = read_events(file);
        let config = &texts["config"];
        let id = ids.iter().find(|id| config.contains(&format!("run_id = \"{id}\""))).unwrap();
        let run = sweep.join("runs").join(id);
        let toml = std::fs::read_to_string(run.join("config.toml")).unwrap();
        assert_eq!(*config, format!("```toml\n{toml}```\n"), "the configuration verbatim, as a code block");
        let want = expected(&run.join("metrics.csv"));
        assert_eq!(scalars.len(), want.len(), "{}", folder.display());
        for (key, value) in &want {
            let got = scalars.get(key).unwrap_or_else(|| panic!("{}: no {key:?}", folder.display()));
            assert!(got.to_bits() == value.to_bits() || (got.is_nan() && value.is_nan()), "{key:?}: {got} vs {value}");
        }
        assert!(by_id.insert(id.clone(), folder.clone()).is_none(), "{id} exported twice");
    }
    found.into_keys().collect()
}

#[test]
fn export_writes_one_event_file_per_run_under_variant_and_label_and_leaves_the_results_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = fixture_copy(tmp.path());
    let before = snapshot(&sweep);
    let out = run(tmp.path(), &["export", "tensorboard", "results/fixture"]);
    out.success().stderr_has("wrote 7 event files").stderr_has("tensorboard --logdir tensorboard/fixture");
    let folders = assert_events_match(&sweep, &tmp.path().join("tensorboard/fixture"));
    let names: Vec<String> = folders.iter().map(|f| f.display().to_string()).collect();
    assert!(names.contains(&"ae/latent_dim=2,seed=1".to_string()), "{names:?}");
    assert!(names.contains(&"dae/latent_dim=32,seed=2".to_string()), "the diverged run too: {names:?}");
    assert_eq!(snapshot(&sweep), before, "exporting changed the results directory");

    // Again, elsewhere: the same folders; again into the same place: replaced, not doubled.
    run(tmp.path(), &["export", "tensorboard", "results/fixture", "--out", "tb"]).success();
    assert_eq!(assert_events_match(&sweep, &tmp.path().join("tb")), folders);
    run(tmp.path(), &["export", "tensorboard", "results/fixture", "--out", "tb"]).success();
    assert_eq!(assert_events_match(&sweep, &tmp.path().join("tb")), folders);
    assert_eq!(snapshot(&sweep), before, "exporting changed the results directory");
}

#[test]
fn export_errors_say_what_was_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = fixture_copy(tmp.path());
    let before = snapshot(&sweep);
    let export = |args: &[&str]| {
        let mut all = vec!["export", "tensorboard"];
        all.extend_from_slice(args);
        run(tmp.path(), &all)
    };
    export(&["no/such"]).failure().stderr_has("no/such: no such directory");
    std::fs::create_dir_all(tmp.path().join("empty")).unwrap();
    export(&["empty"]).failure().stderr_has("empty: no results (no runs/ folder)");
    std::fs::create_dir_all(tmp.path().join("fresh/runs")).unwrap();
    export(&["fresh"]).failure().stderr_has("fresh: no recorded runs");
    export(&["results"])
        .failure()
        .stderr_has("not a sweep directory but a directory of sweeps; export one of: results/fixture");
    // An output that cannot be written: a folder under a file.
    std::fs::write(tmp.path().join("a-file"), "").unwrap();
    export(&["results/fixture", "--out", "a-file/tb"]).failure().stderr_has("a-file/tb");
    // Into the results: refused, whichever way it is spelt.
    for out in ["results/fixture/tb", "results/fixture", "results/other/../fixture/runs/tb"] {
        export(&["results/fixture", "--out", out])
            .failure()
            .stderr_has(&format!("--out {out}: inside the sweep directory results/fixture"));
    }
    assert_eq!(snapshot(&sweep), before, "a failed export changed the results directory");
}

// 3. runner sweep --tensorboard -----------------------------------------------------------------

#[test]
fn a_sweep_writes_event_files_as_its_epochs_finish() {
    let tmp = tempfile::tempdir().unwrap();
    // A stacked variant too: its pre-training epochs restart at 1 in each phase.
    let text = sweep_text(
        "tb",
        2,
        "[sweep]\n\"train.seed\" = [0, 1]\n\n[[variant]]\nname = \"ae\"\n\n[[variant]]\nname = \"stacked\"\nmodel = { kind = \"stacked\" }\n",
    );
    std::fs::write(tmp.path().join("tb.toml"), text).unwrap();
    run(tmp.path(), &["sweep", "tb.toml", "--no-baselines", "--progress", "none", "--tensorboard", "logs"]).success();
    let sweep = tmp.path().join("results/tb");
    let folders = assert_events_match(&sweep, &tmp.path().join("logs"));
    let names: Vec<String> = folders.iter().map(|f| f.display().to_string()).collect();
    assert_eq!(names, ["ae/seed=0", "ae/seed=1", "stacked/seed=0", "stacked/seed=1"]);
    let (scalars, _) = read_events(event_files(&tmp.path().join("logs"))[Path::new("stacked/seed=0")].as_path());
    assert!(scalars.contains_key(&("pretrain-1/test_bce".to_string(), 1)), "{:?}", scalars.keys());
    assert!(scalars.contains_key(&("test_bce".to_string(), 2)));

    // The export of the same sweep holds the same scalars (only the wall times differ).
    run(tmp.path(), &["export", "tensorboard", "results/tb", "--out", "exported"]).success();
    for (folder, file) in event_files(&tmp.path().join("logs")) {
        let exported = &event_files(&tmp.path().join("exported"))[&folder];
        assert_eq!(read_events(&file), read_events(exported), "{}", folder.display());
    }

    // Retrained with --force: the run's old event file is replaced, not added to.
    run(tmp.path(), &["sweep", "tb.toml", "--no-baselines", "--progress", "none", "--force", "--tensorboard", "logs"])
        .success();
    assert_events_match(&sweep, &tmp.path().join("logs"));
}

#[test]
fn a_sweep_with_an_unwritable_log_directory_fails_before_training() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("tb.toml"), sweep_text("tb", 1, "")).unwrap();
    std::fs::write(tmp.path().join("a-file"), "").unwrap();
    run(tmp.path(), &["sweep", "tb.toml", "--no-baselines", "--progress", "none", "--tensorboard", "a-file/logs"])
        .failure()
        .stderr_has("--tensorboard a-file/logs: cannot create the log directory");
    assert!(run_dirs(&tmp.path().join("results/tb")).is_empty(), "nothing was trained");
}
