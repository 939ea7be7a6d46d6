/* addr.h: transport addresses (IPv4 or IPv6 and a UDP port) as plain data,
 * so that the rtc state machines never touch struct sockaddr. */
#ifndef PKC_RTC_ADDR_H
#define PKC_RTC_ADDR_H

#include <stddef.h>
#include <stdint.h>

typedef struct pkc_addr {
    uint8_t family; /* 0 (none), 4 or 6 */
    uint16_t port;
    uint8_t ip[16]; /* IPv4: the first 4 bytes; the rest are zero */
} pkc_addr;

/* "[2001:db8::1]:443" or "192.0.2.1:443" plus NUL. */
#define PKC_ADDR_STRLEN 56

/* Parses a numeric IPv4 or IPv6 address (no host names, no brackets, no
 * zone) into `out` with `port`. Returns 0 or PKC_ERR_MALFORMED. */
int pkc_addr_parse_ip(const char *ip, size_t len, uint16_t port, pkc_addr *out);
/* Parses "HOST:PORT" or "[V6]:PORT" with a numeric host. */
int pkc_addr_parse(const char *text, pkc_addr *out);
/* Splits "HOST:PORT" (a name or an IPv4 address; at most 253 characters
 * before the colon) into `host` (NUL-terminated) and `port` (1..65535).
 * Returns 0 or PKC_ERR_MALFORMED. */
int pkc_host_port_split(const char *text, char host[256], uint16_t *port);
/* The IP alone ("192.0.2.1", "::1"); `out` needs 46 bytes. */
void pkc_addr_ip_string(const pkc_addr *a, char *out, size_t out_size);
/* "192.0.2.1:443" / "[::1]:443". Returns `out`. */
const char *pkc_addr_string(const pkc_addr *a, char *out, size_t out_size);

int pkc_addr_equal(const pkc_addr *a, const pkc_addr *b);
int pkc_addr_ip_equal(const pkc_addr *a, const pkc_addr *b);
size_t pkc_addr_ip_len(const pkc_addr *a);
int pkc_addr_is_loopback(const pkc_addr *a);
int pkc_addr_is_link_local(const pkc_addr *a);
/* A hash of the address and port, for tables. */
uint32_t pkc_addr_hash(const pkc_addr *a);

#endif
