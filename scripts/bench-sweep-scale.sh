#!/usr/bin/env bash
# Scale of the sweep bookkeeping, as benchmarks (not timed tests), printed as a table:
#   1. a sweep of RUNS (default 2,000) tiny runs (synthetic data, 200 images, dense 16 → 2, two
#      epochs): the wall time of its first and of its last hundred runs (from the runs' own
#      finish times, in milliseconds) and their ratio: a run's bookkeeping must not grow with
#      the runs before it;
#   2. a results tree of 10,000 runs × 10 epochs written without training (crates/results'
#      synthetic_tree example): `runner report` with the combined Parquet files current, and
#      with them stale (reading every run folder), wall time and peak memory;
#   3. `runner sweep --dry-run` of a 10,000-run and of a 100,000-run grid (expansion must stay
#      linear).
# Usage: scripts/bench-sweep-scale.sh   (from anywhere; builds what it needs)
# Env: RUNNER (default target/release/runner), RUNS (default 2000), JOBS (default auto), KEEP=1 keeps
# the temporary folder.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/runner-env.sh"
RUNS="${RUNS:-2000}"
JOBS="${JOBS:-auto}"
work="$(mktemp -d "${TMPDIR:-/tmp}/scale.XXXXXX")"
[[ "${KEEP:-0}" == 1 ]] || trap 'rm -rf -- "$work"' EXIT
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }

# Seconds (with milliseconds) that a command takes; its peak RSS in MB into $work/rss.
timed() {
    local start end
    start=$(date +%s.%N)
    /usr/bin/time -f '%M' -o "$work/rss" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; return 1; }
    end=$(date +%s.%N)
    python3 -c "print(f'{$end - $start:.2f}')"
}
rss_mb() { python3 -c "print(f'{$(tail -n 1 "$work/rss") / 1024:.0f}')"; }

grid() { # NAME RUNS: a grid of RUNS tiny runs (seeds × latent sizes)
    python3 - "$1" "$2" <<'PY'
import sys
name, runs = sys.argv[1], int(sys.argv[2])
seeds = runs // 5
print(f'''name = "{name}"
[data]
dataset = "synthetic"
train_limit = 200
test_limit = 50
[model]
architecture = "dense"
hidden = [16]
[train]
epochs = 2
batch_size = 50
learning_rate = 1e-3
probe = false
[sweep]
"model.latent_dim" = [2, 3, 4, 5, 6]
"train.seed" = [{", ".join(str(s) for s in range(seeds))}]''')
PY
}

echo "--- 1. a sweep of $RUNS tiny runs (--jobs $JOBS)"
grid tiny "$RUNS" >"$work/tiny.toml"
sweep_s=$(timed "$RUNNER" sweep "$work/tiny.toml" --results-dir "$work/results" --no-baselines --progress none --jobs "$JOBS")
read -r first last ratio < <(python3 - "$work/results/tiny/runs" <<'PY'
import json, os, sys, datetime
d = sys.argv[1]
t = sorted(datetime.datetime.fromisoformat(json.load(open(os.path.join(d, r, "run.json")))["finished_at"].replace("Z", "+00:00")).timestamp() for r in os.listdir(d))
first, last = t[100] - t[0], t[-1] - t[-101]
print(f"{first:.2f} {last:.2f} {last / first:.2f}")
PY
)

echo "--- 2. runner report over 10,000 runs × 10 epochs"
cargo run --release --quiet -p results --example synthetic_tree -- "$work/tree" 10000 10
fresh_s=$(timed "$RUNNER" report "$work/tree" --format csv); fresh_mb=$(rss_mb)
touch "$work/tree/scale/runs/"*/run.json   # newer than the combined files: they are stale now
stale_s=$(timed "$RUNNER" report "$work/tree" --format csv); stale_mb=$(rss_mb)

echo "--- 3. --dry-run of 10,000- and 100,000-run grids"
grid g10k 10000 >"$work/g10k.toml"
grid g100k 100000 >"$work/g100k.toml"
dry10_s=$(timed "$RUNNER" sweep "$work/g10k.toml" --dry-run --results-dir "$work/none")
dry100_s=$(timed "$RUNNER" sweep "$work/g100k.toml" --dry-run --results-dir "$work/none")

printf '\n| measurement | value |\n| --- | ---: |\n'
printf '| %s tiny runs, whole sweep (s) | %s |\n' "$RUNS" "$sweep_s"
printf '| first 100 runs (s) | %s |\n' "$first"
printf '| last 100 runs (s) | %s |\n' "$last"
printf '| last ÷ first | %s |\n' "$ratio"
printf '| report, 10,000 runs, combined files current (s / MB) | %s / %s |\n' "$fresh_s" "$fresh_mb"
printf '| report, 10,000 runs, from the run folders (s / MB) | %s / %s |\n' "$stale_s" "$stale_mb"
printf '| --dry-run, 10,000-run grid (s) | %s |\n' "$dry10_s"
printf '| --dry-run, 100,000-run grid (s) | %s |\n' "$dry100_s"
