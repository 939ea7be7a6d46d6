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

#include "crypto/backend.h"
#include "rtc/cert.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"
#include "util/rng.h"
#include "util/text.h"
#include "store/file.h"

#define CERT_FILE "dtls-cert.pem"
#define CERT_FILE_MAX (64 * 1024)

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
    rc = pkc_file_read_private(path, CERT_FILE_MAX, &pem, &len);
    if (rc == 0) {
        pkc_rtc_cert *c;
        rc = pkc_cert_from_pem(pem, len, &c);
        pkc_file_free_secret(pem, len);
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
        rc = pkc_file_write_durable(path, pem, len, expired);
        pkc_crypto_wipe(pem, len);
        free(pem);
    }
    if (rc == PKC_ERR_EXISTS) {
        /* Another process created it meanwhile: use theirs. */
        pkc_cert_unref(c);
        rc = pkc_file_read_private(path, CERT_FILE_MAX, &pem, &len);
        if (rc)
            return rc;
        rc = pkc_cert_from_pem(pem, len, &c);
        pkc_file_free_secret(pem, len);
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
