//! Input corruption for denoising auto-encoders: each [`Noise`] applied to a clean batch with a
//! caller-chosen stream (see [`crate::rng`]).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use spec::Noise;

/// Writes a corrupted copy of `clean` into `out` (pixels in [0, 1]; the two slices should have
/// the same length, extra elements of either are left alone).
///
/// - `Gaussian`: adds `std × z`, z drawn from `StandardNormal` in **f64**, then clips to [0, 1].
///   (rand_distr's ziggurat calls `exp`/`ln` for about 1% of draws; those are the only floating
///   point operations here that are not exactly specified by IEEE 754.)
/// - `Masking`: sets each pixel to 0 with probability `p`.
/// - `SaltPepper`: with probability `p` sets a pixel to 0 or 1, equally likely.
/// - `None`, or a level that is not a positive finite number (spec refuses such levels; this only
///   keeps the function total): copies the input.
pub fn corrupt(noise: &Noise, clean: &[f32], out: &mut [f32], rng: &mut ChaCha8Rng) {
    let pairs = out.iter_mut().zip(clean);
    // A level that corrupts nothing (none, 0, or not a number) copies the input.
    if !noise.level().is_some_and(|level| level.is_finite() && level > 0.0) {
        pairs.for_each(|(o, &c)| *o = c);
        return;
    }
    // Every variant by name, no catch-all: a new noise kind does not compile until it has its
    // corruption here. (`None` has no level: it returned above.)
    match *noise {
        Noise::None => {}
        Noise::Gaussian { std } => {
            for (o, &c) in pairs {
                let z: f64 = rng.sample(StandardNormal);
                *o = (f64::from(c) + std * z).clamp(0.0, 1.0) as f32;
            }
        }
        Noise::Masking { p } => {
            for (o, &c) in pairs {
                *o = if rng.gen::<f64>() < p { 0.0 } else { c };
            }
        }
        Noise::SaltPepper { p } => {
            for (o, &c) in pairs {
                *o = if rng.gen::<f64>() < p {
                    if rng.gen::<bool>() {
                        1.0
                    } else {
                        0.0
                    }
                } else {
                    c
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{purpose, rng_for};

    fn grey(n: usize) -> Vec<f32> {
        vec![0.5; n]
    }

    #[test]
    fn masking_fraction_is_near_level() {
        let clean = vec![1.0f32; 200_000];
        let mut out = vec![0.0; clean.len()];
        for level in [0.1, 0.5, 0.9] {
            corrupt(&Noise::Masking { p: level }, &clean, &mut out, &mut rng_for(7, purpose::TRAIN_NOISE, 0, 0));
            let zeroed = out.iter().filter(|&&v| v == 0.0).count() as f64 / out.len() as f64;
            assert!((zeroed - level).abs() < 0.005, "level {level}: {zeroed}");
            assert!(out.iter().all(|&v| v == 0.0 || v == 1.0));
        }
    }

    #[test]
    fn gaussian_residual_std_is_near_level() {
        let clean = grey(200_000);
        let mut out = vec![0.0; clean.len()];
        // Small enough that clipping at 0 and 1 (3.3 σ away from 0.5) barely matters.
        let level = 0.15;
        corrupt(&Noise::Gaussian { std: level }, &clean, &mut out, &mut rng_for(7, purpose::TRAIN_NOISE, 0, 1));
        let n = out.len() as f64;
        let mean = out.iter().map(|&v| f64::from(v) - 0.5).sum::<f64>() / n;
        let std = (out.iter().map(|&v| (f64::from(v) - 0.5 - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!(mean.abs() < 0.002, "{mean}");
        assert!((std - level).abs() < 0.003, "{std}");
    }

    #[test]
    fn gaussian_output_is_clipped() {
        let clean = grey(10_000);
        let mut out = vec![0.0; clean.len()];
        corrupt(&Noise::Gaussian { std: 2.0 }, &clean, &mut out, &mut rng_for(1, 2, 3, 4));
        assert!(out.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(out.contains(&0.0) && out.contains(&1.0));
    }

    #[test]
    fn salt_pepper_sets_a_level_fraction_to_zero_or_one_evenly() {
        let clean = grey(200_000);
        let mut out = vec![0.0; clean.len()];
        corrupt(&Noise::SaltPepper { p: 0.3 }, &clean, &mut out, &mut rng_for(3, 2, 0, 0));
        let n = out.len() as f64;
        let salt = out.iter().filter(|&&v| v == 1.0).count() as f64 / n;
        let pepper = out.iter().filter(|&&v| v == 0.0).count() as f64 / n;
        assert!((salt - 0.15).abs() < 0.005 && (pepper - 0.15).abs() < 0.005, "{salt} {pepper}");
        assert!(out.iter().all(|&v| v == 0.0 || v == 0.5 || v == 1.0));
    }

    #[test]
    fn same_stream_same_output_other_stream_other_output() {
        let clean: Vec<f32> = (0..784).map(|i| (i % 256) as f32 / 255.0).collect();
        for &kind in spec::NoiseKind::ALL {
            let noise = kind.with_level(0.3).unwrap();
            let run = |b| {
                let mut out = vec![0.0; clean.len()];
                corrupt(&noise, &clean, &mut out, &mut rng_for(9, purpose::TRAIN_NOISE, 1, b));
                out
            };
            assert_eq!(run(0), run(0), "{kind}");
            assert_ne!(run(0), run(1), "{kind}");
            assert_ne!(run(0), clean, "{kind}");
        }
    }

    #[test]
    fn a_meaningless_level_copies_the_input() {
        let clean = grey(100);
        let mut out = vec![0.0; 100];
        for level in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            corrupt(&Noise::Gaussian { std: level }, &clean, &mut out, &mut rng_for(0, 0, 0, 0));
            assert_eq!(out, clean);
        }
    }
}
