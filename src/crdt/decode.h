/* decode.h: decoded updates (decode.c). */
#ifndef PKC_CRDT_DECODE_H
#define PKC_CRDT_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/ds.h"
#include "util/buf.h"

/* ------------------------------------------------------------------------ */
/* Decoded updates (decode.c).                                             */

/* Parent info of a struct without origins (the minority: the first items
 * of lists, map entries), kept out of line so that decoded structs stay
 * small (64 bytes). */
typedef struct ypar {
    uint64_t pclient;
    uint32_t pclock;
    uint8_t kind;      /* 1 root name, 2 id */
    const char *pname; /* root name (kind 1) */
    uint32_t pname_len;
    const char *psub;  /* NULL: none */
    uint32_t psub_len;
    size_t s;          /* index of its struct in yupd.s */
} ypar;

typedef struct ydec {
    uint64_t client;
    uint64_t oclient, rclient;
    const uint8_t *content; /* v1 content encoding (after the info byte's
                               fields), for YC_TYPE: typeref [name] */
    const ypar *par;  /* NULL: no parent info */
    uint32_t clock;
    uint32_t len;
    uint32_t oclock, rclock;
    uint32_t content_len;
    uint8_t kind;     /* YC_GC, YC_SKIP or a content ref */
    uint8_t info;     /* the v1 info byte (items) */
    uint8_t tref;     /* YC_TYPE */
} ydec;

/* 0 none, 1 root name, 2 id */
static inline unsigned ydec_pkind(const ydec *s)
{
    return s->par ? s->par->kind : 0;
}

static inline const char *ydec_psub(const ydec *s)
{
    return s->par ? s->par->psub : NULL;
}

/* The structs of one client in a decoded update. */
typedef struct ygroup {
    size_t end;     /* index in yupd.s after its last struct */
    uint64_t bytes; /* content bytes its structs bring (as stored) */
} ygroup;

typedef struct yupd {
    ydec *s;         /* grouped per client, in update order */
    size_t n, cap;
    ypar *par;       /* parent infos (ydec.par), in struct order */
    size_t npar, cappar;
    ygroup *grp;     /* the clients' groups in order (some may be empty) */
    size_t ngrp, capgrp;
    yds ds;
    pkc_buf scratch; /* v1 content converted from v2 */
    pkc_buf strs;    /* strings converted from v2 */
} yupd;

int yupd_decode(yupd *u, const uint8_t *p, size_t n, int v2);
/* Content bytes a struct of `kind` with v1 content p[0..n) brings once
 * stored (yc_set_bytes). */
size_t ydec_bytes(uint8_t kind, const uint8_t *p, size_t n);
void yupd_free(yupd *u);

#endif
