//! The project's differentiable dfdx operations: each computes its forward pass with the CPU
//! kernels (or plain loops) and registers its backward pass on the input's tape with
//! `Tape::add_backward_op`. Gradients are added (`+=`) into the buffers that
//! `Gradients::get_or_alloc_mut` hands out, since several ops may feed the same tensor.

pub mod conv;
pub mod dense;
pub mod loss;
pub mod penalty;
pub mod slice;
pub mod stack;

use crate::error::NnError;
use dfdx::tensor::CpuError;

/// The activation fused into a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Linear,
    Relu,
    /// Dense layers only: a code in (0, 1) (sparse codes with a target activation, Rifai's
    /// contractive encoder).
    Sigmoid,
}

/// `acc += v`.
pub(crate) fn add(acc: &mut [f32], v: &[f32]) {
    for (a, b) in acc.iter_mut().zip(v) {
        *a += b;
    }
}

/// `acc += scale · v`.
pub(crate) fn add_scaled(acc: &mut [f32], v: &[f32], scale: f32) {
    for (a, b) in acc.iter_mut().zip(v) {
        *a += scale * b;
    }
}

/// dfdx's backward closures return its own error type; a shape error inside one becomes its
/// closest match.
impl From<NnError> for CpuError {
    fn from(_: NnError) -> Self {
        CpuError::WrongNumElements
    }
}
