//! Columns of a batch as a differentiable op: the mean half of a VAE encoder's output is the code.

use crate::error::NnError;
use dfdx::prelude::*;

type Batch<T> = Tensor<(usize, usize), f32, Cpu, T>;

/// Columns `[start, start + width)` of `x` (`[batch, n]` → `[batch, width]`): the mean of the
/// encoder's output, for codes and reconstructions.
pub fn columns<T: Tape<f32, Cpu>>(x: Batch<T>, start: usize, width: usize) -> Result<Batch<T>, NnError> {
    let (b, n) = *x.shape();
    if start + width > n {
        return Err(NnError::Shape(format!("columns {start}..{} of a {b}×{n} batch", start + width)));
    }
    let dev = x.device().clone();
    let (x, mut tape) = x.split_tape();
    let v = x.as_vec();
    let out: Vec<f32> = v.chunks_exact(n.max(1)).flat_map(|row| row[start..start + width].iter().copied()).collect();
    let y = dev.try_tensor_from_vec(out, (b, width))?;
    if T::OWNS_TAPE {
        let (xg, yg) = (x.ghost(), y.ghost());
        tape.add_backward_op(move |grads| {
            let g = grads.get_or_alloc_mut(&yg)?.to_vec();
            let dx = grads.get_or_alloc_mut(&xg)?;
            for (d, g) in dx.chunks_exact_mut(n).zip(g.chunks_exact(width.max(1))) {
                for (d, g) in d[start..start + width].iter_mut().zip(g) {
                    *d += g;
                }
            }
            Ok(())
        });
    }
    Ok(y.put_tape(tape))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_pick_the_mean_and_send_gradients_back() {
        let dev = Cpu::default();
        let x = dev.tensor_from_vec((0..12).map(|i| i as f32).collect(), (2, 6));
        let y = columns(x.leaky_trace(), 0, 3).unwrap();
        assert_eq!(y.as_vec(), [0.0, 1.0, 2.0, 6.0, 7.0, 8.0]);
        let g = y.sum().backward().get(&x).as_vec();
        assert_eq!(g, [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
        assert!(columns(x, 4, 3).is_err());
    }
}
