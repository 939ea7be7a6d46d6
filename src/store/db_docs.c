/* db_docs.c: documents as lists of Yjs updates, and their compaction. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/backend.h"
#include "util/err.h"
#include "store/db_impl.h"

/* An update's hash covers its document (room and name), not its number:
 * a merged update takes the number of the last one it replaces. */
static void update_hash(uint8_t out[DB_HASH_BYTES], const uint8_t room[PKC_DB_ROOM_ID_BYTES],
                        const char *name, const void *data, size_t len)
{
    db_field f[] = {{room, PKC_DB_ROOM_ID_BYTES}, {name, strlen(name)}, {data, len}};
    db_hash(out, "pkc-db doc update", f, 3);
}

static int check_doc_args(const uint8_t *room, const char *name)
{
    if (room == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "document: NULL room");
    return db_check_name("document name", name, 0);
}

/* "room 0123456789abcdef, document \"notes\"" for messages. */
static const char *doc_label(char *buf, size_t size, const uint8_t room[PKC_DB_ROOM_ID_BYTES],
                             const char *name)
{
    char hex[17];
    db_room_hex(hex, room);
    snprintf(buf, size, "room %s, document \"%s\"", hex, name);
    return buf;
}

/* The document's id; with `create`, made if missing. PKC_ERR_NOT_FOUND. */
static int doc_id(pkc_db *db, const uint8_t room[PKC_DB_ROOM_ID_BYTES], const char *name,
                  int create, int64_t *id)
{
    sqlite3_stmt *st;
    int rc = db_stmt(db, S_DOC_ID, "SELECT id FROM docs WHERE room = ? AND name = ?", &st);
    if (rc)
        return rc;
    db_bind_blob(st, 1, room, PKC_DB_ROOM_ID_BYTES);
    db_bind_text(st, 2, name);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    else if (src != SQLITE_DONE)
        rc = db_error(db, src, "looking up a document");
    sqlite3_reset(st);
    if (rc || src == SQLITE_ROW)
        return rc;
    if (!create) {
        char label[PKC_DB_NAME_MAX + 64];
        return pkc_error(PKC_ERR_NOT_FOUND, "%s: not stored",
                         doc_label(label, sizeof label, room, name));
    }
    rc = db_stmt(db, S_DOC_CREATE, "INSERT INTO docs(room, name) VALUES(?, ?)", &st);
    if (rc)
        return rc;
    db_bind_blob(st, 1, room, PKC_DB_ROOM_ID_BYTES);
    db_bind_text(st, 2, name);
    src = sqlite3_step(st);
    if (src == SQLITE_DONE)
        *id = sqlite3_last_insert_rowid(db->sql);
    else
        rc = db_error(db, src, "creating a document");
    sqlite3_reset(st);
    return rc;
}

static int insert_update(pkc_db *db, int64_t doc, int64_t seq,
                         const uint8_t room[PKC_DB_ROOM_ID_BYTES], const char *name,
                         const uint8_t *data, size_t len, int64_t *seq_out)
{
    uint8_t h[DB_HASH_BYTES];
    update_hash(h, room, name, data, len);
    sqlite3_stmt *st;
    int rc = seq ? db_stmt(db, S_DOC_PUT_MERGED,
                           "INSERT INTO doc_updates(doc, hash, data, seq) VALUES(?, ?, ?, ?)", &st)
                 : db_stmt(db, S_DOC_APPEND,
                           "INSERT INTO doc_updates(doc, hash, data) VALUES(?, ?, ?)", &st);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, doc);
    db_bind_blob(st, 2, h, sizeof h);
    db_bind_blob(st, 3, data, len);
    if (seq)
        sqlite3_bind_int64(st, 4, seq);
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_error(db, src, "storing a document update");
    else if (seq_out)
        *seq_out = sqlite3_last_insert_rowid(db->sql);
    sqlite3_reset(st);
    return rc;
}

int pkc_db_doc_append(pkc_db *db, const uint8_t room[PKC_DB_ROOM_ID_BYTES], const char *name,
                      const uint8_t *update, size_t len, int64_t *seq)
{
    int rc = db_enter_write(db);
    if (rc == 0)
        rc = check_doc_args(room, name);
    if (rc)
        return rc;
    if (update == NULL || len == 0)
        return pkc_error(PKC_ERR_INVALID_ARG, "document \"%s\": empty update", name);
    if (len > DB_BLOB_MAX)
        return pkc_error(PKC_ERR_TOO_LARGE, "document \"%s\": an update of %zu bytes", name, len);
    int64_t id;
    rc = doc_id(db, room, name, 0, &id);
    if (rc == 0) /* the usual case: one statement, no savepoint */
        return insert_update(db, id, 0, room, name, update, len, seq);
    if (rc != PKC_ERR_NOT_FOUND)
        return rc;
    rc = db_write_begin(db);
    if (rc == 0)
        rc = doc_id(db, room, name, 1, &id);
    if (rc == 0)
        rc = insert_update(db, id, 0, room, name, update, len, seq);
    return db_write_end(db, rc);
}

/* Every update of a document, in order, in one snapshot. */
#define DOC_UPDATES_SQL                                                                            \
    "SELECT u.seq, u.hash, u.data FROM docs d JOIN doc_updates u ON u.doc = d.id"                  \
    " WHERE d.room = ? AND d.name = ? ORDER BY u.seq"

int pkc_db_doc_load(pkc_db *db, const uint8_t room[PKC_DB_ROOM_ID_BYTES], const char *name,
                    pkc_db_update_fn fn, void *user_data)
{
    int rc = db_enter_read(db);
    if (rc == 0)
        rc = check_doc_args(room, name);
    if (rc)
        return rc;
    if (fn == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "document load: NULL callback");
    sqlite3_stmt *st;
    rc = db_stmt(db, S_DOC_LOAD, DOC_UPDATES_SQL, &st);
    if (rc)
        return rc;
    db_bind_blob(st, 1, room, PKC_DB_ROOM_ID_BYTES);
    db_bind_text(st, 2, name);
    int src = SQLITE_DONE;
    uint64_t damaged = 0;
    int64_t first_bad = 0;
    while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0);
        const uint8_t *data = sqlite3_column_blob(st, 2);
        size_t len = (size_t)sqlite3_column_bytes(st, 2);
        uint8_t h[DB_HASH_BYTES];
        update_hash(h, room, name, data, len);
        if (len == 0 || db_hash_check(st, 1, h) != 0) {
            if (damaged++ == 0)
                first_bad = seq;
            continue;
        }
        db->in_callback = 1;
        rc = fn(user_data, seq, data, len);
        db->in_callback = 0;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = db_error(db, src, "loading a document");
    sqlite3_reset(st);
    if (rc == 0 && damaged) {
        char label[PKC_DB_NAME_MAX + 64];
        rc = pkc_error(PKC_ERR_CHECKSUM,
                       "%s: %s: update %lld fails its hash (damaged; %llu update%s skipped): "
                       "delete the document and fetch it again from peers",
                       db->path, doc_label(label, sizeof label, room, name),
                       (long long)first_bad, (unsigned long long)damaged,
                       damaged > 1 ? "s" : "");
    }
    return rc;
}

int pkc_db_doc_list(pkc_db *db, const uint8_t room[PKC_DB_ROOM_ID_BYTES], pkc_db_doc_fn fn,
                    void *user_data)
{
    int rc = db_enter_read(db);
    if (rc)
        return rc;
    if (room == NULL || fn == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "document list: NULL argument");
    sqlite3_stmt *st;
    rc = db_stmt(db, S_DOC_LIST,
                 "SELECT d.name, count(u.seq), total(length(u.data)), coalesce(max(u.seq), 0)"
                 " FROM docs d LEFT JOIN doc_updates u ON u.doc = d.id WHERE d.room = ?"
                 " GROUP BY d.id ORDER BY d.name",
                 &st);
    if (rc)
        return rc;
    db_bind_blob(st, 1, room, PKC_DB_ROOM_ID_BYTES);
    int src = SQLITE_DONE;
    while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
        pkc_db_doc_info info;
        info.name = (const char *)sqlite3_column_text(st, 0);
        if (info.name == NULL)
            info.name = "";
        info.updates = (uint64_t)sqlite3_column_int64(st, 1);
        info.bytes = (uint64_t)sqlite3_column_double(st, 2);
        info.last_seq = sqlite3_column_int64(st, 3);
        db->in_callback = 1;
        rc = fn(user_data, &info);
        db->in_callback = 0;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = db_error(db, src, "listing documents");
    sqlite3_reset(st);
    return rc;
}

static int delete_updates(pkc_db *db, int64_t doc, int64_t up_to)
{
    sqlite3_stmt *st;
    int rc = db_stmt(db, S_DOC_CUT, "DELETE FROM doc_updates WHERE doc = ? AND seq <= ?", &st);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, doc);
    sqlite3_bind_int64(st, 2, up_to);
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_error(db, src, "deleting document updates");
    sqlite3_reset(st);
    return rc;
}

int pkc_db_doc_delete(pkc_db *db, const uint8_t room[PKC_DB_ROOM_ID_BYTES], const char *name)
{
    int rc = db_enter_write(db);
    if (rc == 0)
        rc = check_doc_args(room, name);
    if (rc)
        return rc;
    int64_t id;
    rc = db_write_begin(db);
    if (rc == 0)
        rc = doc_id(db, room, name, 0, &id);
    if (rc == 0)
        rc = delete_updates(db, id, INT64_MAX);
    sqlite3_stmt *st;
    if (rc == 0 && (rc = db_stmt(db, S_DOC_DELETE, "DELETE FROM docs WHERE id = ?", &st)) == 0) {
        sqlite3_bind_int64(st, 1, id);
        int src = sqlite3_step(st);
        if (src != SQLITE_DONE)
            rc = db_error(db, src, "deleting a document");
        sqlite3_reset(st);
    }
    return db_write_end(db, rc);
}

/* ---- Compaction ------------------------------------------------------------------------ */

static void digest_init(pkc_hash_state *hs)
{
    static const char label[] = "pkc-db compaction";
    pkc_crypto_hash_init(hs, 16);
    pkc_crypto_hash_update(hs, label, sizeof label);
}

static void digest_final(pkc_hash_state *hs, uint64_t count, uint8_t out[16])
{
    uint8_t n[8];
    db_be64(n, count);
    pkc_crypto_hash_peek(hs, n, sizeof n, out, 16);
}

void pkc_db_merge_clear(pkc_db_merge *m)
{
    if (m == NULL)
        return;
    free(m->update);
    memset(m, 0, sizeof *m);
}

int pkc_db_doc_merge(pkc_db *reader, const uint8_t room[PKC_DB_ROOM_ID_BYTES], const char *name,
                     pkc_db_merge *out)
{
    pkc_db *db = reader;
    int rc = db_enter_read(db);
    if (rc == 0)
        rc = check_doc_args(room, name);
    if (rc)
        return rc;
    if (out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "document merge: NULL output");
    sqlite3_stmt *st;
    rc = db_stmt(db, S_DOC_LOAD, DOC_UPDATES_SQL, &st);
    if (rc)
        return rc;
    db_bind_blob(st, 1, room, PKC_DB_ROOM_ID_BYTES);
    db_bind_text(st, 2, name);
    uint8_t **data = NULL;
    size_t *lens = NULL, n = 0, cap = 0;
    int64_t last = 0;
    pkc_hash_state hs;
    digest_init(&hs);
    char label[PKC_DB_NAME_MAX + 64];
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const uint8_t *d = sqlite3_column_blob(st, 2);
        size_t len = (size_t)sqlite3_column_bytes(st, 2);
        uint8_t h[DB_HASH_BYTES];
        update_hash(h, room, name, d, len);
        if (len == 0 || db_hash_check(st, 1, h) != 0) {
            rc = pkc_error(PKC_ERR_CHECKSUM,
                           "%s: %s: update %lld fails its hash (damaged): delete the document "
                           "and fetch it again from peers",
                           db->path, doc_label(label, sizeof label, room, name),
                           (long long)sqlite3_column_int64(st, 0));
            break;
        }
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            uint8_t **nd = realloc(data, ncap * sizeof *nd);
            if (nd)
                data = nd;
            size_t *nl = nd ? realloc(lens, ncap * sizeof *nl) : NULL;
            if (nl)
                lens = nl;
            if (nd == NULL || nl == NULL) {
                rc = pkc_error_code(PKC_ERR_NOMEM);
                break;
            }
            cap = ncap;
        }
        if ((data[n] = malloc(len)) == NULL) {
            rc = pkc_error_code(PKC_ERR_NOMEM);
            break;
        }
        memcpy(data[n], d, len);
        lens[n++] = len;
        pkc_crypto_hash_update(&hs, h, sizeof h);
        last = sqlite3_column_int64(st, 0);
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = db_error(db, src, "reading a document to merge");
    sqlite3_reset(st);
    if (rc == 0 && n < 2)
        rc = pkc_error(PKC_ERR_NOT_FOUND, "%s: %zu update%s, nothing to compact",
                       doc_label(label, sizeof label, room, name), n, n == 1 ? "" : "s");
    uint8_t *merged = NULL;
    size_t merged_len = 0;
    if (rc == 0) {
        rc = pkc_yupdate_merge((const uint8_t *const *)data, lens, n, &merged, &merged_len);
        if (rc)
            rc = pkc_error_wrap(rc, "%s: %s: merging its updates", db->path,
                                doc_label(label, sizeof label, room, name));
    }
    for (size_t i = 0; i < n; i++)
        free(data[i]);
    free(data);
    free(lens);
    if (rc)
        return rc;
    if (merged_len == 0) { /* cannot happen: a merge has at least its two counts */
        free(merged);
        return pkc_error(PKC_ERR_INTERNAL, "%s: empty merge", name);
    }
    memset(out, 0, sizeof *out);
    out->up_to_seq = last;
    out->count = n;
    digest_final(&hs, n, out->digest);
    out->update = merged;
    out->len = merged_len;
    return 0;
}

int pkc_db_doc_compact(pkc_db *db, const uint8_t room[PKC_DB_ROOM_ID_BYTES], const char *name,
                       const pkc_db_merge *m)
{
    int rc = db_enter_write(db);
    if (rc == 0)
        rc = check_doc_args(room, name);
    if (rc)
        return rc;
    if (m == NULL || m->update == NULL || m->len == 0 || m->count == 0 || m->up_to_seq <= 0)
        return pkc_error(PKC_ERR_INVALID_ARG, "document compaction: no merge");
    if (m->len > DB_BLOB_MAX)
        return pkc_error(PKC_ERR_TOO_LARGE, "document \"%s\": a merge of %zu bytes", name, m->len);
    char label[PKC_DB_NAME_MAX + 64];
    rc = db_write_begin(db);
    if (rc)
        return rc;
    /* Are the updates up to m->up_to_seq still those merged? */
    int64_t id = 0;
    sqlite3_stmt *st;
    rc = db_stmt(db, S_DOC_HASHES,
                 "SELECT d.id, u.hash FROM docs d JOIN doc_updates u ON u.doc = d.id"
                 " WHERE d.room = ? AND d.name = ? AND u.seq <= ? ORDER BY u.seq",
                 &st);
    if (rc == 0) {
        db_bind_blob(st, 1, room, PKC_DB_ROOM_ID_BYTES);
        db_bind_text(st, 2, name);
        sqlite3_bind_int64(st, 3, m->up_to_seq);
        pkc_hash_state hs;
        digest_init(&hs);
        uint64_t n = 0;
        int src;
        while ((src = sqlite3_step(st)) == SQLITE_ROW) {
            id = sqlite3_column_int64(st, 0);
            const void *h = sqlite3_column_blob(st, 1);
            if (h && sqlite3_column_bytes(st, 1) == DB_HASH_BYTES)
                pkc_crypto_hash_update(&hs, h, DB_HASH_BYTES);
            n++;
        }
        if (src != SQLITE_DONE) {
            rc = db_error(db, src, "reading a document to compact");
        } else {
            uint8_t digest[16];
            digest_final(&hs, n, digest);
            if (n != m->count || memcmp(digest, m->digest, sizeof digest) != 0)
                rc = pkc_error(PKC_ERR_MISMATCH,
                               "%s: its updates up to %lld changed since they were merged (%llu "
                               "now, %llu merged): merge again",
                               doc_label(label, sizeof label, room, name),
                               (long long)m->up_to_seq, (unsigned long long)n,
                               (unsigned long long)m->count);
        }
        sqlite3_reset(st);
    }
    if (rc == 0)
        rc = delete_updates(db, id, m->up_to_seq);
    if (rc == 0)
        rc = insert_update(db, id, m->up_to_seq, room, name, m->update, m->len, NULL);
    return db_write_end(db, rc);
}
