/* types.h: local changes shared by the type implementations. */
#ifndef PKC_CRDT_TYPES_H
#define PKC_CRDT_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "pkc.h"
#include "crdt/item.h"
#include "crdt/val.h"

typedef struct ybranch ybranch;
typedef struct ykey ykey;

/* API calls run in the given transaction, the open one, or a new one
 * (*own set) that yc_api_end commits. */
int yc_api_begin(ybranch *b, pkc_ytxn **txn, int *own);
int yc_api_end(pkc_ytxn *txn, int own, int rc);
/* PKC_ERR_YTYPE_DELETED / PKC_ERR_YTYPE_KIND for types that take no
 * changes. */
int yc_check_live(const ybranch *b);

/* A new local item (not integrated) with origins from left and right. */
int yc_new_item(pkc_ytxn *txn, ybranch *parent, yitem *left, yitem *right, ykey *psub,
                uint8_t kind, uint32_t len, yitem **out);
int yc_list_insert_after(pkc_ytxn *txn, ybranch *parent, yitem *ref, const yv *vals, size_t n,
                         pkc_ytype **created);
int yc_list_insert(pkc_ytxn *txn, ybranch *parent, uint64_t index, const yv *vals, size_t n,
                   pkc_ytype **created);
int yc_list_delete(pkc_ytxn *txn, ybranch *parent, uint64_t index, uint64_t len);
int yc_map_set(pkc_ytxn *txn, ybranch *parent, const char *key, size_t klen, const yv *v,
               pkc_ytype **created);
int yc_map_delete(pkc_ytxn *txn, ybranch *parent, const char *key, size_t klen);

#endif
