#!/usr/bin/env bash
# The TensorBoard read-back check (issue #17): TensorBoard's own reader must find, in the event
# files the runner writes, every scalar of every run's metrics.csv, exactly (as float32, what
# TensorBoard stores), and the run's config.toml as its text summary.
#
#   1. a venv under target/ with the `tensorboard` Python package (pip, by name);
#   2. the checker's own tests: it must pass the tensorboard crate's demo logdir and fail on each
#      kind of damage to it (scripts/test_check_tensorboard.py);
#   3. a tiny synthetic sweep (plain, stacked with its pre-training phases, and a run that
#      diverges) trained with `runner sweep --tensorboard`, then `runner export tensorboard` of
#      its results, which must leave the results directory unchanged;
#   4. scripts/check_tensorboard.py on both log directories: each event folder holds exactly one
#      run's config.toml, every run has one, and the scalars equal its metrics.csv. Which columns
#      are metrics (scalars by name), timings (under timing/) and labels (not scalars) is read
#      from spec::metrics::COLUMNS in crates/spec/src/metrics.rs, the project's one list.
#
# Usage: scripts/check-tensorboard.sh   (from anywhere; as root on a fresh Debian 12 it installs
#        python3-venv when missing; builds the release runner if it is not there)
# Env: RUNNER (default target/release/runner), PYTHON (default python3), TB_VENV (default
#      target/tb-venv), TB_CHECK_DIR (default target/tb-check; emptied first)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/runner-env.sh"
PYTHON="${PYTHON:-python3}"
VENV="${TB_VENV:-target/tb-venv}"
WORK="${TB_CHECK_DIR:-target/tb-check}"
step() { printf '\n--- %s\n' "$*"; }

step "a venv with tensorboard ($VENV)"
if [[ ! -x "$VENV/bin/python" ]]; then
    if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
        # Debian ships the venv module separately.
        rm -rf "$VENV"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        "$PYTHON" -m venv "$VENV"
    fi
fi
"$VENV/bin/python" -c 'import tensorboard' 2>/dev/null || "$VENV/bin/pip" install --quiet --disable-pip-version-check tensorboard
TB_PY="$(cd "$VENV" && pwd)/bin/python"
"$TB_PY" -c 'import tensorboard; print("tensorboard", tensorboard.__version__)'

rm -rf "$WORK"
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"

step "the checker's own tests, on the tensorboard crate's demo logdir"
cargo run --release --quiet -p tensorboard --example write_demo -- "$WORK/demo"
(cd scripts && TB_DEMO_LOGDIR="$WORK/demo" "$TB_PY" -m unittest test_check_tensorboard 2>&1 | tail -3)

step "a tiny sweep with --tensorboard"
cat > "$WORK/tb.toml" <<'EOF'
name = "tbcheck"
description = "TensorBoard read-back check: plain, stacked (pre-training phases) and a diverging run"
[data]
dataset = "synthetic"
train_limit = 200
test_limit = 100
[model]
architecture = "dense"
latent_dim = 4
hidden = [16]
[train]
epochs = 2
batch_size = 50
learning_rate = 1e-3
[sweep]
"train.seed" = [0, 1]
[[variant]]
name = "ae"
[[variant]]
name = "stacked"
model = { kind = "stacked", pretrain_epochs = 2 }
[[variant]]
name = "diverges"
train = { optimizer = "sgd", learning_rate = 1e6 }
EOF
# Diverging runs make the sweep exit 1; that is expected here.
"$RUNNER" sweep "$WORK/tb.toml" --results-dir "$WORK/results" --tensorboard "$WORK/live" \
    --threads "$THREADS" --progress none --no-baselines || true
SWEEP="$WORK/results/tbcheck"
grep -l '"status": "diverged"' "$SWEEP"/runs/*/run.json >/dev/null || { echo "no run diverged; the check wants one" >&2; exit 1; }

step "runner export tensorboard (the results directory must not change)"
tree_hash() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum); }
before="$(tree_hash "$SWEEP")"
"$RUNNER" export tensorboard "$SWEEP" --out "$WORK/exported"
[[ "$(tree_hash "$SWEEP")" == "$before" ]] || { echo "exporting changed $SWEEP" >&2; exit 1; }

# The roles of the metric-row columns, from the project's list.
columns() { grep -oE "\(\"[a-z_]+\", Column::$1\)" crates/spec/src/metrics.rs | cut -d'"' -f2 | paste -sd, -; }
LABELS="$(columns Label)"
TIMINGS="$(columns Timing)"
FINETUNE="$(grep -oE 'FINETUNE_PHASE: &str = "[^"]+"' crates/spec/src/metrics.rs | cut -d'"' -f2)"
[[ -n "$LABELS" && -n "$TIMINGS" && -n "$(columns Metric)" && -n "$FINETUNE" ]] || {
    echo "cannot read the column roles from crates/spec/src/metrics.rs" >&2
    exit 1
}
echo "labels (not scalars): $LABELS"
echo "timings (under timing/): $TIMINGS"

check_logdir() {
    local logdir="$1" args=() runs=0
    local -A seen=()
    while IFS= read -r -d '' file; do
        local folder id
        folder="$(dirname "$file")"
        # The config text is stored as is inside the event file: its run_id names the run.
        id="$(grep -aoE 'run_id = "[0-9a-f]+"' "$file" | head -1 | cut -d'"' -f2)"
        [[ -n "$id" && -d "$SWEEP/runs/$id" ]] || { echo "$file: no run of $SWEEP in its config text" >&2; return 1; }
        [[ -z "${seen[$id]:-}" ]] || { echo "run $id exported twice: ${seen[$id]} and $folder" >&2; return 1; }
        seen[$id]="$folder"
        args+=(--run "$folder" "$SWEEP/runs/$id/metrics.csv" "config=$SWEEP/runs/$id/config.toml")
        runs=$((runs + 1))
    done < <(find "$logdir" -type f -name 'events.out.tfevents.*' -print0 | sort -z)
    local expected
    expected="$(find "$SWEEP/runs" -mindepth 2 -maxdepth 2 -name run.json | wc -l)"
    [[ "$runs" -eq "$expected" ]] || { echo "$logdir: $runs event files for $expected runs" >&2; return 1; }
    "$TB_PY" scripts/check_tensorboard.py --logdir "$logdir" --ignore-column "$LABELS" \
        --tag-prefix "timing/:$TIMINGS" --phase-column phase --final-phase "$FINETUNE" "${args[@]}"
}

step "TensorBoard reads back the event files written during the sweep"
check_logdir "$WORK/live"
step "TensorBoard reads back the exported event files"
check_logdir "$WORK/exported"
echo
echo "check-tensorboard: ok"
