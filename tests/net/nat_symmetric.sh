#!/usr/bin/env bash
# net.nat_symmetric (issue 13, item 4): two nodes behind symmetric NATs
# (lab.sh's symmetric routers: a new random public port per destination),
# which cannot connect directly, and a public node p on the bridge that
# both reach. Checked:
#   - a and b exchange direct messages both ways and sync a document both
#     ways, through p (they are never neighbours);
#   - the direct attempts stop: the dialer gives up after 3 failed dials
#     (its log says so) and dials b at most 4 times in all over the test,
#     while the routed path keeps working;
#   - p, the common neighbour, sees only ciphertext: p runs at log level
#     trace, where a node logs every mesh message it sends as hex (its own
#     and those it forwards). The bytes p sent to b hold a's peer id hash
#     (routed messages carry their origin: p did forward a's traffic, and
#     the search finds bytes that are there), yet never the text of the
#     direct messages nor of the document edits, and p's inbox holds
#     neither direct message. (The document itself is the room's: p, a
#     member, holds the room key and the document; what travels is
#     encrypted with the room key.)
. "$(dirname "$0")/lab.sh"
. "$(dirname "$0")/nat_common.sh"

nat_setup symmetric --log-level trace
m1="direct secret from a $RANDOM$RANDOM"
m2="direct secret from b $RANDOM$RANDOM"
m3="document secret of a $RANDOM$RANDOM"
m4="document secret of b $RANDOM$RANDOM"
pkc a send --to "$idb" "$m1" > /dev/null || fail "send a -> b"
pkc b send --to "$ida" "$m2" > /dev/null || fail "send b -> a"
wait_until 60 "b to receive a's direct message" inbox_has b "dm:$m1"
wait_until 60 "a to receive b's direct message" inbox_has a "dm:$m2"
phase "direct messages arrived both ways"
pkc a doc set --room "$room" notes from_a "$m3" > /dev/null || fail "doc set on a"
pkc b doc set --room "$room" notes from_b "$m4" > /dev/null || fail "doc set on b"
both='.from_a == $ENV.m3 and .from_b == $ENV.m4'
export m3 m4
wait_until 60 "the document to converge on a and b" eval \
  'doc_has a notes "$both" && doc_has b notes "$both"'
phase "the document synced both ways"

# Who dials: the smaller id hash. Its log tells when it gave up.
dialer=; for x in a b; do err_has "$x" "failed in a row" && dialer=$x; done
[ -n "$dialer" ] || wait_until 60 "the dialer to give up on a direct connection" eval \
  'err_has a "failed in a row" || err_has b "failed in a row"'
for x in a b; do err_has "$x" "failed in a row" && dialer=$x; done
other=$([ "$dialer" = a ] && echo "$idb" || echo "$ida")
phase "$dialer gave up on a direct connection: $(grep -o '[0-9]* direct connections failed in a row[^(]*' "$tmp/$dialer.err" | head -n 1)"
# Some time with the hold in force: no more dials, messages still flow.
pkc a send --to "$idb" "$m1 again" > /dev/null || fail "send a -> b"
wait_until 60 "b to receive a's second direct message" inbox_has b "dm:$m1 again"
sleep 5 # (not a wait for anything: a window in which no dial may happen)
dials=$(grep -c "dialing $other for room" "$tmp/$dialer.err")
echo "  $dialer dialed the other $dials times"
[ "$dials" -le 4 ] || fail "$dialer dialed $dials times: the direct attempts churn"
has_peer a "$idb" && fail "a and b are neighbours behind symmetric NATs?"

# What p had in hand.
stop a b p
python3 - "$tmp/p.err" "$idb" "$ida" "$m1" "$m2" "$m3" "$m4" <<'PY' || fail "p's bytes: see above"
import re, sys
CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
def hash_of(pid):
    d = [CHARSET.index(c) for c in pid[4:-6]]
    acc = bits = 0
    out = bytearray()
    for v in d:
        acc = (acc << 5) | v; bits += 5
        while bits >= 8:
            bits -= 8; out.append((acc >> bits) & 255)
    return bytes(out)
log, idb, ida = sys.argv[1], sys.argv[2], sys.argv[3]
secrets = [s.encode() for s in sys.argv[4:]]
msgs = {}
line_re = re.compile(r"mesh out (\d+) to (\S+) len (\d+) at (\d+): ([0-9a-f]*)$")
for line in open(log, errors="replace"):
    m = line_re.search(line.rstrip("\n"))
    if m:
        seq, to, ln, off, hx = m.groups()
        e = msgs.setdefault(int(seq), [to, int(ln), {}])
        e[2][int(off)] = bytes.fromhex(hx)
full = []
for seq, (to, ln, parts) in msgs.items():
    data = b"".join(parts[k] for k in sorted(parts))
    if len(data) != ln:
        sys.exit(f"message {seq}: {len(data)} of {ln} bytes logged")
    full.append((to, data))
to_b = [d for to, d in full if to == idb]
ha = hash_of(ida)
carrying_a = sum(1 for d in to_b if ha in d)
print(f"  p sent {len(full)} mesh messages ({sum(len(d) for _, d in full)} bytes), {len(to_b)} to b, {carrying_a} of them naming a as origin")
if carrying_a == 0:
    sys.exit("no message p sent to b carries a's id: p forwarded nothing of a's, or the dump is wrong")
for s in secrets:
    for to, d in full:
        if s in d:
            sys.exit(f"plaintext {s!r} in a message p sent to {to}")
print("  no plaintext of the 4 secrets in any of them")
PY
for m in "$m1" "$m2"; do inbox_has p "dm:$m" && fail "p's inbox holds a direct message: $m"; done
phase "p forwarded a's traffic and saw only ciphertext"
passed
