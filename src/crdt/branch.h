/*
 * branch.h: branches (shared types), their owner entries and roots
 * (branch.c).
 */
#ifndef PKC_CRDT_BRANCH_H
#define PKC_CRDT_BRANCH_H

#include <stddef.h>
#include <stdint.h>

#include "pkc.h"
#include "crdt/doc.h"
#include "crdt/item.h"
#include "crdt/keymap.h"

/* ------------------------------------------------------------------------ */
/* Branches (shared types).                                                 */

typedef struct ybranch ybranch;
typedef struct ynode ynode;

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

static inline ybranch *yi_type(const pkc_ydoc *doc, const yitem *it)
{
    return doc->owners[it->content].b;
}

static inline void yi_set_type(yitem *it, const ybranch *b)
{
    it->content = b->owner;
}

/* Branches. */
ybranch *yc_branch_new(pkc_ydoc *doc, uint8_t tref);
/* The key of b's map (added with its owner entry if new); NULL: no memory. */
ykey *yc_key_get(ybranch *b, const char *s, size_t n);
/* Frees b's map keys and their owner entries. */
void yc_keys_free(ybranch *b);
int yc_root_get(pkc_ydoc *doc, const char *name, size_t len, ybranch **out);

#endif
