#!/usr/bin/env bash
# net.partition6 (issue 13, item 4): six nodes on one LAN (the lab's bridge)
# form one mesh (each connected to the five others: max-peers is 8). The
# bridge is cut between {n1,n2,n3} and {n4,n5,n6} (every frame dropped
# between the halves): each half drops the other from its mesh. Both halves
# keep writing: broadcasts, which reach their own half, and edits of one
# document (keys of each node's own, and one key "last" all set). The
# partition heals: within 30 s the six are one mesh again (the neighbour
# graph connected) and hold identical documents with every key; the time
# from the heal to that is printed.
. "$(dirname "$0")/lab.sh"

make_bridge
nodes=(n1 n2 n3 n4 n5 n6)
for i in 1 2 3 4 5 6; do on_bridge "pkn${tag}-$i" "$i"; done
for i in 1 2 3 4 5 6; do start "n$i" "pkn${tag}-$i"; done
full() { local n; for n in "${nodes[@]}"; do connected "$n" 5 || return 1; done; }
wait_until 30 "the six nodes to connect to each other" full
phase "one mesh of six"
for n in "${nodes[@]}"; do pkc "$n" doc set shared "before_$n" 1 > /dev/null || fail "doc set on $n"; done

partition "1 2 3" "4 5 6"
t_cut=$(now_ms)
# split: no node lists a peer of the other half.
other_half() { case $1 in n[123]) echo n4 n5 n6 ;; *) echo n1 n2 n3 ;; esac; }
split() {
  local n m
  for n in "${nodes[@]}"; do
    for m in $(other_half "$n"); do has_peer "$n" "$(lab_id "$m")" && return 1; done
  done
  return 0
}
wait_until 90 "each half to drop the other from its mesh" split
phase "partitioned: each half dropped the other after $(( $(now_ms) - t_cut )) ms"
one_mesh n1 n2 n3 && one_mesh n4 n5 n6 || fail "a half is not one mesh"

for k in 1 2 3; do
  for n in "${nodes[@]}"; do
    pkc "$n" send "split $n $k" > /dev/null || fail "send on $n"
    pkc "$n" doc set shared "${n}_$k" "$k" > /dev/null || fail "doc set on $n"
    pkc "$n" doc set shared last "\"$n $k\"" > /dev/null || fail "doc set last on $n"
  done
done
half_got() {
  local n m k
  for n in "${nodes[@]}"; do
    for m in n1 n2 n3 n4 n5 n6; do
      [ "$n" = "$m" ] && continue
      case "$(other_half "$n")" in *"$m"*) continue ;; esac
      for k in 1 2 3; do inbox_has "$n" "split $m $k" || return 1; done
    done
  done
}
wait_until 30 "the broadcasts written during the partition to reach their half" half_got
phase "both halves wrote: broadcasts arrived within each half"

want=$(for n in "${nodes[@]}"; do echo "before_$n"; for k in 1 2 3; do echo "${n}_$k"; done; done | sort | tr '\n' ' ')
docs_equal() {
  local n j first=""
  for n in "${nodes[@]}"; do
    j=$(doc_json "$n" shared)
    [ -n "$j" ] || return 1
    if [ -z "$first" ]; then first=$j; elif [ "$j" != "$first" ]; then return 1; fi
  done
  [ "$(jq -r 'del(.last) | keys[]' <<< "$first" | sort | tr '\n' ' ')" = "$want" ] &&
    jq -e '.last | test("^n[1-6] 3$")' <<< "$first" > /dev/null
}
heal
t_heal=$(now_ms)
wait_until 30 "one mesh and identical documents after the heal" eval 'one_mesh "${nodes[@]}" && docs_equal'
healed_ms=$(( $(now_ms) - t_heal ))
across=0
for n in n1 n4; do for m in $(other_half "$n"); do inbox_has "$n" "split $m 1" && across=$((across + 1)); done; done
phase "healed: one mesh and identical documents $healed_ms ms after the heal ($across of 6 broadcasts sent across during the partition later reached n1/n4: not required)"
echo "$test_name: healed in $healed_ms ms"
stop "${nodes[@]}"
passed
