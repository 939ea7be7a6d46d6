/*
 * rtc_cert_file.c: dtls-cert.pem, the DTLS certificate kept in the data
 * directory: the PEM private key (PKCS#8) then the PEM certificate, mode
 * 0600, written to a temporary file, fsync'd and renamed into place.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../crypto/backend.h"
#include "../rtc/cert.h"
#include "../util/clock.h"
#include "../util/err.h"
#include "../util/log.h"
#include "../util/rng.h"
#include "../util/text.h"
#include "identity_file.h"

#define CERT_FILE "dtls-cert.pem"
#define CERT_FILE_MAX (64 * 1024)

static int read_file(const char *path, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pkc_error(errno == ENOENT ? PKC_ERR_NOT_FOUND : PKC_ERR_IO, "%s: %s", path,
                         strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return pkc_error(PKC_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_mode & 077) {
        close(fd);
        return pkc_error(PKC_ERR_PERMISSION,
                         "%s: the private key is accessible to other users (mode %03o); run chmod 600 on it",
                         path, (unsigned)(st.st_mode & 0777));
    }
    if (st.st_size > CERT_FILE_MAX) {
        close(fd);
        return pkc_error(PKC_ERR_MALFORMED, "%s: too large for a certificate file", path);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        close(fd);
        return pkc_error_code(PKC_ERR_NOMEM);
    }
    size_t n = 0;
    while (n < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* Writes `data` to `path` durably: temporary file (0600), fsync, then
 * link() (never replaces: PKC_ERR_EXISTS if another process made the file
 * first) or, with `replace`, rename(); then fsync of the directory. */
static int write_durable(const char *dir, const char *path, const char *data, size_t len,
                         int replace)
{
    char tmp[PATH_MAX];
    uint8_t r[8];
    char rhex[17];
    pkc_rng_fill(pkc_rng_system(), r, sizeof r);
    pkc_hex_encode(rhex, r, sizeof r);
    if (snprintf(tmp, sizeof tmp, "%s.%s.tmp", path, rhex) >= (int)sizeof tmp)
        return pkc_error(PKC_ERR_INVALID_ARG, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return pkc_error(PKC_ERR_IO, "%s: %s", tmp, strerror(errno));
    int ok = fchmod(fd, 0600) == 0;
    size_t off = 0;
    while (ok && off < len) {
        ssize_t w = write(fd, data + off, len - off);
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
    if (ok && (replace ? rename(tmp, path) : link(tmp, path)) != 0) {
        ok = 0;
        e = errno;
    }
    if (!replace || !ok)
        unlink(tmp);
    if (!ok)
        return pkc_error(e == EEXIST ? PKC_ERR_EXISTS : PKC_ERR_IO, "%s: %s", path, strerror(e));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

int pkc_rtc_cert_load_or_create(const char *dir, pkc_rtc_cert **out, int *created)
{
    if (dir == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "certificate: NULL argument");
    int rc = pkc_mkdir_p(dir, 0700);
    if (rc)
        return rc;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, CERT_FILE) >= (int)sizeof path)
        return pkc_error(PKC_ERR_INVALID_ARG, "%s: path too long", dir);
    int64_t now = pkc_clock_wall_ms(pkc_clock_system());
    char *pem;
    size_t len;
    int expired = 0;
    rc = read_file(path, &pem, &len);
    if (rc == 0) {
        pkc_rtc_cert *c;
        rc = pkc_cert_from_pem(pem, len, &c);
        pkc_crypto_wipe(pem, len);
        free(pem);
        if (rc)
            return pkc_error_wrap(rc, "%s", path);
        /* Renew a day before it expires. */
        if (c->not_after_ms > now + 86400000) {
            *out = c;
            if (created)
                *created = 0;
            return 0;
        }
        pkc_logi("rtc", "%s: the certificate expires; making a new one", path);
        pkc_cert_unref(c);
        expired = 1;
    } else if (rc != PKC_ERR_NOT_FOUND) {
        return rc;
    }
    pkc_rtc_cert *c;
    rc = pkc_cert_generate(pkc_rng_system(), now, &c);
    if (rc)
        return rc;
    rc = pkc_cert_to_pem(c, &pem, &len);
    if (rc == 0) {
        rc = write_durable(dir, path, pem, len, expired);
        pkc_crypto_wipe(pem, len);
        free(pem);
    }
    if (rc == PKC_ERR_EXISTS) {
        /* Another process created it meanwhile: use theirs. */
        pkc_cert_unref(c);
        rc = read_file(path, &pem, &len);
        if (rc)
            return rc;
        rc = pkc_cert_from_pem(pem, len, &c);
        pkc_crypto_wipe(pem, len);
        free(pem);
        if (rc)
            return pkc_error_wrap(rc, "%s", path);
        *out = c;
        if (created)
            *created = 0;
        return 0;
    }
    if (rc) {
        pkc_cert_unref(c);
        return rc;
    }
    *out = c;
    if (created)
        *created = 1;
    return 0;
}
