#!/usr/bin/env bash
# Builds and runs every test against real servers (redis-server from Debian, Garnet in-process), installing
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
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == redis-server ]] && kill "$pid" 2>/dev/null
  done
  return 0
}
trap 'stop_leftovers; rm -rf "$results"' EXIT
status=0
dotnet build "$target" -c Release -nologo -clp:ErrorsOnly || { echo "tests: 0 passed, 1 failed, 0 skipped"; exit 1; }
dotnet test "$target" -c Release --no-build -nologo \
  "${filter[@]}" \
  --blame-hang-timeout 5m \
  --logger "trx" --logger "console;verbosity=minimal" --results-directory "$results" || status=$?

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
