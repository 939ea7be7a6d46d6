#!/usr/bin/env python3
"""Generates the proto test vectors (handshake.json, frames.json,
identity-export.json, replay.json) with an implementation of docs/protocol.md written
independently of pkc's C code: Python's hashlib (BLAKE2b), the `cryptography`
package (Ed25519, X25519, ChaCha20-Poly1305, Argon2id) and HChaCha20 written
out below. Run by hand; the output is committed and checked by
tests/unit/test_proto_vectors.c, which needs no Python.

  tests/vectors/gen_proto.py            write the four files
  tests/vectors/gen_proto.py --check    exit 1 if the committed files differ
"""
import hashlib, json, os, struct, sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
try:  # cryptography >= 44 has Argon2id; Debian 12's (38) has not: argon2-cffi then
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
except ImportError:
    Argon2id = None
    from argon2.low_level import Type as Argon2Type, hash_secret_raw

HERE = os.path.dirname(os.path.abspath(__file__))
RAW = serialization.Encoding.Raw

# --- Primitives -------------------------------------------------------------

def H(label, data, size=32):
    return hashlib.blake2b(label.encode() + b"\0" + data, digest_size=size).digest()

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

def u64be(v):
    return struct.pack(">Q", v)

class Identity:
    def __init__(self, seed):
        self.seed = seed
        self.sk = Ed25519PrivateKey.from_private_bytes(seed)
        self.pk = self.sk.public_key().public_bytes(RAW, serialization.PublicFormat.Raw)
        self.dh_sk = KDF(seed, "pkc-x25519-v1")
        self.dh_pk = x25519_base(self.dh_sk)
        self.hash = hashlib.blake2b(b"pkc-peer-id" + self.pk, digest_size=20).digest()

    def sign_labeled(self, label, data):
        return self.sk.sign(H(label, data))

def x25519_base(sk):
    return X25519PrivateKey.from_private_bytes(sk).public_key().public_bytes(
        RAW, serialization.PublicFormat.Raw)

def x25519(sk, pk):
    return X25519PrivateKey.from_private_bytes(sk).exchange(X25519PublicKey.from_public_bytes(pk))

def _rotl(v, c):
    return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))

def _qr(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl(s[b] ^ s[c], 7)

def hchacha20(key, nonce16):
    s = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    s += list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))
    for _ in range(10):
        _qr(s, 0, 4, 8, 12); _qr(s, 1, 5, 9, 13); _qr(s, 2, 6, 10, 14); _qr(s, 3, 7, 11, 15)
        _qr(s, 0, 5, 10, 15); _qr(s, 1, 6, 11, 12); _qr(s, 2, 7, 8, 13); _qr(s, 3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))

def xchacha_seal(key, nonce24, pt, ad):
    return ChaCha20Poly1305(hchacha20(key, nonce24[:16])).encrypt(b"\0" * 4 + nonce24[16:], pt, ad)

def argon2id(passphrase, salt, ops, mem_kib):
    if Argon2id is None:
        return hash_secret_raw(passphrase, salt, time_cost=ops, memory_cost=mem_kib,
                               parallelism=1, hash_len=32, type=Argon2Type.ID)
    return Argon2id(salt=salt, length=32, iterations=ops, lanes=1,
                    memory_cost=mem_kib).derive(passphrase)

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

def peer_id(h):
    def polymod(values):
        gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
        chk = 1
        for v in values:
            b = chk >> 25
            chk = (chk & 0x1FFFFFF) << 5 ^ v
            for i in range(5):
                chk ^= gen[i] if (b >> i) & 1 else 0
        return chk
    acc, bits, data = 0, 0, []
    for byte in h:
        acc = (acc << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            data.append((acc >> bits) & 31)
    hrp = [ord(c) >> 5 for c in "pkc"] + [0] + [ord(c) & 31 for c in "pkc"]
    pm = polymod(hrp + data + [0] * 6) ^ 0x2BC830A3
    return "pkc1" + "".join(CHARSET[d] for d in data + [(pm >> 5 * (5 - i)) & 31 for i in range(6)])

def pow_value(label, ctx, counter):
    h = H(label, ctx + u64be(counter))
    bits = 0
    for byte in h:
        if byte == 0:
            bits += 8
            continue
        while not byte & 0x80:
            bits += 1
            byte <<= 1
        break
    return bits

def pow_solve(label, ctx, bits):
    c = 0
    while pow_value(label, ctx, c) < bits:
        c += 1
    return c

# --- Frames -----------------------------------------------------------------

def frame(ftype, body):
    return varuint(ftype) + varbytes(body)

def announce(ident, ts, caps, addresses, pow_bits):
    counter = pow_solve("pkc-pow-v1 announce", ident.pk + u64be(ts), pow_bits)
    body = bytes([1]) + ident.pk + ident.dh_pk + varuint(ts) + varuint(caps)
    body += varuint(len(addresses)) + b"".join(varbytes(a.encode()) for a in addresses)
    body += varuint(0) + u64be(counter)
    return body + ident.sign_labeled("pkc-announce-v1", body), counter

ROOM_KEY = lambda secret: KDF(secret, "pkc-room-key-v1")
ROOM_ID = lambda secret: KDF(secret, "pkc-room-id-v1")[:8]

def message(ftype, ident, ts, nonce, topic=b"", payload=b"", to=None, seal_eph=None,
            room_secret=None, hops=0):
    flags = (1 if to else 0) | (2 if room_secret else 0) | (4 if seal_eph else 0)
    header = bytes([1, flags]) + ident.pk + (to.hash if to else b"") + varuint(ts) + nonce
    header += varbytes(topic)
    if room_secret:
        header += ROOM_ID(room_secret)
        key = ROOM_KEY(room_secret)
    if seal_eph:
        eph_pk = x25519_base(seal_eph)
        header += eph_pk
        key = KDF(x25519(seal_eph, to.dh_pk), "pkc-seal-v1", eph_pk + to.dh_pk)
    body = payload
    if room_secret or seal_eph:
        body = xchacha_seal(key, nonce + u64be(ts), payload, header)
    signed = header + varbytes(body)
    label = "pkc-signal-v1" if ftype == 5 else "pkc-data-v1"
    sig = ident.sign_labeled(label, signed)
    msg_id = H(label, signed)[:16]
    return frame(ftype, varuint(hops) + signed + sig), msg_id

# --- Handshake --------------------------------------------------------------

def TH(data):
    return H("pkc-hs-v1", data)

def handshake(init, resp, fp_i, fp_r, e_i, e_r, caps_i, caps_r, pow_bits=0, require=0,
              proof_secret=None):
    e_i_pk, e_r_pk = x25519_base(e_i), x25519_base(e_r)
    hello = bytes([0x01]) + b"pkc" + varuint(1) + varuint(1) + varuint(caps_i)
    hello += varbytes(fp_i) + varbytes(fp_r) + e_i_pk + varuint(0)
    w0 = bytes([0x02]) + varuint(1) + varuint(caps_r) + varbytes(fp_i) + varbytes(fp_r)
    w0 += e_r_pk + resp.pk + bytes([pow_bits, require]) + varuint(0)
    dh = x25519(e_r, e_i_pk)
    assert dh == x25519(e_i, e_r_pk)
    k = KDF(dh, "pkc-hs-v1 key", TH(hello + w0))
    sig_r = resp.sign_labeled("pkc-hs-v1 responder", TH(hello + w0))
    welcome = w0 + sig_r + KDF(k, "pkc-hs-v1 responder mac", TH(hello + w0 + sig_r))
    th_w = TH(hello + welcome)
    counter = pow_solve("pkc-pow-v1 handshake", th_w + init.pk, pow_bits) if pow_bits else 0
    a0 = bytes([0x03]) + init.pk + u64be(counter)
    if proof_secret:
        a0 += bytes([1]) + KDF(proof_secret, "pkc-proof-id-v1")[:8]
        a0 += KDF(proof_secret, "pkc-hs-v1 proof", th_w + init.pk)
    else:
        a0 += bytes([0])
    a0 += varuint(0)
    t = hello + welcome
    sig_i = init.sign_labeled("pkc-hs-v1 initiator", TH(t + a0))
    auth = a0 + sig_i + KDF(k, "pkc-hs-v1 initiator mac", TH(t + a0 + sig_i))
    c0 = bytes([0x04]) + varuint(0)
    accept = c0 + KDF(k, "pkc-hs-v1 accept", TH(t + auth + c0))
    th_f = TH(t + auth + accept)
    keys = {
        "i2r": KDF(k, "pkc-session-v1 i2r", th_f),
        "r2i": KDF(k, "pkc-session-v1 r2i", th_f),
        "session_id": KDF(k, "pkc-session-v1 id", th_f),
    }
    return hello, welcome, auth, accept, k, th_w, counter, keys

def refuse(reason, text, retry, k=None, th_w=None, by_initiator=False):
    """A REFUSE; with the handshake key k (and TH(HELLO || WELCOME)) it ends
    with a MAC by the sender's role."""
    f0 = bytes([0x05]) + varuint(reason) + varbytes(text.encode()) + varuint(retry)
    if k is None:
        return f0
    label = "pkc-hs-v1 initiator refuse" if by_initiator else "pkc-hs-v1 responder refuse"
    return f0 + KDF(k, label, th_w + f0)

def sealed(key, seq, frames):
    hdr = bytes([0x10]) + varuint(seq)
    return hdr + xchacha_seal(key, b"\0" * 16 + u64be(seq), frames, b"")

# --- The vectors ------------------------------------------------------------

NOW = 1700000000000
SEED_A = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
SEED_B = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
SEED_C = bytes.fromhex("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7")
hx = lambda b: b.hex()

def handshake_vectors():
    a, b, c = Identity(SEED_A), Identity(SEED_B), Identity(SEED_C)
    fp_i = hashlib.sha256(b"initiator's DTLS certificate").digest()
    fp_r = hashlib.sha256(b"responder's DTLS certificate").digest()
    out = []
    cases = [
        ("plain: no proof of work, anyone admitted", dict(caps_i=7, caps_r=5)),
        ("demanding: 8 bits of proof of work and an invitation", dict(
            caps_i=1, caps_r=3, pow_bits=8, require=1, proof_secret=bytes([0x42]) * 32)),
    ]
    for n, (desc, kw) in enumerate(cases):
        e_i = bytes(range(32 * n, 32 * n + 32))
        e_r = bytes(range(100 + 32 * n, 132 + 32 * n))
        hello, welcome, auth, accept, k, th_w, counter, keys = handshake(
            a, b, fp_i, fp_r, e_i, e_r, **kw)
        mesh = frame(7, b"hello mesh")
        ping = frame(1, bytes([1]) + varuint(0) + varuint(NOW))
        # Refusals once both hold k: the initiator's, after WELCOME, when it
        # meant to reach C; the responder's, instead of ACCEPT.
        wrong_peer = refuse(8, f"the peer is {peer_id(b.hash)}, not the one we meant to reach",
                            0, k, th_w, by_initiator=True)
        blocked = refuse(7, "blocked for 60 s: over the message rate limit", 60000, k, th_w)
        out.append({
            "description": desc,
            "initiator_seed": hx(SEED_A), "responder_seed": hx(SEED_B),
            "initiator_fingerprint": hx(fp_i), "responder_fingerprint": hx(fp_r),
            "initiator_ephemeral_secret": hx(e_i), "responder_ephemeral_secret": hx(e_r),
            "initiator_capabilities": kw["caps_i"], "responder_capabilities": kw["caps_r"],
            "pow_bits": kw.get("pow_bits", 0), "require": kw.get("require", 0),
            "proof_secret": hx(kw["proof_secret"]) if kw.get("proof_secret") else None,
            "wall_ms": NOW,
            "hello": hx(hello), "welcome": hx(welcome), "auth": hx(auth), "accept": hx(accept),
            "pow_counter": counter,
            "handshake_key": hx(k), "th_welcome": hx(th_w),
            "key_i2r": hx(keys["i2r"]), "key_r2i": hx(keys["r2i"]),
            "session_id": hx(keys["session_id"]),
            "initiator_first_frames": hx(mesh),
            "initiator_first_record": hx(sealed(keys["i2r"], 0, mesh)),
            "responder_first_frames": hx(ping),
            "responder_first_record": hx(sealed(keys["r2i"], 0, ping)),
            "expected_peer_for_refusal": hx(c.hash),
            "initiator_refuse_wrong_peer": hx(wrong_peer),
            "responder_refuse_blocked": hx(blocked),
        })
    example = refuse(5, "an invitation is required", 0)
    return {"description": "Session handshakes with fixed keys (docs/protocol.md, Session "
                           "handshake); the rng gives each side only its ephemeral secret. "
                           "REFUSE records: refuse_example as sent before the handshake key "
                           "exists (no MAC); per transcript, one from each side once both "
                           "hold it (with the MAC).",
            "transcripts": out, "refuse_example": hx(example)}

def frame_vectors():
    a, b, c = Identity(SEED_A), Identity(SEED_B), Identity(SEED_C)
    room_secret = bytes([0x5E]) * 32
    v = []
    def add(name, hexbytes, **extra):
        d = {"name": name, "hex": hx(hexbytes)}
        d.update(extra)
        v.append(d)
    add("control ping", frame(1, bytes([1]) + varuint(7) + varuint(NOW)),
        type=1, action=1, ping_id=7, wall_ms=NOW)
    add("control pong", frame(1, bytes([2]) + varuint(7) + varuint(NOW + 3) + varuint(12345)),
        type=1, action=2, ping_id=7, wall_ms=NOW + 3, rtt_us=12345)
    add("control disconnect",
        frame(1, bytes([3]) + varuint(11) + varbytes("going away \u2014 bye".encode()) + varuint(0)),
        type=1, action=3, reason=11, text="going away \u2014 bye")
    ann, ctr = announce(a, NOW, 3, ["udp:203.0.113.5:41000", "udp:[2001:db8::1]:41000"], 8)
    add("announce", frame(2, ann), type=2, seed=hx(SEED_A), timestamp_ms=NOW, capabilities=3,
        addresses=["udp:203.0.113.5:41000", "udp:[2001:db8::1]:41000"], pow_bits=8,
        pow_counter=ctr, peer_id=peer_id(a.hash), dh_public_key=hx(a.dh_pk))
    nonces = [bytes([0x10 + i]) * 16 for i in range(5)]
    eph = [bytes([0x60 + i]) * 32 for i in range(2)]
    m, mid = message(3, a, NOW, nonces[0], b"chat", b"hello, everyone")
    add("data broadcast", m, type=3, seed=hx(SEED_A), timestamp_ms=NOW, rng=hx(nonces[0]),
        topic="chat", plaintext=hx(b"hello, everyone"), id=hx(mid), flags=0)
    m, mid = message(3, a, NOW, nonces[1], b"chat", b"hello, room", room_secret=room_secret)
    add("data to a room", m, type=3, seed=hx(SEED_A), timestamp_ms=NOW, rng=hx(nonces[1]),
        topic="chat", room_secret=hx(room_secret), room_key=hx(ROOM_KEY(room_secret)),
        room_id=hx(ROOM_ID(room_secret)), plaintext=hx(b"hello, room"), id=hx(mid), flags=2)
    m, mid = message(3, a, NOW, nonces[2], b"dm", b"hello, bob", to=b, seal_eph=eph[0])
    add("data direct, sealed", m, type=3, seed=hx(SEED_A), timestamp_ms=NOW,
        rng=hx(nonces[2] + eph[0]), topic="dm", recipient_seed=hx(SEED_B),
        plaintext=hx(b"hello, bob"), id=hx(mid), flags=5)
    m, mid = message(3, a, NOW, nonces[3], b"dm", b"hello, carol, in clear", to=c, hops=2)
    add("data direct, in clear, relayed twice", m, type=3, seed=hx(SEED_A), timestamp_ms=NOW,
        rng=hx(nonces[3]), topic="dm", recipient_seed=hx(SEED_C), hops=2,
        plaintext=hx(b"hello, carol, in clear"), id=hx(mid), flags=1)
    sdp = b"v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    signal = varuint(1) + varbytes(b"attempt-1") + varbytes(sdp)
    m, mid = message(5, a, NOW, nonces[4], b"", signal, to=b, seal_eph=eph[1])
    add("signal offer, sealed", m, type=5, seed=hx(SEED_A), timestamp_ms=NOW,
        rng=hx(nonces[4] + eph[1]), recipient_seed=hx(SEED_B), plaintext=hx(signal),
        signal_kind=1, connection="attempt-1", body=sdp.decode(), id=hx(mid), flags=5)
    step1 = bytes([0, 2, 1, 0])  # y-protocols: messageYjsSyncStep1, state vector {}
    add("sync message", frame(4, varuint(0) + varbytes(b"notes") + varbytes(step1)), type=4,
        kind=0, doc="notes", message=hx(step1))
    aw = bytes([1, 0xB1, 0x02, 1, 2, 0x7B, 0x7D])
    add("sync awareness", frame(4, varuint(1) + varbytes(b"notes") + varbytes(aw)), type=4,
        kind=1, doc="notes", message=hx(aw))
    add("pex request", frame(6, bytes([1]) + varuint(16)), type=6, request=1, max=16)
    add("pex response", frame(6, bytes([2]) + varuint(1) + varbytes(ann)), type=6, request=0,
        count=1)
    add("mesh", frame(7, bytes([0x01, 0x02, 0x03])), type=7, payload="010203")
    add("unknown type 100 (skipped by readers)", frame(100, b"\x00future"), type=100)
    return {"description": "Every frame type (docs/protocol.md, Frames). `rng` is what the "
                           "sender's rng gave: the 16-byte nonce, then for sealed messages the "
                           "32-byte ephemeral secret. Signatures are deterministic (Ed25519).",
            "wall_ms": NOW, "vectors": v}

def export_vectors():
    a = Identity(SEED_A)
    pid = peer_id(a.hash)
    import base64
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    clear = f"pkc-identity-export-v1\npeer-id {pid}\nkdf none\nsecret {b64(SEED_A)}\n"
    salt = bytes(range(16))
    head = f"pkc-identity-export-v1\npeer-id {pid}\nkdf argon2id 2 64 {b64(salt)}\n"
    key = argon2id(b"correct horse battery staple", salt, 2, 64)
    secret = xchacha_seal(key, b"\0" * 24, SEED_A, head.encode())
    sealed_text = head + f"secret {b64(secret)}\n"
    return {"description": "Identity exports (docs/protocol.md, Identity export).",
            "seed": hx(SEED_A), "peer_id": pid, "dh_public_key": hx(a.dh_pk),
            "clear": clear, "passphrase": "correct horse battery staple", "salt": hx(salt),
            "ops": 2, "mem_kib": 64, "argon2id_key": hx(key), "encrypted": sealed_text}

def replay_vectors():
    """A saved replay window (docs/protocol.md, Replay window state), written
    field by field from the format's description."""
    i64 = lambda v: struct.pack(">q", v)
    u32 = lambda v: struct.pack(">I", v)
    key = bytes(range(16))
    bits = 4
    sender_hash = lambda pk: struct.unpack(">I", hashlib.blake2b(pk, digest_size=4, key=key).digest())[0]
    senders = {name: bytes([fill]) * 32 for name, fill in (("s1", 0x11), ("s2", 0x22), ("s3", 0x33))}
    hashes = {name: sender_hash(pk) for name, pk in senders.items()}
    floor = NOW - 600000 - 1
    horizons = sorted([(hashes["s1"], NOW - 2000), (hashes["s2"], NOW + 15000)],
                      key=lambda h: (h[0] & ((1 << bits) - 1), h[0]))
    ids = [H("replay vector", bytes([i]), 16) for i in range(5)]
    entries = [(ids[0], NOW - 1500, "s1"), (ids[1], NOW + 16000, "s2"), (ids[2], NOW - 300000, "s3"),
               (ids[3], NOW, "s3"), (ids[4], NOW - 1999, "s1")]
    body = b"pkc-replay" + bytes([1, 0x01 | 0x02 | 0x04]) + i64(NOW) + i64(floor)
    body += i64(600000) + i64(30000) + key + bytes([bits])
    body += u32(1) + u32(5) + i64(NOW - 1000)
    body += u32(len(horizons)) + b"".join(u32(h) + i64(t) for h, t in horizons)
    body += u32(len(entries)) + b"".join(i + i64(t) + u32(hashes[w]) for i, t, w in entries)
    state = body + H("pkc-replay-v1", body)
    return {"description": "A replay window saved at shutdown (final), with a floor, one "
                           "bucket's shared horizon (bucket 5), two senders' horizons and five "
                           "ids. Imported into a window of capacity 64 (16 buckets) with "
                           "max_per_sender 8 at wall_ms, exported again (final), it gives the "
                           "same bytes.",
            "wall_ms": NOW, "capacity": 64, "max_per_sender": 8, "hash_key": hx(key),
            "senders": {name: hx(pk) for name, pk in senders.items()},
            "sender_hashes": hashes,
            "ids": [hx(i) for i, _, _ in entries], "timestamps": [t for _, t, _ in entries],
            "entry_senders": [w for _, _, w in entries],
            "horizons": {"s1": NOW - 2000, "s2": NOW + 15000},
            "shared_bucket": 5, "shared_horizon": NOW - 1000,
            "state": hx(state)}

def main():
    files = {"handshake.json": handshake_vectors(), "frames.json": frame_vectors(),
             "identity-export.json": export_vectors(), "replay.json": replay_vectors()}
    check = "--check" in sys.argv
    bad = 0
    for name, data in files.items():
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        path = os.path.join(HERE, name)
        if check:
            with open(path, encoding="utf-8") as f:
                if f.read() != text:
                    print(f"{name}: differs from what gen_proto.py computes", file=sys.stderr)
                    bad = 1
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    sys.exit(bad)

if __name__ == "__main__":
    main()
