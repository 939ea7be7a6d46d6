/* addr.c: transport addresses. */
#define _POSIX_C_SOURCE 200809L
#include "rtc/addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

int pkc_addr_parse_ip(const char *ip, size_t len, uint16_t port, pkc_addr *out)
{
    char tmp[64];
    if (len == 0 || len >= sizeof tmp)
        return pkc_error(PKC_ERR_MALFORMED, "address: empty or too long");
    memcpy(tmp, ip, len);
    tmp[len] = '\0';
    pkc_addr a;
    memset(&a, 0, sizeof a);
    if (memchr(tmp, ':', len) != NULL) {
        if (inet_pton(AF_INET6, tmp, a.ip) != 1)
            return pkc_error(PKC_ERR_MALFORMED, "address: '%s' is not an IPv6 address", tmp);
        a.family = 6;
        /* An IPv4-mapped IPv6 address is the IPv4 address. */
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a.ip, mapped, 12) == 0) {
            memmove(a.ip, a.ip + 12, 4);
            memset(a.ip + 4, 0, 12);
            a.family = 4;
        }
    } else {
        if (inet_pton(AF_INET, tmp, a.ip) != 1)
            return pkc_error(PKC_ERR_MALFORMED, "address: '%s' is not an IPv4 address", tmp);
        a.family = 4;
    }
    a.port = port;
    *out = a;
    return 0;
}

int pkc_addr_parse(const char *text, pkc_addr *out)
{
    const char *host = text, *colon;
    size_t hlen;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':')
            return pkc_error(PKC_ERR_MALFORMED, "address '%s': expected [IPV6]:PORT", text);
        host = text + 1;
        hlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL || memchr(text, ':', (size_t)(colon - text)) != NULL)
            return pkc_error(PKC_ERR_MALFORMED, "address '%s': expected HOST:PORT", text);
        hlen = (size_t)(colon - text);
    }
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || port == 0 || port > 65535)
        return pkc_error(PKC_ERR_MALFORMED, "address '%s': bad port", text);
    int rc = pkc_addr_parse_ip(host, hlen, (uint16_t)port, out);
    return rc ? pkc_error_wrap(rc, "address '%s'", text) : 0;
}

int pkc_host_port_split(const char *text, char host[256], uint16_t *port)
{
    const char *colon = strrchr(text, ':');
    char *end;
    unsigned long p = colon ? strtoul(colon + 1, &end, 10) : 0;
    if (colon == NULL || colon == text || colon[1] < '0' || colon[1] > '9' || *end != '\0' ||
        p == 0 || p > 65535 || (size_t)(colon - text) > 253)
        return pkc_error(PKC_ERR_MALFORMED, "'%s': expected HOST:PORT", text);
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    *port = (uint16_t)p;
    return 0;
}

void pkc_addr_ip_string(const pkc_addr *a, char *out, size_t out_size)
{
    char tmp[64];
    if (a->family == 4)
        inet_ntop(AF_INET, a->ip, tmp, sizeof tmp);
    else if (a->family == 6)
        inet_ntop(AF_INET6, a->ip, tmp, sizeof tmp);
    else
        snprintf(tmp, sizeof tmp, "none");
    snprintf(out, out_size, "%s", tmp);
}

const char *pkc_addr_string(const pkc_addr *a, char *out, size_t out_size)
{
    char ip[64];
    pkc_addr_ip_string(a, ip, sizeof ip);
    if (a->family == 6)
        snprintf(out, out_size, "[%s]:%u", ip, (unsigned)a->port);
    else
        snprintf(out, out_size, "%s:%u", ip, (unsigned)a->port);
    return out;
}

size_t pkc_addr_ip_len(const pkc_addr *a)
{
    return a->family == 6 ? 16 : a->family == 4 ? 4 : 0;
}

int pkc_addr_ip_equal(const pkc_addr *a, const pkc_addr *b)
{
    return a->family == b->family && memcmp(a->ip, b->ip, pkc_addr_ip_len(a)) == 0;
}

int pkc_addr_equal(const pkc_addr *a, const pkc_addr *b)
{
    return a->port == b->port && pkc_addr_ip_equal(a, b);
}

int pkc_addr_is_loopback(const pkc_addr *a)
{
    static const uint8_t v6lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (a->family == 4)
        return a->ip[0] == 127;
    return a->family == 6 && memcmp(a->ip, v6lo, 16) == 0;
}

int pkc_addr_is_link_local(const pkc_addr *a)
{
    if (a->family == 4)
        return a->ip[0] == 169 && a->ip[1] == 254;
    return a->family == 6 && a->ip[0] == 0xfe && (a->ip[1] & 0xc0) == 0x80;
}

uint32_t pkc_addr_hash(const pkc_addr *a)
{
    /* FNV-1a over family, port and address bytes. */
    uint32_t h = 2166136261u;
    uint8_t head[3] = {a->family, (uint8_t)(a->port >> 8), (uint8_t)a->port};
    for (size_t i = 0; i < 3; i++)
        h = (h ^ head[i]) * 16777619u;
    for (size_t i = 0; i < pkc_addr_ip_len(a); i++)
        h = (h ^ a->ip[i]) * 16777619u;
    return h;
}
