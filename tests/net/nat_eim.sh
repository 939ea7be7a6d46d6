#!/usr/bin/env bash
# net.nat_eim (issue 13, item 4): two nodes behind two different NATs with
# endpoint-independent mapping and port-restricted filtering (lab.sh's eim
# routers), and a public node p with a STUN server on the bridge. a and b
# join p's room with an invitation; the mesh introduces them and they
# connect DIRECTLY: each node learned its reflexive address from the STUN
# server on its shared socket, signaled it through p, and the waiting side
# punched its NAT towards the dialer. Checked:
#   - a and b become neighbours within 30 s;
#   - the link's remote address, on each side, is the other NAT's public
#     (WAN) address, and the port is the one the other node's STUN answer
#     gave (its reflexive address);
#   - 20 direct messages of 2000 bytes a -> b arrive, and their bytes cross
#     the bridge between the two NATs (nftables counters on the bridge):
#     at least 40000 bytes from a's NAT to b's, while a's NAT sends p less
#     than a quarter of that (p carries none of it).
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/nat_common.sh"

nat_setup eim
wait_until 30 "a and b to connect directly" eval 'has_peer a "$idb" && has_peer b "$ida"'
phase "a and b are neighbours"
ra=$(reflexive a); rb=$(reflexive b)
[[ $ra == 10.92.0.21:* && $rb == 10.92.0.22:* ]] ||
  fail "reflexive addresses: a $ra, b $rb (expected the NATs' WAN addresses)"
at_a=$(address_of a "$idb"); at_b=$(address_of b "$ida")
[ "$at_a" = "$rb" ] || fail "a's link to b goes to $at_a, not b's reflexive address $rb"
[ "$at_b" = "$ra" ] || fail "b's link to a comes from $at_b, not a's reflexive address $ra"
phase "a's link goes to $at_a (b's NAT), b's to $at_b (a's NAT)"

ip netns exec "$bridge" nft -f - <<NFT || fail "nft counters"
table bridge natcount {
  chain forward {
    type filter hook forward priority 0;
    ip saddr 10.92.0.21 ip daddr 10.92.0.22 meta l4proto udp counter name a_to_b
    ip saddr 10.92.0.21 ip daddr 10.92.0.10 meta l4proto udp counter name a_to_p
  }
  counter a_to_b {}
  counter a_to_p {}
}
NFT
cleanups+=("ip netns exec '$bridge' nft delete table bridge natcount 2>/dev/null")
counter_bytes() {
  ip netns exec "$bridge" nft -j list counter bridge natcount "$1" |
    jq '.nftables[] | select(.counter) | .counter.bytes'
}
text=$(head -c 1500 /dev/urandom | base64 -w 0 | head -c 2000)
for k in $(seq 1 20); do
  pkc a send --to "$idb" "$k $text" > /dev/null || fail "send $k"
done
all_arrived() { [ "$(inbox_texts b | grep -c "^dm:[0-9]* $text\$")" -eq 20 ]; }
wait_until 30 "b to receive the 20 direct messages" all_arrived
ab=$(counter_bytes a_to_b); ap=$(counter_bytes a_to_p)
echo "  bytes from a's NAT during the messages: to b's NAT $ab, to p $ap"
[ "$ab" -ge 40000 ] || fail "only $ab bytes went from a's NAT to b's: not direct"
[ $(( ap * 4 )) -lt "$ab" ] || fail "$ap bytes went to p, against $ab to b: through p?"
has_peer a "$idb" || fail "a lost b"
phase "40 KB of direct messages went straight from NAT to NAT"
stop a b p
passed
