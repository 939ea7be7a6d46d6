/* read.h: values and strings out of items and types (read.c, text.c). */
#ifndef PKC_CRDT_READ_H
#define PKC_CRDT_READ_H

#include <stdint.h>

#include "crdt/item.h"
#include "crdt/val.h"
#include "util/buf.h"

typedef struct ybranch ybranch;

/* The k-th value of an item's content, as Yjs getContent()[k]. */
int yc_item_value(const yitem *it, uint32_t k, yv *out);
/* JSON.stringify(type.toJSON()) appended to b. */
int yc_type_json(pkc_buf *b, const ybranch *t, int depth);
/* type.toString() of XML types (and of a Text). */
int yc_xml_string(pkc_buf *b, const ybranch *t, int depth);
/* YXmlText.toString(): the delta with formatting as nested tags. */
int yc_xml_text_string(pkc_buf *b, const ybranch *t);
/* YText.toDelta() as a value (array of {insert, attributes?}). */
int yc_text_delta(const ybranch *t, yv *out);

#endif
