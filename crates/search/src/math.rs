//! Floating-point kernels: exp/ln, the standard normal CDF and its inverse, Gaussian interval masses, truncated
//! normal draws, log-sum-exp, and the unit-interval draw.
//!
//! Every transcendental function the samplers use goes through this file. They come from the `libm` crate (a
//! pure-Rust port of musl's libm), not from std: `f64::exp`/`f64::ln` call the platform's libm (glibc, macOS,
//! ...), whose last bit may differ between libraries and versions, and one ulp in a log-uniform draw is a
//! different configuration. `libm` computes with IEEE-754 basic operations only (its only hardware paths are
//! exactly rounded ones such as sqrt), and Rust never fuses a multiply and an add on its own, so every result
//! here is bit-identical on x86-64 and aarch64. Sums run in a fixed order; nothing runs in parallel.

use rand::Rng;

const FRAC_1_SQRT_2: f64 = std::f64::consts::FRAC_1_SQRT_2;
/// ln √(2π).
pub(crate) const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
/// √(2π).
const SQRT_2PI: f64 = 2.506_628_274_631_000_7;

pub(crate) fn exp(x: f64) -> f64 {
    libm::exp(x)
}

pub(crate) fn ln(x: f64) -> f64 {
    libm::log(x)
}

/// A uniform draw on [0, 1): rand 0.8's `Standard` for f64 (53 random bits × 2^-53), value-stable within 0.8.
pub(crate) fn unit<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    rng.gen::<f64>()
}

/// Φ(z), the standard normal CDF. Each branch uses the form without cancellation: erfc in the tails (accurate
/// relative error down to ~1e-308), erf near 0.
pub(crate) fn ndtr(z: f64) -> f64 {
    let x = z * FRAC_1_SQRT_2;
    if x < -FRAC_1_SQRT_2 {
        0.5 * libm::erfc(-x)
    } else if x < FRAC_1_SQRT_2 {
        0.5 + 0.5 * libm::erf(x)
    } else {
        1.0 - 0.5 * libm::erfc(x)
    }
}

/// P(a ≤ Z ≤ b) for a standard normal Z and a ≤ b, computed on the side where it does not cancel: both ends in
/// the left tail, both in the right (by symmetry), or straddling 0 (erf, whose two terms have opposite signs).
pub(crate) fn gauss_mass(a: f64, b: f64) -> f64 {
    let m = if b <= 0.0 {
        0.5 * (libm::erfc(-b * FRAC_1_SQRT_2) - libm::erfc(-a * FRAC_1_SQRT_2))
    } else if a >= 0.0 {
        0.5 * (libm::erfc(a * FRAC_1_SQRT_2) - libm::erfc(b * FRAC_1_SQRT_2))
    } else {
        0.5 * (libm::erf(b * FRAC_1_SQRT_2) - libm::erf(a * FRAC_1_SQRT_2))
    };
    m.max(0.0)
}

/// Φ⁻¹(p) for p in (0, 1): Acklam's rational approximation (relative error < 1.2e-9) refined by one Halley step
/// against [`ndtr`], which brings it to a few ulps. Computed for p ≤ 1/2 only and mirrored, because 1 − p is
/// exact for p ≥ 1/2 while Φ(x) near 1 is not. Returns ∓∞ at p = 0 or 1, NaN for NaN.
pub(crate) fn ndtri(p: f64) -> f64 {
    if p.is_nan() {
        return f64::NAN;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    if p > 0.5 {
        return -ndtri_lower(1.0 - p);
    }
    ndtri_lower(p)
}

/// [`ndtri`] for p in (0, 1/2].
fn ndtri_lower(p: f64) -> f64 {
    // Coefficients of P. J. Acklam's algorithm ("An algorithm for computing the inverse normal cumulative
    // distribution function", 2003).
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] =
        [7.784_695_709_041_462e-3, 3.224_671_290_700_398e-1, 2.445_134_137_142_996, 3.754_408_661_907_416];
    const P_LOW: f64 = 0.024_25;

    let x = if p < P_LOW {
        let q = (-2.0 * ln(p)).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    // Halley step on Φ(x) − p = 0. x ≤ 0 here, so ndtr(x) is the accurate erfc branch. Far in the tail
    // exp(x²/2) can overflow; the unrefined x is then already as good as f64 allows.
    let e = ndtr(x) - p;
    let u = e * SQRT_2PI * exp(0.5 * x * x);
    let refined = x - u / (1.0 + 0.5 * x * u);
    if refined.is_finite() {
        refined
    } else {
        x
    }
}

/// A standard normal truncated to [a, b] (a < b), by inversion: z = Φ⁻¹(Φ(a) + u·(Φ(b) − Φ(a))) with `u` in
/// [0, 1). Inversion takes exactly one uniform per draw, so the number of draws never depends on the values. The
/// interval is mirrored to put its left end at or below 0, where Φ(a) is accurate.
pub(crate) fn truncnorm_ppf(a: f64, b: f64, u: f64) -> f64 {
    if a > 0.0 {
        return -truncnorm_ppf(-b, -a, 1.0 - u);
    }
    let pa = ndtr(a);
    let pb = ndtr(b);
    let z = ndtri(pa + u * (pb - pa));
    // Rounding may step just outside; max/min rather than clamp, which panics on NaN bounds.
    z.max(a).min(b)
}

/// ln Σ exp(xᵢ), summed in the given order. −∞ terms contribute nothing; all −∞ (or empty) gives −∞.
pub(crate) fn log_sum_exp(xs: &[f64]) -> f64 {
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY || max.is_nan() {
        return max;
    }
    let mut sum = 0.0;
    for &x in xs {
        sum += exp(x - max);
    }
    max + ln(sum)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// Reference values: Φ(z) from the closed form 0.5·erfc(−z/√2) as tabulated (Abramowitz & Stegun 26.2).
    #[test]
    fn ndtr_known_values() {
        assert_eq!(ndtr(0.0), 0.5);
        assert!((ndtr(1.0) - 0.841_344_746_068_542_9).abs() < 1e-15);
        assert!((ndtr(-1.96) - 0.024_997_895_148_220_43).abs() < 1e-16);
        assert!((ndtr(-10.0) / 7.619_853_024_160_593e-24 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn ndtri_inverts_ndtr() {
        for i in 1..2000 {
            let p = i as f64 / 2000.0;
            let x = ndtri(p);
            // What an exact inverse, rounded to f64, would allow: one ulp of x moves Φ by φ(x)·|x|·ε.
            let slack = 4.0 * f64::EPSILON * (p + exp(-0.5 * x * x) / SQRT_2PI * x.abs());
            assert!((ndtr(x) - p).abs() <= slack, "p = {p}: Φ(Φ⁻¹(p)) = {}", ndtr(x));
        }
        for k in 1..300 {
            let p = 10f64.powi(-k);
            let x = ndtri(p);
            assert!((ndtr(x) / p - 1.0).abs() < 1e-12, "p = {p}: x = {x}, Φ(x) = {}", ndtr(x));
        }
        assert_eq!(ndtri(0.5), 0.0);
        assert!((ndtri(0.975) - 1.959_963_984_540_054).abs() < 1e-14);
    }

    #[test]
    fn gauss_mass_matches_cdf_differences_and_symmetry() {
        let pts = [-40.0, -8.0, -3.0, -1.0, -0.2, 0.0, 0.3, 1.5, 4.0, 9.0, 40.0];
        for &a in &pts {
            for &b in &pts {
                if a < b {
                    let m = gauss_mass(a, b);
                    assert!((m - gauss_mass(-b, -a)).abs() <= 1e-16 + 1e-15 * m, "asymmetric at [{a}, {b}]");
                    assert!((m - (ndtr(b) - ndtr(a))).abs() < 1e-15, "[{a}, {b}]");
                }
            }
        }
        // Deep right tail, where Φ(b) − Φ(a) would round to 0: mass of [8, 9] ≈ Φ(−8) − Φ(−9).
        assert!((gauss_mass(8.0, 9.0) / (6.220_960_574_271_819e-16 - 1.128_588_405_953_842e-19) - 1.0).abs() < 1e-10);
    }

    #[test]
    fn truncnorm_stays_inside_and_inverts() {
        for &(a, b) in &[(-1.0, 1.0), (-0.1, 30.0), (-30.0, 0.05), (2.0, 3.0), (-3.0, -2.0), (-100.0, 100.0)] {
            for i in 0..=1000 {
                let u = i as f64 / 1000.0 * (1.0 - f64::EPSILON);
                let z = truncnorm_ppf(a, b, u);
                assert!(z >= a && z <= b, "[{a}, {b}] u = {u}: {z}");
                let back = gauss_mass(a, z) / gauss_mass(a, b);
                assert!((back - u).abs() < 1e-9, "[{a}, {b}] u = {u}: F(z) = {back}");
            }
        }
    }

    #[test]
    fn log_sum_exp_handles_infinities() {
        assert_eq!(log_sum_exp(&[]), f64::NEG_INFINITY);
        assert_eq!(log_sum_exp(&[f64::NEG_INFINITY, f64::NEG_INFINITY]), f64::NEG_INFINITY);
        assert!((log_sum_exp(&[0.0, f64::NEG_INFINITY]) - 0.0).abs() < 1e-15);
        assert!((log_sum_exp(&[1000.0, 1000.0]) - (1000.0 + std::f64::consts::LN_2)).abs() < 1e-12);
    }
}
