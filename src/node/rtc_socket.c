/* rtc_socket.c: pkc_rtc_socket, the UDP port shared by peer connections,
 * and the routing of datagrams to them. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rtc/stun.h"
#include "util/err.h"
#include "util/log.h"
#include "util/versioned.h"
#include "node/rtc_runtime.h"

#define LOG "rtc"
#define DGRAM_MAX 2048
#define SOCK_BUF (2 * 1024 * 1024)

void pkc_rtc_socket_config_default_versioned(int config_version, pkc_rtc_socket_config *out)
{
    pkc_rtc_socket_config c = {.ipv6 = 1, .loopback = 1};
    pkc_struct_write(out, &c, config_version, PKC_STRUCT_V1(pkc_rtc_socket_config));
}

static void to_pkc_addr(const struct sockaddr *sa, pkc_addr *out)
{
    memset(out, 0, sizeof *out);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        out->family = 4;
        memcpy(out->ip, &s4->sin_addr, 4);
        out->port = ntohs(s4->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        out->family = 6;
        memcpy(out->ip, &s6->sin6_addr, 16);
        out->port = ntohs(s6->sin6_port);
    }
}

static socklen_t to_sockaddr(const pkc_addr *a, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (a->family == 4) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(a->port);
        memcpy(&s4->sin_addr, a->ip, 4);
        return sizeof *s4;
    }
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(a->port);
    memcpy(&s6->sin6_addr, a->ip, 16);
    return sizeof *s6;
}

/* ---- the address table ------------------------------------------------------ */

static void table_remove_peer(pkc_rtc_socket *s, struct pkc_rtc_peer *p)
{
    for (size_t i = 0; i < s->table_size; i++) {
        for (addr_entry **e = &s->table[i]; *e;) {
            if ((*e)->peer == p) {
                addr_entry *dead = *e;
                *e = dead->next;
                free(dead);
                s->table_count--;
            } else {
                e = &(*e)->next;
            }
        }
    }
    if (s->last_peer == p)
        s->last_peer = NULL;
}

static struct pkc_rtc_peer *table_get(pkc_rtc_socket *s, const pkc_addr *a)
{
    if (s->last_peer && pkc_addr_equal(&s->last_addr, a))
        return s->last_peer;
    if (s->table_size == 0)
        return NULL;
    for (addr_entry *e = s->table[pkc_addr_hash(a) % s->table_size]; e; e = e->next)
        if (pkc_addr_equal(&e->addr, a)) {
            s->last_peer = e->peer;
            s->last_addr = *a;
            return e->peer;
        }
    return NULL;
}

void pkc_rtc_socket_route(pkc_rtc_socket *s, const pkc_addr *remote, struct pkc_rtc_peer *p)
{
    if (s->table_size == 0 || s->table_count >= s->table_size) {
        size_t n = s->table_size ? s->table_size * 2 : 16;
        addr_entry **t = calloc(n, sizeof *t);
        if (t == NULL)
            return;
        for (size_t i = 0; i < s->table_size; i++)
            for (addr_entry *e = s->table[i]; e;) {
                addr_entry *next = e->next;
                size_t h = pkc_addr_hash(&e->addr) % n;
                e->next = t[h];
                t[h] = e;
                e = next;
            }
        free(s->table);
        s->table = t;
        s->table_size = n;
    }
    size_t h = pkc_addr_hash(remote) % s->table_size;
    for (addr_entry *e = s->table[h]; e; e = e->next)
        if (pkc_addr_equal(&e->addr, remote)) {
            e->peer = p; /* the most recent claimant wins */
            s->last_peer = NULL;
            return;
        }
    addr_entry *e = malloc(sizeof *e);
    if (e == NULL)
        return;
    e->addr = *remote;
    e->peer = p;
    e->next = s->table[h];
    s->table[h] = e;
    s->table_count++;
}

void pkc_rtc_socket_attach(pkc_rtc_socket *s, struct pkc_rtc_peer *p)
{
    p->sock_next = s->peers;
    s->peers = p;
}

void pkc_rtc_socket_detach(pkc_rtc_socket *s, struct pkc_rtc_peer *p)
{
    for (struct pkc_rtc_peer **q = &s->peers; *q; q = &(*q)->sock_next)
        if (*q == p) {
            *q = p->sock_next;
            break;
        }
    table_remove_peer(s, p);
}

/* ---- sending ---------------------------------------------------------------------- */

/* Outgoing datagrams are batched per thread (so per loop) and sent with
 * one sendmmsg() per socket when the loop is about to wait again (or the
 * batch is full): a bulk transfer sends thousands of datagrams a second,
 * and one system call each was half of the CPU time. */
#define TX_BATCH 64

typedef struct tx_batch {
    int n;
    pkc_loop *loop;
    int fd[TX_BATCH];
    struct mmsghdr msgs[TX_BATCH];
    struct iovec iov[TX_BATCH];
    struct sockaddr_storage to[TX_BATCH];
    struct {
        _Alignas(struct cmsghdr *) char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
    } cm[TX_BATCH];
    uint8_t data[TX_BATCH][DGRAM_MAX];
} tx_batch;

/* With UDP GRO a receive slot may hold many datagrams of one size,
 * coalesced by the kernel; the UDP_GRO control message gives that size. */
#define RX_SLOTS 16
#define RX_SLOT (64 * 1024)

/* Per-thread (so per-loop) buffers, made on first use and freed when the
 * thread ends. */
typedef struct thread_io {
    tx_batch tx;
    uint8_t rx[RX_SLOTS][RX_SLOT];
} thread_io;

static _Thread_local thread_io *tio;
static pthread_key_t tio_key;
static pthread_once_t tio_once = PTHREAD_ONCE_INIT;

static void tio_free(void *p)
{
    free(p);
}

static void tio_key_init(void)
{
    pthread_key_create(&tio_key, tio_free);
}

static thread_io *thread_buffers(void)
{
    if (tio == NULL) {
        pthread_once(&tio_once, tio_key_init);
        tio = malloc(sizeof *tio);
        if (tio == NULL)
            return NULL;
        tio->tx.n = 0;
        pthread_setspecific(tio_key, tio);
    }
    return tio;
}

/* For the process's main thread, which never runs key destructors. */
__attribute__((destructor)) static void tio_free_main(void)
{
    free(tio);
    tio = NULL;
}

/* UDP GSO (Linux UDP_SEGMENT): consecutive datagrams of one size to one
 * destination from one source leave as one message that the kernel splits
 * late, so the send path runs once for many datagrams. Turned off for the
 * process if the kernel refuses it. */
#define GSO_MAX_SEGMENTS 64
#define GSO_MAX_BYTES 65000
static int gso_off;

static int same_path(const tx_batch *b, int i, int j)
{
    const struct msghdr *x = &b->msgs[i].msg_hdr, *y = &b->msgs[j].msg_hdr;
    return b->fd[i] == b->fd[j] && x->msg_namelen == y->msg_namelen &&
           memcmp(x->msg_name, y->msg_name, x->msg_namelen) == 0 &&
           x->msg_controllen == y->msg_controllen &&
           (x->msg_controllen == 0 || memcmp(x->msg_control, y->msg_control, x->msg_controllen) == 0);
}

/* Sends msgs[0..n) on fd; a datagram that cannot go is dropped (as if lost:
 * the layers above retransmit). */
static void send_all(int fd, struct mmsghdr *msgs, int n)
{
    int done = 0;
    while (done < n) {
        int k = sendmmsg(fd, msgs + done, (unsigned)(n - done), 0);
        if (k > 0)
            done += k;
        else if (k < 0 && errno == EINTR)
            continue;
        else
            done++;
    }
}

void pkc_rtc_socket_flush(void)
{
    tx_batch *b = tio ? &tio->tx : NULL;
    if (b == NULL || b->n == 0)
        return;
    /* Group into messages: msgs of GSO groups get an iovec per datagram. */
    struct mmsghdr out[TX_BATCH];
    struct {
        _Alignas(struct cmsghdr *) char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
                                            CMSG_SPACE(sizeof(uint16_t))];
    } cm[TX_BATCH];
    int n_out = 0, i = 0;
    int fds[TX_BATCH];
    while (i < b->n) {
        int j = i + 1;
        size_t seg = b->iov[i].iov_len, total = seg;
        if (!gso_off) {
            while (j < b->n && j - i < GSO_MAX_SEGMENTS && same_path(b, i, j) &&
                   b->iov[j].iov_len <= seg && total + b->iov[j].iov_len <= GSO_MAX_BYTES) {
                total += b->iov[j].iov_len;
                j++;
                if (b->iov[j - 1].iov_len < seg)
                    break; /* only the last segment may be shorter */
            }
        }
        struct msghdr *mh = &out[n_out].msg_hdr;
        *mh = b->msgs[i].msg_hdr;
        mh->msg_iov = &b->iov[i];
        mh->msg_iovlen = (size_t)(j - i);
        if (j - i > 1) {
            /* pktinfo (if any) then UDP_SEGMENT. */
            size_t used = b->msgs[i].msg_hdr.msg_controllen;
            memset(&cm[n_out], 0, sizeof cm[n_out]);
            if (used)
                memcpy(cm[n_out].buf, b->msgs[i].msg_hdr.msg_control, used);
            struct cmsghdr *c = (struct cmsghdr *)(cm[n_out].buf + used);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t gso = (uint16_t)seg;
            memcpy(CMSG_DATA(c), &gso, sizeof gso);
            mh->msg_control = cm[n_out].buf;
            mh->msg_controllen = used + CMSG_SPACE(sizeof(uint16_t));
        }
        fds[n_out++] = b->fd[i];
        i = j;
    }
    for (int k = 0; k < n_out;) {
        int run = 1;
        while (k + run < n_out && fds[k + run] == fds[k])
            run++;
        if (!gso_off) {
            int sent = 0;
            while (sent < run) {
                int r = sendmmsg(fds[k], out + k + sent, (unsigned)(run - sent), 0);
                if (r > 0) {
                    sent += r;
                    continue;
                }
                if (r < 0 && errno == EINTR)
                    continue;
                if (r < 0 && out[k + sent].msg_hdr.msg_iovlen > 1 &&
                    (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT || errno == EOPNOTSUPP)) {
                    /* No GSO here: send what is left one datagram at a time. */
                    gso_off = 1;
                    pkc_logd(LOG, "UDP GSO unavailable (%s): one datagram per message", strerror(errno));
                    break;
                }
                sent++; /* this one is lost */
            }
            if (sent < run) {
                /* Resend the remaining groups datagram by datagram. */
                for (int g = k + sent; g < k + run; g++) {
                    struct mmsghdr one[GSO_MAX_SEGMENTS];
                    struct msghdr *gm = &out[g].msg_hdr;
                    size_t segs = gm->msg_iovlen;
                    for (size_t q = 0; q < segs; q++) {
                        struct iovec *iv = &gm->msg_iov[q];
                        int idx = (int)(iv - b->iov);
                        one[q] = b->msgs[idx];
                        one[q].msg_len = 0;
                    }
                    send_all(fds[k], one, (int)segs);
                }
            }
        } else {
            send_all(fds[k], out + k, run);
        }
        k += run;
    }
    b->n = 0;
}

int pkc_rtc_socket_send(pkc_rtc_socket *s, const pkc_addr *local, const pkc_addr *remote,
                        const uint8_t *data, size_t len)
{
    int fd = s->fd[remote->family == 6 ? 1 : 0];
    if (fd < 0 || remote->family == 0 || len > DGRAM_MAX)
        return pkc_error_code(PKC_ERR_IO);
    thread_io *t = thread_buffers();
    if (t == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    if (t->tx.n == TX_BATCH)
        pkc_rtc_socket_flush();
    tx_batch *b = &t->tx;
    int i = b->n++;
    b->fd[i] = fd;
    memcpy(b->data[i], data, len);
    b->iov[i].iov_base = b->data[i];
    b->iov[i].iov_len = len;
    struct msghdr *mh = &b->msgs[i].msg_hdr;
    memset(mh, 0, sizeof *mh);
    mh->msg_name = &b->to[i];
    mh->msg_namelen = to_sockaddr(remote, &b->to[i]);
    mh->msg_iov = &b->iov[i];
    mh->msg_iovlen = 1;
    if (local && local->family == remote->family) {
        /* Send from the address of the candidate this path uses. */
        memset(&b->cm[i], 0, sizeof b->cm[i]);
        mh->msg_control = b->cm[i].buf;
        struct cmsghdr *c = (struct cmsghdr *)b->cm[i].buf;
        if (remote->family == 4) {
            mh->msg_controllen = CMSG_SPACE(sizeof(struct in_pktinfo));
            c->cmsg_level = IPPROTO_IP;
            c->cmsg_type = IP_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
            struct in_pktinfo pi;
            memset(&pi, 0, sizeof pi);
            memcpy(&pi.ipi_spec_dst, local->ip, 4);
            memcpy(CMSG_DATA(c), &pi, sizeof pi);
        } else {
            mh->msg_controllen = CMSG_SPACE(sizeof(struct in6_pktinfo));
            c->cmsg_level = IPPROTO_IPV6;
            c->cmsg_type = IPV6_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
            struct in6_pktinfo pi;
            memset(&pi, 0, sizeof pi);
            memcpy(&pi.ipi6_addr, local->ip, 16);
            memcpy(CMSG_DATA(c), &pi, sizeof pi);
        }
    }
    /* Make sure the loop flushes before it waits. */
    pkc_loop_want_flush(s->loop);
    return 0;
}

/* ---- receiving ------------------------------------------------------------------------- */

static struct pkc_rtc_peer *route_stun(pkc_rtc_socket *s, const pkc_addr *remote,
                                       const uint8_t *data, size_t len)
{
    pkc_stun_msg m;
    if (pkc_stun_decode(data, len, &m) != 0) {
        char rs[PKC_ADDR_STRLEN];
        pkc_logd(LOG, "undecodable STUN from %s dropped: %s", pkc_addr_string(remote, rs, sizeof rs),
                 pkc_errmsg());
        return NULL;
    }
    uint16_t cls = PKC_STUN_CLASS(m.type);
    if (cls == PKC_STUN_REQUEST) {
        if (!(m.has & PKC_STUN_HAS_USERNAME))
            return NULL;
        const uint8_t *colon = memchr(m.username, ':', m.username_len);
        if (colon == NULL)
            return NULL;
        const char *lfrag = (const char *)m.username;
        size_t ln = (size_t)(colon - m.username);
        const char *rfrag = (const char *)colon + 1;
        size_t rn = m.username_len - ln - 1;
        for (struct pkc_rtc_peer *p = s->peers; p; p = p->sock_next) {
            if (p->dead || !pkc_ice_has_ufrag(pkc_conn_ice(p->conn), lfrag, ln))
                continue;
            if (p->listener && (strlen(p->lite_rufrag) != rn || memcmp(p->lite_rufrag, rfrag, rn)))
                continue; /* another client of the same listener */
            return p;
        }
        rtc_listener *l = s->listener;
        if (l && ln == strlen(l->ufrag) && memcmp(lfrag, l->ufrag, ln) == 0 && rn > 0 &&
            rn <= 256) {
            /* Only a check signed with the listener's password opens a
             * connection. */
            if (pkc_stun_check_integrity(data, &m, l->pwd, strlen(l->pwd)) != 0 ||
                !(m.has & PKC_STUN_HAS_FINGERPRINT))
                return NULL;
            if (l->live >= 1024) {
                pkc_logw(LOG, "listener: 1024 connections already; check dropped");
                return NULL;
            }
            char rf[257];
            memcpy(rf, rfrag, rn);
            rf[rn] = '\0';
            return pkc_rtc_peer_new_lite(s, l, rf, remote);
        }
        return NULL;
    }
    struct pkc_rtc_peer *p = table_get(s, remote);
    if (p && !p->dead && (cls == PKC_STUN_INDICATION || pkc_ice_owns_txid(pkc_conn_ice(p->conn), m.txid)))
        return p;
    if (cls == PKC_STUN_INDICATION)
        return NULL;
    for (p = s->peers; p; p = p->sock_next)
        if (!p->dead && pkc_ice_owns_txid(pkc_conn_ice(p->conn), m.txid))
            return p;
    if (s->stun_response && (cls == PKC_STUN_SUCCESS || cls == PKC_STUN_ERROR))
        s->stun_response(s->stun_response_ud, remote, &m, data, len);
    return NULL;
}

static void deliver(pkc_rtc_socket *s, const pkc_addr *local, const pkc_addr *remote,
                    const uint8_t *data, size_t len)
{
    s->rx_datagrams++;
    struct pkc_rtc_peer *p;
    if (len > 0 && data[0] < 4)
        p = route_stun(s, remote, data, len);
    else
        p = table_get(s, remote);
    if (p == NULL || p->dead) {
        s->rx_dropped++;
        return;
    }
    pkc_rtc_peer_input(p, local, remote, data, len);
}



static void on_readable(uv_poll_t *h, int status, int events)
{
    pkc_rtc_socket *s = h->data;
    if (status < 0 || !(events & UV_READABLE))
        return;
    int fi = h == &s->poll[0] ? 0 : 1;
    int fd = s->fd[fi];
    struct mmsghdr msgs[RX_SLOTS];
    struct iovec iov[RX_SLOTS];
    struct sockaddr_storage from[RX_SLOTS];
    struct {
        _Alignas(struct cmsghdr *) char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + 64];
    } cm[RX_SLOTS];
    thread_io *t = thread_buffers();
    if (t == NULL)
        return;
    uint8_t(*rx_buf)[RX_SLOT] = t->rx;
    for (int round = 0; round < 8 && !s->closing; round++) {
        for (int i = 0; i < RX_SLOTS; i++) {
            iov[i].iov_base = rx_buf[i];
            iov[i].iov_len = RX_SLOT;
            memset(&msgs[i], 0, sizeof msgs[i]);
            msgs[i].msg_hdr.msg_name = &from[i];
            msgs[i].msg_hdr.msg_namelen = sizeof from[i];
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_control = cm[i].buf;
            msgs[i].msg_hdr.msg_controllen = sizeof cm[i].buf;
        }
        int n = recvmmsg(fd, msgs, RX_SLOTS, MSG_DONTWAIT, NULL);
        if (n <= 0)
            break;
        for (int i = 0; i < n && !s->closing; i++) {
            struct msghdr *mh = &msgs[i].msg_hdr;
            if (mh->msg_flags & MSG_TRUNC) {
                s->rx_dropped++;
                continue;
            }
            pkc_addr remote, local;
            to_pkc_addr((struct sockaddr *)&from[i], &remote);
            memset(&local, 0, sizeof local);
            size_t seg = msgs[i].msg_len;
            for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
                if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
                    int g;
                    memcpy(&g, CMSG_DATA(c), sizeof g);
                    if (g > 0)
                        seg = (size_t)g;
                } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                    struct in_pktinfo pi;
                    memcpy(&pi, CMSG_DATA(c), sizeof pi);
                    local.family = 4;
                    memcpy(local.ip, &pi.ipi_addr, 4);
                } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
                    struct in6_pktinfo pi;
                    memcpy(&pi, CMSG_DATA(c), sizeof pi);
                    local.family = 6;
                    memcpy(local.ip, &pi.ipi6_addr, 16);
                }
            }
            local.port = s->port;
            for (size_t off = 0; off < msgs[i].msg_len && !s->closing; off += seg) {
                size_t len = msgs[i].msg_len - off < seg ? msgs[i].msg_len - off : seg;
                deliver(s, &local, &remote, rx_buf[i] + off, len);
            }
        }
        if (n < RX_SLOTS)
            break;
    }
    pkc_loop_dispatch_pending(s->loop);
}

/* ---- creation ------------------------------------------------------------------------------ */

static int open_udp(int family, uint16_t port, int *fd_out)
{
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int on = 1, sz = SOCK_BUF;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    /* Receive datagrams coalesced by the kernel where it can (Linux 5.0+);
     * harmless where it cannot. */
    setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on);
    if (family == AF_INET) {
        setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        sl = sizeof *s4;
    } else {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
        setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        sl = sizeof *s6;
    }
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    *fd_out = fd;
    return 0;
}

static uint16_t bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return 0;
    pkc_addr a;
    to_pkc_addr((struct sockaddr *)&ss, &a);
    return a.port;
}

/* Binds IPv4 on `port` (0: any) and IPv6 on the same number. */
static int bind_pair(uint16_t port, int want6, int fd[2])
{
    int rc = open_udp(AF_INET, port, &fd[0]);
    if (rc)
        return rc;
    fd[1] = -1;
    if (!want6)
        return 0;
    rc = open_udp(AF_INET6, bound_port(fd[0]), &fd[1]);
    if (rc == -EADDRINUSE) {
        close(fd[0]);
        fd[0] = -1;
        return rc;
    }
    if (rc)
        fd[1] = -1; /* no IPv6 here: IPv4 only */
    return 0;
}

static void gather_hosts(pkc_rtc_socket *s, const pkc_rtc_socket_config *cfg)
{
    uv_interface_address_t *ifs;
    int count;
    if (uv_interface_addresses(&ifs, &count) != 0)
        return;
    for (int i = 0; i < count && s->n_hosts < PKC_SOCKET_MAX_HOSTS; i++) {
        pkc_addr a;
        to_pkc_addr((const struct sockaddr *)&ifs[i].address, &a);
        if (a.family == 0 || s->fd[a.family == 6] < 0)
            continue;
        if (pkc_addr_is_link_local(&a) || (pkc_addr_is_loopback(&a) && !cfg->loopback))
            continue;
        a.port = s->port;
        int dup = 0;
        for (size_t k = 0; k < s->n_hosts; k++)
            dup |= pkc_addr_equal(&s->hosts[k], &a);
        if (!dup)
            s->hosts[s->n_hosts++] = a;
    }
    uv_free_interface_addresses(ifs, count);
}

int pkc_rtc_socket_new_versioned(pkc_loop *loop, int config_version,
                                 const pkc_rtc_socket_config *config, pkc_rtc_socket **out)
{
    pkc_rtc_socket_config c, *cfg = &c;
    pkc_rtc_socket_config_default(&c);
    int rc = pkc_struct_read(&c, config, config_version, PKC_STRUCT_V1(pkc_rtc_socket_config));
    if (rc)
        return rc;
    if (cfg->port_max && cfg->port_max < cfg->port_min)
        return pkc_error(PKC_ERR_INVALID_ARG, "socket: port_max below port_min");
    pkc_rtc_socket *s = calloc(1, sizeof *s);
    if (s == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    s->loop = loop;
    s->fd[0] = s->fd[1] = -1;
    rc = -EADDRINUSE;
    if (cfg->port_min == 0) {
        for (int tries = 0; tries < 16 && rc == -EADDRINUSE; tries++)
            rc = bind_pair(0, cfg->ipv6, s->fd);
    } else {
        uint16_t hi = cfg->port_max ? cfg->port_max : cfg->port_min;
        for (uint32_t port = cfg->port_min; port <= hi && rc != 0; port++)
            rc = bind_pair((uint16_t)port, cfg->ipv6, s->fd);
    }
    if (rc) {
        free(s);
        return pkc_error(PKC_ERR_IO, "socket: cannot bind a UDP port: %s", strerror(-rc));
    }
    s->port = bound_port(s->fd[0]);
    gather_hosts(s, cfg);
    for (int i = 0; i < 2; i++) {
        if (s->fd[i] < 0)
            continue;
        uv_poll_init_socket(&loop->uv, &s->poll[i], s->fd[i]);
        s->poll[i].data = s;
        uv_poll_start(&s->poll[i], UV_READABLE, on_readable);
        s->polling[i] = 1;
    }
    pkc_logd(LOG, "socket: UDP port %u (IPv4%s), %zu host addresses", s->port,
             s->fd[1] >= 0 ? " and IPv6" : "", s->n_hosts);
    *out = s;
    return 0;
}

uint16_t pkc_rtc_socket_get_port(const pkc_rtc_socket *s)
{
    return s->port;
}

static void on_poll_closed(uv_handle_t *h)
{
    pkc_rtc_socket *s = h->data;
    if (--s->pending_closes == 0) {
        for (int i = 0; i < 2; i++)
            if (s->fd[i] >= 0)
                close(s->fd[i]);
        free(s);
    }
}

void pkc_rtc_socket_free(pkc_rtc_socket *s)
{
    if (s == NULL)
        return;
    pkc_rtc_socket_flush(); /* what its peers said last (ABORT, close_notify) */
    s->closing = 1;
    for (struct pkc_rtc_peer *p = s->peers; p; p = p->sock_next)
        if (!p->dead)
            pkc_logw(LOG, "socket freed while a peer connection still uses it");
    for (size_t i = 0; i < s->table_size; i++)
        for (addr_entry *e = s->table[i]; e;) {
            addr_entry *n = e->next;
            free(e);
            e = n;
        }
    free(s->table);
    s->table = NULL;
    s->table_size = s->table_count = 0;
    if (s->listener) {
        pkc_cert_unref(s->listener->cert);
        free(s->listener);
        s->listener = NULL;
    }
    for (int i = 0; i < 2; i++)
        if (s->polling[i]) {
            s->pending_closes++;
            uv_close((uv_handle_t *)&s->poll[i], on_poll_closed);
        }
    if (s->pending_closes == 0) {
        for (int i = 0; i < 2; i++)
            if (s->fd[i] >= 0)
                close(s->fd[i]);
        free(s);
    }
}
