/* Fuzzes the peer id parser: an accepted id re-encodes to itself (lower
 * case). */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/peerid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[64];
    if (size >= sizeof text)
        size = sizeof text - 1;
    memcpy(text, data, size);
    text[size] = '\0';
    uint8_t hash[PKC_PEER_ID_HASH_BYTES];
    if (pkc_peer_id_parse(text, hash) == 0) {
        char again[PKC_PEER_ID_SIZE];
        pkc_peer_id_encode(hash, again);
        for (size_t i = 0; i < PKC_PEER_ID_LEN; i++)
            if (again[i] != tolower((unsigned char)text[i]))
                abort();
    }
    return 0;
}
