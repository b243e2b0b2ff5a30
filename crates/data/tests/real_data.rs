//! The real datasets, as `scripts/fetch-data.sh` puts them under `$RUNNER_DATA_DIR` (default:
//! `data/` at the workspace root): the counts, labels and fingerprints that sweeps and their run
//! ids rely on.
//!
//! A dataset that is not in place is never passed over in silence: without `AE_REQUIRE_DATA`, the
//! test writes `SKIPPED … (why)` past the test harness's output capture, so that it shows in the
//! `cargo test` output, and passes; with `AE_REQUIRE_DATA=1` (CI sets it, after fetching the data)
//! a missing dataset fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test may stop at a broken assumption

use data::dataset;
use data::Dataset;
use spec::DatasetName;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

fn data_dir() -> PathBuf {
    std::env::var_os("RUNNER_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data"))
}

/// The dataset, or `None` after saying on the terminal why its checks are skipped.
fn load_or_skip(name: &DatasetName, test: &str) -> Option<Dataset> {
    let dir = data_dir();
    if let Err(e) = dataset::locate(name, &dir) {
        if std::env::var_os("AE_REQUIRE_DATA").is_some_and(|v| v != "0") {
            panic!("AE_REQUIRE_DATA is set but {name} is not in place: {e}");
        }
        // `eprintln!` is captured for passing tests; a write to the stream itself is not.
        let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {e}");
        return None;
    }
    let start = Instant::now();
    let d = dataset::load(name, &dir, None, None).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{name}: loaded in {:.2?}", start.elapsed());
    Some(d)
}

fn class_counts(labels: &[u8]) -> [usize; 10] {
    let mut counts = [0usize; 10];
    for &l in labels {
        counts[usize::from(l)] += 1;
    }
    counts
}

#[test]
fn fashion_mnist() {
    let Some(d) = load_or_skip(&DatasetName::FashionMnist, "fashion_mnist") else { return };
    assert_eq!((d.train.len(), d.test.len()), (60_000, 10_000));
    assert_eq!(d.train.images.len(), 60_000 * 784);
    // Class 9 is "ankle boot"; the first training image of the official files is one.
    assert_eq!(d.train.labels[0], 9);
    let mean = d.train.pixel_mean();
    assert!((mean - 0.2860).abs() < 5e-4, "train pixel mean {mean}");
    assert_eq!(d.fingerprint, FASHION_FINGERPRINT);
    for split in [&d.train, &d.test] {
        let counts = class_counts(&split.labels);
        assert!(counts.iter().all(|&c| c * 10 == split.len()), "classes are balanced: {counts:?}");
    }
}
const FASHION_FINGERPRINT: &str = "sha256:cb991ffa68f04198396170795f7d73772182465a45140610f6c6b6fa98745470";

#[test]
fn mnist() {
    let Some(d) = load_or_skip(&DatasetName::Mnist, "mnist") else { return };
    assert_eq!((d.train.len(), d.test.len()), (60_000, 10_000));
    // Reference for the counts, the first labels, the pixel mean and the fingerprint: Python's
    // gzip + hashlib over the four files (the fingerprint's recipe: each part's byte length as a
    // little-endian u64, then its bytes, past the IDX headers), independently of this crate.
    assert_eq!(class_counts(&d.train.labels), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    assert_eq!(class_counts(&d.test.labels), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    assert_eq!(d.train.labels[..10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    assert_eq!(d.test.labels[..10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    let mean = d.train.pixel_mean();
    assert!((mean - 0.130_660_5).abs() < 1e-6, "train pixel mean {mean}");
    assert_eq!(d.fingerprint, MNIST_FINGERPRINT);
}
const MNIST_FINGERPRINT: &str = "sha256:979e081520cdfe92cbc9643ead5b074180ca1113bbc6dc45cf9621bbecaef15c";
