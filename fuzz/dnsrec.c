/*
 * Fuzzes the DNS seed record decoders (src/discovery/dnsrec.c).
 * The input is read two ways:
 *   - as bytes: a failure leaves the output untouched; what the syntax
 *     accepts re-encodes to exactly the same bytes, makes a text that reads
 *     back (unsigned), a zone line, and passes the checks without harm; the
 *     signed decoder accepts only what the syntax accepts, with the same
 *     result;
 *   - as the TXT strings of a lookup answer: the first byte of each string
 *     is its length (as in DNS RDATA), the strings are joined and parsed;
 *     an accepted record re-splits into the same text.
 * The seed corpus holds the valid records of tests/vectors/dnsrec.json, as
 * bytes and as RDATA, so the signature path is reached too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/dnsrec.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

static void as_bytes(const uint8_t *data, size_t size)
{
    pkc_dnsrec a, b;
    memset(&a, 0xee, sizeof a);
    if (pkc_dnsrec_decode_unsigned(data, size, &a) != 0) {
        for (size_t i = 0; i < sizeof a; i++)
            check(((const uint8_t *)&a)[i] == 0xee);
        check(pkc_dnsrec_decode(data, size, &b) != 0);
        return;
    }
    check(size <= PKC_DNSREC_BYTES_MAX);
    check(a.sequence >= 1);
    check(a.dial.n_addresses >= 1 && a.dial.n_addresses <= PKC_INVITE_ADDRESSES_MAX);
    pkc_buf buf = PKC_BUF_INIT;
    check(pkc_dnsrec_encode(&a, &buf) == 0);
    check(buf.len == size && memcmp(buf.data, data, size) == 0);
    pkc_buf_free(&buf);
    char text[PKC_DNSREC_TEXT_MAX + 1];
    int len = pkc_dnsrec_text(&a, text, sizeof text);
    check(len > 0 && len <= PKC_DNSREC_TEXT_MAX);
    pkc_dnsrec_txt s[PKC_DNSREC_STRINGS_MAX];
    int n = pkc_dnsrec_split(text, (size_t)len, s, PKC_DNSREC_STRINGS_MAX);
    check(n >= 1);
    char line[PKC_DNSREC_ZONE_LINE_MAX + 1];
    check(pkc_dnsrec_zone_line(&a, "_pkc.example.org", 0, line, sizeof line) > 0);
    (void)pkc_dnsrec_check(&a, a.room_id, a.peer_id, a.sequence - 1);
    if (pkc_dnsrec_decode(data, size, &b) == 0) {
        check(memcmp(&a, &b, sizeof a) == 0);
        pkc_dnsrec c;
        check(pkc_dnsrec_parse_txt(s, (size_t)n, &c) == 0);
        check(memcmp(&a, &c, sizeof a) == 0);
        check(pkc_dnsrec_check(&c, a.room_id, a.peer_id, a.sequence - 1) == 0);
        check(pkc_dnsrec_check(&c, a.room_id, NULL, a.sequence) == PKC_ERR_STALE);
    }
}

static void as_rdata(const uint8_t *data, size_t size)
{
    pkc_dnsrec_txt s[16];
    size_t n = 0, at = 0;
    while (at < size && n < 16) {
        size_t l = data[at++];
        if (l > size - at)
            l = size - at;
        s[n].data = data + at;
        s[n].len = l;
        n++;
        at += l;
    }
    pkc_dnsrec a;
    memset(&a, 0xee, sizeof a);
    if (pkc_dnsrec_parse_txt(s, n, &a) != 0) {
        for (size_t i = 0; i < sizeof a; i++)
            check(((const uint8_t *)&a)[i] == 0xee);
        return;
    }
    /* Accepted: the joined strings are exactly the record's text. */
    char text[PKC_DNSREC_TEXT_MAX + 1];
    int len = pkc_dnsrec_text(&a, text, sizeof text);
    check(len > 0);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        check(off + s[i].len <= (size_t)len && memcmp(text + off, s[i].data, s[i].len) == 0);
        off += s[i].len;
    }
    check(off == (size_t)len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    as_bytes(data, size);
    as_rdata(data, size);
    return 0;
}
