/*
 * Fuzzes the decoders of relative positions (first byte even) and snapshots
 * (odd), against a document with history (gc off). Properties:
 *   - a relative position resolves to an index within its type's length
 *     (for lists), and the document is unchanged;
 *   - a snapshot is rejected without a new document, or makes a document
 *     whose invariants hold, whose state re-encodes to itself and whose
 *     structs are all the original's;
 *   - the text's toDelta at the snapshot is MALFORMED (untouched output) or
 *     has nothing marked against the snapshot itself, the same delta as
 *     without a previous one; the document is unchanged.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "crdt/val.h"
#include "util/buf.h"
#include "util/rng.h"

#define YFUZZ_NAME "yposition"
#include "yfuzz.h"

static pkc_ydoc *new_doc(void)
{
    pkc_ydoc_config cfg;
    pkc_ydoc_config_default(&cfg);
    static pkc_seeded_rng rng; /* new client ids after collisions: repeatable */
    pkc_seeded_rng_init(&rng, 1);
    cfg.client_id = 9;
    cfg.gc = 0;
    pkc_ydoc *d;
    must(pkc_ydoc_new(&cfg, &rng.rng, &d) == 0, "new document");
    return d;
}

static void encode(pkc_ydoc *d, uint8_t **u, size_t *n)
{
    must(pkc_ydoc_encode_state(d, NULL, 0, u, n) == 0, "encode state");
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
    pkc_ydoc *doc = new_doc();
    must(pkc_ydoc_apply_update(doc, yfuzz_base_update, sizeof yfuzz_base_update, NULL) == 0, "base");
    uint8_t *before, *after;
    size_t bn, an;
    encode(doc, &before, &bn);
    if ((data[0] & 1) == 0) {
        pkc_ytype *t = NULL;
        size_t index = 0;
        int rc = pkc_yrelpos_to_index(doc, data + 1, size - 1, &t, &index);
        must(rc != PKC_ERR_INTERNAL, "no internal errors");
        /* (a position at a map entry counts the entries before it: Yjs's
         * index is not within the map's length; the base document has map
         * entries only in maps) */
        pkc_ytype_kind k = rc == 0 ? pkc_ytype_get_kind(t) : PKC_YMAP;
        if (rc == 0 && (k == PKC_YTEXT || k == PKC_YARRAY))
            must(index <= pkc_ytype_get_length(t), "the index is in the type");
    } else {
        pkc_ytype *text;
        must(pkc_ydoc_get(doc, "text", PKC_YTEXT, &text) == 0, "the text");
        pkc_yvalue *d1 = NULL, *d2 = NULL, sentinel;
        pkc_yvalue *d3 = &sentinel;
        int r1 = pkc_ytext_to_delta_at(text, data + 1, size - 1, NULL, 0, &d1);
        int r2 = pkc_ytext_to_delta_at(text, data + 1, size - 1, data + 1, size - 1, &d2);
        int r3 = pkc_ytext_to_delta_at(text, NULL, 0, data + 1, size - 1, &d3);
        must(r1 == r2 && r1 == r3 && (r1 == 0 || r1 == PKC_ERR_MALFORMED), "toDelta: one answer");
        if (r1 == 0) {
            pkc_buf j1 = PKC_BUF_INIT, j2 = PKC_BUF_INIT;
            must(yjson_write(&j1, d1) == 0 && yjson_write(&j2, d2) == 0, "delta JSON");
            must(j1.len == j2.len && memcmp(j1.data, j2.data, j1.len) == 0,
                 "toDelta(s, s) is toDelta(s)");
            int marked = 0;
            for (size_t i = 0; i + 7 <= j1.len && !marked; i++)
                marked = memcmp(j1.data + i, "ychange", 7) == 0;
            must(!marked, "nothing marked against itself");
            pkc_buf_free(&j1);
            pkc_buf_free(&j2);
            pkc_yvalue_free(d3);
        } else {
            must(d3 == &sentinel, "no delta from a rejected snapshot");
        }
        pkc_yvalue_free(d1);
        pkc_yvalue_free(d2);
        pkc_ydoc *past = NULL;
        int rc = pkc_ydoc_from_snapshot(doc, data + 1, size - 1, &past);
        must(rc != PKC_ERR_INTERNAL, "no internal errors");
        if (rc != 0) {
            must(past == NULL, "no document from a rejected snapshot");
        } else {
            check_doc(past);
            uint8_t *u, *u2;
            size_t un, u2n;
            encode(past, &u, &un);
            pkc_ydoc *again = new_doc();
            must(pkc_ydoc_apply_update(again, u, un, NULL) == 0, "the past's state applies");
            encode(again, &u2, &u2n);
            must(un == u2n && memcmp(u, u2, un) == 0, "the past's state re-encodes to itself");
            /* the past's structs are the present's: merging it into a copy
             * of the present adds none (its deletes may be new: the
             * snapshot's delete set is arbitrary here) */
            pkc_ydoc *copy = new_doc();
            uint8_t *sv1, *sv2;
            size_t sv1n, sv2n;
            must(pkc_ydoc_apply_update(copy, before, bn, NULL) == 0, "a copy");
            must(pkc_ydoc_encode_state_vector(copy, &sv1, &sv1n) == 0, "state vector");
            must(pkc_ydoc_apply_update(copy, u, un, NULL) == 0, "the past applies to the present");
            must(pkc_ydoc_encode_state_vector(copy, &sv2, &sv2n) == 0, "state vector");
            must(sv1n == sv2n && memcmp(sv1, sv2, sv1n) == 0, "the past has no structs of its own");
            free(sv1);
            free(sv2);
            pkc_ydoc_free(copy);
            free(u);
            free(u2);
            pkc_ydoc_free(again);
            pkc_ydoc_free(past);
        }
    }
    encode(doc, &after, &an);
    must(bn == an && memcmp(before, after, bn) == 0, "the document is unchanged");
    check_doc(doc);
    free(before);
    free(after);
    pkc_ydoc_free(doc);
    return 0;
}
