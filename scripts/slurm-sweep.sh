#!/usr/bin/env bash
# Example Slurm job array: split one sweep across N machines that share a results directory.
# Each array task runs the runs whose index ≡ task (mod N); run folders are disjoint, so tasks
# never write the same files, and every task rebuilds the combined CSV/Parquet after each of its
# runs (the last to finish leaves them complete; `runner report` also reads the run folders).
#
#   sbatch --array=0-3 scripts/slurm-sweep.sh experiments/latent_sizes.toml
#
# Rerunning the same array resumes: completed runs are skipped, interrupted ones retrained.
#SBATCH --job-name=ae-sweep
#SBATCH --cpus-per-task=2
#SBATCH --mem=8G
#SBATCH --time=04:00:00
#SBATCH --output=slurm-%A_%a.out
set -euo pipefail

SWEEP="${1:?usage: sbatch --array=0-(N-1) scripts/slurm-sweep.sh SWEEP_FILE [RESULTS_DIR]}"
RESULTS="${2:-results}"
TASK="${SLURM_ARRAY_TASK_ID:?run this through sbatch --array}"
COUNT="${SLURM_ARRAY_TASK_COUNT:?run this through sbatch --array}"
RUNNER="${RUNNER:-target/release/runner}"

# Build once on the shared filesystem before submitting (cargo build --release -p runner);
# building here from every task at once would race.
[[ -x "$RUNNER" ]] || { echo "slurm-sweep: $RUNNER not found; run 'cargo build --release -p runner' first" >&2; exit 1; }

exec "$RUNNER" sweep "$SWEEP" \
    --results-dir "$RESULTS" \
    --shard "$TASK/$COUNT" \
    --threads "${SLURM_CPUS_PER_TASK:-2}" \
    --progress plain
