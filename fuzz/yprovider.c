/*
 * Fuzzes the y-protocols message readers: sync messages (step 1, step 2,
 * update; pkc_ysync_read) and provider messages (y-websocket / y-webrtc
 * framing of sync, awareness and awareness queries; pkc_yprovider_read).
 * The first byte picks the reader (bit 0: provider framing). Properties:
 *   - a rejected message changes neither the document nor the awareness
 *     states, and produces no reply;
 *   - after an accepted one the document's invariants hold, every awareness
 *     state is JSON, and a reply is itself a message the reader accepts
 *     (read by a new peer).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "crdt/val.h"
#include "util/buf.h"
#include "util/rng.h"

#define YFUZZ_NAME "yprovider"
#include "yfuzz.h"

#define NOW 100000

typedef struct peer {
    pkc_ydoc *doc;
    pkc_yawareness *aw;
} peer;

static void peer_new(peer *p, uint64_t id, int with_content)
{
    pkc_ydoc_config cfg;
    pkc_ydoc_config_default(&cfg);
    static pkc_seeded_rng rng; /* new client ids after collisions: repeatable */
    pkc_seeded_rng_init(&rng, 1);
    cfg.client_id = id;
    must(pkc_ydoc_new(&cfg, &rng.rng, &p->doc) == 0, "new document");
    must(pkc_yawareness_new(id, NOW, &p->aw) == 0, "new awareness");
    if (with_content) {
        must(pkc_ydoc_apply_update(p->doc, yfuzz_base_update, sizeof yfuzz_base_update, NULL) == 0, "base");
        must(pkc_yawareness_set_local(p->aw, "{\"user\":{\"name\":\"x\"},\"cursor\":3}", NOW) == 0,
             "local state");
    }
}

static void peer_free(peer *p)
{
    pkc_yawareness_free(p->aw);
    pkc_ydoc_free(p->doc);
}

/* Everything observable: the document's state and the awareness states. */
static void snapshot(const peer *p, pkc_buf *out)
{
    uint8_t *u, *sv;
    size_t un, svn;
    must(pkc_ydoc_encode_state(p->doc, NULL, 0, &u, &un) == 0, "encode state");
    must(pkc_ydoc_encode_state_vector(p->doc, &sv, &svn) == 0, "state vector");
    pkc_buf_push_varbytes(out, u, un);
    pkc_buf_push_varbytes(out, sv, svn);
    pkc_buf_push_u8(out, (uint8_t)pkc_ydoc_has_pending(p->doc));
    free(u);
    free(sv);
    uint8_t *a;
    size_t an;
    must(pkc_yawareness_encode(p->aw, NULL, 0, &a, &an) == 0, "encode awareness");
    pkc_buf_push_varbytes(out, a, an);
    free(a);
}

static int read_msg(peer *p, int framed, const uint8_t *m, size_t n, uint8_t **reply,
                    size_t *rn)
{
    if (framed)
        return pkc_yprovider_read(p->doc, p->aw, m, n, NULL, NOW, reply, rn, NULL);
    return pkc_ysync_read(p->doc, m, n, NULL, reply, rn, NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    pkc_log_set_level(PKC_LOG_ERROR); /* bad input is what it gets */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int framed = data[0] & 1;
    peer p;
    peer_new(&p, 5, 1);
    pkc_buf before = PKC_BUF_INIT, after = PKC_BUF_INIT;
    snapshot(&p, &before);
    uint8_t *reply = NULL;
    size_t rn = 0;
    int rc = read_msg(&p, framed, data + 1, size - 1, &reply, &rn);
    snapshot(&p, &after);
    if (rc != 0) {
        must(rc != PKC_ERR_INTERNAL, "no internal errors");
        must(reply == NULL, "no reply to a rejected message");
        must(before.len == after.len && memcmp(before.data, after.data, before.len) == 0,
             "a rejected message changes nothing");
    } else {
        check_doc(p.doc);
        uint64_t ids[64];
        size_t nids = pkc_yawareness_get_clients(p.aw, ids, 64);
        for (size_t i = 0; i < nids && i < 64; i++) {
            const char *st = pkc_yawareness_get(p.aw, ids[i]);
            must(st != NULL && yjson_valid(st, strlen(st)) == 0, "awareness states are JSON");
        }
        if (reply) {
            peer q;
            peer_new(&q, 6, 0);
            uint8_t *r2 = NULL;
            size_t r2n = 0;
            must(read_msg(&q, framed, reply, rn, &r2, &r2n) == 0, "a reply is a valid message");
            free(r2);
            peer_free(&q);
        }
    }
    free(reply);
    pkc_buf_free(&before);
    pkc_buf_free(&after);
    peer_free(&p);
    return 0;
}
