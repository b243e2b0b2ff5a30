#!/usr/bin/env bash
# The browser check of `runner report --html` (issue #17): headless Chromium opens the page,
# saves a screenshot and dumps the DOM it built, and the check requires
#   - every summary row of `runner report` (its JSON) and every chart of `runner report --plots`
#     (plus the latent codes) drawn in the DOM, and the pictures embedded;
#   - nothing fetched by the page: Chromium's net log may hold no URL request of the page other
#     than file: and data: ones. The check is first shown to fail on a page with one external
#     image, then run on the report. Host names resolve nowhere (--host-resolver-rules), so no
#     request could reach the network anyway;
#   - no script error on the console;
#   - a screenshot that is not blank: target/html-report/report.png (1280 × 2000).
#
# Usage: scripts/check-html-report.sh [RESULTS_DIR]
#   Without RESULTS_DIR: a tiny synthetic sweep (two variants, two latent sizes, two seeds and a
#   run that diverges), about 15 s. With it: a copy of its small files (no checkpoints), so that
#   the directory given is not changed.
#   As root on a fresh Debian 12 it installs Debian's `chromium` when missing; builds the release
#   runner if it is not there.
# Env: RUNNER (default target/release/runner), CHROMIUM (default chromium), OUT (default
#      target/html-report; emptied first)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/runner-env.sh"
CHROMIUM="${CHROMIUM:-chromium}"
OUT="${OUT:-target/html-report}"
step() { printf '\n--- %s\n' "$*"; }

if ! command -v "$CHROMIUM" >/dev/null 2>&1; then
    step "installing Debian's chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
"$CHROMIUM" --version 2>/dev/null

rm -rf "$OUT"
mkdir -p "$OUT/results"
OUT="$(cd "$OUT" && pwd)"

if [[ $# -ge 1 ]]; then
    step "a copy of $1 (without checkpoints)"
    src="$(cd "$1" && pwd)"
    (cd "$(dirname "$src")" && tar cf - --exclude='*.safetensors' --exclude='.lock*' --exclude='report.html' \
        --exclude='plots' --exclude='latent.png' "$(basename "$src")") | (cd "$OUT/results" && tar xf -)
    RESULTS="$OUT/results/$(basename "$src")"
    pictures=()
else
    step "a tiny sweep"
    cat > "$OUT/tiny.toml" <<'EOF'
name = "tiny"
description = "HTML report check: AE and DAE, two latent sizes, two seeds, and a run that diverges"
[data]
dataset = "synthetic"
train_limit = 400
test_limit = 200
[model]
architecture = "dense"
latent_dim = 2
hidden = [32]
[train]
epochs = 3
batch_size = 50
learning_rate = 1e-3
[sweep]
"model.latent_dim" = [2, 16]
"train.seed" = [0, 1]
[[variant]]
name = "ae"
[[variant]]
name = "dae"
noise = { kind = "masking", level = 0.3 }
[[variant]]
name = "diverges"
train = { optimizer = "sgd", learning_rate = 1e6 }
EOF
    # The diverging runs make the sweep exit 1; that is expected here.
    "$RUNNER" sweep "$OUT/tiny.toml" --results-dir "$OUT/results" --threads "$THREADS" --progress none || true
    RESULTS="$OUT/results"
    # The reconstructions of the best and the worst configuration.
    pictures=(--pictures "tiny=2")
fi

step "the page, the table as JSON, and the charts --plots draws"
"$RUNNER" report "$RESULTS" --html="$OUT/report.html" --format json --output "$OUT/report.json"
"$RUNNER" report "$RESULTS" --plots --format json >/dev/null 2>"$OUT/plots.log"
charts=()
while IFS= read -r -d '' plots; do
    sweep_dir="$(dirname "$plots")"
    name="$(basename "$sweep_dir")"
    list="$(find "$plots" -name '*.png' -printf '%f\n' | sed 's/\.png$//' | sort | paste -sd, -)"
    # The page also draws the best run's latent codes, which --plots draws per run.
    if compgen -G "$sweep_dir/runs/*/latent.png" >/dev/null; then list="$list,latent"; fi
    charts+=(--charts "$name=$list")
done < <(find "$RESULTS" -type d -name plots -print0)
[[ ${#charts[@]} -gt 0 ]] || { echo "runner report --plots drew nothing under $RESULTS" >&2; exit 1; }

chrome() {
    local profile
    profile="$(mktemp -d "$OUT/profile.XXXXXX")"
    timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$profile" \
        --host-resolver-rules="MAP * ~NOTFOUND" --enable-logging=stderr --v=0 "$@"
    rm -rf "$profile"
}

step "the network check must catch a page with an external image"
cat > "$OUT/external.html" <<'EOF'
<!DOCTYPE html><html><head><meta charset="utf-8"><title>external</title></head>
<body><p>One external image:</p><img src="http://external.invalid/picture.png" alt=""></body></html>
EOF
chrome --log-net-log="$OUT/external.netlog.json" --dump-dom "file://$OUT/external.html" >/dev/null 2>"$OUT/external.log"
if python3 scripts/check_html_report.py netlog "$OUT/external.netlog.json" 2>"$OUT/external.check"; then
    echo "the network check passed a page that fetches an image: it checks nothing" >&2
    exit 1
fi
sed 's/^/  (expected) /' "$OUT/external.check"

step "headless Chromium: the DOM and the screenshot of the report"
chrome --log-net-log="$OUT/dom.netlog.json" --dump-dom "file://$OUT/report.html" >"$OUT/dom.html" 2>"$OUT/dom.log"
chrome --log-net-log="$OUT/shot.netlog.json" --hide-scrollbars --window-size=1280,2000 \
    --screenshot="$OUT/report.png" "file://$OUT/report.html" >/dev/null 2>"$OUT/shot.log"
if grep -E 'CONSOLE|Uncaught' "$OUT/dom.log" "$OUT/shot.log"; then
    echo "the page wrote to the console (a script error?)" >&2
    exit 1
fi

step "the DOM check must catch a chart that is not there"
broken=()
for arg in "${charts[@]}"; do
    if [[ "$arg" == --charts ]]; then broken+=("$arg"); else broken+=("$arg,no_such_chart"); fi
done
if python3 scripts/check_html_report.py dom "$OUT/dom.html" --report-json "$OUT/report.json" "${broken[@]}" \
    >/dev/null 2>"$OUT/missing.check" || ! grep -q "no chart 'no_such_chart'" "$OUT/missing.check"; then
    echo "the DOM check passed a page without an expected chart: it checks nothing" >&2
    exit 1
fi
sed 's/^/  (expected) /' "$OUT/missing.check"

step "checks"
python3 scripts/check_html_report.py netlog "$OUT/dom.netlog.json" "$OUT/shot.netlog.json"
python3 scripts/check_html_report.py dom "$OUT/dom.html" --report-json "$OUT/report.json" "${charts[@]}" "${pictures[@]}"
python3 scripts/check_html_report.py png "$OUT/report.png" 1280 2000
echo "page: $OUT/report.html ($(($(stat -c %s "$OUT/report.html") / 1024)) KiB), screenshot: $OUT/report.png"
echo
echo "check-html-report: ok"
