/*
 * Fuzzes the decoder of a saved replay window (pkc_replay_import). The
 * first byte picks the window that imports (capacity, share per sender) and
 * whether the rest is taken as it is, or as a state whose checksum the
 * harness appends (so that the fuzzer reaches past the checksum into the
 * structure). Whatever comes: an import fails with a code and changes
 * nothing, or it succeeds, and then
 *   - the window holds no more than its capacity;
 *   - every id of what it exports is refused (seen or stale);
 *   - a final export, imported into a window like it at the same time and
 *     exported again, gives the same bytes (the format is canonical).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/kdf.h"
#include "pkc.h"
#include "util/rng.h"

#define NOW 1700000000000LL
#define HEAD 61 /* magic 10, version, flags, 4 times of 8, key 16, bucket bits */

static void check(int cond)
{
    if (!cond)
        abort();
}

static pkc_replay *window(uint8_t pick)
{
    static const size_t caps[] = {16, 64, 300, 4096};
    pkc_replay_config c;
    pkc_replay_config_default(&c);
    c.capacity = caps[pick & 3];
    c.max_per_sender = (pick >> 2) & 1 ? 2 : 0;
    pkc_seeded_rng rng;
    pkc_seeded_rng_init(&rng, pick);
    pkc_replay *r;
    check(pkc_replay_new(&c, &rng.rng, &r) == 0);
    return r;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Every id listed in export `e` (well-formed: this build wrote it) is
 * refused by `r`. */
static void ids_refused(pkc_replay *r, const uint8_t *e, size_t len)
{
    size_t at = HEAD;
    at += 4 + (size_t)be32(e + at) * 12; /* shared horizons */
    at += 4 + (size_t)be32(e + at) * 12; /* sender horizons */
    uint32_t n = be32(e + at);
    at += 4;
    check(at + (size_t)n * 28 + 32 == len);
    for (uint32_t i = 0; i < n; i++, at += 28) {
        int64_t ts = 0;
        for (int k = 0; k < 8; k++)
            ts = (int64_t)((uint64_t)ts << 8 | e[at + 16 + k]);
        int rc = pkc_replay_check(r, e + at, NULL, ts, NOW);
        check(rc == PKC_ERR_REPLAY || rc == PKC_ERR_STALE);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t pick = data[0];
    const uint8_t *in = data + 1;
    size_t len = size - 1;
    uint8_t *fixed = NULL;
    if (pick & 0x80) {
        fixed = malloc(len + 32);
        check(fixed != NULL);
        if (len)
            memcpy(fixed, in, len);
        pkc_hash_labeled(fixed + len, 32, "pkc-replay-v1", in, len);
        in = fixed;
        len += 32;
    }
    pkc_replay *r = window(pick);
    int rc = pkc_replay_import(r, in, len, NOW);
    if (rc != 0) {
        check(rc == PKC_ERR_TRUNCATED || rc == PKC_ERR_MALFORMED || rc == PKC_ERR_RANGE ||
              rc == PKC_ERR_CHECKSUM || rc == PKC_ERR_UNSUPPORTED);
        /* Nothing changed: the window still takes an import. */
        check(pkc_replay_get_count(r) == 0);
    } else {
        uint8_t *a, *b;
        size_t alen, blen;
        check(pkc_replay_get_count(r) <= 4096);
        check(pkc_replay_export(r, PKC_REPLAY_EXPORT_FINAL, &a, &alen) == 0);
        pkc_replay *q = window(pick);
        check(pkc_replay_import(q, a, alen, NOW) == 0);
        check(pkc_replay_export(q, PKC_REPLAY_EXPORT_FINAL, &b, &blen) == 0);
        check(blen == alen && memcmp(a, b, alen) == 0);
        pkc_replay_free(q);
        q = window(pick);
        check(pkc_replay_import(q, a, alen, NOW) == 0);
        ids_refused(q, a, alen);
        pkc_replay_free(q);
        free(a);
        free(b);
    }
    pkc_replay_free(r);
    free(fixed);
    return 0;
}
