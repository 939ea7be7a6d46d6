#!/usr/bin/env bash
# net.leftovers: the lab cleans up after itself and after runs that could
# not. A lab run (a STUN server, a NAT router, a host behind it running a
# pkc node) is killed with SIGKILL: its namespaces and processes stay. A
# second run with the same tag (so the same namespace names) starts anyway:
# it removes what the killed run left (lab.sh's sweep), builds its own lab,
# runs its node and leaves nothing behind. A third run stopped with SIGTERM
# while it runs leaves nothing behind either (the trap).
if [ "${1:-}" = --child ]; then
  # The lab run under test: builds, signals "ready" in $2, then waits until
  # killed (when given a FIFO $3 that nobody writes to) or ends at once,
  # cleanly.
  . "$(dirname "$0")/lab.sh"
  make_bridge
  stun_server 200 201
  nat_router r eim 11
  behind 11 "pkn${tag}-a" 2
  start a "pkn${tag}-a" --stun "$stun_ip:3478"
  echo "$tag ${pid[a]} ${pids[0]}" > "$2"
  if [ -n "${3:-}" ]; then read -r _ < "$3"; fi
  stop a
  exit 0
fi
. "$(dirname "$0")/lab.sh"

# A tag no run uses now.
ctag=$(( (tag + 50000) % 100000 ))
while ip netns list | grep -q "^pkn${ctag}-" || [ -e "$lab_runs/$ctag" ]; do
  ctag=$(( (ctag + 1) % 100000 ))
done
child() { # child READY-FILE ARGS...: a lab run with tag $ctag in the background
  PKC_TEST_TAG=$ctag TEST_NAME=leftovers-child bash "$0" --child "$@" > "$tmp/child.log" 2>&1 &
  cpid=$!
}
lab_nss() { ip netns list | grep -c "^pkn${ctag}-"; }
ready() { [ -s "$1" ] || ! kill -0 "$cpid" 2>/dev/null; }
nothing_left() {
  [ "$(lab_nss)" = 0 ] || fail "namespaces left: $(ip netns list | grep "^pkn${ctag}-" | tr '\n' ' ')"
  [ ! -e "$lab_runs/$ctag" ] || fail "the run's record is left"
  # SIGKILL takes effect asynchronously; a zombie is dead (its reaper is
  # whatever adopted it).
  wait_until 10 "the processes of the run to end ($*)" none_running "$@"
}
none_running() {
  local p st
  for p in "$@"; do
    st=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1)
    [ -z "$st" ] || [ "$st" = Z ] || return 1
  done
}

# 1. A run killed with SIGKILL.
mkfifo "$tmp/never"
child "$tmp/ready1" "$tmp/never"
wait_until 60 "the first run to build its lab" ready "$tmp/ready1"
[ -s "$tmp/ready1" ] || fail "the first run failed: $(tail -n 20 "$tmp/child.log")"
read -r _ node1 turn1 < "$tmp/ready1"
kill -KILL "$cpid"; wait "$cpid" 2>/dev/null
n_left=$(lab_nss)
kill -0 "$node1" 2>/dev/null && kill -0 "$turn1" 2>/dev/null ||
  fail "the killed run's node or STUN server ended with it: nothing would be left to clean"
phase "run 1 killed with SIGKILL: $n_left namespaces, its node and STUN server left"

# 2. A run with the same names.
child "$tmp/ready2"
wait "$cpid" || fail "the second run failed over the first one's leftovers: $(tail -n 30 "$tmp/child.log")"
grep -q "left by a killed run" "$tmp/child.log" || [ "$n_left" = 0 ] ||
  fail "the second run did not say what it removed"
nothing_left "$node1" "$turn1"
phase "run 2 (same tag): $(grep -c 'left by a killed run' "$tmp/child.log") namespaces of run 1 removed, its own lab built and removed"

# 3. A run stopped with SIGTERM while it runs.
child "$tmp/ready3" "$tmp/never"
wait_until 60 "the third run to build its lab" ready "$tmp/ready3"
[ -s "$tmp/ready3" ] || fail "the third run failed: $(tail -n 20 "$tmp/child.log")"
read -r _ node3 turn3 < "$tmp/ready3"
kill -TERM "$cpid"
wait "$cpid"
nothing_left "$node3" "$turn3"
phase "run 3 stopped with SIGTERM: nothing left"
passed
