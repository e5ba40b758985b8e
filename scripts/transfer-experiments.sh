#!/usr/bin/env bash
# Issue 14: which `finetune` recipe makes transfer at least as good as training from scratch on
# PneumoniaMNIST? Pre-trains backbones on other sources (the bundled shapes; rotation prediction
# on the training images, labels unused; CIFAR-10's natural images as 28x28 grayscale, from an npm
# package by scripts/make-cifar10-npz.py), fine-tunes each with every recipe, trains the same
# preset from scratch with the same epoch budget, and scores val (for the choice) and test
# (reported, never used to choose).
#   scripts/transfer-experiments.sh [PATH/TO/pneumoniamnist.npz] [OUT_DIR]
# EPOCHS (default 20) sets the budget of every PneumoniaMNIST run; RECIPES a subset of
# "scratch full lowbackbone twophase olddefaults" (default: all but lowbackbone); SOURCES a subset
# of "rotation shapes cifar10" (default "rotation shapes"; cifar10 needs npm and about 30 minutes of
# pre-training on 2 cores). Each run writes OUT/<source>-<recipe>/{model.zip,val.json,test.json}.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
npz="${1:-$root/../shared/data/pneumoniamnist.npz}"
out="${2:-$root/models/transfer-experiments}"
epochs="${EPOCHS:-20}"
recipes="${RECIPES:-scratch full twophase olddefaults}"
sources="${SOURCES:-rotation shapes}"
rx="$root/scripts/resnext"
mkdir -p "$out"
log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$out/log.txt" >&2; }
wanted() { [[ " $sources " == *" $1 "* ]]; } # is source $1 among SOURCES

# same optimisation as scripts/train-pneumoniamnist.sh, with the epoch budget shared by all runs
common=(--data "$npz" --val val --epochs "$epochs" --batch 64 --lr 0.05 --schedule cosine --warmup-epochs 1
  --class-weights auto --augment shift,rotate --monitor val_auc)

score() { # run dir: metrics at threshold 0.5, no intervals (the final models get those after calibrate)
  "$rx" evaluate --model "$1/model.zip" --data "$npz" --split val --json --bootstrap 0 > "$1/val.json"
  "$rx" evaluate --model "$1/model.zip" --data "$npz" --split test --json --bootstrap 0 > "$1/test.json"
}

run() { # name, command...
  local name="$1"; shift
  [[ -f "$out/$name/test.json" ]] && { log "$name: done before"; return; }
  mkdir -p "$out/$name"
  local t0; t0=$(date +%s)
  log "$name: start"
  "$@" --out "$out/$name/model.zip" --checkpoint-dir "$out/$name/checkpoints" > "$out/$name/summary.json" 2>"$out/$name/train.log"
  score "$out/$name"
  log "$name: $(( $(date +%s) - t0 )) s"
}

# backbones from other sources
if wanted shapes && [[ ! -f "$out/backbone-shapes.zip" ]]; then
  log "backbone-shapes"
  "$rx" train --data "$root/data/shapes" --model small --input 28x28x1 --epochs 15 --batch 32 \
    --out "$out/backbone-shapes.zip" --checkpoint-dir "$out/backbone-shapes-ck" >/dev/null 2>>"$out/log.txt"
fi
if wanted rotation && [[ ! -f "$out/backbone-rotation.zip" ]]; then
  log "backbone-rotation"
  "$rx" train --data "$npz" --pretext rotation --model small --input 28x28x1 --epochs "${PRETEXT_EPOCHS:-4}" \
    --batch 64 --lr 0.05 --augment none --monitor val_accuracy \
    --out "$out/backbone-rotation.zip" --checkpoint-dir "$out/backbone-rotation-ck" >/dev/null 2>>"$out/log.txt"
fi
if wanted cifar10 && [[ ! -f "$out/backbone-cifar10.zip" ]]; then
  log "backbone-cifar10"
  [[ -f "$out/cifar10-gray28.npz" ]] || "$root/scripts/make-cifar10-npz.py" "$out/cifar10-gray28.npz"
  "$rx" train --data "$out/cifar10-gray28.npz" --model small --input 28x28x1 --epochs "${CIFAR_EPOCHS:-10}" \
    --batch 64 --lr 0.05 --augment flip,shift --monitor val_accuracy \
    --out "$out/backbone-cifar10.zip" --checkpoint-dir "$out/backbone-cifar10-ck" >/dev/null 2>>"$out/log.txt"
fi

for recipe in $recipes; do
  case "$recipe" in
    scratch) run scratch "$rx" train --model small --input 28x28x1 "${common[@]}" ;;
    full)
      for src in $sources; do
        run "$src-full" "$rx" finetune --from "$out/backbone-$src.zip" "${common[@]}" --backbone-lr-factor 1
      done ;;
    lowbackbone) # the default recipe with the pre-trained layers at 0.3x the learning rate
      for src in $sources; do
        run "$src-lowbackbone" "$rx" finetune --from "$out/backbone-$src.zip" "${common[@]}" --backbone-lr-factor 0.3
      done ;;
    twophase)
      for src in $sources; do
        run "$src-twophase" "$rx" finetune --from "$out/backbone-$src.zip" "${common[@]}" --two-phase 2 \
          --backbone-lr-factor 0.5
      done ;;
    olddefaults) # what a new user got before issue 14: finetune with only --from and --data
      for src in $sources; do
        run "$src-olddefaults" "$rx" finetune --from "$out/backbone-$src.zip" --data "$npz" --backbone-lr-factor 0.1 \
          --epochs 15 --batch 32 --augment flip,shift,rotate --monitor val_loss --class-weights none
      done ;;
    *) echo "unknown recipe $recipe" >&2; exit 2 ;;
  esac
done
log "all done"
