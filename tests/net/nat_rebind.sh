#!/usr/bin/env bash
# net.nat_rebind (issue 13, item 4): a and b behind two endpoint-
# independent NATs are connected directly (as in net.nat_eim); then a's NAT
# changes its mappings (lab.sh's nat_rebind: a new port range and every UDP
# flow forgotten), later b's. The node whose mapping changed sees it at its
# next STUN refresh, punches the new mapping open to its linked peers and
# tells the room (a signed `nat` broadcast through p); the peer punches back
# and its ICE-lite listener follows the consent checks from the new port
# (if it was waiting on the link) or dials the new address (if it dialed
# the link). One of the two rebindings exercises each side. Checked, after
# each rebinding:
#   - direct messages sent right after the change arrive both ways;
#   - the peer's link goes to the node's new public port (from the new
#     range), a and b are neighbours again, and directly;
#   - no new invitation: p saw exactly the two invitations used at the
#     start, and no join ran again.
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/nat_common.sh"

nat_setup eim
wait_until 30 "a and b to connect directly" eval 'has_peer a "$idb" && has_peer b "$ida"'
[ "$(invitations_used)" -eq 2 ] || fail "p saw $(invitations_used) invitations used, not 2"
phase "a and b are neighbours (b sees a at $(address_of b "$ida"), a sees b at $(address_of a "$idb"))"

# rebind X N LO ID-OF-X OTHER ID-OF-OTHER
rebind() {
  local x=$1 n=$2 lo=$3 idx=$4 y=$5 idy=$6 before k t
  before=$(address_of "$y" "$idx")
  t=$(now_ms)
  nat_rebind "$n" "$lo-$(( lo + 999 ))"
  k=$RANDOM
  pkc "$x" send --to "$idy" "after $x's rebinding $k" > /dev/null || fail "send $x -> $y"
  pkc "$y" send --to "$idx" "to $x after its rebinding $k" > /dev/null || fail "send $y -> $x"
  wait_until 60 "$y to receive $x's message" inbox_has "$y" "dm:after $x's rebinding $k"
  wait_until 60 "$x to receive $y's message" inbox_has "$x" "dm:to $x after its rebinding $k"
  moved() {
    local at port
    at=$(address_of "$y" "$idx"); port=${at##*:}
    [[ $at == 10.92.0.$n:* ]] && [ "$port" -ge "$lo" ] && [ "$port" -le $(( lo + 999 )) ] &&
      has_peer "$x" "$idy"
  }
  wait_until 60 "$y's link to $x to use $x's new mapping" moved
  echo "  $x's NAT rebound: $y's link went from $before to $(address_of "$y" "$idx") in $(( $(now_ms) - t )) ms"
  local how
  how=$(grep -h -o "moved (its NAT mapped it anew): now at [0-9.:]*: [a-z ]*" "$tmp/$y.err" | tail -n 1)
  [ -n "$how" ] || fail "$y did not hear that $x moved"
  echo "  $y: $how"
}
rebind a 21 20000 "$ida" b "$idb"
phase "a's rebinding: the link resumed"
rebind b 22 21000 "$idb" a "$ida"
phase "b's rebinding: the link resumed"
[ "$(invitations_used)" -eq 2 ] || fail "p saw $(invitations_used) invitations used, not 2"
grep -q "path switched" "$tmp/a.err" "$tmp/b.err" || fail "no listener followed a moved peer"
grep -q "dialing it again" "$tmp/a.err" "$tmp/b.err" || fail "no dialer dialed a moved peer"
stop a b p
passed
