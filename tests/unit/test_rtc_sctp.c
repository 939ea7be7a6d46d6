/* SCTP helpers. */
#include <stdlib.h>
#include <usrsctp.h>

#include "rtc/sctp.h"
#include "test.h"
#include "util/rng.h"

/* The fast CRC32c gives usrsctp's result for every length and alignment. */
TEST(rtc_sctp, crc32c_matches_usrsctp)
{
    pkc_seeded_rng r;
    pkc_seeded_rng_init(&r, 7);
    uint8_t buf[1300];
    pkc_rng_fill(&r.rng, buf, sizeof buf);
    for (size_t off = 0; off < 9; off++)
        for (size_t n = 0; n + off <= sizeof buf; n += 1 + n / 7)
            CHECK_EQ_U64(pkc_sctp_crc32c(buf + off, n), usrsctp_crc32c(buf + off, n));
    /* RFC 3720 B.4: 32 bytes of zeros give 0x8a9136aa (stored little-endian). */
    uint8_t zeros[32] = {0};
    uint32_t c = pkc_sctp_crc32c(zeros, sizeof zeros);
    CHECK_EQ_U64(c, 0x8a9136aa);
}
