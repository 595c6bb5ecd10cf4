#!/bin/sh
# Explains a list or folder of images on a Slurm cluster: a job array of N
# tasks, task i running `darknet gradcam CFG WEIGHTS -list LIST -outdir OUTDIR
# -shard i/N -resume` (a requeued or rerun task goes on where it stopped),
# then `darknet gradcam merge OUTDIR` as a job that starts once every task has
# ended (--dependency=afterany: a task whose list held a bad image exits 1
# after explaining the rest). merge decides: an image in no shard's index nor
# errors file (a task killed or cancelled) fails it, writing nothing; images
# in the errors files are left out of the merged index and make it exit 1,
# as one process would. OUTDIR must be on a filesystem every node sees; each
# task writes its own index.shard-i-of-N.jsonl there. A task that reaches its
# time limit or is cancelled gets SIGTERM (KillWait seconds before SIGKILL):
# it stops after the image in hand, leaving only complete images, and dies of
# the signal; run this script again with the same arguments to go on.
#
#   scripts/slurm-array.sh [--wait] CFG WEIGHTS LIST|DIR OUTDIR N [gradcam options...]
#
#   --wait   block until the merge job ends; exit with its status
# Environment: DARKNET (the binary, default ./darknet); CPUS (CPUs per task,
# default 1: a task's thread pool uses them; a map's last bit can depend on
# the CPU count, so a merge equals a one-process run byte for byte when the
# counts agree); sbatch's own SBATCH_* variables (SBATCH_PARTITION,
# SBATCH_ACCOUNT, SBATCH_TIMELIMIT, ...) pass through.
# Prints the array's and the merge's job ids. Logs: OUTDIR/slurm-<job>_<task>.out.
set -eu

usage() {
    echo "usage: $0 [--wait] CFG WEIGHTS LIST|DIR OUTDIR N [gradcam options...]" >&2
    exit 2
}

wait_merge=0
if [ "${1:-}" = "--wait" ]; then
    wait_merge=1
    shift
fi
[ $# -ge 5 ] || usage
cfg=$1 weights=$2 list=$3 outdir=$4 n=$5
shift 5
case $n in
'' | *[!0-9]* | 0?*) echo "slurm-array.sh: N must be a positive number of shards, without leading zeros, not '$n'" >&2; exit 2 ;;
esac
[ "$n" -ge 1 ] || { echo "slurm-array.sh: N must be at least 1" >&2; exit 2; }
cpus=${CPUS:-1}
case $cpus in
'' | *[!0-9]* | 0*) echo "slurm-array.sh: CPUS must be a positive number, not '$cpus'" >&2; exit 2 ;;
esac
command -v sbatch >/dev/null 2>&1 || { echo "slurm-array.sh: sbatch not found (is this a Slurm login node?)" >&2; exit 1; }

# Absolute paths: the tasks may start in another directory.
abs() { realpath -m -- "$1"; }
darknet=$(abs "${DARKNET:-./darknet}")
[ -x "$darknet" ] || { echo "slurm-array.sh: $darknet is not an executable (set DARKNET)" >&2; exit 1; }
for f in "$cfg" "$weights" "$list"; do
    [ -e "$f" ] || { echo "slurm-array.sh: $f: no such file or folder" >&2; exit 1; }
done
cfg=$(abs "$cfg") weights=$(abs "$weights") list=$(abs "$list") outdir=$(abs "$outdir")
# sbatch reads --output as a pattern: a % in OUTDIR is doubled to stand for
# itself; a backslash turns the pattern off and cannot be written (every
# task had failed to open its log and died before darknet started)
case $outdir in
*\\*) echo "slurm-array.sh: OUTDIR $outdir has a backslash, which Slurm's log file patterns cannot hold: choose another folder" >&2
    exit 2 ;;
esac
logdir=$(printf '%s' "$outdir" | sed 's/%/%%/g')
mkdir -p "$outdir"

# Single-quotes a word for the job's shell.
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
extra=""
for a in "$@"; do extra="$extra $(q "$a")"; done

# $SLURM_ARRAY_TASK_ID is expanded by the task's shell, not here.
task="exec $(q "$darknet") gradcam $(q "$cfg") $(q "$weights") -list $(q "$list") -outdir $(q "$outdir") \
-shard \"\$SLURM_ARRAY_TASK_ID\"/$n -resume$extra"
array=$(sbatch --parsable --job-name=gradcam --array="0-$((n - 1))" --ntasks=1 --cpus-per-task="$cpus" \
    --output="$logdir/slurm-%A_%a.out" --wrap="$task")
array=${array%%;*}
echo "array job $array: $n shards"

merge="exec $(q "$darknet") gradcam merge $(q "$outdir")"
if [ "$wait_merge" -eq 1 ]; then
    echo "merge job: after $array ends (waiting)"
    if job=$(sbatch --wait --parsable --job-name=gradcam-merge --dependency="afterany:$array" \
        --kill-on-invalid-dep=yes --ntasks=1 --output="$logdir/slurm-merge-%j.out" --wrap="$merge"); then
        echo "merge job ${job%%;*} done: $outdir/index.jsonl"
    else
        rc=$?
        echo "slurm-array.sh: the merge job failed (images that failed, or a shard that did not finish): see" \
            "$outdir/slurm-merge-*.out and $outdir/errors.shard-*.jsonl" >&2
        exit $rc
    fi
else
    job=$(sbatch --parsable --job-name=gradcam-merge --dependency="afterany:$array" --kill-on-invalid-dep=yes \
        --ntasks=1 --output="$logdir/slurm-merge-%j.out" --wrap="$merge")
    echo "merge job ${job%%;*}: after $array ends; merged index: $outdir/index.jsonl"
fi
