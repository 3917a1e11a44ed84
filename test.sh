#!/usr/bin/env bash
# Broker's one test command.
#
#   ./test.sh                          start/check the local services, run every test project
#   ./test.sh --filter Category=Unit   any extra arguments go to `dotnet test` unchanged
#                                      (without --filter: every test but the fault suite, Category=Fault,
#                                      which scripts/fault-tests.sh runs against a 3-node RabbitMQ cluster)
#
# Steps: scripts/services.sh (RabbitMQ, Redis, PostgreSQL on 127.0.0.1; exports their URLs), then
# `dotnet test Broker.sln -c Release` with one TRX file per test project, collected into
# artifacts/test-results/, and last a single summary line "N passed, N failed" summed over them.
# Exit status: non-zero when the services could not be started, when `dotnet test` failed (build
# error, failed or aborted test), when any test failed, or when no test ran at all.
#
# Environment: TEST_RESULTS_DIR (default artifacts/test-results), TEST_HANG_TIMEOUT (per-test hang
# limit before the test host is killed, default 15m; "0" turns it off).
# Do not pass --results-directory: the TRX files are collected from each project's TestResults/.
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export DOTNET_GENERATE_ASPNET_CERTIFICATE=false
export DOTNET_CLI_UI_LANGUAGE=en
export NUGET_XMLDOC_MODE=skip
# every in-process host (brokers, fake providers) would otherwise watch its appsettings files with one
# inotify instance each; the per-user limit (128 by default) is shared with any other test run on the machine
export DOTNET_hostBuilder__reloadConfigOnChange=false

RESULTS_DIR="${TEST_RESULTS_DIR:-artifacts/test-results}"
HANG_TIMEOUT="${TEST_HANG_TIMEOUT:-15m}"
TRX_NAME="broker-tests.trx"   # written by every test project into <project>/TestResults/

note() { printf 'test.sh: %s\n' "$*" >&2; }

# ---- 1. services --------------------------------------------------------------------------------
# (captured first: `eval "$(cmd)"` alone would hide a failure of cmd)
if ! services_env="$(scripts/services.sh)"; then
  note "FAILED: scripts/services.sh could not start RabbitMQ/Redis/PostgreSQL (log above)"
  echo "0 passed, 1 failed"
  exit 1
fi
eval "$services_env"
note "services ready: RABBITMQ_URL=$RABBITMQ_URL REDIS_URL=$REDIS_URL"

# ---- 2. tests -----------------------------------------------------------------------------------
# stale results must never be counted: clear the collected ones and every project's own TRX file
rm -rf "$RESULTS_DIR"
mkdir -p "$RESULTS_DIR"
find . -path ./artifacts -prune -o -path ./.git -prune -o \
  -type f -name "$TRX_NAME" -path '*/TestResults/*' -print0 | xargs -0 -r rm -f

extra=()
# the fault suite (Category=Fault: kills RabbitMQ cluster nodes) runs with scripts/fault-tests.sh, not here,
# unless a --filter given here selects it
case " $* " in
  *" --filter "*|*" --filter="*) ;;
  *) extra+=(--filter "Category!=Fault") ;;
esac
if [ "$HANG_TIMEOUT" != "0" ]; then
  extra+=(--blame-hang-timeout "$HANG_TIMEOUT" --blame-hang-dump-type none)
fi

note "dotnet test Broker.sln -c Release $*"
set +e
dotnet test Broker.sln -c Release \
  --logger "console;verbosity=normal" \
  --logger "trx;LogFileName=$TRX_NAME" \
  "${extra[@]}" "$@"
test_rc=$?
set -e

# collect: tests/Config.Tests/TestResults/broker-tests.trx -> $RESULTS_DIR/tests_Config.Tests.trx
while IFS= read -r -d '' trx; do
  project_dir="$(dirname "$(dirname "${trx#./}")")"
  mv -f "$trx" "$RESULTS_DIR/${project_dir//\//_}.trx"
done < <(find . -path ./artifacts -prune -o -path ./.git -prune -o \
           -type f -name "$TRX_NAME" -path '*/TestResults/*' -print0)

# ---- 3. count -----------------------------------------------------------------------------------
# Sum the attributes of each TRX file's <Counters .../> element (one per file, attributes in any order;
# newlines are flattened first so a tag split over lines still matches). Plain awk: no python/xmllint.
counts="$(
  find "$RESULTS_DIR" -maxdepth 1 -type f -name '*.trx' -print0 | xargs -0 -r cat | tr '\r\n' '  ' | awk '
    function attr(tag, name,    re) {
      re = " " name "=\"[0-9]+\""
      if (match(tag, re)) { return substr(tag, RSTART + length(name) + 3, RLENGTH - length(name) - 4) + 0 }
      return 0
    }
    {
      line = $0
      while (match(line, /<Counters[^>]*>/)) {
        tag = substr(line, RSTART, RLENGTH)
        line = substr(line, RSTART + RLENGTH)     # before attr(): its match() resets RSTART/RLENGTH
        files++
        total += attr(tag, "total"); executed += attr(tag, "executed")
        passed += attr(tag, "passed"); failed += attr(tag, "failed")
        errors += attr(tag, "error"); timeouts += attr(tag, "timeout"); aborted += attr(tag, "aborted")
      }
    }
    END {
      printf "%d %d %d %d %d %d\n", files, total, executed, passed, failed + errors + timeouts + aborted, total - executed
    }'
)"
read -r trx_files total executed passed failed skipped <<<"$counts"

# name every failed test with the start of its message, last, where a log tail still shows it
failures="$(
  find "$RESULTS_DIR" -maxdepth 1 -type f -name '*.trx' -print0 | xargs -0 -r cat | tr '\r\n' '  ' | awk '
    {
      line = $0
      while (match(line, /<UnitTestResult [^>]*outcome="(Failed|Timeout|Aborted|Error)"[^>]*>/)) {
        tag = substr(line, RSTART, RLENGTH)
        line = substr(line, RSTART + RLENGTH)
        name = ""
        if (match(tag, / testName="[^"]*"/)) { name = substr(tag, RSTART + 11, RLENGTH - 12) }
        msg = ""
        end = index(line, "</UnitTestResult>")
        body = end > 0 ? substr(line, 1, end) : line
        if (match(body, /<Message>[^<]*<\/Message>/)) { msg = substr(body, RSTART + 9, RLENGTH - 19) }
        gsub(/  +/, " ", msg)
        printf "  FAILED %s: %s\n", name, substr(msg, 1, 700)
      }
    }'
)"
if [ -n "$failures" ]; then
  note "failed tests:"
  printf '%s\n' "$failures" >&2
fi

status=0
if [ "$test_rc" -ne 0 ]; then
  note "FAILED: dotnet test exited with $test_rc"
  status=1
fi
if [ "$failed" -gt 0 ]; then
  note "FAILED: $failed test(s) failed"
  status=1
fi
if [ "$trx_files" -eq 0 ] || [ "$executed" -eq 0 ] || [ $(( passed + failed )) -eq 0 ]; then
  note "FAILED: no test ran (TRX files found: $trx_files in $RESULTS_DIR)"
  status=1
fi
note "results: $trx_files TRX file(s) in $RESULTS_DIR; total $total, executed $executed, skipped/not run $skipped"

echo "$passed passed, $failed failed"
exit "$status"
