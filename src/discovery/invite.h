/*
 * invite.h: invitations and their answers (docs/protocol.md, "Invitations").
 *
 * An OFFER, made by the inviter, carries what a stranger needs to join one
 * of its rooms and to reach it: the room secret and display name, the
 * inviter's identity key, a fresh 32-byte token `s` (the proof secret of the
 * session handshake: the invitee proves it in AUTH, and its proof_id names
 * the invitation), the inviter's DTLS fingerprint, ICE credentials and up to
 * 8 host candidates, when it was made and when it expires, and flags
 * (one-step, single-use). An ANSWER, made by the invitee for the two-step
 * exchange, carries the invitee's identity and dial information, the id of
 * the offer it answers and a MAC keyed by that offer's token (only someone
 * who saw the offer can answer it). Each is signed by its maker.
 *
 * Text forms: a code "PKCI1" (offer) or "PKCA1" (answer) followed by the
 * upper-case base32 of the bytes, and a URL "BASE#CODE" whose fragment
 * carries the code (browsers send no fragment to any server).
 *
 * Pure codec: no clock, no randomness, no I/O. The caller passes the time
 * and the token and keeps what the node decides (whether an invitation was
 * used up, whether a room is ours).
 *
 * Checks, in order (each with its own code and pkc_errmsg() text):
 *   pkc_invite_parse / pkc_invite_decode: size, text syntax (prefix, base32),
 *     version and kind (PKC_ERR_UNSUPPORTED), fields (PKC_ERR_MALFORMED,
 *     PKC_ERR_TRUNCATED, PKC_ERR_TOO_LARGE, PKC_ERR_RANGE: "field: offset N:
 *     ..."), then the signature (PKC_ERR_BAD_SIGNATURE: tampered);
 *   pkc_invite_check_time: PKC_ERR_NOT_YET_VALID, PKC_ERR_EXPIRED;
 *   pkc_invite_answer_check (the inviter, with its offer): PKC_ERR_MISMATCH
 *     (answers another invitation), PKC_ERR_BAD_SIGNATURE (MAC: tampered).
 * Every message begins "invitation: " or "answer: ".
 */
#ifndef PKC_DISCOVERY_INVITE_H
#define PKC_DISCOVERY_INVITE_H

#include <stddef.h>
#include <stdint.h>

#include "discovery/lan_wire.h"
#include "util/buf.h"
#include "pkc.h"

#define PKC_INVITE_VERSION 1
/* Kinds (the second byte; the code's prefix letter). */
#define PKC_INVITE_OFFER 1  /* "PKCI1..." */
#define PKC_INVITE_ANSWER 2 /* "PKCA1..." */

/* Flags of an offer (an answer has none). */
#define PKC_INVITE_ONE_STEP 0x01   /* the inviter's listener takes the invitee's dial */
#define PKC_INVITE_SINGLE_USE 0x02 /* used up by the first handshake that proves it */
#define PKC_INVITE_FLAGS_KNOWN (PKC_INVITE_ONE_STEP | PKC_INVITE_SINGLE_USE)

#define PKC_INVITE_TOKEN_BYTES 32
#define PKC_INVITE_ID_BYTES 8 /* = PKC_PROOF_ID_BYTES: proof_id of the token */
#define PKC_INVITE_MAC_BYTES 32
#define PKC_INVITE_ADDRESSES_MAX 8
#define PKC_INVITE_ROOM_NAME_MAX 63 /* bytes of UTF-8, no control characters */

/* Lifetimes: expires - created, 1 ms .. 30 days; 5 minutes unless the
 * caller chooses. */
#define PKC_INVITE_LIFETIME_DEFAULT_MS (5 * 60 * 1000ull)
#define PKC_INVITE_LIFETIME_MAX_MS (30 * 24 * 60 * 60 * 1000ull)
/* Clock skew tolerated between two peers' wall clocks (see
 * pkc_invite_check_time). */
#define PKC_INVITE_SKEW_MS (5 * 60 * 1000ull)

/* The URL base when the caller sets none: the .invalid top-level domain
 * never resolves (RFC 6761), so until a deployment names its landing page a
 * link goes nowhere, and the fragment reaches no server in any case. */
#define PKC_INVITE_URL_BASE_DEFAULT "https://pkc.invalid/join"
#define PKC_INVITE_URL_BASE_MAX 256

/* The longest encoding (an offer with every field at its limit), its code
 * (prefix + base32, without the NUL) and its URL with the longest base. */
#define PKC_INVITE_BYTES_MAX                                                                       \
    (3 + 32 + 8 + 5 + 32 + 1 + PKC_LAN_UFRAG_MAX + 1 + PKC_LAN_PWD_MAX + 1 +                       \
     PKC_INVITE_ADDRESSES_MAX * 19 + 32 + 1 + PKC_INVITE_ROOM_NAME_MAX + 32 + 64)
#define PKC_INVITE_PREFIX_LEN 5
#define PKC_INVITE_CODE_MAX (PKC_INVITE_PREFIX_LEN + (PKC_INVITE_BYTES_MAX * 8 + 4) / 5)
#define PKC_INVITE_URL_MAX (PKC_INVITE_URL_BASE_MAX + 1 + PKC_INVITE_CODE_MAX)
/* pkc_invite_parse refuses longer text (whitespace included). */
#define PKC_INVITE_TEXT_MAX 8192

/* What a connection to the code's maker needs (its ICE-lite listener). */
typedef struct pkc_invite_dial {
    uint8_t fingerprint[PKC_LAN_FINGERPRINT_BYTES]; /* SHA-256 of its DTLS certificate */
    char ufrag[PKC_LAN_UFRAG_MAX + 1];              /* 4..64 ice-chars */
    char pwd[PKC_LAN_PWD_MAX + 1];                  /* 22..64 ice-chars */
    size_t n_addresses;                             /* 1..PKC_INVITE_ADDRESSES_MAX */
    char addresses[PKC_INVITE_ADDRESSES_MAX][PKC_LAN_ADDRESS_MAX + 1]; /* "udp:IP:PORT" */
} pkc_invite_dial;

/* A decoded (or made) offer or answer: a plain value, owning everything.
 * An offer holds secrets (room_secret, token): pkc_invite_wipe() it. */
typedef struct pkc_invite {
    uint8_t version; /* PKC_INVITE_VERSION */
    uint8_t kind;    /* PKC_INVITE_OFFER or PKC_INVITE_ANSWER */
    uint8_t flags;   /* offer: PKC_INVITE_ONE_STEP | PKC_INVITE_SINGLE_USE; answer: 0 */
    uint8_t public_key[PKC_PUBLIC_KEY_BYTES]; /* the maker: inviter (offer), invitee (answer) */
    char peer_id[PKC_PEER_ID_SIZE];           /* derived from public_key */
    uint64_t created_ms;                      /* the maker's wall clock, Unix ms */
    uint64_t expires_ms;                      /* created_ms < expires_ms */
    pkc_invite_dial dial;                     /* how to reach the maker */
    /* Offer only (zero in an answer). */
    uint8_t room_secret[PKC_ROOM_SECRET_BYTES];
    char room_name[PKC_INVITE_ROOM_NAME_MAX + 1]; /* display name, may be "" */
    uint8_t room_id[PKC_ROOM_ID_BYTES];           /* pkc_room_key_derive(room_secret).id */
    uint8_t token[PKC_INVITE_TOKEN_BYTES];        /* s: the handshake's proof_secret */
    /* The invitation's id: an offer's is the proof_id of its token (what a
     * one-step invitee's AUTH names); an answer's is that of the offer it
     * answers. */
    uint8_t id[PKC_INVITE_ID_BYTES];
    /* Answer only: KDF(token, "pkc-invite-v1 answer", the bytes before it). */
    uint8_t mac[PKC_INVITE_MAC_BYTES];
    uint8_t signature[PKC_SIGNATURE_BYTES];
} pkc_invite;

/* The dial information a maker puts in its code. Borrowed for the call. */
typedef struct pkc_invite_dial_params {
    const uint8_t *fingerprint;   /* PKC_LAN_FINGERPRINT_BYTES */
    const char *ufrag;            /* 4..64 ice-chars */
    const char *pwd;              /* 22..64 ice-chars */
    const char *const *addresses; /* "udp:IPv4:PORT" or "udp:[IPv6]:PORT" (pkc_lan_address_valid) */
    size_t n_addresses;           /* 1..PKC_INVITE_ADDRESSES_MAX */
} pkc_invite_dial_params;

/* The dial information's pieces, shared with the DNS seed records
 * (dnsrec.h), which carry the same bytes. `w` begins every message
 * ("invitation", "dns record"). */
/* Checks and copies borrowed parameters: 0 or PKC_ERR_INVALID_ARG. */
int pkc_invite_dial_from_params(const char *w, const pkc_invite_dial_params *p,
                                pkc_invite_dial *d);
/* 0 if `d` is within its limits (what pkc_invite_dial_write may write), else
 * PKC_ERR_INVALID_ARG. */
int pkc_invite_dial_check(const char *w, const pkc_invite_dial *d);
/* Appends fingerprint, ufrag, pwd and addresses of a checked `d`; an error
 * is left in b->err. */
void pkc_invite_dial_write(const pkc_invite_dial *d, pkc_buf *b);
/* Reads what pkc_invite_dial_write writes into a zeroed *d, with the
 * field, offset and `w` in the message: 0, PKC_ERR_MALFORMED,
 * PKC_ERR_TRUNCATED, PKC_ERR_RANGE. */
int pkc_invite_dial_read(pkc_reader *r, const char *w, pkc_invite_dial *d);

typedef struct pkc_invite_offer_params {
    uint64_t created_ms;        /* now, on the inviter's wall clock (<= 2^53 - 1) */
    uint64_t lifetime_ms;       /* 1..PKC_INVITE_LIFETIME_MAX_MS; 0 = the default (5 min) */
    uint8_t flags;              /* PKC_INVITE_ONE_STEP, PKC_INVITE_SINGLE_USE */
    const uint8_t *room_secret; /* PKC_ROOM_SECRET_BYTES */
    const char *room_name;      /* may be NULL (""); at most 63 bytes of printable UTF-8 */
    /* 32 bytes fresh from a CSPRNG, for this invitation only (the caller
     * draws them: pkc_rng_fill(pkc_rng_system(), ...)). */
    const uint8_t *token;
    pkc_invite_dial_params dial;
} pkc_invite_offer_params;

typedef struct pkc_invite_answer_params {
    uint64_t created_ms;  /* now, on the invitee's wall clock */
    uint64_t lifetime_ms; /* 0 = the default (5 min) */
    pkc_invite_dial_params dial;
} pkc_invite_answer_params;

/*
 * Makes and signs an offer by `id` into *out. Returns 0; PKC_ERR_INVALID_ARG
 * (NULL, or a field outside its limits: named in pkc_errmsg()), PKC_ERR_RANGE
 * (times). *out is untouched on failure.
 */
int pkc_invite_offer_create(const pkc_identity *id, const pkc_invite_offer_params *p,
                            pkc_invite *out);

/*
 * Makes and signs, by `id` (the invitee), the answer to `offer` (decoded
 * and checked by the caller) into *out: its id is the offer's, and its MAC
 * is keyed by the offer's token. Returns 0; PKC_ERR_INVALID_ARG (as above,
 * or `offer` is not an offer), PKC_ERR_RANGE. *out is untouched on failure.
 */
int pkc_invite_answer_create(const pkc_identity *id, const pkc_invite *offer,
                             const pkc_invite_answer_params *p, pkc_invite *out);

/* Appends the bytes of `inv` (signed, as made or decoded) to `out`.
 * Returns 0, PKC_ERR_INVALID_ARG (a field outside its limits),
 * PKC_ERR_NOMEM; `out` is as it was on failure. */
int pkc_invite_encode(const pkc_invite *inv, pkc_buf *out);

/*
 * Decodes the bytes of an offer or answer and checks its signature (not its
 * times: pkc_invite_check_time; not an answer's MAC:
 * pkc_invite_answer_check). Never trusts a length. Returns 0;
 * PKC_ERR_UNSUPPORTED (version or kind), PKC_ERR_MALFORMED,
 * PKC_ERR_TRUNCATED, PKC_ERR_TOO_LARGE, PKC_ERR_RANGE (a field: its name
 * and offset in pkc_errmsg()), PKC_ERR_BAD_SIGNATURE (tampered). *out is
 * untouched on failure.
 */
int pkc_invite_decode(const uint8_t *in, size_t len, pkc_invite *out);

/* pkc_invite_decode without the signature check: syntax and limits only.
 * For tests and the fuzz harness, which check that what it accepts
 * re-encodes to the same bytes; never act on what it returns. */
int pkc_invite_decode_unsigned(const uint8_t *in, size_t len, pkc_invite *out);

/* The code of `inv` ("PKCI1..." or "PKCA1...", upper case) and a NUL into
 * `out` (at least PKC_INVITE_CODE_MAX + 1 bytes is always enough). Returns
 * its length (> 0), or a negative error: PKC_ERR_TOO_LARGE (out_size),
 * those of pkc_invite_encode. */
int pkc_invite_code(const pkc_invite *inv, char *out, size_t out_size);

/* "BASE#CODE" and a NUL into `out` (PKC_INVITE_URL_MAX + 1 bytes is always
 * enough). `base` may be NULL (PKC_INVITE_URL_BASE_DEFAULT); otherwise
 * 1..PKC_INVITE_URL_BASE_MAX printable ASCII characters without '#' or
 * spaces (PKC_ERR_INVALID_ARG). Returns the length, or a negative error as
 * pkc_invite_code. */
int pkc_invite_url(const pkc_invite *inv, const char *base, char *out, size_t out_size);

/*
 * Reads what a person pasted or typed: a code, or a URL carrying one after
 * '#' (any base), with whitespace and line breaks anywhere (all ASCII
 * whitespace is removed first: terminals wrap long lines). The code is
 * entirely upper case or entirely lower case. Then decodes it as
 * pkc_invite_decode and checks the prefix agrees with the bytes. Returns 0;
 * PKC_ERR_TOO_LARGE (more than PKC_INVITE_TEXT_MAX characters),
 * PKC_ERR_MALFORMED (not a code, mixed case, a character outside base32:
 * its offset in the code), PKC_ERR_UNSUPPORTED (another version or kind:
 * "PKCI2...", "PKCX1..."), and those of pkc_invite_decode. *out is
 * untouched on failure.
 */
int pkc_invite_parse(const char *text, size_t len, pkc_invite *out);

/*
 * Whether `inv` is valid at `now_ms` (the checker's wall clock), tolerating
 * `skew_ms` of difference between the maker's clock and the checker's
 * (PKC_INVITE_SKEW_MS for someone else's code; 0 for the maker itself):
 *   now_ms + skew_ms <  created_ms  -> PKC_ERR_NOT_YET_VALID
 *   now_ms >= expires_ms + skew_ms  -> PKC_ERR_EXPIRED
 * so a code is never taken for more than skew_ms after it expires. The
 * messages say by how much and when, in UTC ("invitation: expired 3 min
 * 12 s ago, at 2026-12-03 10:00:00 UTC"). Returns 0 or one of those.
 */
int pkc_invite_check_time(const pkc_invite *inv, uint64_t now_ms, uint64_t skew_ms);

/*
 * The inviter's check of a decoded `answer` against its own `offer` (the one
 * whose id the answer names; the caller looks it up by answer->id). Returns
 * 0; PKC_ERR_INVALID_ARG (not an answer and an offer), PKC_ERR_MISMATCH (it
 * answers another invitation), PKC_ERR_BAD_SIGNATURE (the MAC: altered, or
 * made without the offer's token). Times are pkc_invite_check_time's.
 */
int pkc_invite_answer_check(const pkc_invite *answer, const pkc_invite *offer);

/* Zeroes *inv (its secrets included) in a way the compiler keeps. */
void pkc_invite_wipe(pkc_invite *inv);

#endif
