/* cmd_id.c: pkc id: this peer's identity. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util/text.h"

static const char id_help[] =
    "Prints this peer's id. The first time, creates an Ed25519 identity in the\n"
    "data directory (file identity.key, mode 0600) and says so on stderr.\n"
    "\n"
    "Options:\n"
    "  --json           print {\"peer_id\", \"public_key\" (hex), \"identity_file\",\n"
    "                   \"created\"} instead of the bare id\n";

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
    printf("peer id: %s\ndata:    %s\n", pkc_identity_peer_id(id), dir);
    pkc_identity_free(id);
    return CLI_OK;
}

static int run_id(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_COMMON_LONG_OPTIONS, {"json", no_argument, NULL, 'j'}, {NULL, 0, NULL, 0}};
    int json = 0, opt;
    while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORT_OPTIONS, opts, NULL)) != -1) {
        if (opt == 'j') {
            json = 1;
            continue;
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
    if (optind < argc)
        return cli_usage_error("id", "unexpected argument '%s'", argv[optind]);

    pkc_identity *id;
    int created;
    const char *dir;
    int rc = load_identity(&id, &created, &dir);
    if (rc)
        return rc;
    if (json) {
        char pk[2 * PKC_PUBLIC_KEY_BYTES + 1], file[4200];
        pkc_hex_encode(pk, pkc_identity_public_key(id), PKC_PUBLIC_KEY_BYTES);
        snprintf(file, sizeof file, "%s/identity.key", dir);
        json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "peer_id", pkc_identity_peer_id(id),
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
        printf("%s\n", pkc_identity_peer_id(id));
    }
    pkc_identity_free(id);
    return CLI_OK;
}

CLI_COMMAND(id, 10, "[--json]", "print this peer's id (creates the identity on first use)",
            id_help, run_id)
