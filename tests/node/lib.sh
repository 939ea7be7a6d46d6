# tests/node/lib.sh: what the node tests (tests/node/*.sh) share. Sourced by
# a scenario script run as `bash SCRIPT` from tests.cmake with PKC_BIN and
# PKC_BUILD_DIR set.
#
# Every node is a real `pkc up --json` process in a network namespace made
# here (never the host's network) and removed on any exit, with its data
# directory under the build tree and a registry directory of its own
# (XDG_RUNTIME_DIR), so that tests run side by side without meeting. Every
# wait is for an event (a line a node printed, an answer of its control
# socket) with a deadline; the polls between two looks are not timing
# anything.
set -u

PKC=${PKC_BIN:?PKC_BIN is the pkc command under test}
test_name=${TEST_NAME:-$(basename "$0" .sh)}

[ "$(id -u)" = 0 ] || { echo "skipped: needs root for network namespaces"; exit 77; }
# PKC_TEST_TAG: a chosen tag (tests/net/leftovers.sh reuses a killed run's).
tag=${PKC_TEST_TAG:-$(( $$ % 100000 ))}
if ! ip netns add "pkn${tag}-probe" 2>/dev/null; then
  echo "skipped: cannot create network namespaces"; exit 77
fi
ip netns del "pkn${tag}-probe"

base=${PKC_BUILD_DIR:-/tmp}/node-tests
mkdir -p "$base"
tmp=$(mktemp -d "$base/$test_name.XXXXXX")
mkdir -m 700 "$tmp/xdg"
declare -a namespaces=() pids=() cleanups=()
declare -A pid nsof starts
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  for c in "${cleanups[@]}"; do eval "$c"; done
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null; done
  if [ "${keep:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap "exit 143" TERM INT HUP

fail() {
  echo "FAIL ($test_name): $*"
  for f in "$tmp"/*.out; do
    [ -f "$f" ] || continue
    echo "== ${f##*/}"; tail -n 40 "$f"
    [ -s "${f%.out}.err" ] && { echo "-- stderr (last 60 lines)"; tail -n 60 "${f%.out}.err"; }
  done
  exit 1
}

mkns() {
  ip netns add "$1" || fail "ip netns add $1"
  namespaces+=("$1")
  ip -n "$1" link set lo up
}

in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$@"; }

# A namespace whose only interface is lo: nodes there find each other through
# the host registry, as nodes of one machine do.
host_ns() {
  host="pkn${tag}-h"
  mkns "$host"
}

# A LAN: a bridge namespace and one namespace per node (eth0 = 10.92.0.N/24).
make_bridge() {
  bridge="pkn${tag}-br"
  mkns "$bridge"
  ip -n "$bridge" link add br0 type bridge || fail "bridge"
  ip -n "$bridge" link set br0 type bridge mcast_snooping 0
  ip -n "$bridge" link set br0 up
}
on_bridge() {
  local ns=$1 n=$2 a="nv${tag}x$2" b="nb${tag}x$2"
  mkns "$ns"
  ip link add "$a" type veth peer name "$b" || fail "veth"
  ip link set "$a" netns "$ns"
  ip link set "$b" netns "$bridge"
  ip -n "$bridge" link set "$b" master br0
  ip -n "$bridge" link set "$b" up
  ip -n "$ns" link set "$a" name eth0
  in_ns "$ns" sysctl -qw net.ipv6.conf.eth0.accept_dad=0
  ip -n "$ns" addr add "10.92.0.$n/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add 224.0.0.0/4 dev eth0
}

# pkc NAME ARGS...: the pkc command on node NAME's data directory (the
# control socket is a file: no namespace needed).
pkc() { local name=$1; shift; "$PKC" --data "$tmp/$name" "$@"; }

# start NAME NAMESPACE [UP-ARGS...]: `pkc up --json` in the background.
start() {
  local name=$1 ns=$2; shift 2
  nsof[$name]=$ns
  echo "== start" >> "$tmp/$name.err"
  # nsenter and env exec: $! is pkc itself.
  nsenter --net="/run/netns/$ns" env XDG_RUNTIME_DIR="$tmp/xdg" "$PKC" --data "$tmp/$name" \
    --log-level debug up --json "$@" >> "$tmp/$name.out" 2>> "$tmp/$name.err" < /dev/null &
  pid[$name]=$!
  pids+=($!)
  wait_until 30 "$name to start" up_count_is "$name" "$(( ${starts[$name]:-0} + 1 ))"
  starts[$name]=$(( ${starts[$name]:-0} + 1 ))
}
up_count_is() { [ "$(grep -c '^{"event":"up"' "$tmp/$1.out")" -ge "$2" ] || ! alive "$1"; }
alive() { kill -0 "${pid[$1]}" 2>/dev/null; }

# stop NAME: SIGTERM; the node must end cleanly (sanitizer reports make the
# status non-zero).
stop() {
  local n
  for n in "$@"; do kill -TERM "${pid[$n]}" 2>/dev/null; done
  for n in "$@"; do
    wait "${pid[$n]}" || fail "$n exited with status $?"
  done
}
# kill9 NAME
kill9() {
  kill -KILL "${pid[$1]}"
  wait "${pid[$1]}" 2>/dev/null
}

id_of() { jq -r 'select(.event == "up") | .peer_id' "$tmp/$1.out" | tail -n 1; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# wait_until SECONDS DESCRIPTION COMMAND...: looks every 100 ms.
wait_until() {
  local limit=$(( $(now_ms) + $1 * 1000 )) what=$2
  shift 2
  until "$@"; do
    [ "$(now_ms)" -lt "$limit" ] || fail "timed out waiting for: $what"
    sleep 0.1
  done
}

# Peers NAME is connected to now (its control socket), one id per line.
peers_of() { pkc "$1" peers --json 2>/dev/null | jq -r '.peer_id' | sort -u; }
n_peers() { peers_of "$1" | grep -c .; }
has_peer() { peers_of "$1" | grep -qx "$2"; }
no_peer() { ! peers_of "$1" | grep -qx "$2"; }
# connected NAME N: NAME has at least N peers.
connected() { [ "$(n_peers "$1")" -ge "$2" ]; }

# Texts of NAME's inbox (direct ones prefixed "dm:"), sorted.
inbox_texts() {
  pkc "$1" inbox --json 2>/dev/null | jq -r 'if .direct then "dm:" + .text else .text end' | sort
}
inbox_has() { inbox_texts "$1" | grep -qxF -- "$2"; }
doc_json() { pkc "$1" doc json "$2" 2>/dev/null | jq -cS .; }
# doc_has NAME DOC JQ-FILTER: the filter is true of NAME's document.
doc_has() { [ "$(pkc "$1" doc json "$2" 2>/dev/null | jq "$3" 2>/dev/null)" = true ]; }
# Events NAME printed (`pkc up --json`) of one kind.
events() { jq -c --arg e "$2" 'select(.event == $e)' "$tmp/$1.out" 2>/dev/null; }
err_has() { grep -q -- "$2" "$tmp/$1.err"; }

t0=$(now_ms)
phase() { echo "  $(( $(now_ms) - t0 )) ms: $*"; }
passed() { echo "$test_name: passed in $(( $(now_ms) - t0 )) ms"; exit 0; }

# ---- the hostile node (tests/node/hostile.c, PKC_HOSTILE) ----------------
# start_hostile NAME NAMESPACE [ARGS...]: pkc-node-hostile in the
# background, its commands through a FIFO that the script holds open (so
# that the node can be restarted on it). Waits for its "ready" line.
declare -A hfd
start_hostile() {
  local name=$1 ns=$2 fd; shift 2
  [ -n "${PKC_HOSTILE:-}" ] || fail "PKC_HOSTILE is the hostile node under test"
  nsof[$name]=$ns
  if [ -z "${hfd[$name]:-}" ]; then
    mkfifo "$tmp/$name.in"
    exec {fd}<>"$tmp/$name.in"
    hfd[$name]=$fd
  fi
  echo "== start" >> "$tmp/$name.err"
  nsenter --net="/run/netns/$ns" env XDG_RUNTIME_DIR="$tmp/xdg" "$PKC_HOSTILE" \
    --data "$tmp/$name" --log-level debug "$@" \
    < "$tmp/$name.in" >> "$tmp/$name.out" 2>> "$tmp/$name.err" &
  pid[$name]=$!
  pids+=($!)
  wait_until 30 "$name to start" ready_count_is "$name" "$(( ${starts[$name]:-0} + 1 ))"
  alive "$name" || fail "$name did not start"
  starts[$name]=$(( ${starts[$name]:-0} + 1 ))
}
ready_count_is() { [ "$(grep -c '^ready ' "$tmp/$1.out")" -ge "$2" ] || ! alive "$1"; }
hostile_id() { grep '^ready ' "$tmp/$1.out" | tail -n 1 | cut -d' ' -f2; }
# hostile NAME COMMAND [ARGS...]: one command (hostile.c lists them); fails
# the test unless the node answers "done". Prints the answer.
hostile() {
  local name=$1 cmd=$2 before
  before=$(grep -c "^\(done\|fail\) $cmd\b" "$tmp/$name.out")
  shift
  echo "$*" >&"${hfd[$name]}"
  wait_until 20 "$name to do: $*" answers_over "$name" "$cmd" "$before"
  local last
  last=$(grep "^\(done\|fail\) $cmd\b" "$tmp/$name.out" | tail -n 1)
  case $last in done*) echo "$last" ;; *) fail "$name: $* -> $last" ;; esac
}
answers_over() { [ "$(grep -c "^\(done\|fail\) $2\b" "$tmp/$1.out")" -gt "$3" ]; }
# hostile_has NAME LINE: NAME printed that line (an event: connected PEER, ...).
hostile_has() { grep -qxF -- "$2" "$tmp/$1.out"; }
