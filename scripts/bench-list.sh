#!/bin/sh
# Throughput of `gradcam -list` (one network load, one process) against
# looping the main command over the same images (a process and a network
# load per image), in images/s, both writing the same files:
#   - the demo detector (cfg/fmnist-det) on COUNT held-out demo scenes (default 500);
#   - Yolo-Fastest on Darknet's sample photos (each listed 8 times under its own
#     folder), when ../shared/models/yolo-fastest is there.
#
#   scripts/bench-list.sh [COUNT]      (from the repository root, after `make`)
#   BENCH_YOLO=0 scripts/bench-list.sh  (the demo detector only)
#   JOBS=2 scripts/bench-list.sh        (-list with -jobs 2; the loop stays one process at a time)
#   LIST_BATCH=8 scripts/bench-list.sh  (-list with -batch 8 in the first table)
#   BATCH=4 scripts/bench-list.sh       (the last table: -batch 4 against -batch 1; default 8)
# Each model twice: every output, and -save npy (the maps only). With -jobs 1
# a row is followed by -list's own split of its wall time per image: the part
# spent explaining (forward passes, backward passes, maps) and the whole.
set -eu
count=${1:-500}
[ -x ./darknet ] || { echo "bench-list: ./darknet missing: run make first" >&2; exit 1; }
# OpenBLAS's kernels as gradcam picks them on this CPU (src/gc_blas.c), set
# for both sides: a gradcam process that picks them itself starts again
# (~4 ms), which the loop would pay once per image.
if [ -z "${OPENBLAS_CORETYPE+x}" ]; then
    core=$(OPENBLAS_VERBOSE=2 ./darknet gradcam help 2>&1 >/dev/null | sed -n 's/^Core: //p' | tail -n 1)
    [ -n "$core" ] && export OPENBLAS_CORETYPE="$core"
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/gradcam-bench-XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT # the EXIT trap cleans up; the script stops (a trap that only cleaned up let it run on)
trap 'exit 143' TERM

now() { date +%s.%N; }
# CPU seconds (user + system) of every child this shell has waited for: with
# other work on the machine, wall time varies, CPU time much less. `times`
# runs in this shell (not a subshell, whose child times start at zero).
# Sets CPU; call it as a plain command, never inside $(...).
cpu() {
    times >"$T/times"
    CPU=$(sed -n 2p "$T/times" | tr 'ms' '  ' | awk '{ print $1 * 60 + $2 + $3 * 60 + $4 }')
}
# bench NAME CFG WEIGHTS LIST [options]: prints one row
bench() {
    name=$1 cfg=$2 weights=$3 list=$4
    shift 4
    n=$(grep -c . "$list")
    cpu
    c0=$CPU
    t0=$(now)
    ./darknet gradcam "$cfg" "$weights" -list "$list" -outdir "$T/list-$name" -quiet -jobs "${JOBS:-1}" \
        -batch "${LIST_BATCH:-1}" "$@" \
        >/dev/null 2>"$T/list.err" ||
        { echo "bench-list: the -list run failed" >&2; exit 1; }
    # -jobs 1: the run's own split of its time per image (explaining: forward, backward, maps)
    split=$(sed -n 's/.*images\/s; \([0-9.]*\) ms per image, \([0-9.]*\) of them.*(\([0-9.]*\) in the passes).*/\1 \2 \3/p' "$T/list.err")
    t1=$(now)
    cpu
    c1=$CPU
    mkdir -p "$T/loop-$name"
    i=0
    while read -r img; do
        ./darknet gradcam "$cfg" "$weights" "$img" -out "$T/loop-$name/$i" "$@" >/dev/null 2>&1 ||
            { echo "bench-list: the main command failed on $img" >&2; exit 1; }
        i=$((i + 1))
    done <"$list"
    t2=$(now)
    cpu
    c2=$CPU
    awk -v name="$name" -v n="$n" -v a="$t0" -v b="$t1" -v c="$t2" -v x="$c0" -v y="$c1" -v z="$c2" 'BEGIN {
        l = n / (b - a); p = n / (c - b); cl = 1000 * (y - x) / n; cp = 1000 * (z - y) / n;
        printf "%-28s %6d %9.1f %9.1f %7.2fx %9.1f %9.1f %7.2fx\n", name, n, l, p, l / p, cl, cp, cp / cl }'
    if [ -n "$split" ]; then
        echo "$split" | awk '{ printf "    -list wall per image %.1f ms, explaining %.1f ms: %.2fx; forward and backward passes alone %.1f ms: %.2fx\n", $1, $2, $1 / $2, $3, $1 / $3 }'
    fi
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); -list -jobs ${JOBS:-1} -batch ${LIST_BATCH:-1}; OpenBLAS kernels ${OPENBLAS_CORETYPE:-as detected}"
printf "%-28s %6s %9s %9s %8s %9s %9s %8s\n" "model / images" "images" "list/s" "loop/s" "ratio" \
    "list ms" "loop ms" "ratio"
echo "(images/s of wall time; CPU ms per image, user + system)"
if [ -d /usr/share/datasets/fashion-mnist ]; then
    ./darknet gradcam scenes det test "$count" "$T/scenes" >/dev/null
    bench "fmnist-det, demo scenes" cfg/fmnist-det.cfg cfg/fmnist-det.weights "$T/scenes/list.txt"
    bench "fmnist-det, -save npy" cfg/fmnist-det.cfg cfg/fmnist-det.weights "$T/scenes/list.txt" -save npy
else
    echo "fmnist-det: skipped (dataset-fashion-mnist missing)"
fi
# -batch N (list mode both sides): time per image with BATCH images in each
# forward pass against one, rounds interleaved, the run's own split of its
# explaining time (passes included); on the demo scenes and Yolo-Fastest's photos.
# batchrow NAME CFG WEIGHTS LIST [options]
batchrow() {
    name=$1 cfg=$2 weights=$3 list=$4
    shift 4
    n=$(grep -c . "$list")
    for r in 1 2 3; do
        for b in 1 "${BATCH:-8}"; do
            rm -rf "$T/batch-$b"
            t0=$(now)
            ./darknet gradcam "$cfg" "$weights" -list "$list" -outdir "$T/batch-$b" -quiet -batch "$b" "$@" \
                >/dev/null 2>"$T/batch.err" || { echo "bench-list: the -batch $b run failed" >&2; exit 1; }
            t1=$(now)
            split=$(sed -n 's/.*images\/s; \([0-9.]*\) ms per image, \([0-9.]*\) of them.*(\([0-9.]*\) in the passes).*/\2 \3/p' "$T/batch.err")
            echo "$b $t0 $t1 $split"
        done
    done >"$T/batch.times"
    awk -v name="$name" -v n="$n" -v B="${BATCH:-8}" '
        { w = 1000 * ($3 - $2) / n; if ($1 == 1) { w1[++a] = w; e1[a] = $4; p1[a] = $5 } else { wb[++b] = w; eb[b] = $4; pb[b] = $5 } }
        function med(x, k,   i, j, t, y) { for (i = 1; i <= k; i++) y[i] = x[i];
            for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (y[j] < y[i]) { t = y[i]; y[i] = y[j]; y[j] = t }
            return y[int((k + 1) / 2)] }
        END { printf "%-28s %6d  wall %5.2f / %5.2f ms %5.2fx  explaining %5.2f / %5.2f ms %5.2fx  passes %5.2f / %5.2f ms %5.2fx\n",
              name, n, med(wb, b), med(w1, a), med(wb, b) / med(w1, a), med(eb, b), med(e1, a), med(eb, b) / med(e1, a),
              med(pb, b), med(p1, a), med(pb, b) / med(p1, a) }' "$T/batch.times"
}

yf=../shared/models/yolo-fastest
if [ "${BENCH_YOLO:-1}" = 1 ] && [ -r "$yf/yolo-fastest-1.1.weights" ] && ls build/darknet/data/*.jpg >/dev/null 2>&1; then
    : >"$T/photos.txt"
    for r in 0 1 2 3 4 5 6 7; do
        mkdir -p "$T/photos/$r"
        for f in build/darknet/data/*.jpg; do
            ln -s "$(realpath "$f")" "$T/photos/$r/$(basename "$f")"
            echo "$T/photos/$r/$(basename "$f")" >>"$T/photos.txt"
        done
    done
    bench "yolo-fastest, sample photos" "$yf/yolo-fastest-1.1.cfg" "$yf/yolo-fastest-1.1.weights" "$T/photos.txt" \
        -thresh 0.25
    bench "yolo-fastest, -save npy" "$yf/yolo-fastest-1.1.cfg" "$yf/yolo-fastest-1.1.weights" "$T/photos.txt" \
        -thresh 0.25 -save npy
else
    echo "yolo-fastest: skipped (BENCH_YOLO=0, no ../shared/models/yolo-fastest or no Darknet sample photos)"
fi
echo
echo "-batch ${BATCH:-8} against -batch 1, both -list: per image, -batch ${BATCH:-8} / -batch 1 (medians of 3 interleaved rounds)"
if [ -d /usr/share/datasets/fashion-mnist ]; then
    batchrow "fmnist-det, demo scenes" cfg/fmnist-det.cfg cfg/fmnist-det.weights "$T/scenes/list.txt"
    batchrow "fmnist-det, -save npy" cfg/fmnist-det.cfg cfg/fmnist-det.weights "$T/scenes/list.txt" -save npy
fi
if [ -s "$T/photos.txt" ]; then
    batchrow "yolo-fastest, -save npy" "$yf/yolo-fastest-1.1.cfg" "$yf/yolo-fastest-1.1.weights" "$T/photos.txt" \
        -thresh 0.25 -save npy
fi
