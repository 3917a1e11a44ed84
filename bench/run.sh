#!/usr/bin/env bash
# Broker's performance benchmark: the same load against (a) the fake provider directly, (b) Broker
# embedded (in-memory bus) and (c) Broker distributed (ingress, workers, billing over the local
# RabbitMQ), one after another, then one table of absolute figures and ratios against direct; and
# (d) "cache": Broker embedded with the response cache on (bench/config-cache.yaml), every measured
# request a cache hit (c=1 latency, c=64 requests/s). For Broker it also times requests that fall back
# once (mock_testing_fallbacks: the retry saga's path). (e) "spend": spend events written per second by one
# Billing process into PostgreSQL (bench/SpendBench: a queued backlog of UsageRecorded drained with batched COPY),
# against one transaction per event in the same run. (f) "keyed" and "keyed-distributed": Broker as users run it, behind
# a master key, called with a virtual key kept in PostgreSQL, with rpm/tpm on every deployment (bench/config-keyed.yaml),
# embedded and distributed, every scenario of (b) and (c) again. (g) "portkey": Portkey's gateway from npm, the peer.
#
#   bench/run.sh                  # about 6 minutes; results in bench/results/<timestamp>.md and latest.md
#
# Tunables (environment): BENCH_DURATION (seconds per measurement, 5), BENCH_WARMUP (seconds of warm-up
# load per group and target, 5: long enough for tiered JIT to settle at c=64), BENCH_TTFB_N (streamed requests timed per target, 50),
# BENCH_TARGETS (subset of "direct embedded distributed portkey cache keyed keyed-distributed spend"; portkey needs
# node and npm), BENCH_KEEP_SERVICES=1 (leave RabbitMQ & co.
# running even when this script started them).
# Everything listens on 127.0.0.1 only; every process this script starts is stopped on exit.
set -euo pipefail
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DUR="${BENCH_DURATION:-5}"
WARM="${BENCH_WARMUP:-5}"
TTFB_N="${BENCH_TTFB_N:-50}"
TARGETS="${BENCH_TARGETS:-direct embedded distributed portkey cache keyed keyed-distributed spend}"
SPEND_N="${BENCH_SPEND_N:-20000}"
FAST_PORT=9101 SLOW_PORT=9102 EMBEDDED_PORT=4101 INGRESS_PORT=4102 CACHE_PORT=4103 KEYED_PORT=4104 KEYED_INGRESS_PORT=4105
PORTKEY_PORT=8787
PORTKEY_VERSION="${BENCH_PORTKEY_VERSION:-1.15.2}"
CONFIG=bench/config.yaml
CONFIG_KEYED=bench/config-keyed.yaml
BROKER_DLL=src/Host/bin/Release/net10.0/broker.dll
FAKE_DLL=bench/FakeProvider/bin/Release/net10.0/fake-provider.dll
TTFB_DLL=bench/TtfbClient/bin/Release/net10.0/ttfb-client.dll

TS="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="bench/results/$TS"
RAW="$OUT/raw"
mkdir -p "$RAW" "$OUT/logs"

say() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# ---- cleanup: every process we started, by pid; the RabbitMQ vhosts and PostgreSQL databases; services if we started them
ALL_PIDS=()
VHOSTS=()
DATABASES=()
SERVICES_STARTED=0
stop_pids() {
  local pid
  for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  # forget them, so the exit trap never signals a pid that may have been reused
  local keep=() p q gone
  for p in "${ALL_PIDS[@]}"; do
    gone=0
    for q in "$@"; do [ "$p" = "$q" ] && gone=1; done
    [ "$gone" = 1 ] || keep+=("$p")
  done
  ALL_PIDS=("${keep[@]}")
}
cleanup() {
  local rc=$?
  trap - EXIT
  [ "${#ALL_PIDS[@]}" -gt 0 ] && stop_pids "${ALL_PIDS[@]}"
  local v
  for v in "${VHOSTS[@]}"; do rabbitmqctl -q delete_vhost "$v" >/dev/null 2>&1 || true; done
  for v in "${DATABASES[@]}"; do psql "$PG_URL" -qAtc "DROP DATABASE IF EXISTS \"$v\" WITH (FORCE)" >/dev/null 2>&1 || true; done
  if [ "$SERVICES_STARTED" = 1 ] && [ "${BENCH_KEEP_SERVICES:-0}" != 1 ]; then
    scripts/services.sh down >/dev/null 2>&1 || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME CMD... : run in the background, log to $OUT/logs/NAME.log, remember the pid in $STARTED
start() {
  local name="$1"; shift
  "$@" >"$OUT/logs/$name.log" 2>&1 &
  STARTED=$!
  ALL_PIDS+=("$STARTED")
  echo "$STARTED" >"$RAW/$name.pid"
}

# services: RabbitMQ, Redis and PostgreSQL on 127.0.0.1 (scripts/services.sh, idempotent), their URLs exported here
services() {
  if ! { command -v rabbitmq-diagnostics >/dev/null 2>&1 && rabbitmq-diagnostics -q ping >/dev/null 2>&1; }; then
    SERVICES_STARTED=1
  fi
  eval "$(scripts/services.sh 2>>"$OUT/logs/services.log")"
}

# new_vhost NAME : an empty RabbitMQ vhost of that name (deleted on exit); its AMQP URL in $VHOST_URL
# (these helpers set variables rather than print: in a $(...) subshell the cleanup lists would not grow)
new_vhost() {
  VHOSTS+=("$1")
  rabbitmqctl -q add_vhost "$1" >/dev/null
  rabbitmqctl -q set_permissions -p "$1" guest '.*' '.*' '.*' >/dev/null
  VHOST_URL="amqp://guest:guest@127.0.0.1:5672/$1"
}

# new_database NAME : an empty PostgreSQL database of that name (dropped on exit); its URL in $DATABASE_URL_NEW
new_database() {
  DATABASES+=("$1")
  psql "$PG_URL" -qAtc "CREATE DATABASE \"$1\"" >/dev/null
  DATABASE_URL_NEW="${PG_URL%/*}/$1"
}

# new_key BASE_URL : a virtual key for the three groups from BASE_URL/key/generate (60 s at most), exported as BENCH_KEY
new_key() {
  local base="$1" t0=$SECONDS
  until curl -fsS -m 5 -o "$RAW/key.json" "$base/key/generate" -H 'Authorization: Bearer sk-bench-master' \
      -H 'Content-Type: application/json' -d '{"models":["fast","slow50","fast-fallback"]}' 2>/dev/null; do
    (( SECONDS - t0 < 60 )) || die "$base/key/generate did not answer within 60 s; see $OUT/logs/"
    sleep 0.5
  done
  BENCH_KEY="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["key"])' "$RAW/key.json")"
  export BENCH_KEY
}

# wait_chat URL MODEL [curl args...] : until one chat completion answers 200 (60 s at most)
wait_chat() {
  local url="$1" model="$2" t0=$SECONDS
  shift 2
  until curl -fsS -m 5 -o /dev/null "$url" -H 'Content-Type: application/json' ${BENCH_KEY:+-H "Authorization: Bearer $BENCH_KEY"} "$@" \
      -d "{\"model\":\"$model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}" 2>/dev/null; do
    (( SECONDS - t0 < 60 )) || die "$url ($model) did not answer 200 within 60 s; see $OUT/logs/"
    sleep 0.5
  done
}

# proc_stats FILE NAME... : for each process started as NAME (its pid in $RAW/NAME.pid), VmHWM, VmRSS (kB) and CPU
# seconds so far, one line each appended to FILE
proc_stats() {
  local file="$1" name pid hwm rss ticks
  shift
  for name in "$@"; do
    pid="$(cat "$RAW/$name.pid")"
    hwm="$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")"
    rss="$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")"
    # utime + stime: fields 14 and 15, counted after the ")" that ends the command name
    ticks="$(sed 's/^.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')"
    echo "$name hwm_kb=$hwm rss_kb=$rss cpu_s=$(awk -v t="$ticks" -v h="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t / h}')" >>"$file"
  done
}

# wrk_run FILE CONNS MODEL URL [extra wrk args]
wrk_run() {
  local file="$1" conns="$2" model="$3" url="$4"; shift 4
  local threads=1
  (( conns > 1 )) && threads=2
  BENCH_MODEL="$model" wrk -t"$threads" -c"$conns" -d"${DUR}s" --timeout 10s --latency -s bench/chat.lua "$@" "$url" >"$file" 2>&1 \
    || die "wrk failed: $(cat "$file")"
}

# measure TARGET FAST_URL SLOW_URL PID_NAMES... : warm-up, the five measurements, per-process stats
measure() {
  local target="$1" fast="$2" slow="$3"; shift 3
  say "$target: warm-up (${WARM}s per group, non-streaming and streaming)"
  BENCH_MODEL=fast wrk -t2 -c16 -d"${WARM}s" -s bench/chat.lua "$fast" >"$RAW/$target-warmup-fast.txt" 2>&1
  BENCH_MODEL=slow50 wrk -t2 -c16 -d"${WARM}s" -s bench/chat.lua "$slow" >"$RAW/$target-warmup-slow50.txt" 2>&1
  dotnet "$TTFB_DLL" --url "$fast" --model fast --n 10 --warmup 10 ${BENCH_KEY:+--key "$BENCH_KEY"} >/dev/null
  proc_stats "$RAW/$target-stats-start.txt" "$@"

  say "$target: c=1, 0 ms";   wrk_run "$RAW/$target-c1-0ms.txt" 1 fast "$fast"
  say "$target: c=1, 50 ms";  wrk_run "$RAW/$target-c1-50ms.txt" 1 slow50 "$slow"
  # CPU is also sampled around the c=64, 0 ms run alone: the cost per request of a saturated gateway, without the c=1
  # phases' idle spinning and single-event batches or the fallback and streamed requests (not in the request count)
  proc_stats "$RAW/$target-stats-c64-0ms-start.txt" "$@"
  say "$target: c=64, 0 ms";  wrk_run "$RAW/$target-c64-0ms.txt" 64 fast "$fast"
  proc_stats "$RAW/$target-stats-c64-0ms.txt" "$@"
  say "$target: c=64, 50 ms"; wrk_run "$RAW/$target-c64-50ms.txt" 64 slow50 "$slow"
  if [ "$target" != direct ]; then
    # the cost of one fallback: the first group fails at once (mock_testing_fallbacks), the retry saga sends the
    # request to fast-fallback (same fake provider)
    say "$target: c=1, 0 ms, falls back once"
    BENCH_EXTRA=',"mock_testing_fallbacks":true' wrk_run "$RAW/$target-c1-fallback.txt" 1 fast "$fast"
  fi
  say "$target: streaming time to first data line ($TTFB_N requests)"
  dotnet "$TTFB_DLL" --url "$fast" --model fast --n "$TTFB_N" --warmup 10 ${BENCH_KEY:+--key "$BENCH_KEY"} >"$RAW/$target-ttfb.txt" 2>&1 \
    || die "ttfb-client failed: $(cat "$RAW/$target-ttfb.txt")"
  proc_stats "$RAW/$target-stats.txt" "$@"
}

# run_embedded TARGET CONFIG PORT open|keyed : one broker process, every role, on the in-memory bus; measured as TARGET.
# keyed: DATABASE_URL is a fresh PostgreSQL database and every request carries a virtual key made for the run.
run_embedded() {
  local target="$1" config="$2" port="$3" mode="$4" db="" url
  if [ "$mode" = keyed ]; then
    services
    new_database "broker_bench_${target//-/_}_$$"
    db="$DATABASE_URL_NEW"
  fi
  say "$target: starting broker, every role in one process ($config${db:+, keys in PostgreSQL})"
  ( unset RABBITMQ_URL
    if [ -n "$db" ]; then export DATABASE_URL="$db"; fi
    exec dotnet "$BROKER_DLL" --config "$config" --host 127.0.0.1 --port "$port" ) >"$OUT/logs/$target.log" 2>&1 &
  STARTED=$!; ALL_PIDS+=("$STARTED"); echo "$STARTED" >"$RAW/$target.pid"
  if [ "$mode" = keyed ]; then new_key "http://127.0.0.1:$port"; fi
  url="http://127.0.0.1:$port/v1/chat/completions"
  wait_chat "$url" fast; wait_chat "$url" slow50
  measure "$target" "$url" "$url" "$target"
  stop_pids "$(cat "$RAW/$target.pid")"
  unset BENCH_KEY
}

# run_distributed TARGET PREFIX CONFIG PORT open|keyed : workers, billing and ingress as three processes (PREFIX-workers, ...)
# over a fresh vhost of the local RabbitMQ, sharing routing state in the local Redis; measured as TARGET.
run_distributed() {
  local target="$1" prefix="$2" config="$3" port="$4" mode="$5" db="" url
  services
  if [ "$mode" = keyed ]; then
    new_database "broker_bench_${target//-/_}_$$"
    db="$DATABASE_URL_NEW"
  fi
  new_vhost "broker-bench-$target-$$"
  export RABBITMQ_URL="$VHOST_URL"
  if [ -n "$db" ]; then export DATABASE_URL="$db"; fi
  say "$target: starting workers, billing, ingress ($config, $RABBITMQ_URL${db:+, keys in PostgreSQL})"
  start "$prefix-workers" dotnet "$BROKER_DLL" --role workers --config "$config"
  start "$prefix-billing" dotnet "$BROKER_DLL" --role billing --config "$config"
  start "$prefix-ingress" dotnet "$BROKER_DLL" --role ingress --config "$config" --host 127.0.0.1 --port "$port"
  unset DATABASE_URL
  if [ "$mode" = keyed ]; then new_key "http://127.0.0.1:$port"; fi
  url="http://127.0.0.1:$port/v1/chat/completions"
  wait_chat "$url" fast; wait_chat "$url" slow50
  measure "$target" "$url" "$url" "$prefix-ingress" "$prefix-workers" "$prefix-billing"
  stop_pids "$(cat "$RAW/$prefix-ingress.pid")" "$(cat "$RAW/$prefix-workers.pid")" "$(cat "$RAW/$prefix-billing.pid")"
  unset BENCH_KEY
}

# ---- tools and builds ----------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
  say "installing wrk"
  DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null 2>&1 \
    || { apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null; } \
    || die "could not install wrk"
fi
command -v python3 >/dev/null 2>&1 || die "python3 is needed for the report"

say "building Broker and the bench tools (Release)"
dotnet build src/Host -c Release -v q -nologo >"$OUT/logs/build.log" 2>&1 || die "build failed: see $OUT/logs/build.log"
dotnet build bench/FakeProvider -c Release -v q -nologo >>"$OUT/logs/build.log" 2>&1 || die "build failed: see $OUT/logs/build.log"
dotnet build bench/TtfbClient -c Release -v q -nologo >>"$OUT/logs/build.log" 2>&1 || die "build failed: see $OUT/logs/build.log"
dotnet build bench/SpendBench -c Release -v q -nologo >>"$OUT/logs/build.log" 2>&1 || die "build failed: see $OUT/logs/build.log"

{
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src bench 2>/dev/null || echo '+dirty')"
  echo "date=$TS"
  echo "cpus=$(nproc)"
  echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "duration_s=$DUR warmup_s=$WARM ttfb_n=$TTFB_N"
  echo "dotnet=$(dotnet --version)"
  echo "wrk=$(wrk -v 2>&1 | head -n 1)"
} >"$RAW/meta.txt"

# ---- the fake providers run for the whole benchmark ----------------------------------------------
start fake-0ms dotnet "$FAKE_DLL" --port "$FAST_PORT" --delay-ms 0 --chunks 4 --chunk-delay-ms 5
start fake-50ms dotnet "$FAKE_DLL" --port "$SLOW_PORT" --delay-ms 50 --chunks 4 --chunk-delay-ms 5
wait_chat "http://127.0.0.1:$FAST_PORT/v1/chat/completions" fast
wait_chat "http://127.0.0.1:$SLOW_PORT/v1/chat/completions" slow50

for target in $TARGETS; do
  case "$target" in
    direct)
      measure direct "http://127.0.0.1:$FAST_PORT/v1/chat/completions" "http://127.0.0.1:$SLOW_PORT/v1/chat/completions" fake-0ms fake-50ms
      ;;
    embedded)
      run_embedded embedded "$CONFIG" "$EMBEDDED_PORT" open
      ;;
    distributed)
      run_distributed distributed dist "$CONFIG" "$INGRESS_PORT" open
      ;;
    keyed)
      run_embedded keyed "$CONFIG_KEYED" "$KEYED_PORT" keyed
      ;;
    keyed-distributed)
      run_distributed keyed-distributed keyed "$CONFIG_KEYED" "$KEYED_INGRESS_PORT" keyed
      ;;
    portkey)
      # the peer gateway of issue 19, as its users run it: Portkey's open-source gateway from npm (Node), told per
      # request where the fake provider is; measured like the others but without the streamed TTFB and the fallback
      pk_dir="bench/.portkey-$PORTKEY_VERSION"
      if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        say "portkey: skipped (node/npm not installed)"
        continue
      fi
      if [ ! -f "$pk_dir/node_modules/@portkey-ai/gateway/build/start-server.js" ]; then
        say "portkey: installing @portkey-ai/gateway@$PORTKEY_VERSION into $pk_dir"
        mkdir -p "$pk_dir"
        if ! npm install --prefix "$pk_dir" --no-audit --no-fund "@portkey-ai/gateway@$PORTKEY_VERSION" >"$OUT/logs/portkey-install.log" 2>&1; then
          say "portkey: skipped (npm install failed, see $OUT/logs/portkey-install.log)"
          continue
        fi
      fi
      start portkey node "$pk_dir/node_modules/@portkey-ai/gateway/build/start-server.js" "--port=$PORTKEY_PORT" --headless
      url="http://127.0.0.1:$PORTKEY_PORT/v1/chat/completions"
      export BENCH_PORTKEY_FAST="http://127.0.0.1:$FAST_PORT/v1" BENCH_PORTKEY_SLOW="http://127.0.0.1:$SLOW_PORT/v1"
      wait_chat "$url" fast -H 'x-portkey-provider: openai' -H "x-portkey-custom-host: $BENCH_PORTKEY_FAST" -H 'Authorization: Bearer sk-fake'
      say "portkey: warm-up"
      BENCH_MODEL=fast wrk -t2 -c16 -d"${WARM}s" -s bench/chat.lua "$url" >"$RAW/portkey-warmup-fast.txt" 2>&1
      BENCH_MODEL=slow50 wrk -t2 -c16 -d"${WARM}s" -s bench/chat.lua "$url" >"$RAW/portkey-warmup-slow50.txt" 2>&1
      proc_stats "$RAW/portkey-stats-start.txt" portkey
      say "portkey: c=1, 0 ms";   wrk_run "$RAW/portkey-c1-0ms.txt" 1 fast "$url"
      proc_stats "$RAW/portkey-stats-c64-0ms-start.txt" portkey
      say "portkey: c=64, 0 ms";  wrk_run "$RAW/portkey-c64-0ms.txt" 64 fast "$url"
      proc_stats "$RAW/portkey-stats-c64-0ms.txt" portkey
      say "portkey: c=64, 50 ms"; wrk_run "$RAW/portkey-c64-50ms.txt" 64 slow50 "$url"
      proc_stats "$RAW/portkey-stats.txt" portkey
      unset BENCH_PORTKEY_FAST BENCH_PORTKEY_SLOW
      stop_pids "$(cat "$RAW/portkey.pid")"
      ;;
    cache)
      say "cache: starting broker with the response cache (bench/config-cache.yaml)"
      ( unset RABBITMQ_URL; exec dotnet "$BROKER_DLL" --config bench/config-cache.yaml --host 127.0.0.1 --port "$CACHE_PORT" ) \
        >"$OUT/logs/cache.log" 2>&1 &
      STARTED=$!; ALL_PIDS+=("$STARTED"); echo "$STARTED" >"$RAW/cache.pid"
      url="http://127.0.0.1:$CACHE_PORT/v1/chat/completions"
      wait_chat "$url" fast
      say "cache: warm-up (${WARM}s; the first request stores the answer, every later one is a hit)"
      BENCH_MODEL=fast wrk -t2 -c16 -d"${WARM}s" -s bench/chat.lua "$url" >"$RAW/cache-warmup.txt" 2>&1
      curl -sS -m 5 -o /dev/null -D "$RAW/cache-check.txt" "$url" -H 'Content-Type: application/json' \
        -d '{"model":"fast","messages":[{"role":"user","content":"Say hello"}]}'
      grep -qi '^x-litellm-cache-hit: true' "$RAW/cache-check.txt" || die "the cache did not answer: see $RAW/cache-check.txt"
      proc_stats "$RAW/cache-stats-start.txt" cache
      say "cache: c=1, hits";  wrk_run "$RAW/cache-c1-hit.txt" 1 fast "$url"
      say "cache: c=64, hits"; wrk_run "$RAW/cache-c64-hit.txt" 64 fast "$url"
      proc_stats "$RAW/cache-stats.txt" cache
      stop_pids "$(cat "$RAW/cache.pid")"
      ;;
    spend)
      services
      new_vhost "broker-bench-spend-$$"
      say "spend: $SPEND_N usage events through one billing process into PostgreSQL, and the per-event baseline"
      dotnet bench/SpendBench/bin/Release/net10.0/spend-bench.dll --broker "$BROKER_DLL" \
        --rabbitmq "$VHOST_URL" --pg "$PG_URL" --n "$SPEND_N" \
        --billing-log "$OUT/logs/spend-billing.log" >"$RAW/spend.md" 2>"$OUT/logs/spend-bench.log" \
        || die "spend-bench failed: see $OUT/logs/spend-bench.log"
      ;;
    *) die "unknown target '$target' (direct, embedded, distributed, portkey, cache, keyed, keyed-distributed, spend)" ;;
  esac
done
echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$RAW/meta.txt"

if [ "$TARGETS" = spend ]; then
  echo "# Broker benchmark — $TS" >"$OUT.md"
else
  python3 bench/report.py "$OUT" >"$OUT.md"
fi
if [ -s "$RAW/spend.md" ]; then { echo; cat "$RAW/spend.md"; } >>"$OUT.md"; fi
cp "$OUT.md" bench/results/latest.md
say "results: $OUT.md (also bench/results/latest.md); raw files and logs in $OUT/"
sed -n '/^| scenario/,/^$/p' "$OUT.md"
if [ -s "$RAW/spend.md" ]; then sed -n '/^| measurement/,/^$/p' "$RAW/spend.md"; fi
