//! A trainer's state file (`Trainer::save_state` / `load_state`): training N steps straight must
//! equal training k steps, saving, loading into a fresh trainer built the same way and training
//! N − k more, bit for bit — weights and every step's loss — for the plain objective, a sparse
//! one, the VAE, the contractive one, both optimizers, both architectures, a stacked model's
//! pre-training optimizer, and the device-generic path on the CPU. A state that does not fit the
//! trainer is refused with an error naming the file.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test may stop at a broken assumption

use nn::kind::contractive::Contractive;
use nn::kind::sparse::SparseL1;
use nn::kind::vae::Vae;
use nn::kind::{Objective, Reconstruction};
use nn::{Architecture, Device, Head, LossKind, Model, ModelSpec, OptimizerKind, Trainer, IMAGE_LEN};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

/// How one test trainer is built: every call gives the same trainer.
#[derive(Clone)]
struct Setup {
    device: Device,
    spec: ModelSpec,
    optimizer: OptimizerKind,
    objective: fn() -> Box<dyn Objective>,
}

impl Setup {
    fn build(&self) -> Trainer {
        let model = Model::new(self.device, &self.spec, &mut ChaCha8Rng::seed_from_u64(11)).unwrap();
        Trainer::with_objective(model, LossKind::Bce, self.optimizer, (self.objective)()).unwrap()
    }

    fn name(&self) -> String {
        format!(
            "{} {:?} {:?} {} {:?}",
            self.device,
            self.spec.architecture,
            self.spec.head,
            self.optimizer.name(),
            (self.objective)()
        )
    }
}

/// Batch `step` of the test's data: 6 images, each step's own, and its noise draws.
fn batch(step: usize, noise_len: usize) -> (Vec<f32>, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(100 + step as u64);
    let images = (0..6 * IMAGE_LEN)
        .map(|i| if (i / 28 + step).is_multiple_of(5) { rng.gen_range(0.5..1.0) } else { 0.0 })
        .collect();
    let noise = (0..noise_len).map(|_| rng.sample::<f64, _>(rand_distr::StandardNormal) as f32).collect();
    (images, noise)
}

/// Steps `from..to` on `t`; every loss, as bits.
fn train(t: &mut Trainer, from: usize, to: usize) -> Vec<u32> {
    (from..to)
        .map(|s| {
            let (x, noise) = batch(s, t.noise_len(6));
            t.step(&x, &x, &noise).unwrap().total().to_bits()
        })
        .collect()
}

fn bits(t: &Trainer) -> Vec<Vec<u32>> {
    t.model.weights().into_iter().map(|w| w.values.into_iter().map(f32::to_bits).collect()).collect()
}

fn resumes_bit_for_bit(setup: &Setup, dir: &Path) {
    let (n, k) = (7, 3);
    let mut straight = setup.build();
    let losses = train(&mut straight, 0, n);

    for k in [0, k] {
        let mut first = setup.build();
        let mut resumed_losses = train(&mut first, 0, k);
        let path = dir.join("state.safetensors");
        first.save_state(&path, &[("epoch", k.to_string())]).unwrap();
        drop(first);
        let mut fresh = setup.build();
        let meta = fresh.load_state(&path).unwrap();
        assert_eq!(meta["epoch"], k.to_string());
        assert_eq!(fresh.optimizer_steps(), k as u64, "{}", setup.name());
        resumed_losses.extend(train(&mut fresh, k, n));
        assert_eq!(resumed_losses, losses, "{} resumed after {k}: losses", setup.name());
        assert_eq!(bits(&fresh), bits(&straight), "{} resumed after {k}: weights", setup.name());
    }
}

#[test]
fn training_resumes_bit_for_bit_from_a_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let sgd = OptimizerKind::Sgd { learning_rate: 0.05, momentum: 0.9 };
    let conv = |head| ModelSpec { architecture: Architecture::Conv, latent_dim: 4, hidden: vec![], head };
    let dense = |head| ModelSpec { architecture: Architecture::Dense, latent_dim: 4, hidden: vec![16], head };
    let plain: fn() -> Box<dyn Objective> = || Box::new(Reconstruction);
    let sparse: fn() -> Box<dyn Objective> = || Box::new(SparseL1 { weight: 0.05 });
    let vae: fn() -> Box<dyn Objective> = || Box::new(Vae { beta: 1.0 });
    let contractive: fn() -> Box<dyn Objective> = || Box::new(Contractive { weight: 0.05 });
    let mut setups = Vec::new();
    for optimizer in [OptimizerKind::adam(1e-3), sgd] {
        for spec in [conv, dense] {
            setups.push(Setup { device: Device::Cpu, spec: spec(Head::Linear), optimizer, objective: plain });
            setups.push(Setup { device: Device::Cpu, spec: spec(Head::Linear), optimizer, objective: sparse });
            setups.push(Setup { device: Device::Cpu, spec: spec(Head::Gaussian), optimizer, objective: vae });
            setups.push(Setup { device: Device::GenericCpu, spec: spec(Head::Linear), optimizer, objective: plain });
        }
    }
    setups.push(Setup { device: Device::Cpu, spec: dense(Head::Linear), optimizer: sgd, objective: contractive });
    for setup in &setups {
        resumes_bit_for_bit(setup, dir.path());
    }
    eprintln!("{} set-ups resumed bit for bit after 0 and 3 of 7 steps", setups.len());
}

#[test]
fn a_stacked_runs_pretraining_resumes_bit_for_bit() {
    // Pre-training layer 1 (3 steps, saved after 2), then layer 2 (2 steps), then 2 steps of the
    // whole model: the pre-training optimizer's moments travel in the file too.
    let dir = tempfile::tempdir().unwrap();
    let spec = ModelSpec::plain(Architecture::Dense, 4, vec![16, 8]);
    for optimizer in [OptimizerKind::adam(1e-3), OptimizerKind::Sgd { learning_rate: 0.05, momentum: 0.9 }] {
        let setup =
            Setup { device: Device::Cpu, spec: spec.clone(), optimizer, objective: || Box::new(Reconstruction) };
        let schedule = |t: &mut Trainer, from: usize, to: usize| -> Vec<u32> {
            (from..to)
                .map(|s| {
                    let (x, _) = batch(s, 0);
                    match s {
                        0..3 => t.pretrain_step(1, &x, &x).unwrap().to_bits(),
                        3..5 => t.pretrain_step(2, &x, &x).unwrap().to_bits(),
                        _ => t.step(&x, &x, &[]).unwrap().total().to_bits(),
                    }
                })
                .collect()
        };
        let mut straight = setup.build();
        let losses = schedule(&mut straight, 0, 7);
        for k in [2, 4] {
            let mut first = setup.build();
            let mut resumed = schedule(&mut first, 0, k);
            let path = dir.path().join("stacked.safetensors");
            first.save_state(&path, &[]).unwrap();
            let mut fresh = setup.build();
            fresh.load_state(&path).unwrap();
            resumed.extend(schedule(&mut fresh, k, 7));
            assert_eq!(resumed, losses, "{} resumed after {k}", optimizer.name());
            assert_eq!(bits(&fresh), bits(&straight), "{} resumed after {k}", optimizer.name());
        }
    }
}

#[test]
fn a_state_that_does_not_fit_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run-7.safetensors");
    let setup = Setup {
        device: Device::Cpu,
        spec: ModelSpec::plain(Architecture::Dense, 4, vec![16]),
        optimizer: OptimizerKind::adam(1e-3),
        objective: || Box::new(Reconstruction),
    };
    let mut t = setup.build();
    train(&mut t, 0, 2);
    t.save_state(&path, &[]).unwrap();
    let refuse = |other: Setup, what: &str| {
        let e = other.build().load_state(&path).unwrap_err().to_string();
        assert!(e.contains("run-7.safetensors") && e.contains(what), "{e}");
    };
    refuse(Setup { spec: ModelSpec::plain(Architecture::Dense, 5, vec![16]), ..setup.clone() }, "latent 4");
    refuse(Setup { spec: ModelSpec::plain(Architecture::Conv, 4, vec![]), ..setup.clone() }, "conv");
    refuse(Setup { optimizer: OptimizerKind::Sgd { learning_rate: 0.1, momentum: 0.9 }, ..setup.clone() }, "`adam`");
    // A plain checkpoint is not a state; a state file is a checkpoint, though.
    let ckpt = dir.path().join("model.safetensors");
    nn::checkpoint::save(&t.model, &ckpt, &[]).unwrap();
    let e = setup.build().load_state(&ckpt).unwrap_err().to_string();
    assert!(e.contains("model.safetensors") && e.contains("not a training state"), "{e}");
    let (as_checkpoint, _) = nn::checkpoint::load(Device::Cpu, &path).unwrap();
    assert_eq!(as_checkpoint.weights(), t.model.weights());
    let e = t.save_state(&path, &[("optimizer", "mine".into())]).unwrap_err().to_string();
    assert!(e.contains("`optimizer`"), "{e}");
    // The learning rate is the trainer's own: a state continues under another one.
    let faster = Setup { optimizer: OptimizerKind::adam(1e-2), ..setup };
    assert!(faster.build().load_state(&path).is_ok());
}
