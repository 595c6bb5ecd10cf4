#!/bin/sh
# make demo: explains Darknet's sample image with the real models in
# ../shared/models when they are there (Tiny Darknet, Yolo-Fastest), and
# always with the project's own small cfgs on seeded random weights, so the
# whole pipeline runs on a fresh machine. Writes into out/.
set -eu
mkdir -p out
IMG=build/darknet/data/dog.jpg
M=../shared/models
if [ -f "$M/tiny-darknet/tiny.weights" ]; then
    ./darknet gradcam "$M/tiny-darknet/tiny.cfg" "$M/tiny-darknet/tiny.weights" "$IMG" \
        -data "$M/tiny-darknet/tiny.data" -top 3 -out out/tiny 2>/dev/null
fi
if [ -f "$M/yolo-fastest/yolo-fastest-1.1.weights" ]; then
    ./darknet gradcam "$M/yolo-fastest/yolo-fastest-1.1.cfg" "$M/yolo-fastest/yolo-fastest-1.1.weights" "$IMG" \
        -data "$M/yolo-fastest/coco.data" -thresh 0.25 -out out/yolo -json out/yolo.json 2>/dev/null
fi
# The project's own cfgs with random weights: the maps show the pipeline
# working, not learned evidence.
./darknet gradcam init tests/cfg/clf_resnet.cfg out/clf_resnet.weights -seed 1 2>/dev/null
./darknet gradcam tests/cfg/clf_resnet.cfg out/clf_resnet.weights "$IMG" -top 2 -out out/random_clf 2>/dev/null
./darknet gradcam init tests/cfg/det_yolo2.cfg out/det_yolo2.weights -seed 5 2>/dev/null
./darknet gradcam tests/cfg/det_yolo2.cfg out/det_yolo2.weights "$IMG" -thresh 0.3 -out out/random_det 2>/dev/null
echo "demo: outputs in out/"
