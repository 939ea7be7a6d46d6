/* loop.c: pkc_loop, the runtime's event loop on libuv. */
#define _GNU_SOURCE
#include "node/loop.h"

#include <stdlib.h>
#include <string.h>

#include "rtc/sctp.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"
#include "node/rtc_runtime.h"

/* usrsctp's timers advance in steps of this many milliseconds. */
#define SCTP_TICK_MS 10

uint64_t pkc_loop_now(const pkc_loop *loop)
{
    (void)loop;
    return pkc_clock_mono_us(pkc_clock_system());
}

static void on_async(uv_async_t *h)
{
    pkc_loop *loop = h->data;
    pthread_mutex_lock(&loop->lock);
    post_item *list = loop->posted;
    loop->posted = NULL;
    pthread_mutex_unlock(&loop->lock);
    /* Run in the order posted. */
    post_item *rev = NULL;
    while (list) {
        post_item *n = list->next;
        list->next = rev;
        rev = list;
        list = n;
    }
    while (rev) {
        post_item *n = rev->next;
        rev->fn(rev->arg);
        free(rev);
        rev = n;
    }
    pkc_loop_dispatch_pending(loop);
}

static void on_sctp_tick(uv_timer_t *t)
{
    pkc_loop *loop = t->data;
    pkc_sctp_tick(pkc_loop_now(loop));
    for (struct pkc_rtc_peer *p = loop->peers; p; p = p->loop_next) {
        if (p->dead || !pkc_conn_has_sctp(p->conn))
            continue;
        pkc_conn_poll_sctp(p->conn);
        pkc_rtc_peer_after_io(p);
    }
    pkc_loop_dispatch_pending(loop);
    pkc_loop_update_sctp(loop);
}

void pkc_loop_update_sctp(pkc_loop *loop)
{
    int any = 0;
    for (struct pkc_rtc_peer *p = loop->peers; p && !any; p = p->loop_next)
        any = !p->dead && pkc_conn_has_sctp(p->conn);
    if (any && !loop->sctp_running) {
        pkc_sctp_tick(pkc_loop_now(loop));
        uv_timer_start(&loop->sctp_timer, on_sctp_tick, SCTP_TICK_MS, SCTP_TICK_MS);
        loop->sctp_running = 1;
    } else if (!any && loop->sctp_running) {
        uv_timer_stop(&loop->sctp_timer);
        loop->sctp_running = 0;
    }
}

static void on_idle(uv_idle_t *h)
{
    pkc_loop *loop = h->data;
    pkc_loop_dispatch_pending(loop);
}

void pkc_loop_schedule(pkc_loop *loop, struct pkc_rtc_peer *p)
{
    if (p->pending || p->dead)
        return;
    p->pending = 1;
    p->pending_next = loop->pending;
    loop->pending = p;
    if (!loop->idle_running) {
        uv_idle_start(&loop->idle, on_idle);
        loop->idle_running = 1;
    }
}

void pkc_loop_want_flush(pkc_loop *loop)
{
    if (loop->flush_wanted)
        return;
    loop->flush_wanted = 1;
    if (!loop->idle_running) {
        uv_idle_start(&loop->idle, on_idle);
        loop->idle_running = 1;
    }
}

void pkc_loop_dispatch_pending(pkc_loop *loop)
{
    int batch = loop->pending && !loop->batching && loop->batch_begin;
    if (batch) {
        loop->batching = 1;
        loop->batch_begin(loop->batch_ud);
    }
    while (loop->pending) {
        struct pkc_rtc_peer *p = loop->pending;
        loop->pending = p->pending_next;
        p->pending = 0;
        p->pending_next = NULL;
        if (!p->dead)
            pkc_rtc_peer_dispatch(p);
    }
    if (batch) {
        loop->batch_end(loop->batch_ud);
        loop->batching = 0;
    }
    if (loop->flush_wanted) {
        loop->flush_wanted = 0;
        pkc_rtc_socket_flush();
    }
    if (loop->idle_running) {
        uv_idle_stop(&loop->idle);
        loop->idle_running = 0;
    }
}

int pkc_loop_new(pkc_loop **out)
{
    pkc_loop *loop = calloc(1, sizeof *loop);
    if (loop == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    int rc = uv_loop_init(&loop->uv);
    if (rc) {
        free(loop);
        return pkc_error(PKC_ERR_IO, "event loop: %s", uv_strerror(rc));
    }
    pthread_mutex_init(&loop->lock, NULL);
    uv_async_init(&loop->uv, &loop->async, on_async);
    uv_timer_init(&loop->uv, &loop->run_timer);
    uv_timer_init(&loop->uv, &loop->sctp_timer);
    uv_idle_init(&loop->uv, &loop->idle);
    loop->async.data = loop->run_timer.data = loop->sctp_timer.data = loop->idle.data = loop;
    *out = loop;
    return 0;
}

static void close_leftover(uv_handle_t *h, void *arg)
{
    int *n = arg;
    if (!uv_is_closing(h)) {
        (*n)++;
        uv_close(h, NULL);
    }
}

void pkc_loop_free(pkc_loop *loop)
{
    if (loop == NULL)
        return;
    pkc_rtc_socket_flush();
    uv_close((uv_handle_t *)&loop->async, NULL);
    uv_close((uv_handle_t *)&loop->run_timer, NULL);
    uv_close((uv_handle_t *)&loop->sctp_timer, NULL);
    uv_close((uv_handle_t *)&loop->idle, NULL);
    /* Objects the caller did not free would keep the loop alive: close
     * their handles (their memory is lost) rather than hang. */
    int leftover = 0;
    uv_walk(&loop->uv, close_leftover, &leftover);
    if (leftover)
        pkc_logw("rtc", "pkc_loop_free: %d handles of objects not freed (peers, sockets)", leftover);
    /* Let close callbacks (ours and those of freed peers and sockets) run. */
    uv_run(&loop->uv, UV_RUN_DEFAULT);
    uv_loop_close(&loop->uv);
    pthread_mutex_destroy(&loop->lock);
    for (post_item *p = loop->posted; p;) {
        post_item *n = p->next;
        free(p);
        p = n;
    }
    free(loop);
}

static void on_run_timeout(uv_timer_t *t)
{
    pkc_loop *loop = t->data;
    loop->timed_out = 1;
    uv_stop(&loop->uv);
}

int pkc_loop_run(pkc_loop *loop, int timeout_ms)
{
    loop->timed_out = 0;
    if (timeout_ms >= 0)
        uv_timer_start(&loop->run_timer, on_run_timeout, (uint64_t)timeout_ms, 0);
    uv_update_time(&loop->uv);
    pkc_loop_dispatch_pending(loop);
    uv_run(&loop->uv, UV_RUN_DEFAULT);
    uv_timer_stop(&loop->run_timer);
    return loop->timed_out ? pkc_error_code(PKC_ERR_TIMEOUT) : 0;
}

void pkc_loop_stop(pkc_loop *loop)
{
    uv_stop(&loop->uv);
}

int pkc_loop_post(pkc_loop *loop, void (*fn)(void *), void *arg)
{
    if (fn == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_loop_post: fn is NULL");
    post_item *it = malloc(sizeof *it);
    if (it == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    it->fn = fn;
    it->arg = arg;
    pthread_mutex_lock(&loop->lock);
    it->next = loop->posted;
    loop->posted = it;
    pthread_mutex_unlock(&loop->lock);
    uv_async_send(&loop->async);
    return 0;
}
