/* proto_harness.c: see proto_harness.h. */
#include "proto_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

const uint8_t ph_fp_a[32] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
                             0xac, 0xad, 0xae, 0xaf, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
                             0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xa0};
const uint8_t ph_fp_b[32] = {0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb,
                             0xbc, 0xbd, 0xbe, 0xbf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6,
                             0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xb0};
const uint8_t ph_fp_m1[32] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0x10, 0x11,
                              0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c,
                              0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26};
const uint8_t ph_fp_m2[32] = {0x21, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0x10, 0x11,
                              0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c,
                              0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x27};

static int cb_send(void *user, const uint8_t *rec, size_t len)
{
    ph_endpoint *e = user;
    if (e->fail_send)
        return -1;
    if (e->q_tail - e->q_head >= PH_QUEUE) {
        fprintf(stderr, "  proto_harness: queue full\n");
        abort();
    }
    ph_record *r = &e->queue[e->q_tail++ % PH_QUEUE];
    r->data = malloc(len);
    memcpy(r->data, rec, len);
    r->len = len;
    return 0;
}

static void cb_established(void *user, pkc_session *s)
{
    (void)s;
    ((ph_endpoint *)user)->established = 1;
}

static void record_frame(ph_endpoint *e, const pkc_frame *f)
{
    if (e->n_frames >= PH_FRAMES)
        return;
    size_t i = e->n_frames++, len = 0;
    e->frame_type[i] = f->type;
    e->frame_bytes[i] = NULL;
    e->frame_len[i] = 0;
    e->plain[i] = NULL;
    e->plain_len[i] = 0;
    e->opened[i] = 0;
    if (f->type >= PKC_FRAME_CONTROL && f->type <= PKC_FRAME_MESH &&
        pkc_frame_encode(f, NULL, 0, &len) == PKC_ERR_TOO_LARGE) {
        e->frame_bytes[i] = malloc(len);
        if (pkc_frame_encode(f, e->frame_bytes[i], len, &e->frame_len[i]) != 0)
            e->frame_len[i] = 0;
    }
    if (f->type == PKC_FRAME_DATA || f->type == PKC_FRAME_SIGNAL) {
        e->opened[i] = f->message.opened;
        if (f->message.opened) {
            e->plain[i] = malloc(f->message.plaintext.len + 1);
            if (f->message.plaintext.len)
                memcpy(e->plain[i], f->message.plaintext.data, f->message.plaintext.len);
            e->plain_len[i] = f->message.plaintext.len;
        }
    }
}

static void cb_frame(void *user, pkc_session *s, const pkc_frame *f)
{
    (void)s;
    record_frame(user, f);
}

static void cb_duplicate(void *user, pkc_session *s, const pkc_frame *f)
{
    (void)s;
    (void)f;
    ((ph_endpoint *)user)->n_duplicates++;
}

static void cb_closed(void *user, pkc_session *s, const pkc_session_end *end)
{
    (void)s;
    ph_endpoint *e = user;
    e->closed++;
    e->end_error = end->error;
    e->end_by_peer = end->by_peer;
    e->end_reason = end->reason;
    e->end_retry = end->retry_after_ms;
    e->end_authenticated = end->authenticated;
    snprintf(e->end_text, sizeof e->end_text, "%s", end->text);
}

static int cb_is_known(void *user, const uint8_t pk[32])
{
    ph_endpoint *e = user;
    return e->known_key && memcmp(e->known_key, pk, 32) == 0;
}

static int cb_admit(void *user, pkc_session *s, uint64_t *reason, char *why, size_t cap)
{
    ph_endpoint *e = user;
    e->admit_calls++;
    pkc_session_get_info(s, &e->admit_info);
    if (e->refuse_text == NULL)
        return 0;
    *reason = e->refuse_reason;
    snprintf(why, cap, "%s", e->refuse_text);
    return 1;
}

static void endpoint_init(ph_endpoint *e, int initiator, const pkc_identity *id,
                          const uint8_t *local_fp, const uint8_t *remote_fp)
{
    memset(e, 0, sizeof *e);
    pkc_session_config_default(&e->cfg);
    e->cfg.initiator = initiator;
    e->cfg.identity = id;
    e->cfg.local_fingerprint = local_fp;
    e->cfg.local_fingerprint_len = 32;
    e->cfg.remote_fingerprint = remote_fp;
    e->cfg.remote_fingerprint_len = 32;
    e->cfg.capabilities = 0x7;
    e->cb.send = cb_send;
    e->cb.established = cb_established;
    e->cb.frame = cb_frame;
    e->cb.duplicate = cb_duplicate;
    e->cb.closed = cb_closed;
    e->cb.is_known = cb_is_known;
    e->cb.admit = cb_admit;
}

void ph_init(ph_pair *p, uint64_t seed)
{
    memset(p, 0, sizeof *p);
    uint8_t sa[32], sb[32];
    memset(sa, 0xaa, sizeof sa);
    memset(sb, 0xbb, sizeof sb);
    if (pkc_identity_from_seed(sa, &p->id_a) || pkc_identity_from_seed(sb, &p->id_b))
        abort();
    /* 2023-11-14T22:13:20Z, and monotonic time well away from 0. */
    pkc_manual_clock_init(&p->clock, 1000000000, 1700000000000);
    pkc_seeded_rng_init(&p->rng, seed);
    endpoint_init(&p->a, 1, p->id_a, ph_fp_a, ph_fp_b);
    endpoint_init(&p->b, 0, p->id_b, ph_fp_b, ph_fp_a);
}

int ph_start(ph_pair *p)
{
    int rc = pkc_session_new(&p->a.cfg, &p->a.cb, &p->a, &p->clock.clock, &p->rng.rng, &p->a.s);
    if (rc)
        return rc;
    rc = pkc_session_new(&p->b.cfg, &p->b.cb, &p->b, &p->clock.clock, &p->rng.rng, &p->b.s);
    if (rc)
        return rc;
    return pkc_session_start(p->a.s);
}

int ph_take(ph_endpoint *e, ph_record *rec)
{
    if (e->q_head == e->q_tail)
        return 0;
    *rec = e->queue[e->q_head++ % PH_QUEUE];
    return 1;
}

int ph_deliver(ph_endpoint *to, const uint8_t *rec, size_t len)
{
    to->last_rc = pkc_session_receive(to->s, rec, len);
    return to->last_rc;
}

size_t ph_pump(ph_pair *p)
{
    size_t moved = 0;
    for (int progress = 1; progress;) {
        progress = 0;
        ph_record r;
        if (ph_take(&p->a, &r)) {
            if (!p->relay || p->relay(p->relay_user, 1, &r))
                ph_deliver(&p->b, r.data, r.len);
            free(r.data);
            progress = 1;
            moved++;
        }
        if (ph_take(&p->b, &r)) {
            if (!p->relay || p->relay(p->relay_user, 0, &r))
                ph_deliver(&p->a, r.data, r.len);
            free(r.data);
            progress = 1;
            moved++;
        }
    }
    return moved;
}

int ph_connect(ph_pair *p, uint64_t seed)
{
    ph_init(p, seed);
    int rc = ph_start(p);
    if (rc)
        return rc;
    ph_pump(p);
    return p->a.established && p->b.established ? 0 : PKC_ERR_STATE;
}

void ph_clear_frames(ph_endpoint *e)
{
    for (size_t i = 0; i < e->n_frames; i++) {
        free(e->frame_bytes[i]);
        free(e->plain[i]);
    }
    e->n_frames = 0;
}

static void free_endpoint(ph_endpoint *e)
{
    pkc_session_free(e->s);
    e->s = NULL;
    ph_record r;
    while (ph_take(e, &r))
        free(r.data);
    ph_clear_frames(e);
}

void ph_free_sessions(ph_pair *p)
{
    free_endpoint(&p->a);
    free_endpoint(&p->b);
}

void ph_free(ph_pair *p)
{
    ph_free_sessions(p);
    pkc_identity_free(p->id_a);
    pkc_identity_free(p->id_b);
    p->id_a = p->id_b = NULL;
}

static void tape_fill(void *user, void *buf, size_t len)
{
    ph_tape_rng *t = user;
    if (len > t->len - t->pos) {
        fprintf(stderr, "  proto_harness: the rng tape is exhausted\n");
        abort();
    }
    memcpy(buf, t->bytes + t->pos, len);
    t->pos += len;
}

void ph_tape_init(ph_tape_rng *t, const uint8_t *bytes, size_t len)
{
    t->rng.fill = tape_fill;
    t->rng.user_data = t;
    t->bytes = bytes;
    t->len = len;
    t->pos = 0;
}
