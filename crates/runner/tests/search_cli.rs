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
    sweep_text(
        name,
        2,
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
    let mut shards: Vec<Background> = (0..3)
        .map(|i| {
            let shard = format!("{i}/3");
            let args =
                ["sweep", "s.toml", "--results-dir", "three", "--shard", &shard, "--progress", "plain", "--jobs", "1"];
            spawn(tmp.path(), &args, &tmp.path().join(format!("shard{i}.log")))
        })
        .collect();
    for (i, s) in shards.iter_mut().enumerate() {
        let out = s.wait();
        assert_eq!(out.code, 0, "shard {i}:\n{}", out.stderr);
    }
    assert_eq!(trials(&tmp.path().join("three/shards")), trials(&tmp.path().join("one/shards")));
    run(tmp.path(), &["compare", "one/shards", "three/shards"]).success().stdout_has("20 runs identical (bit-exact");
    // A shard alone cannot finish a round: it waits, says so, and gives up after --search-wait.
    let alone = run(
        tmp.path(),
        &["sweep", "s.toml", "--results-dir", "alone", "--shard", "0/3", "--search-wait", "1", "--progress", "plain"],
    );
    alone.failure().stderr_has("round 1: waiting for").stderr_has("did not end");
}
