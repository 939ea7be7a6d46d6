#!/usr/bin/env bash
# tests/lan/netns.sh SCENARIO DRIVER: LAN discovery between real processes
# (tests/lan/lan_driver.c) in network namespaces made here and removed at the
# end, whatever happens. Nothing leaves the namespaces. Needs root; exits 77
# (skipped) where it cannot make namespaces.
#
#   lan                  five namespaces on a bridge (IPv4 and IPv6 multicast):
#                        three nodes of room "alpha" find each other; a node of
#                        room "beta" hears them and finds nobody, nor is found;
#                        a node with --no-lan sends not one UDP datagram.
#   lan_ipv6             the same over IPv6 multicast alone.
#   same_host            one namespace whose only interface is lo, without
#                        multicast (Linux's default): the host registry alone;
#                        a killed node's entry is removed by the next node.
#   same_host_multicast  lo with multicast on, no registry: IPv4 multicast on lo.
#
# Every wait is for an event (a line a driver prints), with a deadline.
set -u
scenario=${1:?scenario}
driver=${2:?driver}

[ "$(id -u)" = 0 ] || { echo "skipped: needs root for network namespaces"; exit 77; }
tag=$(( $$ % 100000 ))
probe="pkl${tag}-probe"
if ! ip netns add "$probe" 2>/dev/null; then
  echo "skipped: cannot create network namespaces"; exit 77
fi
ip netns del "$probe"

tmp=$(mktemp -d /tmp/pkc-lan-test.XXXXXX)
declare -a namespaces=() pids=()
declare -A pid
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 143" TERM INT HUP

fail() {
  echo "FAIL ($scenario): $*"
  for f in "$tmp"/*.out; do
    [ -f "$f" ] || continue
    echo "== ${f##*/}"; cat "$f"
    [ -s "${f%.out}.err" ] && { echo "-- stderr"; cat "${f%.out}.err"; }
  done
  exit 1
}

mkns() {
  ip netns add "$1" || fail "ip netns add $1"
  namespaces+=("$1")
  ip -n "$1" link set lo up
}

in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$@"; }

# A namespace on the bridge namespace's br0, with eth0 = 10.91.0.N/24 and an
# IPv6 link-local address usable at once (no duplicate address detection).
on_bridge() {
  local ns=$1 n=$2 a="lv${tag}x$2" b="lb${tag}x$2"
  mkns "$ns"
  ip link add "$a" type veth peer name "$b" || fail "veth"
  ip link set "$a" netns "$ns"
  ip link set "$b" netns "$bridge"
  ip -n "$bridge" link set "$b" master br0
  ip -n "$bridge" link set "$b" up
  ip -n "$ns" link set "$a" name eth0
  in_ns "$ns" sysctl -qw net.ipv6.conf.eth0.accept_dad=0
  ip -n "$ns" addr add "10.91.0.$n/24" dev eth0
  ip -n "$ns" link set eth0 up
}

make_bridge() {
  bridge="pkl${tag}-br"
  mkns "$bridge"
  ip -n "$bridge" link add br0 type bridge || fail "bridge"
  ip -n "$bridge" link set br0 type bridge mcast_snooping 0
  ip -n "$bridge" link set br0 up
}

# start NAME NAMESPACE DRIVER-ARGS...
start() {
  local name=$1 ns=$2; shift 2
  # nsenter execs the driver: $! is the driver itself.
  nsenter --net="/run/netns/$ns" "$driver" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pid[$name]=$!
  pids+=($!)
}

id_of() { awk '$1 == "ready" {print $2}' "$tmp/$1.out"; }
found_ids() { awk '$1 == "found" {print $2}' "$tmp/$1.out" | sort -u; }
n_found() { found_ids "$1" | wc -l; }
n_other() { grep -c '^other' "$tmp/$1.out"; }
stat_of() { awk -v k="$2" '$1 == "stats" { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$tmp/$1.out"; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every 50 ms.
wait_until() {
  local limit=$(( $(now_ms) + $1 * 1000 )) what=$2; shift 2
  until "$@"; do
    [ "$(now_ms)" -lt "$limit" ] || fail "timed out waiting for: $what"
    sleep 0.05
  done
}

# UDP datagrams a namespace sent, IPv4 and IPv6.
udp_out() {
  local v4 v6
  v4=$(in_ns "$1" cat /proc/net/snmp | awk '$1 == "Udp:" { if (h) { print $5; exit } h = 1 }')
  v6=$(in_ns "$1" cat /proc/net/snmp6 | awk '$1 == "Udp6OutDatagrams" { print $2 }')
  echo $(( ${v4:-0} + ${v6:-0} ))
}

# Stops the named drivers with SIGTERM and checks that each ended cleanly
# (sanitizer reports make the exit status non-zero) with its stats line.
stop() {
  for n in "$@"; do kill -TERM "${pid[$n]}" 2>/dev/null; done
  for n in "$@"; do
    wait "${pid[$n]}" || fail "$n exited with status $?"
    grep -q '^stats ' "$tmp/$n.out" || fail "$n printed no stats"
  done
}

# The three alpha nodes found exactly each other; nobody found `others`
# (the beta node, the node with --no-lan).
check_alpha() {
  local ids=() i j others=("$@")
  for i in 1 2 3; do ids[$i]=$(id_of "a$i"); [ -n "${ids[$i]}" ] || fail "a$i never started"; done
  for i in 1 2 3; do
    local want=""
    for j in 1 2 3; do [ "$i" = "$j" ] || want+="${ids[$j]}"$'\n'; done
    [ "$(found_ids "a$i")" = "$(printf '%s' "$want" | sort -u)" ] ||
      fail "a$i found $(found_ids "a$i" | tr '\n' ' '), expected the other two alpha nodes"
    for o in "${others[@]}"; do
      local oid; oid=$(id_of "$o")
      [ -z "$oid" ] || ! grep -q "^found $oid " "$tmp/a$i.out" || fail "a$i found $o"
    done
  done
}

alpha_done() { [ "$(n_found a1)" -ge 2 ] && [ "$(n_found a2)" -ge 2 ] && [ "$(n_found a3)" -ge 2 ]; }
# beta heard all three alpha nodes, and they heard it.
beta_heard() {
  [ "$(n_other b)" -ge 3 ] && [ "$(n_other a1)" -ge 1 ] && [ "$(n_other a2)" -ge 1 ] &&
    [ "$(n_other a3)" -ge 1 ]
}

t0=$(now_ms)
phase() { echo "  $(( $(now_ms) - t0 )) ms: $*"; }
case "$scenario" in
lan | lan_ipv6)
  make_bridge
  for i in 1 2 3 4 5; do on_bridge "pkl${tag}-$i" "$i"; done
  phase "namespaces ready"
  fam=()
  [ "$scenario" = lan_ipv6 ] && fam=(--no-ipv4)
  for i in 1 2 3; do start "a$i" "pkl${tag}-$i" --room alpha --no-registry "${fam[@]}"; done
  start b "pkl${tag}-4" --room beta --no-registry "${fam[@]}"
  start off "pkl${tag}-5" --room alpha --no-lan
  wait_until 15 "the alpha nodes to find each other" alpha_done
  phase "the alpha nodes found each other"
  wait_until 15 "the beta node and the alpha nodes to hear each other" beta_heard
  phase "beta and alpha heard each other"
  stop a1 a2 a3 b off
  check_alpha b off
  [ "$(n_found b)" = 0 ] || fail "the beta node found $(found_ids b | tr '\n' ' ')"
  [ "$(n_found off)" = 0 ] || fail "the node with --no-lan found someone"
  [ "$(udp_out "pkl${tag}-5")" = 0 ] ||
    fail "the namespace of the node with --no-lan sent $(udp_out "pkl${tag}-5") UDP datagrams"
  [ "$(stat_of off sent)" = 0 ] || fail "the node with --no-lan announced"
  for n in a1 a2 a3 b; do
    if [ "$scenario" = lan ]; then
      [ "$(stat_of $n if4)" = 1 ] && [ "$(stat_of $n if6)" = 1 ] ||
        fail "$n did not join both groups on eth0"
    else
      [ "$(stat_of $n if4)" = 0 ] && [ "$(stat_of $n if6)" = 1 ] ||
        fail "$n did not join the IPv6 group alone"
    fi
    [ "$(stat_of $n bad_signature)" = 0 ] && [ "$(stat_of $n malformed)" = 0 ] ||
      fail "$n rejected datagrams"
  done
  ;;
same_host)
  host="pkl${tag}-h"
  mkns "$host"
  mkns "pkl${tag}-h2"
  reg="$tmp/registry"
  mkdir -m 700 "$reg"
  in_ns "$host" ip link show lo | grep -q MULTICAST && fail "lo can multicast: not the case tested"
  for i in 1 2 3; do start "a$i" "$host" --room alpha --registry "$reg"; done
  start b "$host" --room beta --registry "$reg"
  start off "pkl${tag}-h2" --room alpha --no-lan --registry "$reg"
  wait_until 15 "the alpha nodes to find each other" alpha_done
  phase "the alpha nodes found each other"
  wait_until 15 "the beta node and the alpha nodes to hear each other" beta_heard
  phase "beta and alpha heard each other"
  n_entries=$(ls "$reg" | wc -l)
  [ "$n_entries" = 4 ] || fail "registry has $n_entries entries, expected 4: $(ls "$reg")"
  # A node killed without a chance to clean up: the next node that looks at
  # the registry removes its entry (nobody holds its lock).
  kill -KILL "${pid[a3]}"
  wait "${pid[a3]}" 2>/dev/null
  [ "$(ls "$reg" | wc -l)" = 4 ] || fail "the killed node's entry vanished by itself"
  start reaper "$host" --room gamma --registry "$reg" --timeout 200
  wait "${pid[reaper]}" || fail "reaper exited with status $?"
  n_entries=$(ls "$reg" | wc -l)
  [ "$n_entries" = 3 ] || fail "after the reaper, $n_entries entries, expected 3: $(ls "$reg")"
  stop a1 a2 b off
  check_alpha b off
  [ "$(n_found b)" = 0 ] || fail "the beta node found $(found_ids b | tr '\n' ' ')"
  [ "$(udp_out "pkl${tag}-h2")" = 0 ] || fail "the node with --no-lan sent UDP datagrams"
  for n in a1 a2 b; do
    [ "$(stat_of $n if4)" = 0 ] || fail "$n joined a multicast group on lo without multicast"
    [ "$(stat_of $n registry_peers)" -ge 2 ] || fail "$n saw $(stat_of $n registry_peers) registry peers"
  done
  left=$(ls "$reg" | wc -l)
  [ "$left" = 0 ] || fail "$left registry entries left after every node stopped: $(ls "$reg")"
  ;;
same_host_multicast)
  host="pkl${tag}-h"
  mkns "$host"
  ip -n "$host" link set lo multicast on
  for i in 1 2 3; do start "a$i" "$host" --room alpha --no-registry --no-ipv6; done
  start b "$host" --room beta --no-registry --no-ipv6
  wait_until 15 "the alpha nodes to find each other" alpha_done
  phase "the alpha nodes found each other"
  wait_until 15 "the beta node and the alpha nodes to hear each other" beta_heard
  phase "beta and alpha heard each other"
  stop a1 a2 a3 b
  check_alpha b
  [ "$(n_found b)" = 0 ] || fail "the beta node found $(found_ids b | tr '\n' ' ')"
  for n in a1 a2 a3 b; do
    [ "$(stat_of $n if4)" = 1 ] || fail "$n did not join the IPv4 group on lo"
  done
  ;;
*)
  echo "unknown scenario $scenario"; exit 2 ;;
esac
echo "lan $scenario: passed in $(( $(now_ms) - t0 )) ms"
for n in a1 b; do echo "  $n: $(grep '^stats ' "$tmp/$n.out")"; done
exit 0
