/*
 * vectors.h: reading the JSON test vectors of tests/vectors/ (the unit
 * tests that check a codec byte for byte against them).
 */
#ifndef PKC_TEST_VECTORS_H
#define PKC_TEST_VECTORS_H

#include <jansson.h>
#include <stdint.h>

/* tests/vectors/NAME under $PKC_SOURCE_DIR (else the current directory),
 * parsed; NULL (said on stderr) if it cannot be read. */
json_t *pkc_test_vectors_load(const char *name);
/* The string at `key` of `o`, "" when there is none. */
const char *pkc_test_json_str(json_t *o, const char *key);
/* The integer at `key` of `o`, 0 when there is none. */
uint64_t pkc_test_json_u64(json_t *o, const char *key);

#endif
