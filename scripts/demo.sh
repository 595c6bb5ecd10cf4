#!/bin/sh
# make demo: explains held-out Fashion-MNIST scenes (test split) with the
# project's own trained models, cfg/fmnist-cls.weights and
# cfg/fmnist-det.weights, then measures both on 100 held-out scenes each.
# With ../shared/models present it also explains Darknet's data/dog.jpg with
# Tiny Darknet and Yolo-Fastest. Everything goes into out/; out/summary.txt
# collects the lines printed here, each demo map marked as a hit (its peak
# inside a ground-truth box of its class) or a miss, with the totals.
set -eu
OUT=out
mkdir -p "$OUT"
SUM=$OUT/summary.txt
: >"$SUM"
: >"$OUT/darknet.log"
echo "0 0" >"$OUT/.tally"
say() { echo "$@" | tee -a "$SUM"; }
# Darknet's layer tables go to out/darknet.log; a failure shows its last lines.
run() {
    if ! "$@" >"$OUT/.stdout" 2>>"$OUT/darknet.log"; then
        tail -n 3 "$OUT/darknet.log" >&2
        exit 1
    fi
    tee -a "$SUM" <"$OUT/.stdout"
    rm -f "$OUT/.stdout"
}
# run_judged IMG CMD...: as run, each map marked hit or miss (judge, below)
run_judged() {
    img=$1
    shift
    if ! "$@" >"$OUT/.stdout" 2>>"$OUT/darknet.log"; then
        tail -n 3 "$OUT/darknet.log" >&2
        exit 1
    fi
    judge "$img" | tee -a "$SUM"
    rm -f "$OUT/.stdout"
}
# run_eval CMD...: as run, with gradcam eval's progress lines on the terminal
run_eval() {
    { if "$@" 2>&1 >"$OUT/.stdout"; then echo 0 >"$OUT/.rc"; else echo $? >"$OUT/.rc"; fi; } |
        tee -a "$OUT/darknet.log" | grep '^eval:' >&2 || true
    if [ "$(cat "$OUT/.rc")" != 0 ]; then
        tail -n 3 "$OUT/darknet.log" >&2
        exit 1
    fi
    tee -a "$SUM" <"$OUT/.stdout"
    rm -f "$OUT/.stdout" "$OUT/.rc"
}

# judge IMG: reads a run's stdout (.stdout) and the scene's label file, and
# prints each map's verdict: hit when the map's peak lies inside a
# ground-truth box of its class, miss otherwise; a class not in the scene
# (the classifier's second guess on a one-garment scene, a false detection)
# is "n/a".
# Tallies go to .tally (hits misses).
judge() {
    lab=${1%.png}.txt
    # PNG width and height: big-endian at bytes 16..23
    set -- $(od -An -tu1 -j16 -N8 "$1")
    W=$(( ($1 << 24) + ($2 << 16) + ($3 << 8) + $4 )); H=$(( ($5 << 24) + ($6 << 16) + ($7 << 8) + $8 ))
    awk -v W="$W" -v H="$H" -v lab="$lab" -v tally="$OUT/.tally" '
        BEGIN {
            while ((getline l < lab) > 0) { split(l, f, " "); n++; c[n] = f[1]
                x0[n] = (f[2] - f[4] / 2) * W; x1[n] = (f[2] + f[4] / 2) * W
                y0[n] = (f[3] - f[5] / 2) * H; y1[n] = (f[3] + f[5] / 2) * H }
            if ((getline t < tally) > 0) { split(t, tv, " "); hits = tv[1]; misses = tv[2] }
            while ((getline l < "cfg/fmnist.names") > 0) id[l] = m++
        }
        function verdict(cls, px, py,   k, any) {
            any = 0
            for (k = 1; k <= n; k++) if (c[k] == cls) { any = 1
                if (px >= x0[k] && px <= x1[k] && py >= y0[k] && py <= y1[k]) return "hit " }
            return any ? "MISS" : "n/a "
        }
        /^class [0-9]+/ && match($0, /at \([0-9]+,[0-9]+\)/) {
            split(substr($0, RSTART + 4, RLENGTH - 5), p, ","); cls = $2; sub(/:$/, "", cls)
            if (index($0, "(all-zero map)")) p[1] = p[2] = -1  # no peak: a miss
            v = verdict(cls, p[1], p[2]); print "  " v "  " $0 (v == "n/a " ? "  (class not in the scene)" : "")
            if (v == "hit ") hits++; else if (v == "MISS") misses++; next }
        /^box [0-9]+/ && match($0, /peak \([0-9]+,[0-9]+\)/) {
            split(substr($0, RSTART + 6, RLENGTH - 7), p, ",")
            name = $0; sub(/^box [0-9]+ /, "", name); sub(/: [0-9]+% .*/, "", name)
            if (index($0, "(all-zero map)")) p[1] = p[2] = -1
            v = verdict(name in id ? id[name] : -1, p[1], p[2])
            print "  " v "  " $0 (v == "n/a " ? "  (no such garment: a false detection)" : "")
            if (v == "hit ") hits++; else if (v == "MISS") misses++; next }
        { print "        " $0 }
        END { print hits + 0, misses + 0 > tally }
    ' "$OUT/.stdout"
}

./darknet gradcam scenes cls test 4 "$OUT/scenes-cls" -seed 7 >/dev/null
./darknet gradcam scenes pair test 2 "$OUT/scenes-pair" -seed 7 >/dev/null
./darknet gradcam scenes det test 3 "$OUT/scenes-det" -seed 7 >/dev/null

say "== classifier cfg/fmnist-cls: top-2 classes per scene =="
for img in "$OUT"/scenes-cls/*.png "$OUT"/scenes-pair/*.png; do
    base=$(basename "$img" .png)
    kind=$(basename "$(dirname "$img")")
    run_judged "$img" ./darknet gradcam cfg/fmnist-cls.cfg cfg/fmnist-cls.weights "$img" -data cfg/fmnist-cls.data \
        -top 2 -out "$OUT/${kind#scenes-}_$base"
done
say "== detector cfg/fmnist-det: a map per box =="
for img in "$OUT"/scenes-det/*.png; do
    base=$(basename "$img" .png)
    run_judged "$img" ./darknet gradcam cfg/fmnist-det.cfg cfg/fmnist-det.weights "$img" -data cfg/fmnist-det.data \
        -thresh 0.3 -out "$OUT/det_$base" -json "$OUT/det_$base.json"
done
read -r hits misses <"$OUT/.tally"
say "== demo maps against the ground truth: $hits hits, $misses misses (peak inside the garment's box) =="
rm -f "$OUT/.tally"

./darknet gradcam scenes cls test 100 "$OUT/eval-cls" -seed 11 >/dev/null
./darknet gradcam scenes det test 100 "$OUT/eval-det" -seed 11 >/dev/null
say "== evaluation: classifier, 100 held-out scenes =="
run_eval ./darknet gradcam eval cfg/fmnist-cls.cfg cfg/fmnist-cls.weights "$OUT/eval-cls/list.txt" \
    -data cfg/fmnist-cls.data -json "$OUT/eval_cls.json"
say "== evaluation: detector, 100 held-out scenes =="
run_eval ./darknet gradcam eval cfg/fmnist-det.cfg cfg/fmnist-det.weights "$OUT/eval-det/list.txt" \
    -data cfg/fmnist-det.data -json "$OUT/eval_det.json"

IMG=build/darknet/data/dog.jpg
M=../shared/models
if [ -f "$M/tiny-darknet/tiny.weights" ]; then
    say "== Tiny Darknet on data/dog.jpg =="
    run ./darknet gradcam "$M/tiny-darknet/tiny.cfg" "$M/tiny-darknet/tiny.weights" "$IMG" \
        -data "$M/tiny-darknet/tiny.data" -top 3 -out "$OUT/tiny"
fi
if [ -f "$M/yolo-fastest/yolo-fastest-1.1.weights" ]; then
    say "== Yolo-Fastest 1.1 on data/dog.jpg =="
    run ./darknet gradcam "$M/yolo-fastest/yolo-fastest-1.1.cfg" "$M/yolo-fastest/yolo-fastest-1.1.weights" \
        "$IMG" -data "$M/yolo-fastest/coco.data" -thresh 0.25 -out "$OUT/yolo" -json "$OUT/yolo.json"
fi
echo "demo: overlays (*.png), raw maps (*.npy), reports (*.json) and summary.txt in $OUT/"
