//! The auto-encoders and what trains them, on dfdx: the project's own convolution and transposed
//! convolution ops (dfdx 0.13 keeps its own behind `nightly`), the tutorial's convolutional model,
//! a dense model, the sparse, contractive, stacked and variational kinds' terms, losses,
//! Keras-exact optimizers, checkpoints in safetensors.

pub mod checkpoint;
pub mod contractive;
pub mod dense;
pub mod error;
pub mod kernels;
pub mod layer;
pub mod loss;
pub mod model;
pub mod ops;
pub mod optim;
pub mod param;
pub mod penalty;
pub mod stack;
#[cfg(test)]
mod testing;
pub mod trainer;
pub mod vae;

pub use dfdx::tensor::Cpu;
pub use error::NnError;
pub use model::{Architecture, Head, Model, ModelSpec, SummaryRow, IMAGE_LEN};
pub use optim::OptimizerKind;
pub use trainer::{Contraction, EvalSums, LossKind, Objective, StepLoss, Trainer, VaeSums};
