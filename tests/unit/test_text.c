#include "test.h"
#include "util/rng.h"
#include "util/text.h"

static void b64_round(const char *in, const char *want)
{
    char out[64];
    size_t n = pkc_base64url_encode(out, sizeof out, in, strlen(in));
    CHECK_STR(out, want);
    CHECK_EQ(n, strlen(want));
    CHECK_EQ(pkc_base64url_encoded_len(strlen(in)), n);
    uint8_t dec[64];
    size_t dn;
    CHECK_OK(pkc_base64url_decode(out, n, dec, sizeof dec, &dn));
    CHECK_EQ(dn, strlen(in));
    CHECK_MEM(dec, in, dn);
}

TEST(text, base64url_rfc4648_vectors)
{
    b64_round("", "");
    b64_round("f", "Zg");
    b64_round("fo", "Zm8");
    b64_round("foo", "Zm9v");
    b64_round("foob", "Zm9vYg");
    b64_round("fooba", "Zm9vYmE");
    b64_round("foobar", "Zm9vYmFy");
    b64_round("\xfb\xff", "-_8");
    CHECK_HELPER();
}

TEST(text, base64url_accepts_correct_padding_only)
{
    uint8_t out[8];
    size_t n;
    CHECK_OK(pkc_base64url_decode("Zg==", 4, out, sizeof out, &n));
    CHECK_EQ(n, 1);
    CHECK_OK(pkc_base64url_decode("Zm8=", 4, out, sizeof out, &n));
    CHECK_EQ(n, 2);
    CHECK_ERR(pkc_base64url_decode("Zg=", 3, out, sizeof out, &n), PKC_ERR_MALFORMED);
    CHECK_ERR(pkc_base64url_decode("Zm8==", 5, out, sizeof out, &n), PKC_ERR_MALFORMED);
    CHECK_ERR(pkc_base64url_decode("Zm9v=", 5, out, sizeof out, &n), PKC_ERR_MALFORMED);
    CHECK_ERR(pkc_base64url_decode("====", 4, out, sizeof out, &n), PKC_ERR_MALFORMED);
}

TEST(text, base64url_rejects_bad_input_without_writing)
{
    uint8_t out[8] = {0x55, 0x55};
    size_t n = 77;
    CHECK_ERR(pkc_base64url_decode("Z", 1, out, sizeof out, &n), PKC_ERR_MALFORMED);
    CHECK_ERR(pkc_base64url_decode("Zh", 2, out, sizeof out, &n), PKC_ERR_MALFORMED); /* bits */
    CHECK_ERR(pkc_base64url_decode("Zm+v", 4, out, sizeof out, &n), PKC_ERR_MALFORMED);
    CHECK_ERR(pkc_base64url_decode("Zm/v", 4, out, sizeof out, &n), PKC_ERR_MALFORMED);
    CHECK_ERR(pkc_base64url_decode("Zm9 ", 4, out, sizeof out, &n), PKC_ERR_MALFORMED);
    CHECK_ERR(pkc_base64url_decode("Zm9vYmFy", 8, out, 5, &n), PKC_ERR_TOO_LARGE);
    CHECK_EQ(out[0], 0x55);
    CHECK_EQ(n, 77);
}

TEST(text, base64url_random_round_trips)
{
    pkc_seeded_rng rng;
    pkc_seeded_rng_init(&rng, 1);
    for (int i = 0; i < 500; i++) {
        uint8_t in[100], dec[100];
        char enc[200];
        size_t len = pkc_rng_below(&rng.rng, sizeof in + 1), n;
        pkc_rng_fill(&rng.rng, in, len);
        size_t e = pkc_base64url_encode(enc, sizeof enc, in, len);
        CHECK(e <= pkc_base64url_decoded_max(e) * 4 / 3 + 4);
        CHECK(pkc_base64url_decoded_max(e) >= len);
        CHECK_OK(pkc_base64url_decode(enc, e, dec, sizeof dec, &n));
        CHECK_EQ(n, len);
        CHECK_MEM(dec, in, len);
    }
}

TEST(text, base64url_encode_refuses_small_output)
{
    char out[4];
    CHECK_EQ(pkc_base64url_encode(out, sizeof out, "foo", 3), 0);
    CHECK_STR(out, "");
}

TEST(text, hex)
{
    char out[9];
    pkc_hex_encode(out, "\x00\x7f\xab\xff", 4);
    CHECK_STR(out, "007fabff");
    uint8_t dec[4];
    size_t n;
    CHECK_OK(pkc_hex_decode("007FabFF", 8, dec, sizeof dec, &n));
    CHECK_EQ(n, 4);
    CHECK_MEM(dec, "\x00\x7f\xab\xff", 4);
    CHECK_ERR(pkc_hex_decode("abc", 3, dec, sizeof dec, &n), PKC_ERR_MALFORMED);
    CHECK_ERR(pkc_hex_decode("zz", 2, dec, sizeof dec, &n), PKC_ERR_MALFORMED);
    CHECK_ERR(pkc_hex_decode("0011223344", 10, dec, sizeof dec, &n), PKC_ERR_TOO_LARGE);
}

TEST(text, hex_digit_value)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        CHECK_EQ(pkc_hex_digit_value(digits[i]), i);
        if (i >= 10)
            CHECK_EQ(pkc_hex_digit_value((char)(digits[i] - 'a' + 'A')), i);
    }
    /* every other byte, the neighbours of the ranges included */
    int others = 0;
    for (int c = -128; c < 128; c++) {
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))
            continue;
        CHECK_EQ(pkc_hex_digit_value((char)c), -1);
        others++;
    }
    CHECK_EQ(others, 256 - 22);
}

TEST(text, js_index_parse)
{
    static const struct {
        const char *s;
        int is_index;
        uint32_t v;
    } cases[] = {
        {"0", 1, 0},
        {"7", 1, 7},
        {"10", 1, 10},
        {"4294967294", 1, 4294967294u}, /* 2^32 - 2, the largest index */
        {"4294967295", 0, 0},           /* 2^32 - 1 is not an index */
        {"9999999999", 0, 0},
        {"10000000000", 0, 0}, /* 11 digits */
        {"", 0, 0},
        {"00", 0, 0}, /* not canonical */
        {"01", 0, 0},
        {"-1", 0, 0},
        {"+1", 0, 0},
        {"1.0", 0, 0},
        {"1e3", 0, 0},
        {" 1", 0, 0},
        {"1 ", 0, 0},
        {"a", 0, 0},
        {"12a", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t v = 12345;
        int r = pkc_js_index_parse(cases[i].s, strlen(cases[i].s), &v);
        if (r != cases[i].is_index) {
            pkc_test_fail(__FILE__, __LINE__, "\"%s\": %d", cases[i].s, r);
            return;
        }
        CHECK_EQ_U64(v, cases[i].is_index ? cases[i].v : 12345); /* untouched when not */
    }
    /* the length is what counts, not a NUL */
    uint32_t v;
    CHECK_EQ(pkc_js_index_parse("123", 2, &v), 1);
    CHECK_EQ(v, 12);
    CHECK_EQ(pkc_js_index_parse("1\0", 2, &v), 0);
}

TEST(text, utf8_validation)
{
    static const struct {
        const char *s;
        size_t len;
        int valid;
        size_t bad;
    } cases[] = {
        {"", 0, 1, 0},
        {"ascii", 5, 1, 0},
        {"\xc3\xa9", 2, 1, 0},              /* é */
        {"\xe2\x82\xac", 3, 1, 0},          /* € */
        {"\xf0\x9f\x98\x80", 4, 1, 0},      /* 😀 */
        {"\xf4\x8f\xbf\xbf", 4, 1, 0},      /* U+10FFFF */
        {"a\xc0\x80", 3, 0, 1},             /* overlong */
        {"ab\xe0\x80\xaf", 5, 0, 2},        /* overlong 3-byte */
        {"\xed\xa0\x80", 3, 0, 0},          /* surrogate D800 */
        {"\xf4\x90\x80\x80", 4, 0, 0},      /* above U+10FFFF */
        {"x\x80", 2, 0, 1},                 /* lone continuation */
        {"\xe2\x82", 2, 0, 0},              /* truncated */
        {"\xff", 1, 0, 0},
        {"\xc3\x28", 2, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t bad = 999;
        int v = pkc_utf8_valid((const uint8_t *)cases[i].s, cases[i].len, &bad);
        CHECK_EQ(v, cases[i].valid);
        if (!v)
            CHECK_EQ(bad, cases[i].bad);
    }
}

TEST(text, utf16_length_counts_surrogate_pairs_as_two)
{
    const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"; /* a é € 😀 */
    CHECK_EQ(pkc_utf16_len((const uint8_t *)s, strlen(s)), 5);
    CHECK_EQ(pkc_utf16_len((const uint8_t *)"", 0), 0);
}

TEST(text, base32_rfc4648_vectors)
{
    static const char *const v[][2] = {{"", ""},          {"f", "MY"},
                                       {"fo", "MZXQ"},    {"foo", "MZXW6"},
                                       {"foob", "MZXW6YQ"}, {"fooba", "MZXW6YTB"},
                                       {"foobar", "MZXW6YTBOI"}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char out[32];
        size_t n = pkc_base32_encode(out, sizeof out, v[i][0], strlen(v[i][0]));
        CHECK_STR(out, v[i][1]);
        CHECK_EQ(n, strlen(v[i][1]));
        CHECK_EQ(pkc_base32_encoded_len(strlen(v[i][0])), n);
        uint8_t dec[32];
        size_t dn = 99;
        CHECK_OK(pkc_base32_decode(out, n, dec, sizeof dec, &dn));
        CHECK_EQ(dn, strlen(v[i][0]));
        CHECK_MEM(dec, v[i][0], dn);
        CHECK(pkc_base32_decoded_max(n) >= dn);
    }
}

TEST(text, base32_round_trips_every_length_and_accepts_lower_case)
{
    uint8_t in[64], dec[64];
    char out[128];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(i * 37 + 11);
    for (size_t n = 0; n <= sizeof in; n++) {
        size_t len = pkc_base32_encode(out, sizeof out, in, n);
        CHECK_EQ(len, pkc_base32_encoded_len(n));
        for (size_t k = 0; k < len; k++)
            if (out[k] >= 'A' && out[k] <= 'Z')
                out[k] = (char)(out[k] - 'A' + 'a');
        size_t dn;
        CHECK_OK(pkc_base32_decode(out, len, dec, sizeof dec, &dn));
        CHECK_EQ(dn, n);
        CHECK_MEM(dec, in, n);
    }
}

TEST(text, base32_refuses_what_is_not_the_one_encoding)
{
    uint8_t out[16];
    size_t n;
    /* Lengths 1, 3 and 6 modulo 8 hold no whole number of bytes. */
    CHECK_ERR(pkc_base32_decode("M", 1, out, sizeof out, &n), PKC_ERR_MALFORMED);
    CHECK_ERR(pkc_base32_decode("MZX", 3, out, sizeof out, &n), PKC_ERR_MALFORMED);
    CHECK_ERR(pkc_base32_decode("MZXW6Y", 6, out, sizeof out, &n), PKC_ERR_MALFORMED);
    /* Padding, digits 0, 1, 8, 9 and anything else. */
    CHECK_ERR(pkc_base32_decode("MY======", 8, out, sizeof out, &n), PKC_ERR_MALFORMED);
    CHECK_ERR(pkc_base32_decode("M1", 2, out, sizeof out, &n), PKC_ERR_MALFORMED);
    CHECK(strstr(pkc_errmsg(), "offset 1") != NULL);
    CHECK_ERR(pkc_base32_decode("M8", 2, out, sizeof out, &n), PKC_ERR_MALFORMED);
    CHECK_ERR(pkc_base32_decode("M-", 2, out, sizeof out, &n), PKC_ERR_MALFORMED);
    /* "MZ" has unused bits set: "f" is only "MY". */
    CHECK_ERR(pkc_base32_decode("MZ", 2, out, sizeof out, &n), PKC_ERR_MALFORMED);
    CHECK(strstr(pkc_errmsg(), "unused bits") != NULL);
    CHECK_ERR(pkc_base32_decode("MZXW6YTBOJ", 10, out, sizeof out, &n), PKC_ERR_MALFORMED);
    /* Too small a buffer. */
    CHECK_ERR(pkc_base32_decode("MZXW6YTBOI", 10, out, 5, &n), PKC_ERR_TOO_LARGE);
    char small[4];
    CHECK_EQ(pkc_base32_encode(small, sizeof small, "foo", 3), 0);
    CHECK_STR(small, "");
}
