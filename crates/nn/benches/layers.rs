//! Forward and backward passes of each convolution layer of the tutorial model, alone, at the
//! tutorial's batch sizes: `cargo bench -p nn --bench layers`. Regressions in the kernels show up
//! here without the noise of a whole training step (`runner bench` times those).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test may stop at a broken assumption

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use nn::kernel::layer::{backward, forward, LayerShape};
use nn::kernel::{Geometry, Padding};
use std::hint::black_box;

fn layers() -> Vec<(&'static str, LayerShape)> {
    use Padding::{Same, Valid};
    let conv = |h, c_in, c_out, s, p, relu| LayerShape {
        geometry: Geometry::conv(0, h, h, c_in, c_out, 3, s, p).expect("valid geometry"),
        transpose: false,
        relu,
    };
    let deconv = |h, c_in, c_out, s, relu| LayerShape {
        geometry: Geometry::conv_transpose(0, h, h, c_in, c_out, 3, s, Same).expect("valid geometry"),
        transpose: true,
        relu,
    };
    vec![
        ("conv1", conv(28, 1, 32, 2, Valid, true)),
        ("conv2", conv(13, 32, 32, 2, Valid, true)),
        ("deconv1", deconv(7, 32, 64, 2, true)),
        ("deconv2", deconv(14, 64, 32, 2, true)),
        ("deconv3", deconv(28, 32, 1, 1, false)),
        ("deconv4", deconv(28, 1, 1, 1, false)),
    ]
}

fn bench(c: &mut Criterion) {
    let batch = 100;
    for (name, l) in layers() {
        let g = l.geometry.with_batch(batch);
        let x: Vec<f32> = (0..batch * l.in_len()).map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0).collect();
        let w: Vec<f32> = (0..g.weight_len()).map(|i| ((i * 31) % 17) as f32 / 17.0 - 0.5).collect();
        let b = vec![0.1; l.out_c()];
        let mut y = vec![0.0; batch * l.out_len()];
        let macs = (g.small_h * g.small_w * g.weight_len() * batch) as u64;
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(2 * macs));
        group.bench_function(BenchmarkId::new("forward", batch), |bch| {
            bch.iter(|| forward(&l, batch, black_box(&x), &w, &b, &mut y).expect("forward"))
        });
        let (mut dx, mut dw, mut db, mut partials) =
            (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; b.len()], Vec::new());
        let mut gy = y.clone();
        group.throughput(Throughput::Elements(4 * macs));
        group.bench_function(BenchmarkId::new("backward", batch), |bch| {
            bch.iter(|| {
                gy.copy_from_slice(&y);
                backward(&l, batch, &x, Some(&y), &w, &mut gy, Some(&mut dx), &mut dw, &mut db, &mut partials)
                    .expect("backward")
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
