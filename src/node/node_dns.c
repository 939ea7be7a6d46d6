/*
 * node_dns.c: the node's DNS seed record (docs/protocol.md "DNS seed
 * records"; the codec is src/discovery/dnsrec.h): our identity, a room's
 * id, our listener's dial information and a strictly increasing sequence,
 * signed, as a master-file line.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/dnsrec.h"
#include "util/err.h"
#include "util/log.h"
#include "util/versioned.h"
#include "node/node_int.h"

#define LOG "node"

typedef struct dns_args {
    pkc_node_dns_record_options o;
    char line[PKC_DNSREC_ZONE_LINE_MAX + 1];
    int len;
} dns_args;

int node_dns_line(pkc_node *n, node_room *r, const char *domain, int per_peer, uint32_t ttl_s,
                  char *line, size_t cap, char *owner_out)
{
    if (!n->timers_open || n->n_laddrs == 0)
        return pkc_error(PKC_ERR_STATE, "the node does not run: it has no address to give");
    const char *addrs[PKC_INVITE_ADDRESSES_MAX];
    size_t k = node_dial_addrs(n, addrs, PKC_INVITE_ADDRESSES_MAX); /* host, then reflexive */
    /* The wall clock in ms, or one more than the last record's if the clock
     * did not move on (or went back): readers keep only newer records. */
    uint64_t seq = (uint64_t)node_wall_ms(n);
    if (seq <= n->dns_sequence)
        seq = n->dns_sequence + 1;
    pkc_dnsrec_params p = {.sequence = seq,
                           .room_id = r->key.id,
                           .dial = {.fingerprint = n->cert_fp,
                                    .ufrag = n->lufrag,
                                    .pwd = n->lpwd,
                                    .addresses = addrs,
                                    .n_addresses = k}};
    char owner[PKC_DNS_NAME_MAX + 1];
    int rc = pkc_dnsrec_owner_name(domain, per_peer ? pkc_identity_get_peer_id(n->id) : NULL,
                                   owner, sizeof owner);
    if (rc < 0)
        return rc;
    pkc_dnsrec rec;
    if ((rc = pkc_dnsrec_create(n->id, &p, &rec)) != 0)
        return rc;
    int len = pkc_dnsrec_zone_line(&rec, owner, ttl_s, line, cap);
    if (len < 0)
        return len;
    n->dns_sequence = seq;
    if (owner_out)
        memcpy(owner_out, owner, strlen(owner) + 1);
    pkc_logi(LOG, "DNS seed record for room %s at %s, sequence %llu", r->id, owner,
             (unsigned long long)seq);
    return len;
}

static int do_record(pkc_node *n, void *arg)
{
    dns_args *a = arg;
    node_room *r = node_room_find(n, a->o.room);
    if (r == NULL)
        return pkc_error(PKC_ERR_NOT_FOUND, "no room '%s'", a->o.room ? a->o.room : "");
    a->len = node_dns_line(n, r, a->o.domain, a->o.per_peer, a->o.ttl_s, a->line, sizeof a->line,
                           NULL);
    return a->len < 0 ? a->len : 0;
}

_Static_assert(PKC_NODE_DNS_RECORD_MAX >= PKC_DNSREC_ZONE_LINE_MAX + 1,
               "PKC_NODE_DNS_RECORD_MAX holds the longest zone line");

#define OPTIONS_SIZES PKC_STRUCT_V1(pkc_node_dns_record_options)

int pkc_node_dns_record_versioned(pkc_node *n, int options_version,
                                  const pkc_node_dns_record_options *opts, char *out,
                                  size_t out_size)
{
    if (n == NULL || opts == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_dns_record: node, options and out are "
                                              "required");
    dns_args *a = calloc(1, sizeof *a);
    if (a == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    int rc = pkc_struct_read(&a->o, opts, options_version, OPTIONS_SIZES);
    if (rc == 0 && a->o.domain == NULL)
        rc = pkc_error(PKC_ERR_INVALID_ARG, "a DNS seed record needs a domain");
    if (rc == 0)
        rc = pkc_dns_domain_check(a->o.domain);
    if (rc == 0 && a->o.ttl_s > PKC_DNSREC_TTL_MAX)
        rc = pkc_error(PKC_ERR_INVALID_ARG, "TTL: at most 2^31 - 1 s, got %u", a->o.ttl_s);
    if (rc == 0)
        rc = node_call(n, do_record, a);
    if (rc == 0) {
        if ((size_t)a->len + 1 > out_size) {
            rc = pkc_error(PKC_ERR_TOO_LARGE, "the zone line needs %d bytes, %zu given", a->len + 1,
                           out_size);
        } else {
            memcpy(out, a->line, (size_t)a->len + 1);
            rc = a->len;
        }
    }
    free(a);
    return rc;
}
