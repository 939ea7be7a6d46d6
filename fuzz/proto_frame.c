/*
 * Fuzzes the frame decoders: a sequence of frames. Properties:
 *   - an accepted frame re-encodes to exactly the bytes it was read from
 *     (the encoding is canonical), and decodes again to the same size;
 *   - a failure leaves the output untouched;
 *   - announcements, messages and PEX entries go through verification and
 *     opening without harm, and what opens is the payload minus its tag.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"

static pkc_identity *self;
static pkc_room_key room;

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (self == NULL) {
        uint8_t seed[32];
        memset(seed, 0xbb, sizeof seed); /* the recipient in the seed corpus */
        if (pkc_identity_from_seed(seed, &self) != 0)
            abort();
        memset(seed, 0x5e, sizeof seed);
        pkc_room_key_derive(seed, &room);
    }
    static uint8_t again[PKC_FRAME_SIZE_MAX + 16];
    static uint8_t opened[PKC_FRAME_SIZE_MAX];
    size_t off = 0;
    for (int n = 0; off < size && n < 32; n++) {
        pkc_frame f;
        size_t used = 0;
        memset(&f, 0xee, sizeof f);
        int rc = pkc_frame_decode(data + off, size - off, PKC_FRAME_SIZE_DEFAULT, &f, &used);
        if (rc) {
            check(used == 0 && ((uint8_t *)&f)[0] == 0xee);
            break;
        }
        check(used > 0 && used <= size - off);
        if (f.type >= PKC_FRAME_CONTROL && f.type <= PKC_FRAME_MESH) {
            size_t len = 0;
            check(pkc_frame_encode(&f, again, sizeof again, &len) == 0);
            check(len == used && memcmp(again, data + off, used) == 0);
        }
        switch (f.type) {
        case PKC_FRAME_ANNOUNCE:
            /* Genuine only for the seed corpus; must not misbehave on the rest. */
            check(used == 1 + pkc_varuint_size(f.announce.encoded.len) + f.announce.encoded.len);
            (void)pkc_announce_verify(&f.announce, 1700000000000, 3600000, 120000, 8);
            break;
        case PKC_FRAME_DATA:
        case PKC_FRAME_SIGNAL:
            (void)pkc_message_verify(&f.message, f.type, 1700000000000, 600000, 120000);
            if (pkc_message_open(&f.message, f.type, self, &room, 1, opened, sizeof opened) == 0) {
                check(f.message.opened);
                if (f.message.flags & (PKC_MSG_ROOM | PKC_MSG_SEALED))
                    check(f.message.plaintext.len == f.message.payload.len - 16);
                pkc_signal sg;
                if (pkc_signal_decode(f.message.plaintext.data, f.message.plaintext.len, &sg) ==
                    0) {
                    size_t len;
                    check(pkc_signal_encode(&sg, again, sizeof again, &len) == 0);
                    check(len == f.message.plaintext.len &&
                          memcmp(again, f.message.plaintext.data, len) == 0);
                }
            }
            break;
        case PKC_FRAME_PEX:
            for (size_t i = 0; i < f.pex.count; i++) {
                pkc_announce a;
                if (pkc_announce_decode(f.pex.announcements[i].data, f.pex.announcements[i].len,
                                        &a) == 0)
                    check(a.encoded.len == f.pex.announcements[i].len);
            }
            break;
        default:
            break;
        }
        off += used;
    }
    return 0;
}
