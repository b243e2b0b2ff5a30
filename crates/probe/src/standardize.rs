//! Standardisation: each feature centred on its training mean and divided by its training
//! standard deviation, so that the probe's single L2 weight means the same for every feature and
//! every representation (pixels in [0, 1], codes of any scale).

use crate::error::ProbeError;

/// Rows of a feature matrix after checking that `x` holds whole rows of finite values.
pub(crate) fn rows(what: &'static str, x: &[f32], dim: usize) -> Result<usize, ProbeError> {
    if dim == 0 {
        return Err(ProbeError::NoFeatures { what });
    }
    if !x.len().is_multiple_of(dim) {
        return Err(ProbeError::Shape { what, values: x.len(), dim });
    }
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(ProbeError::NonFinite { what, row: i / dim, feature: i % dim, value: f64::from(x[i]) });
    }
    Ok(x.len() / dim)
}

/// Per-feature mean and scale, fitted on training features.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    pub mean: Vec<f64>,
    /// The population standard deviation, or 1 for a feature that is constant on the training
    /// set (it becomes 0 everywhere there, instead of noise blown up by a tiny divisor).
    pub scale: Vec<f64>,
}

impl Standardizer {
    /// Means and standard deviations of `x` (`n × dim`, row-major), two passes in f64, rows
    /// added in order (deterministic; 60,000 × 784 takes well under a second).
    pub fn fit(x: &[f32], dim: usize) -> Result<Self, ProbeError> {
        let n = rows("training features", x, dim)?;
        if n == 0 {
            return Err(ProbeError::Empty { what: "training features" });
        }
        let mut mean = vec![0.0f64; dim];
        for row in x.chunks_exact(dim) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += f64::from(v);
            }
        }
        for m in &mut mean {
            *m /= n as f64;
        }
        let mut var = vec![0.0f64; dim];
        for row in x.chunks_exact(dim) {
            for ((s, &v), m) in var.iter_mut().zip(row).zip(&mean) {
                let d = f64::from(v) - m;
                *s += d * d;
            }
        }
        let scale = var
            .iter()
            .zip(&mean)
            .map(|(s, m)| {
                let std = (s / n as f64).sqrt();
                // A constant feature still shows a spread of a few ulps from rounding the mean.
                if std > CONSTANT * (1.0 + m.abs()) {
                    std
                } else {
                    1.0
                }
            })
            .collect();
        Ok(Self { mean, scale })
    }

    /// `(x − mean) / scale` as f64, `n × dim` row-major.
    pub fn apply(&self, what: &'static str, x: &[f32]) -> Result<Vec<f64>, ProbeError> {
        let dim = self.mean.len();
        rows(what, x, dim)?;
        let inv: Vec<f64> = self.scale.iter().map(|s| 1.0 / s).collect();
        let mut out = Vec::with_capacity(x.len());
        for row in x.chunks_exact(dim) {
            out.extend(row.iter().zip(&self.mean).zip(&inv).map(|((&v, m), i)| (f64::from(v) - m) * i));
        }
        Ok(out)
    }
}

/// Relative spread below which a feature counts as constant.
const CONSTANT: f64 = 1e-9;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_get_zero_mean_and_unit_variance_and_constant_ones_become_zero() {
        // Column 0: 1, 2, 3, 4 (mean 2.5, population std sqrt(1.25)); column 1: constant 0.3.
        let x = [1.0, 0.3, 2.0, 0.3, 3.0, 0.3, 4.0, 0.3];
        let s = Standardizer::fit(&x, 2).unwrap();
        assert_eq!(s.mean[0], 2.5);
        assert!((s.scale[0] - 1.25f64.sqrt()).abs() < 1e-15);
        assert_eq!(s.scale[1], 1.0);
        let z = s.apply("test", &x).unwrap();
        assert!((z[0] + 1.5 / 1.25f64.sqrt()).abs() < 1e-12);
        assert!(z.iter().skip(1).step_by(2).all(|v| v.abs() < 1e-7), "{z:?}");
        let col0: f64 = z.iter().step_by(2).map(|v| v * v).sum::<f64>() / 4.0;
        assert!((col0 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn bad_inputs_are_named() {
        assert!(matches!(Standardizer::fit(&[1.0, 2.0, 3.0], 2), Err(ProbeError::Shape { values: 3, dim: 2, .. })));
        assert!(matches!(Standardizer::fit(&[], 2), Err(ProbeError::Empty { .. })));
        let e = Standardizer::fit(&[1.0, f32::NAN, 0.0, 0.0], 2).unwrap_err().to_string();
        assert_eq!(e, "training features: feature 1 of row 0 is NaN");
        let s = Standardizer::fit(&[1.0, 2.0], 2).unwrap();
        assert!(s.apply("test features", &[1.0, 2.0, 3.0]).unwrap_err().to_string().starts_with("test features"));
    }
}
