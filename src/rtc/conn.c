/* conn.c: the peer connection state machine: signalling, ICE, DTLS, SCTP,
 * data channels. */
#define _POSIX_C_SOURCE 200809L
#include "rtc/conn.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/log.h"
#include "util/rng.h"
#include "util/text.h"
#include "util/versioned.h"
#include "rtc/dcep.h"
#include "rtc/dtls.h"
#include "rtc/sctp.h"
#include "rtc/sdp.h"

#define LOG "rtc"

/*
 * Events wait in one FIFO queue until the owner dispatches them. A queued
 * event never needs memory of its own: the nodes of state changes, trickled
 * candidates and channel events are embedded in the connection and the
 * channels, made when they are; a message's node is allocated when the
 * message arrives, and if it cannot be, the connection fails (its FAILED
 * state has a node of its own) rather than lose the message unnoticed. So
 * what the application is told never diverges from the connection's state.
 */
typedef struct event {
    struct event *next;
    pkc_conn_event ev;
    uint8_t queued;
    uint8_t heap; /* a message event: its node and data are freed after dispatch */
    uint8_t *owned;
} event;

#define STATE_EVENTS 8 /* state changes queued at most between two dispatches */
#define TRICKLE_EVENTS (2 * PKC_ICE_MAX_LOCAL)

/* A trickled candidate; its line is written when it is dispatched. */
typedef struct trickle_slot {
    event e; /* first: the dispatcher finds the slot from its event */
    pkc_cand cand;
} trickle_slot;

typedef struct msg {
    struct msg *next;
    uint32_t ppid;
    size_t len;
    uint8_t data[];
} msg;

struct pkc_rtc_channel {
    pkc_conn *conn;
    struct pkc_rtc_channel *next;
    char *label, *protocol;
    pkc_rtc_channel_options opts;
    int id; /* -1 until assigned */
    pkc_rtc_channel_state state;
    int ours;      /* we opened it (DCEP OPEN sent by us) */
    int open_sent; /* DCEP OPEN sent */
    int acked;     /* ACK received (or negotiated / incoming) */
    msg *head, **tail;
    size_t buffered, low_threshold;
    int out_reset; /* our reset requested */
    int out_reset_pending; /* requested but refused for now: retry */
    int in_reset;
    int close_queued;
    void *user_data;
    event ev_open; /* OPEN, or CHANNEL for one the peer opened */
    event ev_low;
    event ev_close;
};

struct pkc_conn {
    pkc_conn_config cfg;
    pkc_conn_io io;
    const pkc_rng *rng;
    void *owner;
    pkc_rtc_state state;

    pkc_ice_agent *ice;
    pkc_dtls *dtls;
    pkc_sctp *sctp;
    int sctp_up;
    int lite;

    /* Signalling. */
    int have_local, have_remote;
    int local_offer_pending;  /* our offer awaits an answer */
    int remote_offer_pending; /* their offer awaits our answer */
    int gather_started;
    int gather_hold, gather_wanted;
    pkc_addr stun[PKC_ICE_MAX_STUN_SERVERS];
    size_t n_stun;
    uint64_t session_id, session_version;
    pkc_dtls_setup local_setup;
    char mid[PKC_SDP_MID_MAX + 1];
    pkc_sdp_media media[PKC_SDP_MAX_MEDIA];
    size_t n_media, data_index;
    int dtls_role; /* -1 unknown, 1 client, 0 server */
    uint64_t remote_mms; /* 0: unlimited */
    uint16_t remote_sctp_port;
    int have_remote_fp;
    pkc_fingerprint remote_fp;
    char remote_fp_text[3 * PKC_FINGERPRINT_MAX + 16];

    pkc_rtc_channel *channels;
    event *ev_head, **ev_tail;
    event state_ev[STATE_EVENTS];
    event *last_state_ev;
    trickle_slot trickle[TRICKLE_EVENTS];
    unsigned trickle_next;
    event eoc_ev; /* end of candidates */
    int closing;

    uint64_t bytes_sent, bytes_received;
    uint64_t now; /* time of the last input or timeout */
};

/* ---- events ----------------------------------------------------------------- */

static void push_event(pkc_conn *c, event *e)
{
    e->next = NULL;
    e->queued = 1;
    *c->ev_tail = e;
    c->ev_tail = &e->next;
    if (c->io.wake)
        c->io.wake(c->io.user);
}

static void queue_state(pkc_conn *c, pkc_rtc_state s)
{
    for (int i = 0; i < STATE_EVENTS; i++)
        if (!c->state_ev[i].queued) {
            event *e = &c->state_ev[i];
            e->ev = (pkc_conn_event){.kind = PKC_CONN_EV_STATE, .state = s};
            c->last_state_ev = e;
            push_event(c, e);
            return;
        }
    /* More changes than nodes since the last dispatch: the latest queued
     * change is replaced by this one, so the application still ends up with
     * the current state. */
    c->last_state_ev->ev.state = s;
}

static void set_state(pkc_conn *c, pkc_rtc_state s)
{
    if (c->state == s || c->state == PKC_RTC_CLOSED || c->state == PKC_RTC_FAILED)
        return;
    pkc_logi(LOG, "peer connection: %s -> %s", pkc_rtc_state_name(c->state), pkc_rtc_state_name(s));
    c->state = s;
    queue_state(c, s);
}

/* A channel's OPEN/CHANNEL, LOW or CLOSE. Nothing is queued for a channel
 * after its CLOSE (which frees it once dispatched); a LOW that is queued
 * already stands for the new one. */
static void channel_event(pkc_conn *c, pkc_conn_event_kind kind, pkc_rtc_channel *ch)
{
    event *e = kind == PKC_CONN_EV_LOW ? &ch->ev_low : kind == PKC_CONN_EV_CLOSE ? &ch->ev_close
                                                                                 : &ch->ev_open;
    if (e->queued || (ch->ev_close.queued && kind != PKC_CONN_EV_CLOSE))
        return;
    e->ev = (pkc_conn_event){.kind = kind, .ch = ch};
    push_event(c, e);
}

int pkc_conn_has_events(const pkc_conn *c)
{
    return c->ev_head != NULL;
}

static void free_channel(pkc_rtc_channel *ch)
{
    for (msg *m = ch->head; m;) {
        msg *n = m->next;
        free(m);
        m = n;
    }
    free(ch->label);
    free(ch->protocol);
    free(ch);
}

static void unlink_channel(pkc_conn *c, pkc_rtc_channel *ch)
{
    for (pkc_rtc_channel **p = &c->channels; *p; p = &(*p)->next)
        if (*p == ch) {
            *p = ch->next;
            return;
        }
}

static void free_event(event *e)
{
    if (e->heap) {
        free(e->owned);
        free(e);
    }
}

void pkc_conn_dispatch(pkc_conn *c, pkc_conn_handler h, void *arg)
{
    while (c->ev_head) {
        event *e = c->ev_head;
        c->ev_head = e->next;
        if (c->ev_head == NULL)
            c->ev_tail = &c->ev_head;
        e->queued = 0; /* the handler may queue it again */
        pkc_conn_event ev = e->ev;
        char line[PKC_CAND_LINE_MAX];
        if (ev.kind == PKC_CONN_EV_CANDIDATE && e != &c->eoc_ev) {
            pkc_cand_format(&((const trickle_slot *)(const void *)e)->cand, line, sizeof line);
            ev.text = line;
        }
        int stop = h(arg, c, &ev);
        free_event(e); /* (a CLOSE's node is in the channel, freed next) */
        if (ev.kind == PKC_CONN_EV_CLOSE && !stop) {
            unlink_channel(c, ev.ch);
            free_channel(ev.ch);
        }
        if (stop)
            return;
    }
}

/* ---- output ------------------------------------------------------------------- */

static void send_data(pkc_conn *c, const uint8_t *p, size_t n)
{
    pkc_addr l, r;
    if (!pkc_ice_selected(c->ice, &l, &r))
        return;
    c->bytes_sent += n;
    pkc_ice_note_sent(c->ice, c->now);
    c->io.send(c->io.user, &l, &r, p, n);
}

static void ice_send(void *u, const pkc_addr *l, const pkc_addr *r, const uint8_t *p, size_t n)
{
    pkc_conn *c = u;
    c->bytes_sent += n;
    c->io.send(c->io.user, l, r, p, n);
}

static void dtls_send(void *u, const uint8_t *p, size_t n)
{
    send_data(u, p, n);
}

static void sctp_send_cb(void *u, const uint8_t *p, size_t n)
{
    pkc_conn *c = u;
    if (c->dtls && pkc_dtls_get_state(c->dtls) == PKC_DTLS_CONNECTED)
        (void)pkc_dtls_send(c->dtls, p, n);
}

/* ---- channels: sending ------------------------------------------------------------ */

static void flush_channels(pkc_conn *c);

static int pr_policy(const pkc_rtc_channel *ch, uint32_t *value)
{
    if (ch->opts.max_retransmits >= 0) {
        *value = (uint32_t)ch->opts.max_retransmits;
        return PKC_SCTP_PR_RTX;
    }
    if (ch->opts.max_lifetime_ms >= 0) {
        *value = (uint32_t)ch->opts.max_lifetime_ms;
        return PKC_SCTP_PR_TTL;
    }
    *value = 0;
    return PKC_SCTP_PR_NONE;
}

static uint8_t dcep_channel_type(const pkc_rtc_channel *ch)
{
    uint8_t t = ch->opts.max_retransmits >= 0  ? PKC_DCEP_PARTIAL_RELIABLE_REXMIT
                : ch->opts.max_lifetime_ms >= 0 ? PKC_DCEP_PARTIAL_RELIABLE_TIMED
                                                : PKC_DCEP_RELIABLE;
    return ch->opts.ordered ? t : (uint8_t)(t | PKC_DCEP_UNORDERED_BIT);
}

static int send_open(pkc_conn *c, pkc_rtc_channel *ch)
{
    pkc_buf b;
    pkc_buf_init(&b);
    pkc_dcep_open o;
    memset(&o, 0, sizeof o);
    o.channel_type = dcep_channel_type(ch);
    o.priority = ch->opts.priority;
    uint32_t v;
    pr_policy(ch, &v);
    o.reliability = v;
    o.label = ch->label;
    o.label_len = strlen(ch->label);
    o.protocol = ch->protocol;
    o.protocol_len = strlen(ch->protocol);
    int rc = pkc_dcep_write_open(&b, &o);
    if (rc == 0)
        rc = pkc_sctp_send(c->sctp, (uint16_t)ch->id, PKC_PPID_DCEP, b.data, b.len, 0,
                           PKC_SCTP_PR_NONE, 0);
    pkc_buf_free(&b);
    if (rc == 0)
        ch->open_sent = 1;
    return rc;
}

/* Pushes queued messages of `ch` into SCTP until it refuses. Returns 1 if
 * the channel was blocked. */
static int flush_channel(pkc_conn *c, pkc_rtc_channel *ch)
{
    if (ch->id < 0 || !c->sctp_up || ch->state == PKC_RTC_CHANNEL_CLOSED)
        return 0;
    if (ch->ours && !ch->open_sent && !ch->opts.negotiated) {
        int rc = send_open(c, ch);
        if (rc == PKC_ERR_AGAIN)
            return 1;
        if (rc) {
            pkc_logw(LOG, "channel %d: DCEP OPEN failed: %s", ch->id, pkc_errmsg());
            return 0;
        }
        /* Open once the OPEN is on its way, as browsers do: RFC 8832 lets
         * us send before the ACK, and until the ACK our messages stay
         * ordered behind the OPEN. */
        if (ch->state == PKC_RTC_CHANNEL_CONNECTING) {
            ch->state = PKC_RTC_CHANNEL_OPEN;
            channel_event(c, PKC_CONN_EV_OPEN, ch);
        }
    }
    size_t before = ch->buffered;
    while (ch->head) {
        msg *m = ch->head;
        uint32_t v;
        int pr = pr_policy(ch, &v);
        /* Until the peer acknowledged the OPEN, keep order so that no
         * message overtakes it (RFC 8832 6). */
        int unordered = !ch->opts.ordered && ch->acked;
        static const uint8_t zero = 0;
        int rc = pkc_sctp_send(c->sctp, (uint16_t)ch->id, m->ppid, m->len ? m->data : &zero,
                               m->len ? m->len : 1, unordered, pr, v);
        if (rc == PKC_ERR_AGAIN)
            break;
        if (rc)
            pkc_logw(LOG, "channel %d: message of %zu bytes dropped: %s", ch->id, m->len, pkc_errmsg());
        ch->head = m->next;
        if (ch->head == NULL)
            ch->tail = &ch->head;
        ch->buffered -= m->len;
        free(m);
    }
    if (before > ch->low_threshold && ch->buffered <= ch->low_threshold)
        channel_event(c, PKC_CONN_EV_LOW, ch);
    return ch->head != NULL;
}

static void flush_channels(pkc_conn *c)
{
    if (!c->sctp_up)
        return;
    for (pkc_rtc_channel *ch = c->channels; ch; ch = ch->next) {
        if (ch->out_reset_pending && ch->head == NULL) {
            if (pkc_sctp_reset(c->sctp, (uint16_t)ch->id) == 0)
                ch->out_reset_pending = 0;
        }
        flush_channel(c, ch);
    }
    pkc_sctp_poll(c->sctp);
}

static pkc_rtc_channel *find_channel(pkc_conn *c, int id)
{
    for (pkc_rtc_channel *ch = c->channels; ch; ch = ch->next)
        if (ch->id == id)
            return ch;
    return NULL;
}

static int max_channels(const pkc_conn *c)
{
    return c->cfg.max_channels ? c->cfg.max_channels : PKC_SCTP_STREAMS;
}

/* Even ids for the DTLS client, odd for the server (RFC 8832 6). */
static int assign_id(pkc_conn *c, pkc_rtc_channel *ch)
{
    for (int id = c->dtls_role == 1 ? 0 : 1; id < max_channels(c); id += 2)
        if (find_channel(c, id) == NULL) {
            ch->id = id;
            return 0;
        }
    return pkc_error_code(PKC_ERR_RANGE);
}

static void close_channel_now(pkc_conn *c, pkc_rtc_channel *ch)
{
    if (ch->close_queued)
        return;
    ch->state = PKC_RTC_CHANNEL_CLOSED;
    ch->close_queued = 1;
    channel_event(c, PKC_CONN_EV_CLOSE, ch);
}

/* ---- SCTP callbacks --------------------------------------------------------------------- */

static void on_dcep(pkc_conn *c, uint16_t sid, const uint8_t *p, size_t n)
{
    uint8_t type;
    pkc_dcep_open o;
    if (pkc_dcep_parse(p, n, &type, &o) != 0) {
        pkc_logw(LOG, "stream %u: bad DCEP message dropped: %s", sid, pkc_errmsg());
        return;
    }
    pkc_rtc_channel *ch = find_channel(c, sid);
    if (type == PKC_DCEP_ACK) {
        if (ch && ch->ours && !ch->acked) {
            ch->acked = 1;
            if (ch->state == PKC_RTC_CHANNEL_CONNECTING) {
                ch->state = PKC_RTC_CHANNEL_OPEN;
                channel_event(c, PKC_CONN_EV_OPEN, ch);
            }
        }
        return;
    }
    /* The peer's streams have the other parity. */
    if ((int)(sid % 2) == (c->dtls_role == 1 ? 0 : 1)) {
        pkc_logw(LOG, "stream %u: DCEP OPEN on a stream id of our parity: ignored", sid);
        return;
    }
    if (ch != NULL) {
        pkc_logw(LOG, "stream %u: DCEP OPEN for a stream in use: ignored", sid);
        return;
    }
    ch = calloc(1, sizeof *ch);
    char *label = malloc(o.label_len + 1), *proto = malloc(o.protocol_len + 1);
    if (ch == NULL || label == NULL || proto == NULL) {
        free(ch);
        free(label);
        free(proto);
        /* Refuse it rather than leave the peer with a channel we never
         * reported: resetting the stream closes it at the peer. */
        pkc_loge(LOG, "stream %u: out of memory for the channel the peer opened: refused", sid);
        (void)pkc_sctp_reset(c->sctp, sid);
        return;
    }
    memcpy(label, o.label, o.label_len);
    label[o.label_len] = '\0';
    memcpy(proto, o.protocol, o.protocol_len);
    proto[o.protocol_len] = '\0';
    ch->conn = c;
    ch->label = label;
    ch->protocol = proto;
    pkc_rtc_channel_options_default(&ch->opts);
    ch->opts.ordered = !(o.channel_type & PKC_DCEP_UNORDERED_BIT);
    uint8_t rel = o.channel_type & (uint8_t)~PKC_DCEP_UNORDERED_BIT;
    if (rel == PKC_DCEP_PARTIAL_RELIABLE_REXMIT)
        ch->opts.max_retransmits = (int)(o.reliability > INT32_MAX ? INT32_MAX : o.reliability);
    else if (rel == PKC_DCEP_PARTIAL_RELIABLE_TIMED)
        ch->opts.max_lifetime_ms = (int)(o.reliability > INT32_MAX ? INT32_MAX : o.reliability);
    ch->opts.priority = o.priority;
    ch->opts.protocol = ch->protocol;
    ch->id = sid;
    ch->acked = 1;
    ch->state = PKC_RTC_CHANNEL_OPEN;
    ch->tail = &ch->head;
    ch->next = c->channels;
    c->channels = ch;
    pkc_buf b;
    pkc_buf_init(&b);
    pkc_dcep_write_ack(&b);
    int rc = pkc_sctp_send(c->sctp, sid, PKC_PPID_DCEP, b.data, b.len, 0, PKC_SCTP_PR_NONE, 0);
    pkc_buf_free(&b);
    if (rc)
        pkc_logw(LOG, "stream %u: DCEP ACK not sent: %s", sid, pkc_errmsg());
    pkc_logd(LOG, "channel %u '%s' opened by the peer (type 0x%02x)", sid, label, o.channel_type);
    channel_event(c, PKC_CONN_EV_CHANNEL, ch);
}

/* The connection cannot go on (out of memory where nothing may be lost,
 * DTLS or SCTP could not start): channels close, the application hears
 * FAILED, and DTLS says close_notify (after the state: the close_notify
 * would otherwise make it CLOSED). */
static void fail_conn(pkc_conn *c, const char *why)
{
    pkc_loge(LOG, "peer connection failed: %s", why);
    for (pkc_rtc_channel *ch = c->channels; ch; ch = ch->next)
        close_channel_now(c, ch);
    set_state(c, PKC_RTC_FAILED);
    if (c->dtls)
        pkc_dtls_close(c->dtls);
}

static void on_sctp_message(void *u, uint16_t sid, uint32_t ppid, uint8_t *data, size_t len)
{
    pkc_conn *c = u;
    if (ppid == PKC_PPID_DCEP) {
        on_dcep(c, sid, data, len);
        free(data);
        return;
    }
    pkc_rtc_channel *ch = find_channel(c, sid);
    if (ch == NULL || ch->state == PKC_RTC_CHANNEL_CLOSED || ch->in_reset) {
        pkc_logd(LOG, "stream %u: message for no open channel dropped", sid);
        free(data);
        return;
    }
    int binary;
    switch (ppid) {
    case PKC_PPID_STRING:
    case 52: /* deprecated partial string */
        binary = 0;
        break;
    case PKC_PPID_BINARY:
    case 54: /* deprecated partial binary */
        binary = 1;
        break;
    case PKC_PPID_STRING_EMPTY:
        binary = 0;
        len = 0;
        break;
    case PKC_PPID_BINARY_EMPTY:
        binary = 1;
        len = 0;
        break;
    default:
        pkc_logw(LOG, "stream %u: unknown PPID %u: message dropped", sid, ppid);
        free(data);
        return;
    }
    /* A message on a channel we opened implies the peer accepted it. */
    if (ch->ours && !ch->acked) {
        ch->acked = 1;
        if (ch->state == PKC_RTC_CHANNEL_CONNECTING) {
            ch->state = PKC_RTC_CHANNEL_OPEN;
            channel_event(c, PKC_CONN_EV_OPEN, ch);
        }
    }
    event *e = calloc(1, sizeof *e);
    if (e == NULL) {
        free(data);
        fail_conn(c, "out of memory: a received message could not be queued");
        return;
    }
    e->ev = (pkc_conn_event){.kind = PKC_CONN_EV_MESSAGE, .ch = ch, .data = data, .len = len,
                             .binary = binary};
    e->heap = 1;
    e->owned = data;
    push_event(c, e);
}

static void on_sctp_connected(void *u)
{
    pkc_conn *c = u;
    c->sctp_up = 1;
    for (pkc_rtc_channel *ch = c->channels; ch; ch = ch->next) {
        if (ch->id < 0 && assign_id(c, ch) != 0) {
            pkc_logw(LOG, "channel '%s': no stream id left", ch->label);
            close_channel_now(c, ch);
            continue;
        }
        if (ch->opts.negotiated && ch->state == PKC_RTC_CHANNEL_CONNECTING) {
            ch->state = PKC_RTC_CHANNEL_OPEN;
            channel_event(c, PKC_CONN_EV_OPEN, ch);
        }
    }
    set_state(c, PKC_RTC_CONNECTED);
    flush_channels(c);
}

static void on_sctp_closed(void *u, int lost)
{
    pkc_conn *c = u;
    c->sctp_up = 0;
    if (lost == 2) {
        fail_conn(c, "out of memory: SCTP could not queue an event");
        return;
    }
    for (pkc_rtc_channel *ch = c->channels; ch; ch = ch->next)
        close_channel_now(c, ch);
    if (c->dtls)
        pkc_dtls_close(c->dtls);
    set_state(c, lost && !c->closing ? PKC_RTC_FAILED : PKC_RTC_CLOSED);
}

static void on_sctp_reset(void *u, uint16_t sid, int incoming)
{
    pkc_conn *c = u;
    pkc_rtc_channel *ch = find_channel(c, sid);
    if (ch == NULL)
        return;
    if (incoming) {
        ch->in_reset = 1;
        if (!ch->out_reset) {
            /* The peer closed: close our direction too. */
            ch->out_reset = 1;
            ch->state = PKC_RTC_CHANNEL_CLOSING;
            if (pkc_sctp_reset(c->sctp, sid) != 0)
                ch->out_reset_pending = 1;
        }
        close_channel_now(c, ch);
    }
    /* Our own reset completed: the channel closes when the peer resets
     * its direction (it does so on seeing ours). */
}

static void on_sctp_writable(void *u)
{
    flush_channels(u);
}

/* ---- DTLS callbacks ----------------------------------------------------------------------- */

static void dtls_recv(void *u, const uint8_t *p, size_t n)
{
    pkc_conn *c = u;
    if (c->sctp)
        pkc_sctp_input(c->sctp, p, n);
}

static void dtls_state(void *u, pkc_dtls_state s)
{
    pkc_conn *c = u;
    if (s == PKC_DTLS_CONNECTED) {
        const pkc_fingerprint *fp = pkc_dtls_peer_fingerprint(c->dtls);
        if (fp)
            pkc_fingerprint_format(fp, c->remote_fp_text, sizeof c->remote_fp_text);
        if (c->sctp == NULL) {
            pkc_sctp_callbacks cb = {sctp_send_cb,    on_sctp_message,  on_sctp_connected,
                                     on_sctp_closed,  on_sctp_reset,    on_sctp_writable,
                                     c};
            if (pkc_sctp_new(PKC_SCTP_PORT, c->cfg.max_message_size, max_channels(c), &cb, &c->sctp) != 0 ||
                pkc_sctp_connect(c->sctp, c->remote_sctp_port ? c->remote_sctp_port : PKC_SCTP_PORT) != 0)
                fail_conn(c, pkc_errmsg()); /* close_notify tells the peer */
        }
    } else if (s == PKC_DTLS_FAILED) {
        fail_conn(c, pkc_dtls_error(c->dtls));
    } else if (s == PKC_DTLS_CLOSED && !c->closing) {
        for (pkc_rtc_channel *ch = c->channels; ch; ch = ch->next)
            close_channel_now(c, ch);
        set_state(c, PKC_RTC_CLOSED);
    }
}

/* ---- ICE callbacks ------------------------------------------------------------------------- */

static void maybe_start_dtls(pkc_conn *c)
{
    if (c->dtls == NULL || c->dtls_role < 0 || pkc_dtls_get_state(c->dtls) != PKC_DTLS_NEW)
        return;
    if (!pkc_ice_selected(c->ice, NULL, NULL))
        return;
    pkc_logd(LOG, "DTLS: starting as %s", c->dtls_role ? "client" : "server");
    (void)pkc_dtls_start(c->dtls, c->dtls_role, c->now);
}

static void ice_candidate(void *u, const pkc_cand *cand)
{
    pkc_conn *c = u;
    if (cand == NULL) {
        if (!c->eoc_ev.queued) {
            c->eoc_ev.ev = (pkc_conn_event){.kind = PKC_CONN_EV_CANDIDATE, .text = NULL};
            push_event(c, &c->eoc_ev);
        }
        return;
    }
    trickle_slot *t = &c->trickle[c->trickle_next];
    if (t->e.queued) {
        /* Every slot waits for dispatch (gathering twice over without one):
         * the candidate is still in pkc_conn_local_description(). */
        pkc_logw(LOG, "too many candidates queued: one is left to the local description");
        return;
    }
    c->trickle_next = (c->trickle_next + 1) % TRICKLE_EVENTS;
    t->cand = *cand;
    t->e.ev = (pkc_conn_event){.kind = PKC_CONN_EV_CANDIDATE};
    push_event(c, &t->e);
}

static void ice_state(void *u, pkc_ice_state s)
{
    pkc_conn *c = u;
    switch (s) {
    case PKC_ICE_CHECKING:
        if (c->state == PKC_RTC_NEW)
            set_state(c, PKC_RTC_CONNECTING);
        break;
    case PKC_ICE_CONNECTED:
    case PKC_ICE_COMPLETED:
        if (c->state == PKC_RTC_DISCONNECTED)
            set_state(c, c->sctp_up ? PKC_RTC_CONNECTED : PKC_RTC_CONNECTING);
        else if (c->state == PKC_RTC_NEW)
            set_state(c, PKC_RTC_CONNECTING);
        maybe_start_dtls(c);
        break;
    case PKC_ICE_DISCONNECTED:
        set_state(c, PKC_RTC_DISCONNECTED);
        break;
    case PKC_ICE_FAILED:
        for (pkc_rtc_channel *ch = c->channels; ch; ch = ch->next)
            close_channel_now(c, ch);
        set_state(c, PKC_RTC_FAILED);
        break;
    default:
        break;
    }
}

static void ice_selected(void *u, const pkc_addr *l, const pkc_addr *r)
{
    (void)l;
    (void)r;
    maybe_start_dtls(u);
}

static void ice_remote_seen(void *u, const pkc_addr *r)
{
    pkc_conn *c = u;
    if (c->io.remote_seen)
        c->io.remote_seen(c->io.user, r);
}

/* ---- lifecycle -------------------------------------------------------------------------------- */

int pkc_conn_new(const pkc_conn_config *cfg, const pkc_conn_io *io, const pkc_rng *rng,
                 pkc_conn **out)
{
    pkc_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    c->cfg = *cfg;
    c->io = *io;
    c->rng = rng;
    c->ev_tail = &c->ev_head;
    c->dtls_role = -1;
    c->session_id = pkc_rng_u64(rng) >> 2;
    c->session_version = 1;
    c->remote_mms = 65536;
    snprintf(c->mid, sizeof c->mid, "0");
    pkc_ice_callbacks icb = {ice_send, ice_candidate, ice_state, ice_selected, ice_remote_seen, c};
    int rc = pkc_ice_new(&cfg->ice, &icb, rng, &c->ice);
    if (rc == 0) {
        pkc_dtls_callbacks dcb = {dtls_send, dtls_recv, dtls_state, c};
        rc = pkc_dtls_new(cfg->cert, &dcb, &c->dtls);
    }
    if (rc) {
        pkc_ice_free(c->ice);
        free(c);
        return rc;
    }
    c->cfg.cert = pkc_cert_ref(cfg->cert);
    *out = c;
    return 0;
}

void pkc_conn_free(pkc_conn *c)
{
    if (c == NULL)
        return;
    c->closing = 1;
    if (c->sctp) {
        pkc_sctp *s = c->sctp;
        c->sctp = NULL;
        c->sctp_up = 0;
        pkc_sctp_free(s); /* its ABORT goes out through DTLS */
    }
    if (c->dtls) {
        pkc_dtls_close(c->dtls);
        pkc_dtls_free(c->dtls);
    }
    pkc_ice_free(c->ice);
    for (event *e = c->ev_head; e;) { /* before the channels that hold nodes */
        event *n = e->next;
        free_event(e);
        e = n;
    }
    for (pkc_rtc_channel *ch = c->channels; ch;) {
        pkc_rtc_channel *n = ch->next;
        free_channel(ch);
        ch = n;
    }
    pkc_cert_unref(c->cfg.cert);
    free(c);
}

void pkc_conn_close(pkc_conn *c)
{
    if (c->state == PKC_RTC_CLOSED)
        return;
    c->closing = 1;
    for (pkc_rtc_channel *ch = c->channels; ch; ch = ch->next)
        close_channel_now(c, ch);
    if (c->sctp) {
        pkc_sctp *s = c->sctp;
        c->sctp = NULL;
        c->sctp_up = 0;
        pkc_sctp_free(s); /* ABORT through DTLS */
    }
    if (c->dtls)
        pkc_dtls_close(c->dtls);
    pkc_ice_close(c->ice);
    pkc_rtc_state prev = c->state;
    c->state = PKC_RTC_CLOSED;
    if (prev != PKC_RTC_FAILED)
        queue_state(c, PKC_RTC_CLOSED);
}

void pkc_conn_set_owner(pkc_conn *c, void *owner)
{
    c->owner = owner;
}

void *pkc_conn_owner(const pkc_conn *c)
{
    return c->owner;
}

int pkc_conn_add_host(pkc_conn *c, const pkc_addr *a)
{
    return pkc_ice_add_host(c->ice, a);
}

void pkc_conn_set_stun_servers(pkc_conn *c, const pkc_addr *servers, size_t n)
{
    c->n_stun = n > PKC_ICE_MAX_STUN_SERVERS ? PKC_ICE_MAX_STUN_SERVERS : n;
    memcpy(c->stun, servers, c->n_stun * sizeof *servers);
}

/* ---- signalling ---------------------------------------------------------------------------------- */

static int write_description(pkc_conn *c, char **out)
{
    pkc_sdp *d = calloc(1, sizeof *d);
    if (d == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    d->session_id = c->session_id;
    d->session_version = c->session_version;
    if (c->n_media) {
        memcpy(d->media, c->media, sizeof c->media);
        d->n_media = c->n_media;
        d->data_index = c->data_index;
    } else {
        d->n_media = 1;
        pkc_sdp_media_datachannel(&d->media[0], c->mid);
    }
    snprintf(d->ice_ufrag, sizeof d->ice_ufrag, "%s", pkc_ice_local_ufrag(c->ice));
    snprintf(d->ice_pwd, sizeof d->ice_pwd, "%s", pkc_ice_local_pwd(c->ice));
    d->ice_lite = c->lite;
    d->ice_trickle = 1;
    d->fingerprint = c->cfg.cert->fingerprint;
    d->setup = c->local_setup;
    d->sctp_port = PKC_SCTP_PORT;
    d->has_max_message_size = 1;
    d->max_message_size = c->cfg.max_message_size;
    d->n_cands = pkc_ice_local_candidates(c->ice, d->cands, PKC_SDP_MAX_CANDIDATES);
    d->end_of_candidates = pkc_ice_gathering_done(c->ice) && c->gather_started;
    int rc = pkc_sdp_write_string(d, out);
    free(d);
    return rc;
}

static void start_gathering(pkc_conn *c, uint64_t now)
{
    if (c->gather_hold) {
        c->gather_wanted = 1;
        return;
    }
    if (c->gather_started)
        return;
    c->gather_started = 1;
    pkc_ice_gather(c->ice, c->stun, c->n_stun, now);
}

void pkc_conn_hold_gathering(pkc_conn *c)
{
    c->gather_hold = 1;
}

void pkc_conn_release_gathering(pkc_conn *c, uint64_t now)
{
    c->gather_hold = 0;
    if (c->gather_wanted)
        start_gathering(c, now);
}

int pkc_conn_create_offer(pkc_conn *c, uint64_t now, char **sdp)
{
    c->now = now;
    if (c->state == PKC_RTC_CLOSED)
        return pkc_error(PKC_ERR_STATE, "the connection is closed");
    if (c->remote_offer_pending)
        return pkc_error(PKC_ERR_STATE, "an offer from the peer awaits our answer");
    if (c->lite)
        return pkc_error(PKC_ERR_STATE, "an ICE-lite connection does not make offers");
    pkc_ice_set_controlling(c->ice, 1);
    /* JSEP 5.2.2: later offers keep the DTLS role already in place. */
    c->local_setup = c->dtls_role < 0 ? PKC_SETUP_ACTPASS
                     : c->dtls_role   ? PKC_SETUP_ACTIVE
                                      : PKC_SETUP_PASSIVE;
    if (c->have_local)
        c->session_version++;
    c->local_offer_pending = 1;
    c->have_local = 1;
    int rc = write_description(c, sdp);
    start_gathering(c, now);
    return rc;
}

int pkc_conn_create_answer(pkc_conn *c, uint64_t now, char **sdp)
{
    c->now = now;
    if (!c->remote_offer_pending)
        return pkc_error(PKC_ERR_STATE, "no offer to answer");
    if (c->have_local)
        c->session_version++;
    c->have_local = 1;
    c->remote_offer_pending = 0;
    int rc = write_description(c, sdp);
    start_gathering(c, now);
    maybe_start_dtls(c);
    return rc;
}

int pkc_conn_local_description(pkc_conn *c, char **sdp)
{
    if (!c->have_local)
        return pkc_error(PKC_ERR_STATE, "no local description yet");
    return write_description(c, sdp);
}

int pkc_conn_set_remote(pkc_conn *c, pkc_rtc_sdp_type type, const char *text, size_t len,
                        uint64_t now)
{
    c->now = now;
    if (c->state == PKC_RTC_CLOSED)
        return pkc_error(PKC_ERR_STATE, "the connection is closed");
    if (type == PKC_RTC_ANSWER && !c->local_offer_pending)
        return pkc_error(PKC_ERR_STATE, "an answer without an offer of ours");
    if (type == PKC_RTC_OFFER && c->local_offer_pending)
        return pkc_error(PKC_ERR_STATE, "the peer's offer crossed ours (glare): not supported");
    pkc_sdp *d = malloc(sizeof *d);
    if (d == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    int rc = pkc_sdp_parse(text, len, d);
    if (rc) {
        free(d);
        return rc;
    }
    /* Roles: DTLS from a=setup (RFC 8842), ICE from who offered. */
    int role = -1;
    if (type == PKC_RTC_OFFER) {
        if (d->setup == PKC_SETUP_PASSIVE)
            role = 1;
        else if (d->setup == PKC_SETUP_ACTIVE)
            role = 0;
        else if (d->setup == PKC_SETUP_ACTPASS || d->setup == PKC_SETUP_NONE)
            role = c->dtls_role >= 0 ? c->dtls_role : 1;
    } else {
        if (d->setup == PKC_SETUP_ACTIVE || d->setup == PKC_SETUP_NONE)
            role = 0;
        else if (d->setup == PKC_SETUP_PASSIVE)
            role = 1;
    }
    if (role < 0) {
        pkc_dtls_setup bad = d->setup;
        free(d);
        return pkc_error(PKC_ERR_SDP, "SDP: a=setup:%s is not valid in an %s",
                         pkc_dtls_setup_name(bad), type == PKC_RTC_OFFER ? "offer" : "answer");
    }
    if (c->dtls_role >= 0 && role != c->dtls_role) {
        free(d);
        return pkc_error(PKC_ERR_SDP, "SDP: the description changes the established DTLS role");
    }
    if (c->have_remote_fp && (d->fingerprint.alg != c->remote_fp.alg ||
                              memcmp(d->fingerprint.bytes, c->remote_fp.bytes, d->fingerprint.len))) {
        free(d);
        return pkc_error(PKC_ERR_SDP, "SDP: the description changes the peer's certificate");
    }
    if (d->ice_lite && c->lite) {
        free(d);
        return pkc_error(PKC_ERR_SDP, "SDP: both sides are ICE-lite");
    }
    int restart = pkc_ice_set_remote_creds(c->ice, d->ice_ufrag, d->ice_pwd, now);
    if (restart < 0) {
        free(d);
        return pkc_error(PKC_ERR_SDP, "SDP: bad ICE credentials");
    }
    if (restart == 1 && type == PKC_RTC_OFFER && !c->lite) {
        /* The peer restarted ICE: our answer carries new credentials too
         * (RFC 8445 9). */
        pkc_ice_restart(c->ice, now);
    }
    if (type == PKC_RTC_OFFER) {
        /* The answer mirrors the offer's sections. */
        memcpy(c->media, d->media, sizeof c->media);
        c->n_media = d->n_media;
        c->data_index = d->data_index;
        snprintf(c->mid, sizeof c->mid, "%s", d->media[d->data_index].mid);
        c->local_setup = role ? PKC_SETUP_ACTIVE : PKC_SETUP_PASSIVE;
        c->remote_offer_pending = 1;
        pkc_ice_set_controlling(c->ice, d->ice_lite);
    } else {
        c->local_offer_pending = 0;
        pkc_ice_set_controlling(c->ice, 1);
    }
    c->dtls_role = role;
    c->have_remote = 1;
    c->remote_fp = d->fingerprint;
    c->have_remote_fp = 1;
    pkc_dtls_set_remote_fingerprint(c->dtls, &d->fingerprint);
    c->remote_mms = d->has_max_message_size ? d->max_message_size : 65536;
    c->remote_sctp_port = d->sctp_port;
    for (size_t i = 0; i < d->n_cands; i++)
        pkc_ice_add_remote(c->ice, &d->cands[i], now);
    if (d->end_of_candidates)
        pkc_ice_remote_done(c->ice, now);
    pkc_logd(LOG, "remote %s: ufrag %s, %zu candidates (%zu ignored), setup %s, we are DTLS %s",
             type == PKC_RTC_OFFER ? "offer" : "answer", d->ice_ufrag, d->n_cands,
             d->n_ignored_cands, pkc_dtls_setup_name(d->setup), role ? "client" : "server");
    free(d);
    if (c->state == PKC_RTC_NEW)
        set_state(c, PKC_RTC_CONNECTING);
    if (type == PKC_RTC_ANSWER)
        maybe_start_dtls(c);
    return 0;
}

int pkc_conn_add_candidate(pkc_conn *c, const char *line, uint64_t now)
{
    c->now = now;
    if (line == NULL || line[0] == '\0') {
        pkc_ice_remote_done(c->ice, now);
        return 0;
    }
    size_t n = strlen(line);
    const char *l = line;
    if (n >= 2 && l[0] == 'a' && l[1] == '=') {
        l += 2;
        n -= 2;
    }
    if (n == 17 && memcmp(l, "end-of-candidates", 17) == 0) {
        pkc_ice_remote_done(c->ice, now);
        return 0;
    }
    pkc_cand cand;
    pkc_cand_parse_result r;
    int rc = pkc_cand_parse(l, n, &cand, &r);
    if (rc)
        return rc;
    if (r == PKC_CAND_IGNORED)
        return 0;
    return pkc_ice_add_remote(c->ice, &cand, now);
}

void pkc_conn_restart_ice(pkc_conn *c, uint64_t now)
{
    pkc_ice_restart(c->ice, now);
}

int pkc_conn_accept_lite(pkc_conn *c, const char *ufrag, const char *pwd, uint64_t now)
{
    (void)now;
    c->lite = 1;
    pkc_ice_set_lite(c->ice);
    int rc = pkc_ice_set_local_creds(c->ice, ufrag, pwd);
    if (rc)
        return rc;
    c->dtls_role = 0;
    /* The peer's a=max-message-size was never seen: assume what every
     * browser and pkc advertise. */
    c->remote_mms = 262144;
    c->have_local = c->have_remote = 1;
    c->gather_started = 1;
    c->state = PKC_RTC_CONNECTING;
    return 0;
}

/* ---- input and time --------------------------------------------------------------------------------- */

void pkc_conn_input(pkc_conn *c, const pkc_addr *local, const pkc_addr *remote,
                    const uint8_t *data, size_t len, uint64_t now)
{
    c->now = now;
    if (len == 0 || c->state == PKC_RTC_CLOSED)
        return;
    c->bytes_received += len;
    uint8_t b = data[0];
    if (b < 4) {
        (void)pkc_ice_input(c->ice, local, remote, data, len, now);
    } else if (b >= 20 && b <= 63) {
        if (!pkc_ice_accept_data(c->ice, remote, now)) {
            char rs[PKC_ADDR_STRLEN];
            pkc_logd(LOG, "DTLS datagram from %s, which ICE did not validate: dropped",
                     pkc_addr_string(remote, rs, sizeof rs));
            return;
        }
        if (c->dtls)
            (void)pkc_dtls_input(c->dtls, data, len, now);
        if (c->sctp) {
            pkc_sctp_poll(c->sctp);
            flush_channels(c);
        }
    }
    /* 64..79 TURN channels, 128..191 RTP: not for data channels. */
}

void pkc_conn_timeout(pkc_conn *c, uint64_t now)
{
    c->now = now;
    pkc_ice_timeout(c->ice, now);
    if (c->dtls)
        pkc_dtls_timeout(c->dtls, now);
    if (c->sctp && pkc_sctp_deadline(c->sctp) <= now) {
        pkc_sctp_timeout(c->sctp, now);
        pkc_sctp_poll(c->sctp);
        flush_channels(c);
    }
}

uint64_t pkc_conn_deadline(const pkc_conn *c)
{
    uint64_t a = pkc_ice_deadline(c->ice);
    uint64_t b = c->dtls ? pkc_dtls_deadline(c->dtls) : UINT64_MAX;
    uint64_t d = c->sctp ? pkc_sctp_deadline(c->sctp) : UINT64_MAX;
    if (b < a)
        a = b;
    return d < a ? d : a;
}

void pkc_conn_poll_sctp(pkc_conn *c)
{
    if (c->sctp) {
        pkc_sctp_poll(c->sctp);
        flush_channels(c);
    }
}

int pkc_conn_has_sctp(const pkc_conn *c)
{
    return c->sctp != NULL;
}

pkc_rtc_state pkc_conn_state(const pkc_conn *c)
{
    return c->state;
}

int pkc_conn_gathering_done(const pkc_conn *c)
{
    return c->gather_started && pkc_ice_gathering_done(c->ice);
}

const char *pkc_conn_remote_fingerprint(pkc_conn *c)
{
    return c->remote_fp_text[0] ? c->remote_fp_text : NULL;
}

pkc_ice_agent *pkc_conn_ice(pkc_conn *c)
{
    return c->ice;
}

void pkc_conn_stats(const pkc_conn *c, pkc_rtc_stats *out)
{
    memset(out, 0, sizeof *out);
    pkc_addr l, r;
    if (pkc_ice_selected(c->ice, &l, &r)) {
        pkc_addr_string(&l, out->local_address, sizeof out->local_address);
        pkc_addr_string(&r, out->remote_address, sizeof out->remote_address);
    }
    pkc_ice_selected_types(c->ice, out->local_type, out->remote_type);
    out->bytes_sent = c->bytes_sent;
    out->bytes_received = c->bytes_received;
    out->dtls_client = c->dtls_role == 1;
    out->ice_controlling = pkc_ice_is_controlling(c->ice);
    out->ice_lite = c->lite;
}

/* ---- the channel API (public) --------------------------------------------------------------------- */

void pkc_rtc_channel_options_default_versioned(int options_version, pkc_rtc_channel_options *out)
{
    pkc_rtc_channel_options o = {
        .ordered = 1, .max_retransmits = -1, .max_lifetime_ms = -1, .priority = 256};
    pkc_struct_write(out, &o, options_version, PKC_STRUCT_V1(pkc_rtc_channel_options));
}

int pkc_conn_channel_new(pkc_conn *c, const char *label, const pkc_rtc_channel_options *opts,
                         pkc_rtc_channel **out)
{
    pkc_rtc_channel_options o;
    if (opts)
        o = *opts;
    else
        pkc_rtc_channel_options_default(&o);
    if (label == NULL)
        label = "";
    if (c->state == PKC_RTC_CLOSED || c->state == PKC_RTC_FAILED)
        return pkc_error(PKC_ERR_STATE, "the connection is %s", pkc_rtc_state_name(c->state));
    if (o.max_retransmits >= 0 && o.max_lifetime_ms >= 0)
        return pkc_error(PKC_ERR_INVALID_ARG, "channel: max_retransmits and max_lifetime_ms together");
    if (o.max_retransmits < -1 || o.max_lifetime_ms < -1 || o.max_retransmits > 65535 ||
        o.max_lifetime_ms > 65535)
        return pkc_error(PKC_ERR_INVALID_ARG, "channel: max_retransmits and max_lifetime_ms are -1 or 0..65535");
    const char *proto = o.protocol ? o.protocol : "";
    if (strlen(label) > 65535 || strlen(proto) > 65535 ||
        !pkc_utf8_valid((const uint8_t *)label, strlen(label), NULL) ||
        !pkc_utf8_valid((const uint8_t *)proto, strlen(proto), NULL))
        return pkc_error(PKC_ERR_INVALID_ARG, "channel: label and protocol must be UTF-8, at most 65535 bytes");
    if (o.negotiated) {
        if (o.id >= max_channels(c))
            return pkc_error(PKC_ERR_RANGE, "channel: id %u is over %d", o.id, max_channels(c) - 1);
        if (find_channel(c, o.id))
            return pkc_error(PKC_ERR_EXISTS, "channel: id %u is in use", o.id);
    }
    pkc_rtc_channel *ch = calloc(1, sizeof *ch);
    if (ch == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    ch->label = strdup(label);
    ch->protocol = strdup(proto);
    if (ch->label == NULL || ch->protocol == NULL) {
        free_channel(ch);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    ch->conn = c;
    ch->opts = o;
    ch->opts.protocol = ch->protocol;
    ch->id = o.negotiated ? o.id : -1;
    ch->ours = !o.negotiated;
    ch->acked = o.negotiated;
    ch->state = PKC_RTC_CHANNEL_CONNECTING;
    ch->tail = &ch->head;
    if (!o.negotiated && c->dtls_role >= 0 && c->sctp_up && assign_id(c, ch) != 0) {
        free_channel(ch);
        return pkc_error(PKC_ERR_RANGE, "channel: no stream id left");
    }
    ch->next = c->channels;
    c->channels = ch;
    if (c->sctp_up) {
        if (o.negotiated) {
            ch->state = PKC_RTC_CHANNEL_OPEN;
            channel_event(c, PKC_CONN_EV_OPEN, ch);
        }
        flush_channel(c, ch);
        pkc_sctp_poll(c->sctp);
    }
    *out = ch;
    return 0;
}

int pkc_rtc_channel_send(pkc_rtc_channel *ch, const void *data, size_t len, int binary)
{
    pkc_conn *c = ch->conn;
    if (ch->state == PKC_RTC_CHANNEL_CLOSING || ch->state == PKC_RTC_CHANNEL_CLOSED)
        return pkc_error(PKC_ERR_CLOSED, "channel '%s' is closed", ch->label);
    uint64_t limit = c->remote_mms ? c->remote_mms : UINT64_MAX;
    if (limit > PKC_RTC_SEND_MAX)
        limit = PKC_RTC_SEND_MAX;
    if (len > limit)
        return pkc_error(PKC_ERR_TOO_LARGE, "message of %zu bytes: the peer accepts at most %" PRIu64,
                         len, limit);
    if (ch->buffered + len > c->cfg.max_buffered_amount)
        return pkc_error(PKC_ERR_AGAIN, "channel '%s': %zu bytes buffered already", ch->label,
                         ch->buffered);
    if (!binary && !pkc_utf8_valid(data, len, NULL))
        return pkc_error(PKC_ERR_MALFORMED, "text message is not valid UTF-8");
    msg *m = malloc(sizeof *m + len);
    if (m == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    m->next = NULL;
    m->len = len;
    m->ppid = binary ? (len ? PKC_PPID_BINARY : PKC_PPID_BINARY_EMPTY)
                     : (len ? PKC_PPID_STRING : PKC_PPID_STRING_EMPTY);
    if (len)
        memcpy(m->data, data, len);
    int was_empty = ch->head == NULL;
    *ch->tail = m;
    ch->tail = &m->next;
    ch->buffered += len;
    if (was_empty && c->sctp_up) {
        flush_channel(c, ch);
        pkc_sctp_poll(c->sctp);
    }
    return 0;
}

size_t pkc_rtc_channel_get_buffered_amount(const pkc_rtc_channel *ch)
{
    return ch->buffered;
}

void pkc_rtc_channel_set_buffered_amount_low_threshold(pkc_rtc_channel *ch, size_t threshold)
{
    ch->low_threshold = threshold;
}

void pkc_rtc_channel_close(pkc_rtc_channel *ch)
{
    pkc_conn *c = ch->conn;
    if (ch->state == PKC_RTC_CHANNEL_CLOSING || ch->state == PKC_RTC_CHANNEL_CLOSED)
        return;
    if (!c->sctp_up || ch->id < 0) {
        close_channel_now(c, ch);
        return;
    }
    ch->state = PKC_RTC_CHANNEL_CLOSING;
    ch->out_reset = 1;
    /* Queued messages go first; the reset follows them. */
    if (ch->head == NULL && pkc_sctp_reset(c->sctp, (uint16_t)ch->id) == 0)
        ch->out_reset_pending = 0;
    else
        ch->out_reset_pending = 1;
    pkc_sctp_poll(c->sctp);
}

pkc_rtc_channel_state pkc_rtc_channel_get_state(const pkc_rtc_channel *ch)
{
    return ch->state;
}

const char *pkc_rtc_channel_get_label(const pkc_rtc_channel *ch)
{
    return ch->label;
}

const char *pkc_rtc_channel_get_protocol(const pkc_rtc_channel *ch)
{
    return ch->protocol;
}

int pkc_rtc_channel_get_id(const pkc_rtc_channel *ch)
{
    return ch->id;
}

pkc_rtc_peer *pkc_rtc_channel_get_peer(const pkc_rtc_channel *ch)
{
    return pkc_conn_owner(ch->conn);
}

void pkc_rtc_channel_get_options_versioned(const pkc_rtc_channel *ch, int options_version,
                                           pkc_rtc_channel_options *out)
{
    pkc_rtc_channel_options o = ch->opts;
    if (ch->id >= 0)
        o.id = (uint16_t)ch->id;
    pkc_struct_write(out, &o, options_version, PKC_STRUCT_V1(pkc_rtc_channel_options));
}

void pkc_rtc_channel_set_user_data(pkc_rtc_channel *ch, void *user_data)
{
    ch->user_data = user_data;
}

void *pkc_rtc_channel_get_user_data(const pkc_rtc_channel *ch)
{
    return ch->user_data;
}

const char *pkc_rtc_state_name(pkc_rtc_state s)
{
    static const char *const names[] = {"new", "connecting", "connected", "disconnected",
                                        "failed", "closed"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}
