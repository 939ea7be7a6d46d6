/*
 * peerid.c: peer ids.
 *
 * id = bech32m("pkc", BLAKE2b-160("pkc-peer-id" || ed25519_public_key))
 *
 * bech32m (BIP 350) gives a lower-case alphabet without look-alikes (no 1, b,
 * i, o) and a checksum that detects any error in up to four characters, so a
 * mistyped id is reported instead of silently naming someone else.
 */
#define _POSIX_C_SOURCE 200809L
#include "crypto/peerid.h"

#include <string.h>

#include "util/err.h"
#include "crypto/backend.h"

#define HRP "pkc"
#define HRP_LEN 3
#define DATA_CHARS 32 /* 160 bits / 5 */
#define CHECKSUM_CHARS 6
#define BECH32M_CONST 0x2bc830a3u

static const char charset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
static const char domain[] = "pkc-peer-id";

static uint32_t polymod_step(uint32_t chk, uint8_t v)
{
    static const uint32_t gen[5] = {0x3b6a57b2u, 0x26508e6du, 0x1ea119fau, 0x3d4233ddu,
                                    0x2a1462b3u};
    uint8_t top = (uint8_t)(chk >> 25);
    chk = ((chk & 0x1ffffffu) << 5) ^ v;
    for (int i = 0; i < 5; i++)
        if ((top >> i) & 1)
            chk ^= gen[i];
    return chk;
}

static uint32_t polymod_hrp(void)
{
    uint32_t chk = 1;
    for (int i = 0; i < HRP_LEN; i++)
        chk = polymod_step(chk, (uint8_t)(HRP[i] >> 5));
    chk = polymod_step(chk, 0);
    for (int i = 0; i < HRP_LEN; i++)
        chk = polymod_step(chk, (uint8_t)(HRP[i] & 31));
    return chk;
}

static void to_5bit(const uint8_t hash[PKC_PEER_ID_HASH_BYTES], uint8_t out[DATA_CHARS])
{
    uint32_t acc = 0;
    unsigned bits = 0, o = 0;
    for (int i = 0; i < PKC_PEER_ID_HASH_BYTES; i++) {
        acc = (acc << 8) | hash[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = (uint8_t)((acc >> bits) & 31);
        }
    }
}

static void from_5bit(const uint8_t in[DATA_CHARS], uint8_t hash[PKC_PEER_ID_HASH_BYTES])
{
    uint32_t acc = 0;
    unsigned bits = 0, o = 0;
    for (int i = 0; i < DATA_CHARS; i++) {
        acc = (acc << 5) | in[i];
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            hash[o++] = (uint8_t)(acc >> bits);
        }
    }
}

void pkc_peer_id_hash(const uint8_t public_key[PKC_PUBLIC_KEY_BYTES],
                      uint8_t hash[PKC_PEER_ID_HASH_BYTES])
{
    pkc_crypto_hash2(hash, PKC_PEER_ID_HASH_BYTES, domain, sizeof domain - 1, public_key,
                     PKC_PUBLIC_KEY_BYTES);
}

void pkc_peer_id_encode(const uint8_t hash[PKC_PEER_ID_HASH_BYTES], char out[PKC_PEER_ID_SIZE])
{
    uint8_t data[DATA_CHARS];
    to_5bit(hash, data);
    uint32_t chk = polymod_hrp();
    memcpy(out, HRP "1", HRP_LEN + 1);
    char *p = out + HRP_LEN + 1;
    for (int i = 0; i < DATA_CHARS; i++) {
        chk = polymod_step(chk, data[i]);
        *p++ = charset[data[i]];
    }
    for (int i = 0; i < CHECKSUM_CHARS; i++)
        chk = polymod_step(chk, 0);
    chk ^= BECH32M_CONST;
    for (int i = 0; i < CHECKSUM_CHARS; i++)
        *p++ = charset[(chk >> (5 * (CHECKSUM_CHARS - 1 - i))) & 31];
    *p = '\0';
}

void pkc_peer_id_from_public_key(const uint8_t public_key[PKC_PUBLIC_KEY_BYTES],
                                 char out[PKC_PEER_ID_SIZE])
{
    uint8_t hash[PKC_PEER_ID_HASH_BYTES];
    pkc_peer_id_hash(public_key, hash);
    pkc_peer_id_encode(hash, out);
}

static int charset_value(char c)
{
    const char *p = c ? strchr(charset, c) : NULL;
    return p ? (int)(p - charset) : -1;
}

int pkc_peer_id_parse(const char *text, uint8_t hash_out[PKC_PEER_ID_HASH_BYTES])
{
    if (text == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "peer id: NULL");
    size_t len = strnlen(text, PKC_PEER_ID_LEN + 1);
    if (len != PKC_PEER_ID_LEN)
        return pkc_error(PKC_ERR_MALFORMED, "peer id: must be %d characters, got %s%zu",
                         PKC_PEER_ID_LEN, len > PKC_PEER_ID_LEN ? "more than " : "",
                         len > PKC_PEER_ID_LEN ? (size_t)PKC_PEER_ID_LEN : len);
    int upper = 0, lower = 0;
    char id[PKC_PEER_ID_SIZE];
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c >= 'A' && c <= 'Z') {
            upper = 1;
            c = (char)(c - 'A' + 'a');
        } else if (c >= 'a' && c <= 'z') {
            lower = 1;
        }
        id[i] = c;
    }
    id[len] = '\0';
    if (upper && lower)
        return pkc_error(PKC_ERR_MALFORMED, "peer id: mixes upper and lower case");
    if (memcmp(id, HRP "1", HRP_LEN + 1) != 0)
        return pkc_error(PKC_ERR_MALFORMED, "peer id: must start with \"" HRP "1\"");
    uint8_t data[DATA_CHARS + CHECKSUM_CHARS];
    for (int i = 0; i < DATA_CHARS + CHECKSUM_CHARS; i++) {
        int v = charset_value(id[HRP_LEN + 1 + i]);
        if (v < 0)
            return pkc_error(PKC_ERR_MALFORMED,
                             "peer id: character %d ('%c') is not one of \"%s\"",
                             HRP_LEN + 2 + i, id[HRP_LEN + 1 + i], charset);
        data[i] = (uint8_t)v;
    }
    uint32_t chk = polymod_hrp();
    for (int i = 0; i < DATA_CHARS + CHECKSUM_CHARS; i++)
        chk = polymod_step(chk, data[i]);
    if (chk != BECH32M_CONST)
        return pkc_error(PKC_ERR_CHECKSUM, "peer id: checksum does not match (mistyped?)");
    if (hash_out)
        from_5bit(data, hash_out);
    return 0;
}

int pkc_peer_id_verify(const char *peer_id, const uint8_t public_key[PKC_PUBLIC_KEY_BYTES])
{
    uint8_t claimed[PKC_PEER_ID_HASH_BYTES], actual[PKC_PEER_ID_HASH_BYTES];
    int rc = pkc_peer_id_parse(peer_id, claimed);
    if (rc)
        return rc;
    pkc_peer_id_hash(public_key, actual);
    if (pkc_crypto_memcmp(claimed, actual, sizeof actual) != 0)
        return pkc_error(PKC_ERR_MISMATCH, "peer id %s does not belong to this public key",
                         peer_id);
    return 0;
}
