/* pkc_web.c: the functions the JavaScript host calls (web/page/pkc.js) where
 * the public API takes a structure to fill: here the structure is filled in
 * C, so the host passes only pointers and numbers and never needs wasm32
 * struct layouts. Compiled into pkc.wasm only (web/CMakeLists.txt); every
 * function here is in web/exports.txt. Time and randomness come from
 * pkc_clock_system() and pkc_rng_system(), which WASI routes to the host's
 * clock_time_get and random_get (performance.now, Date.now,
 * crypto.getRandomValues). */
#include "pkc.h"
#include "util/err.h"
#include "crdt/val.h"

#include <stdlib.h>
#include <string.h>

/* Clock skew accepted on messages from the future, as the node's default. */
#define WEB_MAX_SKEW_MS (5 * 60 * 1000)

/*
 * A signed DATA frame from `id`: sealed to the peer with Ed25519 key `to_pk`
 * and X25519 key `to_dh` when both are given, else in clear to everyone.
 * *frame is malloc'd (free() it). Returns 0 or the error of
 * pkc_message_create().
 */
PKC_API int pkcw_message_seal(const pkc_identity *id, const uint8_t *to_pk, const uint8_t *to_dh,
                              const char *topic, size_t topic_len, const uint8_t *payload,
                              size_t payload_len, uint8_t **frame, size_t *frame_len)
{
    if (id == NULL || frame == NULL || frame_len == NULL || (to_pk == NULL) != (to_dh == NULL))
        return pkc_error(PKC_ERR_INVALID_ARG, "message: identity, output and both recipient "
                                              "keys (or neither) are needed");
    pkc_message_params p = {
        .type = PKC_FRAME_DATA,
        .to_public_key = to_pk,
        .to_dh_public_key = to_dh,
        .topic = topic,
        .topic_len = topic_len,
        .payload = payload,
        .payload_len = payload_len,
    };
    return pkc_message_create(id, &p, pkc_clock_system(), pkc_rng_system(), frame, frame_len, NULL);
}

/*
 * Decodes one DATA frame (all of `frame`), verifies its signature and age
 * (at most `max_age_ms` old by the host's clock) and opens it: a message in
 * clear, or one sealed to `self`. *out (malloc'd, free() it; NUL-terminated
 * for convenience) and *out_len get the payload, `from_pk` (32 bytes, may be
 * NULL) the sender's Ed25519 key. Returns 0; PKC_ERR_MALFORMED /
 * TRUNCATED / RANGE / TOO_LARGE (not one DATA frame), PKC_ERR_BAD_SIGNATURE,
 * PKC_ERR_STALE, PKC_ERR_NOT_FOUND (sealed to someone else),
 * PKC_ERR_DECRYPT, PKC_ERR_NOMEM.
 */
PKC_API int pkcw_message_open(const pkc_identity *self, const uint8_t *frame, size_t frame_len,
                              uint32_t max_age_ms, uint8_t **out, size_t *out_len, uint8_t *from_pk)
{
    if (self == NULL || frame == NULL || out == NULL || out_len == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "message: identity, frame and output are needed");
    pkc_frame f;
    size_t used;
    int rc = pkc_frame_decode(frame, frame_len, PKC_FRAME_SIZE_MAX, &f, &used);
    if (rc)
        return rc;
    if (used != frame_len)
        return pkc_error(PKC_ERR_MALFORMED, "message: %zu bytes after the frame", frame_len - used);
    if (f.type != PKC_FRAME_DATA)
        return pkc_error(PKC_ERR_MALFORMED, "message: frame type %llu is not DATA",
                         (unsigned long long)f.type);
    const pkc_clock *clock = pkc_clock_system();
    rc = pkc_message_verify(&f.message, f.type, clock->wall_ms(clock->user_data), max_age_ms,
                            WEB_MAX_SKEW_MS);
    if (rc)
        return rc;
    uint8_t *buf = malloc(f.message.payload.len + 1);
    if (buf == NULL)
        return pkc_error(PKC_ERR_NOMEM, "message: %zu bytes", f.message.payload.len + 1);
    rc = pkc_message_open(&f.message, f.type, self, NULL, 0, buf, f.message.payload.len);
    if (rc) {
        free(buf);
        return rc;
    }
    /* A message in clear is not copied into buf by pkc_message_open. */
    if (f.message.plaintext.data != buf && f.message.plaintext.len > 0)
        memcpy(buf, f.message.plaintext.data, f.message.plaintext.len);
    buf[f.message.plaintext.len] = '\0';
    if (from_pk != NULL)
        memcpy(from_pk, f.message.from, PKC_PUBLIC_KEY_BYTES);
    *out = buf;
    *out_len = f.message.plaintext.len;
    return 0;
}

/*
 * Sets `key` (NUL-terminated) of Y.Map `map` to the value of JSON text
 * `json` (`len` bytes), as Yjs's map.set(key, JSON.parse(json)) would: a
 * lib0 Any value (objects and arrays included), which the yjs package
 * reads back with map.get(key); the node's pkc_node_doc_set_json sets
 * values the same way. Returns 0, PKC_ERR_MALFORMED (not JSON) or
 * pkc_ymap_set()'s error.
 */
PKC_API int pkcw_map_set_json(pkc_ytype *map, const char *key, const char *json, size_t len)
{
    pkc_yvalue v;
    memset(&v, 0, sizeof v);
    int rc = yjson_parse(json, len, &v);
    if (rc) {
        yv_clear(&v);
        return rc;
    }
    rc = pkc_ymap_set(NULL, map, key, &v, NULL);
    yv_clear(&v);
    return rc;
}
