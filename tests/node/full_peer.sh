#!/usr/bin/env bash
# node.full_peer (issue 11, connections): a newcomer whose first choice is
# full still connects at once. On one host: a (max-peers 1) and m
# (max-peers 2) connected; then c (max-peers 1) starts, five times over with
# a fresh identity. c hears both; whichever it tries, it must end up with m
# (a refuses it: full) within 10 s. Before the fix, when c's id was the
# greater one, c waited for a full a to dial it, for the mesh's 15 s connect
# timeout; when both c and m dialed at once on one pair of UDP ports, both
# DTLS handshakes failed. Each round also checks that a kept m, and that m
# did not flap (connected to c once per round): a refuses c in the handshake
# (before, it accepted c and then dropped it, and c, its one slot taken for
# that moment, refused m's dial).
. "$(dirname "$0")/lib.sh"

host_ns
start a "$host" --max-peers 1
start m "$host" --max-peers 2
ida=$(id_of a); idm=$(id_of m)
wait_until 30 "a and m to connect" eval 'has_peer a "$idm" && has_peer m "$ida"'
phase "a and m connected"
for round in 1 2 3 4 5; do
  c="c$round"
  t=$(now_ms)
  start "$c" "$host" --max-peers 1
  idc=$(id_of "$c")
  wait_until 10 "$c to connect to m (round $round)" eval 'has_peer "$c" "$idm" && has_peer m "$idc"'
  phase "round $round: $c connected to m in $(( $(now_ms) - t )) ms"
  has_peer a "$idm" || fail "a lost m"
  n=$(events m connected | jq -r .peer | grep -cxF "$idc")
  [ "$n" = 1 ] || fail "m connected to $c $n times"
  stop "$c"
  wait_until 20 "m to see $c go" no_peer m "$idc"
done
# A full a refuses a newcomer in its handshake, never after it (accepted,
# then dropped, the newcomer took a for a neighbour for a moment and refused
# m's dial meanwhile: m then connected to it twice).
! grep -q "did not take" "$tmp/a.err" || fail "a accepted a newcomer, then dropped it: $(grep "did not take" "$tmp/a.err" | head -n 1)"
phase "a refused $(grep -c "(refused in the handshake)" "$tmp/a.err") newcomers in their handshake"
stop a m
passed
