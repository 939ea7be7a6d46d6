/*
 * db.h: the node's database, <data_dir>/pkc.db (SQLite in WAL mode): rooms,
 * the peer book, documents, inbox, outbox and small opaque blobs.
 *
 * Internal to pkc: the node (src/node/) is its only user, from one thread,
 * its loop thread. The one exception is document compaction, whose merge
 * may run on a worker thread through a reader connection of its own
 * (pkc_db_open_reader), see "Compaction" below.
 *
 * Durability. Every write runs in a transaction: either one the caller
 * opened with pkc_db_begin() (group commit: all the writes of one loop
 * iteration, then one pkc_db_commit()), or, outside one, a transaction of
 * its own that commits before the function returns. What a write stored is
 * durable once the commit that covers it returned 0:
 *   - against the death of the process (kill -9, a crash) always;
 *   - against a power loss or kernel crash only with cfg.sync_full
 *     (PRAGMA synchronous=FULL: the WAL is fsync'd at each commit). With
 *     the default NORMAL, a power loss may undo the last transactions since
 *     the last checkpoint, but never damages the database or breaks a
 *     transaction in half.
 * So: acknowledge an update or a message to a peer only after the commit
 * that wrote it returned 0.
 *
 * Errors. Every function returns 0 or a negative PKC_ERR_* code and sets
 * pkc_errmsg(). Besides those each function lists:
 *   PKC_ERR_INVALID_ARG  a NULL pointer that may not be NULL, a bad value
 *   PKC_ERR_IO           "disk full: ..." (SQLITE_FULL, ENOSPC) or another
 *                        I/O error (the message says which); the open
 *                        transaction, the caller's included, was rolled
 *                        back, so nothing of it is stored, and nothing
 *                        stored before was touched
 *   PKC_ERR_CHECKSUM     the database is damaged (SQLite found it, or a row
 *                        failed its hash); the message names what;
 *                        pkc_db_is_damaged() then says whether the whole
 *                        file should be set aside
 *   PKC_ERR_AGAIN        another process holds the database locked
 *                        (longer than the busy timeout)
 *   PKC_ERR_NOMEM
 *   PKC_ERR_INTERNAL     anything else SQLite reports (a bug, or a
 *                        statement interrupted by a test)
 *   PKC_ERR_STATE        called from inside a callback of this db, or a
 *                        write after an earlier write of the same
 *                        transaction failed with one of the errors above
 * After PKC_ERR_IO, CHECKSUM (from SQLite), NOMEM, AGAIN or an interrupt inside
 * pkc_db_begin()..pkc_db_commit(), the transaction is over: the following
 * writes fail with PKC_ERR_STATE, and pkc_db_commit() returns the first
 * error again (pkc_db_rollback() ends it quietly). Other errors (a
 * duplicate, a missing row, a bad argument) undo only the failed call.
 *
 * Hashes. Each room, document update, inbox and outbox message and kv blob
 * is stored with a 16-byte BLAKE2b of its content (fields that change, such
 * as an outbox message's attempts, are not covered). Reads check it; a row
 * that fails is never handed out as valid: see each read function.
 *
 * Callbacks (the _list and _load functions) receive borrowed pointers that
 * are valid only during the call. Inside one, no pkc_db function may be
 * called on the same db (PKC_ERR_STATE). A callback returns 0 to go on, or
 * a negative PKC_ERR_* (having set pkc_errmsg()) to stop: the function then
 * returns that code.
 */
#ifndef PKC_STORE_DB_H
#define PKC_STORE_DB_H

#include <stddef.h>
#include <stdint.h>

#include "pkc.h"

#define PKC_DB_FILE "pkc.db"
#define PKC_DB_SCHEMA_VERSION 1

#define PKC_DB_ROOM_ID_BYTES 8
#define PKC_DB_ROOM_SECRET_BYTES 32
#define PKC_DB_PEER_BYTES PKC_PEER_ID_HASH_BYTES /* 20: a peer id hash */
#define PKC_DB_KEY_BYTES 32                      /* Ed25519 and X25519 public keys */
#define PKC_DB_MSG_ID_BYTES 16
/* Longest room name, document name, topic and kv key, in bytes. */
#define PKC_DB_NAME_MAX 255

typedef struct pkc_db pkc_db;

typedef struct pkc_db_config {
    /* 1: PRAGMA synchronous=FULL, commits survive a power loss. Default 0
     * (NORMAL): commits survive a crash of the process, not of the OS. */
    int sync_full;
    /* How long to wait for a lock held by another connection. Default 5000. */
    int busy_timeout_ms;
    /* 0: skip PRAGMA quick_check at open (it reads the whole file: about a
     * second per GB). Default 1. */
    int quick_check;
} pkc_db_config;

void pkc_db_config_default(pkc_db_config *cfg);

/* ---- Opening --------------------------------------------------------------- */

/*
 * Opens <data_dir>/pkc.db, creating it (mode 0600) and its tables if
 * missing, and migrating an older schema. `data_dir` must exist (the node
 * creates it with the identity). `cfg` may be NULL (defaults). On success
 * *out is the db (pkc_db_close).
 *
 * A damaged database (SQLite reports corruption, or PRAGMA quick_check
 * fails) is closed and moved aside with its -wal and -shm files to
 * pkc.db.corrupt-<UTC time, 20260102T030405Z> in the same directory, and
 * the result is PKC_ERR_CHECKSUM with a message naming the moved file. The
 * next pkc_db_open() creates a fresh database (whose documents the node
 * then fetches again from its peers).
 *
 * Errors: PKC_ERR_NOT_FOUND (no such directory), PKC_ERR_PERMISSION
 * (cannot create or write the file, or the file is readable by group or
 * others: it holds room secrets; the message says what to chmod),
 * PKC_ERR_IO (not a directory, disk full, I/O error), PKC_ERR_CHECKSUM
 * (damaged: moved aside), PKC_ERR_UNSUPPORTED (a schema newer than this
 * pkc, or a file that is an SQLite database but not pkc's), PKC_ERR_AGAIN
 * (locked by another process), PKC_ERR_NOMEM, PKC_ERR_INVALID_ARG.
 */
int pkc_db_open(const char *data_dir, const pkc_db_config *cfg, pkc_db **out);

/*
 * A second, read-only connection to the same file, for a worker thread
 * (pkc_db_doc_merge). It sees the database as of the last commit when each
 * of its reads starts, and never blocks the writer (WAL). It does not
 * create, check or migrate: open the writer first. Writes through it fail
 * with PKC_ERR_PERMISSION. Errors as pkc_db_open, and PKC_ERR_UNSUPPORTED
 * when the schema is not the one this pkc writes.
 */
int pkc_db_open_reader(const char *data_dir, const pkc_db_config *cfg, pkc_db **out);

/* Closes the db; an open transaction is rolled back. Accepts NULL. */
void pkc_db_close(pkc_db *db);

/* The file's path (borrowed from db). */
const char *pkc_db_get_path(const pkc_db *db);

/*
 * 1 once SQLite reported structural damage (SQLITE_CORRUPT, SQLITE_NOTADB)
 * on this connection. The node should then close the db, call
 * pkc_db_set_aside(), open a fresh one and fetch its documents again. A row
 * that failed its hash does not set it (that row alone is bad).
 */
int pkc_db_is_damaged(const pkc_db *db);

/*
 * Moves <data_dir>/pkc.db and its -wal and -shm aside, as pkc_db_open()
 * does with a damaged file; the database must be closed (in every
 * process). If `moved` is not NULL it receives the new path of pkc.db (at
 * most `moved_size` bytes, NUL-terminated). PKC_ERR_NOT_FOUND when there is
 * no pkc.db; PKC_ERR_IO.
 */
int pkc_db_set_aside(const char *data_dir, char *moved, size_t moved_size);

/* ---- Transactions (group commit) -------------------------------------------- */

/* Opens a write transaction. PKC_ERR_STATE if one is open. */
int pkc_db_begin(pkc_db *db);
/* Commits it: when this returns 0, every write since pkc_db_begin() is
 * durable (see the top of this file). On failure the transaction is over
 * and rolled back: nothing of it is stored (the one exception, seen only
 * when a test interrupts the COMMIT statement, is an error after the commit
 * reached the file: the safe side, since the caller then acknowledges
 * nothing). PKC_ERR_STATE if none is open. */
int pkc_db_commit(pkc_db *db);
/* Rolls it back: nothing since pkc_db_begin() is stored. 0 also when none
 * is open. */
int pkc_db_rollback(pkc_db *db);
/* 1 inside pkc_db_begin()..pkc_db_commit()/rollback(). */
int pkc_db_in_transaction(const pkc_db *db);

/* ---- Rooms -------------------------------------------------------------------- */

typedef enum pkc_db_room_kind {
    PKC_DB_ROOM_LOCAL = 1,      /* the same-host and LAN room */
    PKC_DB_ROOM_PASSPHRASE = 2, /* secret derived from a passphrase */
    PKC_DB_ROOM_INVITATION = 3, /* secret received in an invitation */
} pkc_db_room_kind;

typedef struct pkc_db_room {
    uint8_t id[PKC_DB_ROOM_ID_BYTES];
    uint8_t secret[PKC_DB_ROOM_SECRET_BYTES];
    pkc_db_room_kind kind;
    char name[PKC_DB_NAME_MAX + 1]; /* display name, NUL-terminated, may be "" */
    int64_t joined_ms;              /* wall clock */
    uint32_t flags;                 /* the node's */
} pkc_db_room;

/* Inserts or replaces the room `room->id`. PKC_ERR_INVALID_ARG for an
 * unknown kind, PKC_ERR_TOO_LARGE for a name over PKC_DB_NAME_MAX bytes. */
int pkc_db_room_put(pkc_db *db, const pkc_db_room *room);
/* Copies room `id` into *out. PKC_ERR_NOT_FOUND; PKC_ERR_CHECKSUM if the row
 * fails its hash (*out untouched). Wipe *out after use: it holds the secret. */
int pkc_db_room_get(pkc_db *db, const uint8_t id[PKC_DB_ROOM_ID_BYTES], pkc_db_room *out);
/* Deletes the room and everything stored for it: its documents, inbox and
 * outbox messages and the peer book's memberships. PKC_ERR_NOT_FOUND. */
int pkc_db_room_delete(pkc_db *db, const uint8_t id[PKC_DB_ROOM_ID_BYTES]);
/* Calls fn for each room, by join time. A room that fails its hash is
 * skipped; at the end the result is then PKC_ERR_CHECKSUM naming it. */
typedef int (*pkc_db_room_fn)(void *user_data, const pkc_db_room *room);
int pkc_db_room_list(pkc_db *db, pkc_db_room_fn fn, void *user_data);

/* ---- Peer book ----------------------------------------------------------------- */

typedef struct pkc_db_peer {
    uint8_t id[PKC_DB_PEER_BYTES]; /* peer id hash */
    uint8_t public_key[PKC_DB_KEY_BYTES];
    uint8_t x25519[PKC_DB_KEY_BYTES];
    const uint8_t *dial; /* how to reach it: the node's encoding; may be NULL if dial_len 0 */
    size_t dial_len;
    double score;
    int64_t last_seen_ms;
} pkc_db_peer;

/* Inserts or replaces the peer `peer->id` (copies everything; its room
 * memberships stay). */
int pkc_db_peer_put(pkc_db *db, const pkc_db_peer *peer);
/* Copies peer `id` into *out; out->dial is malloc'd (free() it; NULL when
 * dial_len is 0). PKC_ERR_NOT_FOUND. */
int pkc_db_peer_get(pkc_db *db, const uint8_t id[PKC_DB_PEER_BYTES], pkc_db_peer *out);
/* Calls fn for peers by last seen, most recent first, at most `limit`
 * (0: all); with `room` not NULL, only peers seen in that room, most
 * recently seen there first. */
typedef int (*pkc_db_peer_fn)(void *user_data, const pkc_db_peer *peer);
int pkc_db_peer_list(pkc_db *db, const uint8_t *room, size_t limit, pkc_db_peer_fn fn,
                     void *user_data);
/* Records that the peer was seen in `room` at `seen_ms` (the peer must have
 * been put: PKC_ERR_NOT_FOUND otherwise). */
int pkc_db_peer_add_room(pkc_db *db, const uint8_t id[PKC_DB_PEER_BYTES],
                         const uint8_t room[PKC_DB_ROOM_ID_BYTES], int64_t seen_ms);
/* Calls fn(user_data, room id, last seen there) for each room the peer was
 * seen in, most recent first. */
typedef int (*pkc_db_peer_room_fn)(void *user_data, const uint8_t *room, int64_t seen_ms);
int pkc_db_peer_list_rooms(pkc_db *db, const uint8_t id[PKC_DB_PEER_BYTES],
                           pkc_db_peer_room_fn fn, void *user_data);
/* Deletes the peer and its memberships. PKC_ERR_NOT_FOUND. */
int pkc_db_peer_delete(pkc_db *db, const uint8_t id[PKC_DB_PEER_BYTES]);
/* Deletes the peers last seen before `before_ms`; *n (may be NULL) gets how
 * many. */
int pkc_db_peer_forget_before(pkc_db *db, int64_t before_ms, uint64_t *n);

/* ---- Documents ------------------------------------------------------------------- */

/*
 * A document is a list of Yjs v1 updates, appended in order, named by its
 * room and a name (1..PKC_DB_NAME_MAX bytes). Each update gets a sequence
 * number, increasing across the whole database and never reused.
 */

/* Appends an update (copied; 1 byte or more) to the document, creating the
 * document on its first update. *seq (may be NULL) gets its number. Durable
 * as the top of this file says. PKC_ERR_TOO_LARGE for a name over
 * PKC_DB_NAME_MAX bytes or an update over 1 GB. */
int pkc_db_doc_append(pkc_db *db, const uint8_t room[PKC_DB_ROOM_ID_BYTES], const char *name,
                      const uint8_t *update, size_t len, int64_t *seq);

/* Calls fn for each stored update of the document, in order (none for an
 * unknown document). An update that fails its hash is not passed on; the
 * load goes on and then returns PKC_ERR_CHECKSUM naming the first: the
 * document is incomplete; delete it and fetch it again from peers. */
typedef int (*pkc_db_update_fn)(void *user_data, int64_t seq, const uint8_t *update, size_t len);
int pkc_db_doc_load(pkc_db *db, const uint8_t room[PKC_DB_ROOM_ID_BYTES], const char *name,
                    pkc_db_update_fn fn, void *user_data);

typedef struct pkc_db_doc_info {
    const char *name; /* borrowed for the callback */
    uint64_t updates; /* how many are stored */
    uint64_t bytes;   /* their total size */
    int64_t last_seq; /* 0 when there are none */
} pkc_db_doc_info;

/* Calls fn for each document of the room, by name. */
typedef int (*pkc_db_doc_fn)(void *user_data, const pkc_db_doc_info *doc);
int pkc_db_doc_list(pkc_db *db, const uint8_t room[PKC_DB_ROOM_ID_BYTES], pkc_db_doc_fn fn,
                    void *user_data);

/* Deletes the document and its updates. PKC_ERR_NOT_FOUND. */
int pkc_db_doc_delete(pkc_db *db, const uint8_t room[PKC_DB_ROOM_ID_BYTES], const char *name);

/*
 * Compaction replaces the updates of a document up to a sequence number by
 * their merge (pkc_yupdate_merge), in two steps so that the merge, the
 * part that costs, can run on a worker thread:
 *
 *   worker:  pkc_db_doc_merge(reader, room, name, &m)     reads and merges
 *   loop:    pkc_db_doc_compact(db, room, name, &m)       swaps, atomically
 *            pkc_db_merge_clear(&m)
 *
 * `reader` is a pkc_db_open_reader() connection owned by the worker (or,
 * for small documents, the loop's db itself). The swap checks that the
 * updates it replaces are exactly those merged (their count and hashes);
 * updates appended meanwhile have higher numbers and stay after the
 * merged one. Appends need not pause.
 */
typedef struct pkc_db_merge {
    int64_t up_to_seq;  /* the last update merged */
    uint64_t count;     /* how many were merged */
    uint8_t digest[16]; /* of their hashes, for the swap's check */
    uint8_t *update;    /* the merge, malloc'd */
    size_t len;
} pkc_db_merge;

/* Reads every update of the document (one consistent snapshot) and merges
 * them into *out (pkc_db_merge_clear). PKC_ERR_NOT_FOUND when the document
 * has fewer than 2 updates (nothing to compact); PKC_ERR_CHECKSUM when one
 * fails its hash (nothing merged); the errors of pkc_yupdate_merge for an
 * update that is not valid Yjs. Thread: the reader's. */
int pkc_db_doc_merge(pkc_db *reader, const uint8_t room[PKC_DB_ROOM_ID_BYTES], const char *name,
                     pkc_db_merge *out);
/* In one transaction (or a savepoint of the caller's): deletes the merged
 * updates and stores m->update with number m->up_to_seq. PKC_ERR_MISMATCH
 * (nothing changed) when the updates up to m->up_to_seq are no longer the
 * ones merged (the document was deleted, or compacted meanwhile). A
 * failure changes nothing. */
int pkc_db_doc_compact(pkc_db *db, const uint8_t room[PKC_DB_ROOM_ID_BYTES], const char *name,
                       const pkc_db_merge *m);
/* Frees m->update and zeroes *m. Accepts NULL. */
void pkc_db_merge_clear(pkc_db_merge *m);

/* ---- Inbox ------------------------------------------------------------------------- */

#define PKC_DB_MSG_DIRECT 1u /* flags: addressed to us (else a room broadcast) */

typedef struct pkc_db_inbox_msg {
    int64_t seq; /* set by the db: increasing, never reused */
    uint8_t msg_id[PKC_DB_MSG_ID_BYTES];
    uint8_t room[PKC_DB_ROOM_ID_BYTES];
    uint8_t sender[PKC_DB_KEY_BYTES]; /* the sender's public key */
    uint32_t flags;                   /* PKC_DB_MSG_DIRECT */
    const char *topic;                /* NUL-terminated, may be "", not NULL */
    int64_t time_ms;                  /* the message's timestamp */
    const uint8_t *payload;           /* may be NULL if payload_len is 0 */
    size_t payload_len;
} pkc_db_inbox_msg;

/* Stores a received message (copied; m->seq is ignored); *seq (may be
 * NULL) gets its number. PKC_ERR_EXISTS when a message with this msg_id is
 * stored already: the duplicate is ignored, the transaction goes on.
 * PKC_ERR_TOO_LARGE for a topic over PKC_DB_NAME_MAX bytes. */
int pkc_db_inbox_add(pkc_db *db, const pkc_db_inbox_msg *m, int64_t *seq);
/* Calls fn for messages with seq > after_seq, in order, at most `limit` (0:
 * all); with `room` not NULL, only that room's. *last_seq (may be NULL)
 * gets the seq of the last message looked at (after_seq when none), to pass
 * as after_seq next time (`pkc inbox --follow`). A message that fails its
 * hash is skipped but counted in *last_seq; the result is then
 * PKC_ERR_CHECKSUM naming it. */
typedef int (*pkc_db_inbox_fn)(void *user_data, const pkc_db_inbox_msg *m);
int pkc_db_inbox_list(pkc_db *db, const uint8_t *room, int64_t after_seq, size_t limit,
                      pkc_db_inbox_fn fn, void *user_data, int64_t *last_seq);
/* *n gets how many messages are stored (of `room` when not NULL). */
int pkc_db_inbox_count(pkc_db *db, const uint8_t *room, uint64_t *n);
/* Deletes message `seq`. PKC_ERR_NOT_FOUND. */
int pkc_db_inbox_delete(pkc_db *db, int64_t seq);

/* ---- Outbox ------------------------------------------------------------------------ */

typedef struct pkc_db_outbox_msg {
    uint8_t msg_id[PKC_DB_MSG_ID_BYTES];
    uint8_t room[PKC_DB_ROOM_ID_BYTES];
    uint8_t recipient[PKC_DB_PEER_BYTES];
    const uint8_t *frame; /* the encoded, signed frame to send */
    size_t frame_len;
    int64_t created_ms;
    /* Kept by the db (ignored by pkc_db_outbox_add): */
    uint32_t attempts;
    int64_t last_attempt_ms; /* 0: never tried */
    int64_t delivered_ms;    /* 0: no receipt yet */
} pkc_db_outbox_msg;

/* Stores a direct message to send (copied; 1 byte of frame or more).
 * PKC_ERR_EXISTS when this msg_id is stored already (nothing changes). */
int pkc_db_outbox_add(pkc_db *db, const pkc_db_outbox_msg *m);
/* Calls fn for the messages without a receipt, oldest first, at most
 * `limit` (0: all); with `recipient` not NULL, only those to it. A message
 * that fails its hash is skipped; the result is then PKC_ERR_CHECKSUM. */
typedef int (*pkc_db_outbox_fn)(void *user_data, const pkc_db_outbox_msg *m);
int pkc_db_outbox_list_pending(pkc_db *db, const uint8_t *recipient, size_t limit,
                               pkc_db_outbox_fn fn, void *user_data);
/* Counts a sending attempt at `now_ms`. PKC_ERR_NOT_FOUND. */
int pkc_db_outbox_mark_attempt(pkc_db *db, const uint8_t msg_id[PKC_DB_MSG_ID_BYTES],
                               int64_t now_ms);
/* Records the receipt (the first one counts). PKC_ERR_NOT_FOUND. */
int pkc_db_outbox_mark_delivered(pkc_db *db, const uint8_t msg_id[PKC_DB_MSG_ID_BYTES],
                                 int64_t now_ms);
/* Deletes one message, delivered or not. PKC_ERR_NOT_FOUND. */
int pkc_db_outbox_delete(pkc_db *db, const uint8_t msg_id[PKC_DB_MSG_ID_BYTES]);
/* Deletes the messages delivered before `before_ms`; *n (may be NULL) gets
 * how many. */
int pkc_db_outbox_forget_delivered(pkc_db *db, int64_t before_ms, uint64_t *n);

/* ---- Small blobs (the replay windows, ...) ------------------------------------------ */

/* Stores `value` (copied; len may be 0) under `key` (1..PKC_DB_NAME_MAX
 * bytes), replacing what was there. */
int pkc_db_kv_put(pkc_db *db, const char *key, const void *value, size_t len);
/* *value (malloc'd, free() it; NULL when len is 0) and *len get the blob.
 * PKC_ERR_NOT_FOUND; PKC_ERR_CHECKSUM if it fails its hash. */
int pkc_db_kv_get(pkc_db *db, const char *key, uint8_t **value, size_t *len);
/* Deletes it. PKC_ERR_NOT_FOUND. */
int pkc_db_kv_delete(pkc_db *db, const char *key);

/* ---- For tests and diagnostics ------------------------------------------------------ */

/* The SQLite connection (sqlite3 *), to damage rows or interrupt
 * statements in tests. */
void *pkc_db_get_handle(pkc_db *db);

#endif
