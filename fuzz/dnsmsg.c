/*
 * Fuzzes the DoH answer decoder (src/discovery/dnsmsg.c): any bytes as the
 * answer to the query for TXT at _pkc.example.org. The decoder either
 * refuses them (no record handed over, a message set) or hands over
 * records whose strings are at most 255 bytes and lie inside storage it
 * owns for the call; each record then goes through the seed record reader
 * as a lookup would. The seed corpus holds answers ldns built (one and two
 * records, split strings, NXDOMAIN with a SOA, a CNAME).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/dnsmsg.h"
#include "pkc.h"

static void check(int cond)
{
    if (!cond)
        abort();
}

static void on_txt(void *ud, const pkc_dnsrec_txt *s, size_t n, uint32_t ttl)
{
    size_t *count = ud;
    check(n <= PKC_DNSMSG_TXT_STRINGS_MAX);
    check(ttl <= PKC_DNSREC_TTL_MAX);
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < n; i++) {
        check(s[i].len <= 255);
        for (size_t j = 0; j < s[i].len; j++)
            sink ^= s[i].data[j]; /* ASan: inside live storage */
    }
    (void)sink;
    pkc_dnsrec rec;
    (void)pkc_dnsrec_parse_txt(s, n, &rec);
    (*count)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t count = 0;
    uint32_t ttl = 0;
    int rc = pkc_dnsmsg_parse_txt(data, size, "_pkc.example.org", on_txt, &count, &ttl);
    if (rc < 0) {
        check(count == 0);
        check(pkc_errmsg()[0] != '\0');
    } else {
        check(rc > 0 && (size_t)rc == count);
    }
    if (size >= 12) {
        /* As the answer to an update with its id, unsigned and signed. */
        int u = pkc_dnsmsg_update_result(data, size, data, 12, NULL);
        check(u == 0 || u == PKC_ERR_REFUSED || u == PKC_ERR_MALFORMED);
        static uint8_t *q;
        static size_t qlen;
        static pkc_dns_tsig_key key;
        if (q == NULL) {
            static const char kf[] = "key \"k\" { algorithm hmac-sha256; secret \"AAAAAAAA\"; };";
            check(pkc_dns_tsig_key_parse(kf, sizeof kf - 1, &key) == 0);
            check(pkc_dnsmsg_update("example.org", "_pkc.example.org. 60 IN TXT \"x\"", 1, NULL,
                                    &key, &q, &qlen) == 0);
        }
        u = pkc_dnsmsg_update_result(data, size, q, qlen, &key);
        check(u == PKC_ERR_REFUSED || u == PKC_ERR_MALFORMED || u == PKC_ERR_BAD_SIGNATURE);
    }
    pkc_dns_tsig_key key;
    memset(&key, 0xee, sizeof key);
    if (pkc_dns_tsig_key_parse((const char *)data, size, &key) == 0) {
        check(memchr(key.name, 0, sizeof key.name) != NULL);
        check(memchr(key.secret, 0, sizeof key.secret) != NULL);
        check(key.name[0] != 0 && key.secret[0] != 0);
    }
    return 0;
}
