/* fake_time.c: the fake clock of fake_time.h and the runner's
 * gettimeofday(), which the shared libraries' calls bind to. */
#define _GNU_SOURCE
#include "fake_time.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

/* Atomic: usrsctp's iterator thread may read the time too. */
static _Atomic uint64_t fake_us; /* the fake clock (monotonic) */
static int64_t wall_minus_us;    /* gettimeofday() = fake_us + this, while active */
static int started;
static atomic_int active;

static uint64_t real_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t fake_time_start(void)
{
    if (!started) {
        fake_us = real_us(CLOCK_MONOTONIC);
        wall_minus_us = (int64_t)real_us(CLOCK_REALTIME) - (int64_t)fake_us;
        started = 1;
    }
    active = 1;
    return fake_us;
}

void fake_time_stop(void)
{
    active = 0;
}

uint64_t fake_time_now(void)
{
    return fake_us;
}

void fake_time_set(uint64_t us)
{
    if (us > fake_us)
        fake_us = us;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    uint64_t us = active ? (uint64_t)((int64_t)fake_us + wall_minus_us) : real_us(CLOCK_REALTIME);
    tv->tv_sec = (time_t)(us / 1000000u);
    tv->tv_usec = (suseconds_t)(us % 1000000u);
    if (tz)
        memset(tz, 0, sizeof(struct timezone));
    return 0;
}
