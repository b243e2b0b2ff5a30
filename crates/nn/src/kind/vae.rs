//! The variational auto-encoder's pieces (Kingma & Welling 2014): the encoder's output holds the
//! mean and the log-variance of q(z|x) side by side, `[batch, 2·latent]` (columns `[0, L)` the
//! mean μ, `[L, 2L)` log σ²); a sample is z = μ + exp(½ log σ²)·ε with ε ~ N(0, I) given by the
//! caller (a seeded stream), and the KL term against the prior N(0, I) is in closed form.
//! Also its objective, its test metrics (the KL term, the negative ELBO, the importance-sampled
//! log-likelihood) and the prior's quantile grid that a 2-D latent space is drawn on.

use crate::error::NnError;
use crate::kind::{Objective, Taped, Terms};
use crate::model::{CpuModel, Head, Images, IMAGE_LEN};
use crate::on_device::{Model, EVAL_CHUNK};
use crate::op::add_scaled;
use crate::op::loss::LossKind;
use dfdx::prelude::*;

/// The negative β-ELBO: the reconstruction summed over an image's pixels (mean per pixel × 784),
/// + β · KL(q(z|x) ‖ N(0, I)), on one reparameterised sample per image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vae {
    pub beta: f64,
}

impl Objective for Vae {
    fn check(&self, model: &Model) -> Result<(), NnError> {
        if !(self.beta.is_finite() && self.beta > 0.0) {
            return Err(NnError::Config(format!("β {} must be > 0", self.beta)));
        }
        match model.head() {
            Head::Gaussian => Ok(()),
            other => Err(NnError::Config(format!(
                "the VAE objective needs a Gaussian head, the model has a {} code",
                other.name()
            ))),
        }
    }

    /// ε: `latent` draws per image.
    fn noise_len(&self, model: &Model, batch: usize) -> usize {
        batch * model.latent_dim()
    }

    fn terms(
        &self,
        model: &CpuModel,
        x: Images<Taped>,
        targets: &[f32],
        loss: LossKind,
        noise: &[f32],
    ) -> Result<Terms, NnError> {
        let stats = model.encode_stats(x)?; // [b, 2·latent]
        let kl = kl_mean(stats.with_empty_tape())?;
        let z = reparameterize(stats, noise)?; // [b, latent]
        let reconstruction = loss.mean(model.decode(z)?, targets)? * IMAGE_LEN as f32;
        Ok(Terms { reconstruction, penalty: Some(kl * self.beta as f32) })
    }
}

/// A VAE's bound over a set of images: sums of per-image nats, in f64.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct VaeSums {
    /// Σ KL(q(z|x) ‖ p(z)).
    pub kl: f64,
    /// Σ (−log p(x|z) + KL) with one z ~ q(z|x) per image: the negative ELBO (β = 1).
    pub neg_elbo: f64,
    pub images: u64,
}

impl VaeSums {
    pub fn kl_mean(&self) -> f64 {
        self.kl / self.images.max(1) as f64
    }
    pub fn neg_elbo_mean(&self) -> f64 {
        self.neg_elbo / self.images.max(1) as f64
    }
}

fn latent_of(model: &CpuModel) -> Result<usize, NnError> {
    match model.head() {
        Head::Gaussian => Ok(model.latent_dim()),
        other => Err(NnError::Config(format!("a VAE metric asked of a model with a {} code", other.name()))),
    }
}

/// A VAE's KL term and negative ELBO over a set of images, with one reparameterised sample
/// per image: `noise(i, ε)` fills image i's `latent` standard normal draws.
pub fn evaluate(
    model: &Model,
    loss: LossKind,
    images: &[f32],
    mut noise: impl FnMut(usize, &mut [f32]),
) -> Result<VaeSums, NnError> {
    let model = model.cpu_only("a VAE's bound")?;
    let latent = latent_of(model)?;
    let mut sums = VaeSums::default();
    for (ci, chunk) in images.chunks(EVAL_CHUNK * IMAGE_LEN).enumerate() {
        let stats = model.encode_stats(model.images(chunk)?)?; // [n, 2·latent]
        let n = stats.shape().0;
        let mut eps = vec![0.0f32; n * latent];
        for (i, e) in eps.chunks_exact_mut(latent).enumerate() {
            noise(ci * EVAL_CHUNK + i, e);
        }
        let sv = stats.as_vec();
        let z = reparameterize(stats, &eps)?; // [n, latent]
        let logits = model.decode(z)?.as_vec(); // [n, 784]
        for ((s, l), x) in
            sv.chunks_exact(2 * latent).zip(logits.chunks_exact(IMAGE_LEN)).zip(chunk.chunks_exact(IMAGE_LEN))
        {
            let kl = image_kl(&s[..latent], &s[latent..]);
            let log_px: f64 = l.iter().zip(x).map(|(&a, &b)| loss.log_likelihood(a, b)).sum();
            sums.kl += kl;
            sums.neg_elbo += kl - log_px;
            sums.images += 1;
        }
    }
    Ok(sums)
}

/// Σ over images of the importance-sampled estimate of log p(x) (Burda et al.'s bound with
/// q(z|x) as the proposal): log (1/K) Σ_k p(x|z_k) p(z_k) / q(z_k|x), z_k = μ + σ ε_k, in f64.
/// `noise(i, ε)` fills image i's `samples × latent` draws. Samples are decoded `samples ×`
/// ⌈[`EVAL_CHUNK`]/`samples`⌉ at a time: a size fixed by `samples` alone.
pub fn log_likelihood(
    model: &Model,
    loss: LossKind,
    images: &[f32],
    samples: usize,
    mut noise: impl FnMut(usize, &mut [f32]),
) -> Result<f64, NnError> {
    let model = model.cpu_only("a VAE's likelihood estimate")?;
    let latent = latent_of(model)?;
    if samples == 0 {
        return Err(NnError::Config("the likelihood estimate needs at least one sample".into()));
    }
    let per_group = (EVAL_CHUNK / samples).max(1);
    let mut total = 0.0f64;
    let mut weights = vec![0.0f64; samples];
    for (gi, group) in images.chunks(per_group * IMAGE_LEN).enumerate() {
        let stats = model.encode_stats(model.images(group)?)?.as_vec(); // [g, 2·latent]
        let g = group.len() / IMAGE_LEN;
        let mut eps = vec![0.0f32; g * samples * latent];
        for (i, e) in eps.chunks_exact_mut(samples * latent).enumerate() {
            noise(gi * per_group + i, e);
        }
        let mut z = Vec::with_capacity(eps.len());
        for (s, e) in stats.chunks_exact(2 * latent).zip(eps.chunks_exact(samples * latent)) {
            let (mu, lv) = s.split_at(latent);
            for ek in e.chunks_exact(latent) {
                z.extend(mu.iter().zip(lv).zip(ek).map(|((&m, &l), &e)| m + (0.5 * l).exp() * e));
            }
        }
        let logits = model.decode(model.codes(z.clone())?)?.as_vec(); // [g·K, 784]
        for (i, x) in group.chunks_exact(IMAGE_LEN).enumerate() {
            let lv = &stats[i * 2 * latent + latent..(i + 1) * 2 * latent];
            let log_q_const: f64 = lv.iter().map(|&l| -0.5 * (l as f64 + LN_2PI)).sum();
            for (k, w) in weights.iter_mut().enumerate() {
                let row = i * samples + k;
                let l = &logits[row * IMAGE_LEN..(row + 1) * IMAGE_LEN];
                let log_px: f64 = l.iter().zip(x).map(|(&a, &b)| loss.log_likelihood(a, b)).sum();
                let zk = &z[row * latent..(row + 1) * latent];
                let ek = &eps[row * latent..(row + 1) * latent];
                let log_pz: f64 = zk.iter().map(|&v| -0.5 * ((v as f64).powi(2) + LN_2PI)).sum();
                let log_q: f64 = log_q_const - 0.5 * ek.iter().map(|&v| (v as f64).powi(2)).sum::<f64>();
                *w = log_px + log_pz - log_q;
            }
            total += log_mean_exp(&weights);
        }
    }
    Ok(total)
}

/// ln(2π).
pub const LN_2PI: f64 = 1.837_877_066_409_345_5;

type Batch<T> = Tensor<(usize, usize), f32, Cpu, T>;

fn halves(x: &[f32], latent: usize) -> impl Iterator<Item = (&[f32], &[f32])> {
    x.chunks_exact(2 * latent).map(move |row| row.split_at(latent))
}

/// The reparameterised sample z = μ + exp(½ log σ²)·ε of `stats` = `[batch, 2·latent]`, with
/// `eps` the batch's `[batch, latent]` standard normal draws. Gradients: ∂z/∂μ = 1,
/// ∂z/∂log σ² = ½·exp(½ log σ²)·ε.
pub fn reparameterize<T: Tape<f32, Cpu>>(stats: Batch<T>, eps: &[f32]) -> Result<Batch<T>, NnError> {
    let (b, n) = *stats.shape();
    let latent = n / 2;
    if n % 2 != 0 || eps.len() != b * latent {
        return Err(NnError::Shape(format!("{} noise values for a {b}×{n} mean and log-variance", eps.len())));
    }
    let dev = stats.device().clone();
    let (stats, mut tape) = stats.split_tape();
    let v = stats.as_vec();
    let mut z = Vec::with_capacity(b * latent);
    // ½·σ·ε per element: ∂z/∂log σ².
    let mut slope = Vec::with_capacity(if T::OWNS_TAPE { b * latent } else { 0 });
    for ((mu, lv), e) in halves(&v, latent).zip(eps.chunks_exact(latent.max(1))) {
        for ((&m, &l), &e) in mu.iter().zip(lv).zip(e) {
            let s = (0.5 * l).exp();
            z.push(m + s * e);
            if T::OWNS_TAPE {
                slope.push(0.5 * s * e);
            }
        }
    }
    let y = dev.try_tensor_from_vec(z, (b, latent))?;
    if T::OWNS_TAPE {
        let (sg, yg) = (stats.ghost(), y.ghost());
        tape.add_backward_op(move |grads| {
            let g = grads.get_or_alloc_mut(&yg)?.to_vec();
            let ds = grads.get_or_alloc_mut(&sg)?;
            for ((d, g), k) in
                ds.chunks_exact_mut(2 * latent).zip(g.chunks_exact(latent)).zip(slope.chunks_exact(latent))
            {
                let (dmu, dlv) = d.split_at_mut(latent);
                for i in 0..latent {
                    dmu[i] += g[i];
                    dlv[i] += g[i] * k[i];
                }
            }
            Ok(())
        });
    }
    Ok(y.put_tape(tape))
}

/// KL(N(μ, σ²) ‖ N(0, I)) of one image in nats: −½ Σ_j (1 + log σ²_j − μ_j² − σ²_j).
pub fn image_kl(mu: &[f32], logvar: &[f32]) -> f64 {
    mu.iter()
        .zip(logvar)
        .map(|(&m, &l)| {
            let (m, l) = (m as f64, l as f64);
            -0.5 * (1.0 + l - m * m - l.exp())
        })
        .sum()
}

/// The batch mean of [`image_kl`] as an op on `stats` = `[batch, 2·latent]`. Gradients, per
/// image and divided by the batch size: ∂/∂μ = μ, ∂/∂log σ² = ½(σ² − 1).
pub fn kl_mean<T: Tape<f32, Cpu>>(stats: Batch<T>) -> Result<Tensor<Rank0, f32, Cpu, T>, NnError> {
    let (b, n) = *stats.shape();
    let latent = n / 2;
    if n % 2 != 0 || b == 0 {
        return Err(NnError::Shape(format!("KL of a {b}×{n} mean and log-variance")));
    }
    let dev = stats.device().clone();
    let (stats, mut tape) = stats.split_tape();
    let v = stats.as_vec();
    let value = halves(&v, latent).map(|(mu, lv)| image_kl(mu, lv)).sum::<f64>() / b as f64;
    let out = dev.try_tensor(value as f32)?;
    if T::OWNS_TAPE {
        let inv_b = 1.0 / b as f32;
        let grad: Vec<f32> = halves(&v, latent)
            .flat_map(|(mu, lv)| {
                mu.iter().map(move |&m| m * inv_b).chain(lv.iter().map(move |&l| 0.5 * (l.exp() - 1.0) * inv_b))
            })
            .collect();
        let (sg, og) = (stats.ghost(), out.ghost());
        tape.add_backward_op(move |grads| {
            let scale = grads.get_or_alloc_mut(&og)?[0];
            add_scaled(grads.get_or_alloc_mut(&sg)?, &grad, scale);
            Ok(())
        });
    }
    Ok(out.put_tape(tape))
}

/// log((1/n) Σ e^{x_i}) without overflow, in f64.
pub fn log_mean_exp(xs: &[f64]) -> f64 {
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + (xs.iter().map(|x| (x - max).exp()).sum::<f64>() / xs.len() as f64).ln()
}

/// The codes of a `side × side` picture of a 2-D latent space, row by row (Kingma & Welling,
/// figure 4): evenly spaced probabilities (k + ½)/side mapped through Φ⁻¹, so that each cell
/// covers the same prior mass; z₀ grows to the right, z₁ upwards.
pub fn manifold_codes(side: usize) -> Vec<f32> {
    let q = |k: usize| search::normal_quantile((k as f64 + 0.5) / side as f64) as f32;
    (0..side).flat_map(|r| (0..side).flat_map(move |c| [q(c), q(side - 1 - r)])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{check_gradient, values};

    #[test]
    fn the_kl_closed_form_matches_numerical_integration() {
        // Reference: KL(q ‖ p) = ∫ q(z) log(q(z)/p(z)) dz, per dimension, by the trapezoid rule
        // on ±12σ around μ in f64 (q is negligible beyond).
        let mu = [0.0f32, 1.5, -0.7, 0.2];
        let lv = [0.0f32, -1.0, 0.8, -3.0];
        let mut numeric = 0.0;
        for (&m, &l) in mu.iter().zip(&lv) {
            let (m, s) = (m as f64, (0.5 * l as f64).exp());
            let steps = 200_000;
            let (lo, hi) = (m - 12.0 * s, m + 12.0 * s);
            let dz = (hi - lo) / steps as f64;
            for k in 0..=steps {
                let z = lo + k as f64 * dz;
                let log_q = -0.5 * ((z - m) / s).powi(2) - s.ln() - 0.5 * LN_2PI;
                let log_p = -0.5 * z * z - 0.5 * LN_2PI;
                let w = if k == 0 || k == steps { 0.5 } else { 1.0 };
                numeric += w * dz * log_q.exp() * (log_q - log_p);
            }
        }
        let closed = image_kl(&mu, &lv);
        assert!((closed - numeric).abs() < 1e-6, "closed form {closed} vs integral {numeric}");
        assert_eq!(image_kl(&[0.0; 3], &[0.0; 3]), 0.0, "q = p");

        // The op averages it over the batch.
        let dev = Cpu::default();
        let stats: Vec<f32> = mu.iter().chain(&lv).chain(&[0.0; 8]).copied().collect();
        let t = dev.tensor_from_vec(stats, (2, 8));
        assert!((kl_mean(t).unwrap().array() as f64 - closed / 2.0).abs() < 1e-6);
    }

    #[test]
    fn kl_and_reparameterisation_gradients_match_finite_differences() {
        let dev = Cpu::default();
        let (b, latent) = (3, 2);
        let stats = values(b * 2 * latent, 1, -1.0, 1.0);
        let eps = values(b * latent, 2, -2.0, 2.0);
        let v = values(b * latent, 3, -1.0, 1.0);
        let kl = |s: &[f32]| kl_mean(dev.tensor_from_vec(s.to_vec(), (b, 2 * latent))).unwrap().array() as f64;
        let t = dev.tensor_from_vec(stats.clone(), (b, 2 * latent));
        let g = kl_mean(t.leaky_trace()).unwrap().backward().get(&t).as_vec();
        check_gradient(kl, &stats, &g, 1e-2);

        // L = Σ v·z with z = μ + exp(½ log σ²)·ε.
        let vt = dev.tensor_from_vec(v.clone(), (b, latent));
        let loss = |s: &[f32]| {
            let z = reparameterize(dev.tensor_from_vec(s.to_vec(), (b, 2 * latent)), &eps).unwrap();
            let l: Tensor<Rank0, f32, Cpu> = (z * vt.clone()).sum();
            l.array() as f64
        };
        let z = reparameterize(t.leaky_trace(), &eps).unwrap();
        let g = (z * vt.clone()).sum().backward().get(&t).as_vec();
        check_gradient(loss, &stats, &g, 1e-2);
        // The sample itself: μ + σε.
        let z = reparameterize(t.clone(), &eps).unwrap().as_vec();
        // Image 1, unit 0: its mean is stats[4], its log-variance stats[6].
        let want = stats[4] + (0.5 * stats[6]).exp() * eps[2];
        assert!((z[2] - want).abs() < 1e-6, "{} vs {want}", z[2]);
    }

    #[test]
    fn normal_quantiles_and_the_manifold_grid() {
        // Reference values: scipy.stats.norm.ppf.
        for (p, want) in
            [(0.5, 0.0), (0.975, 1.959_963_984_540_054), (0.01, -2.326_347_874_040_841), (0.999, 3.090_232_306_167_813)]
        {
            let got = search::normal_quantile(p);
            assert!((got - want).abs() < 1e-8, "Φ⁻¹({p}) = {got}, want {want}");
        }
        let g = manifold_codes(3);
        assert_eq!(g.len(), 18);
        // Top-left cell: the lowest z₀ and the highest z₁; the centre is the origin.
        assert!(g[0] < 0.0 && g[1] > 0.0);
        assert_eq!(&g[8..10], &[0.0, 0.0]);
        assert!((g[0] as f64 - search::normal_quantile(1.0 / 6.0)).abs() < 1e-6);
    }

    #[test]
    fn log_mean_exp_is_stable() {
        assert!((log_mean_exp(&[-1000.0, -1000.0]) + 1000.0).abs() < 1e-12);
        assert!((log_mean_exp(&[0.0, 2f64.ln()]) - 1.5f64.ln()).abs() < 1e-12);
    }
}
