#!/usr/bin/env bash
# node.doc_broken_update (issue 11, item 7: an update that cannot apply is
# dropped and the document resynced): a node v and a hostile node d
# (tests/node/hostile.c) on one host share document "notes". d keeps one
# change back (stored, never sent), then broadcasts a "y:notes" update cut
# in half, correctly signed and encrypted. v drops it (nothing of it in the
# document, nothing stored: no stored update fails at the next start) and
# resyncs the document with its neighbours: it gets d's change kept back
# and ends with the same document as d.
. "$(dirname "$0")/lib.sh"

host_ns
start v "$host"
idv=$(id_of v)
start_hostile d "$host"
idd=$(hostile_id d)
wait_until 30 "v and d to connect" eval 'has_peer v "$idd" && hostile_has d "connected $idv"'
pkc v doc set notes base 1 > /dev/null || fail "doc set on v"
wait_until 10 "d to get v's change" doc_has d notes '.base == 1'
phase "v and d connected, sharing notes"

hostile d hide notes kept '"kept back"' > /dev/null
echo "  $(hostile d garbage notes)"
wait_until 10 "v to drop the broken update" err_has v "document notes: an update from $idd does not apply"
wait_until 10 "v to resync notes" doc_has v notes '.base == 1 and .kept == "kept back"'
[ "$(doc_json v notes)" = "$(doc_json d notes)" ] || fail "v and d differ: $(doc_json v notes) vs $(doc_json d notes)"
doc_has v notes 'has("broken") | not' || fail "part of the broken update is in v's document"
phase "v dropped the broken update and resynced: $(doc_json v notes)"

# Nothing of the broken update was stored: v starts again alone with the
# same document, and no stored update fails.
stop v d
start v "$host" --no-lan
[ "$(doc_json v notes)" = '{"base":1,"kept":"kept back"}' ] || fail "after a restart v has $(doc_json v notes)"
err_has v "stored updates did not apply" && fail "v stored the broken update"
stop v
passed
