/* Fuzzes the SDP and candidate parsers. An accepted description writes out
 * as text that parses to the same description, and writing that again gives
 * the same text (the written form is canonical). The same for a candidate
 * line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtc/sdp.h"

static pkc_sdp d1, d2;

static void same_cand(const pkc_cand *a, const pkc_cand *b)
{
    if (strcmp(a->foundation, b->foundation) != 0 || a->component != b->component ||
        a->priority != b->priority || a->type != b->type || !pkc_addr_equal(&a->addr, &b->addr) ||
        a->related.family != b->related.family ||
        (a->related.family && !pkc_addr_equal(&a->related, &b->related)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    if (pkc_sdp_parse(text, size, &d1) == 0) {
        pkc_buf a = PKC_BUF_INIT, b = PKC_BUF_INIT;
        if (pkc_sdp_write(&d1, &a) != 0)
            abort();
        if (pkc_sdp_parse((const char *)a.data, a.len, &d2) != 0)
            abort();
        if (strcmp(d1.ice_ufrag, d2.ice_ufrag) || strcmp(d1.ice_pwd, d2.ice_pwd) ||
            d1.ice_lite != d2.ice_lite || d1.ice_trickle != d2.ice_trickle ||
            memcmp(&d1.fingerprint, &d2.fingerprint, sizeof d1.fingerprint) ||
            d1.setup != d2.setup || d1.sctp_port != d2.sctp_port ||
            d1.has_max_message_size != d2.has_max_message_size ||
            d1.max_message_size != d2.max_message_size || d1.n_cands != d2.n_cands ||
            d1.end_of_candidates != d2.end_of_candidates || d1.n_media != d2.n_media ||
            d1.data_index != d2.data_index || d1.session_id != d2.session_id ||
            strcmp(d1.media[d1.data_index].mid, d2.media[d2.data_index].mid))
            abort();
        for (size_t i = 0; i < d1.n_cands; i++)
            same_cand(&d1.cands[i], &d2.cands[i]);
        if (pkc_sdp_write(&d2, &b) != 0 || a.len != b.len || memcmp(a.data, b.data, a.len))
            abort();
        pkc_buf_free(&a);
        pkc_buf_free(&b);
    }

    /* The first line as a candidate attribute. */
    const char *nl = memchr(text, '\n', size);
    size_t n = nl ? (size_t)(nl - text) : size;
    pkc_cand c1, c2;
    pkc_cand_parse_result r;
    if (pkc_cand_parse(text, n, &c1, &r) == 0 && r == PKC_CAND_USABLE) {
        pkc_buf a = PKC_BUF_INIT;
        pkc_cand_write(&a, &c1);
        if (a.err || pkc_cand_parse((const char *)a.data, a.len, &c2, &r) != 0 ||
            r != PKC_CAND_USABLE)
            abort();
        same_cand(&c1, &c2);
        pkc_buf_free(&a);
    }
    return 0;
}
