/*
 * Fuzzes the LAN announcement datagram decoder (src/discovery/lan_wire.c)
 * and the engine's receive path (src/discovery/lan.c). Properties:
 *   - a failure leaves the output untouched;
 *   - an accepted datagram is within every limit (size, rooms, addresses in
 *     their one spelling, ICE credentials);
 *   - its fields, announced again by another identity, decode to the same
 *     fields (the encoder writes what the decoder reads);
 *   - the engine takes any datagram without harm, and only reports peers of
 *     its rooms.
 * The seed corpus holds the vectors of tests/vectors/lan.json, made at
 * 2026-01-01T00:00:00Z, the time of the engine's clock here, so that their
 * signatures are checked too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/lan.h"
#include "discovery/lan_wire.h"
#include "util/clock.h"
#include "util/rng.h"

#define VECTOR_TIME_MS 1767225600000ll

static pkc_identity *self, *other;
static pkc_manual_clock clk;
static pkc_seeded_rng rng;
static pkc_lan *lan;
static uint8_t room[PKC_ROOM_ID_BYTES];

static void check(int cond)
{
    if (!cond)
        abort();
}

static void on_send(void *ud, pkc_lan *l, const uint8_t *data, size_t len)
{
    (void)ud, (void)l, (void)data, (void)len;
}

static void on_found(void *ud, pkc_lan *l, const pkc_lan_peer *p)
{
    (void)ud, (void)l;
    check(memcmp(p->room_id, room, sizeof room) == 0);
    check(p->n_addresses >= 1 && p->n_addresses <= PKC_ADDRESSES_MAX);
    for (size_t i = 0; i < p->n_addresses; i++)
        check(pkc_lan_address_valid(p->addresses[i], strlen(p->addresses[i])));
}

static void setup(void)
{
    uint8_t seed[32];
    memset(seed, 0xc3, sizeof seed);
    check(pkc_identity_from_seed(seed, &self) == 0);
    memset(seed, 0xc4, sizeof seed);
    check(pkc_identity_from_seed(seed, &other) == 0);
    pkc_manual_clock_init(&clk, 1000000, VECTOR_TIME_MS);
    pkc_seeded_rng_init(&rng, 1);
    pkc_lan_callbacks cb = {.send = on_send, .found = on_found};
    pkc_lan_config cfg;
    pkc_lan_config_default(&cfg);
    cfg.max_peers = 8;
    cfg.max_sources = 4;
    check(pkc_lan_new(&cfg, &cb, NULL, self, &clk.clock, &rng.rng, &lan) == 0);
    /* The room of the first vectors (secret 32 x 0x11). */
    uint8_t secret[32];
    memset(secret, 0x11, sizeof secret);
    pkc_room_key k;
    pkc_room_key_derive(secret, &k);
    memcpy(room, k.id, sizeof room);
    check(pkc_lan_join(lan, room) == 0);
}

static void roundtrip(const pkc_lan_announcement *a)
{
    char addr[PKC_ADDRESSES_MAX][PKC_LAN_ADDRESS_MAX + 1];
    const char *addrs[PKC_ADDRESSES_MAX];
    for (size_t i = 0; i < a->announce.n_addresses; i++) {
        memcpy(addr[i], a->announce.addresses[i].data, a->announce.addresses[i].len);
        addr[i][a->announce.addresses[i].len] = 0;
        addrs[i] = addr[i];
    }
    char ufrag[PKC_LAN_UFRAG_MAX + 1], pwd[PKC_LAN_PWD_MAX + 1];
    memcpy(ufrag, a->ufrag.data, a->ufrag.len);
    ufrag[a->ufrag.len] = 0;
    memcpy(pwd, a->pwd.data, a->pwd.len);
    pwd[a->pwd.len] = 0;
    pkc_lan_params p = {.timestamp_ms = a->announce.timestamp_ms,
                        .capabilities = a->announce.capabilities,
                        .addresses = addrs,
                        .n_addresses = a->announce.n_addresses,
                        .rooms = a->rooms,
                        .n_rooms = a->n_rooms,
                        .fingerprint = a->fingerprint,
                        .ufrag = ufrag,
                        .pwd = pwd};
    pkc_buf b = PKC_BUF_INIT;
    int rc = pkc_lan_datagram_encode(other, &p, &b);
    /* Unknown extensions are not written again, so it can only shrink or
     * stay within the limit. */
    check(rc == 0);
    pkc_lan_announcement d;
    check(pkc_lan_datagram_decode(b.data, b.len, &d) == 0);
    check(d.announce.timestamp_ms == a->announce.timestamp_ms);
    check(d.announce.capabilities == a->announce.capabilities);
    check(d.announce.n_addresses == a->announce.n_addresses);
    for (size_t i = 0; i < d.announce.n_addresses; i++)
        check(d.announce.addresses[i].len == a->announce.addresses[i].len &&
              memcmp(d.announce.addresses[i].data, a->announce.addresses[i].data,
                     d.announce.addresses[i].len) == 0);
    check(d.n_rooms == a->n_rooms && memcmp(d.rooms, a->rooms, d.n_rooms * PKC_ROOM_ID_BYTES) == 0);
    check(memcmp(d.fingerprint, a->fingerprint, PKC_LAN_FINGERPRINT_BYTES) == 0);
    check(d.ufrag.len == a->ufrag.len && memcmp(d.ufrag.data, a->ufrag.data, d.ufrag.len) == 0);
    check(d.pwd.len == a->pwd.len && memcmp(d.pwd.data, a->pwd.data, d.pwd.len) == 0);
    check(pkc_announce_verify(&d.announce, (int64_t)d.announce.timestamp_ms, 0, 0, 0) == 0);
    pkc_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (lan == NULL)
        setup();
    pkc_lan_announcement a;
    memset(&a, 0xee, sizeof a);
    if (pkc_lan_datagram_decode(data, size, &a) != 0) {
        for (size_t i = 0; i < sizeof a; i++)
            check(((const uint8_t *)&a)[i] == 0xee);
    } else {
        check(size <= PKC_LAN_DATAGRAM_MAX);
        check(a.n_rooms >= 1 && a.n_rooms <= PKC_LAN_ROOMS_MAX);
        check(a.announce.n_addresses >= 1);
        for (size_t i = 0; i < a.announce.n_addresses; i++)
            check(pkc_lan_address_valid((const char *)a.announce.addresses[i].data,
                                        a.announce.addresses[i].len));
        check(pkc_lan_ice_string_valid(a.ufrag.data, a.ufrag.len, PKC_LAN_UFRAG_MIN,
                                       PKC_LAN_UFRAG_MAX));
        check(pkc_lan_ice_string_valid(a.pwd.data, a.pwd.len, PKC_LAN_PWD_MIN, PKC_LAN_PWD_MAX));
        (void)pkc_announce_verify(&a.announce, VECTOR_TIME_MS, 120000, 120000, 0);
        roundtrip(&a);
    }
    /* The engine: from one of a few sources, the clock moving a little so
     * budgets refill now and then. */
    uint8_t src[4] = {10, 0, 0, size ? (uint8_t)(data[size - 1] & 7) : 0};
    pkc_manual_clock_advance(&clk, 1000);
    clk.wall_ms = VECTOR_TIME_MS; /* the seeds stay fresh */
    (void)pkc_lan_receive(lan, data, size, src, sizeof src);
    (void)pkc_lan_tick(lan);
    return 0;
}
