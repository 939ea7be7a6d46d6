#include <stdlib.h>

#include "test.h"
#include "util/buf.h"

/* Encodes with `push`, compares with `hex`, and decodes back. */
static void check_varuint(uint64_t v, const char *hex)
{
    uint8_t want[16];
    size_t n = pkc_test_unhex(hex, want, sizeof want);
    pkc_buf b = PKC_BUF_INIT;
    CHECK_OK(pkc_buf_push_varuint(&b, v));
    CHECK_EQ(b.len, n);
    CHECK_MEM(b.data, want, n);
    CHECK_EQ(pkc_varuint_size(v), n);
    pkc_reader r;
    uint64_t got;
    pkc_reader_init(&r, b.data, b.len);
    CHECK_OK(pkc_reader_varuint(&r, &got));
    CHECK_EQ_U64(got, v);
    CHECK_OK(pkc_reader_finish(&r));
    pkc_buf_free(&b);
}

static void check_varint(int64_t v, int negzero, const char *hex)
{
    uint8_t want[16];
    size_t n = pkc_test_unhex(hex, want, sizeof want);
    pkc_buf b = PKC_BUF_INIT;
    if (negzero)
        CHECK_OK(pkc_buf_push_varint_sm(&b, 1, 0));
    else
        CHECK_OK(pkc_buf_push_varint(&b, v));
    CHECK_EQ(b.len, n);
    CHECK_MEM(b.data, want, n);
    pkc_reader r;
    int64_t got;
    int neg = -1;
    pkc_reader_init(&r, b.data, b.len);
    CHECK_OK(pkc_reader_varint(&r, &got, &neg));
    CHECK(got == v);
    CHECK_EQ(neg, v < 0 || negzero);
    CHECK_OK(pkc_reader_finish(&r));
    pkc_buf_free(&b);
}

TEST(buf, varuint_known_encodings)
{
    check_varuint(0, "00");
    CHECK_HELPER();
    check_varuint(1, "01");
    check_varuint(127, "7f");
    check_varuint(128, "8001");
    check_varuint(300, "ac02");
    check_varuint(16383, "ff7f");
    check_varuint(16384, "808001");
    check_varuint(0xffffffffu, "ffffffff0f");
    check_varuint(9007199254740991u, "ffffffffffffff0f"); /* 2^53 - 1 */
    check_varuint(UINT64_MAX, "ffffffffffffffffff01");
    CHECK_HELPER();
}

TEST(buf, varint_known_encodings)
{
    check_varint(0, 0, "00");
    check_varint(0, 1, "40"); /* negative zero, as lib0 writes -0 */
    check_varint(1, 0, "01");
    check_varint(-1, 0, "41");
    check_varint(63, 0, "3f");
    check_varint(-63, 0, "7f");
    check_varint(64, 0, "8001");
    check_varint(-64, 0, "c001");
    check_varint(8191, 0, "bf7f");
    check_varint(8192, 0, "808001");
    check_varint(INT64_MAX, 0, "bfffffffffffffffff01");
    check_varint(INT64_MIN, 0, "c0808080808080808002");
    CHECK_HELPER();
}

TEST(buf, varuint_overflow_and_overlong)
{
    pkc_reader r;
    uint64_t v;
    /* 2^64 */
    static const uint8_t too_big[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02};
    pkc_reader_init(&r, too_big, sizeof too_big);
    CHECK_ERR(pkc_reader_varuint(&r, &v), PKC_ERR_RANGE);
    CHECK_EQ(pkc_reader_offset(&r), 0);
    /* Non-minimal but in range: accepted, as lib0 does. */
    static const uint8_t padded[] = {0x81, 0x80, 0x00};
    pkc_reader_init(&r, padded, sizeof padded);
    CHECK_OK(pkc_reader_varuint(&r, &v));
    CHECK_EQ(v, 1);
    /* Endless continuation bytes are cut off. */
    uint8_t endless[64];
    memset(endless, 0x80, sizeof endless);
    pkc_reader_init(&r, endless, sizeof endless);
    CHECK_ERR(pkc_reader_varuint(&r, &v), PKC_ERR_RANGE);
    /* varint magnitude beyond int64. */
    static const uint8_t vi[] = {0xc1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02};
    int64_t iv;
    pkc_reader_init(&r, vi, sizeof vi);
    CHECK_ERR(pkc_reader_varint(&r, &iv, NULL), PKC_ERR_RANGE);
    CHECK_EQ(pkc_reader_offset(&r), 0);
    CHECK(strstr(pkc_errmsg(), "offset 0") != NULL);
}

TEST(buf, varuint_max)
{
    pkc_reader r;
    uint64_t v = 77;
    static const uint8_t in[] = {0xac, 0x02};
    pkc_reader_init(&r, in, sizeof in);
    CHECK_ERR(pkc_reader_varuint_max(&r, 299, &v), PKC_ERR_RANGE);
    CHECK_EQ(v, 77);
    CHECK_EQ(pkc_reader_offset(&r), 0);
    CHECK_OK(pkc_reader_varuint_max(&r, 300, &v));
    CHECK_EQ(v, 300);
}

/* A message with every kind of field, for truncation tests. */
static void build_message(pkc_buf *b)
{
    pkc_buf_push_u8(b, 0xab);
    pkc_buf_push_u16be(b, 0x1234);
    pkc_buf_push_u32be(b, 0xdeadbeef);
    pkc_buf_push_u64be(b, 0x0102030405060708u);
    pkc_buf_push_varuint(b, 1u << 20);
    pkc_buf_push_varint(b, -123456);
    pkc_buf_push_cstring(b, "h\xc3\xa9llo \xf0\x9f\x98\x80");
    pkc_buf_push_varbytes(b, "\x00\x01\x02", 3);
    size_t mark = pkc_buf_block_begin(b);
    pkc_buf_push_varuint(b, 7);
    pkc_buf_push_cstring(b, "inner");
    pkc_buf_block_end(b, mark);
}

static int parse_message(pkc_reader *r)
{
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64, vu;
    int64_t vi;
    const char *s;
    const uint8_t *p;
    size_t n;
    pkc_reader sub;
    int rc;
    if ((rc = pkc_reader_u8(r, &u8)) || (rc = pkc_reader_u16be(r, &u16)) ||
        (rc = pkc_reader_u32be(r, &u32)) || (rc = pkc_reader_u64be(r, &u64)) ||
        (rc = pkc_reader_varuint(r, &vu)) || (rc = pkc_reader_varint(r, &vi, NULL)) ||
        (rc = pkc_reader_varstring(r, &s, &n)) || (rc = pkc_reader_varbytes(r, &p, &n)) ||
        (rc = pkc_reader_block(r, &sub)))
        return rc;
    if (u8 != 0xab || u16 != 0x1234 || u32 != 0xdeadbeef || u64 != 0x0102030405060708u ||
        vu != 1u << 20 || vi != -123456)
        return PKC_ERR_INTERNAL;
    if ((rc = pkc_reader_varuint(&sub, &vu)) || (rc = pkc_reader_varstring(&sub, &s, &n)) ||
        (rc = pkc_reader_finish(&sub)))
        return rc;
    if (vu != 7 || n != 5 || memcmp(s, "inner", 5) != 0)
        return PKC_ERR_INTERNAL;
    return pkc_reader_finish(r);
}

TEST(buf, round_trip_every_field)
{
    pkc_buf b = PKC_BUF_INIT;
    build_message(&b);
    CHECK_OK(b.err);
    pkc_reader r;
    pkc_reader_init(&r, b.data, b.len);
    CHECK_OK(parse_message(&r));
    pkc_buf_free(&b);
}

TEST(buf, truncation_at_every_offset_is_an_error)
{
    pkc_buf b = PKC_BUF_INIT;
    build_message(&b);
    for (size_t cut = 0; cut < b.len; cut++) {
        /* A heap copy of exactly `cut` bytes, so ASan catches any overread. */
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, b.data, cut);
        pkc_reader r;
        pkc_reader_init(&r, copy, cut);
        int rc = parse_message(&r);
        free(copy);
        CHECK(rc == PKC_ERR_TRUNCATED);
    }
    pkc_buf_free(&b);
}

TEST(buf, trailing_bytes_are_reported)
{
    pkc_buf b = PKC_BUF_INIT;
    build_message(&b);
    pkc_buf_push_u8(&b, 0);
    pkc_reader r;
    pkc_reader_init(&r, b.data, b.len);
    CHECK_ERR(parse_message(&r), PKC_ERR_MALFORMED);
    CHECK(strstr(pkc_errmsg(), "trailing") != NULL);
    pkc_buf_free(&b);
}

TEST(buf, failed_reads_do_not_advance)
{
    static const uint8_t in[] = {0x05, 'a', 'b'}; /* claims 5 bytes, has 2 */
    pkc_reader r;
    const uint8_t *p = NULL;
    size_t n = 99;
    pkc_reader_init(&r, in, sizeof in);
    CHECK_ERR(pkc_reader_varbytes(&r, &p, &n), PKC_ERR_TRUNCATED);
    CHECK_EQ(pkc_reader_offset(&r), 0);
    CHECK(p == NULL);
    CHECK_EQ(n, 99);
    uint32_t v;
    CHECK_ERR(pkc_reader_u32be(&r, &v), PKC_ERR_TRUNCATED);
    CHECK_EQ(pkc_reader_offset(&r), 0);
    /* A huge announced length fails before anything else. */
    static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 'x'};
    pkc_reader_init(&r, huge, sizeof huge);
    CHECK_ERR(pkc_reader_varbytes(&r, &p, &n), PKC_ERR_TRUNCATED);
}

TEST(buf, invalid_utf8_strings_are_rejected)
{
    static const uint8_t bad[][4] = {
        {2, 0xc0, 0x80}, /* overlong NUL */
        {3, 0xed, 0xa0, 0x80}, /* surrogate */
        {1, 0x80},       /* lone continuation */
        {2, 0xe2, 0x82}, /* truncated sequence */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pkc_reader r;
        const char *s;
        size_t n;
        pkc_reader_init(&r, bad[i], (size_t)bad[i][0] + 1);
        CHECK_ERR(pkc_reader_varstring(&r, &s, &n), PKC_ERR_MALFORMED);
        CHECK_EQ(pkc_reader_offset(&r), 0);
    }
}

TEST(buf, blocks_with_lengths_across_varuint_sizes)
{
    static const size_t sizes[] = {0, 1, 127, 128, 16383, 16384, 70000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        pkc_buf b = PKC_BUF_INIT;
        pkc_buf_push_u8(&b, 0xee);
        size_t mark = pkc_buf_block_begin(&b);
        for (size_t k = 0; k < sizes[i]; k++)
            pkc_buf_push_u8(&b, (uint8_t)k);
        CHECK_OK(pkc_buf_block_end(&b, mark));
        pkc_buf_push_u8(&b, 0xff);
        CHECK_EQ(b.len, 2 + pkc_varuint_size(sizes[i]) + sizes[i]);
        pkc_reader r, sub;
        uint8_t x;
        pkc_reader_init(&r, b.data, b.len);
        CHECK_OK(pkc_reader_u8(&r, &x));
        CHECK_OK(pkc_reader_block(&r, &sub));
        CHECK_EQ(pkc_reader_left(&sub), sizes[i]);
        for (size_t k = 0; k < sizes[i]; k++) {
            CHECK_OK(pkc_reader_u8(&sub, &x));
            CHECK_EQ(x, (uint8_t)k);
        }
        CHECK_OK(pkc_reader_u8(&r, &x));
        CHECK_EQ(x, 0xff);
        pkc_buf_free(&b);
    }
}

TEST(buf, limit_errors_are_sticky)
{
    pkc_buf b;
    pkc_buf_init_limit(&b, 8);
    CHECK_OK(pkc_buf_push_u64be(&b, 1));
    CHECK_ERR(pkc_buf_push_u8(&b, 1), PKC_ERR_TOO_LARGE);
    CHECK_EQ(b.len, 8);
    /* Later pushes fail the same way even if they would fit elsewhere. */
    CHECK_ERR(pkc_buf_push(&b, "", 0), PKC_ERR_TOO_LARGE);
    CHECK_ERR(b.err, PKC_ERR_TOO_LARGE);
    pkc_buf_reset(&b);
    CHECK_EQ(b.len, 0);
    CHECK_OK(pkc_buf_push_u32be(&b, 7));
    /* A push whose size would overflow size_t arithmetic. */
    CHECK_ERR(pkc_buf_reserve(&b, SIZE_MAX), PKC_ERR_TOO_LARGE);
    pkc_buf_free(&b);
}

TEST(buf, steal_hands_over_memory)
{
    pkc_buf b = PKC_BUF_INIT;
    size_t n = 1;
    CHECK(pkc_buf_steal(&b, &n) == NULL);
    CHECK_EQ(n, 0);
    pkc_buf_push(&b, "abc", 3);
    uint8_t *p = pkc_buf_steal(&b, &n);
    CHECK(p != NULL);
    CHECK_EQ(n, 3);
    CHECK_MEM(p, "abc", 3);
    CHECK(b.data == NULL && b.len == 0);
    free(p);
}

TEST(buf, empty_reader)
{
    pkc_reader r;
    uint8_t v;
    pkc_reader_init(&r, NULL, 0);
    CHECK_EQ(pkc_reader_left(&r), 0);
    CHECK_ERR(pkc_reader_u8(&r, &v), PKC_ERR_TRUNCATED);
    CHECK_OK(pkc_reader_finish(&r));
}
