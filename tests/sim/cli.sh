#!/usr/bin/env bash
# pkc-sim's command line: the JSON it prints has the documented keys, the
# same seed gives the same object (but wall_seconds), usage errors exit 2.
set -euo pipefail
sim=$1
run() { "$sim" --peers 40 --messages 10 --warmup 20 --drain 20 --json "$@"; }
a=$(run --seed 5 --crash 0.1)
b=$(run --seed 5 --crash 0.1)
c=$(run --seed 6 --crash 0.1 --protocol flood)
node -e '
const [a, b, c] = process.argv.slice(1).map(s => JSON.parse(s))
const keys = ["peers", "live_peers", "messages", "delivery_ratio", "redundancy", "max_hops",
  "p50_latency_ms", "p99_latency_ms", "max_degree", "components", "wall_seconds"]
for (const k of keys) if (!(k in a)) { console.error(`missing key ${k}`); process.exit(1) }
if (a.peers !== 40 || a.live_peers !== 36 || a.messages !== 10 || a.protocol !== "plumtree") {
  console.error("unexpected values", a); process.exit(1) }
if (c.protocol !== "flood") { console.error("protocol not applied"); process.exit(1) }
delete a.wall_seconds; delete b.wall_seconds; delete c.wall_seconds
if (JSON.stringify(a) !== JSON.stringify(b)) { console.error("same seed, different runs"); process.exit(1) }
if (JSON.stringify(a) === JSON.stringify(c)) { console.error("different runs, same output"); process.exit(1) }
' "$a" "$b" "$c"
"$sim" --peers 10 --messages 2 --warmup 5 --drain 5 | grep -q "delivery ratio"
for bad in "--protocol gossip" "--peers 0" "--crash 2" "--partition 5" "--nope 1"; do
  if "$sim" $bad >/dev/null 2>&1; then echo "accepted: $bad" >&2; exit 1; fi
  set +e; "$sim" $bad >/dev/null 2>&1; rc=$?; set -e
  [ "$rc" = 2 ] || { echo "exit $rc for: $bad" >&2; exit 1; }
done
echo ok
