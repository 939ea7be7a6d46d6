/* DNS messages of seed discovery (src/discovery/dnsmsg.c): queries padded
 * to 128 bytes with id 0; answers built with ldns and read back (several
 * records, split strings, TTLs, other names and types skipped); every
 * malformed answer refused with its reason (every truncation, a pointer
 * loop, lengths past the end, wrong id, TC, rcodes, another question);
 * TSIG key files; UPDATE messages whose TSIG ldns verifies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "discovery/dnsmsg.h"
#include "test.h"

#define NAME "_pkc.example.org"

#define CHECK_MSG(needle)                                                                          \
    do {                                                                                           \
        if (strstr(pkc_errmsg(), (needle)) == NULL)                                                \
            pkc_test_fail(__FILE__, __LINE__, "message \"%s\" lacks \"%s\"", pkc_errmsg(),         \
                          (needle));                                                               \
    } while (0)

typedef struct seen {
    int n;
    char text[4][1024];
    size_t strings[4];
    uint32_t ttl[4];
} seen;

static void on_txt(void *ud, const pkc_dnsrec_txt *s, size_t n, uint32_t ttl)
{
    seen *x = ud;
    if (x->n >= 4)
        return;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(x->text[x->n] + len, s[i].data, s[i].len);
        len += s[i].len;
    }
    x->text[x->n][len] = '\0';
    x->strings[x->n] = n;
    x->ttl[x->n] = ttl;
    x->n++;
}

/* An answer to the query for TXT at `qname` with the records of `lines`
 * (master-file lines), built by ldns; *len its size. */
static uint8_t *answer(const char *qname, const char *const *lines, size_t n, uint16_t id,
                       ldns_pkt_rcode rcode, size_t *len)
{
    ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str(qname), LDNS_RR_TYPE_TXT,
                                     LDNS_RR_CLASS_IN, LDNS_RD);
    ldns_pkt_set_id(p, id);
    ldns_pkt_set_qr(p, true);
    ldns_pkt_set_rcode(p, (uint8_t)rcode);
    for (size_t i = 0; i < n; i++) {
        ldns_rr *rr = NULL;
        if (ldns_rr_new_frm_str(&rr, lines[i], 0, NULL, NULL) != LDNS_STATUS_OK)
            abort();
        ldns_pkt_push_rr(
            p, strstr(lines[i], " SOA ") ? LDNS_SECTION_AUTHORITY : LDNS_SECTION_ANSWER, rr);
    }
    uint8_t *wire = NULL;
    if (ldns_pkt2wire(&wire, p, len) != LDNS_STATUS_OK)
        abort();
    ldns_pkt_free(p);
    return wire;
}

TEST(dnsmsg, query_padded_id_zero)
{
    const char *names[] = {"a.b", NAME, "_pkc.a-very-long-label-to-change-the-length.example.org.",
                           "x.y.z.w.v.u.t.s.r.q.p.o.n.m.l.k.j.i.h.g.f.e.d.c.b.a.example"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        uint8_t *q = NULL;
        size_t len = 0;
        CHECK_OK(pkc_dnsmsg_query(names[i], 16, &q, &len));
        CHECK_EQ(len % PKC_DNSMSG_QUERY_BLOCK, 0);
        ldns_pkt *p = NULL;
        CHECK(ldns_wire2pkt(&p, q, len) == LDNS_STATUS_OK);
        CHECK_EQ(ldns_pkt_id(p), 0);
        CHECK(ldns_pkt_rd(p));
        CHECK(!ldns_pkt_qr(p));
        CHECK_EQ(ldns_pkt_edns_udp_size(p), PKC_DNSMSG_EDNS_SIZE);
        ldns_rr *q0 = ldns_rr_list_rr(ldns_pkt_question(p), 0);
        CHECK_EQ(ldns_rr_get_type(q0), LDNS_RR_TYPE_TXT);
        ldns_rdf *want = ldns_dname_new_frm_str(names[i]);
        CHECK_EQ(ldns_dname_compare(ldns_rr_owner(q0), want), 0);
        ldns_rdf_deep_free(want);
        ldns_edns_option_list *ol = ldns_pkt_edns_get_option_list(p);
        CHECK(ol != NULL && ldns_edns_option_list_get_count(ol) == 1);
        CHECK_EQ(ldns_edns_get_code(ldns_edns_option_list_get_option(ol, 0)), LDNS_EDNS_PADDING);
        ldns_pkt_free(p);
        free(q);
    }
    uint8_t *q = NULL;
    size_t len = 0;
    CHECK_ERR(pkc_dnsmsg_query("a..b", 16, &q, &len), PKC_ERR_INVALID_ARG);
    CHECK(q == NULL);
}

TEST(dnsmsg, answer_records)
{
    char big[700];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char line_big[900];
    /* Three strings of 255, 255 and 189 bytes. */
    snprintf(line_big, sizeof line_big, NAME ". 120 IN TXT \"%.255s\" \"%.255s\" \"%s\"", big,
             big + 255, big + 510);
    const char *lines[] = {NAME ". 300 IN TXT \"pkc1=one\"", line_big,
                           "other.example.org. 5 IN TXT \"pkc1=other name\"",
                           NAME ". 7 IN A 192.0.2.1"};
    size_t len;
    uint8_t *a = answer(NAME, lines, 4, 0, LDNS_RCODE_NOERROR, &len);
    seen s = {0};
    uint32_t ttl = 0;
    CHECK_EQ(pkc_dnsmsg_parse_txt(a, len, NAME ".", on_txt, &s, &ttl), 2);
    CHECK_EQ(s.n, 2);
    CHECK_STR(s.text[0], "pkc1=one");
    CHECK_EQ(s.strings[0], 1);
    CHECK_EQ(s.ttl[0], 300);
    CHECK_STR(s.text[1], big);
    CHECK_EQ(s.strings[1], 3);
    CHECK_EQ(ttl, 120);
    /* Names compare without case. */
    memset(&s, 0, sizeof s);
    CHECK_EQ(pkc_dnsmsg_parse_txt(a, len, "_PKC.Example.ORG", on_txt, &s, NULL), 2);
    free(a);
}

TEST(dnsmsg, negative_answers)
{
    const char *soa[] = {"example.org. 3600 IN SOA ns.example.org. h.example.org. 1 60 60 60 42"};
    size_t len;
    seen s = {0};
    uint32_t ttl = 99;
    uint8_t *a = answer(NAME, soa, 1, 0, LDNS_RCODE_NXDOMAIN, &len);
    CHECK_ERR(pkc_dnsmsg_parse_txt(a, len, NAME, on_txt, &s, &ttl), PKC_ERR_NOT_FOUND);
    CHECK_MSG("NXDOMAIN");
    CHECK_EQ(ttl, 42);
    free(a);
    a = answer(NAME, soa, 1, 0, LDNS_RCODE_NOERROR, &len);
    CHECK_ERR(pkc_dnsmsg_parse_txt(a, len, NAME, on_txt, &s, &ttl), PKC_ERR_NOT_FOUND);
    CHECK_MSG("NODATA");
    free(a);
    const char *wrong[] = {NAME ". 7 IN A 192.0.2.1"};
    a = answer(NAME, wrong, 1, 0, LDNS_RCODE_NOERROR, &len);
    CHECK_ERR(pkc_dnsmsg_parse_txt(a, len, NAME, on_txt, &s, &ttl), PKC_ERR_MALFORMED);
    CHECK_MSG("wrong type: 1 answer records");
    free(a);
    a = answer(NAME, NULL, 0, 0, LDNS_RCODE_SERVFAIL, &len);
    CHECK_ERR(pkc_dnsmsg_parse_txt(a, len, NAME, on_txt, &s, &ttl), PKC_ERR_REFUSED);
    CHECK_MSG("SERVFAIL");
    free(a);
    CHECK_EQ(s.n, 0);
}

TEST(dnsmsg, malformed_answers)
{
    const char *lines[] = {NAME ". 300 IN TXT \"pkc1=one\" \"two\""};
    size_t len;
    seen s = {0};
    uint8_t *a = answer(NAME, lines, 1, 0, LDNS_RCODE_NOERROR, &len);
    /* Every truncation is refused, without a record. */
    for (size_t cut = 0; cut < len; cut++) {
        int rc = pkc_dnsmsg_parse_txt(a, cut, NAME, on_txt, &s, NULL);
        CHECK(rc == PKC_ERR_MALFORMED);
    }
    CHECK_EQ(s.n, 0);
    /* Lengths past the end: the TXT's RDLENGTH (the 2 bytes before its
     * RDATA) one more, and a string length above what remains. */
    uint8_t *b = malloc(len);
    size_t rdata = len - (1 + 8 + 1 + 3); /* RDATA: "\x08pkc1=one\x03two" */
    memcpy(b, a, len);
    CHECK_EQ(b[rdata - 1], 13);
    b[rdata - 1] = 14;
    CHECK_ERR(pkc_dnsmsg_parse_txt(b, len, NAME, on_txt, &s, NULL), PKC_ERR_MALFORMED);
    CHECK_MSG("not a DNS message");
    memcpy(b, a, len);
    b[rdata + 9] = 200;
    CHECK(pkc_dnsmsg_parse_txt(b, len, NAME, on_txt, &s, NULL) < 0);
    /* The wrong id, no QR bit, TC set. */
    memcpy(b, a, len);
    b[1] = 7;
    CHECK_ERR(pkc_dnsmsg_parse_txt(b, len, NAME, on_txt, &s, NULL), PKC_ERR_MALFORMED);
    CHECK_MSG("id 7");
    memcpy(b, a, len);
    b[2] &= 0x7f;
    CHECK_ERR(pkc_dnsmsg_parse_txt(b, len, NAME, on_txt, &s, NULL), PKC_ERR_MALFORMED);
    CHECK_MSG("not an answer");
    memcpy(b, a, len);
    b[2] |= 0x02;
    CHECK_ERR(pkc_dnsmsg_parse_txt(b, len, NAME, on_txt, &s, NULL), PKC_ERR_TRUNCATED);
    /* An answer to another question. */
    CHECK_ERR(pkc_dnsmsg_parse_txt(a, len, "_pkc.example.com", on_txt, &s, NULL),
              PKC_ERR_MALFORMED);
    CHECK_MSG("another question");
    CHECK_EQ(s.n, 0);
    free(b);
    free(a);
    /* A compression pointer to itself in the question name. */
    const uint8_t loop[] = {0, 0, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 16, 0, 1};
    CHECK_ERR(pkc_dnsmsg_parse_txt(loop, sizeof loop, NAME, on_txt, &s, NULL), PKC_ERR_MALFORMED);
    /* Two pointers to each other. */
    const uint8_t loop2[] = {0, 0, 0x81, 0x80, 0,  1,    0,  0, 0,  0, 0,
                             0, 1, 'a',  0xc0, 16, 0xc0, 14, 0, 16, 0, 1};
    CHECK_ERR(pkc_dnsmsg_parse_txt(loop2, sizeof loop2, NAME, on_txt, &s, NULL), PKC_ERR_MALFORMED);
    CHECK_ERR(pkc_dnsmsg_parse_txt(loop, 5, NAME, on_txt, &s, NULL), PKC_ERR_MALFORMED);
    CHECK_MSG("shorter than a DNS header");
    CHECK_EQ(s.n, 0);
}

#define KEYFILE                                                                                    \
    "key \"pkc-update\" {\n\talgorithm hmac-sha256;\n\tsecret "                                    \
    "\"dGhpcyBpcyBhIHRlc3Qgc2VjcmV0IGZvciBUU0lHIQ==\";\n};\n"

TEST(dnsmsg, tsig_key_file)
{
    pkc_dns_tsig_key k;
    CHECK_OK(pkc_dns_tsig_key_parse(KEYFILE, strlen(KEYFILE), &k));
    CHECK_STR(k.name, "pkc-update");
    CHECK_STR(k.secret, "dGhpcyBpcyBhIHRlc3Qgc2VjcmV0IGZvciBUU0lHIQ==");
    const char *md5 = "key \"k\" { algorithm hmac-md5; secret \"AAAA\"; };";
    CHECK_ERR(pkc_dns_tsig_key_parse(md5, strlen(md5), &k), PKC_ERR_UNSUPPORTED);
    const char *bad[] = {"",
                         "key",
                         "key \"k\" {",
                         "key \"k\" { secret \"!!\"; };",
                         "key \"k\" { algorithm hmac-sha256 secret \"AAAA\"; };",
                         "zone \"k\" { };",
                         "key \"k\" { colour \"red\"; };"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = pkc_dns_tsig_key_parse(bad[i], strlen(bad[i]), &k);
        CHECK(rc == PKC_ERR_MALFORMED || rc == PKC_ERR_UNSUPPORTED);
    }
}

TEST(dnsmsg, update_signed)
{
    pkc_dns_tsig_key k;
    CHECK_OK(pkc_dns_tsig_key_parse(KEYFILE, strlen(KEYFILE), &k));
    const char *line = "_pkc.peer.example.org. 300 IN TXT \"pkc1=abc\" \"def\"";
    for (int replace = 0; replace < 2; replace++) {
        uint8_t *u = NULL;
        size_t len = 0;
        CHECK_OK(pkc_dnsmsg_update(
            "example.org", line, replace,
            replace ? NULL : "_pkc.peer.example.org. 300 IN TXT \"pkc1=old\"", &k, &u, &len));
        ldns_pkt *p = NULL;
        CHECK(ldns_wire2pkt(&p, u, len) == LDNS_STATUS_OK);
        CHECK_EQ(ldns_pkt_get_opcode(p), LDNS_PACKET_UPDATE);
        /* Zone section (question), update section (authority). */
        ldns_rr *z = ldns_rr_list_rr(ldns_pkt_question(p), 0);
        CHECK_EQ(ldns_rr_get_type(z), LDNS_RR_TYPE_SOA);
        ldns_rr_list *up = ldns_pkt_authority(p);
        CHECK_EQ(ldns_rr_list_rr_count(up), 2);
        ldns_rr *del = ldns_rr_list_rr(up, 0), *add = ldns_rr_list_rr(up, 1);
        CHECK_EQ(ldns_rr_get_class(del), replace ? LDNS_RR_CLASS_ANY : LDNS_RR_CLASS_NONE);
        CHECK_EQ(ldns_rr_ttl(del), 0);
        CHECK_EQ(ldns_rr_rd_count(del), replace ? 0 : 1);
        CHECK_EQ(ldns_rr_get_class(add), LDNS_RR_CLASS_IN);
        CHECK_EQ(ldns_rr_rd_count(add), 2);
        CHECK(ldns_pkt_tsig(p) != NULL);
        CHECK(ldns_pkt_tsig_verify(p, u, len, "pkc-update.", k.secret, NULL));
        /* Another secret does not verify it. */
        CHECK(!ldns_pkt_tsig_verify(p, u, len, "pkc-update.",
                                    "b3RoZXIgc2VjcmV0IG90aGVyIHNlY3JldA==", NULL));
        ldns_pkt_free(p);
        free(u);
    }
    uint8_t *u = NULL;
    size_t len = 0;
    CHECK_ERR(pkc_dnsmsg_update("example.com", line, 1, NULL, &k, &u, &len), PKC_ERR_INVALID_ARG);
    CHECK_MSG("outside zone");
    CHECK_ERR(pkc_dnsmsg_update("example.org", "not a record", 1, NULL, &k, &u, &len),
              PKC_ERR_INVALID_ARG);
    /* Unsigned (the server refuses it: tests/net). */
    CHECK_OK(pkc_dnsmsg_update("example.org", line, 1, NULL, NULL, &u, &len));
    ldns_pkt *p = NULL;
    CHECK(ldns_wire2pkt(&p, u, len) == LDNS_STATUS_OK);
    CHECK(ldns_pkt_tsig(p) == NULL);
    ldns_pkt_free(p);
    free(u);
}

/* The answer to `query` with `rcode`, signed with `secret` over the
 * query's MAC when not NULL. */
static uint8_t *update_answer(const uint8_t *query, size_t qlen, int rcode, const char *secret,
                              size_t *len)
{
    ldns_pkt *q = NULL;
    if (ldns_wire2pkt(&q, query, qlen) != LDNS_STATUS_OK)
        abort();
    ldns_pkt *p = ldns_pkt_new();
    ldns_pkt_set_id(p, ldns_pkt_id(q));
    ldns_pkt_set_qr(p, true);
    ldns_pkt_set_opcode(p, LDNS_PACKET_UPDATE);
    ldns_pkt_set_rcode(p, (uint8_t)rcode);
    if (secret && ldns_pkt_tsig_sign(p, "pkc-update.", secret, 300, "hmac-sha256.",
                                     ldns_rr_rdf(ldns_pkt_tsig(q), 3)) != LDNS_STATUS_OK)
        abort();
    uint8_t *w = NULL;
    if (ldns_pkt2wire(&w, p, len) != LDNS_STATUS_OK)
        abort();
    ldns_pkt_free(p);
    ldns_pkt_free(q);
    return w;
}

TEST(dnsmsg, update_result)
{
    pkc_dns_tsig_key k;
    CHECK_OK(pkc_dns_tsig_key_parse(KEYFILE, strlen(KEYFILE), &k));
    const char *line = "_pkc.example.org. 300 IN TXT \"pkc1=abc\"";
    uint8_t *q = NULL;
    size_t qlen = 0;
    CHECK_OK(pkc_dnsmsg_update("example.org", line, 1, NULL, &k, &q, &qlen));
    const char *other = "b3RoZXIgc2VjcmV0IG90aGVyIHNlY3JldA==";
    for (int rcode = 0; rcode < 10; rcode++) {
        size_t len = 0;
        /* Signed by the server with our key. */
        uint8_t *w = update_answer(q, qlen, rcode, k.secret, &len);
        int rc = pkc_dnsmsg_update_result(w, len, q, qlen, &k);
        if (rcode == 0)
            CHECK_OK(rc);
        else
            CHECK_ERR(rc, PKC_ERR_REFUSED);
        if (rcode == LDNS_RCODE_REFUSED || rcode == LDNS_RCODE_NOTAUTH)
            CHECK_MSG("TSIG key");
        CHECK_ERR(pkc_dnsmsg_update_result(w, 3, q, qlen, &k), PKC_ERR_MALFORMED);
        /* Another update's answer (another id). */
        uint8_t q2[12];
        memcpy(q2, q, 12);
        q2[1] ^= 1;
        CHECK_ERR(pkc_dnsmsg_update_result(w, len, q2, 12, NULL), PKC_ERR_MALFORMED);
        free(w);
        /* A success unsigned, or signed with another key, is not believed;
         * refusals are refusals however they are signed. */
        w = update_answer(q, qlen, rcode, NULL, &len);
        rc = pkc_dnsmsg_update_result(w, len, q, qlen, &k);
        CHECK_ERR(rc, rcode == 0 ? PKC_ERR_BAD_SIGNATURE : PKC_ERR_REFUSED);
        if (rcode == 0)
            CHECK_MSG("not signed");
        /* Without a key, an unsigned success is one. */
        rc = pkc_dnsmsg_update_result(w, len, q, qlen, NULL);
        CHECK_ERR(rc, rcode == 0 ? 0 : PKC_ERR_REFUSED);
        free(w);
        w = update_answer(q, qlen, rcode, other, &len);
        rc = pkc_dnsmsg_update_result(w, len, q, qlen, &k);
        CHECK_ERR(rc, rcode == 0 ? PKC_ERR_BAD_SIGNATURE : PKC_ERR_REFUSED);
        if (rcode == 0)
            CHECK_MSG("does not verify");
        free(w);
    }
    free(q);
}
