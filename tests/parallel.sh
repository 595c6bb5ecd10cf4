#!/bin/sh
# End-to-end test of the README's GNU parallel one-liner: 12 demo scenes in 2
# shards run by `parallel -j2`, then `gradcam merge`; the merged index and
# every output file must equal a single-process run. Skips with a message,
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
trap 'rm -rf "$T"' EXIT INT TERM
fail() {
    echo "parallel test: FAILED: $*" >&2
    exit 1
}

./darknet gradcam scenes det test 12 "$T/scenes" >/dev/null || fail "scenes"
./darknet gradcam cfg/fmnist-det.cfg cfg/fmnist-det.weights -list "$T/scenes/list.txt" -outdir "$T/single" \
    -quiet >/dev/null 2>&1 || fail "the single-process run"

# The README's one-liner, with 2 jobs
parallel --will-cite -j2 ./darknet gradcam cfg/fmnist-det.cfg cfg/fmnist-det.weights -list "$T/scenes/list.txt" \
    -outdir "$T/out" -shard {}/2 -resume -quiet ::: 0 1 >"$T/parallel.log" 2>&1 || {
    cat "$T/parallel.log" >&2
    fail "a shard failed"
}
./darknet gradcam merge "$T/out" || fail "merge"

cmp "$T/single/index.jsonl" "$T/out/index.jsonl" || fail "merged index differs from the single-process run"
(cd "$T/single" && find . -type f ! -name 'errors*.jsonl' | sort) >"$T/a.txt"
(cd "$T/out" && find . -type f ! -name 'errors*.jsonl' ! -name 'index.shard-*' | sort) >"$T/b.txt"
cmp "$T/a.txt" "$T/b.txt" || fail "the file lists differ"
while read -r f; do cmp "$T/single/$f" "$T/out/$f" || fail "$f differs"; done <"$T/a.txt"
echo "parallel test: passed: 2 shards under parallel -j2 + merge = single process" \
    "($(wc -l <"$T/out/index.jsonl") index lines, $(wc -l <"$T/a.txt") files), $(($(date +%s) - start)) s"
