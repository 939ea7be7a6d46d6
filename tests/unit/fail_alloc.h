/*
 * fail_alloc.h: allocation-failure injection for the unit runner.
 *
 * pkc-unit is linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,
 * --wrap=strdup (tests/CMakeLists.txt): every such call made by code linked
 * into the runner - libpkc.a and the tests themselves - goes through the
 * wrappers in fail_alloc.c. Calls made inside shared libraries (OpenSSL,
 * usrsctp, libsodium, libuv, libc's own) are not wrapped: only pkc's
 * allocations can be made to fail. Unarmed, the wrappers pass every call
 * through (under ASan to ASan's allocator).
 *
 *   fail_alloc_nth(3);      the third allocation from now fails, once
 *   ... run the code ...
 *   fail_alloc_disarm();
 *   if (fail_alloc_failed() == 0) ... the code made fewer than 3 allocations
 *
 * A test that loops n = 1, 2, ... until the code under test completes
 * without reaching the armed allocation has failed every allocation point
 * once. Test code that must allocate while armed brackets it with
 * fail_alloc_pause()/fail_alloc_resume(); those allocations are neither
 * counted nor failed. With PKC_FAIL_ALLOC_TRACE set in the environment,
 * every injected failure prints the stack that asked for the memory.
 */
#ifndef PKC_TEST_FAIL_ALLOC_H
#define PKC_TEST_FAIL_ALLOC_H

/* The nth allocation from now (1: the next one) returns NULL; the others
 * succeed. Resets the counters. */
void fail_alloc_nth(unsigned long n);
/* Every allocation returns NULL until disarmed. Resets the counters. */
void fail_alloc_all(void);
/* Back to passing everything through (the counters are kept). */
void fail_alloc_disarm(void);
/* Allocations seen while armed, and how many of them were failed, since
 * the last fail_alloc_nth() or fail_alloc_all(). */
unsigned long fail_alloc_seen(void);
unsigned long fail_alloc_failed(void);
/* Nestable: allocations in between pass through uncounted. */
void fail_alloc_pause(void);
void fail_alloc_resume(void);

#endif
