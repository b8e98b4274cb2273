#!/usr/bin/env bash
# Obtains the servers the test matrix adds beyond Debian 12's own redis-server 7.0, caches them outside the clone keyed
# by version, and prints where they are, one NAME=absolute-path line each, on stdout and nothing else:
#   CHATMEM_REDIS8_SERVER=/…/redis-8.0.2/redis-server     Redis 8 with vector sets, built from Debian 13's source
#   CHATMEM_VALKEY_SERVER=/…/valkey-8.0.1/valkey-server   Valkey 8 from Debian 12 bookworm-backports, extracted
# Progress, timings and logs go to stderr. Exit status is non-zero when a server cannot be obtained: a missing cache
# means a build, and a build that fails is a failure, never a skip.
#
# Cache: ${CHATMEM_SERVER_CACHE:-/var/cache/ractogateway-test-servers}, or ${XDG_CACHE_HOME:-~/.cache}/… when /var/cache
# is not writable. Each entry appears with one rename of a finished, verified directory, and acquisitions take a lock
# per server, so two runs at once neither corrupt the cache nor build twice.
# The apt lookups use a private sources list, list dir and cache dir (created per run and removed), so the system's
# own apt lists stay Debian 12's; the only change to the system is installing missing Debian 12 packages (the C
# toolchain for the build, Valkey's runtime libraries).
set -euo pipefail

# ---- Pins: the only place versions live. --------------------------------------------------------------------------
# Redis 8: Debian 13 (trixie) ships it, but its binary package needs libc6 >= 2.38 (Debian 12 has 2.36), so the
# upstream tarball of Debian's source package is built here. The hash is the one trixie's signed Sources index gives
# for the file; the URL is where that index points. The build needs no Debian patch, so only the orig tarball is used.
REDIS8_VERSION=8.0.2
REDIS8_ORIG=redis_${REDIS8_VERSION}.orig.tar.gz
REDIS8_ORIG_SHA256=caf3c0069f06fc84c5153bd2a348b204c578de80490c73857bee01d9b5d7401f
REDIS8_ORIG_URL=http://deb.debian.org/debian/pool/main/r/redis/$REDIS8_ORIG
# Valkey 8: bookworm-backports' packages run on Debian 12's libc; valkey-tools holds the binary, valkey-server the link.
VALKEY_VERSION=8.0.1
VALKEY_DEB_VERSION=8.0.1+dfsg1-1~bpo12+1
VALKEY_TOOLS_SHA256=d2c2ea67642fa9571a07138b80ae52ebe566311c952aef25a39c1d5050697853
VALKEY_SERVER_SHA256=986d97e75766d9b18c56159dd904337ec0a1222977235cad7ba56ddc4fd856eb
# Debian 12 packages Valkey's binary links against (valkey-tools' Depends, minus adduser, which only the service needs).
VALKEY_RUNTIME_PACKAGES=(libatomic1 libjemalloc2 liblzf1 libssl3 libsystemd0)
DEBIAN_MIRROR=http://deb.debian.org/debian
DEBIAN_SECURITY_MIRROR=http://deb.debian.org/debian-security
DEBIAN_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# ---------------------------------------------------------------------------------------------------------------------

# stdout is the contract: keep it on fd 3 and send everything else, including every tool's output, to stderr.
exec 3>&1 1>&2
export DEBIAN_FRONTEND=noninteractive
exec </dev/null

log() { echo "test-servers: $*"; }
fail() { echo "test-servers: FAILED: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

cache=${CHATMEM_SERVER_CACHE:-}
if [[ -z "$cache" ]]; then
  cache=/var/cache/ractogateway-test-servers
  if ! mkdir -p "$cache" 2>/dev/null || [[ ! -w "$cache" ]]; then
    cache=${XDG_CACHE_HOME:-$HOME/.cache}/ractogateway-test-servers
  fi
fi
mkdir -p "$cache"
cache=$(cd "$cache" && pwd -P)

# Everything this run creates and starts, removed and stopped on any exit.
temps=()
server_pid=""
cleanup() {
  local dir
  [[ -z "$server_pid" ]] || { kill "$server_pid" && wait "$server_pid"; } 2>/dev/null || true
  for dir in "${temps[@]}"; do rm -rf "$dir"; done
  return 0
}
trap cleanup EXIT

sudo=""
[[ $(id -u) == 0 ]] || sudo="sudo"
system_updated=no
# Installs the named Debian 12 packages that are missing, from the system's own apt sources.
ensure_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" == "install ok installed" ]] || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  log "installing from Debian 12: ${missing[*]}"
  if [[ $system_updated == no ]]; then
    $sudo apt-get update -qq || fail "apt-get update"
    system_updated=yes
  fi
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || fail "apt-get install ${missing[*]}"
}

# A private apt configuration in $1 with the deb822 stanzas in $2; sets the array apt_opts for apt-get and apt-cache.
private_apt() {
  local dir=$1
  mkdir -p "$dir/etc/sources.list.d" "$dir/lists/partial" "$dir/cache/archives/partial"
  : >"$dir/etc/sources.list"
  printf '%s\n' "$2" >"$dir/etc/sources.list.d/private.sources"
  apt_opts=(-o "Dir::Etc::sourcelist=$dir/etc/sources.list" -o "Dir::Etc::sourceparts=$dir/etc/sources.list.d"
    -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache" -o "APT::Sandbox::User=root")
  apt-get "${apt_opts[@]}" -qq update || fail "apt-get update of the private sources in $dir"
}

# Sets work to a new directory under the cache (same file system, so the finished entry can be renamed into place).
new_temp() {
  work=$(mktemp -d "$cache/.tmp-$1-XXXXXX")
  temps+=("$work")
}

# Starts "$1" (a server binary) on a free loopback port with no persistence; sets server_pid and server_port.
start_server() {
  local binary=$1 dir=$2 cli=$3 attempt port deadline
  for attempt in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    if (exec 4<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi
    "$binary" --bind 127.0.0.1 --port "$port" --save "" --appendonly no --dir "$dir" \
      --logfile "$dir/server.log" --daemonize no &
    server_pid=$!
    deadline=$((SECONDS + 30))
    while ((SECONDS < deadline)); do
      if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
      if [[ "$("$cli" -h 127.0.0.1 -p "$port" PING 2>/dev/null)" == PONG ]]; then
        server_port=$port
        return 0
      fi
      sleep 0.1
    done
    stop_server
    tail -n 20 "$dir/server.log" 2>/dev/null || true
  done
  fail "$binary did not answer PING on a loopback port after 5 attempts"
}
stop_server() {
  { kill "$server_pid" && wait "$server_pid"; } 2>/dev/null || true
  server_pid=""
}

# Checks the cache entry $1 (a directory holding $2, the server binary) and prints it; 1 when it is not there.
cached() {
  local dir=$1 binary=$1/$2 want=$3
  [[ -f "$dir/.complete" && -x "$binary" ]] || return 1
  # A cheap check that the cached binary still runs here (a removed library would show now, not mid-test).
  [[ "$("$binary" --version)" == *"v=$want "* ]] || fail "$binary is cached but does not run as $want: remove $dir"
}

# Runs "$2" (a function that builds into the directory it is given) once under the server's lock, unless the
# entry $1 already exists; reports how long it took and where it came from.
acquire() {
  local name=$1 binary=$2 want=$3 build=$4 start dir=$cache/$1 lock work
  start=$(now)
  if cached "$dir" "$binary" "$want"; then
    log "$name: from the cache $dir ($(elapsed "$start") s)"
    return 0
  fi
  exec {lock}>"$cache/.lock-$name"
  log "$name: not cached; waiting for the lock"
  flock "$lock"
  if cached "$dir" "$binary" "$want"; then
    log "$name: another run just put it in the cache $dir ($(elapsed "$start") s)"
    exec {lock}>&-
    return 0
  fi
  rm -rf "$dir"  # only a leftover without the .complete mark can be here
  new_temp "$name"
  mkdir "$work/entry"
  "$build" "$work"
  touch "$work/entry/.complete"
  mv -T "$work/entry" "$dir"
  exec {lock}>&-
  log "$name: obtained and cached in $dir ($(elapsed "$start") s, cold)"
}

build_redis8() {
  local work=$1 entry=$1/entry src apt_uri log_file
  # g++: deps/fast_float is C++ (the server then links libstdc++6, which apt itself needs, so every Debian 12 has it).
  ensure_packages gcc g++ make libc6-dev
  # Trixie's signed Sources index says where the pinned tarball is and what its hash must be; when trixie has moved
  # on to another version, that is said loudly, and the pinned file (same hash, or nothing) is still what is built.
  private_apt "$work/apt" "Types: deb-src
URIs: $DEBIAN_MIRROR
Suites: trixie
Components: main
Signed-By: $DEBIAN_KEYRING

Types: deb-src
URIs: $DEBIAN_SECURITY_MIRROR
Suites: trixie-security
Components: main
Signed-By: $DEBIAN_KEYRING"
  local showsrc listed
  # Captured first: "apt-cache … | grep -q" would fail under pipefail when grep stops reading early.
  showsrc=$(apt-cache "${apt_opts[@]}" showsrc redis 2>/dev/null || true)
  listed=$(awk '/^Version:/ { print $2 }' <<<"$showsrc" | sort -u | paste -sd ' ')
  log "redis: Debian 13 (trixie) source versions: ${listed:-none}"
  if grep -q " $REDIS8_ORIG_SHA256 [0-9]* $REDIS8_ORIG\$" <<<"$showsrc"; then
    apt_uri=$(apt-get "${apt_opts[@]}" --print-uris source "redis" 2>/dev/null |
      awk -v f="$REDIS8_ORIG" '$2 == f && !seen { gsub("\047", "", $1); print $1; seen = 1 }')
  else
    log "redis: WARNING: trixie's Sources no longer list $REDIS8_ORIG with the pinned hash (it has: ${listed:-none});" \
      "trying the pinned URL; update REDIS8_* at the top of scripts/test-servers.sh"
  fi
  local url ok=no
  for url in ${apt_uri:+"$apt_uri"} "$REDIS8_ORIG_URL"; do
    log "redis: downloading $url"
    if /usr/lib/apt/apt-helper -o APT::Sandbox::User=root download-file "$url" "$work/$REDIS8_ORIG" "SHA256:$REDIS8_ORIG_SHA256"; then
      ok=yes
      break
    fi
  done
  [[ $ok == yes ]] || fail "redis: could not download $REDIS8_ORIG with sha256 $REDIS8_ORIG_SHA256"
  tar -xzf "$work/$REDIS8_ORIG" -C "$work"
  src=$work/redis-$REDIS8_VERSION
  [[ -d "$src/src" ]] || fail "redis: $REDIS8_ORIG has no redis-$REDIS8_VERSION/src"

  # No TLS (the tests use none on Redis 8) and no systemd: the binary then needs nothing beyond libc. The upstream
  # default optimisation (-O3 with link-time optimisation) is kept: it is what the upstream build gives users.
  log_file=$work/build.log
  log "redis: building $REDIS8_VERSION (make -j2 BUILD_TLS=no USE_SYSTEMD=no; a few minutes; log: $log_file)"
  local build_start
  build_start=$(now)
  if ! nice -n 10 make -C "$src" -j2 BUILD_TLS=no USE_SYSTEMD=no >"$log_file" 2>&1; then
    tail -n 40 "$log_file"
    fail "redis: make failed (last lines above)"
  fi
  log "redis: built in $(elapsed "$build_start") s"
  # The Makefile drops vector sets silently when the compiler lacks C11 atomics; a server without them is useless here.
  grep -q -- '-DINCLUDE_VEC_SETS=1' "$src/src/.make-settings" ||
    fail "redis: the build did not include vector sets (no -DINCLUDE_VEC_SETS=1 in src/.make-settings)"
  cp "$src/src/redis-server" "$src/src/redis-cli" "$entry/"
  local missing
  missing=$(ldd "$entry/redis-server" | grep 'not found' || true)
  [[ -z "$missing" ]] || fail "redis: redis-server lacks libraries: $missing"
  cp "$src/src/.make-settings" "$entry/make-settings"
  cp "$log_file" "$entry/build.log"

  [[ "$("$entry/redis-server" --version)" == *"v=$REDIS8_VERSION "* ]] ||
    fail "redis: built redis-server reports $("$entry/redis-server" --version)"
  local cli=$entry/redis-cli reply
  start_server "$entry/redis-server" "$work" "$cli"
  reply=$("$cli" -p "$server_port" MODULE LIST)
  grep -qx vectorset <<<"$reply" || fail "redis: MODULE LIST has no vectorset: $reply"
  "$cli" -p "$server_port" VADD check VALUES 3 1 0 0 near >/dev/null
  "$cli" -p "$server_port" VADD check VALUES 3 0 1 0 far >/dev/null
  reply=$("$cli" -p "$server_port" VSIM check VALUES 3 1 0 0 COUNT 1)
  [[ "$reply" == near ]] || fail "redis: VSIM answered '$reply', expected 'near'"
  stop_server
  { echo "redis $REDIS8_VERSION from Debian's $REDIS8_ORIG (sha256 $REDIS8_ORIG_SHA256)"
    echo "make -j2 BUILD_TLS=no USE_SYSTEMD=no; built $(date -u +%FT%TZ) on $(. /etc/os-release && echo "$PRETTY_NAME")"
  } >"$entry/SOURCE"
  log "redis: $("$entry/redis-server" --version)"
  log "redis: verified: MODULE LIST has vectorset, VADD + VSIM work"
}

build_valkey() {
  local work=$1 entry=$1/entry deb
  ensure_packages "${VALKEY_RUNTIME_PACKAGES[@]}"
  private_apt "$work/apt" "Types: deb
URIs: $DEBIAN_MIRROR
Suites: bookworm-backports
Components: main
Signed-By: $DEBIAN_KEYRING"
  mkdir "$work/debs"
  (cd "$work/debs" && apt-get "${apt_opts[@]}" -qq download \
    "valkey-server=$VALKEY_DEB_VERSION" "valkey-tools=$VALKEY_DEB_VERSION") ||
    fail "valkey: bookworm-backports has no valkey $VALKEY_DEB_VERSION (it has:" \
      "$(apt-cache "${apt_opts[@]}" policy valkey-server | awk '/Candidate/ { print $2 }')); update VALKEY_* pins"
  local want
  for want in "valkey-tools $VALKEY_TOOLS_SHA256" "valkey-server $VALKEY_SERVER_SHA256"; do
    deb=$(echo "$work/debs/${want% *}_"*.deb)
    [[ -f "$deb" ]] || fail "valkey: ${want% *} did not download"
    [[ "$(sha256sum "$deb" | cut -d' ' -f1)" == "${want#* }" ]] || fail "valkey: $deb does not have the pinned sha256"
    dpkg-deb -x "$deb" "$entry/root"
  done
  # valkey-server is a link to valkey-check-rdb; the binary chooses its role by the name it runs under, so the copy
  # must be named valkey-server.
  cp -L "$entry/root/usr/bin/valkey-server" "$entry/valkey-server"
  cp -L "$entry/root/usr/bin/valkey-cli" "$entry/valkey-cli"
  local missing
  missing=$(ldd "$entry/valkey-server" | grep 'not found' || true)
  [[ -z "$missing" ]] || fail "valkey: valkey-server lacks libraries: $missing"
  [[ "$("$entry/valkey-server" --version)" == *"v=$VALKEY_VERSION "* ]] ||
    fail "valkey: valkey-server reports $("$entry/valkey-server" --version)"
  local cli=$entry/valkey-cli reply
  start_server "$entry/valkey-server" "$work" "$cli"
  reply=$("$cli" -p "$server_port" INFO server | tr -d '\r' | awk -F: '$1 == "valkey_version" { print $2 }')
  [[ "$reply" == "$VALKEY_VERSION" ]] || fail "valkey: INFO server says valkey_version '$reply'"
  stop_server
  echo "valkey $VALKEY_DEB_VERSION from Debian 12 bookworm-backports (valkey-tools, valkey-server .debs, extracted)" \
    >"$entry/SOURCE"
  log "valkey: $("$entry/valkey-server" --version)"
  log "valkey: verified: answers PING and INFO on loopback"
}

total_start=$(now)
log "cache: $cache"
acquire "redis-$REDIS8_VERSION" redis-server "$REDIS8_VERSION" build_redis8
# Valkey's libraries come from Debian 12 itself; a warm run checks they are still installed (dpkg-query, milliseconds).
ensure_packages "${VALKEY_RUNTIME_PACKAGES[@]}"
acquire "valkey-$VALKEY_VERSION" valkey-server "$VALKEY_VERSION" build_valkey
log "done in $(elapsed "$total_start") s"

echo "CHATMEM_REDIS8_SERVER=$cache/redis-$REDIS8_VERSION/redis-server" >&3
echo "CHATMEM_VALKEY_SERVER=$cache/valkey-$VALKEY_VERSION/valkey-server" >&3
