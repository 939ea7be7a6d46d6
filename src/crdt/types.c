/*
 * types.c: local changes to maps, arrays and XML nodes (Yjs typeMapSet,
 * typeListInsertGenerics, typeListDelete, ...) and their public API.
 */
#include "crdt/types.h"

#include <stdlib.h>
#include <string.h>

#include "pkc.h"
#include "crdt/branch.h"
#include "crdt/client.h"
#include "crdt/content.h"
#include "crdt/doc.h"
#include "crdt/integrate.h"
#include "crdt/item.h"
#include "crdt/keymap.h"
#include "crdt/pool.h"
#include "crdt/read.h"
#include "crdt/seqtree.h"
#include "crdt/split.h"
#include "crdt/txn.h"
#include "crdt/val.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/text.h"

/* ------------------------------------------------------------------------ */
/* Transactions for API calls                                               */

int yc_api_begin(ybranch *b, pkc_ytxn **txn, int *own)
{
    *own = 0;
    if (*txn) {
        if ((*txn)->doc != b->doc)
            return pkc_error(PKC_ERR_INVALID_ARG, "transaction of another document");
    } else if (b->doc->txn) {
        *txn = b->doc->txn;
    } else {
        int rc = yc_txn_begin(b->doc, NULL, 1, txn);
        if (rc)
            return rc;
        *own = 1;
    }
    return 0;
}

int yc_api_end(pkc_ytxn *txn, int own, int rc)
{
    if (own) {
        int rc2 = yc_txn_commit(txn);
        if (rc == 0)
            rc = rc2;
    }
    return rc;
}

int yc_check_live(const ybranch *b)
{
    if (b->dead || (b->item && yi_deleted(b->item)))
        return pkc_error(PKC_ERR_YTYPE_DELETED, "the shared type was deleted");
    if (b->tref == PKC_YUNDEFINED)
        return pkc_error(PKC_ERR_YTYPE_KIND, "root type has no kind yet; get it with one");
    return 0;
}

/* ------------------------------------------------------------------------ */
/* New local items                                                          */

int yc_new_item(pkc_ytxn *txn, ybranch *parent, yitem *left, yitem *right, ykey *psub,
                uint8_t kind, uint32_t len, yitem **out)
{
    pkc_ydoc *doc = txn->doc;
    uint32_t cix;
    int rc = yc_own_client(doc, &cix);
    if (rc)
        return rc;
    uint32_t clock = doc->cl[cix].state;
    if ((uint64_t)clock + len >= YC_MAX_CLOCK)
        return pkc_error(PKC_ERR_RANGE, "client clock would exceed 2^32");
    yitem *it = yc_item_alloc(doc);
    if (it == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    it->id.client = cix;
    it->id.clock = clock;
    it->len = len;
    it->kind = kind;
    it->flags = 0;
    if (yc_kind_countable(kind))
        it->flags |= YF_COUNTABLE;
    if (left) {
        it->origin = yi_last_id(left);
        it->flags |= YF_ORIGIN;
    }
    if (right) {
        it->rorigin = right->id;
        it->flags |= YF_RORIGIN;
    }
    it->left = yi_h(left);
    it->right = yi_h(right);
    it->owner = psub ? psub->owner : parent->owner;
    *out = it;
    return 0;
}

/* Content of a new item from a value that is not a plain Any run. */
static int set_special(pkc_ydoc *doc, yitem *it, const yv *v, pkc_ytype **created)
{
    switch (v->kind) {
    case PKC_YV_BINARY:
        return yc_set_bytes(doc, it, v->u.str.ptr, v->u.str.len);
    case PKC_YV_DOC: {
        pkc_buf b = PKC_BUF_INIT;
        if (!pkc_utf8_valid((const uint8_t *)v->u.str.ptr, v->u.str.len, NULL))
            return pkc_error(PKC_ERR_INVALID_ARG, "document guid is not UTF-8");
        pkc_buf_push_varstring(&b, v->u.str.ptr, v->u.str.len);
        pkc_buf_push_u8(&b, 118); /* options: {} */
        pkc_buf_push_u8(&b, 0);
        int rc = b.err ? b.err : yc_set_bytes(doc, it, b.data, b.len);
        pkc_buf_free(&b);
        return rc;
    }
    case PKC_YV_TYPE: {
        pkc_ytype_kind k = v->u.type.kind;
        if ((unsigned)k > PKC_YXML_TEXT)
            return pkc_error(PKC_ERR_INVALID_ARG, "unknown type kind %d", (int)k);
        ybranch *b = yc_branch_new(doc, (uint8_t)k);
        if (b == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        if (k == PKC_YXML_ELEMENT || k == PKC_YXML_HOOK) {
            const char *name = v->u.type.name ? v->u.type.name : "UNDEFINED";
            size_t n = strlen(name);
            if (!pkc_utf8_valid((const uint8_t *)name, n, NULL))
                return pkc_error(PKC_ERR_INVALID_ARG, "node name is not UTF-8");
            if ((b->name = malloc(n + 1)) == NULL)
                return pkc_error_code(PKC_ERR_NOMEM);
            memcpy(b->name, name, n + 1);
            b->name_len = (uint32_t)n;
        }
        yi_set_type(it, b);
        if (created)
            *created = (pkc_ytype *)b;
        return 0;
    }
    default:
        return pkc_error(PKC_ERR_INTERNAL, "value kind %d", (int)v->kind);
    }
}

static uint8_t kind_of_value(const yv *v)
{
    switch (v->kind) {
    case PKC_YV_BINARY:
        return YC_BINARY;
    case PKC_YV_DOC:
        return YC_DOC;
    case PKC_YV_TYPE:
        return YC_TYPE;
    default:
        return YC_ANY;
    }
}

/* Yjs typeListInsertGenericsAfter */
int yc_list_insert_after(pkc_ytxn *txn, ybranch *parent, yitem *ref, const yv *vals, size_t n,
                         pkc_ytype **created)
{
    yitem *left = ref;
    yitem *right = ref ? yi_right(txn->doc, ref) : parent->start;
    int rc;
    for (size_t i = 0; i < n;) {
        uint8_t kind = kind_of_value(&vals[i]);
        yitem *it;
        if (kind == YC_ANY) {
            size_t k = i;
            pkc_buf b = PKC_BUF_INIT;
            while (k < n && kind_of_value(&vals[k]) == YC_ANY) {
                if (vals[k].kind == PKC_YV_UNDEFINED || vals[k].kind == PKC_YV_BIGINT) {
                    pkc_buf_free(&b);
                    return pkc_error(PKC_ERR_INVALID_ARG,
                                     "arrays take no undefined or BigInt values (as Yjs)");
                }
                if ((rc = yany_write(&b, &vals[k]))) {
                    pkc_buf_free(&b);
                    return rc;
                }
                k++;
            }
            if ((rc = yc_new_item(txn, parent, left, right, NULL, YC_ANY, (uint32_t)(k - i), &it))) {
                pkc_buf_free(&b);
                return rc;
            }
            rc = yc_set_bytes(txn->doc, it, b.data, b.len);
            pkc_buf_free(&b);
            i = k;
        } else {
            if ((rc = yc_new_item(txn, parent, left, right, NULL, kind, 1, &it)))
                return rc;
            rc = set_special(txn->doc, it, &vals[i], created ? &created[i] : NULL);
            i++;
        }
        if (rc) {
            yc_item_release(txn->doc, it);
            return rc;
        }
        if ((rc = yc_integrate(txn, it, 0)))
            return rc;
        left = it;
    }
    return 0;
}

/* Yjs typeListInsertGenerics: after the item holding unit index-1. */
int yc_list_insert(pkc_ytxn *txn, ybranch *parent, uint64_t index, const yv *vals, size_t n,
                   pkc_ytype **created)
{
    if (index > parent->length)
        return pkc_error(PKC_ERR_RANGE, "index %llu beyond the length %llu",
                         (unsigned long long)index, (unsigned long long)parent->length);
    if (index == 0)
        return yc_list_insert_after(txn, parent, NULL, vals, n, created);
    uint32_t off;
    yitem *it = yst_find(parent, index - 1, &off);
    if (it == NULL || (off + 1 < it->len && yc_split(txn, it, off + 1) == NULL))
        return pkc_error_code(PKC_ERR_NOMEM);
    return yc_list_insert_after(txn, parent, it, vals, n, created);
}

/* Yjs typeListDelete */
int yc_list_delete(pkc_ytxn *txn, ybranch *parent, uint64_t index, uint64_t len)
{
    if (len == 0)
        return 0;
    if (index + len < index || index + len > parent->length)
        return pkc_error(PKC_ERR_RANGE, "range %llu+%llu beyond the length %llu",
                         (unsigned long long)index, (unsigned long long)len,
                         (unsigned long long)parent->length);
    yitem *n;
    if (index == 0) {
        n = parent->start;
    } else {
        uint32_t off;
        yitem *it = yst_find(parent, index - 1, &off);
        if (it == NULL)
            return pkc_error_code(PKC_ERR_NOMEM);
        if (off + 1 < it->len) {
            if ((n = yc_split(txn, it, off + 1)) == NULL)
                return pkc_error_code(PKC_ERR_NOMEM);
        } else {
            n = yi_right(txn->doc, it);
        }
    }
    int rc;
    while (len > 0 && n) {
        if (!yi_deleted(n)) {
            if (len < n->len && yc_split(txn, n, (uint32_t)len) == NULL)
                return pkc_error_code(PKC_ERR_NOMEM);
            if ((rc = yc_item_delete(txn, n)))
                return rc;
            len -= n->len;
        }
        n = yi_right(txn->doc, n);
    }
    return 0;
}

/* Yjs typeMapSet */
int yc_map_set(pkc_ytxn *txn, ybranch *parent, const char *key, size_t klen, const yv *v,
               pkc_ytype **created)
{
    if (!pkc_utf8_valid((const uint8_t *)key, klen, NULL))
        return pkc_error(PKC_ERR_INVALID_ARG, "key is not UTF-8");
    ykey *k = yc_key_get(parent, key, klen);
    if (k == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    yitem *left = k->val;
    uint8_t kind = kind_of_value(v);
    yitem *it;
    int rc = yc_new_item(txn, parent, left, NULL, k, kind, 1, &it);
    if (rc)
        return rc;
    if (kind == YC_ANY) {
        pkc_buf b = PKC_BUF_INIT;
        rc = yany_write(&b, v);
        if (rc == 0)
            rc = yc_set_bytes(txn->doc, it, b.data, b.len);
        pkc_buf_free(&b);
    } else {
        rc = set_special(txn->doc, it, v, created);
    }
    if (rc) {
        yc_item_release(txn->doc, it);
        return rc;
    }
    return yc_integrate(txn, it, 0);
}

int yc_map_delete(pkc_ytxn *txn, ybranch *parent, const char *key, size_t klen)
{
    ykey *k = ymap_find(&parent->map, key, klen);
    if (k && k->val)
        return yc_item_delete(txn, k->val);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Public API: maps                                                         */

#define B(t) ((ybranch *)(t))

int pkc_ymap_set(pkc_ytxn *txn, pkc_ytype *map, const char *key, const pkc_yvalue *value,
                         pkc_ytype **created)
{
    ybranch *b = B(map);
    int own, rc;
    if ((rc = yc_check_live(b)) || (rc = yc_api_begin(b, &txn, &own)))
        return rc;
    rc = yc_map_set(txn, b, key, strlen(key), value, created);
    return yc_api_end(txn, own, rc);
}

int pkc_ymap_delete(pkc_ytxn *txn, pkc_ytype *map, const char *key)
{
    ybranch *b = B(map);
    int own, rc;
    if ((rc = yc_check_live(b)) || (rc = yc_api_begin(b, &txn, &own)))
        return rc;
    rc = yc_map_delete(txn, b, key, strlen(key));
    return yc_api_end(txn, own, rc);
}

static const yitem *map_live(const ybranch *b, const char *key)
{
    const ykey *k = ymap_find(&b->map, key, strlen(key));
    if (k == NULL || k->val == NULL || yi_deleted((const yitem *)k->val))
        return NULL;
    return k->val;
}

static int value_out(const yitem *it, uint32_t k, pkc_yvalue **out)
{
    pkc_yvalue *v = malloc(sizeof *v);
    if (v == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    int rc = yc_item_value(it, k, v);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    return 0;
}

int pkc_ymap_get(const pkc_ytype *map, const char *key, pkc_yvalue **out)
{
    const yitem *it = map_live(B(map), key);
    if (it == NULL)
        return pkc_error(PKC_ERR_NOT_FOUND, "no value for key \"%s\"", key);
    return value_out(it, it->len - 1, out);
}

int pkc_ymap_has(const pkc_ytype *map, const char *key)
{
    return map_live(B(map), key) != NULL;
}

size_t pkc_ymap_get_size(const pkc_ytype *map)
{
    const ybranch *b = B(map);
    size_t n = 0;
    for (uint32_t i = 0; i < b->map.n; i++)
        if (b->map.e[i]->val && !yi_deleted((const yitem *)b->map.e[i]->val))
            n++;
    return n;
}

int pkc_ymap_get_entries(const pkc_ytype *map, pkc_yvalue **out)
{
    const ybranch *b = B(map);
    pkc_yvalue *v = calloc(1, sizeof *v);
    if (v == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    v->kind = PKC_YV_OBJECT;
    size_t n = pkc_ymap_get_size(map);
    v->u.object.entries = calloc(n ? n : 1, sizeof(pkc_yentry));
    if (v->u.object.entries == NULL) {
        free(v);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    for (uint32_t i = 0; i < b->map.n; i++) {
        const ykey *k = b->map.e[i];
        const yitem *it = k->val;
        if (it == NULL || yi_deleted(it))
            continue;
        pkc_yentry *e = &v->u.object.entries[v->u.object.len];
        char *key = malloc(k->len + 1);
        if (key == NULL) {
            pkc_yvalue_free(v);
            return pkc_error_code(PKC_ERR_NOMEM);
        }
        memcpy(key, k->s, k->len + 1);
        e->key = key;
        e->key_len = k->len;
        v->u.object.len++;
        int rc = yc_item_value(it, it->len - 1, &e->value);
        if (rc) {
            pkc_yvalue_free(v);
            return rc;
        }
    }
    *out = v;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Public API: arrays                                                       */

int pkc_yarray_insert(pkc_ytxn *txn, pkc_ytype *array, size_t index,
                              const pkc_yvalue *values, size_t n, pkc_ytype **created)
{
    ybranch *b = B(array);
    int own, rc;
    if ((rc = yc_check_live(b)) || (rc = yc_api_begin(b, &txn, &own)))
        return rc;
    rc = yc_list_insert(txn, b, index, values, n, created);
    return yc_api_end(txn, own, rc);
}

int pkc_yarray_push(pkc_ytxn *txn, pkc_ytype *array, const pkc_yvalue *values, size_t n,
                            pkc_ytype **created)
{
    ybranch *b = B(array);
    int own, rc;
    if ((rc = yc_check_live(b)) || (rc = yc_api_begin(b, &txn, &own)))
        return rc;
    /* Yjs typeListPushGenerics: after the very last item, deleted or not */
    yitem *last = yst_last(b);
    rc = yc_list_insert_after(txn, b, last, values, n, created);
    return yc_api_end(txn, own, rc);
}

int pkc_yarray_delete(pkc_ytxn *txn, pkc_ytype *array, size_t index, size_t len)
{
    ybranch *b = B(array);
    int own, rc;
    if ((rc = yc_check_live(b)) || (rc = yc_api_begin(b, &txn, &own)))
        return rc;
    rc = yc_list_delete(txn, b, index, len);
    return yc_api_end(txn, own, rc);
}

int pkc_yarray_get(const pkc_ytype *array, size_t index, pkc_yvalue **out)
{
    const ybranch *b = B(array);
    if (index >= b->length)
        return pkc_error(PKC_ERR_RANGE, "index %zu beyond the length %llu", index,
                         (unsigned long long)b->length);
    uint32_t off;
    const yitem *it = yst_find(b, index, &off);
    if (it == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    return value_out(it, off, out);
}

int pkc_yarray_slice(const pkc_ytype *array, size_t start, size_t end, pkc_yvalue **out)
{
    const ybranch *b = B(array);
    if (end > b->length)
        end = (size_t)b->length;
    if (start > end)
        start = end;
    size_t n = end - start;
    pkc_yvalue *v = calloc(1, sizeof *v);
    if (v == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    v->kind = PKC_YV_ARRAY;
    if ((v->u.array.items = calloc(n ? n : 1, sizeof(yv))) == NULL) {
        free(v);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    if (n) {
        uint32_t off;
        const yitem *it = yst_find(b, start, &off);
        if (it == NULL) {
            pkc_yvalue_free(v);
            return pkc_error_code(PKC_ERR_NOMEM);
        }
        while (v->u.array.len < n && it) {
            if (yi_countable(it) && !yi_deleted(it)) {
                for (; off < it->len && v->u.array.len < n; off++) {
                    int rc = yc_item_value(it, off, &v->u.array.items[v->u.array.len]);
                    if (rc) {
                        pkc_yvalue_free(v);
                        return rc;
                    }
                    v->u.array.len++;
                }
            }
            off = 0;
            it = yi_right(b->doc, it);
        }
    }
    *out = v;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Public API: common                                                       */

pkc_ytype_kind pkc_ytype_get_kind(const pkc_ytype *t)
{
    return (pkc_ytype_kind)B(t)->tref;
}

size_t pkc_ytype_get_length(const pkc_ytype *t)
{
    return (size_t)B(t)->length;
}

int pkc_ytype_is_deleted(const pkc_ytype *t)
{
    const ybranch *b = B(t);
    return b->dead || (b->item && yi_deleted(b->item));
}

pkc_ytype *pkc_ytype_get_parent(const pkc_ytype *t)
{
    const ybranch *b = B(t);
    if (b->item == NULL || b->dead)
        return NULL;
    return (pkc_ytype *)yi_parent(b->doc, b->item);
}

int pkc_ytype_to_json(const pkc_ytype *t, char **json, size_t *len)
{
    pkc_buf b = PKC_BUF_INIT;
    int rc = yc_type_json(&b, B(t), 0);
    if (rc == 0)
        rc = pkc_buf_push_u8(&b, 0);
    if (rc) {
        pkc_buf_free(&b);
        return rc;
    }
    size_t n;
    *json = (char *)pkc_buf_steal(&b, &n);
    if (len)
        *len = n - 1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Public API: XML                                                          */

static int xml_parent_ok(const ybranch *b)
{
    if (b->tref != PKC_YXML_FRAGMENT && b->tref != PKC_YXML_ELEMENT)
        return pkc_error(PKC_ERR_YTYPE_KIND, "not an XML fragment or element");
    return 0;
}

int pkc_yxml_insert_element(pkc_ytxn *txn, pkc_ytype *parent, size_t index,
                                    const char *name, pkc_ytype **out)
{
    ybranch *b = B(parent);
    int own, rc;
    if ((rc = yc_check_live(b)) || (rc = xml_parent_ok(b)) || (rc = yc_api_begin(b, &txn, &own)))
        return rc;
    yv v;
    memset(&v, 0, sizeof v);
    v.kind = PKC_YV_TYPE;
    v.u.type.kind = PKC_YXML_ELEMENT;
    v.u.type.name = name;
    pkc_ytype *c = NULL;
    rc = yc_list_insert(txn, b, index, &v, 1, &c);
    if (rc == 0 && out)
        *out = c;
    return yc_api_end(txn, own, rc);
}

int pkc_yxml_insert_text(pkc_ytxn *txn, pkc_ytype *parent, size_t index, pkc_ytype **out)
{
    ybranch *b = B(parent);
    int own, rc;
    if ((rc = yc_check_live(b)) || (rc = xml_parent_ok(b)) || (rc = yc_api_begin(b, &txn, &own)))
        return rc;
    yv v;
    memset(&v, 0, sizeof v);
    v.kind = PKC_YV_TYPE;
    v.u.type.kind = PKC_YXML_TEXT;
    pkc_ytype *c = NULL;
    rc = yc_list_insert(txn, b, index, &v, 1, &c);
    if (rc == 0 && out)
        *out = c;
    return yc_api_end(txn, own, rc);
}

int pkc_yxml_get_child(const pkc_ytype *parent, size_t index, pkc_ytype **out)
{
    const ybranch *b = B(parent);
    if (index >= b->length)
        return pkc_error(PKC_ERR_RANGE, "index %zu beyond the length %llu", index,
                         (unsigned long long)b->length);
    uint32_t off;
    const yitem *it = yst_find(b, index, &off);
    if (it == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    if (it->kind != YC_TYPE)
        return pkc_error(PKC_ERR_NOT_FOUND, "child %zu is not a shared type", index);
    *out = (pkc_ytype *)yi_type(b->doc, it);
    return 0;
}

const char *pkc_yxml_get_name(const pkc_ytype *element)
{
    const ybranch *b = B(element);
    if (b->tref != PKC_YXML_ELEMENT && b->tref != PKC_YXML_HOOK)
        return NULL;
    return b->name ? b->name : "";
}

int pkc_yxml_set_attribute(pkc_ytxn *txn, pkc_ytype *element, const char *key,
                                   const char *value)
{
    yv v;
    memset(&v, 0, sizeof v);
    v.kind = PKC_YV_STRING;
    v.u.str.ptr = value;
    v.u.str.len = strlen(value);
    return pkc_ymap_set(txn, element, key, &v, NULL);
}

int pkc_yxml_remove_attribute(pkc_ytxn *txn, pkc_ytype *element, const char *key)
{
    return pkc_ymap_delete(txn, element, key);
}

int pkc_yxml_get_attribute(const pkc_ytype *element, const char *key, char **out)
{
    const yitem *it = map_live(B(element), key);
    if (it == NULL)
        return pkc_error(PKC_ERR_NOT_FOUND, "no attribute \"%s\"", key);
    yv v;
    int rc = yc_item_value(it, it->len - 1, &v);
    if (rc)
        return rc;
    pkc_buf b = PKC_BUF_INIT;
    rc = yv_js_string(&b, &v);
    yv_clear(&v);
    if (rc == 0)
        rc = pkc_buf_push_u8(&b, 0);
    if (rc) {
        pkc_buf_free(&b);
        return rc;
    }
    *out = (char *)pkc_buf_steal(&b, NULL);
    return 0;
}

int pkc_yxml_to_string(const pkc_ytype *t, char **out, size_t *len)
{
    pkc_buf b = PKC_BUF_INIT;
    int rc = yc_xml_string(&b, B(t), 0);
    if (rc == 0)
        rc = pkc_buf_push_u8(&b, 0);
    if (rc) {
        pkc_buf_free(&b);
        return rc;
    }
    size_t n;
    *out = (char *)pkc_buf_steal(&b, &n);
    if (len)
        *len = n - 1;
    return 0;
}
