#!/usr/bin/env bash
# crash.sh DRIVER: kills the store driver (store_driver.c) with SIGKILL at
# seeded moments while it writes, restarts it, and checks after each kill
# that every batch it acknowledged is stored, intact and whole, nothing of
# a batch it had not committed, and that the database opens cleanly.
#
# The moment of each kill is counted in the driver's own output, never
# timed: the kill follows the reading of line AT, a "commit N" line (the
# kill lands in or just after that commit) or an "ack N" line (it lands in
# the next batch's writes). AT comes from bash's RANDOM seeded with
# PKC_STORE_SEED, so a run is repeatable and its moments varied; every
# third round runs with synchronous=FULL.
set -euo pipefail
driver=$1
seed=${PKC_STORE_SEED:-20261121}
rounds=${PKC_STORE_ROUNDS:-12}
work=$(mktemp -d "${TMPDIR:-/tmp}/pkc-store-crash.XXXXXX")
trap 'rm -rf "$work"' EXIT
db=$work/db
mkdir -m 700 "$db"
RANDOM=$seed
acked=0
for round in $(seq 1 "$rounds"); do
  at=$((1 + RANDOM % 120))
  args=(write "$db" "$seed")
  if (( round % 3 == 0 )); then args+=(--full); fi
  fifo=$work/out.$round
  mkfifo "$fifo"
  "$driver" "${args[@]}" > "$fifo" &
  pid=$!
  exec 3< "$fifo"
  lines=0 killed=0 last=""
  while read -r -u 3 kind n; do
    lines=$((lines + 1))
    last="$kind $n"
    if [ "$kind" = ack ]; then acked=$n; fi
    if [ "$lines" -ge "$at" ]; then
      kill -9 "$pid"
      killed=1
      break
    fi
  done
  # Lines it wrote before it died: each ack among them came before the kill.
  while read -r -u 3 kind n; do
    if [ "$kind" = ack ]; then acked=$n; fi
  done
  exec 3<&-
  rm -f "$fifo"
  status=0
  wait "$pid" 2>/dev/null || status=$?
  if [ "$killed" != 1 ] || [ "$status" != 137 ]; then
    echo "round $round: the driver ended (status $status) before the kill" >&2
    exit 1
  fi
  echo "round $round (${args[*]:3}): killed after line $at ($last); acknowledged up to batch $acked"
  "$driver" verify "$db" "$seed" "$acked"
done
echo "crash: $rounds kills, every acknowledged batch intact"
