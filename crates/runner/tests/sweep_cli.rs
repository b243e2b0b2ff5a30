//! `runner sweep`, `runner check` and `runner compare` from the command line, as a user relies on
//! them: what a dry run plans, that a bad sweep file is refused with a message that says where and
//! writes nothing, that a sweep resumes after it completed, was interrupted or was killed without
//! retraining finished runs or duplicating rows, that a diverging or failing run is recorded while
//! the others go on, that a busy results directory is refused, that shards partition the runs,
//! that the Parquet tables hold what the CSV tables hold, that recorded metrics reproduce, and that
//! the linear probe, its stored baselines and the latent-space pictures reach the files.
//!
//! Every sweep here trains a tiny dense model on synthetic data (well under a second a run).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test may stop at a broken assumption

mod common;

use common::*;
use polars::prelude::*;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

/// Long enough for any start-up or run in these tests, even on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(120);

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

fn seeds(n: usize) -> String {
    format!("[sweep]\n\"train.seed\" = [{}]\n", list(0..n))
}

// 1. Expansion ------------------------------------------------------------------------------------

#[test]
fn dry_run_prints_every_run_and_the_count_with_stable_ids_and_writes_nothing() {
    let tmp = tempdir();
    let text = sweep_text(
        "grid",
        1,
        r#"
[sweep]
"model.latent_dim" = [4, 8]

[[sweep.zip]]
"train.seed" = [0, 1, 2]
"train.learning_rate" = [1e-3, 2e-3, 3e-3]

[[variant]]
name = "ae"

[[variant]]
name = "dae"
noise = { kind = "masking", level = 0.25 }
"#,
    );
    write(tmp.path(), "grid.toml", &text);

    let first = run(tmp.path(), &["sweep", "grid.toml", "--dry-run"]);
    first.success();
    let rows = plan_rows(&first.stdout);
    // 2 variants × 2 latent sizes × 3 zipped (seed, learning rate) pairs.
    assert_eq!(rows.len(), 12, "{}", first.stdout);
    first.stdout_has("12 runs (varying: variant, model.latent_dim, train.seed, train.learning_rate)");
    assert_eq!(rows.iter().map(|r| r.index).collect::<Vec<_>>(), (0..12).collect::<Vec<_>>());
    assert!(rows.iter().all(|r| r.status == "new"), "{rows:?}");
    assert!(rows.iter().all(|r| r.id.len() == 12 && r.id.chars().all(|c| c.is_ascii_hexdigit())), "{rows:?}");
    let ids: BTreeSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), 12, "ids are unique");
    // Variants outermost, the first axis slowest, zipped lists together.
    assert_eq!(rows[0].label, "ae latent_dim=4 seed=0 learning_rate=0.001");
    assert_eq!(rows[1].label, "ae latent_dim=4 seed=1 learning_rate=0.002");
    assert_eq!(rows[11].label, "dae latent_dim=8 seed=2 learning_rate=0.003");

    // The same file plans the same runs under the same ids.
    let second = run(tmp.path(), &["sweep", "grid.toml", "--dry-run"]);
    second.success();
    assert_eq!(second.stdout, first.stdout);

    // The ids follow the configuration: another epoch count is another set of runs.
    let other = planned_ids(tmp.path(), "grid.toml", &["--set", "train.epochs=2"]);
    assert_eq!(other.len(), 12);
    assert!(other.iter().all(|id| !ids.contains(id.as_str())), "{other:?}");

    // A shard plans its part of the same runs.
    let shard = run(tmp.path(), &["sweep", "grid.toml", "--dry-run", "--shard", "1/3"]);
    shard.success().stdout_has("4 of 12 runs in shard 1/3");
    let part = plan_rows(&shard.stdout);
    assert_eq!(part, [&rows[1], &rows[4], &rows[7], &rows[10]].map(Clone::clone));

    // Nothing was written: no results/ in the working directory, nothing else either.
    assert!(!tmp.path().join("results").exists());
    assert_eq!(files(tmp.path()), [Path::new("grid.toml")]);
}

// 2. Validation -----------------------------------------------------------------------------------

/// A sweep that must be refused: exit status 1, every `expect` in the message, nothing written.
struct Refused {
    what: &'static str,
    /// The sweep file (`sweep.toml`); none to leave it missing.
    text: Option<String>,
    args: Vec<String>,
    expect: Vec<String>,
}

fn refused(what: &'static str, text: &str, expect: &[&str]) -> Refused {
    Refused {
        what,
        text: Some(text.to_string()),
        args: Vec::new(),
        expect: expect.iter().map(|s| s.to_string()).collect(),
    }
}

/// `sweep.toml:LINE:` for the line of `text` holding `needle`.
fn at(text: &str, needle: &str) -> String {
    format!("sweep.toml:{}:", line_of(text, needle))
}

#[test]
fn invalid_sweeps_are_refused_naming_file_key_and_line_and_write_nothing() {
    let base = sweep_text("bad", 1, "");
    let with = |extra: &str| sweep_text("bad", 1, extra);
    let mut cases = Vec::new();

    // Unknown keys: in a section, at the top, as a sweep path.
    let t = edit(&base, "seed = 0", "seed = 0\nepoch = 3");
    cases.push(refused(
        "unknown key in [train]",
        &t,
        &[&at(&t, "epoch = 3"), "`train.epoch`", "unknown field `epoch`"],
    ));
    let t = edit(&base, "description", "colour = \"red\"\ndescription");
    cases.push(refused("unknown top-level key", &t, &[&at(&t, "colour"), "`colour`", "unknown field `colour`"]));
    let t = with("[sweep]\n\"model.width\" = [8, 16]\n");
    cases.push(refused(
        "unknown sweep key",
        &t,
        &[&at(&t, "model.width"), "`sweep.\"model.width\"`", "unknown field `width`"],
    ));

    // Wrong types.
    let t = edit(&base, "latent_dim = 4", "latent_dim = \"four\"");
    cases.push(refused("wrong type", &t, &[&at(&t, "\"four\""), "`model.latent_dim`", "invalid type"]));
    let t = with("[sweep]\n\"train.epochs\" = [1, \"two\"]\n");
    cases.push(refused(
        "wrong type in a list",
        &t,
        &[&at(&t, "\"two\""), "`sweep.\"train.epochs\"`", "value #2 (two)"],
    ));
    let t = with("[sweep]\n\"train.seed\" = 3\n");
    cases.push(refused(
        "axis not a list",
        &t,
        &[&at(&t, "\"train.seed\" = 3"), "`sweep.\"train.seed\"`", "must be a list of values,"],
    ));

    // Lists.
    let t = with("[sweep]\n\"train.seed\" = []\n");
    cases.push(refused("empty list", &t, &[&at(&t, "= []"), "`sweep.\"train.seed\"`", "empty list"]));
    let t = with("[[sweep.zip]]\n\"train.seed\" = [1, 2]\n\"train.learning_rate\" = [1e-3]\n");
    cases.push(refused(
        "zip lists of unequal length",
        &t,
        &[&at(&t, "\"train.seed\""), "`[[sweep.zip]] #1`", "equal lengths", "\"train.seed\" has 2", "has 1"],
    ));

    // Sweep paths that name no key.
    let t = with("[sweep]\n\"optimizer.lr\" = [0.1]\n");
    cases.push(refused("no such section", &t, &[&at(&t, "optimizer.lr"), "`sweep.\"optimizer.lr\"`", "names no key"]));
    let t = with("[sweep]\n\"seed\" = [1]\n");
    cases.push(refused("not a key path", &t, &[&at(&t, "\"seed\""), "`sweep.\"seed\"`", "section.key"]));

    // Out-of-range values, in the base sections and on an axis.
    let t = edit(&base, "latent_dim = 4", "latent_dim = 0");
    cases.push(refused("latent_dim 0", &t, &[&at(&t, "latent_dim = 0"), "`model.latent_dim`", "≥ 1"]));
    let t = with("[sweep]\n\"model.latent_dim\" = [4, 0]\n");
    cases.push(refused("latent_dim 0 on an axis", &t, &[&at(&t, "[4, 0]"), "model.latent_dim", "value #2 (0)", "≥ 1"]));
    let t = edit(&base, "learning_rate = 1e-3", "learning_rate = 0.0");
    cases.push(refused("learning rate 0", &t, &[&at(&t, "learning_rate"), "`train.learning_rate`", "> 0"]));
    let t = with("[sweep]\n\"train.learning_rate\" = [1e-3, -1e-3]\n");
    cases.push(refused("negative learning rate", &t, &[&at(&t, "-1e-3"), "train.learning_rate", "value #2", "> 0"]));
    let t = edit(&base, "batch_size = 16", "batch_size = 0");
    cases.push(refused("batch_size 0", &t, &[&at(&t, "batch_size"), "`train.batch_size`", "≥ 1"]));
    let t = with("[noise]\nkind = \"masking\"\nlevel = 1.5\n");
    cases.push(refused("noise level", &t, &[&at(&t, "level = 1.5"), "`noise.level`", "out of range for `masking`"]));
    let t = with("[[variant]]\nname = \"noisy\"\nnoise = { kind = \"gaussian\", level = 9.0 }\n");
    cases.push(refused(
        "noise level of a variant",
        &t,
        &[&at(&t, "level = 9.0"), "`noise.level`", "out of range for `gaussian`", "variant \"noisy\""],
    ));

    // Unknown names.
    let t = edit(&base, "dataset = \"synthetic\"", "dataset = \"cifar\"");
    cases.push(refused(
        "unknown dataset",
        &t,
        &[&at(&t, "cifar"), "`data.dataset`", "unknown dataset `cifar`", "fashion-mnist"],
    ));
    let t = edit(&base, "architecture = \"dense\"", "architecture = \"rnn\"");
    cases.push(refused(
        "unknown architecture",
        &t,
        &[&at(&t, "rnn"), "`model.architecture`", "`rnn`", "`conv` or `dense`"],
    ));

    // The command line.
    for (arg, want) in [
        ("train.epochs=0", "≥ 1"),
        ("model.width=3", "unknown field `width`"),
        ("train.epochs", "expected KEY=VALUE"),
        ("optim.lr=1", "names no key"),
    ] {
        let mut c = refused("bad --set", &base, &[&format!("--set {arg:?}: "), want]);
        c.args = vec!["--set".into(), arg.into()];
        cases.push(c);
    }
    let mut c = refused("--threads 0", &base, &["--threads must be at least 1"]);
    c.args = vec!["--threads".into(), "0".into()];
    cases.push(c);

    // The file itself.
    let t = edit(&base, "[train]", "[train");
    cases.push(refused("syntax error", &t, &[&at(&t, "[train")]));
    cases.push(Refused {
        what: "missing sweep file",
        text: None,
        args: Vec::new(),
        expect: vec!["cannot read sweep file sweep.toml: No such file or directory".into()],
    });

    // Data that is not there: the sweep stops before anything is written.
    let t = edit(&base, "dataset = \"synthetic\"", "dataset = \"mnist\"");
    let mut c = refused(
        "missing dataset",
        &t,
        &["missing file no-data/mnist/train-images-idx3-ubyte.gz", "scripts/fetch-data.sh"],
    );
    c.args = vec!["--data-dir".into(), "no-data".into()];
    cases.push(c);

    for case in cases {
        let tmp = tempdir();
        if let Some(text) = &case.text {
            write(tmp.path(), "sweep.toml", text);
        }
        let mut args = vec!["sweep".to_string(), "sweep.toml".to_string()];
        args.extend(case.args.iter().cloned());
        let out = run(tmp.path(), &args);
        assert_eq!(out.code, 1, "{}: expected exit status 1\n{}", case.what, out.stderr);
        for want in &case.expect {
            assert!(out.stderr.contains(want.as_str()), "{}: stderr lacks {want:?}:\n{}", case.what, out.stderr);
        }
        assert!(out.stderr.starts_with("error: ") && out.stdout.is_empty(), "{}: {out:?}", case.what);
        assert!(out.stderr.matches("No such file").count() <= 1, "{}: a cause shown twice:\n{}", case.what, out.stderr);
        let expected: Vec<&Path> = if case.text.is_some() { vec![Path::new("sweep.toml")] } else { Vec::new() };
        assert_eq!(files(tmp.path()), expected, "{}: nothing is written", case.what);
        assert!(!tmp.path().join("results").exists(), "{}: no results directory", case.what);
    }
}

/// Four IDX files of `train` + `test` images (deterministic pixels) in `dir`.
fn write_idx_dataset(dir: &Path, train: usize, test: usize, salt: u8) {
    std::fs::create_dir_all(dir).unwrap();
    let pixels = |n: usize, split: u8| -> Vec<u8> {
        let mut x: u32 = 0x1234_5678 ^ u32::from(split) ^ (u32::from(salt) << 8);
        (0..n * 784)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 24) as u8
            })
            .collect()
    };
    let labels = |n: usize| (0..n).map(|i| (i % 10) as u8).collect::<Vec<_>>();
    data::idx::write_images(&dir.join("train-images-idx3-ubyte.gz"), train, 28, 28, &pixels(train, 0)).unwrap();
    data::idx::write_labels(&dir.join("train-labels-idx1-ubyte.gz"), &labels(train)).unwrap();
    data::idx::write_images(&dir.join("t10k-images-idx3-ubyte.gz"), test, 28, 28, &pixels(test, 1)).unwrap();
    data::idx::write_labels(&dir.join("t10k-labels-idx1-ubyte.gz"), &labels(test)).unwrap();
}

#[test]
fn a_dataset_whose_files_are_corrupt_stops_the_sweep_before_anything_is_written() {
    let tmp = tempdir();
    let data = tmp.path().join("corrupt");
    std::fs::create_dir_all(&data).unwrap();
    for name in data::dataset::FILE_NAMES {
        std::fs::write(data.join(name), b"these bytes are not an IDX file").unwrap();
    }
    let text = edit(
        &sweep_text("corrupt", 1, ""),
        "dataset = \"synthetic\"",
        &format!("dataset = \"idx:{}\"", data.display()),
    );
    write(tmp.path(), "sweep.toml", &text);
    let before = files(tmp.path());
    run(tmp.path(), &["sweep", "sweep.toml"]).failure().stderr_has("train-images-idx3-ubyte.gz").stderr_has("expected");
    assert!(!tmp.path().join("results").exists());
    assert_eq!(files(tmp.path()), before);
}

// 3, 4. Resuming ----------------------------------------------------------------------------------

#[test]
fn a_completed_sweep_run_again_trains_nothing_and_changes_no_run_file() {
    let tmp = tempdir();
    write(tmp.path(), "sweep.toml", &sweep_text("done", 2, &seeds(3)));
    let sweep_dir = tmp.path().join("results/done");
    run(tmp.path(), &["sweep", "sweep.toml", "--progress", "plain"]).success().stderr_has(&summary(3, 3, 0, 0, 0));
    let ids = run_dirs(&sweep_dir);
    assert_eq!(ids.len(), 3);
    for id in &ids {
        let dir = sweep_dir.join("runs").join(id);
        for f in ["config.toml", "run.json", "metrics.csv", "model.safetensors", "reconstructions.png"] {
            assert!(dir.join(f).is_file(), "{id}/{f}");
        }
    }
    let before = snapshot(&sweep_dir.join("runs"));

    let again = run(tmp.path(), &["sweep", "sweep.toml", "--progress", "plain"]);
    again.success().stderr_has(&summary(3, 0, 3, 0, 0));
    for id in &ids {
        again.stderr_has(&format!("{id} default seed="));
        assert_eq!(again.stderr.matches(&format!("{id} default")).count(), 1, "{}", again.stderr);
    }
    assert_eq!(again.stderr.matches("already completed, skipped").count(), 3, "{}", again.stderr);
    assert!(!again.stderr.contains("epoch 1/2"), "nothing trained:\n{}", again.stderr);
    assert!(snapshot(&sweep_dir.join("runs")) == before, "run folders unchanged, bytes and modification times");

    let plan = run(tmp.path(), &["sweep", "sweep.toml", "--dry-run"]);
    assert!(plan_rows(&plan.success().stdout).iter().all(|r| r.status == "completed"), "{}", plan.stdout);
}

#[test]
fn an_interrupted_run_is_retrained_from_scratch_without_duplicate_or_lost_rows() {
    let tmp = tempdir();
    let epochs = 3;
    write(tmp.path(), "sweep.toml", &sweep_text("cut", epochs, &seeds(3)));
    let sweep_dir = tmp.path().join("results/cut");
    run(tmp.path(), &["sweep", "sweep.toml"]).success();
    let ids = run_dirs(&sweep_dir);
    assert_eq!(ids.len(), 3);
    let victim = &ids[1];
    let victim_dir = sweep_dir.join("runs").join(victim);
    let recorded = Csv::read(&victim_dir.join("metrics.csv"));
    assert_eq!(recorded.rows.len(), epochs);
    let others = |s: &Path| -> Vec<_> {
        let all = snapshot(&s.join("runs"));
        all.into_iter().filter(|(p, _)| !p.starts_with(victim)).collect()
    };
    let others_before = others(&sweep_dir);

    // As a crash in the middle of the run's first epoch line leaves it: `running`, a torn line.
    let json = victim_dir.join("run.json");
    let text = std::fs::read_to_string(&json).unwrap();
    std::fs::write(&json, edit(&text, "\"status\": \"completed\"", "\"status\": \"running\"")).unwrap();
    let metrics = std::fs::read_to_string(victim_dir.join("metrics.csv")).unwrap();
    let mut lines = metrics.lines();
    let header = lines.next().unwrap();
    let first = lines.next().unwrap();
    std::fs::write(victim_dir.join("metrics.csv"), format!("{header}\n{}", &first[..first.len() / 2])).unwrap();

    let label = run_json(&sweep_dir, victim)["label"].as_str().unwrap().to_string();
    let out = run(tmp.path(), &["sweep", "sweep.toml", "--progress", "plain"]);
    out.success().stderr_has(&summary(3, 1, 2, 0, 0));
    for e in 1..=epochs {
        out.stderr_has(&format!("{victim} {label} epoch {e}/{epochs}:"));
    }

    let record = run_json(&sweep_dir, victim);
    assert_eq!(record["status"], "completed");
    assert_eq!(record["epochs_completed"], epochs as u64);
    let retrained = Csv::read(&victim_dir.join("metrics.csv"));
    assert_eq!(retrained.rows.len(), epochs, "exactly one row per epoch");
    assert_eq!(retrained.column("epoch"), ["1", "2", "3"]);
    assert_eq!(retrained.without_timings(), recorded.without_timings(), "retraining gives the same metrics");
    assert!(others(&sweep_dir) == others_before, "the other runs were not touched");

    assert_every_epoch_once(&metric_keys(&sweep_dir.join("metrics.csv")), &ids, epochs as u64, "metrics.csv");
    let df = read_parquet(&sweep_dir.join("metrics.parquet"));
    let keys: Vec<(String, u64)> = (0..df.height())
        .map(|i| {
            let id = df.column("run_id").unwrap().str().unwrap().get(i).unwrap().to_string();
            (id, df.column("epoch").unwrap().u64().unwrap().get(i).unwrap())
        })
        .collect();
    assert_every_epoch_once(&keys, &ids, epochs as u64, "metrics.parquet");
}

// 5. A real kill ----------------------------------------------------------------------------------

#[test]
fn a_sweep_killed_mid_run_resumes_and_every_run_completes_exactly_once() {
    let tmp = tempdir();
    let (runs, epochs) = (12, 3);
    write(tmp.path(), "sweep.toml", &sweep_text("killed", epochs, &seeds(runs)));
    let sweep_dir = tmp.path().join("results/killed");

    let args = ["sweep", "sweep.toml", "--jobs", "2", "--threads", "2", "--progress", "none"];
    let mut sweep = spawn(tmp.path(), &args, &tmp.path().join("first.log"));
    let completed = |dir: &Path| -> Vec<String> {
        run_dirs(dir).into_iter().filter(|id| status(dir, id).as_deref() == Some("completed")).collect()
    };
    // Killed with two runs in flight, one of which has written some of its epoch rows (after a
    // run that completed), so that the rerun must neither keep nor duplicate those rows.
    let part_way = |dir: &Path| {
        run_dirs(dir).iter().any(|id| {
            let rows = std::fs::read_to_string(dir.join("runs").join(id).join("metrics.csv")).unwrap_or_default();
            status(dir, id).as_deref() == Some("running") && rows.matches('\n').count() >= 2
        })
    };
    let in_flight =
        |dir: &Path| run_dirs(dir).iter().filter(|id| status(dir, id).as_deref() == Some("running")).count();
    wait_for(PATIENCE, "a completed run and two in flight, one part-way", || {
        assert!(sweep.is_running(), "the sweep ended before it could be killed:\n{}", sweep.log());
        !completed(&sweep_dir).is_empty() && part_way(&sweep_dir) && in_flight(&sweep_dir) == 2
    });
    sweep.kill();

    let done = completed(&sweep_dir);
    assert!(!done.is_empty() && done.len() < runs, "killed part-way: {} of {runs} completed", done.len());
    let done_records: Vec<String> = done
        .iter()
        .map(|id| std::fs::read_to_string(sweep_dir.join("runs").join(id).join("run.json")).unwrap())
        .collect();

    let out = run(tmp.path(), &["sweep", "sweep.toml", "--progress", "none"]);
    out.success().stderr_has(&summary(runs, runs - done.len(), done.len(), 0, 0));

    let ids = run_dirs(&sweep_dir);
    assert_eq!(ids.len(), runs);
    for (id, before) in done.iter().zip(&done_records) {
        let after = std::fs::read_to_string(sweep_dir.join("runs").join(id).join("run.json")).unwrap();
        assert_eq!(&after, before, "{id} completed before the kill and was not retrained");
    }
    let table = Csv::read(&sweep_dir.join("runs.csv"));
    let mut listed = table.column("run_id");
    listed.sort();
    assert_eq!(listed, ids, "runs.csv has one row per run");
    assert!(table.column("status").iter().all(|s| s == "completed"), "{:?}", table.column("status"));
    assert!(table.column("epochs_completed").iter().all(|e| e == &epochs.to_string()));
    for id in &ids {
        assert_eq!(Csv::read(&sweep_dir.join("runs").join(id).join("metrics.csv")).rows.len(), epochs, "{id}");
    }
    let keys = metric_keys(&sweep_dir.join("metrics.csv"));
    assert_eq!(keys.len(), runs * epochs);
    assert_every_epoch_once(&keys, &ids, epochs as u64, "metrics.csv");
    assert_eq!(read_parquet(&sweep_dir.join("metrics.parquet")).height(), runs * epochs);
}

// 6. Failure isolation ----------------------------------------------------------------------------

#[test]
fn diverged_and_failed_runs_are_recorded_while_the_others_complete() {
    let tmp = tempdir();
    let text = sweep_text(
        "mixed",
        2,
        r#"[sweep]
"train.seed" = [0, 1]

[[variant]]
name = "ok"

[[variant]]
name = "boom"
train = { optimizer = "sgd", learning_rate = 1e30, momentum = 0.9 }
"#,
    );
    write(tmp.path(), "sweep.toml", &text);
    let sweep_dir = tmp.path().join("results/mixed");
    let plan = plan_rows(&run(tmp.path(), &["sweep", "sweep.toml", "--dry-run"]).success().stdout);
    let id =
        |label: &str| plan.iter().find(|p| p.label == label).unwrap_or_else(|| panic!("{label}: {plan:?}")).id.clone();
    let (ok, failing) = (id("ok seed=0"), id("ok seed=1"));
    let boom = [id("boom seed=0"), id("boom seed=1")];

    // Training itself fails for one run: its checkpoint cannot be written (a directory is in the
    // way), after every epoch trained.
    let obstacle = sweep_dir.join("runs").join(&failing).join("model.safetensors");
    std::fs::create_dir_all(&obstacle).unwrap();
    std::fs::write(obstacle.join("in-the-way"), b"").unwrap();

    let out = run(tmp.path(), &["sweep", "sweep.toml", "--progress", "plain"]);
    out.failure().stderr_has(&summary(4, 1, 0, 2, 1));
    assert_eq!(run_json(&sweep_dir, &ok)["status"], "completed");
    for b in &boom {
        let r = run_json(&sweep_dir, b);
        assert_eq!(r["status"], "diverged", "{r}");
        let reason = r["error"].as_str().unwrap();
        assert!(reason.contains("became NaN") || reason.contains("became inf"), "{reason}");
        out.stderr_has(&format!("{b} {}: diverged: {reason}", plan.iter().find(|p| &p.id == b).unwrap().label));
    }
    let r = run_json(&sweep_dir, &failing);
    assert_eq!(r["status"], "failed", "{r}");
    let error = r["error"].as_str().unwrap();
    assert!(error.contains(&failing) && error.contains("model.safetensors"), "{error}");
    out.stderr_has(&format!("{failing} ok seed=1: failed: "));

    let table = Csv::read(&sweep_dir.join("runs.csv"));
    let status_of =
        |id: &str| table.rows.iter().find(|r| r[table.col("run_id")] == id).unwrap()[table.col("status")].clone();
    assert_eq!(status_of(&ok), "completed");
    assert_eq!(status_of(&failing), "failed");
    assert!(boom.iter().all(|b| status_of(b) == "diverged"));

    // Once what broke it is gone, the failed run is retrained; diverged runs stay as they were
    // (and still make the sweep fail) until --force.
    std::fs::remove_dir_all(&obstacle).unwrap();
    let again = run(tmp.path(), &["sweep", "sweep.toml", "--progress", "plain"]);
    again.failure().stderr_has(&summary(4, 1, 1, 2, 0));
    assert_eq!(again.stderr.matches("diverged before, skipped").count(), 2, "{}", again.stderr);
    assert_eq!(run_json(&sweep_dir, &failing)["status"], "completed");
    assert!(sweep_dir.join("runs").join(&failing).join("model.safetensors").is_file());
}

// 7. The lock -------------------------------------------------------------------------------------

#[test]
fn a_sweep_into_a_busy_results_directory_is_refused_and_changes_nothing() {
    let tmp = tempdir();
    // Far longer than the test needs: it is killed once the other sweep has been refused.
    let long = sweep_text("busy", 20, &seeds(40));
    write(tmp.path(), "long.toml", &long);
    // Another file of the same name, so the same directory, with other runs.
    let other = sweep_text("busy", 1, "# another file\n[sweep]\n\"train.seed\" = [100, 101]\n");
    write(tmp.path(), "other.toml", &other);
    let other_ids = planned_ids(tmp.path(), "other.toml", &[]);
    let sweep_dir = tmp.path().join("results/busy");

    let mut first = spawn(tmp.path(), &["sweep", "long.toml", "--progress", "none"], &tmp.path().join("first.log"));
    wait_for(PATIENCE, "the first sweep to start a run", || !run_dirs(&sweep_dir).is_empty());

    let out = run(tmp.path(), &["sweep", "other.toml"]);
    out.failure()
        .stderr_has("results/busy: another `runner sweep` is using this results directory")
        .stderr_has(&format!("pid {}", first.child.id()));
    assert!(first.is_running(), "the refusal came while the first sweep held the directory");
    assert_eq!(std::fs::read_to_string(sweep_dir.join("sweep.toml")).unwrap(), long, "sweep.toml is the first's");
    let dirs = run_dirs(&sweep_dir);
    assert!(other_ids.iter().all(|id| !dirs.contains(id)), "the refused sweep started no run");
    first.kill();

    // The lock goes with the process that held it.
    run(tmp.path(), &["sweep", "other.toml"]).success().stderr_has(&summary(2, 2, 0, 0, 0));
    assert!(other_ids.iter().all(|id| status(&sweep_dir, id).as_deref() == Some("completed")));
}

#[test]
fn different_shards_run_at_the_same_time_but_a_shard_runs_only_once() {
    let tmp = tempdir();
    // Even indexes take many epochs, odd ones one: shard 0/2 is still busy when 1/2 is done.
    let n = 12;
    let epochs = list((0..n).map(|i| if i % 2 == 0 { 200 } else { 1 }));
    let text = sweep_text(
        "sharded",
        1,
        &format!("[[sweep.zip]]\n\"train.seed\" = [{}]\n\"train.epochs\" = [{epochs}]\n", list(0..n)),
    );
    write(tmp.path(), "sweep.toml", &text);
    let sweep_dir = tmp.path().join("results/sharded");
    let short = planned_ids(tmp.path(), "sweep.toml", &["--shard", "1/2"]);
    assert_eq!(short.len(), n / 2);

    let mut long = spawn(
        tmp.path(),
        &["sweep", "sweep.toml", "--shard", "0/2", "--progress", "none"],
        &tmp.path().join("shard0.log"),
    );
    wait_for(PATIENCE, "shard 0/2 to start a run", || !run_dirs(&sweep_dir).is_empty());

    run(tmp.path(), &["sweep", "sweep.toml", "--shard", "0/2"])
        .failure()
        .stderr_has("another `runner sweep` is using this results directory")
        .stderr_has("shard 0/2");
    run(tmp.path(), &["sweep", "sweep.toml"])
        .failure()
        .stderr_has("another `runner sweep` is using this results directory");
    run(tmp.path(), &["sweep", "sweep.toml", "--shard", "1/2"]).success().stderr_has(&summary(n / 2, n / 2, 0, 0, 0));
    assert!(long.is_running(), "shard 1/2 ran while shard 0/2 did:\n{}", long.log());
    long.kill();
    assert!(short.iter().all(|id| status(&sweep_dir, id).as_deref() == Some("completed")));
}

// 8. Shards ---------------------------------------------------------------------------------------

#[test]
fn shards_partition_the_runs_and_bad_shards_are_refused() {
    let tmp = tempdir();
    let runs = 7;
    write(tmp.path(), "sweep.toml", &sweep_text("parts", 1, &seeds(runs)));
    let all = planned_ids(tmp.path(), "sweep.toml", &[]);
    assert_eq!(all.len(), runs);

    for bad in ["3/3", "x", "0/0", "1"] {
        run(tmp.path(), &["sweep", "sweep.toml", "--shard", bad])
            .failure()
            .stderr_has(&format!("--shard {bad:?}: expected I/N with 0 ≤ I < N"));
    }
    assert!(!tmp.path().join("results").exists(), "a bad --shard writes nothing");

    // One after the other into one directory: each trains its own runs, none twice.
    let sweep_dir = tmp.path().join("results/parts");
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for i in 0..3 {
        let shard = format!("{i}/3");
        let mine = planned_ids(tmp.path(), "sweep.toml", &["--shard", &shard]);
        let want: Vec<String> = all.iter().skip(i).step_by(3).cloned().collect();
        assert_eq!(mine, want, "shard {shard} has the runs whose index ≡ {i} (mod 3)");
        run(tmp.path(), &["sweep", "sweep.toml", "--shard", &shard, "--progress", "none"])
            .success()
            .stderr_has(&format!("(shard {shard}): {}", summary(mine.len(), mine.len(), 0, 0, 0)));
        assert!(mine.iter().all(|id| !seen.contains(id)), "no overlap");
        seen.extend(mine);
        assert_eq!(run_dirs(&sweep_dir).into_iter().collect::<BTreeSet<_>>(), seen);
    }
    assert_eq!(seen, all.iter().cloned().collect::<BTreeSet<_>>(), "the shards make up the whole sweep");
    assert_eq!(Csv::read(&sweep_dir.join("runs.csv")).rows.len(), runs);

    // All three at once into another directory: the same runs and metrics.
    let mut shards: Vec<Background> = (0..3)
        .map(|i| {
            let shard = format!("{i}/3");
            let log = tmp.path().join(format!("shard{i}.log"));
            spawn(tmp.path(), &["sweep", "sweep.toml", "--results-dir", "together", "--shard", &shard], &log)
        })
        .collect();
    for s in &mut shards {
        s.wait().success();
    }
    let together = tmp.path().join("together/parts");
    assert_eq!(run_dirs(&together), run_dirs(&sweep_dir));
    let table = Csv::read(&together.join("runs.csv"));
    assert_eq!(table.rows.len(), runs, "the combined table has every shard's runs");
    assert_every_epoch_once(&metric_keys(&together.join("metrics.csv")), &all, 1, "metrics.csv");
    run(tmp.path(), &["compare", "results/parts", "together/parts"])
        .success()
        .stdout_has(&format!("{runs} runs identical"));
}

// 9. Parquet = CSV --------------------------------------------------------------------------------

fn read_parquet(path: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(path).unwrap()).finish().unwrap()
}

/// Every column of the Parquet file, with its values, is the CSV file's.
fn assert_same_table(csv_path: &Path, parquet_path: &Path) {
    let csv = Csv::read(csv_path);
    let df = read_parquet(parquet_path);
    let names: Vec<String> = df.get_column_names().iter().map(|n| n.to_string()).collect();
    assert_eq!(names, csv.headers, "{}: the same columns in the same order", parquet_path.display());
    assert_eq!(df.height(), csv.rows.len(), "{}", parquet_path.display());
    for name in &names {
        let column = df.column(name).unwrap();
        let text = csv.column(name);
        for (i, cell) in text.iter().enumerate() {
            let at = format!("{} row {i} column {name}", parquet_path.display());
            let matches = match column.dtype() {
                DataType::String => column.str().unwrap().get(i).unwrap_or("") == cell,
                DataType::UInt64 => column.u64().unwrap().get(i) == (!cell.is_empty()).then(|| cell.parse().unwrap()),
                DataType::Float64 => {
                    let parsed: Option<f64> = (!cell.is_empty()).then(|| cell.parse().unwrap());
                    column.f64().unwrap().get(i).map(f64::to_bits) == parsed.map(f64::to_bits)
                }
                DataType::Boolean => column.bool().unwrap().get(i) == (!cell.is_empty()).then(|| cell == "true"),
                other => panic!("{at}: unexpected type {other}"),
            };
            assert!(matches, "{at}: Parquet {:?} vs CSV {cell:?}", column.get(i));
        }
        if matches!(column.dtype(), DataType::String) {
            // An empty string and a missing value are told apart in Parquet; CSV writes both as
            // an empty cell, so a non-null empty string would be a difference.
            let strings = column.str().unwrap();
            assert!((0..strings.len()).all(|i| strings.get(i) != Some("")), "{name}: an empty string");
        }
    }
}

#[test]
fn the_parquet_tables_hold_the_same_rows_as_the_csv_tables() {
    let tmp = tempdir();
    let text = sweep_text(
        "tables",
        2,
        r#"[sweep]
"train.seed" = [0, 1]

[[variant]]
name = "ae"

[[variant]]
name = "dae"
noise = { kind = "salt_pepper", level = 0.2 }

[[variant]]
name = "boom"
train = { optimizer = "sgd", learning_rate = 1e30, momentum = 0.9 }
"#,
    );
    write(tmp.path(), "sweep.toml", &text);
    run(tmp.path(), &["sweep", "sweep.toml"]).failure().stderr_has(&summary(6, 4, 0, 2, 0));
    let sweep_dir = tmp.path().join("results/tables");
    let metrics = Csv::read(&sweep_dir.join("metrics.csv"));
    assert_eq!(metrics.rows.len(), 4 * 2, "completed runs' epochs (the diverged ones had none)");
    assert!(metrics.column("noisy_test_bce").iter().any(String::is_empty), "plain AE rows have no noisy metrics");
    assert!(metrics.column("noisy_test_bce").iter().any(|v| !v.is_empty()), "DAE rows have them");
    assert_same_table(&sweep_dir.join("metrics.csv"), &sweep_dir.join("metrics.parquet"));
    let runs = Csv::read(&sweep_dir.join("runs.csv"));
    assert!(
        runs.column("error").iter().any(|e| e.contains(", batch")),
        "an error with a comma: {:?}",
        runs.column("error")
    );
    assert_same_table(&sweep_dir.join("runs.csv"), &sweep_dir.join("runs.parquet"));
}

// 10. check and compare ---------------------------------------------------------------------------

#[test]
fn check_retrains_and_compares_every_metric_and_names_what_differs() {
    let tmp = tempdir();
    write(tmp.path(), "sweep.toml", &sweep_text("repro", 2, &seeds(2)));
    run(tmp.path(), &["sweep", "sweep.toml", "--progress", "none"]).success();
    let sweep_dir = tmp.path().join("results/repro");
    let ids = run_dirs(&sweep_dir);

    run(tmp.path(), &["check", "results/repro"])
        .success()
        .stdout_has("1 runs reproduced (bit-exact, every metric of every epoch)")
        .stderr_has(&format!("checking {}", ids[0]));
    run(tmp.path(), &["check", "results/repro", "--all"]).success().stdout_has("2 runs reproduced (bit-exact");

    // The first run by id (the one `check` takes) recorded a slightly different test MSE.
    let (old, new) = tamper(&sweep_dir.join("runs").join(&ids[0]), 1, "test_mse", 1e-6);
    let out = run(tmp.path(), &["check", "results/repro"]);
    out.failure().stdout_has("1 values in 1 of 1 runs differ beyond the tolerance");
    let line = out.stdout.lines().find(|l| l.starts_with(ids[0].as_str())).unwrap_or_else(|| panic!("{}", out.stdout));
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&cells[..5], [ids[0].as_str(), "2", "test_mse", &new.to_string(), &old.to_string()], "{line}");
    run(tmp.path(), &["check", "results/repro", "--tolerance", "1e-5"])
        .success()
        .stdout_has("1 runs reproduced (within 1e-5");
    run(tmp.path(), &["check", "results/repro", "--tolerance", "1e-7"]).failure();
    run(tmp.path(), &["check", "results/repro", "--tolerance=-1"])
        .failure()
        .stderr_has("--tolerance must be a number ≥ 0");

    run(tmp.path(), &["check", "results/nope"])
        .failure()
        .stderr_has("results/nope: not a sweep's results directory (no runs/ inside)");
}

#[test]
fn check_says_when_the_data_a_run_was_trained_on_is_missing_or_changed() {
    let tmp = tempdir();
    let data = tmp.path().join("my-data");
    write_idx_dataset(&data, 64, 32, 0);
    let text =
        edit(&sweep_text("idx", 1, ""), "dataset = \"synthetic\"", &format!("dataset = \"idx:{}\"", data.display()));
    write(tmp.path(), "sweep.toml", &text);
    run(tmp.path(), &["sweep", "sweep.toml", "--progress", "none"]).success().stderr_has(&summary(1, 1, 0, 0, 0));
    let id = run_dirs(&tmp.path().join("results/idx")).remove(0);
    run(tmp.path(), &["check", "results/idx"]).success().stdout_has("1 runs reproduced");

    std::fs::rename(&data, tmp.path().join("moved")).unwrap();
    run(tmp.path(), &["check", "results/idx"]).failure().stderr_has(&format!(
        "run {id}: loading its dataset: missing file {}",
        data.join("train-images-idx3-ubyte.gz").display()
    ));

    write_idx_dataset(&data, 64, 32, 1);
    run(tmp.path(), &["check", "results/idx"])
        .failure()
        .stderr_has(&format!("run {id}: dataset `idx:{}`", data.display()))
        .stderr_has("is not the data the run was recorded with");
}

#[test]
fn compare_passes_for_identical_sweeps_and_names_a_tampered_value() {
    let tmp = tempdir();
    write(tmp.path(), "sweep.toml", &sweep_text("twice", 2, &seeds(2)));
    for dir in ["a", "b"] {
        run(tmp.path(), &["sweep", "sweep.toml", "--results-dir", dir, "--progress", "none"]).success();
    }
    run(tmp.path(), &["compare", "a/twice", "b/twice"]).success().stdout_has("2 runs identical (bit-exact");

    let ids = run_dirs(&tmp.path().join("b/twice"));
    let (old, new) = tamper(&tmp.path().join("b/twice/runs").join(&ids[1]), 0, "test_bce", 1e-9);
    let out = run(tmp.path(), &["compare", "a/twice", "b/twice"]);
    out.failure().stdout_has("1 values in 1 of 2 runs differ beyond the tolerance");
    let line = out.stdout.lines().find(|l| l.starts_with(ids[1].as_str())).unwrap_or_else(|| panic!("{}", out.stdout));
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&cells[..5], [ids[1].as_str(), "1", "test_bce", &old.to_string(), &new.to_string()], "{line}");
    run(tmp.path(), &["compare", "a/twice", "b/twice", "--tolerance", "1e-8"]).success();

    // A run only one side has is a difference too.
    std::fs::remove_dir_all(tmp.path().join("b/twice/runs").join(&ids[0])).unwrap();
    run(tmp.path(), &["compare", "a/twice", "b/twice", "--tolerance", "1e-8"]).failure().stdout_has(&ids[0]);
    run(tmp.path(), &["compare", "a/twice", "nope"]).failure().stderr_has("nope: not a sweep's results directory");
}

// 11. Threads -------------------------------------------------------------------------------------

#[test]
fn the_thread_count_does_not_change_the_metrics() {
    let tmp = tempdir();
    let text = edit(
        &edit(&sweep_text("threads", 2, &seeds(2)), "hidden = [16]", "hidden = [64]"),
        "batch_size = 16",
        "batch_size = 32",
    );
    write(tmp.path(), "sweep.toml", &text);
    for n in ["1", "2"] {
        let dir = format!("t{n}");
        run(
            tmp.path(),
            &["sweep", "sweep.toml", "--threads", n, "--jobs", "1", "--results-dir", &dir, "--progress", "none"],
        )
        .success();
    }
    for id in run_dirs(&tmp.path().join("t1/threads")) {
        assert_eq!(run_json(&tmp.path().join("t1/threads"), &id)["provenance"]["threads"], 1);
        assert_eq!(run_json(&tmp.path().join("t2/threads"), &id)["provenance"]["threads"], 2);
    }
    run(tmp.path(), &["compare", "t1/threads", "t2/threads"]).success().stdout_has("2 runs identical (bit-exact");
}

#[test]
fn runs_trained_at_once_give_the_metrics_of_runs_trained_one_by_one() {
    let tmp = tempdir();
    write(tmp.path(), "sweep.toml", &sweep_text("jobs", 2, &seeds(5)));
    let sweep = |jobs: &str, threads: &str, dir: &str| {
        let args = ["sweep", "sweep.toml", "--jobs", jobs, "--threads", threads, "--results-dir", dir, "--progress"];
        run(tmp.path(), &[&args[..], &["plain"]].concat())
    };
    sweep("1", "2", "one").success().stderr_has("5 runs, 1 at a time (2 threads)");
    sweep("2", "2", "two").success().stderr_has("5 runs, 2 at a time (1+1 threads)");
    sweep("2", "3", "three").success().stderr_has("5 runs, 2 at a time (2+1 threads)");
    run(tmp.path(), &["compare", "one/jobs", "two/jobs"]).success().stdout_has("5 runs identical (bit-exact");
    run(tmp.path(), &["compare", "one/jobs", "three/jobs"]).success().stdout_has("5 runs identical (bit-exact");
    let threads: Vec<u64> = run_dirs(&tmp.path().join("three/jobs"))
        .iter()
        .map(|id| run_json(&tmp.path().join("three/jobs"), id)["provenance"]["threads"].as_u64().unwrap())
        .collect();
    assert!(threads.iter().all(|t| *t == 1 || *t == 2), "each run records its job's threads: {threads:?}");
    // Every run once in the combined table.
    assert_eq!(Csv::read(&tmp.path().join("two/jobs/runs.csv")).rows.len(), 5);
    // What cannot work is refused before anything is written.
    sweep("3", "2", "bad").failure().stderr_has("--jobs 3 exceeds the 2 threads");
    sweep("0", "2", "bad").failure().stderr_has("--jobs \"0\": expected a number ≥ 1 or `auto`");
    assert!(!tmp.path().join("bad").exists());
}

// 12. The linear probe, baselines and latent pictures ---------------------------------------------

#[test]
fn runs_are_probed_baselines_are_stored_once_and_the_report_draws_the_codes() {
    let tmp = tempdir();
    let axes = "[sweep]\n\"model.latent_dim\" = [2, 4]\n";
    write(tmp.path(), "sweep.toml", &sweep_text("probed", 2, axes));
    let sweep_dir = tmp.path().join("results/probed");
    let first = run(tmp.path(), &["sweep", "sweep.toml", "--progress", "plain"]);
    first.success().stderr_has("baseline synthetic (64 train / 32 test images): probe on the raw pixels: accuracy");
    first.stderr_has("probe on PCA-2: accuracy").stderr_has("probe on PCA-4: accuracy");

    // One file per baseline: the raw pixels once, PCA per latent size.
    let baselines = sweep_dir.join("baselines");
    let mut names: Vec<String> =
        std::fs::read_dir(&baselines).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    names.sort();
    assert_eq!(names.len(), 3, "{names:?}");
    let key = &names[0][..12];
    assert_eq!(names, [format!("{key}-pca2.json"), format!("{key}-pca4.json"), format!("{key}-pixels.json")]);
    let pca4: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(baselines.join(&names[1])).unwrap()).unwrap();
    assert_eq!(
        (pca4["kind"].as_str(), pca4["dim"].as_u64(), pca4["train_limit"].as_u64()),
        (Some("pca"), Some(4), Some(64))
    );
    assert!(pca4["explained_variance"].as_f64().is_some_and(|v| v > 0.0 && v < 1.0), "{pca4}");

    // The probe's accuracy is in the last epoch's row, in runs.csv, and each run has its codes.
    for id in run_dirs(&sweep_dir) {
        let rows = Csv::read(&sweep_dir.join("runs").join(&id).join("metrics.csv"));
        let accuracy = rows.column("probe_accuracy");
        assert!(accuracy[0].is_empty(), "no probe after epoch 1 of 2");
        let a: f64 = accuracy[1].parse().unwrap();
        // A fraction of the 32 test images.
        assert!((0.0..=1.0).contains(&a) && (a * 32.0 - (a * 32.0).round()).abs() < 1e-9, "{a}");
        let latent = std::fs::read_to_string(sweep_dir.join("runs").join(&id).join("latent.csv")).unwrap();
        assert_eq!(latent.lines().count(), 1 + 32);
    }
    let runs = Csv::read(&sweep_dir.join("runs.csv"));
    assert!(runs.column("final_probe_accuracy").iter().all(|v| v.parse::<f64>().is_ok()));

    // A second sweep (here: one more seed) reuses the stored baselines.
    let before = snapshot(&baselines);
    write(tmp.path(), "sweep.toml", &sweep_text("probed", 2, &format!("{axes}\"train.seed\" = [0, 1]\n")));
    let again = run(tmp.path(), &["sweep", "sweep.toml", "--progress", "plain"]);
    again.success().stderr_has(&summary(4, 2, 2, 0, 0));
    assert!(!again.stderr.contains("baseline"), "{}", again.stderr);
    assert!(snapshot(&baselines) == before, "baseline files unchanged");

    // The report: the probe and its PCA baseline in the table, the pictures with --plots.
    let report = run(tmp.path(), &["report", "--plots", "--format", "csv"]);
    report.success().stderr_has("probe_accuracy_vs_latent_dim.png").stderr_has("wrote 4 latent-space pictures");
    let header = report.stdout.lines().next().unwrap().to_string();
    assert!(header.contains("probe_accuracy_mean") && header.contains("pca_probe_accuracy"), "{header}");
    for id in run_dirs(&sweep_dir) {
        assert!(sweep_dir.join("runs").join(&id).join("latent.png").is_file(), "{id}");
    }

    // --no-baselines: none computed.
    write(tmp.path(), "sweep.toml", &sweep_text("bare", 1, ""));
    run(tmp.path(), &["sweep", "sweep.toml", "--no-baselines", "--progress", "plain"]).success();
    assert!(!tmp.path().join("results/bare/baselines").exists());
}

#[test]
fn a_run_another_process_is_training_is_left_to_it() {
    // `--shard 0/2` and `--shard 0/3` both own run 0; the per-run lock makes the second leave it
    // alone. Holding that lock from this test stands in for the other process.
    let tmp = tempdir();
    write(tmp.path(), "sweep.toml", &sweep_text("busy", 1, &seeds(3)));
    let ids = planned_ids(tmp.path(), "sweep.toml", &[]);
    let run_dir = tmp.path().join("results/busy/runs").join(&ids[0]);
    std::fs::create_dir_all(&run_dir).unwrap();
    let held = std::fs::File::create(run_dir.join(".lock")).unwrap();
    held.lock().unwrap();

    let out = run(tmp.path(), &["sweep", "sweep.toml", "--progress", "plain", "--no-baselines"]);
    out.success().stderr_has(&summary(3, 2, 1, 0, 0)).stderr_has("being trained by another process, skipped");
    assert!(!run_dir.join("run.json").exists(), "the held run was not touched");
    drop(held);

    let again = run(tmp.path(), &["sweep", "sweep.toml", "--progress", "plain", "--no-baselines"]);
    again.success().stderr_has(&summary(3, 1, 2, 0, 0));
    assert_eq!(status(&tmp.path().join("results/busy"), &ids[0]).as_deref(), Some("completed"));
}

#[test]
fn check_across_machines_allows_a_probe_accuracy_one_test_image_apart() {
    // An accuracy is a count of test images (32 here): a float difference far below any
    // tolerance can move one code across the probe's decision boundary on another CPU.
    let tmp = tempdir();
    write(tmp.path(), "sweep.toml", &sweep_text("counted", 1, &seeds(1)));
    run(tmp.path(), &["sweep", "sweep.toml", "--progress", "none", "--no-baselines"]).success();
    let sweep_dir = tmp.path().join("results/counted");
    let metrics = sweep_dir.join("runs").join(&run_dirs(&sweep_dir)[0]).join("metrics.csv");
    let original = Csv::read(&metrics);
    let shift = |images: f64| {
        let mut t = Csv::read(&metrics);
        let c = t.col("probe_accuracy");
        let v: f64 = original.rows[0][c].parse().unwrap();
        t.rows[0][c] = (if v > 0.5 { v - images / 32.0 } else { v + images / 32.0 }).to_string();
        t.write(&metrics);
    };
    shift(1.0);
    run(tmp.path(), &["check", "results/counted", "--tolerance", "1e-4"]).success();
    run(tmp.path(), &["check", "results/counted"]).failure().stdout_has("probe_accuracy");
    shift(2.0);
    run(tmp.path(), &["check", "results/counted", "--tolerance", "1e-4"]).failure().stdout_has("probe_accuracy");
}

// 14. Watching a sweep ----------------------------------------------------------------------------

#[test]
fn status_counts_the_runs_and_names_who_trains_the_running_ones() {
    let tmp = tempdir();
    let (runs, epochs) = (6, 40);
    write(tmp.path(), "sweep.toml", &sweep_text("watched", epochs, &seeds(runs)));
    let sweep_dir = tmp.path().join("results/watched");
    let args = ["sweep", "sweep.toml", "--jobs", "1", "--progress", "none"];
    let mut sweep = spawn(tmp.path(), &args, &tmp.path().join("sweep.log"));
    wait_for(PATIENCE, "a run in progress", || {
        run_dirs(&sweep_dir).iter().any(|id| status(&sweep_dir, id).as_deref() == Some("running"))
    });
    let out = run(tmp.path(), &["status", "results/watched"]);
    out.success().stdout_has(&format!("sweep watched: {runs} runs planned: "));
    out.stdout_has("in progress:").stdout_has(&format!("pid {}", sweep.child.id()));
    sweep.kill();
    let out = run(tmp.path(), &["status", "results/watched"]);
    out.success().stdout_has("that process is gone: rerun the sweep to retrain it");
    assert!(out.stdout.contains("pending"), "{}", out.stdout);
    run(tmp.path(), &["status", "results"]).failure().stderr_has("not a sweep's results directory");
}
