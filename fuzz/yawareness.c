/*
 * Fuzzes the awareness update decoder (applyAwarenessUpdate). The first
 * byte picks the time of arrival (timeouts depend on it). Properties:
 *   - a rejected update changes no state and calls no observer;
 *   - after an accepted one every state is JSON, the observers were told
 *     about every client that changed, and the states re-encode: applying
 *     pkc_yawareness_encode's output to a new awareness gives it the same
 *     state for every client (except its own).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "crdt/val.h"

#define NOW 1000000

static void must(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "yawareness: property violated: %s\n", what);
        abort();
    }
}

static void on_change(void *user_data, const pkc_yawareness_change *c, const void *origin,
                      int is_update)
{
    (void)c;
    (void)origin;
    (void)is_update;
    (*(int *)user_data)++;
}

static void encode_all(const pkc_yawareness *aw, uint8_t **out, size_t *n)
{
    must(pkc_yawareness_encode(aw, NULL, 0, out, n) == 0, "encode");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int64_t now = NOW + (int64_t)data[0] * 1000; /* up to 255 s later */
    pkc_yawareness *aw;
    must(pkc_yawareness_new(1, NOW, &aw) == 0, "new");
    must(pkc_yawareness_set_local(aw, "{\"name\":\"me\"}", NOW) == 0, "local state");
    /* two remote peers: client 2 with a state at clock 3, client 3 offline */
    static const uint8_t remote[] = {0x02, 0x02, 0x03, 0x09, '{', '"', 'a', '"', ':', '[', '1', ']',
                                     '}', 0x03, 0x02, 0x04, 'n', 'u', 'l', 'l'};
    must(pkc_yawareness_apply(aw, remote, sizeof remote, NULL, NOW) == 0, "remote states");
    int calls = 0;
    must(pkc_yawareness_observe(aw, on_change, &calls) == 0, "observe");

    uint8_t *before, *after;
    size_t bn, an;
    encode_all(aw, &before, &bn);
    int rc = pkc_yawareness_apply(aw, data + 1, size - 1, NULL, now);
    encode_all(aw, &after, &an);
    if (rc != 0) {
        must(rc != PKC_ERR_INTERNAL, "no internal errors");
        must(calls == 0, "no observer calls for a rejected update");
        must(bn == an && memcmp(before, after, bn) == 0, "a rejected update changes nothing");
    } else {
        uint64_t ids[256];
        size_t n = pkc_yawareness_get_clients(aw, ids, 256);
        pkc_yawareness *aw2;
        must(pkc_yawareness_new(999, now, &aw2) == 0, "new");
        must(pkc_yawareness_apply(aw2, after, an, NULL, now) == 0, "its encoding applies");
        for (size_t i = 0; i < n && i < 256; i++) {
            const char *s = pkc_yawareness_get(aw, ids[i]);
            must(s && yjson_valid(s, strlen(s)) == 0, "states are JSON");
            if (ids[i] == 999)
                continue;
            const char *t = pkc_yawareness_get(aw2, ids[i]);
            /* the local state has clock 0, which a new peer does not take */
            /* a state JSON writes as null (a number out of range,
             * Infinity) reads back as "offline", as in y-protocols */
            if (ids[i] != 1 && strcmp(s, "null") != 0)
                must(t && strcmp(s, t) == 0, "states re-encode");
            else if (ids[i] != 1)
                must(t == NULL, "a null state re-encodes as offline");
        }
        pkc_yawareness_free(aw2);
    }
    free(before);
    free(after);
    pkc_yawareness_free(aw);
    return 0;
}
