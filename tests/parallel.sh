#!/bin/sh
# End-to-end test of the README's GNU parallel one-liner: 12 demo scenes, one
# of them not an image, under a folder whose name has a space, in 2 shards
# run by `parallel -q -j2`, then `gradcam merge`; the merged index and every
# output file must equal a single-process run's, and both must exit 1 (the
# bad image) after writing their index. Skips with a message,
# status 0, when GNU parallel (Debian's `parallel`) or the scenes' dataset
# is missing.
#
#   tests/parallel.sh     (from the repository root, after `make`)
set -eu

skip() {
    echo "parallel test: skipped: $*"
    exit 0
}
command -v parallel >/dev/null 2>&1 || skip "GNU parallel not found (apt-get install parallel)"
parallel --version 2>/dev/null | grep -q 'GNU parallel' || skip "parallel is not GNU parallel (moreutils?)"
[ -x ./darknet ] || { echo "parallel test: ./darknet missing: run make first" >&2; exit 1; }
[ -d /usr/share/datasets/fashion-mnist ] || skip "Fashion-MNIST (dataset-fashion-mnist) missing: no demo scenes"

start=$(date +%s)
T=$(mktemp -d "${TMPDIR:-/tmp}/gradcam-parallel-XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT # the EXIT trap cleans up; the script stops (a trap that only cleaned up let it run on)
trap 'exit 143' TERM
fail() {
    echo "parallel test: FAILED: $*" >&2
    exit 1
}

S="$T/my scenes"
./darknet gradcam scenes det test 12 "$S" >/dev/null || fail "scenes"
echo "not a picture" >"$S/000005.png"
rc=0
./darknet gradcam cfg/fmnist-det.cfg cfg/fmnist-det.weights -list "$S/list.txt" -outdir "$T/single" \
    -quiet >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "the single-process run exited $rc, not 1 (one bad image)"

# The README's one-liner, with 2 jobs: one shard fails on the bad image
rc=0
parallel --will-cite -q -j2 ./darknet gradcam cfg/fmnist-det.cfg cfg/fmnist-det.weights -list "$S/list.txt" \
    -outdir "$T/out" -shard {}/2 -resume -quiet ::: 0 1 >"$T/parallel.log" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || {
    cat "$T/parallel.log" >&2
    fail "parallel exited $rc, not 1 (one shard with a bad image)"
}
rc=0
./darknet gradcam merge "$T/out" 2>"$T/merge.err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "1 of 12 images failed (list positions 5)" "$T/merge.err" || {
    cat "$T/merge.err" >&2
    fail "merge exited $rc, not 1 naming position 5"
}

cmp "$T/single/index.jsonl" "$T/out/index.jsonl" || fail "merged index differs from the single-process run"
(cd "$T/single" && find . -type f ! -name 'errors*.jsonl' | sort) >"$T/a.txt"
(cd "$T/out" && find . -type f ! -name 'errors*.jsonl' ! -name 'index.shard-*' | sort) >"$T/b.txt"
cmp "$T/a.txt" "$T/b.txt" || fail "the file lists differ"
while read -r f; do cmp "$T/single/$f" "$T/out/$f" || fail "$f differs"; done <"$T/a.txt"
echo "parallel test: passed: 2 shards under parallel -q -j2 + merge = single process, a bad image skipped" \
    "($(wc -l <"$T/out/index.jsonl") index lines, $(wc -l <"$T/a.txt") files), $(($(date +%s) - start)) s"
