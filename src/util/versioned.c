/* versioned.c: versioned public structs (see versioned.h). */
#include "util/versioned.h"

#include <string.h>

#include "util/err.h"

int pkc_struct_check(int version, pkc_struct_sizes t)
{
    if (version < 1 || version > t.latest)
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "%s version %d is unknown to this library (pkc %s knows 1 to %d): "
                         "build against the pkc.h of the library you run with",
                         t.name, version, PKC_VERSION, t.latest);
    return 0;
}

int pkc_struct_read(void *dst, const void *src, int version, pkc_struct_sizes t)
{
    if (src == NULL)
        return 0;
    int rc = pkc_struct_check(version, t);
    if (rc)
        return rc;
    memcpy(dst, src, t.sizes[version]);
    return 0;
}

void pkc_struct_write(void *dst, const void *src, int version, pkc_struct_sizes t)
{
    if (version < 1)
        return;
    memcpy(dst, src, t.sizes[version > t.latest ? t.latest : version]);
}
