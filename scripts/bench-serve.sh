#!/usr/bin/env bash
# Load test of `resnext serve` on loopback (a benchmark, not a test: run it on a quiet machine).
# For each model (default: small and resnext50_32x4d, untrained, at their presets' input size):
#   1. `resnext benchmark --mode infer --batch B` (B = --max-batch), the network alone;
#   2. `serve` with dynamic batching (--max-batch B) and with --max-batch 1, driven by 1, 4 and 16
#      concurrent clients sending one image after the other (bounded in time and count);
#   3. a soak run (16 clients, batched) of --soak seconds, sampling the server's resident memory.
# Reports requests/s, p50/p95/p99 latency, errors, peak RSS, the RSS at start and end of the soak,
# and the ratio of 16-client throughput to the benchmark's images/s (target >= 0.8).
#   scripts/bench-serve.sh [--models "small resnext50_32x4d"] [--seconds 20] [--soak 120]
#                          [--max-batch 16] [--out FILE.json] [--max-other CORES]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
models="small resnext50_32x4d" seconds=20 soak=120 max_batch=16 out="" max_other=0.15
while [[ $# -gt 0 ]]; do
  case "$1" in
    --models) models="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --soak) soak="$2"; shift 2 ;;
    --max-batch) max_batch="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --max-other) max_other="$2"; shift 2 ;;   # passed to benchmark; -1 for a smoke run on a busy machine
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    *) echo "bench-serve: unknown option $1" >&2; exit 2 ;;
  esac
done
"$root/scripts/resnext" --version >/dev/null   # builds the application when needed
cp="$root/target/resnext.jar:$(cat "$root/target/classpath.txt")"
work="$(mktemp -d /tmp/resnext-bench-serve.XXXXXX)"
server_pid=""
cleanup() { [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
results="$work/results.jsonl"
: > "$results"

rss_mb() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo 0; }
# busy CPU time of the whole machine, and of one process, in clock ticks
machine_ticks() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9}' /proc/stat; }
proc_ticks() { awk '{print $14+$15+$16+$17}' "/proc/$1/stat" 2>/dev/null || echo 0; }

start_server() {   # zip max_batch -> sets server_pid, url
  local log="$work/serve.log"
  : > "$log"
  "$root/scripts/resnext" serve --model "$1" --port 0 --max-batch "$2" --backend cpu 2> "$log" &
  server_pid=$!
  url=""
  for _ in $(seq 1 600); do
    url="$(grep -o 'http://127.0.0.1:[0-9]*/' "$log" | head -1 || true)"
    [[ -n "$url" ]] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.2
  done
  [[ -n "$url" ]] || { echo "bench-serve: the server did not start" >&2; cat "$log" >&2; exit 1; }
  # the java launcher's pid may be a child of the scripts/resnext shell: find the JVM
  jvm="$(pgrep -P "$server_pid" java || echo "$server_pid")"
}

stop_server() { kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; server_pid=""; }

drive() {   # model mode clients seconds -> one JSON line appended
  local peak=0 line m0 s0 t0 d1=0
  m0="$(machine_ticks)" s0="$(proc_ticks "$jvm")" t0="$(date +%s.%N)"
  java -cp "$cp" "$root/scripts/serve/LoadDriver.java" "$url" "$image" "$3" "$4" 100000 > "$work/drive.json" &
  local drv=$!
  while kill -0 "$drv" 2>/dev/null; do
    local r; r="$(rss_mb "$jvm")"; (( r > peak )) && peak=$r
    local d; d="$(proc_ticks "$drv")"; (( d > d1 )) && d1=$d
    sleep 1
  done
  wait "$drv"
  # cores used by everything but the server and the load driver during the run: a result taken while
  # other work ran is not a result
  local other
  other="$(awk -v m="$(( $(machine_ticks) - m0 ))" -v s="$(( $(proc_ticks "$jvm") - s0 ))" -v d="$d1" \
    -v t="$(echo "$(date +%s.%N) - $t0" | bc)" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { o = (m - s - d) / hz / t; if (o < 0) o = 0; printf "%.2f", o }')"
  local driver
  driver="$(awk -v d="$d1" -v t="$(echo "$(date +%s.%N) - $t0" | bc)" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.2f", d / hz / t }')"
  line="$(cat "$work/drive.json")"
  echo "{\"model\": \"$1\", \"mode\": \"$2\", \"peak_rss_mb\": $peak, \"other_cores\": $other, \"driver_cores\": $driver, ${line#\{}" | tee -a "$results"
}

for model in $models; do
  zip="$work/$model.zip" image="$work/$model.png"
  java -cp "$cp" "$root/scripts/serve/MakeModel.java" "$model" "$zip" "$image" 2>/dev/null
  echo "== $model: benchmark --mode infer --batch $max_batch"
  "$root/scripts/resnext" benchmark --model "$model" --mode infer --batch "$max_batch" --json --backend cpu \
    --max-other "$max_other" 2>/dev/null > "$work/bench.json"
  ips="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["imagesPerSecond"])' "$work/bench.json" 2>/dev/null \
    || grep -o '"imagesPerSecond" *: *[0-9.]*' "$work/bench.json" | head -1 | grep -o '[0-9.]*$')"
  echo "{\"model\": \"$model\", \"mode\": \"benchmark\", \"batch\": $max_batch, \"images_per_s\": $ips}" | tee -a "$results"
  for mb in "$max_batch" 1; do
    mode=$([[ "$mb" == 1 ]] && echo "max-batch-1" || echo "batched-$mb")
    start_server "$zip" "$mb"
    java -cp "$cp" "$root/scripts/serve/LoadDriver.java" "$url" "$image" 2 3 20 > /dev/null   # warm-up
    for clients in 1 4 16; do
      echo "== $model $mode, $clients clients, ${seconds} s"
      drive "$model" "$mode" "$clients" "$seconds"
    done
    if [[ "$mb" != 1 && "$soak" != 0 ]]; then
      echo "== $model $mode soak: 16 clients, ${soak} s"
      rss_start="$(rss_mb "$jvm")"
      drive "$model" "$mode-soak" 16 "$soak"
      rss_end="$(rss_mb "$jvm")"
      echo "{\"model\": \"$model\", \"mode\": \"soak-rss\", \"rss_start_mb\": $rss_start, \"rss_end_mb\": $rss_end}" | tee -a "$results"
    fi
    stop_server
  done
done

python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
bench = {r["model"]: r["images_per_s"] for r in rows if r["mode"] == "benchmark"}
print("\nmodel | mode | clients | req/s | p50 ms | p95 ms | p99 ms | errors | peak RSS MB | load driver cores | other cores | vs benchmark")
print("---|---|---|---|---|---|---|---|---|---|---|---")
for r in rows:
    if "clients" not in r:
        continue
    ratio = r["requests_per_s"] / bench[r["model"]] if bench.get(r["model"]) else float("nan")
    print(f'{r["model"]} | {r["mode"]} | {r["clients"]} | {r["requests_per_s"]:.1f} | {r["p50_ms"]:.0f} | '
          f'{r["p95_ms"]:.0f} | {r["p99_ms"]:.0f} | {r["errors"]} | {r["peak_rss_mb"]} | {r["driver_cores"]} | {r["other_cores"]} | {ratio:.2f}x')
for r in rows:
    if r["mode"] == "benchmark":
        print(f'benchmark --mode infer {r["model"]} batch {r["batch"]}: {r["images_per_s"]:.1f} images/s')
    if r["mode"] == "soak-rss":
        print(f'{r["model"]} soak RSS: {r["rss_start_mb"]} MB at start, {r["rss_end_mb"]} MB at end')
PY
[[ -n "$out" ]] && cp "$results" "$out"
exit 0
