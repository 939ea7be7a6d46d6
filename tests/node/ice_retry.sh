#!/usr/bin/env bash
# node.ice_retry (issue 11, item 7: ICE failure retried with back-off,
# another STUN server): two nodes a and b on a LAN (namespaces on a bridge)
# and a STUN server (coturn) on it too. Both nodes are given two STUN
# servers, the first of which does not exist (10.92.0.8). The path between
# a and b is blocked (nftables drops their unicast UDP to each other; LAN
# announcements and STUN still pass): they find each other, the dialer's
# ICE attempts fail and are tried again after a back-off, each attempt
# asking STUN servers (the live one answers). The path opens: the next
# attempt connects, and a message goes through.
. "$(dirname "$0")/lib.sh"

command -v turnserver > /dev/null || { echo "skipped: no turnserver (coturn)"; exit 77; }
make_bridge
on_bridge "pkn${tag}-1" 1
on_bridge "pkn${tag}-2" 2
on_bridge "pkn${tag}-s" 9
cat > "$tmp/turnserver.conf" <<CONF
stun-only
listening-ip=10.92.0.9
listening-port=3478
no-tls
no-dtls
no-cli
log-file=stdout
userdb=$tmp/turndb
pidfile=$tmp/turn.pid
CONF
# nsenter execs turnserver: $! is the server itself, killed on exit.
nsenter --net="/run/netns/pkn${tag}-s" turnserver -c "$tmp/turnserver.conf" > "$tmp/turn.log" 2>&1 &
pids+=($!)
# Binding requests that reach the STUN server, per node.
in_ns "pkn${tag}-s" nft -f - <<'NFT' || fail "nft (stun)"
table inet pkcstun {
  chain input {
    type filter hook input priority 0;
    ip saddr 10.92.0.1 udp dport 3478 counter
    ip saddr 10.92.0.2 udp dport 3478 counter
  }
}
NFT
stun_seen() { in_ns "pkn${tag}-s" nft list chain inet pkcstun input | grep "saddr $1 " | grep -o "packets [0-9]*" | cut -d' ' -f2; }
wait_until 10 "the STUN server to listen" eval 'in_ns "pkn${tag}-s" ss -lun | grep -q "10.92.0.9:3478"'

block() { # block NS OTHER-IP: drop the other node's unicast UDP (multicast passes)
  in_ns "$1" nft -f - <<NFT || fail "nft (block)"
table inet pkcblock {
  chain input {
    type filter hook input priority 0;
    ip saddr $2 ip daddr != 224.0.0.0/4 meta l4proto udp counter drop
    ip6 saddr fe80::/10 ip6 daddr != ff00::/8 meta l4proto udp drop
  }
}
NFT
}
block "pkn${tag}-1" 10.92.0.2
block "pkn${tag}-2" 10.92.0.1
stun=(--stun 10.92.0.8:3478 --stun 10.92.0.9:3478)
start a "pkn${tag}-1" "${stun[@]}"
start b "pkn${tag}-2" "${stun[@]}"
ida=$(id_of a); idb=$(id_of b)
# The one with the smaller id hash dials: the one that says it does.
wait_until 20 "a or b to dial the other" eval 'err_has a "dialing $idb" || err_has b "dialing $ida"'
if err_has a "dialing $idb"; then dialer=a; dip=10.92.0.1; else dialer=b; dip=10.92.0.2; fi
n_failed() { grep -c "connection to pkc1[0-9a-z]* \(failed\|closed\)\|connection timed out" "$tmp/$dialer.err"; }
wait_until 60 "two failed attempts of $dialer" eval '[ "$(n_failed)" -ge 2 ]'
phase "$dialer failed twice to connect: $(grep -o "connection to pkc1[0-9a-z]* [a-z]*" "$tmp/$dialer.err" | head -n 1)"
has_peer a "$idb" && fail "a connected through the blocked path"
s1=$(stun_seen "$dip")
[ "${s1:-0}" -ge 2 ] || fail "the STUN server saw ${s1:-0} requests from $dialer"
n_live=$(grep -c "STUN server 10.92.0.9:3478: server-reflexive" "$tmp/$dialer.err")
[ "$n_live" -ge 2 ] || fail "$dialer got $n_live STUN answers in two attempts"
err_has "$dialer" "STUN server 10.92.0.8:3478 did not answer" || fail "the dead STUN server was not tried"
n_retry=$(grep -c "dialing a dialable peer (why 2)" "$tmp/$dialer.err")
[ "$n_retry" -ge 1 ] || fail "$dialer did not retry (mesh back-off)"
phase "each attempt asked both STUN servers; the live one answered $s1 requests of $dialer"

for ns in "pkn${tag}-1" "pkn${tag}-2"; do in_ns "$ns" nft delete table inet pkcblock || fail "nft delete"; done
wait_until 60 "a and b to connect once the path opens" eval 'has_peer a "$idb" && has_peer b "$ida"'
phase "connected after the path opened"
pkc a send --to "$idb" "through at last" > /dev/null
wait_until 20 "b to receive a message" inbox_has b "dm:through at last"
stop a b
passed
