//! Sweep-file parsing, validation and expansion, as a user writes them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test may stop at a broken assumption

use spec::{parse, Architecture, Hidden, Kind, KindName, Noise, Override, Probe, Sparsity, SpecError, VaeSettings};
use std::path::Path;

const FILE: &str = "experiments/test.toml";

fn ok(text: &str) -> spec::Sweep {
    match parse(Path::new(FILE), text, &[]) {
        Ok(s) => s,
        Err(e) => panic!("expected a valid sweep, got: {e}"),
    }
}

fn err(text: &str) -> String {
    err_with(text, &[])
}

fn err_with(text: &str, overrides: &[Override]) -> String {
    match parse(Path::new(FILE), text, overrides) {
        Ok(s) => panic!("expected an error, got {} runs", s.runs.len()),
        Err(e) => e.to_string(),
    }
}

const ISSUE_EXAMPLE: &str = r#"
name = "latent_sizes"
description = "Reconstruction error vs latent size, AE and DAE"

[data]
dataset = "fashion-mnist"
train_limit = 60000
test_limit = 10000

[model]
architecture = "conv"
latent_dim = 100

[train]
epochs = 10
batch_size = 1000
learning_rate = 1e-4
optimizer = "adam"
loss = "bce"
seed = 0

[sweep]
"model.latent_dim" = [2, 4, 8, 16, 32, 64, 100, 128]
"train.seed" = [0, 1, 2]

[[sweep.zip]]
"train.learning_rate" = [1e-3, 1e-4]
"train.batch_size" = [100, 1000]

[[variant]]
name = "ae"
[[variant]]
name = "dae-gaussian"
noise = { kind = "gaussian", level = 0.3 }
"#;

#[test]
fn issue_example_expands_to_the_full_product() {
    let s = ok(ISSUE_EXAMPLE);
    assert_eq!(s.name, "latent_sizes");
    // 2 variants × 8 latent sizes × 3 seeds × 2 zipped (lr, batch) pairs.
    assert_eq!(s.runs.len(), 2 * 8 * 3 * 2);
    assert_eq!(
        s.varying_keys,
        ["variant", "model.latent_dim", "train.seed", "train.learning_rate", "train.batch_size"]
    );
    // Variants outermost, first axis slowest, zip lists move together.
    let r0 = &s.runs[0];
    assert_eq!(r0.variant, "ae");
    assert_eq!(r0.config.model.latent_dim, 2);
    assert_eq!(r0.config.train.learning_rate, 1e-3);
    assert_eq!(r0.config.train.batch_size, 100);
    let r1 = &s.runs[1];
    assert_eq!((r1.config.train.learning_rate, r1.config.train.batch_size), (1e-4, 1000));
    assert_eq!(r1.config.train.seed, 0);
    assert_eq!(s.runs[2].config.train.seed, 1);
    let last = s.runs.last().unwrap();
    assert_eq!(last.variant, "dae-gaussian");
    assert_eq!(last.config.model.latent_dim, 128);
    assert_eq!(last.config.noise, Noise::Gaussian { std: 0.3 });
    assert!(s.runs[0].config.noise.is_none());
    assert_eq!(r0.label(), "ae latent_dim=2 seed=0 learning_rate=0.001 batch_size=100");
    for (i, r) in s.runs.iter().enumerate() {
        assert_eq!(r.index, i);
    }
}

#[test]
fn defaults_are_the_tutorial() {
    let s = ok("name = \"t\"\n[data]\ndataset = \"mnist\"\n");
    assert_eq!(s.runs.len(), 1);
    let c = &s.runs[0].config;
    assert_eq!(s.runs[0].variant, "default");
    assert_eq!(c.model.architecture, Architecture::Conv);
    assert_eq!(c.model.latent_dim, 100);
    assert_eq!((c.train.epochs, c.train.batch_size, c.train.learning_rate), (10, 1000, 1e-4));
    assert!(s.varying_keys.is_empty());
}

#[test]
fn variant_overlays_key_by_key_and_axes_override_both() {
    let s = ok(r#"
name = "t"
[data]
dataset = "synthetic"
[model]
architecture = "dense"
latent_dim = 32
hidden = [64]
[noise]
kind = "masking"
level = 0.2
[sweep]
"train.epochs" = [1]
[[variant]]
name = "small"
model = { latent_dim = 8 }
[[variant]]
name = "plain"
noise = { kind = "none" }
[[variant]]
name = "more-epochs"
train = { epochs = 5 }
"#);
    let small = &s.runs[0].config;
    assert_eq!(small.model.latent_dim, 8);
    assert_eq!(small.model.architecture, Architecture::Dense, "other model keys stay");
    assert_eq!(small.model.hidden, Hidden::Given(vec![64]));
    assert_eq!(small.noise, Noise::Masking { p: 0.2 });
    assert!(s.runs[1].config.noise.is_none(), "kind = none switches noise off");
    assert_eq!(s.runs[2].config.train.epochs, 1, "the axis overrides the variant");
}

#[test]
fn set_overrides_base_keys_and_is_validated() {
    let text = "name = \"t\"\n[data]\ndataset = \"synthetic\"\n[[variant]]\nname = \"v\"\ntrain = { epochs = 3 }\n";
    let o = [Override::parse("train.epochs=2").unwrap(), Override::parse("data.dataset=mnist").unwrap()];
    let s = parse(Path::new(FILE), text, &o).unwrap();
    assert_eq!(s.runs[0].config.train.epochs, 3, "a variant overrides --set");
    assert_eq!(s.runs[0].config.data.dataset, spec::DatasetName::Mnist);
    let o = [Override::parse("train.batch_size=100").unwrap()];
    assert_eq!(parse(Path::new(FILE), text, &o).unwrap().runs[0].config.train.batch_size, 100);

    for (arg, want) in [
        ("train.epochs=0", "≥ 1"),
        ("train.epoch=3", "unknown field `epoch`"),
        ("model=3", "section.key"),
        ("optim.lr=1", "not a section"),
        ("train.epochs", "KEY=VALUE"),
        ("train.learning_rate=-1", "> 0"),
    ] {
        let e = Override::parse(arg).unwrap_err().to_string();
        assert!(e.contains(want) && e.contains("--set"), "{arg}: {e}");
    }
}

#[test]
fn unknown_keys_name_file_line_and_key() {
    let e = err("name = \"t\"\n[data]\ndataset = \"mnist\"\n[model]\nlatnt_dim = 3\n");
    assert!(e.starts_with("experiments/test.toml:5:"), "{e}");
    assert!(e.contains("latnt_dim") && e.contains("latent_dim"), "lists what is allowed: {e}");

    let e = err("name = \"t\"\ncolour = 1\n");
    assert!(e.contains(":2:") && e.contains("colour"), "{e}");

    let e = err("name = \"t\"\n[data]\ndataset = \"mnist\"\n[[variant]]\nname = \"a\"\nmodel = { size = 3 }\n");
    assert!(e.contains(":6:") && e.contains("size"), "{e}");
}

#[test]
fn wrong_types_and_ranges_in_base_sections() {
    for (body, line, want) in [
        ("[model]\nlatent_dim = 0\n", 5, "≥ 1"),
        ("[model]\nlatent_dim = \"big\"\n", 5, "integer"),
        ("[train]\nlearning_rate = -0.1\n", 5, "> 0"),
        ("[train]\nlearning_rate = 0\n", 5, "> 0"),
        ("[train]\nbatch_size = 0\n", 5, "≥ 1"),
        ("[model]\narchitecture = \"cnn\"\n", 5, "conv"),
        ("[train]\noptimizer = \"rmsprop\"\n", 5, "adam"),
        ("[noise]\nkind = \"speckle\"\n", 5, "gaussian"),
    ] {
        let e = err(&format!("name = \"t\"\n[data]\ndataset = \"mnist\"\n{body}"));
        assert!(e.contains(&format!("test.toml:{line}:")) && e.contains(want), "{body}: {e}");
    }
    let e = err("name = \"t\"\n[data]\ndataset = \"cifar\"\n");
    assert!(e.contains(":3:") && e.contains("cifar") && e.contains("fashion-mnist"), "{e}");
}

#[test]
fn cross_key_rules_point_at_the_key() {
    let base = "name = \"t\"\n[data]\ndataset = \"mnist\"\n";
    let e = err(&format!("{base}[noise]\nkind = \"masking\"\nlevel = 1.5\n"));
    assert!(e.contains("test.toml:6:") && e.contains("noise.level") && e.contains("probability"), "{e}");
    let e = err(&format!("{base}[noise]\nkind = \"gaussian\"\n"));
    assert!(e.contains("noise.level") && e.contains("required"), "{e}");
    let e = err(&format!("{base}[model]\nhidden = [10]\n"));
    assert!(e.contains("test.toml:5:") && e.contains("dense"), "{e}");
    let e = err(&format!("{base}[train]\nmomentum = 0.5\n"));
    assert!(e.contains("train.momentum") && e.contains("sgd"), "{e}");
    let e = err("name = \"t\"\n[model]\nlatent_dim = 4\n");
    assert!(e.contains("data.dataset") && e.contains("required"), "{e}");
}

#[test]
fn sweep_axis_problems_point_at_the_axis() {
    let base = "name = \"t\"\n[data]\ndataset = \"mnist\"\n[sweep]\n";
    for (axis, want) in [
        ("\"model.latent_dim\" = [2, 0]", "value #2 (0)"),
        ("\"model.latent_dim\" = []", "empty list"),
        ("\"model.latent_dim\" = 4", "must be a list"),
        ("\"model.latnt_dim\" = [4]", "unknown field `latnt_dim`"),
        ("\"optim.lr\" = [4]", "not a section"),
        ("\"latent_dim\" = [4]", "section.key"),
    ] {
        let e = err(&format!("{base}{axis}\n"));
        assert!(e.contains("test.toml:5:") && e.contains(want), "{axis}: {e}");
    }
    let e = err("name = \"t\"\n[data]\ndataset = \"mnist\"\n[noise]\nkind = \"masking\"\n[sweep]\n\"noise.level\" = [0.1, 7.0]\n");
    assert!(e.contains("test.toml:7:") && e.contains("out of range") && e.contains("sweep"), "{e}");
    let e = err(&format!("{base}\"train.seed\" = [1]\n[[sweep.zip]]\n\"train.seed\" = [2]\n"));
    assert!(e.contains("swept twice"), "{e}");
}

#[test]
fn zip_groups_need_equal_lengths() {
    let e = err("name = \"t\"\n[data]\ndataset = \"mnist\"\n[[sweep.zip]]\n\"train.learning_rate\" = [1e-3, 1e-4]\n\"train.batch_size\" = [100]\n");
    assert!(e.contains("equal lengths") && e.contains("has 2") && e.contains("has 1") && e.contains(":5:"), "{e}");
}

#[test]
fn names_must_be_usable_as_directories() {
    let e = err("name = \"../x\"\n[data]\ndataset = \"mnist\"\n");
    assert!(e.contains("not a valid name") && e.contains(":1:"), "{e}");
    let e = err("name = \"t\"\n[data]\ndataset = \"mnist\"\n[[variant]]\nname = \"a\"\n[[variant]]\nname = \"a\"\n");
    assert!(e.contains("unique") && e.contains(":7:"), "{e}");
}

#[test]
fn several_problems_are_all_reported() {
    let e =
        err("name = \"t\"\n[data]\ndataset = \"mnist\"\n[sweep]\n\"model.latent_dim\" = [0]\n\"train.epochs\" = []\n");
    assert!(e.contains("2 problems") && e.contains(":5:") && e.contains(":6:"), "{e}");
}

#[test]
fn syntax_errors_give_line_and_column() {
    let e = err("name = \"t\"\n[data\n");
    assert!(e.starts_with("experiments/test.toml:2:"), "{e}");
}

#[test]
fn duplicate_combinations_collapse() {
    let s = ok("name = \"t\"\n[data]\ndataset = \"mnist\"\n[sweep]\n\"noise.kind\" = [\"none\", \"masking\"]\n\"noise.level\" = [0.1, 0.2]\n");
    // none × {0.1, 0.2} is one configuration.
    assert_eq!(s.runs.len(), 3);
    assert_eq!(s.duplicates, 1);
}

#[test]
fn missing_file_is_named() {
    let e = spec::load(Path::new("no/such/sweep.toml"), &[]).unwrap_err();
    assert!(matches!(e, SpecError::Read { .. }));
    assert!(e.to_string().contains("no/such/sweep.toml"));
}

#[test]
fn integers_are_accepted_as_numbers() {
    let s = ok("name = \"t\"\n[data]\ndataset = \"mnist\"\n[train]\nlearning_rate = 1\n");
    assert_eq!(s.runs[0].config.train.learning_rate, 1.0);
}

#[test]
fn the_probe_is_on_by_default_after_the_last_epoch_and_can_be_scheduled_or_switched_off() {
    let base = "name = \"t\"\n[data]\ndataset = \"mnist\"\n[train]\nepochs = 6\n";
    let t = &ok(base).runs[0].config.train;
    assert_eq!(t.probe, Probe::Last);
    let after: Vec<usize> = (1..=6).filter(|&e| t.probes_after(e)).collect();
    assert_eq!(after, [6], "once, after the last epoch");

    let t = &ok(&format!("{base}probe_every = 4\n")).runs[0].config.train;
    let after: Vec<usize> = (1..=6).filter(|&e| t.probes_after(e)).collect();
    assert_eq!(after, [4, 6], "every 4th epoch and the last");
    let t = &ok(&format!("{base}probe_every = 2\n")).runs[0].config.train;
    assert_eq!((1..=6).filter(|&e| t.probes_after(e)).collect::<Vec<_>>(), [2, 4, 6]);

    let t = &ok(&format!("{base}probe = false\n")).runs[0].config.train;
    assert!(!(1..=6).any(|e| t.probes_after(e)));

    // A schedule axis: each run gets its value.
    let s = ok(&format!("{base}[sweep]\n\"train.probe_every\" = [0, 3]\n"));
    assert_eq!(s.runs.iter().map(|r| r.config.train.probe).collect::<Vec<_>>(), [Probe::Last, Probe::Every(3)]);
    assert_eq!(s.runs[1].label(), "default probe_every=3");
}

#[test]
fn probe_keys_are_validated_where_they_are_written() {
    let base = "name = \"t\"\n[data]\ndataset = \"mnist\"\n[train]\n";
    let e = err(&format!("{base}probe_every = -1\n"));
    assert!(e.contains("test.toml:5:") && e.contains("`train.probe_every`") && e.contains("≥ 0"), "{e}");
    let e = err(&format!("{base}probe_every = 1.5\n"));
    assert!(e.contains("test.toml:5:") && e.contains("probe_every"), "{e}");
    let e = err(&format!("{base}probe = \"yes\"\n"));
    assert!(e.contains("test.toml:5:") && e.contains("`train.probe`") && e.contains("bool"), "{e}");
    let e = err(&format!("{base}probe = false\nprobe_every = 2\n"));
    assert!(e.contains("test.toml:6:") && e.contains("train.probe_every") && e.contains("probe is on"), "{e}");
    // Like `train.momentum` with adam: a schedule axis crossed with a variant that switches the
    // probe off is an error, pointing at the axis.
    let e = err(&format!(
        "{base}[sweep]\n\"train.probe_every\" = [0, 1]\n[[variant]]\nname = \"on\"\n[[variant]]\nname = \"off\"\ntrain = {{ probe = false }}\n"
    ));
    assert!(e.contains("test.toml:6:") && e.contains("probe is on") && e.contains("[sweep] axis"), "{e}");
    let e = err(&format!("{base}[sweep]\n\"train.probe_every\" = [1, -2]\n"));
    assert!(e.contains("value #2 (-2)") && e.contains("≥ 0"), "{e}");
    let e = err(&format!("{base}prob = false\n"));
    assert!(e.contains("unknown field `prob`") && e.contains("probe_every"), "{e}");
}

#[test]
fn model_kinds_resolve_their_own_keys_with_defaults() {
    let base = "name = \"t\"\n[data]\ndataset = \"mnist\"\n[model]\narchitecture = \"dense\"\n";
    let plain = &ok(base).runs[0].config.model;
    assert_eq!(plain.kind, Kind::Plain);

    let m = &ok(&format!("{base}kind = \"sparse\"\n")).runs[0].config.model;
    assert_eq!(m.kind, Kind::Sparse(Sparsity::L1 { weight: 1e-4 }), "L1 at the Keras blog's weight");
    let m = &ok(&format!("{base}kind = \"sparse\"\nsparsity_target = 0.05\n")).runs[0].config.model;
    assert_eq!(m.kind, Kind::Sparse(Sparsity::Kl { weight: spec::model::DEFAULT_SPARSITY_KL, target: 0.05 }));
    let m = &ok(&format!("{base}kind = \"sparse\"\nsparsity = 1e-3\nsparsity_target = 0.1\n")).runs[0].config.model;
    assert_eq!(m.kind, Kind::Sparse(Sparsity::Kl { weight: 1e-3, target: 0.1 }));
    let m = &ok(&format!("{base}kind = \"contractive\"\n")).runs[0].config.model;
    assert_eq!(m.kind, Kind::Contractive { weight: 1e-4 });
    let m = &ok(&format!("{base}kind = \"stacked\"\npretrain_epochs = 2\n")).runs[0].config.model;
    assert_eq!(
        (m.kind, m.pretrain_phases()),
        (Kind::Stacked { pretrain_epochs: 2 }, 3),
        "two hidden layers and the code"
    );
    let c = &ok(&format!("{base}kind = \"stacked\"\npretrain_epochs = 2\n[train]\nepochs = 3\n")).runs[0].config;
    assert_eq!(c.total_epochs(), 3 * 2 + 3);
    let m = &ok(&format!("{base}kind = \"vae\"\n")).runs[0].config.model;
    assert_eq!(m.kind, Kind::Vae(VaeSettings { beta: 1.0, nll_samples: 200, nll_images: 1000 }));
    // With conv too, except stacked.
    let m = &ok("name = \"t\"\n[data]\ndataset = \"mnist\"\n[model]\nkind = \"vae\"\nbeta = 4\n").runs[0].config.model;
    assert_eq!(m.architecture, Architecture::Conv);
    assert_eq!(m.kind, Kind::Vae(VaeSettings { beta: 4.0, nll_samples: 200, nll_images: 1000 }));

    // A sweep over kinds: each run gets its kind's keys, and a variant may set them.
    let s = ok(&format!(
        "{base}[sweep]\n\"model.kind\" = [\"plain\", \"sparse\", \"contractive\", \"stacked\", \"vae\"]\n"
    ));
    assert_eq!(s.runs.iter().map(|r| r.config.model.kind.name()).collect::<Vec<_>>(), KindName::ALL.to_vec());
    assert_eq!(s.runs[4].label(), "default kind=vae");
}

#[test]
fn a_kind_key_for_another_kind_or_out_of_range_is_refused_where_it_is_written() {
    let base = "name = \"t\"\n[data]\ndataset = \"mnist\"\n[model]\narchitecture = \"dense\"\n";
    let e = err(&format!("{base}beta = 2\n"));
    assert!(
        e.contains("test.toml:6:")
            && e.contains("`model.beta`")
            && e.contains("`kind = \"vae\"` only")
            && e.contains("not `plain`"),
        "{e}"
    );
    let e = err(&format!("{base}kind = \"sparse\"\ncontraction = 0.1\n"));
    assert!(
        e.contains("test.toml:7:")
            && e.contains("`model.contraction`")
            && e.contains("contractive")
            && e.contains("`model.sparsity`, `model.sparsity_target`"),
        "names what the run's kind takes: {e}"
    );
    let e = err(&format!("{base}kind = \"vae\"\npretrain_epochs = 2\n"));
    assert!(e.contains("`model.pretrain_epochs`") && e.contains("stacked") && e.contains("model.nll_samples"), "{e}");
    for (body, line, want) in [
        ("kind = \"denoising\"\n", 6, "`plain`, `sparse`, `contractive`, `stacked`, `vae`"),
        ("kind = \"sparse\"\nsparsity_target = 1.0\n", 7, "(0, 1)"),
        ("kind = \"sparse\"\nsparsity = 0\n", 7, "> 0"),
        ("kind = \"vae\"\nbeta = -1\n", 7, "> 0"),
        ("kind = \"vae\"\nnll_samples = 0\n", 7, "≥ 1"),
        ("kind = \"stacked\"\npretrain_epochs = 0\n", 7, "≥ 1"),
        ("kind = \"vae\"\nnll_sample = 10\n", 7, "unknown field `nll_sample`"),
    ] {
        let e = err(&format!("{base}{body}"));
        assert!(e.contains(&format!("test.toml:{line}:")) && e.contains(want), "{body}: {e}");
    }
    // Stacked pre-trains dense layers: not with conv, not without a hidden layer.
    let e = err("name = \"t\"\n[data]\ndataset = \"mnist\"\n[model]\nkind = \"stacked\"\n");
    assert!(
        e.contains("test.toml:5:") && e.contains("`model.kind`") && e.contains("dense") && e.contains("conv"),
        "{e}"
    );
    let e = err(&format!("{base}kind = \"stacked\"\nhidden = []\n"));
    assert!(e.contains("test.toml:7:") && e.contains("model.hidden") && e.contains("hidden layer"), "{e}");
    // A key set in the base sections for a kind a variant does not have points at the base line.
    let e = err(&format!(
        "{base}sparsity = 1e-3\n[[variant]]\nname = \"s\"\nmodel = {{ kind = \"sparse\" }}\n[[variant]]\nname = \"v\"\nmodel = {{ kind = \"vae\" }}\n"
    ));
    assert!(e.contains("test.toml:6:") && e.contains("model.sparsity") && e.contains("not `vae`"), "{e}");
    // A kind axis crossed with a kind key is an error for the other kinds, naming the axis.
    let e = err(&format!("{base}beta = 2\n[sweep]\n\"model.kind\" = [\"vae\", \"plain\"]\n"));
    assert!(e.contains("model.beta") && e.contains("not `plain`"), "{e}");
}

#[test]
fn the_device_is_a_train_key_and_cuda_takes_plain_and_denoising_runs_only() {
    let base = "name = \"d\"\n[data]\ndataset = \"synthetic\"\n[model]\narchitecture = \"dense\"\n";
    let s = ok(&format!("{base}[train]\ndevice = \"cuda\"\n[noise]\nkind = \"masking\"\nlevel = 0.3\n"));
    assert_eq!(s.runs[0].config.train.device, spec::Device::Cuda);
    assert_eq!(ok(base).runs[0].config.train.device, spec::Device::Cpu, "cpu by default");
    let e = err(&format!("{base}kind = \"vae\"\n[train]\ndevice = \"cuda\"\n"));
    assert!(
        e.contains("experiments/test.toml:6: `model.kind` = \"vae\" trains on the CPU only")
            && e.contains("`train.device = \"cuda\"` supports plain and denoising auto-encoders"),
        "{e}"
    );
    // From the command line too, and across variants: each offending kind once.
    let variants = "[[variant]]\nname = \"a\"\n[[variant]]\nname = \"s\"\nmodel = { kind = \"sparse\" }\n";
    let e = err_with(&format!("{base}{variants}"), &[Override::parse("train.device=cuda").unwrap()]);
    assert!(e.contains("`model.kind` = \"sparse\" trains on the CPU only"), "{e}");
    let e = err(&format!("{base}[train]\ndevice = \"gpu\"\n"));
    assert!(e.contains("test.toml:7:10: `train.device` unknown variant `gpu`, expected `cpu` or `cuda`"), "{e}");
}
