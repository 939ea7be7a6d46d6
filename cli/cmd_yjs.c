/* cmd_yjs.c: pkc yjs: tools over Yjs update files. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cli.h"
#include "ytrace.h"

static const char yjs_help[] =
    "Tools over Yjs documents stored as update files (the v1 format of\n"
    "Y.encodeStateAsUpdate). Output goes to stdout.\n"
    "\n"
    "  pkc yjs merge FILE...          apply the updates in order; write the resulting\n"
    "                                 document as one v1 update\n"
    "  pkc yjs json FILE [--map N] [--array N] [--text N] [--xml N]\n"
    "                                 print the named root types as JSON, as\n"
    "                                 JSON.stringify(type.toJSON()) in Yjs; with more\n"
    "                                 than one, an object of them by name\n"
    "  pkc yjs sv FILE                print the document's state vector as JSON\n"
    "                                 ({\"client\": clock, ...})\n"
    "  pkc yjs diff FILE SV           the part of update FILE that state vector SV\n"
    "                                 lacks (Y.diffUpdate); SV is a file holding an\n"
    "                                 encoded state vector or the JSON of `pkc yjs sv`\n"
    "  pkc yjs replay TRACE.json.gz   replay an editing trace into a Y.Text named\n"
    "                                 \"text\", one transaction per edit; write the\n"
    "                                 document as a v1 update\n"
    "\n"
    "Options:\n"
    "  --client-id N    client id of the replay (default 1)\n"
    "  --v2             (merge) the input files are v2 updates\n";

static int read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (f == NULL) {
        fprintf(stderr, "pkc: %s: %s\n", path, strerror(errno));
        return CLI_FAIL;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (buf == NULL)
            break;
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n < cap) {
            if (ferror(f)) {
                fprintf(stderr, "pkc: %s: %s\n", path, strerror(errno));
                free(buf);
                buf = NULL;
            }
            break;
        }
        uint8_t *nb = realloc(buf, cap * 2);
        if (nb == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    if (f != stdin)
        fclose(f);
    if (buf == NULL) {
        fprintf(stderr, "pkc: %s: cannot read\n", path);
        return CLI_FAIL;
    }
    *out = buf;
    *len = n;
    return CLI_OK;
}

static int write_out(const uint8_t *p, size_t n)
{
    if (n && fwrite(p, 1, n, stdout) != n) {
        fprintf(stderr, "pkc: writing the output: %s\n", strerror(errno));
        return CLI_FAIL;
    }
    return fflush(stdout) ? CLI_FAIL : CLI_OK;
}

static int new_doc(uint64_t client_id, pkc_ydoc **doc)
{
    pkc_ydoc_config cfg;
    pkc_ydoc_config_default(&cfg);
    cfg.client_id = client_id;
    int rc = pkc_ydoc_new(&cfg, pkc_rng_system(), doc);
    return rc ? cli_fail("document", rc) : CLI_OK;
}

static int load(pkc_ydoc *doc, const char *path, int v2)
{
    uint8_t *u;
    size_t n;
    int rc = read_file(path, &u, &n);
    if (rc)
        return rc;
    rc = v2 ? pkc_ydoc_apply_update_v2(doc, u, n, NULL) : pkc_ydoc_apply_update(doc, u, n, NULL);
    free(u);
    return rc ? cli_fail(path, rc) : CLI_OK;
}

static int write_state(pkc_ydoc *doc)
{
    uint8_t *out;
    size_t n;
    int rc = pkc_ydoc_encode_state(doc, NULL, 0, &out, &n);
    if (rc)
        return cli_fail("encoding", rc);
    rc = write_out(out, n);
    free(out);
    return rc;
}

/* ------------------------------------------------------------------------ */

static int yjs_merge(int nfiles, char **files, int v2)
{
    pkc_ydoc *doc;
    int rc = new_doc(0, &doc);
    for (int i = 0; rc == CLI_OK && i < nfiles; i++)
        rc = load(doc, files[i], v2);
    if (rc == CLI_OK) {
        if (pkc_ydoc_has_pending(doc))
            fprintf(stderr, "pkc: warning: some structs or deletes wait for updates not given; "
                            "they are kept in the output\n");
        rc = write_state(doc);
    }
    pkc_ydoc_free(doc);
    return rc;
}

typedef struct root_spec {
    const char *name;
    pkc_ytype_kind kind;
} root_spec;

static int yjs_json(const char *file, const root_spec *roots, int nroots)
{
    pkc_ydoc *doc;
    int rc = new_doc(0, &doc);
    if (rc == CLI_OK)
        rc = load(doc, file, 0);
    if (rc == CLI_OK && nroots > 1)
        fputc('{', stdout);
    for (int i = 0; rc == CLI_OK && i < nroots; i++) {
        pkc_ytype *t;
        char *json;
        int e = pkc_ydoc_get(doc, roots[i].name, roots[i].kind, &t);
        if (e == 0)
            e = pkc_ytype_to_json(t, &json, NULL);
        if (e) {
            rc = cli_fail(roots[i].name, e);
            break;
        }
        if (nroots > 1) {
            json_t *name = json_string(roots[i].name);
            char *k = name ? json_dumps(name, JSON_ENCODE_ANY) : NULL;
            printf("%s%s:", i ? "," : "", k ? k : "\"?\"");
            free(k);
            json_decref(name);
        }
        fputs(json, stdout);
        free(json);
    }
    if (rc == CLI_OK) {
        if (nroots > 1)
            fputc('}', stdout);
        fputc('\n', stdout);
    }
    pkc_ydoc_free(doc);
    return rc;
}

/* Reads a varuint from an encoded state vector. */
static int sv_varuint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t c = *(*p)++;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

static int print_sv(const uint8_t *sv, size_t n)
{
    const uint8_t *p = sv, *end = sv + n;
    uint64_t cnt;
    if (sv_varuint(&p, end, &cnt))
        return CLI_FAIL;
    uint64_t(*e)[2] = calloc(cnt ? cnt : 1, sizeof *e);
    if (e == NULL)
        return CLI_FAIL;
    for (uint64_t i = 0; i < cnt; i++)
        if (sv_varuint(&p, end, &e[i][0]) || sv_varuint(&p, end, &e[i][1])) {
            free(e);
            return CLI_FAIL;
        }
    /* JavaScript prints integer keys in ascending order */
    for (uint64_t i = 1; i < cnt; i++)
        for (uint64_t j = i; j > 0 && e[j - 1][0] > e[j][0]; j--) {
            uint64_t t0 = e[j][0], t1 = e[j][1];
            e[j][0] = e[j - 1][0], e[j][1] = e[j - 1][1];
            e[j - 1][0] = t0, e[j - 1][1] = t1;
        }
    fputc('{', stdout);
    for (uint64_t i = 0; i < cnt; i++)
        printf("%s\"%llu\":%llu", i ? "," : "", (unsigned long long)e[i][0],
               (unsigned long long)e[i][1]);
    fputs("}\n", stdout);
    free(e);
    return CLI_OK;
}

static int yjs_sv(const char *file)
{
    pkc_ydoc *doc;
    int rc = new_doc(0, &doc);
    if (rc == CLI_OK)
        rc = load(doc, file, 0);
    if (rc == CLI_OK) {
        uint8_t *sv;
        size_t n;
        int e = pkc_ydoc_encode_state_vector(doc, &sv, &n);
        if (e)
            rc = cli_fail("state vector", e);
        else {
            rc = print_sv(sv, n);
            free(sv);
        }
    }
    pkc_ydoc_free(doc);
    return rc;
}

static void push_varuint(uint8_t **p, uint64_t v)
{
    while (v >= 0x80) {
        *(*p)++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *(*p)++ = (uint8_t)v;
}

/* A state vector from its JSON form {"client": clock, ...}. */
static int sv_from_json(const uint8_t *text, size_t n, uint8_t **out, size_t *out_len)
{
    json_error_t err;
    json_t *o = json_loadb((const char *)text, n, 0, &err);
    if (!json_is_object(o)) {
        json_decref(o);
        fprintf(stderr, "pkc: state vector JSON: %s\n", o ? "not an object" : err.text);
        return CLI_FAIL;
    }
    uint8_t *buf = malloc(11 + json_object_size(o) * 22), *p = buf;
    if (buf == NULL) {
        json_decref(o);
        return CLI_FAIL;
    }
    push_varuint(&p, json_object_size(o));
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        char *endp;
        errno = 0;
        unsigned long long c = strtoull(k, &endp, 10);
        if (*k == '\0' || *endp || errno || !json_is_integer(v) || json_integer_value(v) < 0) {
            fprintf(stderr, "pkc: state vector JSON: bad entry \"%s\"\n", k);
            free(buf);
            json_decref(o);
            return CLI_FAIL;
        }
        push_varuint(&p, c);
        push_varuint(&p, (uint64_t)json_integer_value(v));
    }
    json_decref(o);
    *out = buf;
    *out_len = (size_t)(p - buf);
    return CLI_OK;
}

static int yjs_diff(const char *file, const char *svfile)
{
    uint8_t *u, *sv, *out;
    size_t n, svn, on;
    int rc = read_file(file, &u, &n);
    if (rc)
        return rc;
    if ((rc = read_file(svfile, &sv, &svn))) {
        free(u);
        return rc;
    }
    size_t i = 0;
    while (i < svn && (sv[i] == ' ' || sv[i] == '\n' || sv[i] == '\t' || sv[i] == '\r'))
        i++;
    if (i < svn && sv[i] == '{') {
        uint8_t *bin;
        size_t binn;
        if ((rc = sv_from_json(sv, svn, &bin, &binn))) {
            free(u);
            free(sv);
            return rc;
        }
        free(sv);
        sv = bin;
        svn = binn;
    }
    int e = pkc_yupdate_diff(u, n, sv, svn, &out, &on);
    free(u);
    free(sv);
    if (e)
        return cli_fail("diff", e);
    rc = write_out(out, on);
    free(out);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* replay                                                                   */

/* The trace is decompressed and read in one pass, 64 KiB at a time, and
 * each edit applied as it is read: nothing holds the whole JSON (16 MB for
 * automerge-paper) or a tree of it. */
typedef struct replay {
    const char *file;
    FILE *f;
    z_stream z;
    int in_eof, member_end, any_out;
    uint8_t in[1 << 16], out[1 << 16];
    pkc_ydoc *doc;
    pkc_ytype *text;
    pkc_ytxn *txn;
    ytrace_map map; /* code point -> UTF-16 positions */
    size_t ntxn;    /* transactions begun */
    char *end;      /* endContent, if given */
    size_t endn;
    int has_end;
} replay;

/* Callbacks report their own errors and return this. */
#define REPLAY_REPORTED (-1)

static int replay_read(void *user, const uint8_t **p, size_t *n)
{
    replay *st = user;
    for (;;) {
        if (st->z.avail_in == 0 && !st->in_eof) {
            size_t r = fread(st->in, 1, sizeof st->in, st->f);
            if (r == 0) {
                if (ferror(st->f)) {
                    fprintf(stderr, "pkc: %s: %s\n", st->file, strerror(errno));
                    return REPLAY_REPORTED;
                }
                st->in_eof = 1;
            }
            st->z.next_in = st->in;
            st->z.avail_in = (uInt)r;
        }
        if (st->member_end) {
            /* gzip files may hold several members, one after the other */
            if (st->z.avail_in == 0 && st->in_eof) {
                *n = 0;
                return 0;
            }
            if (st->z.avail_in == 0)
                continue;
            inflateReset(&st->z);
            st->member_end = 0;
        }
        st->z.next_out = st->out;
        st->z.avail_out = sizeof st->out;
        int zr = inflate(&st->z, Z_NO_FLUSH);
        size_t got = sizeof st->out - st->z.avail_out;
        if (zr == Z_STREAM_END)
            st->member_end = 1;
        else if (zr == Z_BUF_ERROR && st->in_eof && got == 0) {
            fprintf(stderr, "pkc: %s: %s\n", st->file,
                    st->z.total_in ? "the gzip data ends early" : "empty, not gzip-compressed");
            return REPLAY_REPORTED;
        } else if (zr != Z_OK && zr != Z_BUF_ERROR) {
            if (!st->any_out)
                fprintf(stderr, "pkc: %s: not gzip-compressed\n", st->file);
            else
                fprintf(stderr, "pkc: %s: damaged gzip data (%s)\n", st->file,
                        st->z.msg ? st->z.msg : "inflate failed");
            return REPLAY_REPORTED;
        }
        if (got) {
            st->any_out = 1;
            *p = st->out;
            *n = got;
            return 0;
        }
    }
}

static int replay_start(void *user, const char *s, size_t n)
{
    replay *st = user;
    if (n == 0)
        return 0;
    if (st->ntxn) {
        fprintf(stderr, "pkc: %s: \"startContent\" comes after \"txns\"; replay reads the trace in "
                        "one pass and needs it first\n", st->file);
        return REPLAY_REPORTED;
    }
    uint64_t upos, udel;
    int e = ytrace_map_edit(&st->map, 0, 0, s, n, &upos, &udel);
    if (e == 0)
        e = pkc_ytext_insert(NULL, st->text, (size_t)upos, s, n, NULL, 0);
    else
        e = PKC_ERR_NOMEM;
    return e ? cli_fail("startContent", e), REPLAY_REPORTED : 0;
}

static int replay_end(void *user, const char *s, size_t n)
{
    replay *st = user;
    st->end = malloc(n ? n : 1);
    if (st->end == NULL)
        return cli_fail(st->file, PKC_ERR_NOMEM), REPLAY_REPORTED;
    memcpy(st->end, s, n);
    st->endn = n;
    st->has_end = 1;
    return 0;
}

static int replay_begin(void *user)
{
    replay *st = user;
    st->ntxn++;
    int e = pkc_ydoc_transact(st->doc, NULL, &st->txn);
    return e ? cli_fail(st->file, e), REPLAY_REPORTED : 0;
}

static int replay_commit(void *user)
{
    replay *st = user;
    int e = pkc_ytxn_commit(st->txn);
    st->txn = NULL;
    if (e) {
        fprintf(stderr, "pkc: %s: edit %zu does not apply\n", st->file, st->ntxn - 1);
        return cli_fail(st->file, e), REPLAY_REPORTED;
    }
    return 0;
}

static int replay_patch(void *user, uint64_t pos, uint64_t del, const char *ins, size_t n)
{
    replay *st = user;
    uint64_t upos, udel;
    int e = ytrace_map_edit(&st->map, pos, del, ins, n, &upos, &udel);
    if (e == -1) {
        fprintf(stderr,
                "pkc: %s: edit %zu does not apply: position %llu, %llu deleted, but the text has "
                "%llu characters\n",
                st->file, st->ntxn - 1, (unsigned long long)pos, (unsigned long long)del,
                (unsigned long long)ytrace_map_len(&st->map));
        return REPLAY_REPORTED;
    }
    if (e)
        e = PKC_ERR_NOMEM;
    if (e == 0 && udel)
        e = pkc_ytext_delete(st->txn, st->text, (size_t)upos, (size_t)udel);
    if (e == 0 && n)
        e = pkc_ytext_insert(st->txn, st->text, (size_t)upos, ins, n, NULL, 0);
    if (e) {
        fprintf(stderr, "pkc: %s: edit %zu does not apply\n", st->file, st->ntxn - 1);
        return cli_fail(st->file, e), REPLAY_REPORTED;
    }
    return 0;
}

static int yjs_replay(const char *file, uint64_t client_id)
{
    replay *st = calloc(1, sizeof *st);
    if (st == NULL)
        return cli_fail(file, PKC_ERR_NOMEM);
    st->file = file;
    ytrace_map_init(&st->map);
    st->f = strcmp(file, "-") ? fopen(file, "rb") : stdin;
    if (st->f == NULL) {
        fprintf(stderr, "pkc: %s: %s\n", file, strerror(errno));
        free(st);
        return CLI_FAIL;
    }
    int rc = CLI_OK;
    if (inflateInit2(&st->z, 15 + 32) != Z_OK)
        rc = cli_fail(file, PKC_ERR_NOMEM);
    else if ((rc = new_doc(client_id, &st->doc)) == CLI_OK) {
        int e = pkc_ydoc_get(st->doc, "text", PKC_YTEXT, &st->text);
        if (e)
            rc = cli_fail(file, e);
    }
    if (rc == CLI_OK) {
        ytrace_handler h = {replay_read, replay_start, replay_end, replay_begin,
                            replay_patch, replay_commit, st};
        char err[256];
        int e = ytrace_parse(&h, err, sizeof err);
        if (st->txn)
            pkc_ytxn_commit(st->txn);
        if (e == YTRACE_MALFORMED || e == YTRACE_NOMEM)
            fprintf(stderr, "pkc: %s: %s%s\n", file, e == YTRACE_MALFORMED ? "JSON " : "", err);
        if (e)
            rc = CLI_FAIL;
    }
    if (rc == CLI_OK && st->has_end) {
        /* the trace says what the text must be */
        char *s;
        size_t sn;
        int e = pkc_ytext_to_string(st->text, &s, &sn);
        if (e)
            rc = cli_fail(file, e);
        else {
            if (sn != st->endn || memcmp(s, st->end, sn) != 0) {
                fprintf(stderr, "pkc: %s: the replayed text differs from endContent\n", file);
                rc = CLI_FAIL;
            }
            free(s);
        }
    }
    if (rc == CLI_OK)
        rc = write_state(st->doc);
    pkc_ydoc_free(st->doc);
    inflateEnd(&st->z);
    if (st->f != stdin)
        fclose(st->f);
    ytrace_map_free(&st->map);
    free(st->end);
    free(st);
    return rc;
}
/* ------------------------------------------------------------------------ */

static int run_yjs(int argc, char **argv)
{
    enum { O_MAP = 0x100, O_ARRAY, O_TEXT, O_XML, O_CLIENT, O_V2 };
    static const struct option opts[] = {CLI_COMMON_LONG_OPTIONS,
                                         {"map", required_argument, NULL, O_MAP},
                                         {"array", required_argument, NULL, O_ARRAY},
                                         {"text", required_argument, NULL, O_TEXT},
                                         {"xml", required_argument, NULL, O_XML},
                                         {"client-id", required_argument, NULL, O_CLIENT},
                                         {"v2", no_argument, NULL, O_V2},
                                         {NULL, 0, NULL, 0}};
    root_spec roots[64];
    int nroots = 0, v2 = 0, opt;
    uint64_t client_id = 1;
    while ((opt = getopt_long(argc, argv, CLI_COMMON_SHORT_OPTIONS, opts, NULL)) != -1) {
        switch (opt) {
        case O_MAP:
        case O_ARRAY:
        case O_TEXT:
        case O_XML:
            if (nroots == 64)
                return cli_usage_error("yjs", "too many roots");
            roots[nroots].name = optarg;
            roots[nroots].kind = opt == O_MAP     ? PKC_YMAP
                                 : opt == O_ARRAY ? PKC_YARRAY
                                 : opt == O_TEXT  ? PKC_YTEXT
                                                  : PKC_YXML_FRAGMENT;
            nroots++;
            continue;
        case O_CLIENT: {
            char *end;
            errno = 0;
            client_id = strtoull(optarg, &end, 10);
            if (*optarg == '\0' || *end || errno || client_id == 0 || client_id >= (1ull << 53))
                return cli_usage_error("yjs", "--client-id takes a number from 1 to 2^53-1");
            continue;
        }
        case O_V2:
            v2 = 1;
            continue;
        default: {
            int r = cli_common_option(opt, optarg);
            if (r < 0)
                return CLI_USAGE;
            if (r == 0)
                return cli_usage_error("yjs", "unknown option");
        }
        }
    }
    if (cli_g.help) {
        cli_print_help(stdout, cli_find("yjs"));
        return CLI_OK;
    }
    if (optind >= argc)
        return cli_usage_error("yjs", "missing subcommand (merge, json, sv, diff, replay)");
    const char *sub = argv[optind++];
    int nargs = argc - optind;
    char **args = argv + optind;
    if (strcmp(sub, "merge") == 0) {
        if (nargs < 1)
            return cli_usage_error("yjs", "merge needs at least one file");
        return yjs_merge(nargs, args, v2);
    }
    if (strcmp(sub, "json") == 0) {
        if (nargs != 1)
            return cli_usage_error("yjs", "json takes one file");
        if (nroots == 0)
            return cli_usage_error("yjs", "json needs --map, --array, --text or --xml");
        return yjs_json(args[0], roots, nroots);
    }
    if (strcmp(sub, "sv") == 0) {
        if (nargs != 1)
            return cli_usage_error("yjs", "sv takes one file");
        return yjs_sv(args[0]);
    }
    if (strcmp(sub, "diff") == 0) {
        if (nargs != 2)
            return cli_usage_error("yjs", "diff takes FILE and SV");
        return yjs_diff(args[0], args[1]);
    }
    if (strcmp(sub, "replay") == 0) {
        if (nargs != 1)
            return cli_usage_error("yjs", "replay takes one trace file");
        return yjs_replay(args[0], client_id);
    }
    return cli_usage_error("yjs", "unknown subcommand '%s'", sub);
}

CLI_COMMAND(yjs, 40, "merge|json|sv|diff|replay ...", "tools over Yjs update files", yjs_help,
            run_yjs)
