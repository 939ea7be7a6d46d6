/* candidate.c: ICE candidate attributes. */
#include "rtc/candidate.h"

#include <stdio.h>
#include <string.h>

#include "util/err.h"

static const char *const type_names[] = {"host", "srflx", "prflx", "relay"};

const char *pkc_cand_type_name(pkc_cand_type t)
{
    return (unsigned)t < 4 ? type_names[t] : "?";
}

uint32_t pkc_cand_priority(pkc_cand_type type, uint16_t local_pref, uint16_t component)
{
    static const uint32_t type_pref[] = {126, 100, 110, 0};
    return type_pref[type] << 24 | (uint32_t)local_pref << 8 | (uint32_t)(256 - component);
}

static int is_ice_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

/* Splits the next space-separated token; returns its length (0 at the end). */
static size_t next_token(const char **p, const char *end, const char **tok)
{
    while (*p < end && **p == ' ')
        (*p)++;
    *tok = *p;
    while (*p < end && **p != ' ')
        (*p)++;
    return (size_t)(*p - *tok);
}

static int tok_eq(const char *t, size_t n, const char *s)
{
    return strlen(s) == n && memcmp(t, s, n) == 0;
}

static int tok_ieq(const char *t, size_t n, const char *s)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char a = t[i], b = s[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (a != b)
            return 0;
    }
    return 1;
}

static int tok_u32(const char *t, size_t n, uint64_t max, uint32_t *out)
{
    if (n == 0 || n > 10)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] < '0' || t[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(t[i] - '0');
    }
    if (v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

#define BAD(...) pkc_error(PKC_ERR_SDP, "candidate: " __VA_ARGS__)

int pkc_cand_parse(const char *line, size_t len, pkc_cand *out, pkc_cand_parse_result *result)
{
    const char *p = line, *end = line + len, *t;
    size_t n;
    while (end > p && (end[-1] == '\r' || end[-1] == '\n'))
        end--;
    if (end - p >= 2 && p[0] == 'a' && p[1] == '=')
        p += 2;
    if ((size_t)(end - p) < 10 || memcmp(p, "candidate:", 10) != 0)
        return BAD("does not start with \"candidate:\"");
    p += 10;
    pkc_cand c;
    memset(&c, 0, sizeof c);
    int ignored = 0;

    /* foundation: 1*32 ice-char, directly after the colon */
    if (p < end && *p == ' ')
        return BAD("empty foundation");
    n = next_token(&p, end, &t);
    if (n == 0 || n > PKC_CAND_FOUNDATION_MAX)
        return BAD("foundation must have 1 to 32 characters");
    for (size_t i = 0; i < n; i++)
        if (!is_ice_char(t[i]))
            return BAD("foundation has a character outside [A-Za-z0-9+/]");
    memcpy(c.foundation, t, n);

    uint32_t v;
    n = next_token(&p, end, &t);
    if (tok_u32(t, n, 256, &v) != 0 || v == 0)
        return BAD("component id must be 1..256");
    c.component = (uint16_t)v;
    if (c.component != 1)
        ignored = 1;

    n = next_token(&p, end, &t);
    if (n == 0)
        return BAD("missing transport");
    if (!tok_ieq(t, n, "udp"))
        ignored = 1; /* TCP and anything else */

    n = next_token(&p, end, &t);
    if (tok_u32(t, n, UINT32_MAX, &c.priority) != 0 || c.priority == 0)
        return BAD("priority must be 1..4294967295");

    const char *addr_t;
    size_t addr_n = next_token(&p, end, &addr_t);
    if (addr_n == 0)
        return BAD("missing connection address");

    n = next_token(&p, end, &t);
    if (tok_u32(t, n, 65535, &v) != 0)
        return BAD("port must be 0..65535");
    uint16_t port = (uint16_t)v;

    n = next_token(&p, end, &t);
    if (!tok_eq(t, n, "typ"))
        return BAD("expected \"typ\" after the port");
    n = next_token(&p, end, &t);
    if (tok_eq(t, n, "host"))
        c.type = PKC_CAND_HOST;
    else if (tok_eq(t, n, "srflx"))
        c.type = PKC_CAND_SRFLX;
    else if (tok_eq(t, n, "prflx"))
        c.type = PKC_CAND_PRFLX;
    else if (tok_eq(t, n, "relay"))
        c.type = PKC_CAND_RELAY;
    else
        return BAD("unknown candidate type '%.*s'", (int)(n > 16 ? 16 : n), t);

    /* Address: numeric, else a host name (mDNS ".local" from browsers). */
    if (pkc_addr_parse_ip(addr_t, addr_n, port, &c.addr) != 0) {
        for (size_t i = 0; i < addr_n; i++) {
            char ch = addr_t[i];
            if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_'))
                return BAD("connection address '%.*s' is neither an IP address nor a host name",
                           (int)(addr_n > 64 ? 64 : addr_n), addr_t);
        }
        if (addr_n > 253)
            return BAD("host name longer than 253 characters");
        ignored = 1;
    } else if (port == 0 && !ignored) {
        return BAD("UDP candidate with port 0");
    }

    /* raddr/rport and extensions: name value pairs. */
    const char *raddr_t = NULL;
    size_t raddr_n = 0;
    int have_rport = 0;
    uint32_t rport = 0;
    for (;;) {
        n = next_token(&p, end, &t);
        if (n == 0)
            break;
        const char *vt;
        size_t vn = next_token(&p, end, &vt);
        if (vn == 0)
            return BAD("extension '%.*s' has no value", (int)(n > 32 ? 32 : n), t);
        if (tok_eq(t, n, "raddr")) {
            raddr_t = vt;
            raddr_n = vn;
        } else if (tok_eq(t, n, "rport")) {
            if (tok_u32(vt, vn, 65535, &rport) != 0)
                return BAD("rport must be 0..65535");
            have_rport = 1;
        }
        /* generation, ufrag, network-id, network-cost, tcptype: ignored */
    }
    if ((raddr_t != NULL) != have_rport)
        return BAD("raddr and rport must come together");
    if (raddr_t != NULL && !ignored &&
        pkc_addr_parse_ip(raddr_t, raddr_n, (uint16_t)rport, &c.related) != 0) {
        /* Browsers hide the related address ("0.0.0.0" or a name); keep
         * the candidate, drop the related address. */
        memset(&c.related, 0, sizeof c.related);
    }
    *result = ignored ? PKC_CAND_IGNORED : PKC_CAND_USABLE;
    if (!ignored)
        *out = c;
    return 0;
}

size_t pkc_cand_format(const pkc_cand *c, char *out, size_t size)
{
    char ip[64], rip[64] = "";
    pkc_addr_ip_string(&c->addr, ip, sizeof ip);
    if (c->related.family)
        pkc_addr_ip_string(&c->related, rip, sizeof rip);
    int n = snprintf(out, size, "candidate:%s %u udp %u %s %u typ %s", c->foundation,
                     (unsigned)c->component, (unsigned)c->priority, ip, (unsigned)c->addr.port,
                     pkc_cand_type_name(c->type));
    if (n >= 0 && (size_t)n < size && c->related.family)
        n += snprintf(out + n, size - (size_t)n, " raddr %s rport %u", rip,
                      (unsigned)c->related.port);
    return n < 0 ? 0 : (size_t)n;
}

void pkc_cand_write(pkc_buf *b, const pkc_cand *c)
{
    char line[PKC_CAND_LINE_MAX];
    size_t n = pkc_cand_format(c, line, sizeof line);
    pkc_buf_push(b, line, n < sizeof line ? n : sizeof line - 1);
}
