/*
 * merge.c: functions on encoded updates, as Yjs's updates.js: mergeUpdates,
 * diffUpdate, encodeStateVectorFromUpdate and the v2 to v1 conversion.
 *
 * Yjs's mergeUpdatesV2 sorts all its struct readers after every struct it
 * writes, which makes merging n single-struct updates O(n^2 log n) (over 20
 * minutes for the 259,778 updates of the B4 trace). The same algorithm
 * driven by a binary heap of readers is O(n log n) and writes the same
 * bytes: the comparator is the same; ties between different kinds of
 * struct at the same clock, where Yjs's comparator is inconsistent, are
 * broken by update order.
 */
#include "crdt/merge.h"

#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "crdt/decode.h"
#include "crdt/ds.h"
#include "crdt/item.h"
#include "crdt/sv.h"
#include "crdt/utf16.h"
#include "crdt/val.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/err.h"

/* ------------------------------------------------------------------------ */
/* Writing decoded structs                                                  */

static int write_dec_content(pkc_buf *b, const ydec *s, uint32_t offset)
{
    if (offset == 0 || s->kind == YC_BINARY || s->kind == YC_EMBED || s->kind == YC_FORMAT ||
        s->kind == YC_TYPE || s->kind == YC_DOC)
        return pkc_buf_push(b, s->content, s->content_len);
    pkc_reader r;
    pkc_reader_init(&r, s->content, s->content_len);
    switch (s->kind) {
    case YC_DELETED:
        return pkc_buf_push_varuint(b, s->len - offset);
    case YC_JSON:
    case YC_ANY: {
        uint64_t cnt;
        pkc_reader_varuint(&r, &cnt);
        for (uint32_t i = 0; i < offset; i++) {
            if (s->kind == YC_ANY) {
                yany_skip(&r);
            } else {
                const uint8_t *p;
                size_t n;
                pkc_reader_varbytes(&r, &p, &n);
            }
        }
        pkc_buf_push_varuint(b, s->len - offset);
        return pkc_buf_push(b, r.p, pkc_reader_left(&r));
    }
    case YC_STRING: {
        const uint8_t *p;
        size_t n;
        int mid;
        pkc_reader_varbytes(&r, &p, &n);
        size_t off = yc_utf16_offset(p, n, offset, &mid);
        size_t mark = pkc_buf_block_begin(b);
        if (mid) {
            static const uint8_t rep[3] = {0xef, 0xbf, 0xbd};
            pkc_buf_push(b, rep, 3);
            off += 4;
        }
        pkc_buf_push(b, p + off, n - off);
        return pkc_buf_block_end(b, mark);
    }
    default:
        return pkc_error(PKC_ERR_INTERNAL, "content kind %u", s->kind);
    }
}

int ydec_write(pkc_buf *b, const ydec *s, uint32_t offset)
{
    if (s->kind == YC_GC || s->kind == YC_SKIP) {
        pkc_buf_push_u8(b, s->kind == YC_GC ? 0 : 10);
        return pkc_buf_push_varuint(b, s->len - offset);
    }
    int has_origin = offset > 0 || (s->info & 0x80);
    int has_right = (s->info & 0x40) != 0;
    uint8_t info = (uint8_t)(s->kind | (has_origin ? 0x80 : 0) | (has_right ? 0x40 : 0) |
                             (ydec_psub(s) ? 0x20 : 0));
    pkc_buf_push_u8(b, info);
    if (has_origin) {
        if (offset > 0) {
            pkc_buf_push_varuint(b, s->client);
            pkc_buf_push_varuint(b, (uint64_t)s->clock + offset - 1);
        } else {
            pkc_buf_push_varuint(b, s->oclient);
            pkc_buf_push_varuint(b, s->oclock);
        }
    }
    if (has_right) {
        pkc_buf_push_varuint(b, s->rclient);
        pkc_buf_push_varuint(b, s->rclock);
    }
    if (!has_origin && !has_right) {
        const ypar *pa = s->par;
        if (pa && pa->kind == 1) {
            pkc_buf_push_varuint(b, 1);
            pkc_buf_push_varstring(b, pa->pname, pa->pname_len);
        } else {
            pkc_buf_push_varuint(b, 0);
            pkc_buf_push_varuint(b, pa ? pa->pclient : 0);
            pkc_buf_push_varuint(b, pa ? pa->pclock : 0);
        }
        if (pa && pa->psub)
            pkc_buf_push_varstring(b, pa->psub, pa->psub_len);
    }
    return write_dec_content(b, s, offset);
}

/* A struct as the merge sees it: a decoded struct from `offset`, or a Skip
 * made up by the merge (s == NULL), with its own length (GC and Skip grow
 * when merged). */
typedef struct ycur {
    const ydec *s;
    uint8_t kind;
    uint64_t client;
    uint32_t clock;
    uint32_t len;
    uint32_t offset;
} ycur;

/* Yjs LazyStructWriter */
typedef struct ylazyw {
    pkc_buf parts;   /* (written count, bytes) per client run */
    pkc_buf cur;
    uint64_t client;
    size_t written;
    size_t nparts;
} ylazyw;

static int lw_flush(ylazyw *w)
{
    if (w->written > 0) {
        pkc_buf_push_varuint(&w->parts, w->written);
        pkc_buf_push(&w->parts, w->cur.data, w->cur.len);
        pkc_buf_reset(&w->cur);
        w->written = 0;
        w->nparts++;
    }
    return w->parts.err;
}

static int lw_write(ylazyw *w, const ycur *c, uint32_t offset)
{
    if (w->written > 0 && w->client != c->client && lw_flush(w))
        return w->parts.err;
    if (w->written == 0) {
        w->client = c->client;
        pkc_buf_push_varuint(&w->cur, c->client);
        pkc_buf_push_varuint(&w->cur, (uint64_t)c->clock + offset);
    }
    int rc;
    if (c->s == NULL || c->kind == YC_GC || c->kind == YC_SKIP) {
        pkc_buf_push_u8(&w->cur, c->kind == YC_GC ? 0 : 10);
        rc = pkc_buf_push_varuint(&w->cur, c->len - offset);
    } else {
        rc = ydec_write(&w->cur, c->s, c->offset + offset);
    }
    w->written++;
    return rc;
}

static int lw_finish(ylazyw *w, pkc_buf *out)
{
    int rc = lw_flush(w);
    if (rc)
        return rc;
    pkc_buf_push_varuint(out, w->nparts);
    pkc_buf_push(out, w->parts.data, w->parts.len);
    pkc_buf_free(&w->parts);
    pkc_buf_free(&w->cur);
    return out->err;
}

static void lw_free(ylazyw *w)
{
    pkc_buf_free(&w->parts);
    pkc_buf_free(&w->cur);
}

static ycur cur_of(const ydec *s)
{
    ycur c = {s, s->kind, s->client, s->clock, s->len, 0};
    return c;
}

/* ------------------------------------------------------------------------ */
/* mergeUpdates                                                             */

typedef struct yreader {
    yupd u;
    size_t i;     /* next struct */
    size_t index; /* update order */
} yreader;

static const ydec *rd_curr(const yreader *r)
{
    return r->i < r->u.n ? &r->u.s[r->i] : NULL;
}

/* next, skipping Skip structs (filterSkips) */
static const ydec *rd_next(yreader *r)
{
    r->i++;
    while (r->i < r->u.n && r->u.s[r->i].kind == YC_SKIP)
        r->i++;
    return rd_curr(r);
}

/* Yjs's order: higher clients first, then lower clocks. */
static int rd_less(const yreader *a, const yreader *b)
{
    const ydec *x = rd_curr(a), *y = rd_curr(b);
    if (x->client != y->client)
        return x->client > y->client;
    if (x->clock != y->clock)
        return x->clock < y->clock;
    return a->index < b->index;
}

static void heap_down(yreader **h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && rd_less(h[l], h[m]))
            m = l;
        if (l + 1 < n && rd_less(h[l + 1], h[m]))
            m = l + 1;
        if (m == i)
            return;
        yreader *t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static int merge_gc_skip(ycur *w, const ycur *c)
{
    /* GC.mergeWith / Skip.mergeWith; Item.mergeWith never succeeds here
     * (decoded items have no `right`) */
    if ((w->kind == YC_GC || w->kind == YC_SKIP) && w->kind == c->kind) {
        w->len += c->len;
        return 1;
    }
    return 0;
}

int yc_update_merge(const uint8_t *const *ups, const size_t *lens, size_t n, int v2, pkc_buf *out)
{
    int rc = 0;
    if (n == 1)
        return pkc_buf_push(out, ups[0], lens[0]);
    yreader *rs = calloc(n ? n : 1, sizeof *rs);
    yreader **heap = malloc((n ? n : 1) * sizeof *heap);
    ylazyw w;
    yds ds;
    memset(&w, 0, sizeof w);
    pkc_buf_init(&w.parts);
    pkc_buf_init(&w.cur);
    memset(&ds, 0, sizeof ds);
    if (rs == NULL || heap == NULL) {
        rc = pkc_error_code(PKC_ERR_NOMEM);
        goto done;
    }
    size_t hn = 0;
    for (size_t i = 0; i < n; i++) {
        if ((rc = yupd_decode(&rs[i].u, ups[i], lens[i], v2))) {
            pkc_error_wrap(rc, "update %zu", i);
            goto done;
        }
        rs[i].index = i;
        rs[i].i = 0;
        while (rs[i].i < rs[i].u.n && rs[i].u.s[rs[i].i].kind == YC_SKIP)
            rs[i].i++;
        if (rd_curr(&rs[i]))
            heap[hn++] = &rs[i];
    }
    for (size_t i = hn / 2; i-- > 0;)
        heap_down(heap, hn, i);
    int have = 0;
    ycur cw;
    memset(&cw, 0, sizeof cw);
    while (hn > 0) {
        yreader *d = heap[0];
        uint64_t first_client = rd_curr(d)->client;
        if (have) {
            const ydec *curr = rd_curr(d);
            int iterated = 0;
            uint64_t wend = (uint64_t)cw.clock + cw.len;
            while (curr && (uint64_t)curr->clock + curr->len <= wend && curr->client >= cw.client) {
                curr = rd_next(d);
                iterated = 1;
            }
            if (curr == NULL || curr->client != first_client || (iterated && curr->clock > wend)) {
                goto reheap;
            }
            ycur c = cur_of(curr);
            if (first_client != cw.client) {
                if ((rc = lw_write(&w, &cw, 0)))
                    goto done;
                cw = c;
                rd_next(d);
            } else if (wend < curr->clock) {
                if (cw.kind == YC_SKIP) {
                    cw.len = curr->clock + curr->len - cw.clock;
                } else {
                    if ((rc = lw_write(&w, &cw, 0)))
                        goto done;
                    ycur sk = {NULL, YC_SKIP, first_client, (uint32_t)wend,
                               (uint32_t)(curr->clock - wend), 0};
                    cw = sk;
                }
            } else {
                uint32_t diff = (uint32_t)(wend - curr->clock);
                if (diff > 0) {
                    if (cw.kind == YC_SKIP) {
                        cw.len -= diff;
                    } else {
                        c.clock += diff;
                        c.len -= diff;
                        c.offset += diff;
                    }
                }
                if (!merge_gc_skip(&cw, &c)) {
                    if ((rc = lw_write(&w, &cw, 0)))
                        goto done;
                    cw = c;
                    rd_next(d);
                }
            }
        } else {
            cw = cur_of(rd_curr(d));
            have = 1;
            rd_next(d);
        }
        for (const ydec *next = rd_curr(d); next && next->client == first_client &&
                                            next->clock == cw.clock + cw.len && next->kind != YC_SKIP;
             next = rd_next(d)) {
            if ((rc = lw_write(&w, &cw, 0)))
                goto done;
            cw = cur_of(next);
        }
    reheap:
        if (rd_curr(d) == NULL) {
            heap[0] = heap[--hn];
        }
        heap_down(heap, hn, 0);
    }
    if (have && (rc = lw_write(&w, &cw, 0)))
        goto done;
    if ((rc = lw_finish(&w, out)))
        goto done;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < rs[i].u.ds.n; k++)
            if (PKC_ARRAY_PUSH(ds.r, ds.n, ds.cap, rs[i].u.ds.r[k])) {
                rc = pkc_error_code(PKC_ERR_NOMEM);
                goto done;
            }
    yds_sort_merge(&ds);
    rc = yds_write(out, &ds);
done:
    lw_free(&w);
    yds_free(&ds);
    if (rs)
        for (size_t i = 0; i < n; i++)
            yupd_free(&rs[i].u);
    free(rs);
    free(heap);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* diffUpdate, state vector of an update, v2 -> v1                          */

int yc_update_diff(const uint8_t *up, size_t len, int v2, const ysv *sv, pkc_buf *out)
{
    yupd u;
    ylazyw w;
    int rc = yupd_decode(&u, up, len, v2);
    if (rc)
        return rc;
    memset(&w, 0, sizeof w);
    pkc_buf_init(&w.parts);
    pkc_buf_init(&w.cur);
    size_t i = 0;
    while (i < u.n) {
        const ydec *s = &u.s[i];
        uint64_t client = s->client;
        uint64_t svclock = ysv_get(sv, client, NULL);
        if (s->kind == YC_SKIP) {
            i++;
            continue;
        }
        if ((uint64_t)s->clock + s->len > svclock) {
            ycur c = cur_of(s);
            uint32_t off = svclock > s->clock ? (uint32_t)(svclock - s->clock) : 0;
            if ((rc = lw_write(&w, &c, off)))
                goto done;
            i++;
            while (i < u.n && u.s[i].client == client) {
                c = cur_of(&u.s[i]);
                if ((rc = lw_write(&w, &c, 0)))
                    goto done;
                i++;
            }
        } else {
            while (i < u.n && u.s[i].client == client &&
                   (uint64_t)u.s[i].clock + u.s[i].len <= svclock)
                i++;
        }
    }
    if ((rc = lw_finish(&w, out)))
        goto done;
    rc = yds_write(out, &u.ds);
done:
    lw_free(&w);
    yupd_free(&u);
    return rc;
}

int yc_update_sv(const uint8_t *up, size_t len, int v2, pkc_buf *out)
{
    yupd u;
    int rc = yupd_decode(&u, up, len, v2);
    if (rc)
        return rc;
    pkc_buf body = PKC_BUF_INIT;
    size_t size = 0;
    if (u.n > 0) {
        uint64_t cur_client = u.s[0].client;
        int stop = u.s[0].clock != 0;
        uint64_t cur_clock = stop ? 0 : (uint64_t)u.s[0].clock + u.s[0].len;
        for (size_t i = 0; i < u.n; i++) {
            const ydec *s = &u.s[i];
            if (cur_client != s->client) {
                if (cur_clock != 0) {
                    size++;
                    pkc_buf_push_varuint(&body, cur_client);
                    pkc_buf_push_varuint(&body, cur_clock);
                }
                cur_client = s->client;
                cur_clock = 0;
                stop = s->clock != 0;
            }
            if (s->kind == YC_SKIP)
                stop = 1;
            if (!stop)
                cur_clock = (uint64_t)s->clock + s->len;
        }
        if (cur_clock != 0) {
            size++;
            pkc_buf_push_varuint(&body, cur_client);
            pkc_buf_push_varuint(&body, cur_clock);
        }
    }
    pkc_buf_push_varuint(out, size);
    pkc_buf_push(out, body.data, body.len);
    pkc_buf_free(&body);
    yupd_free(&u);
    return out->err;
}

int yc_update_to_v1(const uint8_t *up, size_t len, pkc_buf *out)
{
    yupd u;
    ylazyw w;
    int rc = yupd_decode(&u, up, len, 1);
    if (rc)
        return rc;
    memset(&w, 0, sizeof w);
    pkc_buf_init(&w.parts);
    pkc_buf_init(&w.cur);
    for (size_t i = 0; i < u.n && rc == 0; i++) {
        ycur c = cur_of(&u.s[i]);
        rc = lw_write(&w, &c, 0);
    }
    if (rc == 0 && (rc = lw_finish(&w, out)) == 0)
        rc = yds_write(out, &u.ds);
    lw_free(&w);
    yupd_free(&u);
    return rc;
}
