/*
 * proto_harness.h: sessions wired together in memory for the proto tests.
 *
 * Each endpoint queues the records its session sends; ph_pump() moves them
 * to the other endpoint (or through a relay function standing in for a man
 * in the middle) until nothing moves. Nothing calls a session from inside
 * its own callback, as the API requires.
 */
#ifndef PKC_TEST_PROTO_HARNESS_H
#define PKC_TEST_PROTO_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "pkc.h"
#include "util/clock.h"
#include "util/rng.h"

#define PH_QUEUE 512
#define PH_FRAMES 64

typedef struct ph_record {
    uint8_t *data;
    size_t len;
} ph_record;

typedef struct ph_endpoint {
    pkc_session *s;
    pkc_session_config cfg;
    pkc_session_callbacks cb;
    ph_record queue[PH_QUEUE]; /* records this endpoint's session sent */
    size_t q_head, q_tail;
    int established, closed;
    int end_error, end_by_peer;
    uint64_t end_reason, end_retry;
    int end_authenticated;
    char end_text[512];
    /* Frames delivered: type and the frame re-encoded (for comparison). */
    size_t n_frames;
    uint64_t frame_type[PH_FRAMES];
    uint8_t *frame_bytes[PH_FRAMES];
    size_t frame_len[PH_FRAMES];
    uint8_t *plain[PH_FRAMES]; /* opened plaintext of DATA/SIGNAL, or NULL */
    size_t plain_len[PH_FRAMES];
    int opened[PH_FRAMES];
    size_t n_duplicates;
    int last_rc; /* result of the last pkc_session_receive() on this side */
    int fail_send;
    const uint8_t *known_key; /* is_known accepts this key (may be NULL) */
    /* admit: refuses with this text and reason when refuse_text is set;
     * counts its calls and keeps what pkc_session_get_info() said then. */
    const char *refuse_text;
    uint64_t refuse_reason;
    int admit_calls;
    pkc_session_info admit_info;
} ph_endpoint;

/* Relay hook: called for each record from `from` before delivery; may
 * rewrite it (return 1 to deliver *rec, 0 to drop). */
typedef int (*ph_relay_fn)(void *user, int from_initiator, ph_record *rec);

typedef struct ph_pair {
    ph_endpoint a; /* initiator */
    ph_endpoint b; /* responder */
    pkc_manual_clock clock;
    pkc_seeded_rng rng;
    pkc_identity *id_a, *id_b;
    ph_relay_fn relay;
    void *relay_user;
} ph_pair;

extern const uint8_t ph_fp_a[32], ph_fp_b[32], ph_fp_m1[32], ph_fp_m2[32];

/* Two identities (from fixed seeds), a clock at a fixed time, a seeded rng,
 * and configs with fingerprints A/B that ph_start() uses; tests adjust
 * p->a.cfg / p->b.cfg between ph_init() and ph_start(). */
void ph_init(ph_pair *p, uint64_t seed);
/* Creates both sessions and starts the initiator. 0 or an error. */
int ph_start(ph_pair *p);
/* Moves records until none are left; returns how many moved. */
size_t ph_pump(ph_pair *p);
/* ph_init + ph_start + ph_pump; 0 if both ends are established. */
int ph_connect(ph_pair *p, uint64_t seed);
/* Frees sessions, queues, identities. */
void ph_free(ph_pair *p);
/* Frees only the sessions and queues (to reconnect with new sessions). */
void ph_free_sessions(ph_pair *p);
/* Takes the oldest queued record of `e` (caller frees rec->data); 0 if none. */
int ph_take(ph_endpoint *e, ph_record *rec);
/* Delivers a record to an endpoint's session, recording the result. */
int ph_deliver(ph_endpoint *to, const uint8_t *rec, size_t len);
void ph_clear_frames(ph_endpoint *e);

/* An rng that plays back fixed bytes (then fails the test if exhausted). */
typedef struct ph_tape_rng {
    pkc_rng rng;
    const uint8_t *bytes;
    size_t len, pos;
} ph_tape_rng;
void ph_tape_init(ph_tape_rng *t, const uint8_t *bytes, size_t len);

#endif
