#!/usr/bin/env python3
"""Generates tests/vectors/dnsrec.json, the DNS seed records of
docs/protocol.md ("DNS seed records"), with an implementation written from
that document alone (and the invitation vectors' helpers for what the two
share: peer ids, dial information, labelled signatures). Run by hand; the
output is committed and checked by tests/unit/test_dnsrec.c, which needs no
Python.

  tests/vectors/gen_dnsrec.py            write dnsrec.json
  tests/vectors/gen_dnsrec.py --check    exit 1 if the committed file differs
"""
import base64, json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gen_invite import H, KDF, Identity, address, peer_id, varbytes, varuint, write_or_check  # noqa: E402

PREFIX = "pkc1="


def record_body(ident, sequence, room_id, d, version=1):
    b = bytes([version]) + ident.pk + varuint(sequence) + room_id
    b += bytes.fromhex(d["fingerprint"])
    b += varbytes(d["ufrag"].encode()) + varbytes(d["pwd"].encode())
    b += varuint(len(d["addresses"])) + b"".join(address(a) for a in d["addresses"])
    return b


def sign(ident, body):
    return body + ident.sk.sign(H("pkc-dns-v1", body))


def text(data):
    return PREFIX + base64.urlsafe_b64encode(data).decode().rstrip("=")


def split(t):
    return [t[i:i + 255] for i in range(0, len(t), 255)] or [""]


def quote(s):
    out = '"'
    for c in s.encode():
        if c in (0x22, 0x5C):
            out += "\\" + chr(c)
        elif c < 0x20 or c >= 0x7F:
            out += "\\%03d" % c
        else:
            out += chr(c)
    return out + '"'


def case(name, seed, sequence, room_secret, d, domain, ttl):
    ident = Identity(seed)
    room_id = KDF(room_secret, "pkc-room-id-v1")[:8]
    data = sign(ident, record_body(ident, sequence, room_id, d))
    t = text(data)
    dom = domain.lower().rstrip(".")
    owner = "_pkc." + dom
    v = {"name": name, "seed": seed.hex(), "sequence": sequence,
         "room_secret": room_secret.hex(), "room_id": room_id.hex()}
    v.update(d)
    v.update({"domain": domain, "ttl": ttl, "public_key": ident.pk.hex(),
              "peer_id": peer_id(ident.pk), "bytes": data.hex(), "text": t,
              "strings": split(t), "owner": owner,
              "peer_owner": "_pkc." + peer_id(ident.pk) + "." + dom,
              "zone_line": "%s. %d IN TXT %s" % (owner, ttl, " ".join(quote(s) for s in split(t)))})
    return v


def dial(fp_start, ufrag, pwd, addresses):
    return {"fingerprint": bytes(range(fp_start, fp_start + 32)).hex(), "ufrag": ufrag,
            "pwd": pwd, "addresses": addresses}


def main():
    T0 = 1767225600000  # 2026-01-01T00:00:00Z
    valid = [
        case("typical: IPv4 and IPv6, two strings", bytes(range(1, 33)), T0, b"\x11" * 32,
             dial(0xA0, "Ab+/1234", "abcdefghijklmnopqrstuv+/",
                  ["udp:192.168.1.20:41000", "udp:[2001:db8::20]:41000"]),
             "example.org", 300),
        case("short: one address, sequence 1, one string", bytes([0x42] * 32), 1,
             bytes(range(100, 132)), dial(0x10, "abcd", "0000000000000000000000",
                                          ["udp:203.0.113.5:9"]),
             "Seeds.Example.COM.", 86400),
        case("longest: 64-character ICE strings, 8 IPv6 addresses, three strings",
             bytes(range(50, 82)), 2 ** 53 - 1, b"\x77" * 32,
             dial(0x30, "u" * 64, "p" * 64,
                  ["udp:[2001:db8::%x]:%d" % (i, 1000 + i) for i in range(1, 9)]),
             "a.b", 2147483647),
    ]
    v0 = valid[0]
    ident = Identity(bytes(range(1, 33)))
    good = bytes.fromhex(v0["bytes"])
    room_id = bytes.fromhex(v0["room_id"])
    invalid = []

    def bad(name, strings, err, message, room=None, last_seen=None):
        v = {"name": name, "strings": strings, "error": err, "message": message}
        if room is not None:
            v["room_id"], v["last_seen"] = room.hex(), last_seen
        invalid.append(v)

    def resigned(**over):
        d = {k: v0[k] for k in ("fingerprint", "ufrag", "pwd", "addresses")}
        d.update({k: v for k, v in over.items() if k in d})
        return split(text(sign(ident, record_body(
            ident, over.get("sequence", v0["sequence"]), room_id, d,
            version=over.get("version", 1)))))

    flipped = bytearray(good)
    flipped[33 + 6] ^= 1  # the first byte of the room id
    bad("tampered: one bit of the room id", split(text(bytes(flipped))), "PKC_ERR_BAD_SIGNATURE",
        "dns record: tampered: the signature does not verify")
    bad("tampered: one bit of the signature", split(text(good[:-1] + bytes([good[-1] ^ 1]))),
        "PKC_ERR_BAD_SIGNATURE", "dns record: tampered")
    bad("version 2 in the bytes (signed)", resigned(version=2), "PKC_ERR_UNSUPPORTED",
        "dns record: version 2, this pkc reads version 1")
    bad("version 2 in the text", split("pkc2=" + v0["text"][5:]), "PKC_ERR_UNSUPPORTED",
        "dns record: text version 2, this pkc reads version 1")
    bad("another TXT record at the same name", ["v=spf1 -all"], "PKC_ERR_MALFORMED",
        "dns record: not a pkc record")
    bad("a character outside base64url", split(v0["text"][:30] + "+" + v0["text"][31:]),
        "PKC_ERR_MALFORMED", "dns record: malformed: byte 30 of the text is not base64url")
    bad("a string of 256 bytes", [v0["text"][:256], v0["text"][256:]], "PKC_ERR_MALFORMED",
        "dns record: string 0 has 256 bytes")
    bad("the second string missing", v0["strings"][:1], "PKC_ERR_MALFORMED",
        "dns record: malformed: base64url: nonzero unused bits")
    bad("the strings in the wrong order", v0["strings"][::-1], "PKC_ERR_MALFORMED",
        "dns record: not a pkc record")
    bad("sequence 0 (signed)", resigned(sequence=0), "PKC_ERR_RANGE",
        "dns record: sequence: offset 33: zero")
    bad("no address (signed)", resigned(addresses=[]), "PKC_ERR_MALFORMED",
        "dns record: addresses: offset 113: none")
    bad("a ufrag of 3 characters (signed)", resigned(ufrag="abc"), "PKC_ERR_MALFORMED",
        "dns record: ufrag: offset 79: not 4..64 ice-chars")
    bad("older record ignored: the sequence already seen", v0["strings"], "PKC_ERR_STALE",
        "dns record: older record ignored: sequence 1767225600000, 1767225600000 already seen",
        room=room_id, last_seen=v0["sequence"])
    bad("a record for another room", v0["strings"], "PKC_ERR_MISMATCH",
        "dns record: for another room (%s)" % room_id.hex(),
        room=KDF(b"\x12" * 32, "pkc-room-id-v1")[:8], last_seen=0)

    out = {
        "comment": "DNS seed records of docs/protocol.md (DNS seed records), written by "
                   "tests/vectors/gen_dnsrec.py. valid: the inputs of pkc_dnsrec_create and the "
                   "exact bytes, text, TXT strings, owner names and zone line; invalid: TXT "
                   "strings pkc_dnsrec_parse_txt (then pkc_dnsrec_check with room_id and "
                   "last_seen, when given) refuses, with the error and a part of its message.",
        "valid": valid,
        "invalid": invalid,
    }
    write_or_check("dnsrec.json", "gen_dnsrec.py", out)


if __name__ == "__main__":
    main()
