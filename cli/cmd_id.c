/* cmd_id.c: pkc id: this peer's identity; export and import. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

static const char id_help[] =
    "pkc id prints this peer's id. The first time, it creates an Ed25519 identity\n"
    "in the data directory (file identity.key, mode 0600) and says so on stderr.\n"
    "\n"
    "pkc id export writes the identity as text to move it to another device,\n"
    "encrypted with a passphrase (Argon2id, XChaCha20-Poly1305) unless\n"
    "--no-passphrase is given. pkc id import reads such a text (or an\n"
    "identity.key file) from FILE or stdin into a data directory that has no\n"
    "identity yet, and prints the imported peer id. Passphrases come from\n"
    "--passphrase-file, or are asked for on the terminal.\n"
    "\n"
    "Options:\n"
    "  --json                 (id) print {\"peer_id\", \"public_key\" (hex),\n"
    "                         \"identity_file\", \"created\"} instead of the bare id\n"
    "  --out FILE             (export) write to FILE (created with mode 0600,\n"
    "                         never overwritten) instead of stdout\n"
    "  --passphrase-file F    (export, import) the passphrase is F's first line\n"
    "  --no-passphrase        (export) write the secret in clear\n"
    "  --kdf-ops N            (export) Argon2id passes, 1..16 (default 3)\n"
    "  --kdf-memory KIB       (export) Argon2id memory in KiB, 8..1048576\n"
    "                         (default 65536); import reads both from the text\n";

static int load_identity(pkc_identity **id, int *created, const char **dir_out)
{
    const char *dir = cli_data_dir();
    if (dir == NULL)
        return CLI_FAIL;
    int rc = pkc_identity_load_or_create(dir, pkc_rng_system(), id, created);
    if (rc)
        return cli_fail("identity", rc);
    if (*created)
        fprintf(stderr, "pkc: created a new identity in %s/identity.key\n", dir);
    *dir_out = dir;
    return CLI_OK;
}

/* Used by `pkc` without a command. */
int cli_identity_summary(void)
{
    pkc_identity *id;
    int created;
    const char *dir;
    int rc = load_identity(&id, &created, &dir);
    if (rc)
        return rc;
    printf("peer id: %s\ndata:    %s\n", pkc_identity_get_peer_id(id), dir);
    pkc_identity_free(id);
    return CLI_OK;
}

#define PASS_MAX 1024

/* The first line of `path`, without its newline. */
static int passphrase_from_file(const char *path, char *out, size_t size)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "pkc: %s: %s\n", path, strerror(errno));
        return CLI_FAIL;
    }
    int ok = fgets(out, (int)size, f) != NULL;
    fclose(f);
    out[ok ? strcspn(out, "\r\n") : 0] = '\0';
    if (out[0] == '\0') {
        fprintf(stderr, "pkc: %s: the first line is empty; a passphrase is needed\n", path);
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* Asks on the terminal without echo. */
static int passphrase_from_tty(const char *prompt, char *out, size_t size)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0 || !isatty(fd)) {
        if (fd >= 0)
            close(fd);
        fprintf(stderr, "pkc: no terminal to ask for the passphrase: use --passphrase-file\n");
        return CLI_FAIL;
    }
    struct termios old, quiet;
    int have = tcgetattr(fd, &old) == 0;
    if (have) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    if (write(fd, prompt, strlen(prompt)) < 0) {
        /* nothing useful to do: the read below still works */
    }
    size_t n = 0;
    char c;
    while (n + 1 < size && read(fd, &c, 1) == 1 && c != '\n' && c != '\r')
        out[n++] = c;
    out[n] = '\0';
    if (have)
        tcsetattr(fd, TCSAFLUSH, &old);
    if (write(fd, "\n", 1) < 0) {
        /* as above */
    }
    close(fd);
    if (n == 0) {
        fprintf(stderr, "pkc: an empty passphrase\n");
        return CLI_FAIL;
    }
    return CLI_OK;
}

static int read_all(FILE *f, char *buf, size_t size, size_t *len)
{
    *len = fread(buf, 1, size, f);
    if (ferror(f))
        return -1;
    return *len == size ? -2 : 0; /* -2: larger than any export */
}

typedef struct id_opts {
    const char *out, *pass_file;
    int no_pass;
    pkc_identity_export_params kdf;
} id_opts;

static int run_export(const id_opts *o)
{
    const char *dir = cli_data_dir();
    if (dir == NULL)
        return CLI_FAIL;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, PKC_IDENTITY_FILE);
    pkc_identity *id;
    int rc = pkc_identity_load(path, &id);
    if (rc == PKC_ERR_NOT_FOUND) {
        fprintf(stderr, "pkc: no identity in %s (pkc id creates one)\n", dir);
        return CLI_FAIL;
    }
    if (rc)
        return cli_fail("identity", rc);
    char pass[PASS_MAX];
    pass[0] = '\0';
    int crc = CLI_OK;
    if (!o->no_pass) {
        if (o->pass_file) {
            crc = passphrase_from_file(o->pass_file, pass, sizeof pass);
        } else {
            char again[PASS_MAX];
            crc = passphrase_from_tty("Passphrase for the export: ", pass, sizeof pass);
            if (crc == CLI_OK)
                crc = passphrase_from_tty("The same passphrase again: ", again, sizeof again);
            if (crc == CLI_OK && strcmp(pass, again) != 0) {
                fprintf(stderr, "pkc: the passphrases differ\n");
                crc = CLI_FAIL;
            }
            pkc_memzero(again, sizeof again);
        }
    }
    char *text = NULL;
    if (crc == CLI_OK) {
        rc = pkc_identity_export(id, o->no_pass ? NULL : pass, &o->kdf, pkc_rng_system(), &text);
        if (rc)
            crc = cli_fail("export", rc);
    }
    pkc_memzero(pass, sizeof pass);
    pkc_identity_free(id);
    if (crc != CLI_OK)
        return crc;
    size_t len = strlen(text);
    if (o->out) {
        int fd = open(o->out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            fprintf(stderr, "pkc: %s: %s\n", o->out, strerror(errno));
            crc = CLI_FAIL;
        } else {
            if (write(fd, text, len) != (ssize_t)len || close(fd) != 0) {
                fprintf(stderr, "pkc: %s: %s\n", o->out, strerror(errno));
                crc = CLI_FAIL;
            }
        }
    } else if (fwrite(text, 1, len, stdout) != len) {
        crc = CLI_FAIL;
    }
    pkc_memzero(text, len);
    free(text);
    return crc;
}

static int run_import(const id_opts *o, const char *file)
{
    char text[4096];
    size_t len;
    FILE *f = file && strcmp(file, "-") != 0 ? fopen(file, "r") : stdin;
    if (f == NULL) {
        fprintf(stderr, "pkc: %s: %s\n", file, strerror(errno));
        return CLI_FAIL;
    }
    int r = read_all(f, text, sizeof text, &len);
    if (f != stdin)
        fclose(f);
    if (r) {
        fprintf(stderr, "pkc: %s: %s\n", file ? file : "stdin",
                r == -2 ? "too large for an identity export" : "read error");
        return CLI_FAIL;
    }
    int enc = pkc_identity_export_encrypted(text, len);
    if (enc < 0) {
        pkc_memzero(text, sizeof text);
        return cli_fail("import", enc);
    }
    char pass[PASS_MAX];
    pass[0] = '\0';
    int crc = CLI_OK;
    if (enc)
        crc = o->pass_file ? passphrase_from_file(o->pass_file, pass, sizeof pass)
                           : passphrase_from_tty("Passphrase of the export: ", pass, sizeof pass);
    pkc_identity *id = NULL;
    if (crc == CLI_OK) {
        int rc = pkc_identity_import(text, len, enc ? pass : NULL, &id);
        if (rc)
            crc = cli_fail("import", rc);
    }
    pkc_memzero(pass, sizeof pass);
    pkc_memzero(text, sizeof text);
    if (crc != CLI_OK)
        return crc;
    const char *dir = cli_data_dir();
    char path[PATH_MAX];
    if (dir == NULL) {
        pkc_identity_free(id);
        return CLI_FAIL;
    }
    snprintf(path, sizeof path, "%s/%s", dir, PKC_IDENTITY_FILE);
    int rc = pkc_identity_save(id, path);
    if (rc == PKC_ERR_EXISTS) {
        pkc_identity *old;
        const char *which = pkc_identity_load(path, &old) == 0 ? pkc_identity_get_peer_id(old) : "?";
        fprintf(stderr,
                "pkc: %s already has an identity (%s); pkc never replaces one: move %s away "
                "first, or import into another --data directory\n",
                dir, which, path);
        if (which[0] != '?')
            pkc_identity_free(old);
        pkc_identity_free(id);
        return CLI_FAIL;
    }
    if (rc) {
        pkc_identity_free(id);
        return cli_fail("import", rc);
    }
    printf("%s\n", pkc_identity_get_peer_id(id));
    fprintf(stderr, "pkc: imported into %s\n", path);
    pkc_identity_free(id);
    return CLI_OK;
}

static int parse_u32(const char *s, uint32_t *v)
{
    char *end;
    errno = 0;
    unsigned long x = strtoul(s, &end, 10);
    if (errno || end == s || *end || x > UINT32_MAX)
        return -1;
    *v = (uint32_t)x;
    return 0;
}

static int run_id(int argc, char **argv)
{
    enum { O_JSON = 'j', O_OUT = 0x2000, O_PASSFILE, O_NOPASS, O_KDFOPS, O_KDFMEM };
    static const struct option opts[] = {CLI_COMMON_LONG_OPTIONS,
                                         {"json", no_argument, NULL, O_JSON},
                                         {"out", required_argument, NULL, O_OUT},
                                         {"passphrase-file", required_argument, NULL, O_PASSFILE},
                                         {"no-passphrase", no_argument, NULL, O_NOPASS},
                                         {"kdf-ops", required_argument, NULL, O_KDFOPS},
                                         {"kdf-memory", required_argument, NULL, O_KDFMEM},
                                         {NULL, 0, NULL, 0}};
    int json = 0, opt, export_only = 0;
    id_opts io;
    memset(&io, 0, sizeof io);
    pkc_identity_export_params_default(&io.kdf);
    while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORT_OPTIONS, opts, NULL)) != -1) {
        switch (opt) {
        case O_JSON:
            json = 1;
            continue;
        case O_OUT:
            io.out = optarg;
            export_only = 1;
            continue;
        case O_PASSFILE:
            io.pass_file = optarg;
            continue;
        case O_NOPASS:
            io.no_pass = 1;
            export_only = 1;
            continue;
        case O_KDFOPS:
        case O_KDFMEM:
            if (parse_u32(optarg, opt == O_KDFOPS ? &io.kdf.ops : &io.kdf.mem_kib) != 0)
                return cli_usage_error("id", "--%s needs a number",
                                       opt == O_KDFOPS ? "kdf-ops" : "kdf-memory");
            export_only = 1;
            continue;
        default:
            break;
        }
        int r = cli_common_option(opt, optarg);
        if (r < 0)
            return CLI_USAGE;
        if (r == 0)
            return cli_usage_error("id", "unknown option");
    }
    if (cli_g.help) {
        cli_print_help(stdout, cli_find("id"));
        return CLI_OK;
    }
    const char *sub = optind < argc ? argv[optind] : NULL;
    if (sub && strcmp(sub, "export") == 0) {
        if (optind + 1 < argc)
            return cli_usage_error("id", "unexpected argument '%s'", argv[optind + 1]);
        if (json)
            return cli_usage_error("id", "--json is for pkc id only");
        if (io.no_pass && io.pass_file)
            return cli_usage_error("id",
                                   "--no-passphrase and --passphrase-file exclude each other");
        return run_export(&io);
    }
    if (sub && strcmp(sub, "import") == 0) {
        if (optind + 2 < argc)
            return cli_usage_error("id", "unexpected argument '%s'", argv[optind + 2]);
        if (json || export_only)
            return cli_usage_error("id", "pkc id import takes only [FILE] and --passphrase-file");
        return run_import(&io, optind + 1 < argc ? argv[optind + 1] : NULL);
    }
    if (sub)
        return cli_usage_error("id", "unexpected argument '%s'", sub);
    if (export_only || io.pass_file)
        return cli_usage_error("id", "these options are for pkc id export / import");

    pkc_identity *id;
    int created;
    const char *dir;
    int rc = load_identity(&id, &created, &dir);
    if (rc)
        return rc;
    if (json) {
        char pk[2 * PKC_PUBLIC_KEY_BYTES + 1], file[4200];
        for (int i = 0; i < PKC_PUBLIC_KEY_BYTES; i++)
            snprintf(pk + 2 * i, 3, "%02x", pkc_identity_get_public_key(id)[i]);
        snprintf(file, sizeof file, "%s/%s", dir, PKC_IDENTITY_FILE);
        json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "peer_id", pkc_identity_get_peer_id(id),
                              "public_key", pk, "identity_file", file, "created", created);
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (s == NULL) {
            json_decref(o);
            pkc_identity_free(id);
            fprintf(stderr, "pkc: out of memory\n");
            return CLI_FAIL;
        }
        printf("%s\n", s);
        free(s);
        json_decref(o);
    } else {
        printf("%s\n", pkc_identity_get_peer_id(id));
    }
    pkc_identity_free(id);
    return CLI_OK;
}

CLI_COMMAND(id, 10, "[--json] | export [--out FILE] [--no-passphrase] | import [FILE]",
            "print this peer's id (creates the identity on first use); export, import",
            id_help, run_id)
