#!/usr/bin/env bash
# Broker's fault suite: tests that break the infrastructure under load (tests tagged Category=Fault).
#
#   scripts/fault-tests.sh            start/check the shared services and the private 3-node RabbitMQ
#                                     cluster (scripts/services.sh rabbit-cluster), then run the fault tests
#   scripts/fault-tests.sh --no-build any extra arguments go to `dotnet test` unchanged
#
# Not part of ./test.sh: starting three RabbitMQ nodes takes a minute or more on a busy two-core machine, and
# the tests kill -9 cluster nodes (never the shared RabbitMQ on 5672). Stop the cluster afterwards with
# `scripts/services.sh rabbit-cluster-down`.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

services_env="$(scripts/services.sh)" || { echo "fault-tests.sh: scripts/services.sh failed" >&2; exit 1; }
eval "$services_env"
cluster_env="$(scripts/services.sh rabbit-cluster)" || { echo "fault-tests.sh: the RabbitMQ cluster did not start" >&2; exit 1; }
eval "$cluster_env"

exec dotnet test tests/Host.Tests/Broker.Host.Tests.csproj -c Release --filter "Category=Fault" \
  --logger "console;verbosity=detailed" "$@"
