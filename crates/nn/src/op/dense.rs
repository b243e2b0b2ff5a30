//! A fully connected layer as one dfdx operation: `y = act(x·W + b)` with W in Keras' `(in, out)`
//! layout, bias and ReLU (or sigmoid) fused.
//!
//! dfdx's own composition (matmul, broadcast add, relu) makes four single-threaded passes over
//! the `[batch, out]` activations and their gradients; here each product is split across threads
//! by rows of its output (batch rows for `y` and `dx`, weight rows for `dW`) — never along the
//! summed dimension — so every value is computed by one thread in one fixed order, whatever the
//! thread count.

use crate::error::NnError;
use crate::kernel::{matmul, View};
use crate::op::{add, Activation};
use dfdx::prelude::*;
use rayon::prelude::*;

/// Rows per parallel task: enough to keep gemm efficient, small enough to spread the work.
const ROWS: usize = 48;

/// `act(x·W + b)` for `x` holding `[batch, inputs]`; `w` holds `(inputs, outputs)` row-major.
pub fn linear<I: Shape, O: Shape, W: Shape, B: Shape, T: Tape<f32, Cpu>>(
    x: Tensor<I, f32, Cpu, T>,
    w: &Tensor<W, f32, Cpu>,
    b: &Tensor<B, f32, Cpu>,
    (inputs, outputs): (usize, usize),
    activation: Activation,
    out_shape: O,
) -> Result<Tensor<O, f32, Cpu, T>, NnError> {
    let numel = x.shape().num_elements();
    if inputs == 0
        || !numel.is_multiple_of(inputs)
        || w.shape().num_elements() != inputs * outputs
        || b.shape().num_elements() != outputs
    {
        return Err(NnError::Shape(format!(
            "dense [{inputs}×{outputs}]: input of {numel} values, weight of {}, bias of {}",
            w.shape().num_elements(),
            b.shape().num_elements()
        )));
    }
    let batch = numel / inputs;
    if out_shape.num_elements() != batch * outputs {
        return Err(NnError::Shape(format!(
            "dense output shape holds {} values, not {}",
            out_shape.num_elements(),
            batch * outputs
        )));
    }
    let dev = x.device().clone();
    let (x, mut tape) = x.split_tape();
    let xs = x.as_vec();
    let ws = w.as_vec();
    let bs = b.as_vec();
    let relu = activation == Activation::Relu;
    let sigmoid = activation == Activation::Sigmoid;
    let mut y = vec![0.0f32; batch * outputs];
    y.par_chunks_mut(ROWS * outputs).zip(xs.par_chunks(ROWS * inputs)).try_for_each(|(yc, xc)| {
        let rows = yc.len() / outputs;
        for row in yc.chunks_exact_mut(outputs) {
            row.copy_from_slice(&bs);
        }
        matmul(yc, outputs, true, View::rows(xc, rows, inputs), View::rows(&ws, inputs, outputs))?;
        if relu {
            for v in yc.iter_mut() {
                // A NaN stays NaN, so that divergence is seen.
                *v = if *v < 0.0 { 0.0 } else { *v };
            }
        }
        if sigmoid {
            for v in yc.iter_mut() {
                *v = crate::scalar::sigmoid(*v);
            }
        }
        Ok::<(), NnError>(())
    })?;
    let kept = if T::OWNS_TAPE && (relu || sigmoid) { y.clone() } else { Vec::new() };
    let out = dev.try_tensor_from_vec(y, out_shape)?;

    if T::OWNS_TAPE {
        let (xg, wg, bg, og) = (x.ghost(), w.ghost(), b.ghost(), out.ghost());
        drop(x);
        tape.add_backward_op(move |grads| {
            let mut gy: Vec<f32> = std::mem::take(&mut **grads.get_or_alloc_mut(&og)?);
            if gy.len() != batch * outputs {
                return Err(CpuError::WrongNumElements);
            }
            if relu {
                gy.par_chunks_mut(ROWS * outputs).zip(kept.par_chunks(ROWS * outputs)).for_each(|(g, y)| {
                    for (g, &v) in g.iter_mut().zip(y) {
                        *g = if v > 0.0 { *g } else { 0.0 };
                    }
                });
            }
            if sigmoid {
                // σ' = σ(1 − σ), from the kept output.
                gy.par_chunks_mut(ROWS * outputs).zip(kept.par_chunks(ROWS * outputs)).for_each(|(g, y)| {
                    for (g, &v) in g.iter_mut().zip(y) {
                        *g *= v * (1.0 - v);
                    }
                });
            }
            // db[j] = Σ_rows gy[row, j], rows in order; split across threads by columns.
            let mut db = vec![0.0f32; outputs];
            db.par_chunks_mut(ROWS).enumerate().for_each(|(c, d)| {
                let (start, n) = (c * ROWS, d.len());
                for row in gy.chunks_exact(outputs) {
                    for (d, g) in d.iter_mut().zip(&row[start..start + n]) {
                        *d += g;
                    }
                }
            });
            // dW[i, :] = Σ_rows x[row, i] · gy[row, :]: split by rows of dW (inputs).
            let mut dw = vec![0.0f32; inputs * outputs];
            dw.par_chunks_mut(ROWS * outputs).enumerate().try_for_each(|(c, d)| {
                let first = c * ROWS;
                let n = d.len() / outputs;
                // xᵀ[first..first+n, :] as a view: element (i, row) = x[row·inputs + first + i].
                let xt = View::strided(&xs[first..], n, batch, 1, inputs);
                matmul(d, outputs, false, xt, View::rows(&gy, batch, outputs))
            })?;
            add(grads.get_or_alloc_mut(&wg)?, &dw);
            add(grads.get_or_alloc_mut(&bg)?, &db);
            // dx = gy·Wᵀ, split by batch rows.
            let mut dx = vec![0.0f32; batch * inputs];
            dx.par_chunks_mut(ROWS * inputs).zip(gy.par_chunks(ROWS * outputs)).try_for_each(|(d, g)| {
                let rows = d.len() / inputs;
                matmul(d, inputs, false, View::rows(g, rows, outputs), View::cols(&ws, outputs, inputs))
            })?;
            add(grads.get_or_alloc_mut(&xg)?, &dx);
            Ok(())
        });
    }
    Ok(out.put_tape(tape))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_matches_dfdx_composition_values_and_gradients() {
        // Reference: dfdx's own matmul + broadcast add + relu, which this op replaces.
        let dev = Cpu::default();
        let (batch, inputs, outputs) = (70, 13, 51);
        let vals = |n: usize, k: usize| -> Vec<f32> { (0..n).map(|i| ((i * k) % 23) as f32 / 11.0 - 1.0).collect() };
        let x = dev.tensor_from_vec(vals(batch * inputs, 7), (batch, inputs));
        let w = dev.tensor_from_vec(vals(inputs * outputs, 5), (inputs, outputs));
        let b = dev.tensor_from_vec(vals(outputs, 3), (outputs,));
        for act in [Activation::Linear, Activation::Relu, Activation::Sigmoid] {
            let ours = linear(x.leaky_trace(), &w, &b, (inputs, outputs), act, (batch, outputs)).unwrap();
            let theirs = x.leaky_trace().matmul(w.clone()) + b.clone().broadcast_like::<_, Axis<0>>(&(batch, outputs));
            let theirs = match act {
                Activation::Relu => theirs.relu(),
                Activation::Sigmoid => theirs.sigmoid(),
                Activation::Linear => theirs,
            };
            let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-5 * (1.0 + y.abs()));
            assert!(close(&ours.as_vec(), &theirs.as_vec()), "{act:?} values");
            let g1 = ours.square().sum().backward();
            let g2 = theirs.square().sum().backward();
            assert!(close(&g1.get(&x).as_vec(), &g2.get(&x).as_vec()), "{act:?} dx");
            assert!(close(&g1.get(&w).as_vec(), &g2.get(&w).as_vec()), "{act:?} dW");
            assert!(close(&g1.get(&b).as_vec(), &g2.get(&b).as_vec()), "{act:?} db");
        }
    }

    #[test]
    fn gradients_do_not_depend_on_the_thread_count() {
        let dev = Cpu::default();
        let (batch, inputs, outputs) = (300, 40, 100);
        let x = dev.tensor_from_vec((0..batch * inputs).map(|i| (i % 17) as f32 - 8.0).collect(), (batch, inputs));
        let w = dev
            .tensor_from_vec((0..inputs * outputs).map(|i| (i % 13) as f32 / 13.0 - 0.5).collect(), (inputs, outputs));
        let b = dev.tensor_from_vec(vec![0.1; outputs], (outputs,));
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| {
                let y = linear(x.leaky_trace(), &w, &b, (inputs, outputs), Activation::Relu, (batch, outputs)).unwrap();
                let g = y.square().sum().backward();
                (g.get(&x).as_vec(), g.get(&w).as_vec(), g.get(&b).as_vec())
            })
        };
        assert_eq!(run(1), run(3));
    }
}
