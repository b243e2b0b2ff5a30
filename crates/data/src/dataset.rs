//! Datasets by name: where each one lives under the data directory, loading its four IDX files
//! into [0, 1] floats, the train/test limits, and the content fingerprint that run ids include.

use crate::error::{DataError, Result};
use crate::idx::{self, IMAGE_PIXELS};
use crate::split::{to_unit, Dataset, Split};
use crate::synthetic;
use sha2::{Digest, Sha256};
use spec::DatasetName;
use std::path::{Path, PathBuf};

/// The four files of a dataset directory, in the order they are read and fingerprinted. Each may
/// also be present without the `.gz` suffix.
pub const FILE_NAMES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
];

/// The command that puts the known datasets in place; named in "missing file" errors.
pub const FETCH_COMMAND: &str = "scripts/fetch-data.sh";

/// The directory of a file-backed dataset: `<data_dir>/mnist`, `<data_dir>/fashion-mnist`, or the
/// `idx:` directory as given (relative to the current directory). `None` for synthetic data.
pub fn dataset_dir(name: &DatasetName, data_dir: &Path) -> Option<PathBuf> {
    match name {
        DatasetName::Mnist => Some(data_dir.join("mnist")),
        DatasetName::FashionMnist => Some(data_dir.join("fashion-mnist")),
        DatasetName::Synthetic => None,
        DatasetName::Idx(dir) => Some(dir.clone()),
    }
}

/// The paths of the four files of a dataset, in [`FILE_NAMES`] order, each the `.gz` name or,
/// when only that exists, the name without `.gz`. `None` for synthetic data.
pub fn locate(name: &DatasetName, data_dir: &Path) -> Result<Option<[PathBuf; 4]>> {
    let Some(dir) = dataset_dir(name, data_dir) else { return Ok(None) };
    let find = |gz: &str| -> Result<PathBuf> {
        let with = dir.join(gz);
        let without = dir.join(gz.trim_end_matches(".gz"));
        if with.is_file() {
            Ok(with)
        } else if without.is_file() {
            Ok(without)
        } else {
            let hint = match name {
                DatasetName::Idx(_) => {
                    format!("an idx: directory must hold {} (each with or without .gz)", FILE_NAMES.join(", "))
                }
                _ => format!("run `{FETCH_COMMAND} {}` to fetch {name}", data_dir.display()),
            };
            Err(DataError::Missing { file: with, hint })
        }
    };
    let [a, b, c, d] = FILE_NAMES;
    Ok(Some([find(a)?, find(b)?, find(c)?, find(d)?]))
}

/// `sha256:<hex>` over train images, train labels, test images, test labels (decoded bytes),
/// each preceded by its length as a little-endian u64 so that part boundaries are unambiguous.
/// How the files are packed (gzip level, raw or compressed) does not change it.
pub fn fingerprint(train_images: &[u8], train_labels: &[u8], test_images: &[u8], test_labels: &[u8]) -> String {
    let mut h = Sha256::new();
    for part in [train_images, train_labels, test_images, test_labels] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Loads a dataset, keeping the first `train_limit` / `test_limit` samples of each split
/// (synthetic data is generated at those sizes, by default [`synthetic::DEFAULT_TRAIN`] and
/// [`synthetic::DEFAULT_TEST`]).
pub fn load(
    name: &DatasetName,
    data_dir: &Path,
    train_limit: Option<usize>,
    test_limit: Option<usize>,
) -> Result<Dataset> {
    let Some(files) = locate(name, data_dir)? else {
        let train_n = train_limit.unwrap_or(synthetic::DEFAULT_TRAIN);
        let test_n = test_limit.unwrap_or(synthetic::DEFAULT_TEST);
        for (split, n) in [("train", train_n), ("test", test_n)] {
            if n == 0 {
                return Err(DataError::EmptySplit { dataset: name.to_string(), split });
            }
        }
        return Ok(synthetic::dataset(train_n, test_n));
    };
    let [train_images, train_labels, test_images, test_labels] = &files;

    // The two splits decode in parallel: gzip inflation dominates the load time.
    let read_split = |images: &Path, labels: &Path| -> Result<(idx::Images, Vec<u8>)> {
        let im = idx::read_images(images)?;
        let lb = idx::read_labels(labels)?;
        if im.n != lb.len() {
            return Err(DataError::CountMismatch {
                images: images.to_path_buf(),
                n_images: im.n,
                labels: labels.to_path_buf(),
                n_labels: lb.len(),
            });
        }
        Ok((im, lb))
    };
    let (train, test) = std::thread::scope(|s| {
        let test = s.spawn(|| read_split(test_images, test_labels));
        let train = read_split(train_images, train_labels);
        // A panic in the reader would be a bug in this crate, not bad input; pass it on as one.
        let test = test.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        (train, test)
    });
    let ((train_im, train_lb), (test_im, test_lb)) = (train?, test?);

    // Limits are checked before the expensive part, and only the kept prefix is converted.
    let mut keep = [0usize; 2];
    for ((kept, split), (available, limit)) in
        keep.iter_mut().zip(["train", "test"]).zip([(train_im.n, train_limit), (test_im.n, test_limit)])
    {
        *kept = match limit {
            Some(limit) if limit > available => {
                return Err(DataError::Limit { dataset: name.to_string(), split, limit, available });
            }
            Some(limit) => limit,
            None => available,
        };
        if *kept == 0 {
            return Err(DataError::EmptySplit { dataset: name.to_string(), split });
        }
    }
    let [keep_train, keep_test] = keep;
    let prefix = |px: &[u8], n: usize| px.get(..n.saturating_mul(IMAGE_PIXELS)).map(to_unit).unwrap_or_default();

    // Hashing and conversion both take a while in unoptimised builds; they overlap here.
    let (fingerprint, train_images, test_images) = std::thread::scope(|s| {
        let fp = s.spawn(|| fingerprint(&train_im.pixels, &train_lb, &test_im.pixels, &test_lb));
        let images = (prefix(&train_im.pixels, keep_train), prefix(&test_im.pixels, keep_test));
        (fp.join().unwrap_or_else(|p| std::panic::resume_unwind(p)), images.0, images.1)
    });
    let mut train = Split { images: train_images, labels: train_lb };
    let mut test = Split { images: test_images, labels: test_lb };
    train.truncate(keep_train);
    test.truncate(keep_test);
    Ok(Dataset { name: name.clone(), train, test, fingerprint, sources: files.to_vec() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// Writes a small dataset: image k of a split has every pixel = k, its label is k % 10.
    fn write_set(dir: &Path, n_train: usize, n_test: usize) {
        for (prefix, n) in [("train", n_train), ("t10k", n_test)] {
            let px: Vec<u8> = (0..n).flat_map(|k| [k as u8; IMAGE_PIXELS]).collect();
            let labels: Vec<u8> = (0..n).map(|k| (k % 10) as u8).collect();
            idx::write_images(&dir.join(format!("{prefix}-images-idx3-ubyte.gz")), n, 28, 28, &px).unwrap();
            idx::write_labels(&dir.join(format!("{prefix}-labels-idx1-ubyte.gz")), &labels).unwrap();
        }
    }

    fn idx_name(dir: &Path) -> DatasetName {
        DatasetName::Idx(dir.to_path_buf())
    }

    #[test]
    fn loads_an_idx_directory_scaled_to_unit_range() {
        let dir = tempfile::tempdir().unwrap();
        write_set(dir.path(), 12, 5);
        let d = load(&idx_name(dir.path()), Path::new("unused"), None, None).unwrap();
        assert_eq!((d.train.len(), d.test.len()), (12, 5));
        assert_eq!(d.train.labels[11], 1);
        assert!(d.train.image(11).iter().all(|&v| v == 11.0 / 255.0));
        assert_eq!(d.train.image(11).len(), IMAGE_PIXELS);
        assert!(d.train.image(12).is_empty());
        assert!(d.train.image(usize::MAX).is_empty() && d.train.image(usize::MAX / IMAGE_PIXELS).is_empty());
        assert_eq!(d.sources.len(), 4);
        assert!(d.fingerprint.starts_with("sha256:") && d.fingerprint.len() == 7 + 64);
    }

    #[test]
    fn known_datasets_live_under_the_data_dir_and_name_the_fetch_script_when_missing() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("fashion-mnist")).unwrap();
        write_set(&dir.path().join("fashion-mnist"), 3, 2);
        assert_eq!(load(&DatasetName::FashionMnist, dir.path(), None, None).unwrap().train.len(), 3);
        let e = load(&DatasetName::Mnist, dir.path(), None, None).unwrap_err().to_string();
        let expected_file = dir.path().join("mnist").join("train-images-idx3-ubyte.gz");
        assert!(e.contains(&expected_file.display().to_string()), "{e}");
        assert!(e.contains("scripts/fetch-data.sh"), "{e}");
    }

    #[test]
    fn files_without_gz_suffix_are_accepted_and_fingerprint_like_compressed_ones() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write_set(a.path(), 4, 3);
        for name in FILE_NAMES {
            let gz = fs::read(a.path().join(name)).unwrap();
            let mut raw = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz.as_slice()), &mut raw).unwrap();
            fs::write(b.path().join(name.trim_end_matches(".gz")), raw).unwrap();
        }
        let da = load(&idx_name(a.path()), Path::new("."), None, None).unwrap();
        let db = load(&idx_name(b.path()), Path::new("."), None, None).unwrap();
        assert_eq!(da.train, db.train);
        assert_eq!(da.fingerprint, db.fingerprint);
        assert!(db.sources[0].ends_with("train-images-idx3-ubyte"));
    }

    #[test]
    fn fingerprint_covers_the_full_data_and_ignores_limits() {
        let dir = tempfile::tempdir().unwrap();
        write_set(dir.path(), 10, 4);
        let full = load(&idx_name(dir.path()), Path::new("."), None, None).unwrap();
        let limited = load(&idx_name(dir.path()), Path::new("."), Some(3), Some(2)).unwrap();
        assert_eq!(full.fingerprint, limited.fingerprint);
        // One changed label anywhere changes it.
        let mut labels: Vec<u8> = (0..4).map(|k| (k % 10) as u8).collect();
        labels[3] = 9;
        idx::write_labels(&dir.path().join("t10k-labels-idx1-ubyte.gz"), &labels).unwrap();
        let changed = load(&idx_name(dir.path()), Path::new("."), None, None).unwrap();
        assert_ne!(full.fingerprint, changed.fingerprint);
        // Moving a sample from one split to the other changes it too.
        assert_ne!(fingerprint(&[1, 2], &[3], &[4], &[]), fingerprint(&[1], &[2, 3], &[4], &[]));
    }

    #[test]
    fn limits_take_the_first_samples() {
        let dir = tempfile::tempdir().unwrap();
        write_set(dir.path(), 10, 4);
        let d = load(&idx_name(dir.path()), Path::new("."), Some(3), Some(4)).unwrap();
        assert_eq!((d.train.len(), d.test.len()), (3, 4));
        assert_eq!(d.train.images.len(), 3 * IMAGE_PIXELS);
        assert_eq!(d.train.labels, vec![0, 1, 2]);
        assert!(d.train.image(2).iter().all(|&v| v == 2.0 / 255.0));
    }

    #[test]
    fn a_limit_beyond_the_split_names_dataset_split_and_count() {
        let dir = tempfile::tempdir().unwrap();
        write_set(dir.path(), 10, 4);
        let e = load(&idx_name(dir.path()), Path::new("."), None, Some(5)).unwrap_err().to_string();
        assert!(e.contains(&idx_name(dir.path()).to_string()) && e.contains("test") && e.contains("only 4"), "{e}");
    }

    #[test]
    fn image_and_label_counts_must_match() {
        let dir = tempfile::tempdir().unwrap();
        write_set(dir.path(), 10, 4);
        idx::write_labels(&dir.path().join("train-labels-idx1-ubyte.gz"), &[1; 9]).unwrap();
        let e = load(&idx_name(dir.path()), Path::new("."), None, None).unwrap_err().to_string();
        assert!(e.contains("train-images-idx3-ubyte.gz holds 10 images"), "{e}");
        assert!(e.contains("train-labels-idx1-ubyte.gz holds 9 labels"), "{e}");
    }

    #[test]
    fn a_broken_file_in_either_split_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        write_set(dir.path(), 3, 2);
        fs::write(dir.path().join("t10k-images-idx3-ubyte.gz"), b"").unwrap();
        let e = load(&idx_name(dir.path()), Path::new("."), None, None).unwrap_err().to_string();
        assert!(e.contains("t10k-images-idx3-ubyte.gz is empty"), "{e}");
    }

    #[test]
    fn an_empty_idx_directory_lists_the_expected_files() {
        let dir = tempfile::tempdir().unwrap();
        let e = load(&idx_name(dir.path()), Path::new("."), None, None).unwrap_err().to_string();
        assert!(e.contains("missing file") && e.contains("t10k-labels-idx1-ubyte.gz"), "{e}");
        assert!(!e.contains("fetch-data"), "{e}");
    }

    #[test]
    fn synthetic_sizes_and_fingerprint() {
        let d = load(&DatasetName::Synthetic, Path::new("nowhere"), Some(30), Some(20)).unwrap();
        assert_eq!((d.train.len(), d.test.len()), (30, 20));
        assert_eq!(d.fingerprint, synthetic::FINGERPRINT);
        assert!(d.sources.is_empty());
        assert!(load(&DatasetName::Synthetic, Path::new("."), Some(0), None).is_err());
    }
}
