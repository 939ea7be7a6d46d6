/*
 * dnsmsg.c: DNS messages of seed discovery, with ldns (dnsmsg.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "discovery/dnsmsg.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldns/ldns.h>

#include "util/err.h"

#define W "DNS answer"

static int from_ldns_wire(uint8_t *wire, size_t len, uint8_t **out, size_t *out_len)
{
    /* ldns allocates with malloc: the caller frees with free(). */
    *out = wire;
    *out_len = len;
    return 0;
}

/* A query for `name` without padding, with EDNS(0). */
static ldns_pkt *query_new(const char *name, uint16_t type)
{
    ldns_rdf *dname = ldns_dname_new_frm_str(name);
    if (dname == NULL)
        return NULL;
    ldns_pkt *p = ldns_pkt_query_new(dname, (ldns_rr_type)type, LDNS_RR_CLASS_IN, LDNS_RD);
    if (p == NULL) {
        ldns_rdf_deep_free(dname);
        return NULL;
    }
    /* RFC 8484 4.1: the id SHOULD be 0, so that answers cache well. */
    ldns_pkt_set_id(p, 0);
    ldns_pkt_set_edns_udp_size(p, PKC_DNSMSG_EDNS_SIZE);
    return p;
}

int pkc_dnsmsg_query(const char *name, uint16_t type, uint8_t **out, size_t *out_len)
{
    if (name == NULL || out == NULL || out_len == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "DNS query: NULL argument");
    if (strlen(name) > PKC_DNS_NAME_MAX + 1)
        return pkc_error(PKC_ERR_INVALID_ARG, "DNS query: name longer than 253 bytes");
    ldns_pkt *p = query_new(name, type);
    if (p == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "DNS query: '%s' is not a domain name", name);
    uint8_t *wire = NULL;
    size_t len = 0;
    int rc = 0;
    if (ldns_pkt2wire(&wire, p, &len) != LDNS_STATUS_OK) {
        rc = pkc_error_code(PKC_ERR_NOMEM);
        goto done;
    }
    free(wire);
    wire = NULL;
    /* RFC 8467 4.1 (block-length padding): the padding option (4 bytes of
     * header and its data, RFC 7830) brings the message to a multiple of
     * 128 bytes. */
    size_t pad =
        (PKC_DNSMSG_QUERY_BLOCK - (len + 4) % PKC_DNSMSG_QUERY_BLOCK) % PKC_DNSMSG_QUERY_BLOCK;
    uint8_t *zeros = calloc(1, pad ? pad : 1);
    ldns_edns_option_list *opts = ldns_edns_option_list_new();
    ldns_edns_option *opt = zeros ? ldns_edns_new_from_data(LDNS_EDNS_PADDING, pad, zeros) : NULL;
    free(zeros);
    if (opts == NULL || opt == NULL || !ldns_edns_option_list_push(opts, opt)) {
        ldns_edns_option_list_deep_free(opts);
        if (opt)
            ldns_edns_deep_free(opt);
        rc = pkc_error_code(PKC_ERR_NOMEM);
        goto done;
    }
    ldns_pkt_set_edns_option_list(p, opts);
    if (ldns_pkt2wire(&wire, p, &len) != LDNS_STATUS_OK) {
        rc = pkc_error_code(PKC_ERR_NOMEM);
        goto done;
    }
    if (len % PKC_DNSMSG_QUERY_BLOCK != 0) {
        free(wire);
        rc = pkc_error(PKC_ERR_INTERNAL, "DNS query: padded to %zu bytes", len);
        goto done;
    }
    from_ldns_wire(wire, len, out, out_len);
done:
    ldns_pkt_free(p);
    return rc;
}

/* --- Answers -------------------------------------------------------------- */

static const char *rcode_name(ldns_pkt_rcode rc)
{
    switch (rc) {
    case LDNS_RCODE_FORMERR:
        return "FORMERR";
    case LDNS_RCODE_SERVFAIL:
        return "SERVFAIL";
    case LDNS_RCODE_NXDOMAIN:
        return "NXDOMAIN";
    case LDNS_RCODE_NOTIMPL:
        return "NOTIMPL";
    case LDNS_RCODE_REFUSED:
        return "REFUSED";
    case LDNS_RCODE_NOTAUTH:
        return "NOTAUTH";
    default:
        return "error";
    }
}

/* The smallest SOA minimum / TTL of the authority section (RFC 2308 5). */
static uint32_t negative_ttl(const ldns_pkt *p)
{
    ldns_rr_list *auth = ldns_pkt_authority(p);
    uint32_t best = 0;
    for (size_t i = 0; auth && i < ldns_rr_list_rr_count(auth); i++) {
        ldns_rr *rr = ldns_rr_list_rr(auth, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA || ldns_rr_rd_count(rr) < 7)
            continue;
        uint32_t t = ldns_rr_ttl(rr);
        uint32_t m = ldns_rdf2native_int32(ldns_rr_rdf(rr, 6));
        if (m < t)
            t = m;
        if (best == 0 || t < best)
            best = t;
    }
    return best;
}

int pkc_dnsmsg_parse_txt(const uint8_t *msg, size_t len, const char *name, pkc_dnsmsg_txt_fn fn,
                         void *user_data, uint32_t *min_ttl)
{
    if ((msg == NULL && len) || name == NULL || fn == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, W ": NULL argument");
    if (len < LDNS_HEADER_SIZE)
        return pkc_error(PKC_ERR_MALFORMED, W ": %zu bytes, shorter than a DNS header", len);
    if (len > PKC_DNSMSG_MAX)
        return pkc_error(PKC_ERR_MALFORMED, W ": %zu bytes, more than a DNS message", len);
    ldns_rdf *qname = ldns_dname_new_frm_str(name);
    if (qname == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, W ": '%s' is not a domain name", name);
    ldns_pkt *p = NULL;
    int rc;
    ldns_status st = ldns_wire2pkt(&p, msg, len);
    if (st != LDNS_STATUS_OK) {
        /* Lengths past the end, pointer loops, bad labels... */
        rc = pkc_error(PKC_ERR_MALFORMED, W ": not a DNS message: %s", ldns_get_errorstr_by_id(st));
        goto done;
    }
    if (!ldns_pkt_qr(p) || ldns_pkt_get_opcode(p) != LDNS_PACKET_QUERY) {
        rc = pkc_error(PKC_ERR_MALFORMED, W ": not an answer (QR bit clear or another opcode)");
        goto done;
    }
    if (ldns_pkt_id(p) != 0) {
        rc = pkc_error(PKC_ERR_MALFORMED, W ": id %u, the query's was 0", ldns_pkt_id(p));
        goto done;
    }
    if (ldns_pkt_tc(p)) {
        rc = pkc_error(PKC_ERR_TRUNCATED, W ": truncated (TC bit set)");
        goto done;
    }
    ldns_rr_list *q = ldns_pkt_question(p);
    if (q == NULL || ldns_rr_list_rr_count(q) != 1) {
        rc = pkc_error(PKC_ERR_MALFORMED, W ": %zu questions, not the one asked",
                       q ? ldns_rr_list_rr_count(q) : 0);
        goto done;
    }
    ldns_rr *q0 = ldns_rr_list_rr(q, 0);
    if (ldns_dname_compare(ldns_rr_owner(q0), qname) != 0 ||
        ldns_rr_get_type(q0) != LDNS_RR_TYPE_TXT || ldns_rr_get_class(q0) != LDNS_RR_CLASS_IN) {
        rc = pkc_error(PKC_ERR_MALFORMED, W ": for another question than TXT at %s", name);
        goto done;
    }
    ldns_pkt_rcode rcode = ldns_pkt_get_rcode(p);
    if (rcode == LDNS_RCODE_NXDOMAIN) {
        if (min_ttl)
            *min_ttl = negative_ttl(p);
        rc = pkc_error(PKC_ERR_NOT_FOUND, W ": no such name (NXDOMAIN): %s", name);
        goto done;
    }
    if (rcode != LDNS_RCODE_NOERROR) {
        rc = pkc_error(PKC_ERR_REFUSED, W ": the resolver answered %s (rcode %d)",
                       rcode_name(rcode), (int)rcode);
        goto done;
    }
    ldns_rr_list *an = ldns_pkt_answer(p);
    size_t n = 0, skipped = 0;
    uint32_t ttl_min = 0;
    pkc_dnsrec_txt strings[PKC_DNSMSG_TXT_STRINGS_MAX];
    for (size_t i = 0; an && i < ldns_rr_list_rr_count(an); i++) {
        ldns_rr *rr = ldns_rr_list_rr(an, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
            ldns_dname_compare(ldns_rr_owner(rr), qname) != 0) {
            skipped++;
            continue;
        }
        size_t k = ldns_rr_rd_count(rr);
        if (k > PKC_DNSMSG_TXT_STRINGS_MAX) {
            skipped++;
            continue;
        }
        int ok = 1;
        for (size_t j = 0; j < k; j++) {
            ldns_rdf *rd = ldns_rr_rdf(rr, j);
            const uint8_t *d = ldns_rdf_data(rd);
            size_t dl = ldns_rdf_size(rd);
            /* A character-string: its length byte, then that many bytes. */
            if (ldns_rdf_get_type(rd) != LDNS_RDF_TYPE_STR || dl < 1 || (size_t)d[0] + 1 != dl) {
                ok = 0;
                break;
            }
            strings[j].data = d + 1;
            strings[j].len = d[0];
        }
        if (!ok) {
            skipped++;
            continue;
        }
        uint32_t ttl = ldns_rr_ttl(rr);
        /* RFC 2181 8: a TTL with the top bit set is taken as 0. */
        if (ttl > PKC_DNSREC_TTL_MAX)
            ttl = 0;
        if (n == 0 || ttl < ttl_min)
            ttl_min = ttl;
        fn(user_data, strings, k, ttl);
        n++;
    }
    if (n == 0 && skipped) {
        /* Records, but none that answers the question: not an answer. */
        rc =
            pkc_error(PKC_ERR_MALFORMED,
                      W ": wrong type: %zu answer records, none a TXT record at %s", skipped, name);
        goto done;
    }
    if (n == 0) {
        if (min_ttl)
            *min_ttl = negative_ttl(p);
        rc = pkc_error(PKC_ERR_NOT_FOUND, W ": no TXT record at %s (NODATA)", name);
        goto done;
    }
    if (min_ttl)
        *min_ttl = ttl_min;
    rc = (int)n;
done:
    ldns_pkt_free(p);
    ldns_rdf_deep_free(qname);
    return rc;
}

/* --- TSIG keys ------------------------------------------------------------ */

/* The next token of a key file: a quoted string, a word, or one of "{};". */
static size_t token(const char *s, size_t len, size_t *at, char *out, size_t cap)
{
    size_t i = *at, k = 0;
    while (i < len && (isspace((unsigned char)s[i]) || s[i] == '#')) {
        if (s[i] == '#')
            while (i < len && s[i] != '\n')
                i++;
        else
            i++;
    }
    if (i >= len) {
        *at = i;
        return 0;
    }
    if (s[i] == '"') {
        i++;
        while (i < len && s[i] != '"') {
            if (k + 1 < cap)
                out[k] = s[i];
            k++;
            i++;
        }
        if (i < len)
            i++;
    } else if (strchr("{};", s[i])) {
        out[k++] = s[i++];
    } else {
        while (i < len && !isspace((unsigned char)s[i]) && !strchr("{};\"", s[i])) {
            if (k + 1 < cap)
                out[k] = s[i];
            k++;
            i++;
        }
    }
    *at = i;
    if (k >= cap)
        return (size_t)-1;
    out[k] = '\0';
    return k ? k : 1; /* an empty quoted string is still a token */
}

static int name_ok(const char *s)
{
    ldns_rdf *r = ldns_dname_new_frm_str(s);
    ldns_rdf_deep_free(r);
    return r != NULL;
}

int pkc_dns_tsig_key_parse(const char *text, size_t len, pkc_dns_tsig_key *out)
{
    if (text == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "TSIG key: NULL argument");
    char tok[300], name[sizeof out->name], secret[sizeof out->secret], alg[64];
    name[0] = secret[0] = alg[0] = '\0';
    size_t at = 0, t;
    if ((t = token(text, len, &at, tok, sizeof tok)) == 0 || t == (size_t)-1 ||
        strcmp(tok, "key") != 0)
        return pkc_error(PKC_ERR_MALFORMED, "TSIG key: does not begin with 'key' (a file of "
                                            "tsig-keygen?)");
    if ((t = token(text, len, &at, tok, sizeof tok)) == 0 || t == (size_t)-1 ||
        t >= sizeof name - 1 || !name_ok(tok))
        return pkc_error(PKC_ERR_MALFORMED, "TSIG key: no valid key name");
    memcpy(name, tok, t + 1);
    if (token(text, len, &at, tok, sizeof tok) != 1 || tok[0] != '{')
        return pkc_error(PKC_ERR_MALFORMED, "TSIG key: '{' expected after the name");
    for (;;) {
        t = token(text, len, &at, tok, sizeof tok);
        if (t == 0 || t == (size_t)-1)
            return pkc_error(PKC_ERR_MALFORMED, "TSIG key: ends before '}'");
        if (tok[0] == '}')
            break;
        char val[300];
        size_t v = token(text, len, &at, val, sizeof val);
        char semi[4];
        if (v == 0 || v == (size_t)-1 || token(text, len, &at, semi, sizeof semi) != 1 ||
            semi[0] != ';')
            return pkc_error(PKC_ERR_MALFORMED, "TSIG key: '%s' needs a value and ';'", tok);
        if (strcmp(tok, "algorithm") == 0) {
            if (strlen(val) >= sizeof alg)
                return pkc_error(PKC_ERR_UNSUPPORTED, "TSIG key: unknown algorithm");
            memcpy(alg, val, strlen(val) + 1);
        } else if (strcmp(tok, "secret") == 0) {
            if (strlen(val) >= sizeof secret)
                return pkc_error(PKC_ERR_MALFORMED, "TSIG key: secret too long");
            memcpy(secret, val, strlen(val) + 1);
        } else {
            return pkc_error(PKC_ERR_MALFORMED, "TSIG key: unknown field '%s'", tok);
        }
    }
    if (strcasecmp(alg, "hmac-sha256") != 0 && strcasecmp(alg, "hmac-sha256.") != 0)
        return pkc_error(PKC_ERR_UNSUPPORTED, "TSIG key: algorithm '%s', only hmac-sha256",
                         alg[0] ? alg : "(none)");
    ldns_rdf *raw = NULL;
    if (secret[0] == '\0' || ldns_str2rdf_b64(&raw, secret) != LDNS_STATUS_OK)
        return pkc_error(PKC_ERR_MALFORMED, "TSIG key: the secret is not base64");
    ldns_rdf_deep_free(raw);
    memcpy(out->name, name, sizeof name);
    memcpy(out->secret, secret, sizeof secret);
    return 0;
}

/* --- Updates -------------------------------------------------------------- */

/* The key's name as ldns wants it: absolute (a final dot). */
static void key_name_abs(const pkc_dns_tsig_key *key, char *out, size_t cap)
{
    size_t kl = strlen(key->name);
    snprintf(out, cap, "%s%s", key->name, kl && key->name[kl - 1] == '.' ? "" : ".");
}

static int rr_from_line(const char *line, ldns_rr **rr)
{
    ldns_status st = ldns_rr_new_frm_str(rr, line, 0, NULL, NULL);
    if (st != LDNS_STATUS_OK || ldns_rr_get_type(*rr) != LDNS_RR_TYPE_TXT) {
        if (st == LDNS_STATUS_OK)
            ldns_rr_free(*rr);
        return pkc_error(PKC_ERR_INVALID_ARG, "DNS update: not a TXT record line: %s",
                         st != LDNS_STATUS_OK ? ldns_get_errorstr_by_id(st) : "another type");
    }
    return 0;
}

int pkc_dnsmsg_update(const char *zone, const char *zone_line, int replace_all,
                      const char *old_line, const pkc_dns_tsig_key *key, uint8_t **out,
                      size_t *out_len)
{
    if (zone == NULL || zone_line == NULL || out == NULL || out_len == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "DNS update: NULL argument");
    ldns_rdf *zrdf = ldns_dname_new_frm_str(zone);
    if (zrdf == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "DNS update: '%s' is not a zone name", zone);
    ldns_rr_list *up = ldns_rr_list_new();
    ldns_rr *add = NULL, *del = NULL;
    ldns_pkt *p = NULL;
    int rc = rr_from_line(zone_line, &add);
    if (rc)
        goto done;
    if (!ldns_dname_is_subdomain(ldns_rr_owner(add), zrdf)) {
        rc = pkc_error(PKC_ERR_INVALID_ARG, "DNS update: the record's name is outside zone %s",
                       zone);
        goto done;
    }
    if (replace_all) {
        /* RFC 2136 2.5.2: class ANY, TTL 0, no RDATA: the whole RRset. */
        del = ldns_rr_new();
        if (del == NULL) {
            rc = pkc_error_code(PKC_ERR_NOMEM);
            goto done;
        }
        ldns_rr_set_owner(del, ldns_rdf_clone(ldns_rr_owner(add)));
        ldns_rr_set_type(del, LDNS_RR_TYPE_TXT);
        ldns_rr_set_class(del, LDNS_RR_CLASS_ANY);
        ldns_rr_set_ttl(del, 0);
        ldns_rr_set_question(del, false);
    } else if (old_line) {
        /* 2.5.4: class NONE, TTL 0: that one record. */
        if ((rc = rr_from_line(old_line, &del)))
            goto done;
        ldns_rr_set_class(del, LDNS_RR_CLASS_NONE);
        ldns_rr_set_ttl(del, 0);
    }
    if (del) {
        ldns_rr_list_push_rr(up, del);
        del = NULL;
    }
    ldns_rr_list_push_rr(up, add);
    add = NULL;
    p = ldns_update_pkt_new(ldns_rdf_clone(zrdf), LDNS_RR_CLASS_IN, NULL, up, NULL);
    if (p == NULL) {
        rc = pkc_error_code(PKC_ERR_NOMEM);
        goto done;
    }
    /* The id matches answers to this update (plain DNS, not DoH). */
    ldns_pkt_set_random_id(p);
    if (key) {
        char kname[sizeof key->name + 1];
        size_t kl = strlen(key->name);
        snprintf(kname, sizeof kname, "%s%s", key->name, kl && key->name[kl - 1] == '.' ? "" : ".");
        ldns_status st = ldns_pkt_tsig_sign(p, kname, key->secret, 300, "hmac-sha256.", NULL);
        if (st != LDNS_STATUS_OK) {
            rc = pkc_error(PKC_ERR_CRYPTO, "DNS update: TSIG signing: %s",
                           ldns_get_errorstr_by_id(st));
            goto done;
        }
    }
    uint8_t *wire = NULL;
    size_t len = 0;
    if (ldns_pkt2wire(&wire, p, &len) != LDNS_STATUS_OK) {
        rc = pkc_error_code(PKC_ERR_NOMEM);
        goto done;
    }
    from_ldns_wire(wire, len, out, out_len);
done:
    /* ldns_update_pkt_new copied the list into the packet. */
    if (p)
        ldns_pkt_free(p);
    ldns_rr_list_deep_free(up);
    if (add)
        ldns_rr_free(add);
    if (del)
        ldns_rr_free(del);
    ldns_rdf_deep_free(zrdf);
    return rc;
}

int pkc_dnsmsg_update_result(const uint8_t *msg, size_t len, const uint8_t *query, size_t qlen,
                             const pkc_dns_tsig_key *key)
{
    if (query == NULL || qlen < LDNS_HEADER_SIZE)
        return pkc_error(PKC_ERR_INVALID_ARG, "DNS update: no query");
    uint16_t id = (uint16_t)(query[0] << 8 | query[1]);
    ldns_pkt *p = NULL, *q = NULL;
    if (msg == NULL || ldns_wire2pkt(&p, msg, len) != LDNS_STATUS_OK)
        return pkc_error(PKC_ERR_MALFORMED, "DNS update: the answer is not a DNS message");
    int rc = 0;
    ldns_pkt_rcode r = ldns_pkt_get_rcode(p);
    if (!ldns_pkt_qr(p) || ldns_pkt_id(p) != id || ldns_pkt_get_opcode(p) != LDNS_PACKET_UPDATE) {
        rc = pkc_error(PKC_ERR_MALFORMED, "DNS update: the answer is not to this update");
    } else if (r == LDNS_RCODE_REFUSED || r == LDNS_RCODE_NOTAUTH) {
        /* Answers to a key the server does not know or a MAC that does
         * not verify are unsigned (RFC 8945 5.3.2): a refusal either way. */
        rc = pkc_error(PKC_ERR_REFUSED,
                       "DNS update: the server refused the update (%s): is the TSIG key right, "
                       "and does the zone allow updates with it?",
                       rcode_name(r));
    } else if (r != LDNS_RCODE_NOERROR) {
        rc = pkc_error(PKC_ERR_REFUSED, "DNS update: the server answered %s (rcode %d)",
                       rcode_name(r), (int)r);
    } else if (key) {
        /* Success is believed only when the server signed it with the key,
         * over our query's MAC (RFC 8945 5.3). */
        ldns_rr *qt = NULL;
        if (ldns_wire2pkt(&q, query, qlen) != LDNS_STATUS_OK || (qt = ldns_pkt_tsig(q)) == NULL ||
            ldns_rr_rd_count(qt) < 4) {
            rc = pkc_error(PKC_ERR_INVALID_ARG, "DNS update: the query is not signed");
        } else {
            char kname[sizeof key->name + 1];
            key_name_abs(key, kname, sizeof kname);
            if (ldns_pkt_tsig(p) == NULL)
                rc = pkc_error(PKC_ERR_BAD_SIGNATURE,
                               "DNS update: the server's answer is not signed with the TSIG key");
            else if (!ldns_pkt_tsig_verify(p, msg, len, kname, key->secret, ldns_rr_rdf(qt, 3)))
                rc = pkc_error(PKC_ERR_BAD_SIGNATURE,
                               "DNS update: the TSIG of the server's answer does not verify");
        }
    }
    ldns_pkt_free(q);
    ldns_pkt_free(p);
    return rc;
}
