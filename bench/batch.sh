#!/usr/bin/env bash
# Batch benchmark: a 10,000-line /v1/chat/completions batch against the fake provider (50 ms delay) with a model
# group concurrency limit of 64, run by Broker distributed (ingress, workers, billing over the local RabbitMQ,
# files and batch state in the local PostgreSQL). Prints lines/s and the ingress's peak memory (VmHWM) while the
# batch runs, for each batch share of the group's concurrency (Ingress__BatchConcurrencyShare; the default 0.5
# keeps half the group free for live requests, 1 lets the batch use all of it).
#
#   bench/batch.sh                 # about 1 minute; results in bench/results/batch-<timestamp>.md
#
# Tunables (environment): BENCH_BATCH_LINES (10000), BENCH_BATCH_SHARES ("0.5 1").
# Everything listens on 127.0.0.1 only; every process this script starts is stopped on exit, the vhost and the
# database it creates are dropped.
set -euo pipefail
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

LINES="${BENCH_BATCH_LINES:-10000}"
SHARES="${BENCH_BATCH_SHARES:-0.5 1}"
FAKE_PORT=9112 INGRESS_PORT=4112
CONFIG=bench/config-batch.yaml
BROKER_DLL=src/Host/bin/Release/net10.0/broker.dll
FAKE_DLL=bench/FakeProvider/bin/Release/net10.0/fake-provider.dll
TS="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="bench/results/batch-$TS"
mkdir -p "$OUT/logs"

say() { printf '[batch-bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

PIDS=()
VHOST=""
DB=""
stop_pids() {
  local pid
  for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
cleanup() {
  local rc=$?
  trap - EXIT
  [ "${#PIDS[@]}" -gt 0 ] && stop_pids "${PIDS[@]}"
  [ -n "$VHOST" ] && { rabbitmqctl -q delete_vhost "$VHOST" >/dev/null 2>&1 || true; }
  [ -n "$DB" ] && { psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true; }
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() {
  local name="$1"; shift
  "$@" >"$OUT/logs/$name.log" 2>&1 &
  STARTED=$!
  PIDS+=("$STARTED")
}

say "building Broker and the fake provider (Release)"
dotnet build src/Host -c Release -v q -nologo >"$OUT/logs/build.log" 2>&1 || die "build failed: see $OUT/logs/build.log"
dotnet build bench/FakeProvider -c Release -v q -nologo >>"$OUT/logs/build.log" 2>&1 || die "build failed: see $OUT/logs/build.log"
eval "$(scripts/services.sh 2>>"$OUT/logs/services.log")"

say "writing a $LINES-line batch input file"
python3 - "$LINES" >"$OUT/input.jsonl" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"custom_id": f"req-{i}", "method": "POST", "url": "/v1/chat/completions",
                      "body": {"model": "slow50", "messages": [{"role": "user", "content": f"Question number {i}: say hello"}]}}))
PY

start fake dotnet "$FAKE_DLL" --port "$FAKE_PORT" --delay-ms 50
{
  echo "| batch share of the group's 64 | lines | validation (s) | processing (s) | **lines/s** | ideal lines/s (slots / 50 ms) | ingress RSS before (MiB) | **ingress peak RSS during the batch (MiB)** | CPU s ingress / workers / billing |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---|"
} >"$OUT/table.md"

for share in $SHARES; do
  DB="broker_batch_bench_$$"
  psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
  psql "$PG_URL" -qc "CREATE DATABASE $DB" >/dev/null
  export DATABASE_URL="${PG_URL%/*}/$DB"
  VHOST="broker-batch-bench-$$"
  rabbitmqctl -q add_vhost "$VHOST" >/dev/null
  rabbitmqctl -q set_permissions -p "$VHOST" guest '.*' '.*' '.*' >/dev/null
  export RABBITMQ_URL="amqp://guest:guest@127.0.0.1:5672/$VHOST"
  export Ingress__BatchConcurrencyShare="$share" Ingress__BatchPollSeconds=0.2

  say "share $share: starting workers, billing, ingress"
  start workers dotnet "$BROKER_DLL" --role workers --config "$CONFIG"; WORKERS=$STARTED
  start billing dotnet "$BROKER_DLL" --role billing --config "$CONFIG"; BILLING=$STARTED
  start ingress dotnet "$BROKER_DLL" --role ingress --config "$CONFIG" --host 127.0.0.1 --port "$INGRESS_PORT"; INGRESS=$STARTED
  base="http://127.0.0.1:$INGRESS_PORT/v1"
  t0=$SECONDS
  until curl -fsS -m 5 -o /dev/null "$base/chat/completions" -H 'Content-Type: application/json' \
      -d '{"model":"slow50","messages":[{"role":"user","content":"hi"}]}' 2>/dev/null; do
    (( SECONDS - t0 < 60 )) || die "the broker did not answer within 60 s; see $OUT/logs/"
    sleep 0.5
  done
  rss_before=$(awk '/^VmRSS:/ {printf "%.0f", $2/1024}' "/proc/$INGRESS/status")

  file_id=$(curl -fsS "$base/files" -F purpose=batch -F "file=@$OUT/input.jsonl" | jq -r .id)
  created=$(date +%s.%N)
  batch_id=$(curl -fsS "$base/batches" -H 'Content-Type: application/json' \
    -d "{\"input_file_id\":\"$file_id\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}" | jq -r .id)
  started=""
  while :; do
    status=$(curl -fsS "$base/batches/$batch_id" | jq -r .status)
    now=$(date +%s.%N)
    [ -z "$started" ] && [ "$status" != validating ] && started=$now
    case "$status" in completed|failed|expired|cancelled) break ;; esac
    awk -v t="$now" -v c="$created" 'BEGIN { exit !(t - c > 600) }' && die "batch $batch_id still $status after 10 minutes"
    sleep 0.2
  done
  ended=$(date +%s.%N)
  peak=$(awk '/^VmHWM:/ {printf "%.0f", $2/1024}' "/proc/$INGRESS/status")
  cpu=""
  for pid in "$INGRESS" "$WORKERS" "$BILLING"; do
    ticks="$(sed 's/^.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')"
    cpu="$cpu${cpu:+ / }$(awk -v t="$ticks" -v h="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", t / h}')"
  done
  curl -fsS "$base/batches/$batch_id" >"$OUT/batch-$share.json"
  [ "$status" = completed ] || die "batch ended $status: see $OUT/batch-$share.json"
  done_lines=$(jq -r .request_counts.completed "$OUT/batch-$share.json")
  [ "$done_lines" = "$LINES" ] || die "only $done_lines of $LINES lines completed: see $OUT/batch-$share.json"
  slots=$(awk -v s="$share" 'BEGIN { n = int(64 * s); print (n < 1 ? 1 : n) }')
  awk -v share="$share" -v lines="$LINES" -v c="$created" -v s="$started" -v e="$ended" -v slots="$slots" -v before="$rss_before" -v peak="$peak" \
    -v cpu="$cpu" 'BEGIN { printf "| %s (%d slots) | %d | %.1f | %.1f | %.0f | %.0f | %s | %s | %s |\n", share, slots, lines, s - c, e - s, lines / (e - s), slots / 0.05, before, peak, cpu }' \
    >>"$OUT/table.md"
  say "share $share: $(tail -n 1 "$OUT/table.md")"
  stop_pids "$INGRESS" "$WORKERS" "$BILLING"
  rabbitmqctl -q delete_vhost "$VHOST" >/dev/null 2>&1 || true; VHOST=""
  psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true; DB=""
done

{
  echo "# Batch benchmark — $TS"
  echo
  echo "Produced by \`bench/batch.sh\`: a $LINES-line chat batch through Broker distributed (ingress, workers, billing over RabbitMQ;"
  echo "PostgreSQL for files and lines) against the fake provider with a 50 ms delay; model group limit 64. Validation = from"
  echo "POST /v1/batches to in_progress (file streamed, every line checked and copied into PostgreSQL); processing = from"
  echo "in_progress to completed (including writing the output file), polled every 0.2 s. Peak RSS = the ingress's VmHWM."
  echo
  cat "$OUT/table.md"
  echo
  echo "commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown) cpus=$(nproc) loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT.md"
cat "$OUT.md"
