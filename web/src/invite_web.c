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
    char code[PKC_INVITE_URL_MAX + 1]; /* what this page made: a code, or a URL (an offer) */
} web_invite;

/*
 * Reads `text` (a "PKCI1..." code or a "BASE#CODE" link, as pasted) and
 * checks it at `now_ms` (the page's wall clock; a double, exact to 2^53).
 * Whatever its flags, the page dials the inviter as a native invitee does
 * (a two-step answer needs a listener, which a page does not have).
 * *out is freed with pkcw_invite_free. Returns 0; the codes of
 * pkc_invite_parse (PKC_ERR_MALFORMED, PKC_ERR_BAD_SIGNATURE for a tampered
 * code, ...) and pkc_invite_check_time (PKC_ERR_EXPIRED,
 * PKC_ERR_NOT_YET_VALID); PKC_ERR_UNSUPPORTED for an answer (applied by
 * pkcw_invite_answer_read, not here); PKC_ERR_INVALID_ARG for our own invitation. Each with
 * pkc_errmsg() beginning "invitation: ".
 */
static int fill_text(web_invite *w); /* the fields as text (pkcw_invite_text) */

/* The end of every maker: on success *out = w; on failure w wiped and freed. */
static int hand_out(web_invite *w, int rc, web_invite **out)
{
    if (rc) {
        pkc_invite_wipe(&w->inv);
        free(w);
        return rc;
    }
    *out = w;
    return 0;
}


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
    if (rc == 0)
        rc = fill_text(w);
    return hand_out(w, rc, out);
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

/* ---- invitations made by a page (docs/web.md, "Invitations made by a page") ---- */

/* The room's secret (web/src/peer.c). */
typedef struct web_room web_room;
const uint8_t *web_room_secret(const web_room *r);

/* The fields as pkcw_invite_text gives them. */
static int fill_text(web_invite *w)
{
    int n = snprintf(w->text, sizeof w->text, "%s\n%s\n%s\n%llu\n%s", w->inv.peer_id,
                     w->inv.dial.ufrag, w->inv.dial.pwd, (unsigned long long)w->inv.expires_ms,
                     w->inv.room_name);
    for (size_t i = 0; i < w->inv.dial.n_addresses && n > 0 && (size_t)n < sizeof w->text; i++)
        n += snprintf(w->text + n, sizeof w->text - (size_t)n, "\n%s", w->inv.dial.addresses[i]);
    if (n < 0 || (size_t)n >= sizeof w->text)
        return pkc_error(PKC_ERR_TOO_LARGE, "invitation: its fields do not fit"); /* cannot be */
    return 0;
}

/* The dial information from the host: `addresses` are candidates as
 * "udp:IP:PORT" one a line; those a code cannot carry (not
 * pkc_lan_address_valid's spelling) are skipped, duplicates too, the first 8
 * others kept. `what` begins the message when none is left. */
static int dial_from_host(const char *what, const uint8_t *fingerprint, const char *ufrag,
                          const char *pwd, const char *addresses,
                          char (*buf)[PKC_LAN_ADDRESS_MAX + 1], const char **ptrs,
                          pkc_invite_dial_params *d)
{
    size_t n = 0;
    for (const char *a = addresses; a && *a && n < PKC_INVITE_ADDRESSES_MAX;) {
        const char *e = strchr(a, '\n');
        size_t len = e ? (size_t)(e - a) : strlen(a);
        if (len <= PKC_LAN_ADDRESS_MAX && pkc_lan_address_valid(a, len)) {
            memcpy(buf[n], a, len);
            buf[n][len] = 0;
            int dup = 0;
            for (size_t i = 0; i < n; i++)
                dup |= strcmp(buf[i], buf[n]) == 0;
            if (!dup) {
                ptrs[n] = buf[n];
                n++;
            }
        }
        a = e ? e + 1 : a + len;
    }
    if (n == 0)
        return pkc_error(PKC_ERR_STATE,
                         "%s: this browser gave no address a code can carry (only mDNS names or "
                         "none: no network, or addresses hidden)",
                         what);
    d->fingerprint = fingerprint;
    d->ufrag = ufrag;
    d->pwd = pwd;
    d->addresses = ptrs;
    d->n_addresses = n;
    return 0;
}

/*
 * Makes and signs, by `id`, an invitation to room `room` at `now_ms` (the
 * page's wall clock) for `lifetime_ms`, single-use or not, with the token
 * (32 bytes, fresh from the host's CSPRNG) and the dial information of the
 * connection the page keeps for it (its certificate's SHA-256 fingerprint,
 * the ICE ufrag and pwd of its offer, its candidates). Never ONE_STEP: a
 * page has no listener, so the invitee answers (two-step) and does not
 * dial. The link is `base#CODE` (pkcw_invite_code), the fields as
 * pkcw_invite_text. *out is freed with pkcw_invite_free. Returns 0;
 * PKC_ERR_INVALID_ARG (a field outside its limits, named), PKC_ERR_RANGE,
 * PKC_ERR_STATE (no address), each with pkc_errmsg().
 */
PKC_API int pkcw_invite_create(const pkc_identity *id, const web_room *room, double now_ms,
                               double lifetime_ms, int single_use, const char *room_name,
                               const uint8_t *token, const uint8_t *fingerprint, const char *ufrag,
                               const char *pwd, const char *addresses, const char *base,
                               web_invite **out)
{
    if (id == NULL || room == NULL || token == NULL || fingerprint == NULL || ufrag == NULL ||
        pwd == NULL || out == NULL || !(now_ms >= 0 && now_ms < 9007199254740992.0) ||
        !(lifetime_ms >= 1 && lifetime_ms <= (double)PKC_INVITE_LIFETIME_MAX_MS))
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "invitation: identity, room, token, dial information, clock and a "
                         "lifetime of 1 ms..30 days are required");
    char buf[PKC_INVITE_ADDRESSES_MAX][PKC_LAN_ADDRESS_MAX + 1];
    const char *ptrs[PKC_INVITE_ADDRESSES_MAX];
    pkc_invite_offer_params p;
    memset(&p, 0, sizeof p);
    int rc = dial_from_host("invitation", fingerprint, ufrag, pwd, addresses, buf, ptrs, &p.dial);
    if (rc)
        return rc;
    p.created_ms = (uint64_t)now_ms;
    p.lifetime_ms = (uint64_t)lifetime_ms;
    p.flags = single_use ? PKC_INVITE_SINGLE_USE : 0;
    p.room_secret = web_room_secret(room);
    p.room_name = room_name;
    p.token = token;
    web_invite *w = calloc(1, sizeof *w);
    if (w == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    rc = pkc_invite_offer_create(id, &p, &w->inv);
    if (rc == 0) {
        int k = pkc_invite_url(&w->inv, base, w->code, sizeof w->code);
        rc = k < 0 ? pkc_error_wrap(k, "invitation") : 0;
    }
    if (rc == 0)
        rc = fill_text(w);
    return hand_out(w, rc, out);
}

/* What this page made (pkcw_invite_create: the link; pkcw_invite_answer:
 * the answer's code), valid until pkcw_invite_free. */
PKC_API const char *pkcw_invite_code(const web_invite *w)
{
    return w->code;
}

/* The offer's flags (PKC_INVITE_ONE_STEP 1, PKC_INVITE_SINGLE_USE 2). */
PKC_API int pkcw_invite_flags(const web_invite *w)
{
    return w->inv.flags;
}

/*
 * The answer, by `id` (this page, the invitee), to `offer` (read by
 * pkcw_invite_parse) at `now_ms`, with the dial information of the
 * connection the page keeps for it (as pkcw_invite_create). It is valid as
 * long as the invitation, plus the clock skew, as a native invitee's
 * (node_invite.c). *out (its code: pkcw_invite_code) is freed with
 * pkcw_invite_free. Returns 0 or the errors of pkcw_invite_create.
 */
PKC_API int pkcw_invite_answer(const pkc_identity *id, const web_invite *offer, double now_ms,
                               const uint8_t *fingerprint, const char *ufrag, const char *pwd,
                               const char *addresses, web_invite **out)
{
    if (id == NULL || offer == NULL || fingerprint == NULL || ufrag == NULL || pwd == NULL ||
        out == NULL || !(now_ms >= 0 && now_ms < 9007199254740992.0))
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "answer: identity, invitation, dial information and clock are required");
    char buf[PKC_INVITE_ADDRESSES_MAX][PKC_LAN_ADDRESS_MAX + 1];
    const char *ptrs[PKC_INVITE_ADDRESSES_MAX];
    pkc_invite_answer_params ap;
    memset(&ap, 0, sizeof ap);
    int rc = dial_from_host("answer", fingerprint, ufrag, pwd, addresses, buf, ptrs, &ap.dial);
    if (rc)
        return rc;
    ap.created_ms = (uint64_t)now_ms;
    ap.lifetime_ms = offer->inv.expires_ms > ap.created_ms
                         ? offer->inv.expires_ms - ap.created_ms + PKC_INVITE_SKEW_MS
                         : PKC_INVITE_SKEW_MS;
    if (ap.lifetime_ms > PKC_INVITE_LIFETIME_MAX_MS)
        ap.lifetime_ms = PKC_INVITE_LIFETIME_MAX_MS;
    web_invite *w = calloc(1, sizeof *w);
    if (w == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    rc = pkc_invite_answer_create(id, &offer->inv, &ap, &w->inv);
    if (rc == 0) {
        int k = pkc_invite_code(&w->inv, w->code, sizeof w->code);
        rc = k < 0 ? pkc_error_wrap(k, "answer") : 0;
    }
    if (rc == 0)
        rc = fill_text(w);
    return hand_out(w, rc, out);
}

/*
 * Reads an answer ("PKCA1..." or "BASE#PKCA1...", as pasted) to one of this
 * page's invitations and checks what it can alone: syntax, the invitee's
 * signature, its times on the page's clock with PKC_INVITE_SKEW_MS. The
 * host then finds its invitation by pkcw_invite_id and calls
 * pkcw_invite_answer_check. Fields: pkcw_invite_text (the invitee's peer
 * id, ufrag, pwd, expiry, "", addresses) and pkcw_invite_fingerprint.
 * Returns 0, the errors of pkcw_invite_parse, or PKC_ERR_UNSUPPORTED for an
 * invitation; messages begin "answer: " or "invitation: " (the codec's).
 */
PKC_API int pkcw_invite_answer_read(const char *text, size_t len, double now_ms, web_invite **out)
{
    if (text == NULL || out == NULL || !(now_ms >= 0 && now_ms < 9007199254740992.0))
        return pkc_error(PKC_ERR_INVALID_ARG, "answer: text, clock and out are required");
    web_invite *w = calloc(1, sizeof *w);
    if (w == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    int rc = pkc_invite_parse(text, len, &w->inv);
    if (rc == 0 && w->inv.kind != PKC_INVITE_ANSWER)
        rc = pkc_error(PKC_ERR_UNSUPPORTED, "answer: this is an invitation, not an answer to one: "
                                            "the invitee accepts it");
    if (rc == 0)
        rc = pkc_invite_check_time(&w->inv, (uint64_t)now_ms, PKC_INVITE_SKEW_MS);
    if (rc == 0)
        rc = fill_text(w);
    return hand_out(w, rc, out);
}

/*
 * The inviter's check of `answer` (pkcw_invite_answer_read) against its
 * `offer` (pkcw_invite_create), as `pkc answer` does: that it answers this
 * invitation, its MAC (keyed by the offer's token: PKC_ERR_BAD_SIGNATURE,
 * "answer: tampered: ..."), and the invitation's expiry on our own clock
 * without skew (PKC_ERR_EXPIRED, "the invitation it answers: ...").
 */
PKC_API int pkcw_invite_answer_check(const web_invite *answer, const web_invite *offer,
                                     double now_ms)
{
    if (answer == NULL || offer == NULL || !(now_ms >= 0 && now_ms < 9007199254740992.0))
        return pkc_error(PKC_ERR_INVALID_ARG, "answer: answer, invitation and clock are required");
    int rc = pkc_invite_answer_check(&answer->inv, &offer->inv);
    if (rc == 0 && (rc = pkc_invite_check_time(&offer->inv, (uint64_t)now_ms, 0)) != 0)
        rc = pkc_error_wrap(rc, "answer: the invitation it answers");
    return rc;
}
