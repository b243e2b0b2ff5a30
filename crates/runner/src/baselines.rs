//! `runner sweep`'s baselines: before the runs, the linear probe on the raw pixels of each
//! dataset (with its limits) and on PCA codes of each latent size the runs use, each stored in
//! `<sweep>/baselines/` and reused when it is already there (see `results::baseline`). They give
//! the report its "does the auto-encoder beat PCA?" context. A baseline that fails is reported and
//! skipped: it never stops the runs.

use crate::plan::{Datasets, Planned};
use crate::progress::Display;
use anyhow::Result;
use data::{Dataset, IMAGE_PIXELS};
use results::baseline::{data_key, file_name};
use results::{Baseline, BaselineKind, SweepDir};
use std::collections::BTreeSet;
use std::time::Instant;

/// Computes the baselines `runs` need that are not stored yet. Only errors of the results store
/// (a baseline computed but not written) are returned.
pub fn ensure(store: &SweepDir, runs: &[&Planned], datasets: &Datasets, display: &Display) -> Result<()> {
    // Datasets in the order the runs first use them; latent sizes sorted.
    let mut keys = Vec::new();
    for p in runs {
        if !keys.contains(&p.dataset) {
            keys.push(p.dataset.clone());
        }
    }
    for key in &keys {
        let dataset = datasets.get(key)?;
        let dims: BTreeSet<usize> =
            runs.iter().filter(|p| p.dataset == *key).map(|p| p.spec.config.model.latent_dim).collect();
        let dkey = data_key(&dataset.fingerprint, key.1, key.2, probe::SCHEME);
        let what = describe(dataset);

        let pixels = file_name(&dkey, BaselineKind::Pixels, IMAGE_PIXELS);
        if SweepDir::cached_baseline(&store.baselines_dir().join(&pixels)).is_none() {
            let started = Instant::now();
            let result = probe::linear_probe(
                &dataset.train.images,
                &dataset.train.labels,
                &dataset.test.images,
                &dataset.test.labels,
                IMAGE_PIXELS,
                &probe::ProbeOptions::default(),
            );
            match result {
                Ok(r) => {
                    let b = baseline(BaselineKind::Pixels, dataset, key, IMAGE_PIXELS, &r, None, started);
                    store.write_baseline(&pixels, &b)?;
                    display.line(&format!("baseline {what}: probe on the raw pixels: {}", summary(&b)));
                }
                Err(e) => display.line(&format!("baseline {what}: probe on the raw pixels failed: {e}")),
            }
        }

        let missing: Vec<usize> = dims
            .into_iter()
            .filter(|&k| {
                SweepDir::cached_baseline(&store.baselines_dir().join(file_name(&dkey, BaselineKind::Pca, k))).is_none()
            })
            .collect();
        if missing.is_empty() {
            continue;
        }
        // One PCA of the training images serves every latent size.
        let started = Instant::now();
        let pca = match probe::Pca::fit(&dataset.train.images, IMAGE_PIXELS) {
            Ok(pca) => pca,
            Err(e) => {
                display.line(&format!("baseline {what}: PCA failed: {e}"));
                continue;
            }
        };
        display
            .line(&format!("baseline {what}: PCA of the training images in {:.1} s", started.elapsed().as_secs_f64()));
        for k in missing {
            if k > IMAGE_PIXELS {
                display.line(&format!(
                    "baseline {what}: latent size {k} exceeds the {IMAGE_PIXELS} pixels: no PCA baseline"
                ));
                continue;
            }
            let started = Instant::now();
            let result = pca.transform(&dataset.train.images, k).and_then(|train| {
                let test = pca.transform(&dataset.test.images, k)?;
                probe::linear_probe(
                    &train,
                    &dataset.train.labels,
                    &test,
                    &dataset.test.labels,
                    k,
                    &probe::ProbeOptions::default(),
                )
            });
            match result {
                Ok(r) => {
                    let variance = Some(pca.explained_variance_ratio(k));
                    let b = baseline(BaselineKind::Pca, dataset, key, k, &r, variance, started);
                    store.write_baseline(&file_name(&dkey, BaselineKind::Pca, k), &b)?;
                    display.line(&format!("baseline {what}: probe on PCA-{k}: {}", summary(&b)));
                }
                Err(e) => display.line(&format!("baseline {what}: probe on PCA-{k} failed: {e}")),
            }
        }
    }
    Ok(())
}

fn baseline(
    kind: BaselineKind,
    dataset: &Dataset,
    key: &crate::plan::DataKey,
    dim: usize,
    r: &probe::ProbeResult,
    explained_variance: Option<f64>,
    started: Instant,
) -> Baseline {
    Baseline {
        kind,
        dataset: dataset.name.to_string(),
        dataset_fingerprint: dataset.fingerprint.clone(),
        train_limit: key.1.map(|v| v as u64),
        test_limit: key.2.map(|v| v as u64),
        train_samples: dataset.train.len() as u64,
        test_samples: dataset.test.len() as u64,
        dim: dim as u64,
        accuracy: r.accuracy,
        train_accuracy: r.train_accuracy,
        explained_variance,
        iterations: r.iterations as u64,
        converged: r.converged,
        probe_scheme: probe::SCHEME.to_string(),
        seconds: started.elapsed().as_secs_f64(),
        created_at: results::now_rfc3339(),
        runner_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// `fashion-mnist (60000 train / 10000 test images)`.
fn describe(d: &Dataset) -> String {
    format!("{} ({} train / {} test images)", d.name, d.train.len(), d.test.len())
}

/// `accuracy 0.8411 (train 0.8837), 500 L-BFGS iterations (the cap), 29.4 s`.
fn summary(b: &Baseline) -> String {
    let variance = b.explained_variance.map_or(String::new(), |v| format!(", {:.1}% of the variance", v * 100.0));
    let cap = if b.converged { "" } else { " (the cap)" };
    format!(
        "accuracy {:.4} (train {:.4}){variance}, {} L-BFGS iterations{cap}, {:.1} s",
        b.accuracy, b.train_accuracy, b.iterations, b.seconds
    )
}
