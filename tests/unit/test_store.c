/* test_store.c: the node's database (src/store/db.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/db.h"
#include "test.h"
#include "util/err.h"
#include "util/rng.h"

static const uint8_t ROOM_A[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t ROOM_B[8] = {9, 9, 9, 9, 9, 9, 9, 9};

static pkc_db *open_db(const char *dir)
{
    pkc_db *db = NULL;
    int rc = pkc_db_open(dir, NULL, &db);
    if (rc)
        pkc_test_fail(__FILE__, __LINE__, "pkc_db_open: %s: %s", pkc_err_name(rc), pkc_errmsg());
    return db;
}

static int has(const char *haystack, const char *needle)
{
    return strstr(haystack, needle) != NULL;
}

#define CHECK_MSG(needle)                                                                          \
    do {                                                                                           \
        if (!has(pkc_errmsg(), (needle))) {                                                        \
            pkc_test_fail(__FILE__, __LINE__, "message \"%s\" lacks \"%s\"", pkc_errmsg(),        \
                          (needle));                                                               \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Runs one SQL statement on the db's own connection (to damage rows). */
static int raw_sql(pkc_db *db, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(pkc_db_get_handle(db), sql, NULL, NULL, &err);
    if (rc)
        fprintf(stderr, "raw_sql: %s\n", err ? err : "?");
    sqlite3_free(err);
    return rc;
}

static int64_t raw_int(pkc_db *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(pkc_db_get_handle(db), sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void inbox_msg(pkc_db_inbox_msg *m, int i, const uint8_t room[8], const char *payload)
{
    memset(m, 0, sizeof *m);
    memset(m->msg_id, 0, sizeof m->msg_id);
    m->msg_id[0] = (uint8_t)(i >> 8);
    m->msg_id[1] = (uint8_t)i;
    memcpy(m->room, room, 8);
    memset(m->sender, 0x5e, sizeof m->sender);
    m->flags = i % 2 ? PKC_DB_MSG_DIRECT : 0;
    m->topic = i % 3 ? "chat" : "";
    m->time_ms = 1000 + i;
    m->payload = (const uint8_t *)payload;
    m->payload_len = payload ? strlen(payload) : 0;
}

/* ---- Opening --------------------------------------------------------------------- */

TEST(store, open_creates_a_private_wal_database)
{
    const char *dir = pkc_test_tmpdir();
    mode_t old = umask(0);
    pkc_db *db = open_db(dir);
    umask(old);
    CHECK(db);
    char path[600];
    snprintf(path, sizeof path, "%s/pkc.db", dir);
    CHECK_STR(pkc_db_get_path(db), path);
    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECK_EQ(st.st_mode & 0777, 0600);
    CHECK_EQ(raw_int(db, "SELECT value FROM meta WHERE key = 'schema_version'"),
             PKC_DB_SCHEMA_VERSION);
    CHECK_EQ(raw_int(db, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
    CHECK_EQ(raw_int(db, "PRAGMA synchronous"), 1); /* NORMAL */
    CHECK_EQ(pkc_db_is_damaged(db), 0);
    CHECK_EQ(pkc_db_in_transaction(db), 0);
    /* The -wal and -shm get the database's mode. */
    CHECK_OK(pkc_db_kv_put(db, "k", "v", 1));
    char wal[620];
    snprintf(wal, sizeof wal, "%s-wal", path);
    CHECK(stat(wal, &st) == 0);
    CHECK_EQ(st.st_mode & 0777, 0600);
    pkc_db_close(db);

    pkc_db_config cfg;
    pkc_db_config_default(&cfg);
    cfg.sync_full = 1;
    CHECK_OK(pkc_db_open(dir, &cfg, &db));
    CHECK_EQ(raw_int(db, "PRAGMA synchronous"), 2); /* FULL */
    uint8_t *v;
    size_t n;
    CHECK_OK(pkc_db_kv_get(db, "k", &v, &n));
    CHECK(n == 1 && v[0] == 'v');
    free(v);
    pkc_db_close(db);
    pkc_db_close(NULL);
}

TEST(store, open_errors_say_what_is_wrong)
{
    const char *dir = pkc_test_tmpdir();
    pkc_db *db = NULL;
    CHECK_ERR(pkc_db_open(NULL, NULL, &db), PKC_ERR_INVALID_ARG);
    CHECK_ERR(pkc_db_open(dir, NULL, NULL), PKC_ERR_INVALID_ARG);

    char missing[600];
    snprintf(missing, sizeof missing, "%s/nope", dir);
    CHECK_ERR(pkc_db_open(missing, NULL, &db), PKC_ERR_NOT_FOUND);
    CHECK_MSG("no such directory");
    CHECK_MSG(missing);

    char file[600];
    snprintf(file, sizeof file, "%s/file", dir);
    FILE *f = fopen(file, "w");
    CHECK(f);
    fclose(f);
    CHECK_ERR(pkc_db_open(file, NULL, &db), PKC_ERR_IO);
    CHECK_MSG("not a directory");

    /* A database others can read holds room secrets: refused, as ssh does. */
    char sub[600], path[700];
    snprintf(sub, sizeof sub, "%s/wide", dir);
    CHECK(mkdir(sub, 0700) == 0);
    CHECK(db = open_db(sub));
    pkc_db_close(db);
    snprintf(path, sizeof path, "%s/pkc.db", sub);
    CHECK(chmod(path, 0644) == 0);
    CHECK_ERR(pkc_db_open(sub, NULL, &db), PKC_ERR_PERMISSION);
    CHECK_MSG("chmod 600");
    CHECK(chmod(path, 0600) == 0);

    /* A reader needs the database to exist. */
    CHECK_ERR(pkc_db_open_reader(dir, NULL, &db), PKC_ERR_NOT_FOUND);
    CHECK_MSG("open the writer first");

    pkc_db_config cfg;
    pkc_db_config_default(&cfg);
    cfg.busy_timeout_ms = -1;
    CHECK_ERR(pkc_db_open(sub, &cfg, &db), PKC_ERR_INVALID_ARG);
}

/* As root, permissions do not stop anything: drop to nobody in a child. */
static int child_open_as_nobody(const char *dir, int want, const char *needle)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(3);
        pkc_db *db = NULL;
        int rc = pkc_db_open(dir, NULL, &db);
        fprintf(stderr, "  open as uid %d: %s: %s\n", (int)geteuid(), pkc_err_name(rc),
                pkc_errmsg());
        pkc_db_close(db);
        _exit(rc == want && has(pkc_errmsg(), needle) ? 0 : 1);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(store, open_in_a_read_only_directory_fails_with_permission)
{
    const char *tmp = pkc_test_tmpdir();
    char dir[600], dir2[600], path[700];
    CHECK(chmod(tmp, 0755) == 0);
    /* No database yet: it cannot be created. */
    snprintf(dir, sizeof dir, "%s/ro", tmp);
    CHECK(mkdir(dir, 0555) == 0);
    CHECK(chmod(dir, 0555) == 0);
    int r = child_open_as_nobody(dir, PKC_ERR_PERMISSION, "cannot create");
    if (r == 3) { /* root that may not change its uid: nothing to learn here */
        fprintf(stderr, "  skipped: cannot drop privileges to nobody\n");
        CHECK(chmod(dir, 0755) == 0);
        return;
    }
    CHECK_EQ(r, 0);
    /* A database there already: its -wal cannot be created. */
    snprintf(dir2, sizeof dir2, "%s/ro2", tmp);
    CHECK(mkdir(dir2, 0700) == 0);
    pkc_db *db = open_db(dir2);
    CHECK(db);
    pkc_db_close(db);
    snprintf(path, sizeof path, "%s/pkc.db", dir2);
    if (geteuid() == 0) {
        CHECK(chown(dir2, 65534, 65534) == 0);
        CHECK(chown(path, 65534, 65534) == 0);
    }
    CHECK(chmod(dir2, 0555) == 0);
    CHECK_EQ(child_open_as_nobody(dir2, PKC_ERR_PERMISSION, dir2), 0);
    CHECK(chmod(dir2, 0755) == 0);
    CHECK(chmod(dir, 0755) == 0);
}

TEST(store, schema_newer_or_foreign_is_refused)
{
    const char *dir = pkc_test_tmpdir();
    pkc_db *db = open_db(dir);
    CHECK(db);
    CHECK_OK(raw_sql(db, "UPDATE meta SET value = 999 WHERE key = 'schema_version'"));
    pkc_db_close(db);
    CHECK_ERR(pkc_db_open(dir, NULL, &db), PKC_ERR_UNSUPPORTED);
    CHECK_MSG("schema version 999 is newer");
    CHECK_ERR(pkc_db_open_reader(dir, NULL, &db), PKC_ERR_UNSUPPORTED);

    /* An SQLite database that is not pkc's is left alone. */
    const char *dir2 = pkc_test_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/pkc.db", dir2);
    sqlite3 *s;
    CHECK(sqlite3_open(path, &s) == SQLITE_OK);
    CHECK(sqlite3_exec(s, "CREATE TABLE t(x)", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(s);
    CHECK(chmod(path, 0600) == 0);
    CHECK_ERR(pkc_db_open(dir2, NULL, &db), PKC_ERR_UNSUPPORTED);
    CHECK_MSG("not pkc's");
    CHECK(access(path, F_OK) == 0);
}

/* ---- Rooms ---------------------------------------------------------------------- */

static int collect_rooms(void *ud, const pkc_db_room *r)
{
    char *out = ud;
    strcat(out, r->name);
    strcat(out, ";");
    return 0;
}

TEST(store, rooms_put_get_list_delete)
{
    pkc_db *db = open_db(pkc_test_tmpdir());
    CHECK(db);
    pkc_db_room r = {0}, got;
    memcpy(r.id, ROOM_A, 8);
    memset(r.secret, 0xaa, sizeof r.secret);
    r.kind = PKC_DB_ROOM_PASSPHRASE;
    snprintf(r.name, sizeof r.name, "garden");
    r.joined_ms = 2000;
    r.flags = 7;
    CHECK_OK(pkc_db_room_put(db, &r));
    CHECK_OK(pkc_db_room_get(db, ROOM_A, &got));
    CHECK(memcmp(&got.id, r.id, 8) == 0 && memcmp(got.secret, r.secret, 32) == 0);
    CHECK_EQ(got.kind, PKC_DB_ROOM_PASSPHRASE);
    CHECK_STR(got.name, "garden");
    CHECK_EQ(got.joined_ms, 2000);
    CHECK_EQ(got.flags, 7);

    pkc_db_room b = r;
    memcpy(b.id, ROOM_B, 8);
    b.kind = PKC_DB_ROOM_LOCAL;
    b.name[0] = '\0';
    b.joined_ms = 1000;
    CHECK_OK(pkc_db_room_put(db, &b));
    char names[256] = "";
    CHECK_OK(pkc_db_room_list(db, collect_rooms, names));
    CHECK_STR(names, ";garden;"); /* by join time: b first, with no name */

    /* Replacing. */
    snprintf(r.name, sizeof r.name, "orchard");
    r.kind = PKC_DB_ROOM_INVITATION;
    CHECK_OK(pkc_db_room_put(db, &r));
    CHECK_OK(pkc_db_room_get(db, ROOM_A, &got));
    CHECK_STR(got.name, "orchard");
    CHECK_EQ(got.kind, PKC_DB_ROOM_INVITATION);

    /* Errors. */
    r.kind = 0;
    CHECK_ERR(pkc_db_room_put(db, &r), PKC_ERR_INVALID_ARG);
    CHECK_MSG("unknown kind");
    r.kind = PKC_DB_ROOM_LOCAL;
    memset(r.name, 'x', sizeof r.name); /* not even terminated */
    CHECK_ERR(pkc_db_room_put(db, &r), PKC_ERR_TOO_LARGE);
    CHECK_ERR(pkc_db_room_put(db, NULL), PKC_ERR_INVALID_ARG);
    static const uint8_t none[8] = {0};
    CHECK_ERR(pkc_db_room_get(db, none, &got), PKC_ERR_NOT_FOUND);
    CHECK_MSG("0000000000000000");
    CHECK_ERR(pkc_db_room_delete(db, none), PKC_ERR_NOT_FOUND);

    /* Deleting a room deletes what is stored for it. */
    static const uint8_t upd[] = {0, 0};
    CHECK_OK(pkc_db_doc_append(db, ROOM_A, "notes", upd, sizeof upd, NULL));
    CHECK_OK(pkc_db_doc_append(db, ROOM_B, "notes", upd, sizeof upd, NULL));
    pkc_db_inbox_msg m;
    inbox_msg(&m, 1, ROOM_A, "hi");
    CHECK_OK(pkc_db_inbox_add(db, &m, NULL));
    CHECK_OK(pkc_db_room_delete(db, ROOM_A));
    CHECK_ERR(pkc_db_room_get(db, ROOM_A, &got), PKC_ERR_NOT_FOUND);
    uint64_t n;
    CHECK_OK(pkc_db_inbox_count(db, NULL, &n));
    CHECK_EQ(n, 0);
    CHECK_EQ(raw_int(db, "SELECT count(*) FROM docs"), 1);
    CHECK_EQ(raw_int(db, "SELECT count(*) FROM doc_updates"), 1);
    names[0] = '\0';
    CHECK_OK(pkc_db_room_list(db, collect_rooms, names));
    CHECK_STR(names, ";");
    pkc_db_close(db);
}

/* ---- Peer book --------------------------------------------------------------------- */

static void peer(pkc_db_peer *p, int i, int64_t seen)
{
    memset(p, 0, sizeof *p);
    memset(p->id, i, sizeof p->id);
    memset(p->public_key, 0x10 + i, sizeof p->public_key);
    memset(p->x25519, 0x20 + i, sizeof p->x25519);
    p->score = i * 1.5;
    p->last_seen_ms = seen;
}

typedef struct peer_seen {
    int ids[16];
    int n;
} peer_seen;

static int collect_peers(void *ud, const pkc_db_peer *p)
{
    peer_seen *s = ud;
    s->ids[s->n++] = p->id[0];
    return 0;
}

static int collect_peer_rooms(void *ud, const uint8_t *room, int64_t seen)
{
    peer_seen *s = ud;
    s->ids[s->n++] = room[0] * 1000 + (int)seen;
    return 0;
}

TEST(store, peer_book)
{
    pkc_db *db = open_db(pkc_test_tmpdir());
    CHECK(db);
    pkc_db_peer p, got;
    static const uint8_t dial[] = "udp 192.0.2.1 4000";
    for (int i = 1; i <= 5; i++) {
        peer(&p, i, 100 * i);
        if (i == 3) {
            p.dial = dial;
            p.dial_len = sizeof dial;
        }
        CHECK_OK(pkc_db_peer_put(db, &p));
    }
    uint8_t id3[20];
    memset(id3, 3, sizeof id3);
    CHECK_OK(pkc_db_peer_get(db, id3, &got));
    CHECK_EQ(got.id[0], 3);
    CHECK_EQ(got.public_key[31], 0x13);
    CHECK_EQ(got.x25519[0], 0x23);
    CHECK(got.score == 4.5);
    CHECK_EQ(got.last_seen_ms, 300);
    CHECK_EQ(got.dial_len, sizeof dial);
    CHECK(memcmp(got.dial, dial, sizeof dial) == 0);
    free((void *)got.dial);
    uint8_t id1[20];
    memset(id1, 1, sizeof id1);
    CHECK_OK(pkc_db_peer_get(db, id1, &got));
    CHECK(got.dial == NULL && got.dial_len == 0);

    peer_seen s = {{0}, 0};
    CHECK_OK(pkc_db_peer_list(db, NULL, 3, collect_peers, &s));
    CHECK_EQ(s.n, 3);
    CHECK(s.ids[0] == 5 && s.ids[1] == 4 && s.ids[2] == 3);

    /* Rooms. */
    CHECK_OK(pkc_db_peer_add_room(db, id1, ROOM_A, 50));
    CHECK_OK(pkc_db_peer_add_room(db, id1, ROOM_B, 70));
    CHECK_OK(pkc_db_peer_add_room(db, id1, ROOM_A, 40)); /* older: keeps 50 */
    CHECK_OK(pkc_db_peer_add_room(db, id3, ROOM_A, 60));
    memset(&s, 0, sizeof s);
    CHECK_OK(pkc_db_peer_list_rooms(db, id1, collect_peer_rooms, &s));
    CHECK_EQ(s.n, 2);
    CHECK_EQ(s.ids[0], 9 * 1000 + 70);
    CHECK_EQ(s.ids[1], 1 * 1000 + 50);
    memset(&s, 0, sizeof s);
    CHECK_OK(pkc_db_peer_list(db, ROOM_A, 0, collect_peers, &s));
    CHECK(s.n == 2 && s.ids[0] == 3 && s.ids[1] == 1);
    uint8_t unknown[20] = {0};
    CHECK_ERR(pkc_db_peer_add_room(db, unknown, ROOM_A, 1), PKC_ERR_NOT_FOUND);
    CHECK_MSG("not in the peer book");
    CHECK_ERR(pkc_db_peer_get(db, unknown, &got), PKC_ERR_NOT_FOUND);

    /* Upsert keeps memberships. */
    peer(&p, 1, 1000);
    CHECK_OK(pkc_db_peer_put(db, &p));
    memset(&s, 0, sizeof s);
    CHECK_OK(pkc_db_peer_list_rooms(db, id1, collect_peer_rooms, &s));
    CHECK_EQ(s.n, 2);

    /* Forgetting: 2 (200) and 3 (300) are older than 350; 1 was seen at 1000. */
    uint64_t n = 0;
    CHECK_OK(pkc_db_peer_forget_before(db, 350, &n));
    CHECK_EQ(n, 2);
    CHECK_ERR(pkc_db_peer_get(db, id3, &got), PKC_ERR_NOT_FOUND);
    CHECK_EQ(raw_int(db, "SELECT count(*) FROM peer_rooms"), 2);
    CHECK_OK(pkc_db_peer_delete(db, id1));
    CHECK_EQ(raw_int(db, "SELECT count(*) FROM peer_rooms"), 0);
    CHECK_ERR(pkc_db_peer_delete(db, id1), PKC_ERR_NOT_FOUND);
    memset(&s, 0, sizeof s);
    CHECK_OK(pkc_db_peer_list(db, NULL, 0, collect_peers, &s));
    CHECK(s.n == 2 && s.ids[0] == 5 && s.ids[1] == 4);

    p.dial = NULL;
    p.dial_len = 3;
    CHECK_ERR(pkc_db_peer_put(db, &p), PKC_ERR_INVALID_ARG);
    CHECK_ERR(pkc_db_peer_list(db, NULL, 0, NULL, NULL), PKC_ERR_INVALID_ARG);
    pkc_db_close(db);
}

/* ---- Documents ------------------------------------------------------------------------ */

/* Yjs updates from a real document: each sets m["k<i>"] = i. */
typedef struct yupdates {
    uint8_t *data[256];
    size_t len[256];
    size_t n;
} yupdates;

static void on_yupdate(void *ud, const uint8_t *u, size_t len, const void *origin)
{
    (void)origin;
    yupdates *y = ud;
    if (y->n < 256 && (y->data[y->n] = malloc(len)) != NULL) {
        memcpy(y->data[y->n], u, len);
        y->len[y->n++] = len;
    }
}

static void yupdates_free(yupdates *y)
{
    for (size_t i = 0; i < y->n; i++)
        free(y->data[i]);
    y->n = 0;
}

static int make_updates(yupdates *y, int n, uint64_t client)
{
    pkc_ydoc_config cfg;
    pkc_ydoc_config_default(&cfg);
    cfg.client_id = client;
    pkc_ydoc *doc;
    pkc_ytype *map;
    uint32_t sub;
    int rc = pkc_ydoc_new(&cfg, pkc_rng_system(), &doc);
    if (rc)
        return rc;
    if ((rc = pkc_ydoc_get(doc, "m", PKC_YMAP, &map)) == 0 &&
        (rc = pkc_ydoc_observe_update(doc, on_yupdate, y, &sub)) == 0) {
        for (int i = 0; i < n && rc == 0; i++) {
            char key[16];
            snprintf(key, sizeof key, "k%d", i);
            pkc_yvalue v = {.kind = PKC_YV_NUMBER, .u.number = i};
            rc = pkc_ymap_set(NULL, map, key, &v, NULL);
        }
    }
    pkc_ydoc_free(doc);
    return rc;
}

typedef struct loaded {
    pkc_ydoc *doc;
    int count;
    int64_t last_seq;
} loaded;

static int apply_loaded(void *ud, int64_t seq, const uint8_t *u, size_t len)
{
    loaded *l = ud;
    l->count++;
    if (seq <= l->last_seq)
        return pkc_error(PKC_ERR_INTERNAL, "out of order");
    l->last_seq = seq;
    return pkc_ydoc_apply_update(l->doc, u, len, NULL);
}

/* Loads the document and returns m's size (keys k0..), -1 on error; *count
 * gets how many updates were stored. */
static long doc_keys(pkc_db *db, const uint8_t room[8], const char *name, int *count)
{
    loaded l = {NULL, 0, 0};
    if (pkc_ydoc_new(NULL, pkc_rng_system(), &l.doc) != 0)
        return -1;
    int rc = pkc_db_doc_load(db, room, name, apply_loaded, &l);
    pkc_ytype *map;
    long size = -1;
    if (rc == 0 && pkc_ydoc_get(l.doc, "m", PKC_YMAP, &map) == 0) {
        size = (long)pkc_ymap_get_size(map);
        for (long i = 0; i < size; i++) {
            char key[32];
            snprintf(key, sizeof key, "k%ld", i);
            if (!pkc_ymap_has(map, key))
                size = -2;
        }
    }
    if (rc)
        fprintf(stderr, "  doc_keys: %s\n", pkc_errmsg());
    pkc_ydoc_free(l.doc);
    if (count)
        *count = l.count;
    return size;
}

typedef struct doc_seen {
    char names[256];
    uint64_t updates, bytes;
    int64_t last;
} doc_seen;

static int collect_docs(void *ud, const pkc_db_doc_info *d)
{
    doc_seen *s = ud;
    strcat(s->names, d->name);
    strcat(s->names, ";");
    s->updates += d->updates;
    s->bytes += d->bytes;
    s->last = d->last_seq;
    return 0;
}

TEST(store, documents_append_load_list_delete)
{
    pkc_db *db = open_db(pkc_test_tmpdir());
    CHECK(db);
    yupdates y = {.n = 0};
    CHECK_OK(make_updates(&y, 20, 7));
    CHECK_EQ(y.n, 20);
    int64_t seq = 0, prev = 0;
    size_t bytes = 0;
    for (size_t i = 0; i < y.n; i++) {
        CHECK_OK(pkc_db_doc_append(db, ROOM_A, "notes", y.data[i], y.len[i], &seq));
        CHECK(seq > prev);
        prev = seq;
        bytes += y.len[i];
    }
    CHECK_OK(pkc_db_doc_append(db, ROOM_A, "board", y.data[0], y.len[0], NULL));
    CHECK_OK(pkc_db_doc_append(db, ROOM_B, "other", y.data[0], y.len[0], NULL));
    int count;
    CHECK_EQ(doc_keys(db, ROOM_A, "notes", &count), 20);
    CHECK_EQ(count, 20);
    CHECK_EQ(doc_keys(db, ROOM_A, "missing", &count), 0);
    CHECK_EQ(count, 0);

    doc_seen s = {"", 0, 0, 0};
    CHECK_OK(pkc_db_doc_list(db, ROOM_A, collect_docs, &s));
    CHECK_STR(s.names, "board;notes;");
    CHECK_EQ(s.updates, 21);
    CHECK_EQ(s.bytes, bytes + y.len[0]);
    CHECK_EQ(s.last, seq);

    CHECK_OK(pkc_db_doc_delete(db, ROOM_A, "notes"));
    CHECK_ERR(pkc_db_doc_delete(db, ROOM_A, "notes"), PKC_ERR_NOT_FOUND);
    CHECK_MSG("document \"notes\"");
    memset(&s, 0, sizeof s);
    CHECK_OK(pkc_db_doc_list(db, ROOM_A, collect_docs, &s));
    CHECK_STR(s.names, "board;");
    /* A recreated document starts again; numbers are never reused. */
    int64_t seq2;
    CHECK_OK(pkc_db_doc_append(db, ROOM_A, "notes", y.data[0], y.len[0], &seq2));
    CHECK(seq2 > seq + 2);

    /* Errors. */
    CHECK_ERR(pkc_db_doc_append(db, ROOM_A, "", y.data[0], y.len[0], NULL), PKC_ERR_INVALID_ARG);
    CHECK_MSG("document name: empty");
    char longname[300];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK_ERR(pkc_db_doc_append(db, ROOM_A, longname, y.data[0], y.len[0], NULL),
              PKC_ERR_TOO_LARGE);
    CHECK_ERR(pkc_db_doc_append(db, ROOM_A, "x", NULL, 0, NULL), PKC_ERR_INVALID_ARG);
    CHECK_ERR(pkc_db_doc_append(db, NULL, "x", y.data[0], y.len[0], NULL), PKC_ERR_INVALID_ARG);
    CHECK_ERR(pkc_db_doc_load(db, ROOM_A, "x", NULL, NULL), PKC_ERR_INVALID_ARG);
    yupdates_free(&y);
    pkc_db_close(db);
}

/* ---- Inbox and outbox ---------------------------------------------------------------- */

typedef struct inbox_seen {
    int64_t seqs[64];
    int n;
    char text[512];
} inbox_seen;

static int collect_inbox(void *ud, const pkc_db_inbox_msg *m)
{
    inbox_seen *s = ud;
    s->seqs[s->n++] = m->seq;
    char line[128];
    snprintf(line, sizeof line, "%d:%s:%u:%.*s;", m->msg_id[1], m->topic, (unsigned)m->flags,
             (int)m->payload_len, m->payload ? (const char *)m->payload : "");
    strcat(s->text, line);
    return 0;
}

TEST(store, inbox)
{
    pkc_db *db = open_db(pkc_test_tmpdir());
    CHECK(db);
    pkc_db_inbox_msg m;
    int64_t seq[6];
    for (int i = 1; i <= 5; i++) {
        inbox_msg(&m, i, i == 4 ? ROOM_B : ROOM_A, i == 5 ? NULL : "hello");
        CHECK_OK(pkc_db_inbox_add(db, &m, &seq[i]));
    }
    /* A duplicate is reported and ignored; the transaction goes on. */
    CHECK_OK(pkc_db_begin(db));
    inbox_msg(&m, 2, ROOM_A, "again");
    CHECK_ERR(pkc_db_inbox_add(db, &m, NULL), PKC_ERR_EXISTS);
    CHECK_MSG("00020000000000000000000000000000");
    inbox_msg(&m, 6, ROOM_A, "six");
    CHECK_OK(pkc_db_inbox_add(db, &m, NULL));
    CHECK_OK(pkc_db_commit(db));

    uint64_t n;
    CHECK_OK(pkc_db_inbox_count(db, NULL, &n));
    CHECK_EQ(n, 6);
    CHECK_OK(pkc_db_inbox_count(db, ROOM_B, &n));
    CHECK_EQ(n, 1);

    inbox_seen s = {{0}, 0, ""};
    int64_t last;
    CHECK_OK(pkc_db_inbox_list(db, NULL, 0, 3, collect_inbox, &s, &last));
    CHECK_STR(s.text, "1:chat:1:hello;2:chat:0:hello;3::1:hello;");
    CHECK_EQ(last, seq[3]);
    memset(&s, 0, sizeof s);
    CHECK_OK(pkc_db_inbox_list(db, NULL, last, 0, collect_inbox, &s, &last));
    CHECK_STR(s.text, "4:chat:0:hello;5:chat:1:;6::0:six;");
    memset(&s, 0, sizeof s);
    int64_t again;
    CHECK_OK(pkc_db_inbox_list(db, NULL, last, 0, collect_inbox, &s, &again));
    CHECK_EQ(s.n, 0);
    CHECK_EQ(again, last);
    memset(&s, 0, sizeof s);
    CHECK_OK(pkc_db_inbox_list(db, ROOM_A, 0, 0, collect_inbox, &s, NULL));
    CHECK_EQ(s.n, 5);

    CHECK_OK(pkc_db_inbox_delete(db, seq[1]));
    CHECK_ERR(pkc_db_inbox_delete(db, seq[1]), PKC_ERR_NOT_FOUND);
    CHECK_OK(pkc_db_inbox_count(db, NULL, &n));
    CHECK_EQ(n, 5);

    char topic[300];
    memset(topic, 't', sizeof topic - 1);
    topic[sizeof topic - 1] = '\0';
    inbox_msg(&m, 7, ROOM_A, "x");
    m.topic = topic;
    CHECK_ERR(pkc_db_inbox_add(db, &m, NULL), PKC_ERR_TOO_LARGE);
    m.topic = NULL;
    CHECK_ERR(pkc_db_inbox_add(db, &m, NULL), PKC_ERR_INVALID_ARG);
    pkc_db_close(db);
}

static void outbox_msg(pkc_db_outbox_msg *m, int i, int to, const char *frame)
{
    memset(m, 0, sizeof *m);
    m->msg_id[0] = (uint8_t)i;
    memcpy(m->room, ROOM_A, 8);
    memset(m->recipient, to, sizeof m->recipient);
    m->frame = (const uint8_t *)frame;
    m->frame_len = strlen(frame);
    m->created_ms = 100 * i;
}

static int collect_outbox(void *ud, const pkc_db_outbox_msg *m)
{
    inbox_seen *s = ud;
    char line[128];
    snprintf(line, sizeof line, "%d>%d:%.*s:%u:%lld;", m->msg_id[0], m->recipient[0],
             (int)m->frame_len, (const char *)m->frame, (unsigned)m->attempts,
             (long long)m->last_attempt_ms);
    strcat(s->text, line);
    s->n++;
    return 0;
}

TEST(store, outbox)
{
    pkc_db *db = open_db(pkc_test_tmpdir());
    CHECK(db);
    pkc_db_outbox_msg m;
    for (int i = 1; i <= 4; i++) {
        outbox_msg(&m, i, i % 2 ? 0x11 : 0x22, i == 3 ? "three" : "frame");
        CHECK_OK(pkc_db_outbox_add(db, &m));
    }
    CHECK_ERR(pkc_db_outbox_add(db, &m), PKC_ERR_EXISTS);
    CHECK_MSG("stored already");
    uint8_t id1[16] = {1}, id2[16] = {2}, id9[16] = {9};
    CHECK_OK(pkc_db_outbox_mark_attempt(db, id1, 5000));
    CHECK_OK(pkc_db_outbox_mark_attempt(db, id1, 6000));
    CHECK_ERR(pkc_db_outbox_mark_attempt(db, id9, 6000), PKC_ERR_NOT_FOUND);

    inbox_seen s = {{0}, 0, ""};
    CHECK_OK(pkc_db_outbox_list_pending(db, NULL, 0, collect_outbox, &s));
    CHECK_STR(s.text, "1>17:frame:2:6000;2>34:frame:0:0;3>17:three:0:0;4>34:frame:0:0;");
    memset(&s, 0, sizeof s);
    uint8_t to[20];
    memset(to, 0x11, sizeof to);
    CHECK_OK(pkc_db_outbox_list_pending(db, to, 1, collect_outbox, &s));
    CHECK_STR(s.text, "1>17:frame:2:6000;");

    CHECK_OK(pkc_db_outbox_mark_delivered(db, id1, 7000));
    CHECK_OK(pkc_db_outbox_mark_delivered(db, id1, 9000)); /* the first receipt counts */
    CHECK_OK(pkc_db_outbox_mark_delivered(db, id2, 8000));
    CHECK_ERR(pkc_db_outbox_mark_delivered(db, id9, 8000), PKC_ERR_NOT_FOUND);
    memset(&s, 0, sizeof s);
    CHECK_OK(pkc_db_outbox_list_pending(db, NULL, 0, collect_outbox, &s));
    CHECK_STR(s.text, "3>17:three:0:0;4>34:frame:0:0;");
    uint64_t n = 99;
    CHECK_OK(pkc_db_outbox_forget_delivered(db, 7500, &n));
    CHECK_EQ(n, 1);
    CHECK_EQ(raw_int(db, "SELECT count(*) FROM outbox"), 3);
    CHECK_OK(pkc_db_outbox_delete(db, id2));
    CHECK_ERR(pkc_db_outbox_delete(db, id2), PKC_ERR_NOT_FOUND);
    outbox_msg(&m, 5, 1, "");
    CHECK_ERR(pkc_db_outbox_add(db, &m), PKC_ERR_INVALID_ARG);
    pkc_db_close(db);
}

TEST(store, kv)
{
    pkc_db *db = open_db(pkc_test_tmpdir());
    CHECK(db);
    uint8_t *v;
    size_t n;
    CHECK_ERR(pkc_db_kv_get(db, "replay", &v, &n), PKC_ERR_NOT_FOUND);
    CHECK_MSG("replay");
    CHECK_OK(pkc_db_kv_put(db, "replay", "abc", 3));
    CHECK_OK(pkc_db_kv_put(db, "replay", "abcd", 4));
    CHECK_OK(pkc_db_kv_get(db, "replay", &v, &n));
    CHECK(n == 4 && memcmp(v, "abcd", 4) == 0);
    free(v);
    CHECK_OK(pkc_db_kv_put(db, "empty", NULL, 0));
    CHECK_OK(pkc_db_kv_get(db, "empty", &v, &n));
    CHECK(n == 0 && v == NULL);
    CHECK_OK(pkc_db_kv_delete(db, "replay"));
    CHECK_ERR(pkc_db_kv_delete(db, "replay"), PKC_ERR_NOT_FOUND);
    CHECK_ERR(pkc_db_kv_put(db, "", "x", 1), PKC_ERR_INVALID_ARG);
    CHECK_ERR(pkc_db_kv_put(db, "x", NULL, 1), PKC_ERR_INVALID_ARG);
    pkc_db_close(db);
}

/* ---- Transactions ----------------------------------------------------------------------- */

static int write_from_callback(void *ud, const pkc_db_inbox_msg *m)
{
    pkc_db *db = ud;
    int rc = pkc_db_kv_put(db, "x", "y", 1);
    if (rc != PKC_ERR_STATE || !has(pkc_errmsg(), "inside"))
        return pkc_error(PKC_ERR_INTERNAL, "a write inside a callback gave %s", pkc_err_name(rc));
    uint64_t n;
    rc = pkc_db_inbox_count(db, NULL, &n);
    return rc == PKC_ERR_STATE ? 0 : pkc_error(PKC_ERR_INTERNAL, "a read inside a callback");
}

static int stop_at_first(void *ud, const pkc_db_inbox_msg *m)
{
    ++*(int *)ud;
    return pkc_error(PKC_ERR_AGAIN, "the callback stops");
}

TEST(store, transactions_group_commit_and_rollback)
{
    const char *dir = pkc_test_tmpdir();
    pkc_db *db = open_db(dir);
    CHECK(db);
    pkc_db_inbox_msg m;
    CHECK_OK(pkc_db_begin(db));
    CHECK_EQ(pkc_db_in_transaction(db), 1);
    CHECK_ERR(pkc_db_begin(db), PKC_ERR_STATE);
    CHECK_MSG("open already");
    for (int i = 1; i <= 100; i++) {
        inbox_msg(&m, i, ROOM_A, "batch");
        CHECK_OK(pkc_db_inbox_add(db, &m, NULL));
    }
    /* A reader sees nothing of it before the commit. */
    pkc_db *r;
    CHECK_OK(pkc_db_open_reader(dir, NULL, &r));
    uint64_t n;
    CHECK_OK(pkc_db_inbox_count(r, NULL, &n));
    CHECK_EQ(n, 0);
    CHECK_OK(pkc_db_commit(db));
    CHECK_EQ(pkc_db_in_transaction(db), 0);
    CHECK_OK(pkc_db_inbox_count(r, NULL, &n));
    CHECK_EQ(n, 100);
    CHECK_ERR(pkc_db_kv_put(r, "x", "y", 1), PKC_ERR_PERMISSION);
    CHECK_MSG("reader");
    CHECK_ERR(pkc_db_begin(r), PKC_ERR_PERMISSION);
    pkc_db_close(r);

    CHECK_ERR(pkc_db_commit(db), PKC_ERR_STATE);
    CHECK_MSG("no transaction");
    CHECK_OK(pkc_db_rollback(db)); /* none open: nothing to do */

    CHECK_OK(pkc_db_begin(db));
    inbox_msg(&m, 200, ROOM_A, "gone");
    CHECK_OK(pkc_db_inbox_add(db, &m, NULL));
    CHECK_OK(pkc_db_doc_append(db, ROOM_A, "d", (const uint8_t *)"\0\0", 2, NULL));
    CHECK_OK(pkc_db_rollback(db));
    CHECK_OK(pkc_db_inbox_count(db, NULL, &n));
    CHECK_EQ(n, 100);
    CHECK_EQ(raw_int(db, "SELECT count(*) FROM docs"), 0);

    /* Callbacks may not call back into the db; a callback's error stops. */
    CHECK_OK(pkc_db_inbox_list(db, NULL, 0, 1, write_from_callback, db, NULL));
    int calls = 0;
    CHECK_ERR(pkc_db_inbox_list(db, NULL, 0, 0, stop_at_first, &calls, NULL), PKC_ERR_AGAIN);
    CHECK_EQ(calls, 1);
    CHECK_MSG("the callback stops");
    CHECK_OK(pkc_db_kv_put(db, "after", "ok", 2));

    /* Closing with a transaction open rolls it back. */
    CHECK_OK(pkc_db_begin(db));
    CHECK_OK(pkc_db_kv_put(db, "lost", "x", 1));
    pkc_db_close(db);
    CHECK(db = open_db(dir));
    uint8_t *v;
    size_t len;
    CHECK_ERR(pkc_db_kv_get(db, "lost", &v, &len), PKC_ERR_NOT_FOUND);
    pkc_db_close(db);
}

/* Kills the process at the `countdown`th progress call. */
static int kill_after(void *ud)
{
    int *countdown = ud;
    if (--*countdown <= 0)
        raise(SIGKILL);
    return 0;
}

/* Interrupts the statement that runs after `countdown` progress calls. */
static int interrupt_after(void *ud)
{
    int *countdown = ud;
    return --*countdown == 0;
}

TEST(store, a_failed_write_ends_the_transaction_and_stores_none_of_it)
{
    pkc_db *db = open_db(pkc_test_tmpdir());
    CHECK(db);
    pkc_db_inbox_msg m;
    inbox_msg(&m, 1, ROOM_A, "kept");
    CHECK_OK(pkc_db_inbox_add(db, &m, NULL));
    CHECK_OK(pkc_db_begin(db));
    for (int i = 2; i <= 10; i++) {
        inbox_msg(&m, i, ROOM_A, "lost");
        CHECK_OK(pkc_db_inbox_add(db, &m, NULL));
    }
    /* An interrupted statement is one of the errors after which SQLite may
     * roll back on its own, as after a full disk. */
    int countdown = 1;
    sqlite3_progress_handler(pkc_db_get_handle(db), 1, interrupt_after, &countdown);
    inbox_msg(&m, 11, ROOM_A, "lost");
    CHECK_ERR(pkc_db_inbox_add(db, &m, NULL), PKC_ERR_INTERNAL);
    CHECK_MSG("interrupted");
    sqlite3_progress_handler(pkc_db_get_handle(db), 0, NULL, NULL);
    CHECK_EQ(pkc_db_in_transaction(db), 1);
    inbox_msg(&m, 12, ROOM_A, "lost");
    CHECK_ERR(pkc_db_inbox_add(db, &m, NULL), PKC_ERR_STATE);
    CHECK_MSG("rolled back after an earlier error (");
    CHECK_ERR(pkc_db_begin(db), PKC_ERR_STATE);
    CHECK_ERR(pkc_db_commit(db), PKC_ERR_INTERNAL);
    CHECK_MSG("interrupted");
    CHECK_EQ(pkc_db_in_transaction(db), 0);
    uint64_t n;
    CHECK_OK(pkc_db_inbox_count(db, NULL, &n));
    CHECK_EQ(n, 1);
    /* And the next transaction works. */
    CHECK_OK(pkc_db_begin(db));
    CHECK_OK(pkc_db_inbox_add(db, &m, NULL));
    CHECK_OK(pkc_db_commit(db));
    CHECK_OK(pkc_db_inbox_count(db, NULL, &n));
    CHECK_EQ(n, 2);
    pkc_db_close(db);
}

/* ---- Damage --------------------------------------------------------------------------- */

TEST(store, rows_that_fail_their_hash_are_reported)
{
    pkc_db *db = open_db(pkc_test_tmpdir());
    CHECK(db);
    yupdates y = {.n = 0};
    CHECK_OK(make_updates(&y, 5, 9));
    int64_t seqs[5];
    for (size_t i = 0; i < y.n; i++)
        CHECK_OK(pkc_db_doc_append(db, ROOM_A, "notes", y.data[i], y.len[i], &seqs[i]));
    char sql[200];
    /* One byte of update 3 changes, as a bad sector or a stray write would. */
    snprintf(sql, sizeof sql,
             "UPDATE doc_updates SET data = substr(data, 1, 2) || x'ff' || substr(data, 4)"
             " WHERE seq = %lld",
             (long long)seqs[2]);
    CHECK_OK(raw_sql(db, sql));
    int count;
    loaded l = {NULL, 0, 0};
    CHECK_OK(pkc_ydoc_new(NULL, pkc_rng_system(), &l.doc));
    int rc = pkc_db_doc_load(db, ROOM_A, "notes", apply_loaded, &l);
    pkc_ydoc_free(l.doc);
    CHECK_ERR(rc, PKC_ERR_CHECKSUM);
    snprintf(sql, sizeof sql, "update %lld fails its hash", (long long)seqs[2]);
    CHECK_MSG(sql);
    CHECK_MSG("fetch it again from peers");
    CHECK_EQ(l.count, 4); /* the intact ones were passed on */
    pkc_db_merge mg;
    CHECK_ERR(pkc_db_doc_merge(db, ROOM_A, "notes", &mg), PKC_ERR_CHECKSUM);
    CHECK_EQ(pkc_db_is_damaged(db), 0); /* one row, not the file */
    /* The node's answer: delete and fetch again. */
    CHECK_OK(pkc_db_doc_delete(db, ROOM_A, "notes"));
    CHECK_EQ(doc_keys(db, ROOM_A, "notes", &count), 0);

    /* An update moved to another document fails too (the hash covers the name). */
    CHECK_OK(pkc_db_doc_append(db, ROOM_A, "one", y.data[0], y.len[0], NULL));
    CHECK_OK(pkc_db_doc_append(db, ROOM_A, "two", y.data[1], y.len[1], NULL));
    CHECK_OK(raw_sql(db, "UPDATE doc_updates SET doc = (SELECT id FROM docs WHERE name = 'one')"
                         " WHERE doc = (SELECT id FROM docs WHERE name = 'two')"));
    CHECK_EQ(doc_keys(db, ROOM_A, "one", &count), -1);

    /* Inbox: the damaged message is skipped, the others listed, the follow
     * position moves past it. */
    pkc_db_inbox_msg m;
    int64_t s[4];
    for (int i = 1; i <= 3; i++) {
        inbox_msg(&m, i, ROOM_A, "payload");
        CHECK_OK(pkc_db_inbox_add(db, &m, &s[i]));
    }
    snprintf(sql, sizeof sql, "UPDATE inbox SET payload = x'00' WHERE seq = %lld", (long long)s[3]);
    CHECK_OK(raw_sql(db, sql));
    inbox_seen seen = {{0}, 0, ""};
    int64_t last;
    CHECK_ERR(pkc_db_inbox_list(db, NULL, 0, 0, collect_inbox, &seen, &last), PKC_ERR_CHECKSUM);
    snprintf(sql, sizeof sql, "inbox message %lld fails its hash", (long long)s[3]);
    CHECK_MSG(sql);
    CHECK_EQ(seen.n, 2);
    CHECK_EQ(last, s[3]);
    CHECK_OK(pkc_db_inbox_delete(db, s[3]));
    CHECK_OK(pkc_db_inbox_list(db, NULL, 0, 0, collect_inbox, &seen, NULL));

    /* Outbox, rooms and kv. */
    pkc_db_outbox_msg o;
    outbox_msg(&o, 1, 1, "frame");
    CHECK_OK(pkc_db_outbox_add(db, &o));
    CHECK_OK(raw_sql(db, "UPDATE outbox SET created = 1"));
    CHECK_ERR(pkc_db_outbox_list_pending(db, NULL, 0, collect_outbox, &seen), PKC_ERR_CHECKSUM);
    CHECK_MSG("outbox message 01000000000000000000000000000000 fails its hash");
    pkc_db_room room, got;
    memset(&room, 0, sizeof room);
    memcpy(room.id, ROOM_B, 8);
    room.kind = PKC_DB_ROOM_INVITATION;
    CHECK_OK(pkc_db_room_put(db, &room));
    CHECK_OK(raw_sql(db, "UPDATE rooms SET secret = zeroblob(31) || x'01'"));
    memset(&got, 0x77, sizeof got);
    CHECK_ERR(pkc_db_room_get(db, ROOM_B, &got), PKC_ERR_CHECKSUM);
    CHECK_MSG("room 0909090909090909 fails its hash");
    CHECK_EQ(got.id[0], 0x77); /* untouched */
    char names[64] = "";
    CHECK_ERR(pkc_db_room_list(db, collect_rooms, names), PKC_ERR_CHECKSUM);
    CHECK_MSG("1 room skipped");
    CHECK_OK(pkc_db_kv_put(db, "replay", "abc", 3));
    CHECK_OK(raw_sql(db, "UPDATE kv SET value = x'616263ff'"));
    uint8_t *v;
    size_t n;
    CHECK_ERR(pkc_db_kv_get(db, "replay", &v, &n), PKC_ERR_CHECKSUM);
    yupdates_free(&y);
    pkc_db_close(db);
}

static int collect_inbox_count(void *ud, const pkc_db_inbox_msg *m)
{
    ((inbox_seen *)ud)->n++;
    return 0;
}

static int count_entries_with(const char *dir, const char *prefix, char *found, size_t size)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
            n++;
            if (found && strchr(e->d_name + strlen(prefix), '-') == NULL)
                snprintf(found, size, "%s/%s", dir, e->d_name);
        }
    if (d)
        closedir(d);
    return n;
}

TEST(store, a_damaged_file_is_detected_and_moved_aside)
{
    const char *dir = pkc_test_tmpdir();
    pkc_db *db = open_db(dir);
    CHECK(db);
    CHECK_OK(pkc_db_begin(db));
    char payload[120];
    memset(payload, 'p', sizeof payload - 1);
    payload[sizeof payload - 1] = '\0';
    for (int i = 0; i < 3000; i++) {
        pkc_db_inbox_msg m;
        inbox_msg(&m, i, ROOM_A, payload);
        m.msg_id[5] = (uint8_t)(i >> 16);
        CHECK_OK(pkc_db_inbox_add(db, &m, NULL));
    }
    CHECK_OK(pkc_db_commit(db));
    pkc_db_close(db); /* checkpoints: everything is in pkc.db now */

    char path[600];
    snprintf(path, sizeof path, "%s/pkc.db", dir);
    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECK(st.st_size > 100000);
    /* Garbage over the middle fifth of the file. */
    int fd = open(path, O_WRONLY);
    CHECK(fd >= 0);
    pkc_seeded_rng rng;
    pkc_seeded_rng_init(&rng, 11);
    size_t len = (size_t)st.st_size / 5;
    uint8_t *junk = malloc(len);
    CHECK(junk);
    pkc_rng_fill(&rng.rng, junk, len);
    ssize_t w = pwrite(fd, junk, len, (off_t)(2 * len));
    free(junk);
    close(fd);
    CHECK_EQ(w, (ssize_t)len);

    /* Without quick_check the open succeeds, and the damage shows when a
     * read reaches it: the node then sets the file aside itself. */
    pkc_db_config cfg;
    pkc_db_config_default(&cfg);
    cfg.quick_check = 0;
    CHECK_OK(pkc_db_open(dir, &cfg, &db));
    CHECK_EQ(pkc_db_is_damaged(db), 0);
    inbox_seen seen = {{0}, 0, ""};
    int rc = pkc_db_inbox_list(db, NULL, 0, 0, collect_inbox_count, &seen, NULL);
    CHECK_ERR(rc, PKC_ERR_CHECKSUM);
    CHECK_MSG("the database is damaged");
    CHECK_EQ(pkc_db_is_damaged(db), 1);
    pkc_db_close(db);
    char aside[700];
    CHECK_OK(pkc_db_set_aside(dir, aside, sizeof aside));
    CHECK(access(path, F_OK) != 0);
    CHECK(rename(aside, path) == 0); /* back, for the open's own check */

    CHECK_ERR(pkc_db_open(dir, NULL, &db), PKC_ERR_CHECKSUM);
    fprintf(stderr, "  %s\n", pkc_errmsg());
    CHECK_MSG("the database is damaged");
    CHECK_MSG("moved it aside to ");
    char moved[700] = "";
    CHECK_EQ(count_entries_with(dir, "pkc.db.corrupt-", moved, sizeof moved), 1);
    CHECK(moved[0]);
    CHECK_MSG(moved);
    CHECK(access(path, F_OK) != 0);
    /* The next open starts afresh. */
    CHECK(db = open_db(dir));
    uint64_t n = 1;
    CHECK_OK(pkc_db_inbox_count(db, NULL, &n));
    CHECK_EQ(n, 0);
    pkc_db_close(db);

    /* A file that is not a database at all goes the same way. */
    const char *dir2 = pkc_test_tmpdir();
    char wal[700];
    snprintf(path, sizeof path, "%s/pkc.db", dir2);
    snprintf(wal, sizeof wal, "%s/pkc.db-wal", dir2);
    FILE *f = fopen(path, "w");
    CHECK(f);
    for (int i = 0; i < 1000; i++)
        fputs("this is not a database. ", f);
    fclose(f);
    CHECK(chmod(path, 0600) == 0);
    CHECK((f = fopen(wal, "w")) != NULL);
    fputs("stale", f);
    fclose(f);
    CHECK_ERR(pkc_db_open(dir2, NULL, &db), PKC_ERR_CHECKSUM);
    CHECK_MSG("not a database");
    /* Its -wal went with it (or SQLite, closing, deleted it): it is not
     * left to be replayed into the next database. */
    CHECK(count_entries_with(dir2, "pkc.db.corrupt-", NULL, 0) >= 1);
    CHECK(access(wal, F_OK) != 0);
    CHECK(db = open_db(dir2));
    pkc_db_close(db);

    /* Moving aside by hand, twice in the same second: two names. */
    char m1[700], m2[700];
    CHECK_OK(pkc_db_set_aside(dir2, m1, sizeof m1));
    CHECK(db = open_db(dir2));
    pkc_db_close(db);
    CHECK_OK(pkc_db_set_aside(dir2, m2, sizeof m2));
    CHECK(strcmp(m1, m2) != 0);
    CHECK_ERR(pkc_db_set_aside(dir2, m2, sizeof m2), PKC_ERR_NOT_FOUND);
}

/* ---- Compaction ------------------------------------------------------------------------ */

TEST(store, compaction_merges_and_keeps_what_came_after)
{
    const char *dir = pkc_test_tmpdir();
    pkc_db *db = open_db(dir);
    CHECK(db);
    yupdates y = {.n = 0};
    CHECK_OK(make_updates(&y, 40, 5));
    for (size_t i = 0; i < 30; i++)
        CHECK_OK(pkc_db_doc_append(db, ROOM_A, "notes", y.data[i], y.len[i], NULL));
    pkc_db *r;
    CHECK_OK(pkc_db_open_reader(dir, NULL, &r));
    pkc_db_merge m;
    CHECK_OK(pkc_db_doc_merge(r, ROOM_A, "notes", &m));
    CHECK_EQ(m.count, 30);
    /* Appends while the merge is on its way. */
    for (size_t i = 30; i < 40; i++)
        CHECK_OK(pkc_db_doc_append(db, ROOM_A, "notes", y.data[i], y.len[i], NULL));
    CHECK_OK(pkc_db_doc_compact(db, ROOM_A, "notes", &m));
    int count;
    CHECK_EQ(doc_keys(db, ROOM_A, "notes", &count), 40);
    CHECK_EQ(count, 11);
    /* The same merge again no longer matches: nothing changes. */
    CHECK_ERR(pkc_db_doc_compact(db, ROOM_A, "notes", &m), PKC_ERR_MISMATCH);
    CHECK_MSG("merge again");
    CHECK_EQ(doc_keys(db, ROOM_A, "notes", &count), 40);
    CHECK_EQ(count, 11);
    pkc_db_merge_clear(&m);
    pkc_db_merge_clear(NULL);
    /* Again, on the loop's own connection, inside a group transaction. */
    CHECK_OK(pkc_db_doc_merge(db, ROOM_A, "notes", &m));
    CHECK_OK(pkc_db_begin(db));
    CHECK_OK(pkc_db_doc_compact(db, ROOM_A, "notes", &m));
    CHECK_OK(pkc_db_commit(db));
    pkc_db_merge_clear(&m);
    CHECK_EQ(doc_keys(db, ROOM_A, "notes", &count), 40);
    CHECK_EQ(count, 1);
    CHECK_ERR(pkc_db_doc_merge(r, ROOM_A, "notes", &m), PKC_ERR_NOT_FOUND);
    CHECK_MSG("nothing to compact");
    /* A merge of a deleted document does not bring it back. */
    CHECK_OK(pkc_db_doc_append(db, ROOM_A, "notes", y.data[0], y.len[0], NULL));
    CHECK_OK(pkc_db_doc_merge(r, ROOM_A, "notes", &m));
    CHECK_OK(pkc_db_doc_delete(db, ROOM_A, "notes"));
    CHECK_ERR(pkc_db_doc_compact(db, ROOM_A, "notes", &m), PKC_ERR_MISMATCH);
    CHECK_EQ(raw_int(db, "SELECT count(*) FROM doc_updates"), 0);
    pkc_db_merge_clear(&m);
    /* Not Yjs: the merge says so. */
    CHECK_OK(pkc_db_doc_append(db, ROOM_A, "bad", (const uint8_t *)"\xff\xff", 2, NULL));
    CHECK_OK(pkc_db_doc_append(db, ROOM_A, "bad", (const uint8_t *)"\xff\xff", 2, NULL));
    int rc = pkc_db_doc_merge(r, ROOM_A, "bad", &m);
    CHECK(rc < 0 && rc != PKC_ERR_NOT_FOUND);
    CHECK_MSG("merging its updates");
    pkc_db_close(r);
    yupdates_free(&y);
    pkc_db_close(db);
}

typedef struct merge_job {
    const char *dir;
    pkc_db_merge m;
    int rc;
    char msg[512];
} merge_job;

static void *merge_thread(void *arg)
{
    merge_job *job = arg;
    pkc_db *r;
    job->rc = pkc_db_open_reader(job->dir, NULL, &r);
    if (job->rc == 0) {
        job->rc = pkc_db_doc_merge(r, ROOM_A, "notes", &job->m);
        pkc_db_close(r);
    }
    snprintf(job->msg, sizeof job->msg, "%s", pkc_errmsg());
    return NULL;
}

TEST(store, compaction_merge_runs_on_a_worker_thread)
{
    const char *dir = pkc_test_tmpdir();
    pkc_db *db = open_db(dir);
    CHECK(db);
    yupdates y = {.n = 0};
    CHECK_OK(make_updates(&y, 200, 6));
    for (size_t i = 0; i < 100; i++)
        CHECK_OK(pkc_db_doc_append(db, ROOM_A, "notes", y.data[i], y.len[i], NULL));
    merge_job job = {.dir = dir};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, merge_thread, &job) == 0);
    /* The loop keeps writing, in group transactions, meanwhile. */
    for (size_t i = 100; i < 200; i += 10) {
        CHECK_OK(pkc_db_begin(db));
        for (size_t k = i; k < i + 10; k++)
            CHECK_OK(pkc_db_doc_append(db, ROOM_A, "notes", y.data[k], y.len[k], NULL));
        CHECK_OK(pkc_db_commit(db));
    }
    pthread_join(t, NULL);
    if (job.rc)
        fprintf(stderr, "  worker: %s\n", job.msg);
    CHECK_OK(job.rc);
    CHECK(job.m.count >= 100);
    CHECK_OK(pkc_db_doc_compact(db, ROOM_A, "notes", &job.m));
    int count;
    CHECK_EQ(doc_keys(db, ROOM_A, "notes", &count), 200);
    CHECK_EQ(count, 1 + 200 - (int)job.m.count);
    pkc_db_merge_clear(&job.m);
    yupdates_free(&y);
    pkc_db_close(db);
}

TEST(store, an_interrupted_compaction_leaves_the_old_updates)
{
    const char *dir = pkc_test_tmpdir();
    pkc_db *db = open_db(dir);
    CHECK(db);
    yupdates y = {.n = 0};
    CHECK_OK(make_updates(&y, 30, 8));
    for (size_t i = 0; i < y.n; i++)
        CHECK_OK(pkc_db_doc_append(db, ROOM_A, "notes", y.data[i], y.len[i], NULL));
    pkc_db_merge m;
    CHECK_OK(pkc_db_doc_merge(db, ROOM_A, "notes", &m));
    int count, steps;
    /* Stop the swap at every point in turn until it gets through. */
    for (steps = 1;; steps++) {
        int countdown = steps;
        sqlite3_progress_handler(pkc_db_get_handle(db), 1, interrupt_after, &countdown);
        int rc = pkc_db_doc_compact(db, ROOM_A, "notes", &m);
        sqlite3_progress_handler(pkc_db_get_handle(db), 0, NULL, NULL);
        if (rc == 0)
            break;
        CHECK_ERR(rc, PKC_ERR_INTERNAL);
        int committing = has(pkc_errmsg(), "committing");
        CHECK_EQ(doc_keys(db, ROOM_A, "notes", &count), 30);
        /* Interrupted in the commit itself, it may have committed: an error
         * then is the safe side (the node acknowledges nothing). */
        CHECK(count == 30 || (committing && count == 1));
        if (count == 1)
            break;
        CHECK(steps < 100000);
    }
    CHECK(steps > 10);
    CHECK_EQ(doc_keys(db, ROOM_A, "notes", &count), 30);
    CHECK_EQ(count, 1);
    pkc_db_merge_clear(&m);
    pkc_db_close(db);

    /* Killed (SIGKILL) at different points of the swap, in a child: the
     * document is whole, in its old or its new form, and the file opens
     * cleanly. */
    const int kill_at[] = {1, 5, 20, 50, 80, 120, 200, steps - 1};
    for (size_t k = 0; k < sizeof kill_at / sizeof kill_at[0]; k++) {
        char sub[600];
        snprintf(sub, sizeof sub, "%s/k%zu", dir, k);
        CHECK(mkdir(sub, 0700) == 0);
        CHECK(db = open_db(sub));
        for (size_t i = 0; i < y.n; i++)
            CHECK_OK(pkc_db_doc_append(db, ROOM_A, "notes", y.data[i], y.len[i], NULL));
        pkc_db_close(db);
        pid_t pid = fork();
        if (pid == 0) {
            pkc_db *c;
            if (pkc_db_open(sub, NULL, &c) || pkc_db_doc_merge(c, ROOM_A, "notes", &m))
                _exit(2);
            int countdown = kill_at[k];
            sqlite3_progress_handler(pkc_db_get_handle(c), 1, kill_after, &countdown);
            int rc = pkc_db_doc_compact(c, ROOM_A, "notes", &m);
            raise(SIGKILL); /* if it got through first */
            _exit(rc ? 3 : 4);
        }
        int status;
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        CHECK(db = open_db(sub));
        CHECK_EQ(doc_keys(db, ROOM_A, "notes", &count), 30);
        CHECK(count == 30 || count == 1);
        pkc_db_close(db);
    }
    yupdates_free(&y);
}
