/* cli.h: what the pkc command's subcommands share. */
#ifndef PKC_CLI_H
#define PKC_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "pkc.h"

/* Exit statuses: 0 success, 1 failure at run time, 2 usage error. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* Options every command accepts, set by cli_common_option(). */
typedef struct cli_globals {
    const char *data_dir; /* --data, or NULL */
    int help;
} cli_globals;

extern cli_globals cli_g;

typedef int (*cli_command_fn)(int argc, char **argv);

typedef struct cli_command {
    const char *name;
    const char *args;    /* usage after the name, e.g. "[--json]" */
    const char *summary; /* one line for the command list */
    const char *help;    /* the command's own help text (options), may be NULL */
    cli_command_fn run;  /* argv[0] is the command name */
    int order;           /* position in the list */
    struct cli_command *next;
} cli_command;

void cli_register(cli_command *cmd);
/* The command called `name`, or NULL. */
const cli_command *cli_find(const char *name);

/* Registers a command at program start: in cmd_<name>.c write
 *   CLI_COMMAND(id, 10, "[--json]", "print this peer's id", help_text, run_id) */
#define CLI_COMMAND(name_, order_, args_, summary_, help_, fn_)                                    \
    static cli_command cli_cmd_##name_ = {#name_, args_, summary_, help_, fn_, order_, NULL};      \
    __attribute__((constructor)) static void cli_register_##name_(void)                          \
    {                                                                                              \
        cli_register(&cli_cmd_##name_);                                                            \
    }

/* Long options every command understands; append to a command's own table
 * with CLI_COMMON_LONG_OPTIONS and handle with cli_common_option(). */
#define CLI_OPT_DATA 0x1000
#define CLI_OPT_LOG_LEVEL 0x1001
#define CLI_COMMON_LONG_OPTIONS                                                                    \
    {"data", required_argument, NULL, CLI_OPT_DATA},                                               \
        {"log-level", required_argument, NULL, CLI_OPT_LOG_LEVEL},                                 \
        {"verbose", no_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'}
#define CLI_COMMON_SHORT_OPTIONS "vh"

/* Handles a common option; returns 1 if `opt` was one, 0 if not, or -1
 * after printing a usage error. */
int cli_common_option(int opt, const char *arg);

/* Prints the help of a command (or of pkc when NULL) to `f`. */
void cli_print_help(FILE *f, const cli_command *cmd);

/* The data directory: --data, else $PKC_DATA, else $XDG_DATA_HOME/pkc, else
 * $HOME/.local/share/pkc. Returns a static string, or NULL (message printed)
 * if none can be determined. */
const char *cli_data_dir(void);

/* Prints "pkc: <what>: <pkc_errmsg()>" to stderr and returns CLI_FAIL. */
int cli_fail(const char *what, int rc);

/* Prints "pkc: <message>\nTry 'pkc <cmd> --help'." and returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) PKC_PRINTF(2, 3);

/* ---- a node run as `pkc up` runs it (cmd_node.c) ---- */

#define CLI_ROOMS_MAX 16
#define CLI_STUN_MAX 8

/* The node's settings: DATA/config.json, then the environment, then flags
 * (docs/cli.md, "pkc up"). */
typedef struct cli_node_settings {
    const char *data_dir;
    const char *rooms[CLI_ROOMS_MAX]; /* passphrases; the first is the default room */
    size_t n_rooms;
    const char *stun[CLI_STUN_MAX];
    size_t n_stun;
    int local_room, lan, json;
    int invite; /* --invite: show an invitation to the default room at start */
    long port, max_peers;
    const char *seeds[8]; /* --seed DOMAIN, "seeds": DNS seed domains */
    size_t n_seeds;
    const char *doh[8]; /* --doh URL, "doh_resolvers": DNS over HTTPS resolvers */
    size_t n_doh;
    const char *doh_cafile; /* --doh-cafile FILE, "doh_cafile" */
    void *file;     /* the config file's JSON: keeps its strings alive */
    char *env_copy; /* the same for $PKC_STUN */
} cli_node_settings;

/* Parses pkc up's node options in argv (--json too if `json_ok`) and reads
 * the settings. At most `max_operands` operands may follow (optind is at
 * the first). With `flag_rooms_first`, the rooms of --room come before
 * those of the file and the environment, so that the first of them is the
 * default room. Returns CLI_OK, -1 after printing the help (--help), or an
 * exit status after printing why. Free with cli_node_settings_free() in
 * every case. */
int cli_node_settings_read(const char *cmd, int argc, char **argv, int json_ok, int max_operands,
                           int flag_rooms_first, cli_node_settings *s);
void cli_node_settings_free(cli_node_settings *s);

/* An invitation to `room` (NULL: the default room) of the running `node`,
 * as text for a person: the link, its QR code (half blocks; ANSI colours if
 * `color`) and what the invitee does. Malloc'd into *out. Returns CLI_OK,
 * or CLI_FAIL with pkc_errmsg() saying why. */
int cli_invitation_text(pkc_node *node, const char *room, int single_use, int color, char **out);

/* pkc_node_new() with these settings. Returns CLI_OK, or CLI_FAIL after
 * printing why: a node already running on the data directory is said
 * plainly, with what to do. */
int cli_node_create(const cli_node_settings *s, const pkc_node_callbacks *cb, void *user_data,
                    pkc_node **out);

#endif
