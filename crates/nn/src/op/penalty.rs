//! The regularisation terms of the `sparse` and `contractive` auto-encoders, each one dfdx
//! operation from a batch of codes (and, for the closed-form contraction, the code layer's
//! kernel) to a scalar, with its gradient written by hand.
//!
//! Every term is a mean over the batch of a per-image quantity, like Keras' activity
//! regularisers (which divide by the batch size). Sums run in f64 in row order: the value and
//! the gradients do not depend on the thread count.

use crate::error::NnError;
use crate::model::param::Param;
use crate::op::add_scaled;
use dfdx::prelude::*;

/// Clamp of the batch-mean activation in the KL sparsity term, so that a saturated unit gives a
/// large finite penalty instead of log(0).
const RHO_HAT_EPS: f64 = 1e-6;

type Batch<T> = Tensor<(usize, usize), f32, Cpu, T>;
/// A parameter's tensor and the gradient an op adds to it.
type ParamGrad = (Tensor<(usize,), f32, Cpu>, Vec<f32>);

/// `weight · mean_b Σ_j |z_j|`: the L1 activity penalty of the Keras blog's sparse auto-encoder.
/// Gradient `weight · sign(z) / b` (0 at 0).
pub fn l1_mean<T: Tape<f32, Cpu>>(z: Batch<T>, weight: f64) -> Result<Tensor<Rank0, f32, Cpu, T>, NnError> {
    let (b, _) = *z.shape();
    let v = z.as_vec();
    let value = weight * v.iter().map(|x| x.abs() as f64).sum::<f64>() / b.max(1) as f64;
    let grad = T::OWNS_TAPE.then(|| {
        let g = (weight / b.max(1) as f64) as f32;
        v.iter()
            .map(|&x| {
                if x > 0.0 {
                    g
                } else if x < 0.0 {
                    -g
                } else {
                    0.0
                }
            })
            .collect()
    });
    scalar(z, value, grad, Vec::new())
}

/// `weight · Σ_j KL(ρ ‖ ρ̂_j)` with ρ̂_j the batch mean of the sigmoid code `h` (UFLDL's sparse
/// auto-encoder): KL(ρ ‖ ρ̂) = ρ log(ρ/ρ̂) + (1 − ρ) log((1 − ρ)/(1 − ρ̂)).
/// Gradient `weight · (−ρ/ρ̂_j + (1 − ρ)/(1 − ρ̂_j)) / b` for every h_ij of column j. ρ̂_j is
/// clamped away from 0 and 1 (`RHO_HAT_EPS`) in the value and the gradient alike, so a saturated
/// unit gets a finite value and a large gradient that pushes it back, not an infinity.
pub fn kl_sparsity<T: Tape<f32, Cpu>>(
    h: Batch<T>,
    target: f64,
    weight: f64,
) -> Result<Tensor<Rank0, f32, Cpu, T>, NnError> {
    let (b, n) = *h.shape();
    if b == 0 || !(target > 0.0 && target < 1.0) {
        return Err(NnError::Config(format!("KL sparsity of {b} codes towards {target}; needs codes and ρ in (0, 1)")));
    }
    let v = h.as_vec();
    let mut means = vec![0.0f64; n];
    for row in v.chunks_exact(n) {
        for (m, &x) in means.iter_mut().zip(row) {
            *m += x as f64;
        }
    }
    let rho = target;
    let mut value = 0.0;
    let mut slopes = vec![0.0f32; n];
    for (m, s) in means.iter_mut().zip(&mut slopes) {
        let r = (*m / b as f64).clamp(RHO_HAT_EPS, 1.0 - RHO_HAT_EPS);
        value += rho * (rho / r).ln() + (1.0 - rho) * ((1.0 - rho) / (1.0 - r)).ln();
        *s = (weight * (-rho / r + (1.0 - rho) / (1.0 - r)) / b as f64) as f32;
    }
    let grad = T::OWNS_TAPE.then(|| slopes.iter().copied().cycle().take(b * n).collect());
    scalar(h, weight * value, grad, Vec::new())
}

/// `weight · mean_b ‖J(x)‖²_F` in closed form for a one-layer sigmoid encoder h = σ(xW + c)
/// (Rifai et al. 2011, eq. 7): J = diag(h(1 − h)) Wᵀ, so ‖J‖²_F = Σ_j (h_j(1 − h_j))² ‖W_{:,j}‖².
/// `h` is the code (the layer's output, on the tape) and `kernel` its `(in, out)` weights.
/// Gradients: ∂/∂h_ij = weight·2h(1 − h)(1 − 2h)‖W_j‖²/b; ∂/∂W_kj = weight·2W_kj·Σ_i (h_ij(1 − h_ij))²/b
/// (the path through h is the layer's own backward pass).
pub fn contractive_sigmoid<T: Tape<f32, Cpu>>(
    h: Batch<T>,
    kernel: &Param,
    weight: f64,
) -> Result<Tensor<Rank0, f32, Cpu, T>, NnError> {
    let (b, n) = *h.shape();
    if b == 0 || n == 0 || !kernel.len().is_multiple_of(n) {
        return Err(NnError::Shape(format!(
            "contraction of {b}×{n} codes with a kernel of {} values ({})",
            kernel.len(),
            kernel.name
        )));
    }
    let w = kernel.tensor.as_vec();
    let mut norms = vec![0.0f64; n];
    for row in w.chunks_exact(n) {
        for (s, &x) in norms.iter_mut().zip(row) {
            *s += (x as f64) * (x as f64);
        }
    }
    let v = h.as_vec();
    let mut value = 0.0f64;
    // Σ_i (h_ij(1 − h_ij))², per unit j: the kernel's gradient.
    let mut d2 = vec![0.0f64; n];
    for row in v.chunks_exact(n) {
        for ((&x, s), d) in row.iter().zip(&norms).zip(&mut d2) {
            let x = x as f64;
            let dh = x * (1.0 - x);
            value += dh * dh * s;
            *d += dh * dh;
        }
    }
    let scale = weight / b as f64;
    let (grad, params) = if T::OWNS_TAPE {
        let grad = v
            .chunks_exact(n)
            .flat_map(|row| {
                row.iter().zip(&norms).map(|(&x, s)| {
                    let x = x as f64;
                    (scale * 2.0 * x * (1.0 - x) * (1.0 - 2.0 * x) * s) as f32
                })
            })
            .collect();
        let dw =
            w.chunks_exact(n).flat_map(|row| row.iter().zip(&d2).map(|(&x, d)| (scale * 2.0 * x as f64 * d) as f32));
        (Some(grad), vec![(kernel.tensor.clone(), dw.collect())])
    } else {
        (None, Vec::new())
    };
    scalar(h, scale * value, grad, params)
}

/// `weight · mean_b ‖t‖²` of a batch of tangents t = J(x)ε: with ε ~ N(0, I), E‖Jε‖² = ‖J‖²_F
/// (Hutchinson's estimator), so this is an unbiased estimate of the contractive penalty.
/// Gradient `2·weight·t/b`.
pub fn squared_norm_mean<T: Tape<f32, Cpu>>(t: Batch<T>, weight: f64) -> Result<Tensor<Rank0, f32, Cpu, T>, NnError> {
    let (b, _) = *t.shape();
    let v = t.as_vec();
    let scale = weight / b.max(1) as f64;
    let value = scale * v.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>();
    let grad = T::OWNS_TAPE.then(|| v.iter().map(|&x| (2.0 * scale * x as f64) as f32).collect());
    scalar(t, value, grad, Vec::new())
}

/// A scalar op on `x` whose gradients were computed with its value: `grad` for `x` and, for
/// parameters it reads directly, `params` (each held by a handle to the parameter's tensor: the
/// same id, so its gradient lands on the parameter); the backward pass scales them by the
/// output's gradient.
fn scalar<T: Tape<f32, Cpu>>(
    x: Batch<T>,
    value: f64,
    grad: Option<Vec<f32>>,
    params: Vec<ParamGrad>,
) -> Result<Tensor<Rank0, f32, Cpu, T>, NnError> {
    let dev = x.device().clone();
    let (x, mut tape) = x.split_tape();
    let out = dev.try_tensor(value as f32)?;
    if let (true, Some(grad)) = (T::OWNS_TAPE, grad) {
        let (xg, og) = (x.ghost(), out.ghost());
        tape.add_backward_op(move |grads| {
            let scale = grads.get_or_alloc_mut(&og)?[0];
            add_scaled(grads.get_or_alloc_mut(&xg)?, &grad, scale);
            for (pg, g) in &params {
                add_scaled(grads.get_or_alloc_mut(pg)?, g, scale);
            }
            Ok(())
        });
    }
    Ok(out.put_tape(tape))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{check_gradient, values};

    fn batch(v: &[f32], b: usize) -> Tensor<(usize, usize), f32, Cpu> {
        Cpu::default().tensor_from_vec(v.to_vec(), (b, v.len() / b))
    }

    #[test]
    fn l1_value_and_gradient_match_the_definition_and_finite_differences() {
        let (b, n) = (3, 5);
        // Away from 0, where |z| has its kink.
        let z: Vec<f32> =
            values(b * n, 1, 0.1, 1.0).iter().enumerate().map(|(i, v)| if i % 2 == 0 { *v } else { -v }).collect();
        let f = |z: &[f32]| l1_mean(batch(z, b), 1e-2).unwrap().array() as f64;
        // Reference: the Keras activity regulariser, l1 · Σ|z| / batch.
        let want = 1e-2 * z.iter().map(|v| v.abs() as f64).sum::<f64>() / b as f64;
        assert!((f(&z) - want).abs() < 1e-8);
        let t = batch(&z, b);
        let g = l1_mean(t.leaky_trace(), 1e-2).unwrap().backward().get(&t).as_vec();
        check_gradient(f, &z, &g, 1e-2);
    }

    #[test]
    fn kl_sparsity_value_and_gradient() {
        let (b, n) = (4, 3);
        let h = values(b * n, 2, 0.05, 0.95);
        let (rho, w) = (0.1, 0.5);
        let f = |h: &[f32]| kl_sparsity(batch(h, b), rho, w).unwrap().array() as f64;
        // Reference: UFLDL's Σ_j KL(ρ ‖ ρ̂_j) from the column means, written out here.
        let want: f64 = (0..n)
            .map(|j| {
                let r = (0..b).map(|i| h[i * n + j] as f64).sum::<f64>() / b as f64;
                rho * (rho / r).ln() + (1.0 - rho) * ((1.0 - rho) / (1.0 - r)).ln()
            })
            .sum::<f64>()
            * w;
        assert!((f(&h) - want).abs() < 1e-6 * want, "{} vs {want}", f(&h));
        let t = batch(&h, b);
        let g = kl_sparsity(t.leaky_trace(), rho, w).unwrap().backward().get(&t).as_vec();
        check_gradient(f, &h, &g, 1e-2);
        // At the target there is nothing to pay and nothing to push.
        let at_target = vec![rho as f32; b * n];
        assert!(f(&at_target).abs() < 1e-6);
    }

    /// A one-layer sigmoid encoder h = σ(xW + c) as the model computes it, and its closed-form
    /// contraction.
    fn encoder_penalty(x: &[f32], w: &[f32], c: &[f32], n: usize, weight: f64) -> (f64, Vec<f32>, Vec<f32>) {
        let dev = Cpu::default();
        let inputs = w.len() / n;
        let b = x.len() / inputs;
        let mut kernel = Param::zeros(&dev, "code.kernel", &[inputs, n]);
        kernel.set(w).unwrap();
        let bias = dev.tensor_from_vec(c.to_vec(), (n,));
        let xt = dev.tensor_from_vec(x.to_vec(), (b, inputs));
        let h = crate::op::dense::linear(
            xt.leaky_trace(),
            &kernel.tensor,
            &bias,
            (inputs, n),
            crate::op::Activation::Sigmoid,
            (b, n),
        )
        .unwrap();
        let p = contractive_sigmoid(h, &kernel, weight).unwrap();
        let value = p.array() as f64;
        let g = p.backward();
        (value, g.get(&xt).as_vec(), g.get(&kernel.tensor).as_vec())
    }

    #[test]
    fn the_contractive_closed_form_is_the_squared_norm_of_a_finite_difference_jacobian() {
        let (inputs, n, b) = (6, 4, 2);
        let x = values(b * inputs, 3, 0.0, 1.0);
        let w = values(inputs * n, 4, -1.0, 1.0);
        let c = values(n, 5, -0.5, 0.5);
        let (value, _, _) = encoder_penalty(&x, &w, &c, n, 1.0);
        // Reference: the Jacobian of h(x) = σ(xW + c) by central differences in f64, image by
        // image, and its squared Frobenius norm averaged over the batch.
        let code = |x: &[f64]| -> Vec<f64> {
            (0..n)
                .map(|j| {
                    let a: f64 = (0..inputs).map(|k| x[k] * w[k * n + j] as f64).sum::<f64>() + c[j] as f64;
                    1.0 / (1.0 + (-a).exp())
                })
                .collect()
        };
        let mut frob = 0.0;
        for i in 0..b {
            let xi: Vec<f64> = x[i * inputs..(i + 1) * inputs].iter().map(|&v| v as f64).collect();
            for k in 0..inputs {
                let (mut p, mut m) = (xi.clone(), xi.clone());
                p[k] += 1e-5;
                m[k] -= 1e-5;
                let (hp, hm) = (code(&p), code(&m));
                frob += hp.iter().zip(&hm).map(|(a, b)| ((a - b) / 2e-5).powi(2)).sum::<f64>();
            }
        }
        frob /= b as f64;
        assert!((value - frob).abs() < 1e-4 * frob, "closed form {value} vs finite-difference Jacobian {frob}");
    }

    #[test]
    fn the_contractive_gradient_matches_finite_differences() {
        let (inputs, n, b) = (5, 3, 3);
        let x = values(b * inputs, 6, 0.0, 1.0);
        let w = values(inputs * n, 7, -1.5, 1.5);
        let c = values(n, 8, -0.5, 0.5);
        let (_, gx, gw) = encoder_penalty(&x, &w, &c, n, 0.3);
        // Through h (the sigmoid's own backward pass) and directly through W.
        check_gradient(|w| encoder_penalty(&x, w, &c, n, 0.3).0, &w, &gw, 1e-2);
        check_gradient(|x| encoder_penalty(x, &w, &c, n, 0.3).0, &x, &gx, 1e-2);
    }

    #[test]
    fn squared_norm_value_and_gradient() {
        let (b, n) = (2, 4);
        let t = values(b * n, 9, -2.0, 2.0);
        let f = |t: &[f32]| squared_norm_mean(batch(t, b), 0.25).unwrap().array() as f64;
        let want = 0.25 * t.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / b as f64;
        assert!((f(&t) - want).abs() < 1e-6);
        let tt = batch(&t, b);
        let g = squared_norm_mean(tt.leaky_trace(), 0.25).unwrap().backward().get(&tt).as_vec();
        check_gradient(f, &t, &g, 1e-2);
    }
}
