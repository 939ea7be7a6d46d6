#!/usr/bin/env bash
# node.three: three nodes on one host (a namespace with lo alone: the host
# registry) find each other with no help, exchange broadcast and direct
# messages, and converge on a document edited concurrently on all three: the
# same JSON on all, every edit in it, one value for the key all three set.
. "$(dirname "$0")/lib.sh"

host_ns
for i in 1 2 3; do start "n$i" "$host"; done
for i in 1 2 3; do id[$i]=$(id_of "n$i"); [ -n "${id[$i]}" ] || fail "n$i did not start"; done
all_meshed() {
  local i j
  for i in 1 2 3; do for j in 1 2 3; do
    [ "$i" = "$j" ] || has_peer "n$i" "${id[$j]}" || return 1
  done; done
}
wait_until 30 "each node to be connected to the two others" all_meshed
phase "the three nodes are connected to each other"

pkc n1 send "hello from one" > /dev/null || fail "broadcast from n1"
pkc n2 send "hello from two" > /dev/null || fail "broadcast from n2"
pkc n1 send --to "${id[3]}" "private to three" > /dev/null || fail "direct message to n3"
pkc n3 send --to "${id[2]}" "private to two" > /dev/null || fail "direct message to n2"
got_all() {
  local i
  for i in 1 2 3; do
    inbox_has "n$i" "hello from one" && inbox_has "n$i" "hello from two" || return 1
  done
  inbox_has n3 "dm:private to three" && inbox_has n2 "dm:private to two"
}
wait_until 20 "the broadcasts on all three and the direct messages at their peers" got_all
inbox_has n2 "dm:private to three" && fail "n2 got the direct message to n3"
inbox_has n1 "dm:private to three" && fail "n1 lists n3's direct message as received"
inbox_has n1 "dm:private to two" && fail "n1 got the direct message to n2"
delivered() { [ "$(events "$1" delivered | grep -c .)" -ge 1 ]; }
wait_until 20 "the senders to learn that their direct messages were delivered" \
  eval 'delivered n1 && delivered n3'
phase "broadcasts and direct messages arrived"

# Concurrent edits: each node sets keys of its own and the key "all"; the
# three commands run at once.
for i in 1 2 3; do
  ( pkc "n$i" doc set notes "k$i" "$i" && pkc "n$i" doc set notes all "\"from $i\"" &&
    pkc "n$i" doc set notes "list$i" "[$i, {\"x\": $i}]" ) > /dev/null &
  editors[$i]=$!
done
for i in 1 2 3; do wait "${editors[$i]}" || fail "doc set on n$i failed"; done
converged() {
  local a b c
  a=$(doc_json n1 notes); b=$(doc_json n2 notes); c=$(doc_json n3 notes)
  [ -n "$a" ] && [ "$a" = "$b" ] && [ "$b" = "$c" ] &&
    doc_has n1 notes '.k1 == 1 and .k2 == 2 and .k3 == 3 and (.all | test("^from [123]$")) and .list2 == [2, {"x": 2}]'
}
wait_until 20 "the three documents to converge" converged
phase "converged on $(doc_json n1 notes)"
stop n1 n2 n3
passed
