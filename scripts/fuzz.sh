#!/bin/sh
# Runs each libFuzzer harness built by `make fuzz` for a bounded time.
#   scripts/fuzz.sh FUZZ_DIR SECONDS DARKNET_DIR NAME...
# Corpora live in FUZZ_DIR/corpus/NAME (seeded from tests/cfg, cfg/ and
# fuzz/seeds/NAME, kept between runs); crashing inputs go to
# FUZZ_DIR/crashes/ (turn each into a regression test). Prints one line per
# harness: executions, corpus size, crashes. Exit status 1 if any crashed.
set -u
dir=$1; secs=$2; dn=$3; shift 3
mkdir -p "$dir/crashes"
dir=$(cd "$dir" && pwd) # absolute: the cli harness runs in a folder of its own
failed=0
for name in "$@"; do
    corpus="$dir/corpus/$name"
    mkdir -p "$corpus"
    case $name in
        cfg) cp tests/cfg/*.cfg cfg/*.cfg "$corpus"/ 2>/dev/null ;;
        *) cp fuzz/seeds/"$name"/* "$corpus"/ 2>/dev/null ;;
    esac
    log="$dir/$name.log"
    # slow-unit-* files (an input over 10 s, libFuzzer's report) are counted
    # apart: only a crash, a sanitizer report or a timeout (20 s) fails
    before=$(ls "$dir/crashes" | grep -vc -- '-slow-unit-')
    slow_before=$(ls "$dir/crashes" | grep -c -- '-slow-unit-')
    # Darknet's parser leaks by design: leak checking off. Harness output off
    # (-close_fd_mask=3); libFuzzer's own report stays in the log.
    ASAN_OPTIONS=detect_leaks=0 TMPDIR=$dir "$dir/fuzz_$name" "$corpus" -max_total_time="$secs" -timeout=20 -rss_limit_mb=4096 \
        -max_len=65536 -detect_leaks=0 -close_fd_mask=3 -print_final_stats=1 \
        -artifact_prefix="$dir/crashes/$name-" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    after=$(ls "$dir/crashes" | grep -vc -- '-slow-unit-')
    slow_after=$(ls "$dir/crashes" | grep -c -- '-slow-unit-')
    printf 'fuzz %-8s %8s execs in %ss, corpus %s, crashes %s, inputs over 10 s %s (exit %d)\n' "$name" \
        "${execs:-?}" "$secs" "$(ls "$corpus" | wc -l)" $((after - before)) $((slow_after - slow_before)) "$rc"
    [ "$rc" -eq 0 ] || { failed=1; grep -m3 -E 'ERROR|SUMMARY|deadly' "$log"; }
done
exit $failed
