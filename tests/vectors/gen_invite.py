#!/usr/bin/env python3
"""Generates tests/vectors/invite.json, the invitations and answers of
docs/protocol.md ("Invitations"), with an implementation written from that
document alone: hashlib (BLAKE2b), base64 (base32), ipaddress and the
`cryptography` package (Ed25519). Run by hand; the output is committed and
checked by tests/unit/test_invite.c, which needs no Python.

  tests/vectors/gen_invite.py            write invite.json
  tests/vectors/gen_invite.py --check    exit 1 if the committed file differs
"""
import base64, hashlib, ipaddress, json, os, struct, sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HERE = os.path.dirname(os.path.abspath(__file__))
RAW = serialization.Encoding.Raw
URL_BASE = "https://pkc.invalid/join"
SKEW_MS = 5 * 60 * 1000


def H(label, data=b""):
    return hashlib.blake2b(label.encode() + b"\0" + data, digest_size=32).digest()


def KDF(key, label, data=b""):
    return hashlib.blake2b(label.encode() + b"\0" + data, digest_size=32, key=key).digest()


def varuint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def varbytes(b):
    return varuint(len(b)) + b


# Peer ids: bech32m (BIP 350) of a 20-byte hash.
CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def polymod(values):
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        b = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((b >> i) & 1) else 0
    return chk


def peer_id(pk):
    h = hashlib.blake2b(b"pkc-peer-id" + pk, digest_size=20).digest()
    bits = int.from_bytes(h, "big")
    data = [(bits >> (5 * (31 - i))) & 31 for i in range(32)]
    hrp = "pkc"
    values = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + data
    mod = polymod(values + [0] * 6) ^ 0x2BC830A3
    checksum = [(mod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(CHARSET[d] for d in data + checksum)


class Identity:
    def __init__(self, seed):
        self.sk = Ed25519PrivateKey.from_private_bytes(seed)
        self.pk = self.sk.public_key().public_bytes(RAW, serialization.PublicFormat.Raw)

    def sign(self, data):
        return self.sk.sign(H("pkc-invite-v1", data))


def address(a):
    # "udp:IPv4:PORT" or "udp:[IPv6]:PORT"
    host, port = a[4:].rsplit(":", 1)
    if host.startswith("["):
        return b"\x06" + ipaddress.IPv6Address(host[1:-1]).packed + struct.pack(">H", int(port))
    return b"\x04" + ipaddress.IPv4Address(host).packed + struct.pack(">H", int(port))


def head(kind, flags, ident, created, expires, dial):
    b = bytes([1, kind, flags]) + ident.pk + varuint(created) + varuint(expires - created)
    b += bytes.fromhex(dial["fingerprint"])
    b += varbytes(dial["ufrag"].encode()) + varbytes(dial["pwd"].encode())
    b += varuint(len(dial["addresses"])) + b"".join(address(a) for a in dial["addresses"])
    return b


def b32(data):
    return base64.b32encode(data).decode().rstrip("=")


def code(prefix, data):
    return prefix + b32(data)


def offer_bytes(o, ident, **over):
    body = head(1, o["flags"], ident, o["created_ms"], o["expires_ms"], o)
    body += bytes.fromhex(o["room_secret"]) + varbytes(o["room_name"].encode())
    body += bytes.fromhex(o["token"])
    return body + ident.sign(body)


def answer_bytes(a, ident, token, offer_id):
    body = head(2, 0, ident, a["created_ms"], a["expires_ms"], a) + offer_id
    mac = KDF(token, "pkc-invite-v1 answer", body)
    body += mac
    return body + ident.sign(body), mac


def case(name, seed_i, seed_a, created, lifetime, flags, room_secret, room_name, token,
         o_dial, a_created, a_dial):
    inviter, invitee = Identity(seed_i), Identity(seed_a)
    o = {"seed": seed_i.hex(), "created_ms": created, "expires_ms": created + lifetime,
         "flags": flags, "room_secret": room_secret.hex(), "room_name": room_name,
         "token": token.hex()}
    o.update(o_dial)
    ob = offer_bytes(o, inviter)
    offer_id = KDF(token, "pkc-proof-id-v1")[:8]
    o.update({"public_key": inviter.pk.hex(), "peer_id": peer_id(inviter.pk),
              "room_id": KDF(room_secret, "pkc-room-id-v1")[:8].hex(), "id": offer_id.hex(),
              "bytes": ob.hex(), "code": code("PKCI1", ob),
              "url": URL_BASE + "#" + code("PKCI1", ob)})
    a = {"seed": seed_a.hex(), "created_ms": a_created, "expires_ms": a_created + 300000}
    a.update(a_dial)
    ab, mac = answer_bytes(a, invitee, token, offer_id)
    a.update({"public_key": invitee.pk.hex(), "peer_id": peer_id(invitee.pk), "mac": mac.hex(),
              "bytes": ab.hex(), "code": code("PKCA1", ab)})
    return {"name": name, "offer": o, "answer": a}


def dial(fp_start, ufrag, pwd, addresses):
    return {"fingerprint": bytes(range(fp_start, fp_start + 32)).hex(), "ufrag": ufrag,
            "pwd": pwd, "addresses": addresses}


def main():
    T0 = 1767225600000  # 2026-01-01T00:00:00Z
    valid = [
        case("typical: one-step, single-use, two addresses", bytes(range(1, 33)),
             bytes(range(33, 65)), T0, 300000, 3, b"\x11" * 32, "team", b"\x22" * 32,
             dial(0xA0, "Ab+/1234", "abcdefghijklmnopqrstuv+/",
                  ["udp:192.168.1.20:41000", "udp:203.0.113.5:41000"]),
             T0 + 30000,
             dial(0x40, "WXYZwxyz", "0123456789abcdefghijKLMN",
                  ["udp:10.0.0.7:5000", "udp:203.0.113.9:62000"])),
        case("two-step, no name, an hour, IPv6, UTF-8 name", bytes([0x42] * 32),
             bytes([0x43] * 32), T0 + 123456789, 3600000, 0, bytes(range(100, 132)),
             "caf\u00e9 \u2615", bytes(range(200, 232)),
             dial(0x10, "abcd", "0000000000000000000000",
                  ["udp:[fd00::20]:41000", "udp:[2001:db8::1]:1", "udp:127.0.0.1:65535"]),
             T0 + 123456789 + 1,
             dial(0x60, "zzzz", "ZZZZZZZZZZZZZZZZZZZZZZ", ["udp:[::1]:9"])),
    ]
    o0 = valid[0]["offer"]
    ident = Identity(bytes(range(1, 33)))
    good = bytes.fromhex(o0["bytes"])
    invalid = []

    def bad(name, text, err, message, now=None, skew=None):
        v = {"name": name, "text": text, "error": err, "message": message}
        if now is not None:
            v["now_ms"], v["skew_ms"] = now, skew
        invalid.append(v)

    def resigned(**over):
        o = dict(o0)
        o.update(over)
        return offer_bytes(o, ident)

    def raw(body):
        # re-signed raw body (everything before the signature)
        return body + ident.sign(body)

    unsigned = good[:-64]
    flipped = bytearray(good)
    flipped[len(good) - 64 - 1] ^= 1  # the last byte of the token
    bad("tampered: one bit of the token", code("PKCI1", bytes(flipped)), "PKC_ERR_BAD_SIGNATURE",
        "invitation: tampered: the signature does not verify")
    bad("tampered: one bit of the signature",
        code("PKCI1", good[:-1] + bytes([good[-1] ^ 0x80])), "PKC_ERR_BAD_SIGNATURE",
        "invitation: tampered")
    bad("expired: 5 minutes after expiry, with 5 minutes of skew", o0["code"], "PKC_ERR_EXPIRED",
        "invitation: expired 5 min 0 s ago, at 2026-01-01 00:05:00 UTC",
        now=o0["expires_ms"] + SKEW_MS, skew=SKEW_MS)
    bad("expired: 3 min 12 s after expiry, no skew", o0["code"], "PKC_ERR_EXPIRED",
        "invitation: expired 3 min 12 s ago, at 2026-01-01 00:05:00 UTC",
        now=o0["expires_ms"] + 192000, skew=0)
    bad("not yet valid: made more than the skew ahead of the checker's clock", o0["code"],
        "PKC_ERR_NOT_YET_VALID",
        "invitation: not valid yet: made 5 min 1 s in the future, at 2026-01-01 00:00:00 UTC",
        now=o0["created_ms"] - SKEW_MS - 1000, skew=SKEW_MS)
    bad("version 2 in the bytes", code("PKCI1", raw(bytes([2]) + unsigned[1:])),
        "PKC_ERR_UNSUPPORTED", "invitation: version 2, this pkc reads version 1")
    bad("version 2 in the prefix", "PKCI2" + o0["code"][5:], "PKC_ERR_UNSUPPORTED",
        "invitation: version 2, this pkc reads version 1")
    bad("kind 3", code("PKCI1", raw(bytes([1, 3]) + unsigned[2:])), "PKC_ERR_UNSUPPORTED",
        "invitation: kind 3 unknown")
    bad("kind X in the prefix", "PKCX1" + o0["code"][5:], "PKC_ERR_UNSUPPORTED",
        "invitation: kind 'X' unknown")
    bad("an answer's prefix on an offer", "PKCA1" + o0["code"][5:], "PKC_ERR_MALFORMED",
        "invitation: the prefix says answer, the code is an invitation")
    bad("not a code", "hello", "PKC_ERR_MALFORMED", "invitation: not a pkc code")
    bad("a link without its fragment", URL_BASE, "PKC_ERR_MALFORMED",
        "invitation: a link without a code")
    bad("mixed case", "pkci1" + o0["code"][5:], "PKC_ERR_MALFORMED",
        "invitation: mixed upper and lower case")
    bad("a character outside base32", o0["code"][:20] + "0" + o0["code"][21:],
        "PKC_ERR_MALFORMED", "invitation: malformed: character 21 of the code ('0')")
    bad("nonzero unused bits in the last character",
        o0["code"][:-1] + "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".index(o0["code"][-1]) ^ 1],
        "PKC_ERR_MALFORMED", "invitation: malformed: base32: nonzero unused bits at the end")
    bad("truncated: the last 5 bytes of the signature missing", code("PKCI1", good[:-5]),
        "PKC_ERR_TRUNCATED", "invitation: malformed: signature")
    bad("a byte after the signature", code("PKCI1", good + b"\0"), "PKC_ERR_MALFORMED",
        "invitation: malformed: signature: 1 unexpected bytes")
    bad("a ufrag of 3 characters (signed)", code("PKCI1", resigned(ufrag="abc")),
        "PKC_ERR_MALFORMED", "invitation: ufrag: offset 76: not 4..64 ice-chars")
    bad("a pwd with a character ICE does not allow (signed)",
        code("PKCI1", resigned(pwd="abcdefghijklmnopqrstu-")),
        "PKC_ERR_MALFORMED", "invitation: pwd: offset 85: not 22..64 ice-chars")
    bad("a lifetime of 0 (signed)", code("PKCI1", resigned(expires_ms=o0["created_ms"])),
        "PKC_ERR_RANGE", "invitation: lifetime: offset 41: zero")
    bad("a lifetime over 30 days (signed)",
        code("PKCI1", resigned(expires_ms=o0["created_ms"] + 30 * 86400000 + 1)),
        "PKC_ERR_RANGE", "invitation: malformed: lifetime: offset 41: 2592000001 exceeds")
    body = bytearray(unsigned)
    body[35:41] = varuint(o0["created_ms"])[:-1] + bytes([varuint(o0["created_ms"])[-1] | 0x80])
    body[41:41] = b"\0"
    bad("created not in its shortest form (signed)", code("PKCI1", raw(bytes(body))),
        "PKC_ERR_MALFORMED", "invitation: malformed: created: offset 35: varuint not in its "
        "shortest form")
    bad("port 0 (signed)", code("PKCI1", resigned(addresses=["udp:192.168.1.20:0"])),
        "PKC_ERR_MALFORMED", "invitation: address 0: offset 111: port 0 cannot be dialed")
    bad("no address (signed)", code("PKCI1", resigned(addresses=[])),
        "PKC_ERR_MALFORMED", "invitation: addresses: offset 110: none")
    bad("9 addresses (signed)", code("PKCI1", resigned(addresses=["udp:10.0.0.1:1"] * 9)),
        "PKC_ERR_RANGE", "invitation: malformed: addresses: offset 110: 9 exceeds the limit 8")
    bad("an unknown address type (signed)",
        code("PKCI1", raw(unsigned[:111] + b"\x05" + unsigned[112:])),
        "PKC_ERR_MALFORMED", "invitation: address 0: offset 111: unknown type 5")
    bad("a room name with an escape character (signed)",
        code("PKCI1", resigned(room_name="a\x1b[2J")),
        "PKC_ERR_MALFORMED", "invitation: room name: offset 157: not UTF-8 without control")
    bad("unknown flags (signed)", code("PKCI1", raw(unsigned[:2] + b"\x07" + unsigned[3:])),
        "PKC_ERR_MALFORMED", "invitation: flags: offset 2: unknown bits 0x04")

    out = {
        "comment": "Invitations and answers of docs/protocol.md (Invitations), written by "
                   "tests/vectors/gen_invite.py. valid: the inputs of pkc_invite_offer_create and "
                   "pkc_invite_answer_create and the exact bytes, code and URL; invalid: text "
                   "pkc_invite_parse (then pkc_invite_check_time at now_ms with skew_ms, when "
                   "given) refuses, with the error and a part of its message.",
        "url_base": URL_BASE,
        "skew_ms": SKEW_MS,
        "valid": valid,
        "invalid": invalid,
    }
    write_or_check("invite.json", "gen_invite.py", out)


def write_or_check(name, generator, out):
    """Writes tests/vectors/NAME, or with --check exits 1 if it differs."""
    text = json.dumps(out, indent=1, ensure_ascii=False) + "\n"
    path = os.path.join(HERE, name)
    if "--check" in sys.argv:
        with open(path, encoding="utf-8") as f:
            if f.read() != text:
                print(f"tests/vectors/{name} differs from what {generator} computes")
                sys.exit(1)
        print(f"tests/vectors/{name}: as computed")
        return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
