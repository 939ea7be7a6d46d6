#!/usr/bin/env bash
# tests/examples/run.sh chat|counter PROGRAM: runs an example of examples/
# as a person would, several instances at once, in a network namespace of
# its own whose only interface is lo (made with unshare -n here; nothing
# reaches the host's network). Exits 77 (skipped) where no namespace can be
# made. Every wait is for something a program prints or does, with a
# deadline.
#
#   counter  three instances in one private room, each adding 20 while the
#            other two are connected: all three print "total 60" and exit 0.
#   chat     two instances in the local room: each sees the other join; a
#            line typed in one appears in the other; "/to PEER TEXT" reaches
#            that peer alone and comes back delivered; end of input quits
#            with status 0.
set -u
example=${1:?example}
program=${2:?program}

if [ -z "${PKC_EXAMPLES_IN_NETNS:-}" ]; then
  export PKC_EXAMPLES_IN_NETNS=1
  # As root a new network namespace; otherwise inside a user namespace.
  for flags in -n -rn; do
    if unshare $flags true 2>/dev/null; then exec unshare $flags bash "$0" "$@"; fi
  done
  echo "skipped: cannot make a network namespace (unshare -n)"
  exit 77
fi
ip link set lo up || { echo "FAIL: cannot bring lo up"; exit 1; }

tmp=$(mktemp -d /tmp/pkc-examples.XXXXXX)
# The host registry of same-host discovery lives here, not in the user's.
export XDG_RUNTIME_DIR=$tmp
declare -a pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 143" TERM INT HUP

fail() {
  echo "FAIL ($example): $*"
  for f in "$tmp"/*.out; do
    [ -f "$f" ] || continue
    echo "== ${f##*/}"; cat "$f"
    [ -s "${f%.out}.err" ] && { echo "-- stderr (last 40 lines)"; grep -v "^pkc.rtc\]" "${f%.out}.err" | tail -n 40; }
  done
  exit 1
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every 50 ms.
wait_until() {
  local limit=$(( $(now_ms) + $1 * 1000 )) what=$2; shift 2
  until "$@"; do
    [ "$(now_ms)" -lt "$limit" ] || fail "timed out waiting for: $what"
    sleep 0.05
  done
}
gone() { ! kill -0 "$1" 2>/dev/null; }
has_line() { grep -qxF -- "$2" "$tmp/$1.out"; }
# The status of an instance that has exited (or was waited for already).
status_of() { wait "$1"; echo $?; }

t0=$(now_ms)
case "$example" in
counter)
  # A private room with a phrase of its own: the local room is not used.
  phrase="examples counter $$ $RANDOM"
  declare -A pid
  for i in 1 2 3; do
    "$program" --room "$phrase" --add 20 --every 20 --peers 2 "$tmp/d$i" 60 \
      >"$tmp/c$i.out" 2>"$tmp/c$i.err" </dev/null &
    pid[$i]=$!
    pids+=($!)
  done
  for i in 1 2 3; do
    wait_until ${PKC_EXAMPLES_WAIT:-120} "counter $i to reach 60 and exit" gone "${pid[$i]}"
    st=$(status_of "${pid[$i]}")
    [ "$st" = 0 ] || fail "counter $i exited with status $st"
    last=$(grep "^total " "$tmp/c$i.out" | tail -n 1)
    [ "${last%% *}" = total ] && [ "$(echo "$last" | cut -d' ' -f2)" = 60 ] ||
      fail "counter $i ended with '$last', not a total of 60"
    # Each peer's own key holds its 20 increments: none was lost.
    [ "$(echo "$last" | cut -d' ' -f3)" = "(20+20+20)" ] ||
      fail "counter $i ended with '$last': not 20 from each of the three"
    # The totals printed only grow (a merge never takes an increment back).
    awk '$1 == "total" { if ($2 < prev) exit 1; prev = $2 }' "$tmp/c$i.out" ||
      fail "counter $i printed a total that went down"
  done
  ;;
chat)
  mkfifo "$tmp/a.in" "$tmp/b.in"
  "$program" "$tmp/a" <"$tmp/a.in" >"$tmp/a.out" 2>"$tmp/a.err" &
  pa=$!
  pids+=($pa)
  "$program" "$tmp/b" <"$tmp/b.in" >"$tmp/b.out" 2>"$tmp/b.err" &
  pb=$!
  pids+=($pb)
  # Our ends of the two terminals.
  exec 3>"$tmp/a.in" 4>"$tmp/b.in"
  id_of() { awk '$2 == "you" && $3 == "are" { print $4; exit }' "$tmp/$1.out"; }
  started() { [ -n "$(id_of a)" ] && [ -n "$(id_of b)" ]; }
  wait_until 60 "both chats to start" started
  ida=$(id_of a)
  idb=$(id_of b)
  met() { has_line a "* $idb joined" && has_line b "* $ida joined"; }
  wait_until 60 "each chat to see the other join" met
  echo "hello from a, $$" >&3
  wait_until 30 "b to show a's line" has_line b "$ida: hello from a, $$"
  echo "and hello from b" >&4
  wait_until 30 "a to show b's line" has_line a "$idb: and hello from b"
  echo "/peers" >&3
  wait_until 30 "a to list b among its peers" grep -q "^\* $idb at " "$tmp/a.out"
  echo "/to $ida for a only" >&4
  wait_until 30 "a to show b's direct message" has_line a "$idb (to you): for a only"
  wait_until 30 "b to hear that it was delivered" grep -q '^\* delivered ' "$tmp/b.out"
  # What a typed is not echoed back to it, and nothing arrived twice.
  [ "$(grep -c "hello from a" "$tmp/a.out")" = 0 ] || fail "a's own line was shown to a"
  [ "$(grep -c "hello from a" "$tmp/b.out")" = 1 ] || fail "b did not show a's line once"
  [ "$(grep -c "for a only" "$tmp/a.out")" = 1 ] || fail "a did not show the direct message once"
  # End of input (Ctrl-D) quits: status 0, and the sanitizers found nothing.
  exec 3>&- 4>&-
  wait_until 30 "the chats to quit at end of input" eval "gone $pa && gone $pb"
  st=$(status_of $pa); [ "$st" = 0 ] || fail "chat a exited with status $st"
  st=$(status_of $pb); [ "$st" = 0 ] || fail "chat b exited with status $st"
  ;;
*)
  echo "unknown example $example"; exit 2 ;;
esac
echo "examples.$example: passed in $(( $(now_ms) - t0 )) ms"
exit 0
