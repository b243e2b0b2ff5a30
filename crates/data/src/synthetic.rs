//! The `synthetic` dataset: 28 × 28 images of ten kinds of shape (the label is the kind), drawn
//! with random position, size, stroke width, rotation and intensity, anti-aliased by distance,
//! plus a little pixel noise. Needs no files, so tests and smoke runs work anywhere.
//!
//! Image `i` of a split depends only on (split, i): its random stream is
//! `rng_for(GENERATOR_SEED, SYNTHETIC, split, i)`. Asking for more images never changes the
//! first ones. All arithmetic is f32 `+ - × ÷ sqrt`, which IEEE 754 specifies exactly, so the
//! images are bit-identical on every machine.

use crate::idx::{IMAGE_COLS, IMAGE_PIXELS, IMAGE_ROWS};
use crate::rng::{purpose, rng_for};
use crate::split::{Dataset, Split};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Identifies the generator; changes whenever any image would change, so run ids follow.
pub const FINGERPRINT: &str = "synthetic-v1";
pub const DEFAULT_TRAIN: usize = 10_000;
pub const DEFAULT_TEST: usize = 2_000;
/// The shape drawn for each label; kept in `spec` so that reports can name the classes without
/// depending on the generator.
pub const CLASS_NAMES: [&str; 10] = spec::data::SYNTHETIC_CLASS_NAMES;

/// Part of the generator's definition, like [`FINGERPRINT`]; not a user seed.
const GENERATOR_SEED: u64 = 0x5eed_0000_0000_0001;
/// Half-width of the uniform pixel noise.
const NOISE: f32 = 0.03;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitKind {
    Train,
    Test,
}

impl SplitKind {
    fn tag(self) -> u64 {
        match self {
            Self::Train => 0,
            Self::Test => 1,
        }
    }
}

/// Generates both splits at the given sizes.
pub fn dataset(train: usize, test: usize) -> Dataset {
    Dataset {
        name: spec::DatasetName::Synthetic,
        train: generate(SplitKind::Train, train),
        test: generate(SplitKind::Test, test),
        fingerprint: FINGERPRINT.to_string(),
        sources: Vec::new(),
    }
}

/// The first `n` images of a split.
pub fn generate(split: SplitKind, n: usize) -> Split {
    let mut images = Vec::with_capacity(n * IMAGE_PIXELS);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let (img, label) = image(split, i as u64);
        images.extend_from_slice(&img);
        labels.push(label);
    }
    Split { images, labels }
}

/// Image `index` of a split and its label. Classes cycle with the index, so every prefix of a
/// split is balanced.
pub fn image(split: SplitKind, index: u64) -> ([f32; IMAGE_PIXELS], u8) {
    let mut rng = rng_for(GENERATOR_SEED, purpose::SYNTHETIC, split.tag(), index);
    let label = (index % 10) as u8;
    let shape = Shape::random(label, &mut rng);
    let mut img = [0.0f32; IMAGE_PIXELS];
    for (k, px) in img.iter_mut().enumerate() {
        // Pixel centres, in the same units as the shape.
        let x = (k % IMAGE_COLS) as f32 + 0.5;
        let y = (k / IMAGE_COLS) as f32 + 0.5;
        let noise = (rng.gen::<f32>() * 2.0 - 1.0) * NOISE;
        *px = (shape.intensity * shape.coverage(x, y) + noise).clamp(0.0, 1.0);
    }
    debug_assert_eq!(IMAGE_ROWS * IMAGE_COLS, img.len());
    (img, label)
}

#[derive(Debug, Clone, Copy)]
struct P(f32, f32);

/// A shape in its own frame (centre at the origin, unrotated) and where it is drawn.
struct Shape {
    centre: P,
    /// cos and sin of the rotation.
    rot: P,
    intensity: f32,
    /// Half the stroke width.
    half: f32,
    strokes: Vec<(P, P)>,
    ring: Option<f32>,
    /// Half-axes of a soft ellipse.
    blob: Option<P>,
    dots: Vec<(P, f32)>,
}

impl Shape {
    fn random(class: u8, rng: &mut ChaCha8Rng) -> Self {
        let centre = P(rng.gen_range(10.0..18.0), rng.gen_range(10.0..18.0));
        let s: f32 = rng.gen_range(5.5..9.5);
        // Rotation through the rational parametrisation of the circle (no sin/cos, so exact on
        // every machine); |t| ≤ 0.14 is about ±16°, small enough that a plus never looks like a
        // cross.
        let t: f32 = rng.gen_range(-0.14..0.14);
        let rot = P((1.0 - t * t) / (1.0 + t * t), 2.0 * t / (1.0 + t * t));
        let intensity = rng.gen_range(0.6..1.0);
        let half = rng.gen_range(0.7..1.6);
        let mut shape =
            Self { centre, rot, intensity, half, strokes: Vec::new(), ring: None, blob: None, dots: Vec::new() };
        let a = 0.8 * s;
        match class {
            0 => shape.ring = Some(a),
            1 => shape.blob = Some(P(s, rng.gen_range(0.55..1.0) * s)),
            2 => shape.strokes = vec![(P(-s, 0.0), P(s, 0.0))],
            3 => shape.strokes = vec![(P(0.0, -s), P(0.0, s))],
            4 => shape.strokes = vec![(P(-s, 0.0), P(s, 0.0)), (P(0.0, -s), P(0.0, s))],
            5 => shape.strokes = vec![(P(-a, -a), P(a, a)), (P(-a, a), P(a, -a))],
            6 => {
                let c = [P(-a, -a), P(a, -a), P(a, a), P(-a, a)];
                shape.strokes = vec![(c[0], c[1]), (c[1], c[2]), (c[2], c[3]), (c[3], c[0])];
            }
            7 => {
                let c = [P(0.0, -s), P(0.9 * s, 0.7 * s), P(-0.9 * s, 0.7 * s)];
                shape.strokes = vec![(c[0], c[1]), (c[1], c[2]), (c[2], c[0])];
            }
            8 => shape.strokes = vec![(P(-a, -a), P(-a, a)), (P(-a, a), P(a, a))],
            _ => {
                let n = rng.gen_range(3..=5);
                shape.dots =
                    (0..n).map(|_| (P(rng.gen_range(-s..s), rng.gen_range(-s..s)), rng.gen_range(1.4..2.4))).collect();
            }
        }
        shape
    }

    /// How much of the pixel at (x, y) the shape covers, in [0, 1]: a one-pixel linear ramp
    /// across each edge, which is what anti-aliasing by distance amounts to.
    fn coverage(&self, x: f32, y: f32) -> f32 {
        let (dx, dy) = (x - self.centre.0, y - self.centre.1);
        let p = P(self.rot.0 * dx + self.rot.1 * dy, -self.rot.1 * dx + self.rot.0 * dy);
        let ramp = |d: f32| (0.5 - d).clamp(0.0, 1.0);
        let mut c: f32 = 0.0;
        for &(a, b) in &self.strokes {
            c = c.max(ramp(segment_distance(p, a, b) - self.half));
        }
        if let Some(r) = self.ring {
            c = c.max(ramp((norm(p) - r).abs() - self.half));
        }
        if let Some(P(rx, ry)) = self.blob {
            let q = (p.0 / rx) * (p.0 / rx) + (p.1 / ry) * (p.1 / ry);
            // Flat inside, fading out over the outer part: a soft-edged blob.
            c = c.max(((1.0 - q) * 2.0).clamp(0.0, 1.0));
        }
        for &(centre, r) in &self.dots {
            c = c.max(ramp(norm(P(p.0 - centre.0, p.1 - centre.1)) - r));
        }
        c
    }
}

fn norm(p: P) -> f32 {
    (p.0 * p.0 + p.1 * p.1).sqrt()
}

fn segment_distance(p: P, a: P, b: P) -> f32 {
    let (pa, ba) = (P(p.0 - a.0, p.1 - a.1), P(b.0 - a.0, b.1 - a.1));
    let len2 = ba.0 * ba.0 + ba.1 * ba.1;
    let h = if len2 > 0.0 { ((pa.0 * ba.0 + pa.1 * ba.1) / len2).clamp(0.0, 1.0) } else { 0.0 };
    norm(P(pa.0 - ba.0 * h, pa.1 - ba.1 * h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_depend_only_on_split_and_index() {
        let small = generate(SplitKind::Train, 20);
        let large = generate(SplitKind::Train, 50);
        assert_eq!(small.images[..], large.images[..20 * IMAGE_PIXELS]);
        assert_eq!(small.labels[..], large.labels[..20]);
        assert_eq!(image(SplitKind::Test, 7), image(SplitKind::Test, 7));
        assert_ne!(image(SplitKind::Test, 7).0, image(SplitKind::Train, 7).0);
        assert_ne!(image(SplitKind::Train, 7).0, image(SplitKind::Train, 17).0);
    }

    #[test]
    fn the_generator_output_is_pinned() {
        // A change here must come with a new FINGERPRINT, or old run ids would name new data.
        let (img, label) = image(SplitKind::Train, 3);
        let sum: f64 = img.iter().map(|&v| f64::from(v)).sum();
        assert_eq!((label, FINGERPRINT), (3, "synthetic-v1"));
        assert_eq!(sum.to_bits(), PINNED_SUM_BITS, "sum {sum}");
    }
    const PINNED_SUM_BITS: u64 = 4_630_488_130_242_600_960;

    #[test]
    fn values_are_in_unit_range_with_ink_and_background() {
        let s = generate(SplitKind::Train, 200);
        assert!(s.images.iter().all(|v| (0.0..=1.0).contains(v)));
        for i in 0..s.len() {
            let img = s.image(i);
            let ink = img.iter().filter(|&&v| v > 0.4).count();
            let dark = img.iter().filter(|&&v| v < 0.1).count();
            assert!(ink >= 15, "image {i} (class {}) has {ink} bright pixels", s.labels[i]);
            assert!(dark >= 300, "image {i} (class {}) has {dark} dark pixels", s.labels[i]);
        }
    }

    #[test]
    fn labels_cycle_through_ten_classes() {
        let s = generate(SplitKind::Test, 25);
        assert_eq!(s.labels[..12], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    }

    #[test]
    fn images_of_a_class_vary() {
        let s = generate(SplitKind::Train, 40);
        for c in 0..10 {
            let (a, b) = (s.image(c), s.image(c + 10));
            let diff: f32 = a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum();
            assert!(diff > 20.0, "class {c}: two images differ by only {diff}");
        }
    }

    /// Classes must be learnable: a nearest-class-mean classifier built on training images
    /// should label held-out test images far better than chance (10%), despite random position
    /// and size.
    #[test]
    fn classes_are_distinguishable() {
        let train = generate(SplitKind::Train, 1000);
        let test = generate(SplitKind::Test, 300);
        let mut means = vec![[0.0f32; IMAGE_PIXELS]; 10];
        for i in 0..train.len() {
            let m = &mut means[usize::from(train.labels[i])];
            for (a, &v) in m.iter_mut().zip(train.image(i)) {
                *a += v / 100.0;
            }
        }
        let mut correct = 0;
        for i in 0..test.len() {
            let img = test.image(i);
            let dist = |m: &[f32; IMAGE_PIXELS]| m.iter().zip(img).map(|(a, b)| (a - b) * (a - b)).sum::<f32>();
            let best = (0..10).min_by(|&a, &b| dist(&means[a]).total_cmp(&dist(&means[b]))).unwrap();
            correct += usize::from(best == usize::from(test.labels[i]));
        }
        let acc = correct as f64 / test.len() as f64;
        // 0.54 at the time of writing; 0.4 is four times chance.
        assert!(acc > 0.4, "nearest-mean accuracy {acc}");
    }
}
