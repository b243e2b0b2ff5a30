//! `runner data info`: whether a dataset is in place and what it holds (counts, image size, pixel
//! mean, fingerprint, files), or why it cannot be loaded.

use crate::dataset::{self, dataset_dir};
use crate::idx::{IMAGE_COLS, IMAGE_ROWS};
use crate::synthetic;
use serde::Serialize;
use spec::DatasetName;
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetInfo {
    pub name: DatasetName,
    /// True when the dataset loads.
    pub found: bool,
    /// Why it does not load (the loader's one-line message).
    pub error: Option<String>,
    /// Its directory (none for synthetic data).
    pub location: Option<PathBuf>,
    pub train: usize,
    pub test: usize,
    pub rows: usize,
    pub cols: usize,
    /// Mean pixel value of the training images, in [0, 1].
    pub pixel_mean: Option<f64>,
    pub fingerprint: Option<String>,
    pub sources: Vec<PathBuf>,
    pub note: Option<String>,
}

/// Loads the full dataset (synthetic data at its default sizes) and describes it; never fails,
/// a dataset that does not load is reported with the reason.
pub fn dataset_info(name: &DatasetName, data_dir: &Path) -> DatasetInfo {
    let mut info = DatasetInfo {
        name: name.clone(),
        found: false,
        error: None,
        location: dataset_dir(name, data_dir),
        train: 0,
        test: 0,
        rows: IMAGE_ROWS,
        cols: IMAGE_COLS,
        pixel_mean: None,
        fingerprint: None,
        sources: Vec::new(),
        note: None,
    };
    if *name == DatasetName::Synthetic {
        info.note = Some(format!(
            "generated on demand, no files; these are the default sizes, `data.train_limit` / `data.test_limit` choose others; classes: {}",
            synthetic::CLASS_NAMES.join(", ")
        ));
    }
    match dataset::load(name, data_dir, None, None) {
        Ok(d) => {
            info.found = true;
            info.train = d.train.len();
            info.test = d.test.len();
            info.pixel_mean = Some(d.train.pixel_mean());
            info.fingerprint = Some(d.fingerprint);
            info.sources = d.sources;
        }
        Err(e) => info.error = Some(e.to_string()),
    }
    info
}

impl fmt::Display for DatasetInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "dataset      {}", self.name)?;
        match &self.error {
            Some(e) => writeln!(f, "status       not available: {e}")?,
            None => writeln!(f, "status       found")?,
        }
        if let Some(dir) = &self.location {
            writeln!(f, "location     {}", dir.display())?;
        }
        if self.found {
            writeln!(f, "train        {} images", self.train)?;
            writeln!(f, "test         {} images", self.test)?;
            writeln!(f, "image size   {} × {}", self.rows, self.cols)?;
            if let Some(m) = self.pixel_mean {
                writeln!(f, "pixel mean   {m:.4} (train)")?;
            }
            if let Some(fp) = &self.fingerprint {
                writeln!(f, "fingerprint  {fp}")?;
            }
            for (i, s) in self.sources.iter().enumerate() {
                writeln!(f, "{}{}", if i == 0 { "sources      " } else { "             " }, s.display())?;
            }
        }
        if let Some(note) = &self.note {
            writeln!(f, "note         {note}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_dataset_is_reported_with_the_fetch_command() {
        let dir = tempfile::tempdir().unwrap();
        let info = dataset_info(&DatasetName::Mnist, dir.path());
        assert!(!info.found);
        assert_eq!(info.location, Some(dir.path().join("mnist")));
        let e = info.error.as_deref().unwrap();
        assert!(e.contains("scripts/fetch-data.sh"), "{e}");
        assert!(info.to_string().contains("not available"));
    }

    #[test]
    fn a_present_dataset_reports_counts_mean_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let set = dir.path().join("set");
        // Train pixels all 51 (= 0.2 × 255), test pixels all 0.
        crate::idx::write_images(&set.join("train-images-idx3-ubyte.gz"), 3, 28, 28, &[51; 3 * 784]).unwrap();
        crate::idx::write_labels(&set.join("train-labels-idx1-ubyte.gz"), &[1, 2, 3]).unwrap();
        crate::idx::write_images(&set.join("t10k-images-idx3-ubyte.gz"), 2, 28, 28, &[0; 2 * 784]).unwrap();
        crate::idx::write_labels(&set.join("t10k-labels-idx1-ubyte.gz"), &[1, 2]).unwrap();
        let info = dataset_info(&DatasetName::Idx(set), dir.path());
        assert!(info.found, "{:?}", info.error);
        assert_eq!((info.train, info.test, info.rows, info.cols), (3, 2, 28, 28));
        assert!((info.pixel_mean.unwrap() - 0.2).abs() < 1e-6);
        assert_eq!(info.sources.len(), 4);
        let text = info.to_string();
        assert!(text.contains("3 images") && text.contains("0.2000") && text.contains("sha256:"), "{text}");
    }
}
