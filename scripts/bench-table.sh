#!/usr/bin/env bash
# The README's performance table, measured in one session on this machine:
#   1. ../shared/bench/compare.sh: runner bench, the tutorial's TensorFlow code and a PyTorch port,
#      alternately (REPS rounds, medians) at each batch size → samples/s and the ratios;
#   2. peak resident memory of one more measurement of each (GNU time's maximum RSS);
#   3. the machine's matrix-product ceiling (examples/gemm_peak: 1024³ products, one per core).
# GFLOP/s = samples/s × the model's FLOP per training sample (runner bench counts them), the same
# model for all three. Prints a Markdown table. Takes ~5 minutes at the defaults; run it on a
# quiet machine.
# It measures the `profiling` build (the release profile with line tables, target/profiling/), so
# that the binary the table is about is the one `perf record` can read; debug info does not change
# the generated code (the release binary ships stripped only to be small).
# Usage: scripts/bench-table.sh [BATCH ...]   (default: 1000 100)
# Env: BENCH (default: ../shared/bench), REPS, STEPS, THREADS (as compare.sh; THREADS default 2),
#      PROFILE (default profiling; `release` measures the shipped binary)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BENCH="${BENCH:-../shared/bench}"
PROFILE="${PROFILE:-profiling}"
export THREADS="${THREADS:-2}" STEPS="${STEPS:-30}" RUNNER="${RUNNER:-target/$PROFILE/runner}"
export BENCH_HOME="${BENCH_HOME:-/tmp/ae-bench}"
BATCHES=("$@"); [ ${#BATCHES[@]} -gt 0 ] || BATCHES=(1000 100)
[[ -f "$BENCH/compare.sh" ]] || { echo "error: $BENCH/compare.sh not found (set BENCH=...)" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "error: GNU time (/usr/bin/time) is needed for peak memory" >&2; exit 1; }
cargo build --profile "$PROFILE" --quiet -p runner
cargo build --profile "$PROFILE" --quiet -p nn --example gemm_peak

out="$(mktemp -d)"
trap 'rm -rf -- "$out"' EXIT
echo "--- compare.sh ${BATCHES[*]} (REPS=${REPS:-3}, STEPS=$STEPS, THREADS=$THREADS)" >&2
"$BENCH/compare.sh" "${BATCHES[@]}" | tee "$out/compare" >&2

PY="$BENCH_HOME/venv/bin/python"
peak() {  # command... -> max RSS in MB
    /usr/bin/time -f '%M' -o "$out/time" "$@" >/dev/null 2>&1
    echo $(( $(tail -1 "$out/time") / 1024 ))
}
echo "--- peak memory and the matrix-product ceiling" >&2
ceiling=$(target/"$PROFILE"/examples/gemm_peak 1024 "$THREADS" | sed -n 's/^ *\([0-9.]*\) GFLOP\/s in all.*/\1/p')
mflop=$(RAYON_NUM_THREADS=$THREADS "$RUNNER" bench --architecture conv --batch-size 100 --steps 1 --format json |
    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["mflop_per_sample"])')

printf '| batch | program | samples/s | ms/step | ratio (runner ÷ it) | peak memory | GFLOP/s | %% of peak (%s GFLOP/s) |\n' "$ceiling"
printf '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n'
for b in "${BATCHES[@]}"; do
    read -r _ runner tf torch _ < <(awk -v b="$b" '$1 == b' "$out/compare")
    limit=$(( b * (STEPS + 1) ))
    m_runner=$(RAYON_NUM_THREADS=$THREADS peak "$RUNNER" bench --architecture conv --batch-size "$b" --steps "$STEPS")
    m_tf=$(peak "$PY" "$BENCH/tf_seed_ae.py" --dataset fashion --epochs 1 --batch-size "$b" --limit "$limit" --no-eval --threads "$THREADS")
    m_torch=$(peak "$PY" "$BENCH/torch_seed_ae.py" --dataset fashion --epochs 1 --batch-size "$b" --limit "$limit" --no-eval --threads "$THREADS")
    for row in "runner $runner $m_runner" "TensorFlow $tf $m_tf" "PyTorch $torch $m_torch"; do
        read -r name rate mem <<<"$row"
        "$PY" - "$b" "$name" "$rate" "$runner" "$mem" "$mflop" "$ceiling" <<'PYEOF'
import sys
b, name, rate, runner, mem, mflop, ceiling = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:])
gflops = rate * mflop / 1e3
ratio = "—" if name == "runner" else f"{runner / rate:.2f}×"
print(f"| {b} | {name} | {rate:,.0f} | {int(b) / rate * 1e3:.1f} | {ratio} | {mem:,.0f} MB | {gflops:.0f} | {100 * gflops / ceiling:.0f}% |")
PYEOF
    done
done
