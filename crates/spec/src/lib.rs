//! Sweep files and run configurations: the types a user writes, their validation (naming file,
//! key and line), their expansion into resolved runs, run ids, and the metric row schema that
//! training produces and the results store writes.

pub mod config;
pub mod error;
pub mod id;
pub mod keys;
pub mod metrics;
pub mod resolve;
pub mod sweep;

pub use config::*;
pub use error::{Problem, SpecError};
pub use id::{run_id, RunFile};
pub use metrics::{MetricRow, RunStatus};
pub use sweep::{load, parse, Override, RunSpec, Sweep, DEFAULT_VARIANT};
