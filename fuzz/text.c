/*
 * Fuzzes the text decoders: base64url, hex, UTF-8 validation. Whatever
 * decodes must re-encode to the canonical form of the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/text.h"

static void must(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    size_t outsize = pkc_base64url_decoded_max(size);
    uint8_t *out = malloc(outsize + size / 2 + 1);
    size_t n;
    if (pkc_base64url_decode(in, size, out, outsize, &n) == 0) {
        size_t unpadded = size;
        while (unpadded > 0 && in[unpadded - 1] == '=')
            unpadded--;
        char *enc = malloc(pkc_base64url_encoded_len(n) + 1);
        size_t e = pkc_base64url_encode(enc, pkc_base64url_encoded_len(n) + 1, out, n);
        must(e == unpadded && memcmp(enc, in, e) == 0);
        free(enc);
    }
    if (pkc_hex_decode(in, size, out, size / 2 + 1, &n) == 0) {
        char *enc = malloc(2 * n + 1);
        pkc_hex_encode(enc, out, n);
        for (size_t i = 0; i < size; i++) {
            char c = in[i];
            must(enc[i] == ((c >= 'A' && c <= 'F') ? c - 'A' + 'a' : c));
        }
        free(enc);
    }
    size_t bad;
    if (pkc_utf8_valid(data, size, &bad)) {
        must(pkc_utf16_len(data, size) <= size);
    } else {
        must(bad < size);
        /* Everything before the first bad byte is valid on its own. */
        must(pkc_utf8_valid(data, bad, NULL));
    }
    free(out);
    return 0;
}
