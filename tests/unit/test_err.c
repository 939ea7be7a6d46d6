#include "test.h"
#include "util/err.h"

TEST(err, codes_are_distinct_negative_and_named)
{
    static const int codes[] = {
#define X_(name, value, text) PKC_ERR_##name,
        PKC_ERRNO_MAP(X_)
#undef X_
    };
    size_t n = sizeof codes / sizeof codes[0];
    CHECK(n > 10);
    for (size_t i = 0; i < n; i++) {
        CHECK(codes[i] < 0);
        CHECK(strcmp(pkc_strerror(codes[i]), "unknown error") != 0);
        CHECK(strncmp(pkc_err_name(codes[i]), "PKC_ERR_", 8) == 0);
        CHECK(strcmp(pkc_err_name(codes[i]), "PKC_ERR_UNKNOWN") != 0);
        for (size_t j = i + 1; j < n; j++)
            CHECK(codes[i] != codes[j]);
    }
    CHECK_STR(pkc_strerror(PKC_OK), "success");
    CHECK_STR(pkc_err_name(PKC_OK), "PKC_OK");
    CHECK_STR(pkc_strerror(-9999), "unknown error");
    CHECK_STR(pkc_err_name(12345), "PKC_ERR_UNKNOWN");
    CHECK_STR(pkc_err_name(PKC_ERR_NOMEM), "PKC_ERR_NOMEM");
}

TEST(err, message_is_recorded_and_wrapped)
{
    CHECK_EQ(pkc_error(PKC_ERR_MALFORMED, "offset %d: bad", 7), PKC_ERR_MALFORMED);
    CHECK_STR(pkc_errmsg(), "offset 7: bad");
    CHECK_EQ(pkc_error_wrap(PKC_ERR_MALFORMED, "file %s", "x"), PKC_ERR_MALFORMED);
    CHECK_STR(pkc_errmsg(), "file x: offset 7: bad");
    CHECK_EQ(pkc_error_code(PKC_ERR_NOMEM), PKC_ERR_NOMEM);
    CHECK_STR(pkc_errmsg(), "out of memory");
}

TEST(err, long_messages_are_truncated_not_overflowed)
{
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    pkc_error(PKC_ERR_IO, "%s", big);
    CHECK(strlen(pkc_errmsg()) < sizeof big);
    pkc_error_wrap(PKC_ERR_IO, "%s", big);
    CHECK(strlen(pkc_errmsg()) < sizeof big);
}

TEST(err, version)
{
    CHECK_STR(pkc_version(), PKC_VERSION);
}
