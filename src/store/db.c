/*
 * db.c: opening, checking, migrating and closing pkc.db; transactions; how
 * SQLite's errors become pkc's; the row hashes; the kv table.
 * The tables are in db_rooms.c (rooms, peers), db_docs.c and db_msgs.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/backend.h"
#include "util/err.h"
#include "util/text.h"
#include "store/db_impl.h"

/* ---- Schema ------------------------------------------------------------------ */

/*
 * Migrations: migrations[i] brings the schema from version i to i + 1, in
 * one transaction with the new version number. A new version appends a
 * step (SQL, and a function for what SQL cannot do) and bumps
 * PKC_DB_SCHEMA_VERSION; steps are never edited once released.
 */
typedef struct db_migration {
    const char *sql;
    int (*fn)(pkc_db *db); /* may be NULL; runs after sql */
} db_migration;

static const db_migration migrations[PKC_DB_SCHEMA_VERSION] = {
    /* 0 -> 1 */
    {"CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
     "CREATE TABLE kv(key TEXT PRIMARY KEY, hash BLOB NOT NULL, value BLOB NOT NULL);"
     "CREATE TABLE rooms(id BLOB PRIMARY KEY, kind INTEGER NOT NULL, name TEXT NOT NULL,"
     " joined INTEGER NOT NULL, flags INTEGER NOT NULL, hash BLOB NOT NULL,"
     " secret BLOB NOT NULL);"
     "CREATE TABLE peers(id BLOB PRIMARY KEY, public_key BLOB NOT NULL,"
     " x25519 BLOB NOT NULL, score REAL NOT NULL, last_seen INTEGER NOT NULL, dial BLOB);"
     "CREATE INDEX peers_by_seen ON peers(last_seen);"
     "CREATE TABLE peer_rooms(peer BLOB NOT NULL, room BLOB NOT NULL, seen INTEGER NOT NULL,"
     " PRIMARY KEY(peer, room)) WITHOUT ROWID;"
     "CREATE INDEX peer_rooms_by_room ON peer_rooms(room, seen);"
     "CREATE TABLE docs(id INTEGER PRIMARY KEY, room BLOB NOT NULL, name TEXT NOT NULL,"
     " UNIQUE(room, name));"
     /* hash before data: reading the hashes alone skips the data's pages */
     "CREATE TABLE doc_updates(seq INTEGER PRIMARY KEY AUTOINCREMENT, doc INTEGER NOT NULL,"
     " hash BLOB NOT NULL, data BLOB NOT NULL);"
     "CREATE INDEX doc_updates_by_doc ON doc_updates(doc, seq);"
     "CREATE TABLE inbox(seq INTEGER PRIMARY KEY AUTOINCREMENT, msg_id BLOB NOT NULL UNIQUE,"
     " room BLOB NOT NULL, sender BLOB NOT NULL, flags INTEGER NOT NULL, topic TEXT NOT NULL,"
     " time INTEGER NOT NULL, hash BLOB NOT NULL, payload BLOB NOT NULL);"
     "CREATE INDEX inbox_by_room ON inbox(room, seq);"
     "CREATE TABLE outbox(msg_id BLOB PRIMARY KEY, room BLOB NOT NULL,"
     " recipient BLOB NOT NULL, created INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
     " last_attempt INTEGER, delivered INTEGER, hash BLOB NOT NULL, frame BLOB NOT NULL);"
     "CREATE INDEX outbox_pending ON outbox(created) WHERE delivered IS NULL;"
     "CREATE INDEX outbox_pending_to ON outbox(recipient, created) WHERE delivered IS NULL;"
     "CREATE INDEX outbox_delivered ON outbox(delivered) WHERE delivered IS NOT NULL;"
     "CREATE INDEX outbox_by_room ON outbox(room);",
     NULL},
};

/* ---- Helpers --------------------------------------------------------------------- */

void db_be64(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

void db_hash(uint8_t out[DB_HASH_BYTES], const char *label, const db_field *f, size_t n)
{
    pkc_hash_state st;
    pkc_crypto_hash_init(&st, DB_HASH_BYTES);
    pkc_crypto_hash_update(&st, label, strlen(label) + 1);
    for (size_t i = 0; i < n; i++) {
        uint8_t len[8];
        db_be64(len, f[i].n);
        pkc_crypto_hash_update(&st, len, sizeof len);
        if (f[i].n)
            pkc_crypto_hash_update(&st, f[i].p, f[i].n);
    }
    pkc_crypto_hash_peek(&st, NULL, 0, out, DB_HASH_BYTES);
}

int db_hash_check(sqlite3_stmt *st, int col, const uint8_t want[DB_HASH_BYTES])
{
    const void *h = sqlite3_column_blob(st, col);
    if (h == NULL || sqlite3_column_bytes(st, col) != DB_HASH_BYTES)
        return -1;
    return memcmp(h, want, DB_HASH_BYTES) != 0 ? -1 : 0;
}

void db_room_hex(char out[17], const uint8_t room[PKC_DB_ROOM_ID_BYTES])
{
    pkc_hex_encode(out, room, PKC_DB_ROOM_ID_BYTES);
}

int db_check_name(const char *what, const char *name, int allow_empty)
{
    if (name == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "%s: NULL", what);
    size_t n = strnlen(name, PKC_DB_NAME_MAX + 1);
    if (n > PKC_DB_NAME_MAX)
        return pkc_error(PKC_ERR_TOO_LARGE, "%s: longer than %d bytes", what, PKC_DB_NAME_MAX);
    if (n == 0 && !allow_empty)
        return pkc_error(PKC_ERR_INVALID_ARG, "%s: empty", what);
    return 0;
}

int db_bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n)
{
    if (n == 0)
        return sqlite3_bind_zeroblob(st, i, 0);
    return sqlite3_bind_blob64(st, i, p, n, SQLITE_STATIC);
}

int db_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

int db_stmt(pkc_db *db, enum db_stmt_id id, const char *sql, sqlite3_stmt **out)
{
    sqlite3_stmt *st = db->stmt[id];
    if (st == NULL) {
        int src = sqlite3_prepare_v3(db->sql, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
        if (src != SQLITE_OK)
            return db_error(db, src, "preparing a statement");
        db->stmt[id] = st;
    } else {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    *out = st;
    return 0;
}

static int is_disk_full(int prim, int sys)
{
    return prim == SQLITE_FULL || (prim == SQLITE_IOERR && (sys == ENOSPC || sys == EDQUOT));
}

int db_error(pkc_db *db, int rc, const char *what)
{
    int prim = rc & 0xff;
    int sys = sqlite3_system_errno(db->sql);
    char detail[160];
    snprintf(detail, sizeof detail, "%s", sqlite3_errmsg(db->sql));
    int code, fatal = 1;
    if (is_disk_full(prim, sys)) {
        code = pkc_error(PKC_ERR_IO, "disk full: %s: %s: %s (%s); nothing of the transaction was "
                         "stored",
                         db->path, what, detail, strerror(sys ? sys : ENOSPC));
    } else if (prim == SQLITE_IOERR) {
        code = pkc_error(PKC_ERR_IO, "%s: I/O error %s: %s (%s); nothing of the transaction was "
                         "stored",
                         db->path, what, detail, sys ? strerror(sys) : "no errno");
    } else if (prim == SQLITE_CORRUPT || prim == SQLITE_NOTADB) {
        db->damaged = 1;
        code = pkc_error(PKC_ERR_CHECKSUM, "%s: the database is damaged (%s, %s)", db->path,
                         detail, what);
    } else if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED) {
        code = pkc_error(PKC_ERR_AGAIN, "%s: locked by another process (%s, %s)", db->path,
                         detail, what);
    } else if (prim == SQLITE_NOMEM) {
        code = pkc_error(PKC_ERR_NOMEM, "%s: out of memory %s", db->path, what);
    } else if (prim == SQLITE_INTERRUPT) {
        code = pkc_error(PKC_ERR_INTERNAL, "%s: interrupted %s", db->path, what);
    } else {
        fatal = 0;
        if (prim == SQLITE_READONLY || prim == SQLITE_PERM || prim == SQLITE_AUTH)
            code = PKC_ERR_PERMISSION;
        else if (prim == SQLITE_CANTOPEN)
            code = sys == EACCES || sys == EPERM || sys == EROFS ? PKC_ERR_PERMISSION
                   : sys == ENOENT                              ? PKC_ERR_NOT_FOUND
                                                                : PKC_ERR_IO;
        else if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
            code = PKC_ERR_EXISTS;
        else if (prim == SQLITE_TOOBIG)
            code = PKC_ERR_TOO_LARGE;
        else
            code = PKC_ERR_INTERNAL;
        /* errno is only this error's for a failed open; else it may be stale. */
        int show = prim == SQLITE_CANTOPEN && sys;
        pkc_error(code, "%s: %s: %s%s%s", db->path, what, detail, show ? ": " : "",
                  show ? strerror(sys) : "");
    }
    if (fatal) {
        /* SQLite may have rolled back by itself, or not: make it certain. */
        for (sqlite3_stmt *s = sqlite3_next_stmt(db->sql, NULL); s;
             s = sqlite3_next_stmt(db->sql, s))
            if (sqlite3_stmt_busy(s))
                sqlite3_reset(s);
        if (!sqlite3_get_autocommit(db->sql))
            sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
        db->savepoint = 0;
        if (db->txn == TXN_OPEN) {
            db->txn = TXN_FAILED;
            db->txn_err = code;
            snprintf(db->txn_msg, sizeof db->txn_msg, "%s", pkc_errmsg());
        }
    }
    return code;
}

int db_enter_read(pkc_db *db)
{
    if (db == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "db: NULL");
    if (db->in_callback)
        return pkc_error(PKC_ERR_STATE, "%s: called from inside one of its callbacks", db->path);
    return 0;
}

int db_enter_write(pkc_db *db)
{
    int rc = db_enter_read(db);
    if (rc)
        return rc;
    if (db->reader)
        return pkc_error(PKC_ERR_PERMISSION, "%s: a reader connection cannot write", db->path);
    if (db->txn == TXN_FAILED)
        return pkc_error(PKC_ERR_STATE,
                         "the transaction was rolled back after an earlier error (%s); call "
                         "pkc_db_rollback or pkc_db_commit",
                         db->txn_msg);
    return 0;
}

static int step_done(pkc_db *db, enum db_stmt_id id, const char *sql, const char *what)
{
    sqlite3_stmt *st;
    int rc = db_stmt(db, id, sql, &st);
    if (rc)
        return rc;
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE && src != SQLITE_ROW)
        rc = db_error(db, src, what);
    sqlite3_reset(st);
    return rc;
}

int db_write_begin(pkc_db *db)
{
    int rc = step_done(db, S_SAVEPOINT, "SAVEPOINT pkc_w", "starting a write");
    if (rc == 0)
        db->savepoint = 1;
    return rc;
}

int db_write_end(pkc_db *db, int rc)
{
    if (!db->savepoint)
        return rc; /* db_error() rolled everything back */
    if (rc == 0) {
        /* The outermost RELEASE commits: it may fail with a full disk. */
        rc = step_done(db, S_RELEASE, "RELEASE pkc_w", "committing");
        if (rc == 0) {
            db->savepoint = 0;
            return 0;
        }
        if (!db->savepoint)
            return rc;
    }
    /* Undo this write only; the caller's transaction goes on. */
    sqlite3_exec(db->sql, "ROLLBACK TO pkc_w; RELEASE pkc_w", NULL, NULL, NULL);
    db->savepoint = 0;
    return rc;
}

/* Runs `sql` (one statement, not cached) and copies the first column of its
 * first row, if any, into out. */
static int exec_text(pkc_db *db, const char *sql, char *out, size_t out_size)
{
    sqlite3_stmt *st;
    int src = sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL);
    if (src != SQLITE_OK)
        return db_error(db, src, sql);
    if (out_size)
        out[0] = '\0';
    src = sqlite3_step(st);
    int rc = 0;
    if (src == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        if (out_size)
            snprintf(out, out_size, "%s", t ? (const char *)t : "");
    } else if (src != SQLITE_DONE) {
        rc = db_error(db, src, sql);
    }
    sqlite3_finalize(st);
    return rc;
}

static int exec_int(pkc_db *db, const char *sql, int64_t *out)
{
    char t[32];
    int rc = exec_text(db, sql, t, sizeof t);
    if (rc == 0)
        *out = strtoll(t, NULL, 10);
    return rc;
}

/* ---- Opening ---------------------------------------------------------------------- */

void pkc_db_config_default(pkc_db_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->sync_full = 0;
    cfg->busy_timeout_ms = 5000;
    cfg->quick_check = 1;
}

/* Creates the file with mode 0600 before SQLite does (SQLite would use
 * 0644 less the umask), or checks the mode of the one there. */
static int prepare_file(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int e = errno;
        return pkc_error(e == EACCES || e == EPERM || e == EROFS ? PKC_ERR_PERMISSION : PKC_ERR_IO,
                         "%s: cannot create or open for writing: %s", path, strerror(e));
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0)
        rc = pkc_error(PKC_ERR_IO, "%s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = pkc_error(PKC_ERR_IO, "%s: not a regular file", path);
    else if (st.st_mode & 077)
        rc = pkc_error(PKC_ERR_PERMISSION,
                       "%s: holds room secrets and is accessible to other users (mode %03o); run "
                       "chmod 600 on it",
                       path, (unsigned)(st.st_mode & 0777));
    close(fd);
    return rc;
}

static int quick_check(pkc_db *db)
{
    sqlite3_stmt *st;
    int src = sqlite3_prepare_v2(db->sql, "PRAGMA quick_check", -1, &st, NULL);
    if (src != SQLITE_OK)
        return db_error(db, src, "checking the database");
    char first[200] = "";
    int rows = 0;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (rows++ == 0) {
            const unsigned char *t = sqlite3_column_text(st, 0);
            snprintf(first, sizeof first, "%s", t ? (const char *)t : "");
        }
    }
    sqlite3_finalize(st);
    if (src != SQLITE_DONE)
        return db_error(db, src, "checking the database");
    if (rows == 1 && strcmp(first, "ok") == 0)
        return 0;
    db->damaged = 1;
    return pkc_error(PKC_ERR_CHECKSUM, "%s: the database is damaged (quick_check: %s%s)", db->path,
                     first, rows > 1 ? ", ..." : "");
}

static int migrate(pkc_db *db, int64_t from)
{
    int rc = step_done(db, S_BEGIN, "BEGIN IMMEDIATE", "migrating the schema");
    if (rc)
        return rc;
    for (int64_t v = from; v < PKC_DB_SCHEMA_VERSION && rc == 0; v++) {
        char *err = NULL;
        int src = sqlite3_exec(db->sql, migrations[v].sql, NULL, NULL, &err);
        sqlite3_free(err);
        if (src != SQLITE_OK)
            rc = db_error(db, src, "migrating the schema");
        if (rc == 0 && migrations[v].fn)
            rc = migrations[v].fn(db);
    }
    if (rc == 0) {
        char sql[96];
        snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO meta VALUES('schema_version', %d)",
                 PKC_DB_SCHEMA_VERSION);
        rc = exec_text(db, sql, NULL, 0);
    }
    if (rc == 0)
        rc = step_done(db, S_COMMIT, "COMMIT", "migrating the schema");
    if (rc && !sqlite3_get_autocommit(db->sql))
        sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int check_schema(pkc_db *db)
{
    int64_t has_meta, tables, version = 0;
    int rc = exec_int(db,
                      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
                      &has_meta);
    if (rc == 0)
        rc = exec_int(db, "SELECT count(*) FROM sqlite_master", &tables);
    if (rc)
        return rc;
    if (has_meta) {
        rc = exec_int(db, "SELECT value FROM meta WHERE key = 'schema_version'", &version);
        if (rc)
            return rc;
    } else if (tables) {
        return pkc_error(PKC_ERR_UNSUPPORTED,
                         "%s: an SQLite database, but not pkc's (it has no meta table)", db->path);
    }
    if (version > PKC_DB_SCHEMA_VERSION)
        return pkc_error(PKC_ERR_UNSUPPORTED,
                         "%s: schema version %lld is newer than this pkc's (%d): use a newer pkc",
                         db->path, (long long)version, PKC_DB_SCHEMA_VERSION);
    if (version == PKC_DB_SCHEMA_VERSION)
        return 0;
    if (db->reader)
        return pkc_error(PKC_ERR_UNSUPPORTED,
                         "%s: schema version %lld, not %d: open the writer first", db->path,
                         (long long)version, PKC_DB_SCHEMA_VERSION);
    return migrate(db, version);
}

static int setup(pkc_db *db, const pkc_db_config *cfg)
{
    char mode[16];
    /* Reads the header first: a file that is not a database fails here. */
    int rc = exec_text(db, db->reader ? "PRAGMA journal_mode" : "PRAGMA journal_mode=WAL", mode,
                       sizeof mode);
    if (rc)
        return rc;
    if (strcmp(mode, "wal") != 0)
        return db->reader ? pkc_error(PKC_ERR_UNSUPPORTED,
                                      "%s: not in WAL mode (%s): open the writer first", db->path,
                                      mode)
                          : pkc_error(PKC_ERR_IO, "%s: cannot use WAL mode (%s)", db->path, mode);
    rc = exec_text(db, cfg->sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
                   NULL, 0);
    /* Zero what deletes free when it costs no extra I/O (room secrets). */
    if (rc == 0 && !db->reader)
        rc = exec_text(db, "PRAGMA secure_delete=FAST", NULL, 0);
    /* After a burst, give the disk back once the WAL was checkpointed. */
    if (rc == 0 && !db->reader)
        rc = exec_text(db, "PRAGMA journal_size_limit=67108864", NULL, 0);
    if (rc == 0 && cfg->quick_check && !db->reader)
        rc = quick_check(db);
    if (rc == 0)
        rc = check_schema(db);
    return rc;
}

static void db_free(pkc_db *db)
{
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(db->stmt[i]);
    sqlite3_close_v2(db->sql);
    free(db);
}

static int open_common(const char *data_dir, const pkc_db_config *cfg, int reader, pkc_db **out)
{
    if (data_dir == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "db: NULL argument");
    pkc_db_config def;
    if (cfg == NULL) {
        pkc_db_config_default(&def);
        cfg = &def;
    }
    if (cfg->busy_timeout_ms < 0)
        return pkc_error(PKC_ERR_INVALID_ARG, "db: negative busy timeout");
    /* The reader is for another thread: SQLite must have been built for it. */
    if (reader && !sqlite3_threadsafe())
        return pkc_error(PKC_ERR_UNSUPPORTED, "db: this SQLite was built without threads");
    int rc = pkc_crypto_init();
    if (rc)
        return rc;
    struct stat st;
    if (stat(data_dir, &st) != 0) {
        int e = errno;
        return pkc_error(e == ENOENT   ? PKC_ERR_NOT_FOUND
                         : e == EACCES ? PKC_ERR_PERMISSION
                                       : PKC_ERR_IO,
                         "%s: %s", data_dir, e == ENOENT ? "no such directory" : strerror(e));
    }
    if (!S_ISDIR(st.st_mode))
        return pkc_error(PKC_ERR_IO, "%s: not a directory", data_dir);
    pkc_db *db = calloc(1, sizeof *db);
    if (db == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    db->reader = reader;
    if (snprintf(db->path, sizeof db->path, "%s/%s", data_dir, PKC_DB_FILE) >=
        (int)sizeof db->path) {
        free(db);
        return pkc_error(PKC_ERR_INVALID_ARG, "%s: path too long", data_dir);
    }
    if (reader) {
        if (access(db->path, F_OK) != 0) {
            int e = errno;
            rc = pkc_error(e == ENOENT ? PKC_ERR_NOT_FOUND : PKC_ERR_IO, "%s: %s", db->path,
                           e == ENOENT ? "no database yet: open the writer first" : strerror(e));
        }
    } else {
        rc = prepare_file(db->path);
    }
    if (rc) {
        free(db);
        return rc;
    }
    int flags = (reader ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX;
    int src = sqlite3_open_v2(db->path, &db->sql, flags, NULL);
    if (db->sql == NULL) {
        free(db);
        return pkc_error(PKC_ERR_NOMEM, "%s: out of memory opening the database", data_dir);
    }
    if (src != SQLITE_OK) {
        rc = db_error(db, src, "opening");
    } else {
        sqlite3_extended_result_codes(db->sql, 1);
        sqlite3_busy_timeout(db->sql, cfg->busy_timeout_ms);
        rc = setup(db, cfg);
    }
    if (rc == 0) {
        *out = db;
        return 0;
    }
    int damaged = db->damaged;
    db_free(db);
    if (!damaged || reader)
        return rc;
    char why[256], moved[PATH_MAX];
    snprintf(why, sizeof why, "%s", pkc_errmsg());
    rc = pkc_db_set_aside(data_dir, moved, sizeof moved);
    if (rc)
        return pkc_error_wrap(rc, "%s; moving it aside failed", why);
    return pkc_error(PKC_ERR_CHECKSUM,
                     "%s; moved it aside to %s (with its -wal and -shm); the next open starts "
                     "an empty database, and documents are fetched again from peers",
                     why, moved);
}

int pkc_db_open(const char *data_dir, const pkc_db_config *cfg, pkc_db **out)
{
    return open_common(data_dir, cfg, 0, out);
}

int pkc_db_open_reader(const char *data_dir, const pkc_db_config *cfg, pkc_db **out)
{
    return open_common(data_dir, cfg, 1, out);
}

void pkc_db_close(pkc_db *db)
{
    if (db == NULL)
        return;
    if (!sqlite3_get_autocommit(db->sql))
        sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
    db_free(db);
}

const char *pkc_db_get_path(const pkc_db *db)
{
    return db->path;
}

int pkc_db_is_damaged(const pkc_db *db)
{
    return db->damaged;
}

void *pkc_db_get_handle(pkc_db *db)
{
    return db->sql;
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int pkc_db_set_aside(const char *data_dir, char *moved, size_t moved_size)
{
    if (data_dir == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "db: NULL argument");
    char src[PATH_MAX], dst[PATH_MAX], stamp[32];
    if (snprintf(src, sizeof src, "%s/%s", data_dir, PKC_DB_FILE) >= (int)sizeof src - 8)
        return pkc_error(PKC_ERR_INVALID_ARG, "%s: path too long", data_dir);
    struct stat st;
    if (lstat(src, &st) != 0) {
        int e = errno;
        return pkc_error(e == ENOENT ? PKC_ERR_NOT_FOUND : PKC_ERR_IO, "%s: %s", src,
                         strerror(e));
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    /* A name nothing has: the same second may see two. */
    for (int i = 0;; i++) {
        int n = i == 0 ? snprintf(dst, sizeof dst, "%s.corrupt-%s", src, stamp)
                       : snprintf(dst, sizeof dst, "%s.corrupt-%s-%d", src, stamp, i);
        if (n >= (int)sizeof dst - 8)
            return pkc_error(PKC_ERR_INVALID_ARG, "%s: path too long", data_dir);
        if (lstat(dst, &st) != 0 && errno == ENOENT)
            break;
        if (i == 1000)
            return pkc_error(PKC_ERR_IO, "%s: no free name to move it aside", src);
    }
    if (rename(src, dst) != 0)
        return pkc_error(PKC_ERR_IO, "%s: cannot move it to %s: %s", src, dst, strerror(errno));
    /* The -wal must go with it: left behind, it would be replayed into the
     * next database. The -shm is only an index of it. */
    static const char *const suffix[] = {"-wal", "-shm"};
    for (size_t k = 0; k < 2; k++) {
        char s2[PATH_MAX], d2[PATH_MAX];
        snprintf(s2, sizeof s2, "%s%s", src, suffix[k]);
        snprintf(d2, sizeof d2, "%s%s", dst, suffix[k]);
        if (rename(s2, d2) != 0 && errno != ENOENT && unlink(s2) != 0 && errno != ENOENT)
            return pkc_error(PKC_ERR_IO, "%s: cannot move or delete it: %s", s2,
                             strerror(errno));
    }
    fsync_dir(data_dir);
    if (moved && moved_size)
        snprintf(moved, moved_size, "%s", dst);
    return 0;
}

/* ---- Transactions ----------------------------------------------------------------- */

int pkc_db_begin(pkc_db *db)
{
    int rc = db_enter_write(db);
    if (rc)
        return rc;
    if (db->txn != TXN_NONE)
        return pkc_error(PKC_ERR_STATE, "%s: a transaction is open already", db->path);
    /* IMMEDIATE: take the write lock now, not at the first write. */
    rc = step_done(db, S_BEGIN, "BEGIN IMMEDIATE", "starting a transaction");
    if (rc == 0)
        db->txn = TXN_OPEN;
    return rc;
}

int pkc_db_commit(pkc_db *db)
{
    int rc = db_enter_read(db);
    if (rc)
        return rc;
    if (db->txn == TXN_NONE)
        return pkc_error(PKC_ERR_STATE, "%s: no transaction is open", db->path);
    if (db->txn == TXN_FAILED) {
        char msg[sizeof db->txn_msg];
        memcpy(msg, db->txn_msg, sizeof msg);
        db->txn = TXN_NONE;
        return pkc_error(db->txn_err, "%s", msg);
    }
    rc = step_done(db, S_COMMIT, "COMMIT", "committing");
    if (rc && !sqlite3_get_autocommit(db->sql))
        sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
    db->txn = TXN_NONE;
    return rc;
}

int pkc_db_rollback(pkc_db *db)
{
    int rc = db_enter_read(db);
    if (rc)
        return rc;
    enum db_txn_state was = db->txn;
    db->txn = TXN_NONE;
    if (was != TXN_OPEN)
        return 0;
    rc = step_done(db, S_ROLLBACK, "ROLLBACK", "rolling back");
    if (rc && !sqlite3_get_autocommit(db->sql))
        sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int pkc_db_in_transaction(const pkc_db *db)
{
    return db->txn != TXN_NONE;
}

/* ---- kv ------------------------------------------------------------------------------ */

static void kv_hash(uint8_t out[DB_HASH_BYTES], const char *key, const void *value, size_t len)
{
    db_field f[] = {{key, strlen(key)}, {value, len}};
    db_hash(out, "pkc-db kv", f, 2);
}

int pkc_db_kv_put(pkc_db *db, const char *key, const void *value, size_t len)
{
    int rc = db_enter_write(db);
    if (rc == 0)
        rc = db_check_name("kv key", key, 0);
    if (rc)
        return rc;
    if (value == NULL && len)
        return pkc_error(PKC_ERR_INVALID_ARG, "kv %s: NULL value", key);
    if (len > DB_BLOB_MAX)
        return pkc_error(PKC_ERR_TOO_LARGE, "kv %s: %zu bytes", key, len);
    uint8_t h[DB_HASH_BYTES];
    kv_hash(h, key, value, len);
    sqlite3_stmt *st;
    rc = db_stmt(db, S_KV_PUT, "INSERT OR REPLACE INTO kv(key, hash, value) VALUES(?, ?, ?)",
                 &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, key);
    db_bind_blob(st, 2, h, sizeof h);
    db_bind_blob(st, 3, value, len);
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_error(db, src, "storing a kv blob");
    sqlite3_reset(st);
    return rc;
}

int pkc_db_kv_get(pkc_db *db, const char *key, uint8_t **value, size_t *len)
{
    int rc = db_enter_read(db);
    if (rc == 0)
        rc = db_check_name("kv key", key, 0);
    if (rc)
        return rc;
    if (value == NULL || len == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "kv %s: NULL output", key);
    sqlite3_stmt *st;
    rc = db_stmt(db, S_KV_GET, "SELECT hash, value FROM kv WHERE key = ?", &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, key);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        const uint8_t *v = sqlite3_column_blob(st, 1);
        size_t n = (size_t)sqlite3_column_bytes(st, 1);
        uint8_t h[DB_HASH_BYTES];
        kv_hash(h, key, v, n);
        uint8_t *copy = NULL;
        if (db_hash_check(st, 0, h) != 0)
            rc = pkc_error(PKC_ERR_CHECKSUM, "%s: kv %s fails its hash (damaged)", db->path, key);
        else if (n && (copy = malloc(n)) == NULL)
            rc = pkc_error_code(PKC_ERR_NOMEM);
        if (rc == 0) {
            if (n)
                memcpy(copy, v, n);
            *value = copy;
            *len = n;
        }
    } else if (src == SQLITE_DONE) {
        rc = pkc_error(PKC_ERR_NOT_FOUND, "kv %s: not stored", key);
    } else {
        rc = db_error(db, src, "reading a kv blob");
    }
    sqlite3_reset(st);
    return rc;
}

int pkc_db_kv_delete(pkc_db *db, const char *key)
{
    int rc = db_enter_write(db);
    if (rc == 0)
        rc = db_check_name("kv key", key, 0);
    if (rc)
        return rc;
    sqlite3_stmt *st;
    rc = db_stmt(db, S_KV_DELETE, "DELETE FROM kv WHERE key = ?", &st);
    if (rc)
        return rc;
    db_bind_text(st, 1, key);
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_error(db, src, "deleting a kv blob");
    else if (sqlite3_changes(db->sql) == 0)
        rc = pkc_error(PKC_ERR_NOT_FOUND, "kv %s: not stored", key);
    sqlite3_reset(st);
    return rc;
}
