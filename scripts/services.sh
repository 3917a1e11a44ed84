#!/usr/bin/env bash
# Broker's local backing services: RabbitMQ (+ management plugin), Redis and PostgreSQL on 127.0.0.1.
#
# For machines without systemd or a Docker engine (developer boxes and CI, running as root).
#
#   scripts/services.sh [up]     install missing Debian packages, start whatever is not running, wait
#                                until each service answers, ensure the PostgreSQL role+database
#                                broker/broker, then print `export ...` lines on stdout
#   scripts/services.sh down     stop all three
#   scripts/services.sh rabbit-cluster   (or --rabbit-cluster) also a private 3-node RabbitMQ cluster on
#                                5681-5683 for the fault tests (never the shared node); prints
#                                RABBITMQ_CLUSTER_NODES / RABBITMQ_CLUSTER_URL. rabbit-cluster-down stops it;
#                                rabbit-node-kill N (kill -9) / rabbit-node-start N act on one node.
#   eval "$(scripts/services.sh)"   set RABBITMQ_URL, RABBITMQ_MANAGEMENT_URL, REDIS_URL, PG_CONNECTION,
#                                   REDIS_CLUSTER_NODES, REDIS_SENTINEL_NODES, REDIS_SENTINEL_SERVICE,
#                                   S3_ENDPOINT_URL, S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY
#
# Besides the main Redis (6379) it runs, for the response cache tests: a 3-master Redis Cluster on
# 7000-7002, and a Sentinel on 26390 watching master "broker-cache" (6390, replica 6391). Their data and
# config live in /var/lib/redis/broker-extra (nothing is saved to disk). For the S3 cache tests, an
# S3-compatible server (the npm package s3rver, installed under /var/lib/broker-s3rver; nodejs from apt when
# missing) on 127.0.0.1:4569 with the bucket broker-cache (credentials S3RVER/S3RVER).
#
# Only the export lines go to stdout; every log line goes to stderr. Running it again while all is up
# takes well under a second. Tunables (environment): SERVICES_TIMEOUT (seconds to wait for each
# service, default 90), PG_PORT (5432), BROKER_DB_USER / BROKER_DB_PASSWORD / BROKER_DB_NAME (broker).
set -euo pipefail

export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}"
export DEBIAN_FRONTEND=noninteractive

TIMEOUT="${SERVICES_TIMEOUT:-90}"
PG_PORT="${PG_PORT:-5432}"
DB_USER="${BROKER_DB_USER:-broker}"
DB_PASS="${BROKER_DB_PASSWORD:-broker}"
DB_NAME="${BROKER_DB_NAME:-broker}"
AMQP_PORT=5672
MGMT_PORT=15672
REDIS_PORT=6379
CLUSTER_PORTS=(7000 7001 7002)
SENTINEL_PORT=26390
SENTINEL_DATA_PORTS=(6390 6391)
SENTINEL_SERVICE=broker-cache
REDIS_EXTRA_DIR=/var/lib/redis/broker-extra
S3_PORT="${S3_PORT:-4569}"
S3_DIR=/var/lib/broker-s3rver
S3_BUCKET=broker-cache
S3RVER_VERSION=3.7.1

say() { printf '[services %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# Run a command as root: directly when we are root, else through non-interactive sudo.
if [ "$(id -u)" -eq 0 ]; then
  as_root() { "$@"; }
else
  command -v sudo >/dev/null 2>&1 || die "needs root (or passwordless sudo)"
  as_root() { sudo -n "$@"; }
fi

# Run a command as another system user from / (so it never trips over an unreadable cwd).
as_user() { local u="$1"; shift; (cd / && as_root runuser -u "$u" -- "$@"); }

# ---- probes (quiet; exit status only) ------------------------------------------------------------
rabbit_alive()  { rabbitmq-diagnostics -q check_running >/dev/null 2>&1; }
rabbit_pinged() { rabbitmq-diagnostics -q ping >/dev/null 2>&1; }
mgmt_alive()    { curl -fsS -m 3 -o /dev/null -u guest:guest "http://127.0.0.1:${MGMT_PORT}/api/overview" 2>/dev/null; }
redis_alive()   { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }
redis_port_alive() { [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = "PONG" ]; }
cluster_ok()    { redis-cli -h 127.0.0.1 -p "${CLUSTER_PORTS[0]}" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; }
sentinel_ok()   { redis-cli -h 127.0.0.1 -p "$SENTINEL_PORT" sentinel get-master-addr-by-name "$SENTINEL_SERVICE" 2>/dev/null | grep -q '^639[01]$'; }
s3_alive()      { curl -fsS -m 3 -o /dev/null "http://127.0.0.1:${S3_PORT}/${S3_BUCKET}" 2>/dev/null; }
pg_alive()      { pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -t 2 >/dev/null 2>&1; }

# await NAME PROBE : poll PROBE until it succeeds; give up after $TIMEOUT seconds.
await() {
  local name="$1" probe="$2" t0=$SECONDS
  while ! "$probe"; do
    if (( SECONDS - t0 >= TIMEOUT )); then
      die "$name did not answer within ${TIMEOUT}s"
    fi
    sleep 0.25
  done
  say "$name is up (waited $(( SECONDS - t0 ))s)"
}

pkg_ok() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# newest installed PostgreSQL major version (e.g. 15), empty when none
pg_major() { find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort -n | tail -n 1; }

# status column of `pg_lsclusters` for cluster VERSION/main, empty when the cluster does not exist
pg_cluster_status() { pg_lsclusters -h 2>/dev/null | awk -v v="$1" '$1 == v && $2 == "main" { print $4 }'; }

# ---- down ---------------------------------------------------------------------------------------
stop_all() {
  if command -v rabbitmqctl >/dev/null 2>&1 && rabbit_pinged; then
    say "stopping rabbitmq"
    as_root rabbitmqctl stop >&2 || say "rabbitmqctl stop failed"
  fi
  # epmd (Erlang port mapper) stays behind after the node stops; ask it to exit
  if command -v epmd >/dev/null 2>&1 && epmd -names >/dev/null 2>&1; then
    say "stopping epmd"
    epmd -kill >/dev/null 2>&1 || true
  fi
  if command -v redis-cli >/dev/null 2>&1 && redis_alive; then
    say "stopping redis"
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown >&2 2>/dev/null || true
  fi
  local p
  for p in "$SENTINEL_PORT" "${SENTINEL_DATA_PORTS[@]}" "${CLUSTER_PORTS[@]}"; do
    if command -v redis-cli >/dev/null 2>&1 && redis_port_alive "$p"; then
      say "stopping redis on $p"
      redis-cli -h 127.0.0.1 -p "$p" shutdown nosave >&2 2>/dev/null || true
    fi
  done
  if [ -s "$S3_DIR/s3rver.pid" ] && kill -0 "$(cat "$S3_DIR/s3rver.pid")" 2>/dev/null; then
    say "stopping s3rver"
    kill "$(cat "$S3_DIR/s3rver.pid")" 2>/dev/null || true
    rm -f "$S3_DIR/s3rver.pid"
  fi
  local v; v="$(pg_major)"
  if [ -n "$v" ] && [ "$(pg_cluster_status "$v")" = "online" ]; then
    say "stopping postgresql $v/main"
    as_root pg_ctlcluster "$v" main stop >&2
  fi
  say "all stopped"
}

# ---- up -----------------------------------------------------------------------------------------
install_missing() {
  # chromium-headless-shell: the browser of the admin UI tests (/usr/bin/chromium-headless-shell, driven by Playwright)
  local wanted=(rabbitmq-server redis-server redis-tools postgresql curl chromium-headless-shell) missing=() p
  for p in "${wanted[@]}"; do pkg_ok "$p" || missing+=("$p"); done
  # Node.js and npm build the admin UI (src/Ui) during `dotnet build`; any install that puts them on PATH will do
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing+=(nodejs npm)
  fi
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  say "installing missing packages: ${missing[*]}"
  as_root apt-get update -qq >&2 || die "apt-get update failed"
  # Debian's post-install scripts may or may not start the daemons (policy-rc.d, no systemd):
  # either way the steps below find out what runs and start the rest.
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 9>&- \
    || die "apt-get install ${missing[*]} failed"
}

# rabbit_diagnose : what a failed start leaves behind, printed so that a CI log names the cause
rabbit_diagnose() {
  local f
  say "rabbitmq diagnostics: hostname '$(hostname)' / '$(hostname -s)' resolves to '$(getent hosts "$(hostname -s)" | head -n 1)'"
  grep -s '^NODENAME=' /etc/rabbitmq/rabbitmq-env.conf >&2 || true
  ps -eo pid,user,etime,args 2>/dev/null | grep -E '[b]eam|[e]pmd' | cut -c1-200 >&2 || true
  for f in $(find /var/log/rabbitmq -name '*.log' -size +0 -mmin -15 2>/dev/null); do
    say "--- last lines of $f"
    tail -n 30 "$f" | cut -c1-300 >&2
  done
}

# the node is named rabbit@<short hostname>: when that name does not resolve to a loopback address
# (the Erlang CLI tools then cannot reach the node), pin it to localhost
rabbit_pin_localhost() {
  local envconf=/etc/rabbitmq/rabbitmq-env.conf why="$1"
  grep -qs '^NODENAME=' "$envconf" && return 0
  say "$why; setting NODENAME=rabbit@localhost in $envconf"
  as_root mkdir -p /etc/rabbitmq
  printf 'NODENAME=rabbit@localhost\n' | as_root tee -a "$envconf" >/dev/null
}

# rabbit_start_and_wait SECONDS : start the node detached, wait until it answers; status only
rabbit_start_and_wait() {
  local limit="$1" t0=$SECONDS
  say "starting rabbitmq"
  as_root rabbitmq-server -detached >&2 2>&1 9>&- || { say "rabbitmq-server -detached failed"; return 1; }
  # the management api answers only once the node runs; either probe is proof (the HTTP one does not
  # depend on the Erlang CLI reaching the node by name)
  while ! mgmt_alive && ! rabbit_alive; do
    (( SECONDS - t0 < limit )) || return 1
    sleep 0.5
  done
  say "rabbitmq is up (waited $(( SECONDS - t0 ))s)"
}

rabbit_kill_all() {
  as_root pkill -9 -u rabbitmq 2>/dev/null || true
  epmd -kill >/dev/null 2>&1 || true
  sleep 1
}

# rabbit_set_aside : move the localhost node's database aside (kept, not deleted), so that the next
# start does not replay whatever kept the last one from booting
rabbit_set_aside() {
  local base=/var/lib/rabbitmq/mnesia aside
  aside="/var/lib/rabbitmq/mnesia-aside-$(date +%Y%m%d%H%M%S)"
  if compgen -G "$base/rabbit@localhost*" >/dev/null; then
    say "moving the node database $base/rabbit@localhost aside to $aside"
    as_root mkdir -p "$aside"
    as_root mv "$base"/rabbit@localhost* "$aside"/ || true
  fi
}

# rabbit_drop_test_vhosts : a node that was just started serves nobody yet, so the test vhosts that
# killed test runs left behind (each with its quorum queues, which make every boot slower) can go.
# Sets DROPPED_VHOSTS to how many went.
DROPPED_VHOSTS=0
rabbit_drop_test_vhosts() {
  local names n count=0
  DROPPED_VHOSTS=0
  names="$(curl -fsS -m 10 -u guest:guest "http://127.0.0.1:${MGMT_PORT}/api/vhosts?columns=name" 2>/dev/null \
    | grep -o '"name":"broker-test-[^"]*"' | cut -d'"' -f4)" || return 0
  for n in $names; do
    curl -fsS -m 30 -o /dev/null -u guest:guest -X DELETE "http://127.0.0.1:${MGMT_PORT}/api/vhosts/$n" 2>/dev/null && count=$((count + 1))
  done
  DROPPED_VHOSTS=$count
  (( count == 0 )) || say "removed $count test vhosts left behind by earlier runs"
}

# rabbit_queues_work : a quorum queue shaped like Broker's (at-least-once dead-lettering, reject-publish)
# can be declared in a scratch vhost and a message goes through it. A node can pass every probe above
# while its quorum-queue (Ra) system is dead (seen after test vhosts were deleted while the boot was
# still recovering their queues): it then refuses every quorum queue with INTERNAL_ERROR, and every bus
# in the tests fails to start.
rabbit_queues_work() {
  local api="http://127.0.0.1:${MGMT_PORT}/api" vh=broker-services-check ok=1
  local -a c=(curl -fsS -m 20 -u guest:guest -H 'content-type: application/json')
  "${c[@]}" -o /dev/null -X PUT "$api/vhosts/$vh" 2>/dev/null || return 1
  "${c[@]}" -o /dev/null -X PUT "$api/permissions/$vh/guest" -d '{"configure":".*","write":".*","read":".*"}' 2>/dev/null || ok=0
  (( ok )) && { "${c[@]}" -o /dev/null -X PUT "$api/queues/$vh/check" \
    -d '{"durable":true,"auto_delete":false,"arguments":{"x-queue-type":"quorum","x-dead-letter-exchange":"","x-dead-letter-routing-key":"check_error","x-dead-letter-strategy":"at-least-once","x-overflow":"reject-publish"}}' \
    2>/dev/null || ok=0; }
  (( ok )) && { "${c[@]}" -X POST "$api/exchanges/$vh/amq.default/publish" \
    -d '{"properties":{},"routing_key":"check","payload":"ping","payload_encoding":"string"}' 2>/dev/null \
    | grep -q '"routed":true' || ok=0; }
  (( ok )) && { "${c[@]}" -X POST "$api/queues/$vh/check/get" \
    -d '{"count":1,"ackmode":"ack_requeue_false","encoding":"auto"}' 2>/dev/null | grep -q '"payload":"ping"' || ok=0; }
  "${c[@]}" -o /dev/null -X DELETE "$api/vhosts/$vh" 2>/dev/null || true
  (( ok ))
}

# rabbit_stop_node : stop the shared node, by force when it does not stop within a minute
rabbit_stop_node() {
  as_root timeout 60 rabbitmqctl stop >&2 2>&1 || say "rabbitmqctl stop failed; killing the node"
  rabbit_kill_all
}

start_rabbitmq() {
  if mgmt_alive; then
    if rabbit_queues_work; then
      say "rabbitmq (management api) already running"
      return 0
    fi
    say "rabbitmq runs but cannot declare and use a quorum queue (its Ra system is down); restarting it"
    rabbit_stop_node
  fi
  local addr
  addr="$(getent hosts "$(hostname -s)" 2>/dev/null | awk '{ print $1; exit }')"
  case "$addr" in
    '') rabbit_pin_localhost "hostname '$(hostname -s)' does not resolve" ;;
    127.*|::1) ;;
    *) rabbit_pin_localhost "hostname '$(hostname -s)' resolves to $addr, not to loopback" ;;
  esac
  local started=0
  if rabbit_alive; then
    say "rabbitmq running without the management api: enabling the plugin"
    as_root rabbitmq-plugins enable rabbitmq_management >&2 9>&-
  else
    # enabled offline, the plugin comes up together with the node
    as_root rabbitmq-plugins enable --offline rabbitmq_management >/dev/null 2>&1 \
      || die "could not enable rabbitmq_management"
    started=1
    if ! rabbit_start_and_wait "$TIMEOUT"; then
      # one more try from a clean slate: whatever half-started goes, and the node is named
      # rabbit@localhost (a name the CLI tools always reach)
      say "rabbitmq did not answer within ${TIMEOUT}s; starting it once more from a clean slate"
      rabbit_diagnose
      rabbit_kill_all
      if grep -qs '^NODENAME=rabbit@localhost' /etc/rabbitmq/rabbitmq-env.conf; then rabbit_set_aside; fi
      rabbit_pin_localhost "retrying under a name that always resolves"
      as_root rabbitmq-plugins enable --offline rabbitmq_management >/dev/null 2>&1 || true
      rabbit_start_and_wait "$TIMEOUT" || { rabbit_diagnose; die "rabbitmq did not answer within ${TIMEOUT}s, twice"; }
    fi
  fi
  local t0=$SECONDS
  while ! mgmt_alive; do
    (( SECONDS - t0 < TIMEOUT )) || { rabbit_diagnose; die "rabbitmq management api did not answer within ${TIMEOUT}s"; }
    sleep 0.25
  done
  say "rabbitmq management api is up (waited $(( SECONDS - t0 ))s)"
  if (( started )); then rabbit_drop_test_vhosts; fi
  # deleting vhosts whose quorum queues the boot was still recovering can break parts of the quorum
  # machinery no probe sees (the dead-letter workers' supervisor gave up, and consumers were refused
  # minutes later): a node that dropped test vhosts at its start is restarted once, with none to recover
  if (( DROPPED_VHOSTS > 0 )) || ! rabbit_queues_work; then
    # the test vhosts are gone now, so a second boot has no queues of theirs to recover
    say "restarting rabbitmq once more, with no test queues left to recover"
    (( DROPPED_VHOSTS > 0 )) || rabbit_diagnose
    rabbit_stop_node
    rabbit_start_and_wait "$TIMEOUT" || { rabbit_diagnose; die "rabbitmq did not answer within ${TIMEOUT}s after a restart"; }
    t0=$SECONDS
    until mgmt_alive && rabbit_queues_work; do
      (( SECONDS - t0 < TIMEOUT )) || { rabbit_diagnose; die "rabbitmq refuses quorum queues even after a restart"; }
      sleep 1
    done
  fi
  say "rabbitmq declares and serves a quorum queue"
}

start_redis() {
  if redis_alive; then
    say "redis already running"
    return 0
  fi
  # systemd would create the runtime dir that Debian's redis.conf puts its pid file in
  as_root install -d -o redis -g redis -m 2755 /run/redis
  say "starting redis"
  as_user redis redis-server /etc/redis/redis.conf --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes >&2 9>&- \
    || die "redis-server failed to start (see /var/log/redis/)"
  await "redis" redis_alive
}

psql_su() { as_user postgres psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }

start_postgres() {
  local v; v="$(pg_major)"
  [ -n "$v" ] || die "no PostgreSQL server installed under /usr/lib/postgresql"
  if [ -z "$(pg_cluster_status "$v")" ]; then
    say "creating cluster $v/main on port $PG_PORT"
    as_root pg_createcluster "$v" main --port "$PG_PORT" >&2
  fi
  if pg_alive; then
    say "postgresql already running"
  else
    as_root install -d -o postgres -g postgres -m 2775 /var/run/postgresql
    say "starting postgresql $v/main"
    as_root pg_ctlcluster "$v" main start >&2 9>&- || die "pg_ctlcluster $v main start failed (see /var/log/postgresql/)"
    await "postgresql" pg_alive
  fi

  # role and database; Debian's pg_hba.conf already allows password (scram) logins from 127.0.0.1
  if [ "$(psql_su -tAc "SELECT 1 FROM pg_roles WHERE rolname = '${DB_USER}'")" != "1" ]; then
    say "creating role ${DB_USER}"
    psql_su -c "CREATE ROLE \"${DB_USER}\" LOGIN PASSWORD '${DB_PASS}'"
  fi
  # tests create (and drop) a database of their own each
  if [ "$(psql_su -tAc "SELECT rolcreatedb FROM pg_roles WHERE rolname = '${DB_USER}'")" != "t" ]; then
    psql_su -c "ALTER ROLE \"${DB_USER}\" CREATEDB"
  fi
  if [ "$(psql_su -tAc "SELECT 1 FROM pg_database WHERE datname = '${DB_NAME}'")" != "1" ]; then
    say "creating database ${DB_NAME}"
    psql_su -c "CREATE DATABASE \"${DB_NAME}\" OWNER \"${DB_USER}\""
  fi
  PGPASSWORD="$DB_PASS" PGCONNECT_TIMEOUT=5 \
    psql -X -h 127.0.0.1 -p "$PG_PORT" -U "$DB_USER" -d "$DB_NAME" -tAc 'SELECT 1' >/dev/null \
    || die "password login as ${DB_USER} to ${DB_NAME} failed"
}

# extra_redis PORT ARGS... : a Redis on PORT (no persistence) unless one answers there already
extra_redis() {
  local port="$1"; shift
  redis_port_alive "$port" && return 0
  as_root install -d -o redis -g redis -m 2750 "$REDIS_EXTRA_DIR/$port"
  as_user redis redis-server --bind 127.0.0.1 --port "$port" --dir "$REDIS_EXTRA_DIR/$port" --save "" --appendonly no \
    --daemonize yes --logfile "$REDIS_EXTRA_DIR/$port/redis.log" --pidfile "$REDIS_EXTRA_DIR/$port/redis.pid" "$@" >&2 9>&- \
    || die "redis-server on $port failed to start (see $REDIS_EXTRA_DIR/$port/redis.log)"
  local t0=$SECONDS
  until redis_port_alive "$port"; do
    (( SECONDS - t0 < TIMEOUT )) || die "redis on $port did not answer within ${TIMEOUT}s"
    sleep 0.1
  done
}

start_redis_cluster() {
  if cluster_ok; then
    say "redis cluster already running"
    return
  fi
  local p nodes=()
  for p in "${CLUSTER_PORTS[@]}"; do
    extra_redis "$p" --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000
    nodes+=("127.0.0.1:$p")
  done
  cluster_ok && { say "redis cluster is up"; return; }
  # half-made cluster from an earlier run: start over (the nodes hold no data worth keeping)
  for p in "${CLUSTER_PORTS[@]}"; do
    redis-cli -h 127.0.0.1 -p "$p" flushall >/dev/null 2>&1 || true
    redis-cli -h 127.0.0.1 -p "$p" cluster reset hard >/dev/null 2>&1 || true
  done
  say "creating redis cluster ${nodes[*]}"
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >&2 || die "redis cluster create failed"
  await "redis cluster" cluster_ok
}

start_redis_sentinel() {
  if sentinel_ok && redis_port_alive "${SENTINEL_DATA_PORTS[0]}" && redis_port_alive "${SENTINEL_DATA_PORTS[1]}"; then
    say "redis sentinel already running"
    return
  fi
  extra_redis "${SENTINEL_DATA_PORTS[0]}"
  extra_redis "${SENTINEL_DATA_PORTS[1]}" --replicaof 127.0.0.1 "${SENTINEL_DATA_PORTS[0]}"
  if ! redis_port_alive "$SENTINEL_PORT"; then
    # sentinel rewrites its config file: a fresh one each start, in a directory redis may write
    as_root install -d -o redis -g redis -m 2750 "$REDIS_EXTRA_DIR/sentinel"
    as_user redis sh -c "cat > '$REDIS_EXTRA_DIR/sentinel/sentinel.conf'" <<CONF
port $SENTINEL_PORT
bind 127.0.0.1
daemonize yes
logfile $REDIS_EXTRA_DIR/sentinel/sentinel.log
pidfile $REDIS_EXTRA_DIR/sentinel/sentinel.pid
sentinel monitor $SENTINEL_SERVICE 127.0.0.1 ${SENTINEL_DATA_PORTS[0]} 1
sentinel down-after-milliseconds $SENTINEL_SERVICE 1000
sentinel failover-timeout $SENTINEL_SERVICE 3000
CONF
    as_user redis redis-server "$REDIS_EXTRA_DIR/sentinel/sentinel.conf" --sentinel >&2 9>&- \
      || die "redis sentinel failed to start (see $REDIS_EXTRA_DIR/sentinel/sentinel.log)"
  fi
  await "redis sentinel" sentinel_ok
}

start_s3() {
  if s3_alive; then
    say "s3rver already running"
    return
  fi
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    say "installing nodejs and npm"
    as_root apt-get update -qq >&2 || die "apt-get update failed"
    as_root apt-get install -y -qq --no-install-recommends nodejs npm >&2 9>&- || die "apt-get install nodejs npm failed"
  fi
  as_root install -d -m 0755 "$S3_DIR" "$S3_DIR/data"
  if [ ! -f "$S3_DIR/node_modules/s3rver/bin/s3rver.js" ]; then
    say "installing s3rver $S3RVER_VERSION (npm) into $S3_DIR"
    as_root npm install --prefix "$S3_DIR" --no-audit --no-fund --silent "s3rver@$S3RVER_VERSION" >&2 9>&- \
      || die "npm install s3rver failed"
  fi
  say "starting s3rver on 127.0.0.1:$S3_PORT"
  # detached in its own session with every descriptor redirected, so it holds neither the lock nor a caller's pipe
  (cd / && as_root setsid -f node "$S3_DIR/node_modules/s3rver/bin/s3rver.js" --directory "$S3_DIR/data" --address 127.0.0.1 \
    --port "$S3_PORT" --silent --configure-bucket "$S3_BUCKET" </dev/null >"$S3_DIR/s3rver.log" 2>&1 9>&-) \
    || die "s3rver failed to start (see $S3_DIR/s3rver.log)"
  pgrep -n -f "s3rver.js --directory $S3_DIR/data" >"$S3_DIR/s3rver.pid" 2>/dev/null || true
  await "s3rver" s3_alive
}

# ---- optional: a private 3-node RabbitMQ cluster (fault tests) -----------------------------------
# Three nodes rabbit-c1..c3@localhost on AMQP ports 5681-5683 (Erlang distribution 25681-25683, no
# management plugin), data under $RC_DIR/cN, one Erlang cookie of their own in $RC_DIR; joined to c1.
# It never touches the shared node on 5672. Started only by the rabbit-cluster* commands.
RC_DIR="${RABBIT_CLUSTER_DIR:-/var/lib/broker-rabbit-cluster}"
RC_NODES=(1 2 3)
RC_BIN=/usr/lib/rabbitmq/bin

rc_node() { printf 'rabbit-c%s@localhost' "$1"; }
rc_port() { printf '%s' $(( 5680 + $1 )); }
# rc_env N CMD... : run CMD with node N's environment
rc_env() {
  local n="$1"; shift
  env HOME="$RC_DIR" \
    RABBITMQ_NODENAME="$(rc_node "$n")" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT="$(rc_port "$n")" RABBITMQ_DIST_PORT=$(( 25680 + n )) \
    RABBITMQ_MNESIA_BASE="$RC_DIR/c$n/mnesia" RABBITMQ_LOG_BASE="$RC_DIR/c$n/log" \
    RABBITMQ_PID_FILE="$RC_DIR/c$n/pid" RABBITMQ_CONFIG_FILE="$RC_DIR/rabbitmq.conf" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$RC_DIR/advanced.config" RABBITMQ_CONF_ENV_FILE="$RC_DIR/rabbitmq-env.conf" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$RC_DIR/enabled_plugins" "$@"
}
rc_ctl()     { local n="$1"; shift; rc_env "$n" "$RC_BIN/rabbitmqctl" -n "$(rc_node "$n")" "$@"; }
rc_running() { rc_env "$1" "$RC_BIN/rabbitmq-diagnostics" -q -n "$(rc_node "$1")" check_running >/dev/null 2>&1; }
rc_in_cluster() { rc_ctl 1 cluster_status --formatter json 2>/dev/null | grep -o '"disk_nodes":\[[^]]*\]' | grep -q "$(rc_node "$1")"; }

rc_prepare() {
  mkdir -p "$RC_DIR"
  if [ ! -s "$RC_DIR/.erlang.cookie" ]; then
    head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20 > "$RC_DIR/.erlang.cookie"
    chmod 400 "$RC_DIR/.erlang.cookie"
  fi
  [ -f "$RC_DIR/enabled_plugins" ] || printf '[].\n' > "$RC_DIR/enabled_plugins"
  [ -f "$RC_DIR/rabbitmq.conf" ] || printf 'log.console = false\nlog.file.level = warning\n' > "$RC_DIR/rabbitmq.conf"
  : > "$RC_DIR/rabbitmq-env.conf"
}

# rabbit_node_start N : start node N unless it runs (a node that was in the cluster rejoins it by itself)
rabbit_node_start() {
  local n="$1"
  rc_prepare
  if rc_running "$n"; then return 0; fi
  mkdir -p "$RC_DIR/c$n/log"
  say "starting $(rc_node "$n") on port $(rc_port "$n")"
  rc_env "$n" "$RC_BIN/rabbitmq-server" -detached >/dev/null 2>&1 9>&- || die "could not start $(rc_node "$n")"
}

rabbit_node_wait() {
  local n="$1" t0=$SECONDS
  until rc_running "$n"; do
    (( SECONDS - t0 < TIMEOUT )) || die "$(rc_node "$n") did not start within ${TIMEOUT}s (log: $RC_DIR/c$n/log)"
    sleep 0.5
  done
  say "$(rc_node "$n") is up (waited $(( SECONDS - t0 ))s)"
}

# rabbit_node_kill N : kill -9 node N's Erlang VM (a crash, not a stop)
rabbit_node_kill() {
  local n="$1" pid
  pid="$(cat "$RC_DIR/c$n/pid" 2>/dev/null || true)"
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then say "$(rc_node "$n") is not running"; return 0; fi
  say "kill -9 $(rc_node "$n") (pid $pid)"
  kill -9 "$pid"
}

rabbit_cluster_up() {
  local t0=$SECONDS n
  pkg_ok rabbitmq-server || install_missing
  for n in "${RC_NODES[@]}"; do rabbit_node_start "$n"; done
  for n in "${RC_NODES[@]}"; do rabbit_node_wait "$n"; done
  for n in "${RC_NODES[@]:1}"; do
    if ! rc_in_cluster "$n"; then
      say "joining $(rc_node "$n") to $(rc_node 1)"
      rc_ctl "$n" stop_app >/dev/null
      rc_ctl "$n" reset >/dev/null
      rc_ctl "$n" join_cluster "$(rc_node 1)" >/dev/null || die "join_cluster failed for $(rc_node "$n")"
      rc_ctl "$n" start_app >/dev/null
    fi
  done
  say "rabbitmq cluster of ${#RC_NODES[@]} nodes ready ($(( SECONDS - t0 ))s)"
  rabbit_cluster_env
}

rabbit_cluster_down() {
  local n
  for n in "${RC_NODES[@]}"; do
    if rc_running "$n"; then say "stopping $(rc_node "$n")"; rc_ctl "$n" stop >/dev/null 2>&1 || rabbit_node_kill "$n"; fi
  done
}

rabbit_cluster_env() {
  local nodes="" n
  for n in "${RC_NODES[@]}"; do nodes="${nodes:+$nodes,}127.0.0.1:$(rc_port "$n")"; done
  cat <<EOF
export RABBITMQ_CLUSTER_NODES='${nodes}'
export RABBITMQ_CLUSTER_URL='amqp://guest:guest@127.0.0.1:$(rc_port 1)/'
export RABBITMQ_CLUSTER_DIR='${RC_DIR}'
EOF
}

print_env() {
  cat <<EOF
export RABBITMQ_URL='amqp://guest:guest@127.0.0.1:${AMQP_PORT}/'
export RABBITMQ_MANAGEMENT_URL='http://guest:guest@127.0.0.1:${MGMT_PORT}/'
export REDIS_URL='127.0.0.1:${REDIS_PORT}'
export REDIS_CLUSTER_NODES='127.0.0.1:${CLUSTER_PORTS[0]},127.0.0.1:${CLUSTER_PORTS[1]},127.0.0.1:${CLUSTER_PORTS[2]}'
export REDIS_SENTINEL_NODES='127.0.0.1:${SENTINEL_PORT}'
export REDIS_SENTINEL_SERVICE='${SENTINEL_SERVICE}'
export PG_CONNECTION='Host=127.0.0.1;Port=${PG_PORT};Username=${DB_USER};Password=${DB_PASS};Database=${DB_NAME}'
export S3_ENDPOINT_URL='http://127.0.0.1:${S3_PORT}'
export S3_BUCKET='${S3_BUCKET}'
export S3_ACCESS_KEY_ID='S3RVER'
export S3_SECRET_ACCESS_KEY='S3RVER'
export PG_URL='postgresql://${DB_USER}:${DB_PASS}@127.0.0.1:${PG_PORT}/${DB_NAME}'
EOF
}

main() {
  local cmd="${1:-up}"
  # one run at a time (two test runs starting the same daemons would race); every daemon is started
  # with fd 9 closed (9>&-) so that it does not inherit, and hold forever, this lock
  exec 9>"${TMPDIR:-/tmp}/broker-services.lock"
  flock -w "$(( TIMEOUT * 4 ))" 9 || die "another scripts/services.sh is still running"
  case "$cmd" in
    up)
      local t0=$SECONDS
      install_missing
      start_rabbitmq
      start_redis
      start_redis_cluster
      start_redis_sentinel
      start_postgres
      start_s3
      say "all services ready ($(( SECONDS - t0 ))s)"
      print_env
      ;;
    down) stop_all ;;
    env)  print_env ;;
    --rabbit-cluster|rabbit-cluster) rabbit_cluster_up ;;
    rabbit-cluster-down) rabbit_cluster_down ;;
    rabbit-node-kill)  rabbit_node_kill "${2:?node number 1-3}" ;;
    rabbit-cluster-vhost)
      rc_ctl 1 add_vhost "${2:?vhost}" >/dev/null 2>&1 || rc_ctl 1 list_vhosts -q | grep -qx "$2" || die "add_vhost $2 failed"
      rc_ctl 1 set_permissions -p "$2" guest '.*' '.*' '.*' >/dev/null ;;
    rabbit-cluster-vhost-delete)
      for n in "${RC_NODES[@]}"; do rc_running "$n" && { rc_ctl "$n" delete_vhost "${2:?vhost}" >/dev/null 2>&1 || true; break; }; done ;;
    rabbit-node-start) rabbit_node_start "${2:?node number 1-3}"; rabbit_node_wait "$2" ;;
    *)    die "usage: $0 [up|down|env|rabbit-cluster|rabbit-cluster-down|rabbit-node-kill N|rabbit-node-start N|rabbit-cluster-vhost[-delete] NAME]" ;;
  esac
}

main "$@"
