/*
 * invite_web.c: the page's reading of an invitation (docs/web.md,
 * "Accepting a native node's invitation"). The code is decoded and checked
 * by src/discovery/invite.c, the native node's own codec: text syntax,
 * fields, the inviter's signature, then the time on the page's wall clock
 * with PKC_INVITE_SKEW_MS of tolerance, as `pkc join` does. What the host
 * needs from it (the inviter's dial information, the room secret and the
 * token its session proves) is read through the accessors below, so that
 * the JavaScript side never depends on the layout of pkc_invite.
 */
#include "pkc.h"
#include "discovery/invite.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fields as text, one a line: peer id, ICE ufrag, ICE pwd, expiry (Unix
 * ms), room name (no control characters: invite.c checks), then the
 * addresses ("udp:IP:PORT"). */
#define TEXT_MAX                                                                                   \
    (PKC_PEER_ID_SIZE + PKC_LAN_UFRAG_MAX + PKC_LAN_PWD_MAX + 24 + PKC_INVITE_ROOM_NAME_MAX +      \
     PKC_INVITE_ADDRESSES_MAX * (PKC_LAN_ADDRESS_MAX + 1) + 16)

typedef struct web_invite {
    pkc_invite inv;
    char text[TEXT_MAX];
} web_invite;

/*
 * Reads `text` (a "PKCI1..." code or a "BASE#CODE" link, as pasted) and
 * checks it at `now_ms` (the page's wall clock; a double, exact to 2^53).
 * Whatever its flags, the page dials the inviter as a native invitee does
 * (a two-step answer needs a listener, which a page does not have).
 * *out is freed with pkcw_invite_free. Returns 0; the codes of
 * pkc_invite_parse (PKC_ERR_MALFORMED, PKC_ERR_BAD_SIGNATURE for a tampered
 * code, ...) and pkc_invite_check_time (PKC_ERR_EXPIRED,
 * PKC_ERR_NOT_YET_VALID); PKC_ERR_UNSUPPORTED for an answer (the page does
 * not invite yet); PKC_ERR_INVALID_ARG for our own invitation. Each with
 * pkc_errmsg() beginning "invitation: ".
 */
PKC_API int pkcw_invite_parse(const char *text, size_t len, double now_ms, const char *own_peer_id,
                              web_invite **out)
{
    if (text == NULL || out == NULL || !(now_ms >= 0 && now_ms < 9007199254740992.0))
        return pkc_error(PKC_ERR_INVALID_ARG, "invitation: text, clock and out are required");
    web_invite *w = calloc(1, sizeof *w);
    if (w == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    int rc = pkc_invite_parse(text, len, &w->inv);
    if (rc == 0 && w->inv.kind != PKC_INVITE_OFFER)
        rc = pkc_error(PKC_ERR_UNSUPPORTED,
                       "invitation: this is an answer to an invitation, which its inviter applies "
                       "(`pkc answer`), not an invitation");
    if (rc == 0)
        rc = pkc_invite_check_time(&w->inv, (uint64_t)now_ms, PKC_INVITE_SKEW_MS);
    if (rc == 0 && own_peer_id && strcmp(own_peer_id, w->inv.peer_id) == 0)
        rc = pkc_error(PKC_ERR_INVALID_ARG, "invitation: this invitation is our own");
    if (rc == 0) {
        int n = snprintf(w->text, sizeof w->text, "%s\n%s\n%s\n%llu\n%s", w->inv.peer_id,
                         w->inv.dial.ufrag, w->inv.dial.pwd, (unsigned long long)w->inv.expires_ms,
                         w->inv.room_name);
        for (size_t i = 0; i < w->inv.dial.n_addresses && n > 0 && (size_t)n < sizeof w->text; i++)
            n +=
                snprintf(w->text + n, sizeof w->text - (size_t)n, "\n%s", w->inv.dial.addresses[i]);
        if (n < 0 || (size_t)n >= sizeof w->text)
            rc = pkc_error(PKC_ERR_TOO_LARGE, "invitation: its fields do not fit"); /* cannot be */
    }
    if (rc) {
        pkc_invite_wipe(&w->inv);
        free(w);
        return rc;
    }
    *out = w;
    return 0;
}

/* The fields as text (above), valid until pkcw_invite_free. */
PKC_API const char *pkcw_invite_text(const web_invite *w)
{
    return w->text;
}

/* The inviter's DTLS certificate fingerprint (SHA-256, 32 bytes). */
PKC_API const uint8_t *pkcw_invite_fingerprint(const web_invite *w)
{
    return w->inv.dial.fingerprint;
}

/* The room's secret (32 bytes): what pkcw_room_join takes. */
PKC_API const uint8_t *pkcw_invite_room_secret(const web_invite *w)
{
    return w->inv.room_secret;
}

/* The token (32 bytes) the invitee's session proves: pkcw_chan_new's
 * proof. */
PKC_API const uint8_t *pkcw_invite_token(const web_invite *w)
{
    return w->inv.token;
}

/* The invitation's id (8 bytes: the proof id of its token). */
PKC_API const uint8_t *pkcw_invite_id(const web_invite *w)
{
    return w->inv.id;
}

/* Wipes (the secrets) and frees. */
PKC_API void pkcw_invite_free(web_invite *w)
{
    if (w == NULL)
        return;
    pkc_invite_wipe(&w->inv);
    free(w);
}
