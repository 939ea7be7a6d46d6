#!/usr/bin/env bash
# disk_full.sh DRIVER: the store driver (store_driver.c) writes into a
# 512 KiB tmpfs until the disk is full. The failing write must say "disk
# full", leave nothing of its batch and every batch before it intact;
# after space is freed the database must open cleanly and take writes.
# The tmpfs lives in a private mount namespace (unshare -m, root); the test
# is skipped (status 77) only where that is not allowed.
set -euo pipefail
driver=$1
seed=${PKC_STORE_SEED:-20261121}
if [ -z "${PKC_STORE_IN_NS:-}" ]; then
  if ! unshare -m --propagation private true 2>/dev/null; then
    echo "SKIP: unshare -m is not allowed here (it needs root): no full-disk test"
    exit 77
  fi
  mnt=$(mktemp -d "${TMPDIR:-/tmp}/pkc-store-full.XXXXXX")
  status=0
  PKC_STORE_IN_NS=1 unshare -m --propagation private bash "$0" "$driver" "$mnt" || status=$?
  rmdir "$mnt"
  exit $status
fi

mnt=$2
if ! mount -t tmpfs -o size=512k,mode=0700 tmpfs "$mnt"; then
  echo "SKIP: cannot mount a tmpfs here: no full-disk test"
  exit 77
fi
db=$mnt/db
mkdir -m 700 "$db"
# Space to free afterwards.
head -c 131072 /dev/zero > "$mnt/ballast"

out=$("$driver" fill "$db" "$seed")
acked=$(grep '^ack ' <<< "$out" | tail -n 1 | cut -d' ' -f2)
full=$(grep '^full ' <<< "$out" || true)
echo "filled: batches 1..$acked acknowledged; then: ${full#full }"
df -k "$mnt" | tail -n 1
[ -n "$acked" ] && [ "$acked" -gt 0 ] || { echo "no batch fitted" >&2; exit 1; }
case "$full" in
  "full disk full: "*) ;;
  *) echo "the failure did not say \"disk full\"" >&2; exit 1 ;;
esac

rm "$mnt/ballast"
"$driver" verify "$db" "$seed" "$acked"
"$driver" write "$db" "$seed" --max 3 > /dev/null
"$driver" verify "$db" "$seed" $((acked + 3))
echo "disk_full: the full disk lost nothing; the database took writes again once space was freed"
