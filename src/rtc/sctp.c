/* sctp.c: SCTP associations on usrsctp without threads. */
#define _GNU_SOURCE
#include "rtc/sctp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <usrsctp.h>

#include "util/err.h"
#include "util/log.h"
#include "pkc.h"

#define LOG "rtc"
#define SNDBUF (1024 * 1024)
#define RCVBUF (1024 * 1024)

/* What usrsctp handed over, waiting for the owner's poll. */
enum { EV_PACKET, EV_MESSAGE, EV_CONNECTED, EV_CLOSED, EV_RESET, EV_WRITABLE };

typedef struct event {
    struct event *next;
    int kind;
    uint16_t sid;
    uint32_t ppid;
    int flag;
    size_t len;
    uint8_t *data; /* EV_MESSAGE: malloc'd by usrsctp or by reassembly */
    uint8_t inline_data[];
} event;

struct pkc_sctp {
    uint32_t id; /* registry handle, also usrsctp's AF_CONN address */
    struct socket *sock;
    pkc_sctp_callbacks cb;
    uint16_t port;
    size_t max_message;
    uint16_t streams; /* offered each way */
    event *head, **tail; /* under g_lock */
    int writable_pending; /* under g_lock */
    /* Reassembly of a message delivered in parts (usrsctp thread context,
     * under g_lock). */
    uint8_t *part;
    size_t part_len, part_cap;
    int part_discard;
    /* An event that must not be lost (a message, a state change, a reset)
     * could not be queued: nothing more is queued but packets, and the
     * next poll reports the association lost. Under g_lock. */
    int broken, broken_reported;
    int polling;
    int settle_left;    /* heartbeats left to correct the first RTT sample */
    uint64_t settle_at; /* the next one is due then (pkc_sctp_timeout) */
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
/* Registry: handle = slot index + 1 | generation << 20. */
#define SLOT_BITS 20
static pkc_sctp **g_slots;
static uint32_t *g_gens;
static size_t g_nslots, g_live;
static uint64_t g_last_tick_us;
static uint64_t g_tick_rem_us;

static pkc_sctp *lookup_locked(uint32_t id)
{
    size_t slot = (id & ((1u << SLOT_BITS) - 1)) - 1;
    if (id == 0 || slot >= g_nslots || g_slots[slot] == NULL || g_slots[slot]->id != id)
        return NULL;
    return g_slots[slot];
}

static void push_locked(pkc_sctp *s, event *e)
{
    e->next = NULL;
    *s->tail = e;
    s->tail = &e->next;
}

static event *new_event(int kind, size_t inline_len)
{
    event *e = calloc(1, sizeof *e + inline_len);
    if (e)
        e->kind = kind;
    return e;
}

/* Out of memory for an event the owner must see: rather than let the
 * owner's view diverge (a message missing from an ordered stream, a close
 * never reported), the association is reported lost. */
static void break_locked(pkc_sctp *s, const char *what)
{
    if (!s->broken)
        pkc_loge(LOG, "SCTP: out of memory for %s: the association is lost", what);
    s->broken = 1;
}

/* CRC32c (Castagnoli) as SCTP stores it. usrsctp's table-driven code was
 * a tenth of a bulk sender's CPU time; SSE4.2 has an instruction for it. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(const uint8_t *p, size_t n)
{
    uint64_t crc = 0xffffffffu;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        crc = __builtin_ia32_crc32di(crc, v);
        p += 8;
        n -= 8;
    }
    uint32_t c = (uint32_t)crc;
    while (n--)
        c = __builtin_ia32_crc32qi(c, *p++);
    return ~c;
}
#define HAVE_CRC32C_SSE42 1
#endif

uint32_t pkc_sctp_crc32c(const void *buf, size_t len)
{
#ifdef HAVE_CRC32C_SSE42
    static int hw = -1;
    if (hw < 0)
        hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    if (hw)
        return crc32c_sse42(buf, len);
#endif
    return usrsctp_crc32c((void *)buf, len);
}

static int on_output(void *addr, void *buf, size_t len, uint8_t tos, uint8_t set_df)
{
    (void)tos;
    (void)set_df;
    /* CRC32c offload is on (DTLS already authenticates every packet, so
     * incoming checksums are not verified); peers check it: compute it. */
    if (len >= 12) {
        uint8_t *p = buf;
        memset(p + 8, 0, 4);
        uint32_t crc = pkc_sctp_crc32c(buf, len);
        memcpy(p + 8, &crc, 4);
    }
    event *e = new_event(EV_PACKET, len);
    if (e == NULL)
        return 0; /* as if lost; SCTP retransmits */
    e->len = len;
    memcpy(e->inline_data, buf, len);
    pthread_mutex_lock(&g_lock);
    pkc_sctp *s = lookup_locked((uint32_t)(uintptr_t)addr);
    if (s)
        push_locked(s, e);
    pthread_mutex_unlock(&g_lock);
    if (s == NULL)
        free(e);
    return 0;
}

static void handle_notification_locked(pkc_sctp *s, const union sctp_notification *n, size_t len)
{
    if (len < sizeof n->sn_header || s->broken)
        return;
    event *e = NULL;
    switch (n->sn_header.sn_type) {
    case SCTP_ASSOC_CHANGE: {
        const struct sctp_assoc_change *ac = &n->sn_assoc_change;
        if (len < sizeof *ac)
            return;
        if (ac->sac_state == SCTP_COMM_UP) {
            pkc_logd(LOG, "SCTP: association up (%u out, %u in streams)",
                     ac->sac_outbound_streams, ac->sac_inbound_streams);
            e = new_event(EV_CONNECTED, 0);
            if (e == NULL)
                break_locked(s, "the association's start");
        } else if (ac->sac_state == SCTP_COMM_LOST || ac->sac_state == SCTP_CANT_STR_ASSOC ||
                   ac->sac_state == SCTP_SHUTDOWN_COMP) {
            pkc_logd(LOG, "SCTP: association ended (state %u, error %u)", ac->sac_state,
                     ac->sac_error);
            e = new_event(EV_CLOSED, 0);
            if (e)
                e->flag = ac->sac_state != SCTP_SHUTDOWN_COMP;
            else
                break_locked(s, "the association's end");
        }
        break;
    }
    case SCTP_SHUTDOWN_EVENT:
        e = new_event(EV_CLOSED, 0);
        if (e == NULL)
            break_locked(s, "the association's end");
        break;
    case SCTP_STREAM_RESET_EVENT: {
        const struct sctp_stream_reset_event *r = &n->sn_strreset_event;
        if (len < sizeof *r || r->strreset_length > len)
            return;
        size_t count = (r->strreset_length - sizeof *r) / sizeof(uint16_t);
        int incoming = (r->strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN) != 0;
        if (r->strreset_flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)) {
            pkc_logd(LOG, "SCTP: stream reset refused; will retry");
            s->writable_pending = 1;
            return;
        }
        for (size_t i = 0; i < count; i++) {
            event *ev = new_event(EV_RESET, 0);
            if (ev == NULL) {
                break_locked(s, "a stream reset");
                break;
            }
            ev->sid = r->strreset_stream_list[i];
            ev->flag = incoming;
            push_locked(s, ev);
        }
        return;
    }
    case SCTP_SENDER_DRY_EVENT:
        s->writable_pending = 1;
        return;
    case SCTP_PARTIAL_DELIVERY_EVENT:
        s->part_len = 0;
        s->part_discard = 0;
        return;
    case SCTP_REMOTE_ERROR:
    case SCTP_SEND_FAILED_EVENT:
    default:
        return;
    }
    if (e)
        push_locked(s, e);
}

static int on_receive(struct socket *sock, union sctp_sockstore addr, void *data, size_t len,
                      struct sctp_rcvinfo rcv, int flags, void *ulp)
{
    (void)sock;
    (void)addr;
    pthread_mutex_lock(&g_lock);
    pkc_sctp *s = lookup_locked((uint32_t)(uintptr_t)ulp);
    if (s == NULL || data == NULL || s->broken) {
        if (s && data == NULL && !s->broken) {
            event *e = new_event(EV_CLOSED, 0);
            if (e)
                push_locked(s, e);
            else
                break_locked(s, "the association's end");
        }
        pthread_mutex_unlock(&g_lock);
        free(data);
        return 1;
    }
    if (flags & MSG_NOTIFICATION) {
        handle_notification_locked(s, data, len);
        pthread_mutex_unlock(&g_lock);
        free(data);
        return 1;
    }
    event *e = NULL;
    if ((flags & MSG_EOR) && s->part_len == 0 && !s->part_discard && len > s->max_message) {
        pkc_logw(LOG, "SCTP: message on stream %u larger than %zu bytes: dropped", rcv.rcv_sid,
                 s->max_message);
    } else if ((flags & MSG_EOR) && s->part_len == 0 && !s->part_discard) {
        /* The common case: a whole message, handed over without a copy. */
        e = new_event(EV_MESSAGE, 0);
        if (e) {
            e->data = data;
            data = NULL;
            e->len = len;
        } else {
            break_locked(s, "a received message");
        }
    } else if (!s->part_discard) {
        if (s->part_len + len > s->max_message) {
            pkc_logw(LOG, "SCTP: message on stream %u larger than %zu bytes: dropped", rcv.rcv_sid,
                     s->max_message);
            s->part_discard = 1;
            s->part_len = 0;
        } else {
            if (s->part_len + len > s->part_cap) {
                size_t cap = s->part_cap ? s->part_cap : 65536;
                while (cap < s->part_len + len)
                    cap *= 2;
                uint8_t *p = realloc(s->part, cap);
                if (p == NULL) {
                    break_locked(s, "a received message");
                    s->part_discard = 1;
                    s->part_len = 0;
                } else {
                    s->part = p;
                    s->part_cap = cap;
                }
            }
            if (!s->part_discard) {
                memcpy(s->part + s->part_len, data, len);
                s->part_len += len;
            }
            if ((flags & MSG_EOR) && !s->part_discard) {
                e = new_event(EV_MESSAGE, 0);
                if (e) {
                    e->data = s->part; /* hand the buffer over */
                    e->len = s->part_len;
                    s->part = NULL;
                    s->part_cap = 0;
                } else {
                    break_locked(s, "a received message");
                }
                s->part_len = 0;
            }
        }
    }
    if (flags & MSG_EOR)
        s->part_discard = 0;
    if (e) {
        e->sid = rcv.rcv_sid;
        e->ppid = ntohl(rcv.rcv_ppid);
        push_locked(s, e);
    }
    pthread_mutex_unlock(&g_lock);
    free(data);
    return 1;
}

static int on_writable(struct socket *sock, uint32_t sb_free, void *ulp)
{
    (void)sock;
    (void)sb_free;
    pthread_mutex_lock(&g_lock);
    pkc_sctp *s = lookup_locked((uint32_t)(uintptr_t)ulp);
    if (s)
        s->writable_pending = 1;
    pthread_mutex_unlock(&g_lock);
    return 0;
}

static void global_init(void)
{
    /* The association hash of each socket: one association a socket. */
    usrsctp_tunable_set_sctp_pcbtblsize(16);
    usrsctp_init_nothreads(0, on_output, NULL);
    usrsctp_enable_crc32c_offload();
    usrsctp_sysctl_set_sctp_ecn_enable(0);
    usrsctp_sysctl_set_sctp_pr_enable(1);
    usrsctp_sysctl_set_sctp_reconfig_enable(1);
    usrsctp_sysctl_set_sctp_nrsack_enable(0);
    usrsctp_sysctl_set_sctp_asconf_enable(0);
    usrsctp_sysctl_set_sctp_auth_enable(0);
    usrsctp_sysctl_set_sctp_blackhole(2);
    usrsctp_sysctl_set_sctp_sendspace(SNDBUF);
    usrsctp_sysctl_set_sctp_recvspace(RCVBUF);
    usrsctp_sysctl_set_sctp_max_chunks_on_queue(10 * 1024);
    /* RFC 6928's initial window and bursts of 10 packets. */
    usrsctp_sysctl_set_sctp_initial_cwnd(10);
    usrsctp_sysctl_set_sctp_max_burst_default(10);
    /* SACK sooner than RFC 4960's 200 ms. */
    usrsctp_sysctl_set_sctp_delayed_sack_time_default(20);
    /* The 1 s minimum RTO caused 1 s stalls in bulk transfers. */
    usrsctp_sysctl_set_sctp_rto_min_default(120);
    usrsctp_sysctl_set_sctp_rto_initial_default(500);
    /* Backed-off retransmissions at most 3 s apart: on a lossy path (30 %
     * each way) an association whose setup needed retransmissions started
     * with an RTO of 8 s and more (no RTT sample from a retransmitted
     * chunk), and a lost record then waited 10 s, then 10 s again. 12
     * retransmissions in a row (0.5 + 1 + 2 + 9 x 3 s, about 30 s: the ICE
     * consent timeout) end the association. */
    usrsctp_sysctl_set_sctp_rto_max_default(3000);
    usrsctp_sysctl_set_sctp_init_rto_max_default(3000);
    usrsctp_sysctl_set_sctp_init_rtx_max_default(12);
    usrsctp_sysctl_set_sctp_assoc_rtx_max_default(12);
    usrsctp_sysctl_set_sctp_path_rtx_max_default(12);
    usrsctp_sysctl_set_sctp_heartbeat_interval_default(10000);
}

static int setopt(struct socket *sock, int level, int opt, const void *v, socklen_t n, const char *what)
{
    if (usrsctp_setsockopt(sock, level, opt, v, n) != 0)
        return pkc_error(PKC_ERR_SCTP, "SCTP: setsockopt %s: %s", what, strerror(errno));
    return 0;
}

static int configure(pkc_sctp *s)
{
    struct socket *so = s->sock;
    int rc = 0;
    if (usrsctp_set_non_blocking(so, 1) != 0)
        return pkc_error(PKC_ERR_SCTP, "SCTP: non-blocking: %s", strerror(errno));
    struct linger lg = {1, 0}; /* close aborts at once */
    rc |= setopt(so, SOL_SOCKET, SO_LINGER, &lg, sizeof lg, "SO_LINGER");
    int sz = SNDBUF;
    rc |= setopt(so, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz, "SO_SNDBUF");
    sz = RCVBUF;
    rc |= setopt(so, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz, "SO_RCVBUF");
    struct sctp_assoc_value av = {SCTP_ALL_ASSOC, SCTP_ENABLE_RESET_STREAM_REQ};
    rc |= setopt(so, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &av, sizeof av, "ENABLE_STREAM_RESET");
    int on = 1;
    rc |= setopt(so, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof on, "RECVRCVINFO");
    rc |= setopt(so, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on, "NODELAY");
    int level = 0; /* no interleaving: one message reassembles at a time */
    rc |= setopt(so, IPPROTO_SCTP, SCTP_FRAGMENT_INTERLEAVE, &level, sizeof level, "FRAGMENT_INTERLEAVE");
    static const uint16_t events[] = {SCTP_ASSOC_CHANGE,       SCTP_PEER_ADDR_CHANGE,
                                      SCTP_REMOTE_ERROR,       SCTP_SHUTDOWN_EVENT,
                                      SCTP_ADAPTATION_INDICATION, SCTP_PARTIAL_DELIVERY_EVENT,
                                      SCTP_STREAM_RESET_EVENT, SCTP_SENDER_DRY_EVENT,
                                      SCTP_STREAM_CHANGE_EVENT, SCTP_SEND_FAILED_EVENT};
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
        struct sctp_event ev = {SCTP_ALL_ASSOC, events[i], 1};
        rc |= setopt(so, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof ev, "EVENT");
    }
    struct sctp_initmsg im;
    memset(&im, 0, sizeof im);
    im.sinit_num_ostreams = s->streams;
    im.sinit_max_instreams = s->streams;
    rc |= setopt(so, IPPROTO_SCTP, SCTP_INITMSG, &im, sizeof im, "INITMSG");
    struct sctp_paddrparams pp;
    memset(&pp, 0, sizeof pp);
    pp.spp_assoc_id = SCTP_FUTURE_ASSOC;
    pp.spp_flags = SPP_PMTUD_DISABLE;
    /* A DTLS record of this plus its overhead (about 40 bytes) and UDP/IP
     * stays under 1280, the IPv6 minimum MTU. */
    pp.spp_pathmtu = 1188;
    rc |= setopt(so, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof pp, "PEER_ADDR_PARAMS");
    return rc ? pkc_error_code(PKC_ERR_SCTP) : 0;
}

int pkc_sctp_new(uint16_t port, size_t max_message, uint16_t streams, const pkc_sctp_callbacks *cb,
                 pkc_sctp **out)
{
    pthread_once(&g_once, global_init);
    pkc_sctp *s = calloc(1, sizeof *s);
    if (s == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    s->cb = *cb;
    s->port = port;
    s->max_message = max_message;
    s->streams = streams ? streams : PKC_SCTP_STREAMS;
    s->tail = &s->head;

    pthread_mutex_lock(&g_lock);
    size_t slot = 0;
    while (slot < g_nslots && g_slots[slot] != NULL)
        slot++;
    if (slot == g_nslots) {
        size_t n = g_nslots ? g_nslots * 2 : 16;
        pkc_sctp **ns = realloc(g_slots, n * sizeof *ns);
        uint32_t *gs = ns ? realloc(g_gens, n * sizeof *gs) : NULL;
        if (ns)
            g_slots = ns;
        if (gs)
            g_gens = gs;
        if (ns == NULL || gs == NULL || n >= (1u << SLOT_BITS)) {
            pthread_mutex_unlock(&g_lock);
            free(s);
            return pkc_error_code(PKC_ERR_NOMEM);
        }
        for (size_t i = g_nslots; i < n; i++) {
            g_slots[i] = NULL;
            g_gens[i] = 0;
        }
        g_nslots = n;
    }
    g_gens[slot] = (g_gens[slot] + 1) & 0xfff;
    s->id = (uint32_t)(slot + 1) | g_gens[slot] << SLOT_BITS;
    g_slots[slot] = s;
    g_live++;
    pthread_mutex_unlock(&g_lock);

    void *addr = (void *)(uintptr_t)s->id;
    usrsctp_register_address(addr);
    s->sock = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, on_receive, on_writable,
                             SNDBUF / 2, addr);
    int rc = s->sock ? configure(s) : pkc_error(PKC_ERR_SCTP, "SCTP: socket: %s", strerror(errno));
    if (rc == 0) {
        struct sockaddr_conn sc;
        memset(&sc, 0, sizeof sc);
        sc.sconn_family = AF_CONN;
        sc.sconn_port = htons(port);
        sc.sconn_addr = addr;
        if (usrsctp_bind(s->sock, (struct sockaddr *)&sc, sizeof sc) != 0)
            rc = pkc_error(PKC_ERR_SCTP, "SCTP: bind: %s", strerror(errno));
    }
    if (rc) {
        pkc_sctp_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static void free_events(event *e)
{
    while (e) {
        event *next = e->next;
        if (e->kind == EV_MESSAGE)
            free(e->data);
        free(e);
        e = next;
    }
}

void pkc_sctp_free(pkc_sctp *s)
{
    if (s == NULL)
        return;
    if (s->sock) {
        /* Linger 0: the close sends ABORT through on_output now. */
        usrsctp_close(s->sock);
        s->sock = NULL;
        /* Deliver that ABORT; nothing else is delivered any more. */
        pthread_mutex_lock(&g_lock);
        event *e = s->head;
        s->head = NULL;
        s->tail = &s->head;
        pthread_mutex_unlock(&g_lock);
        for (event *p = e; p; p = p->next)
            if (p->kind == EV_PACKET && s->cb.send)
                s->cb.send(s->cb.user, p->inline_data, p->len);
        free_events(e);
    }
    usrsctp_deregister_address((void *)(uintptr_t)s->id);
    pthread_mutex_lock(&g_lock);
    size_t slot = (s->id & ((1u << SLOT_BITS) - 1)) - 1;
    if (slot < g_nslots && g_slots[slot] == s) {
        g_slots[slot] = NULL;
        g_live--;
    }
    event *e = s->head;
    s->head = NULL;
    pthread_mutex_unlock(&g_lock);
    free_events(e);
    free(s->part);
    free(s);
}

int pkc_sctp_connect(pkc_sctp *s, uint16_t remote_port)
{
    struct sockaddr_conn sc;
    memset(&sc, 0, sizeof sc);
    sc.sconn_family = AF_CONN;
    sc.sconn_port = htons(remote_port);
    sc.sconn_addr = (void *)(uintptr_t)s->id;
    if (usrsctp_connect(s->sock, (struct sockaddr *)&sc, sizeof sc) != 0 && errno != EINPROGRESS)
        return pkc_error(PKC_ERR_SCTP, "SCTP: connect: %s", strerror(errno));
    return 0;
}

void pkc_sctp_input(pkc_sctp *s, const uint8_t *pkt, size_t len)
{
    usrsctp_conninput((void *)(uintptr_t)s->id, pkt, len, 0);
}

int pkc_sctp_send(pkc_sctp *s, uint16_t sid, uint32_t ppid, const uint8_t *data, size_t len,
                  int unordered, int pr, uint32_t pr_value)
{
    if (len > SNDBUF)
        return pkc_error(PKC_ERR_TOO_LARGE, "SCTP: %zu bytes is over the send buffer", len);
    struct sctp_sendv_spa spa;
    memset(&spa, 0, sizeof spa);
    spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
    spa.sendv_sndinfo.snd_sid = sid;
    spa.sendv_sndinfo.snd_flags = SCTP_EOR | (unordered ? SCTP_UNORDERED : 0);
    spa.sendv_sndinfo.snd_ppid = htonl(ppid);
    if (pr != PKC_SCTP_PR_NONE) {
        spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
        spa.sendv_prinfo.pr_policy = pr == PKC_SCTP_PR_RTX ? SCTP_PR_SCTP_RTX : SCTP_PR_SCTP_TTL;
        spa.sendv_prinfo.pr_value = pr_value;
    }
    ssize_t n = usrsctp_sendv(s->sock, data, len, NULL, 0, &spa, sizeof spa, SCTP_SENDV_SPA, 0);
    if (n >= 0)
        return 0;
    if (errno == EWOULDBLOCK || errno == EAGAIN)
        return pkc_error_code(PKC_ERR_AGAIN);
    return pkc_error(PKC_ERR_SCTP, "SCTP: send on stream %u: %s", sid, strerror(errno));
}

int pkc_sctp_reset(pkc_sctp *s, uint16_t sid)
{
    uint8_t buf[sizeof(struct sctp_reset_streams) + sizeof(uint16_t)];
    struct sctp_reset_streams *r = (struct sctp_reset_streams *)buf;
    memset(buf, 0, sizeof buf);
    r->srs_assoc_id = SCTP_ALL_ASSOC;
    r->srs_flags = SCTP_STREAM_RESET_OUTGOING;
    r->srs_number_streams = 1;
    r->srs_stream_list[0] = sid;
    if (usrsctp_setsockopt(s->sock, IPPROTO_SCTP, SCTP_RESET_STREAMS, buf, sizeof buf) == 0)
        return 0;
    if (errno == EALREADY || errno == EAGAIN || errno == EBUSY)
        return pkc_error_code(PKC_ERR_AGAIN);
    return pkc_error(PKC_ERR_SCTP, "SCTP: reset of stream %u: %s", sid, strerror(errno));
}

/* usrsctp takes the association's first RTT sample from connect() to the
 * INIT-ACK (or from the cookie's creation to the COOKIE-ACK), across any
 * retransmitted INIT: on a lossy path a 1 ms round trip starts as 0.5 to 8
 * s. The RTO is capped (global_init), but a T3 expiry resends only chunks
 * older than the unclamped smoothed RTT + 4 variances, about three times
 * that sample: a lost HELLO then waited 6 to 21 s (docs/rtc.md, Known
 * limits). Each HEARTBEAT-ACK is a fresh sample (an eighth of the way to
 * the true RTT), but only the answer to the last HEARTBEAT sent counts, so
 * a start of SETTLE_SRTT_MS or more is followed by one heartbeat every
 * SETTLE_INTERVAL_US, at most SETTLE_HEARTBEATS, until the RTO (smoothed
 * RTT + 4 variances, the age a chunk needs to be resent) is at most
 * SETTLE_DONE_MS (a path whose true round trip is that long pays the
 * heartbeats for nothing: about 100 bytes each way each; one longer than
 * the interval gets no sample from them). */
#define SETTLE_SRTT_MS 400
#define SETTLE_DONE_MS 250
#define SETTLE_HEARTBEATS 48
#define SETTLE_INTERVAL_US 150000

/* The association's status (zeros if usrsctp has none). */
static void status(pkc_sctp *s, struct sctp_status *st)
{
    socklen_t n = sizeof *st;
    memset(st, 0, sizeof *st);
    if (usrsctp_getsockopt(s->sock, IPPROTO_SCTP, SCTP_STATUS, st, &n) != 0)
        memset(st, 0, sizeof *st);
}

uint32_t pkc_sctp_srtt_ms(pkc_sctp *s)
{
    struct sctp_status st;
    status(s, &st);
    return st.sstat_primary.spinfo_srtt;
}

uint32_t pkc_sctp_rto_ms(pkc_sctp *s)
{
    struct sctp_status st;
    status(s, &st);
    return st.sstat_primary.spinfo_rto;
}

static void settle_start(pkc_sctp *s)
{
    uint32_t srtt = pkc_sctp_srtt_ms(s);
    if (srtt < SETTLE_SRTT_MS)
        return;
    pkc_logd(LOG, "SCTP: first RTT sample %u ms: heartbeats to correct it", srtt);
    s->settle_left = SETTLE_HEARTBEATS;
    s->settle_at = 1; /* at the next timeout */
}

uint64_t pkc_sctp_deadline(const pkc_sctp *s)
{
    return s->settle_left ? s->settle_at : UINT64_MAX;
}

void pkc_sctp_timeout(pkc_sctp *s, uint64_t now_us)
{
    if (!s->settle_left || now_us < s->settle_at)
        return;
    struct sctp_status st;
    status(s, &st);
    uint32_t srtt = st.sstat_primary.spinfo_srtt, rto = st.sstat_primary.spinfo_rto;
    if ((rto && rto <= SETTLE_DONE_MS) || --s->settle_left == 0) {
        pkc_logd(LOG, "SCTP: smoothed RTT %u ms, RTO %u ms after %d heartbeats", srtt, rto,
                 SETTLE_HEARTBEATS - s->settle_left);
        s->settle_left = 0;
        return;
    }
    s->settle_at = now_us + SETTLE_INTERVAL_US;
    struct sctp_paddrparams pp;
    memset(&pp, 0, sizeof pp);
    pp.spp_assoc_id = st.sstat_assoc_id;
    memcpy(&pp.spp_address, &st.sstat_primary.spinfo_address, sizeof pp.spp_address);
    pp.spp_flags = SPP_HB_DEMAND;
    if (usrsctp_setsockopt(s->sock, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof pp) != 0) {
        pkc_logd(LOG, "SCTP: heartbeat on demand: %s", strerror(errno));
        s->settle_left = 0;
    }
}

void pkc_sctp_poll(pkc_sctp *s)
{
    if (s->polling)
        return; /* a callback sent: the outer loop picks it up */
    s->polling = 1;
    for (;;) {
        pthread_mutex_lock(&g_lock);
        event *e = s->head;
        s->head = NULL;
        s->tail = &s->head;
        int writable = s->writable_pending;
        s->writable_pending = 0;
        /* Reported after the events queued before the failure. */
        int lost = s->broken && !s->broken_reported;
        if (lost)
            s->broken_reported = 1;
        pthread_mutex_unlock(&g_lock);
        if (e == NULL && !writable && !lost)
            break;
        for (event *p = e; p; p = p->next) {
            switch (p->kind) {
            case EV_PACKET:
                if (s->cb.send)
                    s->cb.send(s->cb.user, p->inline_data, p->len);
                break;
            case EV_MESSAGE:
                if (s->cb.message)
                    s->cb.message(s->cb.user, p->sid, p->ppid, p->data, p->len);
                else
                    free(p->data);
                p->data = NULL;
                break;
            case EV_CONNECTED:
                settle_start(s);
                if (s->cb.connected)
                    s->cb.connected(s->cb.user);
                break;
            case EV_CLOSED:
                if (s->cb.closed)
                    s->cb.closed(s->cb.user, p->flag);
                break;
            case EV_RESET:
                if (s->cb.stream_reset)
                    s->cb.stream_reset(s->cb.user, p->sid, p->flag);
                break;
            }
        }
        free_events(e);
        if (lost && s->cb.closed)
            s->cb.closed(s->cb.user, 2);
        else if (writable && s->cb.writable)
            s->cb.writable(s->cb.user);
    }
    s->polling = 0;
}

void pkc_sctp_tick(uint64_t now_us)
{
    pthread_once(&g_once, global_init);
    pthread_mutex_lock(&g_lock);
    uint64_t elapsed = g_last_tick_us && now_us > g_last_tick_us ? now_us - g_last_tick_us : 0;
    g_last_tick_us = now_us > g_last_tick_us ? now_us : g_last_tick_us;
    elapsed += g_tick_rem_us;
    uint32_t ms = (uint32_t)(elapsed / 1000);
    g_tick_rem_us = elapsed % 1000;
    pthread_mutex_unlock(&g_lock);
    if (ms)
        usrsctp_handle_timers(ms);
}

size_t pkc_sctp_count(void)
{
    pthread_mutex_lock(&g_lock);
    size_t n = g_live;
    pthread_mutex_unlock(&g_lock);
    return n;
}
