/* DNS seed records (src/discovery/dnsrec.c): round trips through bytes,
 * text and TXT strings, every changed byte and character, every truncation,
 * splitting at the 255-byte boundary, the room, peer and sequence checks,
 * owner names and domain validation, zone lines, and the vectors an
 * independent Python implementation wrote (tests/vectors/gen_dnsrec.py). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/identity.h"
#include "discovery/dnsrec.h"
#include "proto/frame.h"
#include "test.h"
#include "vectors.h"
#include "util/text.h"

#define T0 1767225600000ull /* 2026-01-01T00:00:00Z */

#define CHECK_MSG(needle)                                                                          \
    do {                                                                                           \
        if (strstr(pkc_errmsg(), (needle)) == NULL)                                                \
            pkc_test_fail(__FILE__, __LINE__, "message \"%s\" lacks \"%s\"", pkc_errmsg(),         \
                          (needle));                                                               \
    } while (0)

static const uint8_t FP[32] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa,
                               0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5,
                               0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf};
static const uint8_t ROOM[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static const char *const ADDRS[] = {"udp:192.168.1.20:41000", "udp:[fd00::20]:41000"};
static const char *const ADDRS8[] = {
    "udp:[2001:db8::1]:1", "udp:[2001:db8::2]:2", "udp:[2001:db8::3]:3", "udp:[2001:db8::4]:4",
    "udp:[2001:db8::5]:5", "udp:[2001:db8::6]:6", "udp:[2001:db8::7]:7", "udp:[2001:db8::8]:65535"};

static pkc_identity *make_identity(uint8_t fill)
{
    uint8_t seed[32];
    memset(seed, fill, sizeof seed);
    pkc_identity *id = NULL;
    if (pkc_identity_from_seed(seed, &id) != 0)
        abort();
    return id;
}

static pkc_dnsrec_params params(uint64_t sequence)
{
    pkc_dnsrec_params p = {.sequence = sequence,
                           .room_id = ROOM,
                           .dial = {.fingerprint = FP,
                                    .ufrag = "Ab+/1234",
                                    .pwd = "abcdefghijklmnopqrstuv+/",
                                    .addresses = ADDRS,
                                    .n_addresses = 2}};
    return p;
}

static void make(pkc_dnsrec *rec, uint64_t sequence)
{
    pkc_identity *id = make_identity(1);
    pkc_dnsrec_params p = params(sequence);
    if (pkc_dnsrec_create(id, &p, rec) != 0)
        abort();
    pkc_identity_free(id);
}

/* The longest record: 64-character ICE strings, 8 IPv6 addresses. */
static void make_longest(pkc_dnsrec *rec)
{
    pkc_identity *id = make_identity(2);
    pkc_dnsrec_params p = params(PKC_TIMESTAMP_MAX);
    char ufrag[65], pwd[65];
    memset(ufrag, 'u', 64);
    memset(pwd, 'p', 64);
    ufrag[64] = pwd[64] = 0;
    p.dial.ufrag = ufrag;
    p.dial.pwd = pwd;
    p.dial.addresses = ADDRS8;
    p.dial.n_addresses = 8;
    if (pkc_dnsrec_create(id, &p, rec) != 0)
        abort();
    pkc_identity_free(id);
}

static size_t encode(const pkc_dnsrec *rec, uint8_t *out)
{
    pkc_buf b = PKC_BUF_INIT;
    if (pkc_dnsrec_encode(rec, &b) != 0)
        abort();
    memcpy(out, b.data, b.len);
    size_t n = b.len;
    pkc_buf_free(&b);
    return n;
}

/* Text -> split -> parse_txt. */
static int parse_text(const char *text, size_t len, pkc_dnsrec *out)
{
    pkc_dnsrec_txt s[PKC_DNSREC_STRINGS_MAX + 4];
    int n = pkc_dnsrec_split(text, len, s, PKC_DNSREC_STRINGS_MAX + 4);
    if (n < 0)
        return n;
    return pkc_dnsrec_parse_txt(s, (size_t)n, out);
}

TEST(dnsrec, round_trips_through_bytes_text_and_strings)
{
    pkc_dnsrec rec, back;
    make(&rec, T0);
    CHECK_EQ(rec.version, PKC_DNSREC_VERSION);
    CHECK_EQ_U64(rec.sequence, T0);
    CHECK_MEM(rec.room_id, ROOM, 8);
    pkc_identity *id = make_identity(1);
    CHECK_STR(rec.peer_id, id->peer_id);
    pkc_identity_free(id);

    uint8_t bytes[PKC_DNSREC_BYTES_MAX];
    size_t n = encode(&rec, bytes);
    /* version, key, sequence (6 bytes), room, fingerprint, ufrag, pwd,
     * count, IPv4 and IPv6 addresses, signature. */
    CHECK_EQ(n, 1 + 32 + 6 + 8 + 32 + 9 + 25 + 1 + 7 + 19 + 64);
    memset(&back, 0, sizeof back);
    CHECK_OK(pkc_dnsrec_decode(bytes, n, &back));
    CHECK_MEM(&back, &rec, sizeof back);

    char text[PKC_DNSREC_TEXT_MAX + 1];
    int len = pkc_dnsrec_text(&rec, text, sizeof text);
    CHECK_EQ(len, (int)strlen(text));
    CHECK_EQ((size_t)len, PKC_DNSREC_PREFIX_LEN + pkc_base64url_encoded_len(n));
    CHECK(strncmp(text, "pkc1=", 5) == 0);
    /* Longer than one character-string: split in two. */
    CHECK(len > 255 && len <= 510);
    pkc_dnsrec_txt s[4];
    CHECK_EQ(pkc_dnsrec_split(text, (size_t)len, s, 4), 2);
    CHECK_EQ(s[0].len, 255);
    CHECK_EQ(s[1].len, (size_t)len - 255);
    CHECK((const char *)s[1].data == text + 255);
    memset(&back, 0, sizeof back);
    CHECK_OK(pkc_dnsrec_parse_txt(s, 2, &back));
    CHECK_MEM(&back, &rec, sizeof back);
    /* Strings in another order are another text: refused. */
    pkc_dnsrec_txt swapped[2] = {s[1], s[0]};
    CHECK(pkc_dnsrec_parse_txt(swapped, 2, &back) != 0);
    /* Any other cut into strings of at most 255 bytes reads the same (a
     * publisher's tool may cut differently): joined without separators. */
    for (size_t cut = 0; cut <= (size_t)len; cut += 7) {
        if (cut > 255 || (size_t)len - cut > 255)
            continue;
        pkc_dnsrec_txt two[2] = {{(const uint8_t *)text, cut},
                                 {(const uint8_t *)text + cut, (size_t)len - cut}};
        CHECK_OK(pkc_dnsrec_parse_txt(two, 2, &back));
    }
    /* Too small a buffer for the text. */
    CHECK_ERR(pkc_dnsrec_text(&rec, text, (size_t)len), PKC_ERR_TOO_LARGE);
}

TEST(dnsrec, the_longest_record_splits_into_three_strings)
{
    pkc_dnsrec rec, back;
    make_longest(&rec);
    uint8_t bytes[PKC_DNSREC_BYTES_MAX];
    CHECK_EQ(encode(&rec, bytes), PKC_DNSREC_BYTES_MAX);
    char text[PKC_DNSREC_TEXT_MAX + 1];
    int len = pkc_dnsrec_text(&rec, text, sizeof text);
    CHECK_EQ(len, PKC_DNSREC_TEXT_MAX);
    pkc_dnsrec_txt s[PKC_DNSREC_STRINGS_MAX];
    CHECK_EQ(PKC_DNSREC_STRINGS_MAX, 3);
    CHECK_EQ(pkc_dnsrec_split(text, (size_t)len, s, PKC_DNSREC_STRINGS_MAX), 3);
    CHECK(s[0].len == 255 && s[1].len == 255 && s[2].len == (size_t)len - 510);
    CHECK_ERR(pkc_dnsrec_split(text, (size_t)len, s, 2), PKC_ERR_TOO_LARGE);
    CHECK_OK(pkc_dnsrec_parse_txt(s, 3, &back));
    CHECK_MEM(&back, &rec, sizeof back);
    char line[PKC_DNSREC_ZONE_LINE_MAX + 1];
    char owner[PKC_DNS_NAME_MAX + 1];
    /* The longest name with a peer id: 253 bytes. */
    char domain[PKC_DNS_NAME_MAX + 1];
    size_t dlen = PKC_DNS_NAME_MAX - 5 - PKC_PEER_ID_LEN - 1;
    memset(domain, 'a', dlen);
    for (size_t i = 63; i < dlen; i += 64)
        domain[i] = '.';
    domain[dlen] = 0;
    CHECK_EQ(pkc_dnsrec_owner_name(domain, rec.peer_id, owner, sizeof owner), PKC_DNS_NAME_MAX);
    int ll = pkc_dnsrec_zone_line(&rec, owner, PKC_DNSREC_TTL_MAX, line, sizeof line);
    CHECK_EQ(ll, PKC_DNSREC_ZONE_LINE_MAX);
    CHECK_ERR(pkc_dnsrec_zone_line(&rec, owner, PKC_DNSREC_TTL_MAX, line, (size_t)ll),
              PKC_ERR_TOO_LARGE);
}

TEST(dnsrec, split_at_the_255_byte_boundary)
{
    char text[800];
    memset(text, 'x', sizeof text);
    pkc_dnsrec_txt s[4];
    static const struct {
        size_t len;
        int n;
        size_t last;
    } cases[] = {{0, 1, 0},     {1, 1, 1},     {254, 1, 254}, {255, 1, 255}, {256, 2, 1},
                 {509, 2, 254}, {510, 2, 255}, {511, 3, 1},   {765, 3, 255}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = pkc_dnsrec_split(text, cases[i].len, s, 4);
        CHECK_EQ(n, cases[i].n);
        CHECK_EQ(s[n - 1].len, cases[i].last);
        size_t total = 0;
        for (int k = 0; k < n; k++) {
            CHECK((const char *)s[k].data == text + total);
            CHECK(s[k].len <= 255);
            total += s[k].len;
        }
        CHECK_EQ(total, cases[i].len);
    }
    CHECK_ERR(pkc_dnsrec_split(text, 766, s, 3), PKC_ERR_TOO_LARGE);
    /* A character-string of 256 bytes cannot come from DNS. */
    pkc_dnsrec rec;
    pkc_dnsrec_txt big = {(const uint8_t *)text, 256};
    CHECK_ERR(pkc_dnsrec_parse_txt(&big, 1, &rec), PKC_ERR_MALFORMED);
    CHECK_MSG("string 0 has 256 bytes");
    /* More text than the longest record. */
    pkc_dnsrec_txt many[4] = {{(const uint8_t *)text, 255},
                              {(const uint8_t *)text, 255},
                              {(const uint8_t *)text, 255},
                              {(const uint8_t *)text, 255}};
    CHECK_ERR(pkc_dnsrec_parse_txt(many, 4, &rec), PKC_ERR_TOO_LARGE);
    CHECK_ERR(pkc_dnsrec_parse_txt(many, 0, &rec), PKC_ERR_MALFORMED);
}

TEST(dnsrec, every_changed_byte_is_refused)
{
    pkc_dnsrec rec, back;
    make(&rec, T0);
    uint8_t bytes[PKC_DNSREC_BYTES_MAX];
    size_t n = encode(&rec, bytes);
    for (size_t i = 0; i < n; i++) {
        for (int flip = 1; flip < 256; flip <<= 1) {
            bytes[i] ^= (uint8_t)flip;
            if (pkc_dnsrec_decode(bytes, n, &back) == 0)
                pkc_test_fail(__FILE__, __LINE__, "byte %zu ^ %d accepted", i, flip);
            bytes[i] ^= (uint8_t)flip;
        }
    }
    /* Every character of the text, changed to each other base64url one. */
    char text[PKC_DNSREC_TEXT_MAX + 1];
    int len = pkc_dnsrec_text(&rec, text, sizeof text);
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t accepted = 0;
    for (int i = 0; i < len; i++) {
        char was = text[i];
        for (const char *c = alphabet; *c; c++) {
            if (*c == was)
                continue;
            text[i] = *c;
            accepted += parse_text(text, (size_t)len, &back) == 0;
        }
        text[i] = was;
    }
    CHECK_EQ(accepted, 0);
    CHECK_OK(parse_text(text, (size_t)len, &back));
}

TEST(dnsrec, every_truncation_is_refused)
{
    pkc_dnsrec rec, back;
    make(&rec, T0);
    uint8_t bytes[PKC_DNSREC_BYTES_MAX + 1];
    size_t n = encode(&rec, bytes);
    for (size_t len = 0; len < n; len++) {
        memset(&back, 0xee, sizeof back);
        int rc = pkc_dnsrec_decode(bytes, len, &back);
        CHECK(rc == PKC_ERR_TRUNCATED || rc == PKC_ERR_MALFORMED || rc == PKC_ERR_RANGE ||
              rc == PKC_ERR_BAD_SIGNATURE);
        CHECK(((uint8_t *)&back)[0] == 0xee && ((uint8_t *)&back)[sizeof back - 1] == 0xee);
    }
    bytes[n] = 0;
    CHECK_ERR(pkc_dnsrec_decode(bytes, n + 1, &back), PKC_ERR_MALFORMED);
    CHECK_MSG("signature: 1 unexpected bytes");
    char text[PKC_DNSREC_TEXT_MAX + 1];
    int len = pkc_dnsrec_text(&rec, text, sizeof text);
    for (int l = 0; l < len; l++)
        CHECK(parse_text(text, (size_t)l, &back) != 0);
    /* The last string of a split record missing. */
    pkc_dnsrec_txt s[4];
    CHECK_EQ(pkc_dnsrec_split(text, (size_t)len, s, 4), 2);
    CHECK(pkc_dnsrec_parse_txt(s, 1, &back) != 0);
}

TEST(dnsrec, refusals_say_which)
{
    pkc_dnsrec rec, back;
    make(&rec, T0);
    uint8_t bytes[PKC_DNSREC_BYTES_MAX + 8];
    size_t n = encode(&rec, bytes);

    bytes[40] ^= 1; /* the room id */
    CHECK_ERR(pkc_dnsrec_decode(bytes, n, &back), PKC_ERR_BAD_SIGNATURE);
    CHECK_MSG("dns record: tampered: the signature does not verify");
    bytes[40] ^= 1;
    bytes[0] = 2;
    CHECK_ERR(pkc_dnsrec_decode(bytes, n, &back), PKC_ERR_UNSUPPORTED);
    CHECK_MSG("dns record: version 2, this pkc reads version 1");
    bytes[0] = 1;
    CHECK_ERR(pkc_dnsrec_decode(bytes, PKC_DNSREC_BYTES_MAX + 1, &back), PKC_ERR_TOO_LARGE);

    char text[PKC_DNSREC_TEXT_MAX + 1];
    int len = pkc_dnsrec_text(&rec, text, sizeof text);
    text[3] = '2';
    CHECK_ERR(parse_text(text, (size_t)len, &back), PKC_ERR_UNSUPPORTED);
    CHECK_MSG("dns record: text version 2, this pkc reads version 1");
    text[3] = '1';
    text[4] = ':';
    CHECK_ERR(parse_text(text, (size_t)len, &back), PKC_ERR_MALFORMED);
    CHECK_MSG("no '=' after \"pkc1\"");
    text[4] = '=';
    char was = text[20];
    text[20] = '+';
    CHECK_ERR(parse_text(text, (size_t)len, &back), PKC_ERR_MALFORMED);
    CHECK_MSG("byte 20 of the text is not base64url");
    text[20] = was;
    CHECK_ERR(parse_text("v=spf1 -all", 11, &back), PKC_ERR_MALFORMED);
    CHECK_MSG("dns record: not a pkc record");
    CHECK_ERR(parse_text("pkc", 3, &back), PKC_ERR_MALFORMED);
    CHECK_ERR(parse_text("pkc1=", 5, &back), PKC_ERR_TRUNCATED);
    /* Nonzero unused bits in the last character (428 bytes: 4 unused bits). */
    make_longest(&rec);
    len = pkc_dnsrec_text(&rec, text, sizeof text);
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char last = text[len - 1];
    text[len - 1] = b64[(strchr(b64, last) - b64) ^ 1];
    CHECK_ERR(parse_text(text, (size_t)len, &back), PKC_ERR_MALFORMED);
    CHECK_MSG("dns record: malformed: base64url");
    text[len - 1] = last;
    CHECK_OK(parse_text(text, (size_t)len, &back));
}

TEST(dnsrec, sequence_room_and_peer_checks)
{
    pkc_dnsrec rec, newer;
    make(&rec, T0);
    make(&newer, T0 + 1);
    CHECK_OK(pkc_dnsrec_check(&rec, ROOM, NULL, 0));
    CHECK_OK(pkc_dnsrec_check(&rec, ROOM, NULL, T0 - 1));
    CHECK_ERR(pkc_dnsrec_check(&rec, ROOM, NULL, T0), PKC_ERR_STALE);
    CHECK_MSG("dns record: older record ignored: sequence 1767225600000, 1767225600000 already "
              "seen");
    CHECK_ERR(pkc_dnsrec_check(&rec, ROOM, NULL, T0 + 1), PKC_ERR_STALE);
    /* A reader that took `newer` ignores `rec` afterwards. */
    uint64_t last = 0;
    CHECK_OK(pkc_dnsrec_check(&newer, ROOM, NULL, last));
    last = newer.sequence;
    CHECK_ERR(pkc_dnsrec_check(&rec, ROOM, NULL, last), PKC_ERR_STALE);
    CHECK_ERR(pkc_dnsrec_check(&newer, ROOM, NULL, last), PKC_ERR_STALE);

    uint8_t other[8] = {1, 2, 3, 4, 5, 6, 7, 9};
    CHECK_ERR(pkc_dnsrec_check(&rec, other, NULL, 0), PKC_ERR_MISMATCH);
    CHECK_MSG("dns record: for another room (0102030405060708), ignored");
    CHECK_OK(pkc_dnsrec_check(&rec, ROOM, rec.peer_id, 0));
    pkc_identity *b = make_identity(2);
    CHECK_ERR(pkc_dnsrec_check(&rec, ROOM, b->peer_id, 0), PKC_ERR_MISMATCH);
    CHECK_MSG("published under the name of");
    pkc_identity_free(b);

    /* Sequence limits at creation and on the wire. */
    pkc_identity *a = make_identity(1);
    pkc_dnsrec_params p = params(0);
    CHECK_ERR(pkc_dnsrec_create(a, &p, &rec), PKC_ERR_RANGE);
    p.sequence = PKC_TIMESTAMP_MAX + 1;
    CHECK_ERR(pkc_dnsrec_create(a, &p, &rec), PKC_ERR_RANGE);
    p.sequence = 1;
    CHECK_OK(pkc_dnsrec_create(a, &p, &rec));
    rec.sequence = 0;
    pkc_buf buf = PKC_BUF_INIT;
    CHECK_ERR(pkc_dnsrec_encode(&rec, &buf), PKC_ERR_INVALID_ARG);
    CHECK_EQ(buf.len, 0);
    /* Dial information outside its limits is refused as in invitations. */
    p.dial.n_addresses = 0;
    CHECK_ERR(pkc_dnsrec_create(a, &p, &rec), PKC_ERR_INVALID_ARG);
    CHECK_MSG("dns record: 0 addresses");
    p.dial.n_addresses = 2;
    p.dial.ufrag = "abc";
    CHECK_ERR(pkc_dnsrec_create(a, &p, &rec), PKC_ERR_INVALID_ARG);
    CHECK_MSG("dns record: ICE ufrag must be 4..64 ice-chars");
    p.dial.ufrag = "abcd";
    p.room_id = NULL;
    CHECK_ERR(pkc_dnsrec_create(a, &p, &rec), PKC_ERR_INVALID_ARG);
    pkc_identity_free(a);
    pkc_buf_free(&buf);
}

TEST(dnsrec, owner_names_and_domains)
{
    char name[PKC_DNS_NAME_MAX + 1];
    pkc_identity *a = make_identity(1);
    const char *pid = a->peer_id;
    CHECK_EQ(pkc_dnsrec_owner_name("example.org", NULL, name, sizeof name), 16);
    CHECK_STR(name, "_pkc.example.org");
    CHECK_EQ(pkc_dnsrec_owner_name("Example.ORG.", NULL, name, sizeof name), 16);
    CHECK_STR(name, "_pkc.example.org");
    CHECK(pkc_dnsrec_owner_name("seeds.example.org", pid, name, sizeof name) > 0);
    char want[128];
    snprintf(want, sizeof want, "_pkc.%s.seeds.example.org", pid);
    CHECK_STR(name, want);
    /* An upper-case peer id is the same id: one spelling of the name. */
    char upper[PKC_PEER_ID_SIZE];
    for (size_t i = 0; i < sizeof upper; i++)
        upper[i] = (char)(pid[i] >= 'a' && pid[i] <= 'z' ? pid[i] - 32 : pid[i]);
    CHECK(pkc_dnsrec_owner_name("seeds.example.org", upper, name, sizeof name) > 0);
    CHECK_STR(name, want);
    CHECK_ERR(pkc_dnsrec_owner_name("example.org", "pkc1notanid", name, sizeof name),
              PKC_ERR_INVALID_ARG);
    CHECK_MSG("not a peer id");
    CHECK_ERR(pkc_dnsrec_owner_name("example.org", NULL, name, 16), PKC_ERR_TOO_LARGE);

    CHECK_OK(pkc_dns_domain_check("org"));
    CHECK_OK(pkc_dns_domain_check("a-b.c_d.example"));
    CHECK_OK(pkc_dns_domain_check("xn--caf-dma.example."));
    static const struct {
        const char *domain;
        const char *msg;
    } bad[] = {{"", "domain: empty"},
               {".", "domain: empty"},
               {"example..org", "empty label at byte 8"},
               {".example.org", "empty label at byte 0"},
               {"example.org..", "empty label at byte 12"},
               {"-example.org", "begins or ends with '-'"},
               {"example-.org", "begins or ends with '-'"},
               {"exa mple.org", "byte 3 is not a letter"},
               {"caf\xc3\xa9.example", "xn--"},
               {"example.org/x", "byte 11 is not"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_ERR(pkc_dns_domain_check(bad[i].domain), PKC_ERR_INVALID_ARG);
        CHECK_MSG(bad[i].msg);
    }
    CHECK_ERR(pkc_dns_domain_check(NULL), PKC_ERR_INVALID_ARG);
    /* Labels: 63 bytes accepted, 64 refused. */
    char d[300];
    memset(d, 'a', 63);
    strcpy(d + 63, ".org");
    CHECK_OK(pkc_dns_domain_check(d));
    memset(d, 'a', 64);
    strcpy(d + 64, ".org");
    CHECK_ERR(pkc_dns_domain_check(d), PKC_ERR_INVALID_ARG);
    CHECK_MSG("label at byte 0 has 64 bytes, at most 63");
    /* Names: 253 bytes accepted (254 with the final dot), 254 refused. */
    memset(d, 'a', 253);
    for (size_t i = 63; i < 253; i += 64)
        d[i] = '.';
    d[253] = 0;
    CHECK_OK(pkc_dns_domain_check(d));
    strcpy(d + 253, ".");
    CHECK_OK(pkc_dns_domain_check(d));
    d[253] = 'a';
    d[254] = 0;
    CHECK_ERR(pkc_dns_domain_check(d), PKC_ERR_INVALID_ARG);
    CHECK_MSG("longer than 253 bytes");
    /* A domain that fits but whose owner name would not. */
    d[253 - 5] = 0;
    CHECK_OK(pkc_dns_domain_check(d));
    CHECK_EQ(pkc_dnsrec_owner_name(d, NULL, name, sizeof name), 253);
    d[253 - 4] = 0;
    d[253 - 5] = 'a';
    CHECK_OK(pkc_dns_domain_check(d));
    CHECK_ERR(pkc_dnsrec_owner_name(d, NULL, name, sizeof name), PKC_ERR_INVALID_ARG);
    CHECK_MSG("the name would have 254 bytes");
    pkc_identity_free(a);
}

TEST(dnsrec, zone_lines_and_quoting)
{
    pkc_dnsrec rec, back;
    make(&rec, T0);
    char text[PKC_DNSREC_TEXT_MAX + 1], line[PKC_DNSREC_ZONE_LINE_MAX + 1];
    int len = pkc_dnsrec_text(&rec, text, sizeof text);
    int ll = pkc_dnsrec_zone_line(&rec, "_pkc.example.org", 0, line, sizeof line);
    CHECK_EQ(ll, (int)strlen(line));
    char want[PKC_DNSREC_ZONE_LINE_MAX + 1];
    snprintf(want, sizeof want, "_pkc.example.org. 300 IN TXT \"%.255s\" \"%s\"", text, text + 255);
    CHECK_STR(line, want);
    CHECK(pkc_dnsrec_zone_line(&rec, "_pkc.example.org.", 3600, line, sizeof line) > 0);
    snprintf(want, sizeof want, "_pkc.example.org. 3600 IN TXT \"%.255s\" \"%s\"", text,
             text + 255);
    CHECK_STR(line, want);
    CHECK_ERR(
        pkc_dnsrec_zone_line(&rec, "_pkc.example.org", PKC_DNSREC_TTL_MAX + 1, line, sizeof line),
        PKC_ERR_INVALID_ARG);
    CHECK_ERR(pkc_dnsrec_zone_line(&rec, "bad name", 0, line, sizeof line), PKC_ERR_INVALID_ARG);
    CHECK_ERR(pkc_dnsrec_zone_line(&rec, "_pkc.example.org", 0, line, 40), PKC_ERR_TOO_LARGE);
    CHECK_STR(line, "");
    /* The strings read back from the line: what a resolver would answer. */
    CHECK(pkc_dnsrec_zone_line(&rec, "_pkc.example.org", 0, line, sizeof line) > 0);
    char *a = strchr(line, '"') + 1, *a_end = strchr(a, '"');
    char *b = strchr(a_end + 1, '"') + 1, *b_end = strchr(b, '"');
    pkc_dnsrec_txt s[2] = {{(const uint8_t *)a, (size_t)(a_end - a)},
                           {(const uint8_t *)b, (size_t)(b_end - b)}};
    CHECK_EQ(s[0].len + s[1].len, (size_t)len);
    CHECK_OK(pkc_dnsrec_parse_txt(s, 2, &back));
    CHECK_MEM(&back, &rec, sizeof back);

    /* Quoting per RFC 1035 5.1. */
    char q[64];
    CHECK_EQ(pkc_dns_quote((const uint8_t *)"a\"b\\c\x01\xff ", 8, q, sizeof q), 18);
    CHECK_STR(q, "\"a\\\"b\\\\c\\001\\255 \"");
    CHECK_EQ(pkc_dns_quote(NULL, 0, q, sizeof q), 2);
    CHECK_STR(q, "\"\"");
    CHECK_ERR(pkc_dns_quote((const uint8_t *)"abc", 3, q, 5), PKC_ERR_TOO_LARGE);
    CHECK_EQ(pkc_dns_quote((const uint8_t *)"abc", 3, q, 6), 5);
}

/* --- Vectors -------------------------------------------------------------- */

/* A JSON array of strings as TXT strings (pointing into the JSON). */
static size_t txt_strings(json_t *arr, pkc_dnsrec_txt *s, size_t max)
{
    size_t n = json_array_size(arr);
    for (size_t i = 0; i < n && i < max; i++) {
        json_t *v = json_array_get(arr, i);
        s[i].data = (const uint8_t *)json_string_value(v);
        s[i].len = json_string_length(v);
    }
    return n < max ? n : max;
}

TEST(dnsrec, vectors)
{
    json_t *j = pkc_test_vectors_load("dnsrec.json");
    CHECK(j != NULL);
    if (j == NULL)
        return;
    size_t i;
    json_t *v;
    int seen = 0;
    json_array_foreach(json_object_get(j, "valid"), i, v)
    {
        uint8_t seed[32], room_secret[32], fp[32], want[PKC_DNSREC_BYTES_MAX], bytes[512];
        const char *addrs[PKC_INVITE_ADDRESSES_MAX];
        pkc_identity *id = NULL;
        CHECK_EQ(pkc_test_unhex(pkc_test_json_str(v, "seed"), seed, 32), 32);
        CHECK_OK(pkc_identity_from_seed(seed, &id));
        CHECK_EQ(pkc_test_unhex(pkc_test_json_str(v, "room_secret"), room_secret, 32), 32);
        pkc_room_key k;
        pkc_room_key_derive(room_secret, &k);
        char hex[2 * PKC_DNSREC_BYTES_MAX + 1];
        pkc_hex_encode(hex, k.id, 8);
        CHECK_STR(hex, pkc_test_json_str(v, "room_id"));
        pkc_test_unhex(pkc_test_json_str(v, "fingerprint"), fp, 32);
        json_t *a = json_object_get(v, "addresses");
        pkc_dnsrec_params p = {.sequence = pkc_test_json_u64(v, "sequence"),
                               .room_id = k.id,
                               .dial = {.fingerprint = fp,
                                        .ufrag = pkc_test_json_str(v, "ufrag"),
                                        .pwd = pkc_test_json_str(v, "pwd"),
                                        .addresses = addrs,
                                        .n_addresses = json_array_size(a)}};
        for (size_t x = 0; x < p.dial.n_addresses && x < PKC_INVITE_ADDRESSES_MAX; x++)
            addrs[x] = json_string_value(json_array_get(a, x));
        pkc_dnsrec rec, back;
        CHECK_OK(pkc_dnsrec_create(id, &p, &rec));
        CHECK_STR(rec.peer_id, pkc_test_json_str(v, "peer_id"));
        size_t n = encode(&rec, bytes);
        CHECK_EQ(pkc_test_unhex(pkc_test_json_str(v, "bytes"), want, sizeof want), n);
        CHECK_MEM(bytes, want, n);
        char text[PKC_DNSREC_TEXT_MAX + 1];
        pkc_dnsrec_text(&rec, text, sizeof text);
        CHECK_STR(text, pkc_test_json_str(v, "text"));
        /* The strings: as split, and read back. */
        pkc_dnsrec_txt s[PKC_DNSREC_STRINGS_MAX], ws[PKC_DNSREC_STRINGS_MAX];
        int ns = pkc_dnsrec_split(text, strlen(text), s, PKC_DNSREC_STRINGS_MAX);
        size_t nw = txt_strings(json_object_get(v, "strings"), ws, PKC_DNSREC_STRINGS_MAX);
        CHECK_EQ((size_t)ns, nw);
        for (int x = 0; x < ns && (size_t)x < nw; x++) {
            CHECK_EQ(s[x].len, ws[x].len);
            CHECK_MEM(s[x].data, ws[x].data, s[x].len);
        }
        CHECK_OK(pkc_dnsrec_parse_txt(ws, nw, &back));
        CHECK_MEM(&back, &rec, sizeof back);
        CHECK_OK(pkc_dnsrec_check(&back, k.id, pkc_test_json_str(v, "peer_id"), 0));
        /* Names and the zone line. */
        char name[PKC_DNS_NAME_MAX + 1], line[PKC_DNSREC_ZONE_LINE_MAX + 1];
        CHECK(pkc_dnsrec_owner_name(pkc_test_json_str(v, "domain"), NULL, name, sizeof name) > 0);
        CHECK_STR(name, pkc_test_json_str(v, "owner"));
        CHECK(pkc_dnsrec_owner_name(pkc_test_json_str(v, "domain"), rec.peer_id, name, sizeof name) > 0);
        CHECK_STR(name, pkc_test_json_str(v, "peer_owner"));
        CHECK(pkc_dnsrec_zone_line(&rec, pkc_test_json_str(v, "owner"), (uint32_t)pkc_test_json_u64(v, "ttl"), line,
                                   sizeof line) > 0);
        CHECK_STR(line, pkc_test_json_str(v, "zone_line"));
        pkc_identity_free(id);
        seen++;
    }
    CHECK(seen >= 2);
    seen = 0;
    json_array_foreach(json_object_get(j, "invalid"), i, v)
    {
        pkc_dnsrec_txt s[8];
        size_t n = txt_strings(json_object_get(v, "strings"), s, 8);
        pkc_dnsrec rec;
        uint8_t room[8];
        int rc = pkc_dnsrec_parse_txt(s, n, &rec);
        if (rc == 0 && json_object_get(v, "room_id")) {
            pkc_test_unhex(pkc_test_json_str(v, "room_id"), room, 8);
            rc = pkc_dnsrec_check(&rec, room, NULL, pkc_test_json_u64(v, "last_seen"));
        }
        if (strcmp(pkc_err_name(rc), pkc_test_json_str(v, "error")) != 0 ||
            strstr(pkc_errmsg(), pkc_test_json_str(v, "message")) == NULL)
            pkc_test_fail(__FILE__, __LINE__, "%s: %s \"%s\", expected %s \"%s\"", pkc_test_json_str(v, "name"),
                          pkc_err_name(rc), pkc_errmsg(), pkc_test_json_str(v, "error"), pkc_test_json_str(v, "message"));
        seen++;
    }
    CHECK(seen >= 8);
    json_decref(j);
}
