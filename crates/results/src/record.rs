//! What the store keeps about a run: `run.json` (status, provenance, final metrics) and the row
//! it contributes to the combined `runs.csv` / `runs.parquet`.

use crate::error::ResultsError;
use crate::table::{flat_cells, flat_schema, Cell, ColumnType, Rows};
use serde::{Deserialize, Serialize};
use spec::metrics::is_final_phase;
use spec::{KindColumns, MetricRow, RunFile, RunStatus};

/// Where and with what a run was produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub runner_version: String,
    pub git_revision: String,
    pub dfdx_version: String,
    pub host: String,
    /// Worker threads of the training pool. Results do not depend on it (fixed chunking), but it
    /// is recorded so that a difference can be traced.
    pub threads: usize,
    /// What trained the run: `cpu` or `cuda` (`train.device`). Records written before devices
    /// existed read as `cpu`.
    #[serde(default = "cpu")]
    pub device: String,
    /// The GPU's name as its driver reports it, for a run trained on one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<String>,
}

fn cpu() -> String {
    "cpu".into()
}

/// `runs/<run_id>/run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub sweep: String,
    pub variant: String,
    pub label: String,
    pub status: RunStatus,
    /// Why a run diverged or failed.
    pub error: Option<String>,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub seed: u64,
    pub dataset_fingerprint: String,
    pub provenance: Provenance,
    /// Epochs of the whole model completed (a `stacked` run's pre-training epochs not counted).
    pub epochs_completed: u64,
    pub train_seconds: f64,
    pub final_metrics: Option<FinalMetrics>,
}

/// Summary of a run's epochs: of the phase that trains the whole model (a `stacked` run's
/// pre-training rows measure the model cut at a shallower depth, and are left out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinalMetrics {
    /// The last row's value of every metric column of the epoch rows
    /// (`spec::metrics::metric_columns`), by name; null where the last row has none. Derived
    /// from the row, so a metric added there is summarised here too.
    #[serde(flatten)]
    pub last: serde_json::Map<String, serde_json::Value>,
    /// Epoch with the lowest test BCE, and that BCE.
    pub best_epoch: u64,
    pub best_test_bce: f64,
    pub mean_samples_per_second: f64,
}

impl FinalMetrics {
    /// From a run's metric rows; none when it has no rows.
    pub fn from_rows(rows: &[MetricRow]) -> Option<Self> {
        let rows: Vec<&MetricRow> = rows.iter().filter(|r| is_final_phase(r.phase.as_deref())).collect();
        let last = *rows.last()?;
        let best = rows.iter().min_by(|a, b| a.test_bce.total_cmp(&b.test_bce))?;
        let values = last.metric_values().into_iter().map(|(name, v)| (name.to_string(), v.into())).collect();
        Some(Self {
            last: values,
            best_epoch: best.epoch,
            best_test_bce: best.test_bce,
            mean_samples_per_second: rows.iter().map(|r| r.samples_per_second).sum::<f64>() / rows.len() as f64,
        })
    }

    /// The last row's value of a metric column.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.last.get(name).and_then(serde_json::Value::as_f64)
    }
}

/// One row of `runs.csv` / `runs.parquet`: the run's configuration as columns, its status and its
/// final metrics. Its columns join its parts' (see [`Rows`]): the run's labels, its kind's keys
/// (`spec::KindColumns`), its other settings, one `final_<metric>` per metric column of the
/// epoch rows with the best epoch, and where and when it ran.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    pub head: RunHead,
    pub kind: KindColumns,
    pub settings: RunSettings,
    pub finals: Option<FinalMetrics>,
    pub tail: RunTail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunHead {
    pub run_id: String,
    pub sweep: String,
    pub variant: String,
    pub label: String,
    /// A search's trial; empty in a grid.
    pub trial: Option<u64>,
    pub status: String,
    pub error: Option<String>,
    pub dataset: String,
    /// The content fingerprint of the dataset (what the stored baselines are matched on).
    pub dataset_fingerprint: String,
    pub train_limit: Option<u64>,
    pub test_limit: Option<u64>,
    pub architecture: String,
    pub latent_dim: u64,
    /// Dense only: hidden widths joined by `-`, e.g. `512-256`.
    pub hidden: Option<String>,
    /// `model.kind` (its keys follow as the [`KindColumns`]).
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    pub epochs: u64,
    pub batch_size: u64,
    pub learning_rate: f64,
    pub optimizer: String,
    pub momentum: Option<f64>,
    pub loss: String,
    pub seed: u64,
    pub noise_kind: Option<String>,
    pub noise_level: Option<f64>,
    pub epochs_completed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunTail {
    pub train_seconds: f64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub runner_version: String,
    pub git_revision: String,
    pub host: String,
    pub threads: u64,
}

/// The columns a run's final metrics give it: `final_<metric>` per metric column, then the best
/// epoch and the mean throughput.
fn final_columns() -> impl Iterator<Item = (String, ColumnType)> {
    spec::metrics::metric_columns().map(|m| (format!("final_{m}"), ColumnType::F64)).chain([
        ("best_epoch".to_string(), ColumnType::U64),
        ("best_test_bce".to_string(), ColumnType::F64),
        ("mean_samples_per_second".to_string(), ColumnType::F64),
    ])
}

impl Rows for RunRow {
    fn schema() -> Result<Vec<(String, ColumnType)>, ResultsError> {
        let mut columns = flat_schema::<RunHead>()?;
        columns.extend(flat_schema::<KindColumns>()?);
        columns.extend(flat_schema::<RunSettings>()?);
        columns.extend(final_columns());
        columns.extend(flat_schema::<RunTail>()?);
        Ok(columns)
    }

    fn cells(&self) -> Result<Vec<Cell>, ResultsError> {
        let mut cells = flat_cells(&self.head)?;
        cells.extend(flat_cells(&self.kind)?);
        cells.extend(flat_cells(&self.settings)?);
        let f = self.finals.as_ref();
        let number = |v: Option<f64>| v.map_or(Cell::Null, Cell::F64);
        cells.extend(spec::metrics::metric_columns().map(|m| number(f.and_then(|f| f.metric(m)))));
        cells.push(f.map_or(Cell::Null, |f| Cell::U64(f.best_epoch)));
        cells.push(number(f.map(|f| f.best_test_bce)));
        cells.push(number(f.map(|f| f.mean_samples_per_second)));
        cells.extend(flat_cells(&self.tail)?);
        Ok(cells)
    }
}

impl RunRow {
    pub fn new(file: &RunFile, r: &RunRecord) -> Self {
        let m = &file.model;
        // As written in the sweep file: a dense model's default widths leave the column empty.
        let hidden = match &m.hidden {
            spec::Hidden::Given(h) => Some(h.iter().map(|w| w.to_string()).collect::<Vec<_>>().join("-")),
            spec::Hidden::Default => None,
        };
        Self {
            head: RunHead {
                run_id: r.run_id.clone(),
                sweep: r.sweep.clone(),
                variant: r.variant.clone(),
                label: r.label.clone(),
                trial: file.trial,
                status: r.status.to_string(),
                error: r.error.clone(),
                dataset: file.data.dataset.to_string(),
                dataset_fingerprint: file.dataset_fingerprint.clone(),
                train_limit: file.data.train_limit.map(|v| v as u64),
                test_limit: file.data.test_limit.map(|v| v as u64),
                architecture: m.architecture.to_string(),
                latent_dim: m.latent_dim as u64,
                hidden,
                kind: m.kind.name().to_string(),
            },
            kind: m.kind.columns(),
            settings: RunSettings {
                epochs: file.train.epochs as u64,
                batch_size: file.train.batch_size as u64,
                learning_rate: file.train.learning_rate,
                optimizer: file.train.optimizer.name().to_string(),
                momentum: match file.train.optimizer {
                    spec::Optimizer::Sgd { momentum } => Some(momentum),
                    spec::Optimizer::Adam => None,
                },
                loss: file.train.loss.to_string(),
                seed: file.train.seed,
                noise_kind: file.noise.kind().map(|k| k.to_string()),
                noise_level: file.noise.level(),
                epochs_completed: r.epochs_completed,
            },
            finals: r.final_metrics.clone(),
            tail: RunTail {
                train_seconds: r.train_seconds,
                started_at: r.started_at.clone(),
                finished_at: r.finished_at.clone(),
                runner_version: r.provenance.runner_version.clone(),
                git_revision: r.provenance.git_revision.clone(),
                host: r.provenance.host.clone(),
                threads: r.provenance.threads as u64,
            },
        }
    }
}

/// The current time as RFC 3339 UTC with milliseconds (`2026-11-28T19:02:30.125Z`), without a
/// date-time dependency. Milliseconds, because many short runs end within one second and their
/// order (and a run's duration in a scale benchmark) should still show.
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = rfc3339(now.as_secs());
    format!("{}.{:03}Z", secs.trim_end_matches('Z'), now.subsec_millis())
}

fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-from-civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provenance_written_before_devices_existed_reads_as_the_cpu() {
        let old = r#"{"runner_version":"0.1.0","git_revision":"abc","dfdx_version":"0.13.0","host":"h","threads":2}"#;
        let p: Provenance = serde_json::from_str(old).unwrap();
        assert_eq!((p.device.as_str(), p.gpu.as_deref()), ("cpu", None));
        let cuda = Provenance { device: "cuda".into(), gpu: Some("NVIDIA H200".into()), ..p };
        let text = serde_json::to_string(&cuda).unwrap();
        assert!(text.contains(r#""device":"cuda","gpu":"NVIDIA H200""#), "{text}");
        assert_eq!(serde_json::from_str::<Provenance>(&text).unwrap(), cuda);
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        // `date -u -d @1795892550 +%FT%TZ`
        assert_eq!(rfc3339(1_795_892_550), "2026-11-28T19:02:30Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        let now = now_rfc3339();
        assert!(
            now.len() == "2026-11-28T19:02:30.125Z".len() && now.ends_with('Z') && now.as_bytes()[19] == b'.',
            "{now}"
        );
    }
}
