//! `<sweep>/search.json`: a search's settings and its space, for reports (which keys were
//! searched, on which axis, by which metric and goal). Written when a search starts; every shard
//! writes the same content.

use crate::error::ResultsError;
use crate::store::{read_json, write_json, SweepDir};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchRecord {
    /// `random` or `tpe`.
    pub method: String,
    pub trials: u64,
    pub batch: u64,
    pub seed: u64,
    pub metric: String,
    /// `minimize` or `maximize`.
    pub goal: String,
    /// The searched keys, in the space's order.
    pub space: Vec<SearchKey>,
    pub prune: Option<SearchPrune>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchKey {
    /// The sweep path, e.g. `train.learning_rate`.
    pub key: String,
    /// Searched on a log axis.
    pub log: bool,
    /// A categorical key's choices, as written.
    pub choices: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchPrune {
    pub min_epochs: usize,
    pub eta: usize,
}

/// The file's name in a sweep's folder.
pub const SEARCH_FILE: &str = "search.json";

impl SweepDir {
    pub fn save_search(&self, record: &SearchRecord) -> Result<(), ResultsError> {
        write_json(&self.dir.join(SEARCH_FILE), record)
    }

    /// The search of this sweep, if it is one.
    pub fn load_search(&self) -> Result<Option<SearchRecord>, ResultsError> {
        let path = self.dir.join(SEARCH_FILE);
        if !path.is_file() {
            return Ok(None);
        }
        read_json(&path).map(Some)
    }
}
