//! Times one layer's forward and backward passes, single-threaded, for profiling under
//! `valgrind --tool=callgrind` (instruction counts do not depend on machine load):
//!   cargo build --release -p nn --example layer_probe
//!   valgrind --tool=callgrind target/release/examples/layer_probe deconv3 100 3
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test may stop at a broken assumption
use nn::kernel::layer::{backward, forward, LayerShape};
use nn::kernel::{Geometry, Padding};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let name = args.get(1).map_or("deconv2", String::as_str);
    let batch: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100);
    let reps: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10);
    let conv = |h, c_in, c_out, s, p, relu| LayerShape {
        geometry: Geometry::conv(0, h, h, c_in, c_out, 3, s, p).unwrap(),
        transpose: false,
        relu,
    };
    let deconv = |h, c_in, c_out, s, relu| LayerShape {
        geometry: Geometry::conv_transpose(0, h, h, c_in, c_out, 3, s, Padding::Same).unwrap(),
        transpose: true,
        relu,
    };
    let l = match name {
        "conv1" => conv(28, 1, 32, 2, Padding::Valid, true),
        "conv2" => conv(13, 32, 32, 2, Padding::Valid, true),
        "deconv1" => deconv(7, 32, 64, 2, true),
        "deconv2" => deconv(14, 64, 32, 2, true),
        "deconv3" => deconv(28, 32, 1, 1, false),
        _ => deconv(28, 1, 1, 1, false),
    };
    let g = l.geometry.with_batch(batch);
    let x: Vec<f32> = (0..batch * l.in_len()).map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0).collect();
    let w: Vec<f32> = (0..g.weight_len()).map(|i| ((i * 31) % 17) as f32 / 17.0 - 0.5).collect();
    let b = vec![0.1; l.out_c()];
    let mut y = vec![0.0; batch * l.out_len()];
    let (mut dx, mut dw, mut db, mut partials) =
        (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; b.len()], Vec::new());
    let mut gy = y.clone();
    let (mut tf, mut tb) = (0.0, 0.0);
    for _ in 0..reps {
        let t = Instant::now();
        forward(&l, batch, &x, &w, &b, &mut y).unwrap();
        tf += t.elapsed().as_secs_f64();
        gy.copy_from_slice(&y);
        let t = Instant::now();
        backward(&l, batch, &x, l.relu.then_some(&y[..]), &w, &mut gy, Some(&mut dx), &mut dw, &mut db, &mut partials)
            .unwrap();
        tb += t.elapsed().as_secs_f64();
    }
    let macs = (g.small_h * g.small_w * g.weight_len() * batch) as f64;
    println!(
        "{name} batch {batch}: forward {:.3} ms ({:.1} GFLOP/s), backward {:.3} ms ({:.1} GFLOP/s)",
        tf * 1e3 / reps as f64,
        2.0 * macs * reps as f64 / tf / 1e9,
        tb * 1e3 / reps as f64,
        4.0 * macs * reps as f64 / tb / 1e9
    );
}
