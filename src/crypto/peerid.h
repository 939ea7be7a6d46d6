/* peerid.h: peer ids (bech32m of a key hash). Public API in pkc.h. */
#ifndef PKC_CRYPTO_PEERID_H
#define PKC_CRYPTO_PEERID_H

#include <stdint.h>

#include "pkc.h"

/* The 20-byte hash a peer id encodes. */
void pkc_peer_id_hash(const uint8_t public_key[PKC_PUBLIC_KEY_BYTES],
                      uint8_t hash[PKC_PEER_ID_HASH_BYTES]);

/* The peer id string of a hash. */
void pkc_peer_id_encode(const uint8_t hash[PKC_PEER_ID_HASH_BYTES], char out[PKC_PEER_ID_SIZE]);

#endif
