//! The results store on disk: run folders (`config.toml`, `run.json`, `metrics.csv`), the combined
//! per-sweep CSV and Parquet files (polars), the lock that keeps two sweeps apart, and what resume
//! needs to know. Training never sees this crate; the runner connects them.

pub mod baseline;
pub mod codes;
pub mod error;
pub mod record;
pub mod search;
pub mod store;
pub mod table;

pub use baseline::{Baseline, BaselineKind};
pub use error::ResultsError;
pub use record::{now_rfc3339, FinalMetrics, Provenance, RunRecord, RunRow};
pub use search::{SearchKey, SearchPrune, SearchRecord};
pub use store::{this_host, Holder, RunLock, RunWriter, StoredRun, SweepDir, SweepLock};
