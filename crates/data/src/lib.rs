//! Datasets for the auto-encoder sweeps: IDX reading and writing, the dataset registry and its
//! fingerprints, the synthetic generator, the seeded random streams, epoch order and batching,
//! corruption noise, reconstruction grids and `runner data info`.

pub mod batch;
pub mod dataset;
pub mod error;
pub mod grid;
pub mod idx;
pub mod info;
pub mod noise;
pub mod rng;
pub mod split;
pub mod synthetic;

pub use batch::{batch_count, batches, epoch_order, gather, gather_labels};
pub use dataset::load;
pub use error::DataError;
pub use grid::write_grid_png;
pub use idx::{IMAGE_COLS, IMAGE_PIXELS, IMAGE_ROWS};
pub use info::{dataset_info, DatasetInfo};
pub use noise::corrupt;
pub use rng::{rng_for, weights_rng};
pub use split::{Dataset, Split};
