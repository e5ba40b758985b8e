#!/usr/bin/env bash
# Side-by-side throughput and memory: this project's DL4J ResNeXt against the PyTorch reference
# (and, for inference, ONNX Runtime's Java API on the same torchvision model exported to ONNX).
#
#   scripts/bench-vs-pytorch.sh MODEL MODE BATCH [--iters K] [--warmup W] [--rounds R] [--precision fp32|bf16]
#                               [--no-ort] [--max-other CORES] [--out FILE]
#   e.g. scripts/bench-vs-pytorch.sh resnext50_32x4d infer 1
#
# Runs the contenders in alternation, R rounds (default 2): ours, PyTorch, ONNX Runtime, ours, ...
# with the same model, mode, batch, input size, thread count (OMP_NUM_THREADS, default 2) and step
# protocol, then prints the best round of each (images/s at the median step), the spread over
# rounds, and the ratios. Our benchmark and bench.py wait for a quiet machine and repeat steps
# disturbed by other processes; run it on a quiet machine all the same. With --out, appends one
# JSON line with every round to FILE.
# Settings (environment): PYTHON (default /usr/bin/python3), TORCH_BENCH (path of bench.py),
# TORCH_OPENBLAS_THREADS (OpenBLAS threads for PyTorch, default 1), plus everything scripts/resnext
# reads (RESNEXT_HEAP, ...).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-/usr/bin/python3}"
torch_bench="${TORCH_BENCH:-$root/../shared/reference/torch/bench.py}"

usage() { sed -n '4,5p' "$0" | sed 's/^#   //' >&2; exit 2; }
die() { echo "bench-vs-pytorch: $*" >&2; exit 2; }

(( $# >= 3 )) || usage
model="$1" mode="$2" batch="$3"; shift 3
iters=5 warmup=2 max_other=0.15 out="" rounds=2 precision=fp32 ort=1
while (( $# )); do
  case "$1" in
    --iters) iters="${2:?}"; shift 2 ;;
    --rounds) rounds="${2:?}"; shift 2 ;;
    --precision) precision="${2:?}"; shift 2 ;;
    --no-ort) ort=0; shift ;;
    --warmup) warmup="${2:?}"; shift 2 ;;
    --max-other) max_other="${2:?}"; shift 2 ;;
    --out) out="${2:?}"; shift 2 ;;
    *) die "unknown option $1" ;;
  esac
done
[[ "$mode" == infer || "$mode" == train ]] || die "MODE must be infer or train, was '$mode'"
[[ "$batch" =~ ^[1-9][0-9]*$ ]] || die "BATCH must be a positive integer, was '$batch'"
[[ "$iters" =~ ^[1-9][0-9]*$ ]] || die "--iters must be a positive integer, was '$iters'"
[[ "$warmup" =~ ^[0-9]+$ ]] || die "--warmup must be 0 or more, was '$warmup'"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer, was '$rounds'"
[[ "$precision" == fp32 || "$precision" == bf16 ]] || die "--precision must be fp32 or bf16, was '$precision'"
[[ "$mode" == infer ]] || ort=0
[[ -f "$torch_bench" ]] || die "PyTorch reference not found: $torch_bench (set TORCH_BENCH)"
"$python" -c 'import torch' 2>/dev/null || die "$python cannot import torch (apt-get install python3-torch)"

export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
threads="$OMP_NUM_THREADS"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

size=224
case "$model" in resnext29*) size=32 ;; esac
if (( ort )); then
  ort_jar="$(find "${HOME}/.m2/repository/com/microsoft/onnxruntime/onnxruntime" -name 'onnxruntime-*.jar' 2>/dev/null | sort | tail -1)"
  if [[ -z "$ort_jar" ]] || ! "$python" -c 'import torchvision' 2>/dev/null || [[ "$model" != resnext50* && "$model" != resnext101* ]]; then
    echo "bench-vs-pytorch: no ONNX Runtime column (needs the onnxruntime jar in ~/.m2, torchvision, a torchvision model)" >&2
    ort=0
  else
    "$python" "$root/scripts/ort/export-torchvision-onnx.py" "$model" "$size" "$tmp/model.onnx" >/dev/null
  fi
fi

for (( r = 1; r <= rounds; r++ )); do
  echo "== round $r/$rounds: DL4J (scripts/resnext benchmark, $precision)" >&2
  "$root/scripts/resnext" benchmark --model "$model" --mode "$mode" --batch "$batch" --iters "$iters" \
    --warmup "$warmup" --max-other "$max_other" --precision "$precision" --json > "$tmp/dl4j.$r.json"
  echo "== round $r/$rounds: PyTorch (bench.py)" >&2
  # Debian's PyTorch calls OpenBLAS (pthreads build) for matrix products from inside its OpenMP
  # threads: with OpenBLAS's own default of one thread per core the two pools oversubscribe the cores
  # (batch-1 inference 7.7 against 10.3 images/s on 2026-12-02), so PyTorch gets one BLAS thread.
  OPENBLAS_NUM_THREADS="${TORCH_OPENBLAS_THREADS:-1}" "$python" "$torch_bench" "$model" "$mode" "$batch" \
    --iters "$iters" --warmup "$warmup" --threads "$threads" --max-other "$max_other" | tail -1 > "$tmp/torch.$r.json"
  if (( ort )); then
    echo "== round $r/$rounds: ONNX Runtime (Java, all graph optimisations)" >&2
    java -Xmx2g -cp "$ort_jar" "$root/scripts/ort/OrtBench.java" "$tmp/model.onnx" "$batch" "$iters" "$warmup" \
      "$threads" "$size" | tail -1 > "$tmp/ort.$r.json"
  fi
done

"$python" - "$tmp" "$rounds" "$ort" "$out" <<'PY'
import json, sys, datetime, platform, os
tmp, rounds, ort, out = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
load = lambda f: json.loads(open(os.path.join(tmp, f)).read().strip().splitlines()[-1])
dl4j = [json.load(open(os.path.join(tmp, f"dl4j.{r}.json"))) for r in range(1, rounds + 1)]
torch = [load(f"torch.{r}.json") for r in range(1, rounds + 1)]
orts = [load(f"ort.{r}.json") for r in range(1, rounds + 1)] if ort else []
bd = max(dl4j, key=lambda d: d["imagesPerSecond"])
bt = max(torch, key=lambda d: d["img_per_s_median"])
bo = max(orts, key=lambda d: d["img_per_s_median"]) if orts else None
spread = lambda xs: f"{min(xs):.2f}-{max(xs):.2f}"
d0 = bd
print(f'{d0["model"]} {d0["mode"]} batch {d0["batch"]} input {d0["input"]}, {rounds} alternating rounds, best of each '
      f'({d0["backendInfo"]["nativeBuild"]}, engine {d0.get("engine", "graph")}, precision {d0.get("precision", "fp32")})')
cols = ["DL4J", "PyTorch"] + (["ONNX Runtime"] if bo else [])
print(f'{"":26}' + "".join(f"{c:>16}" for c in cols))
rows = [("images/s (best round)", [f'{bd["imagesPerSecond"]:.2f}', f'{bt["img_per_s_median"]:.2f}'] + ([f'{bo["img_per_s_median"]:.2f}'] if bo else [])),
        ("images/s (spread)", [spread([d["imagesPerSecond"] for d in dl4j]), spread([t["img_per_s_median"] for t in torch])]
         + ([spread([o["img_per_s_median"] for o in orts])] if bo else [])),
        ("median latency ms", [f'{bd["latencyMs"]["p50"]:.1f}', f'{bt["median_s"] * 1000:.1f}'] + ([f'{bo["p50_ms"]:.1f}'] if bo else [])),
        ("peak RSS MB", [f'{bd["peakRssMb"]:.0f}', f'{bt["peak_rss_mb"]:.0f}'] + ([f'{bo["peak_rss_mb"]:.0f}'] if bo else []))]
for name, vals in rows:
    print(f"{name:26}" + "".join(f"{v:>16}" for v in vals))
print(f'ratio DL4J / PyTorch: images/s {bd["imagesPerSecond"] / bt["img_per_s_median"]:.2f}x, '
      f'peak RSS {bd["peakRssMb"] / bt["peak_rss_mb"]:.2f}x')
if bo:
    print(f'ratio DL4J / ONNX Runtime: images/s {bd["imagesPerSecond"] / bo["img_per_s_median"]:.2f}x')
for who, res, key in (("DL4J", bd, "contaminatedKept"), ("PyTorch", bt, "contaminated_kept")):
    if res.get(key):
        print(f"warning: {who} kept {res[key]} step(s) disturbed by other load; rerun on a quieter machine")
if out:
    rec = dict(date=datetime.datetime.now().isoformat(timespec="seconds"), host=platform.node(), rounds=rounds,
               dl4j=dl4j, pytorch=torch, onnxruntime=orts)
    with open(out, "a") as f:
        f.write(json.dumps(rec) + "\n")
PY
