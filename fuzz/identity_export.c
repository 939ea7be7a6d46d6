/* Fuzzes identity import: an accepted export in clear (or identity file)
 * exports back to text that imports to the same identity, and an accepted
 * clear export is byte for byte what pkc_identity_export() writes. Encrypted
 * exports are parsed (pkc_identity_export_encrypted) but not opened: that
 * would run Argon2id on every input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    int enc = pkc_identity_export_encrypted(text, size);
    if (enc != 0)
        return 0; /* encrypted, or malformed */
    pkc_identity *id, *back;
    if (pkc_identity_import(text, size, NULL, &id) != 0)
        return 0;
    char *out;
    if (pkc_identity_export(id, NULL, NULL, NULL, &out) != 0)
        abort();
    if (strncmp(text, "pkc-identity-export-v1\n", 23) == 0 &&
        (strlen(out) != size || memcmp(out, text, size) != 0))
        abort();
    if (pkc_identity_import(out, strlen(out), NULL, &back) != 0)
        abort();
    if (strcmp(pkc_identity_get_peer_id(id), pkc_identity_get_peer_id(back)) != 0)
        abort();
    free(out);
    pkc_identity_free(id);
    pkc_identity_free(back);
    return 0;
}
