#!/usr/bin/env bash
# node.partition (issue 11, item 7): two nodes on a LAN (namespaces on a
# bridge). Every UDP datagram between them is dropped (nftables in each
# one's input): each drops the other, now unreachable, from its mesh
# ("disconnected", gone from `pkc peers`). The partition heals: the closed
# channel is reconnected on its own and messages flow again.
. "$(dirname "$0")/lib.sh"

make_bridge
on_bridge "pkn${tag}-1" 1
on_bridge "pkn${tag}-2" 2
start a "pkn${tag}-1"
start b "pkn${tag}-2"
ida=$(id_of a); idb=$(id_of b)
wait_until 30 "a and b to connect" eval 'has_peer a "$idb" && has_peer b "$ida"'
phase "a and b connected"
for i in 1 2; do
  in_ns "pkn${tag}-$i" nft -f - <<'NFT' || fail "nft"
table inet pkcpart {
  chain input {
    type filter hook input priority 0;
    meta l4proto udp ip saddr 10.92.0.0/24 drop
    meta l4proto udp ip6 saddr fe80::/10 drop
  }
}
NFT
done
n_ev() { events "$1" "$2" | jq -r .peer | grep -cx "$3"; }
wait_until 90 "a and b to drop each other" \
  eval '[ "$(n_ev a disconnected "$idb")" -ge 1 ] && [ "$(n_ev b disconnected "$ida")" -ge 1 ]'
no_peer a "$idb" && no_peer b "$ida" || fail "a peer still listed after its disconnection"
phase "each dropped the unreachable other"
for i in 1 2; do in_ns "pkn${tag}-$i" nft delete table inet pkcpart || fail "nft delete"; done
wait_until 90 "a and b to reconnect" \
  eval '[ "$(n_ev a connected "$idb")" -ge 2 ] && [ "$(n_ev b connected "$ida")" -ge 2 ] && has_peer a "$idb" && has_peer b "$ida"'
phase "reconnected after the partition healed"
pkc a send --to "$idb" "after the partition" > /dev/null
wait_until 20 "b to receive a message after the partition" inbox_has b "dm:after the partition"
stop a b
passed
