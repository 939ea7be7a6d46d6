/* text.h: Text (text.c): what the rest of the engine calls. */
#ifndef PKC_CRDT_TEXT_H
#define PKC_CRDT_TEXT_H

#include "pkc.h"

/* Text formatting cleanup after remote changes (text.c). */
int yc_text_cleanup_after_txn(pkc_ytxn *txn);

#endif
