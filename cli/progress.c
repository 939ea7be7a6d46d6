/* progress.c: progress lines on a terminal (progress.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pkc.h"
#include "progress.h"

#define SHORT_PEER 12 /* characters of a peer id shown: "pkc1" and 8 more */

void cli_bytes(char *out, size_t cap, uint64_t n)
{
    static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB"};
    if (n < 1024) {
        snprintf(out, cap, "%" PRIu64 " B", n);
        return;
    }
    double v = (double)n / 1024;
    int u = 0;
    while (v >= 1024 && u < 3) {
        v /= 1024;
        u++;
    }
    /* Whole numbers from 10 up: "470 KiB"; one decimal below: "1.0 MiB". */
    if (v >= 9.95)
        snprintf(out, cap, "%.0f %s", v, unit[u]);
    else
        snprintf(out, cap, "%.1f %s", v, unit[u]);
}

void cli_ascii(char *out, size_t cap, const char *in, size_t max)
{
    size_t k = 0;
    for (; *in && k + 1 < cap && k < max; in++)
        out[k++] = *in >= 0x20 && *in < 0x7f ? *in : '?';
    out[k] = 0;
}

void cli_sync_text(char *out, size_t cap, const char *doc_name, const char *peer_id,
                   uint64_t received, uint64_t total, int done)
{
    char doc[PKC_DOC_NAME_MAX + 1], peer[SHORT_PEER + 1];
    cli_ascii(doc, sizeof doc, doc_name, sizeof doc);
    cli_ascii(peer, sizeof peer, peer_id, SHORT_PEER);
    char r[32], t[32];
    cli_bytes(r, sizeof r, received);
    cli_bytes(t, sizeof t, total);
    unsigned pct = total ? (unsigned)(received * 100 / total) : 100;
    if (done && received >= total)
        snprintf(out, cap, "synced %s from %s... (%s)", doc, peer, t);
    else if (done)
        snprintf(out, cap, "sync of %s from %s... stopped at %u%% (%s of %s)", doc, peer, pct, r, t);
    else
        snprintf(out, cap, "syncing %s from %s...: %u%% (%s of %s)", doc, peer,
                 pct, r, t);
}

int cli_progress_on(int fd)
{
    const char *term = getenv("TERM");
    return isatty(fd) && !(term && strcmp(term, "dumb") == 0);
}

static void *wait_thread(void *arg)
{
    cli_wait *w = arg;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    pthread_mutex_lock(&w->lock);
    for (long s = 1; !w->stop; s++) {
        /* Sleep until second s (the condition variable's clock is
         * CLOCK_MONOTONIC): the first line after a second. */
        struct timespec at = start;
        at.tv_sec += s;
        while (!w->stop && pthread_cond_timedwait(&w->cond, &w->lock, &at) != ETIMEDOUT)
            ;
        if (w->stop)
            break;
        fprintf(stderr, "\r%s... %ld s\x1b[K", w->what, s);
        fflush(stderr);
        w->shown = 1;
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

void cli_wait_begin(cli_wait *w, const char *what)
{
    memset(w, 0, sizeof *w);
    snprintf(w->what, sizeof w->what, "%s", what);
    if (!cli_progress_on(2))
        return;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    w->on = pthread_create(&w->thread, NULL, wait_thread, w) == 0;
    if (!w->on) {
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
    }
}

void cli_wait_end(cli_wait *w)
{
    if (!w->on)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    if (w->shown) {
        fputs("\r\x1b[K", stderr);
        fflush(stderr);
    }
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    w->on = 0;
}
