#!/usr/bin/env bash
# Builds and runs every test against real servers (redis-server from Debian, Redis 8, Valkey 8, Garnet, a cluster), installing
# what is missing, and ends with one line: "tests: N passed, M failed, K skipped".
#   scripts/test.sh            the whole suite
#   scripts/test.sh --faults   also the long fault tests (Trait Category=Faults), as CI does
#   scripts/test.sh --fast     the unit tier alone (tests/RactoGateway.Redis.UnitTests): no server, no install, under a minute
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

filter=(--filter "Category!=Faults")
target=RactoGateway.Redis.slnx fast=0
case "${1:-}" in
  "") ;;
  --faults) filter=() ;;
  --fast) target=tests/RactoGateway.Redis.UnitTests fast=1 ;;
  *) echo "usage: scripts/test.sh [--faults | --fast]" >&2; exit 2 ;;
esac

# redis-server and redis-cli run the single servers and the Redis Cluster (redis-cli --cluster create); openssl makes
# the TLS test's CA and certificate; python3 checks interop.
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v openssl >/dev/null || need+=(openssl)
command -v python3 >/dev/null || need+=(python3)
if ((!fast && ${#need[@]})); then
  echo "installing: ${need[*]}" >&2
  sudo=""; [[ $(id -u) == 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

results=$(mktemp -d)
# Every redis-server the fixtures start leaves its pid here; any the test runner's shutdown cut short is stopped below.
export CHATMEM_TEST_PIDS="$results/pids"
# Tests that report a figure (the model-validity property test's sequence count) append a line here; printed below.
export CHATMEM_TEST_REPORT="$results/report.txt"
mkdir -p "$CHATMEM_TEST_PIDS"
stop_leftovers() {
  for file in "$CHATMEM_TEST_PIDS"/*; do
    [[ -f "$file" ]] || continue
    pid=$(basename "$file")
    # The file holds the process's name (/proc/<pid>/comm: redis-server, valkey-server, dotnet for the Garnet host),
    # so that a pid reused since by something else is never stopped.
    [[ -s "$file" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$(cat "$file")" ]] && kill "$pid" 2>/dev/null
  done
  return 0
}
launcher=""
stop_servers() {
  # The shared servers' launcher stops each server by its own pid on SIGTERM; stop_leftovers catches any it missed.
  if [[ -n "$launcher" ]]; then
    kill "$launcher" 2>/dev/null && for _ in $(seq 100); do kill -0 "$launcher" 2>/dev/null || break; sleep 0.1; done
    launcher=""
  fi
}
trap 'stop_servers; stop_leftovers; rm -rf "$results"' EXIT
status=0
dotnet build "$target" -c Release -nologo -clp:ErrorsOnly || { echo "tests: 0 passed, 1 failed, 0 skipped"; exit 1; }

# The unit tier (--fast) needs no server; everything else runs against the shared servers started here.
if ((!fast)); then
  # The servers of the matrix beyond Debian's redis-server: scripts/test-servers.sh builds Redis 8 (cached outside the
  # clone) and installs Valkey 8, and prints CHATMEM_REDIS8_SERVER=... and CHATMEM_VALKEY_SERVER=... lines.
  servers_env=$(bash scripts/test-servers.sh) || { echo "scripts/test-servers.sh failed" >&2; echo "tests: 0 passed, 1 failed, 0 skipped"; exit 1; }
  while IFS= read -r line; do
    [[ "$line" == CHATMEM_*=* ]] && export "${line?}"
  done <<<"$servers_env"

  # Every shared server (redis, redis8, valkey, garnet, garnet-vector, cluster, acl) starts once for all four test
  # assemblies; the launcher lists them in $CHATMEM_TEST_SERVERS and runs until stopped (or until this script is gone).
  export CHATMEM_TEST_SERVERS="$results/servers.json"
  dotnet tests/RactoGateway.Redis.TestServers/bin/Release/net10.0/RactoGateway.Redis.TestServers.dll \
    "$CHATMEM_TEST_SERVERS" --until-pid $$ >"$results/servers.log" 2>&1 &
  launcher=$!
  for _ in $(seq 1200); do   # 120 s: the cluster forms in seconds, Garnet loads in a few
    [[ -f "$CHATMEM_TEST_SERVERS" ]] && break
    kill -0 "$launcher" 2>/dev/null || break
    sleep 0.1
  done
  if [[ ! -f "$CHATMEM_TEST_SERVERS" ]]; then
    echo "the shared test servers did not start; the launcher's log:" >&2
    cat "$results/servers.log" >&2
    echo "tests: 0 passed, 1 failed, 0 skipped"
    exit 1
  fi
fi
dotnet test "$target" -c Release --no-build -nologo \
  "${filter[@]}" \
  --blame-hang-timeout 5m \
  --logger "trx" --logger "console;verbosity=minimal" --results-directory "$results" || status=$?
if ((!fast)); then
  # The core behaviour again on the plain transport (StackExchange.Redis's own calls instead of the pooled,
  # auto-pipelined path; TestBed reads the variable): a few classes, not the whole suite twice.
  CHATMEM_TEST_TRANSPORT=plain dotnet test tests/RactoGateway.Redis.Tests -c Release --no-build -nologo \
    --filter "FullyQualifiedName~.AppendAndReadTests|FullyQualifiedName~.WindowTests|FullyQualifiedName~.CorruptElementTests|FullyQualifiedName~.ConcurrencyTests" \
    --blame-hang-timeout 5m \
    --logger "trx;LogFileName=plain-transport.trx" --logger "console;verbosity=minimal" --results-directory "$results" || status=$?
fi
stop_servers

passed=0 failed=0 skipped=0
for trx in "$results"/*.trx; do
  [[ -f "$trx" ]] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  get() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  total=$(get total) executed=$(get executed)
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + total - executed))
done
[[ -f "$CHATMEM_TEST_REPORT" ]] && cat "$CHATMEM_TEST_REPORT"
if ((status != 0 && failed == 0)); then failed=1; fi   # the runner failed without a failing test (crash, hang)
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $((failed > 0 ? 1 : status))
