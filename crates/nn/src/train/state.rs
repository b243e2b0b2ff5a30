//! A trainer's whole state in one safetensors file: the weights (named and shaped as in a
//! checkpoint, so a state file is a checkpoint too), the optimizer's moments and step count, and
//! a stacked run's pre-training optimizer when one is running; with the model's description, the
//! optimizer's kind and the caller's own metadata.
//!
//! Training N steps straight equals training k, saving, loading into a fresh trainer built from
//! the same configuration and training N − k more, bit for bit on the CPU device: nothing else
//! carries from one step to the next (the conv stacks' workspaces are overwritten by every step,
//! and the random streams are the caller's, derived from the seed, epoch and batch).
//!
//! Tensors: `<param>` (the weights), `optimizer.m.<param>` (Adam's first moment, SGD's velocity),
//! `optimizer.v.<param>` (Adam's second moment); `pretrain.m.<param>`, `pretrain.v.<param>` for
//! the pre-training optimizer's parameters (the layer and its mirror). Metadata: the checkpoint's
//! model keys, `format`, `device`, `optimizer` (`adam`/`sgd`), `optimizer.settings`,
//! `optimizer.steps`, and `pretrain.layer`, `pretrain.steps` with a pre-training optimizer.

use crate::checkpoint::{load_weights, model_metadata, read_f32, serialize, spec_from_metadata};
use crate::error::NnError;
use crate::model::{CpuModel, ModelSpec};
use crate::on_device::Backend;
use crate::train::optim::{MomentState, Optimizer};
use crate::train::{pretrain_shapes, Trainer, Updates};
use safetensors::SafeTensors;
use std::collections::HashMap;
use std::path::Path;

/// Written into every state file's metadata under `format`.
pub const STATE_FORMAT: &str = "ae-sweep-trainer-state/1";

/// Metadata keys the state itself uses; the caller's keys must differ.
const RESERVED: [&str; 11] = [
    "format",
    "architecture",
    "latent_dim",
    "hidden",
    "head",
    "device",
    "optimizer",
    "optimizer.settings",
    "optimizer.steps",
    "pretrain.layer",
    "pretrain.steps",
];

impl Trainer {
    /// Writes the trainer's state and `meta` (keys other than the state's own) to `path`,
    /// atomically.
    pub fn save_state(&self, path: &Path, meta: &[(&str, String)]) -> Result<(), NnError> {
        let err = |message: String| NnError::State { file: path.to_path_buf(), message };
        let mut all = model_metadata(&self.model.spec());
        all.insert("format".into(), STATE_FORMAT.into());
        all.insert("device".into(), self.model.device().name().into());
        all.insert("optimizer".into(), self.optimizer_kind.name().into());
        all.insert("optimizer.settings".into(), format!("{:?}", self.optimizer_kind));
        for (k, v) in meta {
            if RESERVED.contains(k) {
                return Err(err(format!("metadata key `{k}` is the state's own; use another name")));
            }
            all.insert((*k).to_string(), v.clone());
        }
        let weights = self.model.weights();
        let main = match &self.optimizer {
            Updates::Cpu(o) => o.export(),
            Updates::Device(o) => o.export(),
        };
        all.insert("optimizer.steps".into(), main.steps.to_string());
        let names: Vec<&str> = weights.iter().map(|w| w.name.as_str()).collect();
        let shapes: Vec<&[usize]> = weights.iter().map(|w| &w.shape[..]).collect();
        let mut tensors: Vec<(String, Vec<usize>, &[f32])> =
            weights.iter().map(|w| (w.name.clone(), w.shape.clone(), &w.values[..])).collect();
        moments(&mut tensors, "optimizer", &names, &shapes, &main).map_err(err)?;

        let pretrain = match (&self.pretrain, self.model.cpu()) {
            (Some((layer, o)), Some(CpuModel::Dense(m))) => {
                all.insert("pretrain.layer".into(), layer.to_string());
                Some((o.export(), pretrain_shapes(m, *layer)))
            }
            _ => None,
        };
        if let Some((state, params)) = &pretrain {
            all.insert("pretrain.steps".into(), state.steps.to_string());
            let names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
            let shapes: Vec<&[usize]> = params.iter().map(|(_, s)| &s[..]).collect();
            moments(&mut tensors, "pretrain", &names, &shapes, state).map_err(err)?;
        }
        let bytes = serialize(&tensors, all, err)?;
        atomic_file::write(path, &bytes).map_err(|e| err(format!("cannot write: {e}")))
    }

    /// Restores a state written by [`Trainer::save_state`] into this trainer, which must have
    /// been built for the same model (architecture, sizes, head) and optimizer kind; returns the
    /// file's metadata (the caller's keys among it). The learning rate and the other settings
    /// stay this trainer's own (the file records its under `optimizer.settings`).
    pub fn load_state(&mut self, path: &Path) -> Result<HashMap<String, String>, NnError> {
        let err = |message: String| NnError::State { file: path.to_path_buf(), message };
        let bytes = std::fs::read(path).map_err(|e| err(format!("cannot read: {e}")))?;
        let (_, header) =
            SafeTensors::read_metadata(&bytes).map_err(|e| err(format!("not a safetensors file: {e}")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        match meta.get("format").map(String::as_str) {
            Some(STATE_FORMAT) => {}
            Some(other) => return Err(err(format!("is not a training state (format `{other}`)"))),
            None => return Err(err("is not a training state (no `format` in its metadata)".into())),
        }
        let spec = spec_from_metadata(&meta, err)?;
        let ours = self.model.spec();
        if spec != ours {
            return Err(err(format!("holds {}; this trainer's model is {}", describe(&spec), describe(&ours))));
        }
        let kind = meta.get("optimizer").map(String::as_str).unwrap_or("(none)");
        if kind != self.optimizer_kind.name() {
            return Err(err(format!(
                "holds the state of a `{kind}` optimizer; this trainer's is `{}`",
                self.optimizer_kind.name()
            )));
        }
        let st = SafeTensors::deserialize(&bytes).map_err(|e| err(e.to_string()))?;
        let steps = |key: &str| -> Result<u64, NnError> {
            let v = meta.get(key).ok_or_else(|| err(format!("metadata has no `{key}`")))?;
            v.parse().map_err(|_| err(format!("`{key}` = `{v}` is not a count")))
        };
        let adam = self.optimizer_kind.name() == "adam";

        // Everything is read and checked before the trainer changes.
        let shapes = self.model.param_shapes();
        let main = read_moments(&st, path, "optimizer", &shapes, steps("optimizer.steps")?, adam)?;
        let pretrain = match meta.get("pretrain.layer") {
            None => None,
            Some(layer) => {
                let layer: usize =
                    layer.parse().map_err(|_| err(format!("`pretrain.layer` = `{layer}` is not a layer")))?;
                let Some(CpuModel::Dense(m)) = self.model.cpu() else {
                    return Err(err(
                        "holds a pre-training optimizer; this trainer's model is no dense CPU model".into()
                    ));
                };
                if layer == 0 || layer > m.encoder.len() {
                    return Err(err(format!("pre-trains layer {layer} of a {}-layer encoder", m.encoder.len())));
                }
                let shapes = pretrain_shapes(m, layer);
                Some((layer, read_moments(&st, path, "pretrain", &shapes, steps("pretrain.steps")?, adam)?))
            }
        };

        load_weights(&mut self.model, &bytes, path)?;
        match (&mut self.optimizer, &self.model.backend) {
            (Updates::Cpu(o), _) => {
                let mut fresh = Optimizer::new(self.optimizer_kind);
                fresh.import(main)?;
                *o = fresh;
            }
            (Updates::Device(o), Backend::Device(d)) => {
                let mut fresh = d.optimizer(self.optimizer_kind);
                d.import(&mut fresh, main)?;
                *o = fresh;
            }
            (Updates::Device(_), Backend::Cpu(_)) => {
                return Err(err("the trainer's model was moved to another device than its optimizer's".into()))
            }
        }
        self.pretrain = match pretrain {
            None => None,
            Some((layer, state)) => {
                let mut o = Optimizer::new(self.optimizer_kind);
                o.import(state)?;
                Some((layer, o))
            }
        };
        Ok(meta)
    }
}

/// "a conv model (latent 8, linear code)".
fn describe(spec: &ModelSpec) -> String {
    let hidden = if spec.hidden.is_empty() { String::new() } else { format!(", hidden {:?}", spec.hidden) };
    let arch = match spec.architecture {
        crate::model::Architecture::Conv => "conv",
        crate::model::Architecture::Dense => "dense",
    };
    format!("a {arch} model (latent {}{hidden}, {} code)", spec.latent_dim, spec.head.name())
}

/// Appends `state`'s moments as `<prefix>.m.<name>` (and `.v.`) tensors shaped as the parameters.
fn moments<'a>(
    tensors: &mut Vec<(String, Vec<usize>, &'a [f32])>,
    prefix: &str,
    names: &[&str],
    shapes: &[&[usize]],
    state: &'a MomentState,
) -> Result<(), String> {
    if state.moments.is_empty() {
        return Ok(());
    }
    if state.moments.len() != names.len() {
        return Err(format!("{prefix}: {} moments for {} parameters", state.moments.len(), names.len()));
    }
    for (((m, v), name), shape) in state.moments.iter().zip(names).zip(shapes) {
        tensors.push((format!("{prefix}.m.{name}"), shape.to_vec(), &m[..]));
        if let Some(v) = v {
            tensors.push((format!("{prefix}.v.{name}"), shape.to_vec(), &v[..]));
        }
    }
    Ok(())
}

/// The moments `<prefix>.m.<name>` (and, for Adam, `.v.`) of `params`, shapes checked; none
/// before the first step.
fn read_moments(
    st: &SafeTensors<'_>,
    path: &Path,
    prefix: &str,
    params: &[(String, Vec<usize>)],
    steps: u64,
    adam: bool,
) -> Result<MomentState, NnError> {
    let err = |message: String| NnError::State { file: path.to_path_buf(), message };
    let mut moments = Vec::new();
    if steps > 0 {
        for (name, shape) in params {
            let read = |which: &str| -> Result<Vec<f32>, NnError> {
                let key = format!("{prefix}.{which}.{name}");
                let (s, values) = read_f32(st, &key, path).map_err(|_| err(format!("has no tensor `{key}`")))?;
                if &s != shape {
                    return Err(err(format!("`{key}` has shape {s:?}, the parameter {shape:?}")));
                }
                Ok(values)
            };
            let m = read("m")?;
            let v = if adam { Some(read("v")?) } else { None };
            moments.push((m, v));
        }
    }
    Ok(MomentState { steps, moments })
}
