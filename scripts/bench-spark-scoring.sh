#!/usr/bin/env bash
# Images/s of Spark batch scoring with 1 and 2 executors (1 core each) on the local standalone
# cluster, alternating rounds, with the load average at each run (other jobs on the machine skew it).
#   scripts/bench-spark-scoring.sh MODEL.zip DATA_DIR [ROUNDS]
# Prints one line per run: executors, images, wall-clock img/s (with executor start and model
# load), img/s per executor core (the tasks' own time), load average.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
model="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
data="$(cd "$2" && pwd)"
rounds="${3:-2}"
work="$(mktemp -d /tmp/resnext-spark-bench.XXXXXX)"
export RESNEXT_SPARK_CLUSTER="$work/cluster"
cluster="$root/scripts/spark-local-cluster.sh"
"$root/scripts/resnext-spark" --help >/dev/null
trap '"$cluster" stop >/dev/null 2>&1 || true' EXIT
"$cluster" start 2 >/dev/null
cp=$("$cluster" classpath)
for ((r = 1; r <= rounds; r++)); do
  for n in 1 2; do
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    RESNEXT_DRIVER_CLASSPATH="$cp" "$cluster" submit --master "spark://127.0.0.1:${RESNEXT_SPARK_PORT:-7177}" \
      --class dev.resnext.spark.SparkCli --conf spark.cores.max=$n --conf spark.executor.memory=1g \
      --conf spark.executor.extraClassPath="$cp" --conf spark.executorEnv.OMP_NUM_THREADS=1 \
      "$root/spark/target/resnext-spark.jar" predict --model "$model" --data "$data" \
      --out "$work/scores-$r-$n.parquet" --partitions 8 --batch 32 > "$work/run-$r-$n.json" 2> "$work/run-$r-$n.log"
    python3 - "$work/run-$r-$n.json" "$n" "$load" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"executors {sys.argv[2]}: {s['images']} images, {s['images_per_second']:.1f} img/s wall-clock, "
      f"{s['images_per_second_per_core']:.1f} img/s per executor core; load average before: {sys.argv[3]}")
PY
  done
done
rm -rf "$work"/scores-*
