/*
 * sctp.h: an SCTP association over DTLS (RFC 8261) on usrsctp.
 *
 * usrsctp keeps process-wide state: one timer wheel and one output
 * callback for all associations. pkc initialises it once without threads
 * (usrsctp_init_nothreads) and drives its timers with pkc_sctp_tick(),
 * which any thread may call with the current time. Everything usrsctp
 * hands back (packets to send, received messages, notifications) goes into
 * the association's queue under one lock; pkc_sctp_poll(), called by the
 * association's owner on its own thread, empties the queue into the
 * callbacks. So timer output produced on another thread is picked up by
 * the owner's next poll, and no callback ever runs inside usrsctp.
 */
#ifndef PKC_RTC_SCTP_H
#define PKC_RTC_SCTP_H

#include <stddef.h>
#include <stdint.h>

#define PKC_SCTP_PORT 5000
/* Streams each way an association offers by default (RFC 8831: a data
 * channel's id is its stream; browsers offer 1024). Each costs about 60
 * bytes a connection in usrsctp. */
#define PKC_SCTP_STREAMS 1024

/* PPIDs (RFC 8831 8). */
#define PKC_PPID_DCEP 50
#define PKC_PPID_STRING 51
#define PKC_PPID_BINARY 53
#define PKC_PPID_STRING_EMPTY 56
#define PKC_PPID_BINARY_EMPTY 57

enum { PKC_SCTP_PR_NONE = 0, PKC_SCTP_PR_RTX = 1, PKC_SCTP_PR_TTL = 2 };

typedef struct pkc_sctp_callbacks {
    /* One SCTP packet for the DTLS layer. */
    void (*send)(void *user, const uint8_t *pkt, size_t len);
    /* One whole message; the callee owns `data` (free() it; NULL if empty). */
    void (*message)(void *user, uint16_t sid, uint32_t ppid, uint8_t *data, size_t len);
    void (*connected)(void *user);
    /* The association ended: `lost` is 1 for a failure (timeout, abort by
     * the peer), 0 for an orderly shutdown, 2 when this side gave it up
     * because an event it had to deliver could not be allocated (the
     * events queued before that one are delivered first). */
    void (*closed)(void *user, int lost);
    /* A stream was reset: `incoming` 1 when the peer reset its outgoing
     * direction (it closed the channel), 0 when our reset completed. */
    void (*stream_reset)(void *user, uint16_t sid, int incoming);
    /* There is room in the send buffer again. */
    void (*writable)(void *user);
    void *user;
} pkc_sctp_callbacks;

typedef struct pkc_sctp pkc_sctp;

/* Largest message the local side accepts (reassembly limit). */
int pkc_sctp_new(uint16_t port, size_t max_message, uint16_t streams, const pkc_sctp_callbacks *cb,
                 pkc_sctp **out);
/* Closes abruptly (ABORT, queued for the next poll's send callbacks, which
 * this call runs) and frees. */
void pkc_sctp_free(pkc_sctp *s);
/* Starts the association towards the peer's port (both sides connect). */
int pkc_sctp_connect(pkc_sctp *s, uint16_t remote_port);
/* A packet from the DTLS layer. */
void pkc_sctp_input(pkc_sctp *s, const uint8_t *pkt, size_t len);
/* Sends one message. `pr` is PKC_SCTP_PR_* with its value (retransmits or
 * milliseconds). Returns 0, PKC_ERR_AGAIN (send buffer full: wait for
 * `writable`), PKC_ERR_TOO_LARGE (larger than the send buffer), or
 * PKC_ERR_SCTP. */
int pkc_sctp_send(pkc_sctp *s, uint16_t sid, uint32_t ppid, const uint8_t *data, size_t len,
                  int unordered, int pr, uint32_t pr_value);
/* Resets our outgoing direction of `sid` (closes a channel). PKC_ERR_AGAIN
 * if a reset is in progress: retry after the next stream_reset. */
int pkc_sctp_reset(pkc_sctp *s, uint16_t sid);
/* Delivers what is queued to the callbacks. Call after every other
 * pkc_sctp_* call and after pkc_sctp_tick(). The callbacks may call
 * pkc_sctp_send/reset but not pkc_sctp_free. */
void pkc_sctp_poll(pkc_sctp *s);

/* The association's own timer: when pkc_sctp_timeout() is next due
 * (UINT64_MAX: not), and the call, with the monotonic time in us. It sends
 * the heartbeats that correct a first RTT sample inflated by a lost INIT
 * (sctp.c); call pkc_sctp_poll() after it. */
uint64_t pkc_sctp_deadline(const pkc_sctp *s);
void pkc_sctp_timeout(pkc_sctp *s, uint64_t now_us);
/* The association's smoothed RTT and RTO in ms (0 before it has them). */
uint32_t pkc_sctp_srtt_ms(pkc_sctp *s);
uint32_t pkc_sctp_rto_ms(pkc_sctp *s);

/* Advances usrsctp's timers to `now_us` (monotonic). Any thread. */
void pkc_sctp_tick(uint64_t now_us);
/* The SCTP checksum (CRC32c) of a packet whose checksum field is zero, in
 * the byte order it is stored in (usrsctp_crc32c's result). */
uint32_t pkc_sctp_crc32c(const void *buf, size_t len);

/* Live associations in the process. */
size_t pkc_sctp_count(void);

#endif
