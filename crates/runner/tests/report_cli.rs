//! `runner report` from the command line: the error cases exit non-zero with a message naming
//! what was wrong and what is allowed; a sweep without completed runs is shown, then fails the
//! command when no sweep has any; `--output` writes what would have been printed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test may stop at a broken assumption

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::{Path, PathBuf};

/// The results tree committed with the report crate's tests.
fn fixture_results() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../report/tests/fixtures/results")
}

fn runner() -> Command {
    let mut cmd = Command::cargo_bin("runner").unwrap();
    // Messages must not depend on where the tests run from.
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn a_missing_directory_is_an_error() {
    runner()
        .args(["report", "no/such/results"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no/such/results: no such directory"));
}

#[test]
fn the_default_directory_is_results_and_its_absence_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    Command::cargo_bin("runner")
        .unwrap()
        .current_dir(dir.path())
        .arg("report")
        .assert()
        .failure()
        .stderr(predicate::str::contains("results: no such directory"));
}

#[test]
fn the_default_leaves_out_the_committed_references_and_writes_nothing_into_them() {
    // results/reference/<sweep> has the name of a shipped sweep: reported with the user's, the two
    // would be merged, and --html would be written into the committed folder.
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    copy_dir(&fixture_results(), &results.join("reference"));
    let cmd = |args: &[&str]| Command::cargo_bin("runner").unwrap().current_dir(dir.path()).args(args).assert();
    cmd(&["report"]).failure().stderr(predicate::str::contains(
        "no sweeps under results/ yet (run one: `runner sweep experiments/smoke.toml`); results/reference/ holds the \
         committed references",
    ));
    let before = std::fs::read_dir(results.join("reference/fixture")).unwrap().count();
    copy_dir(&fixture_results(), &results.join("mine"));
    cmd(&["report", "--html"]).success().stderr(predicate::str::contains("results/mine"));
    assert_eq!(std::fs::read_dir(results.join("reference/fixture")).unwrap().count(), before, "nothing written there");
    cmd(&["report", "results/reference"]).success();
}

#[test]
fn an_unknown_metric_is_an_error_listing_the_allowed_ones() {
    runner()
        .args(["report", "--metric", "accuracy"])
        .arg(fixture_results())
        .assert()
        .failure()
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("--metric accuracy: unknown metric"))
        .stderr(predicate::str::contains("test_bce, test_mse, test_psnr"));
}

#[test]
fn an_unknown_group_key_is_an_error_listing_the_allowed_ones() {
    runner()
        .args(["report", "--group-by", "model.width"])
        .arg(fixture_results())
        .assert()
        .failure()
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("--group-by model.width: unknown key"))
        .stderr(predicate::str::contains("latent_dim"));
}

#[test]
fn a_sweep_with_no_completed_runs_is_shown_and_fails_when_it_is_the_only_one() {
    let dir = tempfile::tempdir().unwrap();
    let run = "45edc61298b6"; // diverged in its second epoch
    copy_dir(&fixture_results().join("fixture/runs").join(run), &dir.path().join("results/broken/runs").join(run));
    runner()
        .arg("report")
        .arg(dir.path().join("results"))
        .assert()
        .failure()
        .stdout(predicate::str::contains("broken — 1 run: 0 completed, 1 diverged, 0 failed"))
        .stdout(predicate::str::contains("no completed runs"))
        .stderr(predicate::str::contains("no sweep has a completed run"));

    // Beside a sweep that has completed runs, it is reported and the command succeeds.
    copy_dir(&fixture_results().join("fixture"), &dir.path().join("results/fixture"));
    runner()
        .arg("report")
        .arg(dir.path().join("results"))
        .assert()
        .success()
        .stdout(predicate::str::contains("broken — 1 run"))
        .stdout(predicate::str::contains("fixture — AE vs DAE"));
}

#[test]
fn an_unknown_sweep_name_is_an_error() {
    runner()
        .args(["report", "--sweep", "latent_sizes"])
        .arg(fixture_results())
        .assert()
        .failure()
        .stderr(predicate::str::contains("--sweep latent_sizes: no sweep of that name; found: fixture"));
}

#[test]
fn output_writes_the_table_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.csv");
    let printed = runner().args(["report", "--format", "csv"]).arg(fixture_results()).output().unwrap();
    assert!(printed.status.success());
    runner()
        .args(["report", "--format", "csv", "--output"])
        .arg(&out)
        .arg(fixture_results())
        .assert()
        .success()
        .stdout(predicate::str::is_empty());
    assert_eq!(std::fs::read(&out).unwrap(), printed.stdout);
    assert!(String::from_utf8(printed.stdout).unwrap().starts_with("sweep,variant,latent_dim,"));
}
