#!/usr/bin/env bash
# net.doh_seed (issue 13, item 4, first scenario): a node discovers a
# DNS-published seed over DoH and joins its room; a second node joins
# through the mesh with no invitation.
#   On a bridge with LAN discovery off everywhere (--no-lan, --no-local):
#   BIND at 10.92.0.53 (tests/net/bind.sh), the seed s at .1, nodes b at .2
#   and c at .3, all with the room's passphrase, and e at .4 with another.
#   1. s publishes its record with `pkc dns publish` (RFC 2136, TSIG);
#   2. b runs `pkc up --room PHRASE --seed seeds.test --doh URL` and connects
#      to s (the seed admits it: b proves the room's secret);
#   3. c does the same (from its config.json); b and c never learn each
#      other's address from DNS or the LAN: the mesh tells them of each other
#      and their connection is set up by signaling relayed through s. Pass: b - c are neighbours, and
#      a broadcast of c reaches b and s.
#   4. e, in another room, finds s's record and does not dial it.
# Prints the time to pass (from the publish to the b - c connection).
. "$(dirname "$0")/../node/lib.sh"
. "$(dirname "$0")/bind.sh"
command -v named > /dev/null || { echo "skipped: needs BIND 9 (named)"; exit 77; }
command -v jq > /dev/null || { echo "skipped: needs jq"; exit 77; }

zone=seeds.test
phrase="doh seed scenario phrase"
make_bridge
dns="pkn${tag}-dns"
on_bridge "$dns" 53
for i in 1 2 3; do on_bridge "pkn${tag}-$i" "$i"; done
cleanups+=("bind_stop '$tmp/bind'")
bind_start "$dns" "$tmp/bind" 10.92.0.53 "$zone" || fail "BIND did not start"
pids+=("$(cat "$tmp/bind/named.run")")
url=$(bind_url 10.92.0.53)
seed_args=(--seed "$zone" --doh "$url" --doh-cafile "$tmp/bind/ca.pem")

start s "pkn${tag}-1" --no-lan --no-local --room "$phrase"
ids=$(id_of s)
t0=$(now_ms)
pkc s dns publish --domain "$zone" --server 10.92.0.53:53 --tsig-key "$tmp/bind/tsig.key" \
  > "$tmp/pub.out" 2> "$tmp/pub.err" || fail "publish: $(cat "$tmp/pub.err")"
phase "s published its record"

start b "pkn${tag}-2" --no-lan --no-local --room "$phrase" "${seed_args[@]}"
idb=$(id_of b)
wait_until 30 "b to connect to the seed s" eval 'has_peer b "$ids" && has_peer s "$idb"'
grep -q "dialing seed $ids" "$tmp/b.err" || fail "b did not dial s as a DNS seed"
phase "b found s over DoH and joined the room"

# c takes its seed settings from its config.json instead of flags.
mkdir -m 700 "$tmp/c"
jq -n --arg z "$zone" --arg u "$url" --arg ca "$tmp/bind/ca.pem" \
  '{seeds: [$z], doh_resolvers: [$u], doh_cafile: $ca, lan: false, local_room: false}' \
  > "$tmp/c/config.json"
start c "pkn${tag}-3" --room "$phrase"
idc=$(id_of c)
wait_until 30 "c to connect to the seed s" eval 'has_peer c "$ids"'
wait_until 60 "b and c to connect through the mesh" eval 'has_peer b "$idc" && has_peer c "$idb"'
t_pass=$(( $(now_ms) - t0 ))
phase "b - c connected (signaling relayed by s)"
# Neither heard of the other from DNS or the LAN: the seed's record is the
# only one in DNS, and LAN discovery is off.
grep -q "dialing seed $idc\|dialing seed $idb" "$tmp/b.err" "$tmp/c.err" \
  && fail "b or c found the other through DNS"
grep -q "dial information of $idc signaled through the mesh" "$tmp/b.err" ||
  grep -q "dial information of $idb signaled through the mesh" "$tmp/c.err" ||
  fail "neither b nor c got the other's dial information through the mesh"

# A node of another room finds the seed too but does not dial it: the
# record names its room, and only a peer proving that room's secret would
# be admitted.
on_bridge "pkn${tag}-4" 4
start e "pkn${tag}-4" --no-lan --no-local --room "another room entirely" "${seed_args[@]}"
ide=$(id_of e)
wait_until 30 "e to find s's record for a room it is not in" \
  grep -q "seed $ids is for room .*, which we are not in" "$tmp/e.err"
[ "$(n_peers e)" = 0 ] || fail "e connected to someone: $(peers_of e)"
no_peer s "$ide" || fail "s took e"
phase "e (another room) found the seed and left it alone"

pkc c send "hello from c" > /dev/null || fail "c send"
wait_until 20 "c's broadcast at b and s" eval 'inbox_has b "hello from c" && inbox_has s "hello from c"'
phase "c's broadcast reached b and s"
echo "net.doh_seed: time to pass $t_pass ms (publish -> b - c connected)"
stop b c e s
passed
