#!/usr/bin/env bash
# Regenerates the parity test fixtures in this folder with the project's own exporter.
# Deterministic on torch 1.13 (CPU); the tests compare against whatever these files hold.
#   src/test/resources/parity/regenerate.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
py="${PYTHON:-/usr/bin/python3}"
# imagenet-micro keeps the int64 num_batches_tracked counters (the importer must skip them);
# cifar-micro leaves them out (--drop-nbt), as ../shared/reference/torch/export_golden.py does.
"$py" "$root/scripts/export-torchvision.py" --config "$here/imagenet-micro.json" --random-bn --threads 1 \
  --out "$here/imagenet-micro_state_dict.npz" --io "$here/imagenet-micro_io.npz" >/dev/null
"$py" "$root/scripts/export-torchvision.py" --config "$here/cifar-micro.json" --random-bn --threads 1 --drop-nbt \
  --out "$here/cifar-micro_state_dict.npz" --io "$here/cifar-micro_io.npz" >/dev/null
ls -l "$here"/*.npz
