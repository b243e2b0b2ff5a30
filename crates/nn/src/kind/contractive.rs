//! The encoder's Jacobian-vector product J_f(x)·ε, for the Hutchinson estimate of the contractive
//! penalty: E_ε‖J_f(x)ε‖² = ‖J_f(x)‖²_F for ε ~ N(0, I).
//!
//! dfdx 0.13 has no forward mode and no double backward, but neither is needed: the tangent is
//! pushed through the encoder layer by layer alongside the forward pass, with the rules of
//! forward-mode differentiation written as ordinary taped ops —
//!
//! - a layer's affine part maps the tangent by its kernel alone (no bias): u = W·t;
//! - a ReLU multiplies it by the layer's mask 1[y > 0] (a constant: its derivative is 0 wherever
//!   it exists);
//! - the sigmoid code multiplies it by σ'(a) = h(1 − h), computed from the taped output h, so that
//!   the penalty's gradient also flows through h into the layers below.
//!
//! The result is J_f(x)·ε exactly (up to rounding), not a finite difference, and backpropagating
//! ‖Jε‖² through these ops gives its exact gradient wherever no ReLU input is exactly 0. The
//! cost is one more encoder pass and its backward pass.

use crate::error::NnError;
use crate::kind::{check_weight, deterministic, Objective, Taped, Terms};
use crate::model::{
    Architecture, Codes, ConvAutoEncoder, CpuModel, DenseAutoEncoder, DenseLayer, Head, Images, ModelSpec, IMAGE_LEN,
};
use crate::on_device::Model;
use crate::op::loss::LossKind;
use crate::op::penalty::{contractive_sigmoid, squared_norm_mean};
use crate::op::Activation;
use dfdx::prelude::*;

/// + weight · ‖J_f(x)‖²_F, computed as [`Contraction`] says for the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Contractive {
    pub weight: f64,
}

/// How the contractive penalty is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contraction {
    /// Rifai's closed form, for a dense encoder that is one sigmoid layer.
    Exact,
    /// Hutchinson's estimate ‖J ε‖², one Gaussian probe per image, with Jε computed exactly by
    /// the tangent pass of this module.
    Hutchinson,
}

impl Contraction {
    pub fn of(model: &Model) -> Self {
        Self::for_spec(&model.spec())
    }

    pub fn for_spec(spec: &ModelSpec) -> Self {
        if spec.architecture == Architecture::Dense && spec.hidden.is_empty() && spec.head == Head::Sigmoid {
            Contraction::Exact
        } else {
            Contraction::Hutchinson
        }
    }
}

impl Objective for Contractive {
    fn check(&self, model: &Model) -> Result<(), NnError> {
        check_weight(self.weight)?;
        deterministic(model)
    }

    /// One probe of 784 draws per image, when the penalty is estimated.
    fn noise_len(&self, model: &Model, batch: usize) -> usize {
        match Contraction::of(model) {
            Contraction::Exact => 0,
            Contraction::Hutchinson => batch * IMAGE_LEN,
        }
    }

    fn terms(
        &self,
        model: &CpuModel,
        x: Images<Taped>,
        targets: &[f32],
        loss: LossKind,
        noise: &[f32],
    ) -> Result<Terms, NnError> {
        let (z, penalty) = match (Contraction::for_spec(&model.spec()), model) {
            (Contraction::Exact, CpuModel::Dense(m)) => {
                let h = model.encode(x)?; // [b, latent] in (0, 1)
                let p = contractive_sigmoid(h.with_empty_tape(), &m.encoder[0].kernel, self.weight)?;
                (h, p)
            }
            _ => {
                let (z, t) = encode_with_tangent(model, x, noise)?; // [b, latent] each
                (z, squared_norm_mean(t, self.weight)?)
            }
        };
        Ok(Terms { reconstruction: loss.mean(model.decode(z)?, targets)?, penalty: Some(penalty) })
    }
}

/// The code `[b, latent]` of `x` and the tangent J_f(x)·ε `[b, latent]` of each image; `eps`
/// holds one `[784]` direction per image. The tangent's tape holds the encoder's ops too (the
/// code's is empty): a penalty on the tangent alone gets its whole gradient, also the part that
/// flows through the code.
pub fn encode_with_tangent<T: Tape<f32, Cpu>>(
    model: &CpuModel,
    x: Images<T>,
    eps: &[f32],
) -> Result<(Codes<T>, Codes<T>), NnError> {
    let (b, _) = *x.shape();
    if eps.len() != b * IMAGE_LEN {
        return Err(NnError::Shape(format!("{} probe values for {b} images", eps.len())));
    }
    if model.head() == Head::Gaussian {
        return Err(NnError::Config("the contractive penalty applies to a deterministic code, not a VAE's".into()));
    }
    let dev = x.device().clone();
    let t: Codes<T> = dev.try_tensor_from_vec(eps.to_vec(), (b, IMAGE_LEN))?.retaped::<T>(); // [b, 784]
    let (z, t) = match model {
        CpuModel::Dense(m) => dense(m, x, t)?,
        CpuModel::Conv(m) => conv(m, x, t)?,
    };
    let (z, encoder) = z.split_tape();
    let (t, tangent) = t.split_tape();
    Ok((z.put_tape(T::default()), t.put_tape(tangent.merge(encoder))))
}

fn dense<T: Tape<f32, Cpu>>(
    m: &DenseAutoEncoder,
    x: Images<T>,
    mut t: Codes<T>,
) -> Result<(Codes<T>, Codes<T>), NnError> {
    let (b, _) = *x.shape();
    let mut h: Codes<T> = x.try_reshape_like(&(b, IMAGE_LEN))?; // [b, 784]
    for layer in &m.encoder {
        h = layer.forward(h, layer.outputs)?; // [b, width]
        let u = linear_part(layer, t)?; // [b, width]
        t = activation_part(layer.activation, &h, u)?;
    }
    Ok((h, t)) // [b, latent] each
}

fn conv<T: Tape<f32, Cpu>>(m: &ConvAutoEncoder, x: Images<T>, t: Codes<T>) -> Result<(Codes<T>, Codes<T>), NnError> {
    let (b, _) = *x.shape();
    let dev = x.device().clone();
    // The layers one by one rather than as the encoder's stack: the ReLU masks are their outputs.
    let mut h: Codes<T> = x.try_reshape_like(&(b, IMAGE_LEN))?; // [b, 784] = [b, 28, 28, 1]
    let mut t = t;
    for layer in [&m.conv1, &m.conv2] {
        let out = layer.geometry.small_len();
        h = layer.forward(h, (b, out))?; // [b, 13·13·32], then [b, 6·6·32]
        let zero = dev.try_zeros_like(&(layer.geometry.small_c,))?;
        let u = layer.apply(t, &zero, Activation::Linear, (b, out))?;
        t = activation_part(layer.activation, &h, u)?;
    }
    let code = &m.encoder_dense;
    let z = code.forward(h, code.outputs)?; // [b, latent]
    let u = linear_part(code, t)?;
    let t = activation_part(code.activation, &z, u)?;
    Ok((z, t))
}

/// u = t·W: the layer's kernel without its bias.
fn linear_part<T: Tape<f32, Cpu>>(layer: &DenseLayer, t: Codes<T>) -> Result<Codes<T>, NnError> {
    let b = t.shape().0;
    let zero = t.device().try_zeros_like(&(layer.outputs,))?;
    let shape = (layer.inputs, layer.outputs);
    crate::op::dense::linear(t, &layer.kernel.tensor, &zero, shape, Activation::Linear, (b, layer.outputs))
}

/// The tangent through the activation whose output is `h`.
fn activation_part<T: Tape<f32, Cpu>>(activation: Activation, h: &Codes<T>, u: Codes<T>) -> Result<Codes<T>, NnError> {
    match activation {
        Activation::Linear => Ok(u),
        Activation::Relu => {
            let mask: Vec<f32> = h.as_vec().iter().map(|&v| if v > 0.0 { 1.0 } else { 0.0 }).collect();
            scale_by(u, mask)
        }
        Activation::Sigmoid => sigmoid_tangent(h.with_empty_tape(), u),
    }
}

/// `x ⊙ f` for constant factors `f`; gradient `g ⊙ f`.
fn scale_by<T: Tape<f32, Cpu>>(x: Codes<T>, factors: Vec<f32>) -> Result<Codes<T>, NnError> {
    let shape = *x.shape();
    let dev = x.device().clone();
    let (x, mut tape) = x.split_tape();
    let v: Vec<f32> = x.as_vec().iter().zip(&factors).map(|(a, f)| a * f).collect();
    if v.len() != factors.len() {
        return Err(NnError::Shape(format!("{} factors for {} values", factors.len(), x.shape().0 * x.shape().1)));
    }
    let y = dev.try_tensor_from_vec(v, shape)?;
    if T::OWNS_TAPE {
        let (xg, yg) = (x.ghost(), y.ghost());
        tape.add_backward_op(move |grads| {
            let g: Vec<f32> = grads.get_or_alloc_mut(&yg)?.iter().zip(&factors).map(|(g, f)| g * f).collect();
            crate::op::add(grads.get_or_alloc_mut(&xg)?, &g);
            Ok(())
        });
    }
    Ok(y.put_tape(tape))
}

/// `h(1 − h) ⊙ u`: the tangent through a sigmoid whose output is `h`. Gradients:
/// ∂/∂u = h(1 − h), ∂/∂h = u(1 − 2h).
fn sigmoid_tangent<T: Tape<f32, Cpu>>(h: Codes<T>, u: Codes<T>) -> Result<Codes<T>, NnError> {
    if h.shape() != u.shape() {
        return Err(NnError::Shape(format!("sigmoid tangent of {:?} by {:?}", h.shape(), u.shape())));
    }
    let shape = *h.shape();
    let dev = h.device().clone();
    let (h, th) = h.split_tape();
    let (u, tu) = u.split_tape();
    let mut tape = th.merge(tu);
    let (hv, uv) = (h.as_vec(), u.as_vec());
    let v: Vec<f32> = hv.iter().zip(&uv).map(|(&h, &u)| h * (1.0 - h) * u).collect();
    let y = dev.try_tensor_from_vec(v, shape)?;
    if T::OWNS_TAPE {
        let (hg, ug, yg) = (h.ghost(), u.ghost(), y.ghost());
        tape.add_backward_op(move |grads| {
            let g = grads.get_or_alloc_mut(&yg)?.to_vec();
            let dh: Vec<f32> = g.iter().zip(&uv).zip(&hv).map(|((g, u), h)| g * u * (1.0 - 2.0 * h)).collect();
            let du: Vec<f32> = g.iter().zip(&hv).map(|(g, h)| g * h * (1.0 - h)).collect();
            crate::op::add(grads.get_or_alloc_mut(&hg)?, &dh);
            crate::op::add(grads.get_or_alloc_mut(&ug)?, &du);
            Ok(())
        });
    }
    Ok(y.put_tape(tape))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::values;
    use rand::{Rng, SeedableRng};

    fn model(architecture: Architecture, hidden: Vec<usize>, head: Head) -> CpuModel {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        CpuModel::new(&Cpu::default(), &ModelSpec { architecture, latent_dim: 3, hidden, head }, &mut rng).unwrap()
    }

    /// The code of images, untaped, in f32.
    fn code(m: &CpuModel, x: &[f32]) -> Vec<f32> {
        let dev = Cpu::default();
        m.encode(dev.tensor_from_vec(x.to_vec(), (x.len() / IMAGE_LEN, Const))).unwrap().as_vec()
    }

    #[test]
    fn the_tangent_is_the_jacobian_times_the_probe() {
        // Reference: the Jacobian's rows by reverse mode — one backward pass per code unit j
        // through the encoder's layer ops (which ops.rs and dense.rs check against finite
        // differences) gives ∇_x z_j, and (Jε)_j = ∇_x z_j · ε. Finite differences along ε would
        // do for the dense model, but through the conv encoder's 6,560 ReLUs some unit switches
        // inside any usable step.
        let dev = Cpu::default();
        let (b, latent) = (2, 3);
        let x = values(b * IMAGE_LEN, 1, 0.0, 1.0);
        let eps = values(b * IMAGE_LEN, 2, -1.0, 1.0);
        for (arch, hidden, head) in [
            (Architecture::Dense, vec![16, 8], Head::Sigmoid),
            (Architecture::Dense, vec![16], Head::Linear),
            (Architecture::Conv, vec![], Head::Linear),
            (Architecture::Conv, vec![], Head::Sigmoid),
        ] {
            let m = model(arch, hidden, head);
            let xt = dev.tensor_from_vec(x.clone(), (b, Const));
            let (z, t) = encode_with_tangent(&m, xt.leaky_trace(), &eps).unwrap();
            assert_eq!(z.as_vec(), code(&m, &x), "{arch:?} {head:?}: the code is the encoder's");
            let t = t.as_vec();
            for j in 0..latent {
                let pick: Vec<f32> = (0..b * latent).map(|k| if k % latent == j { 1.0 } else { 0.0 }).collect();
                let pick = dev.tensor_from_vec(pick, (b, latent));
                let g = (layer_by_layer(&m, xt.leaky_trace()) * pick).sum().backward().get(&xt).as_vec();
                for i in 0..b {
                    let range = i * IMAGE_LEN..(i + 1) * IMAGE_LEN;
                    let want: f64 = g[range.clone()].iter().zip(&eps[range]).map(|(g, e)| (g * e) as f64).sum();
                    let got = t[i * latent + j] as f64;
                    assert!(
                        (got - want).abs() <= 1e-4 * (1e-3 + want.abs()),
                        "{arch:?} {head:?}: (Jε)[{i}, {j}] = {got}, want {want}"
                    );
                }
            }
        }
    }

    /// The encoder, layer op by layer op (the conv encoder's stack gives its input no gradient).
    fn layer_by_layer(m: &CpuModel, x: Images<OwnedTape<f32, Cpu>>) -> Codes<OwnedTape<f32, Cpu>> {
        match m {
            CpuModel::Dense(d) => d.encode_stats(x).unwrap(),
            CpuModel::Conv(c) => {
                let b = x.shape().0;
                let h = c.conv1.forward(x, (b, 13 * 13 * 32)).unwrap();
                let h = c.conv2.forward(h, (b, 6 * 6 * 32)).unwrap();
                c.encoder_dense.forward(h, c.encoder_dense.outputs).unwrap()
            }
        }
    }

    #[test]
    fn hutchinson_averages_to_the_squared_frobenius_norm() {
        // Reference: the full Jacobian of a small dense encoder by central differences (784
        // columns), its squared Frobenius norm; the mean of ‖Jε‖² over many Gaussian probes must
        // come within a few standard errors of it.
        let dev = Cpu::default();
        let m = model(Architecture::Dense, vec![12], Head::Sigmoid);
        let x = values(IMAGE_LEN, 3, 0.0, 1.0);
        let mut frob = 0.0f64;
        for k in 0..IMAGE_LEN {
            let at = |s: f32| {
                let mut p = x.clone();
                p[k] += s;
                code(&m, &p)
            };
            let (p, n) = (at(1e-2), at(-1e-2));
            frob += p.iter().zip(&n).map(|(a, b)| ((*a as f64 - *b as f64) / 2e-2).powi(2)).sum::<f64>();
        }
        let probes = 4000;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let eps: Vec<f32> =
            (0..probes * IMAGE_LEN).map(|_| rng.sample::<f64, _>(rand_distr::StandardNormal) as f32).collect();
        let xs: Vec<f32> = x.iter().copied().cycle().take(probes * IMAGE_LEN).collect();
        let (_, t) = encode_with_tangent(&m, dev.tensor_from_vec(xs, (probes, Const)), &eps).unwrap();
        let norms: Vec<f64> = t.as_vec().chunks(3).map(|r| r.iter().map(|v| (*v as f64).powi(2)).sum()).collect();
        let mean = norms.iter().sum::<f64>() / probes as f64;
        let sd = (norms.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (probes - 1) as f64).sqrt();
        let se = sd / (probes as f64).sqrt();
        assert!((mean - frob).abs() < 4.0 * se, "Hutchinson mean {mean} ± {se} vs ‖J‖² {frob}");
    }

    #[test]
    fn the_penalty_gradient_through_the_tangent_matches_finite_differences() {
        // Loss ‖Jε‖² for a fixed ε, as a function of the code layer's kernel and of a hidden
        // layer's kernel; central differences in f64 of the f32 loss, step 1e-2. The hidden layer
        // is ReLU: points whose step switches a unit are skipped (the loss has a kink there).
        let dev = Cpu::default();
        let mut m = model(Architecture::Dense, vec![6], Head::Sigmoid);
        let x = values(2 * IMAGE_LEN, 6, 0.0, 1.0);
        let eps = values(2 * IMAGE_LEN, 7, -1.0, 1.0);
        let loss = |m: &CpuModel| -> (f64, Gradients<f32, Cpu>) {
            // The code is dropped: the tangent's tape alone must carry the whole gradient.
            let (_, t) =
                encode_with_tangent(m, dev.tensor_from_vec(x.clone(), (2, Const)).leaky_traced(), &eps).unwrap();
            let p = squared_norm_mean(t, 1.0).unwrap();
            (p.array() as f64, p.backward())
        };
        let (_, grads) = loss(&m);
        let mut checked = 0;
        for layer in [0usize, 1] {
            let analytic = grads.get(&m.params()[2 * layer].tensor).as_vec();
            let n = analytic.len();
            for i in (0..n).step_by((n / 25).max(1)) {
                let base = m.params()[2 * layer].tensor.as_vec();
                let mut at = |d: f32| {
                    let mut v = base.clone();
                    v[i] += d;
                    m.params_mut()[2 * layer].set(&v).unwrap();
                    let hidden = code_layers(&m, &x);
                    (loss(&m).0, hidden)
                };
                let ((lp, hp), (lm, hm), (_, h0)) = (at(1e-2), at(-1e-2), at(0.0));
                let kink =
                    hp.iter().zip(&hm).zip(&h0).any(|((a, b), c)| (*a > 0.0) != (*c > 0.0) || (*b > 0.0) != (*c > 0.0));
                if kink {
                    continue;
                }
                let numeric = (lp - lm) / 2e-2;
                let a = analytic[i] as f64;
                assert!(
                    (a - numeric).abs() <= 2e-2 * (1e-4 + numeric.abs()),
                    "layer {layer} weight {i}: {a} vs {numeric}"
                );
                checked += 1;
            }
        }
        assert!(checked > 30, "only {checked} points checked");
    }

    /// The hidden layer's outputs (for spotting ReLU switches).
    fn code_layers(m: &CpuModel, x: &[f32]) -> Vec<f32> {
        let CpuModel::Dense(d) = m else { return Vec::new() };
        let dev = Cpu::default();
        d.encode_layers(dev.tensor_from_vec(x.to_vec(), (x.len() / IMAGE_LEN, Const)), 1).unwrap().as_vec()
    }
}
