/*
 * node_int.h: the node's insides, shared by the node_*.c files
 * (docs/node.md has the design).
 *
 * Objects:
 *   pkc_node    the node: identity, database, loop, UDP socket, rooms, links
 *   node_room   a room: secret and key, its mesh, its documents
 *   node_link   one WebRTC connection to one peer (whatever rooms we share)
 *   node_chan   one data channel of a link and the pkc session over it; a
 *               session proves one room, so a link carries a channel per room
 *   node_known  what we know to dial a peer and seal to it (LAN announcements)
 *   node_doc    an open document of a room
 *
 * Everything here runs on the loop thread.
 */
#ifndef PKC_NODE_NODE_INT_H
#define PKC_NODE_NODE_INT_H

#include <pthread.h>
#include <stdint.h>
#include <uv.h>

#include "discovery/invite.h"
#include "rtc/addr.h"
#include "util/buf.h"
#include "discovery/lan.h"
#include "store/db.h"
#include "node/lan_io.h"
#include "node/node_rules.h"
#include "node/order.h"
#include "pkc.h"

#define NODE_ROOMS_MAX 16
#define NODE_INVITES_MAX 32 /* invitations a handshake may prove at once */
#define NODE_RTC_CHANNELS 64 /* SCTP streams each way: ids of 2 x NODE_ROOMS_MAX channels */
#define NODE_ADDRS_MAX 8
#define NODE_MAX_TEXT 60000
#define NODE_FRAME_MAX PKC_FRAME_SIZE_MAX
#define NODE_RTC_MESSAGE_MAX (PKC_FRAME_SIZE_MAX + 4096)
/* NODE_SEND_MAX: node_rules.h. */
/* NODE_MSG_RATE, NODE_BYTE_RATE: node_rules.h. */
/* A session handshake step's timeout on a link (proto restarts it at each
 * step the peer answers): room for several SCTP retransmissions of a record
 * on a lossy path (at most 3 s apart), as long as the ICE consent timeout. */
#define NODE_HANDSHAKE_STEP_MS 30000
/* The mesh's backstop for a connection attempt (node_room_start): a link's
 * 20 s to connect and a handshake step. Attempts that fail are reported when
 * they fail, before it. */
#define NODE_CONNECT_TIMEOUT_MS 50000

typedef struct node_room node_room;
typedef struct node_link node_link;
typedef struct node_chan node_chan;
typedef struct node_doc node_doc;
typedef struct node_known node_known;
typedef struct node_work node_work;
typedef struct node_control node_control;
typedef struct node_report node_report;
typedef struct node_invite node_invite;

struct node_doc {
    node_room *room;
    char name[PKC_DOC_NAME_MAX + 1];
    pkc_ydoc *doc;
    pkc_yawareness *aw; /* who is here (y-protocols awareness) */
    uint32_t observer;
    int applying_remote; /* an update from a peer is being applied */
    int changed_local;   /* a local change since the last remote update */
    int store_failed;    /* the error of a local update the database refused, else 0 */
    uint64_t updates_since_compact;
    int64_t last_remote_ms; /* wall ms of the last peer's update that changed it, 0 */
    node_doc *next;
};

/* An invitation: one we made (mine), or one we accepted. */
struct node_invite {
    pkc_invite offer; /* decoded and checked; holds the room secret and token */
    int mine;
    int used; /* mine, single-use: a handshake proved it (stored) */
    int done; /* accepted: a handshake with the inviter proved it */
    node_invite *next;
};

struct node_room {
    pkc_node *n;
    uint8_t secret[PKC_ROOM_SECRET_BYTES];
    pkc_room_key key;
    char id[17];
    char name[64];
    int local;
    int invite_pending; /* joined by an invitation not yet proven: not saved */
    pkc_mesh *mesh;
    node_doc *docs;
    /* Our text broadcasts: their epoch (0 until the first: then wall ms,
     * above any epoch this process used before) and the sequence number of
     * the last; and the hold-back buffer that delivers each sender's in the
     * order sent (order.h). */
    node_bcast_state bcast;
    node_order *order;
    node_room *next;
};

struct node_known {
    uint8_t hash[PKC_PEER_ID_HASH_BYTES];
    uint8_t pk[PKC_PUBLIC_KEY_BYTES];
    uint8_t dh[PKC_DH_PUBLIC_KEY_BYTES];
    char peer_id[PKC_PEER_ID_SIZE];
    int dialable; /* the fields below are set */
    char ufrag[PKC_LAN_UFRAG_MAX + 1], pwd[PKC_LAN_PWD_MAX + 1];
    uint8_t fp[32];
    char addrs[NODE_ADDRS_MAX][64]; /* "udp:IP:PORT" */
    size_t n_addrs;
    uint64_t heard_us;
    /* The mesh asked us to dial this peer while it is the one that dials
     * (the smaller id): unless its link arrives first, we dial at
     * dial_at (0: nothing planned), in the room with this id. */
    uint64_t dial_at;
    uint8_t dial_room[PKC_ROOM_ID_BYTES];
    /* Hole punching (node_nat.c): the peer's signaled addresses that we
     * send Binding requests to, `punch_left` more times from punch_at. */
    pkc_addr punch[NODE_ADDRS_MAX];
    size_t n_punch;
    unsigned punch_left;
    uint64_t punch_at;
    /* Direct connections we dialed that never connected, in a row; past
     * NODE_DIRECT_FAILURES we leave the peer to the mesh's routes until
     * direct_hold_until. */
    unsigned direct_failures;
    uint64_t direct_hold_until;
    uint64_t moved_us; /* when its last `nat` message was acted on */
    node_known *next;
};

struct node_chan {
    node_link *link;
    node_room *room; /* NULL on an inbound channel until its session proves a room */
    pkc_rtc_channel *ch;
    pkc_session *sess;
    int initiator;
    int established;
    int in_mesh;   /* pkc_mesh_peer_connected() accepted it */
    int joining;   /* inside pkc_mesh_peer_connected() for it */
    /* Initiator: dialed for this invitation, whose token is the proof.
     * Responder: the invitation the peer proved, once established. */
    node_invite *invite;
    int invite_confirmed; /* initiator: the peer accepted our proof of it */
    /* Responder: what each proof secret offered to the peer stands for: a
     * room or an invitation, by id (the lists can change mid-handshake). */
    uint8_t proof_ids[NODE_ROOMS_MAX + NODE_INVITES_MAX][8];
    uint8_t proof_is_invite[NODE_ROOMS_MAX + NODE_INVITES_MAX];
    /* A SYNC message arriving in fragments (kind 2), reassembled here. */
    node_sync_frag frag;
    uint64_t frag_report_us; /* when its progress was last reported (frag_reports > 0) */
    unsigned frag_reports;   /* progress reports of the message so far */
    int mesh_bye;  /* the mesh asked to close it: do not report back */
    int dead;
    node_chan *next;
};

struct node_link {
    pkc_node *n;
    uint8_t hash[PKC_PEER_ID_HASH_BYTES];
    int hash_known; /* inbound links learn it from their first session */
    uint8_t pk[PKC_PUBLIC_KEY_BYTES];
    char peer_id[PKC_PEER_ID_SIZE];
    int outbound;
    pkc_rtc_peer *rtc;
    pkc_rtc_state state;
    node_chan *chans;
    int had_chan; /* a channel was opened on it (its channels may all be gone) */
    uint64_t created_us, connected_us;
    uint8_t remote_fp[32]; /* outbound: from the announcement */
    int dead;
    node_link *next;
};

/* Work the mesh asked for inside one of its callbacks, done after it. */
enum node_work_kind {
    W_CONNECT_FAILED, /* pkc_mesh_peer_connect_failed */
    W_DISCONNECTED,   /* pkc_mesh_peer_disconnected */
    W_ACK,     /* acknowledge direct message msg_id to peer */
    W_PUBLISH, /* pkc_mesh_publish(msg_id, data) */
    W_SEND,    /* pkc_mesh_send(peer, data) */
    W_SIGNAL,  /* pkc_mesh_signal(peer, our dial information) */
};
struct node_work {
    int kind;
    node_room *room;
    uint8_t peer[PKC_PEER_ID_HASH_BYTES];
    uint8_t msg_id[PKC_MSG_ID_BYTES]; /* W_ACK: the direct message to acknowledge */
    uint8_t *data; /* W_PUBLISH, W_SEND: owned */
    size_t len;
    node_work *next;
};

/* What a group commit holds back until it is durable (node_msg.c): a
 * message for the callbacks and control clients, the receipt of a direct
 * message, or the news that one of ours was delivered. */
struct node_report {
    node_report *next;
    /* R_PUBLISH and R_SEND: a message stored in the batch, sent once it
     * commits (stored before sent). */
    enum { R_MESSAGE, R_ACK, R_DELIVERED, R_PUBLISH, R_SEND } kind;
    uint8_t room[PKC_ROOM_ID_BYTES];          /* R_ACK, R_PUBLISH, R_SEND */
    uint8_t peer[PKC_PEER_ID_HASH_BYTES];     /* R_ACK, R_SEND: to whom */
    uint8_t msg_id[PKC_MSG_ID_BYTES];
    int64_t seq, time_ms;                     /* R_MESSAGE */
    int direct;                               /* R_MESSAGE */
    char from[PKC_PEER_ID_SIZE];              /* R_MESSAGE: sender; R_DELIVERED: recipient */
    char room_id[17];                         /* R_MESSAGE */
    size_t len;                               /* R_MESSAGE: text; R_PUBLISH, R_SEND: frame */
    uint8_t data[];
};

struct pkc_node {
    pkc_node_config cfg;
    char *data_dir;
    char **passphrases;
    size_t n_passphrases;
    char **stun;
    pkc_node_callbacks cb;
    void *user_data;

    pkc_identity *id;
    pkc_db *db;
    int lock_fd;
    pkc_rtc_cert *cert;
    uint8_t cert_fp[32];
    const pkc_clock *clock;
    const pkc_rng *rng;
    pkc_replay *replay; /* broadcast and direct messages, persisted */
    pkc_guard *guard;   /* blocks shared by every session: a peer over its limits */
    unsigned stun_turn; /* rotates the STUN servers between attempts */

    /* Loop. */
    pkc_loop *loop;
    pthread_t thread;
    int has_thread;
    pthread_t loop_thread; /* the thread running the loop, while it runs */
    int running;           /* the loop runs (or is being set up) */
    int stopping;
    int stopped;
    int embedded;   /* pkc_node_open: the caller's loop drives ours */
    int in_process; /* inside pkc_node_process */
    uv_timer_t timer;      /* every deadline: meshes, sessions, lan, housekeeping */
    uv_timer_t work_timer; /* node_work queue */
    int timers_open;

    /* Network. */
    pkc_rtc_socket *sock;
    char *listener_sdp;
    char lufrag[257], lpwd[257];
    char laddrs[NODE_ADDRS_MAX][64]; /* host addresses of the listener */
    size_t n_laddrs;
    /* NAT traversal (node_nat.c): STUN servers, our server-reflexive
     * addresses (one per family) as seen from the shared socket. */
    pkc_addr stun_addrs[4];
    size_t n_stun_addrs;
    int stun_resolving;
    struct node_stun_tx {
        uint8_t txid[12];
        unsigned tries; /* sends of this round; 0: idle */
        uint64_t next_us;
    } stun_tx[4];
    uint64_t nat_refresh_us; /* next refresh round */
    char srflx[2][64];       /* "udp:IP:PORT", "" if unknown */
    uint64_t nat_changes;    /* mapping changes seen (rebinding) */
    uint64_t nat_round;      /* refresh rounds so far */
    uint64_t nat_round_seen[2]; /* the round that last set srflx[family] */
    uint64_t punch_window_us;
    unsigned punch_sent; /* in the current second */
    struct node_nat_resolve *resolves;
    uint64_t mesh_trace_seq; /* numbers mesh messages logged at trace level */
    uint64_t dns_sequence; /* the last DNS seed record's (node_dns.c) */
    struct node_seeds *seeds; /* DNS seeds: lookups and publications (node_seed.c) */
    pkc_lan *lan;
    pkc_lan_io *lan_io;
    node_control *control;

    node_room *rooms;
    uint8_t default_id[PKC_ROOM_ID_BYTES]; /* the first room of cfg.rooms */
    int has_default;
    node_link *links;
    node_known *known;
    node_invite *invites;
    node_work *work, **work_tail;
    /* Group commit: what arrives in one dispatch of the connections'
     * events is stored in one transaction, reported once it commits. */
    int batch_open;
    int user_batch; /* inside pkc_node_batch's fn */
    node_report *reports, **reports_tail;

    /* Housekeeping. */
    uint64_t next_outbox_us, next_metrics_us;
    uint64_t started_us;
    /* The last epoch given to a room's text broadcasts (order.h). */
    uint64_t bcast_epoch_last;

    /* Compaction of one document at a time: merged on libuv's worker
     * thread through a reader connection, swapped in on the loop. */
    pkc_db *reader;
    uv_work_t compact_req;
    int compacting;
    uint8_t compact_room[PKC_ROOM_ID_BYTES];
    char compact_doc[PKC_DOC_NAME_MAX + 1];
    pkc_db_merge compact_merge;
    int compact_rc;
    char compact_err[256];

    /* Metrics. */
    uint64_t total_connections, reconnections, errors;
    uint64_t messages_received, messages_sent, conflicts;
    int64_t last_sync_ms;
    char last_error[160];
};

/* node.c */
node_room *node_room_find(pkc_node *n, const char *spec);
node_room *node_room_by_id(pkc_node *n, const uint8_t id[PKC_ROOM_ID_BYTES]);
void node_error(pkc_node *n, const char *fmt, ...) PKC_PRINTF(2, 3);
void node_reschedule(pkc_node *n);
void node_work_run(pkc_node *n);
node_work *node_defer(pkc_node *n, int kind, node_room *r, const uint8_t *peer);
int node_room_start(pkc_node *n, node_room *r);
void node_lan_status(pkc_node *n);
uint64_t node_now_us(const pkc_node *n);
int64_t node_wall_ms(const pkc_node *n);

typedef int (*node_call_fn)(pkc_node *n, void *arg);
/* Runs fn(n, arg) on the loop thread (here, when it is that thread or the
 * node does not run) and returns its result with its message. */
int node_call(pkc_node *n, node_call_fn fn, void *arg);
/* Rooms: add (PKC_ERR_EXISTS with *out set when it is there), save to the
 * database, and leave (remove) with everything of it in memory. */
int node_room_add(pkc_node *n, const uint8_t secret[PKC_ROOM_SECRET_BYTES], const char *name,
                  node_room **out);
int node_room_save(pkc_node *n, node_room *r);
int node_room_remove(pkc_node *n, node_room *r);

/* node_invite.c: invitations. */
node_invite *node_invite_find(pkc_node *n, const uint8_t id[8]);
int node_invite_live(pkc_node *n, const node_invite *v);
int node_invites_load(pkc_node *n);
void node_invites_free(pkc_node *n);
/* Forgets the invitations we accepted to a room (it is being left). */
void node_invites_drop_accepted(pkc_node *n, const uint8_t room_id[PKC_ROOM_ID_BYTES]);
/* Whether a handshake may prove `v` now: 0, or an error with the
 * refusal's words in `why` (expired, used, its room left). */
int node_invite_check(pkc_node *n, const node_invite *v, char *why, size_t cap);
/* A handshake proved `v` with `peer_id` and the room took the peer: 0
 * (used, joined: stored and reported), or an error with the refusal's
 * words in `why`. */
int node_invite_admit(pkc_node *n, node_invite *v, const char *peer_id, char *why, size_t cap);
/* The inviter refused an invitation we accepted: reported; its room left. */
void node_invite_refused(pkc_node *n, node_invite *v, const char *peer_id, const char *reason);

/* node_dns.c: our DNS seed record for room `r` at "_pkc.<domain>" (or
 * "_pkc.<our id>.<domain>") as a zone line into `line`; its owner into
 * owner_out (may be NULL; PKC_DNS_NAME_MAX + 1 bytes). Its length, or an
 * error. */
int node_dns_line(pkc_node *n, node_room *r, const char *domain, int per_peer, uint32_t ttl_s,
                  char *line, size_t cap, char *owner_out);

/* node_seed.c: DNS seeds. setup (pkc_node_new: copies and checks the
 * configuration), start (the loop runs: first lookup at once), stop (waits
 * for a lookup or update under way), free. */
int node_seeds_setup(pkc_node *n, const pkc_node_config *cfg);
void node_seeds_start(pkc_node *n);
void node_seeds_stop(pkc_node *n);
void node_seeds_free(pkc_node *n);

/* node_msg.c: the group commit around each dispatch (pkc_loop's batch hooks). */
void node_batch_begin(void *node);
void node_batch_end(void *node);
/* Commits the open batch now (a node call made from a callback inside it
 * must not return before its writes are durable); the reports still wait
 * for node_batch_end. */
int node_batch_sync(pkc_node *n);
/* Queues a report of `kind` with `len` bytes of data (NULL: out of memory,
 * recorded). */
node_report *node_report_new(pkc_node *n, int kind, size_t len);
/* Runs (rc 0) or drops (rc != 0, recording the loss) the queued reports. */
void node_reports_run(pkc_node *n, int rc);
void node_reports_drop(pkc_node *n);

/* node_conn.c: links, channels, sessions; the mesh's transport callbacks. */
extern const pkc_mesh_callbacks node_mesh_callbacks;
int node_net_start(pkc_node *n);
void node_net_stop(pkc_node *n);
node_known *node_known_get(pkc_node *n, const uint8_t hash[PKC_PEER_ID_HASH_BYTES]);
node_known *node_known_put(pkc_node *n, const uint8_t pk[32], const uint8_t dh[32]);
void node_lan_found(void *user_data, pkc_lan *lan, const pkc_lan_peer *peer);
void node_links_tick(pkc_node *n, uint64_t now, uint64_t *deadline);
void node_links_reap(pkc_node *n);
node_chan *node_chan_find(pkc_node *n, node_room *r, const uint8_t peer[PKC_PEER_ID_HASH_BYTES]);
int node_chan_send_frame(node_chan *c, const pkc_frame *f);
/* Mesh calls that may come from inside a mesh callback (the user's, too):
 * done at once, or queued when the mesh is busy. `data` is copied. */
int node_mesh_publish(pkc_node *n, node_room *r, const uint8_t id[PKC_MSG_ID_BYTES],
                      const uint8_t *data, size_t len);
int node_mesh_send(pkc_node *n, node_room *r, const uint8_t *to, const uint8_t *data, size_t len);
void node_signal_dial_info(pkc_node *n, node_room *r, const uint8_t *peer);

/* node_nat.c: reflexive addresses and hole punching. */
#define NODE_DIRECT_FAILURES 3
int node_nat_start(pkc_node *n);
void node_nat_stop(pkc_node *n);
void node_nat_tick(pkc_node *n, uint64_t now, uint64_t *deadline);
/* The listener's dial addresses: host ones, then the reflexive ones not
 * already among them; at most `max`. */
size_t node_dial_addrs(const pkc_node *n, const char **out, size_t max);
/* `k` signaled (authenticated) that it will dial us: open our NAT to it. */
void node_nat_punch(pkc_node *n, node_known *k);
/* Refresh the reflexive addresses now (a link failed: the mapping may have
 * changed). */
void node_nat_refresh_soon(pkc_node *n);
/* A `nat` message's payload (docs/protocol.md, "Node"): 1..8 addresses
 * "udp:IP:PORT". Decoding fails (PKC_ERR_MALFORMED) on anything else. */
void node_nat_addrs_encode(pkc_buf *b, const char *const *addrs, size_t count);
int node_nat_addrs_decode(const uint8_t *data, size_t len, char out[][64], size_t *count);
/* A `nat` broadcast (verified, opened) from the peer with key `pk`. */
void node_nat_moved(pkc_node *n, node_room *r, const uint8_t pk[32], const uint8_t *data,
                    size_t len);
node_link *node_link_find(pkc_node *n, const uint8_t hash[PKC_PEER_ID_HASH_BYTES]);
/* Closes our outbound link `l` to `k` and dials `k` again in the rooms it
 * carried. */
void node_redial(pkc_node *n, node_link *l, node_known *k);
void node_link_close(node_link *l, const char *why);
/* Dials the peer of `pk` at `dial` in room `r`, proving invitation `v`. */
int node_dial_invite(pkc_node *n, node_room *r, const uint8_t pk[32], const pkc_invite_dial *dial,
                     node_invite *v);

/* node_msg.c: messages and the inbox/outbox. */
pkc_mesh_validation node_mesh_validate(void *user_data, const pkc_mesh_message *msg);
void node_mesh_deliver(void *user_data, const pkc_mesh_message *msg);
/* A text broadcast released by a room's hold-back buffer (user_data: the room). */
void node_order_deliver(void *user_data, const node_order_msg *m);
void node_mesh_direct(void *user_data, const uint8_t *from, const uint8_t *data, size_t len,
                      unsigned hops);
int node_broadcast_raw(pkc_node *n, node_room *r, const char *topic, const void *data, size_t len,
                       uint8_t id[PKC_MSG_ID_BYTES]);
void node_outbox_flush(pkc_node *n, const uint8_t *only_peer);
void node_send_ack(pkc_node *n, node_room *r, const uint8_t hash[PKC_PEER_ID_HASH_BYTES],
                   const uint8_t id[PKC_MSG_ID_BYTES]);
int node_inbox_list(pkc_node *n, node_room *r, int64_t after, size_t limit,
                    pkc_node_message_fn fn, void *ud);

/* node_doc.c: documents. */
int node_doc_open(node_room *r, const char *name, node_doc **out);
void node_doc_close_all(node_room *r);
void node_doc_sync_start(node_chan *c);
void node_doc_sync_frame(node_chan *c, const pkc_sync *s);
void node_doc_remote_update(node_room *r, const char *name, const uint8_t *update, size_t len,
                            const char *from);
void node_docs_load_names(node_room *r);
void node_compact_wait(pkc_node *n);
void node_doc_awareness_frame(node_chan *c, const pkc_sync *s);
void node_docs_tick(pkc_node *n);
void node_docs_offline(pkc_node *n);
void node_doc_remote_awareness(node_room *r, const char *name, const uint8_t *update, size_t len);
/* A channel with a sync message half arrived goes away: its last progress
 * report (done, short of the total). */
void node_doc_sync_abandon(node_chan *c);
/* Sync progress reports: at most one per NODE_PROGRESS_US for a message
 * arriving in fragments, besides the first and the final one. Whether a
 * report is due at `now_us` after `reports` of them, the last at `last_us`. */
#define NODE_PROGRESS_US 100000
int node_progress_due(unsigned reports, uint64_t last_us, uint64_t now_us, int final);

/* control.c: the control socket. */
int node_control_start(pkc_node *n);
void node_control_stop(pkc_node *n);
void node_control_event(pkc_node *n, const char *kind, const char *json_line);
void node_control_message(pkc_node *n, const pkc_node_message *m);

#endif
