#!/usr/bin/env bash
# Measures chatmem against redis-benchmark in one run on one loopback redis-server, and writes docs/performance.md
# (tables and ratios) and docs/performance.svg (throughput against concurrency). Installs what it needs.
#   scripts/bench.sh              about 5 minutes
#   BENCH_SECONDS=2 scripts/bench.sh   shorter runs
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
seconds=${BENCH_SECONDS:-5}
levels=(1 4 16 64 256)

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-benchmark >/dev/null || need+=(redis-tools)
command -v python3 >/dev/null || need+=(python3)
if ((${#need[@]})); then
  sudo=""; [[ $(id -u) == 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no --dir "$work" >"$work/redis.log" 2>&1 &
redis_pid=$!
trap 'kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done

echo "building..." >&2
dotnet build src/RactoGateway.Redis.Cli -c Release -nologo -clp:ErrorsOnly >&2
dotnet build bench/RactoGateway.Redis.BenchReport -c Release -nologo -clp:ErrorsOnly >&2
chatmem() { dotnet src/RactoGateway.Redis.Cli/bin/Release/net10.0/chatmem.dll "$@"; }
results="$work/results.jsonl"

payload=$(python3 -c 'import json; print(json.dumps({"role": "user", "content": "x" * 178}))')   # 200 bytes, as the anchors
lua="redis.call('rpush',KEYS[1],ARGV[1]); redis.call('ltrim',KEYS[1],-40,-1); redis.call('expire',KEYS[1],1800); return 1"

# redis-benchmark --csv: "test","rps","avg","min","p50","p95","p99","max" -> one JSON line. The test name is the
# command itself and may hold commas (the Lua script), so the figures are read from the end of the line.
raw() { # tool scenario concurrency redis-benchmark-args...
  local tool=$1 scenario=$2 c=$3; shift 3
  redis-benchmark -p "$port" --csv "$@" | tail -n 1 | tr -d '"' |
    awk -F, -v t="$tool" -v s="$scenario" -v c="$c" '{printf "{\"kind\":\"run\",\"tool\":\"%s\",\"scenario\":\"%s\",\"concurrency\":%d,\"ops_per_sec\":%s,\"p50_ms\":%s,\"p99_ms\":%s}\n", t, s, c, $(NF-6), $(NF-3), $(NF-1)}' >>"$results"
}
ours() { # scenario concurrency [extra chatmem args]
  local scenario=$1 c=$2; shift 2
  chatmem --redis "127.0.0.1:$port" --max-turns 20 --ttl 1800 bench --scenario "$scenario" --concurrency "$c" \
    --duration "$seconds" --warmup 1 --json "$@" | sed 's/^{/{"kind":"run","tool":"chatmem",/' >>"$results"
}

for c in "${levels[@]}"; do
  echo "concurrency $c" >&2
  n=$((c >= 16 ? 400000 : 100000))
  raw redis-benchmark append "$c" -n "$n" -c "$c" -P 16 -r 1000 eval "$lua" 1 "bench:lim:__rand_int__" "$payload"
  raw redis-benchmark read "$c" -n "$n" -c "$c" -P 16 -r 1000 lrange "bench:lim:__rand_int__" 0 -1
  ours append "$c"
  ours read "$c"
done
raw redis-benchmark-serial append 1 -n 50000 -c 1 -P 1 -r 1000 eval "$lua" 1 "bench:lim:__rand_int__" "$payload"
raw redis-benchmark-serial read 1 -n 50000 -c 1 -P 1 -r 1000 lrange "bench:lim:__rand_int__" 0 -1

# Cost must not grow with data: 1 thousand against about 1 million stored conversations, and one conversation after
# 10 thousand against 100 thousand appends (the window keeps it at 40 messages).
growth() { # case-name chatmem-args...
  local name=$1; shift
  chatmem --redis "127.0.0.1:$port" --max-turns 20 --ttl 1800 "$@" --json |
    sed "s/^{/{\"kind\":\"growth\",\"case\":\"$name\",/" >>"$results"
}
echo "growth" >&2
growth "append, 1 thousand conversations stored" --prefix few bench --scenario append --conversations 1000 --concurrency 64 --duration "$seconds"
awk 'BEGIN { for (i = 0; i < 1000000; i++) printf "RPUSH many:bench:%d x\r\n", i }' | redis-cli -p "$port" --pipe >/dev/null
growth "append, 1 million conversations stored" --prefix many bench --scenario append --conversations 1000000 --concurrency 64 --duration "$seconds"
growth "append to one conversation, first 10 thousand" --prefix one bench --scenario append --conversations 1 --concurrency 1 --ops 10000
chatmem --redis "127.0.0.1:$port" --max-turns 20 --prefix one bench --scenario append --conversations 1 --concurrency 1 --ops 80000 --json >/dev/null
growth "append to one conversation, 90 to 100 thousand" --prefix one bench --scenario append --conversations 1 --concurrency 1 --ops 10000
echo "keys in redis: $(redis-cli -p "$port" dbsize)" >&2

dotnet bench/RactoGateway.Redis.BenchReport/bin/Release/net10.0/RactoGateway.Redis.BenchReport.dll "$results" docs ../shared/notes/measured-anchors.md
cp "$results" docs/performance.jsonl
