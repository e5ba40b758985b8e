#!/usr/bin/env bash
# Trains a ResNeXt from scratch on MedMNIST v2 PneumoniaMNIST and reports test metrics.
#   scripts/train-pneumoniamnist.sh [PATH/TO/pneumoniamnist.npz] [extra train options...]
# Model selection uses the val split only; the test split is scored once at the end.
# Reference (MedMNIST v2, test): ResNet-18 (28) AUC 0.944, ACC 0.854.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
npz="${1:-$root/../shared/data/pneumoniamnist.npz}"
shift || true
out="${RESNEXT_OUT:-$root/models/pneumoniamnist}"
mkdir -p "$out"

"$root/scripts/resnext" train --data "$npz" --val val --model small --input 28x28x1 \
  --epochs 20 --batch 64 --lr 0.05 --schedule cosine --warmup-epochs 1 --class-weights auto \
  --augment shift,rotate --monitor val_auc --out "$out/model.zip" --checkpoint-dir "$out/checkpoints" "$@"

"$root/scripts/resnext" evaluate --model "$out/model.zip" --data "$npz" --split test --out "$out/test" --json \
  | tee "$out/test-metrics.json"
