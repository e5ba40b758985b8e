#!/usr/bin/env bash
# Transfer learning on MedMNIST v2 PneumoniaMNIST: pre-train a ResNeXt backbone with a
# self-supervised pretext task (rotation prediction on the training images, labels unused), then
# fine-tune it for normal-vs-pneumonia and report test AUC and accuracy.
#   scripts/finetune-pneumoniamnist.sh [PATH/TO/pneumoniamnist.npz] [extra finetune options...]
# Choices use train and val only; the test split is scored once at the end.
# Reference (MedMNIST v2, test): ResNet-50 (224) AUC 0.962, ACC 0.884.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
npz="${1:-$root/../shared/data/pneumoniamnist.npz}"
shift || true
out="${RESNEXT_OUT:-$root/models/pneumoniamnist-transfer}"
mkdir -p "$out"
start=$(date +%s)

# 1. backbone: rotation prediction on the training images (self-supervised)
"$root/scripts/resnext" train --data "$npz" --pretext rotation --model small --input 28x28x1 \
  --epochs "${PRETEXT_EPOCHS:-6}" --batch 64 --lr 0.05 --augment none --monitor val_accuracy \
  --out "$out/backbone.zip" --checkpoint-dir "$out/backbone-checkpoints"

# 2. fine-tune: new 2-class head, head first, then everything at a lower backbone learning rate
"$root/scripts/resnext" finetune --from "$out/backbone.zip" --data "$npz" --val val \
  --epochs "${FINETUNE_EPOCHS:-14}" --two-phase 2 --backbone-lr-factor 0.5 --batch 64 --lr 0.05 \
  --class-weights auto --augment shift,rotate --monitor val_auc \
  --out "$out/model.zip" --checkpoint-dir "$out/checkpoints" "$@"

# 3. test, once
"$root/scripts/resnext" evaluate --model "$out/model.zip" --data "$npz" --split test --out "$out/test" --json \
  | tee "$out/test-metrics.json"
echo "total time: $(( $(date +%s) - start )) s" >&2
