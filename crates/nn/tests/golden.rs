//! Golden test: the tutorial model, loaded with TensorFlow/Keras weights, must reproduce what
//! TensorFlow 2.21 / Keras 3.15 computed (`tests/golden/README.md`): latent codes,
//! reconstructions, BCE, MSE and the BCE gradient of every weight — on the CPU device (the fast
//! kernels) and through the device-generic path (`Device::GenericCpu`; and `Device::Cuda` in a
//! build with the `cuda` feature, which then needs a GPU).
//!
//! Runs over every `.safetensors` file in `tests/golden/` (the vectors live in the repository, so
//! the test needs nothing outside the clone) and in each directory of `$AE_GOLDEN_DIR` (a list
//! separated like `PATH`; a relative path is taken from the workspace root): a file there adds a
//! vector, or replaces the repository's vector of the same name. It fails, rather than skips,
//! when a directory is unreadable or no vector is found.
//!
//! Tolerance: `|ours − tf| ≤ 1e-4 · max|tf|` per tensor (numpy's `allclose` with rtol 0 and
//! atol 1e-4 of the tensor's scale), and 1e-4 relative for the scalar losses. Both sides are
//! float32 with different summation orders (gemm blocking vs. oneDNN); measured differences are
//! ~1e-6 of scale, so 1e-4 leaves margin across instruction sets while still failing on any
//! layout, padding or formula mistake (those give errors of order 1e-1 or more).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test may stop at a broken assumption

use nn::checkpoint::{load_weights, read_f32};
use nn::{Architecture, Device, LossKind, Model, ModelSpec, OptimizerKind, Trainer};
use rand::SeedableRng;
use safetensors::SafeTensors;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const TOL: f64 = 1e-4;

/// The vector files by name: the repository's, then those of `$AE_GOLDEN_DIR`'s directories.
fn golden_files() -> BTreeMap<String, PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.join("../..");
    let mut dirs = vec![manifest.join("tests/golden")];
    if let Some(extra) = std::env::var_os("AE_GOLDEN_DIR") {
        dirs.extend(std::env::split_paths(&extra).map(|d| if d.is_absolute() { d } else { root.join(d) }));
    }
    let mut files = BTreeMap::new();
    for dir in dirs {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("golden directory {}: {e}", dir.display()));
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if path.extension().is_some_and(|x| x == "safetensors") {
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                files.insert(name, path);
            }
        }
    }
    files
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
    let files = golden_files();
    assert!(files.len() >= 2, "expected the repository's two golden vectors at least, found {files:?}");

    let mut devices = vec![Device::Cpu, Device::GenericCpu];
    if nn::cuda_compiled() {
        devices.push(Device::Cuda);
    }
    let mut report = Vec::new();
    for (device, file) in devices.iter().flat_map(|d| files.values().map(move |f| (*d, f))) {
        let bytes = std::fs::read(file).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let get = |name: &str| read_f32(&st, name, file).unwrap();
        let latent = get("encoder.dense.kernel").0[1];
        let spec = ModelSpec::plain(Architecture::Conv, latent, vec![]);
        let mut model = Model::new(device, &spec, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0)).unwrap();
        load_weights(&mut model, &bytes, file).unwrap();

        let (_, input) = get("input");
        let name = format!("{device} {}", file.file_name().unwrap().to_string_lossy());
        let mut check = |what: &str, err: f64| {
            report.push(format!("{name} {what}: {err:.2e}"));
            assert!(
                err <= TOL,
                "{name}: `{what}` differs from TensorFlow by {err:.3e} of its scale (tolerance {TOL:e})"
            );
        };
        check("latent", scaled_error(&model.encode_all(&input).unwrap(), &get("latent").1));
        check("output", scaled_error(&model.reconstruct(&input, None).unwrap(), &get("output").1));
        let sums = model.evaluate(&input, &input, None).unwrap();
        let (bce, mse) = (get("bce").1[0] as f64, get("mse").1[0] as f64);
        check("bce", (sums.bce_mean() - bce).abs() / bce);
        check("mse", (sums.mse_mean() - mse).abs() / mse);
        // The gradients are a training step's (the trainer's optimizer is never used here).
        let trainer = Trainer::new(model, LossKind::Bce, OptimizerKind::adam(1e-4));
        let (loss, grads) = trainer.gradients(&input, &input, &[]).unwrap();
        check("bce (training loss)", (loss.total() as f64 - bce).abs() / bce);
        for (p, g) in trainer.model.weights().iter().zip(&grads) {
            let (shape, tf) = get(&format!("grad.{}", p.name));
            assert_eq!(shape, p.shape, "grad.{} shape", p.name);
            check(&format!("grad.{}", p.name), scaled_error(g, &tf));
        }
    }
    eprintln!("{}", report.join("\n"));
}
