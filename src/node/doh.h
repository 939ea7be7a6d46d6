/*
 * doh.h: the DNS-over-HTTPS client of seed discovery (RFC 8484), inside
 * the library: lookups answering decoded, checked records (what the node
 * dials), beside the public pkc_doh_lookup (what `pkc dns lookup` lists).
 */
#ifndef PKC_NODE_DOH_H
#define PKC_NODE_DOH_H

#include "discovery/dnsrec.h"
#include "pkc.h"

/* Seed records one lookup keeps at most. */
#define PKC_DOH_RECORDS_MAX 32

/* Looks up the TXT records at `owner` (cache first), blocking for at most
 * the configured timeout per resolver. Each record is read and checked
 * (pkc_dnsrec_parse_txt: size, prefix, base64url, fields, signature; then
 * the peer when `peer_id` is not NULL, and the sequence against the
 * highest seen from its key); those that fail are logged with the reason
 * and skipped. Fills out[0..] (at most `max`), *ttl_s (the answer's
 * remaining TTL) and *cached (may be NULL). Returns the number of records
 * (may be 0: an answer without a valid one), or a negative error:
 * PKC_ERR_NOT_FOUND (no such name, no TXT), PKC_ERR_TIMEOUT, PKC_ERR_IO
 * (no resolver answered: the reason of each in the log, the last in
 * pkc_errmsg()), PKC_ERR_INVALID_ARG. Thread-safe. */
int pkc_doh_lookup_records(pkc_doh *d, const char *owner, const char *peer_id, pkc_dnsrec *out,
                           size_t max, uint32_t *ttl_s, int *cached);

/* For tests: a transport in place of HTTPS. It answers the DNS message
 * `q` sent to resolver `url` with a malloc'd answer (0), or fails with an
 * error (pkc_error: the reason). NULL restores HTTPS. */
typedef int (*pkc_doh_transport_fn)(void *user_data, const char *url, const uint8_t *q, size_t qlen,
                                    uint8_t **answer, size_t *answer_len);
void pkc_doh_set_transport(pkc_doh *d, pkc_doh_transport_fn fn, void *user_data);

/* on = 1: lookups under way stop at once (PKC_ERR_IO, "cancelled"), and
 * later ones fail until it is called with 0. Any thread. */
void pkc_doh_cancel(pkc_doh *d, int on);

#endif
