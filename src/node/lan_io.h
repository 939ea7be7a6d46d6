/*
 * lan_io.h: the sockets of same-host and LAN discovery (docs/discovery.md).
 *
 * Moves the datagrams of the pkc_lan engine (src/discovery/lan.h); holds no
 * protocol logic. Three ways out and in:
 *
 *   - IPv4 multicast to 239.255.112.107 (administratively scoped, RFC 2365)
 *     and IPv6 multicast to ff02::706b:636c (link-local scope; the group id
 *     is "pkcl"), port 24170, TTL / hop limit 1, loopback on, joined and
 *     sent on every interface that is up and can multicast. The sockets
 *     bind the port with SO_REUSEADDR, so any number of nodes on one host
 *     share it, and each receives every datagram sent to the group.
 *   - The host registry, for hosts whose only interface is lo (which
 *     cannot multicast unless told to): a directory, mode 0700, where each
 *     node keeps a file "<netns>-<port>" naming the port of its own unicast
 *     socket on 127.0.0.1, locked (flock) while it runs. Announcements also
 *     go to every port listed there for the same network namespace; an
 *     entry whose lock nobody holds is a dead node's and is removed. (A
 *     unicast datagram to a port shared with SO_REUSEADDR reaches only one
 *     of the sockets, hence a port of its own per node.)
 *
 * One thread: the loop's. The receive callback runs on it.
 */
#ifndef PKC_NODE_LAN_IO_H
#define PKC_NODE_LAN_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "pkc.h"

#define PKC_LAN_PORT 24170
#define PKC_LAN_GROUP4 "239.255.112.107"
#define PKC_LAN_GROUP6 "ff02::706b:636c"

typedef struct pkc_lan_io pkc_lan_io;

typedef struct pkc_lan_io_config {
    uint16_t port;            /* the multicast port: PKC_LAN_PORT */
    int ipv4;                 /* IPv4 multicast: 1 */
    int ipv6;                 /* IPv6 multicast: 1 */
    const char *group4;       /* PKC_LAN_GROUP4; copied */
    const char *group6;       /* PKC_LAN_GROUP6; copied */
    /* The host registry: NULL for the default ($XDG_RUNTIME_DIR/pkc/lan, or
     * /tmp/pkc-lan-<uid> without it), "" for none; copied. */
    const char *registry_dir;
} pkc_lan_io_config;

typedef struct pkc_lan_io_stats {
    uint64_t sent;          /* datagrams sent (one per destination) */
    uint64_t send_errors;   /* destinations that refused */
    uint64_t received;
    size_t interfaces4;     /* interfaces joined now, IPv4 */
    size_t interfaces6;     /* IPv6 */
    size_t registry_peers;  /* other nodes of the registry at the last send */
    int registry;           /* 1 if the registry is in use */
} pkc_lan_io_stats;

/* A datagram heard, from `from` (a sockaddr_in or sockaddr_in6); all
 * borrowed for the call. */
typedef void (*pkc_lan_io_receive_fn)(void *user_data, const uint8_t *data, size_t len,
                                      const struct sockaddr *from);

void pkc_lan_io_config_default(pkc_lan_io_config *cfg);

/*
 * Opens what `cfg` (NULL: defaults) asks for on `loop`. A way that cannot be
 * opened (the port taken by a program without SO_REUSEADDR, no IPv6, a
 * registry directory that is not safe) is logged and left out; it fails
 * only when none is left. Returns 0, PKC_ERR_INVALID_ARG, PKC_ERR_IO,
 * PKC_ERR_NOMEM.
 */
int pkc_lan_io_start(pkc_loop *loop, const pkc_lan_io_config *cfg,
                     pkc_lan_io_receive_fn receive, void *user_data, pkc_lan_io **out);

/* Sends `data` to every destination: the groups on each interface (the list
 * is refreshed first) and the registry's other nodes. Returns how many
 * destinations took it (0 if there are none), or PKC_ERR_IO if every one
 * refused. */
int pkc_lan_io_send(pkc_lan_io *io, const uint8_t *data, size_t len);

/* Sends `data` to the source of the datagram being received (call it only
 * from inside the receive callback), if that datagram came through the
 * host registry: its source is then one node's own registry socket.
 * Returns 1 if sent, 0 otherwise (a multicast datagram's source port is
 * shared by every node of its host: no answer goes there). */
int pkc_lan_io_answer(pkc_lan_io *io, const uint8_t *data, size_t len);

/* Closes everything and removes this node's registry entry; the memory is
 * freed once the loop has run the close callbacks (pkc_loop_run or
 * pkc_loop_free). No callback after this. Accepts NULL. */
void pkc_lan_io_stop(pkc_lan_io *io);

void pkc_lan_io_get_stats(const pkc_lan_io *io, pkc_lan_io_stats *out);

#endif
