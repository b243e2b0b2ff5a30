//! The reconstruction losses from dfdx's public ops, as means over every element (Keras'
//! reduction), on logits.

use crate::error::NnError;
use crate::generic::DeviceResult;
use crate::op::loss::LossKind;
use dfdx::prelude::*;

/// The loss of `logits` against `targets` (both `[batch, 784]`), mean over all values.
pub fn mean<D: Device<f32>, T: Tape<f32, D>>(
    kind: LossKind,
    logits: Tensor<(usize, usize), f32, D, T>,
    targets: &Tensor<(usize, usize), f32, D>,
) -> Result<Tensor<Rank0, f32, D, T>, NnError> {
    let (a, b) = (*logits.shape(), *targets.shape());
    if a != b || a.0 * a.1 == 0 {
        return Err(NnError::Shape(format!("loss of logits {a:?} against targets {b:?}")));
    }
    match kind {
        // Keras' BinaryCrossentropy from the logits: mean(max(x, 0) − x·z + ln(1 + e^−|x|)),
        // TensorFlow's `sigmoid_cross_entropy_with_logits`. dfdx's `bce_with_logits` is exactly
        // this formula on both devices (`bce/cpu_kernel.rs`, `bce/bce.cu`); its logit gradient
        // is σ(x) − z.
        LossKind::Bce => logits.try_bce_with_logits(targets.clone()).dev()?.try_mean().dev(),
        // mean((σ(x) − z)²).
        LossKind::Mse => {
            logits.try_sigmoid().dev()?.try_sub(targets.clone()).dev()?.try_square().dev()?.try_mean().dev()
        }
    }
}
