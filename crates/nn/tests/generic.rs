//! The device-generic path (what CUDA runs) against the CPU path's fast kernels, on dfdx's `Cpu`:
//! single convolution and transposed-convolution layers (both lowerings, stride 1 and 2, SAME
//! and VALID, several channel counts), whole models (outputs, loss and every gradient), a short
//! training run, the trainer's refusals, and checkpoints across devices.
//!
//! Tolerance per tensor: max |generic − fast| ≤ 1e-5 · its scale. For a single layer the scale
//! is the largest Σ|terms| of any value (the fast kernel run on |x|, |w|, |v|: the magnitude
//! that f32 rounding works on, since a bias gradient of hundreds of ±1 terms can cancel to
//! 0.1); for a model, the largest |value| of the fast path's tensor. Both sides are float32 with
//! different summation orders; a layout, padding or permutation mistake gives errors of order 1.
//! Run with `--nocapture` to see the measured errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test may stop at a broken assumption

use dfdx::prelude::*;
use nn::generic::{Direction, GatherConv, Lowering};
use nn::kernel::{Geometry, Padding};
use nn::kind::sparse::SparseL1;
use nn::op::conv::{conv2d, conv_transpose2d};
use nn::op::Activation;
use nn::{Architecture, Device, Head, LossKind, Model, ModelSpec, OptimizerKind, Trainer, IMAGE_LEN};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const TOL: f64 = 1e-5;

fn values(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.gen_range(lo..hi)).collect()
}

/// max |a − b| / scale.
fn error(ours: &[f32], reference: &[f32], scale: f64) -> f64 {
    assert_eq!(ours.len(), reference.len(), "lengths");
    ours.iter().zip(reference).fold(0.0f64, |m, (a, b)| m.max((*a as f64 - *b as f64).abs())) / scale.max(1e-30)
}

fn largest(v: &[f32]) -> f64 {
    v.iter().fold(0.0f64, |m, x| m.max(x.abs() as f64))
}

/// One layer case.
#[derive(Debug, Clone, Copy)]
struct Case {
    transpose: bool,
    batch: usize,
    h: usize,
    w: usize,
    c_in: usize,
    c_out: usize,
    s: usize,
    padding: Padding,
    relu: bool,
}

/// Output and input, weight and bias gradients of L = Σ y·v through the fast kernel.
fn fast(case: &Case, g: Geometry, x: &[f32], w: &[f32], b: &[f32], v: &[f32], act: Activation) -> [Vec<f32>; 4] {
    let dev = Cpu::default();
    let (xt, wt, bt) = (
        dev.tensor_from_vec(x.to_vec(), (x.len(),)),
        dev.tensor_from_vec(w.to_vec(), (w.len(),)),
        dev.tensor_from_vec(b.to_vec(), (b.len(),)),
    );
    let y = if case.transpose {
        conv_transpose2d(xt.leaky_trace(), &wt, &bt, g, act, (v.len(),))
    } else {
        conv2d(xt.leaky_trace(), &wt, &bt, g, act, (v.len(),))
    }
    .unwrap();
    let y_values = y.as_vec();
    let grads = (y * dev.tensor_from_vec(v.to_vec(), (v.len(),))).sum().backward();
    [y_values, grads.get(&xt).as_vec(), grads.get(&wt).as_vec(), grads.get(&bt).as_vec()]
}

/// The four errors of the gather path against the fast kernel, for one lowering.
fn layer_case(case: Case, lowering: Lowering) -> [f64; 4] {
    let dev = Cpu::default();
    let g = if case.transpose {
        Geometry::conv_transpose(0, case.h, case.w, case.c_in, case.c_out, 3, case.s, case.padding)
    } else {
        Geometry::conv(0, case.h, case.w, case.c_in, case.c_out, 3, case.s, case.padding)
    }
    .unwrap();
    let direction = if case.transpose { Direction::Transpose } else { Direction::Conv };
    let layer = GatherConv::with_lowering(&dev, g, direction, lowering).unwrap();
    let (in_len, out_len) = (layer.in_len(), layer.out_len());
    let x = values(case.batch * in_len, 1, -1.0, 1.0);
    let w = values(g.weight_len(), 2, -1.0, 1.0);
    // Biases small enough that a ReLU cuts some outputs but not all.
    let b = values(case.c_out, 3, -0.3, 0.3);
    let v = values(case.batch * out_len, 4, -1.0, 1.0);
    let act = if case.relu { Activation::Relu } else { Activation::Linear };
    let reference = fast(&case, g.with_batch(case.batch), &x, &w, &b, &v, act);
    let abs = |s: &[f32]| s.iter().map(|v| v.abs()).collect::<Vec<_>>();
    let mass = fast(&case, g.with_batch(case.batch), &abs(&x), &abs(&w), &abs(&b), &abs(&v), Activation::Linear);

    let xt = dev.tensor_from_vec(x, (case.batch, in_len));
    let wt = dev.tensor_from_vec(w, (g.weight_len(),));
    let bt = dev.tensor_from_vec(b, (case.c_out,));
    let y = layer.forward(xt.leaky_trace(), &wt, &bt, case.relu).unwrap(); // [batch, out_len]
    let y_values = y.as_vec();
    let grads = (y * dev.tensor_from_vec(v, (case.batch, out_len))).sum().backward();
    let ours = [y_values, grads.get(&xt).as_vec(), grads.get(&wt).as_vec(), grads.get(&bt).as_vec()];
    let errors = [0, 1, 2, 3].map(|i| error(&ours[i], &reference[i], largest(&mass[i])));
    for (what, e) in ["output", "input gradient", "weight gradient", "bias gradient"].iter().zip(&errors) {
        assert!(*e <= TOL, "{case:?} {lowering:?}: {what} differs from the fast kernel by {e:.3e} of its scale");
    }
    errors
}

fn layers_match_the_fast_kernels(transpose: bool) {
    let mut worst = [0.0f64; 4];
    let mut n = 0;
    let shapes = [(28, 28), (13, 13), (7, 7), (8, 6)];
    let channels = [(1, 1), (1, 32), (32, 1), (3, 5), (32, 32), (64, 32)];
    for (si, &(h, w)) in shapes.iter().enumerate() {
        for (s, padding) in [(1, Padding::Same), (2, Padding::Same), (1, Padding::Valid), (2, Padding::Valid)] {
            for (ci, &(c_in, c_out)) in channels.iter().enumerate() {
                // The widest layers on the largest image once per stride: enough, and the slowest.
                if (h, w) == (28, 28) && c_in * c_out > 100 && padding == Padding::Valid {
                    continue;
                }
                let batch = 1 + (si + ci) % 3;
                let relu = (si + ci + s) % 2 == 0;
                let case = Case { transpose, batch, h, w, c_in, c_out, s, padding, relu };
                for lowering in [Lowering::Im2col, Lowering::Col2im] {
                    let e = layer_case(case, lowering);
                    for i in 0..4 {
                        worst[i] = worst[i].max(e[i]);
                    }
                    n += 1;
                }
            }
        }
    }
    let name = if transpose { "transposed convolution" } else { "convolution" };
    eprintln!(
        "{name}: {n} cases vs the fast kernels, max scaled errors: output {:.2e}, dx {:.2e}, dW {:.2e}, db {:.2e}",
        worst[0], worst[1], worst[2], worst[3]
    );
}

#[test]
fn gather_convolutions_match_the_fast_kernels() {
    layers_match_the_fast_kernels(false);
}

#[test]
fn gather_transposed_convolutions_match_the_fast_kernels() {
    layers_match_the_fast_kernels(true);
}

#[test]
fn the_cheaper_lowering_is_chosen_and_one_index_serves_every_batch() {
    let dev = Cpu::default();
    let (s, v) = (Padding::Same, Padding::Valid);
    let conv = |h, ci, co, st, p| GatherConv::conv(&dev, Geometry::conv(0, h, h, ci, co, 3, st, p).unwrap()).unwrap();
    let convt = |h, ci, co, st, p| {
        GatherConv::conv_transpose(&dev, Geometry::conv_transpose(0, h, h, ci, co, 3, st, p).unwrap()).unwrap()
    };
    // The tutorial: the convolutions gather first, the transposed layers multiply first (k3 s2:
    // at most 2×2 taps reach an output pixel; k3 s1: all 9; the last layer ties and gathers).
    assert_eq!(conv(28, 1, 32, 2, v).lowering(), Lowering::Im2col);
    assert_eq!(conv(13, 32, 32, 2, v).lowering(), Lowering::Im2col);
    assert_eq!(convt(7, 32, 64, 2, s).gather_shape(), (14 * 14, 4 * 64));
    assert_eq!(convt(14, 64, 32, 2, s).gather_shape(), (28 * 28, 4 * 32));
    assert_eq!(convt(28, 32, 1, 1, s).lowering(), Lowering::Col2im);
    assert_eq!(convt(28, 1, 1, 1, s).lowering(), Lowering::Im2col);

    let g = Geometry::conv_transpose(0, 7, 7, 3, 2, 3, 2, Padding::Same).unwrap();
    let layer = GatherConv::conv_transpose(&dev, g).unwrap();
    let w = dev.tensor_from_vec(values(g.weight_len(), 7, -1.0, 1.0), (g.weight_len(),));
    let b = dev.tensor_from_vec(vec![0.1; 2], (2,));
    let one = values(g.small_len(), 8, -1.0, 1.0);
    let single = layer.forward(dev.tensor_from_vec(one.clone(), (1, g.small_len())), &w, &b, true).unwrap().as_vec();
    let x: Vec<f32> = (0..5).flat_map(|_| one.iter().copied()).collect();
    let y = layer.forward(dev.tensor_from_vec(x, (5, g.small_len())), &w, &b, true).unwrap().as_vec();
    assert!(y.chunks_exact(g.big_len()).all(|sample| sample == &single[..]));
}

#[test]
fn batches_beyond_the_cuda_index_range_are_errors() {
    // A 40×40 kernel on a 1×1 input: 40⁴ gathered values per sample, so 1700 samples pass 2³²,
    // which dfdx's CUDA kernels would index with a wrapped 32-bit number.
    let dev = Cpu::default();
    let g = Geometry::conv_transpose(0, 1, 1, 1, 1, 40, 1, Padding::Valid).unwrap();
    let layer = GatherConv::with_lowering(&dev, g, Direction::Transpose, Lowering::Im2col).unwrap();
    let w = dev.tensor_from_vec(vec![0.0; 1600], (1600,));
    let b = dev.tensor_from_vec(vec![0.0; 1], (1,));
    let err = layer.forward(dev.tensor_from_vec(vec![0.0; 1700], (1700, 1)), &w, &b, false).unwrap_err();
    assert!(err.to_string().contains("2³²"), "{err}");
    assert!(layer.forward(dev.tensor_from_vec(vec![0.0; 2], (2, 1)), &w, &b, false).is_ok());
}

/// Images with structure (random stripes and a blob each), so that training has a direction.
fn images(n: usize, seed: u64) -> Vec<f32> {
    let p = values(4 * n, seed, 0.0, 1.0);
    (0..n)
        .flat_map(|k| {
            let (a, b, cy, cx) =
                (p[4 * k] * 0.8, p[4 * k + 1] * 0.8, 6.0 + 16.0 * p[4 * k + 2], 6.0 + 16.0 * p[4 * k + 3]);
            (0..IMAGE_LEN).map(move |i| {
                let (r, c) = ((i / 28) as f32, (i % 28) as f32);
                let stripes = 0.5 + 0.5 * (a * r + b * c).sin();
                let blob = (-((r - cy).powi(2) + (c - cx).powi(2)) / 20.0).exp();
                (0.4 * stripes + 0.6 * blob).clamp(0.0, 1.0)
            })
        })
        .collect()
}

fn trainer(device: Device, spec: &ModelSpec, loss: LossKind, optimizer: OptimizerKind) -> Trainer {
    let model = Model::new(device, spec, &mut ChaCha8Rng::seed_from_u64(3)).unwrap();
    Trainer::new(model, loss, optimizer)
}

fn specs() -> Vec<ModelSpec> {
    vec![
        ModelSpec::plain(Architecture::Conv, 100, vec![]),
        ModelSpec::plain(Architecture::Conv, 8, vec![]),
        ModelSpec::plain(Architecture::Dense, 32, vec![256]),
        ModelSpec { architecture: Architecture::Dense, latent_dim: 5, hidden: vec![64, 16], head: Head::Sigmoid },
    ]
}

/// `device`'s generic path against the fast kernels on whole models, from the same weights (the
/// same seed): outputs, codes, decoded images, evaluation sums, a denoising step's loss and every
/// gradient, within `tol` of each tensor's scale.
fn whole_models_match_the_fast_path(device: Device, tol: f64) {
    let x = images(7, 1);
    let noisy: Vec<f32> = x.iter().map(|v| if ((v * 1e4) as usize).is_multiple_of(3) { 0.0 } else { *v }).collect();
    for spec in specs() {
        for loss in [LossKind::Bce, LossKind::Mse] {
            let cpu = trainer(Device::Cpu, &spec, loss, OptimizerKind::adam(1e-3));
            let generic = trainer(device, &spec, loss, OptimizerKind::adam(1e-3));
            assert_eq!(generic.model.device(), device);
            assert_eq!(cpu.model.weights(), generic.model.weights(), "the same initial weights");
            let name = format!("{device} {:?} latent {} {loss:?}", spec.architecture, spec.latent_dim);
            let mut report = vec![];
            let mut check = |what: &str, ours: &[f32], reference: &[f32]| {
                let e = error(ours, reference, largest(reference));
                report.push(e);
                assert!(e <= tol, "{name}: {what} differs from the fast path by {e:.3e} of its scale");
            };
            check(
                "reconstruction",
                &generic.model.reconstruct(&x, None).unwrap(),
                &cpu.model.reconstruct(&x, None).unwrap(),
            );
            check("codes", &generic.model.encode_all(&x).unwrap(), &cpu.model.encode_all(&x).unwrap());
            let codes = cpu.model.encode_all(&x).unwrap();
            check("decoded", &generic.model.decode_all(&codes).unwrap(), &cpu.model.decode_all(&codes).unwrap());
            let (a, b) = (generic.model.evaluate(&x, &x, None).unwrap(), cpu.model.evaluate(&x, &x, None).unwrap());
            assert!(
                (a.bce - b.bce).abs() <= tol * b.bce && (a.mse - b.mse).abs() <= tol * b.mse,
                "{name}: {a:?} {b:?}"
            );
            // A denoising step: corrupted inputs, clean targets.
            let (lg, gg) = generic.gradients(&noisy, &x, &[]).unwrap();
            let (lc, gc) = cpu.gradients(&noisy, &x, &[]).unwrap();
            assert!(((lg.total() - lc.total()) / lc.total()).abs() as f64 <= tol, "{name}: loss {lg:?} vs {lc:?}");
            for ((w, ours), reference) in cpu.model.weights().iter().zip(&gg).zip(&gc) {
                check(&format!("grad.{}", w.name), ours, reference);
            }
            eprintln!("{name}: worst scaled error {:.2e}", report.iter().fold(0.0f64, |m, e| m.max(*e)));
        }
    }
}

#[test]
fn whole_models_match_the_fast_path_outputs_losses_and_every_gradient() {
    whole_models_match_the_fast_path(Device::GenericCpu, TOL);
}

#[test]
fn on_cuda_whole_models_and_training_steps_match_the_fast_path() {
    // Only in a build with the cuda feature (which then needs a GPU): scripts/gpu-check.sh --build.
    // CUDA's matmuls and scatter-adds sum in other orders than the CPU's: 1e-4 of scale (the
    // golden test's tolerance against TensorFlow) for one pass, and the training run's bounds.
    if !nn::cuda_compiled() {
        eprintln!("skipped: built without the cuda feature");
        return;
    }
    let info = Device::Cuda.open().unwrap();
    eprintln!("on cuda: {}", info.gpu.unwrap_or_default());
    whole_models_match_the_fast_path(Device::Cuda, 1e-4);
    training_tracks_the_fast_path(Device::Cuda);
}

#[test]
fn a_short_training_run_through_the_generic_path_tracks_the_fast_path() {
    training_tracks_the_fast_path(Device::GenericCpu);
}

fn training_tracks_the_fast_path(device: Device) {
    // 30 steps of Adam at 1e-3 and of SGD on 32 structured images (batches of 16), both paths
    // from the same weights: the losses within 1e-4 relative at every step, the two paths'
    // weights apart by at most 1e-3 of the distance training moved them (L2; measured: ~1e-6),
    // and the losses falling. (On unstructured noise images, where the gradients are mostly
    // rounding, Adam's normalised steps amplify the paths' rounding differences to ~10% of the
    // distance: such data says nothing about tracking.)
    let x = images(32, 2);
    for spec in [ModelSpec::plain(Architecture::Conv, 16, vec![]), ModelSpec::plain(Architecture::Dense, 16, vec![128])]
    {
        for optimizer in [OptimizerKind::adam(1e-3), OptimizerKind::Sgd { learning_rate: 0.05, momentum: 0.9 }] {
            let mut cpu = trainer(Device::Cpu, &spec, LossKind::Bce, optimizer);
            let mut generic = trainer(device, &spec, LossKind::Bce, optimizer);
            let start: Vec<f32> = cpu.model.weights().into_iter().flat_map(|w| w.values).collect();
            let mut worst_loss = 0.0f64;
            let (mut first, mut last) = (0.0, 0.0);
            for step in 0..30 {
                let batch = &x[(step % 2) * 16 * IMAGE_LEN..(step % 2 + 1) * 16 * IMAGE_LEN];
                let lc = cpu.step(batch, batch, &[]).unwrap().total();
                let lg = generic.step(batch, batch, &[]).unwrap().total();
                worst_loss = worst_loss.max(((lg - lc) / lc).abs() as f64);
                if step == 0 {
                    first = lc;
                }
                last = lc;
            }
            // How far apart the two paths' weights ended, against how far training moved them.
            let flat = |m: &Model| m.weights().into_iter().flat_map(|w| w.values).collect::<Vec<f32>>();
            let (wc, wg) = (flat(&cpu.model), flat(&generic.model));
            let norm =
                |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum::<f64>().sqrt();
            let apart = norm(&wc, &wg) / norm(&wc, &start).max(1e-30);
            let name = format!("{device} {:?} {}", spec.architecture, optimizer.name());
            eprintln!(
                "{name}: 30 steps, loss {first:.4} → {last:.4}; worst relative loss difference {worst_loss:.2e}; \
                 weights apart by {apart:.2e} of the distance trained"
            );
            assert!(last < first, "{name}: the loss falls");
            assert!(worst_loss <= 1e-4, "{name}: losses differ by {worst_loss:.3e}");
            assert!(apart <= 1e-3, "{name}: weights apart by {apart:.3e} of the distance trained");
            assert_eq!(cpu.optimizer_steps(), generic.optimizer_steps());
        }
    }
}

#[test]
fn the_generic_path_refuses_what_it_cannot_train() {
    let spec = ModelSpec::plain(Architecture::Dense, 4, vec![8]);
    let model = Model::new(Device::GenericCpu, &spec, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
    let e =
        Trainer::with_objective(model, LossKind::Bce, OptimizerKind::adam(1e-3), Box::new(SparseL1 { weight: 1e-4 }))
            .err()
            .unwrap()
            .to_string();
    assert!(e.contains("SparseL1") && e.contains("`cpu`"), "{e}");
    let vae = ModelSpec { head: Head::Gaussian, ..spec.clone() };
    let e = Model::new(Device::GenericCpu, &vae, &mut ChaCha8Rng::seed_from_u64(0)).unwrap_err().to_string();
    assert!(e.contains("Gaussian") && e.contains("CPU"), "{e}");
    let mut t = trainer(Device::GenericCpu, &spec, LossKind::Bce, OptimizerKind::adam(1e-3));
    let x = images(2, 3);
    assert!(t.pretrain_step(1, &x, &x).unwrap_err().to_string().contains("CPU device only"));
    assert!(t.model.evaluate(&x, &x, Some(1)).is_err(), "a model cut at a depth is the CPU path's");
    assert!(t.step(&x, &x, &[0.0; 3]).is_err(), "no noise for the reconstruction");
    assert!(t.step(&x[..100], &x[..100], &[]).is_err(), "whole images only");
    if !nn::cuda_compiled() {
        let e = Model::new(Device::Cuda, &spec, &mut ChaCha8Rng::seed_from_u64(0)).unwrap_err().to_string();
        assert!(e.contains("cuda") && e.contains("without CUDA support"), "{e}");
        assert!(Device::Cuda.open().is_err());
    }
    assert_eq!(Device::GenericCpu.open().unwrap().gpu, None);
}

#[test]
fn checkpoints_move_between_the_paths() {
    // Written from the generic path, read by the CPU path and back: the same values, and the same
    // reconstructions as the model that wrote them (to rounding: the paths differ there).
    let dir = tempfile::tempdir().unwrap();
    let x = images(3, 4);
    for spec in [ModelSpec::plain(Architecture::Conv, 6, vec![]), ModelSpec::plain(Architecture::Dense, 6, vec![32])] {
        let mut t = trainer(Device::GenericCpu, &spec, LossKind::Bce, OptimizerKind::adam(1e-2));
        for _ in 0..3 {
            t.step(&x, &x, &[]).unwrap();
        }
        let path = dir.path().join("generic.safetensors");
        nn::checkpoint::save(&t.model, &path, &[]).unwrap();
        let (on_cpu, _) = nn::checkpoint::load(Device::Cpu, &path).unwrap();
        assert_eq!(on_cpu.device(), Device::Cpu);
        assert_eq!(on_cpu.weights(), t.model.weights());
        let e = error(&on_cpu.reconstruct(&x, None).unwrap(), &t.model.reconstruct(&x, None).unwrap(), 1.0);
        assert!(e <= TOL, "{e}");
        nn::checkpoint::save(&on_cpu, &path, &[]).unwrap();
        let (back, _) = nn::checkpoint::load(Device::GenericCpu, &path).unwrap();
        assert_eq!(back.device(), Device::GenericCpu);
        assert_eq!(back.weights(), t.model.weights());
        let moved = on_cpu.clone().to_device(Device::GenericCpu).unwrap().to_device(Device::Cpu).unwrap();
        assert_eq!(moved.weights(), on_cpu.weights());
    }
}
