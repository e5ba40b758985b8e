#!/usr/bin/env bash
# End-to-end check of the Spark jobs on a standalone cluster started from the Maven jars
# (scripts/spark-local-cluster.sh: a master and 2 workers on 127.0.0.1, executors in their own JVMs),
# submitted through org.apache.spark.deploy.SparkSubmit. Outside the Maven test suite (it needs the
# separate spark/ build). Exit 0 when all of this holds:
#  1. train from scratch with DL4J on the executors' class path; one executor JVM is killed during
#     epoch 2: the job finishes and writes the model once; 'resnext evaluate' and 'predict' (DL4J
#     M2.1) open it;
#  2. fine-tune that zip (new head, frozen stem, grayscale -> RGB input); the driver is killed after
#     the first epoch's checkpoint and the job is resumed; the zip opens in 'resnext evaluate' and
#     its configuration.json names no dev.resnext class;
#  3. score a folder (with one damaged file) with DL4J shipped by --jars; one executor is killed
#     while scoring: Parquet and CSV hold every image exactly once, the damaged one with an error;
#     a manifest (CSV with an image column) is scored too, a missing image as an error row;
#  4. the Spark jar puts nothing of ours in DL4J's or ND4J's packages.
#   scripts/test-spark.sh [WORK_DIR]
# Settings (environment): RESNEXT_SPARK_PORT (master port, default 7177).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-$(mktemp -d /tmp/resnext-spark-test.XXXXXX)}"
work="$(mkdir -p "$work" && cd "$work" && pwd)"
export RESNEXT_SPARK_CLUSTER="$work/cluster"
cluster="$root/scripts/spark-local-cluster.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }
started=0
cleanup() { [[ $started -eq 1 ]] && "$cluster" stop >/dev/null 2>&1 || true; }
trap cleanup EXIT

"$root/scripts/resnext" --version >/dev/null   # builds the main application when needed
"$root/scripts/resnext-spark" --help >/dev/null # builds spark/ when needed
jar="$root/spark/target/resnext-spark.jar"

echo "== 4. nothing of ours in DL4J's or ND4J's packages"
ours=$(unzip -Z1 "$jar" | grep -E '^org/(deeplearning4j|nd4j|datavec)/' || true)
[[ -z "$ours" ]] || fail "resnext-spark.jar has classes in DL4J/ND4J packages: $ours"

echo "== 5. bad input: one error line, exit code 2, no stack trace"
bad() {
  local rc=0
  "$root/scripts/resnext-spark" "$@" > /dev/null 2> "$work/bad.err" || rc=$?
  [[ $rc -eq 2 ]] || fail "resnext-spark $* exited $rc, want 2"
  [[ $(grep -c . "$work/bad.err") -eq 1 ]] && grep -q '^error: ' "$work/bad.err" \
    || fail "resnext-spark $* printed more than one error line: $(head -5 "$work/bad.err")"
  echo "   $(cat "$work/bad.err")"
}
bad predict --model "$work/none.zip" --data "$work" --out "$work/x.parquet"
bad train --data "$work" --epochs 0
bad finetune --from "$jar" --data "$work" --freeze everything
bad predict --model "$jar" --manifest "$work/m.csv" --out "$work/x.parquet"

echo "== generating image folders in $work"
cat > "$work/Gen.java" <<'JAVA'
public class Gen {
    public static void main(String[] a) {
        dev.resnext.data.SyntheticShapes.writeFolder(java.nio.file.Path.of(a[0]), Integer.parseInt(a[1]), 16, 5);
    }
}
JAVA
main_cp="$root/target/resnext.jar:$(cat "$root/target/classpath.txt")"
java -cp "$main_cp" "$work/Gen.java" "$work/shapes" 30
java -cp "$main_cp" "$work/Gen.java" "$work/archive" 100
printf 'this is not a PNG' > "$work/archive/circle/damaged.png"
n_archive=$(find "$work/archive" -type f -name '*.png' | wc -l)

echo "== starting the cluster (2 workers, 1 core each)"
started=1
"$cluster" start 2
master="spark://127.0.0.1:${RESNEXT_SPARK_PORT:-7177}"
app_cp=$("$cluster" classpath)
common=(--master "$master" --class dev.resnext.spark.SparkCli --conf spark.executor.memory=1g
        --conf spark.executorEnv.OMP_NUM_THREADS=1 --conf spark.executorEnv.BACKEND_PRIORITY_CPU=200
        --conf spark.task.maxFailures=4)
# DL4J on the executors' (and the driver's) class path; only our jar is submitted
on_path=(--conf "spark.executor.extraClassPath=$app_cp")

# kills one executor JVM (a child of worker 1, a process this script started) and prints its pid
kill_executor() {
  local wpid pid
  wpid=$(cat "$RESNEXT_SPARK_CLUSTER/worker-1.pid")
  for _ in $(seq 1 120); do
    pid=$(pgrep -P "$wpid" java | head -n 1 || true)
    [[ -n "$pid" ]] && { kill -9 "$pid"; echo "$pid"; return 0; }
    sleep 0.5
  done
  return 1
}
wait_line() { # file pattern seconds pid
  for _ in $(seq 1 $(($3 * 2))); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    kill -0 "$4" 2>/dev/null || return 1
    sleep 0.5
  done
  return 1
}

echo "== 1. train on the cluster; an executor is killed during epoch 2"
start=$(date +%s)
RESNEXT_DRIVER_CLASSPATH="$app_cp" "$cluster" submit "${common[@]}" "${on_path[@]}" "$jar" train \
  --data "$work/shapes" --input 16x16x1 --epochs 4 --batch 8 --workers 2 --lr 0.03 \
  --out "$work/spark.zip" --checkpoint-dir "$work/ckpt-train" > "$work/train.json" 2> "$work/train.log" &
driver=$!
wait_line "$work/train.log" "epoch 1/4" 300 $driver || { tail -n 30 "$work/train.log"; fail "training did not reach epoch 1"; }
killed=$(kill_executor) || fail "no executor to kill"
echo "   killed executor pid $killed during epoch 2"
wait $driver || { tail -n 30 "$work/train.log"; fail "training failed after the executor was killed"; }
echo "   took $(( $(date +%s) - start )) s; $(grep -c 'epoch [0-9]/4:' "$work/train.log") epochs logged"
[[ $(grep -c "INFO TrainJob: wrote " "$work/train.log") -eq 1 ]] || fail "the model was not written exactly once"
[[ -f "$work/spark.zip" ]] || fail "no model zip"
grep -q "lost\|Lost\|removed\|Removed" "$work/train.log" || echo "   (the driver log does not mention the lost executor)"

echo "== evaluate and predict with the main application (DL4J 1.0.0-M2.1 opens the M2 zip)"
"$root/scripts/resnext" evaluate --model "$work/spark.zip" --data "$work/shapes" --json --backend cpu > "$work/eval.json"
grep -o '"accuracy" *: *[0-9.]*' "$work/eval.json" | head -1
"$root/scripts/resnext" predict --model "$work/spark.zip" "$work/shapes/circle/0000.png" --top 2 --backend cpu > "$work/predict.csv"
[[ $(wc -l < "$work/predict.csv") -eq 2 ]] || fail "predict printed no prediction"

echo "== 2. fine-tune (new head, frozen stem, 1 -> 3 channels); the driver is killed after epoch 1, then resumed"
ft=(finetune --from "$work/spark.zip" --data "$work/shapes" --input 20x20x3 --freeze stem --epochs 3 --batch 8
    --workers 2 --lr 0.02 --out "$work/finetuned.zip" --checkpoint-dir "$work/ckpt-ft")
RESNEXT_DRIVER_CLASSPATH="$app_cp" "$cluster" submit "${common[@]}" "${on_path[@]}" "$jar" "${ft[@]}" \
  > "$work/ft1.json" 2> "$work/ft1.log" &
driver=$!
wait_line "$work/ft1.log" "epoch 1: checkpoint" 300 $driver || { tail -n 30 "$work/ft1.log"; fail "fine-tuning wrote no checkpoint"; }
kill -9 $driver
wait $driver 2>/dev/null || true
echo "   killed the driver (pid $driver) after the first checkpoint"
[[ ! -f "$work/finetuned.zip" ]] || fail "the killed run wrote the model"
RESNEXT_DRIVER_CLASSPATH="$app_cp" "$cluster" submit "${common[@]}" "${on_path[@]}" "$jar" "${ft[@]}" --resume \
  > "$work/ft2.json" 2> "$work/ft2.log" || { tail -n 30 "$work/ft2.log"; fail "resumed fine-tuning failed"; }
grep -q '"resumedAfter":[1-9]' "$work/ft2.json" || fail "the resumed run did not continue from the checkpoint: $(cat "$work/ft2.json")"
echo "   resumed: $(grep -o '"resumedAfter":[0-9]*' "$work/ft2.json"), $(grep -c 'epoch [0-9]/3:' "$work/ft2.log") epochs run after resuming"
! unzip -p "$work/finetuned.zip" configuration.json | grep -q 'dev\.resnext' || fail "configuration.json names a dev.resnext class"
"$root/scripts/resnext" evaluate --model "$work/finetuned.zip" --data "$work/shapes" --json --backend cpu > "$work/eval-ft.json"
grep -o '"accuracy" *: *[0-9.]*' "$work/eval-ft.json" | head -1

echo "== 3. score $n_archive images with DL4J shipped by --jars; an executor is killed while scoring"
"$cluster" submit "${common[@]}" --jars "$(tr ':' ',' <<<"$app_cp")" "$jar" predict --model "$work/spark.zip" \
  --data "$work/archive" --out "$work/scores.parquet" --csv "$work/scores.csv" --partitions 16 --batch 16 \
  > "$work/score.json" 2> "$work/score.log" &
driver=$!
# wait for the first partition scored on any executor, then kill the executor of worker 1
for _ in $(seq 1 600); do
  grep -qs "scored partition" "$RESNEXT_SPARK_CLUSTER"/work-*/app-*/*/stderr && break
  kill -0 $driver 2>/dev/null || break
  sleep 0.5
done
killed=$(kill_executor) || fail "no executor to kill while scoring"
echo "   killed executor pid $killed while scoring"
wait $driver || { tail -n 30 "$work/score.log"; fail "scoring failed after the executor was killed"; }
cat "$work/score.json"; echo
for key in images rows distinct_files; do
  v=$(grep -o "\"$key\":[0-9]*" "$work/score.json" | cut -d: -f2)
  [[ "$v" == "$n_archive" ]] || fail "$key is $v, want $n_archive (every image exactly once)"
done
grep -q '"error_rows":1' "$work/score.json" || fail "the damaged file is not one error row"
csv_rows=$(cat "$work"/scores.csv/part-*.csv | tail -n +2 | cut -d, -f1 | sort | uniq | wc -l)
csv_all=$(cat "$work"/scores.csv/part-*.csv | tail -n +2 | wc -l)
[[ $csv_rows -eq $n_archive && $csv_all -eq $n_archive ]] || fail "CSV has $csv_all rows for $csv_rows files, want $n_archive"
grep -q 'damaged.png.*cannot read image' "$work"/scores.csv/part-*.csv || fail "no error for the damaged file in the CSV"
# the zip is loaded at most once per executor JVM (the replacement of the killed one loads it again)
app=$(grep -l "scored partition" "$RESNEXT_SPARK_CLUSTER"/work-*/app-*/*/stderr | head -n 1 | xargs dirname | xargs dirname | xargs basename)
for f in "$RESNEXT_SPARK_CLUSTER"/work-*/"$app"/*/stderr; do
  loads=$(grep -c "loaded model" "$f" || true)
  [[ $loads -le 1 ]] || fail "executor $f loaded the model $loads times"
done
echo "   model loads per executor: $(cat "$RESNEXT_SPARK_CLUSTER"/work-*/"$app"/*/stderr | grep -c 'loaded model') loads in $(ls -d "$RESNEXT_SPARK_CLUSTER"/work-*/"$app"/*/ | wc -l) executors"

echo "== 3b. score through a manifest (ChestX-ray14-style image column; one listed file is missing)"
{ echo "Image Index,Finding Labels"; echo "circle/0000.png,a"; echo "cross/0001.png,b"; echo "missing/gone.png,c"; } \
  > "$work/archive/manifest.csv"
RESNEXT_DRIVER_CLASSPATH="$app_cp" "$cluster" submit "${common[@]}" "${on_path[@]}" "$jar" predict \
  --model "$work/finetuned.zip" --manifest "$work/archive/manifest.csv" --image-column "Image Index" \
  --out "$work/manifest.parquet" --csv "$work/manifest-csv" > "$work/manifest.json" 2> "$work/manifest.log" \
  || { tail -n 30 "$work/manifest.log"; fail "scoring a manifest failed"; }
grep -q '"rows":3,"distinct_files":3,"error_rows":1' "$work/manifest.json" || fail "manifest scoring: $(cat "$work/manifest.json")"
echo "== 3c. the same decisions and probabilities as 'resnext predict' (DL4J M2.1) for the same zip"
"$root/scripts/resnext" predict --model "$work/finetuned.zip" "$work/archive/circle/0000.png" \
  "$work/archive/cross/0001.png" --backend cpu > "$work/predict-ft.csv" 2>/dev/null
python3 - "$work"/manifest-csv/part-*.csv "$work/predict-ft.csv" <<'PY' || fail "Spark scoring differs from resnext predict"
import csv, sys
spark = {r["file"].split("/archive/")[-1]: r for r in csv.DictReader(open(sys.argv[1])) if not r["error"]}
local = {r["file"].split("/archive/")[-1]: r for r in csv.DictReader(open(sys.argv[2]))}
assert spark.keys() == local.keys(), (spark.keys(), local.keys())
for k in local:
    ps, pl = float(spark[k]["probability"]), float(local[k]["probability"])
    print(f"   {k}: spark {spark[k]['label']} {ps:.6f}, predict {local[k]['label']} {pl:.6f}")
    assert spark[k]["label"] == local[k]["label"] and abs(ps - pl) < 1e-4
PY

echo "== 3d. --skip-unreadable leaves the damaged file out (local mode)"
"$root/scripts/resnext-spark" predict --master 'local[2]' --model "$work/spark.zip" --data "$work/archive/circle" \
  --out "$work/skip.parquet" --skip-unreadable > "$work/skip.json" 2> "$work/skip.log" \
  || { tail -n 30 "$work/skip.log"; fail "scoring with --skip-unreadable failed"; }
n_circle=$(find "$work/archive/circle" -type f -name '*.png' | wc -l)
grep -q "\"rows\":$((n_circle - 1)),\"distinct_files\":$((n_circle - 1)),\"error_rows\":0,\"skipped_unreadable\":1" \
  "$work/skip.json" || fail "--skip-unreadable: $(cat "$work/skip.json")"

echo "OK: train, fine-tune (with resume) and score on a standalone cluster, with executors killed ($work)"
