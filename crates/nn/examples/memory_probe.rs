//! Resident memory while training, per objective and architecture: it must stay flat from step to
//! step (a buffer kept per step is a leak that ends a long run). Prints a table:
//!   cargo run --release -p nn --example memory_probe [STEPS]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test may stop at a broken assumption
use nn::kind::{contractive::Contractive, sparse::SparseL1, vae::Vae, Objective, Reconstruction};
use nn::{Architecture, Device, Head, LossKind, Model, ModelSpec, NnError, OptimizerKind, Trainer, IMAGE_LEN};
use rand::SeedableRng;

/// Resident set size in MB, from /proc/self/statm (pages of 4 KiB).
fn rss_mb() -> f64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<f64>().ok()));
    pages.map_or(f64::NAN, |p| p * 4096.0 / 1e6)
}

fn main() -> Result<(), NnError> {
    let steps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(200);
    let batch = 100;
    let x: Vec<f32> = (0..batch * IMAGE_LEN).map(|i| (i % 13) as f32 / 13.0).collect();
    println!("{:<6} {:<12} {:>12} {:>12} {:>12}", "arch", "objective", "rss step 1", "rss last", "MB/step");
    for architecture in [Architecture::Dense, Architecture::Conv] {
        let hidden = if architecture == Architecture::Dense { vec![512, 256] } else { vec![] };
        let objectives: [(&str, Head, Box<dyn Objective>); 4] = [
            ("plain", Head::Linear, Box::new(Reconstruction)),
            ("sparse", Head::Linear, Box::new(SparseL1 { weight: 1e-4 })),
            ("contractive", Head::Linear, Box::new(Contractive { weight: 1e-4 })),
            ("vae", Head::Gaussian, Box::new(Vae { beta: 1.0 })),
        ];
        for (name, head, objective) in objectives {
            let spec = ModelSpec { architecture, latent_dim: 32, hidden: hidden.clone(), head };
            let model = Model::new(Device::Cpu, &spec, &mut rand_chacha::ChaCha8Rng::seed_from_u64(0))?;
            let mut t = Trainer::with_objective(model, LossKind::Bce, OptimizerKind::adam(1e-3), objective)?;
            let noise: Vec<f32> = (0..t.noise_len(batch)).map(|i| ((i % 7) as f32 - 3.0) / 3.0).collect();
            t.step(&x, &x, &noise)?;
            let first = rss_mb();
            for _ in 1..steps {
                t.step(&x, &x, &noise)?;
            }
            let last = rss_mb();
            let arch = format!("{architecture:?}").to_lowercase();
            println!("{arch:<6} {name:<12} {first:>12.0} {last:>12.0} {:>12.3}", (last - first) / (steps - 1) as f64);
        }
    }
    Ok(())
}
