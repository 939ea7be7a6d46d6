#!/usr/bin/env bash
# node.doc_missing_update (issue 11, item 7: an update that never arrives
# makes the node ask for the full state): a node v and a hostile node d
# (tests/node/hostile.c) on one host. d changes document "notes" twice but
# sends only the second update (the first is stored on d and never sent,
# as if lost). v cannot apply it without the first: it asks its neighbours
# for the state (sync step 1), d answers with what v lacks, and v ends with
# both changes, the same document as d's.
. "$(dirname "$0")/lib.sh"

host_ns
start v "$host"
idv=$(id_of v)
start_hostile d "$host"
idd=$(hostile_id d)
wait_until 30 "v and d to connect" eval 'has_peer v "$idd" && hostile_has d "connected $idv"'
phase "v and d connected"

hostile d hide notes first '"never sent"' > /dev/null
pkc d doc set notes second '"sent"' > /dev/null || fail "doc set on d"
wait_until 10 "v to notice the missing update" err_has v "document notes: updates are missing"
wait_until 10 "v to get the missing update from d" \
  doc_has v notes '.first == "never sent" and .second == "sent"'
[ "$(doc_json v notes)" = "$(doc_json d notes)" ] || fail "v and d differ: $(doc_json v notes) vs $(doc_json d notes)"
phase "v asked for the state and converged: $(doc_json v notes)"
stop v d
passed
