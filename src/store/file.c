/* file.c: private files written durably. */
#define _GNU_SOURCE
#include "store/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/backend.h"
#include "util/err.h"
#include "util/rng.h"
#include "util/text.h"

int pkc_mkdir_p(const char *path, unsigned mode)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf)
        return pkc_error(PKC_ERR_INVALID_ARG, "directory path empty or too long");
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
            return pkc_error(errno == EACCES ? PKC_ERR_PERMISSION : PKC_ERR_IO, "%s: %s", buf,
                             strerror(errno));
        buf[i] = saved;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return pkc_error(PKC_ERR_IO, "%s: not a directory", path);
    return 0;
}

int pkc_file_read_private(const char *path, size_t max, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return pkc_error(e == ENOENT ? PKC_ERR_NOT_FOUND : PKC_ERR_IO, "%s: %s", path,
                         strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return pkc_error(PKC_ERR_IO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return pkc_error(PKC_ERR_MALFORMED, "%s: not a regular file", path);
    }
    if (st.st_mode & 077) {
        close(fd);
        return pkc_error(PKC_ERR_PERMISSION,
                         "%s: holds a secret key and is accessible to other users (mode %03o); "
                         "run chmod 600 on it",
                         path, (unsigned)(st.st_mode & 0777));
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return pkc_error(PKC_ERR_MALFORMED, "%s: %lld bytes is more than the %zu expected", path,
                         (long long)st.st_size, max);
    }
    /* Read up to max + 1 bytes, so a file that grew since fstat is caught. */
    char *buf = malloc(max + 2);
    if (buf == NULL) {
        close(fd);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, max + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            pkc_file_free_secret(buf, n);
            return pkc_error(PKC_ERR_IO, "%s: %s", path, strerror(e));
        }
        if (r == 0 || (n += (size_t)r) == max + 1)
            break;
    }
    close(fd);
    if (n > max) {
        pkc_file_free_secret(buf, n);
        return pkc_error(PKC_ERR_MALFORMED, "%s: more than the %zu bytes expected", path, max);
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

void pkc_file_free_secret(char *data, size_t len)
{
    if (data == NULL)
        return;
    pkc_crypto_wipe(data, len);
    free(data);
}

static void fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int pkc_file_write_durable(const char *path, const void *data, size_t len, int replace)
{
    char tmp[PATH_MAX];
    uint8_t r[8];
    char rhex[17];
    pkc_rng_fill(pkc_rng_system(), r, sizeof r);
    pkc_hex_encode(rhex, r, sizeof r);
    if (snprintf(tmp, sizeof tmp, "%s.%s.tmp", path, rhex) >= (int)sizeof tmp)
        return pkc_error(PKC_ERR_INVALID_ARG, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        return pkc_error(e == EACCES ? PKC_ERR_PERMISSION : PKC_ERR_IO, "%s: %s", tmp,
                         strerror(e));
    }
    /* fchmod: the umask may have removed bits, never added; be exact. */
    int ok = fchmod(fd, 0600) == 0;
    const char *p = data;
    size_t off = 0;
    while (ok && off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            ok = 0;
        else
            off += (size_t)w;
    }
    ok = ok && fsync(fd) == 0;
    int e = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    /* link() never replaces an existing file, unlike rename(). */
    if (ok && (replace ? rename(tmp, path) : link(tmp, path)) != 0) {
        ok = 0;
        e = errno;
    }
    if (!replace || !ok)
        unlink(tmp);
    if (!ok)
        return pkc_error(e == EEXIST ? PKC_ERR_EXISTS : PKC_ERR_IO, "%s: %s", path,
                         e == EEXIST ? "already exists" : strerror(e));
    fsync_parent(path);
    return 0;
}
