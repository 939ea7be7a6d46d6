/* db_impl.h: what the db_*.c files share; nothing outside src/store/ includes it. */
#ifndef PKC_STORE_DB_IMPL_H
#define PKC_STORE_DB_IMPL_H

#include <limits.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"

#define DB_HASH_BYTES 16
/* SQLite's default SQLITE_MAX_LENGTH is 10^9 bytes. */
#define DB_BLOB_MAX 1000000000u
/* Room for a copy of pkc_errmsg(). */
#define DB_MSG_COPY 512

/* Every statement, prepared once per connection on first use. */
enum db_stmt_id {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_SAVEPOINT,
    S_RELEASE,
    S_ROLLBACK_TO,
    S_KV_PUT,
    S_KV_GET,
    S_KV_DELETE,
    S_ROOM_PUT,
    S_ROOM_GET,
    S_ROOM_LIST,
    S_ROOM_DELETE,
    S_ROOM_DELETE_UPDATES,
    S_ROOM_DELETE_DOCS,
    S_ROOM_DELETE_INBOX,
    S_ROOM_DELETE_OUTBOX,
    S_ROOM_DELETE_MEMBERS,
    S_PEER_PUT,
    S_PEER_GET,
    S_PEER_LIST,
    S_PEER_LIST_ROOM,
    S_PEER_ADD_ROOM,
    S_PEER_ROOMS,
    S_PEER_DELETE,
    S_PEER_DELETE_ROOMS,
    S_PEER_FORGET_ROOMS,
    S_PEER_FORGET,
    S_DOC_ID,
    S_DOC_CREATE,
    S_DOC_APPEND,
    S_DOC_LOAD,
    S_DOC_LIST,
    S_DOC_DELETE_UPDATES,
    S_DOC_DELETE,
    S_DOC_HASHES,
    S_DOC_CUT,
    S_DOC_PUT_MERGED,
    S_INBOX_ADD,
    S_INBOX_LIST,
    S_INBOX_LIST_ROOM,
    S_INBOX_COUNT,
    S_INBOX_COUNT_ROOM,
    S_INBOX_DELETE,
    S_OUTBOX_ADD,
    S_OUTBOX_PENDING,
    S_OUTBOX_PENDING_TO,
    S_OUTBOX_ATTEMPT,
    S_OUTBOX_DELIVERED,
    S_OUTBOX_DELETE,
    S_OUTBOX_FORGET,
    S_COUNT
};

enum db_txn_state { TXN_NONE, TXN_OPEN, TXN_FAILED };

struct pkc_db {
    sqlite3 *sql;
    int reader;            /* opened with pkc_db_open_reader */
    int damaged;           /* SQLite reported corruption */
    int in_callback;       /* inside a callback of a _list/_load */
    int savepoint;         /* inside a write's own savepoint */
    enum db_txn_state txn; /* the caller's pkc_db_begin() */
    int txn_err;           /* TXN_FAILED: the error that ended it */
    char txn_msg[256];     /* and its message */
    sqlite3_stmt *stmt[S_COUNT];
    char path[PATH_MAX];
};

/* A field of a row's hash. */
typedef struct db_field {
    const void *p;
    size_t n;
} db_field;

/* BLAKE2b-128 of `label` then each field as an 8-byte big-endian length
 * and its bytes. */
void db_hash(uint8_t out[DB_HASH_BYTES], const char *label, const db_field *f, size_t n);
/* Compares a stored hash column with `want`: 0 if equal. */
int db_hash_check(sqlite3_stmt *st, int col, const uint8_t want[DB_HASH_BYTES]);
/* 8-byte big-endian, for hashing integers. */
void db_be64(uint8_t out[8], uint64_t v);

/* The cached statement `id` for `sql`, reset and with no bindings. */
int db_stmt(pkc_db *db, enum db_stmt_id id, const char *sql, sqlite3_stmt **out);
/* sqlite3_bind_* that turn (NULL, 0) into an empty blob, not SQL NULL. */
int db_bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n);
int db_bind_text(sqlite3_stmt *st, int i, const char *s);

/*
 * Turns an SQLite result into a PKC_ERR_* with its message ("disk full:
 * ...", "the database is damaged ..."), `what` saying what was being done.
 * Errors after which SQLite may have rolled back on its own (full, I/O,
 * corrupt, out of memory, busy, interrupted) roll back the whole
 * transaction here, so that it never half-happens, and mark the caller's
 * transaction failed.
 */
int db_error(pkc_db *db, int rc, const char *what);

/* Checks that db may be used now: not inside one of its callbacks. */
int db_enter_read(pkc_db *db);
/* As db_enter_read, and that it may write: not a reader, no failed
 * transaction. */
int db_enter_write(pkc_db *db);
/* A savepoint around a write of several statements: inside the caller's
 * transaction or, outside one, a transaction of its own. db_write_end()
 * releases it when rc is 0, else undoes it (if db_error() has not rolled
 * back everything already); returns rc, or the error of the release
 * (which commits, when it was the outermost). */
int db_write_begin(pkc_db *db);
int db_write_end(pkc_db *db, int rc);

/* Room id in hex for messages: out must hold 17 bytes. */
void db_room_hex(char out[17], const uint8_t room[PKC_DB_ROOM_ID_BYTES]);
/* Checks a name: 1..PKC_DB_NAME_MAX bytes (or 0.. with allow_empty). */
int db_check_name(const char *what, const char *name, int allow_empty);

#endif
