//! What an epoch measures on the test split: the reconstruction of clean (and, for a denoising
//! run, corrupted) test images; for a VAE its KL term and negative ELBO, and after the last epoch
//! its importance-sampled log-likelihood; and the linear probe of the codes.
//!
//! The test-set corruption and a VAE's test draws come from a fixed seed shared by every run, so
//! that the test metrics of different runs see the same draws.

use data::noise::corrupt;
use data::rng::{purpose, rng_for, standard_normal};
use data::Dataset;
use nn::kind::vae;
use nn::{EvalSums, LossKind, Model};
use spec::metrics::{Reconstruction, Timed, VaeMetrics};
use spec::{Noise, VaeSettings};
use std::time::Instant;

/// The seed of the test-set corruption and of a VAE's test draws: fixed, not the run's, so runs
/// compare on the same images.
pub(crate) const TEST_NOISE_SEED: u64 = 0x7e57_7e57;

/// The test metrics of one epoch.
pub(crate) struct TestMetrics {
    pub test: Reconstruction,
    pub noisy_test: Option<Reconstruction>,
    pub vae: Option<VaeMetrics>,
    pub nll: Option<Timed>,
    pub seconds: f64,
}

/// What the evaluation of a run needs besides the model.
pub(crate) struct Evaluation<'a> {
    pub dataset: &'a Dataset,
    pub loss: LossKind,
    /// The corrupted test images of a denoising run.
    pub noisy_test: Option<Vec<f32>>,
    pub vae: Option<VaeSettings>,
}

impl<'a> Evaluation<'a> {
    pub(crate) fn new(dataset: &'a Dataset, loss: LossKind, noise: &Noise, vae: Option<VaeSettings>) -> Self {
        let noisy_test = (!noise.is_none()).then(|| {
            let images = &dataset.test.images;
            let mut out = vec![0.0; images.len()];
            corrupt(noise, images, &mut out, &mut rng_for(TEST_NOISE_SEED, purpose::TEST_NOISE, 0, 0));
            out
        });
        Self { dataset, loss, noisy_test, vae }
    }

    /// The test metrics of `model` cut at `depth` (a stacked run's pre-training; `None` for the
    /// whole model). `likelihood`: also estimate a VAE's log-likelihood (after the last epoch).
    pub(crate) fn run(
        &self,
        model: &Model,
        depth: Option<usize>,
        likelihood: bool,
    ) -> Result<TestMetrics, nn::NnError> {
        let test = &self.dataset.test.images;
        let started = Instant::now();
        let sums = model.evaluate(test, test, depth)?;
        let noisy = match &self.noisy_test {
            Some(images) => Some(reconstruction(model.evaluate(images, test, depth)?)),
            None => None,
        };
        let vae = match self.vae {
            Some(_) => {
                let bound = vae::evaluate(model, self.loss, test, |i, e| test_draws(i, 0, e))?;
                Some(VaeMetrics { kl: bound.kl_mean(), neg_elbo: bound.neg_elbo_mean() })
            }
            None => None,
        };
        let nll = match self.vae {
            Some(v) if likelihood => {
                let started = Instant::now();
                let images = v.nll_images.min(self.dataset.test.len());
                let log_p =
                    vae::log_likelihood(model, self.loss, &test[..images * nn::IMAGE_LEN], v.nll_samples, |i, e| {
                        test_draws(i, 1, e)
                    })?;
                Some(Timed { value: -log_p / images.max(1) as f64, seconds: started.elapsed().as_secs_f64() })
            }
            _ => None,
        };
        Ok(TestMetrics {
            test: reconstruction(sums),
            noisy_test: noisy,
            vae,
            nll,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

fn reconstruction(s: EvalSums) -> Reconstruction {
    Reconstruction { bce: s.bce_mean(), mse: s.mse_mean(), psnr: s.psnr() }
}

/// A VAE's test draws for image `image`: `which` 0 for the ELBO's sample, 1 for the likelihood's
/// importance samples. The same for every run and epoch, and whatever the image's chunk.
fn test_draws(image: usize, which: u64, out: &mut [f32]) {
    standard_normal(&mut rng_for(TEST_NOISE_SEED, purpose::TEST_LATENT_NOISE, image as u64, which), out);
}

/// The codes of both splits (clean inputs, also for a denoising run: the probe asks what the
/// encoder has learnt about the images, not about the noise).
pub(crate) struct Codes {
    dim: usize,
    pub train: Vec<f32>,
    pub test: Vec<f32>,
    train_labels: Vec<u8>,
    test_labels: Vec<u8>,
}

impl Codes {
    pub(crate) fn of(model: &Model, dataset: &Dataset) -> Result<Self, nn::NnError> {
        Ok(Self {
            dim: model.latent_dim(),
            train: model.encode_all(&dataset.train.images)?,
            test: model.encode_all(&dataset.test.images)?,
            train_labels: dataset.train.labels[..dataset.train.len()].to_vec(),
            test_labels: dataset.test.labels[..dataset.test.len()].to_vec(),
        })
    }

    /// The linear probe: logistic regression on the standardised training codes, scored on the
    /// test codes.
    pub(crate) fn probe(&self) -> Result<probe::ProbeResult, probe::ProbeError> {
        probe::linear_probe(
            &self.train,
            &self.train_labels,
            &self.test,
            &self.test_labels,
            self.dim,
            &probe::ProbeOptions::default(),
        )
    }
}
