/* fail_alloc.c: the allocation wrappers behind fail_alloc.h. The linker
 * sends the runner's calls of malloc, calloc, realloc and strdup here
 * (--wrap); __real_X is the library's X. */
#define _POSIX_C_SOURCE 200809L
#include "fail_alloc.h"

#include <errno.h>
#include <execinfo.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_SANITIZER_TRACE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_SANITIZER_TRACE 1
#endif
#endif
#ifdef HAVE_SANITIZER_TRACE
void __sanitizer_print_stack_trace(void);
#endif

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

enum { OFF, NTH, ALL };

/* Atomic: usrsctp may call pkc's output callback from its own thread. */
static atomic_int mode = OFF;
static atomic_ulong target, seen, failed;
static _Thread_local int paused;
static int trace; /* PKC_FAIL_ALLOC_TRACE set: print where each failure is injected */

static void arm(int m)
{
    atomic_store(&seen, 0);
    atomic_store(&failed, 0);
    trace = getenv("PKC_FAIL_ALLOC_TRACE") != NULL;
    atomic_store(&mode, m);
}

void fail_alloc_nth(unsigned long n)
{
    atomic_store(&target, n);
    arm(NTH);
}

void fail_alloc_all(void)
{
    arm(ALL);
}

void fail_alloc_disarm(void)
{
    atomic_store(&mode, OFF);
}

unsigned long fail_alloc_seen(void)
{
    return atomic_load(&seen);
}

unsigned long fail_alloc_failed(void)
{
    return atomic_load(&failed);
}

void fail_alloc_pause(void)
{
    paused++;
}

void fail_alloc_resume(void)
{
    paused--;
}

/* Whether this allocation is to fail. */
static int should_fail(void)
{
    int m = atomic_load(&mode);
    if (m == OFF || paused)
        return 0;
    unsigned long k = atomic_fetch_add(&seen, 1) + 1;
    if (m == ALL || k == atomic_load(&target)) {
        atomic_fetch_add(&failed, 1);
        if (trace) {
            fprintf(stderr, "fail_alloc: allocation %lu fails here:\n", k);
#ifdef HAVE_SANITIZER_TRACE
            __sanitizer_print_stack_trace();
#else
            void *frames[32];
            backtrace_symbols_fd(frames, backtrace(frames, 32), 2);
#endif
        }
        errno = ENOMEM;
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n)
{
    return should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return should_fail() ? NULL : __real_strdup(s);
}
