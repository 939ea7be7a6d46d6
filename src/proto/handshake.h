/*
 * handshake.h: the session handshake's messages and key schedule
 * (docs/protocol.md, "Session handshake"). Pure functions; the state
 * machine that uses them is session.c.
 *
 *   I -> R  HELLO    versions, capabilities, both fingerprints as I sees them, e_I
 *   R -> I  WELCOME  version, capabilities, fingerprints as R sees them, e_R,
 *                    R's identity, demands (proof of work, admission); sig_R, mac_R
 *   I -> R  AUTH     I's identity, proof of work, invitation proof; sig_I, mac_I
 *   R -> I  ACCEPT   mac_A                       (or REFUSE, from either side)
 */
#ifndef PKC_PROTO_HANDSHAKE_H
#define PKC_PROTO_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/backend.h"
#include "util/buf.h"
#include "pkc.h"

/* Record kinds: the first byte of every data channel message. */
enum {
    PKC_REC_HELLO = 0x01,
    PKC_REC_WELCOME = 0x02,
    PKC_REC_AUTH = 0x03,
    PKC_REC_ACCEPT = 0x04,
    PKC_REC_REFUSE = 0x05,
    PKC_REC_SEALED = 0x10
};

#define PKC_HS_MAGIC "pkc"
#define PKC_HS_MAX 1024 /* largest handshake record */
#define PKC_HS_EXTENSIONS_MAX 8
#define PKC_HS_EXTENSION_VALUE_MAX 256
#define PKC_PROOF_ID_BYTES 8
#define PKC_MAC_BYTES 32
#define PKC_VERSION_MIN_SUPPORTED 1
#define PKC_VERSION_MAX_SUPPORTED 1

#define PKC_LABEL_TRANSCRIPT "pkc-hs-v1"
#define PKC_LABEL_HS_KEY "pkc-hs-v1 key"
#define PKC_LABEL_SIG_RESPONDER "pkc-hs-v1 responder"
#define PKC_LABEL_MAC_RESPONDER "pkc-hs-v1 responder mac"
#define PKC_LABEL_SIG_INITIATOR "pkc-hs-v1 initiator"
#define PKC_LABEL_MAC_INITIATOR "pkc-hs-v1 initiator mac"
#define PKC_LABEL_MAC_ACCEPT "pkc-hs-v1 accept"
#define PKC_LABEL_REFUSE_INITIATOR "pkc-hs-v1 initiator refuse"
#define PKC_LABEL_REFUSE_RESPONDER "pkc-hs-v1 responder refuse"
#define PKC_LABEL_PROOF "pkc-hs-v1 proof"
#define PKC_LABEL_PROOF_ID "pkc-proof-id-v1"
#define PKC_LABEL_I2R "pkc-session-v1 i2r"
#define PKC_LABEL_R2I "pkc-session-v1 r2i"
#define PKC_LABEL_SESSION_ID "pkc-session-v1 id"

typedef struct pkc_hs_hello {
    uint64_t min_version, max_version, capabilities;
    pkc_bytes fp_initiator, fp_responder;
    const uint8_t *ephemeral; /* 32 */
    pkc_bytes extensions;
} pkc_hs_hello;

typedef struct pkc_hs_welcome {
    uint64_t version, capabilities;
    pkc_bytes fp_initiator, fp_responder;
    const uint8_t *ephemeral; /* 32 */
    const uint8_t *identity;  /* 32, Ed25519 */
    uint8_t pow_bits;
    uint8_t require;
    pkc_bytes extensions;
    const uint8_t *signature; /* 64 */
    const uint8_t *mac;       /* 32 */
} pkc_hs_welcome;

typedef struct pkc_hs_auth {
    const uint8_t *identity; /* 32, Ed25519 */
    uint64_t pow_counter;
    const uint8_t *proof_id;  /* 8, or NULL */
    const uint8_t *proof_mac; /* 32, or NULL */
    pkc_bytes extensions;
    const uint8_t *signature; /* 64 */
    const uint8_t *mac;       /* 32 */
} pkc_hs_auth;

typedef struct pkc_hs_accept {
    pkc_bytes extensions;
    const uint8_t *mac; /* 32 */
} pkc_hs_accept;

typedef struct pkc_hs_refuse {
    uint64_t reason;
    pkc_bytes text;
    uint64_t retry_after_ms;
    const uint8_t *mac; /* 32, or NULL: sent only once the sender holds k */
} pkc_hs_refuse;

/* Decoders: `in` is the whole record (kind byte included); pointers borrow
 * it. Errors: PKC_ERR_TRUNCATED, MALFORMED, RANGE, TOO_LARGE. */
int pkc_hs_decode_hello(const uint8_t *in, size_t len, pkc_hs_hello *m);
int pkc_hs_decode_welcome(const uint8_t *in, size_t len, pkc_hs_welcome *m);
int pkc_hs_decode_auth(const uint8_t *in, size_t len, pkc_hs_auth *m);
int pkc_hs_decode_accept(const uint8_t *in, size_t len, pkc_hs_accept *m);
int pkc_hs_decode_refuse(const uint8_t *in, size_t len, pkc_hs_refuse *m);

/* Encoders append the record to `b`. WELCOME, AUTH and ACCEPT are written
 * without their signature and MAC, which the caller appends (they depend on
 * the bytes written). */
int pkc_hs_encode_hello(pkc_buf *b, const pkc_hs_hello *m);
int pkc_hs_encode_welcome_body(pkc_buf *b, const pkc_hs_welcome *m);
int pkc_hs_encode_auth_body(pkc_buf *b, const pkc_hs_auth *m);
int pkc_hs_encode_accept_body(pkc_buf *b, const pkc_hs_accept *m);
int pkc_hs_encode_refuse(pkc_buf *b, const pkc_hs_refuse *m);

/* The MAC of a REFUSE whose sender holds the handshake key k:
 * KDF(k, "pkc-hs-v1 initiator refuse" or "pkc-hs-v1 responder refuse" (the
 * sender's role), TH(HELLO || WELCOME) || the REFUSE without its MAC). */
void pkc_hs_refuse_mac(uint8_t out[PKC_MAC_BYTES], const uint8_t k[32], int by_initiator,
                       const uint8_t th_welcome[32], const uint8_t *refuse, size_t len);

/* TH(x) = H("pkc-hs-v1", x): the transcript hash of the bytes so far. */
void pkc_hs_transcript_hash(uint8_t out[32], const uint8_t *transcript, size_t len);
/* The same in pieces: a state ready for the transcript's bytes
 * (pkc_crypto_hash_update as records are added, pkc_crypto_hash_peek for TH
 * of the records so far and what follows them). */
void pkc_hs_transcript_init(pkc_hash_state *st);

/* The 8-byte id of a proof secret (invitation token or room secret). */
void pkc_hs_proof_id(uint8_t out[PKC_PROOF_ID_BYTES], const uint8_t secret[32]);

/* Proof of knowledge of `secret`, bound to this handshake and initiator:
 * KDF(secret, "pkc-hs-v1 proof", TH(HELLO || WELCOME) || identity_I). */
void pkc_hs_proof_mac(uint8_t out[PKC_MAC_BYTES], const uint8_t secret[32],
                      const uint8_t th_welcome[32], const uint8_t identity[32]);

/* The proof-of-work context: TH(HELLO || WELCOME) || identity_I. */
void pkc_hs_pow_context(uint8_t out[64], const uint8_t th_welcome[32],
                        const uint8_t identity[32]);

#endif
