//! From the merged sections of one run to its [`RunConfig`]: each section resolves its own keys
//! (defaults, then the rules that tie its keys together); each problem names the key and where
//! its value came from.

use crate::config::RunConfig;
use crate::error::Problem;
use crate::keys::SectionKeys;
use std::collections::HashMap;

/// Where the value of a key came from, so that an error can point at the right line.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    /// "the base sections", "variant \"dae\"", "sweep axis", "--set".
    pub what: String,
    pub line: Option<usize>,
}

/// Dotted key (`model.latent_dim`) → where its current value came from.
pub type Origins = HashMap<String, Origin>;

/// The problems of one run's resolution, each placed by the origin of its key.
pub(crate) struct Problems<'a> {
    origins: &'a Origins,
    list: Vec<Problem>,
}

impl<'a> Problems<'a> {
    pub(crate) fn new(origins: &'a Origins) -> Self {
        Self { origins, list: Vec::new() }
    }

    /// A problem with the value of `key` (a dotted key).
    pub(crate) fn add(&mut self, key: &str, message: String) {
        let origin = self.origins.get(key);
        let message = match origin {
            Some(o) => format!("{message} (set in {})", o.what),
            None => message,
        };
        self.list.push(Problem::new(origin.and_then(|o| o.line), key, message));
    }
}

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
        Some(data) if problems.list.is_empty() => Ok(RunConfig { data, model, train, noise }),
        _ => Err(problems.list),
    }
}
