/* Fuzzes the DCEP parser: an accepted message re-encodes to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rtc/dcep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t type;
    pkc_dcep_open o;
    if (pkc_dcep_parse(data, size, &type, &o) != 0)
        return 0;
    pkc_buf b = PKC_BUF_INIT;
    if (type == PKC_DCEP_OPEN)
        pkc_dcep_write_open(&b, &o);
    else
        pkc_dcep_write_ack(&b);
    if (b.err || b.len != size || memcmp(b.data, data, size) != 0)
        abort();
    pkc_buf_free(&b);
    return 0;
}
