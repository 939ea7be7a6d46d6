/* check.h: the document's internal invariants (check.c). */
#ifndef PKC_CRDT_CHECK_H
#define PKC_CRDT_CHECK_H

#include <stddef.h>

#include "pkc.h"

/* NULL if the document's internal invariants hold, else what is
 * wrong (written to buf). O(document); for tests and fuzzers. */
const char *yc_doc_check(const pkc_ydoc *doc, char *buf, size_t n);

#endif
