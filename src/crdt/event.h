/* event.h: events and observers (event.c). */
#ifndef PKC_CRDT_EVENT_H
#define PKC_CRDT_EVENT_H

#include <stdint.h>

#include "pkc.h"
#include "crdt/txn.h"

/* ------------------------------------------------------------------------ */
/* Events.                                                                  */

struct pkc_yevent {
    pkc_ytxn *txn;
    ybranch *target;
    ybranch *current;
    uint32_t ch;           /* index into txn->changed */
    pkc_yvalue *delta, *keys, *path; /* computed on demand */
};

/* Events (event.c). */
int yc_call_type_observers(pkc_ytxn *txn, ychanged *ch);
int yc_call_deep_observers(pkc_ytxn *txn, ycparent *cp);
void yc_event_free(pkc_yevent *ev);

#endif
