#!/usr/bin/env bash
# What each performance lever gives: runs `scripts/resnext benchmark` once with every default on, then
# once per lever with only that lever switched off, and prints a Markdown table (images/s, peak RSS,
# change against the defaults).
#
#   scripts/bench-levers.sh [MODEL] [MODE] [BATCH] [--iters K] [--warmup W]
#   default: resnext50_32x4d train 8, 3 timed steps after 2 warm-up steps
#
# Levers are the switches the code reads (system properties, environment); see docs/performance.md.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
model="${1:-resnext50_32x4d}" mode="${2:-train}" batch="${3:-8}"
(( $# >= 3 )) && shift 3 || shift $#
iters=3 warmup=2
while (( $# )); do
  case "$1" in
    --iters) iters="${2:?}"; shift 2 ;;
    --warmup) warmup="${2:?}"; shift 2 ;;
    *) echo "bench-levers: unknown option $1" >&2; exit 2 ;;
  esac
done

# name | environment assignments (space separated) | JVM options
levers=(
  "all defaults||"
  "training plan off (the layer-by-layer graph with the levers below)||-Dresnext.trainingPlan=false"
  "graph: DL4J's oneDNN layer helpers off||-Dresnext.trainingPlan=false -Dorg.eclipse.deeplearning4j.helpers.disable=true"
  "graph: own oneDNN batch norm off (DL4J's helper)||-Dresnext.trainingPlan=false -Dresnext.onednn.batchNorm=false"
  "graph: own oneDNN convolutions off (DL4J's helper)||-Dresnext.trainingPlan=false -Dresnext.onednn.conv=false"
  "graph: grouped branch convolutions off (one conv per group)||-Dresnext.trainingPlan=false -Dresnext.fusedGroups=false"
  "graph: 1x1 convolutions in the blocked layout (reordered each call)||-Dresnext.trainingPlan=false -Dresnext.onednn.plainPointwise=false"
  "graph: shared split-vertex gradient off||-Dresnext.trainingPlan=false -Dresnext.sharedSplitGradient=false"
  "graph: in-place ReLU off||-Dresnext.trainingPlan=false -Dresnext.inPlaceRelu=false"
  "graph: oneDNN ReLU gradient off (libnd4j relu_bp)||-Dresnext.trainingPlan=false -Dresnext.onednn.relu=false"
  "graph: early gradient-workspace sizing off||-Dresnext.trainingPlan=false -Dresnext.fastWorkspaceLearning=false"
  "fixed glibc mmap threshold off|RESNEXT_MALLOC_THRESHOLD=off|"
  "heap 8g instead of 2g|RESNEXT_HEAP=8g|"
  "1 thread instead of 2|OMP_NUM_THREADS=1|"
  "no oneDNN at all (plain native build: DL4J as shipped)||-Dresnext.onednn=false"
)

tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
echo "$model $mode batch $batch, $iters timed steps after $warmup warm-up steps, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| lever | images/s | vs defaults | peak RSS MB | vs defaults |"
echo "|---|---|---|---|---|"
base_ips="" base_rss=""
for entry in "${levers[@]}"; do
  IFS='|' read -r name envs opts <<< "$entry"
  # shellcheck disable=SC2086
  if ! env OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" $envs RESNEXT_JAVA_OPTS="$opts ${RESNEXT_JAVA_OPTS:-}" \
      "$root/scripts/resnext" benchmark --model "$model" --mode "$mode" --batch "$batch" --iters "$iters" \
      --warmup "$warmup" --json > "$tmp/r.json" 2> "$tmp/err"; then
    echo "| $name | failed: $(tail -1 "$tmp/err") | | | |"
    continue
  fi
  read -r ips rss < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["imagesPerSecond"], d["peakRssMb"])' "$tmp/r.json")
  if [[ -z "$base_ips" ]]; then base_ips="$ips" base_rss="$rss"; fi
  python3 - "$name" "$ips" "$rss" "$base_ips" "$base_rss" <<'PY'
import sys
name, ips, rss, bips, brss = sys.argv[1], *map(float, sys.argv[2:])
print(f"| {name} | {ips:.2f} | {ips / bips:.2f}x | {rss:.0f} | {rss / brss:.2f}x |")
PY
done
