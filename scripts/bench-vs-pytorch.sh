#!/usr/bin/env bash
# Side-by-side throughput and memory: this project's DL4J ResNeXt against the PyTorch reference.
#
#   scripts/bench-vs-pytorch.sh MODEL MODE BATCH [--iters K] [--warmup W] [--max-other CORES] [--out FILE]
#   e.g. scripts/bench-vs-pytorch.sh resnext50_32x4d infer 8
#
# Runs `scripts/resnext benchmark --json` and ../shared/reference/torch/bench.py on the same model,
# mode, batch, input size, thread count (OMP_NUM_THREADS, default 2) and step protocol, back to
# back, then prints both results and the ratios (ours / PyTorch). Both benchmarks wait for a quiet
# machine and repeat steps disturbed by other processes. With --out, appends one JSON line with
# both results to FILE.
# Settings (environment): PYTHON (default /usr/bin/python3), TORCH_BENCH (path of bench.py),
# plus everything scripts/resnext reads (RESNEXT_HEAP, ...).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-/usr/bin/python3}"
torch_bench="${TORCH_BENCH:-$root/../shared/reference/torch/bench.py}"

usage() { sed -n '4,5p' "$0" | sed 's/^#   //' >&2; exit 2; }
die() { echo "bench-vs-pytorch: $*" >&2; exit 2; }

(( $# >= 3 )) || usage
model="$1" mode="$2" batch="$3"; shift 3
iters=5 warmup=2 max_other=0.15 out=""
while (( $# )); do
  case "$1" in
    --iters) iters="${2:?}"; shift 2 ;;
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
[[ -f "$torch_bench" ]] || die "PyTorch reference not found: $torch_bench (set TORCH_BENCH)"
"$python" -c 'import torch' 2>/dev/null || die "$python cannot import torch (apt-get install python3-torch)"

export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
threads="$OMP_NUM_THREADS"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

echo "== DL4J: scripts/resnext benchmark --model $model --mode $mode --batch $batch (threads $threads)" >&2
"$root/scripts/resnext" benchmark --model "$model" --mode "$mode" --batch "$batch" --iters "$iters" \
  --warmup "$warmup" --max-other "$max_other" --json > "$tmp/dl4j.json"

echo "== PyTorch: bench.py $model $mode $batch (threads $threads)" >&2
"$python" "$torch_bench" "$model" "$mode" "$batch" --iters "$iters" --warmup "$warmup" \
  --threads "$threads" --max-other "$max_other" > "$tmp/torch.json"

"$python" - "$tmp/dl4j.json" "$tmp/torch.json" "$out" <<'PY'
import json, sys, datetime, platform
dl4j = json.load(open(sys.argv[1]))
torch = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])
out = sys.argv[3]
ratio = dl4j["imagesPerSecond"] / torch["img_per_s_median"]
rss = dl4j["peakRssMb"] / torch["peak_rss_mb"]
rows = [
    ("images/s (median)", f'{dl4j["imagesPerSecond"]:.2f}', f'{torch["img_per_s_median"]:.2f}', f"{ratio:.2f}x"),
    ("images/s (min-max)", f'{dl4j["imagesPerSecondMin"]:.2f}-{dl4j["imagesPerSecondMax"]:.2f}',
     f'{torch["img_per_s_worst"]:.2f}-{torch["img_per_s_best"]:.2f}', ""),
    ("s per step (median)", f'{dl4j["secondsPerStep"]:.3f}', f'{torch["median_s"]:.3f}', ""),
    ("peak RSS MB", f'{dl4j["peakRssMb"]:.0f}', f'{torch["peak_rss_mb"]:.0f}', f"{rss:.2f}x"),
    ("steps kept (discarded)", f'{dl4j["iters"]} ({dl4j["discardedSteps"]})',
     f'{torch["iters"]} ({len(torch.get("discarded", []))})', ""),
    ("threads", str(dl4j["threads"]), str(torch["threads"]), ""),
]
print(f'{dl4j["model"]} {dl4j["mode"]} batch {dl4j["batch"]} input {dl4j["input"]}  '
      f'({dl4j["backendInfo"]["nativeBuild"]}, oneDNN kernels {"on" if dl4j["backendInfo"]["oneDnnKernels"] else "OFF"})')
print(f'{"":24}{"DL4J":>16}{"PyTorch":>16}{"ratio":>10}')
for name, a, b, r in rows:
    print(f"{name:24}{a:>16}{b:>16}{r:>10}")
for who, res, key in (("DL4J", dl4j, "contaminatedKept"), ("PyTorch", torch, "contaminated_kept")):
    if res.get(key):
        print(f"warning: {who} kept {res[key]} step(s) disturbed by other load; rerun on a quieter machine")
if out:
    rec = dict(date=datetime.datetime.now().isoformat(timespec="seconds"), host=platform.node(),
               imagesPerSecondRatio=round(ratio, 3), peakRssRatio=round(rss, 3), dl4j=dl4j, pytorch=torch)
    with open(out, "a") as f:
        f.write(json.dumps(rec) + "\n")
PY
