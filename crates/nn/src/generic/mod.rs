//! The device-generic path: the models, losses, training step and optimizers written with dfdx
//! 0.13's public ops only, generic over `D: Device<f32>`, so that they run on dfdx's `Cuda`
//! device (whose handles are crate-private: no kernels of our own can be launched on it) as well
//! as on `Cpu`, where they are tested against the fast kernels of [`crate::op`].
//!
//! - [`conv`]: convolution and transposed convolution as one `gather` and one matmul each, the
//!   gather indices built once per layer;
//! - [`dense`], [`loss`]: a fully connected layer, the reconstruction losses;
//! - [`optim`]: Keras' Adam and SGD updating parameters in place (`axpy`), keeping tensor ids;
//! - [`model`]: either architecture on a device, uploaded from a [`crate::model::CpuModel`] so
//!   that a run starts from the same weights on every device.
//!
//! What runs here: the plain reconstruction objective (a denoising auto-encoder only changes the
//! inputs), both architectures, a linear or sigmoid code, both optimizers. The other kinds train
//! on the CPU only ([`crate::kind::Objective::trains_on_devices`]). Which device runs a model is
//! decided in [`crate::device`].

pub mod conv;
pub mod dense;
pub mod loss;
pub mod model;
pub mod optim;

pub use conv::{Direction, GatherConv, Lowering, ZERO_SLOTS};
pub use model::GenericModel;
pub use optim::GenericOptimizer;

use crate::error::NnError;

/// Turns a device result (`Result<_, D::Err>`: the error type differs per device) into
/// [`NnError::Device`].
pub(crate) trait DeviceResult<T> {
    fn dev(self) -> Result<T, NnError>;
}

impl<T, E: std::fmt::Display> DeviceResult<T> for Result<T, E> {
    fn dev(self) -> Result<T, NnError> {
        self.map_err(|e| NnError::Device(e.to_string()))
    }
}
