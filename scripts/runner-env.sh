# Sourced by the scripts that run the release runner on the smoke sweep (reproduce.sh,
# update-reference.sh): moves to the repository root, builds the runner when it is missing, and
# sets RUNNER (default: target/release/runner), THREADS (default 2) and RUNNER_DATA_DIR
# (default: data).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUNNER="${RUNNER:-target/release/runner}"
THREADS="${THREADS:-2}"
[[ -x "$RUNNER" ]] || cargo build --release --quiet -p runner
export RUNNER_DATA_DIR="${RUNNER_DATA_DIR:-data}"
