#!/usr/bin/env bash
# Slurm job array: split one sweep across N tasks (machines) that share a results directory.
# Each array task trains the runs whose index ≡ task (mod N) (`runner sweep --shard slurm` reads
# the task and N from Slurm); run folders are disjoint, a per-run lock keeps two tasks from training
# one run, and each task writes the combined CSV/Parquet files when it ends (the last to end leaves
# them complete; `runner report` reads the run folders when they are stale).
#
#   sbatch --array=0-3 scripts/slurm-sweep.sh experiments/latent_sizes.toml [RESULTS_DIR]
#
# Rerunning the same array resumes: completed runs are skipped, interrupted ones retrained. To
# rerun only some tasks of an array of N, say N: SHARDS=4 sbatch --array=1,3 scripts/slurm-sweep.sh ...
# Watch it with `squeue -r -j JOB` and `runner status RESULTS_DIR/<sweep>`.
#SBATCH --job-name=ae-sweep
#SBATCH --cpus-per-task=2
#SBATCH --mem=2G
#SBATCH --time=04:00:00
#SBATCH --output=slurm-%A_%a.out
set -euo pipefail

SWEEP="${1:?usage: sbatch --array=0-(N-1) scripts/slurm-sweep.sh SWEEP_FILE [RESULTS_DIR]}"
RESULTS="${2:-results}"
RUNNER="${RUNNER:-target/release/runner}"

# Build once on the shared filesystem before submitting (cargo build --release -p runner);
# building here from every task at once would race.
[[ -x "$RUNNER" ]] || { echo "slurm-sweep: $RUNNER not found; run 'cargo build --release -p runner' first" >&2; exit 1; }

# `slurm`: I = SLURM_ARRAY_TASK_ID, N = the array's size (refused for a partial array unless N is
# given: `slurm/N`).
SHARD=slurm
[[ -z "${SHARDS:-}" ]] || SHARD="slurm/$SHARDS"

exec "$RUNNER" sweep "$SWEEP" \
    --results-dir "$RESULTS" \
    --shard "$SHARD" \
    --threads "${SLURM_CPUS_PER_TASK:-2}" \
    --progress plain
