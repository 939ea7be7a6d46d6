/*
 * Fuzzes the invitation text reader (pkc_invite_parse: URLs, codes,
 * whitespace, case) and base32 (src/util/text.c). Properties:
 *   - a failure leaves the output untouched;
 *   - an accepted text's code, written again, reads back to the same value;
 *   - base32: any bytes round trip, and an accepted string re-encodes to
 *     itself up to case.
 * Seeds: the valid codes and URLs of tests/vectors/invite.json, wrapped and
 * in lower case.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/invite.h"
#include "util/text.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

static void base32(const uint8_t *data, size_t size)
{
    if (size > 2048)
        return;
    char enc[2048 * 8 / 5 + 8];
    uint8_t dec[2048 + 8];
    size_t n = pkc_base32_encode(enc, sizeof enc, data, size), dn;
    check(n == pkc_base32_encoded_len(size));
    check(pkc_base32_decode(enc, n, dec, sizeof dec, &dn) == 0);
    check(dn == size && memcmp(dec, data, size) == 0);
    /* The input as base32 text. */
    if (pkc_base32_decode((const char *)data, size, dec, sizeof dec, &dn) == 0) {
        check(dn <= pkc_base32_decoded_max(size));
        n = pkc_base32_encode(enc, sizeof enc, dec, dn);
        check(n == size);
        for (size_t i = 0; i < n; i++) {
            char c = (char)data[i];
            if (c >= 'a' && c <= 'z')
                c = (char)(c - 'a' + 'A');
            check(enc[i] == c);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    base32(data, size);
    pkc_invite a, b;
    memset(&a, 0xee, sizeof a);
    if (pkc_invite_parse((const char *)data, size, &a) != 0) {
        for (size_t i = 0; i < sizeof a; i++)
            check(((const uint8_t *)&a)[i] == 0xee);
        return 0;
    }
    char url[PKC_INVITE_URL_MAX + 1];
    check(pkc_invite_url(&a, NULL, url, sizeof url) > 0);
    check(pkc_invite_parse(url, strlen(url), &b) == 0);
    check(memcmp(&a, &b, sizeof a) == 0);
    return 0;
}
