#!/usr/bin/env bash
# End-to-end test of sharded sweeps under a REAL Slurm scheduler, on this one machine.
#
#   sudo scripts/slurm-test.sh            # from the repository root, after cargo build --release -p runner
#
# As root, it installs Debian's slurmctld, slurmd, slurm-client and munge when missing, starts a
# private one-node cluster (its own slurm.conf, munge key, ports, state and logs in a temporary
# folder; nothing under /etc is used), and checks with scripts/slurm-sweep.sh:
#   reference  an unsharded `runner sweep` of the smoke sweep
#   array      a 3-task job array: every run completed once, metrics bit-identical to the reference,
#              combined CSV/Parquet complete and readable
#   fault      a task cancelled in the middle of a run; the resubmitted array retrains that run
#              (from scratch, no duplicated rows) and nothing else, results identical
#   overlap    arrays of 2 and 3 tasks over one results directory at once: no run trained twice
# then prints a summary table. The daemons run in the foreground under this script's control and
# are stopped, with the temporary folder removed, however it ends (success, failure, Ctrl-C).
#
# Environment (all optional):
#   REPO            repository root                      [the folder above this script]
#   RUNNER          runner binary (relative to REPO)     [target/release/runner]
#   RUNNER_DATA_DIR datasets                             [REPO/data]
#   SWEEP_FILE      sweep file (relative to REPO)        [experiments/smoke.toml]
#   JOB_SCRIPT      job-array script (relative to REPO)  [scripts/slurm-sweep.sh]
#   CPUS_PER_TASK   --cpus-per-task of each array task   [1: on 2 cores, two tasks run at once]
#   CASE_TIMEOUT    seconds each case may take           [900]
#   START_TIMEOUT   seconds for the daemons to come up   [120]
#   SLURMCTLD_PORT / SLURMD_PORT                         [16817 / 16818, not the defaults, so that
#                                                         a system Slurm is never disturbed]
#   CASES           the cases after the reference        ["array fault overlap"]
#   KEEP_TMP=1      keep the temporary folder (logs, results) instead of removing it
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "${REPO:-$SCRIPT_DIR/..}" && pwd)
RUNNER=${RUNNER:-target/release/runner}
[[ $RUNNER == /* ]] || RUNNER=$REPO/$RUNNER
SWEEP_FILE=${SWEEP_FILE:-experiments/smoke.toml}
JOB_SCRIPT=${JOB_SCRIPT:-scripts/slurm-sweep.sh}
RUNNER_DATA_DIR=${RUNNER_DATA_DIR:-$REPO/data}
[[ $RUNNER_DATA_DIR == /* ]] || RUNNER_DATA_DIR=$REPO/$RUNNER_DATA_DIR
CPUS_PER_TASK=${CPUS_PER_TASK:-1}
CASE_TIMEOUT=${CASE_TIMEOUT:-900}
START_TIMEOUT=${START_TIMEOUT:-120}
SLURMCTLD_PORT=${SLURMCTLD_PORT:-16817}
SLURMD_PORT=${SLURMD_PORT:-16818}
KEEP_TMP=${KEEP_TMP:-0}
CASES=${CASES:-array fault overlap}
export RUNNER RUNNER_DATA_DIR

T0=$(date +%s.%N)
# Log lines go to stderr, so that functions whose stdout is captured can log too.
log() { printf '[%s +%6.1fs] %s\n' "$(date -u +%H:%M:%S.%3N)" "$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

tmp=""
CASE="setup"
SUMMARY=()            # "case|wall|runs|verdict"
declare -A PID=()     # daemon name -> pid
POLICY_RC_CREATED=0

# ----------------------------------------------------------------------------------------------
# Cleanup: cancel jobs, stop daemons, remove temp state; on failure, show the logs first.
# ----------------------------------------------------------------------------------------------
proc_state() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1; }

stop_pid() { # stop_pid NAME: SIGTERM, up to 15 s, then SIGKILL; reaps it
    local name=$1 pid=${PID[$1]:-} i s
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        s=$(proc_state "$pid")
        [[ -z $s || $s == Z ]] && break
        sleep 0.1
    done
    s=$(proc_state "$pid")
    if [[ -n $s && $s != Z ]]; then
        log "$name (pid $pid) ignored SIGTERM for 15 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    unset "PID[$name]"
}

# Processes of a test instance (temporary folder DIR) that may outlive their parents: the daemons
# and slurmscriptd carry AESWEEP_SLURM_TEST=DIR in their environment, and so do the jobs (they are
# submitted with it); slurmstepd (whose environment slurmd cleans) holds DIR/log/slurmd.log open;
# runner processes name DIR on their command line.
instance_pids() { # instance_pids DIR
    local dir=$1 p f comm
    [[ -n $dir ]] || return 0
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [[ $p == "$$" || $p == "$BASHPID" ]] && continue
        if grep -qzxF "AESWEEP_SLURM_TEST=$dir" "/proc/$p/environ" 2>/dev/null \
            || grep -qaF -- "$dir/" "/proc/$p/cmdline" 2>/dev/null; then
            echo "$p"
            continue
        fi
        comm=""
        { read -r comm <"/proc/$p/comm"; } 2>/dev/null || true
        [[ $comm == slurmstepd ]] || continue
        for f in /proc/"$p"/fd/*; do
            if [[ $(readlink "$f" 2>/dev/null) == "$dir"/* ]]; then
                echo "$p"
                break
            fi
        done
    done
}

kill_instance() { # kill_instance DIR: SIGTERM, then SIGKILL after 2 s, every process of it
    local left
    left=$(instance_pids "$1" | tr '\n' ' ')
    [[ -n ${left// /} ]] || return 0
    log "killing processes left by the test instance in $1: $left"
    # shellcheck disable=SC2086
    kill -TERM $left 2>/dev/null || true
    sleep 2
    left=$(instance_pids "$1" | tr '\n' ' ')
    # shellcheck disable=SC2086
    if [[ -n ${left// /} ]]; then kill -KILL $left 2>/dev/null || true; fi
}

# Earlier instances killed with SIGKILL (no trap ran) leave daemons that hold the ports: stop
# those whose script is gone (its pid in DIR/owner.pid). A running instance is left alone.
reap_stale_instances() {
    local p v dir owner
    for p in /proc/[0-9]*; do
        v=$({ tr '\0' '\n' <"$p/environ"; } 2>/dev/null | grep -m1 '^AESWEEP_SLURM_TEST=' || true)
        dir=${v#AESWEEP_SLURM_TEST=}
        [[ -n $v && $dir == /tmp/ae-sweep-slurm-test.* && $dir != "$tmp" ]] || continue
        owner=$(cat "$dir/owner.pid" 2>/dev/null || true)
        if [[ -n $owner ]] && kill -0 "$owner" 2>/dev/null; then continue; fi
        kill_instance "$dir"
        [[ -f $dir/keep ]] || rm -rf "$dir"
    done
}

stop_cluster() {
    local i left
    if [[ -n ${PID[slurmctld]:-} ]]; then
        left=$(squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ' || true)
        if [[ -n ${left// /} ]]; then
            log "cancelling jobs still queued: $left"
            # shellcheck disable=SC2086
            scancel $left 2>/dev/null || true
            for ((i = 0; i < 60; i++)); do
                [[ -z $(squeue -h -o %A 2>/dev/null) ]] && break
                sleep 0.5
            done
        fi
    fi
    for d in slurmd slurmctld munged; do
        [[ -n ${PID[$d]:-} ]] && { log "stopping $d (pid ${PID[$d]})"; stop_pid "$d"; }
    done
    kill_instance "$tmp"
}

print_summary() {
    ((${#SUMMARY[@]})) || return 0
    echo
    printf '%-10s  %9s  %5s  %s\n' case wall runs verdict
    printf '%-10s  %9s  %5s  %s\n' ---------- --------- ----- -------
    local row c w r v
    for row in "${SUMMARY[@]}"; do
        IFS='|' read -r c w r v <<<"$row"
        printf '%-10s  %9s  %5s  %s\n' "$c" "$w" "$r" "$v"
    done
    echo
}

cleanup() {
    local rc=$? f
    set +e
    trap - EXIT INT TERM
    if ((POLICY_RC_CREATED)); then rm -f /usr/sbin/policy-rc.d; fi
    if ((rc != 0)); then
        log "FAILED (exit $rc) in case '$CASE'"
        SUMMARY+=("$CASE|${CASE_START:+$(since "$CASE_START") s}|-|FAIL")
        if [[ -n $tmp && -d $tmp/log ]]; then
            for f in "$tmp"/log/*; do
                [[ -s $f ]] || continue
                echo "----- tail of $f"
                tail -n 40 "$f"
            done
            for f in "$tmp"/out/*.out; do
                [[ -s $f ]] || continue
                echo "----- tail of $f"
                tail -n 15 "$f"
            done
        fi
    fi
    stop_cluster
    print_summary
    if [[ -n $tmp && -d $tmp ]]; then
        if [[ $KEEP_TMP == 1 ]]; then
            touch "$tmp/keep"
            log "kept $tmp (KEEP_TMP=1)"
        else
            rm -rf "$tmp"
        fi
    fi
    if ((rc == 0)); then log "PASSED"; else log "FAILED"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted (SIGINT)"; exit 130' INT
trap 'log "terminated (SIGTERM)"; exit 143' TERM

# ----------------------------------------------------------------------------------------------
# 0. Preconditions and packages
# ----------------------------------------------------------------------------------------------
[[ $(id -u) == 0 ]] || die "run as root (the test starts slurmctld, slurmd and munged)"
[[ -x $RUNNER ]] || die "$RUNNER not found or not executable: cargo build --release -p runner first"
[[ -f $REPO/$SWEEP_FILE ]] || die "sweep file $REPO/$SWEEP_FILE not found"
[[ -f $REPO/$JOB_SCRIPT || -f $JOB_SCRIPT ]] || die "job script $JOB_SCRIPT not found"
[[ -d $RUNNER_DATA_DIR ]] || die "data folder $RUNNER_DATA_DIR not found (scripts/fetch-data.sh)"
# A test started from inside a Slurm job must not inherit that job's settings.
for v in $(compgen -e | grep '^SLURM_' || true); do unset "$v"; done

installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }
need=()
for p in slurmctld slurmd slurm-client munge; do installed "$p" || need+=("$p"); done
command -v python3 >/dev/null || need+=(python3)
if ((${#need[@]})); then
    log "installing ${need[*]} with apt-get"
    # Keep the packages' own services from starting (munge.service would run with the packaged
    # key; slurmd/slurmctld would fail without /etc/slurm/slurm.conf): this test runs its own.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        POLICY_RC_CREATED=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${need[@]}"
    if ((POLICY_RC_CREATED)); then rm -f /usr/sbin/policy-rc.d; POLICY_RC_CREATED=0; fi
else
    log "slurmctld, slurmd, slurm-client, munge and python3 already installed"
fi
for b in slurmctld slurmd sbatch squeue scancel sinfo scontrol munged munge unmunge python3; do
    command -v "$b" >/dev/null || die "$b not on PATH after installing"
done
log "$(slurmctld -V), $(munged -V 2>&1 | head -1), $(python3 -V)"

# ----------------------------------------------------------------------------------------------
# 1. A private one-node cluster
# ----------------------------------------------------------------------------------------------
tmp=$(mktemp -d /tmp/ae-sweep-slurm-test.XXXXXX)
chmod 755 "$tmp"
mkdir -p "$tmp"/{etc,munge-key,munge-run,state,spool,log,out}
chmod 700 "$tmp/munge-key"
chmod 755 "$tmp/munge-run" # munged wants everyone to reach its socket
echo $$ >"$tmp/owner.pid"
log "temporary folder $tmp"
reap_stale_instances

for port in "$SLURMCTLD_PORT" "$SLURMD_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        die "port $port is already in use (another Slurm? a leftover of an earlier run?): set SLURMCTLD_PORT/SLURMD_PORT"
    fi
done

NODE=$(hostname -s)
NCPU=$(nproc)
REALMEM=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
# The job script asks for --mem=2G; a task asking for more than RealMemory (a small machine) is
# refuses the job ("Requested node configuration is not available"). With CR_CPU memory is not
# a consumable resource, so a modest request only has to fit the node.
JOB_MEM=$((REALMEM >= 4096 ? 1024 : REALMEM / 4))
((CPUS_PER_TASK >= 1 && CPUS_PER_TASK <= NCPU)) || die "CPUS_PER_TASK=$CPUS_PER_TASK: this node has $NCPU CPUs"
log "node $NODE: $NCPU CPUs, RealMemory $REALMEM MB; tasks get --cpus-per-task=$CPUS_PER_TASK --mem=${JOB_MEM}M"

# Munge: a fresh key in the temporary folder (mungekey from munge >= 0.5.14, as in Debian 12;
# older munge has create-munge-key, which only writes /etc/munge; else 1 KiB of /dev/urandom).
KEY=$tmp/munge-key/munge.key
if command -v mungekey >/dev/null; then
    mungekey --create --keyfile="$KEY"
else
    dd if=/dev/urandom of="$KEY" bs=1024 count=1 status=none
fi
chmod 400 "$KEY"
SOCK=$tmp/munge-run/munge.socket.2
# --force: munged refuses to run as root otherwise. In the foreground it logs to stderr.
AESWEEP_SLURM_TEST=$tmp munged -F --force --socket="$SOCK" --key-file="$KEY" \
    --pid-file="$tmp/munge-run/munged.pid" --seed-file="$tmp/munge-run/munged.seed" \
    --log-file="$tmp/log/munged.file.log" >"$tmp/log/munged.log" 2>&1 &
PID[munged]=$!
log "munged started (pid ${PID[munged]}, log $tmp/log/munged.log)"

alive() { local s; s=$(proc_state "${PID[$1]}"); [[ -n $s && $s != Z ]]; }
deadline=$(($(date +%s) + START_TIMEOUT))
until munge -S "$SOCK" -n 2>/dev/null | unmunge -S "$SOCK" >/dev/null 2>&1; do
    alive munged || die "munged exited; see $tmp/log/munged.log"
    (($(date +%s) < deadline)) || die "munged did not answer within ${START_TIMEOUT}s; see $tmp/log/munged.log"
    sleep 0.2
done
log "munge credentials encode and decode"

export SLURM_CONF=$tmp/etc/slurm.conf
cat >"$SLURM_CONF" <<EOF
# Generated by scripts/slurm-test.sh: a private one-node cluster on localhost.
ClusterName=aesweeptest
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$SLURMCTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCK
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
# Keep finished jobs in slurmctld's memory for the whole test (scontrol show job; no sacct).
MinJobAge=3600
# Trust the node line below even where slurmd detects another socket/core layout.
SlurmdParameters=config_overrides
MailProg=/bin/true
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$NCPU RealMemory=$REALMEM State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
log "wrote $SLURM_CONF"

AESWEEP_SLURM_TEST=$tmp slurmctld -D -f "$SLURM_CONF" >"$tmp/log/slurmctld.out" 2>&1 &
PID[slurmctld]=$!
AESWEEP_SLURM_TEST=$tmp slurmd -D -f "$SLURM_CONF" -N "$NODE" >"$tmp/log/slurmd.out" 2>&1 &
PID[slurmd]=$!
log "slurmctld (pid ${PID[slurmctld]}) and slurmd (pid ${PID[slurmd]}) started; logs $tmp/log/slurmctld.log, $tmp/log/slurmd.log"

deadline=$(($(date +%s) + START_TIMEOUT))
state=""
while :; do
    alive slurmctld || die "slurmctld exited; see $tmp/log/slurmctld.log and $tmp/log/slurmctld.out"
    alive slurmd || die "slurmd exited; see $tmp/log/slurmd.log and $tmp/log/slurmd.out"
    state=$(sinfo -h -N -n "$NODE" -o %t 2>/dev/null | head -1 || true)
    [[ $state == idle ]] && break
    (($(date +%s) < deadline)) ||
        die "node $NODE not idle after ${START_TIMEOUT}s (state '${state:-none}'); see $tmp/log/slurmctld.log and $tmp/log/slurmd.log"
    sleep 0.5
done
log "cluster up: $(sinfo -h -o '%P %a %D %t %c' | tr -s ' ')"

# ----------------------------------------------------------------------------------------------
# Helpers for the cases
# ----------------------------------------------------------------------------------------------
CHECK=$tmp/check.py
cat >"$CHECK" <<'PY'
"""Independent reads of a sweep's results (run folders, combined CSV, task outputs)."""
import csv, glob, json, os, re, sys

def epochs_of(run_dir):
    path = os.path.join(run_dir, "config.toml")
    try:
        import tomllib
        with open(path, "rb") as f:
            return int(tomllib.load(f)["train"]["epochs"])
    except ImportError:
        section = None
        for line in open(path):
            line = line.strip()
            if line.startswith("["):
                section = line.strip("[]")
            elif section == "train" and re.match(r"epochs\s*=", line):
                return int(line.split("=", 1)[1])
    raise SystemExit(f"{path}: no train.epochs")

def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))

def record(sweep_dir, run_id):
    run_dir = os.path.join(sweep_dir, "runs", run_id)
    try:
        with open(os.path.join(run_dir, "run.json")) as f:
            r = json.load(f)
    except (OSError, ValueError):
        return None, 0
    try:
        rows = len(read_rows(os.path.join(run_dir, "metrics.csv")))
    except OSError:
        rows = 0
    return r, rows

def cmd_verify(sweep_dir, ids_file):
    """Every expected run: one folder, completed, `epochs` rows 1..epochs; combined files hold each."""
    ids = [l.split()[0] for l in open(ids_file) if l.strip()]
    errors = []
    folders = sorted(d for d in os.listdir(os.path.join(sweep_dir, "runs"))
                     if os.path.isdir(os.path.join(sweep_dir, "runs", d)))
    if folders != sorted(ids):
        errors.append(f"run folders {folders} != expected {sorted(ids)}")
    epochs = {}
    for rid in ids:
        run_dir = os.path.join(sweep_dir, "runs", rid)
        r, _ = record(sweep_dir, rid)
        if r is None:
            errors.append(f"{rid}: no readable run.json"); continue
        if r.get("run_id") != rid:
            errors.append(f"{rid}: run.json says run_id {r.get('run_id')}")
        if r.get("status") != "completed":
            errors.append(f"{rid}: status {r.get('status')}")
        e = epochs[rid] = epochs_of(run_dir)
        got = [int(row["epoch"]) for row in read_rows(os.path.join(run_dir, "metrics.csv"))]
        if got != list(range(1, e + 1)):
            errors.append(f"{rid}: metrics.csv epochs {got}, expected 1..{e}")
        if r.get("epochs_completed") != e:
            errors.append(f"{rid}: epochs_completed {r.get('epochs_completed')} != {e}")
    # Combined files.
    m = read_rows(os.path.join(sweep_dir, "metrics.csv"))
    keys = [(row["run_id"], row.get("phase", ""), row["epoch"]) for row in m]
    if len(keys) != len(set(keys)):
        errors.append("combined metrics.csv has duplicated (run_id, phase, epoch) rows")
    if sorted(set(k[0] for k in keys)) != sorted(ids):
        errors.append(f"combined metrics.csv holds runs {sorted(set(k[0] for k in keys))}")
    for rid, e in epochs.items():
        n = sum(1 for k in keys if k[0] == rid)
        if n != e:
            errors.append(f"combined metrics.csv: {rid} has {n} rows, expected {e}")
    runs = read_rows(os.path.join(sweep_dir, "runs.csv"))
    rids = [row["run_id"] for row in runs]
    if sorted(rids) != sorted(ids):
        errors.append(f"combined runs.csv holds {sorted(rids)}")
    bad = [row["run_id"] for row in runs if row["status"] != "completed"]
    if bad:
        errors.append(f"combined runs.csv: not completed: {bad}")
    for path in ("metrics.parquet", "runs.parquet"):
        with open(os.path.join(sweep_dir, path), "rb") as f:
            data = f.read()
        if len(data) < 12 or data[:4] != b"PAR1" or data[-4:] != b"PAR1":
            errors.append(f"{path}: not a Parquet file (no PAR1 magic at both ends)")
    if errors:
        print("\n".join(errors)); sys.exit(1)
    print(f"{len(ids)} runs completed once each, {sum(epochs.values())} epoch rows, "
          f"combined metrics.csv {len(m)} rows / {len(set(k[0] for k in keys))} runs, runs.csv {len(runs)} runs")

def cmd_state(sweep_dir, run_id):
    """status started_at rows (status `missing` without a readable run.json)."""
    r, rows = record(sweep_dir, run_id)
    if r is None:
        print("missing - 0")
    else:
        print(r["status"], r["started_at"], rows)

def cmd_combined_rows(sweep_dir, run_id):
    path = os.path.join(sweep_dir, "metrics.csv")
    print(sum(1 for row in read_rows(path) if row["run_id"] == run_id) if os.path.exists(path) else 0)

EPOCH = re.compile(r"^([0-9a-f]{6,}) .* epoch \d+/\d+: ")
SKIP = re.compile(r"^([0-9a-f]{6,}) .*: (already completed|being trained by another process|diverged before), skipped")
SUMMARY = re.compile(r"^sweep \S+( \(shard \d+/\d+\))?: \d+ runs: (\d+) completed, (\d+) skipped")

def cmd_trained(ids_file, *outputs):
    """Counts, over the task outputs, the tasks that trained each run; exactly one each for the
    runs of ids_file, none for the others. Also the sum of the tasks' `N completed`."""
    expected = {l.split()[0] for l in open(ids_file) if l.strip()}
    trained, skipped, completed = {}, {}, 0
    for out in outputs:
        mine = set()
        for line in open(out, errors="replace"):
            if (m := EPOCH.match(line)):
                mine.add(m.group(1))
            elif (m := SKIP.match(line)):
                skipped.setdefault(m.group(2), []).append(m.group(1))
            elif (m := SUMMARY.match(line)):
                completed += int(m.group(2))
        for rid in mine:
            trained.setdefault(rid, []).append(os.path.basename(out))
    errors = []
    for rid in sorted(expected | set(trained)):
        n = len(trained.get(rid, []))
        want = 1 if rid in expected else 0
        if n != want:
            errors.append(f"{rid}: trained by {n} tasks {trained.get(rid, [])}, expected {want}")
    if completed != len(expected):
        errors.append(f"the tasks' summaries count {completed} completed runs, expected {len(expected)}")
    detail = ", ".join(f"{len(v)} '{k}'" + (f" ({' '.join(v)})" if k.startswith("being") else "")
                       for k, v in sorted(skipped.items())) or "none"
    if errors:
        print("\n".join(errors)); sys.exit(1)
    print(f"{len(expected)} runs trained exactly once over {len(outputs)} tasks; skips: {detail}")

if __name__ == "__main__":
    globals()["cmd_" + sys.argv[1].replace("-", "_")](*sys.argv[2:])
PY

SWEEP_NAME=$(awk -F'"' '/^name *=/ {print $2; exit}' "$REPO/$SWEEP_FILE")
[[ -n $SWEEP_NAME ]] || die "no name = \"...\" in $SWEEP_FILE"

# The runs of the sweep (index, id), from the runner's own plan.
(cd "$REPO" && "$RUNNER" sweep "$SWEEP_FILE" --dry-run --results-dir "$tmp/dry-run") >"$tmp/plan.txt"
awk 'NF >= 3 && $1 ~ /^[0-9]+$/ && $2 ~ /^[0-9a-f]+$/ {print $2, $1}' "$tmp/plan.txt" >"$tmp/ids.txt"
NRUNS=$(wc -l <"$tmp/ids.txt")
((NRUNS > 0)) || die "the dry run lists no runs: $(cat "$tmp/plan.txt")"
declare -A INDEX=()
while read -r id idx; do INDEX[$id]=$idx; done <"$tmp/ids.txt"
log "sweep $SWEEP_NAME ($SWEEP_FILE): $NRUNS runs"

want_case() { [[ " $CASES " == *" $1 "* ]]; }
for c in $CASES; do [[ $c == array || $c == fault || $c == overlap ]] || die "unknown case '$c' in CASES"; done

begin_case() {
    CASE=$1
    CASE_START=$(now)
    CASE_DEADLINE=$(($(date +%s) + CASE_TIMEOUT))
    log "===== case $CASE: $2"
}
end_case() { # end_case RUNS
    local wall
    wall=$(since "$CASE_START")
    SUMMARY+=("$CASE|$wall s|$1|PASS")
    log "===== case $CASE passed in $wall s"
    CASE="between cases"
    unset CASE_START
}

submit() { # submit NAME ARRAY RESULTS [extra sbatch options...]: prints the job id
    local name=$1 array=$2 results=$3 out
    shift 3
    out=$(cd "$REPO" && sbatch --parsable --export="ALL,AESWEEP_SLURM_TEST=$tmp" --chdir="$REPO" \
        --job-name="ae-$name" --cpus-per-task="$CPUS_PER_TASK" --mem="${JOB_MEM}M" \
        --output="$tmp/out/$name-%A_%a.out" --array="$array" "$@" \
        "$JOB_SCRIPT" "$SWEEP_FILE" "$results") || die "sbatch of $name failed"
    echo "${out%%;*}"
}

in_queue() { # in_queue JOB: whether a task of JOB is pending, running, suspended or completing
    local q
    q=$(squeue -h -r -o %i 2>"$tmp/squeue.err") || die "squeue failed: $(cat "$tmp/squeue.err")"
    grep -qE "^$1(_|$)" <<<"$q"
}

wait_jobs() { # wait_jobs JOB...: until none is queued; the case deadline is an error
    local j busy
    while :; do
        busy=""
        for j in "$@"; do in_queue "$j" && busy+=" $j"; done
        [[ -z $busy ]] && return 0
        if (($(date +%s) >= CASE_DEADLINE)); then
            squeue -r
            die "job(s)$busy still queued after CASE_TIMEOUT=${CASE_TIMEOUT}s"
        fi
        sleep 1
    done
}

task_states() { # task_states JOB: "task state exit" per array task, sorted by task
    scontrol -o show job "$1" | awk '{
        t = s = e = "?"
        for (i = 1; i <= NF; i++) {
            split($i, kv, "=")
            if (kv[1] == "ArrayTaskId") t = kv[2]
            else if (kv[1] == "JobState") s = kv[2]
            else if (kv[1] == "ExitCode") e = kv[2]
        }
        print t, s, e }' | sort -n
}

expect_states() { # expect_states JOB "0:COMPLETED 1:CANCELLED ..."
    local job=$1 want got
    want=$(tr ' ' '\n' <<<"$2" | sed '/^$/d' | sort -n | tr '\n' ' ')
    got=$(task_states "$job" | awk '{ s = $2; if (s == "COMPLETED" && $3 != "0:0") s = s "(exit " $3 ")"; print $1 ":" s }' | tr '\n' ' ')
    [[ $got == "$want" ]] || die "job $job: task states '$got', expected '$want'"
    log "job $job: tasks $(task_states "$job" | awk '{printf "%s%s:%s(exit %s)", (NR > 1 ? " " : ""), $1, $2, $3}')"
}

all_completed() { # all_completed N: "0:COMPLETED 1:COMPLETED ..."
    local i s=""
    for ((i = 0; i < $1; i++)); do s+="$i:COMPLETED "; done
    echo "$s"
}

verify_results() { # verify_results SWEEP_DIR: completeness, bit-identity, Parquet readable
    local dir=$1 out
    out=$(python3 "$CHECK" verify "$dir" "$tmp/ids.txt") || die "$dir: $out"
    log "independent read: $out"
    out=$("$RUNNER" compare "$tmp/ref/$SWEEP_NAME" "$dir" 2>&1) || die "runner compare against the reference failed:"$'\n'"$out"
    log "runner compare: $out"
}

# The combined Parquet files, read by the project's own reader: `runner report` reads them when
# they are at least as new as every run file (report/src/load.rs), else the run folders. A copy
# with only the Parquet files (and an old, empty runs/) must report exactly what a copy with only
# the run folders reports.
verify_parquet() { # verify_parquet SWEEP_DIR
    local dir=$1 pq=$tmp/parquet-check/pq/$SWEEP_NAME rf=$tmp/parquet-check/rf/$SWEEP_NAME a b
    rm -rf "$tmp/parquet-check"
    mkdir -p "$pq/runs" "$rf"
    touch -d '2000-01-01' "$pq/runs"
    cp "$dir"/runs.parquet "$dir"/metrics.parquet "$pq/"
    cp -r "$dir/runs" "$dir/sweep.toml" "$rf/"
    [[ -d $dir/baselines ]] && cp -r "$dir/baselines" "$pq/" && cp -r "$dir/baselines" "$rf/"
    a=$("$RUNNER" report "$tmp/parquet-check/pq" --format csv 2>&1) || die "runner report of the Parquet files failed: $a"
    b=$("$RUNNER" report "$tmp/parquet-check/rf" --format csv 2>&1) || die "runner report of the run folders failed: $b"
    [[ $a == "$b" ]] || die "report from the Parquet files differs from the run folders':"$'\n'"$a"$'\n'"---"$'\n'"$b"
    local n
    n=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "completed") c = i; next } { s += $c } END { print s + 0 }' <<<"$a")
    ((n == NRUNS)) || die "report from the Parquet files counts $n completed runs, expected $NRUNS"
    rm -rf "$tmp/parquet-check"
    log "runner report reads runs.parquet + metrics.parquet: $n completed runs, same table as from the run folders"
}

trained_once() { # trained_once IDS_FILE OUTPUT...
    local out
    out=$(python3 "$CHECK" trained "$@") || die "double or missing training: $out"
    log "task outputs: $out"
}

# ----------------------------------------------------------------------------------------------
# 2a. Reference: an unsharded sweep
# ----------------------------------------------------------------------------------------------
begin_case reference "unsharded runner sweep into $tmp/ref"
t=$(now)
# In the background and waited for, so that a signal to this script is handled at once (the
# cleanup then kills the runner: it names $tmp on its command line).
(cd "$REPO" && exec timeout "$CASE_TIMEOUT" "$RUNNER" sweep "$SWEEP_FILE" --results-dir "$tmp/ref" \
    --threads "$NCPU" --progress plain) >"$tmp/out/reference.out" 2>&1 &
rc=0
wait $! || rc=$?
((rc == 0)) || die "unsharded sweep failed or timed out (exit $rc); see $tmp/out/reference.out"
REF_WALL=$(since "$t")
out=$(python3 "$CHECK" verify "$tmp/ref/$SWEEP_NAME" "$tmp/ids.txt") || die "reference: $out"
log "independent read: $out"
verify_parquet "$tmp/ref/$SWEEP_NAME"
trained_once "$tmp/ids.txt" "$tmp/out/reference.out"
end_case "$NRUNS"

# ----------------------------------------------------------------------------------------------
# 2b. A 3-task job array
# ----------------------------------------------------------------------------------------------
if want_case array; then
begin_case array "sbatch --array=0-2 $JOB_SCRIPT into $tmp/array"
t=$(now)
job=$(submit array 0-2 "$tmp/array")
log "submitted job $job"
wait_jobs "$job"
ARRAY_WALL=$(since "$t")
expect_states "$job" "$(all_completed 3)"
if acct=$(sacct -n -j "$job" 2>&1); then
    log "note: sacct answered although AccountingStorageType=accounting_storage/none: $acct"
else
    log "sacct unavailable, as expected without accounting: $(head -1 <<<"$acct")"
fi
log "per task (scontrol): $(scontrol -o show job "$job" | grep -o 'ArrayTaskId=[0-9]*\|RunTime=[^ ]*' | paste -sd' ')"
verify_results "$tmp/array/$SWEEP_NAME"
verify_parquet "$tmp/array/$SWEEP_NAME"
trained_once "$tmp/ids.txt" "$tmp"/out/array-"$job"_*.out
end_case "$NRUNS"
fi

# ----------------------------------------------------------------------------------------------
# 2c. Fault: cancel a task in the middle of a run, resubmit the array
# ----------------------------------------------------------------------------------------------
if want_case fault; then
begin_case fault "cancel a task mid-run, resubmit the array"

# Finds a run that is `running` with at least one epoch row; prints "id task".
running_run() { # running_run SWEEP_DIR SHARDS
    local f d id
    for f in "$1"/runs/*/run.json; do
        [[ -f $f ]] || continue
        grep -q '"status": *"running"' "$f" 2>/dev/null || continue
        d=${f%/run.json}
        (($(wc -l <"$d/metrics.csv" 2>/dev/null || echo 0) >= 2)) || continue
        id=${d##*/}
        [[ -n ${INDEX[$id]:-} ]] || continue
        echo "$id $((INDEX[$id] % $2))"
        return 0
    done
    return 1
}

# Whether every process of array task JOB_TASK is stopped (state T), as `scontrol suspend` makes
# them (asynchronously: the command returns before slurmd has signalled them).
task_pids() { # task_pids JOB_TASK RESULTS SHARD: the job's processes (scontrol listpids), else the runner's
    local jid pids p
    jid=$(scontrol -o show job "$1" 2>/dev/null | grep -o '^JobId=[0-9]*' | cut -d= -f2)
    pids=$([[ -n $jid ]] && scontrol listpids "$jid" 2>/dev/null | awk 'NR > 1 && $1 ~ /^[0-9]+$/ {print $1}')
    if [[ -z $pids ]]; then
        for p in /proc/[0-9]*; do
            # The job script passes --shard slurm: the task is in the process's environment.
            { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF -- "--results-dir $2 " &&
                { tr '\0' '\n' <"$p/environ"; } 2>/dev/null | grep -qx "SLURM_ARRAY_TASK_ID=${3%%/*}" && pids+=" ${p#/proc/}"
        done
    fi
    echo $pids
}
task_stopped() { # task_stopped JOB_TASK RESULTS SHARD
    local p th s found=0
    for p in $(task_pids "$@"); do
        for th in /proc/"$p"/task/*; do
            [[ -e $th/stat ]] || continue
            found=1
            s=$(sed 's/.*) //' "$th/stat" 2>/dev/null | cut -d' ' -f1)
            [[ -z $s || $s == T || $s == t || $s == Z ]] || return 1
        done
    done
    ((found))
}

# The window between a run's first epoch row and its end can be short, and a cancel that lands
# after the run finished proves nothing. So: see a running run with rows, suspend its task
# (SIGSTOP, `scontrol suspend`), confirm under suspension that it is still running, then cancel.
# If the array finishes before that happens (a fast machine), try again in a fresh directory.
victim="" vtask="" fdir="" fjob=""
for attempt in 1 2 3; do
    fdir=$tmp/fault$attempt/$SWEEP_NAME
    fjob=$(submit "fault$attempt" 0-2 "$tmp/fault$attempt")
    log "attempt $attempt: submitted job $fjob into $tmp/fault$attempt"
    while in_queue "$fjob"; do
        (($(date +%s) < CASE_DEADLINE)) || die "no run caught in progress within CASE_TIMEOUT"
        if found=$(running_run "$fdir" 3); then
            read -r id task <<<"$found"
            if scontrol suspend "${fjob}_$task" 2>/dev/null; then
                for ((i = 0; i < 100; i++)); do
                    task_stopped "${fjob}_$task" "$tmp/fault$attempt" "$task/3" && break
                    sleep 0.05
                done
                if task_stopped "${fjob}_$task" "$tmp/fault$attempt" "$task/3" && read -r st _ rows < <(python3 "$CHECK" state "$fdir" "$id") &&
                    [[ $st == running ]] && ((rows >= 1)); then
                    victim=$id vtask=$task
                    log "task ${fjob}_$task suspended while training run $id (index ${INDEX[$id]}, $rows epoch row(s) written)"
                    scancel "${fjob}_$task"
                    log "scancel ${fjob}_$task"
                    break
                fi
                scontrol resume "${fjob}_$task" 2>/dev/null || true
            fi
        fi
        sleep 0.05
    done
    [[ -n $victim ]] && break
    wait_jobs "$fjob"
    log "attempt $attempt: the array finished before a run could be caught in progress; trying again"
done
[[ -n $victim ]] || die "could not interrupt a run in 3 attempts"
wait_jobs "$fjob"
want=""
for t2 in 0 1 2; do
    if [[ $t2 == "$vtask" ]]; then want+="$t2:CANCELLED "; else want+="$t2:COMPLETED "; fi
done
expect_states "$fjob" "$want"
read -r st1 started1 rows1 < <(python3 "$CHECK" state "$fdir" "$victim")
[[ $st1 != completed ]] || die "run $victim is completed although its task was cancelled mid-run"
log "after the cancel: run $victim is '$st1' (started_at $started1, $rows1 row(s) in its metrics.csv)"
n=$(python3 "$CHECK" combined-rows "$fdir" "$victim")
((n == 0)) || die "the combined metrics.csv already holds $n rows of the unfinished run $victim"
# The runs the resubmitted array must train: every one not completed now.
: >"$tmp/todo.txt"
while read -r id _; do
    read -r st _ < <(python3 "$CHECK" state "$fdir" "$id")
    [[ $st == completed ]] || echo "$id" >>"$tmp/todo.txt"
done <"$tmp/ids.txt"
log "not completed after the cancel: $(paste -sd' ' "$tmp/todo.txt")"
sleep 1.1 # started_at has whole seconds: a retrain must show a later one
rjob=$(submit fault-resubmit 0-2 "$tmp/fault$attempt")
log "resubmitted the array as job $rjob"
wait_jobs "$rjob"
expect_states "$rjob" "$(all_completed 3)"
read -r st2 started2 rows2 < <(python3 "$CHECK" state "$fdir" "$victim")
[[ $st2 == completed ]] || die "run $victim is '$st2' after the resubmission"
[[ $started2 > $started1 ]] || die "run $victim was not retrained: started_at $started1 -> $started2"
log "run $victim retrained: started_at $started1 -> $started2, $rows2 rows"
verify_results "$fdir"
trained_once "$tmp/todo.txt" "$tmp"/out/fault-resubmit-"$rjob"_*.out
end_case "$NRUNS"
fi

# ----------------------------------------------------------------------------------------------
# 2d. Overlap: a 2-task and a 3-task array over one results directory at the same time
# ----------------------------------------------------------------------------------------------
if want_case overlap; then
begin_case overlap "--array=0-1 and --array=0-2 over one results directory at once"
# %1 runs each array one task at a time, so that on 2 cores a task of each array runs at once
# from the start: shards 0/2 and 0/3 both begin with run 0 (different shard locks, one run lock).
ajob=$(submit overlap-a 0-1%1 "$tmp/overlap")
bjob=$(submit overlap-b 0-2%1 "$tmp/overlap")
log "submitted jobs $ajob (2 tasks) and $bjob (3 tasks)"
wait_jobs "$ajob" "$bjob"
expect_states "$ajob" "$(all_completed 2)"
expect_states "$bjob" "$(all_completed 3)"
# Did the arrays really run at the same time? (scontrol times have whole seconds.)
spans() { scontrol -o show job "$1" | grep -o 'StartTime=[^ ]* EndTime=[^ ]*' | sed 's/StartTime=//; s/EndTime=//'; }
overlaps=0
while read -r sa ea; do
    while read -r sb eb; do
        [[ $sa < $eb && $sb < $ea ]] && overlaps=$((overlaps + 1))
    done < <(spans "$bjob")
done < <(spans "$ajob")
((overlaps > 0)) || die "no task of $ajob ran at the same time as a task of $bjob: the case proves nothing"
log "$overlaps pair(s) of tasks of the two arrays ran at the same time"
grep -h "shard" "$tmp"/out/overlap-*.out | grep '^sweep .*: [0-9]* runs:' | while read -r l; do log "  $l"; done
trained_once "$tmp/ids.txt" "$tmp"/out/overlap-*.out
verify_results "$tmp/overlap/$SWEEP_NAME"
verify_parquet "$tmp/overlap/$SWEEP_NAME"
end_case "$NRUNS"
fi

CASE="done"
print_summary
if [[ -n ${ARRAY_WALL:-} ]]; then
    log "3-task array on $NCPU cores (--cpus-per-task=$CPUS_PER_TASK): $ARRAY_WALL s wall, submit to last task done; unsharded sweep (--threads $NCPU): $REF_WALL s"
fi
SUMMARY=()
