/*
 * merge.h: functions on encoded updates (merge.c): merge, diff, state
 * vector, v2 to v1.
 */
#ifndef PKC_CRDT_MERGE_H
#define PKC_CRDT_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/decode.h"
#include "crdt/sv.h"
#include "util/buf.h"

/* ------------------------------------------------------------------------ */
/* Update functions on bytes.                                               */

/* Writes a decoded struct (v1) from `offset` units. */
int ydec_write(pkc_buf *b, const ydec *s, uint32_t offset);
int yc_update_merge(const uint8_t *const *ups, const size_t *lens, size_t n, int v2,
                    pkc_buf *out);
int yc_update_diff(const uint8_t *up, size_t len, int v2, const ysv *sv, pkc_buf *out);
int yc_update_sv(const uint8_t *up, size_t len, int v2, pkc_buf *out);
int yc_update_to_v1(const uint8_t *up, size_t len, pkc_buf *out);

#endif
