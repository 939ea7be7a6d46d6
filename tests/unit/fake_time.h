/*
 * fake_time.h: a fake clock that OpenSSL and usrsctp follow too.
 *
 * pkc's state machines take `now` as an argument, but two libraries under
 * the rtc layer read the time themselves, with gettimeofday():
 *   - OpenSSL's DTLS retransmission timer (ssl/d1_lib.c: the timer's expiry
 *     is "now + duration" and DTLSv1_handle_timeout() retransmits only once
 *     gettimeofday() has passed it);
 *   - usrsctp (SCTP_GETTIME_TIMEVAL): RTT measurement, which chunks a T3
 *     timeout marks for retransmission (those sent at least an RTO ago),
 *     heartbeat spacing, cookie lifetime, PR-SCTP lifetimes.
 * The runner defines gettimeofday() (fake_time.c); the dynamic linker binds
 * those libraries' calls to it instead of libc's. It returns the real time,
 * except between fake_time_start() and fake_time_stop(), when it returns
 * the fake clock's time, so a test that drives pkc, pkc_sctp_tick() and
 * gettimeofday() from one fake clock needs no real waits at all.
 *
 * The fake clock is process-wide, monotonic and in microseconds; it starts
 * at the real CLOCK_MONOTONIC time (so it is never behind a pkc_sctp_tick()
 * made earlier in the process) and only moves when told. It runs ahead of
 * the real clock by the fake time tests consumed; pkc_sctp_tick() keeps
 * the latest time it saw, so a later test in the same process that drives
 * usrsctp with the real clock would get no SCTP timers until the real
 * clock caught up (CTest runs each suite in a process of its own).
 */
#ifndef PKC_TEST_FAKE_TIME_H
#define PKC_TEST_FAKE_TIME_H

#include <stdint.h>

/* gettimeofday() follows the fake clock from now on; returns its time. */
uint64_t fake_time_start(void);
/* gettimeofday() is real again. The fake clock keeps its time. */
void fake_time_stop(void);
uint64_t fake_time_now(void);
/* Moves the clock to `us` (never backwards). */
void fake_time_set(uint64_t us);

#endif
