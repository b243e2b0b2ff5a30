//! `runner sweep` of a `[search]` sweep file, as a user runs it: the trials and their metrics are
//! a function of the sweep file alone — two fresh searches, a search killed mid-round and rerun,
//! and a search split over three shards that wait for each other all give the same runs, bit for
//! bit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test may stop at a broken assumption

mod common;

use common::*;
use std::path::Path;
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(120);

/// A TPE search of `trials` tiny runs (two seeds each), 4 trials a round, 2 random ones first.
fn search_text(name: &str, trials: usize, extra: &str) -> String {
    search_text_of(name, trials, 2, extra)
}

/// [`search_text`] with successive halving: 4 epochs, rungs after epochs 1 and 3 (η = 3).
fn pruned_text(name: &str, trials: usize) -> String {
    search_text_of(name, trials, 4, "[search.prune]\nmin_epochs = 1\neta = 3\n")
}

fn search_text_of(name: &str, trials: usize, epochs: usize, extra: &str) -> String {
    sweep_text(
        name,
        epochs,
        &format!(
            r#"[sweep]
"train.seed" = [0, 1]
[search]
method = "tpe"
trials = {trials}
seed = 7
metric = "test_bce"
batch = 4
startup = 2
[search.space]
"train.learning_rate" = {{ log_uniform = [1e-4, 3e-2] }}
"model.latent_dim" = {{ int = [2, 12], log = true }}
"train.optimizer" = {{ choice = ["adam", "sgd"] }}
{extra}"#
        ),
    )
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("search-cli-").tempdir().unwrap()
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// (trial, label) of every run of a finished search, by run id.
fn trials(sweep_dir: &Path) -> Vec<(String, u64, String)> {
    run_dirs(sweep_dir)
        .into_iter()
        .map(|id| {
            let config = std::fs::read_to_string(sweep_dir.join("runs").join(&id).join("config.toml")).unwrap();
            let t: toml::Table = toml::from_str(&config).unwrap();
            (id, t["trial"].as_integer().unwrap() as u64, t["label"].as_str().unwrap().to_string())
        })
        .collect()
}

/// Runs `file` as three shards at once into `results_dir`, one job each, and waits for all three
/// to succeed: each trains its share of a round (or rung) and waits for the others.
fn run_three_shards(dir: &Path, file: &str, results_dir: &str) {
    let mut shards: Vec<Background> = (0..3)
        .map(|i| {
            let shard = format!("{i}/3");
            let args =
                ["sweep", file, "--results-dir", results_dir, "--shard", &shard, "--progress", "plain", "--jobs", "1"];
            spawn(dir, &args, &dir.join(format!("shard{i}.log")))
        })
        .collect();
    for (i, s) in shards.iter_mut().enumerate() {
        let out = s.wait();
        assert_eq!(out.code, 0, "shard {i}:\n{}", out.stderr);
    }
}

#[test]
fn a_dry_run_shows_the_first_round_and_says_the_rest_depends_on_results() {
    let tmp = tempdir();
    write(tmp.path(), "s.toml", &search_text("dry", 10, ""));
    let out = run(tmp.path(), &["sweep", "s.toml", "--dry-run"]);
    out.success()
        .stdout_has("round 1 of 3: 4 trials; the trials of later rounds depend on the results of earlier ones");
    let rows = plan_rows(&out.stdout);
    assert_eq!(rows.len(), 8, "4 trials × 2 seeds");
    assert!(rows[0].label.starts_with("default trial=0 learning_rate=") && rows[7].label.contains("trial=3"));
    assert!(!tmp.path().join("results").exists(), "a dry run writes nothing");
}

#[test]
fn two_fresh_searches_and_jobs_1_or_2_give_the_same_trials_and_metrics() {
    let tmp = tempdir();
    write(tmp.path(), "s.toml", &search_text("twice", 10, ""));
    let out = run(tmp.path(), &["sweep", "s.toml", "--results-dir", "a", "--jobs", "2", "--threads", "2"]);
    out.success().stderr_has("20 runs: 20 completed");
    run(tmp.path(), &["sweep", "s.toml", "--results-dir", "b", "--jobs", "1"]).success();
    assert_eq!(trials(&tmp.path().join("a/twice")), trials(&tmp.path().join("b/twice")));
    run(tmp.path(), &["compare", "a/twice", "b/twice"]).success().stdout_has("20 runs identical (bit-exact");
    // The later rounds used the earlier ones' results: TPE trials differ from random draws, and
    // the search recorded its settings for reports.
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("a/twice/search.json")).unwrap()).unwrap();
    assert_eq!(record["method"], "tpe");
    assert_eq!(record["space"][0]["key"], "train.learning_rate");
    assert_eq!(record["space"][0]["log"], true);
    assert_eq!(record["space"][2]["choices"][1], "sgd");
    let runs = Csv::read(&tmp.path().join("a/twice/runs.csv"));
    let mut trial_column = runs.column("trial");
    trial_column.sort_by_key(|t| t.parse::<u64>().unwrap());
    assert_eq!(trial_column.first().map(String::as_str), Some("0"));
    assert_eq!(trial_column.last().map(String::as_str), Some("9"));
}

#[test]
fn a_search_killed_mid_round_and_rerun_ends_as_a_fresh_one() {
    let tmp = tempdir();
    write(tmp.path(), "s.toml", &search_text("killed", 12, ""));
    run(tmp.path(), &["sweep", "s.toml", "--results-dir", "fresh", "--progress", "none"]).success();

    let sweep_dir = tmp.path().join("cut/killed");
    let args = ["sweep", "s.toml", "--results-dir", "cut", "--progress", "none", "--jobs", "1"];
    let mut first = spawn(tmp.path(), &args, &tmp.path().join("first.log"));
    // Killed in the second round: some of its runs done, one part-way.
    wait_for(PATIENCE, "the second round part-way", || {
        assert!(first.is_running(), "the search ended before it could be killed:\n{}", first.log());
        let done =
            run_dirs(&sweep_dir).iter().filter(|id| status(&sweep_dir, id).as_deref() == Some("completed")).count();
        done > 8 && done < 16
    });
    first.kill();
    run(tmp.path(), &["sweep", "s.toml", "--results-dir", "cut", "--progress", "none"]).success();
    assert_eq!(trials(&sweep_dir), trials(&tmp.path().join("fresh/killed")));
    run(tmp.path(), &["compare", "fresh/killed", "cut/killed"]).success().stdout_has("24 runs identical (bit-exact");
}

#[test]
fn three_shards_wait_for_each_other_and_find_the_trials_of_one_process() {
    let tmp = tempdir();
    write(tmp.path(), "s.toml", &search_text("shards", 10, ""));
    run(tmp.path(), &["sweep", "s.toml", "--results-dir", "one", "--progress", "none"]).success();
    run_three_shards(tmp.path(), "s.toml", "three");
    assert_eq!(trials(&tmp.path().join("three/shards")), trials(&tmp.path().join("one/shards")));
    run(tmp.path(), &["compare", "one/shards", "three/shards"]).success().stdout_has("20 runs identical (bit-exact");
    // A shard alone cannot finish a round: it waits, says so, and gives up after --search-wait.
    let alone = run(
        tmp.path(),
        &["sweep", "s.toml", "--results-dir", "alone", "--shard", "0/3", "--search-wait", "1", "--progress", "plain"],
    );
    alone.failure().stderr_has("round 1: waiting for").stderr_has("did not get there");
}

/// (status, epochs completed) of every run that has a record, by run id (a run being started
/// may have a folder and no record yet).
fn statuses(sweep_dir: &Path) -> Vec<(String, String, u64)> {
    run_dirs(sweep_dir)
        .into_iter()
        .filter_map(|id| {
            let text = std::fs::read_to_string(sweep_dir.join("runs").join(&id).join("run.json")).ok()?;
            let record: serde_json::Value = serde_json::from_str(&text).unwrap();
            let status = record["status"].as_str().unwrap().to_string();
            Some((id, status, record["epochs_completed"].as_u64().unwrap()))
        })
        .collect()
}

#[test]
fn successive_halving_prunes_at_the_rungs_and_promoted_trials_train_as_if_never_paused() {
    let tmp = tempdir();
    write(tmp.path(), "s.toml", &pruned_text("halving", 8));
    let out = run(
        tmp.path(),
        &["sweep", "s.toml", "--results-dir", "a", "--progress", "plain", "--jobs", "2", "--threads", "2"],
    );
    // Round 1: 4 trials at rung 1 (epoch 1) → the best 2 go on; at rung 2 (epoch 3) → 1 of 2.
    // Round 2: rung 1 compares its 4 with round 1's 4 → the best 3 of 8 go on (those of round 2
    // among them); rung 2 compares who reached it.
    out.success()
        .stderr_has("round 1, rung 1 (epoch 1): 4 trials compared, the best 2 go on")
        .stderr_has("round 1, rung 2 (epoch 3): 2 trials compared, the best 1 go on")
        .stderr_has("round 2, rung 1 (epoch 1): 8 trials compared, the best 3 go on")
        .stderr_has("epochs trained of the 64 that training every trial fully takes")
        .stderr_has("pruned, 0 diverged, 0 failed");
    let sweep_dir = tmp.path().join("a/halving");
    let runs = statuses(&sweep_dir);
    assert_eq!(runs.len(), 16, "8 trials × 2 seeds");
    for (id, status, epochs) in &runs {
        match status.as_str() {
            "completed" => assert_eq!(*epochs, 4, "{id}"),
            // Pruned at a rung: its rows up to there are kept, its state file is gone.
            "pruned" => {
                assert!(*epochs == 1 || *epochs == 3, "{id}: pruned after epoch {epochs}");
                let rows = Csv::read(&sweep_dir.join("runs").join(id).join("metrics.csv"));
                assert_eq!(rows.column("epoch").len() as u64, *epochs, "{id}");
                let record = std::fs::read_to_string(sweep_dir.join("runs").join(id).join("run.json")).unwrap();
                assert!(record.contains("pruned after epoch"), "{id}: {record}");
            }
            other => panic!("{id}: {other}"),
        }
        assert!(!sweep_dir.join("runs").join(id).join("state.safetensors").exists(), "{id}: state left behind");
    }
    let completed = runs.iter().filter(|r| r.1 == "completed").count();
    let pruned = runs.iter().filter(|r| r.1 == "pruned").count();
    assert!(completed >= 2 && pruned >= 8, "{completed} completed, {pruned} pruned");
    // Both seeds of a trial share its fate.
    let fates = trials(&sweep_dir);
    for (id, trial, _) in &fates {
        let mine = runs.iter().find(|r| &r.0 == id).unwrap();
        for (other, t, _) in &fates {
            if t == trial {
                let theirs = runs.iter().find(|r| &r.0 == other).unwrap();
                assert_eq!((&mine.1, mine.2), (&theirs.1, theirs.2), "trial {trial}");
            }
        }
    }
    // The summary and the combined table count them.
    let table = Csv::read(&sweep_dir.join("runs.csv"));
    assert_eq!(table.column("status").iter().filter(|s| *s == "pruned").count(), pruned);
    // Every promoted trial's rows are those of its configuration trained straight through (and
    // every pruned trial's, those of one trained up to its rung): `runner check` retrains each
    // run in one go and compares every metric of every epoch, bit for bit.
    run(tmp.path(), &["check", "a/halving", "--all"]).success().stdout_has("16 runs reproduced (bit-exact");
    // A second fresh search makes the same decisions.
    run(tmp.path(), &["sweep", "s.toml", "--results-dir", "b", "--progress", "none", "--jobs", "1"]).success();
    assert_eq!(statuses(&tmp.path().join("b/halving")), runs);
    run(tmp.path(), &["compare", "a/halving", "b/halving"]).success().stdout_has("16 runs identical (bit-exact");
}

#[test]
fn a_pruned_search_killed_at_any_point_and_rerun_or_split_over_shards_ends_as_one_fresh_process() {
    let tmp = tempdir();
    write(tmp.path(), "s.toml", &pruned_text("cut", 8));
    run(tmp.path(), &["sweep", "s.toml", "--results-dir", "fresh", "--progress", "none"]).success();
    let fresh = statuses(&tmp.path().join("fresh/cut"));

    // Killed while runs are paused at a rung (some promoted trials going on, maybe), then rerun.
    let sweep_dir = tmp.path().join("killed/cut");
    let args = ["sweep", "s.toml", "--results-dir", "killed", "--progress", "none", "--jobs", "1"];
    let mut first = spawn(tmp.path(), &args, &tmp.path().join("first.log"));
    wait_for(PATIENCE, "a run paused at a rung", || {
        assert!(
            first.is_running(),
            "the search ended before it could be killed:
{}",
            first.log()
        );
        let runs = statuses(&sweep_dir);
        runs.iter().filter(|r| r.1 == "pruned").count() >= 2 && runs.iter().any(|r| r.1 == "running")
    });
    first.kill();
    run(tmp.path(), &["sweep", "s.toml", "--results-dir", "killed", "--progress", "none"]).success();
    assert_eq!(statuses(&sweep_dir), fresh);
    run(tmp.path(), &["compare", "fresh/cut", "killed/cut"]).success().stdout_has("16 runs identical (bit-exact");

    // Three shards: each trains its share of a rung, waits for the others, and decides alike.
    run_three_shards(tmp.path(), "s.toml", "three");
    assert_eq!(statuses(&tmp.path().join("three/cut")), fresh);
    run(tmp.path(), &["compare", "fresh/cut", "three/cut"]).success().stdout_has("16 runs identical (bit-exact");
}

#[test]
fn a_trial_that_diverges_before_a_rung_stops_there_and_a_repeated_configuration_shares_its_runs() {
    // Two learning rates for six trials: trials repeat each other's configuration (and so their
    // run ids), and SGD at 1e30 diverges in its first epoch, before the first rung.
    let text = sweep_text(
        "div",
        4,
        r#"optimizer = "sgd"
[sweep]
"train.seed" = [0, 1]
[search]
method = "random"
trials = 6
seed = 3
metric = "test_bce"
batch = 3
[search.space]
"train.learning_rate" = { choice = [1e-3, 1e30] }
[search.prune]
min_epochs = 1
eta = 3
"#,
    );
    let tmp = tempdir();
    write(tmp.path(), "s.toml", &text);
    let out = run(tmp.path(), &["sweep", "s.toml", "--results-dir", "r", "--progress", "plain", "--jobs", "1"]);
    // A diverged run makes the sweep's exit code 1, as in a grid.
    out.failure();
    let sweep_dir = tmp.path().join("r/div");
    let runs = statuses(&sweep_dir);
    // One folder per configuration and seed: the repeats trained nothing of their own.
    assert_eq!(runs.len(), 4, "{runs:?}");
    assert!(out.stderr.matches("repeats trial").count() == 4, "{}", out.stderr);
    let rate = |id: &str| {
        let config = std::fs::read_to_string(sweep_dir.join("runs").join(id).join("config.toml")).unwrap();
        let t: toml::Table = toml::from_str(&config).unwrap();
        t["train"]["learning_rate"].as_float().unwrap()
    };
    for (id, status, epochs) in &runs {
        if rate(id) > 1.0 {
            // Not ranked at the rung and not recorded as pruned: it never reached it.
            assert_eq!((status.as_str(), *epochs), ("diverged", 0), "{id}");
        } else {
            // The healthy configuration is alone at every rung, so it goes on to the end.
            assert_eq!((status.as_str(), *epochs), ("completed", 4), "{id}");
            assert!(!sweep_dir.join("runs").join(id).join("state.safetensors").exists());
        }
    }
    out.stderr_has("round 1, rung 1 (epoch 1): 1 trials compared, the best 1 go on");
    // A rerun changes nothing.
    let again = run(tmp.path(), &["sweep", "s.toml", "--results-dir", "r", "--progress", "none"]);
    again.failure();
    assert_eq!(statuses(&sweep_dir), runs);
}
