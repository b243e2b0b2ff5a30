//! A fully connected layer from dfdx's public ops: `act(x·W + b)`, W in Keras' `(in, out)` layout.

use crate::error::NnError;
use crate::generic::DeviceResult;
use crate::op::Activation;
use dfdx::prelude::*;

/// `act(x·W + b)`: `x` is `[batch, inputs]`, `weight` the flat `(inputs, outputs)` kernel, `bias`
/// `[outputs]`; returns `[batch, outputs]`. Gradients reach `weight` and `bias` under their ids
/// (they carry no tape: the input's tape records every op).
pub fn dense<D: Device<f32>, T: Tape<f32, D>>(
    x: Tensor<(usize, usize), f32, D, T>,
    weight: &Tensor<(usize,), f32, D>,
    bias: &Tensor<(usize,), f32, D>,
    outputs: usize,
    activation: Activation,
) -> Result<Tensor<(usize, usize), f32, D, T>, NnError> {
    let (batch, inputs) = *x.shape();
    // dfdx asserts (panics) on mismatched shapes: check first.
    if batch == 0 || weight.shape().0 != inputs * outputs || bias.shape().0 != outputs {
        return Err(NnError::Shape(format!(
            "dense [{inputs}×{outputs}]: input [{batch}, {inputs}], kernel of {}, bias of {}",
            weight.shape().0,
            bias.shape().0
        )));
    }
    // A contiguous reshape keeps the parameter's id, so its gradient lands on the parameter.
    let w = weight.clone().try_reshape_like(&(inputs, outputs)).dev()?; // [in, out]
    let y = x.try_matmul(w).dev()?; // [batch, out]
    let b = bias.clone().try_broadcast_like::<_, Axis<0>>(&(batch, outputs)).dev()?; // [batch, out], stride 0
    let y = y.try_add(b).dev()?; // [batch, out]
    match activation {
        Activation::Linear => Ok(y),
        Activation::Relu => y.try_relu().dev(),
        Activation::Sigmoid => y.try_sigmoid().dev(),
    }
}
