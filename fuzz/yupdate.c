/*
 * Fuzzes the Yjs update decoders (v1 and v2) and integration. The first byte
 * picks: bit 0 the v2 format, bit 1 a non-empty document to apply to, bit 2
 * gc off. Properties:
 *   - a rejected update leaves the document exactly as it was (state,
 *     state vector, pending structs);
 *   - after an accepted one the document's invariants hold, and its state
 *     re-encodes to itself (encode, apply to a new document, encode: the
 *     same state vector, and a fixed point of period 1 or 2, see below);
 *   - the functions on encoded updates agree with applying: merging the
 *     update alone, and diffing it against the empty state vector, give
 *     updates that make the same document, and fail exactly when applying
 *     to an empty document fails.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "util/rng.h"

#define YFUZZ_NAME "yupdate"
#include "yfuzz.h"

static pkc_ydoc *new_doc(int gc)
{
    pkc_ydoc_config cfg;
    pkc_ydoc_config_default(&cfg);
    static pkc_seeded_rng rng; /* new client ids after collisions: repeatable */
    pkc_seeded_rng_init(&rng, 1);
    cfg.client_id = 77;
    cfg.gc = gc;
    pkc_ydoc *d = NULL;
    must(pkc_ydoc_new(&cfg, &rng.rng, &d) == 0, "new document");
    return d;
}

typedef struct state {
    uint8_t *u, *sv;
    size_t un, svn;
    int pending;
} state;

static void get_state(pkc_ydoc *d, state *s)
{
    must(pkc_ydoc_encode_state(d, NULL, 0, &s->u, &s->un) == 0, "encode state");
    must(pkc_ydoc_encode_state_vector(d, &s->sv, &s->svn) == 0, "state vector");
    s->pending = pkc_ydoc_has_pending(d);
}

static int same_state(const state *a, const state *b)
{
    return a->un == b->un && memcmp(a->u, b->u, a->un) == 0 && a->svn == b->svn &&
           memcmp(a->sv, b->sv, a->svn) == 0 && a->pending == b->pending;
}

static void free_state(state *s)
{
    free(s->u);
    free(s->sv);
}

/* Applying `u` (v1) to a new document gives state `want`. */
static void makes(const uint8_t *u, size_t n, int gc, const state *want, const char *what)
{
    pkc_ydoc *d = new_doc(gc);
    must(pkc_ydoc_apply_update(d, u, n, NULL) == 0, what);
    state s;
    get_state(d, &s);
    must(s.un == want->un && memcmp(s.u, want->u, s.un) == 0, what);
    free_state(&s);
    pkc_ydoc_free(d);
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
    int v2 = data[0] & 1, with_base = (data[0] >> 1) & 1, gc = !((data[0] >> 2) & 1);
    const uint8_t *u = data + 1;
    size_t n = size - 1;
    pkc_ydoc *doc = new_doc(gc);
    if (with_base)
        must(pkc_ydoc_apply_update(doc, yfuzz_base_update, sizeof yfuzz_base_update, NULL) == 0, "base");

    state before, after;
    get_state(doc, &before);
    int rc = v2 ? pkc_ydoc_apply_update_v2(doc, u, n, NULL) : pkc_ydoc_apply_update(doc, u, n, NULL);
    get_state(doc, &after);
    if (rc != 0) {
        must(rc != PKC_ERR_INTERNAL, "no internal errors");
        must(same_state(&before, &after), "a rejected update changes nothing");
    } else {
        check_doc(doc);
        /* The state re-encodes: applied to a new document it makes one
         * with the same state vector, and repeating that reaches a fixed
         * point of period at most 2. (Not always at once: an update can give
         * an item origins in different types, or its own right neighbour as
         * both origins; it integrates by its left origin, and loaded again
         * it may become a GC, or split and merge its neighbour in turns.
         * Yjs does the same.) */
        pkc_ydoc *d2 = new_doc(gc);
        state s2, s3, s4;
        must(pkc_ydoc_apply_update(d2, after.u, after.un, NULL) == 0, "the state applies");
        get_state(d2, &s2);
        check_doc(d2);
        /* (with structs pending, the state carries them as an update; an
         * update that gives known ids other content can then make a
         * document that takes more of them, in Yjs too) */
        if (!after.pending)
            must(s2.svn == after.svn && memcmp(s2.sv, after.sv, s2.svn) == 0 && !s2.pending,
                 "the state re-encodes to the same state vector");
        pkc_ydoc *d3 = new_doc(gc), *d4 = new_doc(gc);
        must(pkc_ydoc_apply_update(d3, s2.u, s2.un, NULL) == 0, "the state applies");
        get_state(d3, &s3);
        must(pkc_ydoc_apply_update(d4, s3.u, s3.un, NULL) == 0, "the state applies");
        get_state(d4, &s4);
        must((s4.un == s3.un && memcmp(s4.u, s3.u, s3.un) == 0) ||
                 (s4.un == s2.un && memcmp(s4.u, s2.u, s2.un) == 0),
             "the state re-encodes to itself");
        free_state(&s3);
        free_state(&s4);
        pkc_ydoc_free(d3);
        pkc_ydoc_free(d4);
        free_state(&s2);
        pkc_ydoc_free(d2);
    }

    /* merge / diff of the update alone agree with applying it to an empty doc */
    pkc_ydoc *empty = new_doc(gc);
    int erc = v2 ? pkc_ydoc_apply_update_v2(empty, u, n, NULL)
                 : pkc_ydoc_apply_update(empty, u, n, NULL);
    uint8_t *m = NULL, *df = NULL;
    size_t mn = 0, dfn = 0;
    const uint8_t *ups[1] = {u};
    size_t lens[1] = {n};
    int mrc = v2 ? pkc_yupdate_merge_v2(ups, lens, 1, &m, &mn) : pkc_yupdate_merge(ups, lens, 1, &m, &mn);
    must((mrc == 0) == (erc == 0), "merging fails exactly when applying fails");
    if (erc == 0) {
        state es;
        get_state(empty, &es);
        check_doc(empty);
        makes(m, mn, gc, &es, "the merged update makes the same document");
        if (!v2) {
            static const uint8_t empty_sv[1] = {0};
            must(pkc_yupdate_diff(u, n, empty_sv, 1, &df, &dfn) == 0, "diff of an accepted update");
            makes(df, dfn, gc, &es, "the diffed update makes the same document");
        } else {
            must(pkc_yupdate_v2_to_v1(u, n, &df, &dfn) == 0, "v2 to v1 of an accepted update");
            makes(df, dfn, gc, &es, "the v1 form makes the same document");
        }
        free_state(&es);
    }
    free(m);
    free(df);
    pkc_ydoc_free(empty);
    free_state(&before);
    free_state(&after);
    pkc_ydoc_free(doc);
    return 0;
}
