/*
 * Fuzzes the reassembly of sync messages sent in fragments
 * (node_sync_frag_add, src/node/node_rules.c: what a node and a page do
 * with SYNC frames of kind 2 from a peer) and its sender (node_sync_send).
 * The first byte picks the mode:
 *   - even: the rest is a sequence of SYNC frames, each `u8 kind, u8 doc
 *     length (0..7), doc bytes, u8 head length (0..31), head bytes (where
 *     the fragment's varuints go), u16 n`: the message is the head then 4n
 *     bytes of filler, so that small inputs make fragments of real size. They
 *     are fed to one reassembler. Whatever comes: a fragment either completes a
 *     message (then exactly `total` bytes are held), or leaves one half
 *     arrived (fewer bytes than its total), or is refused (then nothing is
 *     held); a message is given up (the abandon callback) only while one
 *     was half arrived.
 *   - odd: the rest, repeated to a length picked by bytes 1-2 (below or
 *     above one frame), is sent with node_sync_send and every frame fed to
 *     a reassembler: a short message goes in one frame of kind 0; a long one
 *     comes back whole, byte for byte, at its last fragment and not before.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/node_rules.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

static int abandons;
static node_sync_frag *watched;

static void on_abandon(void *ud)
{
    check(ud == watched);
    check(watched->buf != NULL && watched->len < watched->total);
    abandons++;
}

static void feed(node_sync_frag *f, const pkc_sync *s, int *whole_out)
{
    int rc = node_sync_frag_add(f, s, on_abandon, f);
    if (rc == 1) {
        check(f->buf != NULL && f->len == f->total && f->total > NODE_SYNC_CHUNK);
        check(f->total <= NODE_SYNC_MAX_MESSAGE);
    } else if (rc == 0) {
        check(f->buf != NULL && f->len < f->total);
    } else {
        check(rc < 0 && f->buf == NULL && f->len == 0 && f->total == 0);
    }
    if (whole_out)
        *whole_out = rc;
}

/* Odd mode: the receiving end of node_sync_send. */
typedef struct {
    node_sync_frag f;
    const uint8_t *msg;
    size_t len;
    size_t frames, wholes;
    int short_seen;
} loop;

static int on_send(void *ud, const pkc_frame *fr)
{
    loop *l = ud;
    check(fr->type == PKC_FRAME_SYNC && fr->sync.doc.len == 3 &&
          memcmp(fr->sync.doc.data, "doc", 3) == 0);
    l->frames++;
    if (fr->sync.kind == PKC_SYNC_MESSAGE) {
        check(l->len <= NODE_SYNC_CHUNK && l->frames == 1);
        check(fr->sync.message.len == l->len && memcmp(fr->sync.message.data, l->msg, l->len) == 0);
        l->short_seen = 1;
        return 0;
    }
    check(fr->sync.kind == NODE_SYNC_FRAGMENT && l->len > NODE_SYNC_CHUNK);
    check(fr->sync.message.len <= NODE_SYNC_CHUNK + 16);
    int rc;
    watched = &l->f;
    feed(&l->f, &fr->sync, &rc);
    check(rc >= 0);
    if (rc == 1) {
        check(l->f.total == l->len && memcmp(l->f.buf, l->msg, l->len) == 0);
        l->wholes++;
        node_sync_frag_reset(&l->f);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    abandons = 0;
    if (data[0] & 1) {
        if (size < 4)
            return 0;
        /* Up to 2 chunks and a bit: 0 .. about 2 * NODE_SYNC_CHUNK + 64 KiB. */
        size_t len = ((size_t)data[1] << 8 | data[2]) * 8;
        const uint8_t *src = data + 3;
        size_t n = size - 3;
        uint8_t *msg = malloc(len ? len : 1);
        check(msg != NULL);
        for (size_t i = 0; i < len; i++)
            msg[i] = src[i % n];
        loop l;
        memset(&l, 0, sizeof l);
        l.msg = msg;
        l.len = len;
        check(node_sync_send("doc", msg, len, on_send, &l) == 0);
        if (len <= NODE_SYNC_CHUNK)
            check(l.short_seen && l.frames == 1 && l.wholes == 0);
        else
            check(l.wholes == 1 && l.frames == (len + NODE_SYNC_CHUNK - 1) / NODE_SYNC_CHUNK);
        check(abandons == 0);
        node_sync_frag_reset(&l.f);
        free(msg);
        return 0;
    }
    node_sync_frag f;
    memset(&f, 0, sizeof f);
    watched = &f;
    uint8_t *msg = malloc(31 + 4 * 65535);
    check(msg != NULL);
    size_t i = 1;
    while (i + 5 <= size) {
        pkc_sync s;
        memset(&s, 0, sizeof s);
        s.kind = data[i];
        size_t dl = data[i + 1] & 7;
        i += 2;
        if (i + dl + 1 > size)
            break;
        s.doc.data = data + i;
        s.doc.len = dl;
        i += dl;
        size_t hl = data[i++] & 31;
        if (i + hl + 2 > size)
            break;
        memcpy(msg, data + i, hl);
        i += hl;
        size_t body = 4 * ((size_t)data[i] << 8 | data[i + 1]);
        i += 2;
        memset(msg + hl, 0x5a, body);
        s.message.data = msg;
        s.message.len = hl + body;
        int was_half = f.buf != NULL;
        int before = abandons;
        int rc;
        feed(&f, &s, &rc);
        check(abandons == before || (abandons == before + 1 && was_half));
        if (rc == 1)
            node_sync_frag_reset(&f);
    }
    node_sync_frag_reset(&f);
    free(msg);
    return 0;
}
