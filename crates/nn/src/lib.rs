//! The auto-encoders and what trains them, on dfdx, in these modules (no two import each other:
//! `scripts/check-import-cycles.py`):
//!
//! - [`kernel`]: CPU kernels of convolution and transposed convolution on plain slices (im2col,
//!   the strided products, the fused layer passes) — no dfdx;
//! - [`op`]: the differentiable dfdx operations built on them (convolutions, the conv stacks,
//!   dense layers, losses, penalties), since dfdx 0.13 keeps its own convolutions behind
//!   `nightly`;
//! - [`model`]: the tutorial's convolutional model and a dense one on the CPU, their parameters
//!   and a Keras-like summary;
//! - [`generic`]: the same models, losses, step and optimizers from dfdx's public ops only,
//!   generic over the dfdx device, which is what trains on a GPU;
//! - [`device`]: the [`Device`] a model runs on, the one place that chooses between the two
//!   paths (the rest of the workspace sees a `Device`, never a dfdx device type);
//! - [`on_device`]: [`Model`], a model where it runs (either path), and inference on it;
//! - [`kind`]: each kind's training objective (plain, sparse, contractive, VAE), one file each;
//! - [`train`]: the trainer (steps, layer-wise pre-training, its saved state) and Keras-exact
//!   optimizers;
//! - [`checkpoint`]: safetensors files named and shaped like the Keras weights.
//!
//! [`scalar`] holds the scalar formulas all of them share.

pub mod checkpoint;
pub mod device;
pub mod error;
pub mod generic;
pub mod kernel;
pub mod kind;
pub mod model;
pub mod on_device;
pub mod op;
pub mod scalar;
#[cfg(test)]
mod testing;
pub mod train;

pub use device::{cuda_compiled, Device, DeviceInfo};
pub use error::NnError;
pub use kind::Objective;
pub use model::{Architecture, CpuModel, Head, ModelSpec, ParamValues, SummaryRow, IMAGE_LEN};
pub use on_device::{EvalSums, Model};
pub use op::loss::LossKind;
pub use train::optim::OptimizerKind;
pub use train::{StepLoss, Trainer};
