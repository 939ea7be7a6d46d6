/* db_rooms.c: the rooms we are in, and the peer book. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/backend.h"
#include "util/err.h"
#include "util/text.h"
#include "store/db_impl.h"

/* ---- Rooms ------------------------------------------------------------------------ */

static void room_hash(uint8_t out[DB_HASH_BYTES], const uint8_t id[PKC_DB_ROOM_ID_BYTES],
                      int64_t kind, const char *name, size_t name_len, int64_t joined,
                      int64_t flags, const uint8_t *secret, size_t secret_len)
{
    uint8_t k[8], j[8], f[8];
    db_be64(k, (uint64_t)kind);
    db_be64(j, (uint64_t)joined);
    db_be64(f, (uint64_t)flags);
    db_field fields[] = {{id, PKC_DB_ROOM_ID_BYTES}, {k, 8}, {name, name_len}, {j, 8}, {f, 8},
                         {secret, secret_len}};
    db_hash(out, "pkc-db room", fields, 6);
}

int pkc_db_room_put(pkc_db *db, const pkc_db_room *room)
{
    int rc = db_enter_write(db);
    if (rc)
        return rc;
    if (room == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "room: NULL");
    if (room->kind < PKC_DB_ROOM_LOCAL || room->kind > PKC_DB_ROOM_INVITATION)
        return pkc_error(PKC_ERR_INVALID_ARG, "room: unknown kind %d", (int)room->kind);
    if (strnlen(room->name, sizeof room->name) > PKC_DB_NAME_MAX)
        return pkc_error(PKC_ERR_TOO_LARGE, "room: name longer than %d bytes", PKC_DB_NAME_MAX);
    uint8_t h[DB_HASH_BYTES];
    room_hash(h, room->id, room->kind, room->name, strlen(room->name), room->joined_ms,
              room->flags, room->secret, PKC_DB_ROOM_SECRET_BYTES);
    sqlite3_stmt *st;
    rc = db_stmt(db, S_ROOM_PUT,
                 "INSERT OR REPLACE INTO rooms(id, kind, name, joined, flags, hash, secret)"
                 " VALUES(?, ?, ?, ?, ?, ?, ?)",
                 &st);
    if (rc)
        return rc;
    db_bind_blob(st, 1, room->id, PKC_DB_ROOM_ID_BYTES);
    sqlite3_bind_int(st, 2, (int)room->kind);
    db_bind_text(st, 3, room->name);
    sqlite3_bind_int64(st, 4, room->joined_ms);
    sqlite3_bind_int64(st, 5, room->flags);
    db_bind_blob(st, 6, h, sizeof h);
    db_bind_blob(st, 7, room->secret, PKC_DB_ROOM_SECRET_BYTES);
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_error(db, src, "storing a room");
    sqlite3_reset(st);
    return rc;
}

#define ROOM_COLUMNS "id, kind, name, joined, flags, hash, secret"

/* Reads a row of ROOM_COLUMNS into *out after checking its hash. */
static int room_row(pkc_db *db, sqlite3_stmt *st, pkc_db_room *out)
{
    const uint8_t *id = sqlite3_column_blob(st, 0);
    int id_len = sqlite3_column_bytes(st, 0);
    int64_t kind = sqlite3_column_int64(st, 1);
    const char *name = (const char *)sqlite3_column_text(st, 2);
    size_t name_len = (size_t)sqlite3_column_bytes(st, 2);
    int64_t joined = sqlite3_column_int64(st, 3);
    int64_t flags = sqlite3_column_int64(st, 4);
    const uint8_t *secret = sqlite3_column_blob(st, 6);
    size_t secret_len = (size_t)sqlite3_column_bytes(st, 6);
    uint8_t h[DB_HASH_BYTES];
    char hex[17] = "?";
    if (id && id_len == PKC_DB_ROOM_ID_BYTES)
        db_room_hex(hex, id);
    if (id == NULL || id_len != PKC_DB_ROOM_ID_BYTES || name == NULL ||
        name_len > PKC_DB_NAME_MAX || secret_len != PKC_DB_ROOM_SECRET_BYTES)
        return pkc_error(PKC_ERR_CHECKSUM, "%s: room %s: a field has the wrong size (damaged)",
                         db->path, hex);
    room_hash(h, id, kind, name, name_len, joined, flags, secret, secret_len);
    if (db_hash_check(st, 5, h) != 0)
        return pkc_error(PKC_ERR_CHECKSUM, "%s: room %s fails its hash (damaged)", db->path, hex);
    memcpy(out->id, id, PKC_DB_ROOM_ID_BYTES);
    memcpy(out->secret, secret, PKC_DB_ROOM_SECRET_BYTES);
    out->kind = (pkc_db_room_kind)kind;
    memcpy(out->name, name, name_len);
    out->name[name_len] = '\0';
    out->joined_ms = joined;
    out->flags = (uint32_t)flags;
    return 0;
}

int pkc_db_room_get(pkc_db *db, const uint8_t id[PKC_DB_ROOM_ID_BYTES], pkc_db_room *out)
{
    int rc = db_enter_read(db);
    if (rc)
        return rc;
    if (id == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "room: NULL argument");
    sqlite3_stmt *st;
    rc = db_stmt(db, S_ROOM_GET, "SELECT " ROOM_COLUMNS " FROM rooms WHERE id = ?", &st);
    if (rc)
        return rc;
    db_bind_blob(st, 1, id, PKC_DB_ROOM_ID_BYTES);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        pkc_db_room r;
        rc = room_row(db, st, &r);
        if (rc == 0)
            *out = r;
        pkc_crypto_wipe(&r, sizeof r);
    } else if (src == SQLITE_DONE) {
        char hex[17];
        db_room_hex(hex, id);
        rc = pkc_error(PKC_ERR_NOT_FOUND, "room %s: not stored", hex);
    } else {
        rc = db_error(db, src, "reading a room");
    }
    sqlite3_reset(st);
    return rc;
}

int pkc_db_room_list(pkc_db *db, pkc_db_room_fn fn, void *user_data)
{
    int rc = db_enter_read(db);
    if (rc)
        return rc;
    if (fn == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "room list: NULL callback");
    sqlite3_stmt *st;
    rc = db_stmt(db, S_ROOM_LIST, "SELECT " ROOM_COLUMNS " FROM rooms ORDER BY joined, id", &st);
    if (rc)
        return rc;
    int src = SQLITE_DONE, damaged = 0;
    char first_bad[DB_MSG_COPY] = "";
    pkc_db_room r = {0};
    while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
        if (room_row(db, st, &r) != 0) {
            if (damaged++ == 0)
                snprintf(first_bad, sizeof first_bad, "%s", pkc_errmsg());
            continue;
        }
        db->in_callback = 1;
        rc = fn(user_data, &r);
        db->in_callback = 0;
    }
    pkc_crypto_wipe(&r, sizeof r);
    if (rc == 0 && src != SQLITE_DONE)
        rc = db_error(db, src, "listing rooms");
    sqlite3_reset(st);
    if (rc == 0 && damaged)
        rc = pkc_error(PKC_ERR_CHECKSUM, "%s (%d room%s skipped)", first_bad, damaged,
                       damaged > 1 ? "s" : "");
    return rc;
}

int pkc_db_room_delete(pkc_db *db, const uint8_t id[PKC_DB_ROOM_ID_BYTES])
{
    int rc = db_enter_write(db);
    if (rc)
        return rc;
    if (id == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "room: NULL id");
    static const struct {
        enum db_stmt_id id;
        const char *sql;
    } steps[] = {
        {S_ROOM_DELETE_UPDATES,
         "DELETE FROM doc_updates WHERE doc IN (SELECT id FROM docs WHERE room = ?1)"},
        {S_ROOM_DELETE_DOCS, "DELETE FROM docs WHERE room = ?1"},
        {S_ROOM_DELETE_INBOX, "DELETE FROM inbox WHERE room = ?1"},
        {S_ROOM_DELETE_OUTBOX, "DELETE FROM outbox WHERE room = ?1"},
        {S_ROOM_DELETE_MEMBERS, "DELETE FROM peer_rooms WHERE room = ?1"},
        {S_ROOM_DELETE, "DELETE FROM rooms WHERE id = ?1"},
    };
    rc = db_write_begin(db);
    for (size_t i = 0; rc == 0 && i < sizeof steps / sizeof steps[0]; i++) {
        sqlite3_stmt *st;
        rc = db_stmt(db, steps[i].id, steps[i].sql, &st);
        if (rc)
            break;
        db_bind_blob(st, 1, id, PKC_DB_ROOM_ID_BYTES);
        int src = sqlite3_step(st);
        if (src != SQLITE_DONE)
            rc = db_error(db, src, "deleting a room");
        else if (steps[i].id == S_ROOM_DELETE && sqlite3_changes(db->sql) == 0) {
            char hex[17];
            db_room_hex(hex, id);
            rc = pkc_error(PKC_ERR_NOT_FOUND, "room %s: not stored", hex);
        }
        sqlite3_reset(st);
    }
    return db_write_end(db, rc);
}

/* ---- Peer book ---------------------------------------------------------------------- */

static int check_peer_id(const uint8_t *id)
{
    return id == NULL ? pkc_error(PKC_ERR_INVALID_ARG, "peer: NULL id") : 0;
}

static void peer_hex(char out[2 * PKC_DB_PEER_BYTES + 1], const uint8_t id[PKC_DB_PEER_BYTES])
{
    pkc_hex_encode(out, id, PKC_DB_PEER_BYTES);
}

int pkc_db_peer_put(pkc_db *db, const pkc_db_peer *peer)
{
    int rc = db_enter_write(db);
    if (rc)
        return rc;
    if (peer == NULL || (peer->dial == NULL && peer->dial_len))
        return pkc_error(PKC_ERR_INVALID_ARG, "peer: NULL argument");
    if (peer->dial_len > DB_BLOB_MAX)
        return pkc_error(PKC_ERR_TOO_LARGE, "peer: dial info of %zu bytes", peer->dial_len);
    sqlite3_stmt *st;
    rc = db_stmt(db, S_PEER_PUT,
                 "INSERT OR REPLACE INTO peers(id, public_key, x25519, score, last_seen, dial)"
                 " VALUES(?, ?, ?, ?, ?, ?)",
                 &st);
    if (rc)
        return rc;
    db_bind_blob(st, 1, peer->id, PKC_DB_PEER_BYTES);
    db_bind_blob(st, 2, peer->public_key, PKC_DB_KEY_BYTES);
    db_bind_blob(st, 3, peer->x25519, PKC_DB_KEY_BYTES);
    sqlite3_bind_double(st, 4, peer->score);
    sqlite3_bind_int64(st, 5, peer->last_seen_ms);
    db_bind_blob(st, 6, peer->dial, peer->dial_len);
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_error(db, src, "storing a peer");
    sqlite3_reset(st);
    return rc;
}

#define PEER_COLUMNS "p.id, p.public_key, p.x25519, p.score, p.last_seen, p.dial"

/* A row of PEER_COLUMNS, borrowing the dial blob from the statement. */
static int peer_row(pkc_db *db, sqlite3_stmt *st, pkc_db_peer *out)
{
    const void *id = sqlite3_column_blob(st, 0), *pk = sqlite3_column_blob(st, 1),
               *x = sqlite3_column_blob(st, 2);
    if (id == NULL || sqlite3_column_bytes(st, 0) != PKC_DB_PEER_BYTES || pk == NULL ||
        sqlite3_column_bytes(st, 1) != PKC_DB_KEY_BYTES || x == NULL ||
        sqlite3_column_bytes(st, 2) != PKC_DB_KEY_BYTES)
        return pkc_error(PKC_ERR_CHECKSUM, "%s: a peer with fields of the wrong size (damaged)",
                         db->path);
    memcpy(out->id, id, PKC_DB_PEER_BYTES);
    memcpy(out->public_key, pk, PKC_DB_KEY_BYTES);
    memcpy(out->x25519, x, PKC_DB_KEY_BYTES);
    out->score = sqlite3_column_double(st, 3);
    out->last_seen_ms = sqlite3_column_int64(st, 4);
    out->dial = sqlite3_column_blob(st, 5);
    out->dial_len = (size_t)sqlite3_column_bytes(st, 5);
    if (out->dial_len == 0)
        out->dial = NULL;
    return 0;
}

int pkc_db_peer_get(pkc_db *db, const uint8_t id[PKC_DB_PEER_BYTES], pkc_db_peer *out)
{
    int rc = db_enter_read(db);
    if (rc == 0)
        rc = check_peer_id(id);
    if (rc)
        return rc;
    if (out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "peer: NULL output");
    sqlite3_stmt *st;
    rc = db_stmt(db, S_PEER_GET, "SELECT " PEER_COLUMNS " FROM peers p WHERE p.id = ?", &st);
    if (rc)
        return rc;
    db_bind_blob(st, 1, id, PKC_DB_PEER_BYTES);
    int src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        pkc_db_peer p;
        rc = peer_row(db, st, &p);
        if (rc == 0 && p.dial_len) {
            uint8_t *copy = malloc(p.dial_len);
            if (copy == NULL)
                rc = pkc_error_code(PKC_ERR_NOMEM);
            else
                p.dial = memcpy(copy, p.dial, p.dial_len);
        }
        if (rc == 0)
            *out = p;
    } else if (src == SQLITE_DONE) {
        char hex[2 * PKC_DB_PEER_BYTES + 1];
        peer_hex(hex, id);
        rc = pkc_error(PKC_ERR_NOT_FOUND, "peer %s: not in the peer book", hex);
    } else {
        rc = db_error(db, src, "reading a peer");
    }
    sqlite3_reset(st);
    return rc;
}

int pkc_db_peer_list(pkc_db *db, const uint8_t *room, size_t limit, pkc_db_peer_fn fn,
                     void *user_data)
{
    int rc = db_enter_read(db);
    if (rc)
        return rc;
    if (fn == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "peer list: NULL callback");
    sqlite3_stmt *st;
    if (room)
        rc = db_stmt(db, S_PEER_LIST_ROOM,
                     "SELECT " PEER_COLUMNS " FROM peer_rooms r JOIN peers p ON p.id = r.peer"
                     " WHERE r.room = ? ORDER BY r.seen DESC, p.id LIMIT ?",
                     &st);
    else
        rc = db_stmt(db, S_PEER_LIST,
                     "SELECT " PEER_COLUMNS " FROM peers p ORDER BY p.last_seen DESC, p.id"
                     " LIMIT ?",
                     &st);
    if (rc)
        return rc;
    int i = 1;
    if (room)
        db_bind_blob(st, i++, room, PKC_DB_ROOM_ID_BYTES);
    sqlite3_bind_int64(st, i, limit && limit < INT64_MAX ? (int64_t)limit : -1);
    int src = SQLITE_DONE;
    while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
        pkc_db_peer p;
        if ((rc = peer_row(db, st, &p)) != 0)
            break;
        db->in_callback = 1;
        rc = fn(user_data, &p);
        db->in_callback = 0;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = db_error(db, src, "listing peers");
    sqlite3_reset(st);
    return rc;
}

int pkc_db_peer_add_room(pkc_db *db, const uint8_t id[PKC_DB_PEER_BYTES],
                         const uint8_t room[PKC_DB_ROOM_ID_BYTES], int64_t seen_ms)
{
    int rc = db_enter_write(db);
    if (rc == 0)
        rc = check_peer_id(id);
    if (rc)
        return rc;
    if (room == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "peer: NULL room");
    sqlite3_stmt *st;
    rc = db_stmt(db, S_PEER_ADD_ROOM,
                 "INSERT INTO peer_rooms(peer, room, seen) SELECT id, ?2, ?3 FROM peers"
                 " WHERE id = ?1 ON CONFLICT(peer, room) DO UPDATE"
                 " SET seen = max(seen, excluded.seen)",
                 &st);
    if (rc)
        return rc;
    db_bind_blob(st, 1, id, PKC_DB_PEER_BYTES);
    db_bind_blob(st, 2, room, PKC_DB_ROOM_ID_BYTES);
    sqlite3_bind_int64(st, 3, seen_ms);
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE) {
        rc = db_error(db, src, "storing a peer's room");
    } else if (sqlite3_changes(db->sql) == 0) {
        char hex[2 * PKC_DB_PEER_BYTES + 1];
        peer_hex(hex, id);
        rc = pkc_error(PKC_ERR_NOT_FOUND, "peer %s: not in the peer book", hex);
    }
    sqlite3_reset(st);
    return rc;
}

int pkc_db_peer_list_rooms(pkc_db *db, const uint8_t id[PKC_DB_PEER_BYTES],
                           pkc_db_peer_room_fn fn, void *user_data)
{
    int rc = db_enter_read(db);
    if (rc == 0)
        rc = check_peer_id(id);
    if (rc)
        return rc;
    if (fn == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "peer rooms: NULL callback");
    sqlite3_stmt *st;
    rc = db_stmt(db, S_PEER_ROOMS,
                 "SELECT room, seen FROM peer_rooms WHERE peer = ? ORDER BY seen DESC, room", &st);
    if (rc)
        return rc;
    db_bind_blob(st, 1, id, PKC_DB_PEER_BYTES);
    int src = SQLITE_DONE;
    while (rc == 0 && (src = sqlite3_step(st)) == SQLITE_ROW) {
        const uint8_t *room = sqlite3_column_blob(st, 0);
        if (room == NULL || sqlite3_column_bytes(st, 0) != PKC_DB_ROOM_ID_BYTES) {
            rc = pkc_error(PKC_ERR_CHECKSUM, "%s: a peer's room id of the wrong size (damaged)",
                           db->path);
            break;
        }
        db->in_callback = 1;
        rc = fn(user_data, room, sqlite3_column_int64(st, 1));
        db->in_callback = 0;
    }
    if (rc == 0 && src != SQLITE_DONE)
        rc = db_error(db, src, "listing a peer's rooms");
    sqlite3_reset(st);
    return rc;
}

int pkc_db_peer_delete(pkc_db *db, const uint8_t id[PKC_DB_PEER_BYTES])
{
    int rc = db_enter_write(db);
    if (rc == 0)
        rc = check_peer_id(id);
    if (rc)
        return rc;
    rc = db_write_begin(db);
    sqlite3_stmt *st;
    if (rc == 0 &&
        (rc = db_stmt(db, S_PEER_DELETE_ROOMS, "DELETE FROM peer_rooms WHERE peer = ?", &st)) ==
            0) {
        db_bind_blob(st, 1, id, PKC_DB_PEER_BYTES);
        int src = sqlite3_step(st);
        if (src != SQLITE_DONE)
            rc = db_error(db, src, "deleting a peer");
        sqlite3_reset(st);
    }
    if (rc == 0 && (rc = db_stmt(db, S_PEER_DELETE, "DELETE FROM peers WHERE id = ?", &st)) == 0) {
        db_bind_blob(st, 1, id, PKC_DB_PEER_BYTES);
        int src = sqlite3_step(st);
        if (src != SQLITE_DONE) {
            rc = db_error(db, src, "deleting a peer");
        } else if (sqlite3_changes(db->sql) == 0) {
            char hex[2 * PKC_DB_PEER_BYTES + 1];
            peer_hex(hex, id);
            rc = pkc_error(PKC_ERR_NOT_FOUND, "peer %s: not in the peer book", hex);
        }
        sqlite3_reset(st);
    }
    return db_write_end(db, rc);
}

int pkc_db_peer_forget_before(pkc_db *db, int64_t before_ms, uint64_t *n)
{
    int rc = db_enter_write(db);
    if (rc)
        return rc;
    rc = db_write_begin(db);
    sqlite3_stmt *st;
    if (rc == 0 && (rc = db_stmt(db, S_PEER_FORGET_ROOMS,
                                 "DELETE FROM peer_rooms WHERE peer IN"
                                 " (SELECT id FROM peers WHERE last_seen < ?)",
                                 &st)) == 0) {
        sqlite3_bind_int64(st, 1, before_ms);
        int src = sqlite3_step(st);
        if (src != SQLITE_DONE)
            rc = db_error(db, src, "forgetting peers");
        sqlite3_reset(st);
    }
    uint64_t count = 0;
    if (rc == 0 &&
        (rc = db_stmt(db, S_PEER_FORGET, "DELETE FROM peers WHERE last_seen < ?", &st)) == 0) {
        sqlite3_bind_int64(st, 1, before_ms);
        int src = sqlite3_step(st);
        if (src != SQLITE_DONE)
            rc = db_error(db, src, "forgetting peers");
        else
            count = (uint64_t)sqlite3_changes64(db->sql);
        sqlite3_reset(st);
    }
    rc = db_write_end(db, rc);
    if (rc == 0 && n)
        *n = count;
    return rc;
}
