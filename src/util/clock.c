/* clock.c: the system clock and a manual clock. */
#define _POSIX_C_SOURCE 200809L
#include "util/clock.h"

#include <time.h>

static uint64_t system_mono_us(void *ud)
{
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int64_t system_wall_ms(void *ud)
{
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const pkc_clock system_clock = {system_mono_us, system_wall_ms, NULL};

const pkc_clock *pkc_clock_system(void)
{
    return &system_clock;
}

static uint64_t manual_mono_us(void *ud)
{
    return ((const pkc_manual_clock *)ud)->mono_us;
}

static int64_t manual_wall_ms(void *ud)
{
    const pkc_manual_clock *m = ud;
    return m->wall_ms;
}

void pkc_manual_clock_init(pkc_manual_clock *m, uint64_t mono_us, int64_t wall_ms)
{
    m->clock.mono_us = manual_mono_us;
    m->clock.wall_ms = manual_wall_ms;
    m->clock.user_data = m;
    m->mono_us = mono_us;
    m->wall_ms = wall_ms;
}

void pkc_manual_clock_advance(pkc_manual_clock *m, uint64_t us)
{
    /* Wall ms follow whole milliseconds of the monotonic clock. */
    uint64_t before = m->mono_us / 1000;
    m->mono_us += us;
    m->wall_ms += (int64_t)(m->mono_us / 1000 - before);
}
