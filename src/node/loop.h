/* loop.h: the runtime's event loop, shared by the rtc runtime pieces. */
#ifndef PKC_NODE_LOOP_H
#define PKC_NODE_LOOP_H

#include <pthread.h>
#include <uv.h>

#include "pkc.h"

typedef struct post_item {
    struct post_item *next;
    void (*fn)(void *);
    void *arg;
} post_item;

struct pkc_rtc_peer;

struct pkc_loop {
    uv_loop_t uv;
    uv_async_t async;     /* pkc_loop_post from any thread */
    uv_timer_t run_timer; /* pkc_loop_run's time limit */
    uv_timer_t sctp_timer;
    uv_idle_t idle;       /* deferred event dispatch */
    pthread_mutex_t lock;
    post_item *posted;
    int timed_out;
    int sctp_running;
    struct pkc_rtc_peer *peers; /* every peer on this loop */
    struct pkc_rtc_peer *pending; /* peers with events to dispatch (via pending_next) */
    int idle_running;
    int flush_wanted;
    /* Called around each dispatch of the pending peers' events (the node's
     * group commit, docs/node.md "Persistence"); NULL for none. Not nested:
     * a dispatch started from inside another runs without them. */
    void (*batch_begin)(void *ud);
    void (*batch_end)(void *ud);
    void *batch_ud;
    int batching;
};

/* Monotonic microseconds (the system clock). */
uint64_t pkc_loop_now(const pkc_loop *loop);
/* Starts or stops the SCTP ticker as associations come and go. */
void pkc_loop_update_sctp(pkc_loop *loop);
/* Queues `peer` for event dispatch at the end of this loop iteration. */
void pkc_loop_schedule(pkc_loop *loop, struct pkc_rtc_peer *peer);
/* Dispatches every scheduled peer's events now, then sends the queued
 * datagrams (loop context only). */
void pkc_loop_dispatch_pending(pkc_loop *loop);
/* Datagrams are queued: flush them before the loop waits. */
void pkc_loop_want_flush(pkc_loop *loop);

#endif
