/* cmd_yjs.c: pkc yjs: tools over Yjs update files. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cli.h"

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

static int gunzip(const uint8_t *in, size_t n, char **out, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 32) != Z_OK)
        return -1;
    size_t cap = n * 4 + 1024, len = 0;
    char *buf = malloc(cap);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    int zr = Z_OK;
    while (buf && zr != Z_STREAM_END) {
        if (len == cap) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        z.next_out = (Bytef *)buf + len;
        z.avail_out = (uInt)(cap - len);
        zr = inflate(&z, Z_NO_FLUSH);
        len = cap - z.avail_out;
        if (zr != Z_OK && zr != Z_STREAM_END) {
            free(buf);
            buf = NULL;
        }
    }
    inflateEnd(&z);
    if (buf == NULL)
        return -1;
    *out = buf;
    *out_len = len;
    return 0;
}

/* The trace counts code points; Y.Text counts UTF-16 units. Without
 * characters above U+FFFF they agree; with them, a code-point copy of the
 * document converts positions. */
typedef struct cpdoc {
    uint32_t *cp;
    size_t n, cap;
    int astral;
} cpdoc;

static size_t utf8_decode(const char *s, size_t n, uint32_t *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        uint8_t c = (uint8_t)s[i];
        size_t cl = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
        uint32_t v = cl == 1 ? c : cl == 2 ? c & 0x1f : cl == 3 ? c & 0x0f : c & 0x07;
        for (size_t j = 1; j < cl && i + j < n; j++)
            v = v << 6 | ((uint8_t)s[i + j] & 0x3f);
        if (out)
            out[k] = v;
        k++;
        i += cl;
    }
    return k;
}

static size_t to_utf16(const cpdoc *d, size_t pos)
{
    if (!d->astral)
        return pos;
    size_t u = 0;
    for (size_t i = 0; i < pos && i < d->n; i++)
        u += d->cp[i] > 0xffff ? 2 : 1;
    return u;
}

static int cp_edit(cpdoc *d, size_t pos, size_t del, const char *ins, size_t insn)
{
    size_t k = utf8_decode(ins, insn, NULL);
    if (pos > d->n || del > d->n - pos)
        return -1;
    if (d->n - del + k > d->cap) {
        size_t nc = (d->n - del + k) * 2 + 64;
        uint32_t *nb = realloc(d->cp, nc * sizeof *nb);
        if (nb == NULL)
            return -1;
        d->cp = nb;
        d->cap = nc;
    }
    memmove(d->cp + pos + k, d->cp + pos + del, (d->n - pos - del) * sizeof *d->cp);
    utf8_decode(ins, insn, d->cp + pos);
    for (size_t i = 0; i < k; i++)
        if (d->cp[pos + i] > 0xffff)
            d->astral = 1;
    d->n = d->n - del + k;
    return 0;
}

static int yjs_replay(const char *file, uint64_t client_id)
{
    uint8_t *gz;
    size_t gzn;
    int rc = read_file(file, &gz, &gzn);
    if (rc)
        return rc;
    char *text;
    size_t tn;
    int z = gunzip(gz, gzn, &text, &tn);
    free(gz);
    if (z) {
        fprintf(stderr, "pkc: %s: not gzip-compressed\n", file);
        return CLI_FAIL;
    }
    json_error_t err;
    json_t *trace = json_loadb(text, tn, 0, &err);
    free(text);
    json_t *txns = json_object_get(trace, "txns");
    if (!json_is_array(txns)) {
        fprintf(stderr, "pkc: %s: not an editing trace (%s)\n", file,
                trace ? "no txns array" : err.text);
        json_decref(trace);
        return CLI_FAIL;
    }
    pkc_ydoc *doc;
    pkc_ytype *t;
    cpdoc cd = {NULL, 0, 0, 0};
    if ((rc = new_doc(client_id, &doc))) {
        json_decref(trace);
        return rc;
    }
    int e = pkc_ydoc_get(doc, "text", PKC_YTEXT, &t);
    json_t *start = json_object_get(trace, "startContent");
    if (e == 0 && json_is_string(start) && json_string_length(start) > 0) {
        e = pkc_ytext_insert(NULL, t, 0, json_string_value(start), json_string_length(start), NULL, 0);
        if (e == 0 && cp_edit(&cd, 0, 0, json_string_value(start), json_string_length(start)))
            e = PKC_ERR_NOMEM;
    }
    size_t ti;
    json_t *tx;
    json_array_foreach(txns, ti, tx)
    {
        if (e)
            break;
        json_t *patches = json_object_get(tx, "patches");
        pkc_ytxn *txn;
        if ((e = pkc_ydoc_transact(doc, NULL, &txn)))
            break;
        size_t pi;
        json_t *p;
        json_array_foreach(patches, pi, p)
        {
            json_t *ins = json_array_get(p, 2);
            json_int_t pos = json_integer_value(json_array_get(p, 0));
            json_int_t del = json_integer_value(json_array_get(p, 1));
            if (pos < 0 || del < 0 || !json_is_string(ins)) {
                e = PKC_ERR_MALFORMED;
                break;
            }
            size_t upos = to_utf16(&cd, (size_t)pos);
            size_t udel = to_utf16(&cd, (size_t)(pos + del)) - upos;
            if (udel && (e = pkc_ytext_delete(txn, t, upos, udel)))
                break;
            if (json_string_length(ins) &&
                (e = pkc_ytext_insert(txn, t, upos, json_string_value(ins), json_string_length(ins),
                                      NULL, 0)))
                break;
            if (cp_edit(&cd, (size_t)pos, (size_t)del, json_string_value(ins), json_string_length(ins))) {
                e = PKC_ERR_RANGE;
                break;
            }
        }
        int ce = pkc_ytxn_commit(txn);
        if (e == 0)
            e = ce;
        if (e)
            fprintf(stderr, "pkc: %s: edit %zu does not apply\n", file, ti);
    }
    if (e == 0) {
        /* the trace says what the text must be */
        json_t *end = json_object_get(trace, "endContent");
        char *s;
        size_t sn;
        if ((e = pkc_ytext_to_string(t, &s, &sn)) == 0) {
            if (json_is_string(end) &&
                (sn != json_string_length(end) || memcmp(s, json_string_value(end), sn) != 0)) {
                fprintf(stderr, "pkc: %s: the replayed text differs from endContent\n", file);
                rc = CLI_FAIL;
            }
            free(s);
        }
    }
    if (e)
        rc = cli_fail(file, e);
    if (rc == CLI_OK)
        rc = write_state(doc);
    pkc_ydoc_free(doc);
    free(cd.cp);
    json_decref(trace);
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
