#!/usr/bin/env bash
# Regenerates the committed reference results/reference/smoke/ from experiments/smoke.toml, for a
# change that is meant to change results (a new metric column, a different kernel): CI's
# `runner check results/reference/smoke` compares against it. Keeps what the check and the report
# read (sweep.toml, config.toml, run.json and metrics.csv of each run, runs.csv, metrics.csv, the
# baselines) and drops checkpoints, pictures, Parquet files and locks, so it stays ~150 KB.
# Usage: scripts/update-reference.sh   (then review `git diff --stat results/reference` and commit)
# Env: RUNNER (default: target/release/runner), RUNNER_DATA_DIR (default: data), THREADS (default 2)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/runner-env.sh"

work="$(mktemp -d "${TMPDIR:-/tmp}/reference.XXXXXX")"
trap 'rm -rf -- "$work"' EXIT
"$RUNNER" sweep experiments/smoke.toml --results-dir "$work" --threads "$THREADS" --progress plain
find "$work/smoke" \( -name '.lock*' -o -name '*.parquet' -o -name '*.safetensors' -o -name '*.png' \
    -o -name latent.csv \) -delete
# Only now replace the old reference: a failed sweep above leaves it as it was.
rm -rf results/reference/smoke
mkdir -p results/reference
mv "$work/smoke" results/reference/smoke
echo "--- results/reference/smoke rewritten ($(du -sh results/reference/smoke | cut -f1)); checking it"
"$RUNNER" check results/reference/smoke --all --threads "$THREADS"
