/* Fuzzes the identity file parser: an accepted file formats back to exactly
 * the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/identity_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pkc_identity *id;
    if (pkc_identity_file_parse((const char *)data, size, &id) == 0) {
        char out[PKC_IDENTITY_FILE_MAX];
        size_t n = pkc_identity_file_format(id, out, sizeof out);
        if (n != size || memcmp(out, data, size) != 0)
            abort();
        pkc_identity_free(id);
    }
    return 0;
}
