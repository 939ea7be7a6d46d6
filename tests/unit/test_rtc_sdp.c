/* SDP: what Chromium and Firefox send, our own output, and malformed input. */
#include <stdio.h>
#include <stdlib.h>

#include "rtc/sdp.h"
#include "test.h"

/* Captured from Chromium 156 (headless, default mDNS candidates). */
static const char chromium_offer[] =
    "v=0\r\no=- 8971835511449537532 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
    "a=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
    "a=candidate:2601032619 1 udp 2113937151 d57f974d-b94f-4ea8-8806-532c7bc3a5f3.local 43101 "
    "typ host generation 0 network-cost 999\r\n"
    "a=candidate:2625304347 1 udp 2113942271 49af9fab-c02f-45a5-a32e-f9038027490c.local 34635 "
    "typ host generation 0 network-cost 999\r\n"
    "a=ice-ufrag:H2Gu\r\na=ice-pwd:Dy0NoSFre5UlNiZwXiI3JV2j\r\na=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 "
    "2A:C1:F7:F2:60:75:93:55:54:86:0B:BF:24:D8:AA:42:D8:CF:80:C4:B3:1A:F6:83:F1:50:22:24:D4:E6:3C:E2"
    "\r\na=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n";

/* Firefox's form: fingerprint and ice-options at session level, upper-case
 * UDP, TCP candidates, a real address with a srflx, end-of-candidates. */
static const char firefox_offer[] =
    "v=0\n"
    "o=mozilla...THIS_IS_SDPARTA-128.0 3417279924538483946 0 IN IP4 0.0.0.0\n"
    "s=-\nt=0 0\na=sendrecv\n"
    "a=fingerprint:sha-256 "
    "3A:8B:10:8E:AC:5A:0C:E8:07:63:FB:5E:7E:2A:74:0B:E3:61:D4:8B:E9:A4:6F:C0:1E:5F:3D:50:1B:2C:99:10\n"
    "a=group:BUNDLE 0\na=ice-options:trickle\na=msid-semantic:WMS *\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\nc=IN IP4 0.0.0.0\n"
    "a=candidate:0 1 UDP 2122252543 192.0.2.7 52718 typ host\n"
    "a=candidate:2 1 TCP 2105524479 192.0.2.7 9 typ host tcptype active\n"
    "a=candidate:1 1 UDP 1686052863 198.51.100.9 52718 typ srflx raddr 192.0.2.7 rport 52718\n"
    "a=sendrecv\na=end-of-candidates\na=ice-pwd:1b9c49a4ba3dbd7b3c3c74f9e3a7b5c8\n"
    "a=ice-ufrag:2cc1c5d0\na=mid:0\na=setup:actpass\na=sctp-port:5000\n"
    "a=max-message-size:1073741823\n";

static pkc_sdp *parse(const char *s)
{
    pkc_sdp *d = malloc(sizeof *d);
    if (pkc_sdp_parse(s, strlen(s), d) != 0) {
        free(d);
        return NULL;
    }
    return d;
}

TEST(rtc_sdp, chromium_offer)
{
    pkc_sdp *d = parse(chromium_offer);
    CHECK(d != NULL);
    CHECK_EQ_U64(d->session_id, 8971835511449537532ull);
    CHECK_STR(d->ice_ufrag, "H2Gu");
    CHECK_STR(d->ice_pwd, "Dy0NoSFre5UlNiZwXiI3JV2j");
    CHECK(d->ice_trickle);
    CHECK(!d->ice_lite);
    CHECK_EQ(d->fingerprint.alg, PKC_HASH_SHA256);
    CHECK_EQ(d->fingerprint.bytes[0], 0x2A);
    CHECK_EQ(d->fingerprint.bytes[31], 0xE2);
    CHECK_EQ(d->setup, PKC_SETUP_ACTPASS);
    CHECK_EQ(d->n_media, 1);
    CHECK_STR(d->media[d->data_index].mid, "0");
    CHECK_EQ(d->sctp_port, 5000);
    CHECK(d->has_max_message_size);
    CHECK_EQ_U64(d->max_message_size, 262144);
    CHECK_EQ(d->n_cands, 0); /* both are mDNS names */
    CHECK_EQ(d->n_ignored_cands, 2);
    CHECK(!d->end_of_candidates);
    free(d);
}

TEST(rtc_sdp, firefox_offer)
{
    pkc_sdp *d = parse(firefox_offer);
    CHECK(d != NULL);
    CHECK_STR(d->ice_ufrag, "2cc1c5d0");
    CHECK(d->ice_trickle);
    CHECK_EQ(d->fingerprint.alg, PKC_HASH_SHA256);
    CHECK_EQ(d->fingerprint.bytes[0], 0x3A);
    CHECK_EQ(d->n_cands, 2);
    CHECK_EQ(d->n_ignored_cands, 1); /* TCP */
    char s[PKC_ADDR_STRLEN];
    CHECK_STR(pkc_addr_string(&d->cands[0].addr, s, sizeof s), "192.0.2.7:52718");
    CHECK_EQ(d->cands[0].type, PKC_CAND_HOST);
    CHECK_EQ(d->cands[1].type, PKC_CAND_SRFLX);
    CHECK_STR(pkc_addr_string(&d->cands[1].related, s, sizeof s), "192.0.2.7:52718");
    CHECK_EQ_U64(d->cands[1].priority, 1686052863);
    CHECK(d->end_of_candidates);
    CHECK_EQ_U64(d->max_message_size, 1073741823);
    free(d);
}

/* An offer with audio and video before the data section: the answer keeps
 * one m= line per offered section and rejects the media ones. */
TEST(rtc_sdp, media_sections_rejected_in_answer)
{
    const char *offer =
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
        "a=ice-ufrag:abcd\r\na=rtpmap:111 opus/48000/2\r\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\n"
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
        "a=ice-ufrag:wxyz\r\na=ice-pwd:0123456789012345678901\r\n"
        "a=fingerprint:sha-1 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33\r\n"
        "a=setup:actpass\r\na=mid:2\r\na=sctp-port:5000\r\n";
    pkc_sdp *d = parse(offer);
    CHECK(d != NULL);
    CHECK_EQ(d->n_media, 3);
    CHECK_EQ(d->data_index, 2);
    CHECK_STR(d->ice_ufrag, "wxyz"); /* the data section's, not audio's */
    CHECK_EQ(d->fingerprint.alg, PKC_HASH_SHA1);
    CHECK(!d->has_max_message_size);
    pkc_buf b = PKC_BUF_INIT;
    CHECK_OK(pkc_sdp_write(d, &b));
    pkc_buf_push_u8(&b, 0);
    const char *s = (const char *)b.data;
    CHECK(strstr(s, "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n") != NULL);
    CHECK(strstr(s, "m=video 0 UDP/TLS/RTP/SAVPF 96\r\n") != NULL);
    CHECK(strstr(s, "a=group:BUNDLE 2\r\n") != NULL);
    pkc_sdp *d2 = parse(s);
    CHECK(d2 != NULL);
    CHECK(d2->media[0].rejected && d2->media[1].rejected && !d2->media[2].rejected);
    pkc_buf_free(&b);
    free(d);
    free(d2);
}

/* What we write parses back to the same description, and writing that
 * gives the same text. */
TEST(rtc_sdp, write_parse_round_trip)
{
    pkc_sdp *d = parse(firefox_offer);
    CHECK(d != NULL);
    d->ice_lite = 1;
    pkc_buf a = PKC_BUF_INIT, b = PKC_BUF_INIT;
    CHECK_OK(pkc_sdp_write(d, &a));
    pkc_sdp *d2 = malloc(sizeof *d2);
    CHECK_OK(pkc_sdp_parse((const char *)a.data, a.len, d2));
    CHECK(d2->ice_lite);
    CHECK_EQ(d2->n_cands, 2);
    CHECK(memcmp(&d2->cands[1], &d->cands[1], sizeof d->cands[1]) == 0);
    CHECK(memcmp(&d2->fingerprint, &d->fingerprint, sizeof d->fingerprint) == 0);
    CHECK_OK(pkc_sdp_write(d2, &b));
    CHECK_EQ(a.len, b.len);
    CHECK_MEM(a.data, b.data, a.len);
    pkc_buf_free(&a);
    pkc_buf_free(&b);
    free(d);
    free(d2);
}

/* Replaces the first occurrence of `from` in the Chromium offer with `to`
 * and expects PKC_ERR_SDP with `msg` in the message. */
static void expect_bad(const char *from, const char *to, const char *msg)
{
    char s[4096];
    const char *at = strstr(chromium_offer, from);
    if (at == NULL) {
        pkc_test_fail(__FILE__, __LINE__, "'%s' not in the sample", from);
        return;
    }
    size_t pre = (size_t)(at - chromium_offer);
    snprintf(s, sizeof s, "%.*s%s%s", (int)pre, chromium_offer, to, at + strlen(from));
    pkc_sdp *d = malloc(sizeof *d);
    int rc = pkc_sdp_parse(s, strlen(s), d);
    free(d);
    if (rc != PKC_ERR_SDP)
        pkc_test_fail(__FILE__, __LINE__, "'%s' -> '%s': %s, expected PKC_ERR_SDP", from, to,
                      pkc_err_name(rc));
    else if (strstr(pkc_errmsg(), msg) == NULL)
        pkc_test_fail(__FILE__, __LINE__, "'%s' -> '%s': message '%s' lacks '%s'", from, to,
                      pkc_errmsg(), msg);
}

TEST(rtc_sdp, malformed_rejected_with_reason)
{
    expect_bad("v=0", "v=1", "line 1: an SDP description starts with \"v=0\"");
    expect_bad("s=-\r\n", "s-\r\n", "line 3: expected \"<letter>=<value>\"");
    expect_bad("a=ice-ufrag:H2Gu", "a=ice-ufrag:H2G", "ice-ufrag must have 4 to 256");
    expect_bad("a=ice-pwd:Dy0NoSFre5UlNiZwXiI3JV2j", "a=ice-pwd:short", "ice-pwd must have 22");
    expect_bad("a=ice-pwd:Dy0NoSFre5UlNiZwXiI3JV2j", "a=ice-pwd:Dy0NoSFre5UlNiZwXiI3JV2!",
               "ice-pwd has a character outside");
    expect_bad("a=ice-pwd:Dy0NoSFre5UlNiZwXiI3JV2j\r\n", "", "no a=ice-ufrag and a=ice-pwd");
    expect_bad("sha-256 2A:C1", "sha-256 2A-C1", "fingerprint: byte 0");
    expect_bad(":3C:E2\r\n", ":3C\r\n", "sha-256 needs 32 bytes");
    expect_bad("a=fingerprint:sha-256", "a=fingerprint:md5", "no a=fingerprint with a supported");
    expect_bad("a=setup:actpass", "a=setup:both", "a=setup must be");
    expect_bad("a=sctp-port:5000", "a=sctp-port:70000", "a=sctp-port must be 1..65535");
    expect_bad("a=max-message-size:262144", "a=max-message-size:-1", "max-message-size must be");
    expect_bad("m=application 9 UDP/DTLS/SCTP", "m=application 0 UDP/DTLS/SCTP",
               "data channel section is rejected");
    expect_bad("m=application 9 UDP/DTLS/SCTP", "m=audio 9 UDP/DTLS/SCTP", "no data channel section");
    expect_bad("m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "m=application 9 UDP/DTLS/SCTP",
               "m= needs");
    expect_bad("udp 2113937151", "udp 2113937151x", "priority must be");
    expect_bad("43101 typ host", "43101 type host", "expected \"typ\"");
    expect_bad("43101 typ host", "43101 typ nat", "unknown candidate type");
    expect_bad("d57f974d-b94f", "d57f974d?b94f", "neither an IP address nor a host name");
    expect_bad("network-cost 999\r\na=candidate", "network-cost\r\na=candidate", "has no value");
    expect_bad("o=- 8971835511449537532 2", "o=- x 2", "session id and version");
    expect_bad("t=0 0\r\n", "t=0 0\r\n\r\n", "empty line");
    expect_bad("a=mid:0", "a=mid:0123456789012345678901234567890123", "a=mid must have");
}

TEST(rtc_sdp, limits)
{
    /* Oversized descriptions are refused before parsing. */
    size_t n = PKC_SDP_MAX_SIZE + 1;
    char *big = malloc(n);
    memset(big, 'a', n);
    pkc_sdp *d = malloc(sizeof *d);
    CHECK_ERR(pkc_sdp_parse(big, n, d), PKC_ERR_TOO_LARGE);
    /* Too many candidates. */
    pkc_buf b = PKC_BUF_INIT;
    pkc_buf_push(&b, chromium_offer, strlen(chromium_offer));
    for (int i = 0; i < PKC_SDP_MAX_CANDIDATES + 1; i++) {
        char line[128];
        int k = snprintf(line, sizeof line, "a=candidate:%d 1 udp 1 192.0.2.1 %d typ host\r\n", i,
                         1000 + i);
        pkc_buf_push(&b, line, (size_t)k);
    }
    CHECK_ERR(pkc_sdp_parse((const char *)b.data, b.len, d), PKC_ERR_SDP);
    CHECK(strstr(pkc_errmsg(), "more than 64 candidates") != NULL);
    /* Every truncation of a valid description is either rejected or
     * parses cleanly: no crash, no partial garbage. */
    for (size_t k = 0; k < strlen(chromium_offer); k++)
        (void)pkc_sdp_parse(chromium_offer, k, d);
    pkc_buf_free(&b);
    free(big);
    free(d);
}

TEST(rtc_sdp, candidate_lines)
{
    pkc_cand c;
    pkc_cand_parse_result r;
    const char *l = "candidate:842163049 1 udp 1677729535 198.51.100.1 3478 typ srflx raddr "
                    "0.0.0.0 rport 0 generation 0 ufrag 4ZcD network-cost 999";
    CHECK_OK(pkc_cand_parse(l, strlen(l), &c, &r));
    CHECK_EQ(r, PKC_CAND_USABLE);
    CHECK_EQ(c.type, PKC_CAND_SRFLX);
    CHECK_STR(c.foundation, "842163049");
    l = "a=candidate:1 1 udp 2130706431 ::1 5000 typ host";
    CHECK_OK(pkc_cand_parse(l, strlen(l), &c, &r));
    CHECK_EQ(c.addr.family, 6);
    pkc_buf b = PKC_BUF_INIT;
    pkc_cand_write(&b, &c);
    CHECK_EQ(b.len, strlen(l) - 2);
    CHECK_MEM(b.data, l + 2, b.len);
    pkc_buf_free(&b);
    l = "candidate:1 2 udp 2130706431 192.0.2.1 5000 typ host";
    CHECK_OK(pkc_cand_parse(l, strlen(l), &c, &r));
    CHECK_EQ(r, PKC_CAND_IGNORED); /* RTCP component */
    l = "candidate:1 1 udp 2130706431 192.0.2.1 0 typ host";
    CHECK_ERR(pkc_cand_parse(l, strlen(l), &c, &r), PKC_ERR_SDP);
    l = "candidate:1 1 udp 2130706431 192.0.2.1 5 typ host raddr 1.2.3.4";
    CHECK_ERR(pkc_cand_parse(l, strlen(l), &c, &r), PKC_ERR_SDP);
    l = "candidate: 1 udp 2130706431 192.0.2.1 5 typ host";
    CHECK_ERR(pkc_cand_parse(l, strlen(l), &c, &r), PKC_ERR_SDP);
}
