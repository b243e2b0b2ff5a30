//! The `[data]` section: which dataset, and how much of it. The keys a user writes, their
//! resolution, and the resolved [`DataConfig`] (which is also its own `config.toml` form).

use crate::problems::Problems;
use crate::value::AtLeastOne;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// `[data]` as written: every key optional, each range-checked while it is read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataKeys {
    pub dataset: Option<DatasetName>,
    pub train_limit: Option<AtLeastOne>,
    pub test_limit: Option<AtLeastOne>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    pub dataset: DatasetName,
    /// Use only the first N training samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_limit: Option<usize>,
    /// Use only the first N test samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_limit: Option<usize>,
}

impl DataKeys {
    /// The resolved section; `None` after reporting what is missing.
    pub(crate) fn resolve(self, problems: &mut Problems<'_>) -> Option<DataConfig> {
        let Some(dataset) = self.dataset else {
            problems.add("data.dataset", format!("is required; one of {DATASET_CHOICES}"));
            return None;
        };
        Some(DataConfig {
            dataset,
            train_limit: self.train_limit.map(|v| v.0),
            test_limit: self.test_limit.map(|v| v.0),
        })
    }
}

/// A dataset, as written in a sweep file: `mnist`, `fashion-mnist`, `synthetic` or `idx:<dir>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DatasetName {
    Mnist,
    FashionMnist,
    Synthetic,
    Idx(PathBuf),
}

/// What a dataset key may be; used in error messages.
pub const DATASET_CHOICES: &str = "`mnist`, `fashion-mnist`, `synthetic` or `idx:<directory>`";

/// The classes of the synthetic dataset, by label (its generator draws one shape per class).
pub const SYNTHETIC_CLASS_NAMES: [&str; 10] =
    ["ring", "blob", "horizontal bar", "vertical bar", "plus", "cross", "square", "triangle", "corner", "dots"];

/// Fashion-MNIST's classes, by label (Zalando's README).
pub const FASHION_MNIST_CLASS_NAMES: [&str; 10] =
    ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

/// MNIST's classes: the digits.
pub const MNIST_CLASS_NAMES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

impl DatasetName {
    /// The names of the classes by label, for legends; none for an `idx:` directory (its labels
    /// are shown as numbers).
    pub fn class_names(&self) -> Option<&'static [&'static str]> {
        match self {
            Self::Mnist => Some(&MNIST_CLASS_NAMES),
            Self::FashionMnist => Some(&FASHION_MNIST_CLASS_NAMES),
            Self::Synthetic => Some(&SYNTHETIC_CLASS_NAMES),
            Self::Idx(_) => None,
        }
    }

    /// Parses the form written in sweep files; the error says what is allowed.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "mnist" => Ok(Self::Mnist),
            "fashion-mnist" => Ok(Self::FashionMnist),
            "synthetic" => Ok(Self::Synthetic),
            other => match other.strip_prefix("idx:") {
                Some("") => Err("`idx:` needs a directory, e.g. `idx:/data/my-set`".to_string()),
                Some(dir) => Ok(Self::Idx(PathBuf::from(dir))),
                None => Err(format!("unknown dataset `{other}`; expected {DATASET_CHOICES}")),
            },
        }
    }
}

impl fmt::Display for DatasetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Mnist => f.write_str("mnist"),
            Self::FashionMnist => f.write_str("fashion-mnist"),
            Self::Synthetic => f.write_str("synthetic"),
            Self::Idx(dir) => write!(f, "idx:{}", dir.display()),
        }
    }
}

impl FromStr for DatasetName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s)
    }
}

impl Serialize for DatasetName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DatasetName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_names_round_trip() {
        for s in ["mnist", "fashion-mnist", "synthetic", "idx:/some/dir"] {
            let d = DatasetName::parse(s).unwrap();
            assert_eq!(d.to_string(), s);
        }
    }

    #[test]
    fn unknown_dataset_names_what_is_allowed() {
        let e = DatasetName::parse("cifar").unwrap_err();
        assert!(e.contains("cifar") && e.contains("fashion-mnist") && e.contains("idx:"), "{e}");
        assert!(DatasetName::parse("idx:").is_err());
    }
}
