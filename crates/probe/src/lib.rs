//! How good a representation is for reading labels off it: the linear probe of the denoising and
//! stacked auto-encoder papers (multinomial logistic regression on standardised features, fitted
//! by deterministic full-batch L-BFGS, scored by its test accuracy), and PCA, the linear baseline
//! an auto-encoder's code is compared with and the way codes of more than two dimensions are
//! drawn in a plane.
//!
//! Pure Rust (gemm for the products, rayon over fixed chunks): results are bit-identical for the
//! same inputs whatever the thread count.

mod eigen;
pub mod error;
mod linalg;
pub mod logistic;
pub mod pca;
pub mod standardize;

pub use error::ProbeError;
pub use logistic::{linear_probe, ProbeOptions, ProbeResult, SCHEME};
pub use pca::Pca;
pub use standardize::Standardizer;
