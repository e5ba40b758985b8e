#!/usr/bin/env bash
# Scaling study for docs/performance.md: images/s of resnext50_32x4d against batch size (1..32) for
# inference (ours, PyTorch, ONNX Runtime) and training (ours, PyTorch), and against input size
# (112..288) for inference at batch 8, measured in one sitting, 2 threads each; then PNG plots.
#   scripts/scaling-study.sh [OUT_DIR]            (default docs/scaling; about 40 minutes on 2 cores)
# Each point runs the contenders one after the other (ours, PyTorch, ONNX Runtime) through
# scripts/bench-vs-pytorch.sh (ROUNDS, default 1). Input sizes other than 224 use a small timing
# loop here for PyTorch (bench.py takes the model's own size only). Plots need matplotlib: installed
# from Debian (python3-matplotlib) when missing and apt-get is available.
# Settings: BATCHES, TRAIN_BATCHES, SIZES, ROUNDS, PYTHON (default /usr/bin/python3).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/docs/scaling}"
python="${PYTHON:-/usr/bin/python3}"
batches="${BATCHES:-1 2 4 8 16 32}"
train_batches="${TRAIN_BATCHES:-1 2 4 8 16 32}"
sizes="${SIZES:-112 160 224 288}"
rounds="${ROUNDS:-1}"
model=resnext50_32x4d
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
mkdir -p "$out"
raw="$out/scaling.jsonl"
: > "$raw"
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

for b in $batches; do
  log "inference, batch $b"
  "$root/scripts/bench-vs-pytorch.sh" "$model" infer "$b" --rounds "$rounds" --out "$raw" >&2
done
for b in $train_batches; do
  log "training, batch $b"
  "$root/scripts/bench-vs-pytorch.sh" "$model" train "$b" --rounds "$rounds" --out "$raw" >&2
done

# input size at batch 8, inference: ours (benchmark --input), ONNX Runtime (exported at that size),
# PyTorch (torchvision's model timed here like bench.py: median of 5 steps after 2 warm-up steps)
ort_jar="$(find "${HOME}/.m2/repository/com/microsoft/onnxruntime/onnxruntime" -name 'onnxruntime-*.jar' 2>/dev/null | sort | tail -1)"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
for s in $sizes; do
  log "inference, batch 8, input ${s}x${s}"
  ours="$("$root/scripts/resnext" benchmark --model "$model" --mode infer --batch 8 --input "${s}x${s}x3" --iters 5 \
    --warmup 2 --json 2>/dev/null | "$python" -c 'import json,sys; print(json.load(sys.stdin)["imagesPerSecond"])')"
  torch="$(OPENBLAS_NUM_THREADS=1 "$python" - "$s" <<'PY'
import sys, time, statistics, torch, torchvision
torch.set_num_threads(2); torch.manual_seed(0)
s = int(sys.argv[1]); m = torchvision.models.resnext50_32x4d().eval(); x = torch.randn(8, 3, s, s)
with torch.no_grad():
    for _ in range(2): m(x)
    t = []
    for _ in range(5):
        t0 = time.perf_counter(); m(x); t.append(time.perf_counter() - t0)
print(round(8 / statistics.median(t), 2))
PY
)"
  ort=null
  if [[ -n "$ort_jar" ]]; then
    "$python" "$root/scripts/ort/export-torchvision-onnx.py" "$model" "$s" "$tmp/m$s.onnx" >/dev/null 2>&1
    ort="$(java -Xmx2g -cp "$ort_jar" "$root/scripts/ort/OrtBench.java" "$tmp/m$s.onnx" 8 5 2 "$OMP_NUM_THREADS" "$s" \
      | tail -1 | "$python" -c 'import json,sys; print(json.load(sys.stdin)["img_per_s_median"])')"
  fi
  echo "{\"size_sweep\": true, \"size\": $s, \"batch\": 8, \"dl4j\": $ours, \"pytorch\": $torch, \"onnxruntime\": $ort}" >> "$raw"
done

if ! "$python" -c 'import matplotlib' 2>/dev/null && command -v apt-get >/dev/null; then
  log "installing python3-matplotlib for the plots"
  apt-get install -y -q python3-matplotlib >/dev/null 2>&1 || log "could not install matplotlib; no plots"
fi
"$python" - "$raw" "$out" <<'PY'
import json, sys, os
raw, out = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(raw) if l.strip()]
pts = {}  # (mode, who) -> [(x, y)]
sizes = []
for r in rows:
    if r.get("size_sweep"):
        sizes.append(r); continue
    best = lambda xs, k: max(x[k] for x in xs) if xs else None
    mode, b = r["dl4j"][0]["mode"], r["dl4j"][0]["batch"]
    for who, xs, k in (("DL4J (ours)", r["dl4j"], "imagesPerSecond"), ("PyTorch", r["pytorch"], "img_per_s_median"),
                       ("ONNX Runtime", r.get("onnxruntime", []), "img_per_s_median")):
        v = best(xs, k)
        if v is not None:
            pts.setdefault((mode, who), []).append((b, v))
with open(os.path.join(out, "scaling.md"), "w") as f:
    for mode in ("infer", "train"):
        whos = [w for (m, w) in pts if m == mode]
        f.write(f"\n{mode}: images/s by batch\n\n| batch | " + " | ".join(whos) + " |\n|---|" + "---|" * len(whos) + "\n")
        for b in sorted({b for (m, w), v in pts.items() if m == mode for b, _ in v}):
            f.write(f"| {b} | " + " | ".join(f"{dict(pts[(mode, w)]).get(b, float('nan')):.2f}" for w in whos) + " |\n")
    if sizes:
        f.write("\ninference, batch 8: images/s by input size\n\n| input | DL4J (ours) | PyTorch | ONNX Runtime |\n|---|---|---|---|\n")
        for s in sizes:
            f.write(f"| {s['size']} | {s['dl4j']:.2f} | {s['pytorch']:.2f} | {s['onnxruntime'] if s['onnxruntime'] is not None else '-'} |\n")
print(open(os.path.join(out, "scaling.md")).read())
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.exit(0)
for mode, title in (("infer", "inference"), ("train", "training step")):
    fig, ax = plt.subplots(figsize=(6, 4))
    for (m, who), v in sorted(pts.items()):
        if m == mode:
            v.sort(); ax.plot([x for x, _ in v], [y for _, y in v], marker="o", label=who)
    ax.set_xscale("log", base=2); ax.set_xlabel("batch size"); ax.set_ylabel("images/s")
    ax.set_title(f"resnext50_32x4d {title}, 224x224, 2 threads"); ax.grid(alpha=0.3); ax.legend()
    fig.tight_layout(); fig.savefig(os.path.join(out, f"scaling-{mode}-batch.png"), dpi=110)
if sizes:
    fig, ax = plt.subplots(figsize=(6, 4))
    xs = [s["size"] for s in sizes]
    for key, who in (("dl4j", "DL4J (ours)"), ("pytorch", "PyTorch"), ("onnxruntime", "ONNX Runtime")):
        ys = [s[key] for s in sizes]
        if all(y is not None for y in ys):
            ax.plot(xs, ys, marker="o", label=who)
    ax.set_xlabel("input size (pixels per side)"); ax.set_ylabel("images/s")
    ax.set_title("resnext50_32x4d inference, batch 8, 2 threads"); ax.grid(alpha=0.3); ax.legend()
    fig.tight_layout(); fig.savefig(os.path.join(out, "scaling-infer-size.png"), dpi=110)
PY
log "done: $out"
