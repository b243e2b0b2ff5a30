//! From the merged sections of one run to its [`RunConfig`]: each section resolves its own keys
//! (defaults, then the rules that tie its keys together); each problem names the key and where
//! its value came from.

use crate::config::RunConfig;
use crate::error::Problem;
use crate::keys::SectionKeys;
use crate::problems::{Origins, Problems};

/// Resolves merged sections into a run configuration, or the list of what is wrong.
pub fn resolve(sections: &toml::Table, origins: &Origins) -> Result<RunConfig, Vec<Problem>> {
    // Every layer was type-checked on its own, so this only fails on a bug in the merge.
    let keys: SectionKeys = sections
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| vec![Problem::new(None, "(merged)", e.message().to_string())])?;
    let mut problems = Problems::new(origins);
    let data = keys.data.unwrap_or_default().resolve(&mut problems);
    let model = keys.model.unwrap_or_default().resolve(&mut problems);
    let train = keys.train.unwrap_or_default().resolve(&mut problems);
    crate::train::check_device(&model, &train, &mut problems);
    let noise = keys.noise.map(|n| n.resolve(&mut problems)).unwrap_or_default();
    match data {
        Some(data) if problems.is_empty() => Ok(RunConfig { data, model, train, noise }),
        _ => Err(problems.into_list()),
    }
}
