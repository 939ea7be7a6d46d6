/* Fuzzes the STUN decoder. Whatever it accepts re-encodes (the attributes it
 * understands) into a message that decodes to the same fields; a message it
 * signs verifies. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtc/stun.h"

static void same(const pkc_stun_msg *a, const pkc_stun_msg *b)
{
    uint32_t keep = PKC_STUN_HAS_USERNAME | PKC_STUN_HAS_XOR_MAPPED | PKC_STUN_HAS_MAPPED |
                    PKC_STUN_HAS_PRIORITY | PKC_STUN_HAS_USE_CANDIDATE | PKC_STUN_HAS_CONTROLLING |
                    PKC_STUN_HAS_CONTROLLED | PKC_STUN_HAS_ERROR_CODE | PKC_STUN_HAS_SOFTWARE;
    if ((a->has & keep) != (b->has & keep) || a->type != b->type ||
        memcmp(a->txid, b->txid, sizeof a->txid) != 0)
        abort();
    if ((a->has & PKC_STUN_HAS_USERNAME) &&
        (a->username_len != b->username_len || memcmp(a->username, b->username, a->username_len)))
        abort();
    if ((a->has & PKC_STUN_HAS_XOR_MAPPED) && !pkc_addr_equal(&a->xor_mapped, &b->xor_mapped))
        abort();
    if ((a->has & PKC_STUN_HAS_MAPPED) && !pkc_addr_equal(&a->mapped, &b->mapped))
        abort();
    if (a->priority != b->priority || a->ice_controlling != b->ice_controlling ||
        a->ice_controlled != b->ice_controlled || a->error_code != b->error_code)
        abort();
    if (a->reason_len != b->reason_len || a->software_len != b->software_len)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pkc_stun_msg m;
    if (pkc_stun_decode(data, size, &m) != 0)
        return 0;
    (void)pkc_stun_check_integrity(data, &m, "fuzz-password-0123456789", 24);

    pkc_buf b = PKC_BUF_INIT;
    pkc_stun_begin(&b, m.type, m.txid);
    if (m.has & PKC_STUN_HAS_USERNAME)
        pkc_stun_add(&b, PKC_STUN_ATTR_USERNAME, m.username, m.username_len);
    if (m.has & PKC_STUN_HAS_SOFTWARE)
        pkc_stun_add(&b, PKC_STUN_ATTR_SOFTWARE, m.software, m.software_len);
    if (m.has & PKC_STUN_HAS_XOR_MAPPED)
        pkc_stun_add_address(&b, PKC_STUN_ATTR_XOR_MAPPED_ADDRESS, &m.xor_mapped, 1);
    if (m.has & PKC_STUN_HAS_MAPPED)
        pkc_stun_add_address(&b, PKC_STUN_ATTR_MAPPED_ADDRESS, &m.mapped, 0);
    if (m.has & PKC_STUN_HAS_PRIORITY)
        pkc_stun_add_u32(&b, PKC_STUN_ATTR_PRIORITY, m.priority);
    if (m.has & PKC_STUN_HAS_USE_CANDIDATE)
        pkc_stun_add(&b, PKC_STUN_ATTR_USE_CANDIDATE, NULL, 0);
    if (m.has & PKC_STUN_HAS_CONTROLLING)
        pkc_stun_add_u64(&b, PKC_STUN_ATTR_ICE_CONTROLLING, m.ice_controlling);
    if (m.has & PKC_STUN_HAS_CONTROLLED)
        pkc_stun_add_u64(&b, PKC_STUN_ATTR_ICE_CONTROLLED, m.ice_controlled);
    if (m.has & PKC_STUN_HAS_ERROR_CODE) {
        uint8_t v[4 + 763];
        v[0] = v[1] = 0;
        v[2] = (uint8_t)(m.error_code / 100);
        v[3] = (uint8_t)(m.error_code % 100);
        memcpy(v + 4, m.reason, m.reason_len);
        pkc_stun_add(&b, PKC_STUN_ATTR_ERROR_CODE, v, 4 + m.reason_len);
    }
    /* The re-encoding can outgrow the limit only by MI + FP (32 bytes). */
    if (pkc_stun_finish(&b, "key", 3, 1) == 0) {
        pkc_stun_msg m2;
        if (pkc_stun_decode(b.data, b.len, &m2) != 0)
            abort();
        same(&m, &m2);
        if (pkc_stun_check_integrity(b.data, &m2, "key", 3) != 0)
            abort();
        if (pkc_stun_check_integrity(b.data, &m2, "kez", 3) != PKC_ERR_INTEGRITY)
            abort();
    } else if (b.err != PKC_ERR_TOO_LARGE || size + 32 <= PKC_STUN_MAX_SIZE) {
        abort();
    }
    pkc_buf_free(&b);
    return 0;
}
