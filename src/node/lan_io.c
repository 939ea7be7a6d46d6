/* lan_io.c: multicast and host-registry sockets of LAN discovery (lan_io.h). */
#define _GNU_SOURCE
#include "node/lan_io.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "util/err.h"
#include "util/log.h"
#include "node/loop.h"

#define LOG "lan"
#define MAX_IFACES 32
#define MAX_REGISTRY 64
#define RX_MAX 2048
/* New interfaces are joined when a datagram is sent, and at least this
 * often, so that a node hears announcements on an interface that came up. */
#define REFRESH_MS 10000

#ifndef IP_MULTICAST_ALL
#define IP_MULTICAST_ALL 49
#endif
#ifndef IPV6_MULTICAST_ALL
#define IPV6_MULTICAST_ALL 29
#endif

typedef struct lan_iface {
    unsigned index;
    struct in_addr addr4; /* IPv4: the address datagrams leave from */
    int seen;             /* in the latest interface list */
} lan_iface;

struct pkc_lan_io {
    pkc_loop *loop;
    pkc_lan_io_receive_fn receive;
    /* The source of the datagram being received, when it came through the
     * registry (for pkc_lan_io_answer). */
    const struct sockaddr *rx_registry_from;
    void *user_data;
    uint16_t port;
    struct in_addr group4;
    struct in6_addr group6;

    uv_udp_t m4, m6, uni; /* multicast IPv4, IPv6; registry unicast */
    int has_m4, has_m6, has_uni;
    int fd4, fd6;
    uv_timer_t refresh;
    int open_handles;
    int stopping;

    lan_iface if4[MAX_IFACES], if6[MAX_IFACES];
    size_t n4, n6;

    /* The host registry. */
    int registry;
    char dir[PATH_MAX];
    char own[PATH_MAX];   /* our entry */
    int lock_fd;          /* holds the flock on our entry */
    uint64_t netns;       /* this network namespace (inode of /proc/self/ns/net) */
    uint16_t uni_port;

    pkc_lan_io_stats stats;
    uint8_t rx[RX_MAX];
};

void pkc_lan_io_config_default(pkc_lan_io_config *c)
{
    memset(c, 0, sizeof *c);
    c->port = PKC_LAN_PORT;
    c->ipv4 = 1;
    c->ipv6 = 1;
    c->group4 = PKC_LAN_GROUP4;
    c->group6 = PKC_LAN_GROUP6;
    c->registry_dir = NULL;
}

/* ---- receiving ------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    pkc_lan_io *io = h->data;
    *buf = uv_buf_init((char *)io->rx, sizeof io->rx);
}

static void on_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
                    unsigned flags)
{
    pkc_lan_io *io = h->data;
    if (n <= 0 || from == NULL || io->stopping || (flags & UV_UDP_PARTIAL))
        return;
    io->stats.received++;
    io->rx_registry_from = h == &io->uni && from->sa_family == AF_INET ? from : NULL;
    io->receive(io->user_data, (const uint8_t *)buf->base, (size_t)n, from);
    io->rx_registry_from = NULL;
}

/* ---- sockets ---------------------------------------------------------------- */

static int set_int(int fd, int level, int name, int value, const char *what)
{
    if (setsockopt(fd, level, name, &value, sizeof value) != 0) {
        pkc_logd(LOG, "setsockopt %s: %s", what, strerror(errno));
        return -1;
    }
    return 0;
}

/* A UDP socket of `family` bound to the wildcard address and `port`, shared
 * with the other nodes of the host (SO_REUSEADDR). */
static int open_multicast(int family, uint16_t port)
{
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int ok = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR") == 0;
#if defined(SO_REUSEPORT) && !defined(__linux__)
    /* BSDs and macOS need it to share a multicast port; on Linux
     * SO_REUSEADDR does, and SO_REUSEPORT would refuse other users. */
    ok = ok && set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT") == 0;
#endif
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        a->sin_addr.s_addr = htonl(INADDR_ANY);
        len = sizeof *a;
        ok = ok && set_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, 1, "IP_MULTICAST_TTL") == 0 &&
             set_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 1, "IP_MULTICAST_LOOP") == 0;
        /* Only the groups this socket joined, not those of other sockets
         * on the same port (Linux delivers those too by default). */
        (void)set_int(fd, IPPROTO_IP, IP_MULTICAST_ALL, 0, "IP_MULTICAST_ALL");
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        a->sin6_addr = in6addr_any;
        len = sizeof *a;
        ok = ok && set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY") == 0 &&
             set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 1, "IPV6_MULTICAST_HOPS") == 0 &&
             set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 1, "IPV6_MULTICAST_LOOP") == 0;
        (void)set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0, "IPV6_MULTICAST_ALL");
    }
    if (!ok || bind(fd, (struct sockaddr *)&ss, len) != 0) {
        pkc_logw(LOG, "IPv%d multicast port %u: %s", family == AF_INET ? 4 : 6, port,
                 strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int adopt(pkc_lan_io *io, uv_udp_t *h, int fd)
{
    int rc = uv_udp_init(&io->loop->uv, h);
    if (rc == 0) {
        h->data = io;
        io->open_handles++;
        rc = uv_udp_open(h, fd);
        if (rc) {
            close(fd); /* not libuv's yet */
            pkc_logw(LOG, "discovery socket: %s", uv_strerror(rc));
            return -1;
        }
        rc = uv_udp_recv_start(h, on_alloc, on_recv);
        if (rc) {
            pkc_logw(LOG, "discovery socket: %s", uv_strerror(rc));
            return -1; /* the handle is closed with the others */
        }
        return 0;
    }
    close(fd);
    return -1;
}

/* Joins the groups on interfaces that appeared and forgets those that went
 * away (the kernel dropped their memberships with them). getifaddrs rather
 * than uv_interface_addresses: only it tells whether an interface is up and
 * can multicast (lo cannot, unless told to). */
static void refresh_interfaces(pkc_lan_io *io)
{
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) != 0) {
        pkc_logw(LOG, "getifaddrs: %s", strerror(errno));
        return;
    }
    for (size_t i = 0; i < io->n4; i++)
        io->if4[i].seen = 0;
    for (size_t i = 0; i < io->n6; i++)
        io->if6[i].seen = 0;
    for (struct ifaddrs *f = ifs; f; f = f->ifa_next) {
        if (f->ifa_addr == NULL || !(f->ifa_flags & IFF_UP) || !(f->ifa_flags & IFF_MULTICAST))
            continue;
        unsigned index = if_nametoindex(f->ifa_name);
        if (index == 0)
            continue;
        if (f->ifa_addr->sa_family == AF_INET && io->has_m4) {
            size_t i = 0;
            while (i < io->n4 && io->if4[i].index != index)
                i++;
            if (i < io->n4) {
                io->if4[i].seen = 1;
                continue;
            }
            if (io->n4 == MAX_IFACES)
                continue;
            struct ip_mreqn m;
            memset(&m, 0, sizeof m);
            m.imr_multiaddr = io->group4;
            m.imr_address = ((struct sockaddr_in *)f->ifa_addr)->sin_addr;
            m.imr_ifindex = (int)index;
            if (setsockopt(io->fd4, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) != 0 &&
                errno != EADDRINUSE) {
                pkc_logd(LOG, "IPv4 group on %s: %s", f->ifa_name, strerror(errno));
                continue;
            }
            io->if4[io->n4++] = (lan_iface){.index = index, .addr4 = m.imr_address, .seen = 1};
            pkc_logd(LOG, "IPv4 discovery on %s", f->ifa_name);
        } else if (f->ifa_addr->sa_family == AF_INET6 && io->has_m6) {
            /* Linux never delivers IPv6 multicast looped on lo (measured):
             * same-host IPv6 goes through a real interface or not at all. */
            if (f->ifa_flags & IFF_LOOPBACK)
                continue;
            size_t i = 0;
            while (i < io->n6 && io->if6[i].index != index)
                i++;
            if (i < io->n6) {
                io->if6[i].seen = 1;
                continue;
            }
            if (io->n6 == MAX_IFACES)
                continue;
            struct ipv6_mreq m;
            memset(&m, 0, sizeof m);
            m.ipv6mr_multiaddr = io->group6;
            m.ipv6mr_interface = index;
            if (setsockopt(io->fd6, IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof m) != 0 &&
                errno != EADDRINUSE) {
                pkc_logd(LOG, "IPv6 group on %s: %s", f->ifa_name, strerror(errno));
                continue;
            }
            io->if6[io->n6++] = (lan_iface){.index = index, .seen = 1};
            pkc_logd(LOG, "IPv6 discovery on %s", f->ifa_name);
        }
    }
    freeifaddrs(ifs);
    for (size_t i = 0; i < io->n4;)
        if (io->if4[i].seen)
            i++;
        else
            io->if4[i] = io->if4[--io->n4];
    for (size_t i = 0; i < io->n6;)
        if (io->if6[i].seen)
            i++;
        else
            io->if6[i] = io->if6[--io->n6];
    io->stats.interfaces4 = io->n4;
    io->stats.interfaces6 = io->n6;
}

static void on_refresh(uv_timer_t *t)
{
    refresh_interfaces(t->data);
}

/* ---- the host registry -------------------------------------------------------- */

static uint64_t netns_id(void)
{
    struct stat st;
    if (stat("/proc/self/ns/net", &st) == 0)
        return (uint64_t)st.st_ino;
    return 0;
}

/* mkdir that accepts an existing directory. */
static int make_dir(const char *path)
{
    return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* The registry directory must be ours alone: a directory (not a link) that
 * we own and nobody else can read or write. */
static int registry_dir_safe(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return pkc_error(PKC_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return pkc_error(PKC_ERR_PERMISSION, "%s is not a directory", path);
    if (st.st_uid != geteuid())
        return pkc_error(PKC_ERR_PERMISSION, "%s belongs to another user", path);
    if (st.st_mode & 077)
        return pkc_error(PKC_ERR_PERMISSION,
                         "%s is open to other users (mode %03o); run chmod 700 on it", path,
                         (unsigned)(st.st_mode & 0777));
    return 0;
}

static int registry_path(const char *configured, char *out, size_t cap)
{
    int n;
    if (configured) {
        n = snprintf(out, cap, "%s", configured);
        if (n < 0 || (size_t)n >= cap)
            return pkc_error(PKC_ERR_INVALID_ARG, "registry directory: path too long");
        if (make_dir(out) != 0)
            return pkc_error(PKC_ERR_IO, "%s: %s", out, strerror(errno));
        return registry_dir_safe(out);
    }
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (xdg && xdg[0] == '/') {
        n = snprintf(out, cap, "%s/pkc", xdg);
        if (n < 0 || (size_t)n >= cap || make_dir(out) != 0)
            return pkc_error(PKC_ERR_IO, "%s: cannot create the registry directory", xdg);
        n = snprintf(out, cap, "%s/pkc/lan", xdg);
    } else {
        n = snprintf(out, cap, "/tmp/pkc-lan-%u", (unsigned)geteuid());
    }
    if (n < 0 || (size_t)n >= cap)
        return pkc_error(PKC_ERR_INVALID_ARG, "registry directory: path too long");
    if (make_dir(out) != 0)
        return pkc_error(PKC_ERR_IO, "%s: %s", out, strerror(errno));
    return registry_dir_safe(out);
}

/* Creates our entry, locked: written under a temporary name, locked, then
 * renamed into place, so that no one ever sees it unlocked. */
static int registry_enter(pkc_lan_io *io)
{
    char tmp[PATH_MAX];
    int n = snprintf(io->own, sizeof io->own, "%s/%llu-%u", io->dir,
                     (unsigned long long)io->netns, io->uni_port);
    int m = snprintf(tmp, sizeof tmp, "%s/.new-%ld-%u", io->dir, (long)getpid(), io->uni_port);
    if (n < 0 || (size_t)n >= sizeof io->own || m < 0 || (size_t)m >= sizeof tmp)
        return pkc_error(PKC_ERR_INVALID_ARG, "registry: path too long");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return pkc_error(PKC_ERR_IO, "%s: %s", tmp, strerror(errno));
    static const char text[] = "pkc-lan-v1\n";
    if (write(fd, text, sizeof text - 1) != (ssize_t)(sizeof text - 1) ||
        flock(fd, LOCK_EX | LOCK_NB) != 0 || rename(tmp, io->own) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return pkc_error(PKC_ERR_IO, "registry entry %s: %s", io->own, strerror(e));
    }
    if (io->lock_fd >= 0)
        close(io->lock_fd);
    io->lock_fd = fd;
    return 0;
}

/* Our entry is still there (a node that found it unlocked in a race would
 * have removed it): re-enter if not. */
static void registry_check_own(pkc_lan_io *io)
{
    struct stat a, b;
    if (io->lock_fd >= 0 && fstat(io->lock_fd, &a) == 0 && stat(io->own, &b) == 0 &&
        a.st_ino == b.st_ino && a.st_dev == b.st_dev)
        return;
    if (registry_enter(io) != 0)
        pkc_logw(LOG, "host registry: %s", pkc_errmsg());
}

/* Whether the entry's owner is gone (nobody holds its lock); then removes it. */
static int registry_reap(const pkc_lan_io *io, const char *name)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", io->dir, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT;
    int dead = 0;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        struct stat a, b;
        /* Still the same file (not one a new node just put in its place). */
        if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino) {
            unlink(path);
            dead = 1;
        }
    }
    close(fd);
    return dead;
}

/* The unicast ports of the other live nodes of this network namespace. */
static size_t registry_scan(pkc_lan_io *io, uint16_t *ports, size_t cap)
{
    DIR *d = opendir(io->dir);
    if (d == NULL)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        unsigned long long ns;
        unsigned port;
        int used = 0;
        if (sscanf(e->d_name, "%llu-%u%n", &ns, &port, &used) != 2 ||
            e->d_name[used] != 0 || port == 0 || port > 65535)
            continue;
        if (ns == io->netns && port == io->uni_port)
            continue; /* ours */
        if (registry_reap(io, e->d_name)) {
            pkc_logd(LOG, "host registry: removed %s (its node is gone)", e->d_name);
            continue;
        }
        if (ns == io->netns && n < cap)
            ports[n++] = (uint16_t)port;
    }
    closedir(d);
    return n;
}

static int open_registry(pkc_lan_io *io, const char *configured)
{
    int rc = registry_path(configured, io->dir, sizeof io->dir);
    if (rc)
        return rc;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return pkc_error(PKC_ERR_IO, "registry socket: %s", strerror(errno));
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        int e = errno;
        close(fd);
        return pkc_error(PKC_ERR_IO, "registry socket on 127.0.0.1: %s", strerror(e));
    }
    io->uni_port = ntohs(a.sin_port);
    if (adopt(io, &io->uni, fd) != 0)
        return pkc_error(PKC_ERR_IO, "registry socket");
    io->has_uni = 1;
    io->netns = netns_id();
    if ((rc = registry_enter(io)))
        return rc;
    io->registry = 1;
    io->stats.registry = 1;
    uint16_t ports[MAX_REGISTRY];
    io->stats.registry_peers = registry_scan(io, ports, MAX_REGISTRY); /* and clean up */
    return 0;
}

/* ---- the API ------------------------------------------------------------------- */

static void on_closed(uv_handle_t *h)
{
    pkc_lan_io *io = h->data;
    if (--io->open_handles == 0)
        free(io);
}

static void close_handle(pkc_lan_io *io, uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, on_closed);
    (void)io;
}

void pkc_lan_io_stop(pkc_lan_io *io)
{
    if (io == NULL || io->stopping)
        return;
    io->stopping = 1;
    if (io->lock_fd >= 0) {
        struct stat a, b;
        if (fstat(io->lock_fd, &a) == 0 && stat(io->own, &b) == 0 && a.st_ino == b.st_ino)
            unlink(io->own);
        close(io->lock_fd);
        io->lock_fd = -1;
    }
    /* Every handle open counts; the last close frees `io`. */
    io->open_handles++; /* held until all closes are requested */
    if (io->m4.data)
        close_handle(io, (uv_handle_t *)&io->m4);
    if (io->m6.data)
        close_handle(io, (uv_handle_t *)&io->m6);
    if (io->uni.data)
        close_handle(io, (uv_handle_t *)&io->uni);
    if (io->refresh.data)
        close_handle(io, (uv_handle_t *)&io->refresh);
    if (--io->open_handles == 0)
        free(io);
}

int pkc_lan_io_start(pkc_loop *loop, const pkc_lan_io_config *config,
                     pkc_lan_io_receive_fn receive, void *user_data, pkc_lan_io **out)
{
    if (loop == NULL || receive == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "lan io: NULL argument");
    pkc_lan_io_config cfg;
    if (config)
        cfg = *config;
    else
        pkc_lan_io_config_default(&cfg);
    pkc_lan_io *io = calloc(1, sizeof *io);
    if (io == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    io->loop = loop;
    io->receive = receive;
    io->user_data = user_data;
    io->port = cfg.port;
    io->lock_fd = -1;
    io->fd4 = io->fd6 = -1;
    if (cfg.port == 0 && (cfg.ipv4 || cfg.ipv6)) {
        free(io);
        return pkc_error(PKC_ERR_INVALID_ARG, "lan io: multicast port 0");
    }
    if (cfg.ipv4 && (cfg.group4 == NULL ||
                     inet_pton(AF_INET, cfg.group4, &io->group4) != 1 ||
                     !IN_MULTICAST(ntohl(io->group4.s_addr)))) {
        free(io);
        return pkc_error(PKC_ERR_INVALID_ARG, "lan io: %s is not an IPv4 multicast group",
                         cfg.group4 ? cfg.group4 : "(null)");
    }
    if (cfg.ipv6 && (cfg.group6 == NULL ||
                     inet_pton(AF_INET6, cfg.group6, &io->group6) != 1 ||
                     !IN6_IS_ADDR_MULTICAST(&io->group6))) {
        free(io);
        return pkc_error(PKC_ERR_INVALID_ARG, "lan io: %s is not an IPv6 multicast group",
                         cfg.group6 ? cfg.group6 : "(null)");
    }
    if (cfg.ipv4 && (io->fd4 = open_multicast(AF_INET, cfg.port)) >= 0)
        io->has_m4 = adopt(io, &io->m4, io->fd4) == 0;
    if (cfg.ipv6 && (io->fd6 = open_multicast(AF_INET6, cfg.port)) >= 0)
        io->has_m6 = adopt(io, &io->m6, io->fd6) == 0;
    if (cfg.registry_dir == NULL || cfg.registry_dir[0] != 0) {
        if (open_registry(io, cfg.registry_dir) != 0)
            pkc_logw(LOG, "host registry left out: %s", pkc_errmsg());
    }
    if (io->has_m4 || io->has_m6) {
        refresh_interfaces(io);
        uv_timer_init(&loop->uv, &io->refresh);
        io->refresh.data = io;
        io->open_handles++;
        uv_timer_start(&io->refresh, on_refresh, REFRESH_MS, REFRESH_MS);
    }
    if (!io->has_m4 && !io->has_m6 && !io->registry) {
        pkc_lan_io_stop(io);
        return pkc_error(PKC_ERR_IO, "lan io: no multicast socket and no host registry");
    }
    pkc_logi(LOG, "discovery: IPv4 %s, IPv6 %s, host registry %s", io->has_m4 ? "on" : "off",
             io->has_m6 ? "on" : "off", io->registry ? io->dir : "off");
    *out = io;
    return 0;
}

static int try_send(pkc_lan_io *io, uv_udp_t *h, const uint8_t *data, size_t len,
                    const struct sockaddr *to)
{
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int rc = uv_udp_try_send(h, &b, 1, to);
    if (rc < 0) {
        io->stats.send_errors++;
        pkc_logd(LOG, "send: %s", uv_strerror(rc));
        return 0;
    }
    io->stats.sent++;
    return 1;
}

int pkc_lan_io_send(pkc_lan_io *io, const uint8_t *data, size_t len)
{
    if (io == NULL || data == NULL || io->stopping)
        return pkc_error(PKC_ERR_INVALID_ARG, "lan io send: NULL argument or stopped");
    int tried = 0, ok = 0;
    if (io->has_m4 || io->has_m6)
        refresh_interfaces(io);
    for (size_t i = 0; i < io->n4; i++) {
        /* The interface (and source address) this copy leaves from. */
        struct ip_mreqn m;
        memset(&m, 0, sizeof m);
        m.imr_address = io->if4[i].addr4;
        m.imr_ifindex = (int)io->if4[i].index;
        if (setsockopt(io->fd4, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m) != 0)
            continue;
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(io->port),
                                 .sin_addr = io->group4};
        tried++;
        ok += try_send(io, &io->m4, data, len, (struct sockaddr *)&to);
    }
    for (size_t i = 0; i < io->n6; i++) {
        unsigned index = io->if6[i].index;
        if (setsockopt(io->fd6, IPPROTO_IPV6, IPV6_MULTICAST_IF, &index, sizeof index) != 0)
            continue;
        struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons(io->port),
                                  .sin6_addr = io->group6, .sin6_scope_id = index};
        tried++;
        ok += try_send(io, &io->m6, data, len, (struct sockaddr *)&to);
    }
    if (io->registry) {
        registry_check_own(io);
        uint16_t ports[MAX_REGISTRY];
        size_t n = registry_scan(io, ports, MAX_REGISTRY);
        io->stats.registry_peers = n;
        for (size_t i = 0; i < n; i++) {
            struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(ports[i]),
                                     .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
            tried++;
            ok += try_send(io, &io->uni, data, len, (struct sockaddr *)&to);
        }
    }
    if (tried > 0 && ok == 0)
        return pkc_error(PKC_ERR_IO, "lan io send: no destination took the datagram");
    return ok;
}

int pkc_lan_io_answer(pkc_lan_io *io, const uint8_t *data, size_t len)
{
    if (io == NULL || data == NULL || io->stopping || io->rx_registry_from == NULL)
        return 0;
    return try_send(io, &io->uni, data, len, io->rx_registry_from);
}

void pkc_lan_io_get_stats(const pkc_lan_io *io, pkc_lan_io_stats *out)
{
    if (io && out)
        *out = io->stats;
}
