//! Checkpoints in safetensors: one float32 tensor per parameter, named and shaped as Keras names
//! and shapes them (`encoder.conv1.kernel` `(3, 3, 1, 32)`, …), plus metadata that says how to
//! rebuild the model (architecture, latent size, hidden widths, the encoder's head). Python's `safetensors.numpy.load_file` reads them directly.

use crate::error::NnError;
use crate::model::{Architecture, Head, Model, ModelSpec};
use dfdx::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use safetensors::{tensor::TensorView, Dtype, SafeTensors};
use std::collections::HashMap;
use std::path::Path;

/// Written into every checkpoint's metadata under `format`.
pub const FORMAT: &str = "ae-sweep-checkpoint/1";

/// Saves the model's parameters and `extra` metadata, atomically (the `atomic-file` crate).
pub fn save(model: &Model, path: &Path, extra: &[(&str, String)]) -> Result<(), NnError> {
    let err = |message: String| NnError::Checkpoint { file: path.to_path_buf(), message };
    let spec = model.spec();
    let mut meta: HashMap<String, String> = HashMap::new();
    meta.insert("format".into(), FORMAT.into());
    meta.insert(
        "architecture".into(),
        match spec.architecture {
            Architecture::Conv => "conv",
            Architecture::Dense => "dense",
        }
        .into(),
    );
    meta.insert("latent_dim".into(), spec.latent_dim.to_string());
    meta.insert("hidden".into(), spec.hidden.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(","));
    meta.insert("head".into(), spec.head.name().into());
    for (k, v) in extra {
        meta.insert((*k).to_string(), v.clone());
    }
    let params = model.params();
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = params
        .iter()
        .map(|p| (p.name.clone(), p.shape.clone(), p.tensor.as_vec().iter().flat_map(|v| v.to_le_bytes()).collect()))
        .collect();
    let mut views = Vec::new();
    for (name, shape, data) in &bytes {
        views.push((name.clone(), TensorView::new(Dtype::F32, shape.clone(), data).map_err(|e| err(e.to_string()))?));
    }
    let out = safetensors::serialize(views, Some(meta)).map_err(|e| err(e.to_string()))?;
    atomic_file::write(path, &out).map_err(|e| err(format!("cannot write: {e}")))
}

/// Loads a checkpoint written by [`save`]: rebuilds the model from its metadata, fills its
/// parameters, and returns the metadata too.
pub fn load(dev: &Cpu, path: &Path) -> Result<(Model, HashMap<String, String>), NnError> {
    let err = |message: String| NnError::Checkpoint { file: path.to_path_buf(), message };
    let bytes = std::fs::read(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| err(format!("not a safetensors file: {e}")))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let get = |k: &str| {
        meta.get(k).cloned().ok_or_else(|| err(format!("metadata has no `{k}`; not written by this program?")))
    };
    let architecture = match get("architecture")?.as_str() {
        "conv" => Architecture::Conv,
        "dense" => Architecture::Dense,
        other => return Err(err(format!("unknown architecture `{other}`"))),
    };
    let latent_dim = get("latent_dim")?.parse().map_err(|_| err("latent_dim is not a number".into()))?;
    let hidden = get("hidden")?
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| err(format!("hidden width `{s}` is not a number"))))
        .collect::<Result<Vec<usize>, _>>()?;
    // Checkpoints written before heads existed have a linear code.
    let head = match meta.get("head") {
        None => Head::Linear,
        Some(h) => Head::parse(h).ok_or_else(|| err(format!("unknown head `{h}`")))?,
    };
    // The initial draws are overwritten by the file's weights: any stream will do.
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut model = Model::new(dev, &ModelSpec { architecture, latent_dim, hidden, head }, &mut rng)
        .map_err(|e| err(format!("its metadata describes no valid model: {e}")))?;
    load_weights(&mut model, &bytes, path)?;
    Ok((model, meta))
}

/// Fills every parameter of `model` from the tensor of the same name in safetensors `bytes`
/// (extra tensors are ignored; a missing one or a shape mismatch is an error).
pub fn load_weights(model: &mut Model, bytes: &[u8], path: &Path) -> Result<(), NnError> {
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| NnError::Checkpoint { file: path.to_path_buf(), message: e.to_string() })?;
    for p in model.params_mut() {
        let (shape, values) = read_f32(&st, &p.name, path)?;
        if shape != p.shape {
            return Err(NnError::Checkpoint {
                file: path.to_path_buf(),
                message: format!("`{}` has shape {shape:?}, the model needs {:?}", p.name, p.shape),
            });
        }
        p.set(&values)?;
    }
    Ok(())
}

/// Reads a float32 tensor by name: its shape and values.
pub fn read_f32(st: &SafeTensors<'_>, name: &str, path: &Path) -> Result<(Vec<usize>, Vec<f32>), NnError> {
    let err = |message: String| NnError::Checkpoint { file: path.to_path_buf(), message };
    let t = st.tensor(name).map_err(|_| err(format!("has no tensor `{name}`")))?;
    if t.dtype() != Dtype::F32 {
        return Err(err(format!("`{name}` is {:?}, expected F32", t.dtype())));
    }
    let values = t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    Ok((t.shape().to_vec(), values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_then_load_gives_the_same_model() {
        let dev = Cpu::default();
        let dir = tempfile::tempdir().unwrap();
        for spec in [
            ModelSpec::plain(Architecture::Conv, 5, vec![]),
            ModelSpec::plain(Architecture::Dense, 3, vec![20, 10]),
            ModelSpec { architecture: Architecture::Conv, latent_dim: 4, hidden: vec![], head: Head::Gaussian },
            ModelSpec { architecture: Architecture::Dense, latent_dim: 2, hidden: vec![8], head: Head::Sigmoid },
        ] {
            let m = Model::new(&dev, &spec, &mut ChaCha8Rng::seed_from_u64(7)).unwrap();
            let path = dir.path().join("m.safetensors");
            save(&m, &path, &[("run_id", "abc".into())]).unwrap();
            let (back, meta) = load(&dev, &path).unwrap();
            assert_eq!(back.spec(), spec);
            assert_eq!(meta["run_id"], "abc");
            for (a, b) in m.params().iter().zip(back.params()) {
                assert_eq!(a.name, b.name);
                assert_eq!(a.tensor.as_vec(), b.tensor.as_vec());
            }
        }
    }

    #[test]
    fn bad_checkpoints_are_named_errors() {
        let dev = Cpu::default();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.safetensors");
        std::fs::write(&path, b"not a checkpoint").unwrap();
        let e = load(&dev, &path).unwrap_err().to_string();
        assert!(e.contains("bad.safetensors") && e.contains("not a safetensors"), "{e}");
        let e = load(&dev, &dir.path().join("missing.safetensors")).unwrap_err().to_string();
        assert!(e.contains("missing.safetensors"), "{e}");
    }
}
