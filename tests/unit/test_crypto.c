#define _POSIX_C_SOURCE 200809L /* strdup */
/* The crypto backend against published vectors (RFC 8032, RFC 7748,
 * draft-irtf-cfrg-xchacha), signatures through the identity, and identity
 * export and import. */
#include <stdlib.h>
#include <string.h>

#include "crypto/backend.h"
#include "crypto/identity.h"
#include "crypto/kdf.h"
#include "crypto/pow.h"
#include "test.h"
#include "util/rng.h"

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    return pkc_test_unhex(hex, out, cap);
}

TEST(crypto, ed25519_rfc8032)
{
    uint8_t seed[32], pk[32], sig[64], want[64];
    unhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", seed, 32);
    unhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", pk, 32);
    unhex("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f36"
          "13d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
          want, 64);
    pkc_identity *id;
    CHECK_OK(pkc_identity_from_seed(seed, &id));
    CHECK_MEM(pkc_identity_get_public_key(id), pk, 32);
    const uint8_t msg[1] = {0x72};
    pkc_identity_sign(id, msg, 1, sig);
    CHECK_MEM(sig, want, 64);
    CHECK_OK(pkc_signature_verify(pk, msg, 1, sig));
    sig[10] ^= 1;
    CHECK_ERR(pkc_signature_verify(pk, msg, 1, sig), PKC_ERR_BAD_SIGNATURE);
    sig[10] ^= 1;
    const uint8_t other[1] = {0x73};
    CHECK_ERR(pkc_signature_verify(pk, other, 1, sig), PKC_ERR_BAD_SIGNATURE);
    /* A labelled signature is not a signature of the raw bytes. */
    pkc_identity_sign_labeled(id, "pkc-test", msg, 1, sig);
    CHECK_OK(pkc_verify_labeled(pk, "pkc-test", msg, 1, sig, "x"));
    CHECK_ERR(pkc_verify_labeled(pk, "pkc-tesu", msg, 1, sig, "x"), PKC_ERR_BAD_SIGNATURE);
    CHECK_ERR(pkc_signature_verify(pk, msg, 1, sig), PKC_ERR_BAD_SIGNATURE);
    pkc_identity_free(id);
}

TEST(crypto, x25519_rfc7748)
{
    uint8_t a_sk[32], a_pk[32], b_sk[32], b_pk[32], want[32], got_pk[32], s1[32], s2[32];
    unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a_sk, 32);
    unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", a_pk, 32);
    unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", b_sk, 32);
    unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", b_pk, 32);
    unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", want, 32);
    pkc_crypto_x25519_base(got_pk, a_sk);
    CHECK_MEM(got_pk, a_pk, 32);
    CHECK_OK(pkc_crypto_x25519(s1, a_sk, b_pk));
    CHECK_OK(pkc_crypto_x25519(s2, b_sk, a_pk));
    CHECK_MEM(s1, want, 32);
    CHECK_MEM(s2, want, 32);
    /* Small-order points give an all-zero secret: refused. */
    static const uint8_t zero[32];
    uint8_t one[32] = {1};
    CHECK(pkc_crypto_x25519(s1, a_sk, zero) != 0);
    CHECK(pkc_crypto_x25519(s1, a_sk, one) != 0);
    CHECK_MEM(s1, zero, 32);
}

TEST(crypto, xchacha20poly1305_draft_vector)
{
    static const char pt[] = "Ladies and Gentlemen of the class of '99: If I could offer you only "
                             "one tip for the future, sunscreen would be it.";
    uint8_t key[32], nonce[24], ad[12], want[200], c[200], m[200];
    unhex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", key, 32);
    unhex("404142434445464748494a4b4c4d4e4f5051525354555657", nonce, 24);
    unhex("50515253c0c1c2c3c4c5c6c7", ad, 12);
    size_t n = unhex("bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4a"
                     "a6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b9"
                     "82c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e"
                     "c0875924c1c7987947deafd8780acf49",
                     want, sizeof want);
    size_t len = sizeof pt - 1;
    CHECK_EQ(n, len + 16);
    pkc_crypto_aead_seal(c, (const uint8_t *)pt, len, ad, sizeof ad, nonce, key);
    CHECK_MEM(c, want, n);
    CHECK_OK(pkc_crypto_aead_open(m, c, n, ad, sizeof ad, nonce, key));
    CHECK_MEM(m, pt, len);
    c[n - 1] ^= 1;
    CHECK(pkc_crypto_aead_open(m, c, n, ad, sizeof ad, nonce, key) != 0);
    c[n - 1] ^= 1;
    ad[0] ^= 1;
    CHECK(pkc_crypto_aead_open(m, c, n, ad, sizeof ad, nonce, key) != 0);
    CHECK(pkc_crypto_aead_open(m, c, 15, ad, sizeof ad, nonce, key) != 0);
}

/* HChaCha20 (draft-irtf-cfrg-xchacha-03, 2.2.1), and the two halves of
 * XChaCha20-Poly1305 giving the same bytes as the whole: on the draft's
 * vector, and on every length around ChaCha20's 64-byte blocks. */
TEST(crypto, xchacha20poly1305_from_a_subkey)
{
    uint8_t key[32], prefix[16], sub[32], want[32];
    unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", key, 32);
    unhex("000000090000004a0000000031415927", prefix, 16);
    unhex("82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc", want, 32);
    pkc_crypto_aead_subkey(sub, key, prefix);
    CHECK_MEM(sub, want, 32);

    static const char pt[] = "Ladies and Gentlemen of the class of '99: If I could offer you only "
                             "one tip for the future, sunscreen would be it.";
    uint8_t nonce[24], ad[12], c[200], c2[200], m[200];
    unhex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", key, 32);
    unhex("404142434445464748494a4b4c4d4e4f5051525354555657", nonce, 24);
    unhex("50515253c0c1c2c3c4c5c6c7", ad, 12);
    size_t len = sizeof pt - 1;
    pkc_crypto_aead_seal(c, (const uint8_t *)pt, len, ad, sizeof ad, nonce, key);
    pkc_crypto_aead_subkey(sub, key, nonce);
    pkc_crypto_aead_seal_sub(c2, (const uint8_t *)pt, len, ad, sizeof ad, nonce + 16, sub);
    CHECK_MEM(c2, c, len + 16);
    CHECK_OK(pkc_crypto_aead_open_sub(m, c, len + 16, ad, sizeof ad, nonce + 16, sub));
    CHECK_MEM(m, pt, len);

    /* Random keys, nonces and texts of 0..300 bytes, with and without
     * associated data; then every way of getting it wrong. */
    static uint8_t msg[300], big_c[316], big_c2[316], out[300];
    pkc_seeded_rng rng;
    pkc_seeded_rng_init(&rng, 7);
    for (size_t n = 0; n <= sizeof msg; n++) {
        pkc_rng_fill(&rng.rng, key, sizeof key);
        pkc_rng_fill(&rng.rng, nonce, sizeof nonce);
        pkc_rng_fill(&rng.rng, msg, n);
        size_t adn = n % 3 == 0 ? 0 : n % 20;
        pkc_crypto_aead_seal(big_c, msg, n, msg, adn, nonce, key);
        pkc_crypto_aead_subkey(sub, key, nonce);
        pkc_crypto_aead_seal_sub(big_c2, msg, n, msg, adn, nonce + 16, sub);
        CHECK_MEM(big_c2, big_c, n + 16);
        CHECK_OK(pkc_crypto_aead_open_sub(out, big_c, n + 16, msg, adn, nonce + 16, sub));
        CHECK(n == 0 || memcmp(out, msg, n) == 0);
        big_c[n * 7 % (n + 16)] ^= 0x20; /* a ciphertext or tag bit */
        memset(out, 0xee, sizeof out);
        CHECK(pkc_crypto_aead_open_sub(out, big_c, n + 16, msg, adn, nonce + 16, sub) != 0);
        for (size_t i = 0; i < n; i++)
            CHECK_EQ(out[i], 0); /* nothing of a forgery comes out */
        big_c[n * 7 % (n + 16)] ^= 0x20;
        nonce[16 + n % 8] ^= 1; /* another sequence number */
        CHECK(pkc_crypto_aead_open_sub(out, big_c, n + 16, msg, adn, nonce + 16, sub) != 0);
        nonce[16 + n % 8] ^= 1;
        sub[n % 32] ^= 1; /* another key */
        CHECK(pkc_crypto_aead_open_sub(out, big_c, n + 16, msg, adn, nonce + 16, sub) != 0);
        sub[n % 32] ^= 1;
        CHECK(pkc_crypto_aead_open_sub(out, big_c, n + 15, msg, adn, nonce + 16, sub) != 0);
        CHECK_OK(pkc_crypto_aead_open_sub(out, big_c, n + 16, msg, adn, nonce + 16, sub));
    }
    CHECK(pkc_crypto_aead_open_sub(out, big_c, 15, NULL, 0, nonce + 16, sub) != 0);
}

/* The streaming hash gives what the one-shot one gives for the whole,
 * whatever the pieces, and peeking changes nothing. */
TEST(crypto, hash_in_pieces)
{
    static uint8_t data[1000];
    pkc_seeded_rng rng;
    pkc_seeded_rng_init(&rng, 9);
    pkc_rng_fill(&rng.rng, data, sizeof data);
    const size_t out_lens[] = {1, 16, 32, 64};
    for (size_t k = 0; k < 4; k++) {
        size_t ol = out_lens[k];
        pkc_hash_state st;
        pkc_crypto_hash_init(&st, ol);
        size_t at = 0, step = 0;
        while (at <= sizeof data) {
            uint8_t want[64], got[64], again[64];
            /* The pieces so far, then 0..299 more bytes. */
            size_t more = (at * 7 + step) % 300;
            if (more > sizeof data - at)
                more = sizeof data - at;
            pkc_crypto_hash2(want, ol, data, at, data + at, more);
            pkc_crypto_hash_peek(&st, data + at, more, got, ol);
            CHECK_MEM(got, want, ol);
            pkc_crypto_hash_peek(&st, data + at, more, again, ol);
            CHECK_MEM(again, want, ol);
            pkc_hash_state copy = st;
            pkc_crypto_hash_update(&copy, data + at, more);
            pkc_crypto_hash_peek(&copy, NULL, 0, again, ol);
            CHECK_MEM(again, want, ol);
            /* Pieces of 0..200 bytes, across BLAKE2b's 128-byte blocks. */
            size_t piece = (step * 37) % 201;
            if (at == sizeof data)
                break;
            if (piece > sizeof data - at)
                piece = sizeof data - at;
            pkc_crypto_hash_update(&st, data + at, piece);
            at += piece;
            step++;
        }
    }
}

TEST(crypto, kdf_and_pow)
{
    /* H and KDF use the label's NUL as separator: "ab" + "c" differs from
     * "a" + "bc". */
    uint8_t h1[32], h2[32], k1[32], k2[32], key[32] = {1};
    pkc_hash_labeled(h1, 32, "ab", "c", 1);
    pkc_hash_labeled(h2, 32, "a", "bc", 2);
    CHECK(memcmp(h1, h2, 32) != 0);
    pkc_kdf(k1, key, 32, "ab", "c", 1);
    pkc_kdf(k2, key, 32, "a", "bc", 2);
    CHECK(memcmp(k1, k2, 32) != 0);
    CHECK(memcmp(k1, h1, 32) != 0);
    /* Proof of work: the solution is the first counter worth the bits. */
    const uint8_t ctx[4] = {1, 2, 3, 4};
    uint64_t c = pkc_pow_solve("pkc-test", ctx, sizeof ctx, 10);
    CHECK(pkc_pow_value("pkc-test", ctx, sizeof ctx, c) >= 10);
    for (uint64_t i = 0; i < c; i++)
        CHECK(pkc_pow_value("pkc-test", ctx, sizeof ctx, i) < 10);
    CHECK_OK(pkc_pow_check("pkc-test", ctx, sizeof ctx, c, 10));
    CHECK_ERR(pkc_pow_check("pkc-test2", ctx, sizeof ctx, c, 10),
              pkc_pow_value("pkc-test2", ctx, sizeof ctx, c) >= 10 ? 0 : PKC_ERR_POW);
    CHECK_EQ(pkc_pow_solve("pkc-test", ctx, sizeof ctx, 0), 0);
}

TEST(crypto, identity_dh_key_is_derived_from_the_seed)
{
    uint8_t seed[32];
    memset(seed, 0xaa, 32);
    pkc_identity *a, *b;
    CHECK_OK(pkc_identity_from_seed(seed, &a));
    CHECK_OK(pkc_identity_from_seed(seed, &b));
    CHECK_MEM(pkc_identity_get_dh_public_key(a), pkc_identity_get_dh_public_key(b), 32);
    CHECK(memcmp(pkc_identity_get_dh_public_key(a), pkc_identity_get_public_key(a), 32) != 0);
    uint8_t sk[32], pk[32];
    pkc_kdf(sk, seed, 32, "pkc-x25519-v1", NULL, 0);
    pkc_crypto_x25519_base(pk, sk);
    CHECK_MEM(pk, pkc_identity_get_dh_public_key(a), 32);
    pkc_identity_free(a);
    pkc_identity_free(b);
}

/* --- Export and import ------------------------------------------------- */

static const pkc_identity_export_params fast = {1, 8}; /* tests only */

TEST(crypto, export_import_clear)
{
    uint8_t seed[32];
    memset(seed, 0x42, 32);
    pkc_identity *id, *back;
    CHECK_OK(pkc_identity_from_seed(seed, &id));
    char *text;
    CHECK_OK(pkc_identity_export(id, NULL, NULL, NULL, &text));
    CHECK(strncmp(text, "pkc-identity-export-v1\npeer-id pkc1", 35) == 0);
    CHECK(strstr(text, "\nkdf none\nsecret ") != NULL);
    CHECK_EQ(pkc_identity_export_encrypted(text, strlen(text)), 0);
    CHECK_OK(pkc_identity_import(text, strlen(text), NULL, &back));
    CHECK_STR(pkc_identity_get_peer_id(back), pkc_identity_get_peer_id(id));
    pkc_identity_free(back);
    /* A passphrase given for a clear export is not needed, and harmless. */
    CHECK_OK(pkc_identity_import(text, strlen(text), "x", &back));
    pkc_identity_free(back);
    /* A changed peer id or secret is detected. */
    char *bad = strdup(text);
    bad[40] = bad[40] == 'q' ? 'p' : 'q';
    CHECK_ERR(pkc_identity_import(bad, strlen(bad), NULL, &back), PKC_ERR_CHECKSUM);
    memcpy(bad, text, strlen(text));
    char *s = strstr(bad, "secret ") + 7;
    s[0] = s[0] == 'A' ? 'B' : 'A';
    CHECK_ERR(pkc_identity_import(bad, strlen(bad), NULL, &back), PKC_ERR_CHECKSUM);
    free(bad);
    free(text);
    pkc_identity_free(id);
}

TEST(crypto, export_import_with_passphrase)
{
    uint8_t seed[32];
    memset(seed, 0x43, 32);
    pkc_identity *id, *back;
    CHECK_OK(pkc_identity_from_seed(seed, &id));
    pkc_seeded_rng rng;
    pkc_seeded_rng_init(&rng, 5);
    char *text, *text2;
    CHECK_OK(pkc_identity_export(id, "correct horse", &fast, &rng.rng, &text));
    CHECK(strstr(text, "\nkdf argon2id 1 8 ") != NULL);
    CHECK_EQ(pkc_identity_export_encrypted(text, strlen(text)), 1);
    CHECK_ERR(pkc_identity_import(text, strlen(text), NULL, &back), PKC_ERR_INVALID_ARG);
    CHECK(strstr(pkc_errmsg(), "passphrase is needed") != NULL);
    CHECK_ERR(pkc_identity_import(text, strlen(text), "wrong horse", &back), PKC_ERR_DECRYPT);
    CHECK_OK(pkc_identity_import(text, strlen(text), "correct horse", &back));
    CHECK_STR(pkc_identity_get_peer_id(back), pkc_identity_get_peer_id(id));
    pkc_identity_free(back);
    /* A fresh salt each time: two exports differ. */
    CHECK_OK(pkc_identity_export(id, "correct horse", &fast, &rng.rng, &text2));
    CHECK(strcmp(text, text2) != 0);
    /* The header is authenticated: a changed parameter does not decrypt. */
    char *p = strstr(text2, "argon2id 1 8 ");
    p[9] = '2';
    CHECK_ERR(pkc_identity_import(text2, strlen(text2), "correct horse", &back), PKC_ERR_DECRYPT);
    /* Parameters beyond the limits are refused before any work. */
    char *q = strstr(text, "argon2id 1 8 ");
    memmove(q + 9 + 9, q + 9 + 3, strlen(q + 9 + 3) + 1); /* room: the text has 1024 */
    memcpy(q + 9, "1 9999999", 9);
    CHECK_ERR(pkc_identity_import(text, strlen(text), "correct horse", &back), PKC_ERR_RANGE);
    free(text);
    free(text2);
    CHECK_ERR(pkc_identity_export(id, "", &fast, &rng.rng, &text), PKC_ERR_INVALID_ARG);
    pkc_identity_export_params huge = {1, 4u << 20};
    CHECK_ERR(pkc_identity_export(id, "x", &huge, &rng.rng, &text), PKC_ERR_INVALID_ARG);
    pkc_identity_free(id);
}

TEST(crypto, import_accepts_identity_files_and_rejects_junk)
{
    static const char file[] = "pkc-identity-v1\n"
                               "peer-id pkc1fznlf7n7udnaswfc64eegy2n3573efzvufjxaq\n"
                               "seed nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\n";
    pkc_identity *id;
    CHECK_OK(pkc_identity_import(file, sizeof file - 1, NULL, &id));
    CHECK_STR(pkc_identity_get_peer_id(id), "pkc1fznlf7n7udnaswfc64eegy2n3573efzvufjxaq");
    pkc_identity_free(id);
    static const char *junk[] = {
        "",
        "pkc-identity-export-v1\n",
        "pkc-identity-export-v1\npeer-id pkc1fznlf7n7udnaswfc64eegy2n3573efzvufjxaq\n",
        "pkc-identity-export-v1\npeer-id pkc1fznlf7n7udnaswfc64eegy2n3573efzvufjxaq\nkdf rot13\n",
        "pkc-identity-export-v1\npeer-id pkc1fznlf7n7udnaswfc64eegy2n3573efzvufjxaq\nkdf "
        "argon2id 01 8 AAAAAAAAAAAAAAAAAAAAAA\nsecret x\n",
        "pkc-identity-export-v1\npeer-id pkc1fznlf7n7udnaswfc64eegy2n3573efzvufjxaq\nkdf none\n"
        "secret nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\nextra\n",
        "pkc-identity-export-v1\npeer-id pkc1fznlf7n7udnaswfc64eegy2n3573efzvufjxaq\nkdf none\n"
        "secret nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    };
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
        CHECK_ERR(pkc_identity_import(junk[i], strlen(junk[i]), NULL, &id), PKC_ERR_MALFORMED);
    CHECK_EQ(pkc_identity_export_encrypted("nope", 4), PKC_ERR_MALFORMED);
}
