#!/usr/bin/env bash
# node.disk_full: node a's data directory is a small tmpfs (in a private
# mount namespace). Document sets go in until the disk is full: the failing
# `pkc doc set` says "disk full"; a keeps running; every set acknowledged
# before is there after a restart once space is freed, and so are the
# messages it had received.
if [ -z "${PKC_NODE_IN_MNTNS:-}" ]; then
  if ! unshare -m --propagation private true 2>/dev/null; then
    echo "skipped: unshare -m is not allowed here (it needs root)"; exit 77
  fi
  PKC_NODE_IN_MNTNS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

mkdir "$tmp/small"
mount -t tmpfs -o size=1536k,mode=0700 tmpfs "$tmp/small" || { echo "skipped: no tmpfs"; exit 77; }
cleanups+=("umount -l '$tmp/small'")
ln -s "$tmp/small" "$tmp/a"
host_ns
start a "$host"
start b "$host"
ida=$(id_of a); idb=$(id_of b)
wait_until 30 "a and b to connect" eval 'has_peer a "$idb" && has_peer b "$ida"'
pkc b send "stored before the disk filled" > /dev/null
wait_until 20 "a to receive b's message" inbox_has a "stored before the disk filled"
# Room to free afterwards.
head -c 786432 /dev/zero > "$tmp/small/ballast"

big=$(head -c 6000 /dev/zero | tr '\0' x)
acked=0 err=""
for k in $(seq 1 400); do
  if ! err=$(pkc a doc set d "k$k" "\"$k $big\"" 2>&1 >/dev/null); then break; fi
  acked=$k
done
phase "disk full after $acked sets: $err"
[ "$acked" -gt 0 ] || fail "no set fitted"
[ "$acked" -lt 400 ] || fail "the disk never filled"
case "$err" in
  *"disk full"*) ;;
  *) fail "the failing set did not say \"disk full\": $err" ;;
esac
alive a || fail "a died when the disk filled"
pkc a status > /dev/null || fail "a does not answer once the disk is full"

rm "$tmp/small/ballast"
# b holds a's document too: stopped, it cannot give back what a lost.
stop b
stop a
start a "$host"
doc=$(pkc a doc json d) || fail "document d is gone"
for k in $(seq 1 "$acked"); do
  [ "$(jq -r ".k$k" <<< "$doc" | cut -d' ' -f1)" = "$k" ] || fail "acknowledged set k$k is lost"
done
inbox_has a "stored before the disk filled" || fail "the message received before is lost"
phase "all $acked acknowledged sets and the message are there"
err=$(pkc a doc set d after "\"space again\"" 2>&1 >/dev/null) || fail "a takes no writes once space is freed: $err"
stop a
passed
