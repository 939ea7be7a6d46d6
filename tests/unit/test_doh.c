/* The DNS over HTTPS client's logic (src/node/doh.c) with its transport
 * replaced (answers built with ldns, signed records made with dnsrec) and a
 * fake clock: the query it sends, resolvers in order (the next asked when
 * one fails or answers garbage, not after NXDOMAIN), the cache for the
 * answer's TTL and its expiry, records that fail a check skipped (tampered,
 * another peer at a per-peer name, older than one seen), two records of one
 * key (the newer kept), other TXT records ignored. HTTPS itself is tested
 * against BIND in tests/net/doh.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "discovery/dnsmsg.h"
#include "discovery/dnsrec.h"
#include "node/doh.h"
#include "test.h"
#include "util/err.h"

#define OWNER "_pkc.seeds.example"

static uint64_t fake_now_us;
static uint64_t fake_mono(void *ud)
{
    (void)ud;
    return fake_now_us;
}
static int64_t fake_wall(void *ud)
{
    (void)ud;
    return 1767225600000;
}
static const pkc_clock fake_clock = {fake_mono, fake_wall, NULL};

static const uint8_t ROOM[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t FP[32] = {9};
static const char *const ADDRS[] = {"udp:192.0.2.1:4000"};

/* The record of identity `fill` with `sequence`, as TXT strings in `line`
 * (a master-file line at OWNER, TTL `ttl`); `tamper` changes a character. */
static void record_line(uint8_t fill, uint64_t sequence, uint32_t ttl, int tamper, char *line,
                        size_t cap, char *peer_id)
{
    uint8_t seed[32];
    memset(seed, fill, sizeof seed);
    pkc_identity *id = NULL;
    if (pkc_identity_from_seed(seed, &id) != 0)
        abort();
    pkc_dnsrec_params p = {.sequence = sequence,
                           .room_id = ROOM,
                           .dial = {.fingerprint = FP,
                                    .ufrag = "abcd",
                                    .pwd = "abcdefghijklmnopqrstuv",
                                    .addresses = ADDRS,
                                    .n_addresses = 1}};
    pkc_dnsrec rec;
    if (pkc_dnsrec_create(id, &p, &rec) != 0 ||
        pkc_dnsrec_zone_line(&rec, OWNER, ttl, line, cap) < 0)
        abort();
    if (tamper)
        line[strlen(line) - 10] = line[strlen(line) - 10] == 'A' ? 'B' : 'A';
    if (peer_id)
        snprintf(peer_id, PKC_PEER_ID_SIZE, "%s", rec.peer_id);
    pkc_identity_free(id);
}

/* What the fake resolvers answer. */
typedef struct net {
    int calls;
    char asked[8][64];
    const char *fail_url; /* this resolver fails */
    const char *garbage_url;
    int nxdomain;
    char lines[4][2048];
    size_t n_lines;
    uint8_t last_query[512];
    size_t last_qlen;
} net;

static int transport(void *ud, const char *url, const uint8_t *q, size_t qlen, uint8_t **out,
                     size_t *out_len)
{
    net *t = ud;
    if (t->calls < 8)
        snprintf(t->asked[t->calls], sizeof t->asked[0], "%s", url);
    t->calls++;
    if (qlen <= sizeof t->last_query) {
        memcpy(t->last_query, q, qlen);
        t->last_qlen = qlen;
    }
    if (t->fail_url && strcmp(url, t->fail_url) == 0)
        return pkc_error(PKC_ERR_IO, "connection refused (fake)");
    if (t->garbage_url && strcmp(url, t->garbage_url) == 0) {
        *out = malloc(5);
        memcpy(*out, "\x00\x00\x81\x80\x00", 5);
        *out_len = 5;
        return 0;
    }
    ldns_pkt *p = NULL;
    if (ldns_wire2pkt(&p, q, qlen) != LDNS_STATUS_OK)
        abort();
    ldns_pkt_set_qr(p, true);
    ldns_pkt_set_edns_udp_size(p, 0);
    ldns_pkt_set_edns_option_list(p, NULL);
    if (t->nxdomain)
        ldns_pkt_set_rcode(p, LDNS_RCODE_NXDOMAIN);
    for (size_t i = 0; i < t->n_lines && !t->nxdomain; i++) {
        ldns_rr *rr = NULL;
        if (ldns_rr_new_frm_str(&rr, t->lines[i], 0, NULL, NULL) != LDNS_STATUS_OK)
            abort();
        ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
    }
    if (ldns_pkt2wire(out, p, out_len) != LDNS_STATUS_OK)
        abort();
    ldns_pkt_free(p);
    return 0;
}

static pkc_doh *make(net *t, size_t n_resolvers)
{
    static const char *const urls[] = {"https://a.example/dns-query",
                                       "https://b.example/dns-query?x=1",
                                       "https://c.example/dns-query"};
    pkc_doh_config c;
    pkc_doh_config_default(&c);
    c.resolvers = urls;
    c.n_resolvers = n_resolvers;
    pkc_doh *d = NULL;
    if (pkc_doh_new(&c, &fake_clock, &d) != 0)
        abort();
    pkc_doh_set_transport(d, transport, t);
    return d;
}

TEST(doh, query_cache_and_expiry)
{
    net t;
    memset(&t, 0, sizeof t);
    char id1[PKC_PEER_ID_SIZE];
    record_line(1, 100, 60, 0, t.lines[0], sizeof t.lines[0], id1);
    snprintf(t.lines[1], sizeof t.lines[1], OWNER ". 30 IN TXT \"v=spf1 -all\"");
    t.n_lines = 2;
    fake_now_us = 1000000;
    pkc_doh *d = make(&t, 1);
    pkc_dns_seed s[4];
    CHECK_EQ(pkc_doh_lookup(d, "seeds.example", NULL, s, 4), 1);
    CHECK_EQ(t.calls, 1);
    CHECK_STR(s[0].peer_id, id1);
    CHECK_STR(s[0].room, "0102030405060708");
    CHECK_EQ_U64(s[0].sequence, 100);
    CHECK_EQ(s[0].n_addresses, 1);
    CHECK_STR(s[0].addresses[0], ADDRS[0]);
    CHECK_EQ(s[0].ttl_s, 30); /* the smallest TTL of the answer's TXT records */
    CHECK_EQ(s[0].cached, 0);
    /* The query: TXT at the owner, id 0, padded to 128 bytes. */
    CHECK_EQ(t.last_qlen % 128, 0);
    ldns_pkt *q = NULL;
    CHECK(ldns_wire2pkt(&q, t.last_query, t.last_qlen) == LDNS_STATUS_OK);
    CHECK_EQ(ldns_pkt_id(q), 0);
    ldns_pkt_free(q);
    /* Within the TTL: the cache, the TTL left. */
    fake_now_us += 20 * 1000000ull;
    CHECK_EQ(pkc_doh_lookup(d, "Seeds.Example", NULL, s, 4), 1);
    CHECK_EQ(t.calls, 1);
    CHECK_EQ(s[0].cached, 1);
    CHECK_EQ(s[0].ttl_s, 10);
    /* Past it: asked again. */
    fake_now_us += 11 * 1000000ull;
    CHECK_EQ(pkc_doh_lookup(d, "seeds.example", NULL, s, 4), 1);
    CHECK_EQ(t.calls, 2);
    CHECK_EQ(s[0].cached, 0);
    /* `max` bounds what is written. */
    fake_now_us += 31 * 1000000ull;
    CHECK_EQ(pkc_doh_lookup(d, "seeds.example", NULL, s, 0), 0);
    pkc_doh_free(d);
}

TEST(doh, resolvers_in_order)
{
    net t;
    memset(&t, 0, sizeof t);
    record_line(1, 100, 60, 0, t.lines[0], sizeof t.lines[0], NULL);
    t.n_lines = 1;
    t.fail_url = "https://a.example/dns-query";
    t.garbage_url = "https://b.example/dns-query?x=1";
    fake_now_us = 1000000;
    pkc_doh *d = make(&t, 3);
    pkc_dns_seed s[4];
    CHECK_EQ(pkc_doh_lookup(d, "seeds.example", NULL, s, 4), 1);
    CHECK_EQ(t.calls, 3);
    CHECK_STR(t.asked[0], "https://a.example/dns-query");
    CHECK_STR(t.asked[1], "https://b.example/dns-query?x=1");
    CHECK_STR(t.asked[2], "https://c.example/dns-query");
    pkc_doh_free(d);
    /* All fail: the last reason. */
    memset(&t, 0, sizeof t);
    t.fail_url = "https://a.example/dns-query";
    d = make(&t, 1);
    CHECK_ERR(pkc_doh_lookup(d, "seeds.example", NULL, s, 4), PKC_ERR_IO);
    CHECK(strstr(pkc_errmsg(), "connection refused (fake)") != NULL);
    pkc_doh_free(d);
    /* NXDOMAIN is an answer: the next resolver is not asked. */
    memset(&t, 0, sizeof t);
    t.nxdomain = 1;
    d = make(&t, 3);
    CHECK_ERR(pkc_doh_lookup(d, "seeds.example", NULL, s, 4), PKC_ERR_NOT_FOUND);
    CHECK_EQ(t.calls, 1);
    CHECK(strstr(pkc_errmsg(), "NXDOMAIN") != NULL);
    pkc_doh_free(d);
}

TEST(doh, records_checked)
{
    net t;
    memset(&t, 0, sizeof t);
    char id1[PKC_PEER_ID_SIZE], id2[PKC_PEER_ID_SIZE];
    /* A tampered record, two of identity 1 (sequence 100 and 200), one of
     * identity 2. */
    record_line(3, 50, 60, 1, t.lines[0], sizeof t.lines[0], NULL);
    record_line(1, 100, 60, 0, t.lines[1], sizeof t.lines[1], id1);
    record_line(1, 200, 60, 0, t.lines[2], sizeof t.lines[2], NULL);
    record_line(2, 100, 60, 0, t.lines[3], sizeof t.lines[3], id2);
    t.n_lines = 4;
    fake_now_us = 1000000;
    pkc_doh *d = make(&t, 1);
    pkc_dns_seed s[4];
    CHECK_EQ(pkc_doh_lookup(d, "seeds.example", NULL, s, 4), 2);
    CHECK_STR(s[0].peer_id, id1);
    CHECK_EQ_U64(s[0].sequence, 200);
    CHECK_STR(s[1].peer_id, id2);
    /* Later, identity 1's older record alone (a stale cache somewhere):
     * refused; the same record as before is fine. */
    fake_now_us += 61 * 1000000ull;
    record_line(1, 100, 60, 0, t.lines[0], sizeof t.lines[0], NULL);
    record_line(2, 100, 60, 0, t.lines[1], sizeof t.lines[1], NULL);
    t.n_lines = 2;
    CHECK_EQ(pkc_doh_lookup(d, "seeds.example", NULL, s, 4), 1);
    CHECK_STR(s[0].peer_id, id2);
    pkc_doh_free(d);
    /* At a per-peer name, another peer's record is refused. */
    memset(&t, 0, sizeof t);
    d = make(&t, 1);
    char owner_line[2048];
    record_line(2, 100, 60, 0, owner_line, sizeof owner_line, NULL);
    /* Move it to _pkc.<id1>.seeds.example. */
    const char *rest = strchr(owner_line, ' ');
    snprintf(t.lines[0], sizeof t.lines[0], "_pkc.%s.seeds.example.%s", id1, rest);
    t.n_lines = 1;
    CHECK_EQ(pkc_doh_lookup(d, "seeds.example", id1, s, 4), 0);
    CHECK_EQ(t.calls, 1);
    pkc_doh_free(d);
}
