#!/usr/bin/env bash
# CI's check that the CUDA build compiles, on any machine: no nvcc, GPU or CUDA libraries needed.
# dfdx's and cudarc's `ci-check` features skip the PTX build and the link to CUDA, so the crates
# that see the `cuda` feature (nn, train, runner; tests included) are type-checked as a real
# `--features cuda` build would compile them, and clippy holds the CUDA-only code (nn's
# src/device/cuda.rs) to the workspace's lints. Binaries do not link in this mode: `check` only.
# A real build and a run on a GPU: scripts/gpu-check.sh.
# Usage: scripts/check-cuda-build.sh   (from anywhere; ~2 minutes on 2 cores after a release build)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
features=runner/cuda,runner/ci-check
echo "--- cargo check (features $features)"
cargo check --release --locked -p nn -p train -p runner --features "$features" --all-targets
echo "--- cargo clippy (features $features)"
cargo clippy --release --locked -p nn -p train -p runner --features "$features" --all-targets -- -D warnings
echo "the CUDA build compiles (ci-check: type-checked, not linked)"
