#!/bin/sh
# make train-demo: reproduces the shipped demo models (cfg/fmnist-cls.weights,
# cfg/fmnist-det.weights) with Darknet's own trainers on Fashion-MNIST scenes
# from the train split, then reports them on held-out test-split scenes.
# Darknet seeds its trainers with the time, so a rerun gives comparable, not
# bit-identical, weights. On 2 cores: scenes ~3 min, classifier ~85 min,
# detector ~35 min (one after the other: about 2 hours in all).
set -eu
S=build/scenes
T=build/train
mkdir -p "$S" "$T"
scenes() { # kind split count dir seed
    [ -f "$S/$4/list.txt" ] || ./darknet gradcam scenes "$1" "$2" "$3" "$S/$4" -seed "$5"
}
scenes cls train 20000 cls-train 1
scenes pair train 10000 pair-train 1
scenes pair train 20000 pair-train2 2
scenes det train 16000 det-train 1
scenes cls test 1000 cls-test 1
scenes det test 500 det-test 1
scenes pair test 300 pair-test 1
# seed 1's test scenes share their layouts with seed 1's train scenes (the
# split picks the garments, not the layout); seed 3's share none
scenes cls test 1000 cls-test3 3
scenes det test 500 det-test3 3

# Classifier: one multi-label run from scratch on single- and two-garment
# scenes together (50,000 images), 5500 batches of 64 at learning rate 0.05
# (poly). Darknet's `classifier train` sets a 1 for every class name in an
# image's path, so a two-garment scene gets two. With a [softmax] such a
# two-hot target diverges (its delta sums to 1: all logits rise without
# bound), so training swaps it for a [logistic] (per-class sigmoid
# cross-entropy). Neither layer has parameters: the weights load into the
# shipped cfg, whose [softmax] inference keeps.
cat "$S/cls-train/list.txt" "$S/pair-train/list.txt" "$S/pair-train2/list.txt" >"$T/mix-train.txt"
sed -e "s|^train=.*|train=$T/mix-train.txt|" -e "s|^backup=.*|backup=$T|" cfg/fmnist-cls.data >"$T/mix.data"
sed -e 's/^\[softmax\]/[logistic]/' -e '/^groups=1$/d' cfg/fmnist-cls.cfg >"$T/fmnist-cls-ml.cfg"
./darknet classifier train "$T/mix.data" "$T/fmnist-cls-ml.cfg" 2>&1 |
    grep -v '^Too many or too few labels' >"$T/cls.log"
cp "$T/fmnist-cls-ml.weights" cfg/fmnist-cls.weights
./darknet detector train cfg/fmnist-det.data cfg/fmnist-det.cfg >"$T/det.log" 2>&1
cp "$T/fmnist-det_final.weights" cfg/fmnist-det.weights
echo "train-demo: weights in cfg/; training logs in $T/"

# The README's held-out figures (default method and layer, 8 steps).
./darknet gradcam eval cfg/fmnist-cls.cfg cfg/fmnist-cls.weights "$S/cls-test/list.txt" \
    -data cfg/fmnist-cls.data -steps 8 2>/dev/null
./darknet gradcam eval cfg/fmnist-det.cfg cfg/fmnist-det.weights "$S/det-test/list.txt" \
    -data cfg/fmnist-det.data -steps 8 2>/dev/null
./darknet gradcam eval cfg/fmnist-cls.cfg cfg/fmnist-cls.weights "$S/pair-test/list.txt" \
    -data cfg/fmnist-cls.data -steps 8 2>/dev/null
# The same on scenes whose layouts no training scene has (seed 3).
./darknet gradcam eval cfg/fmnist-cls.cfg cfg/fmnist-cls.weights "$S/cls-test3/list.txt" \
    -data cfg/fmnist-cls.data -steps 8 -nosanity 2>/dev/null
./darknet gradcam eval cfg/fmnist-det.cfg cfg/fmnist-det.weights "$S/det-test3/list.txt" \
    -data cfg/fmnist-det.data -steps 8 -nosanity 2>/dev/null
