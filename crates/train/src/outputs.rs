//! What a finished run leaves in its folder besides its record (the names come from
//! `spec::layout`): the checkpoint, the reconstruction picture (the tutorial's `plot_AE`), the test
//! codes in the plane (`latent.csv`) and, for a VAE, pictures of draws from its prior
//! (`samples.png`, and `manifold.png` for a 2-D latent space). Each is replaced atomically.

use crate::{RunInfo, TrainError};
use data::rng::{purpose, rng_for, standard_normal};
use data::Dataset;
use nn::{Head, Model};
use spec::RunDir;
use std::path::Path;

/// Test images shown in a run's reconstruction picture (the tutorial's `plot_AE` shows 10).
const PICTURE_IMAGES: usize = 10;
/// Draws from a VAE's prior in `samples.png`: an 8 × 8 grid.
pub const SAMPLE_IMAGES: usize = 64;
/// The side of `manifold.png`, a 2-D latent space's picture (Kingma & Welling's figure 4).
pub const MANIFOLD_SIDE: usize = 20;
/// The seed of `samples.png`'s draws (`runner sample --seed` chooses others).
pub const SAMPLE_SEED: u64 = 0;

/// Writes every output of a finished run into `dir`; `test_codes` are the last probe's (encoded
/// again when the run had no probe).
pub(crate) fn write(
    info: &RunInfo<'_>,
    dir: &RunDir,
    model: &Model,
    dataset: &Dataset,
    noisy_test: Option<&[f32]>,
    test_codes: Option<Vec<f32>>,
) -> Result<(), TrainError> {
    let run = info.run_id;
    let out_err =
        |path: &Path, message: String| TrainError::Output { run: run.to_string(), path: path.to_path_buf(), message };
    let model_err = |cause| TrainError::Model { run: run.to_string(), cause };
    let ckpt = dir.checkpoint();
    let meta = [
        ("run_id", run.to_string()),
        ("sweep", info.sweep.to_string()),
        ("variant", info.variant.to_string()),
        ("kind", info.config.model.kind.name().to_string()),
        ("config", info.config.canonical()),
        ("device", model.device().name().to_string()),
    ];
    nn::checkpoint::save(model, &ckpt, &meta).map_err(|e| out_err(&ckpt, e.to_string()))?;

    let n = PICTURE_IMAGES.min(dataset.test.len());
    let originals = &dataset.test.images[..n * nn::IMAGE_LEN];
    let inputs = noisy_test.map_or(originals, |t| &t[..n * nn::IMAGE_LEN]);
    let recon = model.reconstruct(inputs, None).map_err(model_err)?;
    let split = |v: &[f32]| -> Vec<Vec<f32>> { v.chunks(nn::IMAGE_LEN).map(<[f32]>::to_vec).collect() };
    let mut rows = vec![split(originals)];
    if noisy_test.is_some() {
        rows.push(split(inputs));
    }
    rows.push(split(&recon));
    let rows: Vec<Vec<&[f32]>> = rows.iter().map(|r| r.iter().map(Vec::as_slice).collect()).collect();
    let png = dir.reconstructions();
    data::grid::write_grid_png(&png, &rows, 28, 28, 2).map_err(|e| out_err(&png, e.to_string()))?;

    if model.head() == Head::Gaussian {
        let samples = prior_samples(model, SAMPLE_IMAGES, SAMPLE_SEED).map_err(model_err)?;
        let png = dir.samples();
        write_image_grid(&png, &samples, 8, 2).map_err(|e| out_err(&png, e.to_string()))?;
        if model.latent_dim() == 2 {
            let images = manifold(model, MANIFOLD_SIDE).map_err(model_err)?;
            let png = dir.manifold();
            write_image_grid(&png, &images, MANIFOLD_SIDE, 1).map_err(|e| out_err(&png, e.to_string()))?;
        }
    }

    let codes = match test_codes {
        Some(codes) => codes,
        None => model.encode_all(&dataset.test.images).map_err(model_err)?,
    };
    let latent = dir.latent_csv();
    write_latent(&latent, info.config.model.latent_dim, &codes, &dataset.test.labels)
        .map_err(|message| out_err(&latent, message))
}

/// `count` images decoded from codes drawn from a VAE's prior N(0, I) with `seed`.
pub fn prior_samples(model: &Model, count: usize, seed: u64) -> Result<Vec<f32>, nn::NnError> {
    if model.head() != Head::Gaussian {
        return Err(nn::NnError::Config("only a VAE has a prior to draw codes from".into()));
    }
    let mut z = vec![0.0f32; count * model.latent_dim()];
    standard_normal(&mut rng_for(seed, purpose::PRIOR_SAMPLES, 0, 0), &mut z);
    model.decode_all(&z)
}

/// A `side × side` picture of a VAE's 2-D latent space, row by row: the decoded codes at evenly
/// spaced quantiles of the prior (see [`nn::kind::vae::manifold_codes`]).
pub fn manifold(model: &Model, side: usize) -> Result<Vec<f32>, nn::NnError> {
    if model.head() != Head::Gaussian || model.latent_dim() != 2 {
        return Err(nn::NnError::Config(format!(
            "a latent-space picture needs a VAE with a 2-D latent space (this model: a {} code of {} dimensions)",
            model.head().name(),
            model.latent_dim()
        )));
    }
    model.decode_all(&nn::kind::vae::manifold_codes(side))
}

/// Writes images (`[n, 784]`) as a grid of `per_row` columns.
pub fn write_image_grid(path: &Path, images: &[f32], per_row: usize, scale: usize) -> Result<(), data::DataError> {
    let cells: Vec<&[f32]> = images.chunks(nn::IMAGE_LEN).collect();
    let rows: Vec<Vec<&[f32]>> = cells.chunks(per_row.max(1)).map(<[&[f32]]>::to_vec).collect();
    data::grid::write_grid_png(path, &rows, 28, 28, scale)
}

/// Writes `label,x,y` per test image: the code itself for a 2-D latent space, its first two
/// principal components (PCA of the test codes) otherwise, `(z0, 0)` for a 1-D one.
fn write_latent(path: &Path, dim: usize, codes: &[f32], labels: &[u8]) -> Result<(), String> {
    let plane: Vec<f32> = match dim {
        1 => codes.iter().flat_map(|&z| [z, 0.0]).collect(),
        2 => codes.to_vec(),
        _ => probe::Pca::fit(codes, dim).and_then(|pca| pca.transform(codes, 2)).map_err(|e| e.to_string())?,
    };
    let mut text = String::with_capacity(labels.len() * 24 + 16);
    text.push_str("label,x,y\n");
    for (label, xy) in labels.iter().zip(plane.chunks_exact(2)) {
        text.push_str(&format!("{label},{},{}\n", xy[0], xy[1]));
    }
    atomic_file::write(path, text.as_bytes()).map_err(|e| e.to_string())
}
