#!/usr/bin/env bash
# node.rate_limit (issue 11, item 7: a peer over its rate limit blocked for
# a while): a node v and a hostile node d (tests/node/hostile.c) on one
# host; d's identity is made so that d dials v. d floods its session with
# v (100000 SYNC frames of an unused kind at once, far over the node's 10000 frames/s with a burst of 20000): v blocks d,
# ends the session and drops d from its mesh. While the block lasts, d's
# new sessions are refused ("blocked for N ms more"); once it has expired,
# d (restarted, so that it dials at once rather than after its back-off)
# is accepted again and its messages arrive.
. "$(dirname "$0")/lib.sh"

host_ns
start v "$host"
idv=$(id_of v)
start_hostile d "$host" --below "$idv"
idd=$(hostile_id d)
n_ev() { events v "$1" | jq -r .peer | grep -cxF "$idd"; }
wait_until 30 "v and d to connect" eval 'has_peer v "$idd" && hostile_has d "connected $idv"'
phase "v and d connected (d dialed)"

# The block starts after the flood is sent: t_flood + the block's length is
# the earliest it can end. A moment read after v logged the block would be
# later than the start, and d's own retry landing between the block's real
# end and that moment would fail the test although v did right (it did so
# once in CI).
t_flood=$(now_ms)
echo "  $(hostile d flood 100000)"
wait_until 20 "v to block d" err_has v "ended: blocked for [0-9]* s: over the"
block_s=$(grep -o "ended: blocked for [0-9]* s" "$tmp/v.err" | head -n 1 | grep -o "[0-9]*")
wait_until 10 "v to drop d" eval '[ "$(n_ev disconnected)" -ge 1 ] && no_peer v "$idd"'
phase "d blocked for $block_s s: $(grep -o "blocked for [0-9]* s: .*" "$tmp/v.err" | head -n 1)"

# d's mesh tries again at once (back-off from 1 s): refused while blocked.
wait_until 20 "v to refuse d's new session" err_has v "blocked for [0-9]* ms more"
phase "a new session refused: $(grep -o "blocked for [0-9]* ms more" "$tmp/v.err" | head -n 1)"

# Until the block's earliest end, then a new attempt.
until [ "$(now_ms)" -ge $(( t_flood + block_s * 1000 )) ]; do
  [ "$(n_ev connected)" = 1 ] || fail "v accepted d again while it was blocked"
  alive v || fail "v died"
  sleep 0.5
done
phase "the block's earliest end has passed"
stop d
start_hostile d "$host"
wait_until 30 "v to accept d again" eval 'has_peer v "$idd" && [ "$(n_ev connected)" -ge 2 ]'
hostile d raw "back after the block" > /dev/null
wait_until 10 "v to receive d's message" inbox_has v "back after the block"
phase "d accepted again after its block"
stop v d
passed
