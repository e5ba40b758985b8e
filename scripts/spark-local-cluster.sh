#!/usr/bin/env bash
# A Spark standalone cluster on 127.0.0.1 built from Maven jars (no Spark download): a Spark home
# whose jars/ links the jars of spark-core and spark-sql 3.3.4 (spark/cluster/pom.xml), one master
# and N workers (1 core each), each in its own JVM; executors are started by the workers.
#   scripts/spark-local-cluster.sh start [N]   # default 2 workers; prints the master URL
#   scripts/spark-local-cluster.sh stop
#   scripts/spark-local-cluster.sh status
#   scripts/spark-local-cluster.sh submit ARGS  # org.apache.spark.deploy.SparkSubmit with the Spark home
#   scripts/spark-local-cluster.sh classpath    # the jobs' jars that the Spark home does not provide
# Settings (environment): RESNEXT_SPARK_CLUSTER (state folder, default spark/target/cluster),
# RESNEXT_SPARK_PORT (master port, default 7177), RESNEXT_SPARK_UI_PORT (default 8180),
# RESNEXT_WORKER_MEMORY (memory each worker offers, default 3g).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="${RESNEXT_SPARK_CLUSTER:-$root/spark/target/cluster}"
port="${RESNEXT_SPARK_PORT:-7177}"
ui_port="${RESNEXT_SPARK_UI_PORT:-8180}"
home="$state/spark-home"
master_url="spark://127.0.0.1:$port"
export SPARK_HOME="$home" SPARK_SCALA_VERSION=2.12 SPARK_LOCAL_IP=127.0.0.1 SPARK_MASTER_HOST=127.0.0.1

opens=()
for p in java.lang java.lang.invoke java.lang.reflect java.io java.net java.nio java.util java.util.concurrent \
         java.util.concurrent.atomic sun.nio.ch sun.nio.cs sun.security.action sun.util.calendar; do
  opens+=("--add-opens=java.base/$p=ALL-UNNAMED")
done

# The Spark home: jars/ from the Maven build of spark/cluster, conf/ with our logging settings
make_home() {
  local cp="$root/spark/cluster/target/spark-classpath.txt"
  if [[ ! -f "$cp" || "$root/spark/cluster/pom.xml" -nt "$cp" ]]; then
    echo "spark-local-cluster: resolving Spark's jars (spark/cluster/pom.xml)..." >&2
    mkdir -p "$root/spark/cluster/target"
    (cd "$root/spark/cluster" && mvn -B -q package >"$root/spark/cluster/target/build.log" 2>&1) || {
      tail -n 30 "$root/spark/cluster/target/build.log" >&2; echo "spark-local-cluster: build failed" >&2; exit 2; }
  fi
  rm -rf "$home"
  mkdir -p "$home/jars" "$home/conf"
  { tr ":" "\n" < "$cp"; echo; } | while read -r j; do [[ -n "$j" ]] && ln -s "$j" "$home/jars/"; done
  # our logging, plus the daemons' and executors' life cycle (the scripts wait for these lines)
  { cat "$root/spark/src/main/resources/log4j2.properties"
    printf 'logger.deploy.name = org.apache.spark.deploy\nlogger.deploy.level = info\n'
    printf 'logger.executor.name = org.apache.spark.executor\nlogger.executor.level = info\n'
  } >"$home/conf/log4j2.properties"
}

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for() { # file pattern seconds
  local i
  for ((i = 0; i < $3 * 2; i++)); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.5
  done
  echo "spark-local-cluster: timed out waiting for '$2' in $1" >&2
  tail -n 20 "$1" >&2
  return 1
}

daemon() { # name class args...
  local name=$1 cls=$2
  shift 2
  nohup java -Xmx512m "${opens[@]}" -cp "$home/conf:$home/jars/*" "$cls" "$@" >"$state/$name.log" 2>&1 &
  echo $! >"$state/$name.pid"
}

start() {
  local n="${1:-2}"
  if alive "$state/master.pid"; then
    echo "spark-local-cluster: already running ($master_url); stop it first" >&2
    exit 1
  fi
  mkdir -p "$state"
  make_home
  daemon master org.apache.spark.deploy.master.Master --host 127.0.0.1 --port "$port" --webui-port "$ui_port"
  wait_for "$state/master.log" "I have been elected leader" 60
  for ((i = 1; i <= n; i++)); do
    mkdir -p "$state/work-$i"
    daemon "worker-$i" org.apache.spark.deploy.worker.Worker --host 127.0.0.1 --cores 1 \
      --memory "${RESNEXT_WORKER_MEMORY:-3g}" --work-dir "$state/work-$i" --webui-port 0 "$master_url"
  done
  for ((i = 1; i <= n; i++)); do
    wait_for "$state/worker-$i.log" "Successfully registered with master" 60
  done
  echo "$n" >"$state/workers"
  echo "$master_url"
}

stop() {
  local f pid
  for f in "$state"/worker-*.pid "$state"/master.pid; do
    [[ -f "$f" ]] || continue
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true # a worker stops its executors on TERM
      for ((i = 0; i < 40; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
  echo "spark-local-cluster: stopped"
}

status() {
  local f
  for f in "$state"/master.pid "$state"/worker-*.pid; do
    [[ -f "$f" ]] || continue
    if alive "$f"; then echo "$(basename "$f" .pid): running (pid $(cat "$f"))"; else echo "$(basename "$f" .pid): dead"; fi
  done
}

# The application's dependencies that the Spark home does not already provide (by group and
# artifact, whatever the version: the cluster's Spark wins, as with a 'provided' scope)
app_classpath() {
  local app="$root/spark/target/classpath.txt" sparkcp="$root/spark/cluster/target/spark-classpath.txt"
  [[ -f "$app" && -f "$sparkcp" ]] || { echo "spark-local-cluster: build spark/ and start the cluster first" >&2; exit 2; }
  local provided
  # .../group/artifact/version/file.jar -> .../group/artifact
  awk -F/ 'NR == FNR { NF -= 2; provided[$0] = 1; next }
           { path = $0; NF -= 2; if (!($0 in provided)) print path }' \
    <(tr ':' '\n' < "$sparkcp") <(tr ':' '\n' < "$app" | grep -v '^$') | paste -sd: -
}

case "${1:-}" in
  start) start "${2:-2}" ;;
  stop) stop ;;
  status) status ;;
  classpath) app_classpath ;;
  submit)
    shift
    [[ -d "$home/jars" ]] || make_home
    exec java -Xmx"${RESNEXT_HEAP:-2g}" "${opens[@]}" -Djava.awt.headless=true \
      -cp "$home/conf:$home/jars/*${RESNEXT_DRIVER_CLASSPATH:+:$RESNEXT_DRIVER_CLASSPATH}" \
      org.apache.spark.deploy.SparkSubmit "$@" ;;
  *) echo "usage: $0 start [N] | stop | status | classpath | submit SPARK_SUBMIT_ARGS" >&2; exit 2 ;;
esac
