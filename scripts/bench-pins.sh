#!/usr/bin/env bash
# Pinned vs unpinned append.lua, measured on Redis itself: redis-benchmark runs EVALSHA of the script (no client
# library in the way) against one conversation at its window (MaxTurns 10 = 20 messages, plus a system prompt under
# the pin rule), so that every call trims. For each rule it reports throughput and Redis's own time per call
# (INFO commandstats usec_per_call). Usage: scripts/bench-pins.sh [old-append.lua] — with a second script, both are
# measured in the same pass, rule by rule, alternating, so that foreign load hits both alike.
set -euo pipefail
cd "$(dirname "$0")/.."
NEW=src/RactoGateway.Redis/Scripts/append.lua
OLD=${1:-}
N=${N:-200000}
CLIENTS=${CLIENTS:-64}
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DIR=$(mktemp -d)
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR" --daemonize no >"$DIR/log" 2>&1 &
PID=$!
trap 'kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; rm -rf "$DIR"' EXIT
cli() { redis-cli -h 127.0.0.1 -p "$PORT" "$@"; }
for _ in $(seq 50); do cli ping >/dev/null 2>&1 && break; sleep 0.1; done

MSG='{"role":"user","content":"How warm will it be in Paris tomorrow afternoon, and should I take an umbrella?"}'
SYS='{"role":"system","content":"You are a terse assistant. Answer in one sentence."}'
run() { # label sha rule pinned
  local label=$1 sha=$2 rule=$3 pinned=$4 key="bench:$1"
  cli del "$key" >/dev/null
  [ "$pinned" = 1 ] && cli rpush "$key" "$SYS" >/dev/null
  for _ in $(seq 20); do cli rpush "$key" "$MSG" >/dev/null; done
  cli config resetstat >/dev/null
  local cpu0
  cpu0=$(cpu)
  local rps
  rps=$(redis-benchmark -h 127.0.0.1 -p "$PORT" -c "$CLIENTS" -n "$N" -P 16 --csv \
        evalsha "$sha" 1 "$key" 20 0 "$rule" "" "$MSG" | tail -1 | awk -F, '{print $(NF-6)}' | tr -d '"')
  local usec
  usec=$(cli info commandstats | grep '^cmdstat_evalsha:' | sed 's/.*usec_per_call=\([0-9.]*\).*/\1/')
  local cpus
  cpus=$(python3 -c "print(($(cpu) - $cpu0) * 1e6 / $N)")
  local len
  len=$(cli llen "$key")
  printf '%-4s rule=%-7s %8.0f calls/s  %6.2f us/call (commandstats)  %6.2f us CPU/call (redis-server)  list length %s\n' \
    "$label" "'$rule'" "$rps" "$usec" "$cpus" "$len"
  echo "$label ${rule:-seed} $rps $usec $cpus" >>"$DIR/results"
}
# redis-server's own CPU seconds (user + sys), from INFO cpu: unlike commandstats' wall time, not inflated when the
# server is preempted by other processes.
cpu() { cli info cpu | tr -d '\r' | awk -F: '/^used_cpu_(user|sys):/ {s += $2} END {printf "%.6f", s}'; }
NEWSHA=$(cli script load "$(cat "$NEW")")
[ -n "$OLD" ] && OLDSHA=$(cli script load "$(cat "$OLD")")
echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), $CLIENTS clients, -P 16, $N calls per cell; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "${ROUNDS:-1}"); do
for rule in "" "t" "s" "st"; do
  newrule=${rule/s/s32}
  [ -n "$OLD" ] && run "old" "$OLDSHA" "$rule" "$([[ $rule == *s* ]] && echo 1 || echo 0)"
  run "new" "$NEWSHA" "$newrule" "$([[ $rule == *s* ]] && echo 1 || echo 0)"
done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
# Medians over the rounds, and each rule against the seed rule of the same script (same-run ratios).
python3 - "$DIR/results" <<'PY'
import statistics, sys
cells = {}
for line in open(sys.argv[1]):
    label, rule, rps, usec, cpu = line.split()
    cells.setdefault((label, rule), []).append((float(rps), float(usec), float(cpu)))
med = {k: tuple(statistics.median(v[i] for v in vs) for i in range(3)) for k, vs in cells.items()}
print(f"medians over {max(len(v) for v in cells.values())} round(s); ratio = this rule / seed rule of the same script")
print(f"{'script':6} {'rule':6} {'calls/s':>9} {'us/call':>8} {'CPU us':>7}   {'throughput':>10} {'Redis time':>10} {'Redis CPU':>9}")
for (label, rule), (rps, usec, cpu) in med.items():
    s = med[(label, 'seed')]
    print(f"{label:6} {rule:6} {rps:9.0f} {usec:8.2f} {cpu:7.2f}   {rps / s[0]:10.2f} {s[1] / usec:10.2f} {s[2] / cpu:9.2f}")
PY
