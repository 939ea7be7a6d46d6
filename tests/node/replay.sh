#!/usr/bin/env bash
# node.replay (issue 11, item 7: a replay dropped and logged): a node v and
# a hostile node d (tests/node/hostile.c) on one host. d sends v a signed
# broadcast, then the very same bytes again: v shows and stores it once.
# v stops cleanly (its replay window is saved) and starts again, its mesh
# now with no memory of the message; d sends the same bytes once more: v
# drops them as a replay, says so in its log, and does not show them.
. "$(dirname "$0")/lib.sh"

host_ns
start v "$host"
idv=$(id_of v)
start_hostile d "$host"
idd=$(hostile_id d)
n_conn() { grep -cxF "connected $idv" "$tmp/d.out"; }
wait_until 30 "v and d to connect" eval 'has_peer v "$idd" && [ "$(n_conn)" -ge 1 ]'
phase "v and d connected"

shown() { events v message | jq -r .text | grep -cxF -- "$1"; }
hostile d raw "only once" > /dev/null
wait_until 10 "v to receive the message" inbox_has v "only once"
hostile d replay > /dev/null
# What d sends next arrives after the replay (one ordered channel).
hostile d raw "after the replay" > /dev/null
wait_until 10 "v to receive the next message" inbox_has v "after the replay"
[ "$(shown "only once")" = 1 ] || fail "v showed the message $(shown "only once") times"
[ "$(inbox_texts v | grep -cxF "only once")" = 1 ] || fail "v stored the message twice"
phase "the same bytes again were not delivered again"

stop v
start v "$host"
err_has v "no saved replay window\|replay window not restored" &&
  fail "v did not restore its replay window after a clean stop"
wait_until 40 "v and d to connect again" eval 'has_peer v "$idd" && [ "$(n_conn)" -ge 2 ]'
phase "v restarted and reconnected"
hostile d replay > /dev/null
wait_until 10 "v to drop and log the replay" err_has v "message from $idd dropped"
hostile d raw "after the restart" > /dev/null
wait_until 10 "v to receive a new message after the restart" inbox_has v "after the restart"
[ "$(shown "only once")" = 1 ] || fail "v showed the replayed message again after its restart"
[ "$(inbox_texts v | grep -cxF "only once")" = 1 ] || fail "v stored the replay"
phase "the replay after v's restart was dropped: $(grep -o "message from $idd dropped.*" "$tmp/v.err" | head -n 1)"
stop v d
passed
