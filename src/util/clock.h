/* clock.h: a manual clock for tests and the simulator. */
#ifndef PKC_UTIL_CLOCK_H
#define PKC_UTIL_CLOCK_H

#include "pkc.h"

/* A clock that moves only when told. `clock` is ready to pass to anything
 * that takes a const pkc_clock *; the struct must outlive those users. */
typedef struct pkc_manual_clock {
    pkc_clock clock;
    uint64_t mono_us;
    int64_t wall_ms;
} pkc_manual_clock;

void pkc_manual_clock_init(pkc_manual_clock *m, uint64_t mono_us, int64_t wall_ms);
/* Advances both clocks by `us` microseconds (wall time in whole ms, with the
 * remainder carried so that many small steps add up exactly). */
void pkc_manual_clock_advance(pkc_manual_clock *m, uint64_t us);

static inline uint64_t pkc_clock_mono_us(const pkc_clock *c)
{
    return c->mono_us(c->user_data);
}

static inline int64_t pkc_clock_wall_ms(const pkc_clock *c)
{
    return c->wall_ms(c->user_data);
}

#endif
