/* identity_file.h: the identity file format (pure) and its I/O. */
#ifndef PKC_STORE_IDENTITY_FILE_H
#define PKC_STORE_IDENTITY_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "pkc.h"

/* The file is 116 bytes; anything much larger is not an identity file. */
#define PKC_IDENTITY_FILE_MAX 4096

/* Writes the file content for `id` into `out` (at least
 * PKC_IDENTITY_FILE_MAX bytes); returns its length. */
size_t pkc_identity_file_format(const pkc_identity *id, char *out, size_t out_size);

/* Parses file content; on success *out is a new identity. Checks that the
 * stored peer id matches the key, which catches a damaged seed.
 * PKC_ERR_MALFORMED, PKC_ERR_CHECKSUM, PKC_ERR_NOMEM. */
int pkc_identity_file_parse(const char *content, size_t len, pkc_identity **out);

#endif
