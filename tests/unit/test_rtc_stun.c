/* STUN codec: RFC 5769 test vectors, round trips, and malformed input. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "rtc/addr.h"
#include "rtc/stun.h"
#include "test.h"

/* RFC 5769 2.1: sample request (username "evtj:h6vY", password below). */
static const char req_hex[] =
    "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420636c69656e74"
    "002400046e0001ff80290008932ff9b151263b36000600096576746a3a6836765920202000080014"
    "9aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf";
static const char req_pwd[] = "VOkJxbRl1RmTxUk/WvJxBt";

/* RFC 5769 2.2 and 2.3: responses with XOR-MAPPED-ADDRESS. */
static const char resp4_hex[] =
    "0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220"
    "002000080001a147e112a643000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7"
    "80280004c07d4c96";
static const char resp6_hex[] =
    "010100482112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220"
    "002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d900080014a382954e4be67bf1"
    "1784c97c8292c275bfe3ed4180280004c8fb0b4c";

TEST(rtc_stun, rfc5769_request)
{
    uint8_t p[256];
    size_t n = pkc_test_unhex(req_hex, p, sizeof p);
    CHECK(pkc_stun_is_stun(p, n));
    pkc_stun_msg m;
    CHECK_OK(pkc_stun_decode(p, n, &m));
    CHECK_EQ(m.type, PKC_STUN_METHOD_BINDING | PKC_STUN_REQUEST);
    CHECK(m.has & PKC_STUN_HAS_FINGERPRINT);
    CHECK(m.has & PKC_STUN_HAS_USERNAME);
    CHECK_EQ(m.username_len, 9);
    CHECK_MEM(m.username, "evtj:h6vY", 9);
    CHECK_EQ_U64(m.priority, 0x6e0001ff);
    CHECK_EQ_U64(m.ice_controlled, 0x932ff9b151263b36ull);
    CHECK(!(m.has & PKC_STUN_HAS_CONTROLLING));
    CHECK_EQ(m.software_len, 16);
    CHECK_OK(pkc_stun_check_integrity(p, &m, req_pwd, strlen(req_pwd)));
    CHECK_ERR(pkc_stun_check_integrity(p, &m, "wrong", 5), PKC_ERR_INTEGRITY);
}

TEST(rtc_stun, rfc5769_responses)
{
    uint8_t p[256];
    pkc_stun_msg m;
    char s[PKC_ADDR_STRLEN];
    size_t n = pkc_test_unhex(resp4_hex, p, sizeof p);
    CHECK_OK(pkc_stun_decode(p, n, &m));
    CHECK_EQ(m.type, PKC_STUN_METHOD_BINDING | PKC_STUN_SUCCESS);
    CHECK(m.has & PKC_STUN_HAS_XOR_MAPPED);
    CHECK_STR(pkc_addr_string(&m.xor_mapped, s, sizeof s), "192.0.2.1:32853");
    CHECK_OK(pkc_stun_check_integrity(p, &m, req_pwd, strlen(req_pwd)));

    n = pkc_test_unhex(resp6_hex, p, sizeof p);
    CHECK_OK(pkc_stun_decode(p, n, &m));
    CHECK_STR(pkc_addr_string(&m.xor_mapped, s, sizeof s),
              "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
    CHECK_OK(pkc_stun_check_integrity(p, &m, req_pwd, strlen(req_pwd)));
}

/* Our writer reproduces the RFC's IPv4 response byte for byte. */
TEST(rtc_stun, writer_matches_rfc5769)
{
    uint8_t want[256];
    size_t n = pkc_test_unhex(resp4_hex, want, sizeof want);
    pkc_buf b = PKC_BUF_INIT;
    pkc_addr a;
    CHECK_OK(pkc_addr_parse("192.0.2.1:32853", &a));
    pkc_stun_begin(&b, PKC_STUN_METHOD_BINDING | PKC_STUN_SUCCESS, want + 8);
    pkc_stun_add(&b, PKC_STUN_ATTR_SOFTWARE, "test vector", 11);
    /* The RFC pads with a space; we pad with zero: patch it to compare. */
    pkc_stun_add_address(&b, PKC_STUN_ATTR_XOR_MAPPED_ADDRESS, &a, 1);
    CHECK_EQ(b.err, 0);
    b.data[PKC_STUN_HEADER_SIZE + 4 + 11] = ' ';
    CHECK_OK(pkc_stun_finish(&b, req_pwd, strlen(req_pwd), 1));
    CHECK_EQ(b.len, n);
    CHECK_MEM(b.data, want, n);
    pkc_buf_free(&b);
}

TEST(rtc_stun, round_trip_all_attributes)
{
    uint8_t txid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    pkc_buf b = PKC_BUF_INIT;
    pkc_addr a6;
    CHECK_OK(pkc_addr_parse("[fd00::2]:9", &a6));
    pkc_stun_begin(&b, PKC_STUN_METHOD_BINDING | PKC_STUN_ERROR, txid);
    pkc_stun_add(&b, PKC_STUN_ATTR_USERNAME, "abcd:efgh", 9);
    pkc_stun_add_u32(&b, PKC_STUN_ATTR_PRIORITY, 12345);
    pkc_stun_add(&b, PKC_STUN_ATTR_USE_CANDIDATE, NULL, 0);
    pkc_stun_add_u64(&b, PKC_STUN_ATTR_ICE_CONTROLLING, 0x0102030405060708ull);
    pkc_stun_add_address(&b, PKC_STUN_ATTR_XOR_MAPPED_ADDRESS, &a6, 1);
    pkc_stun_add_error(&b, 487, "Role Conflict");
    pkc_stun_add(&b, 0x7777, "x", 1); /* unknown, comprehension-required */
    CHECK_OK(pkc_stun_finish(&b, "pw", 2, 1));
    pkc_stun_msg m;
    CHECK_OK(pkc_stun_decode(b.data, b.len, &m));
    CHECK_EQ(m.type, PKC_STUN_METHOD_BINDING | PKC_STUN_ERROR);
    CHECK_MEM(m.txid, txid, 12);
    CHECK_EQ(m.priority, 12345);
    CHECK(m.has & PKC_STUN_HAS_USE_CANDIDATE);
    CHECK_EQ_U64(m.ice_controlling, 0x0102030405060708ull);
    CHECK(pkc_addr_equal(&m.xor_mapped, &a6));
    CHECK_EQ(m.error_code, 487);
    CHECK_EQ(m.reason_len, 13);
    CHECK_EQ(m.n_unknown, 1);
    CHECK_EQ(m.unknown[0], 0x7777);
    CHECK_OK(pkc_stun_check_integrity(b.data, &m, "pw", 2));
    pkc_buf_free(&b);
}

/* Every single-bit flip of a signed, fingerprinted message is rejected by
 * the decoder or by the integrity check, except flips in the FINGERPRINT
 * attribute's type that turn it into an unknown optional attribute after
 * MESSAGE-INTEGRITY, which the RFC says to ignore: then what is accepted
 * is exactly what was signed. */
TEST(rtc_stun, bit_flips_rejected)
{
    uint8_t p[256];
    size_t n = pkc_test_unhex(req_hex, p, sizeof p);
    pkc_stun_msg orig;
    CHECK_OK(pkc_stun_decode(p, n, &orig));
    int accepted = 0;
    for (size_t i = 0; i < n * 8; i++) {
        p[i / 8] ^= (uint8_t)(1u << (i % 8));
        pkc_stun_msg m;
        int rc = pkc_stun_decode(p, n, &m);
        if (rc == 0)
            rc = pkc_stun_check_integrity(p, &m, req_pwd, strlen(req_pwd));
        if (rc == 0) {
            accepted++;
            CHECK(i / 8 >= n - 8 && i / 8 < n - 6); /* the FINGERPRINT type field */
            CHECK(!(m.has & PKC_STUN_HAS_FINGERPRINT));
            CHECK_EQ(m.username_len, orig.username_len);
            CHECK_MEM(m.username, orig.username, m.username_len);
            CHECK_EQ_U64(m.priority, orig.priority);
            CHECK_EQ_U64(m.ice_controlled, orig.ice_controlled);
        }
        p[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    CHECK(accepted <= 16);
}

TEST(rtc_stun, malformed)
{
    uint8_t p[256];
    size_t n = pkc_test_unhex(req_hex, p, sizeof p);
    pkc_stun_msg m;
    /* Every truncation fails. */
    for (size_t k = 0; k < n; k++)
        CHECK(pkc_stun_decode(p, k, &m) != 0);
    /* Length not a multiple of 4. */
    uint8_t q[256];
    memcpy(q, p, n);
    q[3] = 0x57;
    CHECK_ERR(pkc_stun_decode(q, n, &m), PKC_ERR_MALFORMED);
    /* Top bits set. */
    memcpy(q, p, n);
    q[0] |= 0x80;
    CHECK_ERR(pkc_stun_decode(q, n, &m), PKC_ERR_MALFORMED);
    /* Trailing garbage beyond the announced length. */
    memcpy(q, p, n);
    q[n] = 0;
    CHECK_ERR(pkc_stun_decode(q, n + 4, &m), PKC_ERR_MALFORMED);
    /* An attribute that runs past the end. */
    uint8_t txid[12] = {0};
    pkc_buf b = PKC_BUF_INIT;
    pkc_stun_begin(&b, 1, txid);
    pkc_stun_add_u32(&b, PKC_STUN_ATTR_PRIORITY, 1);
    CHECK_OK(pkc_stun_finish(&b, NULL, 0, 0));
    b.data[PKC_STUN_HEADER_SIZE + 3] = 8; /* PRIORITY claims 8 bytes */
    CHECK_ERR(pkc_stun_decode(b.data, b.len, &m), PKC_ERR_TRUNCATED);
    b.data[PKC_STUN_HEADER_SIZE + 3] = 0; /* and now 0 */
    CHECK_ERR(pkc_stun_decode(b.data, b.len, &m), PKC_ERR_MALFORMED);
    pkc_buf_free(&b);
    /* Wrong-sized known attributes. */
    pkc_buf_init(&b);
    pkc_stun_begin(&b, 1, txid);
    pkc_stun_add(&b, PKC_STUN_ATTR_ICE_CONTROLLING, "1234", 4);
    CHECK_OK(pkc_stun_finish(&b, NULL, 0, 0));
    CHECK_ERR(pkc_stun_decode(b.data, b.len, &m), PKC_ERR_MALFORMED);
    pkc_buf_free(&b);
    /* XOR-MAPPED-ADDRESS with an unknown family. */
    pkc_buf_init(&b);
    pkc_stun_begin(&b, 0x0101, txid);
    pkc_stun_add(&b, PKC_STUN_ATTR_XOR_MAPPED_ADDRESS, "\x00\x03\x00\x01\x01\x02\x03\x04", 8);
    CHECK_OK(pkc_stun_finish(&b, NULL, 0, 0));
    CHECK_ERR(pkc_stun_decode(b.data, b.len, &m), PKC_ERR_MALFORMED);
    pkc_buf_free(&b);
    /* An attribute after a correct FINGERPRINT. */
    pkc_buf_init(&b);
    pkc_stun_begin(&b, 1, txid);
    pkc_stun_add_u32(&b, PKC_STUN_ATTR_FINGERPRINT, 0);
    pkc_stun_add_u32(&b, PKC_STUN_ATTR_PRIORITY, 1);
    CHECK_OK(pkc_stun_finish(&b, NULL, 0, 0));
    uint32_t crc = (uint32_t)crc32(0L, b.data, PKC_STUN_HEADER_SIZE) ^ 0x5354554eu;
    for (int i = 0; i < 4; i++)
        b.data[PKC_STUN_HEADER_SIZE + 4 + i] = (uint8_t)(crc >> (24 - 8 * i));
    CHECK_ERR(pkc_stun_decode(b.data, b.len, &m), PKC_ERR_MALFORMED);
    b.len -= 8; /* without the PRIORITY after it, the same bytes are fine */
    b.data[3] -= 8;
    crc = (uint32_t)crc32(0L, b.data, PKC_STUN_HEADER_SIZE) ^ 0x5354554eu;
    for (int i = 0; i < 4; i++)
        b.data[PKC_STUN_HEADER_SIZE + 4 + i] = (uint8_t)(crc >> (24 - 8 * i));
    CHECK_OK(pkc_stun_decode(b.data, b.len, &m));
    pkc_buf_free(&b);
    /* A wrong FINGERPRINT. */
    memcpy(q, p, n);
    q[n - 1] ^= 1;
    CHECK_ERR(pkc_stun_decode(q, n, &m), PKC_ERR_CHECKSUM);
    /* Oversized. */
    static uint8_t big[PKC_STUN_MAX_SIZE + 4];
    memcpy(big, p, 20);
    big[2] = (uint8_t)((PKC_STUN_MAX_SIZE - 16) >> 8);
    big[3] = (uint8_t)(PKC_STUN_MAX_SIZE - 16);
    CHECK_ERR(pkc_stun_decode(big, sizeof big, &m), PKC_ERR_TOO_LARGE);
}

/* A message grown past the limit by direct pushes is refused by finish,
 * before the integrity is computed (found by fuzz.rtc_conn). */
TEST(rtc_stun, finish_refuses_oversized)
{
    uint8_t txid[12] = {0};
    static uint8_t junk[PKC_STUN_MAX_SIZE];
    pkc_buf b = PKC_BUF_INIT;
    pkc_stun_begin(&b, 1, txid);
    pkc_buf_push(&b, junk, PKC_STUN_MAX_SIZE - PKC_STUN_HEADER_SIZE - 8);
    CHECK_ERR(pkc_stun_finish(&b, "key", 3, 1), PKC_ERR_TOO_LARGE);
    pkc_buf_free(&b);
    pkc_buf_init(&b);
    pkc_stun_begin(&b, 1, txid);
    pkc_buf_push(&b, junk, PKC_STUN_MAX_SIZE - PKC_STUN_HEADER_SIZE - 32);
    CHECK_OK(pkc_stun_finish(&b, "key", 3, 1)); /* exactly fits */
    CHECK_EQ(b.len, PKC_STUN_MAX_SIZE);
    pkc_buf_free(&b);
}

/* STUN servers are named "HOST:PORT" (node config, --stun): the split both
 * the node and the connection use. */
TEST(rtc_stun, host_port_split)
{
    char host[256];
    uint16_t port = 0;
    CHECK_EQ(pkc_host_port_split("stun.example.org:3478", host, &port), 0);
    CHECK(strcmp(host, "stun.example.org") == 0);
    CHECK_EQ(port, 3478);
    CHECK_EQ(pkc_host_port_split("10.92.0.200:1", host, &port), 0);
    CHECK(strcmp(host, "10.92.0.200") == 0);
    CHECK_EQ(port, 1);
    const char *bad[] = {"", "stun", ":3478", "host:", "host:0", "host:65536", "host:34x",
                         "host:-1", "host: 3478"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ(pkc_host_port_split(bad[i], host, &port), PKC_ERR_MALFORMED);
    char longname[300];
    memset(longname, 'a', 254);
    memcpy(longname + 254, ":53", 4);
    CHECK_EQ(pkc_host_port_split(longname, host, &port), PKC_ERR_MALFORMED);
    longname[253] = ':'; /* 253 characters: the longest name */
    memcpy(longname + 253, ":53", 4);
    CHECK_EQ(pkc_host_port_split(longname, host, &port), 0);
    CHECK_EQ(strlen(host), 253);
}
