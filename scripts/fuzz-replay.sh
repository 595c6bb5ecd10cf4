#!/bin/sh
# Replays each fuzz harness's seeds through its replay build (fuzz/replay.c,
# built by `make test` with the project's compiler and flags):
#   scripts/fuzz-replay.sh REPLAY_DIR NAME...
# The seeds are those `make fuzz` starts from: tests/cfg and cfg/ for cfg,
# fuzz/seeds/NAME for the others. Prints one line per harness; exit status 1
# if any input crashed or was refused.
set -u
dir=$1; shift
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gc-replay.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
# Darknet's parser leaks by design (as in scripts/fuzz.sh): no leak check
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
export ASAN_OPTIONS
failed=0
for name in "$@"; do
    case $name in
        cfg) set -- tests/cfg/*.cfg cfg/*.cfg ;;
        *) set -- fuzz/seeds/"$name"/* ;;
    esac
    # replay.c reads every input before the cli harness changes folder
    mkdir -p "$tmp/$name"
    if TMPDIR="$tmp/$name" "$dir/replay_$name" "$@" >"$tmp/$name.log" 2>&1; then
        printf 'fuzz replay %-8s %3d seeds ok\n' "$name" "$#"
    else
        printf 'fuzz replay %-8s FAILED (%d seeds):\n' "$name" "$#"
        tail -5 "$tmp/$name.log"
        failed=1
    fi
done
exit $failed
