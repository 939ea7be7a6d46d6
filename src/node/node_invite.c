/*
 * node_invite.c: invitations in the node (docs/node.md "Invitations").
 *
 * An invitation is a signed offer (src/discovery/invite.h) carrying a room
 * secret, a fresh token and our dial information. The token is what a
 * handshake proves on either path:
 *   one-step: the invitee dials our listener with the token as its proof;
 *   two-step: the invitee's answer tells us how to reach it, and we dial it
 *             with the token as our proof (its listener accepts the tokens
 *             of the invitations it accepted).
 * Our own invitations are kept in memory and in the database's key-value
 * table ("invite/<id>": used flag, then the offer's bytes), so a restart
 * keeps them and their use. An accepted invitation lives in memory until
 * its handshake completes (the room is then saved) or the inviter refuses
 * it (the room is left).
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/invite.h"
#include "util/err.h"
#include "util/text.h"
#include "util/log.h"
#include "util/rng.h"
#include "util/versioned.h"
#include "node/node_int.h"

#define LOG "node"
#define KV_PREFIX "invite/"

static void hex_id(char out[17], const uint8_t id[PKC_INVITE_ID_BYTES])
{
    pkc_hex_encode(out, id, PKC_INVITE_ID_BYTES);
}

node_invite *node_invite_find(pkc_node *n, const uint8_t id[PKC_INVITE_ID_BYTES])
{
    for (node_invite *v = n->invites; v; v = v->next)
        if (memcmp(v->offer.id, id, PKC_INVITE_ID_BYTES) == 0)
            return v;
    return NULL;
}

/* Whether the handshake may prove `v` now. Ours stay in the list when used
 * or expired, so that the refusal can say which. */
int node_invite_live(pkc_node *n, const node_invite *v)
{
    if (v->mine)
        return 1;
    return !v->done && pkc_invite_check_time(&v->offer, (uint64_t)node_wall_ms(n),
                                             PKC_INVITE_SKEW_MS) == 0;
}

static void invite_free(node_invite *v)
{
    pkc_invite_wipe(&v->offer);
    free(v);
}

static void invite_unlink(pkc_node *n, node_invite *v)
{
    for (node_invite **p = &n->invites; *p; p = &(*p)->next)
        if (*p == v) {
            *p = v->next;
            break;
        }
    /* Channels dialed for it forget it. */
    for (node_link *l = n->links; l; l = l->next)
        for (node_chan *c = l->chans; c; c = c->next)
            if (c->invite == v)
                c->invite = NULL;
}

static int invite_store(pkc_node *n, const node_invite *v)
{
    pkc_buf b;
    pkc_buf_init(&b);
    pkc_buf_push_u8(&b, (uint8_t)v->used);
    int rc = pkc_invite_encode(&v->offer, &b);
    if (rc == 0 && b.err)
        rc = pkc_error_code(PKC_ERR_NOMEM);
    char key[32], hex[17];
    hex_id(hex, v->offer.id);
    snprintf(key, sizeof key, KV_PREFIX "%s", hex);
    if (rc == 0)
        rc = pkc_db_kv_put(n->db, key, b.data, b.len);
    pkc_buf_free(&b);
    return rc;
}

static void invite_forget(pkc_node *n, node_invite *v)
{
    char key[32], hex[17];
    hex_id(hex, v->offer.id);
    snprintf(key, sizeof key, KV_PREFIX "%s", hex);
    if (v->mine && pkc_db_kv_delete(n->db, key) != 0)
        node_error(n, "invitation %s not forgotten: %s", hex, pkc_errmsg());
    invite_unlink(n, v);
    invite_free(v);
}

void node_invites_drop_accepted(pkc_node *n, const uint8_t room_id[PKC_ROOM_ID_BYTES])
{
    for (node_invite *v = n->invites, *next; v; v = next) {
        next = v->next;
        if (!v->mine && memcmp(v->offer.room_id, room_id, PKC_ROOM_ID_BYTES) == 0) {
            invite_unlink(n, v);
            invite_free(v);
        }
    }
}

int node_invites_load(pkc_node *n)
{
    uint64_t now = (uint64_t)node_wall_ms(n);
    /* The key-value table has no listing by prefix: the ids are in "invites". */
    uint8_t *list = NULL;
    size_t len = 0;
    int rc = pkc_db_kv_get(n->db, "invites", &list, &len);
    if (rc == PKC_ERR_NOT_FOUND)
        return 0;
    if (rc)
        return rc;
    for (size_t i = 0; i + PKC_INVITE_ID_BYTES <= len; i += PKC_INVITE_ID_BYTES) {
        char key[32], hex[17];
        hex_id(hex, list + i);
        snprintf(key, sizeof key, KV_PREFIX "%s", hex);
        uint8_t *val = NULL;
        size_t vlen = 0;
        if (pkc_db_kv_get(n->db, key, &val, &vlen) != 0)
            continue;
        node_invite *v = calloc(1, sizeof *v);
        if (v == NULL) {
            free(val);
            free(list);
            return pkc_error_code(PKC_ERR_NOMEM);
        }
        v->mine = 1;
        if (vlen < 1 || pkc_invite_decode(val + 1, vlen - 1, &v->offer) != 0 ||
            v->offer.kind != PKC_INVITE_OFFER) {
            pkc_logw(LOG, "stored invitation %s is damaged: dropped", hex);
            free(v);
        } else if (now >= v->offer.expires_ms + PKC_INVITE_SKEW_MS) {
            /* Expired for everyone: nobody can use it or be told about it. */
            pkc_db_kv_delete(n->db, key);
            invite_free(v);
        } else {
            v->used = val[0] != 0;
            v->next = n->invites;
            n->invites = v;
        }
        free(val);
    }
    free(list);
    return 0;
}

/* The list of our invitations' ids ("invites"), rewritten on each change. */
static int invites_index(pkc_node *n)
{
    pkc_buf b;
    pkc_buf_init(&b);
    for (node_invite *v = n->invites; v; v = v->next)
        if (v->mine)
            pkc_buf_push(&b, v->offer.id, PKC_INVITE_ID_BYTES);
    int rc = b.err ? pkc_error_code(PKC_ERR_NOMEM)
                   : pkc_db_kv_put(n->db, "invites", b.data ? b.data : (const uint8_t *)"", b.len);
    pkc_buf_free(&b);
    return rc;
}

void node_invites_free(pkc_node *n)
{
    while (n->invites) {
        node_invite *v = n->invites;
        n->invites = v->next;
        invite_free(v);
    }
}

/* ---- events -------------------------------------------------------------------------------------- */

static void report(pkc_node *n, const node_invite *v, pkc_node_invite_outcome outcome,
                   const char *peer_id, const char *reason)
{
    char id[17], room[17];
    hex_id(id, v->offer.id);
    pkc_hex_encode(room, v->offer.room_id, PKC_ROOM_ID_BYTES);
    static const char *const names[] = {"", "used", "joined", "refused"};
    pkc_logi(LOG, "invitation %s %s (%s, room %s)%s%s", id, names[outcome], peer_id, room,
             reason[0] ? ": " : "", reason);
    if (n->cb.invite) {
        pkc_node_invite_event ev = {outcome, id, room, peer_id, reason};
        n->cb.invite(n->user_data, n, &ev);
    }
    /* The reason comes from the peer (UTF-8, checked by the session). */
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "event", "invite", "outcome",
                          names[outcome], "id", id, "room", room, "peer", peer_id);
    json_t *why = json_string(reason);
    char *line = NULL;
    if (o) {
        json_object_set_new(o, "reason", why ? why : json_string(""));
        line = json_dumps(o, JSON_COMPACT);
    } else {
        json_decref(why);
    }
    if (line)
        node_control_event(n, "invite", line);
    free(line);
    json_decref(o);
}

/* ---- the handshake's side ------------------------------------------------------------------------ */

int node_invite_check(pkc_node *n, const node_invite *v, char *why, size_t cap)
{
    if (v->mine) {
        if (pkc_invite_check_time(&v->offer, (uint64_t)node_wall_ms(n), 0) != 0) {
            snprintf(why, cap, "%s", pkc_errmsg());
            return PKC_ERR_EXPIRED;
        }
        if ((v->offer.flags & PKC_INVITE_SINGLE_USE) && v->used) {
            snprintf(why, cap, "invitation already used");
            return PKC_ERR_USED;
        }
        return 0;
    }
    if (!v->done && node_room_by_id(n, v->offer.room_id) == NULL) {
        snprintf(why, cap, "the invitation's room was left");
        return PKC_ERR_NOT_FOUND;
    }
    return 0;
}

int node_invite_admit(pkc_node *n, node_invite *v, const char *peer_id, char *why, size_t cap)
{
    int rc = node_invite_check(n, v, why, cap);
    if (rc)
        return rc;
    if (v->mine) {
        if (v->offer.flags & PKC_INVITE_SINGLE_USE) {
            v->used = 1;
            if (invite_store(n, v) != 0) {
                snprintf(why, cap, "invitation not stored: %s", pkc_errmsg());
                v->used = 0;
                return PKC_ERR_IO;
            }
        }
        report(n, v, PKC_NODE_INVITE_USED, peer_id, "");
        return 0;
    }
    /* An invitation we accepted: the inviter reached us, or we it. */
    if (v->done)
        return 0;
    node_room *r = node_room_by_id(n, v->offer.room_id);
    if (r->invite_pending) {
        if (node_room_save(n, r) != 0) {
            snprintf(why, cap, "room not stored: %s", pkc_errmsg());
            return PKC_ERR_IO;
        }
        r->invite_pending = 0;
    }
    v->done = 1;
    report(n, v, PKC_NODE_INVITE_JOINED, peer_id, "");
    return 0;
}

void node_invite_refused(pkc_node *n, node_invite *v, const char *peer_id, const char *reason)
{
    if (v->mine || v->done)
        return;
    report(n, v, PKC_NODE_INVITE_REFUSED, peer_id, reason);
    node_room *r = node_room_by_id(n, v->offer.room_id);
    invite_forget(n, v);
    if (r && r->invite_pending)
        node_room_remove(n, r);
}

/* ---- the API ------------------------------------------------------------------------------------- */

static int dial_params(pkc_node *n, pkc_invite_dial_params *d, const char **addrs)
{
    if (!n->timers_open || n->n_laddrs == 0)
        return pkc_error(PKC_ERR_STATE, "the node does not run: it has no address to give");
    /* Host addresses, then the reflexive ones (behind a NAT). */
    d->fingerprint = n->cert_fp;
    d->ufrag = n->lufrag;
    d->pwd = n->lpwd;
    d->addresses = addrs;
    d->n_addresses = node_dial_addrs(n, addrs, PKC_INVITE_ADDRESSES_MAX);
    return 0;
}

static void fill_out(pkc_node_invitation *o, const pkc_invite *inv, const char *url_base)
{
    memset(o, 0, sizeof *o);
    if (pkc_invite_url(inv, url_base, o->url, sizeof o->url) < 0 ||
        pkc_invite_code(inv, o->code, sizeof o->code) < 0)
        o->url[0] = o->code[0] = 0; /* cannot happen: the sizes are the maximum */
    hex_id(o->id, inv->id);
    o->expires_ms = inv->expires_ms;
    o->one_step = !!(inv->flags & PKC_INVITE_ONE_STEP);
    o->single_use = !!(inv->flags & PKC_INVITE_SINGLE_USE);
}

typedef struct create_args {
    pkc_node_invite_options o;
    pkc_node_invitation out;
} create_args;

static int do_create(pkc_node *n, void *arg)
{
    create_args *a = arg;
    node_room *r = node_room_find(n, a->o.room);
    if (r == NULL)
        return pkc_error(PKC_ERR_NOT_FOUND, "no room '%s'", a->o.room ? a->o.room : "");
    if (r->invite_pending)
        return pkc_error(PKC_ERR_STATE, "room %s: joining it is not complete", r->id);
    const char *addrs[PKC_INVITE_ADDRESSES_MAX];
    pkc_invite_offer_params p;
    memset(&p, 0, sizeof p);
    int rc = dial_params(n, &p.dial, addrs);
    if (rc)
        return rc;
    uint8_t token[PKC_INVITE_TOKEN_BYTES];
    pkc_rng_fill(n->rng, token, sizeof token);
    p.created_ms = (uint64_t)node_wall_ms(n);
    p.lifetime_ms = (uint64_t)a->o.expires_s * 1000;
    p.flags = (uint8_t)((a->o.one_step ? PKC_INVITE_ONE_STEP : 0) |
                        (a->o.single_use ? PKC_INVITE_SINGLE_USE : 0));
    p.room_secret = r->secret;
    p.room_name = r->local ? "local" : r->name;
    p.token = token;
    node_invite *v = calloc(1, sizeof *v);
    if (v == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    v->mine = 1;
    rc = pkc_invite_offer_create(n->id, &p, &v->offer);
    pkc_memzero(token, sizeof token);
    if (rc == 0) {
        v->next = n->invites;
        n->invites = v;
        if ((rc = invite_store(n, v)) != 0 || (rc = invites_index(n)) != 0) {
            invite_unlink(n, v);
            invite_free(v);
            return rc;
        }
        fill_out(&a->out, &v->offer, a->o.url_base);
        memcpy(a->out.room, r->id, sizeof a->out.room);
        snprintf(a->out.room_name, sizeof a->out.room_name, "%s", r->name);
        snprintf(a->out.peer_id, sizeof a->out.peer_id, "%s", pkc_identity_get_peer_id(n->id));
        pkc_logi(LOG, "invitation %s to room %s made", a->out.id, r->id);
        return 0;
    }
    invite_free(v);
    return rc;
}

#define OPTIONS_SIZES PKC_STRUCT_V1(pkc_node_invite_options)
#define INVITATION_SIZES PKC_STRUCT_V1(pkc_node_invitation)

int pkc_node_invite_create_versioned(pkc_node *n, int options_version,
                                     const pkc_node_invite_options *opts, int out_version,
                                     pkc_node_invitation *out)
{
    if (n == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_invite_create: node and out are required");
    int rc = pkc_struct_check(out_version, INVITATION_SIZES);
    if (rc)
        return rc;
    create_args *a = calloc(1, sizeof *a);
    if (a == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    if ((rc = pkc_struct_read(&a->o, opts, options_version, OPTIONS_SIZES)) == 0) {
        if (a->o.expires_s > PKC_INVITE_LIFETIME_MAX_MS / 1000)
            rc = pkc_error(PKC_ERR_INVALID_ARG, "invitation lifetime: at most 30 days, got %u s",
                           a->o.expires_s);
        else
            rc = node_call(n, do_create, a);
    }
    if (rc == 0)
        pkc_struct_write(out, &a->out, out_version, INVITATION_SIZES);
    pkc_memzero(a, sizeof *a);
    free(a);
    return rc;
}

typedef struct accept_args {
    const char *text;
    pkc_node_invitation out;
} accept_args;

static int do_accept(pkc_node *n, void *arg)
{
    accept_args *a = arg;
    node_invite *v = calloc(1, sizeof *v);
    if (v == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    int rc = pkc_invite_parse(a->text, strlen(a->text), &v->offer);
    if (rc == 0 && v->offer.kind != PKC_INVITE_OFFER)
        rc = pkc_error(PKC_ERR_UNSUPPORTED,
                       "this is an answer to an invitation: the inviter applies it with `pkc "
                       "answer` (pkc_node_invite_answer)");
    if (rc == 0)
        rc = pkc_invite_check_time(&v->offer, (uint64_t)node_wall_ms(n), PKC_INVITE_SKEW_MS);
    if (rc == 0 && memcmp(v->offer.public_key, pkc_identity_get_public_key(n->id), 32) == 0)
        rc = pkc_error(PKC_ERR_INVALID_ARG, "this invitation is our own");
    node_room *have = rc == 0 ? node_room_by_id(n, v->offer.room_id) : NULL;
    uint8_t inviter[PKC_PEER_ID_HASH_BYTES];
    node_chan *ch = have && pkc_peer_id_parse(v->offer.peer_id, inviter) == 0
                        ? node_chan_find(n, have, inviter)
                        : NULL;
    if (ch && ch->established)
        rc = pkc_error(PKC_ERR_EXISTS,
                       "already in room %s (%s) and connected to the inviter: nothing to join",
                       have->id, have->name);
    if (rc == 0 && node_invite_find(n, v->offer.id))
        rc = pkc_error(PKC_ERR_EXISTS, "invitation %02x%02x%02x%02x... already accepted",
                       v->offer.id[0], v->offer.id[1], v->offer.id[2], v->offer.id[3]);
    const char *addrs[PKC_INVITE_ADDRESSES_MAX];
    pkc_invite_answer_params ap;
    memset(&ap, 0, sizeof ap);
    pkc_invite answer;
    if (rc == 0)
        rc = dial_params(n, &ap.dial, addrs);
    if (rc == 0) {
        ap.created_ms = (uint64_t)node_wall_ms(n);
        ap.lifetime_ms = v->offer.expires_ms > ap.created_ms
                             ? v->offer.expires_ms - ap.created_ms + PKC_INVITE_SKEW_MS
                             : PKC_INVITE_SKEW_MS;
        rc = pkc_invite_answer_create(n->id, &v->offer, &ap, &answer);
    }
    if (rc) {
        invite_free(v);
        return rc;
    }
    /* The room, for now: saved when a handshake proves the invitation. */
    node_room *r = node_room_by_id(n, v->offer.room_id);
    if (r == NULL) {
        if ((rc = node_room_add(n, v->offer.room_secret, v->offer.room_name, &r)) != 0) {
            invite_free(v);
            return rc;
        }
        r->invite_pending = 1;
        if ((rc = node_room_start(n, r)) != 0) {
            node_room_remove(n, r);
            invite_free(v);
            return rc;
        }
    }
    v->next = n->invites;
    n->invites = v;
    fill_out(&a->out, &answer, NULL); /* sent back by hand: the default base */
    memcpy(a->out.room, r->id, sizeof a->out.room);
    snprintf(a->out.room_name, sizeof a->out.room_name, "%s", r->name);
    snprintf(a->out.peer_id, sizeof a->out.peer_id, "%s", v->offer.peer_id);
    hex_id(a->out.id, v->offer.id);
    a->out.expires_ms = v->offer.expires_ms;
    a->out.one_step = !!(v->offer.flags & PKC_INVITE_ONE_STEP);
    a->out.single_use = !!(v->offer.flags & PKC_INVITE_SINGLE_USE);
    pkc_invite_wipe(&answer);
    /* One-step: dial the inviter with the token as proof. If it cannot be
     * reached, the inviter dials us when it applies our answer. Without
     * ONE_STEP the inviter has said that it takes no dials (a web page has
     * no listener: its dial information is that of a connection it keeps
     * for our answer, and a dial would only disturb it): we wait for the
     * inviter to apply our answer. */
    if (!(v->offer.flags & PKC_INVITE_ONE_STEP)) {
        pkc_logi(LOG, "invitation %s from %s to room %s accepted: waiting for the inviter to apply "
                      "our answer (two-step)",
                 a->out.id, v->offer.peer_id, r->id);
        return 0;
    }
    pkc_logi(LOG, "invitation %s from %s to room %s accepted: dialing the inviter", a->out.id,
             v->offer.peer_id, r->id);
    if (node_dial_invite(n, r, v->offer.public_key, &v->offer.dial, v) != 0)
        pkc_logi(LOG, "the inviter is not dialed: %s (the answer still works)", pkc_errmsg());
    return 0;
}

int pkc_node_invite_accept_versioned(pkc_node *n, const char *text, int out_version,
                                     pkc_node_invitation *out)
{
    if (n == NULL || text == NULL || out == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG,
                         "pkc_node_invite_accept: node, text and out are required");
    int rc = pkc_struct_check(out_version, INVITATION_SIZES);
    if (rc)
        return rc;
    accept_args *a = calloc(1, sizeof *a);
    if (a == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    a->text = text;
    rc = node_call(n, do_accept, a);
    if (rc == 0)
        pkc_struct_write(out, &a->out, out_version, INVITATION_SIZES);
    free(a);
    return rc;
}

typedef struct answer_args {
    const char *text;
    pkc_node_invitation out;
} answer_args;

static int do_answer(pkc_node *n, void *arg)
{
    answer_args *a = arg;
    pkc_invite ans;
    int rc = pkc_invite_parse(a->text, strlen(a->text), &ans);
    if (rc)
        return rc;
    if (ans.kind != PKC_INVITE_ANSWER) {
        pkc_invite_wipe(&ans);
        return pkc_error(PKC_ERR_UNSUPPORTED, "this is an invitation, not an answer to one: the "
                                              "invitee accepts it with `pkc join`");
    }
    char hex[17];
    hex_id(hex, ans.id);
    node_invite *v = node_invite_find(n, ans.id);
    uint64_t now = (uint64_t)node_wall_ms(n);
    if (v == NULL || !v->mine)
        rc = pkc_error(PKC_ERR_NOT_FOUND,
                       "this answers invitation %s, which is not one of this node's (made by "
                       "another node, or forgotten when it expired)",
                       hex);
    else if ((rc = pkc_invite_answer_check(&ans, &v->offer)) != 0)
        ;
    else if ((rc = pkc_invite_check_time(&v->offer, now, 0)) != 0)
        rc = pkc_error(rc, "the invitation it answers: %s", pkc_errmsg());
    else if ((rc = pkc_invite_check_time(&ans, now, PKC_INVITE_SKEW_MS)) != 0)
        rc = pkc_error(rc, "the answer: %s", pkc_errmsg());
    else if ((v->offer.flags & PKC_INVITE_SINGLE_USE) && v->used)
        rc = pkc_error(PKC_ERR_USED, "invitation %s is single-use and already used", hex);
    node_room *r = v ? node_room_by_id(n, v->offer.room_id) : NULL;
    if (rc == 0 && r == NULL)
        rc = pkc_error(PKC_ERR_NOT_FOUND, "invitation %s is to a room this node left", hex);
    if (rc == 0)
        rc = node_dial_invite(n, r, ans.public_key, &ans.dial, v);
    if (rc == 0) {
        snprintf(a->out.peer_id, sizeof a->out.peer_id, "%s", ans.peer_id);
        memcpy(a->out.id, hex, sizeof a->out.id);
        memcpy(a->out.room, r->id, sizeof a->out.room);
        snprintf(a->out.room_name, sizeof a->out.room_name, "%s", r->name);
        a->out.expires_ms = v->offer.expires_ms;
        a->out.one_step = !!(v->offer.flags & PKC_INVITE_ONE_STEP);
        a->out.single_use = !!(v->offer.flags & PKC_INVITE_SINGLE_USE);
        pkc_logi(LOG, "answer to invitation %s from %s: dialing it", hex, ans.peer_id);
    }
    pkc_invite_wipe(&ans);
    return rc;
}

int pkc_node_invite_answer_versioned(pkc_node *n, const char *text, int out_version,
                                     pkc_node_invitation *out)
{
    if (n == NULL || text == NULL)
        return pkc_error(PKC_ERR_INVALID_ARG, "pkc_node_invite_answer: node and text are required");
    int rc = out ? pkc_struct_check(out_version, INVITATION_SIZES) : 0;
    if (rc)
        return rc;
    answer_args *a = calloc(1, sizeof *a);
    if (a == NULL)
        return pkc_error_code(PKC_ERR_NOMEM);
    a->text = text;
    rc = node_call(n, do_answer, a);
    if (rc == 0 && out)
        pkc_struct_write(out, &a->out, out_version, INVITATION_SIZES);
    free(a);
    return rc;
}

/* ---- listing ------------------------------------------------------------------------------------ */

typedef struct list_invites_args {
    pkc_node_invite_info *out;
    size_t max, count;
    int version;
} list_invites_args;

static int do_list(pkc_node *n, void *arg)
{
    list_invites_args *a = arg;
    pkc_struct_sizes sz = PKC_STRUCT_V1(pkc_node_invite_info);
    for (node_invite *v = n->invites; v; v = v->next, a->count++) {
        if (a->count >= a->max)
            continue;
        pkc_node_invite_info ii;
        memset(&ii, 0, sizeof ii);
        hex_id(ii.id, v->offer.id);
        pkc_hex_encode(ii.room, v->offer.room_id, PKC_ROOM_ID_BYTES);
        /* The room's own name when we are in it, else the one the code carries. */
        node_room *r = node_room_by_id(n, v->offer.room_id);
        snprintf(ii.room_name, sizeof ii.room_name, "%s", r ? r->name : v->offer.room_name);
        ii.expires_ms = v->offer.expires_ms;
        ii.one_step = !!(v->offer.flags & PKC_INVITE_ONE_STEP);
        ii.single_use = !!(v->offer.flags & PKC_INVITE_SINGLE_USE);
        ii.mine = v->mine;
        ii.used = v->mine ? v->used : v->done;
        pkc_struct_write((char *)a->out + a->count * sz.sizes[a->version], &ii, a->version, sz);
    }
    return 0;
}

size_t pkc_node_get_invitations_versioned(pkc_node *n, int info_version, pkc_node_invite_info *out,
                                          size_t max)
{
    if (pkc_struct_check(info_version, PKC_STRUCT_V1(pkc_node_invite_info)))
        return 0; /* the size of the caller's elements is unknown: nothing written */
    list_invites_args a = {out, out ? max : 0, 0, info_version};
    if (n == NULL || node_call(n, do_list, &a) != 0)
        return 0;
    return a.count;
}
