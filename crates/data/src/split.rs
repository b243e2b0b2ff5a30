//! The in-memory form of a dataset: its two splits of images in [0, 1] with their labels, and the
//! fingerprint run ids include. Both the file loader (`dataset`) and the generator (`synthetic`)
//! produce it.

use crate::idx::IMAGE_PIXELS;
use spec::DatasetName;
use std::path::PathBuf;

/// One split: `images` holds `len()` images of 28 × 28 values in [0, 1] (pixel / 255), row-major.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Split {
    pub images: Vec<f32>,
    pub labels: Vec<u8>,
}

impl Split {
    /// Converts IDX bytes (`labels.len()` images of 784 bytes) into a split.
    pub fn from_bytes(pixels: &[u8], labels: Vec<u8>) -> Self {
        Self { images: to_unit(pixels), labels }
    }

    /// Number of samples (images that have a label).
    pub fn len(&self) -> usize {
        self.labels.len().min(self.images.len() / IMAGE_PIXELS)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The 784 values of image `i`; empty when `i` is past the end.
    pub fn image(&self, i: usize) -> &[f32] {
        let start = i.checked_mul(IMAGE_PIXELS);
        let end = start.and_then(|s| s.checked_add(IMAGE_PIXELS));
        start.zip(end).and_then(|(s, e)| self.images.get(s..e)).unwrap_or(&[])
    }

    /// Keeps the first `n` samples.
    pub fn truncate(&mut self, n: usize) {
        self.labels.truncate(n);
        self.images.truncate(n.saturating_mul(IMAGE_PIXELS));
    }

    /// Mean of all pixel values (0 for an empty split).
    pub fn pixel_mean(&self) -> f64 {
        if self.images.is_empty() {
            return 0.0;
        }
        self.images.iter().map(|&v| f64::from(v)).sum::<f64>() / self.images.len() as f64
    }
}

/// Pixel bytes to [0, 1]: exactly `p as f32 / 255.0`, looked up rather than divided 47 million
/// times.
pub(crate) fn to_unit(pixels: &[u8]) -> Vec<f32> {
    let table: [f32; 256] = std::array::from_fn(|p| p as f32 / 255.0);
    pixels.iter().map(|&p| table[usize::from(p)]).collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub name: DatasetName,
    pub train: Split,
    pub test: Split,
    /// `sha256:<hex>` of the full decoded content (see [`fingerprint`]), or the synthetic
    /// generator's version.
    pub fingerprint: String,
    /// The files read, in [`FILE_NAMES`] order (empty for synthetic data).
    pub sources: Vec<PathBuf>,
}
