/* redone.h: redone links (redone.c), Yjs's item.redone for the UndoManager. */
#ifndef PKC_CRDT_REDONE_H
#define PKC_CRDT_REDONE_H

#include "pkc.h"
#include "crdt/item.h"

/* Redone links. */
int yc_redone_set(pkc_ydoc *doc, yitem *it, yid to);
int yc_redone_get(const pkc_ydoc *doc, const yitem *it, yid *to);
void yc_redone_clear(pkc_ydoc *doc, const yitem *it);

#endif
