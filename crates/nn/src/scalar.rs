//! Scalar formulas shared by the ops, inference and the kinds (a leaf: it uses nothing else).

/// TensorFlow's `sigmoid_cross_entropy_with_logits`: max(x, 0) − x·z + log(1 + e^−|x|).
pub fn bce_with_logits(x: f32, z: f32) -> f32 {
    x.max(0.0) - x * z + (-x.abs()).exp().ln_1p()
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}
