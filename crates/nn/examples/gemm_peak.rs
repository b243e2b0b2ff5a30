//! The practical ceiling of the machine for our kernels: GFLOP/s of large f32 matrix products
//! through the same `matmul` crate the convolutions use (single-threaded calls, one per
//! core, as our kernels split work across threads themselves). `runner bench` divides by it for
//! "% of peak" in the README's table:
//!   cargo run --release -p nn --example gemm_peak [SIZE] [THREADS]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test may stop at a broken assumption
use matmul::View;
use std::time::Instant;

fn product(n: usize, reps: usize) -> f64 {
    let a: Vec<f32> = (0..n * n).map(|i| (i % 17) as f32 / 17.0).collect();
    let b: Vec<f32> = (0..n * n).map(|i| (i % 13) as f32 / 13.0).collect();
    let mut c = vec![0.0f32; n * n];
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        if let Err(e) = matmul::matmul(&mut c, n, false, View::rows(&a, n, n), View::rows(&b, n, n)) {
            eprintln!("{e}");
            return 0.0;
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    std::hint::black_box(&c);
    2.0 * (n as f64).powi(3) / best / 1e9
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1024);
    let threads: usize = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(2);
    let per_thread: Vec<f64> = std::thread::scope(|s| {
        (0..threads)
            .map(|_| s.spawn(|| product(n, 10)))
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap_or(0.0))
            .collect()
    });
    let total: f64 = per_thread.iter().sum();
    println!("{n}³ f32 products, {threads} concurrent single-threaded gemm calls (best of 10 each):");
    println!(
        "  {total:.0} GFLOP/s in all ({})",
        per_thread.iter().map(|g| format!("{g:.0}")).collect::<Vec<_>>().join(" + ")
    );
}
