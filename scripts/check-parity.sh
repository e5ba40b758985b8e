#!/usr/bin/env bash
# Full-size parity check: torchvision resnext50_32x4d weights imported into DL4J must reproduce
# PyTorch's logits within a tolerance (default 1e-3 absolute). Not part of `mvn test` (the files are
# ~120 MB and the run takes a few minutes on 2 cores).
#
#   scripts/check-parity.sh [--dir DIR] [--source golden|export] [--weights NAME] [--tol T] [--keep]
#
#   --dir DIR        work folder (default /tmp/resnext-parity); existing exports there are reused
#   --source golden  export with ../shared/reference/torch/export_golden.py (default when present):
#                    random weights, calibrated non-trivial BN statistics, input [2,3,224,224]
#   --source export  export with scripts/export-torchvision.py --random-bn (no ../shared needed)
#   --weights NAME   torchvision weights for --source export, e.g. IMAGENET1K_V2 (needs internet)
#   --arch NAME      torchvision architecture for --source export (default resnext50_32x4d; the
#                    project preset of the same name must exist)
#   --tol T          maximum absolute logits difference accepted (default 1e-3)
#   --keep           keep the model zip and logits (deleted by default; the exports are kept)
# Needs /usr/bin/python3 (or $PYTHON) with torch, torchvision and numpy. Exit code 0 when within --tol.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${PYTHON:-/usr/bin/python3}"
dir=/tmp/resnext-parity
source=""
weights=""
arch=resnext50_32x4d
tol=1e-3
keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) dir="$2"; shift 2 ;;
    --source) source="$2"; shift 2 ;;
    --weights) weights="$2"; shift 2 ;;
    --arch) arch="$2"; shift 2 ;;
    --tol) tol="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
golden_script="$root/../shared/reference/torch/export_golden.py"
if [[ -z "$source" ]]; then
  if [[ -f "$golden_script" && -z "$weights" && "$arch" == resnext50_32x4d ]]; then source=golden; else source=export; fi
fi
mkdir -p "$dir"
step() { printf '\n== %s\n' "$*" >&2; }

case "$source" in
  golden)
    [[ -f "$golden_script" ]] || { echo "error: $golden_script not found; use --source export" >&2; exit 2; }
    [[ "$arch" == resnext50_32x4d ]] || { echo "error: --source golden exports resnext50_32x4d only" >&2; exit 2; }
    state="$dir/resnext50_32x4d_state_dict.npz"; io="$dir/resnext50_32x4d_io.npz"
    if [[ ! -f "$state" || ! -f "$io" ]]; then
      step "exporting resnext50_32x4d with export_golden.py (a few minutes)"
      "$py" "$golden_script" --config resnext50_32x4d --outdir "$dir" >&2
    fi ;;
  export)
    tag="${arch}_${weights:-random}"
    state="$dir/${tag}_state_dict.npz"; io="$dir/${tag}_io.npz"
    if [[ ! -f "$state" || ! -f "$io" ]]; then
      step "exporting $arch with scripts/export-torchvision.py"
      args=(--arch "$arch" --out "$state" --io "$io")
      if [[ -n "$weights" ]]; then args+=(--weights "$weights"); else args+=(--random-bn); fi
      "$py" "$root/scripts/export-torchvision.py" "${args[@]}" >&2
    fi ;;
  *) echo "error: --source must be golden or export" >&2; exit 2 ;;
esac

step "extracting the input"
"$py" - "$io" "$dir/input.npy" <<'PY'
import sys, numpy as np
np.save(sys.argv[2], np.load(sys.argv[1])["input"])
PY

zip="$dir/$arch.zip"; out="$dir/$arch-logits.npy"
step "scripts/resnext import-torchvision"
"$root/scripts/resnext" import-torchvision --weights "$state" --model "$arch" --out "$zip"
step "scripts/resnext forward"
"$root/scripts/resnext" forward --model "$zip" --input "$dir/input.npy" --output "$out" --batch 2

step "comparing with PyTorch"
set +e
"$py" - "$io" "$out" "$tol" <<'PY'
import sys, numpy as np
io = np.load(sys.argv[1]); got = np.load(sys.argv[2]).astype(np.float64); tol = float(sys.argv[3])
ref = io["logits"].astype(np.float64)
d = np.abs(got - ref)
print(f"logits shape {got.shape}, |logits| max {np.abs(ref).max():.4g}")
print(f"max abs difference vs PyTorch float32: {d.max():.3e} (mean {d.mean():.3e})")
if "logits_f64" in io:
    print(f"max abs difference vs PyTorch float64: {np.abs(got - io['logits_f64']).max():.3e}")
    print(f"PyTorch float32 vs float64 (noise floor): {np.abs(ref - io['logits_f64']).max():.3e}")
same = (got.argmax(1) == ref.argmax(1)).all()
print(f"argmax equal: {bool(same)}")
ok = d.max() <= tol and same
print(("PASS" if ok else "FAIL") + f": tolerance {tol:g}")
sys.exit(0 if ok else 1)
PY
rc=$?
set -e
if [[ $keep == 0 ]]; then rm -f "$zip" "$out" "$dir/input.npy"; fi
exit $rc
