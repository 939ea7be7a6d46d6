#!/usr/bin/env bash
# node.dns_record (issue 13 item 1): `pkc dns record` on a running node prints
# its DNS seed record as one zone-file line, which an independent reader
# (Python: base64url, Ed25519 from `cryptography` when present) takes apart:
# the owner name, the TTL, strings of at most 255 bytes, the node's key and
# peer id, the room's id, the node's listener address, a valid signature, and
# a newer sequence on the next call. Then the refusals, each with its words.
. "$(dirname "$0")/lib.sh"

make_bridge
on_bridge "pkn${tag}-1" 1
start a "pkn${tag}-1" --no-local --no-lan --room "a seeded room"
ida=$(id_of a)
room=$(pkc a rooms --json | jq -r 'select(.local == false) | .id')
[ -n "$room" ] || fail "a is in no private room"

pkc a dns record --domain Example.ORG --room "$room" > "$tmp/z1.txt" 2> "$tmp/z1.err" ||
  fail "pkc dns record: $(cat "$tmp/z1.err")"
pkc a dns record --domain example.org --room "$room" --per-peer --ttl 3600 --json \
  > "$tmp/z2.json" || fail "pkc dns record --per-peer --json"
jq -r .zone_line "$tmp/z2.json" > "$tmp/z2.txt"
phase "records: $(wc -c < "$tmp/z1.txt") and $(wc -c < "$tmp/z2.txt") bytes"

python3 - "$tmp/z1.txt" "$tmp/z2.txt" "$ida" "$room" <<'PY' || fail "the records do not read back"
import base64, hashlib, re, sys
z1, z2, peer, room = open(sys.argv[1]).read(), open(sys.argv[2]).read(), sys.argv[3], sys.argv[4]

def parse(line, owner, ttl):
    m = re.fullmatch(r'(\S+) (\d+) IN TXT((?: "[^"\\]*")+)\n', line)
    assert m, "not one zone line: %r" % line
    assert m.group(1) == owner, (m.group(1), owner)
    assert int(m.group(2)) == ttl, m.group(2)
    strings = re.findall(r'"([^"]*)"', m.group(3))
    assert all(1 <= len(s) <= 255 for s in strings), [len(s) for s in strings]
    assert all(len(s) == 255 for s in strings[:-1])
    text = "".join(strings)
    assert text.startswith("pkc1="), text[:8]
    b64 = text[5:]
    data = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
    return data

def fields(data):
    assert data[0] == 1
    pk = data[1:33]
    i, seq, shift = 33, 0, 0
    while True:
        b = data[i]; i += 1
        seq |= (b & 0x7F) << shift; shift += 7
        if b < 0x80: break
    return pk, seq, data[i:i + 8], data

d1 = parse(z1, "_pkc.example.org.", 300)
d2 = parse(z2, "_pkc.%s.example.org." % peer, 3600)
pk1, s1, r1, _ = fields(d1)
pk2, s2, r2, _ = fields(d2)
assert pk1 == pk2 and r1 == r2
assert r1.hex() == room, (r1.hex(), room)
assert s2 > s1, (s1, s2)
# The node's listener address is in the dial information: 10.92.0.1.
assert bytes([4, 10, 92, 0, 1]) in d1, "no udp:10.92.0.1 address"
try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:
    print("no cryptography module: signature not checked")
else:
    for d in (d1, d2):
        h = hashlib.blake2b(b"pkc-dns-v1\0" + d[:-64], digest_size=32).digest()
        Ed25519PublicKey.from_public_bytes(d[1:33]).verify(d[-64:], h)
print("records read back: sequence %d then %d" % (s1, s2))
PY

# Refusals.
out=$(pkc a dns record 2>&1) && fail "no --domain accepted"
grep -q -- "--domain DOMAIN is required" <<< "$out" || fail "no --domain: $out"
out=$(pkc a dns record --domain "bad domain" 2>&1) && fail "a bad domain accepted"
grep -q "domain: byte 3 is not a letter" <<< "$out" || fail "bad domain: $out"
out=$(pkc a dns record --domain example.org --room nowhere 2>&1) && fail "an unknown room accepted"
grep -q "no room 'nowhere'" <<< "$out" || fail "unknown room: $out"
out=$(pkc a dns record --domain example.org --ttl 0 2>&1) && fail "TTL 0 accepted"
grep -q -- "--ttl: seconds from 1" <<< "$out" || fail "ttl 0: $out"
out=$(pkc a dns resolve 2>&1) && fail "an unknown subcommand accepted"
grep -q "unknown subcommand 'resolve'" <<< "$out" || fail "resolve: $out"
out=$(pkc a dns publish --domain example.org 2>&1) && fail "publish without --server accepted"
grep -q -- "--server IP:PORT" <<< "$out" || fail "publish without --server: $out"
out=$(pkc a dns lookup example.org 2>&1) && fail "lookup without --resolver accepted"
grep -q -- "--resolver URL is required" <<< "$out" || fail "lookup without --resolver: $out"

stop a
passed
