//! Where a key's value came from, and the problems of one run's resolution placed by it: the
//! leaf that every section's resolution reports into (`resolve` drives the sections).

use crate::error::Problem;
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

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub(crate) fn into_list(self) -> Vec<Problem> {
        self.list
    }
}
