/*
 * Fuzzes the lib0 decoders (varuint, varint, varstring, blocks).
 * The first byte picks the field kinds; every value decoded is re-encoded
 * and decoded again, which must give the same value (round trip), and a
 * canonical re-encoding must never be longer than the input it came from.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

static void roundtrip_check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t plan = data[0];
    pkc_reader r;
    pkc_reader_init(&r, data + 1, size - 1);
    pkc_buf out = PKC_BUF_INIT;
    for (int step = 0; pkc_reader_left(&r) > 0 && step < 64; step++) {
        size_t before = pkc_reader_offset(&r);
        int kind = (plan >> ((step % 4) * 2)) & 3;
        int rc;
        pkc_reader check;
        if (kind == 0) {
            uint64_t v, w;
            if ((rc = pkc_reader_varuint(&r, &v)) != 0)
                break;
            pkc_buf_reset(&out);
            pkc_buf_push_varuint(&out, v);
            roundtrip_check(out.len <= pkc_reader_offset(&r) - before);
            pkc_reader_init(&check, out.data, out.len);
            roundtrip_check(pkc_reader_varuint(&check, &w) == 0 && w == v);
        } else if (kind == 1) {
            int64_t v, w;
            int neg, neg2;
            if ((rc = pkc_reader_varint(&r, &v, &neg)) != 0)
                break;
            pkc_buf_reset(&out);
            pkc_buf_push_varint_sm(&out, neg, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
            roundtrip_check(out.len <= pkc_reader_offset(&r) - before);
            pkc_reader_init(&check, out.data, out.len);
            roundtrip_check(pkc_reader_varint(&check, &w, &neg2) == 0 && w == v && neg2 == neg);
        } else if (kind == 2) {
            const char *s, *t;
            size_t n, m;
            if ((rc = pkc_reader_varstring(&r, &s, &n)) != 0)
                break;
            pkc_buf_reset(&out);
            pkc_buf_push_varstring(&out, s, n);
            pkc_reader_init(&check, out.data, out.len);
            roundtrip_check(pkc_reader_varstring(&check, &t, &m) == 0 && m == n &&
                            memcmp(s, t, n) == 0);
        } else {
            pkc_reader sub;
            if ((rc = pkc_reader_block(&r, &sub)) != 0)
                break;
            roundtrip_check(sub.end <= r.end && sub.p >= r.start);
            uint64_t v;
            while (pkc_reader_left(&sub) && pkc_reader_varuint(&sub, &v) == 0)
                ;
        }
    }
    /* Failed reads leave the reader where it was. */
    size_t at = pkc_reader_offset(&r);
    uint64_t v;
    if (pkc_reader_varuint(&r, &v) != 0)
        roundtrip_check(pkc_reader_offset(&r) == at);
    pkc_buf_free(&out);
    return 0;
}
