/* file.h: private files written durably; the only file I/O helpers of pkc. */
#ifndef PKC_STORE_FILE_H
#define PKC_STORE_FILE_H

#include <stddef.h>

/* mkdir -p with `mode` for the directories it creates. */
int pkc_mkdir_p(const char *path, unsigned mode);

/* Reads a file that holds a secret. Refuses (PKC_ERR_PERMISSION, with the
 * chmod to run in the message) a file that group or others can access, as
 * ssh does; PKC_ERR_NOT_FOUND if it does not exist; PKC_ERR_MALFORMED if it
 * is not a regular file or is larger than `max`; PKC_ERR_IO. On success
 * *out is a NUL-terminated heap copy (release it with pkc_file_free_secret)
 * and *len its length. */
int pkc_file_read_private(const char *path, size_t max, char **out, size_t *len);

/* Wipes and frees what pkc_file_read_private returned. Accepts NULL. */
void pkc_file_free_secret(char *data, size_t len);

/* Writes `data` to `path` durably with mode 0600: a temporary file in the
 * same directory, fsync, then link() into place (never replaces an existing
 * file: PKC_ERR_EXISTS) or, with `replace`, rename(); then fsync of the
 * directory. Either the whole new content is at `path` or nothing changed. */
int pkc_file_write_durable(const char *path, const void *data, size_t len, int replace);

#endif
