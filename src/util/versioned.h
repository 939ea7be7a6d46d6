/*
 * versioned.h: reading and writing the public structs whose layout is
 * versioned (docs/api.md, "Structs that grow").
 *
 * A program passes, through the macros of pkc.h, the version of each struct
 * it was compiled with. A struct only grows at its end, so version v of it
 * is a prefix of the current one whose size the library knows: sizes[v].
 * Entry points read a caller's struct over a copy holding the current
 * defaults (so fields the caller's version lacks keep them), and write
 * outputs only as far as the caller's version reaches.
 */
#ifndef PKC_UTIL_VERSIONED_H
#define PKC_UTIL_VERSIONED_H

#include <stddef.h>

/* A table of sizes by version: entry 0 is unused, entry v is the size of
 * version v; the last entry is the current version. */
typedef struct pkc_struct_sizes {
    const char *name; /* the struct's name, for error messages */
    const size_t *sizes;
    int latest;
} pkc_struct_sizes;

/* Sizes of a struct that has only its first version so far. */
#define PKC_STRUCT_V1(type)                                                                        \
    ((pkc_struct_sizes){#type, (const size_t[]){0, sizeof(type)}, 1})

/* Whether this library knows version `version` of the struct: 0, or
 * PKC_ERR_INVALID_ARG with both versions in pkc_errmsg(). */
int pkc_struct_check(int version, pkc_struct_sizes t);

/* Copies version `version` of the caller's struct `src` over `dst`, which
 * holds the current defaults. `src` may be NULL: `dst` is left as it is.
 * Returns 0 or PKC_ERR_INVALID_ARG (a version this library does not know,
 * with the reason in pkc_errmsg()). */
int pkc_struct_read(void *dst, const void *src, int version, pkc_struct_sizes t);

/* Copies the current struct `src` into the caller's `dst` of version
 * `version`: as much of it as that version has. A version newer than this
 * library's gets what the library has; the rest of `dst` is untouched. */
void pkc_struct_write(void *dst, const void *src, int version, pkc_struct_sizes t);

#endif
