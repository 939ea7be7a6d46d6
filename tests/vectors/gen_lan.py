#!/usr/bin/env python3
"""Generates tests/vectors/lan.json, the LAN announcement datagrams of
docs/protocol.md ("LAN announcements"), with an implementation written from
that document alone: hashlib (BLAKE2b) and the `cryptography` package
(Ed25519, X25519). Run by hand; the output is committed and checked by
tests/unit/test_lan_wire.c, which needs no Python.

  tests/vectors/gen_lan.py            write lan.json
  tests/vectors/gen_lan.py --check    exit 1 if the committed file differs
"""
import hashlib, json, os, struct, sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

HERE = os.path.dirname(os.path.abspath(__file__))
RAW = serialization.Encoding.Raw


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


class Identity:
    def __init__(self, seed):
        self.sk = Ed25519PrivateKey.from_private_bytes(seed)
        self.pk = self.sk.public_key().public_bytes(RAW, serialization.PublicFormat.Raw)
        dh_sk = KDF(seed, "pkc-x25519-v1")
        self.dh_pk = X25519PrivateKey.from_private_bytes(dh_sk).public_key().public_bytes(
            RAW, serialization.PublicFormat.Raw)

    def sign_labeled(self, label, data):
        return self.sk.sign(H(label, data))


def room_id(secret):
    return KDF(secret, "pkc-room-id-v1")[:8]


def extension(t, value):
    return varuint(t) + varbytes(value)


def rooms_ext(ids):
    return extension(1, b"".join(ids))


def listener_ext(fp, ufrag, pwd):
    return extension(2, fp + varbytes(ufrag.encode()) + varbytes(pwd.encode()))


def record(ident, ts, addresses, exts, capabilities=0):
    body = bytes([1]) + ident.pk + ident.dh_pk + varuint(ts) + varuint(capabilities)
    body += varuint(len(addresses)) + b"".join(varbytes(a.encode()) for a in addresses)
    body += varuint(len(exts)) + b"".join(exts)
    body += struct.pack(">Q", 0)  # no proof of work
    return body + ident.sign_labeled("pkc-announce-v1", body)


def datagram(ident, ts, addresses, exts, version=1, magic=b"pkcl"):
    return magic + bytes([version]) + record(ident, ts, addresses, exts)


TS = 1767225600000  # 2026-01-01T00:00:00Z
SEED_A = bytes(range(1, 33))
SEED_B = bytes(range(0x40, 0x60))
FP = bytes(range(0xa0, 0xc0))
UFRAG = "Ab+/1234"
PWD = "abcdefghijklmnopqrstuv+/"
SECRET_1 = bytes([0x11] * 32)
SECRET_2 = bytes([0x22] * 32)
LOCAL = H("pkc-local-room-v1")


def valid_case(name, seed, ts, addresses, secrets, ufrag, pwd, fp, extra_exts=()):
    ident = Identity(seed)
    ids = [room_id(s) for s in secrets]
    exts = [rooms_ext(ids), listener_ext(fp, ufrag, pwd)] + list(extra_exts)
    d = datagram(ident, ts, addresses, exts)
    assert len(d) <= 1200
    return {
        "name": name,
        "seed": seed.hex(),
        "public_key": ident.pk.hex(),
        "dh_public_key": ident.dh_pk.hex(),
        "timestamp_ms": ts,
        "addresses": addresses,
        "room_secrets": [s.hex() for s in secrets],
        "room_ids": [i.hex() for i in ids],
        "ufrag": ufrag,
        "pwd": pwd,
        "fingerprint": fp.hex(),
        # Written by pkc exactly so, unless the record has extensions pkc does
        # not write (then it only reads it).
        "pkc_writes": not extra_exts,
        "datagram": d.hex(),
    }


def main():
    a = Identity(SEED_A)
    r1 = room_id(SECRET_1)
    good_exts = [rooms_ext([r1]), listener_ext(FP, UFRAG, PWD)]
    addr = ["udp:192.168.1.20:41000"]
    valid = [
        valid_case("one room, two addresses", SEED_A, TS,
                   ["udp:192.168.1.20:41000", "udp:[fd00::20]:41000"], [SECRET_1], UFRAG, PWD,
                   FP),
        valid_case("the local room and two others, loopback", SEED_B, TS + 1234,
                   ["udp:127.0.0.1:5000"], [LOCAL, SECRET_1, SECRET_2],
                   "abcdefgh", "ABCDEFGHIJKLMNOPQRSTUVWX", FP),
        valid_case("an extension pkc does not know is skipped", SEED_A, TS, addr, [SECRET_1],
                   UFRAG, PWD, FP, extra_exts=[extension(300, b"future")]),
    ]

    def bad(name, d, err):
        return {"name": name, "datagram": d.hex(), "error": err}

    good = datagram(a, TS, addr, good_exts)
    invalid = [
        bad("wrong magic", datagram(a, TS, addr, good_exts, magic=b"pkcL"), "PKC_ERR_MALFORMED"),
        bad("version 2", datagram(a, TS, addr, good_exts, version=2), "PKC_ERR_UNSUPPORTED"),
        bad("cut short", good[:-1], "PKC_ERR_TRUNCATED"),
        bad("a byte too many", good + b"\0", "PKC_ERR_MALFORMED"),
        bad("no ROOMS extension", datagram(a, TS, addr, [listener_ext(FP, UFRAG, PWD)]),
            "PKC_ERR_MALFORMED"),
        bad("no LISTENER extension", datagram(a, TS, addr, [rooms_ext([r1])]),
            "PKC_ERR_MALFORMED"),
        bad("two ROOMS extensions",
            datagram(a, TS, addr, [rooms_ext([r1]), rooms_ext([r1]), listener_ext(FP, UFRAG, PWD)]),
            "PKC_ERR_MALFORMED"),
        bad("a room id of 7 bytes",
            datagram(a, TS, addr, [extension(1, r1[:7]), listener_ext(FP, UFRAG, PWD)]),
            "PKC_ERR_MALFORMED"),
        bad("17 rooms", datagram(a, TS, addr, [rooms_ext([r1] * 17), listener_ext(FP, UFRAG, PWD)]),
            "PKC_ERR_MALFORMED"),
        bad("a fingerprint of 31 bytes",
            datagram(a, TS, addr, [rooms_ext([r1]), listener_ext(FP[:31], UFRAG, PWD)]),
            "PKC_ERR_MALFORMED"),
        bad("an ICE pwd of 21 characters",
            datagram(a, TS, addr, [rooms_ext([r1]), listener_ext(FP, UFRAG, PWD[:21])]),
            "PKC_ERR_MALFORMED"),
        bad("a ufrag with a character ICE does not allow",
            datagram(a, TS, addr, [rooms_ext([r1]), listener_ext(FP, "ab:d", PWD)]),
            "PKC_ERR_MALFORMED"),
        bad("no address", datagram(a, TS, [], good_exts), "PKC_ERR_MALFORMED"),
        bad("an address that is a name", datagram(a, TS, ["udp:example.com:41000"], good_exts),
            "PKC_ERR_MALFORMED"),
        bad("an address not in its shortest spelling",
            datagram(a, TS, ["udp:[fd00:0::20]:41000"], good_exts), "PKC_ERR_MALFORMED"),
        bad("an address with a NUL inside",
            datagram(a, TS, ["udp:192.168.1.2\0:41000"], good_exts), "PKC_ERR_MALFORMED"),
        bad("port 0", datagram(a, TS, ["udp:192.168.1.20:0"], good_exts), "PKC_ERR_MALFORMED"),
        bad("an IPv6 address without brackets", datagram(a, TS, ["udp:fd00::20:41000"], good_exts),
            "PKC_ERR_MALFORMED"),
        bad("longer than 1200 bytes",
            datagram(a, TS, addr, good_exts + [extension(9, b"x" * 256)] * 4),
            "PKC_ERR_TOO_LARGE"),
    ]
    out = {
        "description": "LAN announcement datagrams (docs/protocol.md, LAN announcements), "
                       "written by tests/vectors/gen_lan.py",
        "local_room": {"secret": LOCAL.hex(), "room_id": room_id(LOCAL).hex()},
        "valid": valid,
        "invalid": invalid,
    }
    text = json.dumps(out, indent=1) + "\n"
    path = os.path.join(HERE, "lan.json")
    if "--check" in sys.argv:
        with open(path) as f:
            if f.read() != text:
                print("tests/vectors/lan.json differs from what gen_lan.py computes")
                sys.exit(1)
        print("tests/vectors/lan.json: as computed")
        return
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
