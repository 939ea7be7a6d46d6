#!/usr/bin/env bash
# node.bad_signature (issue 11, item 7: an invalid signature rejected): a
# node v and a hostile node d (tests/node/hostile.c) on one host. d sends v
# broadcasts whose signature has one bit flipped. v rejects each ("bad
# signature, rejected"), never shows or stores it, and lowers d's score;
# the intact copy of a forged message (same id) is still delivered, so a
# forgery cannot suppress the real message. After a third forgery v drops
# d from its mesh.
. "$(dirname "$0")/lib.sh"

host_ns
start v "$host"
idv=$(id_of v)
start_hostile d "$host"
idd=$(hostile_id d)
wait_until 30 "v and d to connect" eval 'has_peer v "$idd" && hostile_has d "connected $idv"'
phase "v and d connected"

hostile d raw "signed right" > /dev/null
wait_until 10 "v to receive a correctly signed message" inbox_has v "signed right"

n_rejected() { grep -c "bad signature, rejected" "$tmp/v.err"; }
score_of() { pkc v peers --json 2>/dev/null | jq -r --arg p "$2" 'select(.peer_id == $p) | .score'; }
hostile d forge "first forged" > /dev/null
wait_until 10 "v to reject the first forgery" eval '[ "$(n_rejected)" -ge 1 ]'
inbox_has v "first forged" && fail "v stored a message whose signature does not verify"
s=$(score_of v "$idd")
[ -n "$s" ] && jq -e -n --argjson s "$s" '$s < 0' > /dev/null ||
  fail "d's score at v is '$s' after a forged message, not below 0"
phase "forgery rejected, d's score at v $s"

hostile d genuine > /dev/null
wait_until 10 "v to deliver the intact copy of the forged message" inbox_has v "first forged"
[ "$(inbox_texts v | grep -cxF "first forged")" = 1 ] || fail "the intact copy is in v's inbox twice"
phase "the intact copy was delivered after its forgery"

hostile d forge "second forged" > /dev/null
hostile d forge "third forged" > /dev/null
n_disc() { events v disconnected | jq -r .peer | grep -cxF "$idd"; }
wait_until 20 "v to drop d from its mesh" eval '[ "$(n_disc)" -ge 1 ] && no_peer v "$idd"'
[ "$(n_rejected)" -ge 2 ] || fail "v did not log the second forgery"
for t in "second forged" "third forged"; do
  inbox_has v "$t" && fail "v stored the forged message '$t'"
done
grep -q '"text":"\(second\|third\) forged"' "$tmp/v.out" && fail "v showed a forged message"
phase "d dropped after three forgeries"
stop v d
passed
