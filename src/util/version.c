#include "pkc.h"

const char *pkc_version(void)
{
    return PKC_VERSION;
}
