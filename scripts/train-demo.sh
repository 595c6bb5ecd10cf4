#!/bin/sh
# make train-demo: reproduces the shipped demo models (cfg/fmnist-cls.weights,
# cfg/fmnist-det.weights) with Darknet's own trainers on Fashion-MNIST scenes
# from the train split, then reports them on held-out test-split scenes.
# Darknet seeds its trainers with the time, so a rerun gives comparable, not
# bit-identical, weights. On 2 cores: scenes ~2 min, classifier ~25 + 33 min,
# multi-label 11 + 14 + 23 min, detector ~35 min (one after the other: about
# 2.5 hours in all).
set -eu
S=build/scenes
T=build/train
mkdir -p "$S" "$T"
scenes() { # kind split count dir
    [ -f "$S/$4/list.txt" ] || ./darknet gradcam scenes "$1" "$2" "$3" "$S/$4" -seed 1
}
scenes cls train 20000 cls-train
scenes pair train 10000 pair-train
scenes det train 16000 det-train
scenes cls test 1000 cls-test
scenes det test 500 det-test
scenes pair test 300 pair-test

# Classifier: 1500 batches at learning rate 0.05 (poly), then 2000 more from
# those weights at 0.02 (the same cfg with two values changed).
./darknet classifier train cfg/fmnist-cls.data cfg/fmnist-cls.cfg >"$T/cls.log" 2>&1
sed -e 's/^learning_rate=0.05/learning_rate=0.02/' -e 's/^max_batches=1500/max_batches=2000/' \
    cfg/fmnist-cls.cfg >"$T/fmnist-cls-ft.cfg"
./darknet classifier train cfg/fmnist-cls.data "$T/fmnist-cls-ft.cfg" "$T/fmnist-cls.weights" -clear \
    >"$T/cls-ft.log" 2>&1
# Multi-label stages: single- and two-garment scenes together, the [softmax]
# swapped for a [logistic] (per-class sigmoid cross-entropy; no parameters, so
# the weights fit the shipped cfg unchanged). Darknet's trainer sets a 1 for
# every class name in the path; with a softmax, two-hot targets give a delta
# that sums to 1: all logits rise without bound and training diverges. 1200
# batches at 0.01, then 1500 and 2500 at 0.005 (each poly from its start).
cat "$S/cls-train/list.txt" "$S/pair-train/list.txt" >"$T/mix-train.txt"
sed -e "s|^train=.*|train=$T/mix-train.txt|" -e "s|^backup=.*|backup=$T|" cfg/fmnist-cls.data >"$T/mix.data"
multilabel() { # name lr batches from
    sed -e "s/^learning_rate=0.05/learning_rate=$2/" -e "s/^max_batches=1500/max_batches=$3/" \
        -e 's/^\[softmax\]/[logistic]/' -e '/^groups=1$/d' cfg/fmnist-cls.cfg >"$T/$1.cfg"
    ./darknet classifier train "$T/mix.data" "$T/$1.cfg" "$4" -clear 2>&1 |
        grep -v '^Too many or too few labels' >"$T/$1.log"
}
multilabel fmnist-cls-ml1 0.01 1200 "$T/fmnist-cls-ft.weights"
multilabel fmnist-cls-ml2 0.005 1500 "$T/fmnist-cls-ml1.weights"
multilabel fmnist-cls-ml3 0.005 2500 "$T/fmnist-cls-ml2.weights"
cp "$T/fmnist-cls-ml3.weights" cfg/fmnist-cls.weights
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
