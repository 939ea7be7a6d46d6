/* db_msgs.c: the inbox (messages received) and outbox (direct messages to deliver). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "util/err.h"
#include "util/text.h"
#include "store/db_impl.h"

static void msg_hex(char out[2 * PKC_DB_MSG_ID_BYTES + 1], const uint8_t *id)
{
    pkc_hex_encode(out, id, PKC_DB_MSG_ID_BYTES);
}

static int64_t sql_limit(size_t limit)
{
    return limit && limit < INT64_MAX ? (int64_t)limit : -1;
}

/* ---- Inbox ------------------------------------------------------------------------ */

static void inbox_hash(uint8_t out[DB_HASH_BYTES], const pkc_db_inbox_msg *m, size_t topic_len)
{
    uint8_t flags[8], t[8];
    db_be64(flags, m->flags);
    db_be64(t, (uint64_t)m->time_ms);
    db_field f[] = {{m->msg_id, PKC_DB_MSG_ID_BYTES}, {m->room, PKC_DB_ROOM_ID_BYTES},
                    {m->sender, PKC_DB_KEY_BYTES},    {flags, 8},
                    {m->topic, topic_len},            {t, 8},
                    {m->payload, m->payload_len}};
    db_hash(out, "pkc-db inbox", f, 7);
}

int pkc_db_inbox_add(pkc_db *db, const pkc_db_inbox_msg *m, int64_t *seq)
{
    int rc = db_enter_write(db);
    if (rc)
        return rc;
    if (m == NULL || (m->payload == NULL && m->payload_len))
        return pkc_error(PKC_ERR_INVALID_ARG, "inbox: NULL argument");
    if ((rc = db_check_name("inbox: topic", m->topic, 1)) != 0)
        return rc;
    if (m->payload_len > DB_BLOB_MAX)
        return pkc_error(PKC_ERR_TOO_LARGE, "inbox: a payload of %zu bytes", m->payload_len);
    uint8_t h[DB_HASH_BYTES];
    inbox_hash(h, m, strlen(m->topic));
    sqlite3_stmt *st;
    /* DO NOTHING: a duplicate is no error of the transaction. */
    rc = db_stmt(db, S_INBOX_ADD,
                 "INSERT INTO inbox(msg_id, room, sender, flags, topic, time, hash, payload)"
                 " VALUES(?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(msg_id) DO NOTHING",
                 &st);
    if (rc)
        return rc;
    db_bind_blob(st, 1, m->msg_id, PKC_DB_MSG_ID_BYTES);
    db_bind_blob(st, 2, m->room, PKC_DB_ROOM_ID_BYTES);
    db_bind_blob(st, 3, m->sender, PKC_DB_KEY_BYTES);
    sqlite3_bind_int64(st, 4, m->flags);
    db_bind_text(st, 5, m->topic);
    sqlite3_bind_int64(st, 6, m->time_ms);
    db_bind_blob(st, 7, h, sizeof h);
    db_bind_blob(st, 8, m->payload, m->payload_len);
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE) {
        rc = db_error(db, src, "storing a received message");
    } else if (sqlite3_changes(db->sql) == 0) {
        char hex[2 * PKC_DB_MSG_ID_BYTES + 1];
        msg_hex(hex, m->msg_id);
        rc = pkc_error(PKC_ERR_EXISTS, "inbox: message %s is stored already (duplicate ignored)",
                       hex);
    } else if (seq) {
        *seq = sqlite3_last_insert_rowid(db->sql);
    }
    sqlite3_reset(st);
    return rc;
}

#define INBOX_COLUMNS "seq, msg_id, room, sender, flags, topic, time, hash, payload"

/* A row of INBOX_COLUMNS, borrowed from the statement, hash checked. */
static int inbox_row(sqlite3_stmt *st, pkc_db_inbox_msg *m)
{
    const void *id = sqlite3_column_blob(st, 1), *room = sqlite3_column_blob(st, 2),
               *sender = sqlite3_column_blob(st, 3);
    if (id == NULL || sqlite3_column_bytes(st, 1) != PKC_DB_MSG_ID_BYTES || room == NULL ||
        sqlite3_column_bytes(st, 2) != PKC_DB_ROOM_ID_BYTES || sender == NULL ||
        sqlite3_column_bytes(st, 3) != PKC_DB_KEY_BYTES)
        return -1;
    m->seq = sqlite3_column_int64(st, 0);
    memcpy(m->msg_id, id, PKC_DB_MSG_ID_BYTES);
    memcpy(m->room, room, PKC_DB_ROOM_ID_BYTES);
    memcpy(m->sender, sender, PKC_DB_KEY_BYTES);
    m->flags = (uint32_t)sqlite3_column_int64(st, 4);
    m->topic = (const char *)sqlite3_column_text(st, 5);
    size_t topic_len = (size_t)sqlite3_column_bytes(st, 5);
    m->time_ms = sqlite3_column_int64(st, 6);
    m->payload = sqlite3_column_blob(st, 8);
    m->payload_len = (size_t)sqlite3_column_bytes(st, 8);
    if (m->topic == NULL || (uint64_t)sqlite3_column_int64(st, 4) > UINT32_MAX)
        return -1;
    uint8_t h[DB_HASH_BYTES];
    inbox_hash(h, m, topic_len);
    return db_hash_check(st, 7, h);
}

int pkc_db_inbox_list(pkc_db *db, const uint8_t *room, int64_t after_seq, size_t limit,
                      pkc_db_inbox_fn fn, void *user_data, int64_t *last_seq)
{
    int rc = db_enter_read(db);
    if (rc)
        return rc;
    if (fn == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "inbox list: NULL callback");
    sqlite3_stmt *st;
    if (room)
        rc = db_stmt(db, S_INBOX_LIST_ROOM,
                     "SELECT " INBOX_COLUMNS " FROM inbox WHERE room = ? AND seq > ?"
                     " ORDER BY seq LIMIT ?",
                     &st);
    else
        rc = db_stmt(db, S_INBOX_LIST,
                     "SELECT " INBOX_COLUMNS " FROM inbox WHERE seq > ? ORDER BY seq LIMIT ?", &st);
    if (rc)
        return rc;
    int i = 1;
    if (room)
        db_bind_blob(st, i++, room, PKC_DB_ROOM_ID_BYTES);
    sqlite3_bind_int64(st, i++, after_seq);
    sqlite3_bind_int64(st, i, sql_limit(limit));
    int src = SQLITE_DONE;
    int64_t last = after_seq, first_bad = 0;
    uint64_t damaged = 0;
    while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
        pkc_db_inbox_msg m;
        last = sqlite3_column_int64(st, 0);
        if (inbox_row(st, &m) != 0) {
            if (damaged++ == 0)
                first_bad = last;
            continue;
        }
        db->in_callback = 1;
        rc = fn(user_data, &m);
        db->in_callback = 0;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = db_error(db, src, "listing the inbox");
    sqlite3_reset(st);
    if (last_seq)
        *last_seq = last;
    if (rc == 0 && damaged)
        rc = pkc_error(PKC_ERR_CHECKSUM,
                       "%s: inbox message %lld fails its hash (damaged; %llu message%s skipped)",
                       db->path, (long long)first_bad, (unsigned long long)damaged,
                       damaged > 1 ? "s" : "");
    return rc;
}

int pkc_db_inbox_count(pkc_db *db, const uint8_t *room, uint64_t *n)
{
    int rc = db_enter_read(db);
    if (rc)
        return rc;
    if (n == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "inbox count: NULL output");
    sqlite3_stmt *st;
    rc = room ? db_stmt(db, S_INBOX_COUNT_ROOM, "SELECT count(*) FROM inbox WHERE room = ?", &st)
              : db_stmt(db, S_INBOX_COUNT, "SELECT count(*) FROM inbox", &st);
    if (rc)
        return rc;
    if (room)
        db_bind_blob(st, 1, room, PKC_DB_ROOM_ID_BYTES);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *n = (uint64_t)sqlite3_column_int64(st, 0);
    else
        rc = db_error(db, src, "counting the inbox");
    sqlite3_reset(st);
    return rc;
}

int pkc_db_inbox_delete(pkc_db *db, int64_t seq)
{
    int rc = db_enter_write(db);
    if (rc)
        return rc;
    sqlite3_stmt *st;
    rc = db_stmt(db, S_INBOX_DELETE, "DELETE FROM inbox WHERE seq = ?", &st);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, seq);
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_error(db, src, "deleting a received message");
    else if (sqlite3_changes(db->sql) == 0)
        rc = pkc_error(PKC_ERR_NOT_FOUND, "inbox: no message %lld", (long long)seq);
    sqlite3_reset(st);
    return rc;
}

/* ---- Outbox ---------------------------------------------------------------------- */

static void outbox_hash(uint8_t out[DB_HASH_BYTES], const pkc_db_outbox_msg *m)
{
    uint8_t created[8];
    db_be64(created, (uint64_t)m->created_ms);
    db_field f[] = {{m->msg_id, PKC_DB_MSG_ID_BYTES}, {m->room, PKC_DB_ROOM_ID_BYTES},
                    {m->recipient, PKC_DB_PEER_BYTES}, {created, 8},
                    {m->frame, m->frame_len}};
    db_hash(out, "pkc-db outbox", f, 5);
}

int pkc_db_outbox_add(pkc_db *db, const pkc_db_outbox_msg *m)
{
    int rc = db_enter_write(db);
    if (rc)
        return rc;
    if (m == NULL || m->frame == NULL || m->frame_len == 0)
        return pkc_error(PKC_ERR_INVALID_ARG, "outbox: NULL argument or empty frame");
    if (m->frame_len > DB_BLOB_MAX)
        return pkc_error(PKC_ERR_TOO_LARGE, "outbox: a frame of %zu bytes", m->frame_len);
    uint8_t h[DB_HASH_BYTES];
    outbox_hash(h, m);
    sqlite3_stmt *st;
    rc = db_stmt(db, S_OUTBOX_ADD,
                 "INSERT INTO outbox(msg_id, room, recipient, created, hash, frame)"
                 " VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT(msg_id) DO NOTHING",
                 &st);
    if (rc)
        return rc;
    db_bind_blob(st, 1, m->msg_id, PKC_DB_MSG_ID_BYTES);
    db_bind_blob(st, 2, m->room, PKC_DB_ROOM_ID_BYTES);
    db_bind_blob(st, 3, m->recipient, PKC_DB_PEER_BYTES);
    sqlite3_bind_int64(st, 4, m->created_ms);
    db_bind_blob(st, 5, h, sizeof h);
    db_bind_blob(st, 6, m->frame, m->frame_len);
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE) {
        rc = db_error(db, src, "storing a message to send");
    } else if (sqlite3_changes(db->sql) == 0) {
        char hex[2 * PKC_DB_MSG_ID_BYTES + 1];
        msg_hex(hex, m->msg_id);
        rc = pkc_error(PKC_ERR_EXISTS, "outbox: message %s is stored already", hex);
    }
    sqlite3_reset(st);
    return rc;
}

#define OUTBOX_COLUMNS                                                                             \
    "msg_id, room, recipient, created, attempts, last_attempt, delivered, hash, frame"

static int outbox_row(sqlite3_stmt *st, pkc_db_outbox_msg *m)
{
    const void *id = sqlite3_column_blob(st, 0), *room = sqlite3_column_blob(st, 1),
               *to = sqlite3_column_blob(st, 2);
    if (id == NULL || sqlite3_column_bytes(st, 0) != PKC_DB_MSG_ID_BYTES || room == NULL ||
        sqlite3_column_bytes(st, 1) != PKC_DB_ROOM_ID_BYTES || to == NULL ||
        sqlite3_column_bytes(st, 2) != PKC_DB_PEER_BYTES)
        return -1;
    memcpy(m->msg_id, id, PKC_DB_MSG_ID_BYTES);
    memcpy(m->room, room, PKC_DB_ROOM_ID_BYTES);
    memcpy(m->recipient, to, PKC_DB_PEER_BYTES);
    m->created_ms = sqlite3_column_int64(st, 3);
    m->attempts = (uint32_t)sqlite3_column_int64(st, 4);
    m->last_attempt_ms = sqlite3_column_int64(st, 5); /* NULL reads as 0 */
    m->delivered_ms = sqlite3_column_int64(st, 6);
    m->frame = sqlite3_column_blob(st, 8);
    m->frame_len = (size_t)sqlite3_column_bytes(st, 8);
    if (m->frame_len == 0)
        return -1;
    uint8_t h[DB_HASH_BYTES];
    outbox_hash(h, m);
    return db_hash_check(st, 7, h);
}

int pkc_db_outbox_list_pending(pkc_db *db, const uint8_t *recipient, size_t limit,
                               pkc_db_outbox_fn fn, void *user_data)
{
    int rc = db_enter_read(db);
    if (rc)
        return rc;
    if (fn == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "outbox list: NULL callback");
    sqlite3_stmt *st;
    if (recipient)
        rc = db_stmt(db, S_OUTBOX_PENDING_TO,
                     "SELECT " OUTBOX_COLUMNS " FROM outbox WHERE recipient = ? AND delivered IS"
                     " NULL ORDER BY created, msg_id LIMIT ?",
                     &st);
    else
        rc = db_stmt(db, S_OUTBOX_PENDING,
                     "SELECT " OUTBOX_COLUMNS " FROM outbox WHERE delivered IS NULL"
                     " ORDER BY created, msg_id LIMIT ?",
                     &st);
    if (rc)
        return rc;
    int i = 1;
    if (recipient)
        db_bind_blob(st, i++, recipient, PKC_DB_PEER_BYTES);
    sqlite3_bind_int64(st, i, sql_limit(limit));
    int src = SQLITE_DONE;
    uint64_t damaged = 0;
    char first_bad[2 * PKC_DB_MSG_ID_BYTES + 1] = "?";
    while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
        pkc_db_outbox_msg m;
        if (outbox_row(st, &m) != 0) {
            const void *id = sqlite3_column_blob(st, 0);
            if (damaged++ == 0 && id && sqlite3_column_bytes(st, 0) == PKC_DB_MSG_ID_BYTES)
                msg_hex(first_bad, id);
            continue;
        }
        db->in_callback = 1;
        rc = fn(user_data, &m);
        db->in_callback = 0;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = db_error(db, src, "listing the outbox");
    sqlite3_reset(st);
    if (rc == 0 && damaged)
        rc = pkc_error(PKC_ERR_CHECKSUM,
                       "%s: outbox message %s fails its hash (damaged; %llu message%s skipped)",
                       db->path, first_bad, (unsigned long long)damaged, damaged > 1 ? "s" : "");
    return rc;
}

/* Runs an UPDATE or DELETE of one message by id; PKC_ERR_NOT_FOUND if
 * none. */
static int outbox_change(pkc_db *db, enum db_stmt_id id, const char *sql,
                         const uint8_t msg_id[PKC_DB_MSG_ID_BYTES], int64_t now_ms, int bind_now,
                         const char *what)
{
    int rc = db_enter_write(db);
    if (rc)
        return rc;
    if (msg_id == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "outbox: NULL message id");
    sqlite3_stmt *st;
    rc = db_stmt(db, id, sql, &st);
    if (rc)
        return rc;
    db_bind_blob(st, 1, msg_id, PKC_DB_MSG_ID_BYTES);
    if (bind_now)
        sqlite3_bind_int64(st, 2, now_ms);
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE) {
        rc = db_error(db, src, what);
    } else if (sqlite3_changes(db->sql) == 0) {
        char hex[2 * PKC_DB_MSG_ID_BYTES + 1];
        msg_hex(hex, msg_id);
        rc = pkc_error(PKC_ERR_NOT_FOUND, "outbox: no message %s", hex);
    }
    sqlite3_reset(st);
    return rc;
}

int pkc_db_outbox_mark_attempt(pkc_db *db, const uint8_t msg_id[PKC_DB_MSG_ID_BYTES],
                               int64_t now_ms)
{
    return outbox_change(db, S_OUTBOX_ATTEMPT,
                         "UPDATE outbox SET attempts = attempts + 1, last_attempt = ?2"
                         " WHERE msg_id = ?1",
                         msg_id, now_ms, 1, "counting a sending attempt");
}

int pkc_db_outbox_mark_delivered(pkc_db *db, const uint8_t msg_id[PKC_DB_MSG_ID_BYTES],
                                 int64_t now_ms)
{
    return outbox_change(db, S_OUTBOX_DELIVERED,
                         "UPDATE outbox SET delivered = coalesce(delivered, ?2) WHERE msg_id = ?1",
                         msg_id, now_ms, 1, "recording a receipt");
}

int pkc_db_outbox_delete(pkc_db *db, const uint8_t msg_id[PKC_DB_MSG_ID_BYTES])
{
    return outbox_change(db, S_OUTBOX_DELETE, "DELETE FROM outbox WHERE msg_id = ?1", msg_id, 0,
                         0, "deleting a message to send");
}

int pkc_db_outbox_forget_delivered(pkc_db *db, int64_t before_ms, uint64_t *n)
{
    int rc = db_enter_write(db);
    if (rc)
        return rc;
    sqlite3_stmt *st;
    rc = db_stmt(db, S_OUTBOX_FORGET,
                 "DELETE FROM outbox WHERE delivered IS NOT NULL AND delivered < ?", &st);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, before_ms);
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_error(db, src, "forgetting delivered messages");
    else if (n)
        *n = (uint64_t)sqlite3_changes64(db->sql);
    sqlite3_reset(st);
    return rc;
}
