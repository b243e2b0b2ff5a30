//! The files of a run's folder, named in this one place: the results store writes the record
//! files, training writes the outputs, reports and checks read both.
//!
//! ```text
//! runs/<run_id>/config.toml          the resolved config (RunFile)
//! runs/<run_id>/run.json             status, provenance, final metrics
//! runs/<run_id>/metrics.csv          one row per epoch, appended as each epoch ends
//! runs/<run_id>/.lock                held while a process trains the run
//! runs/<run_id>/model.safetensors    the trained weights
//! runs/<run_id>/reconstructions.png  test images and their reconstructions
//! runs/<run_id>/latent.csv           test codes in the plane (`runner report --plots` draws them
//! runs/<run_id>/latent.png             into latent.png)
//! runs/<run_id>/samples.png          a VAE's draws from its prior
//! runs/<run_id>/manifold.png         a 2-D VAE's latent space
//! runs/<run_id>/state.safetensors    a paused run's whole training state (a search's rung), until
//!                                      it goes on or is pruned
//! ```

use std::path::{Path, PathBuf};

pub const CONFIG: &str = "config.toml";
pub const RECORD: &str = "run.json";
pub const METRICS: &str = "metrics.csv";
pub const LOCK: &str = ".lock";
pub const CHECKPOINT: &str = "model.safetensors";
pub const RECONSTRUCTIONS: &str = "reconstructions.png";
pub const LATENT_CSV: &str = "latent.csv";
pub const LATENT_PNG: &str = "latent.png";
pub const SAMPLES: &str = "samples.png";
pub const MANIFOLD: &str = "manifold.png";
pub const STATE: &str = "state.safetensors";

/// What training and reports write into a run folder besides its record: a run that restarts
/// removes them first, so that nothing of an earlier attempt is taken for this one's.
pub const OUTPUTS: [&str; 7] = [CHECKPOINT, RECONSTRUCTIONS, LATENT_CSV, LATENT_PNG, SAMPLES, MANIFOLD, STATE];

/// One run's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir(PathBuf);

impl RunDir {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self(dir.into())
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn config(&self) -> PathBuf {
        self.file(CONFIG)
    }

    pub fn record(&self) -> PathBuf {
        self.file(RECORD)
    }

    pub fn metrics(&self) -> PathBuf {
        self.file(METRICS)
    }

    pub fn lock(&self) -> PathBuf {
        self.file(LOCK)
    }

    /// A paused run's training state.
    pub fn state(&self) -> PathBuf {
        self.file(STATE)
    }

    pub fn checkpoint(&self) -> PathBuf {
        self.file(CHECKPOINT)
    }

    pub fn reconstructions(&self) -> PathBuf {
        self.file(RECONSTRUCTIONS)
    }

    pub fn latent_csv(&self) -> PathBuf {
        self.file(LATENT_CSV)
    }

    pub fn latent_png(&self) -> PathBuf {
        self.file(LATENT_PNG)
    }

    pub fn samples(&self) -> PathBuf {
        self.file(SAMPLES)
    }

    pub fn manifold(&self) -> PathBuf {
        self.file(MANIFOLD)
    }
}
