#!/bin/sh
# make demo: explains held-out Fashion-MNIST scenes (test split) with the
# project's own trained models, cfg/fmnist-cls.weights and
# cfg/fmnist-det.weights, then measures both on 100 held-out scenes each.
# With ../shared/models present it also explains Darknet's data/dog.jpg with
# Tiny Darknet and Yolo-Fastest. Everything goes into out/; out/summary.txt
# collects the lines printed here.
set -eu
OUT=out
mkdir -p "$OUT"
SUM=$OUT/summary.txt
: >"$SUM"
: >"$OUT/darknet.log"
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

./darknet gradcam scenes cls test 4 "$OUT/scenes-cls" -seed 7 >/dev/null
./darknet gradcam scenes pair test 2 "$OUT/scenes-pair" -seed 7 >/dev/null
./darknet gradcam scenes det test 3 "$OUT/scenes-det" -seed 7 >/dev/null

say "== classifier cfg/fmnist-cls: top-2 classes per scene =="
for img in "$OUT"/scenes-cls/*.png "$OUT"/scenes-pair/*.png; do
    base=$(basename "$img" .png)
    kind=$(basename "$(dirname "$img")")
    run ./darknet gradcam cfg/fmnist-cls.cfg cfg/fmnist-cls.weights "$img" -data cfg/fmnist-cls.data \
        -top 2 -out "$OUT/${kind#scenes-}_$base"
done
say "== detector cfg/fmnist-det: a map per box =="
for img in "$OUT"/scenes-det/*.png; do
    base=$(basename "$img" .png)
    run ./darknet gradcam cfg/fmnist-det.cfg cfg/fmnist-det.weights "$img" -data cfg/fmnist-det.data \
        -thresh 0.3 -out "$OUT/det_$base" -json "$OUT/det_$base.json"
done

./darknet gradcam scenes cls test 100 "$OUT/eval-cls" -seed 11 >/dev/null
./darknet gradcam scenes det test 100 "$OUT/eval-det" -seed 11 >/dev/null
say "== evaluation: classifier, 100 held-out scenes =="
run ./darknet gradcam eval cfg/fmnist-cls.cfg cfg/fmnist-cls.weights "$OUT/eval-cls/list.txt" \
    -data cfg/fmnist-cls.data -json "$OUT/eval_cls.json"
say "== evaluation: detector, 100 held-out scenes =="
run ./darknet gradcam eval cfg/fmnist-det.cfg cfg/fmnist-det.weights "$OUT/eval-det/list.txt" \
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
