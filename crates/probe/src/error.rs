//! Errors of the probe and PCA: each says which input (`train`, `test`, …) is wrong and how.

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProbeError {
    #[error("{what}: features must have at least one dimension")]
    NoFeatures { what: &'static str },

    #[error("{what}: {values} values are not whole rows of {dim} features")]
    Shape { what: &'static str, values: usize, dim: usize },

    #[error("{what}: {rows} rows but {labels} labels")]
    Labels { what: &'static str, rows: usize, labels: usize },

    #[error("{what}: no samples")]
    Empty { what: &'static str },

    #[error("{what}: feature {feature} of row {row} is {value}")]
    NonFinite { what: &'static str, row: usize, feature: usize, value: f64 },

    #[error("{what}: {given} features, but the fit was on {expected}")]
    Dimension { what: &'static str, given: usize, expected: usize },

    #[error("PCA: {components} components asked of {dim}-dimensional data")]
    Components { components: usize, dim: usize },

    #[error("internal error: {0}")]
    Internal(&'static str),

    #[error("PCA: the eigendecomposition of the {dim}×{dim} covariance did not converge")]
    Eigen { dim: usize },
}
