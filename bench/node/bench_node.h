/*
 * bench_node.h: the pkc side of bench/node (README.md), shared by the
 * driver (driver.c) and the node process (peer.c).
 *
 * bench-node is one executable in two roles. Run without arguments it is
 * the driver: it starts every node as a process of its own (itself again,
 * `bench-node peer ...`, through fork and exec: a fresh process image, as
 * y-webrtc's one peer per Node process), drives it over its stdin and
 * reads its events on its stdout, one line each, and prints the rows.
 * Every event carries t, CLOCK_MONOTONIC in microseconds, the same clock
 * in every process of the host, so the driver subtracts times taken in
 * different processes.
 */
#ifndef PKC_BENCH_NODE_H
#define PKC_BENCH_NODE_H

#include <stddef.h>

/* The peer role: argv after "peer". Returns the exit status. */
int bench_peer_main(int argc, char **argv);

/* CLOCK_MONOTONIC in microseconds. */
double bench_now_us(void);

/* The sync rows' document content: n characters of pseudo-random
 * lower-case words, the same as bench/node/ywebrtc/content.mjs (a
 * fixed-seed LCG). malloc'd, NUL-terminated; NULL when out of memory. */
char *bench_text(size_t n);

/* VmRSS and RssAnon of this process in KiB (-1 when unreadable). */
void bench_self_rss(long *vm_kib, long *anon_kib);

#endif
