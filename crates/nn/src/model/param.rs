//! Trainable parameters: a name, a Keras-layout shape and a flat dfdx tensor.
//!
//! Parameters are stored flat (`(usize,)`) and reshaped where an op needs a matrix: a contiguous
//! reshape keeps the tensor's id, so gradients still land on the parameter.

use crate::error::NnError;
use dfdx::prelude::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone)]
pub struct Param {
    /// Checkpoint name, e.g. `encoder.conv1.kernel`.
    pub name: String,
    /// Shape in Keras' layout, e.g. `(3, 3, 1, 32)` for a `Conv2D` kernel.
    pub shape: Vec<usize>,
    pub tensor: Tensor<(usize,), f32, Cpu>,
}

impl Param {
    pub fn zeros(dev: &Cpu, name: impl Into<String>, shape: &[usize]) -> Self {
        let n = shape.iter().product();
        Self { name: name.into(), shape: shape.to_vec(), tensor: dev.zeros_like(&(n,)) }
    }

    /// Keras' `glorot_uniform`: U(−l, l) with l = √(6 / (fan_in + fan_out)), the fans computed as
    /// Keras' `compute_fans` does (receptive field × the last two dimensions).
    pub fn glorot(dev: &Cpu, name: impl Into<String>, shape: &[usize], rng: &mut ChaCha8Rng) -> Self {
        let (fan_in, fan_out) = fans(shape);
        let limit = (6.0 / (fan_in + fan_out).max(1) as f64).sqrt() as f32;
        let n: usize = shape.iter().product();
        let values: Vec<f32> = (0..n).map(|_| rng.gen_range(-limit..limit)).collect();
        Self { name: name.into(), shape: shape.to_vec(), tensor: dev.tensor_from_vec(values, (n,)) }
    }

    pub fn len(&self) -> usize {
        self.tensor.shape().0
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Replaces the values (same count), e.g. from a checkpoint.
    pub fn set(&mut self, values: &[f32]) -> Result<(), NnError> {
        if values.len() != self.len() {
            return Err(NnError::Shape(format!(
                "{}: {} values given, {} expected",
                self.name,
                values.len(),
                self.len()
            )));
        }
        self.tensor.copy_from(values);
        Ok(())
    }
}

fn fans(shape: &[usize]) -> (usize, usize) {
    match shape {
        [] => (1, 1),
        [n] => (*n, *n),
        [a, b] => (*a, *b),
        [rest @ .., i, o] => {
            let receptive: usize = rest.iter().product();
            (i * receptive, o * receptive)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn glorot_limits_follow_keras() {
        // Keras: Conv2D(32, 3) on 1 channel → kernel (3,3,1,32): fan_in 9, fan_out 288.
        assert_eq!(fans(&[3, 3, 1, 32]), (9, 288));
        assert_eq!(fans(&[1152, 100]), (1152, 100));
        let dev = Cpu::default();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let p = Param::glorot(&dev, "k", &[3, 3, 1, 32], &mut rng);
        let limit = (6.0f32 / 297.0).sqrt();
        let v = p.tensor.as_vec();
        assert!(v.iter().all(|x| x.abs() <= limit));
        assert!(v.iter().any(|x| x.abs() > 0.9 * limit), "values spread over the range");
    }
}
