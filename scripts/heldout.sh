#!/bin/sh
# make heldout: the detector default rule (README "Detector default layer and
# method") measured on two detectors it was not chosen on, trained here with
# Darknet on Fashion-MNIST scenes of another seed, then evaluated on held-out
# scenes of a third: cfg/heldout-yolo.cfg ([yolo], strided convolutions,
# shortcuts, ReLU) and cfg/heldout-region.cfg ([region], reorg passthrough).
# On 2 cores: scenes 1 min, training ~15 and ~20 min, evaluation ~10 min.
# Darknet seeds its trainers with the time: a rerun gives comparable, not
# identical, weights and numbers. Prints the README's tables.
set -eu
H=build/heldout
S=$H/scenes
[ -x ./darknet ] || { echo "heldout: ./darknet missing: run make first" >&2; exit 1; }
mkdir -p "$S"
scenes() { # kind split count dir seed
    [ -f "$S/$4/list.txt" ] || ./darknet gradcam scenes "$1" "$2" "$3" "$S/$4" -seed "$5" >/dev/null
}
scenes det train 16000 det-train 11
scenes det test 100 det-test 1234
scenes same test 100 same-test 1234

for m in yolo region; do
    mkdir -p "$H/$m"
    printf '%s\n' classes=10 "train=$S/det-train/list.txt" "valid=$S/det-test/list.txt" \
        names=cfg/fmnist.names "backup=$H/$m" >"$H/$m.data"
    w=$H/$m/heldout-${m}_final.weights
    if [ ! -f "$w" ]; then
        echo "heldout: training cfg/heldout-$m.cfg (log: $H/$m/train.log)" >&2
        ./darknet detector train "$H/$m.data" "cfg/heldout-$m.cfg" >"$H/$m/train.log" 2>&1
    fi
done

# row MODEL NAME [options]: RISE and randomisation on 20 det scenes, instance
# discrimination on 100 same-class scenes; one table row
value() { awk -v k="$2" 'index($0, k) == 1 { s = substr($0, length(k) + 1); split(s, a, " "); print a[1]; exit }' "$1"; }
row() {
    m=$1 name=$2
    shift 2
    o=$H/$m/eval-$(printf '%s' "$name" | tr -c 'A-Za-z0-9\n' '_')
    ./darknet gradcam eval "cfg/heldout-$m.cfg" "$H/$m/heldout-${m}_final.weights" "$S/det-test/list.txt" \
        -data "$H/$m.data" -limit 20 -rise 100 -steps 4 -cascade 2 -quiet "$@" >"$o.rise.txt"
    ./darknet gradcam eval "cfg/heldout-$m.cfg" "$H/$m/heldout-${m}_final.weights" "$S/same-test/list.txt" \
        -data "$H/$m.data" -nosanity -steps 2 -quiet "$@" >"$o.same.txt"
    printf '| %s |' "$name"
    for k in 'pointing game' 'RISE Spearman, in box' 'RISE Spearman, image' 'randomization Spearman' \
        'randomization, in box' 'random-logit Spearman' 'random-logit, in box' 'all-zero maps'; do
        printf ' %s |' "$(value "$o.rise.txt" "$k")"
    done
    for k in 'own-instance pointing' 'own instance, every twin' 'all-zero maps'; do
        printf ' %s |' "$(value "$o.same.txt" "$k")"
    done
    echo
}
for m in yolo region; do
    w=$H/$m/heldout-${m}_final.weights
    echo
    echo "cfg/heldout-$m.cfg: $(./darknet gradcam eval "cfg/heldout-$m.cfg" "$w" "$S/det-test/list.txt" \
        -data "$H/$m.data" -nosanity -steps 2 -quiet | awk '/^mAP@0.5/ { print "mAP@0.5 " $2 }') on the 100 held-out"
    echo "det scenes (seed 1234); the rows: the first 20 of them (-rise 100 -cascade 2) and 100 same scenes"
    echo "| map | pointing | RISE in box | RISE image | randomization | rand., in box | random-logit | random-logit, in box | all-zero | own-instance pointing | both twins right | all-zero (same) |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
    row "$m" "LayerCAM, default rule ($(./darknet gradcam "cfg/heldout-$m.cfg" "$w" "$S/det-test/000000.png" -thresh 0.05 \
        -maxboxes 1 -save none -out "$H/$m/probe" 2>/dev/null | sed -n 's/.*, layer \([0-9,]*\),.*/\1/p'))"
    row "$m" "HiResCAM, default rule layers" -method hirescam
    [ "$m" = region ] && row "$m" "LayerCAM 12 (the reorg: the default before the walk skipped reorgs)" -layer 12
    row "$m" "LayerCAM -2" -layer -2
    row "$m" "Grad-CAM -2" -method gradcam -layer -2
    for b in box cell center random; do row "$m" "-baseline $b" -baseline "$b"; done
done
