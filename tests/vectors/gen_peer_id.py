#!/usr/bin/env python3
"""Generates peer-id.json: reference peer ids computed independently of pkc's C
code (Python's hashlib BLAKE2b, `cryptography` Ed25519, and bech32m as in the
BIP-350 reference code). Run by hand; the output is committed."""
import hashlib, json
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32M_CONST = 0x2BC830A3

def polymod(values):
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        b = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((b >> i) & 1) else 0
    return chk

def hrp_expand(hrp):
    return [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]

def create_checksum(hrp, data):
    values = hrp_expand(hrp) + data
    pm = polymod(values + [0, 0, 0, 0, 0, 0]) ^ BECH32M_CONST
    return [(pm >> 5 * (5 - i)) & 31 for i in range(6)]

def convertbits(data, frombits, tobits):
    acc, bits, ret = 0, 0, []
    for v in data:
        acc = (acc << frombits) | v
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            ret.append((acc >> bits) & ((1 << tobits) - 1))
    assert bits == 0
    return ret

def peer_id(pk):
    h = hashlib.blake2b(b"pkc-peer-id" + pk, digest_size=20).digest()
    data = convertbits(h, 8, 5)
    return h, "pkc1" + "".join(CHARSET[d] for d in data + create_checksum("pkc", data))

seeds = [
    # RFC 8032 section 7.1, tests 1 to 3
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
    "00" * 32,
    "ff" * 32,
]
out = []
for s in seeds:
    sk = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(s))
    pk = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    h, pid = peer_id(pk)
    out.append({"seed": s, "public_key": pk.hex(), "hash": h.hex(), "peer_id": pid})
print(json.dumps({"description": "peer id = bech32m('pkc', BLAKE2b-160('pkc-peer-id' || ed25519 public key)); see docs/protocol.md",
                  "vectors": out}, indent=2))
