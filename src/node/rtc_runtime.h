/* rtc_runtime.h: the runtime side of peer connections: sockets, timers,
 * routing of datagrams, dispatch of events to the user's callbacks. */
#ifndef PKC_NODE_RTC_RUNTIME_H
#define PKC_NODE_RTC_RUNTIME_H

#include <uv.h>

#include "rtc/addr.h"
#include "rtc/conn.h"
#include "rtc/stun.h"
#include "node/loop.h"
#include "pkc.h"

#define PKC_SOCKET_MAX_HOSTS 16

typedef struct addr_entry {
    struct addr_entry *next;
    pkc_addr addr;
    struct pkc_rtc_peer *peer;
} addr_entry;

typedef struct rtc_listener {
    char ufrag[16], pwd[32];
    pkc_rtc_config cfg;
    pkc_rtc_callbacks cb;
    void *user_data;
    pkc_rtc_cert *cert;
    size_t live;
} rtc_listener;

struct pkc_rtc_socket {
    pkc_loop *loop;
    int fd[2]; /* IPv4, IPv6; -1 if absent */
    uv_poll_t poll[2];
    int polling[2];
    int closing;
    int pending_closes;
    uint16_t port;
    pkc_addr hosts[PKC_SOCKET_MAX_HOSTS];
    size_t n_hosts;
    struct pkc_rtc_peer *peers; /* via sock_next */
    addr_entry **table;
    size_t table_size, table_count;
    struct pkc_rtc_peer *last_peer; /* cache for the data path */
    pkc_addr last_addr;
    rtc_listener *listener;
    int private_to_peer; /* created by a peer for itself */
    uint64_t rx_datagrams, rx_dropped;
    /* STUN responses that no peer connection owns (the node's own Binding
     * requests to STUN servers, sent from this socket): given here. */
    void (*stun_response)(void *ud, const pkc_addr *from, const pkc_stun_msg *m,
                          const uint8_t *data, size_t len);
    void *stun_response_ud;
};

struct pkc_rtc_peer {
    pkc_loop *loop;
    pkc_rtc_socket *sock;
    pkc_conn *conn;
    pkc_rtc_callbacks cb;
    void *user_data;
    uv_timer_t timer;
    uint64_t armed; /* deadline the timer is set for, UINT64_MAX if none */
    struct pkc_rtc_peer *loop_next, *sock_next, *pending_next;
    int pending;
    int dead;
    int in_dispatch;
    int free_requested;
    /* STUN servers being resolved. */
    char **stun_names;
    size_t n_stun_names, resolving;
    pkc_addr stun_addrs[4];
    size_t n_stun_addrs;
    int stun_applied;
    /* Listener peers: the remote ufrag that routes checks to us. */
    char lite_rufrag[257];
    pkc_addr lite_from; /* the address whose check opened it */
    rtc_listener *listener;
};

/* Socket side. */
void pkc_rtc_socket_attach(pkc_rtc_socket *s, struct pkc_rtc_peer *p);
void pkc_rtc_socket_detach(pkc_rtc_socket *s, struct pkc_rtc_peer *p);
void pkc_rtc_socket_route(pkc_rtc_socket *s, const pkc_addr *remote, struct pkc_rtc_peer *p);
/* Queues a datagram; it leaves at the next pkc_rtc_socket_flush(), which
 * the loop calls before it waits. */
int pkc_rtc_socket_send(pkc_rtc_socket *s, const pkc_addr *local, const pkc_addr *remote,
                        const uint8_t *data, size_t len);
/* Sends every queued datagram of this thread. */
void pkc_rtc_socket_flush(void);

/* Peer side, used by the socket and the loop. */
void pkc_rtc_peer_input(struct pkc_rtc_peer *p, const pkc_addr *local, const pkc_addr *remote,
                        const uint8_t *data, size_t len);
void pkc_rtc_peer_after_io(struct pkc_rtc_peer *p);
void pkc_rtc_peer_dispatch(struct pkc_rtc_peer *p);
struct pkc_rtc_peer *pkc_rtc_peer_new_lite(pkc_rtc_socket *s, rtc_listener *l, const char *rufrag,
                                          const pkc_addr *from);

#endif
