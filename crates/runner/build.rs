//! Records what `runner --version` and every run.json report: the git revision the binary was
//! built from, and the dfdx version in Cargo.lock.

use std::path::Path;
use std::process::Command;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).current_dir(&root).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let revision = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(rev) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{rev}-dirty")
            } else {
                rev
            }
        }
        None => "unknown".to_string(),
    };
    println!("cargo:rustc-env=RUNNER_GIT_REVISION={revision}");

    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    let dfdx = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"dfdx\""))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .map_or("unknown", |v| v.trim_end_matches('"'));
    println!("cargo:rustc-env=RUNNER_DFDX_VERSION={dfdx}");

    // Rebuild when HEAD moves or the index changes (commit, checkout, staging).
    for p in [".git/HEAD", ".git/index", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    if let Some(head_ref) = git(&["symbolic-ref", "-q", "HEAD"]) {
        println!("cargo:rerun-if-changed={}", root.join(".git").join(head_ref).display());
    }
}
