#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "crypto/peerid.h"
#include "test.h"
#include "util/rng.h"

static json_t *load_vectors(void)
{
    char path[4096];
    const char *src = getenv("PKC_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/vectors/peer-id.json", src ? src : ".");
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (j == NULL)
        fprintf(stderr, "  %s: %s\n", path, e.text);
    return j;
}

TEST(identity, matches_independent_vectors)
{
    json_t *root = load_vectors();
    CHECK(root != NULL);
    json_t *vectors = json_object_get(root, "vectors"), *v;
    size_t i;
    CHECK(json_array_size(vectors) >= 5);
    json_array_foreach(vectors, i, v)
    {
        uint8_t seed[32], pk[32], hash[20], parsed[20];
        pkc_test_unhex(json_string_value(json_object_get(v, "seed")), seed, 32);
        pkc_test_unhex(json_string_value(json_object_get(v, "public_key")), pk, 32);
        pkc_test_unhex(json_string_value(json_object_get(v, "hash")), hash, 20);
        const char *want = json_string_value(json_object_get(v, "peer_id"));
        pkc_identity *id;
        CHECK_OK(pkc_identity_from_seed(seed, &id));
        CHECK_MEM(pkc_identity_get_public_key(id), pk, 32);
        CHECK_STR(pkc_identity_get_peer_id(id), want);
        CHECK_EQ(strlen(want), PKC_PEER_ID_LEN);
        CHECK_OK(pkc_peer_id_parse(want, parsed));
        CHECK_MEM(parsed, hash, 20);
        CHECK_OK(pkc_peer_id_verify(want, pk));
        pkc_identity_free(id);
    }
    json_decref(root);
}

TEST(identity, generate_uses_the_given_rng)
{
    pkc_seeded_rng a, b;
    pkc_seeded_rng_init(&a, 99);
    pkc_seeded_rng_init(&b, 99);
    pkc_identity *x, *y, *z;
    CHECK_OK(pkc_identity_generate(&a.rng, &x));
    CHECK_OK(pkc_identity_generate(&b.rng, &y));
    CHECK_OK(pkc_identity_generate(&a.rng, &z));
    CHECK_STR(pkc_identity_get_peer_id(x), pkc_identity_get_peer_id(y));
    CHECK(strcmp(pkc_identity_get_peer_id(x), pkc_identity_get_peer_id(z)) != 0);
    pkc_identity_free(x);
    pkc_identity_free(y);
    pkc_identity_free(z);
    pkc_identity_free(NULL);
}

static const char good[] = "pkc1fznlf7n7udnaswfc64eegy2n3573efzvufjxaq";

TEST(identity, every_single_character_typo_is_detected)
{
    static const char alphabet[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l1bio";
    char id[PKC_PEER_ID_SIZE];
    int checked = 0;
    for (size_t pos = 0; pos < PKC_PEER_ID_LEN; pos++) {
        for (const char *c = alphabet; *c; c++) {
            if (good[pos] == *c)
                continue;
            memcpy(id, good, sizeof id);
            id[pos] = *c;
            int rc = pkc_peer_id_parse(id, NULL);
            CHECK(rc == PKC_ERR_CHECKSUM || rc == PKC_ERR_MALFORMED);
            checked++;
        }
    }
    CHECK(checked > 1400);
}

TEST(identity, swapped_neighbours_are_detected)
{
    char id[PKC_PEER_ID_SIZE];
    for (size_t pos = 4; pos + 1 < PKC_PEER_ID_LEN; pos++) {
        if (good[pos] == good[pos + 1])
            continue;
        memcpy(id, good, sizeof id);
        id[pos] = good[pos + 1];
        id[pos + 1] = good[pos];
        CHECK_ERR(pkc_peer_id_parse(id, NULL), PKC_ERR_CHECKSUM);
    }
}

TEST(identity, parse_errors_say_what_is_wrong)
{
    char id[PKC_PEER_ID_SIZE + 4];
    CHECK_ERR(pkc_peer_id_parse("pkc1abc", NULL), PKC_ERR_MALFORMED);
    CHECK(strstr(pkc_errmsg(), "42 characters") != NULL);
    snprintf(id, sizeof id, "%sq", good);
    CHECK_ERR(pkc_peer_id_parse(id, NULL), PKC_ERR_MALFORMED);
    memcpy(id, good, sizeof good);
    id[0] = 'x';
    CHECK_ERR(pkc_peer_id_parse(id, NULL), PKC_ERR_MALFORMED);
    CHECK(strstr(pkc_errmsg(), "pkc1") != NULL);
    memcpy(id, good, sizeof good);
    id[10] = 'b';
    CHECK_ERR(pkc_peer_id_parse(id, NULL), PKC_ERR_MALFORMED);
    CHECK(strstr(pkc_errmsg(), "character 11") != NULL);
    memcpy(id, good, sizeof good);
    id[10] = id[10] == 'q' ? 'p' : 'q';
    CHECK_ERR(pkc_peer_id_parse(id, NULL), PKC_ERR_CHECKSUM);
    CHECK(strstr(pkc_errmsg(), "mistyped") != NULL);
    CHECK_ERR(pkc_peer_id_parse(NULL, NULL), PKC_ERR_INVALID_ARG);
}

TEST(identity, case_rules)
{
    char id[PKC_PEER_ID_SIZE];
    for (size_t i = 0; i < sizeof id; i++)
        id[i] = (char)(good[i] >= 'a' && good[i] <= 'z' ? good[i] - 32 : good[i]);
    uint8_t a[20], b[20];
    CHECK_OK(pkc_peer_id_parse(id, a));
    CHECK_OK(pkc_peer_id_parse(good, b));
    CHECK_MEM(a, b, 20);
    id[5] = (char)(id[5] + 32); /* one lower-case letter among upper case */
    CHECK_ERR(pkc_peer_id_parse(id, NULL), PKC_ERR_MALFORMED);
}

TEST(identity, verify_rejects_other_keys)
{
    uint8_t pk[32] = {0};
    CHECK_ERR(pkc_peer_id_verify(good, pk), PKC_ERR_MISMATCH);
    CHECK_ERR(pkc_peer_id_verify("nonsense", pk), PKC_ERR_MALFORMED);
}
