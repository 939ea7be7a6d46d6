/*
 * item.h: items (structs) of the Yjs engine: ids, kinds, flags, the 48-byte
 * item. What they link to (handles) is in pool.h, their content in content.h.
 */
#ifndef PKC_CRDT_ITEM_H
#define PKC_CRDT_ITEM_H

#include <stdint.h>

/* ------------------------------------------------------------------------ */
/* Limits                                                                   */

#define YC_MAX_CLOCK 0xffffffffu      /* clock + length must stay below */
#define YC_MAX_CLIENT 0x1fffffffffffffull /* 2^53 - 1: what JavaScript can hold */

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

/* Countable kinds: what items of the kind add to a type's length. */
static inline int yc_kind_countable(uint8_t kind)
{
    return kind != YC_DELETED && kind != YC_FORMAT && kind != YC_GC && kind != YC_SKIP;
}

_Static_assert(sizeof(yitem) == 48, "items are 48 bytes (docs/crdt.md, Memory)");

#endif
