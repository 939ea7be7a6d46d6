/* web_native.c: the native side of the web tests (tests/web/core.mjs): what
 * the native library computes, for the WebAssembly build to be compared with.
 * Public API only. Hex in, hex or JSON out, one command a run:
 *   pkc-web-native identity SEED MSG        {"peer_id","public_key","dh_public_key","signature"}
 *   pkc-web-native seal SEED TO_PK TO_DH PAYLOAD   a DATA frame from SEED's identity, sealed
 *   pkc-web-native open SEED FRAME          the payload of a DATA frame opened by SEED's identity,
 *                                           then the sender's public key, one per line
 * Exit 1 with pkc_errmsg() on stderr when a step fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkc.h"

static int unhex(const char *s, uint8_t **out, size_t *len)
{
    size_t n = strlen(s);
    if (n % 2)
        return -1;
    uint8_t *b = malloc(n / 2 + 1);
    if (b == NULL)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            free(b);
            return -1;
        }
        b[i] = (uint8_t)v;
    }
    *out = b;
    *len = n / 2;
    return 0;
}

static void hex(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "pkc-web-native: %s: %s (%s)\n", what, pkc_errmsg(), pkc_err_name(rc));
    return 1;
}

static int64_t now_wall_ms(void)
{
    const pkc_clock *c = pkc_clock_system();
    return c->wall_ms(c->user_data);
}

static int identity_of(const char *seed_hex, pkc_identity **id)
{
    uint8_t *seed;
    size_t n;
    if (unhex(seed_hex, &seed, &n) || n != 32) {
        fprintf(stderr, "pkc-web-native: a seed is 64 hex digits\n");
        return 1;
    }
    int rc = pkc_identity_from_seed(seed, id);
    free(seed);
    return rc ? fail("identity", rc) : 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: pkc-web-native identity|seal|open SEED ...\n");
        return 2;
    }
    pkc_identity *id;
    if (identity_of(argv[2], &id))
        return 1;
    int status = 1;
    uint8_t *a = NULL, *b = NULL, *c = NULL;
    size_t alen, blen, clen;
    if (strcmp(argv[1], "identity") == 0 && argc == 4 && unhex(argv[3], &a, &alen) == 0) {
        uint8_t sig[PKC_SIGNATURE_BYTES];
        pkc_identity_sign(id, a, alen, sig);
        printf("{\"peer_id\":\"%s\",\"public_key\":\"", pkc_identity_get_peer_id(id));
        hex(pkc_identity_get_public_key(id), PKC_PUBLIC_KEY_BYTES);
        printf("\",\"dh_public_key\":\"");
        hex(pkc_identity_get_dh_public_key(id), PKC_DH_PUBLIC_KEY_BYTES);
        printf("\",\"signature\":\"");
        hex(sig, sizeof sig);
        printf("\"}\n");
        status = 0;
    } else if (strcmp(argv[1], "seal") == 0 && argc == 6 && unhex(argv[3], &a, &alen) == 0 &&
               alen == 32 && unhex(argv[4], &b, &blen) == 0 && blen == 32 &&
               unhex(argv[5], &c, &clen) == 0) {
        pkc_message_params p = {.type = PKC_FRAME_DATA,
                                .to_public_key = a,
                                .to_dh_public_key = b,
                                .payload = c,
                                .payload_len = clen};
        uint8_t *frame;
        size_t frame_len;
        int rc = pkc_message_create(id, &p, pkc_clock_system(), pkc_rng_system(), &frame,
                                    &frame_len, NULL);
        if (rc) {
            status = fail("seal", rc);
        } else {
            hex(frame, frame_len);
            printf("\n");
            free(frame);
            status = 0;
        }
    } else if (strcmp(argv[1], "open") == 0 && argc == 4 && unhex(argv[3], &a, &alen) == 0) {
        pkc_frame f;
        size_t used;
        int rc = pkc_frame_decode(a, alen, PKC_FRAME_SIZE_MAX, &f, &used);
        if (rc == 0 && (used != alen || f.type != PKC_FRAME_DATA)) {
            fprintf(stderr, "pkc-web-native: not exactly one DATA frame\n");
        } else if (rc) {
            status = fail("decode", rc);
        } else if ((rc = pkc_message_verify(&f.message, f.type, now_wall_ms(), 300000, 300000)) !=
                   0) {
            status = fail("verify", rc);
        } else if ((b = malloc(f.message.payload.len + 1)) == NULL) {
            fprintf(stderr, "pkc-web-native: out of memory\n");
        } else if ((rc = pkc_message_open(&f.message, f.type, id, NULL, 0, b,
                                          f.message.payload.len)) != 0) {
            status = fail("open", rc);
        } else {
            hex(f.message.plaintext.data, f.message.plaintext.len);
            printf("\n");
            hex(f.message.from, PKC_PUBLIC_KEY_BYTES);
            printf("\n");
            status = 0;
        }
    } else {
        fprintf(stderr, "pkc-web-native: bad arguments for %s\n", argv[1]);
        status = 2;
    }
    free(a);
    free(b);
    free(c);
    pkc_identity_free(id);
    return status;
}
