/*
 * test.h: pkc's unit-test harness.
 *
 *   #include "test.h"
 *   TEST(buf, push_pull) { CHECK_OK(f()); CHECK_EQ(x, 3); }
 *
 * Tests register themselves; `pkc-unit SUITE` runs a suite (CTest runs one
 * suite per test, named unit.SUITE after the file tests/unit/test_SUITE.c).
 * A failed CHECK returns from the current function and marks the test failed.
 */
#ifndef PKC_TEST_H
#define PKC_TEST_H

#include <stdint.h>
#include <string.h>

#include "pkc.h"

typedef struct pkc_test {
    const char *suite;
    const char *name;
    void (*fn)(void);
    struct pkc_test *next;
} pkc_test;

void pkc_test_register(pkc_test *t);
void pkc_test_fail(const char *file, int line, const char *fmt, ...) PKC_PRINTF(3, 4);
/* Nonzero once the running test has failed (for helpers' callers). */
int pkc_test_has_failed(void);
/* The identity of seed {seed_byte, 0, ...}, made once and kept for the
 * run; its peer id hash goes to `hash` (may be NULL). Aborts on failure. */
const pkc_identity *pkc_test_identity(uint8_t seed_byte, uint8_t hash[PKC_PEER_ID_HASH_BYTES]);

/* A fresh empty directory, removed with its content after the test. */
const char *pkc_test_tmpdir(void);
/* Bytes from hex (static buffer per call site is the caller's problem:
 * writes into `out`, returns the length; aborts the test on bad hex). */
size_t pkc_test_unhex(const char *hex, uint8_t *out, size_t out_size);

#define TEST(suite, name)                                                                          \
    static void test_##suite##_##name(void);                                                       \
    static pkc_test test_rec_##suite##_##name = {#suite, #name, test_##suite##_##name, NULL};      \
    __attribute__((constructor)) static void test_reg_##suite##_##name(void)                       \
    {                                                                                              \
        pkc_test_register(&test_rec_##suite##_##name);                                             \
    }                                                                                              \
    static void test_##suite##_##name(void)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            pkc_test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                                 \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) {                                                                            \
            pkc_test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_);           \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_U64(a, b)                                                                         \
    do {                                                                                           \
        unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);             \
        if (a_ != b_) {                                                                            \
            pkc_test_fail(__FILE__, __LINE__, "%s == %s: %llu != %llu", #a, #b, a_, b_);           \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_OK(expr)                                                                             \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != 0) {                                                                            \
            pkc_test_fail(__FILE__, __LINE__, "%s returned %s: %s", #expr, pkc_err_name(rc_),      \
                          pkc_errmsg());                                                           \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_ERR(expr, code)                                                                      \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ != (code)) {                                                                       \
            pkc_test_fail(__FILE__, __LINE__, "%s returned %s, expected %s (%s)", #expr,           \
                          pkc_err_name(rc_), pkc_err_name(code), pkc_errmsg());                    \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_MEM(a, b, n)                                                                         \
    do {                                                                                           \
        if (memcmp((a), (b), (n)) != 0) {                                                          \
            pkc_test_fail(__FILE__, __LINE__, "memcmp(%s, %s, %s) != 0", #a, #b, #n);              \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {                                     \
            pkc_test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,                \
                          a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                 \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Stop the current function if a helper it called failed. */
#define CHECK_HELPER()                                                                             \
    do {                                                                                           \
        if (pkc_test_has_failed())                                                                 \
            return;                                                                                \
    } while (0)

#endif
