/*
 * node.c: pkc_node, the runtime a person runs and a program embeds
 * (docs/node.md): configuration, the data directory, rooms, the loop and
 * its thread, the timer that drives every engine, and the public calls
 * marshalled onto the loop thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/backend.h"
#include "crypto/peerid.h"
#include "discovery/lan_wire.h"
#include "store/file.h"
#include "util/err.h"
#include "util/text.h"
#include "util/log.h"
#include "util/versioned.h"
#include "node/loop.h"
#include "node/node_int.h"

#define LOG "node"

/* Passphrase rooms: Argon2id with these parameters and salt (docs/protocol.md, "Rooms"). */
#define ROOM_PWHASH_OPS 2
#define ROOM_PWHASH_MEM_KIB 65536
static const uint8_t room_salt[PKC_PWHASH_SALT_BYTES] = "pkc-room-salt-v1";

#define CONFIG_SIZES                                                                               \
    ((pkc_struct_sizes){"pkc_node_config",                                                         \
                        (const size_t[]){0, offsetof(pkc_node_config, seed_domains),               \
                                         sizeof(pkc_node_config)},                                 \
                        2})
#define CALLBACKS_SIZES                                                                            \
    ((pkc_struct_sizes){"pkc_node_callbacks",                                                      \
                        (const size_t[]){0, offsetof(pkc_node_callbacks, invite),                  \
                                         sizeof(pkc_node_callbacks)},                              \
                        2})

/* Recursive: a call made while the node does not run holds it, and a
 * callback of that call may call the node again. */
static pthread_mutex_t call_lock;
static pthread_once_t call_lock_once = PTHREAD_ONCE_INIT;
static void call_lock_init(void)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&call_lock, &a);
    pthread_mutexattr_destroy(&a);
}

void pkc_node_config_default_versioned(int config_version, pkc_node_config *cfg)
{
    pkc_node_config c;
    memset(&c, 0, sizeof c);
    c.local_room = 1;
    c.lan = 1;
    c.max_peers = 8;
    c.gossip_interval_ms = 5000;
    c.heartbeat_interval_ms = 10000;
    c.sync = 1;
    c.control = 1;
    c.outbox_retry_ms = 5000;
    pkc_struct_write(cfg, &c, config_version, CONFIG_SIZES);
}

uint64_t node_now_us(const pkc_node *n)
{
    return n->clock->mono_us(n->clock->user_data);
}

int64_t node_wall_ms(const pkc_node *n)
{
    return n->clock->wall_ms(n->clock->user_data);
}

void node_error(pkc_node *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->last_error, sizeof n->last_error, fmt, ap);
    va_end(ap);
    n->errors++;
    pkc_logw(LOG, "%s", n->last_error);
}

/* ---- rooms -------------------------------------------------------------------------------------- */

node_room *node_room_by_id(pkc_node *n, const uint8_t id[PKC_ROOM_ID_BYTES])
{
    for (node_room *r = n->rooms; r; r = r->next)
        if (memcmp(r->key.id, id, PKC_ROOM_ID_BYTES) == 0)
            return r;
    return NULL;
}

node_room *node_room_find(pkc_node *n, const char *spec)
{
    if (spec == NULL || spec[0] == 0) {
        /* The default room: the first private room of the configuration,
         * else the local room, else the first room. */
        node_room *r = n->has_default ? node_room_by_id(n, n->default_id) : NULL;
        for (node_room *x = n->rooms; r == NULL && x; x = x->next)
            if (x->local)
                r = x;
        return r ? r : n->rooms;
    }
    for (node_room *r = n->rooms; r; r = r->next)
        if ((r->local && strcmp(spec, "local") == 0) || strcmp(spec, r->id) == 0 ||
            strcmp(spec, r->name) == 0)
            return r;
    return NULL;
}

static int room_add(pkc_node *n, const uint8_t secret[PKC_ROOM_SECRET_BYTES], int local,
                    const char *name, node_room **out)
{
    pkc_room_key key;
    pkc_room_key_derive(secret, &key);
    node_room *have = node_room_by_id(n, key.id);
    if (have) {
        *out = have;
        return PKC_ERR_EXISTS;
    }
    size_t count = 0;
    for (node_room *r = n->rooms; r; r = r->next)
        count++;
    if (count >= NODE_ROOMS_MAX)
        return pkc_error(PKC_ERR_TOO_LARGE, "a node is in at most %d rooms", NODE_ROOMS_MAX);
    node_room *r = calloc(1, sizeof *r);
    if (r == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    r->n = n;
    memcpy(r->secret, secret, PKC_ROOM_SECRET_BYTES);
    r->key = key;
    pkc_hex_encode(r->id, key.id, PKC_ROOM_ID_BYTES);
    r->local = local;
    if (local)
        snprintf(r->name, sizeof r->name, "local");
    else if (name && name[0])
        snprintf(r->name, sizeof r->name, "%s", name);
    else
        snprintf(r->name, sizeof r->name, "room-%.6s", r->id);
    node_room **tail = &n->rooms;
    while (*tail)
        tail = &(*tail)->next;
    *tail = r;
    *out = r;
    return 0;
}

static int room_save(pkc_node *n, node_room *r)
{
    pkc_db_room row;
    memset(&row, 0, sizeof row);
    memcpy(row.id, r->key.id, PKC_ROOM_ID_BYTES);
    memcpy(row.secret, r->secret, PKC_ROOM_SECRET_BYTES);
    row.kind = r->local ? PKC_DB_ROOM_LOCAL : PKC_DB_ROOM_PASSPHRASE;
    snprintf(row.name, sizeof row.name, "%s", r->name);
    row.joined_ms = node_wall_ms(n);
    return pkc_db_room_put(n->db, &row);
}

int node_room_add(pkc_node *n, const uint8_t secret[PKC_ROOM_SECRET_BYTES], const char *name,
                  node_room **out)
{
    return room_add(n, secret, 0, name, out);
}

int node_room_save(pkc_node *n, node_room *r)
{
    return room_save(n, r);
}

static void room_free(node_room *r)
{
    node_order_free(r->order);
    node_doc_close_all(r);
    pkc_mesh_free(r->mesh);
    pkc_memzero(r->secret, sizeof r->secret);
    pkc_memzero(&r->key, sizeof r->key);
    free(r);
}

static int derive_passphrase(const char *phrase, uint8_t secret[PKC_ROOM_SECRET_BYTES])
{
    size_t len = strlen(phrase);
    if (len < 8)
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "room passphrase: at least 8 characters, got %zu", len);
    if (len > 1024)
        return pkc_error(PKC_ERR_INVALID_ARG, "room passphrase: at most 1024 bytes");
    if (pkc_crypto_pwhash(secret, PKC_ROOM_SECRET_BYTES, phrase, len, room_salt, ROOM_PWHASH_OPS,
                          ROOM_PWHASH_MEM_KIB) != 0)
        return pkc_error(PKC_ERR_NOMEM, "room passphrase: Argon2id needs %d MiB of memory",
                         ROOM_PWHASH_MEM_KIB / 1024);
    return 0;
}

static int load_room(void *user_data, const pkc_db_room *row)
{
    pkc_node *n = user_data;
    if (row->kind == PKC_DB_ROOM_LOCAL)
        return 0; /* the local room follows the configuration */
    node_room *r;
    int rc = room_add(n, row->secret, 0, row->name, &r);
    return rc == PKC_ERR_EXISTS ? 0 : rc;
}

/* The mesh, LAN announcement and document names of a room, once the
 * network runs. */
int node_room_start(pkc_node *n, node_room *r)
{
    if (r->mesh)
        return 0;
    pkc_mesh_config mc;
    pkc_mesh_config_default(&mc);
    mc.max_peers = n->cfg.max_peers;
    if (mc.target_peers > mc.max_peers)
        mc.target_peers = mc.max_peers;
    mc.gossip_interval_ms = n->cfg.gossip_interval_ms;
    mc.heartbeat_interval_ms = n->cfg.heartbeat_interval_ms;
    if (mc.peer_timeout_ms < 2 * mc.heartbeat_interval_ms + 5000)
        mc.peer_timeout_ms = 2 * mc.heartbeat_interval_ms + 5000;
    mc.dialable = 1;
    /* A connection attempt may take a link's whole 20 s to connect (ICE and
     * DTLS retransmitting on a lossy path), then its session handshake: the
     * mesh's 15 s would cancel an attempt that is slow but moving. Attempts
     * that fail are reported when they fail (node_conn.c); this is only
     * the backstop. */
    mc.connect_timeout_ms = NODE_CONNECT_TIMEOUT_MS;
    mc.max_payload = NODE_SEND_MAX - 8192;
    mc.rate_msgs = NODE_MSG_RATE;
    mc.burst_msgs = 2 * NODE_MSG_RATE;
    mc.rate_bytes = NODE_BYTE_RATE;
    mc.burst_bytes = 4 * NODE_BYTE_RATE;
    int rc = pkc_mesh_new(&mc, &node_mesh_callbacks, r, n->id, n->clock, n->rng, &r->mesh);
    if (rc)
        return rc;
    int64_t wall = node_wall_ms(n);
    if (r->order == NULL &&
        (rc = node_order_new(node_order_deliver, r, wall > 0 ? (uint64_t)wall : 0, &r->order)) != 0) {
        pkc_mesh_free(r->mesh);
        r->mesh = NULL;
        return rc;
    }
    if (n->lan && (rc = pkc_lan_join(n->lan, r->key.id)) != 0 && rc != PKC_ERR_EXISTS)
        node_error(n, "room %s not announced on the LAN: %s", r->id, pkc_errmsg());
    return 0;
}

/* ---- the timer ---------------------------------------------------------------------------------- */

static void on_timer(uv_timer_t *t);

void node_reschedule(pkc_node *n)
{
    if (!n->timers_open || n->stopped)
        return;
    uint64_t now = node_now_us(n);
    uint64_t d = n->next_outbox_us;
    if (n->next_metrics_us < d)
        d = n->next_metrics_us;
    if (n->lan) {
        uint64_t x = pkc_lan_get_deadline(n->lan);
        if (x < d)
            d = x;
    }
    for (node_room *r = n->rooms; r; r = r->next)
        if (r->mesh) {
            uint64_t x = pkc_mesh_get_deadline(r->mesh);
            if (x < d)
                d = x;
            if (r->order && (x = node_order_deadline(r->order)) < d)
                d = x;
        }
    node_links_tick(n, 0, &d);
    uint64_t ms = d <= now ? 0 : (d - now + 999) / 1000;
    if (ms > 60000)
        ms = 60000;
    uv_timer_start(&n->timer, on_timer, ms, 0);
}

static void on_timer(uv_timer_t *t)
{
    pkc_node *n = t->data;
    uint64_t now = node_now_us(n);
    if (n->lan && pkc_lan_get_deadline(n->lan) <= now)
        pkc_lan_tick(n->lan);
    for (node_room *r = n->rooms; r; r = r->next) {
        if (r->mesh && pkc_mesh_get_deadline(r->mesh) <= now)
            pkc_mesh_tick(r->mesh);
        if (r->order && node_order_deadline(r->order) <= now)
            node_order_tick(r->order, now);
    }
    node_links_tick(n, now, NULL);
    if (n->next_outbox_us <= now) {
        node_outbox_flush(n, NULL);
        n->next_outbox_us = now + (uint64_t)n->cfg.outbox_retry_ms * 1000;
    }
    if (n->next_metrics_us <= now) {
        node_lan_status(n);
        node_docs_tick(n);
        n->next_metrics_us = now + 1000000;
    }
    node_links_reap(n);
    node_reschedule(n);
}

void node_lan_status(pkc_node *n)
{
    if (n->lan == NULL)
        return;
    for (node_room *r = n->rooms; r; r = r->next) {
        if (r->mesh == NULL)
            continue;
        pkc_mesh_stats st;
        pkc_mesh_get_stats(r->mesh, &st);
        unsigned target = n->cfg.max_peers < 6 ? n->cfg.max_peers : 6;
        unsigned known = st.known_peers > 0 ? st.known_peers - 1 : 0;
        if (known < target)
            target = known;
        if (target == 0)
            target = 1;
        pkc_lan_set_room_status(n->lan, r->key.id, st.connected_peers, target);
    }
}

/* ---- deferred work ------------------------------------------------------------------------------ */

/* Runs the queued work (never from inside a mesh callback). */
void node_work_run(pkc_node *n)
{
    while (n->work) {
        node_work *w = n->work;
        n->work = w->next;
        if (n->work == NULL)
            n->work_tail = &n->work;
        if (w->room && w->room->mesh) {
            if (w->kind == W_CONNECT_FAILED)
                pkc_mesh_peer_connect_failed(w->room->mesh, w->peer);
            else if (w->kind == W_DISCONNECTED)
                pkc_mesh_peer_disconnected(w->room->mesh, w->peer);
            else if (w->kind == W_ACK)
                node_send_ack(n, w->room, w->peer, w->msg_id);
            else if (w->kind == W_PUBLISH &&
                     pkc_mesh_publish(w->room->mesh, w->msg_id, PKC_MSG_ID_BYTES, w->data,
                                      w->len) != 0)
                pkc_logd(LOG, "a queued broadcast was not published: %s", pkc_errmsg());
            else if (w->kind == W_SEND &&
                     pkc_mesh_send(w->room->mesh, w->peer, w->data, w->len) != 0)
                pkc_logd(LOG, "a queued message was not sent: %s", pkc_errmsg());
            else if (w->kind == W_SIGNAL)
                node_signal_dial_info(n, w->room, w->peer);
        }
        free(w->data);
        free(w);
    }
}

static void on_work(uv_timer_t *t)
{
    pkc_node *n = t->data;
    node_work_run(n);
    node_links_reap(n);
    node_reschedule(n);
}

node_work *node_defer(pkc_node *n, int kind, node_room *r, const uint8_t *peer)
{
    node_work *w = calloc(1, sizeof *w);
    if (w == NULL) {
        node_error(n, "out of memory queueing work");
        return NULL;
    }
    w->kind = kind;
    w->room = r;
    if (peer)
        memcpy(w->peer, peer, PKC_PEER_ID_HASH_BYTES);
    *n->work_tail = w;
    n->work_tail = &w->next;
    if (n->timers_open)
        uv_timer_start(&n->work_timer, on_work, 0, 0);
    return w;
}

static int defer_data(pkc_node *n, int kind, node_room *r, const uint8_t *peer,
                      const uint8_t *id, const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    node_work *w = node_defer(n, kind, r, peer);
    if (w == NULL) {
        free(copy);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    memcpy(copy, data, len);
    w->data = copy;
    w->len = len;
    if (id)
        memcpy(w->msg_id, id, PKC_MSG_ID_BYTES);
    return 0;
}

int node_mesh_publish(pkc_node *n, node_room *r, const uint8_t id[PKC_MSG_ID_BYTES],
                      const uint8_t *data, size_t len)
{
    int rc = pkc_mesh_publish(r->mesh, id, PKC_MSG_ID_BYTES, data, len);
    if (rc == PKC_ERR_MESH_BUSY)
        rc = defer_data(n, W_PUBLISH, r, NULL, id, data, len);
    return rc;
}

int node_mesh_send(pkc_node *n, node_room *r, const uint8_t *to, const uint8_t *data, size_t len)
{
    int rc = pkc_mesh_send(r->mesh, to, data, len);
    if (rc == PKC_ERR_MESH_BUSY)
        rc = defer_data(n, W_SEND, r, to, NULL, data, len);
    return rc;
}

/* ---- creation ----------------------------------------------------------------------------------- */

/* The data directory and any missing parent, 0700 (as the identity file
 * code makes them: `pkc id` and `pkc up` on a fresh ~/.local/share alike). */
static int make_dir(const char *path)
{
    int rc = pkc_mkdir_p(path, 0700);
    if (rc == 0)
        return 0;
    char why[512];
    snprintf(why, sizeof why, "%s", pkc_errmsg());
    return pkc_error(rc, "data directory %s: %s", path, why);
}

static int lock_data_dir(pkc_node *n)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/node.lock", n->data_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return pkc_error(PKC_ERR_IO, "%s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return pkc_error(PKC_ERR_AGAIN, "another node runs on %s", n->data_dir);
    }
    n->lock_fd = fd;
    return 0;
}

static int open_db(pkc_node *n)
{
    pkc_db_config dc;
    pkc_db_config_default(&dc);
    int rc = pkc_db_open(n->data_dir, &dc, &n->db);
    if (rc == PKC_ERR_CHECKSUM) {
        /* pkc_db_open moved the damaged file aside and said where. */
        node_error(n, "%s", pkc_errmsg());
        pkc_loge(LOG, "%s", n->last_error);
        rc = pkc_db_open(n->data_dir, &dc, &n->db);
    }
    return rc;
}

static void save_replay(pkc_node *n, unsigned flags);

/* The replay window of broadcast messages lives across restarts: a final
 * export at a clean stop restores it whole; after a crash (or a damaged
 * export) the window refuses everything up to now + 30 s, all the previous
 * process may have accepted. The very first start needs neither. */
static void load_replay(pkc_node *n)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    int64_t now = node_wall_ms(n);
    if (pkc_db_kv_get(n->db, "replay", &blob, &len) == 0) {
        if (pkc_replay_import(n->replay, blob, len, now) != 0) {
            node_error(n, "replay window not restored (%s): broadcasts are refused for 30 s",
                       pkc_errmsg());
            pkc_replay_restart(n->replay, now);
        }
        free(blob);
    } else if (pkc_db_kv_get(n->db, "started", &blob, &len) == 0) {
        free(blob);
        node_error(n, "no saved replay window: broadcasts are refused for 30 s");
        pkc_replay_restart(n->replay, now);
    }
    /* What was imported is good for one start only: overwrite it now. */
    save_replay(n, 0);
    static const uint8_t one = 1;
    if (pkc_db_kv_put(n->db, "started", &one, 1) != 0)
        node_error(n, "database: %s", pkc_errmsg());
}

static void save_replay(pkc_node *n, unsigned flags)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    if (pkc_replay_export(n->replay, flags, &blob, &len) == 0) {
        if (pkc_db_kv_put(n->db, "replay", blob, len) != 0)
            node_error(n, "saving the replay window: %s", pkc_errmsg());
        free(blob);
    }
}

static void node_free_state(pkc_node *n);

int pkc_node_new_versioned(int config_version, const pkc_node_config *config,
                           int callbacks_version, const pkc_node_callbacks *callbacks,
                           void *user_data, pkc_node **out)
{
    pthread_once(&call_lock_once, call_lock_init);
    if (out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_new: out is NULL");
    *out = NULL;
    pkc_node_config cfg;
    pkc_node_config_default(&cfg);
    int rc = pkc_struct_read(&cfg, config, config_version, CONFIG_SIZES);
    if (rc)
        return rc;
    pkc_node_callbacks cb;
    memset(&cb, 0, sizeof cb);
    if (callbacks && (rc = pkc_struct_read(&cb, callbacks, callbacks_version, CALLBACKS_SIZES)))
        return rc;
    if (config == NULL || cfg.data_dir == NULL || cfg.data_dir[0] == 0)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_new: data_dir is required");
    if (cfg.max_peers < 1 || cfg.max_peers > 32)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_new: max_peers must be 1..32, got %u",
                         cfg.max_peers);
    if (cfg.gossip_interval_ms < 100 || cfg.heartbeat_interval_ms < 100)
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "pkc_node_new: gossip and heartbeat intervals must be >= 100 ms");
    if (cfg.outbox_retry_ms < 100)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_new: outbox_retry_ms must be >= 100");
    if (cfg.n_rooms && cfg.rooms == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_new: n_rooms without rooms");
    if (cfg.n_stun_servers && cfg.stun_servers == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_new: n_stun_servers without stun_servers");
    if (cfg.n_stun_servers > 16)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_new: at most 16 STUN servers, got %zu",
                         cfg.n_stun_servers);

    pkc_node *n = calloc(1, sizeof *n);
    if (n == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    n->cfg = cfg;
    n->cb = cb;
    n->user_data = user_data;
    n->lock_fd = -1;
    n->clock = pkc_clock_system();
    n->rng = pkc_rng_system();
    n->work_tail = &n->work;
    n->reports_tail = &n->reports;
    n->data_dir = strdup(cfg.data_dir);
    n->stun = calloc(cfg.n_stun_servers + 1, sizeof *n->stun);
    if (n->data_dir == NULL || n->stun == NULL) {
        rc = pkc_error_code(PKC_ERR_NOMEM);
        goto fail;
    }
    for (size_t i = 0; i < cfg.n_stun_servers; i++)
        if ((n->stun[i] = strdup(cfg.stun_servers[i])) == NULL) {
            rc = pkc_error_code(PKC_ERR_NOMEM);
            goto fail;
        }
    n->cfg.data_dir = n->data_dir;
    n->cfg.stun_servers = (const char *const *)n->stun;
    n->cfg.rooms = NULL;
    n->cfg.n_rooms = 0;
    /* node_seeds_setup keeps its own copies. */
    n->cfg.seed_domains = n->cfg.doh_resolvers = NULL;
    n->cfg.n_seed_domains = n->cfg.n_doh_resolvers = 0;
    n->cfg.doh_ca_file = NULL;
    if ((rc = node_seeds_setup(n, &cfg)))
        goto fail;

    if ((rc = make_dir(n->data_dir)) || (rc = lock_data_dir(n)))
        goto fail;
    if ((rc = pkc_identity_load_or_create(n->data_dir, n->rng, &n->id, NULL)))
        goto fail;
    if ((rc = open_db(n)))
        goto fail;
    pkc_replay_config rcfg;
    pkc_replay_config_default(&rcfg);
    /* 16384 ids: about 26 messages a second over the 10 minutes a message
     * lives (docs/node.md, "Memory"); the default 65536 costs 2 MiB more. */
    rcfg.capacity = 16384;
    if ((rc = pkc_replay_new(&rcfg, n->rng, &n->replay)))
        goto fail;
    load_replay(n);
    pkc_guard_config gcfg;
    pkc_guard_config_default(&gcfg);
    if ((rc = pkc_guard_new(&gcfg, n->clock, &n->guard)))
        goto fail;

    node_room *r;
    if (cfg.local_room) {
        uint8_t secret[PKC_ROOM_SECRET_BYTES];
        pkc_lan_local_room_secret(secret);
        if ((rc = room_add(n, secret, 1, NULL, &r)))
            goto fail;
    }
    if ((rc = pkc_db_room_list(n->db, load_room, n)))
        goto fail;
    for (size_t i = 0; i < cfg.n_rooms; i++) {
        uint8_t secret[PKC_ROOM_SECRET_BYTES];
        if (cfg.rooms[i] == NULL) {
            rc = pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_new: rooms[%zu] is NULL", i);
            goto fail;
        }
        if ((rc = derive_passphrase(cfg.rooms[i], secret)))
            goto fail;
        rc = room_add(n, secret, 0, NULL, &r);
        pkc_memzero(secret, sizeof secret);
        if (rc != PKC_ERR_EXISTS && (rc || (rc = room_save(n, r))))
            goto fail;
        /* The first room of the configuration is the default one. */
        if (i == 0) {
            memcpy(n->default_id, r->key.id, PKC_ROOM_ID_BYTES);
            n->has_default = 1;
        }
    }
    if (n->rooms == NULL)
        pkc_logw(LOG, "in no room: the local room is off and no private room was joined");
    for (node_room *x = n->rooms; x; x = x->next)
        node_docs_load_names(x);
    if ((rc = node_invites_load(n)))
        goto fail;
    if ((rc = pkc_loop_new(&n->loop)))
        goto fail;
    n->loop->batch_begin = node_batch_begin;
    n->loop->batch_end = node_batch_end;
    n->loop->batch_ud = n;
    *out = n;
    return 0;
fail:
    node_free_state(n);
    return rc;
}

static void node_free_state(pkc_node *n)
{
    node_seeds_free(n);
    node_invites_free(n);
    while (n->rooms) {
        node_room *r = n->rooms;
        n->rooms = r->next;
        room_free(r);
    }
    while (n->known) {
        node_known *k = n->known;
        n->known = k->next;
        free(k);
    }
    while (n->work) {
        node_work *w = n->work;
        n->work = w->next;
        free(w->data);
        free(w);
    }
    node_reports_drop(n);
    if (n->loop)
        pkc_loop_free(n->loop);
    pkc_replay_free(n->replay);
    pkc_db_close(n->reader);
    pkc_guard_free(n->guard);
    pkc_db_close(n->db);
    pkc_identity_free(n->id);
    if (n->lock_fd >= 0)
        close(n->lock_fd);
    if (n->stun)
        for (size_t i = 0; n->stun[i]; i++)
            free(n->stun[i]);
    free(n->stun);
    free(n->data_dir);
    free(n);
}

const char *pkc_node_get_peer_id(const pkc_node *n)
{
    return pkc_identity_get_peer_id(n->id);
}

/* ---- running ------------------------------------------------------------------------------------ */

static int net_up(pkc_node *n)
{
    uv_timer_init(&n->loop->uv, &n->timer);
    uv_timer_init(&n->loop->uv, &n->work_timer);
    n->timer.data = n->work_timer.data = n;
    n->timers_open = 1;
    n->started_us = node_now_us(n);
    int rc = node_net_start(n);
    if (rc == 0 && n->cfg.control)
        rc = node_control_start(n);
    if (rc)
        return rc;
    n->next_outbox_us = node_now_us(n) + 500000;
    n->next_metrics_us = node_now_us(n) + 1000000;
    if (n->work)
        uv_timer_start(&n->work_timer, on_work, 0, 0);
    node_reschedule(n);
    node_seeds_start(n);
    return 0;
}

static void close_cb(uv_handle_t *h)
{
    (void)h;
}

static void net_down(pkc_node *n)
{
    node_compact_wait(n);
    node_seeds_stop(n);
    node_docs_offline(n);
    for (node_room *r = n->rooms; r; r = r->next) {
        if (r->mesh)
            pkc_mesh_leave(r->mesh);
        if (r->order)
            node_order_flush(r->order); /* held broadcasts go to the inbox */
    }
    node_control_stop(n);
    node_net_stop(n);
    save_replay(n, PKC_REPLAY_EXPORT_FINAL);
    if (n->timers_open) {
        uv_timer_stop(&n->timer);
        uv_timer_stop(&n->work_timer);
        uv_close((uv_handle_t *)&n->timer, close_cb);
        uv_close((uv_handle_t *)&n->work_timer, close_cb);
        n->timers_open = 0;
    }
    /* Let the close callbacks run. */
    for (int i = 0; i < 8; i++)
        uv_run(&n->loop->uv, UV_RUN_NOWAIT);
}

static void loop_body(pkc_node *n)
{
    while (!n->stopping)
        pkc_loop_run(n->loop, -1);
    pthread_mutex_lock(&call_lock);
    net_down(n);
    n->running = 0;
    n->stopped = 1;
    pthread_mutex_unlock(&call_lock);
    /* Calls posted before `running` fell are answered now. */
    uv_run(&n->loop->uv, UV_RUN_NOWAIT);
}

typedef struct start_ctx {
    pkc_node *n;
    pthread_mutex_t m;
    pthread_cond_t c;
    int done, rc;
    char msg[512];
} start_ctx;

static void *thread_main(void *arg)
{
    start_ctx *s = arg;
    pkc_node *n = s->n;
    n->loop_thread = pthread_self();
    int rc = net_up(n);
    pthread_mutex_lock(&s->m);
    s->rc = rc;
    if (rc)
        snprintf(s->msg, sizeof s->msg, "%s", pkc_errmsg());
    s->done = 1;
    pthread_cond_signal(&s->c);
    pthread_mutex_unlock(&s->m);
    /* s is gone from here on. */
    if (rc) {
        net_down(n);
        n->running = 0;
        return NULL;
    }
    loop_body(n);
    return NULL;
}

int pkc_node_start(pkc_node *n)
{
    pthread_mutex_lock(&call_lock);
    if (n->running || n->stopped) {
        pthread_mutex_unlock(&call_lock);
        return pkc_error(PKC_ERR_STATE, "pkc_node_start: the node %s",
                         n->running ? "runs already" : "was stopped");
    }
    n->running = 1;
    pthread_mutex_unlock(&call_lock);
    start_ctx s;
    memset(&s, 0, sizeof s);
    s.n = n;
    pthread_mutex_init(&s.m, NULL);
    pthread_cond_init(&s.c, NULL);
    int rc = pthread_create(&n->thread, NULL, thread_main, &s);
    if (rc) {
        n->running = 0;
        pthread_mutex_destroy(&s.m);
        pthread_cond_destroy(&s.c);
        return pkc_error(PKC_ERR_NOMEM, "pkc_node_start: no thread: %s", strerror(rc));
    }
    n->has_thread = 1;
    pthread_mutex_lock(&s.m);
    while (!s.done)
        pthread_cond_wait(&s.c, &s.m);
    pthread_mutex_unlock(&s.m);
    pthread_mutex_destroy(&s.m);
    pthread_cond_destroy(&s.c);
    if (s.rc) {
        pthread_join(n->thread, NULL);
        n->has_thread = 0;
        return pkc_error(s.rc, "%s", s.msg);
    }
    return 0;
}

int pkc_node_run(pkc_node *n)
{
    pthread_mutex_lock(&call_lock);
    if (n->running || n->stopped) {
        pthread_mutex_unlock(&call_lock);
        return pkc_error(PKC_ERR_STATE, "pkc_node_run: the node %s",
                         n->running ? "runs already" : "was stopped");
    }
    n->running = 1;
    n->loop_thread = pthread_self();
    int rc = net_up(n);
    pthread_mutex_unlock(&call_lock);
    if (rc) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", pkc_errmsg());
        net_down(n);
        n->running = 0;
        return pkc_error(rc, "%s", msg);
    }
    loop_body(n);
    return 0;
}

/* ---- on the caller's loop ----------------------------------------------------------------------- */

int pkc_node_open(pkc_node *n)
{
    pthread_mutex_lock(&call_lock);
    if (n->running || n->stopped) {
        pthread_mutex_unlock(&call_lock);
        return pkc_error(PKC_ERR_STATE, "pkc_node_open: the node %s",
                         n->running ? "runs already" : "was stopped");
    }
    n->running = 1;
    n->embedded = 1;
    n->loop_thread = pthread_self();
    int rc = net_up(n);
    if (rc) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", pkc_errmsg());
        net_down(n);
        n->running = 0;
        pthread_mutex_unlock(&call_lock);
        return pkc_error(rc, "%s", msg);
    }
    pthread_mutex_unlock(&call_lock);
    return 0;
}

int pkc_node_get_fd(const pkc_node *n)
{
    return n->running && n->embedded ? uv_backend_fd(&n->loop->uv) : -1;
}

int pkc_node_get_timeout(const pkc_node *n)
{
    return n->running && n->embedded ? uv_backend_timeout(&n->loop->uv) : -1;
}

int pkc_node_process(pkc_node *n)
{
    if (!n->running || !n->embedded || !pthread_equal(pthread_self(), n->loop_thread))
        return pkc_error(PKC_ERR_STATE, "pkc_node_process: the node is not open on this thread");
    if (!n->stopping) {
        n->in_process = 1;
        pkc_loop_dispatch_pending(n->loop);
        uv_run(&n->loop->uv, UV_RUN_NOWAIT);
        n->in_process = 0;
    }
    if (n->stopping) {
        pthread_mutex_lock(&call_lock);
        net_down(n);
        n->running = 0;
        n->stopped = 1;
        pthread_mutex_unlock(&call_lock);
        uv_run(&n->loop->uv, UV_RUN_NOWAIT);
        return pkc_error(PKC_ERR_CLOSED, "the node stopped");
    }
    return 0;
}

static void stop_on_loop(void *arg)
{
    pkc_node *n = arg;
    n->stopping = 1;
    pkc_loop_stop(n->loop);
}

static int on_loop_thread(const pkc_node *n)
{
    return n->running && pthread_equal(pthread_self(), n->loop_thread);
}

void pkc_node_stop(pkc_node *n)
{
    if (n == NULL)
        return;
    if (on_loop_thread(n)) {
        stop_on_loop(n);
        if (n->embedded && !n->in_process)
            (void)pkc_node_process(n);
        return;
    }
    pthread_mutex_lock(&call_lock);
    int running = n->running;
    if (running && pkc_loop_post(n->loop, stop_on_loop, n) != 0) {
        /* No memory for the post: the async handle still wakes the loop. */
        n->stopping = 1;
        uv_async_send(&n->loop->async);
    }
    pthread_mutex_unlock(&call_lock);
    if (n->has_thread) {
        pthread_join(n->thread, NULL);
        n->has_thread = 0;
    }
    if (!running)
        n->stopped = 1;
}

void pkc_node_free(pkc_node *n)
{
    if (n == NULL)
        return;
    pkc_node_stop(n);
    node_free_state(n);
}

uint16_t pkc_node_get_port(pkc_node *n)
{
    return n->sock ? pkc_rtc_socket_get_port(n->sock) : 0;
}

/* ---- calls onto the loop thread ----------------------------------------------------------------- */


typedef struct call {
    pkc_node *n;
    node_call_fn fn;
    void *arg;
    int rc;
    int done;
    char msg[512];
    pthread_mutex_t m;
    pthread_cond_t c;
} call;

static void call_on_loop(void *p)
{
    call *c = p;
    c->rc = c->fn(c->n, c->arg);
    if (c->rc)
        snprintf(c->msg, sizeof c->msg, "%s", pkc_errmsg());
    node_reschedule(c->n);
    pthread_mutex_lock(&c->m);
    c->done = 1;
    pthread_cond_signal(&c->c);
    pthread_mutex_unlock(&c->m);
}

/* Runs fn(n, arg) on the loop thread and returns its result with its
 * message on this thread; runs it here when the node does not run. */
int node_call(pkc_node *n, node_call_fn fn, void *arg)
{
    if (n == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "node is NULL");
    if (on_loop_thread(n)) {
        int rc = fn(n, arg);
        if (rc == 0 && n->batch_open && !n->user_batch)
            rc = node_batch_sync(n);
        node_reschedule(n);
        return rc;
    }
    pthread_mutex_lock(&call_lock);
    if (!n->running) {
        int rc = fn(n, arg);
        pthread_mutex_unlock(&call_lock);
        return rc;
    }
    call c;
    memset(&c, 0, sizeof c);
    c.n = n;
    c.fn = fn;
    c.arg = arg;
    pthread_mutex_init(&c.m, NULL);
    pthread_cond_init(&c.c, NULL);
    int rc = pkc_loop_post(n->loop, call_on_loop, &c);
    pthread_mutex_unlock(&call_lock);
    if (rc == 0) {
        pthread_mutex_lock(&c.m);
        while (!c.done)
            pthread_cond_wait(&c.c, &c.m);
        pthread_mutex_unlock(&c.m);
        rc = c.rc ? pkc_error(c.rc, "%s", c.msg) : 0;
    }
    pthread_mutex_destroy(&c.m);
    pthread_cond_destroy(&c.c);
    return rc;
}

/* ---- rooms: join, leave, list ------------------------------------------------------------------- */

typedef struct join_args {
    const uint8_t *secret;
    const char *name;
    char *room_id;
} join_args;

static int do_join(pkc_node *n, void *arg)
{
    join_args *a = arg;
    node_room *r;
    int rc = room_add(n, a->secret, 0, a->name, &r);
    if (a->room_id && (rc == 0 || rc == PKC_ERR_EXISTS))
        memcpy(a->room_id, r->id, 17);
    if (rc == PKC_ERR_EXISTS)
        return pkc_error(PKC_ERR_EXISTS, "already in room %s (%s)", r->id, r->name);
    if (rc)
        return rc;
    if ((rc = room_save(n, r)) != 0)
        return rc;
    if (n->timers_open) {
        if ((rc = node_room_start(n, r)) != 0)
            return rc;
    }
    pkc_logi(LOG, "joined room %s (%s)", r->id, r->name);
    return 0;
}

int pkc_node_join(pkc_node *n, const char *passphrase, const char *name, char room_id[17])
{
    if (n == NULL || passphrase == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_join: node and passphrase are required");
    uint8_t secret[PKC_ROOM_SECRET_BYTES];
    /* Argon2id runs on the caller's thread, not the loop's. */
    int rc = derive_passphrase(passphrase, secret);
    if (rc)
        return rc;
    join_args a = {secret, name, room_id};
    rc = node_call(n, do_join, &a);
    pkc_memzero(secret, sizeof secret);
    return rc;
}

static int do_leave(pkc_node *n, void *arg)
{
    if (n->user_batch)
        return pkc_error(PKC_ERR_STATE, "pkc_node_leave: not inside pkc_node_batch");
    node_room *r = node_room_find(n, arg);
    if (r == NULL)
        return pkc_error(PKC_ERR_NOT_FOUND, "no room '%s'", (const char *)arg);
    return node_room_remove(n, r);
}

int node_room_remove(pkc_node *n, node_room *r)
{
    for (node_link *l = n->links; l; l = l->next)
        for (node_chan *c = l->chans; c; c = c->next)
            if (c->room == r) {
                c->mesh_bye = 1;
                if (c->sess)
                    pkc_session_close(c->sess, PKC_REASON_NONE, "left the room");
                c->room = NULL;
            }
    if (r->mesh)
        pkc_mesh_leave(r->mesh);
    if (n->lan)
        pkc_lan_leave(n->lan, r->key.id);
    int rc = r->local || r->invite_pending ? 0 : pkc_db_room_delete(n->db, r->key.id);
    node_invites_drop_accepted(n, r->key.id); /* invitations we accepted to it go with it */
    node_room **p = &n->rooms;
    while (*p != r)
        p = &(*p)->next;
    *p = r->next;
    /* Deferred work naming the room is dropped. */
    for (node_work *w = n->work; w; w = w->next)
        if (w->room == r)
            w->room = NULL;
    room_free(r);
    return rc;
}

int pkc_node_leave(pkc_node *n, const char *room)
{
    if (room == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_leave: room is NULL");
    return node_call(n, do_leave, (void *)room);
}

typedef struct list_args {
    void *out;
    size_t max, count;
    int version;
} list_args;

static int do_rooms(pkc_node *n, void *arg)
{
    list_args *a = arg;
    for (node_room *r = n->rooms; r; r = r->next, a->count++) {
        if (a->count >= a->max)
            continue;
        pkc_node_room_info ri;
        memset(&ri, 0, sizeof ri);
        memcpy(ri.id, r->id, sizeof ri.id);
        snprintf(ri.name, sizeof ri.name, "%s", r->name);
        ri.local = r->local;
        if (r->mesh) {
            pkc_mesh_stats st;
            pkc_mesh_get_stats(r->mesh, &st);
            ri.peers = st.connected_peers;
            ri.known = st.known_peers;
        }
        for (node_doc *d = r->docs; d; d = d->next)
            ri.docs++;
        /* elements of the caller's version's size */
        pkc_struct_sizes sz = PKC_STRUCT_V1(pkc_node_room_info);
        pkc_struct_write((char *)a->out + a->count * sz.sizes[a->version], &ri, a->version, sz);
    }
    return 0;
}

size_t pkc_node_get_rooms_versioned(pkc_node *n, int info_version, pkc_node_room_info *out,
                                    size_t max)
{
    if (pkc_struct_check(info_version, PKC_STRUCT_V1(pkc_node_room_info)))
        return 0; /* the size of the caller's elements is unknown: nothing written */
    list_args a = {out, out ? max : 0, 0, info_version};
    if (node_call(n, do_rooms, &a) != 0)
        return 0;
    return a.count;
}

static int do_peers(pkc_node *n, void *arg)
{
    list_args *a = arg;
    uint64_t now = node_now_us(n);
    for (node_link *l = n->links; l; l = l->next)
        for (node_chan *c = l->chans; c; c = c->next) {
            if (!c->in_mesh || c->room == NULL || c->dead)
                continue;
            if (a->count < a->max) {
                pkc_node_peer_info pi;
                memset(&pi, 0, sizeof pi);
                memcpy(pi.peer_id, l->peer_id, sizeof pi.peer_id);
                memcpy(pi.room, c->room->id, sizeof pi.room);
                if (l->rtc) {
                    pkc_rtc_stats st;
                    pkc_rtc_peer_get_stats(l->rtc, &st);
                    snprintf(pi.address, sizeof pi.address, "%s", st.remote_address);
                }
                pi.rtt_ms = -1; /* the mesh measures it (PING/PONG) */
                if (c->room->mesh) {
                    double s;
                    if (pkc_mesh_get_peer_score(c->room->mesh, l->hash, &s) == 0)
                        pi.score = s;
                    pkc_mesh_peer_info mp[32];
                    size_t k = pkc_mesh_get_peers(c->room->mesh, mp, 32);
                    for (size_t i = 0; i < k && i < 32; i++)
                        if (memcmp(mp[i].id, l->hash, PKC_PEER_ID_HASH_BYTES) == 0 &&
                            mp[i].rtt_ms >= 0)
                            pi.rtt_ms = mp[i].rtt_ms;
                }
                pi.connected_ms = l->connected_us ? (now - l->connected_us) / 1000 : 0;
                pi.outbound = l->outbound;
                pkc_struct_sizes sz = PKC_STRUCT_V1(pkc_node_peer_info);
                pkc_struct_write((char *)a->out + a->count * sz.sizes[a->version], &pi,
                                 a->version, sz);
            }
            a->count++;
        }
    return 0;
}

size_t pkc_node_get_peers_versioned(pkc_node *n, int info_version, pkc_node_peer_info *out,
                                    size_t max)
{
    if (pkc_struct_check(info_version, PKC_STRUCT_V1(pkc_node_peer_info)))
        return 0; /* the size of the caller's elements is unknown: nothing written */
    list_args a = {out, out ? max : 0, 0, info_version};
    if (node_call(n, do_peers, &a) != 0)
        return 0;
    return a.count;
}

/* ---- known peers that are not neighbours, documents ---------------------------------------------- */

static int relayed_order(const void *a, const void *b)
{
    const pkc_node_relayed_info *x = a, *y = b;
    unsigned hx = x->route ? x->hops : UINT_MAX, hy = y->route ? y->hops : UINT_MAX;
    if (hx != hy)
        return hx < hy ? -1 : 1;
    int c = strcmp(x->room, y->room);
    return c ? c : strcmp(x->peer_id, y->peer_id);
}

static int do_relayed(pkc_node *n, void *arg)
{
    list_args *a = arg;
    size_t total = 0;
    for (node_room *r = n->rooms; r; r = r->next)
        if (r->mesh)
            total += pkc_mesh_get_known_peers(r->mesh, NULL, 0);
    a->count = total;
    if (a->max == 0 || total == 0)
        return 0;
    pkc_mesh_known_info *k = malloc(total * sizeof *k);
    pkc_node_relayed_info *all = malloc(total * sizeof *all);
    if (k == NULL || all == NULL) {
        free(k);
        free(all);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    uint64_t now = node_now_us(n);
    size_t got = 0;
    for (node_room *r = n->rooms; r && got < total; r = r->next) {
        if (r->mesh == NULL)
            continue;
        size_t m = pkc_mesh_get_known_peers(r->mesh, k, total - got);
        for (size_t i = 0; i < m && got < total; i++) {
            pkc_node_relayed_info *ri = &all[got++];
            memset(ri, 0, sizeof *ri);
            pkc_peer_id_encode(k[i].id, ri->peer_id);
            memcpy(ri->room, r->id, sizeof ri->room);
            ri->route = k[i].route;
            ri->hops = k[i].hops;
            if (k[i].route != PKC_MESH_ROUTE_NONE)
                pkc_peer_id_encode(k[i].via, ri->via);
            ri->pending = k[i].pending;
            ri->seen_ms = k[i].seen_us == 0 ? -1
                          : k[i].seen_us > now ? 0
                                               : (int64_t)((now - k[i].seen_us) / 1000);
        }
    }
    qsort(all, got, sizeof *all, relayed_order);
    pkc_struct_sizes sz = PKC_STRUCT_V1(pkc_node_relayed_info);
    for (size_t i = 0; i < got && i < a->max; i++)
        pkc_struct_write((char *)a->out + i * sz.sizes[a->version], &all[i], a->version, sz);
    a->count = got;
    free(k);
    free(all);
    return 0;
}

size_t pkc_node_get_relayed_peers_versioned(pkc_node *n, int info_version,
                                            pkc_node_relayed_info *out, size_t max)
{
    if (pkc_struct_check(info_version, PKC_STRUCT_V1(pkc_node_relayed_info)))
        return 0; /* the size of the caller's elements is unknown: nothing written */
    list_args a = {out, out ? max : 0, 0, info_version};
    if (node_call(n, do_relayed, &a) != 0)
        return 0;
    return a.count;
}

typedef struct docs_args {
    list_args l;
    const char *room;
    pkc_node_doc_info *v; /* one room's documents */
    size_t nv;
} docs_args;

static int doc_stored(void *ud, const pkc_db_doc_info *info)
{
    docs_args *a = ud;
    for (size_t i = 0; i < a->nv; i++)
        if (strcmp(a->v[i].name, info->name) == 0) {
            a->v[i].stored_bytes = info->bytes;
            a->v[i].stored_updates = info->updates;
        }
    return 0;
}

static int doc_order(const void *a, const void *b)
{
    return strcmp(((const pkc_node_doc_info *)a)->name, ((const pkc_node_doc_info *)b)->name);
}

static int do_docs(pkc_node *n, void *arg)
{
    docs_args *a = arg;
    node_room *only = NULL;
    if (a->room) {
        only = node_room_find(n, a->room);
        if (only == NULL)
            return pkc_error(PKC_ERR_NOT_FOUND, "no room '%s'", a->room);
    }
    pkc_struct_sizes sz = PKC_STRUCT_V1(pkc_node_doc_info);
    for (node_room *r = n->rooms; r; r = r->next) {
        if (only && r != only)
            continue;
        size_t nd = 0;
        for (node_doc *d = r->docs; d; d = d->next)
            nd++;
        if (a->l.count >= a->l.max || nd == 0) {
            a->l.count += nd;
            continue;
        }
        a->v = calloc(nd, sizeof *a->v);
        if (a->v == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        a->nv = 0;
        for (node_doc *d = r->docs; d; d = d->next) {
            pkc_node_doc_info *di = &a->v[a->nv++];
            memcpy(di->room, r->id, sizeof di->room);
            snprintf(di->name, sizeof di->name, "%s", d->name);
            di->updates_since_compact = d->updates_since_compact;
            di->pending = pkc_ydoc_has_pending(d->doc);
            di->last_remote_ms = d->last_remote_ms;
        }
        if (pkc_db_doc_list(n->db, r->key.id, doc_stored, a) != 0)
            node_error(n, "documents of room %s: %s", r->id, pkc_errmsg());
        qsort(a->v, a->nv, sizeof *a->v, doc_order);
        for (size_t i = 0; i < a->nv; i++, a->l.count++)
            if (a->l.count < a->l.max)
                pkc_struct_write((char *)a->l.out + a->l.count * sz.sizes[a->l.version], &a->v[i],
                                 a->l.version, sz);
        free(a->v);
        a->v = NULL;
    }
    return 0;
}

size_t pkc_node_get_docs_versioned(pkc_node *n, int info_version, const char *room,
                                   pkc_node_doc_info *out, size_t max)
{
    if (pkc_struct_check(info_version, PKC_STRUCT_V1(pkc_node_doc_info)))
        return 0; /* the size of the caller's elements is unknown: nothing written */
    docs_args a = {{out, out ? max : 0, 0, info_version}, room, NULL, 0};
    if (node_call(n, do_docs, &a) != 0)
        return 0;
    return a.l.count;
}

static int do_disconnect(pkc_node *n, void *arg)
{
    const uint8_t *hash = arg;
    int found = 0;
    for (node_link *l = n->links; l; l = l->next)
        if (!l->dead && l->hash_known && memcmp(l->hash, hash, PKC_PEER_ID_HASH_BYTES) == 0) {
            node_link_close(l, "disconnected by the user");
            found = 1;
        }
    if (!found)
        return pkc_error(PKC_ERR_NOT_FOUND, "not connected to that peer");
    return 0;
}

int pkc_node_disconnect_peer(pkc_node *n, const char *peer_id)
{
    uint8_t hash[PKC_PEER_ID_HASH_BYTES];
    if (peer_id == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_disconnect_peer: peer_id is NULL");
    int rc = pkc_peer_id_parse(peer_id, hash);
    if (rc)
        return rc;
    return node_call(n, do_disconnect, hash);
}

/* ---- messages ----------------------------------------------------------------------------------- */

typedef struct msg_args {
    const char *room;
    const char *peer_id;
    const void *data;
    size_t len;
    uint8_t *id;
    int64_t after;
    size_t limit;
    pkc_node_message_fn fn;
    void *ud;
} msg_args;

static int do_broadcast(pkc_node *n, void *arg)
{
    msg_args *a = arg;
    node_room *r = node_room_find(n, a->room);
    if (r == NULL)
        return pkc_error(PKC_ERR_NOT_FOUND, "no room '%s'", a->room ? a->room : "");
    return node_broadcast_raw(n, r, "", a->data, a->len, a->id);
}

int pkc_node_broadcast(pkc_node *n, const char *room, const void *data, size_t len,
                       uint8_t id[PKC_MSG_ID_BYTES])
{
    if (data == NULL && len)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_broadcast: data is NULL");
    if (len > NODE_MAX_TEXT)
        return pkc_error(PKC_ERR_TOO_LARGE, "a message holds at most %d bytes, got %zu",
                         NODE_MAX_TEXT, len);
    msg_args a = {.room = room, .data = data, .len = len, .id = id};
    return node_call(n, do_broadcast, &a);
}

int node_send_direct(pkc_node *n, node_room *r, const char *peer_id, const void *data,
                     size_t len, uint8_t id[PKC_MSG_ID_BYTES]); /* node_msg.c */

static int do_send(pkc_node *n, void *arg)
{
    msg_args *a = arg;
    node_room *r = node_room_find(n, a->room);
    if (r == NULL)
        return pkc_error(PKC_ERR_NOT_FOUND, "no room '%s'", a->room ? a->room : "");
    return node_send_direct(n, r, a->peer_id, a->data, a->len, a->id);
}

int pkc_node_send(pkc_node *n, const char *room, const char *peer_id, const void *data,
                  size_t len, uint8_t id[PKC_MSG_ID_BYTES])
{
    if (peer_id == NULL || (data == NULL && len))
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_send: peer_id and data are required");
    if (len > NODE_MAX_TEXT)
        return pkc_error(PKC_ERR_TOO_LARGE, "a message holds at most %d bytes, got %zu",
                         NODE_MAX_TEXT, len);
    msg_args a = {.room = room, .peer_id = peer_id, .data = data, .len = len, .id = id};
    return node_call(n, do_send, &a);
}

typedef struct batch_args {
    pkc_node_batch_fn fn;
    void *ud;
} batch_args;

static int do_batch(pkc_node *n, void *arg)
{
    batch_args *a = arg;
    if (n->user_batch)
        return pkc_error(PKC_ERR_STATE, "pkc_node_batch: already inside a batch");
    if (n->batch_open || n->reports)
        return pkc_error(PKC_ERR_STATE, "pkc_node_batch: not from a callback that runs while "
                                        "the node stores what arrived (peer or document)");
    int rc = pkc_db_begin(n->db);
    if (rc)
        return rc;
    n->batch_open = 1;
    n->user_batch = 1;
    int frc = a->fn(a->ud, n);
    n->user_batch = 0;
    n->batch_open = 0;
    if (frc) {
        char msg[sizeof n->last_error];
        snprintf(msg, sizeof msg, "%s", pkc_errmsg());
        /* All or nothing: what fn stored is rolled back, nothing is sent. */
        if (pkc_db_rollback(n->db) != 0)
            pkc_logw(LOG, "batch: rollback: %s", pkc_errmsg());
        node_reports_drop(n);
        if (frc > 0)
            return pkc_error(PKC_ERR_INVALID_ARG,
                             "pkc_node_batch: fn returned %d; nothing of the batch was kept", frc);
        return pkc_error(frc, "%s (nothing of the batch was kept)", msg);
    }
    rc = pkc_db_commit(n->db);
    if (rc) {
        char msg[sizeof n->last_error];
        snprintf(msg, sizeof msg, "%s", pkc_errmsg());
        node_reports_drop(n);
        return pkc_error(rc, "the batch was not stored, nothing of it was sent: %s", msg);
    }
    node_reports_run(n, 0);
    return 0;
}

int pkc_node_batch(pkc_node *n, pkc_node_batch_fn fn, void *user_data)
{
    if (fn == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_batch: fn is NULL");
    batch_args a = {fn, user_data};
    return node_call(n, do_batch, &a);
}

static int do_inbox(pkc_node *n, void *arg)
{
    msg_args *a = arg;
    node_room *r = NULL;
    if (a->room && a->room[0] && (r = node_room_find(n, a->room)) == NULL)
        return pkc_error(PKC_ERR_NOT_FOUND, "no room '%s'", a->room);
    return node_inbox_list(n, r, a->after, a->limit, a->fn, a->ud);
}

int pkc_node_inbox(pkc_node *n, const char *room, int64_t after_seq, size_t limit,
                   pkc_node_message_fn fn, void *user_data)
{
    if (fn == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_inbox: fn is NULL");
    msg_args a = {.room = room, .after = after_seq, .limit = limit, .fn = fn, .ud = user_data};
    return node_call(n, do_inbox, &a);
}

/* ---- documents ---------------------------------------------------------------------------------- */

typedef struct doc_args {
    const char *room, *name, *key, *json;
    pkc_node_doc_fn fn;
    void *ud;
    char **out;
} doc_args;

static int check_doc_name(const char *name)
{
    if (name == NULL || name[0] == 0)
        return pkc_error(PKC_ERR_INVALID_ARG, "a document needs a name");
    if (strlen(name) > PKC_DOC_NAME_MAX)
        return pkc_error(PKC_ERR_INVALID_ARG, "a document name has at most %d bytes",
                         PKC_DOC_NAME_MAX);
    return 0;
}

int node_doc_transact(pkc_node *n, node_room *r, const char *name, pkc_node_doc_fn fn,
                      void *ud); /* node_doc.c */

static int do_transact(pkc_node *n, void *arg)
{
    doc_args *a = arg;
    if (n->user_batch)
        return pkc_error(PKC_ERR_STATE, "document changes are not allowed inside pkc_node_batch");
    node_room *r = node_room_find(n, a->room);
    if (r == NULL)
        return pkc_error(PKC_ERR_NOT_FOUND, "no room '%s'", a->room ? a->room : "");
    return node_doc_transact(n, r, a->name, a->fn, a->ud);
}

int pkc_node_doc_transact(pkc_node *n, const char *room, const char *name, pkc_node_doc_fn fn,
                          void *user_data)
{
    int rc = check_doc_name(name);
    if (rc)
        return rc;
    if (fn == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_doc_transact: fn is NULL");
    doc_args a = {.room = room, .name = name, .fn = fn, .ud = user_data};
    return node_call(n, do_transact, &a);
}

int node_doc_json_op(pkc_node *n, node_room *r, const char *name, const char *key,
                     const char *json, int op, char **out); /* node_doc.c */

enum { DOC_SET, DOC_DEL, DOC_GET, DOC_AWARE_SET, DOC_AWARE_GET };

typedef struct doc_op_args {
    doc_args d;
    int op;
} doc_op_args;

static int do_doc_op(pkc_node *n, void *arg)
{
    doc_op_args *a = arg;
    if (n->user_batch && (a->op == DOC_SET || a->op == DOC_DEL))
        return pkc_error(PKC_ERR_STATE, "document changes are not allowed inside pkc_node_batch");
    node_room *r = node_room_find(n, a->d.room);
    if (r == NULL)
        return pkc_error(PKC_ERR_NOT_FOUND, "no room '%s'", a->d.room ? a->d.room : "");
    return node_doc_json_op(n, r, a->d.name, a->d.key, a->d.json, a->op, a->d.out);
}

int pkc_node_doc_set_json(pkc_node *n, const char *room, const char *name, const char *key,
                          const char *json)
{
    int rc = check_doc_name(name);
    if (rc)
        return rc;
    if (key == NULL || json == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_doc_set_json: key and json are required");
    doc_op_args a = {{.room = room, .name = name, .key = key, .json = json}, DOC_SET};
    return node_call(n, do_doc_op, &a);
}

int pkc_node_doc_delete(pkc_node *n, const char *room, const char *name, const char *key)
{
    int rc = check_doc_name(name);
    if (rc)
        return rc;
    if (key == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_doc_delete: key is NULL");
    doc_op_args a = {{.room = room, .name = name, .key = key}, DOC_DEL};
    return node_call(n, do_doc_op, &a);
}

int pkc_node_doc_get_json(pkc_node *n, const char *room, const char *name, const char *key,
                          char **json)
{
    int rc = check_doc_name(name);
    if (rc)
        return rc;
    if (json == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_doc_get_json: json is NULL");
    *json = NULL;
    doc_op_args a = {{.room = room, .name = name, .key = key, .out = json}, DOC_GET};
    return node_call(n, do_doc_op, &a);
}

int pkc_node_doc_set_awareness(pkc_node *n, const char *room, const char *name,
                               const char *json)
{
    int rc = check_doc_name(name);
    if (rc)
        return rc;
    doc_op_args a = {{.room = room, .name = name, .json = json}, DOC_AWARE_SET};
    return node_call(n, do_doc_op, &a);
}

int pkc_node_doc_get_awareness(pkc_node *n, const char *room, const char *name, char **json)
{
    int rc = check_doc_name(name);
    if (rc)
        return rc;
    if (json == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_doc_get_awareness: json is NULL");
    *json = NULL;
    doc_op_args a = {{.room = room, .name = name, .out = json}, DOC_AWARE_GET};
    return node_call(n, do_doc_op, &a);
}

/* ---- metrics ------------------------------------------------------------------------------------ */

static int do_metrics(pkc_node *n, void *arg)
{
    pkc_node_metrics *m = arg;
    memset(m, 0, sizeof *m);
    node_metrics_sum sum = {0};
    for (node_room *r = n->rooms; r; r = r->next) {
        if (r->mesh) {
            pkc_mesh_stats st;
            pkc_mesh_get_stats(r->mesh, &st);
            node_metrics_add_mesh(&sum, &st);
        }
        for (node_doc *d = r->docs; d; d = d->next)
            node_metrics_add_doc(&sum, d->doc);
    }
    m->connected_peers = sum.connected_peers;
    m->messages_per_second = sum.messages_per_second;
    m->bytes_per_second = sum.bytes_per_second;
    m->state_bytes = sum.state_bytes;
    m->pending_updates = sum.pending_updates;
    m->total_connections = n->total_connections;
    m->average_latency_ms = node_metrics_latency(&sum);
    m->conflicts_resolved = n->conflicts;
    m->last_sync_ms = n->last_sync_ms;
    m->healthy = n->running && !n->stopping;
    m->uptime_ms = n->started_us ? (node_now_us(n) - n->started_us) / 1000 : 0;
    m->reconnections = n->reconnections;
    m->errors = n->errors;
    snprintf(m->last_error, sizeof m->last_error, "%s", n->last_error);
    m->messages_received = n->messages_received;
    m->messages_sent = n->messages_sent;
    return 0;
}

int node_outbox_count(pkc_node *n, uint64_t *count); /* node_msg.c */

static int do_metrics_all(pkc_node *n, void *arg)
{
    pkc_node_metrics *m = arg;
    do_metrics(n, m);
    uint64_t c = 0;
    if (node_outbox_count(n, &c) == 0)
        m->outbox_pending = c;
    return 0;
}

void pkc_node_get_metrics_versioned(pkc_node *n, int metrics_version, pkc_node_metrics *out)
{
    pkc_node_metrics m;
    memset(&m, 0, sizeof m);
    m.average_latency_ms = -1;
    if (n)
        node_call(n, do_metrics_all, &m);
    pkc_struct_write(out, &m, metrics_version, PKC_STRUCT_V1(pkc_node_metrics));
}
