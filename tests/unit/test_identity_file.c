#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dirent.h>

#include "store/identity_file.h"
#include "test.h"
#include "util/rng.h"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    static char buf[8192];
    *len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

static void write_file(const char *path, const char *data, size_t len, mode_t mode)
{
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, len, f);
    fclose(f);
    chmod(path, mode);
}

TEST(identity_file, created_once_private_and_reloaded)
{
    char dir[512], file[600];
    snprintf(dir, sizeof dir, "%s/a/b/data", pkc_test_tmpdir());
    snprintf(file, sizeof file, "%s/identity.key", dir);
    mode_t old = umask(0); /* even a permissive umask must not widen the mode */
    pkc_identity *id, *again;
    int created = -1;
    int rc = pkc_identity_load_or_create(dir, pkc_rng_system(), &id, &created);
    umask(old);
    CHECK_OK(rc);
    CHECK_EQ(created, 1);
    struct stat st;
    CHECK(stat(file, &st) == 0);
    CHECK_EQ(st.st_mode & 0777, 0600);
    CHECK(stat(dir, &st) == 0);
    CHECK_EQ(st.st_mode & 0777, 0700);
    CHECK_OK(pkc_identity_load_or_create(dir, pkc_rng_system(), &again, &created));
    CHECK_EQ(created, 0);
    CHECK_STR(pkc_identity_get_peer_id(id), pkc_identity_get_peer_id(again));
    CHECK_MEM(pkc_identity_get_public_key(id), pkc_identity_get_public_key(again), 32);
    pkc_identity_free(id);
    pkc_identity_free(again);
}

TEST(identity_file, format_is_exactly_as_documented)
{
    uint8_t seed[32];
    pkc_test_unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", seed, 32);
    pkc_identity *id;
    CHECK_OK(pkc_identity_from_seed(seed, &id));
    char out[PKC_IDENTITY_FILE_MAX];
    size_t n = pkc_identity_file_format(id, out, sizeof out);
    const char *want = "pkc-identity-v1\n"
                       "peer-id pkc1fznlf7n7udnaswfc64eegy2n3573efzvufjxaq\n"
                       "seed nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\n";
    CHECK_EQ(n, strlen(want));
    CHECK_MEM(out, want, n);
    pkc_identity *back;
    CHECK_OK(pkc_identity_file_parse(out, n, &back));
    CHECK_STR(pkc_identity_get_peer_id(back), pkc_identity_get_peer_id(id));
    pkc_identity_free(back);
    pkc_identity_free(id);
}

TEST(identity_file, refuses_a_key_others_can_read)
{
    const char *dir = pkc_test_tmpdir();
    char file[600];
    pkc_identity *id;
    CHECK_OK(pkc_identity_load_or_create(dir, pkc_rng_system(), &id, NULL));
    pkc_identity_free(id);
    snprintf(file, sizeof file, "%s/identity.key", dir);
    chmod(file, 0640);
    CHECK_ERR(pkc_identity_load(file, &id), PKC_ERR_PERMISSION);
    CHECK(strstr(pkc_errmsg(), "chmod 600") != NULL);
    CHECK_ERR(pkc_identity_load_or_create(dir, pkc_rng_system(), &id, NULL), PKC_ERR_PERMISSION);
}

TEST(identity_file, damaged_files_are_errors_never_new_identities)
{
    const char *dir = pkc_test_tmpdir();
    char file[600];
    snprintf(file, sizeof file, "%s/identity.key", dir);
    pkc_identity *id;
    CHECK_OK(pkc_identity_load_or_create(dir, pkc_rng_system(), &id, NULL));
    pkc_identity_free(id);
    size_t len;
    char good[256];
    char *p = read_file(file, &len);
    CHECK(p != NULL && len < sizeof good);
    memcpy(good, p, len);

    /* Every truncation. */
    for (size_t cut = 0; cut < len; cut++) {
        write_file(file, good, cut, 0600);
        int rc = pkc_identity_load(file, &id);
        CHECK(rc == PKC_ERR_MALFORMED || rc == PKC_ERR_CHECKSUM);
    }
    /* One flipped seed character: the stored peer id no longer matches. */
    char bad[256];
    memcpy(bad, good, len);
    char *seed = strstr(bad, "seed ") + 5;
    seed[3] = seed[3] == 'A' ? 'B' : 'A';
    write_file(file, bad, len, 0600);
    CHECK_ERR(pkc_identity_load(file, &id), PKC_ERR_CHECKSUM);
    /* load_or_create must not replace a damaged identity. */
    CHECK_ERR(pkc_identity_load_or_create(dir, pkc_rng_system(), &id, NULL), PKC_ERR_CHECKSUM);
    /* The same seed with base64 padding: one identity has one file form. */
    memcpy(bad, good, len);
    memcpy(bad + len - 1, "=\n", 2);
    write_file(file, bad, len + 1, 0600);
    CHECK_ERR(pkc_identity_load(file, &id), PKC_ERR_MALFORMED);
    /* Trailing junk. */
    memcpy(bad, good, len);
    memcpy(bad + len, "x", 1);
    write_file(file, bad, len + 1, 0600);
    CHECK_ERR(pkc_identity_load(file, &id), PKC_ERR_MALFORMED);
    /* A directory in its place. */
    unlink(file);
    mkdir(file, 0700);
    CHECK_ERR(pkc_identity_load(file, &id), PKC_ERR_MALFORMED);
    rmdir(file);
    CHECK_ERR(pkc_identity_load(file, &id), PKC_ERR_NOT_FOUND);
}

TEST(identity_file, save_never_overwrites)
{
    const char *dir = pkc_test_tmpdir();
    char file[600];
    snprintf(file, sizeof file, "%s/identity.key", dir);
    pkc_identity *a, *b, *back;
    CHECK_OK(pkc_identity_generate(pkc_rng_system(), &a));
    CHECK_OK(pkc_identity_generate(pkc_rng_system(), &b));
    CHECK_OK(pkc_identity_save(a, file));
    CHECK_ERR(pkc_identity_save(b, file), PKC_ERR_EXISTS);
    CHECK_OK(pkc_identity_load(file, &back));
    CHECK_STR(pkc_identity_get_peer_id(back), pkc_identity_get_peer_id(a));
    /* No temporary files are left behind. */
    DIR *d = opendir(dir);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)) != NULL)
        files += e->d_name[0] != '.';
    closedir(d);
    CHECK_EQ(files, 1);
    pkc_identity_free(a);
    pkc_identity_free(b);
    pkc_identity_free(back);
}

TEST(identity_file, concurrent_first_use_agrees_on_one_identity)
{
    enum { N = 8 };
    for (int round = 0; round < 5; round++) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/race", pkc_test_tmpdir());
        int start[2], result[2];
        CHECK(pipe(start) == 0 && pipe(result) == 0);
        pid_t kids[N];
        for (int i = 0; i < N; i++) {
            kids[i] = fork();
            CHECK(kids[i] >= 0);
            if (kids[i] == 0) {
                char go;
                close(start[1]);
                /* All children block here until the parent closes the pipe. */
                if (read(start[0], &go, 1) < 0)
                    _exit(3);
                pkc_identity *id;
                if (pkc_identity_load_or_create(dir, pkc_rng_system(), &id, NULL) != 0)
                    _exit(2);
                if (write(result[1], pkc_identity_get_peer_id(id), PKC_PEER_ID_LEN) !=
                    PKC_PEER_ID_LEN)
                    _exit(4);
                _exit(0);
            }
        }
        close(start[0]);
        close(start[1]); /* release them all at once */
        close(result[1]);
        char ids[N][PKC_PEER_ID_LEN];
        for (int i = 0; i < N; i++) {
            size_t got = 0;
            while (got < PKC_PEER_ID_LEN) {
                ssize_t n = read(result[0], ids[i] + got, PKC_PEER_ID_LEN - got);
                CHECK(n > 0);
                got += (size_t)n;
            }
        }
        close(result[0]);
        for (int i = 0; i < N; i++) {
            int status;
            CHECK(waitpid(kids[i], &status, 0) == kids[i]);
            CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        for (int i = 1; i < N; i++)
            CHECK_MEM(ids[i], ids[0], PKC_PEER_ID_LEN);
    }
}
