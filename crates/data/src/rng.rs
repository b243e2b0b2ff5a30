//! Seeded random streams: every random draw of the project comes from here.
//!
//! Every stream but the initial weights' comes from [`rng_for`], keyed by (seed, purpose, a, b),
//! so that streams for different purposes or batches are independent and reproducible on every
//! machine (ChaCha8 is specified bit for bit; nothing depends on the platform's `usize` or libm
//! beyond what is noted at [`crate::noise::corrupt`]). The initial weights come from
//! [`weights_rng`], which keeps the older seeding (`seed_from_u64(train.seed)`): changing it would
//! change every recorded result.

use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// The `purpose` argument of [`rng_for`]: one constant per kind of stream, so that, e.g., the
/// shuffle of epoch 3 and the noise of batch 3 never share a stream.
pub mod purpose {
    /// Order of training samples in an epoch: `a` = epoch.
    pub const SHUFFLE: u64 = 1;
    /// Corruption of training inputs: `a` = epoch, `b` = batch index.
    pub const TRAIN_NOISE: u64 = 2;
    /// Corruption of test inputs, the same in every epoch: `a` = batch index (or sample index).
    pub const TEST_NOISE: u64 = 3;
    // 4 was reserved for the initial weights, which come from `weights_rng` instead; left unused
    // so that no stream of another purpose takes its keys.
    /// Synthetic images: `a` = split, `b` = image index.
    pub const SYNTHETIC: u64 = 5;
    /// Free for callers that need a stream of their own (e.g. choosing images to show).
    pub const OTHER: u64 = 6;
    /// A VAE's reparameterisation draws ε in training: `a` = epoch, `b` = batch index.
    pub const LATENT_NOISE: u64 = 7;
    /// The contractive penalty's Hutchinson probes: `a` = epoch, `b` = batch index.
    pub const JACOBIAN_PROBES: u64 = 8;
    /// A VAE's draws on the test set, the same in every epoch: `a` = image index, `b` = 0 for the
    /// ELBO's sample, 1 for the likelihood estimate's importance samples.
    pub const TEST_LATENT_NOISE: u64 = 9;
    /// Codes drawn from a VAE's prior for pictures (`samples.png`, `runner sample`): `a` = 0.
    pub const PRIOR_SAMPLES: u64 = 10;
    /// Corruption of training inputs in a stacked run's pre-training: `a` = epoch, `b` = phase
    /// · 2³² + batch index.
    pub const PRETRAIN_NOISE: u64 = 11;
    /// A search's proposals: `seed` = the search's own seed, `a` = the trial index (one stream per
    /// trial, so that a proposal never depends on how many draws another one took).
    pub const SEARCH: u64 = 12;
}

/// The stream of a model's initial weights (Keras' glorot-uniform kernels, drawn layer by layer
/// in the model's parameter order): ChaCha8 seeded by `seed_from_u64(train.seed)`.
pub fn weights_rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// One step of SplitMix64's output function. It is a bijection on u64, so distinct inputs give
/// distinct outputs.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce5_e4b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The random stream for (`seed`, `purpose`, `a`, `b`). Each of the four words is mixed by
/// [`splitmix64`] into its own quarter of the 256-bit ChaCha key, so distinct tuples always give
/// distinct keys (streams cannot collide), while the mixing spreads small numbers like epoch 1
/// and epoch 2 over the whole word.
pub fn rng_for(seed: u64, purpose: u64, a: u64, b: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    // Distinct offsets per position so that (x, y) and (y, x) do not give swapped-but-related keys.
    let words = [seed, purpose ^ 0x5555_5555_5555_5555, a ^ 0xaaaa_aaaa_aaaa_aaaa, b ^ 0x3333_3333_3333_3333];
    for (chunk, w) in key.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&splitmix64(w).to_le_bytes());
    }
    ChaCha8Rng::from_seed(key)
}

/// Fills `out` with standard normal draws, each drawn in f64 (see [`corrupt`]) and rounded to f32.
pub fn standard_normal(rng: &mut ChaCha8Rng, out: &mut [f32]) {
    for v in out {
        *v = rng.sample::<f64, _>(StandardNormal) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let first = |s, p, a, b| rng_for(s, p, a, b).next_u64();
        assert_eq!(first(1, 2, 3, 4), first(1, 2, 3, 4));
        let all = [
            first(1, 2, 3, 4),
            first(1, 2, 4, 3),
            first(1, 3, 3, 4),
            first(2, 2, 3, 4),
            first(1, 2, 3, 5),
            first(0, 0, 0, 0),
        ];
        for (i, x) in all.iter().enumerate() {
            for y in all.iter().skip(i + 1) {
                assert_ne!(x, y);
            }
        }
    }

    #[test]
    fn the_stream_of_a_key_is_fixed_across_machines_and_versions() {
        // Pinned: if this changes, every seeded result of the project changes with it.
        let mut r = rng_for(42, purpose::SHUFFLE, 0, 0);
        let v: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
        assert_eq!(v, PINNED);
    }
    const PINNED: [u64; 3] = [10_346_466_643_800_187_536, 5_873_023_264_473_713_038, 2_162_987_372_138_231_524];

    #[test]
    fn splitmix_is_the_reference_function() {
        // First output of Vigna's splitmix64.c seeded with 0 (computed independently).
        assert_eq!(splitmix64(0), 0x78cd_3d51_651e_236a);
    }

    #[test]
    fn standard_normal_draws_have_mean_0_and_variance_1() {
        let mut out = vec![0.0f32; 200_000];
        standard_normal(&mut rng_for(1, purpose::LATENT_NOISE, 0, 0), &mut out);
        let n = out.len() as f64;
        let mean = out.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = out.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 0.01 && (var - 1.0).abs() < 0.01, "{mean} {var}");
    }
}
