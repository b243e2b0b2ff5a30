//! Checkpoints in safetensors: one float32 tensor per parameter, named and shaped as Keras names
//! and shapes them (`encoder.conv1.kernel` `(3, 3, 1, 32)`, …), plus metadata that says how to
//! rebuild the model (architecture, latent size, hidden widths, the encoder's head). Python's
//! `safetensors.numpy.load_file` reads them directly. A checkpoint holds values only, so one
//! written from a model on any [`Device`] loads onto any other.

use crate::device::Device;
use crate::error::NnError;
use crate::model::{Architecture, CpuModel, Head, ModelSpec};
use crate::on_device::Model;
use dfdx::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use safetensors::{tensor::TensorView, Dtype, SafeTensors};
use std::collections::HashMap;
use std::path::Path;

/// Written into every checkpoint's metadata under `format`.
pub const FORMAT: &str = "ae-sweep-checkpoint/1";

/// The metadata that says how to rebuild a model: architecture, latent size, hidden widths, head.
pub(crate) fn model_metadata(spec: &ModelSpec) -> HashMap<String, String> {
    let mut meta: HashMap<String, String> = HashMap::new();
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
    meta
}

/// The model [`model_metadata`] describes; `err` names the file.
pub(crate) fn spec_from_metadata(
    meta: &HashMap<String, String>,
    err: impl Fn(String) -> NnError,
) -> Result<ModelSpec, NnError> {
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
    Ok(ModelSpec { architecture, latent_dim, hidden, head })
}

/// The safetensors bytes of `tensors` (name, shape, values) with `meta`.
pub(crate) fn serialize(
    tensors: &[(String, Vec<usize>, &[f32])],
    meta: HashMap<String, String>,
    err: impl Fn(String) -> NnError,
) -> Result<Vec<u8>, NnError> {
    let bytes: Vec<Vec<u8>> =
        tensors.iter().map(|(_, _, v)| v.iter().flat_map(|x| x.to_le_bytes()).collect()).collect();
    let mut views = Vec::new();
    for ((name, shape, _), data) in tensors.iter().zip(&bytes) {
        views.push((name.clone(), TensorView::new(Dtype::F32, shape.clone(), data).map_err(|e| err(e.to_string()))?));
    }
    safetensors::serialize(views, Some(meta)).map_err(|e| err(e.to_string()))
}

/// Saves the model's parameters (from whichever device holds them) and `extra` metadata,
/// atomically (the `atomic-file` crate).
pub fn save(model: &Model, path: &Path, extra: &[(&str, String)]) -> Result<(), NnError> {
    let err = |message: String| NnError::Checkpoint { file: path.to_path_buf(), message };
    let mut meta = model_metadata(&model.spec());
    meta.insert("format".into(), FORMAT.into());
    for (k, v) in extra {
        meta.insert((*k).to_string(), v.clone());
    }
    let weights = model.weights();
    let tensors: Vec<(String, Vec<usize>, &[f32])> =
        weights.iter().map(|w| (w.name.clone(), w.shape.clone(), &w.values[..])).collect();
    let out = serialize(&tensors, meta, err)?;
    atomic_file::write(path, &out).map_err(|e| err(format!("cannot write: {e}")))
}

/// Loads a checkpoint written by [`save`] (on any device) onto `device`: rebuilds the model from
/// its metadata, fills its parameters, and returns the metadata too.
pub fn load(device: Device, path: &Path) -> Result<(Model, HashMap<String, String>), NnError> {
    let err = |message: String| NnError::Checkpoint { file: path.to_path_buf(), message };
    let bytes = std::fs::read(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| err(format!("not a safetensors file: {e}")))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let spec = spec_from_metadata(&meta, err)?;
    // The initial draws are overwritten by the file's weights: any stream will do. The weights
    // are filled on the CPU and the model then moved, so a GPU receives them once.
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let cpu = CpuModel::new(&Cpu::default(), &spec, &mut rng)
        .map_err(|e| err(format!("its metadata describes no valid model: {e}")))?;
    let mut model = Model::from(cpu);
    load_weights(&mut model, &bytes, path)?;
    Ok((model.to_device(device)?, meta))
}

/// Fills every parameter of `model` from the tensor of the same name in safetensors `bytes`
/// (extra tensors are ignored; a missing one or a shape mismatch is an error).
pub fn load_weights(model: &mut Model, bytes: &[u8], path: &Path) -> Result<(), NnError> {
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| NnError::Checkpoint { file: path.to_path_buf(), message: e.to_string() })?;
    for (i, (name, want)) in model.param_shapes().into_iter().enumerate() {
        let (shape, values) = read_f32(&st, &name, path)?;
        if shape != want {
            return Err(NnError::Checkpoint {
                file: path.to_path_buf(),
                message: format!("`{name}` has shape {shape:?}, the model needs {want:?}"),
            });
        }
        model.set_weights(i, &values)?;
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
        let dir = tempfile::tempdir().unwrap();
        for spec in [
            ModelSpec::plain(Architecture::Conv, 5, vec![]),
            ModelSpec::plain(Architecture::Dense, 3, vec![20, 10]),
            ModelSpec { architecture: Architecture::Conv, latent_dim: 4, hidden: vec![], head: Head::Gaussian },
            ModelSpec { architecture: Architecture::Dense, latent_dim: 2, hidden: vec![8], head: Head::Sigmoid },
        ] {
            let m = Model::new(Device::Cpu, &spec, &mut ChaCha8Rng::seed_from_u64(7)).unwrap();
            let path = dir.path().join("m.safetensors");
            save(&m, &path, &[("run_id", "abc".into())]).unwrap();
            let (back, meta) = load(Device::Cpu, &path).unwrap();
            assert_eq!(back.spec(), spec);
            assert_eq!(meta["run_id"], "abc");
            assert_eq!(m.weights(), back.weights());
        }
    }

    #[test]
    fn bad_checkpoints_are_named_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.safetensors");
        std::fs::write(&path, b"not a checkpoint").unwrap();
        let e = load(Device::Cpu, &path).unwrap_err().to_string();
        assert!(e.contains("bad.safetensors") && e.contains("not a safetensors"), "{e}");
        let e = load(Device::Cpu, &dir.path().join("missing.safetensors")).unwrap_err().to_string();
        assert!(e.contains("missing.safetensors"), "{e}");
    }
}
