/*
 * Fuzzes the checks and the opening of a direct message that came through
 * the mesh (node_direct_open, src/node/node_rules.c: what a node and a page
 * do with a pkc_mesh_send() payload from a peer). The first byte picks the
 * mode:
 *   - even: the rest is the payload, from a fixed neighbour, to a fixed
 *     identity. Whatever comes: a kind or an error with a message; only a
 *     kind of DM, ACK or OTHER leaves a plaintext buffer, an ACK's plaintext
 *     has 16 bytes.
 *   - odd: a real direct message (node_direct_make, from the neighbour's
 *     identity, sealed to ours, topic "dm" or "ack" by bit 1 of byte 1,
 *     the rest of the input its text) has bytes changed at the offsets and
 *     values given by the input's pairs after byte 1 (none: the message
 *     untouched). Untouched, it opens as what was made, byte for byte; an
 *     altered one is opened or refused, never crashes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/node_rules.h"
#include "util/err.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

#define NOW_MS 1800000000000LL

static uint64_t mono(void *ud)
{
    (void)ud;
    return 1000000;
}

static int64_t wall(void *ud)
{
    (void)ud;
    return NOW_MS;
}

static void fill(void *ud, void *buf, size_t len)
{
    (void)ud;
    memset(buf, 0x5a, len);
}

static const pkc_clock fixed_clock = {mono, wall, NULL};
static const pkc_rng fixed_rng = {fill, NULL};
static pkc_identity *me, *them;
static uint8_t them_hash[PKC_PEER_ID_HASH_BYTES];

static void setup(void)
{
    if (me)
        return;
    uint8_t seed[32];
    memset(seed, 1, sizeof seed);
    check(pkc_identity_from_seed(seed, &me) == 0);
    memset(seed, 2, sizeof seed);
    check(pkc_identity_from_seed(seed, &them) == 0);
    check(pkc_peer_id_parse(pkc_identity_get_peer_id(them), them_hash) == 0);
}

static int open_one(const uint8_t *data, size_t len, pkc_frame *f, uint8_t **buf)
{
    int kind = node_direct_open(me, them_hash, data, len, NOW_MS, f, buf);
    if (kind < 0) {
        check(*buf == NULL && pkc_errmsg()[0] != 0);
    } else if (kind == NODE_DIRECT_NOT_OURS) {
        check(*buf == NULL);
    } else {
        check(kind == NODE_DIRECT_DM || kind == NODE_DIRECT_ACK || kind == NODE_DIRECT_OTHER);
        check(*buf != NULL);
        if (kind == NODE_DIRECT_ACK)
            check(f->message.plaintext.len == PKC_MSG_ID_BYTES);
    }
    return kind;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size == 0)
        return 0;
    pkc_frame f;
    uint8_t *buf = NULL;
    if ((data[0] & 1) == 0) {
        open_one(data + 1, size - 1, &f, &buf);
        free(buf);
        return 0;
    }
    int ack = size > 1 && (data[1] & 2);
    const uint8_t *text = size > 2 ? data + 2 : (const uint8_t *)"";
    size_t tlen = size > 2 ? size - 2 : 0;
    uint8_t id16[PKC_MSG_ID_BYTES];
    memset(id16, 7, sizeof id16);
    if (ack) {
        text = id16;
        tlen = sizeof id16;
    } else if (tlen > 4096) {
        tlen = 4096;
    }
    uint8_t *frame = NULL;
    size_t fl = 0;
    uint8_t mid[PKC_MSG_ID_BYTES];
    check(node_direct_make(them, pkc_identity_get_public_key(me),
                           pkc_identity_get_dh_public_key(me), ack ? "ack" : "dm", text, tlen,
                           &fixed_clock, &fixed_rng, &frame, &fl, mid) == 0);
    /* Changes: pairs (offset, value) taken from the text's bytes. */
    int changed = 0;
    if (!ack)
        for (size_t i = 0; i + 1 < tlen && i < 16; i += 2) {
            size_t at = text[i] % fl;
            if (frame[at] != text[i + 1]) {
                frame[at] = text[i + 1];
                changed = 1;
            }
        }
    int kind = open_one(frame, fl, &f, &buf);
    if (!changed) {
        check(kind == (ack ? NODE_DIRECT_ACK : NODE_DIRECT_DM));
        check(memcmp(f.message.id, mid, sizeof mid) == 0);
        check(f.message.plaintext.len == tlen && memcmp(f.message.plaintext.data, text, tlen) == 0);
    }
    free(buf);
    free(frame);
    return 0;
}
