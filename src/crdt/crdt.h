/*
 * crdt.h: internals of the Yjs-compatible document engine.
 *
 * The model follows Yjs (node_modules/yjs/src) closely, so that every
 * decision that shows on the wire (origins, splits, merges, delete sets) is
 * the same:
 *
 *   - A document has a struct store: per client, the structs (items and GC
 *     ranges) ordered by clock, covering clocks 0..state without gaps.
 *   - Every shared type is a branch: a doubly linked list of items in
 *     document order (the "list" part) plus a map from keys to the newest
 *     item of each key (the "map" part), as Yjs's AbstractType.
 *   - Items are split where an origin or a delete points inside them and
 *     merged again at the end of each transaction.
 *
 * What differs is storage: items come from a pool, per-client structs live
 * in a blocked array (so splits do not move the whole array), and every
 * branch's list has an order-statistic tree over its items so an index is
 * found in O(log n) instead of Yjs's scan from a search marker.
 *
 * Client ids are stored in items as an index into the document's client
 * table (yid.client), clocks as 32 bits: updates with larger clocks are
 * rejected (PKC_ERR_RANGE).
 */
#ifndef PKC_CRDT_CRDT_H
#define PKC_CRDT_CRDT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pkc.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hashtab.h"

/* ------------------------------------------------------------------------ */
/* Limits                                                                   */

#define YC_MAX_CLOCK 0xffffffffu      /* clock + length must stay below */
#define YC_MAX_CLIENT 0x1fffffffffffffull /* 2^53 - 1: what JavaScript can hold */
#define YC_MAX_DEPTH 1000             /* nesting of Any / JSON values */

/* ------------------------------------------------------------------------ */
/* Values (val.c): pkc_yvalue trees, lib0 Any, JSON, JavaScript semantics.  */

typedef pkc_yvalue yv;

void yv_clear(yv *v);                   /* frees the children, not v */
int yv_copy(yv *dst, const yv *src);    /* deep copy, object keys in JS order */
/* lib0 Any. yany_skip validates one value without building it. */
int yany_read(pkc_reader *r, yv *out);
int yany_skip(pkc_reader *r);
int yany_write(pkc_buf *b, const yv *v); /* as lib0 writeAny */
/* Validates one value like yany_skip; *canonical is 1 if lib0 writeAny
 * would write what lib0 readAny reads from it as the same bytes. */
int yany_canon(pkc_reader *r, int *canonical);
/* JSON text (as JSON.parse / JSON.stringify). */
int yjson_parse(const char *s, size_t n, yv *out);
int yjson_valid(const char *s, size_t n);
/* Parses s; *canonical is 1 if JSON.stringify(JSON.parse(s)) is s (or s has
 * lone surrogates pkc keeps as they are), else appends that text to out. */
int yjson_canon(const char *s, size_t n, pkc_buf *out, int *canonical);
int yjson_write(pkc_buf *b, const yv *v);
/* JavaScript String(v) (used by the XML serialisation). */
int yv_js_string(pkc_buf *b, const yv *v);
/* JavaScript Number.prototype.toString(); returns the length. */
size_t yjs_number(double d, char out[32]);
/* lib0 equalityDeep. */
int yv_equal_deep(const yv *a, const yv *b);
/* Yjs's equalAttrs for text formatting: identical pointers, equal
 * primitives, or two objects whose members are equal primitives. */
int yv_equal_attr(const yv *a, const yv *b);
/* a === b in JavaScript where objects are compared by identity (pointer). */
int yv_strict_eq(const yv *a, const yv *b);
/* Orders an object's entries as JavaScript does (array-index keys first,
 * ascending, then insertion order) and drops earlier duplicates. */
int yv_obj_normalize(yv *obj);
/* JSON text of a string (with quotes and escapes), as JSON.stringify. */
int yjson_write_string(pkc_buf *b, const char *s, size_t n);

/* ------------------------------------------------------------------------ */
/* Struct kinds and flags                                                   */

enum {
    YC_GC = 0,
    YC_DELETED = 1,
    YC_JSON = 2,
    YC_BINARY = 3,
    YC_STRING = 4,
    YC_EMBED = 5,
    YC_FORMAT = 6,
    YC_TYPE = 7,
    YC_ANY = 8,
    YC_DOC = 9,
    YC_SKIP = 10,
    YC_FREE = 15 /* a pool item not in use */
};

enum { /* seven bits: yitem.flags */
    YF_DELETED = 0x01,
    YF_KEEP = 0x02,
    YF_COUNTABLE = 0x04,
    YF_ORIGIN = 0x08,  /* origin is set */
    YF_RORIGIN = 0x10, /* right origin is set */
    YF_ASCII = 0x20,   /* string content is known to be ASCII */
    YF_REDONE = 0x40   /* has an entry in doc->redone */
};

typedef struct yid {
    uint32_t client; /* index into doc->cl */
    uint32_t clock;
} yid;

typedef struct yitem yitem;
typedef struct ybranch ybranch;
typedef struct ykey ykey;
typedef struct ynode ynode;

/* A format value shared between items: Yjs compares attribute values with
 * `===`, and a format item that restores an earlier value holds the very
 * same object as the item it copies it from. The pointer is the identity. */
typedef struct ysval {
    yv v;
    uint32_t refs;
} ysval;

ysval *ysval_new(void);
void ysval_release(ysval *s);

/* Format content: key and value. */
typedef struct yfmt {
    char *key;
    uint32_t key_len;
    uint32_t json_len;
    ysval *val;
    char json[]; /* the value as JSON text, as on the v1 wire */
} yfmt;

/*
 * Content by kind (lengths in clock units are in len):
 *   STRING  UTF-8 text                                  } `cn` bytes at
 *   ANY     `len` lib0 Any values, concatenated         } offset `content`
 *   JSON    `len` varstrings (JSON texts or "undefined") } in the arena of
 *   BINARY  the bytes                                   } the item's client
 *   EMBED   JSON text                                   } (yi_bytes)
 *   DOC     varstring guid, then the Any options        }
 *   FORMAT  doc->fmts[content] (yi_fmt)
 *   TYPE    the type whose list is doc->owners[content] (yi_type)
 *   DELETED, GC: nothing
 */
#define YC_CN_BIG 0x3fffu /* yitem.cn: the byte count is in doc->bigcn */

/* A side table keyed by item (content.c, offsets.c): a pkc_hashtab whose
 * slots are entries of one size, each starting with its key
 * (`const yitem *`, NULL: an empty slot). */
typedef pkc_hashtab yitab;

static inline uint32_t yc_ptr_hash(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 31;
    x *= 0x9e3779b97f4a7c15ull;
    return (uint32_t)(x >> 32);
}

/* Item-keyed side tables (yitab): entries start with their key. */

static inline uint32_t itab_hash(const void *slot, const void *ctx)
{
    const yitem *k;
    memcpy(&k, slot, sizeof k);
    return yc_ptr_hash(k);
}

static inline int itab_match(const void *slot, const void *key)
{
    const yitem *k;
    memcpy(&k, slot, sizeof k);
    return k == key;
}

/* The layout of a table of `esz`-byte entries. */
#define ITAB_LAYOUT(esz) {(esz), sizeof(const yitem *), 16, itab_hash}

static inline void *itab_find(const yitab *t, const pkc_hashtab_layout *l, const yitem *it)
{
    return pkc_hashtab_find(t, l, yc_ptr_hash(it), itab_match, it);
}

/* A new entry for `it` (not in the table), zeroed but for its key; NULL
 * when out of memory (nothing changed). */
static inline void *itab_add(yitab *t, const pkc_hashtab_layout *l, const yitem *it)
{
    void *e = pkc_hashtab_add(t, l, yc_ptr_hash(it), NULL);
    if (e)
        memcpy(e, &it, sizeof it);
    return e;
}

/* 48 bytes: no pointers (handles and indices instead), content elsewhere. */
struct yitem {
    yid id;
    uint32_t len; /* in clock units (UTF-16 code units for strings) */
    yid origin;
    yid rorigin;
    uint32_t left;  /* handles of the neighbours in the list (0: none) */
    uint32_t right;
    uint32_t owner; /* index in doc->owners: parent type and map key (0: none, GC) */
    uint32_t content;
    unsigned kind : 4;
    unsigned flags : 7;
    unsigned slot : 7; /* index in its chunk (see ychunk) */
    unsigned cn : 14;  /* content bytes (yi_cn), YC_CN_BIG when 0x3fff or more */
};

static inline int yi_deleted(const yitem *it)
{
    return (it->flags & YF_DELETED) != 0;
}

static inline int yi_countable(const yitem *it)
{
    return (it->flags & YF_COUNTABLE) != 0;
}

/* Weight of an item in its list: what it adds to the type's length. */
static inline uint32_t yi_weight(const yitem *it)
{
    return (it->flags & (YF_COUNTABLE | YF_DELETED)) == YF_COUNTABLE ? it->len : 0;
}

static inline int yid_eq(yid a, yid b)
{
    return a.client == b.client && a.clock == b.clock;
}

static inline yid yi_last_id(const yitem *it)
{
    yid r = {it->id.client, it->id.clock + it->len - 1};
    return r;
}

/* ------------------------------------------------------------------------ */
/* Keys and ordered hash maps (insertion order, as JavaScript's Map).       */

struct ykey {
    void *val;     /* yitem * (branch maps: the last of the key's chain) or
                    * ybranch * (root table) */
    yitem *first;  /* branch maps: the first of the key's chain */
    uint32_t hash;
    uint32_t len;
    uint32_t owner; /* branch maps: its index in doc->owners */
    char s[];      /* NUL-terminated */
};

typedef struct ymap {
    ykey **e;          /* entries in insertion order */
    uint32_t n, cap;   /* entries */
    pkc_hashtab slots; /* uint32_t slots: index + 1 into e */
} ymap;

uint32_t ymap_hash(const char *s, size_t n);
ykey *ymap_find(const ymap *m, const char *s, size_t n);
/* Returns the existing key or a new one (val NULL); NULL when out of memory. */
ykey *ymap_get_or_add(ymap *m, const char *s, size_t n);
void ymap_free(ymap *m);

/* ------------------------------------------------------------------------ */
/* Order-statistic tree over the items of a list (seqtree.c).               */

#define YN_ORDER 32

struct ynode {
    ynode *parent;
    uint32_t n;
    uint32_t is_leaf;
    uint64_t w[YN_ORDER];
    void *c[YN_ORDER]; /* yitem * in leaves, ynode * above */
};

/* The tree is built on first use (an index lookup) and kept up to date
 * from then on; documents that only receive remote changes never build
 * one. */
/* Inserts `it` after `after` (NULL: at the front) in b's tree. */
int yst_insert_after(ybranch *b, yitem *after, yitem *it);
/* The last item of the list (deleted or not), or NULL. */
yitem *yst_last(const ybranch *b);
void yst_remove(ybranch *b, yitem *it);
/* The item's weight changed by `delta` (delete, split, merge). */
void yst_add_weight(yitem *it, int64_t delta);
/* left (in the tree) was just split: right (not yet in it) follows it,
 * both with their weights now. PKC_ERR_NOMEM. */
int yst_split(ybranch *b, yitem *left, yitem *right);
/* right (its list neighbour) merged into left: its weight goes to left and
 * it leaves the tree. */
void yst_merge(ybranch *b, yitem *left, yitem *right);
/* The item whose weight covers unit `index` (< the tree's total), and the
 * offset of that unit inside it. NULL when out of memory (building). */
yitem *yst_find(const ybranch *b, uint64_t index, uint32_t *offset);
/* Units before `it` in its list (builds the tree if needed; on failure to
 * allocate, counts by walking the list). */
uint64_t yst_index(const yitem *it);
void yst_free(ybranch *b);
/* Debug check of the whole tree; returns 0 when consistent. */
int yst_check(const ybranch *b);

/* check.c: NULL if the document's internal invariants hold, else what is
 * wrong (written to buf). O(document); for tests and fuzzers. */
const char *yc_doc_check(const pkc_ydoc *doc, char *buf, size_t n);

/* ------------------------------------------------------------------------ */
/* Branches (shared types).                                                 */

typedef struct yobs {
    void (*fn)(void);  /* cast to the real callback type */
    void *ud;
    uint32_t id;
} yobs;

struct ybranch {
    pkc_ydoc *doc;
    uint32_t owner; /* its list's index in doc->owners */
    yitem *item;   /* NULL for roots */
    ykey *root;    /* root: its entry in doc->roots */
    uint8_t tref;  /* pkc_ytype_kind, or PKC_YUNDEFINED for untyped roots */
    uint8_t has_formatting;
    uint8_t dead;  /* its item was garbage collected */
    uint8_t indexed; /* `tree` is built and kept up to date */
    char *name;    /* XmlElement node name / XmlHook hook name */
    uint32_t name_len;
    yitem *start;
    ynode *tree;
    uint64_t length; /* countable, undeleted units in the list */
    ymap map;
    yobs *obs;
    uint32_t nobs, capobs;
    yobs *dobs;
    uint32_t ndobs, capdobs;
    uint32_t txn_mark; /* == doc->txn_seq when in txn->changed */
    uint32_t txn_idx;  /* its index in txn->changed then */
    uint32_t dtxn_mark; /* == doc->txn_seq when in txn->cparents */
    uint32_t dtxn_idx;
    ybranch *next_all;
};

/* ------------------------------------------------------------------------ */
/* Clients and their structs.                                               */

#define YB_CAP 64

/* Structs of one client in clock order, YB_CAP (at most) per block. Blocks
 * of structs whose items were allocated one after the other (a loaded
 * document, appended structs) hold just the first handle, others all of
 * them. Their clocks are kept as 16-bit offsets, so that a block is
 * searched without loading items (when a clock is 65536 or more past the
 * block's base, the items are searched instead). */
typedef struct yblock {
    uint32_t n;
    uint32_t h0;   /* h == NULL: the handles are h0, h0 + 1, ..., h0 + n - 1 */
    uint32_t base; /* a clock at or before the first struct's */
    uint32_t spare;
    uint32_t *h;   /* NULL, or the handles (room for YB_CAP) */
    uint16_t *off; /* NULL, or clock - base of each struct (room for YB_CAP) */
} yblock;

static inline uint32_t yb_h(const yblock *bl, uint32_t i)
{
    return bl->h ? bl->h[i] : bl->h0 + i;
}

typedef struct yclient {
    pkc_ydoc *doc;
    uint64_t id;
    yblock *b;
    uint32_t *first; /* first clock of each block */
    uint32_t nb, capb;
    uint32_t state;     /* next expected clock */
    uint32_t txn_mark;  /* == doc->txn_seq when `before` is valid */
    uint32_t before;    /* state when the transaction first touched it */
    uint32_t ds_mark;   /* == doc->txn_seq once in txn->ds_order */
    /* The content bytes of the client's items, appended as they come (so
     * mostly in clock order, and consecutive items that merge are usually
     * adjacent already). Bytes no item uses any more are dropped by
     * yc_compact at the end of a transaction once they are many. */
    uint8_t *arena;
    uint32_t alen, acap;
    uint32_t alive;     /* bytes of alen that items use */
    uint32_t compact_mark; /* in doc->compact */
    uint32_t fb, fi;    /* where ycl_find found the last struct (a hint) */
    uint32_t merge_mark; /* == txn seq while merge_min is valid (txn.c) */
    uint32_t merge_min;  /* structs from this clock on are merged after the transaction */
} yclient;

typedef struct ypos {
    uint32_t b, i;
} ypos;

/* ------------------------------------------------------------------------ */
/* Delete sets: per client (by id) sorted, merged ranges.                   */

typedef struct yrange {
    uint64_t client; /* the real client id */
    uint32_t clock;
    uint32_t len;
} yrange;

typedef struct yds {
    yrange *r;
    size_t n, cap;
} yds;

int yds_add(yds *ds, uint64_t client, uint32_t clock, uint32_t len);
/* Sorts by (client descending, clock) and merges overlapping ranges. */
void yds_sort_merge(yds *ds);
int yds_contains(const yds *ds, uint64_t client, uint32_t clock); /* sorted */
void yds_free(yds *ds);
int yds_write(pkc_buf *b, const yds *ds); /* v1, ds sorted */
int yds_copy(yds *dst, const yds *src);
int yds_merge(yds *dst, const yds *add); /* dst = sorted(dst ∪ add) */

/* ------------------------------------------------------------------------ */
/* Transactions.                                                            */

typedef struct ychanged {
    ybranch *b;
    uint8_t list;    /* the list part changed (Yjs's `null` parentSub) */
    ykey **keys;     /* changed keys */
    uint32_t nkeys, capkeys;
} ychanged;

/* Events delivered to deep observers of a type (Yjs changedParentTypes). */
typedef struct ycparent {
    ybranch *b;
    pkc_yevent **events;
    uint32_t n, cap;
} ycparent;

struct pkc_ytxn {
    pkc_ydoc *doc;
    const void *origin;
    int local;
    uint32_t seq;          /* doc->txn_seq of this transaction */
    uint32_t *touched;     /* client indices this transaction added to */
    uint32_t ntouched, captouched;
    uint32_t *befores;     /* their states before */
    uint32_t nbefores, capbefores;
    uint32_t *frozen;      /* untouched clients changed by later ones */
    uint32_t nfrozen, capfrozen;
    uint32_t *frozen_state;
    uint32_t nfrozen_state, capfrozen_state;
    yds ds;                /* deletes of this transaction */
    uint32_t *ds_order;    /* clients in the order they first got a delete */
    uint32_t nds_order, capds_order;
    ychanged *changed;
    uint32_t nchanged, capchanged;
    ycparent *cparents;    /* types with a changed descendant (or self) */
    uint32_t ncparents, capcparents;
    pkc_yevent **events;
    uint32_t nevents, capevents;
    yid *merge;            /* split-off items to try to merge afterwards */
    size_t nmerge, capmerge;
    int need_fmt_cleanup;
    int committed;
    int cleanup;           /* observers are running */
    pkc_ytxn *next;        /* queue of transactions awaiting cleanup */
};

struct pkc_yevent {
    pkc_ytxn *txn;
    ybranch *target;
    ybranch *current;
    uint32_t ch;           /* index into txn->changed */
    pkc_yvalue *delta, *keys, *path; /* computed on demand */
};

/* ------------------------------------------------------------------------ */
/* The document.                                                            */

typedef struct yredone {
    yid id;    /* the item (its first clock) */
    yid to;
} yredone;

typedef struct yupdate_obs {
    void (*fn)(void *ud, const uint8_t *update, size_t len, const void *origin);
    void *ud;
    uint32_t id;
} yupdate_obs;

typedef struct yafter_obs {
    void (*fn)(void *ud, pkc_ytxn *txn);
    void *ud;
    uint32_t id;
} yafter_obs;

struct pkc_ydoc {
    uint64_t client_id;
    int gc;
    int (*gc_filter)(void *ud, const pkc_ytype *parent);
    void *gc_filter_ud;
    pkc_rng rng;
    char *guid;

    yclient *cl;
    uint32_t ncl, capcl;
    pkc_hashtab clslots; /* uint32_t slots: index + 1 into cl, by client id */
    uint32_t clhint;  /* index + 1 of the client found last (a cache) */

    ymap roots;       /* name -> ybranch */
    /* what items belong to (yitem.owner): a type's list (k NULL) or one of
     * its map keys; entry 0 is none */
    struct yowner *owners;
    uint32_t nowners, capowners;
    uint32_t *free_owners;
    uint32_t nfree_owners, capfree_owners;
    ybranch *all;     /* every branch ever created (freed with the doc) */

    /* pending structs (a v1 update) and what they miss; pending deletes */
    uint8_t *pending;
    size_t pending_len;
    yrange *missing;  /* client, clock (len unused) */
    size_t nmissing;
    uint8_t *pending_ds;
    size_t pending_ds_len;

    pkc_ytxn *txn;     /* the open transaction */
    pkc_ytxn *spare_txn; /* a finished one, for reuse */
    pkc_buf ubuf;      /* for encoding transactions' updates */
    pkc_ytxn *cleanup_head; /* committed, awaiting (or in) cleanup */
    pkc_ytxn *cleanup_tail;
    int cleaning;
    uint32_t txn_seq;

    /* item pool: chunks of YC_CHUNK items; handle = chunk << YC_CHUNK_BITS
     * | slot, 0 (chunk 0, slot 0, never used) meaning none */
    struct ychunk **chunks;
    uint32_t nchunks, capchunks;
    uint32_t chunk_used; /* slots taken in the last chunk */
    uint32_t free_items; /* handle of the first free item (linked by right) */

    /* redone links (UndoManager) */
    yredone *redone;
    size_t nredone, capredone;

    yupdate_obs *uobs;
    uint32_t nuobs, capuobs;
    yafter_obs *aobs;
    uint32_t naobs, capaobs;
    uint32_t next_obs_id;

    /* scratch for the conflict resolution of integrate() */
    struct yset *scratch;

    /* byte offsets of the elements of long Any / JSON items (offsets.c) */
    yitab offs;

    /* format contents (yitem.content of FORMAT items); entry 0 unused */
    yfmt **fmts;
    uint32_t nfmts, capfmts;
    uint32_t *free_fmts;
    uint32_t nfree_fmts, capfree_fmts;

    /* byte counts of YC_CN_BIG items (content.c) */
    yitab bigcn;

    /* clients whose arenas hold many unused bytes (yc_compact) */
    uint32_t *compact;
    uint32_t ncompact, capcompact;
};

/* ------------------------------------------------------------------------ */
/* Item handles.                                                            */

/* Items live in chunks that never move, so `yitem *` pointers stay valid;
 * inside items, links to other items are 32-bit handles. An item finds its
 * chunk (and so its document and its own handle) from its slot. */
#define YC_CHUNK_BITS 7
#define YC_CHUNK (1u << YC_CHUNK_BITS)

typedef struct ychunk {
    pkc_ydoc *doc;
    uint32_t base; /* handle of items[0] */
    uint32_t spare;
    ynode **leaf;  /* the tree leaf of each item (seqtree.c), NULL until one has one */
    yitem items[YC_CHUNK];
} ychunk;

static inline ychunk *yi_chunk(const yitem *it)
{
    return (ychunk *)(void *)((char *)(void *)(it - it->slot) - offsetof(ychunk, items));
}

/* The handle of an item (0 for NULL). */
static inline uint32_t yi_h(const yitem *it)
{
    return it ? yi_chunk(it)->base + it->slot : 0;
}

static inline pkc_ydoc *yi_doc(const yitem *it)
{
    return yi_chunk(it)->doc;
}

/* The position-tree leaf holding a list item, or NULL. */
static inline ynode *yi_leaf(const yitem *it)
{
    ynode **l = yi_chunk(it)->leaf;
    return l ? l[it->slot] : NULL;
}

/* Sets it (the chunk's table exists: see yi_leaf_room). */
static inline void yi_set_leaf(yitem *it, ynode *n)
{
    ynode **l = yi_chunk(it)->leaf;
    if (l)
        l[it->slot] = n;
}

/* Makes room for the item's leaf; PKC_ERR_NOMEM. */
int yi_leaf_room(yitem *it);

/* The item of a handle (NULL for 0). */
static inline yitem *yc_item(const pkc_ydoc *doc, uint32_t h)
{
    return h ? &doc->chunks[h >> YC_CHUNK_BITS]->items[h & (YC_CHUNK - 1)] : NULL;
}

typedef struct yowner {
    ybranch *b;
    ykey *k;
} yowner;

/* The parent type (NULL for GC) and map key (NULL for list items). */
static inline ybranch *yi_parent(const pkc_ydoc *doc, const yitem *it)
{
    return doc->owners[it->owner].b;
}

static inline ykey *yi_psub(const pkc_ydoc *doc, const yitem *it)
{
    return doc->owners[it->owner].k;
}

static inline yitem *yi_left(const pkc_ydoc *doc, const yitem *it)
{
    return yc_item(doc, it->left);
}

static inline yitem *yi_right(const pkc_ydoc *doc, const yitem *it)
{
    return yc_item(doc, it->right);
}

/* ------------------------------------------------------------------------ */
/* Content.                                                                 */

uint32_t yc_bigcn(const pkc_ydoc *doc, const yitem *it);

/* Content bytes of an item. */
static inline uint32_t yi_cn(const pkc_ydoc *doc, const yitem *it)
{
    return it->cn != YC_CN_BIG ? it->cn : yc_bigcn(doc, it);
}

static inline const uint8_t *yi_bytes(const pkc_ydoc *doc, const yitem *it)
{
    const uint8_t *a = doc->cl[it->id.client].arena;
    return a ? a + it->content : NULL;
}

static inline ybranch *yi_type(const pkc_ydoc *doc, const yitem *it)
{
    return doc->owners[it->content].b;
}

static inline yfmt *yi_fmt(const pkc_ydoc *doc, const yitem *it)
{
    return doc->fmts[it->content];
}

static inline void yi_set_type(yitem *it, const ybranch *b)
{
    it->content = b->owner;
}

/* FORMAT content; PKC_ERR_NOMEM (f is then not taken). */
int yc_set_fmt(pkc_ydoc *doc, yitem *it, yfmt *f);
/* Copies n bytes (which may be in the arena) to the end of the arena of
 * the item's client (it->id.client must be set) as its content. */
int yc_set_bytes(pkc_ydoc *doc, yitem *it, const void *p, size_t n);
/* Room for n more content bytes of client cix, exactly when its arena is
 * empty (loading a document), else as the arena grows anyway. */
int yc_arena_expect(pkc_ydoc *doc, uint32_t cix, size_t n);
/* Drops bytes no item uses from arenas that hold many (called when a
 * transaction ends: no content pointer is held then). */
void yc_compact(pkc_ydoc *doc);

/* For splitting and merging (split.c): */
int yc_set_big_cn(pkc_ydoc *doc, yitem *it, uint32_t n);
/* Sets the item's byte count; PKC_ERR_NOMEM (nothing changed) only when a
 * count of 0x3fff or more is new to the item. */
static inline int yc_set_cn(pkc_ydoc *doc, yitem *it, uint32_t n)
{
    if (n < YC_CN_BIG && it->cn != YC_CN_BIG) {
        it->cn = n;
        return 0;
    }
    return yc_set_big_cn(doc, it, n);
}
/* Offset of n new bytes at the end of client cix's arena. */
int yc_arena_reserve(pkc_ydoc *doc, uint32_t cix, size_t n, uint32_t *off);
/* n unused bytes of client cix's arena became garbage */
void yc_arena_drop(pkc_ydoc *doc, uint32_t cix, uint32_t n);

/* ------------------------------------------------------------------------ */
/* Store (store.c).                                                         */

yitem *yc_item_alloc(pkc_ydoc *doc);
void yc_item_release(pkc_ydoc *doc, yitem *it); /* frees content too */
void yc_content_free(pkc_ydoc *doc, yitem *it);

/* The client table. */
int yc_client_find_slow(const pkc_ydoc *doc, uint64_t id, uint32_t *ix);
/* 1 and its index when the client is known; updates name the same few
 * clients again and again: the last one found is tried first. */
static inline int yc_client_find(const pkc_ydoc *doc, uint64_t id, uint32_t *ix)
{
    if (doc->clhint && doc->cl[doc->clhint - 1].id == id) {
        *ix = doc->clhint - 1;
        return 1;
    }
    return yc_client_find_slow(doc, id, ix);
}
int yc_client_get(pkc_ydoc *doc, uint64_t id, uint32_t *ix); /* adds */
static inline uint32_t yc_state(const pkc_ydoc *doc, uint64_t id)
{
    uint32_t ix;
    return yc_client_find(doc, id, &ix) ? doc->cl[ix].state : 0;
}

/* Structs of one client, by clock. */
ypos ycl_find(const yclient *c, uint32_t clock); /* must exist */
static inline yitem *ycl_at(const yclient *c, ypos p)
{
    return yc_item(c->doc, yb_h(&c->b[p.b], p.i));
}
static inline int ycl_next(const yclient *c, ypos *p)
{
    if (++p->i < c->b[p->b].n)
        return 1;
    if (p->b + 1 < c->nb) {
        p->b++;
        p->i = 0;
        return 1;
    }
    p->i--;
    return 0;
}
static inline int ycl_prev(const yclient *c, ypos *p)
{
    if (p->i > 0) {
        p->i--;
        return 1;
    }
    if (p->b > 0) {
        p->b--;
        p->i = c->b[p->b].n - 1;
        return 1;
    }
    return 0;
}
static inline ypos ycl_last(const yclient *c)
{
    ypos p = {c->nb - 1, c->b[c->nb - 1].n - 1};
    return p;
}
int ycl_push(pkc_ydoc *doc, uint32_t cix, yitem *it);
/* ycl_push, inline when `it` goes into the last block as the next of its
 * consecutive handles (loading a document, appending). */
static inline int ycl_push_fast(pkc_ydoc *doc, uint32_t cix, yitem *it)
{
    yclient *c = &doc->cl[cix];
    if (c->nb > 0) {
        yblock *bl = &c->b[c->nb - 1];
        uint32_t d = it->id.clock - bl->base;
        if (bl->n > 0 && bl->n < YB_CAP && bl->h == NULL && bl->off != NULL && d <= 0xffff &&
            yi_h(it) == bl->h0 + bl->n) {
            bl->off[bl->n++] = (uint16_t)d;
            c->state = it->id.clock + it->len;
            return 0;
        }
    }
    return ycl_push(doc, cix, it);
}
int ycl_insert_after(yclient *c, ypos p, yitem *it);
/* Makes sure ycl_remove(c, p) needs no memory; PKC_ERR_NOMEM. */
int ycl_removable(yclient *c, ypos p);
void ycl_remove(yclient *c, ypos p);
size_t ycl_count(const yclient *c);

/* Finds the struct containing (cix, clock); must exist. */
yitem *yc_find(const pkc_ydoc *doc, uint32_t cix, uint32_t clock);
/* Yjs getItemCleanStart / getItemCleanEnd: split so that clock starts /
 * ends a struct. Return NULL only when out of memory. */
yitem *yc_clean_start(pkc_ytxn *txn, uint32_t cix, uint32_t clock);
yitem *yc_clean_end(pkc_ytxn *txn, uint32_t cix, uint32_t clock);
/* Splits item at `diff` units; returns the right part (NULL: no memory). */
yitem *yc_split(pkc_ytxn *txn, yitem *left, uint32_t diff);
/* Content bytes of units [from, to) of a splittable item, appended to b in
 * the item's storage format (for strings: surrogate halves become
 * U+FFFD as in Yjs). */
int yc_content_slice(const pkc_ydoc *doc, const yitem *it, uint32_t from, pkc_buf *b);
/* Byte offset of element k of an Any / JSON item (O(1) for long items). */
size_t yc_elem_offset(const pkc_ydoc *doc, const yitem *it, uint32_t k);
void yc_offs_free(pkc_ydoc *doc);
/* Hooks for the content changes of Any / JSON items: dropped, split at
 * `diff` (left keeps its table, cut), `right` merged into `left` (whose
 * content had old_cn bytes before). */
void yc_offs_drop(pkc_ydoc *doc, const yitem *it);
void yc_offs_split(pkc_ydoc *doc, const yitem *left, uint32_t diff);
void yc_offs_merged(pkc_ydoc *doc, const yitem *left, const yitem *right, size_t old_cn);
/* Whether `right` would merge into `left` (Item.mergeWith's rules). */
int yc_mergeable(const pkc_ydoc *doc, const yitem *left, const yitem *right);
/* Merges `right` into `left` (yc_mergeable); the caller removes right from
 * the store. Returns 0 when out of memory (they stay apart), else 1. */
int yc_merge_items(pkc_ydoc *doc, yitem *left, yitem *right);

/* Countable / kind helpers. */
static inline int yc_kind_countable(uint8_t kind)
{
    return kind != YC_DELETED && kind != YC_FORMAT && kind != YC_GC && kind != YC_SKIP;
}

/* UTF-16 length of UTF-8 bytes; and the byte offset of UTF-16 unit `k`
 * (*mid set when k falls between the halves of a surrogate pair, the offset
 * then being that of the 4-byte character). */
size_t yc_utf16_len(const uint8_t *s, size_t n, int *ascii);
size_t yc_utf16_offset(const uint8_t *s, size_t n, size_t k, int *mid);
/* U+FFFD in UTF-8 (3 bytes), what a split surrogate pair becomes. */
#define YC_U_FFFD "\xef\xbf\xbd"

/* Redone links. */
int yc_redone_set(pkc_ydoc *doc, yitem *it, yid to);
int yc_redone_get(const pkc_ydoc *doc, const yitem *it, yid *to);
void yc_redone_clear(pkc_ydoc *doc, const yitem *it);

/* Branches. */
ybranch *yc_branch_new(pkc_ydoc *doc, uint8_t tref);
/* The key of b's map (added with its owner entry if new); NULL: no memory. */
ykey *yc_key_get(ybranch *b, const char *s, size_t n);
/* Frees b's map keys and their owner entries. */
void yc_keys_free(ybranch *b);
int yc_root_get(pkc_ydoc *doc, const char *name, size_t len, ybranch **out);

/* ------------------------------------------------------------------------ */
/* Integration (integrate.c).                                               */

/* Integrates a new item whose id, origins, parent, psub, content and
 * left/right (as found) are set; `offset` as in Yjs. */
int yc_integrate(pkc_ytxn *txn, yitem *it, uint32_t offset);
/* Integrates a GC range (offset already applied). */
int yc_integrate_gc(pkc_ytxn *txn, yitem *it);
int yc_item_delete(pkc_ytxn *txn, yitem *it);
/* Collects an item's content (Item.gc); parent_gcd turns it into GC. */
void yc_item_gc(pkc_ydoc *doc, yitem *it, int parent_gcd);
/* Adds the branch (and key) to txn->changed as Yjs's
 * addChangedTypeToTransaction does. */
int yc_changed(pkc_ytxn *txn, ybranch *b, ykey *key);

/* ------------------------------------------------------------------------ */
/* Transactions (txn.c).                                                    */

int yc_txn_begin(pkc_ydoc *doc, const void *origin, int local, pkc_ytxn **out);
/* Runs `fn` in the open transaction, or in a new one committed after. */

int yc_txn_commit(pkc_ytxn *txn);
/* Records the client's state before this transaction changes it. */
int yc_txn_touch(pkc_ytxn *txn, uint32_t cix);
uint32_t yc_txn_before(const pkc_ytxn *txn, uint32_t cix);
int yc_txn_add_delete(pkc_ytxn *txn, uint32_t cix, uint32_t clock, uint32_t len);
int yc_txn_add_merge(pkc_ytxn *txn, yid id);
/* Whether the transaction inserted (adds) / deleted (deletes) a struct. */
int yc_txn_adds(const pkc_ytxn *txn, const yitem *it);
int yc_txn_deletes(const pkc_ytxn *txn, const yitem *it);
/* Own client id for new items (allocates its table entry). */
int yc_own_client(pkc_ydoc *doc, uint32_t *cix);

/* Events (event.c). */
int yc_call_type_observers(pkc_ytxn *txn, ychanged *ch);
int yc_call_deep_observers(pkc_ytxn *txn, ycparent *cp);
void yc_event_free(pkc_yevent *ev);
/* Text formatting cleanup after remote changes (text.c). */
int yc_text_cleanup_after_txn(pkc_ytxn *txn);
void yc_scratch_free(pkc_ydoc *doc);

/* ------------------------------------------------------------------------ */
/* Encoding (update.c).                                                     */

/* Writes one struct (v1) from `offset`. */
int yc_write_item(pkc_buf *b, const pkc_ydoc *doc, const yitem *it, uint32_t offset);
/* Structs of clients whose state exceeds `sv` (client id -> clock pairs,
 * NULL = all) as Yjs writeClientsStructs; then nothing else. */
typedef struct ysv {
    uint64_t *client; /* ascending */
    uint64_t *clock;
    size_t n, cap;
} ysv;
/* The index of the client's entry (*found 1) or where it would go (0). */
static inline size_t ysv_pos(const ysv *sv, uint64_t client, int *found)
{
    size_t lo = 0, hi = sv->n;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (sv->client[m] < client)
            lo = m + 1;
        else
            hi = m;
    }
    *found = lo < sv->n && sv->client[lo] == client;
    return lo;
}
int ysv_set(ysv *sv, uint64_t client, uint64_t clock);
uint64_t ysv_get(const ysv *sv, uint64_t client, int *found);
void ysv_free(ysv *sv);
int ysv_decode(const uint8_t *p, size_t n, ysv *out);
int ysv_encode(pkc_buf *b, const ysv *sv); /* sorted by client descending */
int yc_doc_sv(const pkc_ydoc *doc, ysv *out);

int yc_write_structs(pkc_buf *b, const pkc_ydoc *doc, const ysv *sv);
int yc_ds_from_store(const pkc_ydoc *doc, yds *out);
int yc_encode_state(pkc_ydoc *doc, const ysv *sv, pkc_buf *out);
int yc_apply_update(pkc_ydoc *doc, const uint8_t *p, size_t n, int v2, const void *origin);
int yc_apply_update_txn(pkc_ytxn *txn, const uint8_t *p, size_t n, int v2);
int yc_txn_encode_update(const pkc_ytxn *txn, pkc_buf *out, int *has_content);

/* ------------------------------------------------------------------------ */
/* Decoded updates (decode.c) and update functions on bytes (merge.c).      */

/* Parent info of a struct without origins (the minority: the first items
 * of lists, map entries), kept out of line so that decoded structs stay
 * small (64 bytes). */
typedef struct ypar {
    uint64_t pclient;
    uint32_t pclock;
    uint8_t kind;      /* 1 root name, 2 id */
    const char *pname; /* root name (kind 1) */
    uint32_t pname_len;
    const char *psub;  /* NULL: none */
    uint32_t psub_len;
    size_t s;          /* index of its struct in yupd.s */
} ypar;

typedef struct ydec {
    uint64_t client;
    uint64_t oclient, rclient;
    const uint8_t *content; /* v1 content encoding (after the info byte's
                               fields), for YC_TYPE: typeref [name] */
    const ypar *par;  /* NULL: no parent info */
    uint32_t clock;
    uint32_t len;
    uint32_t oclock, rclock;
    uint32_t content_len;
    uint8_t kind;     /* YC_GC, YC_SKIP or a content ref */
    uint8_t info;     /* the v1 info byte (items) */
    uint8_t tref;     /* YC_TYPE */
} ydec;

/* 0 none, 1 root name, 2 id */
static inline unsigned ydec_pkind(const ydec *s)
{
    return s->par ? s->par->kind : 0;
}

static inline const char *ydec_psub(const ydec *s)
{
    return s->par ? s->par->psub : NULL;
}

/* The structs of one client in a decoded update. */
typedef struct ygroup {
    size_t end;     /* index in yupd.s after its last struct */
    uint64_t bytes; /* content bytes its structs bring (as stored) */
} ygroup;

typedef struct yupd {
    ydec *s;         /* grouped per client, in update order */
    size_t n, cap;
    ypar *par;       /* parent infos (ydec.par), in struct order */
    size_t npar, cappar;
    ygroup *grp;     /* the clients' groups in order (some may be empty) */
    size_t ngrp, capgrp;
    yds ds;
    pkc_buf scratch; /* v1 content converted from v2 */
    pkc_buf strs;    /* strings converted from v2 */
} yupd;

int yupd_decode(yupd *u, const uint8_t *p, size_t n, int v2);
/* Content bytes a struct of `kind` with v1 content p[0..n) brings once
 * stored (yc_set_bytes). */
size_t ydec_bytes(uint8_t kind, const uint8_t *p, size_t n);
void yupd_free(yupd *u);
/* Writes a decoded struct (v1) from `offset` units. */
int ydec_write(pkc_buf *b, const ydec *s, uint32_t offset);
/* Item content of a decoded struct, sliced from `offset`, in storage
 * format, appended to `b`. */
int ydec_content_slice(const ydec *s, uint32_t offset, pkc_buf *b);

int yc_update_merge(const uint8_t *const *ups, const size_t *lens, size_t n, int v2,
                    pkc_buf *out);
int yc_update_diff(const uint8_t *up, size_t len, int v2, const ysv *sv, pkc_buf *out);
int yc_update_sv(const uint8_t *up, size_t len, int v2, pkc_buf *out);
int yc_update_to_v1(const uint8_t *up, size_t len, pkc_buf *out);

/* ------------------------------------------------------------------------ */
/* Varuints.                                                                */

/* Fast path for varuints of up to 8 bytes (56 bits); anything else, and
 * every error, goes through pkc_reader_varuint. */
static inline int yrd_varuint(pkc_reader *r, uint64_t *v)
{
    const uint8_t *p = r->p;
    if (p < r->end && *p < 0x80) {
        *v = *p;
        r->p = p + 1;
        return 0;
    }
    uint64_t x = 0;
    unsigned shift = 0;
    for (const uint8_t *q = p; q < r->end && q - p < 8; q++, shift += 7) {
        x |= (uint64_t)(*q & 0x7f) << shift;
        if (*q < 0x80) {
            *v = x;
            r->p = q + 1;
            return 0;
        }
    }
    return pkc_reader_varuint(r, v);
}

/* pkc_reader_varbytes with the fast path above; errors (and the reader
 * left as it was) through pkc_reader_varbytes. */
static inline int yrd_varbytes(pkc_reader *r, const uint8_t **p, size_t *n)
{
    const uint8_t *at = r->p;
    uint64_t len;
    if (yrd_varuint(r, &len) == 0 && len <= (uint64_t)(r->end - r->p)) {
        *p = r->p;
        *n = (size_t)len;
        r->p += len;
        return 0;
    }
    r->p = at;
    return pkc_reader_varbytes(r, p, n);
}

/* pkc_buf_push_varuint, written in place when there is room (encoders
 * write several per struct). */
static inline int ywr_varuint(pkc_buf *b, uint64_t v)
{
    if (b->err == 0 && b->cap - b->len >= PKC_VARUINT_MAX_BYTES &&
        b->limit - b->len >= PKC_VARUINT_MAX_BYTES) {
        uint8_t *p = b->data + b->len;
        while (v >= 0x80) {
            *p++ = (uint8_t)(v | 0x80);
            v >>= 7;
        }
        *p++ = (uint8_t)v;
        b->len = (size_t)(p - b->data);
        return 0;
    }
    return pkc_buf_push_varuint(b, v);
}

#endif
