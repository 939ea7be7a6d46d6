/* vectors.c: see vectors.h. */
#include "vectors.h"

#include <stdio.h>
#include <stdlib.h>

json_t *pkc_test_vectors_load(const char *name)
{
    char path[4096];
    const char *src = getenv("PKC_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/vectors/%s", src ? src : ".", name);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (j == NULL)
        fprintf(stderr, "  %s: %s\n", path, e.text);
    return j;
}

const char *pkc_test_json_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

uint64_t pkc_test_json_u64(json_t *o, const char *key)
{
    return (uint64_t)json_integer_value(json_object_get(o, key));
}
