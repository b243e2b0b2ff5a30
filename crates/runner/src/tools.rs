//! The smaller commands: `data info`, `model`, `bench`, `reconstruct`,
//! `encode` and `sample`.

use crate::cli::{
    Arch, BenchArgs, BenchFormat, DeviceOpt, EncodeArgs, ModelArgs, ReconstructArgs, SampleArgs, Split, SplitArgs,
};
use crate::env::{device_of, open_device};
use anyhow::{bail, Context, Result};
use data::noise::corrupt;
use data::rng::{purpose, rng_for, weights_rng};
use nn::{Model, ModelSpec, Trainer};
use spec::{DatasetName, Noise};
use std::path::Path;
use std::time::Instant;

pub fn data_info(data_dir: &Path, json: bool) -> Result<()> {
    let names = [DatasetName::Mnist, DatasetName::FashionMnist, DatasetName::Synthetic];
    let infos: Vec<data::DatasetInfo> = names.iter().map(|n| data::dataset_info(n, data_dir)).collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&infos)?);
    } else {
        println!("data directory: {}", data_dir.display());
        for info in &infos {
            println!("\n{info}");
        }
    }
    Ok(())
}

fn spec_of(args: &ModelArgs) -> Result<ModelSpec> {
    let architecture = match args.architecture {
        Arch::Conv => nn::Architecture::Conv,
        Arch::Dense => nn::Architecture::Dense,
    };
    let hidden = match (args.architecture, &args.hidden) {
        (Arch::Conv, Some(_)) => bail!("--hidden applies to --architecture dense only"),
        (Arch::Conv, None) => Vec::new(),
        (Arch::Dense, Some(h)) => h.clone(),
        (Arch::Dense, None) => spec::model::DEFAULT_DENSE_HIDDEN.to_vec(),
    };
    if args.latent_dim == 0 {
        bail!("--latent-dim must be at least 1");
    }
    Ok(ModelSpec::plain(architecture, args.latent_dim, hidden))
}

pub fn model(args: &ModelArgs) -> Result<()> {
    let m = Model::new(nn::Device::Cpu, &spec_of(args)?, &mut weights_rng(0))?;
    let rows = m.summary();
    let w = |f: fn(&nn::SummaryRow) -> usize, title: &str| rows.iter().map(f).max().unwrap_or(0).max(title.len());
    let (wl, wk, wo) =
        (w(|r| r.layer.len(), "Layer"), w(|r| r.kind.len(), "Type"), w(|r| r.output.len(), "Output shape"));
    let rule = "─".repeat(wl + wk + wo + 16);
    println!("{rule}");
    println!("{:<wl$}  {:<wk$}  {:<wo$}  {:>10}", "Layer", "Type", "Output shape", "Param #");
    println!("{rule}");
    for r in &rows {
        println!("{:<wl$}  {:<wk$}  {:<wo$}  {:>10}", r.layer, r.kind, r.output, group(r.params));
    }
    println!("{rule}");
    println!("Total params: {}", group(m.num_params()));
    println!("Trainable params: {}", group(m.num_params()));
    Ok(())
}

/// 320495 → "320,495".
fn group(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn bench(args: &BenchArgs) -> Result<()> {
    crate::env::init_threads(args.threads.threads)?;
    if args.batch_size == 0 || args.steps == 0 {
        bail!("--batch-size and --steps must be at least 1");
    }
    let spec = spec_of(&args.model)?;
    let device = open(&args.device)?;
    let model = Model::new(device.device, &spec, &mut weights_rng(0))?;
    let flop_per_sample = 6.0 * model.forward_macs_per_sample() as f64;
    let mut trainer = Trainer::new(model, nn::LossKind::Bce, nn::OptimizerKind::adam(1e-4));
    let images = data::synthetic::generate(data::synthetic::SplitKind::Train, args.batch_size).images;
    trainer.step(&images, &images, &[])?; // warm-up: first-touch allocations, thread pool start
    let started = Instant::now();
    for _ in 0..args.steps {
        trainer.step(&images, &images, &[])?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let samples_per_second = (args.steps * args.batch_size) as f64 / seconds;
    let gflops = samples_per_second * flop_per_sample / 1e9;
    let peak_rss_mb = crate::env::peak_rss_mb();
    let result = serde_json::json!({
        "architecture": format!("{:?}", args.model.architecture).to_lowercase(),
        "latent_dim": spec.latent_dim,
        "batch_size": args.batch_size,
        "steps": args.steps,
        "threads": rayon::current_num_threads(),
        "device": device.device.name(),
        "gpu": device.gpu,
        "samples_per_second": samples_per_second,
        "ms_per_step": seconds * 1000.0 / args.steps as f64,
        "peak_rss_mb": peak_rss_mb,
        "mflop_per_sample": flop_per_sample / 1e6,
        "gflops": gflops,
        "runner_version": crate::cli::VERSION,
    });
    match args.format {
        BenchFormat::Json => println!("{result}"),
        BenchFormat::Text => {
            let on = match (&device.gpu, device.device) {
                (Some(gpu), _) => format!("{gpu} (cuda)"),
                (None, nn::Device::Cpu) => format!("{} threads", rayon::current_num_threads()),
                (None, d) => format!("{d}, {} threads", rayon::current_num_threads()),
            };
            println!(
                "{:?} latent {} batch {} × {} steps on {on}:",
                args.model.architecture, spec.latent_dim, args.batch_size, args.steps
            );
            println!("  {samples_per_second:.0} samples/s, {:.1} ms/step", seconds * 1000.0 / args.steps as f64);
            println!("  {gflops:.1} GFLOP/s ({:.1} MFLOP per training sample)", flop_per_sample / 1e6);
            match peak_rss_mb {
                Some(mb) if device.gpu.is_some() => println!("  peak memory (RSS, host) {mb:.0} MB"),
                Some(mb) => println!("  peak memory (RSS) {mb:.0} MB"),
                None => println!("  peak memory: not available on this system"),
            }
        }
    }
    Ok(())
}

/// Opens the device `--device` names (an error naming the option if it cannot be used).
fn open(opt: &DeviceOpt) -> Result<nn::DeviceInfo> {
    let device = device_of(opt.device);
    open_device(device, &format!("--device {device}"))
}

/// Loads a checkpoint onto `--device` and the requested split of a dataset.
fn load_split(args: &SplitArgs) -> Result<(Model, data::Split)> {
    let device = open(&args.device)?.device;
    let (model, _) = nn::checkpoint::load(device, &args.checkpoint)?;
    let name = DatasetName::parse(&args.dataset).map_err(|e| anyhow::anyhow!("--dataset: {e}"))?;
    let ds = data::load(&name, &args.data.data_dir, None, None)?;
    Ok((model, if args.split == Split::Train { ds.train } else { ds.test }))
}

pub fn reconstruct(args: &ReconstructArgs) -> Result<()> {
    let (model, split) = load_split(&args.split)?;
    let n = args.count.min(split.len());
    if n == 0 {
        bail!("--count must be at least 1");
    }
    let originals = &split.images[..n * nn::IMAGE_LEN];
    let noisy = match &args.noise {
        Some(s) => {
            let noise = Noise::parse_short(s).map_err(|e| anyhow::anyhow!("--noise {s:?}: {e}"))?;
            let mut out = vec![0.0; originals.len()];
            corrupt(&noise, originals, &mut out, &mut rng_for(0, purpose::OTHER, 0, 0));
            Some(out)
        }
        None => None,
    };
    let inputs = noisy.as_deref().unwrap_or(originals);
    let recon = model.reconstruct(inputs, None)?;
    let mut rows: Vec<Vec<&[f32]>> = vec![originals.chunks(nn::IMAGE_LEN).collect()];
    if let Some(noisy) = &noisy {
        rows.push(noisy.chunks(nn::IMAGE_LEN).collect());
    }
    rows.push(recon.chunks(nn::IMAGE_LEN).collect());
    data::write_grid_png(&args.output, &rows, 28, 28, 2)?;
    println!("wrote {} ({n} images)", args.output.display());
    Ok(())
}

pub fn encode(args: &EncodeArgs) -> Result<()> {
    let (model, split) = load_split(&args.split)?;
    let n = args.limit.unwrap_or(split.len()).min(split.len());
    let codes = model.encode_all(&split.images[..n * nn::IMAGE_LEN])?;
    results::codes::write_codes(&args.output, &split.labels[..n], &codes, model.latent_dim())?;
    println!("wrote {} ({n} codes of dimension {})", args.output.display(), model.latent_dim());
    Ok(())
}

pub fn sample(args: &SampleArgs) -> Result<()> {
    let device = open(&args.device)?.device;
    let (model, meta) = nn::checkpoint::load(device, &args.checkpoint)?;
    if model.head() != nn::Head::Gaussian {
        let kind = meta.get("kind").map_or("plain", String::as_str);
        bail!(
            "{}: a `{kind}` auto-encoder's checkpoint; `runner sample` decodes draws from a VAE's prior \
             (`model.kind = \"vae\"`)",
            args.checkpoint.display()
        );
    }
    if args.count == 0 {
        bail!("--count must be at least 1");
    }
    // As square a grid as the count allows.
    let side = (args.count as f64).sqrt().ceil() as usize;
    let (images, per_row, what) = if args.manifold {
        let latent = model.latent_dim();
        if latent != 2 {
            bail!(
                "{}: --manifold draws a 2-D latent space; this VAE's has {latent} dimensions",
                args.checkpoint.display()
            );
        }
        let images = train::manifold(&model, side)
            .with_context(|| format!("decoding the manifold of {}", args.checkpoint.display()))?;
        (images, side, format!("the latent space on a {side} × {side} grid"))
    } else {
        let images = train::prior_samples(&model, args.count, args.seed)
            .with_context(|| format!("decoding prior draws of {}", args.checkpoint.display()))?;
        (images, side, format!("{} draws from the prior, seed {}", args.count, args.seed))
    };
    train::write_image_grid(&args.output, &images, per_row, args.scale)?;
    println!("wrote {} ({what})", args.output.display());
    Ok(())
}
