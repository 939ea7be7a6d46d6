/* Invitations and answers (src/discovery/invite.c): round trips, every
 * refusal with its message, every changed byte and character, every
 * truncation, expiry with skew, text forms, and the vectors an independent
 * Python implementation wrote (tests/vectors/gen_invite.py). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/identity.h"
#include "discovery/invite.h"
#include "proto/frame.h"
#include "proto/handshake.h"
#include "test.h"
#include "vectors.h"
#include "util/text.h"

#define T0 1767225600000ull /* 2026-01-01T00:00:00Z */

static const uint8_t FP[32] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa,
                               0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5,
                               0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf};

static pkc_identity *make_identity(uint8_t fill)
{
    uint8_t seed[32];
    memset(seed, fill, sizeof seed);
    pkc_identity *id = NULL;
    if (pkc_identity_from_seed(seed, &id) != 0)
        abort();
    return id;
}

static const char *const ADDRS[] = {"udp:192.168.1.20:41000", "udp:[fd00::20]:41000"};

static pkc_invite_offer_params offer_params(const uint8_t *secret, const uint8_t *token)
{
    pkc_invite_offer_params p = {.created_ms = T0,
                                 .lifetime_ms = 0,
                                 .flags = PKC_INVITE_ONE_STEP | PKC_INVITE_SINGLE_USE,
                                 .room_secret = secret,
                                 .room_name = "team",
                                 .token = token,
                                 .dial = {.fingerprint = FP,
                                          .ufrag = "Ab+/1234",
                                          .pwd = "abcdefghijklmnopqrstuv+/",
                                          .addresses = ADDRS,
                                          .n_addresses = 2}};
    return p;
}

static const char *const ANSWER_ADDRS[] = {"udp:10.0.0.7:5000", "udp:203.0.113.9:62000"};

static pkc_invite_answer_params answer_params(void)
{
    pkc_invite_answer_params p = {.created_ms = T0 + 30000,
                                  .lifetime_ms = 0,
                                  .dial = {.fingerprint = FP,
                                           .ufrag = "WXYZwxyz",
                                           .pwd = "0123456789abcdefghijKLMN",
                                           .addresses = ANSWER_ADDRS,
                                           .n_addresses = 2}};
    return p;
}

/* A typical offer and its answer. */
static void make_pair(pkc_invite *offer, pkc_invite *answer)
{
    uint8_t secret[32], token[32];
    memset(secret, 0x11, sizeof secret);
    memset(token, 0x22, sizeof token);
    pkc_identity *a = make_identity(1), *b = make_identity(2);
    pkc_invite_offer_params op = offer_params(secret, token);
    if (pkc_invite_offer_create(a, &op, offer) != 0)
        abort();
    pkc_invite_answer_params ap = answer_params();
    if (answer && pkc_invite_answer_create(b, offer, &ap, answer) != 0)
        abort();
    pkc_identity_free(a);
    pkc_identity_free(b);
}

static size_t encode(const pkc_invite *inv, uint8_t *out)
{
    pkc_buf b = PKC_BUF_INIT;
    if (pkc_invite_encode(inv, &b) != 0)
        abort();
    memcpy(out, b.data, b.len);
    size_t n = b.len;
    pkc_buf_free(&b);
    return n;
}

#define CHECK_MSG(needle)                                                                          \
    do {                                                                                           \
        if (strstr(pkc_errmsg(), (needle)) == NULL)                                                \
            pkc_test_fail(__FILE__, __LINE__, "message \"%s\" lacks \"%s\"", pkc_errmsg(),         \
                          (needle));                                                               \
    } while (0)

TEST(invite, offer_round_trips_through_bytes_code_and_url)
{
    pkc_invite offer, back;
    make_pair(&offer, NULL);
    CHECK_EQ(offer.kind, PKC_INVITE_OFFER);
    CHECK_EQ_U64(offer.expires_ms, T0 + PKC_INVITE_LIFETIME_DEFAULT_MS);
    /* The id is the token's proof_id: what a one-step invitee's AUTH names. */
    uint8_t token[32], id[8];
    memset(token, 0x22, sizeof token);
    pkc_hs_proof_id(id, token);
    CHECK_MEM(offer.id, id, 8);
    uint8_t secret[32];
    memset(secret, 0x11, sizeof secret);
    pkc_room_key k;
    pkc_room_key_derive(secret, &k);
    CHECK_MEM(offer.room_id, k.id, 8);

    uint8_t bytes[PKC_INVITE_BYTES_MAX];
    size_t n = encode(&offer, bytes);
    memset(&back, 0, sizeof back);
    CHECK_OK(pkc_invite_decode(bytes, n, &back));
    CHECK_MEM(&back, &offer, sizeof back);

    char code[PKC_INVITE_CODE_MAX + 1], url[PKC_INVITE_URL_MAX + 1];
    int len = pkc_invite_code(&offer, code, sizeof code);
    CHECK_EQ(len, (int)strlen(code));
    CHECK(strncmp(code, "PKCI1", 5) == 0);
    CHECK_EQ((size_t)len, 5 + pkc_base32_encoded_len(n));
    memset(&back, 0, sizeof back);
    CHECK_OK(pkc_invite_parse(code, strlen(code), &back));
    CHECK_MEM(&back, &offer, sizeof back);

    CHECK(pkc_invite_url(&offer, NULL, url, sizeof url) > 0);
    CHECK(strncmp(url, PKC_INVITE_URL_BASE_DEFAULT "#PKCI1",
                  strlen(PKC_INVITE_URL_BASE_DEFAULT) + 6) == 0);
    memset(&back, 0, sizeof back);
    CHECK_OK(pkc_invite_parse(url, strlen(url), &back));
    CHECK_MEM(&back, &offer, sizeof back);
    CHECK(pkc_invite_url(&offer, "https://example.org/p?x=1", url, sizeof url) > 0);
    CHECK_OK(pkc_invite_parse(url, strlen(url), &back));
    CHECK_MEM(&back, &offer, sizeof back);
    pkc_invite_wipe(&offer);
    pkc_invite_wipe(&back);
    static const uint8_t zero[sizeof offer] = {0};
    CHECK_MEM(&offer, zero, sizeof offer);
}

TEST(invite, answer_round_trips_and_checks_against_its_offer)
{
    pkc_invite offer, answer, back;
    make_pair(&offer, &answer);
    CHECK_EQ(answer.kind, PKC_INVITE_ANSWER);
    CHECK_EQ(answer.flags, 0);
    CHECK_MEM(answer.id, offer.id, 8);
    static const uint8_t zero[32] = {0};
    CHECK_MEM(answer.room_secret, zero, 32);
    CHECK_MEM(answer.token, zero, 32);
    char code[PKC_INVITE_CODE_MAX + 1];
    CHECK(pkc_invite_code(&answer, code, sizeof code) > 0);
    CHECK(strncmp(code, "PKCA1", 5) == 0);
    memset(&back, 0, sizeof back);
    CHECK_OK(pkc_invite_parse(code, strlen(code), &back));
    CHECK_MEM(&back, &answer, sizeof back);
    CHECK_OK(pkc_invite_answer_check(&back, &offer));

    /* An answer to another invitation (another token). */
    uint8_t secret[32], token[32];
    memset(secret, 0x11, sizeof secret);
    memset(token, 0x23, sizeof token);
    pkc_identity *a = make_identity(1);
    pkc_invite_offer_params op = offer_params(secret, token);
    pkc_invite other;
    CHECK_OK(pkc_invite_offer_create(a, &op, &other));
    CHECK_ERR(pkc_invite_answer_check(&back, &other), PKC_ERR_MISMATCH);
    CHECK_MSG("answer: it answers another invitation");
    /* Someone who knows the offer's id but not its token: the MAC fails. */
    memcpy(other.id, offer.id, 8);
    CHECK_ERR(pkc_invite_answer_check(&back, &other), PKC_ERR_BAD_SIGNATURE);
    CHECK_MSG("answer: tampered: its MAC does not verify");
    CHECK_ERR(pkc_invite_answer_check(&offer, &back), PKC_ERR_INVALID_ARG);
    pkc_identity_free(a);
}

TEST(invite, every_changed_byte_is_refused)
{
    pkc_invite offer, answer, back;
    make_pair(&offer, &answer);
    const pkc_invite *both[2] = {&offer, &answer};
    for (int w = 0; w < 2; w++) {
        uint8_t bytes[PKC_INVITE_BYTES_MAX];
        size_t n = encode(both[w], bytes);
        for (size_t i = 0; i < n; i++) {
            for (int flip = 1; flip < 256; flip <<= 1) {
                bytes[i] ^= (uint8_t)flip;
                int rc = pkc_invite_decode(bytes, n, &back);
                /* A changed answer MAC passes the signature only if... it
                 * cannot: the signature covers the MAC. */
                if (rc == 0)
                    pkc_test_fail(__FILE__, __LINE__, "kind %d byte %zu ^ %d accepted", w, i, flip);
                bytes[i] ^= (uint8_t)flip;
            }
        }
        /* Every character of the code, changed to each other base32 one. */
        char code[PKC_INVITE_CODE_MAX + 1];
        int len = pkc_invite_code(both[w], code, sizeof code);
        static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        size_t accepted = 0;
        for (int i = 0; i < len; i++) {
            char was = code[i];
            for (const char *c = alphabet; *c; c++) {
                if (*c == was)
                    continue;
                code[i] = *c;
                accepted += pkc_invite_parse(code, (size_t)len, &back) == 0;
            }
            code[i] = was;
        }
        CHECK_EQ(accepted, 0);
        CHECK_OK(pkc_invite_parse(code, (size_t)len, &back));
    }
}

TEST(invite, every_truncation_is_refused)
{
    pkc_invite offer, answer, back;
    make_pair(&offer, &answer);
    const pkc_invite *both[2] = {&offer, &answer};
    for (int w = 0; w < 2; w++) {
        uint8_t bytes[PKC_INVITE_BYTES_MAX + 1];
        size_t n = encode(both[w], bytes);
        for (size_t len = 0; len < n; len++) {
            memset(&back, 0xee, sizeof back);
            int rc = pkc_invite_decode(bytes, len, &back);
            CHECK(rc == PKC_ERR_TRUNCATED || rc == PKC_ERR_MALFORMED ||
                  rc == PKC_ERR_BAD_SIGNATURE || rc == PKC_ERR_RANGE);
            CHECK(((uint8_t *)&back)[0] == 0xee && ((uint8_t *)&back)[sizeof back - 1] == 0xee);
        }
        /* And one byte more. */
        bytes[n] = 0;
        CHECK_ERR(pkc_invite_decode(bytes, n + 1, &back), PKC_ERR_MALFORMED);
        CHECK_MSG("signature: 1 unexpected bytes");
        char code[PKC_INVITE_CODE_MAX + 1];
        int len = pkc_invite_code(both[w], code, sizeof code);
        for (int l = 0; l < len; l++)
            CHECK(pkc_invite_parse(code, (size_t)l, &back) != 0);
    }
}

TEST(invite, refusals_say_which)
{
    pkc_invite offer, answer, back;
    make_pair(&offer, &answer);
    uint8_t bytes[PKC_INVITE_BYTES_MAX + 8];
    size_t n = encode(&offer, bytes);
    char code[PKC_INVITE_CODE_MAX + 8];
    int len = pkc_invite_code(&offer, code, sizeof code);

    /* Tampered: a byte of the room name, the token, the signature. */
    bytes[n - 64 - 32 - 2] ^= 1;
    CHECK_ERR(pkc_invite_decode(bytes, n, &back), PKC_ERR_BAD_SIGNATURE);
    CHECK_MSG("invitation: tampered: the signature does not verify");
    bytes[n - 64 - 32 - 2] ^= 1;
    bytes[n - 1] ^= 0x80;
    CHECK_ERR(pkc_invite_decode(bytes, n, &back), PKC_ERR_BAD_SIGNATURE);
    bytes[n - 1] ^= 0x80;
    /* Another version or kind, in the bytes and in the prefix. */
    bytes[0] = 2;
    CHECK_ERR(pkc_invite_decode(bytes, n, &back), PKC_ERR_UNSUPPORTED);
    CHECK_MSG("invitation: version 2, this pkc reads version 1");
    bytes[0] = 1;
    bytes[1] = 3;
    CHECK_ERR(pkc_invite_decode(bytes, n, &back), PKC_ERR_UNSUPPORTED);
    CHECK_MSG("kind 3 unknown");
    bytes[1] = 1;
    code[4] = '2';
    CHECK_ERR(pkc_invite_parse(code, (size_t)len, &back), PKC_ERR_UNSUPPORTED);
    CHECK_MSG("invitation: version 2, this pkc reads version 1");
    code[4] = '1';
    code[3] = 'X';
    CHECK_ERR(pkc_invite_parse(code, (size_t)len, &back), PKC_ERR_UNSUPPORTED);
    CHECK_MSG("kind 'X' unknown");
    /* The prefix of an answer on an offer's bytes. */
    code[3] = 'A';
    CHECK_ERR(pkc_invite_parse(code, (size_t)len, &back), PKC_ERR_MALFORMED);
    CHECK_MSG("the prefix says answer, the code is an invitation");
    code[3] = 'I';
    /* Malformed, and where. */
    CHECK_ERR(pkc_invite_parse("hello", 5, &back), PKC_ERR_MALFORMED);
    CHECK_MSG("not a pkc code");
    CHECK_ERR(pkc_invite_parse("https://pkc.invalid/join", 24, &back), PKC_ERR_MALFORMED);
    CHECK_MSG("a link without a code");
    CHECK_ERR(pkc_invite_parse("https://x/#", 11, &back), PKC_ERR_MALFORMED);
    CHECK_MSG("empty");
    char was = code[40];
    code[40] = '1';
    CHECK_ERR(pkc_invite_parse(code, (size_t)len, &back), PKC_ERR_MALFORMED);
    CHECK_MSG("character 41 of the code ('1') is not A-Z or 2-7");
    code[40] = (char)(was - 'A' + 'a');
    if (was >= 'A' && was <= 'Z') {
        CHECK_ERR(pkc_invite_parse(code, (size_t)len, &back), PKC_ERR_MALFORMED);
        CHECK_MSG("mixed upper and lower case");
    }
    code[40] = was;
    /* A ufrag of 3 characters: the field and its offset. */
    size_t ufrag_at = 3 + 32 + 6 + 3 + 32;
    CHECK_EQ(bytes[ufrag_at], 8);
    bytes[ufrag_at] = 3;
    CHECK_ERR(pkc_invite_decode(bytes, n, &back), PKC_ERR_MALFORMED);
    CHECK_MSG("invitation: ufrag: offset 76: not 4..64 ice-chars");
    bytes[ufrag_at] = 70;
    CHECK_ERR(pkc_invite_decode(bytes, n, &back), PKC_ERR_TOO_LARGE);
    CHECK_MSG("invitation: malformed: ufrag: offset 76: length 70 exceeds the limit 64");
    bytes[ufrag_at] = 8;
    /* Unknown flags; a lifetime of zero. */
    bytes[2] |= 0x80;
    CHECK_ERR(pkc_invite_decode(bytes, n, &back), PKC_ERR_MALFORMED);
    CHECK_MSG("flags: offset 2: unknown bits 0x80");
    bytes[2] &= 0x7f;
    /* Oversized: bytes, text, code. */
    CHECK_ERR(pkc_invite_decode(bytes, PKC_INVITE_BYTES_MAX + 1, &back), PKC_ERR_TOO_LARGE);
    char *big = malloc(PKC_INVITE_TEXT_MAX + 1);
    CHECK(big != NULL);
    memset(big, ' ', PKC_INVITE_TEXT_MAX + 1);
    CHECK_ERR(pkc_invite_parse(big, PKC_INVITE_TEXT_MAX + 1, &back), PKC_ERR_TOO_LARGE);
    memcpy(big, "PKCI1", 5);
    memset(big + 5, 'A', PKC_INVITE_CODE_MAX);
    CHECK_ERR(pkc_invite_parse(big, PKC_INVITE_CODE_MAX + 5, &back), PKC_ERR_TOO_LARGE);
    free(big);
    CHECK_OK(pkc_invite_decode(bytes, n, &back));
}

TEST(invite, parse_takes_urls_codes_whitespace_and_one_case)
{
    pkc_invite offer, back;
    make_pair(&offer, NULL);
    char code[PKC_INVITE_CODE_MAX + 1], url[PKC_INVITE_URL_MAX + 1];
    int len = pkc_invite_code(&offer, code, sizeof code);
    CHECK(pkc_invite_url(&offer, NULL, url, sizeof url) > 0);
    /* Wrapped at 80 columns with CR LF, indented, surrounded by spaces. */
    char text[4 * PKC_INVITE_URL_MAX];
    size_t t = 0;
    text[t++] = ' ';
    text[t++] = '\t';
    for (size_t i = 0; url[i]; i++) {
        if (i && i % 80 == 0) {
            memcpy(text + t, "\r\n  ", 4);
            t += 4;
        }
        text[t++] = url[i];
    }
    text[t++] = '\n';
    memset(&back, 0, sizeof back);
    CHECK_OK(pkc_invite_parse(text, t, &back));
    CHECK_MEM(&back, &offer, sizeof back);
    /* All lower case. */
    for (int i = 0; i < len; i++)
        if (code[i] >= 'A' && code[i] <= 'Z')
            code[i] = (char)(code[i] - 'A' + 'a');
    CHECK(strncmp(code, "pkci1", 5) == 0);
    memset(&back, 0, sizeof back);
    CHECK_OK(pkc_invite_parse(code, (size_t)len, &back));
    CHECK_MEM(&back, &offer, sizeof back);
    /* A bare fragment. */
    char frag[PKC_INVITE_CODE_MAX + 2] = "#";
    pkc_invite_code(&offer, frag + 1, sizeof frag - 1);
    CHECK_OK(pkc_invite_parse(frag, strlen(frag), &back));
    /* URL bases: printable ASCII without '#' or spaces. */
    CHECK_ERR(pkc_invite_url(&offer, "https://a/#b", url, sizeof url), PKC_ERR_INVALID_ARG);
    CHECK_ERR(pkc_invite_url(&offer, "https://a b", url, sizeof url), PKC_ERR_INVALID_ARG);
    CHECK_ERR(pkc_invite_url(&offer, "", url, sizeof url), PKC_ERR_INVALID_ARG);
    CHECK_ERR(pkc_invite_url(&offer, NULL, url, 100), PKC_ERR_TOO_LARGE);
    CHECK_ERR(pkc_invite_code(&offer, code, (size_t)len), PKC_ERR_TOO_LARGE);
}

TEST(invite, expiry_and_skew_boundaries)
{
    pkc_invite offer;
    make_pair(&offer, NULL);
    uint64_t c = offer.created_ms, e = offer.expires_ms, s = PKC_INVITE_SKEW_MS;
    /* Made by a clock up to `s` ahead of ours: fine; more: not yet valid. */
    CHECK_OK(pkc_invite_check_time(&offer, c - s, s));
    CHECK_ERR(pkc_invite_check_time(&offer, c - s - 1, s), PKC_ERR_NOT_YET_VALID);
    CHECK_MSG("invitation: not valid yet: made 5 min 0 s in the future, at 2026-01-01 00:00:00 "
              "UTC");
    CHECK_ERR(pkc_invite_check_time(&offer, c - 1, 0), PKC_ERR_NOT_YET_VALID);
    CHECK_OK(pkc_invite_check_time(&offer, c, 0));
    /* Expiry: at most `s` after expires_ms, never later. */
    CHECK_OK(pkc_invite_check_time(&offer, e - 1, 0));
    CHECK_ERR(pkc_invite_check_time(&offer, e, 0), PKC_ERR_EXPIRED);
    CHECK_MSG("invitation: expired under 1 s ago, at 2026-01-01 00:05:00 UTC");
    CHECK_OK(pkc_invite_check_time(&offer, e + s - 1, s));
    CHECK_ERR(pkc_invite_check_time(&offer, e + s, s), PKC_ERR_EXPIRED);
    CHECK_MSG("expired 5 min 0 s ago, at 2026-01-01 00:05:00 UTC (with 5 min 0 s allowed");
    CHECK_ERR(pkc_invite_check_time(&offer, e + 192000, 0), PKC_ERR_EXPIRED);
    CHECK_MSG("invitation: expired 3 min 12 s ago, at 2026-01-01 00:05:00 UTC");
    CHECK_ERR(pkc_invite_check_time(&offer, e + 2 * 86400000ull + 3 * 3600000ull, 0),
              PKC_ERR_EXPIRED);
    CHECK_MSG("expired 2 days 3 h ago");
    /* A huge skew cannot make an expired code good for ever. */
    CHECK_ERR(pkc_invite_check_time(&offer, e + PKC_INVITE_LIFETIME_MAX_MS, UINT64_MAX),
              PKC_ERR_EXPIRED);
}

TEST(invite, makers_refuse_what_decoders_would)
{
    uint8_t secret[32], token[32];
    memset(secret, 0x11, sizeof secret);
    memset(token, 0x22, sizeof token);
    pkc_identity *a = make_identity(1);
    pkc_invite inv;
    memset(&inv, 0xee, sizeof inv);
    pkc_invite_offer_params p = offer_params(secret, token);
    p.dial.ufrag = "abc";
    CHECK_ERR(pkc_invite_offer_create(a, &p, &inv), PKC_ERR_INVALID_ARG);
    CHECK_MSG("ICE ufrag");
    p = offer_params(secret, token);
    static const char *const bad[] = {"udp:192.168.001.1:5"};
    p.dial.addresses = bad;
    p.dial.n_addresses = 1;
    CHECK_ERR(pkc_invite_offer_create(a, &p, &inv), PKC_ERR_INVALID_ARG);
    CHECK_MSG("is not udp:IP:PORT");
    p = offer_params(secret, token);
    p.dial.n_addresses = 0;
    CHECK_ERR(pkc_invite_offer_create(a, &p, &inv), PKC_ERR_INVALID_ARG);
    p = offer_params(secret, token);
    p.room_name = "a\x1b[2Jb";
    CHECK_ERR(pkc_invite_offer_create(a, &p, &inv), PKC_ERR_INVALID_ARG);
    CHECK_MSG("room name");
    p.room_name = "\xc2\x9b";
    CHECK_ERR(pkc_invite_offer_create(a, &p, &inv), PKC_ERR_INVALID_ARG);
    p = offer_params(secret, token);
    p.lifetime_ms = PKC_INVITE_LIFETIME_MAX_MS + 1;
    CHECK_ERR(pkc_invite_offer_create(a, &p, &inv), PKC_ERR_RANGE);
    p = offer_params(secret, token);
    p.flags = 0x04;
    CHECK_ERR(pkc_invite_offer_create(a, &p, &inv), PKC_ERR_INVALID_ARG);
    p = offer_params(secret, NULL);
    CHECK_ERR(pkc_invite_offer_create(a, &p, &inv), PKC_ERR_INVALID_ARG);
    CHECK(((uint8_t *)&inv)[0] == 0xee);
    /* Every limit at once: 8 IPv6 addresses, 64-character credentials, a
     * 63-byte name, 30 days from the last millisecond it can: the longest. */
    static const char *const v6[8] = {
        "udp:[2001:db8:1:2:3:4:5:6]:65535", "udp:[2001:db8:1:2:3:4:5:7]:65535",
        "udp:[2001:db8:1:2:3:4:5:8]:65535", "udp:[2001:db8:1:2:3:4:5:9]:65535",
        "udp:[2001:db8:1:2:3:4:5:a]:65535", "udp:[2001:db8:1:2:3:4:5:b]:65535",
        "udp:[2001:db8:1:2:3:4:5:c]:65535", "udp:[2001:db8:1:2:3:4:5:d]:65535"};
    char cred[65], name[64];
    memset(cred, 'x', 64);
    cred[64] = 0;
    memset(name, 'n', 63);
    name[63] = 0;
    p = offer_params(secret, token);
    p.dial.addresses = v6;
    p.dial.n_addresses = 8;
    p.dial.ufrag = p.dial.pwd = cred;
    p.room_name = name;
    p.lifetime_ms = PKC_INVITE_LIFETIME_MAX_MS;
    p.created_ms = PKC_TIMESTAMP_MAX - PKC_INVITE_LIFETIME_MAX_MS;
    CHECK_OK(pkc_invite_offer_create(a, &p, &inv));
    uint8_t bytes[PKC_INVITE_BYTES_MAX];
    CHECK_EQ(encode(&inv, bytes), PKC_INVITE_BYTES_MAX);
    char code[PKC_INVITE_CODE_MAX + 1];
    CHECK_EQ(pkc_invite_code(&inv, code, sizeof code), PKC_INVITE_CODE_MAX);
    pkc_invite back;
    CHECK_OK(pkc_invite_parse(code, strlen(code), &back));
    CHECK_MEM(&back, &inv, sizeof back);
    p.created_ms++;
    CHECK_ERR(pkc_invite_offer_create(a, &p, &inv), PKC_ERR_RANGE);
    pkc_identity_free(a);
}

/* --- Vectors -------------------------------------------------------------- */

static void dial_params(json_t *o, pkc_invite_dial_params *d, uint8_t fp[32],
                        const char *addrs[PKC_INVITE_ADDRESSES_MAX])
{
    pkc_test_unhex(pkc_test_json_str(o, "fingerprint"), fp, 32);
    d->fingerprint = fp;
    d->ufrag = pkc_test_json_str(o, "ufrag");
    d->pwd = pkc_test_json_str(o, "pwd");
    json_t *a = json_object_get(o, "addresses");
    d->n_addresses = json_array_size(a);
    for (size_t i = 0; i < d->n_addresses && i < PKC_INVITE_ADDRESSES_MAX; i++)
        addrs[i] = json_string_value(json_array_get(a, i));
    d->addresses = addrs;
}

TEST(invite, vectors)
{
    json_t *j = pkc_test_vectors_load("invite.json");
    CHECK(j != NULL);
    size_t i;
    json_t *v;
    size_t seen = 0;
    json_array_foreach(json_object_get(j, "valid"), i, v)
    {
        json_t *o = json_object_get(v, "offer"), *a = json_object_get(v, "answer");
        uint8_t seed[32], secret[32], token[32], fp[32], want[PKC_INVITE_BYTES_MAX];
        const char *addrs[PKC_INVITE_ADDRESSES_MAX];
        pkc_identity *inviter = NULL, *invitee = NULL;
        CHECK_EQ(pkc_test_unhex(pkc_test_json_str(o, "seed"), seed, 32), 32);
        CHECK_OK(pkc_identity_from_seed(seed, &inviter));
        CHECK_EQ(pkc_test_unhex(pkc_test_json_str(o, "room_secret"), secret, 32), 32);
        CHECK_EQ(pkc_test_unhex(pkc_test_json_str(o, "token"), token, 32), 32);
        pkc_invite_offer_params op = {.created_ms = pkc_test_json_u64(o, "created_ms"),
                                      .lifetime_ms = pkc_test_json_u64(o, "expires_ms") - pkc_test_json_u64(o, "created_ms"),
                                      .flags = (uint8_t)pkc_test_json_u64(o, "flags"),
                                      .room_secret = secret,
                                      .room_name = pkc_test_json_str(o, "room_name"),
                                      .token = token};
        dial_params(o, &op.dial, fp, addrs);
        pkc_invite offer, answer, back;
        CHECK_OK(pkc_invite_offer_create(inviter, &op, &offer));
        uint8_t bytes[PKC_INVITE_BYTES_MAX];
        size_t n = encode(&offer, bytes);
        CHECK_EQ(pkc_test_unhex(pkc_test_json_str(o, "bytes"), want, sizeof want), n);
        CHECK_MEM(bytes, want, n);
        char code[PKC_INVITE_CODE_MAX + 1], url[PKC_INVITE_URL_MAX + 1];
        pkc_invite_code(&offer, code, sizeof code);
        CHECK_STR(code, pkc_test_json_str(o, "code"));
        pkc_invite_url(&offer, NULL, url, sizeof url);
        CHECK_STR(url, pkc_test_json_str(o, "url"));
        CHECK_OK(pkc_invite_parse(pkc_test_json_str(o, "url"), strlen(pkc_test_json_str(o, "url")), &back));
        CHECK_MEM(&back, &offer, sizeof back);
        char hex[2 * 32 + 1];
        pkc_hex_encode(hex, offer.id, 8);
        CHECK_STR(hex, pkc_test_json_str(o, "id"));
        pkc_hex_encode(hex, offer.room_id, 8);
        CHECK_STR(hex, pkc_test_json_str(o, "room_id"));
        CHECK_STR(offer.peer_id, pkc_test_json_str(o, "peer_id"));

        CHECK_EQ(pkc_test_unhex(pkc_test_json_str(a, "seed"), seed, 32), 32);
        CHECK_OK(pkc_identity_from_seed(seed, &invitee));
        pkc_invite_answer_params ap = {.created_ms = pkc_test_json_u64(a, "created_ms"),
                                       .lifetime_ms = pkc_test_json_u64(a, "expires_ms") - pkc_test_json_u64(a, "created_ms")};
        dial_params(a, &ap.dial, fp, addrs);
        CHECK_OK(pkc_invite_answer_create(invitee, &offer, &ap, &answer));
        n = encode(&answer, bytes);
        CHECK_EQ(pkc_test_unhex(pkc_test_json_str(a, "bytes"), want, sizeof want), n);
        CHECK_MEM(bytes, want, n);
        pkc_invite_code(&answer, code, sizeof code);
        CHECK_STR(code, pkc_test_json_str(a, "code"));
        pkc_hex_encode(hex, answer.mac, 32);
        CHECK_STR(hex, pkc_test_json_str(a, "mac"));
        CHECK_OK(pkc_invite_parse(code, strlen(code), &back));
        CHECK_OK(pkc_invite_answer_check(&back, &offer));
        pkc_identity_free(inviter);
        pkc_identity_free(invitee);
        seen++;
    }
    CHECK(seen >= 2);
    /* Refused codes: each with its error and a part of its message. */
    seen = 0;
    json_array_foreach(json_object_get(j, "invalid"), i, v)
    {
        const char *text = pkc_test_json_str(v, "text");
        pkc_invite inv;
        int rc = pkc_invite_parse(text, strlen(text), &inv);
        if (rc == 0 && json_object_get(v, "now_ms"))
            rc = pkc_invite_check_time(&inv, pkc_test_json_u64(v, "now_ms"), pkc_test_json_u64(v, "skew_ms"));
        if (strcmp(pkc_err_name(rc), pkc_test_json_str(v, "error")) != 0 ||
            strstr(pkc_errmsg(), pkc_test_json_str(v, "message")) == NULL)
            pkc_test_fail(__FILE__, __LINE__, "%s: %s \"%s\", expected %s \"%s\"", pkc_test_json_str(v, "name"),
                          pkc_err_name(rc), pkc_errmsg(), pkc_test_json_str(v, "error"), pkc_test_json_str(v, "message"));
        seen++;
    }
    CHECK(seen >= 8);
    json_decref(j);
}
