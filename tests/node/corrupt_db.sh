#!/usr/bin/env bash
# node.corrupt_db: node a's pkc.db is damaged while a is stopped (pages in
# the middle of the file overwritten). At its next start a detects it, moves
# it aside with a message that says so, starts with an empty database, and
# gets the documents back from peer b (which holds them too).
. "$(dirname "$0")/lib.sh"

host_ns
start a "$host"
start b "$host"
ida=$(id_of a); idb=$(id_of b)
wait_until 30 "a and b to connect" eval 'has_peer a "$idb" && has_peer b "$ida"'
for k in $(seq 1 40); do
  pkc a doc set shared "k$k" "\"$(printf 'value %d %.0s' "$k" $(seq 1 20))\"" > /dev/null ||
    fail "doc set k$k"
done
pkc b doc set other from_b '{"x": [1, 2, 3]}' > /dev/null || fail "doc set on b"
want_shared=$(doc_json a shared)
want_other=$(doc_json b other)
wait_until 20 "b to hold a's document and a b's" \
  eval '[ "$(doc_json b shared)" = "$want_shared" ] && [ "$(doc_json a other)" = "$want_other" ]'
stop a
phase "a stopped holding $(jq length <<< "$want_shared") keys"

db=$tmp/a/pkc.db
[ -f "$db" ] || fail "no $db"
size=$(stat -c %s "$db")
[ "$size" -ge 16384 ] || fail "the database is only $size bytes"
# Every page after the first two overwritten: SQLite's header stays, the
# b-trees are garbage.
head -c $(( size - 8192 )) /dev/urandom |
  dd of="$db" bs=4096 seek=2 conv=notrunc status=none || fail "dd"
start a "$host"
alive a || fail "a did not start on a damaged database"
err_has a "damaged" || fail "a said nothing about the damaged database"
ls "$tmp/a" | grep -q '^pkc\.db\.corrupt-' || fail "the damaged database was not moved aside"
phase "a started: $(grep -m1 damaged "$tmp/a.err")"
wait_until 30 "a and b to connect again" eval 'has_peer a "$idb" && has_peer b "$ida"'
wait_until 20 "a to get its documents back from b" \
  eval '[ "$(doc_json a shared)" = "$want_shared" ] && [ "$(doc_json a other)" = "$want_other" ]'
phase "a has both documents again"
# They are stored again: a holds them after a restart with b stopped.
stop b
stop a
start a "$host"
[ "$(doc_json a shared)" = "$want_shared" ] || fail "a lost the refetched document on restart"
stop a
passed
