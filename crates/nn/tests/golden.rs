//! Golden test: the tutorial model, loaded with TensorFlow/Keras weights, must reproduce what
//! TensorFlow 2.21 / Keras 3.15 computed (`../shared/golden/README.md`): latent codes,
//! reconstructions, BCE, MSE and the BCE gradient of every weight.
//!
//! Runs over every `.safetensors` file in `$AE_GOLDEN_DIR` (a relative path is taken from the
//! workspace root; default `../shared/golden`, beside the project's root). It fails, rather
//! than skips, when that directory holds no vector.
//!
//! Tolerance: `|ours − tf| ≤ 1e-4 · max|tf|` per tensor (numpy's `allclose` with rtol 0 and
//! atol 1e-4 of the tensor's scale), and 1e-4 relative for the scalar losses. Both sides are
//! float32 with different summation orders (gemm blocking vs. oneDNN); measured differences are
//! ~1e-6 of scale, so 1e-4 leaves margin across instruction sets while still failing on any
//! layout, padding or formula mistake (those give errors of order 1e-1 or more).

use dfdx::prelude::*;
use nn::checkpoint::{load_weights, read_f32};
use nn::{Architecture, LossKind, Model, ModelSpec, OptimizerKind, Trainer};
use safetensors::SafeTensors;
use std::path::{Path, PathBuf};

const TOL: f64 = 1e-4;

fn golden_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    match std::env::var_os("AE_GOLDEN_DIR") {
        Some(d) if Path::new(&d).is_absolute() => PathBuf::from(d),
        Some(d) => root.join(d),
        None => root.join("../shared/golden"),
    }
}

/// Max absolute difference relative to the reference's largest magnitude.
fn scaled_error(ours: &[f32], tf: &[f32]) -> f64 {
    assert_eq!(ours.len(), tf.len());
    let scale = tf.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64)).max(1e-30);
    let worst = ours.iter().zip(tf).fold(0.0f64, |m, (a, b)| m.max((*a as f64 - *b as f64).abs()));
    worst / scale
}

#[test]
fn golden_vectors_reproduce_tensorflow() {
    let dir = golden_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("golden directory {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no golden vectors (*.safetensors) in {}", dir.display());

    let dev = Cpu::default();
    let mut report = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let get = |name: &str| read_f32(&st, name, file).unwrap();
        let latent = get("encoder.dense.kernel").0[1];
        let spec = ModelSpec::plain(Architecture::Conv, latent, vec![]);
        let mut model = Model::new(&dev, &spec, 0).unwrap();
        load_weights(&mut model, &bytes, file).unwrap();
        let trainer = Trainer::new(dev.clone(), model, LossKind::Bce, OptimizerKind::adam(1e-4));

        let (_, input) = get("input");
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let mut check = |what: &str, err: f64| {
            report.push(format!("{name} {what}: {err:.2e}"));
            assert!(
                err <= TOL,
                "{name}: `{what}` differs from TensorFlow by {err:.3e} of its scale (tolerance {TOL:e})"
            );
        };
        check("latent", scaled_error(&trainer.encode(&input).unwrap(), &get("latent").1));
        check("output", scaled_error(&trainer.reconstruct(&input).unwrap(), &get("output").1));
        let sums = trainer.evaluate(&input, &input).unwrap();
        let (bce, mse) = (get("bce").1[0] as f64, get("mse").1[0] as f64);
        check("bce", (sums.bce_mean() - bce).abs() / bce);
        check("mse", (sums.mse_mean() - mse).abs() / mse);
        let (loss, grads) = trainer.gradients(&input, &input).unwrap();
        check("bce (training loss)", (loss as f64 - bce).abs() / bce);
        for (p, g) in trainer.model.params().iter().zip(&grads) {
            let (shape, tf) = get(&format!("grad.{}", p.name));
            assert_eq!(shape, p.shape, "grad.{} shape", p.name);
            check(&format!("grad.{}", p.name), scaled_error(g, &tf));
        }
    }
    eprintln!("{}", report.join("\n"));
}
