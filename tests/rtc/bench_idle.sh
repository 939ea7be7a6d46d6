#!/usr/bin/env bash
# tests/rtc/bench_idle.sh BENCH_RTC: runs bench/rtc's program (many
# pkc-to-pkc connections at once on one loop, each with a channel opened by
# one side and reported to the other) on a small scale, in a network
# namespace of its own whose only interface is lo. It must exit 0 and print
# its JSON line. Nothing is timed: what it measures is left to `make bench`.
# Exits 77 (skipped) where no namespace can be made.
#
# Regression: the program's on_channel called on_open(ch, ud) with the
# arguments swapped after the callbacks took user_data first, so it wrote
# into the library's channel and every run crashed in flush_channels.
set -u
bench=${1:?bench-rtc program}

if [ -z "${PKC_BENCH_IDLE_IN_NETNS:-}" ]; then
  export PKC_BENCH_IDLE_IN_NETNS=1
  # As root a new network namespace; otherwise inside a user namespace.
  for flags in -n -rn; do
    if unshare $flags true 2>/dev/null; then exec unshare $flags bash "$0" "$@"; fi
  done
  echo "skipped: cannot make a network namespace (unshare -n)"
  exit 77
fi
ip link set lo up || { echo "FAIL: cannot bring lo up"; exit 1; }

pairs=4
out=$("$bench" --pairs $pairs --idle-ms 500)
rc=$?
echo "$out"
if [ $rc -ne 0 ]; then
  echo "FAIL: bench-rtc exited with status $rc"
  exit 1
fi
if ! printf '%s\n' "$out" | grep -q "^{\"connections\":$((2 * pairs)),"; then
  echo "FAIL: no JSON line for $((2 * pairs)) connections"
  exit 1
fi
echo "PASS: $((2 * pairs)) connections opened their channels, idled and closed"
