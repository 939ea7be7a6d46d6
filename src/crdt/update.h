/* update.h: writing v1 updates and applying updates (update.c). */
#ifndef PKC_CRDT_UPDATE_H
#define PKC_CRDT_UPDATE_H

#include <stddef.h>
#include <stdint.h>

#include "pkc.h"
#include "crdt/ds.h"
#include "crdt/item.h"
#include "crdt/sv.h"
#include "util/buf.h"

/* ------------------------------------------------------------------------ */
/* Encoding (update.c).                                                     */

/* Writes one struct (v1) from `offset`. */
int yc_write_item(pkc_buf *b, const pkc_ydoc *doc, const yitem *it, uint32_t offset);
/* Structs of clients whose state exceeds `sv` (client id -> clock pairs,
 * NULL = all) as Yjs writeClientsStructs; then nothing else. */
int yc_write_structs(pkc_buf *b, const pkc_ydoc *doc, const ysv *sv);
int yc_ds_from_store(const pkc_ydoc *doc, yds *out);
int yc_encode_state(pkc_ydoc *doc, const ysv *sv, pkc_buf *out);
int yc_apply_update(pkc_ydoc *doc, const uint8_t *p, size_t n, int v2, const void *origin);
int yc_apply_update_txn(pkc_ytxn *txn, const uint8_t *p, size_t n, int v2);
int yc_txn_encode_update(const pkc_ytxn *txn, pkc_buf *out, int *has_content);

#endif
