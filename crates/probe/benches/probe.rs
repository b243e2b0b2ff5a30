//! The probe and PCA at the sizes a sweep meets: the tutorial's run (60,000 training and 10,000
//! test codes of 100 dimensions, 10 classes) and the PCA of 60,000 images of 784 pixels.
//! `cargo bench -p probe`. Codes are synthetic: ten overlapping Gaussian clusters, which the solver
//! finishes in about 15 iterations, while the codes of a trained conv model take about 270; so the
//! cost of a fixed 100 iterations is timed too (a pass over the data each). `examples/
//! dataset_baselines.rs` times real data.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test may stop at a broken assumption

use criterion::{criterion_group, criterion_main, Criterion};
use probe::{linear_probe, Pca, ProbeOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use std::time::Duration;

fn clusters(n: usize, dim: usize, seed: u64) -> (Vec<f32>, Vec<u8>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let centres: Vec<Vec<f32>> = (0..10).map(|_| (0..dim).map(|_| rng.gen_range(-0.3..0.3)).collect()).collect();
    let noise = Normal::new(0.0f32, 1.0).unwrap();
    let mut x = Vec::with_capacity(n * dim);
    for i in 0..n {
        x.extend(centres[i % 10].iter().map(|m| m + noise.sample(&mut rng)));
    }
    (x, (0..n).map(|i| (i % 10) as u8).collect())
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("probe");
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    let (all, labels) = clusters(70_000, 100, 1);
    let (train, test) = all.split_at(60_000 * 100);
    let (train_y, test_y) = labels.split_at(60_000);
    let r = linear_probe(train, train_y, test, test_y, 100, &ProbeOptions::default()).unwrap();
    eprintln!("probe 60000×100: accuracy {:.4}, {} iterations, converged {}", r.accuracy, r.iterations, r.converged);
    g.bench_function("linear_probe_60000x100_10_classes", |b| {
        b.iter(|| linear_probe(train, train_y, test, test_y, 100, &ProbeOptions::default()).unwrap())
    });
    let hundred = ProbeOptions {
        max_iterations: 100,
        gradient_tolerance: 0.0,
        relative_decrease: 0.0,
        ..ProbeOptions::default()
    };
    g.bench_function("linear_probe_60000x100_100_iterations", |b| {
        b.iter(|| linear_probe(train, train_y, test, test_y, 100, &hundred).unwrap())
    });
    let (pixels, _) = clusters(60_000, 784, 2);
    g.bench_function("pca_fit_60000x784", |b| b.iter(|| Pca::fit(&pixels, 784).unwrap()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
