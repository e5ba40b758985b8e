#!/usr/bin/env bash
# End-to-end check of the Spark job in local mode (outside the Maven test suite: it needs the
# separate spark/ build): generates a tiny image folder, trains with
# dev.resnext.spark.SparkTrain --master local[2], then opens the zip with 'resnext evaluate' and
# 'resnext predict' (the main application, DL4J 1.0.0-M2.1). Exit 0 when all of that works.
#   scripts/test-spark.sh [WORK_DIR]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-$(mktemp -d /tmp/resnext-spark-test.XXXXXX)}"
mkdir -p "$work"
"$root/scripts/resnext" --version >/dev/null   # builds the main application when needed
echo "== generating a tiny image folder in $work/shapes"
cat > "$work/Gen.java" <<'JAVA'
public class Gen {
    public static void main(String[] a) {
        dev.resnext.data.SyntheticShapes.writeFolder(java.nio.file.Path.of(a[0]), Integer.parseInt(a[1]), 16, 5);
    }
}
JAVA
java -cp "$root/target/resnext.jar:$(cat "$root/target/classpath.txt")" "$work/Gen.java" "$work/shapes" 30
echo "== training with Spark (local[2])"
start=$(date +%s)
"$root/scripts/resnext-spark" --master 'local[2]' --data "$work/shapes" --input 16x16x1 --epochs 6 --batch 8 \
  --workers 2 --lr 0.03 --out "$work/spark.zip" > "$work/train.json"
echo "   took $(( $(date +%s) - start )) s; summary: $(head -c 400 "$work/train.json")"
echo "== evaluate (DL4J 1.0.0-M2.1 opens the M2 zip)"
"$root/scripts/resnext" evaluate --model "$work/spark.zip" --data "$work/shapes" --json --backend cpu > "$work/eval.json"
grep -o '"accuracy" *: *[0-9.]*' "$work/eval.json" | head -1
echo "== predict"
"$root/scripts/resnext" predict --model "$work/spark.zip" "$work/shapes/circle/0000.png" --top 2 --backend cpu | tee "$work/predict.csv"
[[ $(wc -l < "$work/predict.csv") -eq 2 ]] || { echo "predict printed no prediction" >&2; exit 1; }
echo "OK: Spark-trained zip opens with evaluate and predict ($work)"
