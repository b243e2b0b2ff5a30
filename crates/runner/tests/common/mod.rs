//! Helpers of the `runner sweep` command-line tests: small sweep files, running the binary (and
//! keeping it from panicking), reading back what a sweep wrote with the csv and polars crates
//! rather than the results crate, and polling a sweep that runs in the background.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// A sweep file whose runs each train in well under a second even in a debug build: synthetic
/// data, 64 training and 32 test images, a dense model with one hidden layer of 16. `extra` is
/// appended after the `[train]` section (sweep axes, variants, a `[noise]` section).
pub fn sweep_text(name: &str, epochs: usize, extra: &str) -> String {
    format!(
        r#"name = "{name}"
description = "sweep CLI test"

[data]
dataset = "synthetic"
train_limit = 64
test_limit = 32

[model]
architecture = "dense"
latent_dim = 4
hidden = [16]

[train]
epochs = {epochs}
batch_size = 16
learning_rate = 1e-3
seed = 0
{extra}"#
    )
}

/// `text` with the first `from` replaced by `to` (which must be there).
pub fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} is not in the sweep text");
    text.replacen(from, to, 1)
}

/// The 1-based line of the first line of `text` that contains `needle`.
pub fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle:?} is not in the text")) + 1
}

/// `a, b, …` as TOML list items.
pub fn list(values: impl IntoIterator<Item = impl ToString>) -> String {
    values.into_iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ")
}

/// What a finished command printed and returned.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn success(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    /// Exit status 1, the failure status of every `runner` command.
    pub fn failure(&self) -> &Self {
        assert_eq!(self.code, 1, "expected exit status 1\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    pub fn stderr_has(&self, want: &str) -> &Self {
        assert!(self.stderr.contains(want), "stderr lacks {want:?}:\n{}", self.stderr);
        self
    }

    pub fn stdout_has(&self, want: &str) -> &Self {
        assert!(self.stdout.contains(want), "stdout lacks {want:?}:\n{}", self.stdout);
        self
    }
}

/// The binary, run in `dir`, with none of the environment variables it reads.
pub fn runner(dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_runner"));
    cmd.current_dir(dir).env_remove("RUNNER_DATA_DIR").env_remove("RAYON_NUM_THREADS");
    cmd
}

/// Runs `runner ARGS` in `dir` to the end. Whatever it did, it must not have panicked.
pub fn run<S: AsRef<std::ffi::OsStr>>(dir: &Path, args: &[S]) -> Out {
    let out = assert_cmd::Command::from_std(runner(dir)).args(args).output().expect("runner starts");
    let out = Out {
        code: out.status.code().expect("runner exits with a status, not a signal"),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    };
    assert!(!out.stderr.contains("panicked"), "runner panicked:\n{}", out.stderr);
    out
}

/// A `runner` in the background; killed (SIGKILL) when dropped, so a failing test leaves none.
pub struct Background {
    pub child: Child,
    pub log: PathBuf,
}

/// Starts `runner ARGS` in `dir`, its output going to `log`.
pub fn spawn(dir: &Path, args: &[&str], log: &Path) -> Background {
    let file = std::fs::File::create(log).unwrap();
    let child = runner(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(file.try_clone().unwrap()))
        .stderr(Stdio::from(file))
        .spawn()
        .expect("runner starts");
    Background { child, log: log.to_path_buf() }
}

impl Background {
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL (what `Child::kill` sends on Unix), then reaps it.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        assert!(!status.success(), "killed, not finished");
    }

    /// Waits for it to end by itself.
    pub fn wait(&mut self) -> Out {
        let status = self.child.wait().unwrap();
        let log = self.log();
        assert!(!log.contains("panicked"), "runner panicked:\n{log}");
        Out { code: status.code().expect("exits with a status"), stdout: String::new(), stderr: log }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `ready` every few milliseconds until it holds; fails the test after `timeout`.
pub fn wait_for(timeout: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < timeout, "waited {timeout:?} for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The summary line `runner sweep` ends with, from its counts.
pub fn summary(runs: usize, completed: usize, skipped: usize, diverged: usize, failed: usize) -> String {
    format!(
        "{runs} runs: {completed} completed, {skipped} skipped (already done), {diverged} diverged, {failed} failed"
    )
}

/// One row of `runner sweep --dry-run`.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub index: usize,
    pub id: String,
    pub status: String,
    pub label: String,
}

/// The run rows of a dry run's output (index, id, status, label).
pub fn plan_rows(stdout: &str) -> Vec<Planned> {
    stdout
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let index = words.next()?.parse().ok()?;
            let id = words.next().filter(|w| w.len() == 12 && w.chars().all(|c| c.is_ascii_hexdigit()))?.to_string();
            let status = words.next()?.to_string();
            let label = words.collect::<Vec<_>>().join(" ");
            Some(Planned { index, id, status, label })
        })
        .collect()
}

/// The run ids `runner sweep FILE --dry-run ARGS` plans, in index order.
pub fn planned_ids(dir: &Path, file: &str, args: &[&str]) -> Vec<String> {
    let mut all = vec!["sweep", file, "--dry-run"];
    all.extend_from_slice(args);
    let out = run(dir, &all);
    out.success();
    plan_rows(&out.stdout).into_iter().map(|p| p.id).collect()
}

/// The run folders under `<sweep_dir>/runs`, sorted.
pub fn run_dirs(sweep_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(sweep_dir.join("runs")) else { return Vec::new() };
    let mut ids: Vec<String> = entries
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    ids.sort();
    ids
}

pub fn run_json(sweep_dir: &Path, id: &str) -> serde_json::Value {
    let path = sweep_dir.join("runs").join(id).join("run.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `status` of a run's `run.json`, if it has one yet.
pub fn status(sweep_dir: &Path, id: &str) -> Option<String> {
    let text = std::fs::read_to_string(sweep_dir.join("runs").join(id).join("run.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["status"].as_str().map(str::to_string)
}

/// A CSV file's header and rows, as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Csv {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Csv {
    pub fn read(path: &Path) -> Self {
        let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let headers = r.headers().unwrap().iter().map(str::to_string).collect();
        let rows = r.records().map(|rec| rec.unwrap().iter().map(str::to_string).collect()).collect();
        Self { headers, rows }
    }

    pub fn write(&self, path: &Path) {
        let mut w = csv::Writer::from_path(path).unwrap();
        w.write_record(&self.headers).unwrap();
        for row in &self.rows {
            w.write_record(row).unwrap();
        }
        w.flush().unwrap();
    }

    pub fn col(&self, name: &str) -> usize {
        self.headers.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}: {:?}", self.headers))
    }

    pub fn column(&self, name: &str) -> Vec<String> {
        let i = self.col(name);
        self.rows.iter().map(|r| r[i].clone()).collect()
    }

    /// Every row with the timing columns (which differ between two trainings) blanked.
    pub fn without_timings(&self) -> Vec<Vec<String>> {
        let timing: Vec<usize> =
            ["epoch_seconds", "eval_seconds", "probe_seconds", "nll_seconds", "samples_per_second"]
                .iter()
                .filter_map(|c| self.headers.iter().position(|h| h == c))
                .collect();
        self.rows
            .iter()
            .map(|r| {
                r.iter().enumerate().map(|(i, v)| if timing.contains(&i) { String::new() } else { v.clone() }).collect()
            })
            .collect()
    }
}

/// The (run_id, epoch) of each row of a metrics CSV, in file order.
pub fn metric_keys(path: &Path) -> Vec<(String, u64)> {
    let t = Csv::read(path);
    t.column("run_id").into_iter().zip(t.column("epoch").into_iter().map(|e| e.parse().unwrap())).collect()
}

/// Asserts that `keys` hold every (run, epoch) of `ids` × 1..=epochs exactly once.
pub fn assert_every_epoch_once(keys: &[(String, u64)], ids: &[String], epochs: u64, what: &str) {
    let unique: BTreeSet<&(String, u64)> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "{what}: duplicate (run_id, epoch) rows: {keys:?}");
    let want: BTreeSet<(String, u64)> = ids.iter().flat_map(|id| (1..=epochs).map(move |e| (id.clone(), e))).collect();
    let got: BTreeSet<(String, u64)> = keys.iter().cloned().collect();
    assert_eq!(got, want, "{what}: rows lost or extra");
}

/// Every file under `dir` (relative path → bytes and modification time).
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
    files(dir)
        .into_iter()
        .map(|rel| {
            let p = dir.join(&rel);
            let bytes = std::fs::read(&p).unwrap();
            let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
            (rel, (bytes, mtime))
        })
        .collect()
}

/// Every file under `dir`, relative, sorted.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                walk(root, &e.path(), out);
            } else {
                out.push(e.path().strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A copy of a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
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

/// Multiplies the value of `column` in row `row` of a run's `metrics.csv` by `1 + relative`,
/// leaving every other byte as it was. Returns the value before and after.
pub fn tamper(run_dir: &Path, row: usize, column: &str, relative: f64) -> (f64, f64) {
    let path = run_dir.join("metrics.csv");
    let before = std::fs::read_to_string(&path).unwrap();
    let mut t = Csv::read(&path);
    let c = t.col(column);
    let old: f64 = t.rows[row][c].parse().unwrap();
    let new = old * (1.0 + relative);
    assert_ne!(old, new);
    t.rows[row][c] = new.to_string();
    t.write(&path);
    let after = std::fs::read_to_string(&path).unwrap();
    let changed: Vec<_> = before.lines().zip(after.lines()).filter(|(a, b)| a != b).collect();
    assert_eq!(changed.len(), 1, "only one line was edited");
    (old, new)
}
