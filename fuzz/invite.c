/*
 * Fuzzes the invitation decoder (src/discovery/invite.c) on bytes.
 * Properties:
 *   - a failure leaves the output untouched;
 *   - what the syntax accepts re-encodes to exactly the same bytes (one
 *     encoding per invitation, so a signature covers one reading);
 *   - the signed decoder accepts only what the syntax accepts, with the same
 *     result;
 *   - the time and answer checks take any decoded value without harm.
 * The seed corpus holds the valid offers and answers of
 * tests/vectors/invite.json, so the signature path is reached too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/invite.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pkc_invite a, b;
    memset(&a, 0xee, sizeof a);
    int rc = pkc_invite_decode_unsigned(data, size, &a);
    if (rc != 0) {
        for (size_t i = 0; i < sizeof a; i++)
            check(((const uint8_t *)&a)[i] == 0xee);
        check(pkc_invite_decode(data, size, &b) != 0);
        return 0;
    }
    check(size <= PKC_INVITE_BYTES_MAX);
    check(a.kind == PKC_INVITE_OFFER || a.kind == PKC_INVITE_ANSWER);
    check(a.created_ms < a.expires_ms);
    check(a.dial.n_addresses >= 1 && a.dial.n_addresses <= PKC_INVITE_ADDRESSES_MAX);
    pkc_buf buf = PKC_BUF_INIT;
    check(pkc_invite_encode(&a, &buf) == 0);
    check(buf.len == size && memcmp(buf.data, data, size) == 0);
    pkc_buf_free(&buf);
    char code[PKC_INVITE_CODE_MAX + 1];
    check(pkc_invite_code(&a, code, sizeof code) > 0);
    if (pkc_invite_decode(data, size, &b) == 0) {
        check(memcmp(&a, &b, sizeof a) == 0);
        pkc_invite c;
        check(pkc_invite_parse(code, strlen(code), &c) == 0);
        check(memcmp(&a, &c, sizeof a) == 0);
    }
    (void)pkc_invite_check_time(&a, a.created_ms, PKC_INVITE_SKEW_MS);
    (void)pkc_invite_check_time(&a, UINT64_MAX / 2, UINT64_MAX);
    if (a.kind == PKC_INVITE_ANSWER) {
        pkc_invite offer;
        memset(&offer, 0, sizeof offer);
        offer.kind = PKC_INVITE_OFFER;
        memcpy(offer.id, a.id, sizeof offer.id);
        (void)pkc_invite_answer_check(&a, &offer);
    }
    return 0;
}
