//! The baselines `runner sweep` computes, on a real dataset, with times: the probe on the raw
//! pixels, and on PCA codes of a few sizes.
//!
//! `cargo run --release -p probe --example dataset_baselines -- [DATASET] [DATA_DIR] [TRAIN_LIMIT] [DIMS]`
//! e.g. `-- fashion-mnist data 60000 2,16,100`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test may stop at a broken assumption

use probe::{linear_probe, Pca, ProbeOptions};
use std::path::Path;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = spec::DatasetName::parse(args.first().map_or("fashion-mnist", String::as_str))?;
    let dir = args.get(1).map_or("data", String::as_str);
    let limit = args.get(2).map(|s| s.parse::<usize>()).transpose()?;
    let dims: Vec<usize> =
        args.get(3).map_or("2,16,100", String::as_str).split(',').map(str::parse).collect::<Result<_, _>>()?;
    let d = data::load(&name, Path::new(dir), limit, None)?;
    let (train, test) = (&d.train, &d.test);
    println!("{name}: {} train, {} test, {} threads", train.len(), test.len(), rayon::current_num_threads());
    let options = ProbeOptions::default();

    let t = Instant::now();
    let r = linear_probe(&train.images, &train.labels, &test.images, &test.labels, 784, &options)?;
    println!(
        "raw pixels: accuracy {:.4} (train {:.4}), {} iterations, converged {}, {:.2} s",
        r.accuracy,
        r.train_accuracy,
        r.iterations,
        r.converged,
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let pca = Pca::fit(&train.images, 784)?;
    println!("PCA fit: {:.2} s", t.elapsed().as_secs_f64());
    for k in dims {
        let t = Instant::now();
        let a = pca.transform(&train.images, k)?;
        let b = pca.transform(&test.images, k)?;
        let projected = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let r = linear_probe(&a, &train.labels, &b, &test.labels, k, &options)?;
        println!(
            "PCA-{k}: explained variance {:.4}, accuracy {:.4} (train {:.4}), {} iterations, converged {}, probe {:.2} s (projection {projected:.2} s)",
            pca.explained_variance_ratio(k), r.accuracy, r.train_accuracy, r.iterations, r.converged, t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
