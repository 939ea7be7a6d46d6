/*
 * val.h: values (val.c): pkc_yvalue trees, lib0 Any, JSON, JavaScript
 * semantics.
 */
#ifndef PKC_CRDT_VAL_H
#define PKC_CRDT_VAL_H

#include <stddef.h>

#include "pkc.h"
#include "util/buf.h"

/* ------------------------------------------------------------------------ */
/* Limits                                                                   */

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

#endif
