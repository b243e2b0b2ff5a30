//! `<sweep>/search.json` as the report reads it: what a search optimised and over which keys. An
//! absent file is no search; fields the report does not know are ignored, so that the search can
//! record more.

use crate::error::ReportError;
use serde::Deserialize;
use std::path::Path;

/// The file a search writes beside its runs.
pub const SEARCH_FILE: &str = "search.json";

/// A sweep's `search.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Search {
    /// `tpe` or `random` (shown, not interpreted).
    pub method: String,
    /// The metric the search optimises, a column of the metric rows (e.g. `test_bce`).
    pub metric: String,
    pub goal: Goal,
    /// The searched keys, in the order the search lists them.
    pub space: Vec<SearchKey>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Goal {
    Minimize,
    Maximize,
}

/// One searched key: a sweep path (`train.learning_rate`), searched on a log scale or not, or
/// among given choices.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SearchKey {
    pub key: String,
    #[serde(default)]
    pub log: bool,
    #[serde(default)]
    pub choices: Option<Vec<serde_json::Value>>,
}

/// Reads `<dir>/search.json`: none when there is no such file; an error naming the file when it
/// is not a search description.
pub fn read_search(dir: &Path) -> Result<Option<Search>, ReportError> {
    let path = dir.join(SEARCH_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(results::ResultsError::io(&path, e).into()),
    };
    serde_json::from_str(&text).map(Some).map_err(|e| ReportError::Search { file: path, message: e.to_string() })
}

impl Search {
    pub fn higher_is_better(&self) -> bool {
        self.goal == Goal::Maximize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_files_are_read_tolerantly_and_bad_ones_named() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_search(dir.path()).unwrap(), None, "no search.json: no search");
        std::fs::write(
            dir.path().join(SEARCH_FILE),
            r#"{"method": "tpe", "metric": "test_bce", "goal": "minimize", "seed": 3,
                "space": [{"key": "train.learning_rate", "log": true},
                          {"key": "train.optimizer", "log": false, "choices": ["adam", "sgd"]}]}"#,
        )
        .unwrap();
        let s = read_search(dir.path()).unwrap().unwrap();
        assert_eq!((s.method.as_str(), s.metric.as_str(), s.goal), ("tpe", "test_bce", Goal::Minimize));
        assert_eq!(s.space.len(), 2);
        assert!(s.space[0].log && s.space[0].choices.is_none());
        assert_eq!(s.space[1].choices.as_ref().unwrap().len(), 2);
        std::fs::write(dir.path().join(SEARCH_FILE), r#"{"method": "tpe", "goal": "sideways"}"#).unwrap();
        let e = read_search(dir.path()).unwrap_err().to_string();
        assert!(e.contains("search.json") && e.contains("sideways"), "{e}");
    }
}
