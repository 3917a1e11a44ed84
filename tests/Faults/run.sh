#!/usr/bin/env bash
# The fault suite (issue #15): Broker distributed - 2 Ingress, 2 workers and Billing as separate `broker --role`
# processes - on a private RabbitMQ node, PostgreSQL cluster and Redis server that the suite starts on free ports
# (it never touches the shared services on the default ports), under steady load of 8 clients, one fault at a time:
# kill -9 of a worker, of Billing, of an Ingress and of the worker whose saga just sent a fallback; RabbitMQ
# stop_app/start_app; PostgreSQL stopped for 30 s; Redis stopped. Prints one row per fault and exits 1 when a
# guarantee of docs/guarantees.md is broken (2 when the suite itself could not run).
#
#   tests/Faults/run.sh                       # all faults, about 5-8 minutes
#   tests/Faults/run.sh --faults worker-kill,rabbitmq-stop --rabbitmq-outage 10
#   tests/Faults/run.sh --strict              # also issue #15's targets docs/guarantees.md lists as not yet guaranteed
#   tests/Faults/run.sh --help                # every option (durations are configurable)
#
# Needs root (or the postgres/rabbitmq users) and the binaries scripts/services.sh installs: rabbitmq-server,
# redis-server, PostgreSQL under /usr/lib/postgresql/*/bin. SKIP_BUILD=1 reuses the last Release build.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  dotnet build src/Host/Broker.Host.csproj -c Release -v quiet -nologo >&2
  dotnet build tests/Faults/Broker.Faults.csproj -c Release -v quiet -nologo >&2
fi
exec dotnet tests/Faults/bin/Release/net10.0/Broker.Faults.dll --broker src/Host/bin/Release/net10.0/broker.dll "$@"
