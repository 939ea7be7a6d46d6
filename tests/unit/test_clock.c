#include "test.h"
#include "util/clock.h"
#include "util/rng.h"

TEST(clock, system_clock_is_monotonic_and_plausible)
{
    const pkc_clock *c = pkc_clock_system();
    uint64_t a = pkc_clock_mono_us(c);
    for (int i = 0; i < 1000; i++) {
        uint64_t b = pkc_clock_mono_us(c);
        CHECK(b >= a);
        a = b;
    }
    /* After 2024-01-01 and before 2100-01-01. */
    int64_t now = pkc_clock_wall_ms(c);
    CHECK(now > 1704067200000LL && now < 4102444800000LL);
}

TEST(clock, manual_clock_moves_only_when_told)
{
    pkc_manual_clock m;
    pkc_manual_clock_init(&m, 5, 1700000000000LL);
    const pkc_clock *c = &m.clock;
    CHECK_EQ_U64(pkc_clock_mono_us(c), 5);
    CHECK_EQ(pkc_clock_wall_ms(c), 1700000000000LL);
    /* 400 steps of 2.5 ms = exactly 1 s of wall time. */
    for (int i = 0; i < 400; i++)
        pkc_manual_clock_advance(&m, 2500);
    CHECK_EQ_U64(pkc_clock_mono_us(c), 1000005);
    CHECK_EQ(pkc_clock_wall_ms(c), 1700000001000LL);
}

TEST(rng, seeded_matches_reference_splitmix64_and_xoshiro)
{
    /* splitmix64 from 0: the published first outputs. */
    pkc_seeded_rng r;
    pkc_seeded_rng_init(&r, 0);
    CHECK_EQ_U64(r.s[0], 0xe220a8397b1dcdafu);
    CHECK_EQ_U64(r.s[1], 0x6e789e6aa1b965f4u);
    CHECK_EQ_U64(r.s[2], 0x06c45d188009454fu);
    CHECK_EQ_U64(r.s[3], 0xf88bb8a8724c81ecu);
    /* xoshiro256** outputs from seed 42, computed with an independent
     * Python transcription of the reference; bytes are little-endian. */
    static const uint64_t want[3] = {0x15780b2e0c2ec716u, 0x6104d9866d113a7eu,
                                     0xae17533239e499a1u};
    pkc_seeded_rng_init(&r, 42);
    for (int i = 0; i < 3; i++) {
        uint8_t b[8];
        pkc_rng_fill(&r.rng, b, 8);
        uint64_t v = 0;
        for (int k = 7; k >= 0; k--)
            v = v << 8 | b[k];
        CHECK_EQ_U64(v, want[i]);
    }
}

TEST(rng, same_seed_same_stream_different_seed_different_stream)
{
    pkc_seeded_rng a, b, c;
    pkc_seeded_rng_init(&a, 7);
    pkc_seeded_rng_init(&b, 7);
    pkc_seeded_rng_init(&c, 8);
    uint8_t x[37], y[37], z[37];
    pkc_rng_fill(&a.rng, x, sizeof x);
    pkc_rng_fill(&b.rng, y, sizeof y);
    pkc_rng_fill(&c.rng, z, sizeof z);
    CHECK_MEM(x, y, sizeof x);
    CHECK(memcmp(x, z, sizeof x) != 0);
}

TEST(rng, below_is_in_range_and_roughly_uniform)
{
    pkc_seeded_rng r;
    pkc_seeded_rng_init(&r, 3);
    int counts[10] = {0};
    for (int i = 0; i < 100000; i++) {
        uint64_t v = pkc_rng_below(&r.rng, 10);
        CHECK(v < 10);
        counts[v]++;
    }
    /* Chi-square with 9 degrees of freedom; 27.88 is the 0.1% tail. The seed
     * is fixed, so this is deterministic, not flaky. */
    double chi = 0;
    for (int i = 0; i < 10; i++)
        chi += (counts[i] - 10000.0) * (counts[i] - 10000.0) / 10000.0;
    CHECK(chi < 27.88);
    CHECK_EQ(pkc_rng_below(&r.rng, 1), 0);
    CHECK_EQ(pkc_rng_below(&r.rng, 0), 0);
    double u = pkc_rng_unit(&r.rng);
    CHECK(u >= 0.0 && u < 1.0);
}

TEST(rng, system_rng_fills_everything)
{
    /* 4096 bytes all zero from a CSPRNG would mean it did not run. */
    uint8_t buf[4096] = {0};
    pkc_rng_fill(pkc_rng_system(), buf, sizeof buf);
    int nonzero = 0;
    for (size_t i = 0; i < sizeof buf; i++)
        nonzero += buf[i] != 0;
    CHECK(nonzero > 3900);
}
