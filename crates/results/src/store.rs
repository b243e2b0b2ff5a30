//! The results directory of one sweep:
//!
//! ```text
//! <results>/<sweep>/sweep.toml                 the sweep file as given
//! <results>/<sweep>/runs/<run_id>/             one run's folder (its files: `spec::layout`)
//! <results>/<sweep>/metrics.csv + .parquet     every run × epoch, rebuilt from the run folders
//! <results>/<sweep>/runs.csv + .parquet        one row per run
//! <results>/<sweep>/baselines/<key>.json       linear-probe baselines (see `baseline.rs`)
//! ```
//!
//! Crash safety: every file but a run's `metrics.csv` is replaced atomically; `metrics.csv` is
//! appended one flushed line per epoch, a torn last line is ignored when read, and a run that did
//! not finish is restarted from scratch (its folder rewritten), so rows are never duplicated. A
//! `paused` run (a search's rung) is finished for now: going on appends to its rows.

use crate::error::{write_file, ResultsError};
use crate::record::{now_rfc3339, FinalMetrics, RunRecord, RunRow};
use crate::table::{csv_line, read_csv, write_csv, write_parquet};
use spec::{layout, MetricRow, RunDir, RunFile, RunStatus};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One sweep's folder under the results directory.
#[derive(Debug, Clone)]
pub struct SweepDir {
    pub dir: PathBuf,
}

/// A run as stored: its config, its record and its epoch rows.
#[derive(Debug, Clone)]
pub struct StoredRun {
    pub dir: RunDir,
    pub file: RunFile,
    pub record: RunRecord,
    pub rows: Vec<MetricRow>,
}

/// Held while a sweep process uses the directory; released on drop (or when the process dies:
/// the OS drops the locks of a killed process).
#[derive(Debug)]
pub struct SweepLock {
    _files: Vec<File>,
}

impl SweepDir {
    pub fn new(results: &Path, sweep: &str) -> Self {
        Self { dir: results.join(sweep) }
    }

    pub fn runs_dir(&self) -> PathBuf {
        self.dir.join("runs")
    }

    pub fn run_dir(&self, run_id: &str) -> RunDir {
        RunDir::new(self.runs_dir().join(run_id))
    }

    /// Takes the directory for a sweep process. Unsharded: exclusive. Shard I of N: shared with
    /// other shards, exclusive for that shard. A second process that would overlap is refused.
    pub fn lock(&self, shard: Option<(usize, usize)>) -> Result<SweepLock, ResultsError> {
        std::fs::create_dir_all(self.runs_dir()).map_err(|e| ResultsError::io(&self.dir, e))?;
        let open = |name: &str| -> Result<File, ResultsError> {
            let p = self.dir.join(name);
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(&p)
                .map_err(|e| ResultsError::io(&p, e))
        };
        let holder = |name: &str| -> String {
            std::fs::read_to_string(self.dir.join(name))
                .ok()
                .filter(|s| !s.trim().is_empty())
                .map_or(String::new(), |s| format!(" ({})", s.trim()))
        };
        let main = open(".lock")?;
        let mut files = Vec::new();
        let busy = |name: &str| ResultsError::Locked { dir: self.dir.clone(), holder: holder(name) };
        match shard {
            None => {
                main.try_lock().map_err(|_| busy(".lock"))?;
                write_holder(&main, "sweep");
                files.push(main);
            }
            Some((i, n)) => {
                main.try_lock_shared().map_err(|_| busy(".lock"))?;
                let name = format!(".lock.shard-{i}-of-{n}");
                let f = open(&name)?;
                f.try_lock().map_err(|_| busy(&name))?;
                write_holder(&f, &format!("shard {i}/{n}"));
                files.push(main);
                files.push(f);
            }
        }
        Ok(SweepLock { _files: files })
    }

    /// Stores the sweep file as given.
    pub fn save_sweep_file(&self, text: &str) -> Result<(), ResultsError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| ResultsError::io(&self.dir, e))?;
        write_file(&self.dir.join("sweep.toml"), text.as_bytes())
    }

    /// The run's record, if it has one. An unreadable `run.json` counts as none (the run restarts).
    pub fn record(&self, run_id: &str) -> Option<RunRecord> {
        read_json(&self.run_dir(run_id).record()).ok()
    }

    /// Starts (or restarts) a run: writes its config and a `running` record, and an empty
    /// `metrics.csv` to append to.
    pub fn start_run(&self, file: &RunFile, record: RunRecord, lock: RunLock) -> Result<RunWriter, ResultsError> {
        let dir = self.run_dir(&file.run_id);
        std::fs::create_dir_all(dir.path()).map_err(|e| ResultsError::io(dir.path(), e))?;
        // Who trains it, for `runner status` (written only now: a run skipped as done keeps its
        // files as they were, the lock file too).
        write_holder(&lock._file, "training");
        for stale in layout::OUTPUTS {
            let _ = std::fs::remove_file(dir.file(stale));
        }
        write_file(&dir.config(), file.to_toml().as_bytes())?;
        write_json(&dir.record(), &record)?;
        let metrics = dir.metrics();
        write_csv::<MetricRow>(&metrics, &[])?;
        let out = OpenOptions::new().append(true).open(&metrics).map_err(|e| ResultsError::io(&metrics, e))?;
        Ok(RunWriter { dir, record, metrics, out, rows: Vec::new(), earlier_seconds: 0.0, _lock: lock })
    }

    /// The epoch a `paused` run (a search's trial at a rung) can go on from: its record's, when
    /// its rows end there and its state file is in place; `None` otherwise (it restarts).
    pub fn resumable(&self, run_id: &str) -> Option<u64> {
        let record = self.record(run_id).filter(|r| r.status == RunStatus::Paused)?;
        let rows = self.rows(run_id).ok()?;
        let whole = rows.iter().filter(|r| spec::metrics::is_final_phase(r.phase.as_deref())).count() as u64;
        (whole == record.epochs_completed && self.run_dir(run_id).state().is_file()).then_some(whole)
    }

    /// Goes on with a [`resumable`](Self::resumable) run: its rows so far are kept and the next
    /// ones appended; the record says `running` again, so a process killed now leaves a run that
    /// restarts from scratch, as any unfinished run does.
    pub fn resume_run(&self, run_id: &str, lock: RunLock) -> Result<RunWriter, ResultsError> {
        let dir = self.run_dir(run_id);
        if self.resumable(run_id).is_none() {
            return Err(ResultsError::Invalid(format!(
                "run {run_id}: not paused with its rows and state, cannot go on"
            )));
        }
        let mut record: RunRecord = read_json(&dir.record())?;
        let rows = self.rows(run_id)?;
        write_holder(&lock._file, "training");
        let earlier_seconds = record.train_seconds;
        record.status = RunStatus::Running;
        record.finished_at = None;
        write_json(&dir.record(), &record)?;
        let metrics = dir.metrics();
        let out = OpenOptions::new().append(true).open(&metrics).map_err(|e| ResultsError::io(&metrics, e))?;
        Ok(RunWriter { dir, record, metrics, out, rows, earlier_seconds, _lock: lock })
    }

    /// Records a paused run as `pruned` (a search did not promote it at its rung): its rows stay,
    /// its state file goes. `false` when it is not paused (another process pruned it already).
    pub fn mark_pruned(&self, run_id: &str, _lock: &RunLock, reason: String) -> Result<bool, ResultsError> {
        let dir = self.run_dir(run_id);
        let Some(mut record) = self.record(run_id).filter(|r| r.status == RunStatus::Paused) else {
            return Ok(false);
        };
        record.status = RunStatus::Pruned;
        record.error = Some(reason);
        record.finished_at = Some(now_rfc3339());
        // The state first: killed in between, the run is still paused, without its state, and
        // the next rung decision marks it again.
        remove_state(&dir)?;
        write_json(&dir.record(), &record)?;
        Ok(true)
    }

    /// A run's epoch rows as stored (none when it has no `metrics.csv`).
    pub fn rows(&self, run_id: &str) -> Result<Vec<MetricRow>, ResultsError> {
        let metrics = self.run_dir(run_id).metrics();
        if !metrics.is_file() {
            return Ok(Vec::new());
        }
        read_csv(&metrics)
    }

    /// Takes a run for training: an exclusive lock on `runs/<run_id>/.lock`, held until the run's
    /// writer is dropped. `None` when another process holds it: shards of different counts
    /// (`--shard 0/2` and `--shard 0/3` both own run 0) then never train one run at once.
    pub fn lock_run(&self, run_id: &str) -> Result<Option<RunLock>, ResultsError> {
        let dir = self.run_dir(run_id);
        std::fs::create_dir_all(dir.path()).map_err(|e| ResultsError::io(dir.path(), e))?;
        let path = dir.lock();
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| ResultsError::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(RunLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(ResultsError::io(&path, e)),
        }
    }

    /// Who last took a run's lock (`training, host H, pid P, since T`), without taking it: what
    /// `runner status` shows for a running run. Whether that process still lives is for the
    /// caller to judge (its host may be another machine).
    pub fn run_holder(&self, run_id: &str) -> Option<Holder> {
        let text = std::fs::read_to_string(self.run_dir(run_id).lock()).ok()?;
        Holder::parse(text.trim())
    }

    /// Every run folder with a readable record and config, sorted by run id.
    pub fn load_runs(&self) -> Result<Vec<StoredRun>, ResultsError> {
        let mut runs = Vec::new();
        let root = self.runs_dir();
        if !root.is_dir() {
            return Ok(runs);
        }
        for entry in walkdir::WalkDir::new(&root).min_depth(1).max_depth(1).sort_by_file_name() {
            let entry = entry.map_err(|e| ResultsError::Invalid(format!("{}: {e}", root.display())))?;
            let dir = RunDir::new(entry.path());
            if !dir.record().is_file() {
                continue;
            }
            let record: RunRecord = read_json(&dir.record())?;
            let file = RunFile::read(&dir.config()).map_err(|e| ResultsError::Invalid(e.to_string()))?;
            let metrics = dir.metrics();
            let rows = if metrics.is_file() { read_csv(&metrics)? } else { Vec::new() };
            runs.push(StoredRun { dir, file, record, rows });
        }
        Ok(runs)
    }

    /// Rewrites the combined `metrics.*` and `runs.*` from the run folders. Metric rows of runs
    /// that are still `running` (or were killed) are left out until they finish.
    ///
    /// Shards running at the same time rebuild one at a time (a blocking lock on `.lock.rebuild`):
    /// otherwise a rebuild that read the run folders before another shard's last run finished
    /// could rename its files into place after that shard's final rebuild, leaving that run out.
    pub fn rebuild(&self) -> Result<Vec<StoredRun>, ResultsError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| ResultsError::io(&self.dir, e))?;
        let lock_path = self.dir.join(".lock.rebuild");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| ResultsError::io(&lock_path, e))?;
        lock.lock().map_err(|e| ResultsError::io(&lock_path, e))?;
        let runs = self.load_runs()?;
        let rows: Vec<MetricRow> = runs
            .iter()
            .filter(|r| r.record.status != RunStatus::Running)
            .flat_map(|r| r.rows.iter().cloned())
            .collect();
        let run_rows: Vec<RunRow> = runs.iter().map(|r| RunRow::new(&r.file, &r.record)).collect();
        write_csv(&self.dir.join("metrics.csv"), &rows)?;
        write_parquet(&self.dir.join("metrics.parquet"), &rows)?;
        write_csv(&self.dir.join("runs.csv"), &run_rows)?;
        write_parquet(&self.dir.join("runs.parquet"), &run_rows)?;
        Ok(runs)
    }
}

fn write_holder(f: &File, what: &str) {
    // Informational only (the lock is the flock): who holds it, for refusals and `runner status`.
    let mut f = f;
    let _ = f.set_len(0);
    let _ = writeln!(f, "{what}, host {}, pid {}, since {}", this_host(), std::process::id(), now_rfc3339());
}

/// This machine's name.
pub fn this_host() -> String {
    hostname::get().map(|h| h.to_string_lossy().to_string()).unwrap_or_else(|_| "unknown".into())
}

/// The process a lock file names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub host: String,
    pub pid: u32,
    pub since: String,
}

impl Holder {
    fn parse(text: &str) -> Option<Self> {
        let field = |name: &str| text.split(", ").find_map(|part| part.strip_prefix(name)).map(str::trim);
        Some(Self {
            host: field("host ")?.to_string(),
            pid: field("pid ")?.parse().ok()?,
            since: field("since ")?.to_string(),
        })
    }

    /// Whether the process is known to be gone: on this host, and no such process (Linux's
    /// /proc). `false` when it cannot be told from here.
    pub fn is_gone(&self) -> bool {
        self.host == this_host()
            && Path::new("/proc/self").exists()
            && !Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

/// A run being trained by this process (see [`SweepDir::lock_run`]).
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

/// Appends a run's epoch rows and finishes its record.
#[derive(Debug)]
pub struct RunWriter {
    pub dir: RunDir,
    record: RunRecord,
    metrics: PathBuf,
    out: File,
    rows: Vec<MetricRow>,
    /// Training time of the stretches before this one (a resumed run).
    earlier_seconds: f64,
    _lock: RunLock,
}

impl RunWriter {
    /// The rows written so far (a resumed run's earlier stretches' among them).
    pub fn rows(&self) -> &[MetricRow] {
        &self.rows
    }

    /// Appends one epoch's row and flushes it to disk before returning.
    pub fn append(&mut self, row: &MetricRow) -> Result<(), ResultsError> {
        let line = csv_line(row, &self.metrics)?;
        self.out.write_all(&line).map_err(|e| ResultsError::io(&self.metrics, e))?;
        self.out.sync_data().map_err(|e| ResultsError::io(&self.metrics, e))?;
        self.rows.push(row.clone());
        // Epochs of the whole model: a `stacked` run's pre-training rows are its phases', and
        // counting them would say 11 of `epochs = 8`.
        self.record.epochs_completed =
            self.rows.iter().filter(|r| spec::metrics::is_final_phase(r.phase.as_deref())).count() as u64;
        Ok(())
    }

    /// Writes the final record (or a paused run's): status, error, end time and the summary of the
    /// rows. The writer's lock is released when it returns.
    pub fn finish(
        mut self,
        status: RunStatus,
        error: Option<String>,
        train_seconds: f64,
    ) -> Result<RunRecord, ResultsError> {
        self.record.status = status;
        self.record.error = error;
        self.record.finished_at = Some(now_rfc3339());
        self.record.train_seconds = self.earlier_seconds + train_seconds;
        self.record.final_metrics = FinalMetrics::from_rows(&self.rows);
        // A run that is done with never goes on: the state of its last pause (a search's
        // promoted trial) has served its purpose. Removed before the record says so, so that
        // no final run keeps one (killed in between, the run is unfinished and restarts).
        if status.is_final() {
            remove_state(&self.dir)?;
        }
        write_json(&self.dir.record(), &self.record)?;
        Ok(self.record)
    }
}

/// Removes a run's training state, if it has one (written by a run paused at a search's rung).
fn remove_state(dir: &RunDir) -> Result<(), ResultsError> {
    let state = dir.state();
    match std::fs::remove_file(&state) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(ResultsError::io(&state, e)),
        _ => Ok(()),
    }
}

pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ResultsError> {
    let text = std::fs::read_to_string(path).map_err(|e| ResultsError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| ResultsError::Json { file: path.to_path_buf(), message: e.to_string() })
}

pub(crate) fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), ResultsError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| ResultsError::Json { file: path.to_path_buf(), message: e.to_string() })?;
    write_file(path, format!("{text}\n").as_bytes())
}
