#!/usr/bin/env bash
# Several runs at once, as a benchmark (not a timed test), printed as a table: each sweep trained
# with `--jobs 1` and with `--jobs 2` (on THREADS threads, default 2), alternately, ROUNDS times
# (default 3); the median wall times, their ratio, and whether the two give bit-identical metrics
# (`runner compare`). The sweeps: the smoke sweep (conv and dense, 6 runs of seconds), and 8 dense
# [512, 256] auto-encoders, 3 epochs on 20,000 Fashion-MNIST images (a model whose own threads
# scale worse than runs do). The baselines are left out (`--no-baselines`): they are computed
# once, before any job.
# Usage: scripts/bench-jobs.sh   (from anywhere; builds the runner when missing; needs data/)
# Env: RUNNER, THREADS, RUNNER_DATA_DIR (see runner-env.sh), ROUNDS, KEEP=1 keeps the folder.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/runner-env.sh"
ROUNDS="${ROUNDS:-3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/jobs.XXXXXX")"
[[ "${KEEP:-0}" == 1 ]] || trap 'rm -rf -- "$work"' EXIT

cat > "$work/dense.toml" <<'TOML'
name = "dense_jobs"
description = "8 dense auto-encoders for scripts/bench-jobs.sh"
[data]
dataset = "fashion-mnist"
train_limit = 20000
[model]
architecture = "dense"
hidden = [512, 256]
[train]
epochs = 3
batch_size = 100
learning_rate = 1e-3
probe = false
[sweep]
"model.latent_dim" = [8, 16, 32, 64]
"train.seed" = [0, 1]
TOML

seconds() { # seconds a command takes, to the hundredth
    local start end
    start=$(date +%s.%N)
    "$@" >"$work/out" 2>&1 || { cat "$work/out" >&2; return 1; }
    end=$(date +%s.%N)
    python3 -c "print(f'{$end - $start:.2f}')"
}

rows=()
for sweep in experiments/smoke.toml "$work/dense.toml"; do
    name=$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["name"])' "$sweep")
    declare -A times=([1]="" [2]="")
    for round in $(seq 1 "$ROUNDS"); do
        for jobs in 1 2; do
            dir="$work/$name-j$jobs-r$round"
            t=$(seconds "$RUNNER" sweep "$sweep" --results-dir "$dir" --jobs "$jobs" --threads "$THREADS" \
                --progress none --no-baselines)
            echo "$name --jobs $jobs round $round: $t s" >&2
            times[$jobs]+="$t "
        done
    done
    same=$("$RUNNER" compare "$work/$name-j1-r1/$name" "$work/$name-j2-r1/$name" 2>&1 | tail -n 1)
    rows+=("$(python3 - "$name" "${times[1]}" "${times[2]}" "$same" <<'PY'
import statistics, sys
name, one, two, same = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4]
m1, m2 = statistics.median(map(float, one)), statistics.median(map(float, two))
print(f"| {name} | {m1:.1f} | {m2:.1f} | {m1 / m2:.2f}× | {same} |")
PY
)")
    unset times
done

echo
echo "| sweep | --jobs 1 (s) | --jobs 2 (s) | speed-up | --jobs 1 vs 2 |"
echo "| --- | ---: | ---: | ---: | --- |"
printf '%s\n' "${rows[@]}"
