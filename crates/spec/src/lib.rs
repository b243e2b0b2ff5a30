//! Sweep files and run configurations: the types a user writes, their validation (naming file,
//! key and line), their expansion into resolved runs, run ids, the files of a run folder, and the
//! metric row schema that training produces and the results store writes.
//!
//! One module per section of a run's configuration (`data`, `model`, `train`, `noise`), each
//! with its keys as written, their resolution and the resolved type; `sweep` reads whole files.

pub mod config;
pub mod data;
pub mod error;
pub mod id;
pub mod keys;
pub mod layout;
pub mod metrics;
pub mod model;
pub mod noise;
pub mod problems;
pub mod resolve;
pub mod search;
pub mod sweep;
pub mod train;
pub mod value;

pub use config::RunConfig;
pub use data::{DataConfig, DatasetName, DATASET_CHOICES};
pub use error::{Problem, SpecError};
pub use id::{run_id, RunFile};
pub use layout::RunDir;
pub use metrics::{MetricRow, RunStatus};
pub use model::{Architecture, Hidden, Kind, KindColumns, KindName, ModelConfig, Sparsity, VaeSettings};
pub use noise::{Noise, NoiseKind};
pub use search::SearchSpec;
pub use sweep::{load, parse, Override, RunSpec, Search, Sweep, DEFAULT_VARIANT};
pub use train::{Device, Loss, Optimizer, OptimizerName, Probe, TrainConfig};
