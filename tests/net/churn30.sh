#!/usr/bin/env bash
# net.churn30 (issue 13, item 4): 30 nodes on one LAN (namespaces on the
# lab's bridge), max-peers 8 (the default). For two minutes, every 10 s,
# three of them (10%) are restarted (SIGTERM, then started again): they are
# taken in turn from n21..n30, so n1..n20 stay up throughout. Each round a
# node that stays up broadcasts a numbered message and two documents edits
# are made (one on a node that stays up, one on a node just restarted).
# Checked: at every sample (each round, every running node's `peers`) no
# node has more than 8 neighbours; every broadcast reaches every node that
# stayed up; within 60 s after the churn stops the 30 nodes are one mesh
# with identical documents holding every edit. PKC_CHURN_SECONDS shortens
# the churn for a run by hand.
. "$(dirname "$0")/lab.sh"

N=30; churn_s=${PKC_CHURN_SECONDS:-120}; round_s=10
make_bridge
nodes=(); for i in $(seq 1 $N); do nodes+=("n$i"); on_bridge "pkn${tag}-$i" "$i"; done
for i in $(seq 1 $N); do start "n$i" "pkn${tag}-$i"; done
phase "$N nodes started"
wait_until 60 "the $N nodes to form one mesh" one_mesh "${nodes[@]}"
phase "one mesh of $N"
# CPU used by the nodes (user + system clock ticks): those stopped so far
# (counted just before each stop) and those running.
gone_ticks=0
ticks() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}'; }
cpu() {
  local n t=$gone_ticks
  for n in "${nodes[@]}"; do alive "$n" && t=$(( t + $(ticks "${pid[$n]}") )); done
  echo "$t"
}
rss() { # kilobytes resident of the running nodes
  local n t=0
  for n in "${nodes[@]}"; do alive "$n" && t=$(( t + $(awk '/^VmRSS/ {print $2}' "/proc/${pid[$n]}/status") )); done
  echo "$t"
}
max_seen=0; samples=0; sent=(); edits=()
t_churn=$(now_ms); rounds=$(( churn_s / round_s )); next=0
for r in $(seq 1 $rounds); do
  for k in 0 1 2; do
    c="n$(( 21 + (3 * (r - 1) + k) % 10 ))"
    gone_ticks=$(( gone_ticks + $(ticks "${pid[$c]}") ))
    stop "$c"
    start "$c" "${nsof[$c]}"
  done
  s="n$(( 1 + (r - 1) % 20 ))"
  pkc "$s" send "churn round $r from $s" > /dev/null || fail "send on $s"
  sent+=("churn round $r from $s")
  pkc "$s" doc set churn "stable_$r" "\"$s\"" > /dev/null || fail "doc set on $s"
  pkc "$c" doc set churn "restarted_$r" "\"$c\"" > /dev/null || fail "doc set on $c"
  edits+=("stable_$r" "restarted_$r")
  for n in "${nodes[@]}"; do
    m=$(n_peers "$n")
    [ "$m" -le 8 ] || fail "$n has $m neighbours in round $r: $(peers_of "$n" | tr '\n' ' ')"
    [ "$m" -gt "$max_seen" ] && max_seen=$m
  done
  samples=$((samples + 1))
  [ "$r" = 1 ] && phase "round 1: $(rss) kB resident in the nodes"
  # The rounds keep their 10 s rhythm (restarts and samples take part of it).
  next=$(( t_churn + r * round_s * 1000 ))
  now=$(now_ms); [ "$now" -lt "$next" ] && sleep "$(( (next - now) / 1000 )).$(printf %03d $(( (next - now) % 1000 )))"
done
t_end=$(now_ms)
phase "churn over: $rounds rounds, $((3 * rounds)) restarts, $samples samples of every node, at most $max_seen neighbours seen; the nodes used $(( $(cpu) / $(getconf CLK_TCK) )) s of CPU in $(( (t_end - t0) / 1000 )) s"

stable=(); for i in $(seq 1 20); do stable+=("n$i"); done
all_bcast() {
  local n m
  for n in "${stable[@]}"; do for m in "${sent[@]}"; do
    case $m in *" from $n") continue ;; esac
    inbox_has "$n" "$m" || return 1
  done; done
}
wait_until 60 "every broadcast at every node that stayed up" all_bcast
want=$(printf '%s\n' "${edits[@]}" | sort | tr '\n' ' ')
docs_equal() {
  local n j first=""
  for n in "${nodes[@]}"; do
    j=$(doc_json "$n" churn)
    [ -n "$j" ] || return 1
    if [ -z "$first" ]; then first=$j; elif [ "$j" != "$first" ]; then return 1; fi
  done
  [ "$(jq -r 'keys[]' <<< "$first" | sort | tr '\n' ' ')" = "$want" ]
}
wait_until 60 "one mesh and identical documents after the churn" eval 'one_mesh "${nodes[@]}" && docs_equal'
phase "converged $(( $(now_ms) - t_end )) ms after the churn stopped; $(rss) kB resident in the nodes"
echo "$test_name: converged $(( $(now_ms) - t_end )) ms after the churn"
stop "${nodes[@]}"
passed
