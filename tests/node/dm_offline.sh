#!/usr/bin/env bash
# node.dm_offline: a direct message to a stopped node waits in the sender's
# outbox (across a restart of the sender too), arrives when the recipient is
# back, and the sender sees "delivered" for that message's id.
. "$(dirname "$0")/lib.sh"

host_ns
start a "$host"
start b "$host"
ida=$(id_of a); idb=$(id_of b)
wait_until 30 "a and b to connect" eval 'has_peer a "$idb" && has_peer b "$ida"'
phase "a and b connected"
stop b
wait_until 30 "a to see b gone" no_peer a "$idb"
phase "b stopped"

mid=$(pkc a send --json --to "$idb" "while you were away" | jq -r .id)
[ -n "$mid" ] && [ "$mid" != null ] || fail "send --to a stopped peer failed"
outbox() { pkc a status --json | jq '.metrics.messages.outbox_pending'; }
[ "$(outbox)" = 1 ] || fail "the outbox holds $(outbox) messages, expected 1"
# The sender restarts while the recipient is away: the outbox is on disk.
stop a
start a "$host"
[ "$(outbox)" = 1 ] || fail "after a restart the outbox holds $(outbox) messages, expected 1"
events a delivered | grep -q . && fail "delivered before the recipient came back"

start b "$host"
wait_until 30 "b to receive the direct message" inbox_has b "dm:while you were away"
phase "b received it after its restart"
delivered() { events a delivered | jq -r .id | grep -qx "$mid"; }
wait_until 20 "a to report message $mid delivered" delivered
[ "$(outbox)" = 0 ] || fail "the outbox still holds $(outbox) messages after delivery"
[ "$(inbox_texts b | grep -c 'while you were away')" = 1 ] || fail "b stored the message twice"
phase "a saw it delivered"
stop a b
passed
