/*
 * Fuzzes the value decoders of update content: lib0 Any (first byte even)
 * and JSON text (odd). Properties:
 *   - validating and building agree (yany_skip / yjson_valid accept exactly
 *     what yany_read / yjson_parse accept, and read as far);
 *   - writing is canonical: what is read and written reads back to a value
 *     that writes the same bytes again;
 *   - the canonical-form checks agree with writing: yany_canon says
 *     "canonical" exactly when writing the value gives back the bytes read,
 *     and yjson_canon returns JSON.stringify's text, or "canonical" when
 *     the input is that text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "crdt/val.h"
#include "util/buf.h"

static void must(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "yvalue: property violated: %s\n", what);
        abort();
    }
}

static void fuzz_any(const uint8_t *p, size_t n)
{
    pkc_reader r, s, c;
    pkc_reader_init(&r, p, n);
    s = c = r;
    yv v;
    int canonical = -1;
    int rc = yany_read(&r, &v), src = yany_skip(&s), crc = yany_canon(&c, &canonical);
    must((rc == 0) == (src == 0) && (rc == 0) == (crc == 0), "read, skip and canon agree");
    if (rc != 0) {
        must(r.p == p && s.p == p && c.p == p, "a failed read consumes nothing");
        return;
    }
    must(r.p == s.p && r.p == c.p, "read, skip and canon read as far");
    size_t used = (size_t)(r.p - p);
    pkc_buf w = PKC_BUF_INIT, w2 = PKC_BUF_INIT;
    must(yany_write(&w, &v) == 0, "a value read can be written");
    must(canonical == (w.len == used && memcmp(w.data, p, used) == 0),
         "canonical exactly when writing gives the same bytes");
    pkc_reader r2;
    pkc_reader_init(&r2, w.data, w.len);
    yv v2;
    must(yany_read(&r2, &v2) == 0 && pkc_reader_left(&r2) == 0, "what is written reads back");
    must(yany_write(&w2, &v2) == 0 && w2.len == w.len && memcmp(w.data, w2.data, w.len) == 0,
         "writing is a fixpoint");
    yv_clear(&v);
    yv_clear(&v2);
    pkc_buf_free(&w);
    pkc_buf_free(&w2);
}

static void fuzz_json(const char *s, size_t n)
{
    yv v;
    int rc = yjson_parse(s, n, &v);
    must((rc == 0) == (yjson_valid(s, n) == 0), "parse and validate agree");
    pkc_buf c = PKC_BUF_INIT;
    int canonical = -1;
    must((yjson_canon(s, n, &c, &canonical) == 0) == (rc == 0), "parse and canon agree");
    if (rc != 0) {
        pkc_buf_free(&c);
        return;
    }
    pkc_buf w = PKC_BUF_INIT, w2 = PKC_BUF_INIT;
    must(yjson_write(&w, &v) == 0, "a value parsed can be written");
    if (canonical)
        must(c.len == 0, "nothing written when canonical");
    else
        must(c.len == w.len && memcmp(c.data, w.data, w.len) == 0, "canon writes stringify's text");
    if (w.len == n && memcmp(w.data, s, n) == 0)
        must(canonical, "the stringified text is canonical");
    yv v2;
    must(yjson_parse((const char *)w.data, w.len, &v2) == 0, "what is written parses");
    must(yjson_write(&w2, &v2) == 0 && w2.len == w.len && memcmp(w.data, w2.data, w.len) == 0,
         "writing is a fixpoint");
    yv_clear(&v);
    yv_clear(&v2);
    pkc_buf_free(&c);
    pkc_buf_free(&w);
    pkc_buf_free(&w2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        fuzz_json((const char *)data + 1, size - 1);
    else
        fuzz_any(data + 1, size - 1);
    return 0;
}
