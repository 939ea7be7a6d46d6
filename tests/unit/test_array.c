/* Growable arrays (util/array.h). */
#include <stdlib.h>

#include "test.h"
#include "util/array.h"
#include "util/err.h"

TEST(array, push_doubles_from_eight)
{
    int *a = NULL;
    size_t n = 0, cap = 0;
    for (int i = 0; i < 100; i++) {
        CHECK_OK(PKC_ARRAY_PUSH(a, n, cap, i * 3));
        CHECK_EQ(n, (size_t)i + 1);
        CHECK(cap >= n);
        CHECK_EQ(cap, n <= 8 ? 8 : n <= 16 ? 16 : n <= 32 ? 32 : n <= 64 ? 64 : 128);
    }
    for (int i = 0; i < 100; i++)
        CHECK_EQ(a[i], i * 3);
    free(a);
}

TEST(array, push32)
{
    uint64_t *a = NULL;
    uint32_t n = 0, cap = 0;
    for (uint64_t i = 0; i < 1000; i++)
        CHECK_OK(PKC_ARRAY_PUSH32(a, n, cap, i << 40));
    CHECK_EQ(n, 1000);
    CHECK_EQ(cap, 1024);
    for (uint32_t i = 0; i < n; i++)
        CHECK_EQ_U64(a[i], (uint64_t)i << 40);
    free(a);
}

TEST(array, grow_to_what_is_needed)
{
    char *p = NULL;
    size_t cap = 0;
    CHECK_OK(pkc_array_grow((void **)&p, &cap, 0, 1));
    CHECK_EQ(cap, 0); /* nothing needed, nothing allocated */
    CHECK(p == NULL);
    CHECK_OK(pkc_array_grow((void **)&p, &cap, 100, 1));
    CHECK_EQ(cap, 128);
    memset(p, 'x', cap);
    CHECK_OK(pkc_array_grow((void **)&p, &cap, 128, 1)); /* enough: unchanged */
    CHECK_EQ(cap, 128);
    CHECK_OK(pkc_array_grow((void **)&p, &cap, 129, 1));
    CHECK_EQ(cap, 256);
    CHECK_EQ(p[127], 'x'); /* realloc kept the bytes */
    CHECK_OK(pkc_array_grow((void **)&p, &cap, 5000, 1));
    CHECK_EQ(cap, 8192);
    free(p);
}

TEST(array, overflow_is_nomem_with_nothing_changed)
{
    uint64_t *p = NULL;
    size_t cap = 0;
    CHECK_OK(pkc_array_grow((void **)&p, &cap, 3, sizeof *p));
    uint64_t *before = p;
    /* need * elem does not fit in a size_t */
    CHECK_ERR(pkc_array_grow((void **)&p, &cap, SIZE_MAX / 4, sizeof *p), PKC_ERR_NOMEM);
    CHECK(strcmp(pkc_errmsg(), "") != 0);
    CHECK(p == before);
    CHECK_EQ(cap, 8);
    CHECK_ERR(pkc_array_grow((void **)&p, &cap, SIZE_MAX / 2, 3), PKC_ERR_NOMEM);
    CHECK(p == before);
    CHECK_EQ(cap, 8);
    /* 32-bit capacities stop below 2^31 */
    uint32_t cap32 = 8;
    CHECK_ERR(pkc_array_grow32((void **)&p, &cap32, UINT32_MAX / 2 + 1, 1), PKC_ERR_NOMEM);
    CHECK(p == before);
    CHECK_EQ(cap32, 8);
    free(p);
}

TEST(array, push_failure_sets_the_message)
{
    /* A capacity already past what the element size allows: the push must
     * grow, cannot, and reports it. */
    uint64_t *a = NULL;
    size_t n = SIZE_MAX / 4, cap = SIZE_MAX / 4;
    pkc_error_code(PKC_ERR_MALFORMED); /* an earlier failure's message */
    CHECK_ERR(PKC_ARRAY_PUSH(a, n, cap, 1), PKC_ERR_NOMEM);
    CHECK_STR(pkc_errmsg(), pkc_strerror(PKC_ERR_NOMEM));
    CHECK_EQ_U64(n, SIZE_MAX / 4);
    CHECK(a == NULL);
}
