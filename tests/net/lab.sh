# tests/net/lab.sh: the network lab (issue 13, item 3). Sourced by the
# scenario scripts of tests/net/ (run as `bash SCRIPT` from tests.cmake with
# PKC_BIN and PKC_BUILD_DIR set), on top of tests/node/lib.sh, whose
# namespaces, bridge, node start/stop and waits it uses as they are.
#
# The lab, all in network namespaces made here (nothing on the host's own
# network, nothing sent anywhere else), docs/netlab.md draws it:
#   - the "internet": lib.sh's bridge (namespace pkn<tag>-br, br0),
#     10.92.0.0/24; `on_bridge NS N` puts a namespace on it at 10.92.0.N;
#   - NAT routers (`nat_router NAME KIND N`): WAN 10.92.0.N on the bridge, a
#     private LAN 10.93.N.0/24 behind it (a bridge lan0 in the router, the
#     router at .1); `behind N NS H` puts a host at 10.93.N.H on it;
#   - a STUN server (`stun_server N1 N2`): coturn, stun-only, on two
#     addresses of the bridge (RFC 5780 behaviour discovery needs both);
#   - loss (`loss PERCENT N...`) and partitions (`partition "N..." "N..."`,
#     `heal`, `link_down N`, `link_up N`) on the bridge, with nftables.
#
# Teardown: lib.sh's EXIT trap (also on INT, TERM, HUP) kills what was
# started and deletes the namespaces; here every process left inside a lab
# namespace is killed too. A run killed with SIGKILL cannot clean up: each
# run records its namespaces in /run/pkc-lab/<tag>, and the next run removes
# those of runs whose script is gone (processes inside killed first) before
# it makes its own, so that it never trips over them.

. "$(dirname "${BASH_SOURCE[0]}")/../node/lib.sh"
lab_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# ---- records of runs, and the sweep of killed ones ------------------------
lab_runs=/run/pkc-lab
mkdir -p "$lab_runs"
# proc_start PID: the start time of a process (field 22 of its stat), so
# that a recycled pid is not taken for the run that had it.
proc_start() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }
# lab_sweep: remove what runs that no longer exist left behind.
lab_sweep() {
  local rec owner start dir ns p
  for rec in "$lab_runs"/*; do
    [ -f "$rec" ] || continue
    read -r owner start dir < "$rec" || continue
    if [ -n "$owner" ] && [ "$(proc_start "$owner")" = "$start" ]; then continue; fi
    while read -r ns; do
      [ -n "$ns" ] || continue
      for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
      ip netns del "$ns" 2>/dev/null && echo "  removed $ns, left by a killed run"
    done < <(tail -n +2 "$rec")
    case $dir in */node-tests/*) rm -rf "$dir" ;; esac
    rm -f "$rec"
  done
}
lab_sweep
lab_record="$lab_runs/$tag"
echo "$$ $(proc_start $$) $tmp" > "$lab_record"
cleanups+=('lab_teardown')
# Every namespace made is recorded before anything runs in it.
eval "lib_$(declare -f mkns)"
mkns() {
  echo "$1" >> "$lab_record"
  lib_mkns "$1"
}
lab_teardown() {
  local ns p
  for ns in "${namespaces[@]}"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  done
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null; done
  rm -f "$lab_record"
}

# ---- NAT routers ----------------------------------------------------------
# nat_router NAME KIND N: a router namespace pkn<tag>-NAME with its WAN
# (eth0) at 10.92.0.N on the bridge and a private LAN 10.93.N.0/24 (bridge
# lan0, the router at 10.93.N.1) behind it. KIND:
#   eim        endpoint-independent mapping, address-and-port-dependent
#              filtering ("port-restricted cone"): MASQUERADE; Linux keeps a
#              flow's source port and reuses the mapping for every
#              destination.
#   symmetric  address-and-port-dependent mapping (and filtering):
#              MASQUERADE --random-fully, a new random port per destination.
# Both drop new inbound UDP at the router (INPUT, conntrack state NEW): an
# unsolicited packet that arrives before the inside host's own would
# otherwise leave a local conntrack entry that clashes with the mapping the
# host is about to make, the NAT would pick another port, and hole punching
# would fail (../shared/netlab-notes.md). Sets router_ns[NAME] and
# router_of[N] (the namespace), wan_of[N] (10.92.0.N).
declare -A router_ns router_kind router_of wan_of rebinds
nat_router() {
  local name=$1 kind=$2 n=$3 rns="pkn${tag}-$1"
  case $kind in eim | symmetric) ;; *) fail "nat_router: unknown kind $kind" ;; esac
  on_bridge "$rns" "$n"
  router_ns[$name]=$rns; router_kind[$n]=$kind; router_of[$n]=$rns; wan_of[$n]=10.92.0.$n
  ip -n "$rns" link add lan0 type bridge || fail "lan bridge in $rns"
  ip -n "$rns" link set lan0 type bridge mcast_snooping 0
  ip -n "$rns" addr add "10.93.$n.1/24" dev lan0
  ip -n "$rns" link set lan0 up
  in_ns "$rns" sysctl -qw net.ipv4.ip_forward=1 || fail "ip_forward in $rns"
  local masq=(-j MASQUERADE)
  [ "$kind" = symmetric ] && masq+=(--random-fully)
  in_ns "$rns" iptables -t nat -A POSTROUTING -o eth0 "${masq[@]}" || fail "iptables nat in $rns"
  in_ns "$rns" iptables -A INPUT -i eth0 -p udp -m conntrack --ctstate NEW -j DROP ||
    fail "iptables input in $rns"
}

# behind N NS H: a namespace NS on router N's LAN at 10.93.N.H, its default
# route through the router (so multicast leaves on eth0 too).
behind() {
  local n=$1 ns=$2 h=$3 rns=${router_of[$1]:?no router $1}
  mkns "$ns"
  ip -n "$ns" link add eth0 type veth peer name "h$h" netns "$rns" || fail "veth to $rns"
  ip -n "$rns" link set "h$h" master lan0
  ip -n "$rns" link set "h$h" up
  in_ns "$ns" sysctl -qw net.ipv6.conf.eth0.accept_dad=0
  ip -n "$ns" addr add "10.93.$n.$h/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via "10.93.$n.1" || fail "default route in $ns"
}

# nat_rebind N [LO-HI]: router N's mappings change, as when a NAT reboots
# or its table is flushed: new mappings come from the port range LO-HI
# (default 20000-20999, then 21000-21999, ... on later calls) and every UDP
# flow is forgotten (conntrack -D), so the same inside socket appears from a
# new port with its next packet. The kind's mapping behaviour stays (a
# symmetric router stays random).
nat_rebind() {
  local n=$1 rns=${router_of[$1]:?no router $1} k=${rebinds[$1]:-0} range=${2:-}
  [ -n "$range" ] || range="$(( 20000 + (k % 10) * 1000 ))-$(( 20999 + (k % 10) * 1000 ))"
  rebinds[$n]=$(( k + 1 ))
  local masq=(-j MASQUERADE --to-ports "$range")
  [ "${router_kind[$n]}" = symmetric ] && masq+=(--random-fully)
  in_ns "$rns" iptables -t nat -R POSTROUTING 1 -o eth0 -p udp "${masq[@]}" ||
    fail "iptables rebind in $rns"
  in_ns "$rns" conntrack -D -p udp > /dev/null 2>&1 || true
}

# ---- STUN -----------------------------------------------------------------
# stun_server N1 N2: coturn (stun-only) in namespace pkn<tag>-stun at
# 10.92.0.N1 and 10.92.0.N2, ports 3478 and 3479 on both (RFC 5780
# CHANGE-REQUEST answers come from the other address and port). Sets
# stun_ip, stun_ip2 and stun_ns; waits until it listens.
stun_server() {
  command -v turnserver > /dev/null || { echo "skipped: no turnserver (coturn)"; exit 77; }
  stun_ns="pkn${tag}-stun"; stun_ip=10.92.0.$1; stun_ip2=10.92.0.$2
  on_bridge "$stun_ns" "$1"
  ip -n "$stun_ns" addr add "$stun_ip2/24" dev eth0
  cat > "$tmp/turnserver.conf" <<CONF
stun-only
listening-ip=$stun_ip
listening-ip=$stun_ip2
listening-port=3478
alt-listening-port=3479
no-tls
no-dtls
no-cli
log-file=stdout
userdb=$tmp/turndb
pidfile=$tmp/turn.pid
CONF
  # nsenter execs turnserver: $! is the server itself.
  nsenter --net="/run/netns/$stun_ns" turnserver -c "$tmp/turnserver.conf" > "$tmp/turn.log" 2>&1 &
  pids+=($!)
  wait_until 10 "the STUN server to listen on both addresses" stun_listening
}
stun_listening() {
  local l
  l=$(in_ns "$stun_ns" ss -lun)
  grep -q "$stun_ip:3478 " <<< "$l" && grep -q "$stun_ip2:3479 " <<< "$l"
}

# stun_mapped NS [LOCAL-PORT [SERVER[:PORT]...]]: the reflexive addresses
# (IP:PORT, one line per server, default $stun_ip:3478) that STUN servers
# see for one UDP socket in NS bound to LOCAL-PORT (default 0: any), one
# binding request each (tests/net/stun.py).
stun_mapped() {
  local ns=$1 port=${2:-0}
  shift; [ $# -gt 0 ] && shift
  [ $# -gt 0 ] || set -- "$stun_ip:3478"
  in_ns "$ns" python3 "$lab_dir/stun.py" --port "$port" "$@"
}

# ---- loss and partitions on the bridge -------------------------------------
# The bridge port of the namespace at 10.92.0.N (lib.sh's on_bridge).
port_of() { echo "nb${tag}x$1"; }

# loss PERCENT N...: PERCENT of the UDP datagrams that each of the listed
# namespaces sends onto the bridge are dropped there (nftables, bridge
# family, forward hook, `numgen random`). Between two listed namespaces that
# is PERCENT each way. Each call replaces the previous loss; `loss 0` ends
# it. Counters: loss_counts.
loss() {
  local pct=$1 n rules=""
  shift
  ip netns exec "$bridge" nft delete table bridge pkcloss 2>/dev/null
  [ "$pct" -gt 0 ] || return 0
  for n in "$@"; do
    rules+="    iifname \"$(port_of "$n")\" meta l4proto udp counter"$'\n'
    rules+="    iifname \"$(port_of "$n")\" meta l4proto udp numgen random mod 100 < $pct counter drop"$'\n'
  done
  ip netns exec "$bridge" nft -f - <<NFT || fail "nft (loss)"
table bridge pkcloss {
  chain forward {
    type filter hook forward priority 0;
$rules  }
}
NFT
}
# loss_port N OUT IN: PERCENT dropped of what N sends (OUT) and of what is
# sent to N (IN), added to the current loss rules.
loss_port() {
  ip netns exec "$bridge" nft list table bridge pkcloss > /dev/null 2>&1 ||
    ip netns exec "$bridge" nft -f - <<'NFT' || fail "nft (loss table)"
table bridge pkcloss {
  chain forward {
    type filter hook forward priority 0;
  }
}
NFT
  local p
  p=$(port_of "$1")
  [ "$2" -gt 0 ] && { ip netns exec "$bridge" nft add rule bridge pkcloss forward iifname "$p" \
    meta l4proto udp numgen random mod 100 \< "$2" counter drop || fail "nft (loss out)"; }
  [ "$3" -gt 0 ] && { ip netns exec "$bridge" nft add rule bridge pkcloss forward oifname "$p" \
    meta l4proto udp numgen random mod 100 \< "$3" counter drop || fail "nft (loss in)"; }
  return 0
}
# loss_counts: "SEEN DROPPED" summed over the rules of `loss`.
loss_counts() {
  ip netns exec "$bridge" nft list table bridge pkcloss 2>/dev/null | awk '
    /counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") v = $(i + 1)
                        if ($0 ~ /drop/) d += v; else s += v }
    END { print s + 0, d + 0 }'
}

# partition "N..." "N...": nothing passes the bridge between the two groups
# (every frame, both ways); each group still reaches itself. `heal` ends it.
partition() {
  local a=() b=() n
  for n in $1; do a+=("\"$(port_of "$n")\""); done
  for n in $2; do b+=("\"$(port_of "$n")\""); done
  local sa sb
  sa=$(IFS=,; echo "${a[*]}"); sb=$(IFS=,; echo "${b[*]}")
  ip netns exec "$bridge" nft -f - <<NFT || fail "nft (partition)"
table bridge pkcpart {
  chain forward {
    type filter hook forward priority -10;
    iifname { $sa } oifname { $sb } counter drop
    iifname { $sb } oifname { $sa } counter drop
  }
}
NFT
}
heal() { ip netns exec "$bridge" nft delete table bridge pkcpart 2>/dev/null; return 0; }
# link_down N / link_up N: the namespace's cable pulled out of the bridge.
link_down() { ip -n "$bridge" link set "$(port_of "$1")" down || fail "link down $1"; }
link_up() { ip -n "$bridge" link set "$(port_of "$1")" up || fail "link up $1"; }

# ---- talking to nodes -------------------------------------------------------
# ctl NAME JSON: one request to node NAME's control socket; prints every
# line of the answer (events, then the reply).
ctl() {
  python3 - "$tmp/$1/control.sock" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
buf = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    buf += d
    if b'"ok":' in buf.rsplit(b"\n", 2)[-2 if buf.endswith(b"\n") else -1]:
        break
sys.stdout.write(buf.decode())
PY
}
# doc_info NAME DOC: the node's line of `docs` for DOC (stored_updates, ...).
doc_info() { ctl "$1" '{"cmd":"docs"}' | jq -c --arg d "$2" '.docs[]? | select(.name == $d)'; }

# one_mesh NAME...: the neighbour graph of the named nodes (their `peers`)
# is connected, every node in it.
one_mesh() {
  local n m edges=""
  declare -A who
  for n in "$@"; do who[$(lab_id "$n")]=$n; done
  for n in "$@"; do
    for m in $(peers_of "$n"); do [ -n "${who[$m]:-}" ] && edges+="$n ${who[$m]}"$'\n'; done
  done
  python3 -c '
import sys
nodes = sys.argv[1:]
parent = {n: n for n in nodes}
def root(x):
    while parent[x] != x:
        x = parent[x]
    return x
for line in sys.stdin:
    if not line.strip():
        continue
    a, b = line.split()
    parent[root(a)] = root(b)
sys.exit(0 if len({root(n) for n in nodes}) == 1 else 1)' "$@" <<< "$edges"
}
# lab_id NAME: the peer id of node NAME (its "up" event), cached.
declare -A lab_ids
lab_id() {
  [ -n "${lab_ids[$1]:-}" ] || lab_ids[$1]=$(id_of "$1")
  echo "${lab_ids[$1]}"
}
