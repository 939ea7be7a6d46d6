/* main.c: the unit-test runner. Usage: pkc-unit [--list] [SUITE[/NAME]...] */
#define _GNU_SOURCE
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

static pkc_test *head, **tail = &head;
static int failed;
static char tmpdirs[8][256];
static int ntmpdirs;

void pkc_test_register(pkc_test *t)
{
    /* Keep file order: constructors run in definition order within a file. */
    *tail = t;
    tail = &t->next;
}

void pkc_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "  %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    failed = 1;
}

int pkc_test_has_failed(void)
{
    return failed;
}

const pkc_identity *pkc_test_identity(uint8_t seed_byte, uint8_t hash[PKC_PEER_ID_HASH_BYTES])
{
    static pkc_identity *ids[256];
    if (!ids[seed_byte]) {
        uint8_t seed[32] = {seed_byte};
        if (pkc_identity_from_seed(seed, &ids[seed_byte]) != 0)
            abort();
    }
    if (hash) {
        char text[PKC_PEER_ID_SIZE];
        pkc_peer_id_from_public_key(pkc_identity_get_public_key(ids[seed_byte]), text);
        if (pkc_peer_id_parse(text, hash) != 0)
            abort();
    }
    return ids[seed_byte];
}

const char *pkc_test_tmpdir(void)
{
    if (ntmpdirs == (int)(sizeof tmpdirs / sizeof tmpdirs[0])) {
        fprintf(stderr, "pkc_test_tmpdir: too many\n");
        abort();
    }
    const char *base = getenv("TMPDIR");
    char *d = tmpdirs[ntmpdirs];
    snprintf(d, sizeof tmpdirs[0], "%s/pkc-unit-XXXXXX", base && base[0] ? base : "/tmp");
    if (mkdtemp(d) == NULL) {
        perror("mkdtemp");
        abort();
    }
    ntmpdirs++;
    return d;
}

size_t pkc_test_unhex(const char *hex, uint8_t *out, size_t out_size)
{
    size_t n = strlen(hex);
    if (n % 2 || n / 2 > out_size) {
        fprintf(stderr, "pkc_test_unhex: bad input\n");
        abort();
    }
    for (size_t i = 0; i < n; i += 2) {
        unsigned v;
        if (sscanf(hex + i, "%2x", &v) != 1)
            abort();
        out[i / 2] = (uint8_t)v;
    }
    return n / 2;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void cleanup_tmpdirs(void)
{
    for (int i = 0; i < ntmpdirs; i++)
        nftw(tmpdirs[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    ntmpdirs = 0;
}

static int matches(const pkc_test *t, int argc, char **argv)
{
    if (argc == 0)
        return 1;
    for (int i = 0; i < argc; i++) {
        const char *slash = strchr(argv[i], '/');
        size_t slen = slash ? (size_t)(slash - argv[i]) : strlen(argv[i]);
        if (strlen(t->suite) == slen && strncmp(t->suite, argv[i], slen) == 0 &&
            (slash == NULL || strcmp(slash + 1, t->name) == 0))
            return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int list = argc > 1 && strcmp(argv[1], "--list") == 0;
    if (list) {
        argc--;
        argv++;
    }
    int run = 0, nfailed = 0;
    for (pkc_test *t = head; t; t = t->next) {
        if (!matches(t, argc - 1, argv + 1))
            continue;
        if (list) {
            printf("%s/%s\n", t->suite, t->name);
            continue;
        }
        failed = 0;
        fprintf(stderr, "[ RUN  ] %s/%s\n", t->suite, t->name);
        t->fn();
        cleanup_tmpdirs();
        fprintf(stderr, "[ %s ] %s/%s\n", failed ? "FAIL" : " OK ", t->suite, t->name);
        run++;
        nfailed += failed;
    }
    if (list)
        return 0;
    if (run == 0) {
        fprintf(stderr, "no test matches\n");
        return 1;
    }
    printf("%d passed, %d failed\n", run - nfailed, nfailed);
    return nfailed ? 1 : 0;
}
