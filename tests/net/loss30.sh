#!/usr/bin/env bash
# net.loss30 (issue 13, item 4): three nodes on one LAN (namespaces on the
# lab's bridge) with 30% of the UDP datagrams each one sends onto the bridge
# dropped there (so 30% each way between any two, announcements included:
# the loss is on before the nodes start, and they find each other by LAN
# multicast through it). Checked:
#   - each node connects to the two others within 30 s of the start;
#   - broadcasts (20 numbered ones from each node) and direct messages (20
#     a -> b, 20 c -> a) all arrive, each exactly once and in the order
#     sent (the receiver's inbox, oldest first, per sender);
#   - no document update applied twice: 10 `doc set`s on each node, of
#     keys of its own, end with identical documents holding each key with
#     its last value; and each node's stored updates of the document
#     (`docs` on the control socket) number at most the 30 edits made (an
#     update received twice and stored twice would count twice).
. "$(dirname "$0")/lab.sh"

make_bridge
for i in 1 2 3; do on_bridge "pkn${tag}-$i" "$i"; done
loss 30 1 2 3
declare -A id
i=0
for n in a b c; do i=$((i + 1)); start "$n" "pkn${tag}-$i"; id[$n]=$(id_of "$n"); done
t_up=$(now_ms)
meshed() {
  local x y
  for x in a b c; do for y in a b c; do
    [ "$x" = "$y" ] || has_peer "$x" "${id[$y]}" || return 1
  done; done
}
wait_until 30 "each node to connect to the two others through 30% loss" meshed
phase "meshed through 30% loss in $(( $(now_ms) - t_up )) ms"

N=20
for k in $(seq 1 $N); do
  for n in a b c; do pkc "$n" send "bc $n $k" > /dev/null || fail "send on $n"; done
  pkc a send --to "${id[b]}" "dm a $k" > /dev/null || fail "direct send a -> b"
  pkc c send --to "${id[a]}" "dm c $k" > /dev/null || fail "direct send c -> a"
done
# seq_of NAME PREFIX: the numbers of NAME's inbox texts "PREFIX k", in inbox order.
seq_of() {
  pkc "$1" inbox --json 2>/dev/null | jq -r --arg p "$2 " 'select(.text | startswith($p)) | .text' |
    sed "s/^$2 //" | tr '\n' ' '
}
want=$(seq 1 $N | tr '\n' ' ')
complete() {
  local x y
  for x in a b c; do for y in a b c; do
    [ "$x" = "$y" ] || [ "$(seq_of "$x" "bc $y" | wc -w)" -ge $N ] || return 1
  done; done
  [ "$(seq_of b "dm a" | wc -w)" -ge $N ] && [ "$(seq_of a "dm c" | wc -w)" -ge $N ]
}
wait_until 60 "every broadcast and direct message to arrive" complete
for x in a b c; do for y in a b c; do
  [ "$x" = "$y" ] && continue
  got=$(seq_of "$x" "bc $y")
  [ "$got" = "$want" ] || fail "$x got $y's broadcasts as: $got"
done; done
got=$(seq_of b "dm a"); [ "$got" = "$want" ] || fail "b got a's direct messages as: $got"
got=$(seq_of a "dm c"); [ "$got" = "$want" ] || fail "a got c's direct messages as: $got"
phase "$((6 * N)) broadcasts and $((2 * N)) direct messages arrived, once each, in order"

for n in a b c; do
  ( for k in $(seq 1 10); do pkc "$n" doc set lossy "$n$k" "$k" > /dev/null || exit 1; done ) &
  ed[$n]=$!
done
for n in a b c; do wait "${ed[$n]}" || fail "doc set on $n"; done
want_doc=$(for n in a b c; do for k in $(seq 1 10); do echo "\"$n$k\": $k"; done; done |
  paste -sd, | sed 's/^/{/; s/$/}/' | jq -cS .)
converged() { local n; for n in a b c; do [ "$(doc_json "$n" lossy)" = "$want_doc" ] || return 1; done; }
wait_until 60 "the three documents to converge" converged
for n in a b c; do
  st=$(doc_info "$n" lossy | jq -r .stored_updates)
  [ -n "$st" ] && [ "$st" -le 30 ] || fail "$n stored $st updates for 30 edits"
  stored+="$n $st, "
done
read -r seen dropped <<< "$(loss_counts)"
phase "documents identical with all 30 keys; stored updates: ${stored%, }; bridge: $dropped of $seen UDP datagrams dropped"
stop a b c
passed
