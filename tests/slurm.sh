#!/bin/sh
# End-to-end test of scripts/slurm-array.sh on a real single-node Slurm
# cluster: munged, slurmctld and slurmd started here on localhost (private
# config, ports, key and spool under a temporary folder; nothing under /etc
# is touched), a 3-task job array over 12 demo scenes, the merge as a
# dependent job; the merged index and every output file must equal a
# single-process run; so must an array cancelled mid-run (scancel: SIGTERM,
# each task stopping cleanly) and submitted again. Needs root (the daemons) and Debian's slurm-wlm and
# munge; skips with a message, status 0, when either is missing.
#
#   tests/slurm.sh        (from the repository root, after `make`)
set -eu

skip() {
    echo "slurm test: skipped: $*"
    exit 0
}
[ "$(id -u)" -eq 0 ] || skip "needs root to start slurmctld, slurmd and munged"
for b in munged slurmctld slurmd sbatch squeue scontrol; do
    command -v "$b" >/dev/null 2>&1 || skip "$b not found (apt-get install slurm-wlm munge)"
done
[ -x ./darknet ] || { echo "slurm test: ./darknet missing: run make first" >&2; exit 1; }
[ -r /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || [ -d /usr/share/datasets/fashion-mnist ] ||
    skip "Fashion-MNIST (dataset-fashion-mnist) missing: no demo scenes"

start=$(date +%s)
T=$(mktemp -d "${TMPDIR:-/tmp}/gradcam-slurm-XXXXXX")
chmod 755 "$T"
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    for p in $pids; do
        i=0
        while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    done
    if [ "${KEEP:-0}" = 1 ]; then echo "slurm test: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT # cleanup runs as the EXIT trap, once; the script stops
trap 'exit 143' TERM

fail() {
    echo "slurm test: FAILED: $*" >&2
    for f in "$T"/log/*.log "$T"/out/slurm-*.out; do
        [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }
    done
    exit 1
}

# Ports of our own, away from Slurm's defaults (6817/6818), so a real
# cluster or another run on this machine is left alone.
base=$((20000 + $$ % 20000))
ctld_port=$base slurmd_port=$((base + 1))
host=$(hostname -s)
mkdir -p "$T/munge" "$T/log" "$T/state" "$T/spool" "$T/run"
chmod 700 "$T/munge"

# munge: a fresh key and a private socket
dd if=/dev/urandom of="$T/munge/munge.key" bs=1 count=1024 2>/dev/null
chmod 400 "$T/munge/munge.key"
munged --force --key-file="$T/munge/munge.key" --socket="$T/munge/munge.sock" \
    --pid-file="$T/munge/munged.pid" --log-file="$T/log/munged.log" --seed-file="$T/munge/seed" ||
    fail "munged did not start"
i=0
while [ ! -s "$T/munge/munged.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
pids="$(cat "$T/munge/munged.pid")"

cat >"$T/slurm.conf" <<EOF
ClusterName=gradcamtest
SlurmctldHost=$host
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$T/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/run/slurmctld.pid
SlurmdPidFile=$T/run/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$T/slurm.conf"

slurmctld -D -i -f "$SLURM_CONF" >"$T/log/slurmctld.out" 2>&1 &
pids="$pids $!"
slurmd -D -f "$SLURM_CONF" >"$T/log/slurmd.out" 2>&1 &
pids="$pids $!"

# The node up and idle
i=0
until sinfo -h -o '%T' 2>/dev/null | grep -q '^idle'; do
    i=$((i + 1))
    [ $i -lt 60 ] || fail "the node did not come up: $(sinfo 2>&1 | tail -2)"
    sleep 0.5
done
up=$(date +%s)
echo "slurm test: single-node cluster up on $host in $((up - start)) s"

./darknet gradcam scenes det test 12 "$T/scenes" >/dev/null || fail "scenes"
./darknet gradcam cfg/fmnist-det.cfg cfg/fmnist-det.weights -list "$T/scenes/list.txt" -outdir "$T/single" \
    -names cfg/fmnist.names -quiet >/dev/null 2>&1 || fail "the single-process run"

DARKNET=./darknet timeout 300 sh scripts/slurm-array.sh --wait cfg/fmnist-det.cfg cfg/fmnist-det.weights \
    "$T/scenes/list.txt" "$T/out" 3 -names cfg/fmnist.names || fail "the array or the merge job failed"

# Three tasks ran, one per shard
for s in 0 1 2; do
    [ -s "$T/out/index.shard-$s-of-3.jsonl" ] || fail "no index from shard $s"
done
n=$(ls "$T"/out/slurm-*_*.out | wc -l)
[ "$n" -eq 3 ] || fail "expected 3 array task logs, found $n"

cmp "$T/single/index.jsonl" "$T/out/index.jsonl" || fail "merged index differs from the single-process run"
# every output file, byte for byte (the shards' own index, errors and logs aside)
(cd "$T/single" && find . -type f ! -name 'errors*.jsonl' | sort) >"$T/a.txt"
(cd "$T/out" && find . -type f ! -name 'errors*.jsonl' ! -name 'index.shard-*' ! -name 'slurm-*.out' | sort) >"$T/b.txt"
cmp "$T/a.txt" "$T/b.txt" || fail "the file lists differ"
while read -r f; do cmp "$T/single/$f" "$T/out/$f" || fail "$f differs"; done <"$T/a.txt"
lines=$(wc -l <"$T/out/index.jsonl")
files=$(wc -l <"$T/a.txt")

# A bad image in the list: its task exits 1 after the rest of its shard, the
# merge job runs all the same (afterany) and fails naming it, having written
# the index of the others: that of one process over the same list.
cp -r "$T/scenes" "$T/bad"
echo "not a picture" >"$T/bad/000004.png"
sed "s|$T/scenes/|$T/bad/|" "$T/scenes/list.txt" >"$T/bad/list.txt"
rc=0
./darknet gradcam cfg/fmnist-det.cfg cfg/fmnist-det.weights -list "$T/bad/list.txt" -outdir "$T/single-bad" \
    -names cfg/fmnist.names -quiet >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "the single-process run over a bad image exited $rc, not 1"
rc=0
# (an OUTDIR with a space and a %, which sbatch's log patterns read as
# their own: every task had failed to open its log and died unseen)
DARKNET=./darknet timeout 300 sh scripts/slurm-array.sh --wait cfg/fmnist-det.cfg cfg/fmnist-det.weights \
    "$T/bad/list.txt" "$T/out 100%x-bad" 3 -names cfg/fmnist.names >"$T/bad.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "the merge job over a bad image succeeded"
grep -q "1 of 12 images failed (list positions 4)" "$T/out 100%x-bad"/slurm-merge-*.out || {
    cat "$T/bad.log" "$T/out 100%x-bad"/slurm-merge-*.out >&2
    fail "the merge job did not run, or did not name the bad image"
}
n=$(ls "$T/out 100%x-bad"/slurm-*_*.out | wc -l)
[ "$n" -eq 3 ] || fail "expected 3 array task logs in an OUTDIR with a %, found $n"
cmp "$T/single-bad/index.jsonl" "$T/out 100%x-bad/index.jsonl" || fail "with a bad image, the merged index differs"

# scancel mid-run, as a time limit does (SIGCONT, SIGTERM, then SIGKILL
# KillWait seconds later): a task stops after the image in hand, leaving its
# shard's index whole and nothing under .tmp, its log ending in the
# interrupted line; the same command again completes the run = one process.
./darknet gradcam scenes det test 600 "$T/many" >/dev/null || fail "scenes"
./darknet gradcam cfg/fmnist-det.cfg cfg/fmnist-det.weights -list "$T/many/list.txt" -outdir "$T/single-many" \
    -names cfg/fmnist.names -quiet >/dev/null 2>&1 || fail "the single-process run over 600 scenes"
DARKNET=./darknet sh scripts/slurm-array.sh cfg/fmnist-det.cfg cfg/fmnist-det.weights "$T/many/list.txt" \
    "$T/out-stop" 2 -names cfg/fmnist.names >"$T/stop.log" 2>&1 || fail "submitting the array to cancel"
array=$(sed -n 's/^array job \([0-9]*\):.*/\1/p' "$T/stop.log")
merge=$(sed -n 's/^merge job \([0-9]*\):.*/\1/p' "$T/stop.log")
[ -n "$array" ] && [ -n "$merge" ] || fail "no job ids in: $(cat "$T/stop.log")"
i=0
until [ "$(cat "$T"/out-stop/index.shard-*-of-2.jsonl 2>/dev/null | wc -l)" -ge 2 ]; do
    i=$((i + 1))
    [ $i -lt 1200 ] || fail "the array wrote no index line in 120 s"
    sleep 0.1
done
scancel "$merge" "$array"
i=0
while [ -n "$(squeue -h -j "$array" 2>/dev/null)" ]; do
    i=$((i + 1))
    [ $i -lt 600 ] || fail "the cancelled tasks did not end in 60 s"
    sleep 0.1
done
stopped=0
for s in 0 1; do
    log="$T/out-stop/slurm-${array}_$s.out"
    [ -f "$log" ] || continue # a task cancelled before it started
    if grep -q "^gradcam: interrupted by SIGTERM after [0-9]* of 300 images; rerun with -resume to finish$" "$log"; then
        stopped=$((stopped + 1))
    else
        grep -q "^gradcam: 300 images (shard $s/2 of 600): 300 explained" "$log" ||
            fail "task $s was neither stopped cleanly nor complete: $(tail -3 "$log")"
    fi
done
[ "$stopped" -ge 1 ] || fail "scancel stopped no task cleanly"
[ ! -e "$T/out-stop/.tmp" ] || fail "the cancelled tasks left $T/out-stop/.tmp: $(ls -a "$T/out-stop/.tmp")"
DARKNET=./darknet timeout 300 sh scripts/slurm-array.sh --wait cfg/fmnist-det.cfg cfg/fmnist-det.weights \
    "$T/many/list.txt" "$T/out-stop" 2 -names cfg/fmnist.names >/dev/null || fail "the array run again failed"
cmp "$T/single-many/index.jsonl" "$T/out-stop/index.jsonl" || fail "after scancel and a rerun, the index differs"
(cd "$T/single-many" && find . -type f ! -name 'errors*.jsonl' | sort) >"$T/a.txt"
(cd "$T/out-stop" && find . -type f ! -name 'errors*.jsonl' ! -name 'index.shard-*' ! -name 'slurm-*.out' | sort) \
    >"$T/b.txt"
cmp "$T/a.txt" "$T/b.txt" || fail "after scancel and a rerun, the file lists differ"
while read -r f; do cmp "$T/single-many/$f" "$T/out-stop/$f" || fail "$f differs after scancel and a rerun"; done \
    <"$T/a.txt"

echo "slurm test: passed: 3-task array + dependent merge = single process ($lines index lines, $files files);" \
    "with a bad image, merged = single process too;" \
    "scancel stopped $stopped of 2 tasks cleanly, and a rerun completed it = single process;" \
    "cluster start $((up - start)) s, total $(($(date +%s) - start)) s"
