/*
 * bench-lib0: pkc's lib0 codec. Encodes then decodes the same workload as
 * bench/lib0/lib0.mjs (N values: varuints of mixed widths, varints, short
 * strings) and prints one JSON line with operations per second.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "util/buf.h"

#define N 2000000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
    /* Same value pattern as the JS side: i * 2654435761 mod 2^k for mixed k. */
    uint64_t *vals = malloc(N * sizeof *vals);
    for (uint64_t i = 0; i < N; i++)
        vals[i] = (i * 2654435761u) % (1ull << (7 * (i % 7 + 1)));
    static const char str[] = "hello, world \xe2\x82\xac";
    double best_enc = 1e9, best_dec = 1e9;
    size_t bytes = 0;
    uint64_t sink = 0;
    for (int round = 0; round < 5; round++) {
        pkc_buf b = PKC_BUF_INIT;
        double t0 = now_s();
        for (size_t i = 0; i < N; i++) {
            pkc_buf_push_varuint(&b, vals[i]);
            pkc_buf_push_varint(&b, -(int64_t)(vals[i] >> 1));
            if (i % 8 == 0)
                pkc_buf_push_varstring(&b, str, sizeof str - 1);
        }
        double t1 = now_s();
        pkc_reader r;
        pkc_reader_init(&r, b.data, b.len);
        for (size_t i = 0; i < N; i++) {
            uint64_t u;
            int64_t v;
            pkc_reader_varuint(&r, &u);
            pkc_reader_varint(&r, &v, NULL);
            sink += u + (uint64_t)v;
            if (i % 8 == 0) {
                const char *s;
                size_t n;
                pkc_reader_varstring(&r, &s, &n);
                sink += n;
            }
        }
        double t2 = now_s();
        if (t1 - t0 < best_enc)
            best_enc = t1 - t0;
        if (t2 - t1 < best_dec)
            best_dec = t2 - t1;
        bytes = b.len;
        pkc_buf_free(&b);
    }
    size_t ops = N * 2 + N / 8;
    printf("{\"impl\":\"pkc\",\"values\":%zu,\"bytes\":%zu,\"encode_mops\":%.2f,\"decode_mops\":%.2f,"
           "\"sink\":%llu}\n",
           ops, bytes, ops / best_enc / 1e6, ops / best_dec / 1e6, (unsigned long long)sink % 10);
    free(vals);
    return 0;
}
