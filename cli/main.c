/* main.c: the pkc command: global options and dispatch to subcommands. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

cli_globals cli_g;
static cli_command *commands;

void cli_register(cli_command *cmd)
{
    /* Keep the list sorted by order, then name. */
    cli_command **p = &commands;
    while (*p && ((*p)->order < cmd->order ||
                  ((*p)->order == cmd->order && strcmp((*p)->name, cmd->name) < 0)))
        p = &(*p)->next;
    cmd->next = *p;
    *p = cmd;
}

const cli_command *cli_find(const char *name)
{
    for (const cli_command *c = commands; c; c = c->next)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static const char common_help[] =
    "Options for every command:\n"
    "  --data DIR       data directory (default: $PKC_DATA, else $XDG_DATA_HOME/pkc,\n"
    "                   else ~/.local/share/pkc)\n"
    "  --log-level LVL  error, warn, info, debug or trace (default warn, or $PKC_LOG)\n"
    "  -v, --verbose    one level more log output (repeatable)\n"
    "  -h, --help       show help\n";

void cli_print_help(FILE *f, const cli_command *cmd)
{
    if (cmd) {
        fprintf(f, "Usage: pkc %s %s\n\n%s.\n", cmd->name, cmd->args, cmd->summary);
        if (cmd->help)
            fprintf(f, "\n%s", cmd->help);
        fprintf(f, "\n%s", common_help);
        return;
    }
    fprintf(f,
            "pkc %s: serverless peer-to-peer communication\n"
            "\n"
            "Usage: pkc [options] [command] [command options]\n"
            "\n"
            "Commands:\n",
            pkc_version());
    for (const cli_command *c = commands; c; c = c->next)
        fprintf(f, "  %-10s %s\n", c->name, c->summary);
    fprintf(f,
            "\nWithout a command, pkc prints this peer's identity and this help.\n"
            "'pkc COMMAND --help' describes a command. Documentation: docs/cli.md.\n\n"
            "%s"
            "  -V, --version    print the version\n",
            common_help);
}

int cli_common_option(int opt, const char *arg)
{
    pkc_log_level lvl;
    switch (opt) {
    case CLI_OPT_DATA:
        if (arg[0] == '\0') {
            fprintf(stderr, "pkc: --data needs a directory\n");
            return -1;
        }
        cli_g.data_dir = arg;
        return 1;
    case CLI_OPT_LOG_LEVEL:
        if (pkc_log_level_parse(arg, &lvl) != 0) {
            fprintf(stderr, "pkc: unknown log level '%s' (error, warn, info, debug, trace)\n",
                    arg);
            return -1;
        }
        pkc_log_set_level(lvl);
        return 1;
    case 'v':
        if (pkc_log_get_level() < PKC_LOG_TRACE)
            pkc_log_set_level((pkc_log_level)(pkc_log_get_level() + 1));
        return 1;
    case 'h':
        cli_g.help = 1;
        return 1;
    default:
        return 0;
    }
}

int cli_fail(const char *what, int rc)
{
    const char *msg = pkc_errmsg();
    fprintf(stderr, "pkc: %s: %s\n", what, msg[0] ? msg : pkc_strerror(rc));
    return CLI_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "pkc: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'pkc%s%s --help'.\n", cmd ? " " : "", cmd ? cmd : "");
    return CLI_USAGE;
}

const char *cli_data_dir(void)
{
    static char path[4096];
    const char *env;
    if (cli_g.data_dir)
        return cli_g.data_dir;
    if ((env = getenv("PKC_DATA")) != NULL && env[0] != '\0')
        return env;
    /* XDG: a relative XDG_DATA_HOME is invalid and must be ignored. */
    if ((env = getenv("XDG_DATA_HOME")) != NULL && env[0] == '/') {
        snprintf(path, sizeof path, "%s/pkc", env);
        return path;
    }
    if ((env = getenv("HOME")) != NULL && env[0] != '\0') {
        snprintf(path, sizeof path, "%s/.local/share/pkc", env);
        return path;
    }
    fprintf(stderr, "pkc: no data directory: set --data, PKC_DATA or HOME\n");
    return NULL;
}

int cli_identity_summary(void); /* cmd_id.c */

int main(int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_LONG_OPTIONS,
                                         {"version", no_argument, NULL, 'V'},
                                         {NULL, 0, NULL, 0}};
    int opt;
    /* "+": stop at the command name; the command parses the rest. */
    while ((opt = getopt_long(argc, argv, "+" CLI_COMMON_SHORT_OPTIONS "V", opts, NULL)) != -1) {
        if (opt == 'V') {
            printf("pkc %s\n", pkc_version());
            return CLI_OK;
        }
        int r = cli_common_option(opt, optarg);
        if (r < 0)
            return CLI_USAGE;
        if (r == 0)
            return cli_usage_error(NULL, "unknown option");
    }
    if (optind >= argc) {
        if (cli_g.help) {
            cli_print_help(stdout, NULL);
            return CLI_OK;
        }
        int rc = cli_identity_summary();
        printf("\n");
        cli_print_help(stdout, NULL);
        return rc;
    }
    const char *name = argv[optind];
    if (strcmp(name, "help") == 0) {
        const cli_command *c = optind + 1 < argc ? cli_find(argv[optind + 1]) : NULL;
        if (optind + 1 < argc && c == NULL)
            return cli_usage_error(NULL, "unknown command '%s'", argv[optind + 1]);
        cli_print_help(stdout, c);
        return CLI_OK;
    }
    const cli_command *cmd = cli_find(name);
    if (cmd == NULL)
        return cli_usage_error(NULL, "unknown command '%s'", name);
    if (cli_g.help) {
        cli_print_help(stdout, cmd);
        return CLI_OK;
    }
    /* The command sees argv starting at its name; optind = 0 makes glibc's
     * getopt start over (and forget the "+" mode). */
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    optind = 0;
    return cmd->run(sub_argc, sub_argv);
}
