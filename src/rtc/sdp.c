/* sdp.c: data-channel session descriptions: parser and writer. */
#include "rtc/sdp.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtc/sctp.h"
#include "util/err.h"
#include "util/text.h"

static int bad_line(size_t lineno, const char *fmt, ...) PKC_PRINTF(2, 3);

static int bad_line(size_t lineno, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return pkc_error(PKC_ERR_SDP, "SDP line %zu: %s", lineno, msg);
}
#define BAD bad_line

static const struct {
    const char *name;
    pkc_hash_alg alg;
    uint8_t len;
} hash_algs[] = {
    {"sha-1", PKC_HASH_SHA1, 20},     {"sha-224", PKC_HASH_SHA224, 28},
    {"sha-256", PKC_HASH_SHA256, 32}, {"sha-384", PKC_HASH_SHA384, 48},
    {"sha-512", PKC_HASH_SHA512, 64},
};

const char *pkc_dtls_setup_name(pkc_dtls_setup s)
{
    switch (s) {
    case PKC_SETUP_ACTPASS:
        return "actpass";
    case PKC_SETUP_ACTIVE:
        return "active";
    case PKC_SETUP_PASSIVE:
        return "passive";
    case PKC_SETUP_HOLDCONN:
        return "holdconn";
    default:
        return "none";
    }
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int pkc_fingerprint_parse(const char *s, size_t n, pkc_fingerprint *out)
{
    const char *sp = memchr(s, ' ', n);
    if (sp == NULL)
        return pkc_error(PKC_ERR_SDP, "fingerprint: expected \"<hash function> <hex bytes>\"");
    size_t alen = (size_t)(sp - s);
    pkc_fingerprint f;
    memset(&f, 0, sizeof f);
    for (size_t i = 0; i < sizeof hash_algs / sizeof hash_algs[0]; i++) {
        size_t l = strlen(hash_algs[i].name);
        if (l != alen)
            continue;
        size_t k = 0;
        while (k < l && lower(s[k]) == hash_algs[i].name[k])
            k++;
        if (k == l) {
            f.alg = hash_algs[i].alg;
            f.len = hash_algs[i].len;
        }
    }
    if (f.alg == PKC_HASH_NONE)
        return pkc_error(PKC_ERR_UNSUPPORTED, "fingerprint: unsupported hash function '%.*s'",
                         (int)(alen > 16 ? 16 : alen), s);
    const char *h = sp + 1, *end = s + n;
    if ((size_t)(end - h) != (size_t)f.len * 3 - 1)
        return pkc_error(PKC_ERR_SDP, "fingerprint: %.*s needs %u bytes as XX:XX:..., got %zu characters",
                         (int)alen, s, f.len, (size_t)(end - h));
    for (size_t i = 0; i < f.len; i++) {
        int hi = pkc_hex_digit_value(h[3 * i]), lo = pkc_hex_digit_value(h[3 * i + 1]);
        if (hi < 0 || lo < 0 || (i + 1 < f.len && h[3 * i + 2] != ':'))
            return pkc_error(PKC_ERR_SDP, "fingerprint: byte %zu is not two hex digits and a colon", i);
        f.bytes[i] = (uint8_t)(hi << 4 | lo);
    }
    *out = f;
    return 0;
}

void pkc_fingerprint_format(const pkc_fingerprint *f, char *out, size_t out_size)
{
    const char *name = "none";
    for (size_t i = 0; i < sizeof hash_algs / sizeof hash_algs[0]; i++)
        if (hash_algs[i].alg == f->alg)
            name = hash_algs[i].name;
    size_t pos = (size_t)snprintf(out, out_size, "%s ", name);
    for (size_t i = 0; i < f->len && pos + 3 < out_size; i++)
        pos += (size_t)snprintf(out + pos, out_size - pos, i ? ":%02X" : "%02X", f->bytes[i]);
}

static int check_ice_chars(const char *s, size_t n, size_t min, const char *what)
{
    if (n < min || n > 256)
        return pkc_error(PKC_ERR_SDP, "%s must have %zu to 256 characters, has %zu", what, min, n);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/'))
            return pkc_error(PKC_ERR_SDP, "%s has a character outside [A-Za-z0-9+/]", what);
    }
    return 0;
}

int pkc_ice_check_ufrag(const char *s, size_t n)
{
    return check_ice_chars(s, n, 4, "ice-ufrag");
}

int pkc_ice_check_pwd(const char *s, size_t n)
{
    return check_ice_chars(s, n, 22, "ice-pwd");
}

static int parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    if (n == 0 || n > 20)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* Attributes that may appear at session level or in the data section. */
typedef struct ice_attrs {
    const char *ufrag, *pwd;
    size_t ufrag_n, pwd_n;
    int trickle, have_options;
    pkc_fingerprint fp;
    int fp_unsupported;
    pkc_dtls_setup setup;
    int end_of_candidates;
} ice_attrs;

static int take_word(const char **p, const char *end, const char **w)
{
    while (*p < end && **p == ' ')
        (*p)++;
    *w = *p;
    while (*p < end && **p != ' ')
        (*p)++;
    return (int)(*p - *w);
}

static int copy_token(char *dst, size_t dst_size, const char *s, size_t n)
{
    if (n == 0 || n >= dst_size)
        return -1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

/* An attribute for ice_attrs; returns 1 if handled, 0 if not, <0 error. */
static int ice_attr(ice_attrs *a, size_t lineno, const char *name, size_t nn, const char *v,
                    size_t vn, int has_value)
{
#define IS(s) (nn == strlen(s) && memcmp(name, s, nn) == 0)
    if (IS("ice-ufrag")) {
        if (!has_value)
            return BAD(lineno, "a=ice-ufrag without a value");
        if (pkc_ice_check_ufrag(v, vn) != 0)
            return pkc_error_wrap(PKC_ERR_SDP, "SDP line %zu", lineno);
        a->ufrag = v;
        a->ufrag_n = vn;
        return 1;
    }
    if (IS("ice-pwd")) {
        if (!has_value)
            return BAD(lineno, "a=ice-pwd without a value");
        if (pkc_ice_check_pwd(v, vn) != 0)
            return pkc_error_wrap(PKC_ERR_SDP, "SDP line %zu", lineno);
        a->pwd = v;
        a->pwd_n = vn;
        return 1;
    }
    if (IS("ice-options")) {
        const char *p = v, *end = v + vn, *w;
        int wn;
        a->have_options = 1;
        while ((wn = take_word(&p, end, &w)) > 0)
            if (wn == 7 && memcmp(w, "trickle", 7) == 0)
                a->trickle = 1;
        return 1;
    }
    if (IS("fingerprint")) {
        if (!has_value)
            return BAD(lineno, "a=fingerprint without a value");
        if (a->fp.alg != PKC_HASH_NONE)
            return 1; /* keep the first supported one */
        pkc_fingerprint f;
        int rc = pkc_fingerprint_parse(v, vn, &f);
        if (rc == PKC_ERR_UNSUPPORTED) {
            a->fp_unsupported = 1;
            return 1;
        }
        if (rc)
            return pkc_error_wrap(rc, "SDP line %zu: a=fingerprint", lineno);
        a->fp = f;
        return 1;
    }
    if (IS("setup")) {
        if (!has_value)
            return BAD(lineno, "a=setup without a value");
        if (vn == 7 && memcmp(v, "actpass", 7) == 0)
            a->setup = PKC_SETUP_ACTPASS;
        else if (vn == 6 && memcmp(v, "active", 6) == 0)
            a->setup = PKC_SETUP_ACTIVE;
        else if (vn == 7 && memcmp(v, "passive", 7) == 0)
            a->setup = PKC_SETUP_PASSIVE;
        else if (vn == 8 && memcmp(v, "holdconn", 8) == 0)
            a->setup = PKC_SETUP_HOLDCONN;
        else
            return BAD(lineno, "a=setup must be actpass, active, passive or holdconn");
        return 1;
    }
    if (IS("end-of-candidates")) {
        a->end_of_candidates = 1;
        return 1;
    }
    return 0;
#undef IS
}

int pkc_sdp_parse(const char *text, size_t len, pkc_sdp *out)
{
    if (len > PKC_SDP_MAX_SIZE)
        return pkc_error(PKC_ERR_TOO_LARGE, "SDP: %zu bytes, over the %d-byte limit", len,
                         PKC_SDP_MAX_SIZE);
    memset(out, 0, sizeof *out);
    ice_attrs sess, data;
    memset(&sess, 0, sizeof sess);
    memset(&data, 0, sizeof data);
    int have_o = 0, have_data = 0, in_data = 0, legacy = 0;
    long media = -1;
    uint64_t sctpmap_port = 0, sctp_port = 0;
    int have_sctp_port = 0;
    size_t lineno = 0;
    const char *p = text, *end = text + len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *next = nl ? nl + 1 : end;
        if (le > p && le[-1] == '\r')
            le--;
        lineno++;
        size_t ln = (size_t)(le - p);
        if (ln == 0) {
            /* Only trailing empty lines are tolerated. */
            for (const char *q = next; q < end; q++)
                if (*q != '\r' && *q != '\n')
                    return BAD(lineno, "empty line");
            break;
        }
        if (ln < 2 || p[1] != '=' || p[0] < 'a' || p[0] > 'z')
            return BAD(lineno, "expected \"<letter>=<value>\"");
        for (size_t i = 0; i < ln; i++)
            if ((unsigned char)p[i] < 0x20 && p[i] != '\t')
                return BAD(lineno, "control character in line");
        char kind = p[0];
        const char *v = p + 2;
        size_t vn = ln - 2;
        if (lineno == 1 && !(kind == 'v' && vn == 1 && v[0] == '0'))
            return BAD(lineno, "an SDP description starts with \"v=0\"");

        if (kind == 'o') {
            const char *q = v, *qe = v + vn, *w[6];
            int wn[6];
            for (int i = 0; i < 6; i++)
                if ((wn[i] = take_word(&q, qe, &w[i])) == 0)
                    return BAD(lineno, "o= needs six fields");
            if (parse_u64(w[1], (size_t)wn[1], UINT64_MAX, &out->session_id) != 0 ||
                parse_u64(w[2], (size_t)wn[2], UINT64_MAX, &out->session_version) != 0)
                return BAD(lineno, "o= session id and version must be numbers");
            have_o = 1;
        } else if (kind == 'm') {
            media++;
            if (media >= PKC_SDP_MAX_MEDIA)
                return BAD(lineno, "more than %d media sections", PKC_SDP_MAX_MEDIA);
            pkc_sdp_media *m = &out->media[media];
            const char *q = v, *qe = v + vn, *w[4];
            int wn[4];
            for (int i = 0; i < 4; i++)
                if ((wn[i] = take_word(&q, qe, &w[i])) == 0)
                    return BAD(lineno, "m= needs <media> <port> <proto> <format>");
            uint64_t port;
            const char *slash = memchr(w[1], '/', (size_t)wn[1]);
            size_t portn = slash ? (size_t)(slash - w[1]) : (size_t)wn[1];
            if (parse_u64(w[1], portn, 65535, &port) != 0)
                return BAD(lineno, "m= port must be 0..65535");
            if (copy_token(m->kind, sizeof m->kind, w[0], (size_t)wn[0]) != 0 ||
                copy_token(m->proto, sizeof m->proto, w[2], (size_t)wn[2]) != 0 ||
                copy_token(m->fmt, sizeof m->fmt, w[3], (size_t)wn[3]) != 0)
                return BAD(lineno, "m= field too long");
            m->rejected = port == 0;
            out->n_media = (size_t)media + 1;
            in_data = 0;
            if (!have_data && strcmp(m->kind, "application") == 0 &&
                (strcmp(m->proto, "UDP/DTLS/SCTP") == 0 || strcmp(m->proto, "DTLS/SCTP") == 0)) {
                if (m->rejected)
                    return BAD(lineno, "the data channel section is rejected (port 0)");
                have_data = in_data = 1;
                out->data_index = (size_t)media;
                legacy = strcmp(m->proto, "DTLS/SCTP") == 0;
                if (!legacy && strcmp(m->fmt, "webrtc-datachannel") != 0)
                    return BAD(lineno, "UDP/DTLS/SCTP section with format '%s', expected webrtc-datachannel",
                               m->fmt);
            }
        } else if (kind == 'a') {
            const char *colon = memchr(v, ':', vn);
            const char *name = v, *val = colon ? colon + 1 : v + vn;
            size_t nn = colon ? (size_t)(colon - v) : vn;
            size_t valn = colon ? vn - nn - 1 : 0;
            if (nn == 0)
                return BAD(lineno, "a= without an attribute name");
#define IS(s) (nn == strlen(s) && memcmp(name, s, nn) == 0)
            if (media < 0) {
                if (IS("ice-lite")) {
                    out->ice_lite = 1;
                    goto next_line;
                }
                int rc = ice_attr(&sess, lineno, name, nn, val, valn, colon != NULL);
                if (rc < 0)
                    return rc;
            } else if (IS("mid")) {
                pkc_sdp_media *m = &out->media[media];
                if (copy_token(m->mid, sizeof m->mid, val, valn) != 0)
                    return BAD(lineno, "a=mid must have 1 to %d characters", PKC_SDP_MID_MAX);
                for (size_t i = 0; i < valn; i++)
                    if (val[i] == ' ')
                        return BAD(lineno, "a=mid with a space");
            } else if (in_data) {
                int rc = ice_attr(&data, lineno, name, nn, val, valn, colon != NULL);
                if (rc < 0)
                    return rc;
                if (rc > 0)
                    goto next_line;
                if (IS("candidate")) {
                    pkc_cand c;
                    pkc_cand_parse_result res;
                    rc = pkc_cand_parse(v, vn, &c, &res);
                    if (rc)
                        return pkc_error_wrap(rc, "SDP line %zu", lineno);
                    if (res == PKC_CAND_IGNORED) {
                        out->n_ignored_cands++;
                    } else {
                        if (out->n_cands == PKC_SDP_MAX_CANDIDATES)
                            return BAD(lineno, "more than %d candidates", PKC_SDP_MAX_CANDIDATES);
                        out->cands[out->n_cands++] = c;
                    }
                } else if (IS("sctp-port")) {
                    if (parse_u64(val, valn, 65535, &sctp_port) != 0 || sctp_port == 0)
                        return BAD(lineno, "a=sctp-port must be 1..65535");
                    have_sctp_port = 1;
                } else if (IS("max-message-size")) {
                    if (parse_u64(val, valn, UINT64_MAX, &out->max_message_size) != 0)
                        return BAD(lineno, "a=max-message-size must be a number");
                    out->has_max_message_size = 1;
                } else if (IS("sctpmap")) {
                    const char *q = val, *qe = val + valn, *w;
                    int wn = take_word(&q, qe, &w);
                    if (parse_u64(w, (size_t)wn, 65535, &sctpmap_port) != 0 || sctpmap_port == 0)
                        return BAD(lineno, "a=sctpmap port must be 1..65535");
                }
            }
#undef IS
        }
        /* v s t c b i u e p z k r and any other line: nothing for us */
    next_line:
        p = next;
    }

    if (lineno == 0)
        return pkc_error(PKC_ERR_SDP, "SDP: empty description");
    if (!have_o)
        return pkc_error(PKC_ERR_SDP, "SDP: no o= line");
    if (!have_data)
        return pkc_error(PKC_ERR_SDP,
                         "SDP: no data channel section (m=application ... UDP/DTLS/SCTP webrtc-datachannel)");

    /* Media level wins over session level. */
    const char *ufrag = data.ufrag ? data.ufrag : sess.ufrag;
    size_t ufrag_n = data.ufrag ? data.ufrag_n : sess.ufrag_n;
    const char *pwd = data.pwd ? data.pwd : sess.pwd;
    size_t pwd_n = data.pwd ? data.pwd_n : sess.pwd_n;
    if (ufrag == NULL || pwd == NULL)
        return pkc_error(PKC_ERR_SDP, "SDP: the data channel section has no a=ice-ufrag and a=ice-pwd");
    memcpy(out->ice_ufrag, ufrag, ufrag_n);
    memcpy(out->ice_pwd, pwd, pwd_n);
    out->ice_trickle = data.have_options ? data.trickle : sess.trickle;
    out->fingerprint = data.fp.alg != PKC_HASH_NONE ? data.fp : sess.fp;
    if (out->fingerprint.alg == PKC_HASH_NONE)
        return pkc_error(PKC_ERR_SDP, (data.fp_unsupported || sess.fp_unsupported)
                                          ? "SDP: no a=fingerprint with a supported hash function"
                                          : "SDP: no a=fingerprint");
    out->setup = data.setup != PKC_SETUP_NONE ? data.setup : sess.setup;
    out->end_of_candidates = data.end_of_candidates || sess.end_of_candidates;
    out->sctp_port = (uint16_t)(have_sctp_port ? sctp_port : sctpmap_port ? sctpmap_port : 5000);
    return 0;
}

static void line(pkc_buf *b, const char *s)
{
    pkc_buf_push(b, s, strlen(s));
    pkc_buf_push(b, "\r\n", 2);
}

int pkc_sdp_write(const pkc_sdp *d, pkc_buf *b)
{
    char tmp[512];
    line(b, "v=0");
    snprintf(tmp, sizeof tmp, "o=- %" PRIu64 " %" PRIu64 " IN IP4 127.0.0.1", d->session_id,
             d->session_version);
    line(b, tmp);
    line(b, "s=-");
    line(b, "t=0 0");
    const pkc_sdp_media *dm = &d->media[d->data_index];
    if (dm->mid[0]) {
        snprintf(tmp, sizeof tmp, "a=group:BUNDLE %s", dm->mid);
        line(b, tmp);
    }
    if (d->ice_lite)
        line(b, "a=ice-lite");
    for (size_t i = 0; i < d->n_media; i++) {
        const pkc_sdp_media *m = &d->media[i];
        if (i != d->data_index) {
            snprintf(tmp, sizeof tmp, "m=%s 0 %s %s", m->kind, m->proto, m->fmt);
            line(b, tmp);
            line(b, "c=IN IP4 0.0.0.0");
            if (m->mid[0]) {
                snprintf(tmp, sizeof tmp, "a=mid:%s", m->mid);
                line(b, tmp);
            }
            continue;
        }
        line(b, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel");
        line(b, "c=IN IP4 0.0.0.0");
        for (size_t k = 0; k < d->n_cands; k++) {
            pkc_buf_push(b, "a=", 2);
            pkc_cand_write(b, &d->cands[k]);
            pkc_buf_push(b, "\r\n", 2);
        }
        if (d->end_of_candidates)
            line(b, "a=end-of-candidates");
        snprintf(tmp, sizeof tmp, "a=ice-ufrag:%s", d->ice_ufrag);
        line(b, tmp);
        snprintf(tmp, sizeof tmp, "a=ice-pwd:%s", d->ice_pwd);
        line(b, tmp);
        if (d->ice_trickle)
            line(b, "a=ice-options:trickle");
        pkc_buf_push(b, "a=fingerprint:", 14);
        pkc_fingerprint_format(&d->fingerprint, tmp, sizeof tmp);
        line(b, tmp);
        if (d->setup != PKC_SETUP_NONE) {
            snprintf(tmp, sizeof tmp, "a=setup:%s", pkc_dtls_setup_name(d->setup));
            line(b, tmp);
        }
        if (m->mid[0]) {
            snprintf(tmp, sizeof tmp, "a=mid:%s", m->mid);
            line(b, tmp);
        }
        snprintf(tmp, sizeof tmp, "a=sctp-port:%u", (unsigned)d->sctp_port);
        line(b, tmp);
        if (d->has_max_message_size) {
            snprintf(tmp, sizeof tmp, "a=max-message-size:%" PRIu64, d->max_message_size);
            line(b, tmp);
        }
    }
    return b->err;
}

int pkc_sdp_write_lite_answer(uint64_t session_id, const char *ufrag, const char *pwd,
                              const pkc_fingerprint *fingerprint, uint64_t max_message_size,
                              const pkc_cand *cands, size_t n_cands, char **out)
{
    if (ufrag == NULL || pwd == NULL || fingerprint == NULL || out == NULL ||
        (n_cands && cands == NULL))
        return pkc_error(PKC_ERR_INVALID_ARG, "lite answer: NULL argument");
    pkc_sdp *d = calloc(1, sizeof *d);
    if (d == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    d->session_id = session_id;
    d->session_version = 1;
    d->n_media = 1;
    pkc_sdp_media_datachannel(&d->media[0], "0");
    snprintf(d->ice_ufrag, sizeof d->ice_ufrag, "%s", ufrag);
    snprintf(d->ice_pwd, sizeof d->ice_pwd, "%s", pwd);
    d->ice_lite = 1;
    d->fingerprint = *fingerprint;
    d->setup = PKC_SETUP_PASSIVE;
    d->sctp_port = PKC_SCTP_PORT;
    d->has_max_message_size = 1;
    d->max_message_size = max_message_size ? max_message_size : 262144;
    for (size_t i = 0; i < n_cands && d->n_cands < PKC_SDP_MAX_CANDIDATES; i++)
        d->cands[d->n_cands++] = cands[i];
    d->end_of_candidates = 1;
    int rc = pkc_sdp_write_string(d, out);
    free(d);
    return rc;
}

int pkc_sdp_write_string(const pkc_sdp *d, char **out)
{
    pkc_buf b;
    pkc_buf_init(&b);
    int rc = pkc_sdp_write(d, &b);
    if (rc == 0)
        rc = pkc_buf_push_u8(&b, 0);
    if (rc) {
        pkc_buf_free(&b);
        return pkc_error_code(rc);
    }
    size_t len;
    *out = (char *)pkc_buf_steal(&b, &len);
    return 0;
}

void pkc_sdp_media_datachannel(pkc_sdp_media *m, const char *mid)
{
    memset(m, 0, sizeof *m);
    snprintf(m->kind, sizeof m->kind, "application");
    snprintf(m->proto, sizeof m->proto, "UDP/DTLS/SCTP");
    snprintf(m->fmt, sizeof m->fmt, "webrtc-datachannel");
    snprintf(m->mid, sizeof m->mid, "%s", mid);
}
