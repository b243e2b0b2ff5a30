#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU (and its driver):
#   1. (build mode only) build the runner with `--features cuda`, and run nn's golden and
#      generic-path tests, which then also run on the GPU;
#   2. the smoke sweep (experiments/smoke.toml: conv and dense, AE and masking DAE, 2 epochs) with
#      `--device cuda`;
#   3. the comparison: `runner check --device cpu` retrains every CUDA run of it on the CPU and
#      compares every metric of every epoch within TOL (relative), and `runner check` retrains
#      them on the GPU again (CUDA is not bit-reproducible: its scatter-adds are atomic);
#   4. `runner bench --device cuda` at batch 1000 and 100 (and the CPU's, for the ratio).
# Prints a Markdown summary at the end; exits non-zero if a comparison fails.
#
# Tolerance: TOL (default 1e-3, `runner check`'s own default for CUDA runs). The GPU runs the
# device-generic path (gather convolutions, dfdx's ops); on the CPU that path differs from the
# fast kernels by ~1e-6 relative in every metric after two epochs (train's test
# `a_whole_run_through_the_generic_path_tracks_the_cpu_path`), and CUDA adds its own summation
# orders. 1e-3 leaves two orders of magnitude for them, while a wrong kernel, layout or formula
# moves the metrics by 1e-2 or more. A probe accuracy may also move by one test image (1/500).
#
# Modes:
#   RUNNER=path/to/runner scripts/gpu-check.sh   a runner built elsewhere with --features cuda
#                                                (no Rust needed here; run from a checkout, which
#                                                holds experiments/smoke.toml)
#   scripts/gpu-check.sh --build                 build it here first: needs Rust, the CUDA toolkit
#                                                (nvcc, cuda.h, cuBLAS, NVRTC) and nvidia-smi; with
#                                                CUDA_WHEELS=1, the toolkit from PyPI's wheels
#                                                (../shared/cuda/build-env.sh)
# Env: RUNNER_DATA_DIR (default ./data; fashion-mnist, else synthetic data is used and said so),
#      TOL, THREADS (CPU threads, default all), STEPS (bench steps, default 30), OUT (where the
#      results go, default a temporary directory that is removed).
# The binary needs libcuda.so.1 (the driver's), libcublas and libnvrtc at run time: where they are
# not on the loader's path, set LD_LIBRARY_PATH (e.g. a PyTorch environment's
# site-packages/nvidia/cu13/lib).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TOL="${TOL:-1e-3}"
STEPS="${STEPS:-30}"
THREADS="${THREADS:-$(nproc)}"
export RUNNER_DATA_DIR="${RUNNER_DATA_DIR:-$ROOT/data}"

if [[ "${1:-}" == "--build" ]]; then
    if [[ "${CUDA_WHEELS:-0}" == 1 ]]; then
        cargo fetch --locked
        eval "$("$ROOT/../shared/cuda/build-env.sh")"
    fi
    command -v nvcc >/dev/null || { echo "error: nvcc not found: install the CUDA toolkit, or CUDA_WHEELS=1" >&2; exit 1; }
    command -v nvidia-smi >/dev/null || { echo "error: nvidia-smi not found (dfdx's build asks it for the GPU's compute capability)" >&2; exit 1; }
    echo "--- cargo build --release -p runner --features cuda"
    cargo build --release --locked -p runner --features cuda
    echo "--- nn's golden and generic-path tests with the cuda feature (these run on the GPU too)"
    cargo test --release --locked -p nn --features cuda --test golden --test generic -- --nocapture 2>&1 |
        grep -E "^(cuda|test |test result)|worst|on cuda" || true
    RUNNER="$ROOT/target/release/runner"
fi
RUNNER="${RUNNER:-$ROOT/target/release/runner}"
[[ -x "$RUNNER" ]] || { echo "error: no runner at $RUNNER (set RUNNER=, or --build)" >&2; exit 1; }
if command -v ldd >/dev/null && ldd "$RUNNER" | grep -q "not found"; then
    echo "error: $RUNNER cannot find these libraries; set LD_LIBRARY_PATH:" >&2
    ldd "$RUNNER" | grep "not found" >&2
    exit 1
fi

if [[ -n "${OUT:-}" ]]; then
    work="$OUT"
    mkdir -p "$work"
else
    work="$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")"
    trap 'rm -rf -- "$work"' EXIT
fi
echo "--- $("$RUNNER" --version); results in $work"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

sets=()
info="$("$RUNNER" data info --json)"
if ! tr -d ' \n' <<<"$info" | grep -q '"name":"fashion-mnist","found":true'; then
    echo "note: fashion-mnist is not in $RUNNER_DATA_DIR: the smoke sweep runs on synthetic data (as large)"
    sets=(--set data.dataset=synthetic)
fi

echo "--- 2. the smoke sweep on the GPU"
started=$SECONDS
"$RUNNER" sweep experiments/smoke.toml --device cuda "${sets[@]}" --results-dir "$work" --threads "$THREADS" \
    --progress plain --no-baselines
cuda_seconds=$((SECONDS - started))
gpu=$(cat "$work"/smoke/runs/*/run.json | sed -n 's/.*"gpu": *"\([^"]*\)".*/\1/p' | sort -u | tr '\n' ' ')

status=0
echo "--- 3a. every CUDA run retrained on the CPU, every metric of every epoch within $TOL"
started=$SECONDS
"$RUNNER" check "$work/smoke" --all --device cpu --tolerance "$TOL" --threads "$THREADS" | tee "$work/check-cpu.txt" ||
    status=1
cpu_seconds=$((SECONDS - started))
echo "--- 3b. every CUDA run retrained on the GPU, within $TOL (CUDA is not bit-reproducible)"
"$RUNNER" check "$work/smoke" --all --tolerance "$TOL" --threads "$THREADS" | tee "$work/check-cuda.txt" || status=1

echo "--- 4. runner bench (conv, the tutorial's model)"
bench() { # device batch -> samples/s
    "$RUNNER" bench --device "$1" --batch-size "$2" --steps "$STEPS" --threads "$THREADS" --format json |
        sed 's/.*"samples_per_second":\([0-9.e+]*\).*/\1/'
}
declare -A rate
for b in 1000 100; do
    for d in cuda cpu; do
        rate[$d,$b]=$(bench "$d" "$b")
        printf '%s batch %s: %.0f samples/s\n' "$d" "$b" "${rate[$d,$b]}"
    done
done

echo
echo "## GPU check: ${gpu:-unknown GPU}, $("$RUNNER" --version)"
echo
echo "| what | result |"
echo "| --- | --- |"
echo "| smoke sweep on CUDA | 6 runs in ${cuda_seconds} s (the CPU retraining: ${cpu_seconds} s on $THREADS threads) |"
echo "| CUDA vs CPU, every metric of every epoch | $(tail -1 "$work/check-cpu.txt") |"
echo "| CUDA vs CUDA | $(tail -1 "$work/check-cuda.txt") |"
for b in 1000 100; do
    awk -v b="$b" -v g="${rate[cuda,$b]}" -v c="${rate[cpu,$b]}" -v t="$THREADS" \
        'BEGIN { printf "| bench batch %s | cuda %.0f samples/s, cpu %.0f samples/s (%d threads): %.1f× |\n", b, g, c, t, g / c }'
done
[[ $status == 0 ]] && echo && echo "gpu-check: CUDA matches the CPU within $TOL" || echo "gpu-check: FAILED (see above)"
exit $status
