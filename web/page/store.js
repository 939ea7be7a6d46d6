// store.js: what a browser peer keeps in IndexedDB (docs/web.md,
// "Persistence"): its identity, the rooms it joined and its documents' Yjs
// updates, so that a reload keeps who it is and what it had.
//
// One database per origin (`pkc`; `pkc:NAME` for a page opened with
// ?channel=NAME, so that test cases do not meet), schema version 2:
//
//   identities  key slot          { slot, seed (32 bytes), peerId, created }
//   rooms       key [slot, room]  { slot, room (id, hex), name, secret (32 bytes) }
//   updates     key seq (auto)    { slot, room, doc, update (Yjs v1), hash (16 bytes) }
//               index doc: [slot, room, doc]
// version 2:
//   peers       key [slot, peerId] { slot, peerId, rooms [names], firstSeen, lastSeen (ms),
//                                    via ('tab' | 'invitation' | 'answer'), publicKey,
//                                    dhPublicKey (32 bytes each, once announced) }
//   outbox      key [slot, key]   { slot, key, to, room (name), text, created, id (hex,
//                                   once sealed), frame (the sealed DATA frame, or null) }
//   received    key [slot, id]    { slot, id (hex), from, time }: direct messages taken,
//                                   so that a copy sent again is acknowledged, not shown
//
// Each tab has an identity of its own: a slot, named in the tab's
// sessionStorage (so that a reload finds it) and held with a Web Lock
// `pkc-identity:DB:SLOT` while the page lives (so that two tabs, even a
// duplicated one with a copy of the sessionStorage, never share one). A tab
// with no slot of its own takes the identity of a closed tab (the oldest
// whose lock is free) or makes a new one.

const DB_VERSION = 2;
const RELOAD_WAIT_MS = 3000; // a reloaded page waits this long for its old document's lock

function req(r) {
    return new Promise((resolve, reject) => {
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
    });
}

function done(tx) {
    return new Promise((resolve, reject) => {
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error || new Error('transaction aborted'));
    });
}

function b64u(bytes) {
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// Resolves true once the lock is held (it is kept until the page goes), or
// false if it was not free (at once, or within waitMs).
function hold(name, waitMs) {
    if (!globalThis.navigator?.locks) return Promise.resolve(true); // no Web Locks: no sharing check
    return new Promise((resolve) => {
        const opts = waitMs ? { signal: AbortSignal.timeout(waitMs) } : { ifAvailable: true };
        navigator.locks.request(name, opts, (lock) => {
            if (!lock) {
                resolve(false);
                return undefined;
            }
            resolve(true);
            return new Promise(() => {});
        }).catch(() => resolve(false));
    });
}

export class Store {
    static async open(name = 'pkc') {
        const r = indexedDB.open(name, DB_VERSION);
        r.onupgradeneeded = (ev) => {
            const db = r.result;
            // One step per version (ev.oldVersion to DB_VERSION).
            if (ev.oldVersion < 1) {
                db.createObjectStore('identities', { keyPath: 'slot' });
                db.createObjectStore('rooms', { keyPath: ['slot', 'room'] });
                const u = db.createObjectStore('updates', { keyPath: 'seq', autoIncrement: true });
                u.createIndex('doc', ['slot', 'room', 'doc']);
            }
            if (ev.oldVersion < 2) {
                db.createObjectStore('peers', { keyPath: ['slot', 'peerId'] });
                db.createObjectStore('outbox', { keyPath: ['slot', 'key'] });
                db.createObjectStore('received', { keyPath: ['slot', 'id'] });
            }
        };
        const db = await req(r);
        return new Store(db, name);
    }

    constructor(db, name) {
        this.db = db;
        this.name = name;
        this.slot = null;
        this.failed = null; // the first write that failed
    }

    // The tab's identity: { slot, seed, peerId, created, fresh }.
    // peerIdOf(seed) is the peer id of the identity made from a seed.
    async claimIdentity(peerIdOf) {
        const tabKey = `pkc-identity:${this.name}`;
        const lockName = (slot) => `pkc-identity:${this.name}:${slot}`;
        const all = await req(this.db.transaction('identities').objectStore('identities').getAll());
        let rec = null;
        const mine = globalThis.sessionStorage?.getItem(tabKey);
        if (mine && await hold(lockName(mine), RELOAD_WAIT_MS))
            rec = all.find((r) => r.slot === mine) || { slot: mine };
        if (!rec) {
            all.sort((a, b) => a.created - b.created);
            for (const r of all) {
                if (r.slot === mine) continue;
                if (await hold(lockName(r.slot), 0)) {
                    rec = r;
                    break;
                }
            }
        }
        if (!rec) {
            const slot = b64u(crypto.getRandomValues(new Uint8Array(9)));
            await hold(lockName(slot), 0);
            rec = { slot };
        }
        let fresh = false;
        if (!(rec.seed instanceof Uint8Array) || rec.seed.length !== 32) {
            rec.seed = crypto.getRandomValues(new Uint8Array(32));
            rec.created = Date.now();
            fresh = true;
        }
        const peerId = peerIdOf(rec.seed);
        if (fresh || rec.peerId !== peerId) {
            rec.peerId = peerId;
            const tx = this.db.transaction('identities', 'readwrite');
            tx.objectStore('identities').put(rec);
            await done(tx);
        }
        globalThis.sessionStorage?.setItem(tabKey, rec.slot);
        this.slot = rec.slot;
        return { ...rec, fresh };
    }

    async rooms() {
        const all = await req(this.db.transaction('rooms').objectStore('rooms').getAll());
        return all.filter((r) => r.slot === this.slot);
    }

    saveRoom(room, name, secret) {
        return this.write('rooms', (s) => s.put({ slot: this.slot, room, name, secret }));
    }

    // Every stored update of this identity: [{ seq, room, doc, update, hash }],
    // in the order they were written.
    async updates() {
        const s = this.db.transaction('updates').objectStore('updates');
        const all = await req(s.getAll());
        return all.filter((u) => u.slot === this.slot);
    }

    // Appends an update; resolves once committed (transactions commit in
    // the order they were made).
    appendUpdate(room, doc, update, hash) {
        return this.write('updates', (s) => s.add({ slot: this.slot, room, doc, update, hash }));
    }

    // Replaces the updates `seqs` of a document by one (its state; none if
    // state is null), in one transaction: all or nothing.
    compact(room, doc, seqs, state, hash) {
        return this.write('updates', (s) => {
            for (const seq of seqs) s.delete(seq);
            if (state) s.add({ slot: this.slot, room, doc, update: state, hash });
        });
    }

    // ---- version 2: the peer book, the outbox and the direct messages taken ----
    async all(storeName) {
        const all = await req(this.db.transaction(storeName).objectStore(storeName).getAll());
        return all.filter((r) => r.slot === this.slot);
    }

    peers() {
        return this.all('peers');
    }

    savePeer(rec) {
        return this.write('peers', (s) => s.put({ ...rec, slot: this.slot }));
    }

    outbox() {
        return this.all('outbox');
    }

    saveOutbox(rec) {
        return this.write('outbox', (s) => s.put({ ...rec, slot: this.slot }));
    }

    deleteOutbox(key) {
        return this.write('outbox', (s) => s.delete([this.slot, key]));
    }

    received() {
        return this.all('received');
    }

    // Resolves true when `id` was not taken before (and is now), false when
    // it was: the add fails on the key, as the node's inbox refuses an id
    // twice.
    takeDirect(id, from, time) {
        return new Promise((resolve, reject) => {
            let tx;
            try {
                tx = this.db.transaction('received', 'readwrite');
                const r = tx.objectStore('received').add({ slot: this.slot, id, from, time });
                r.onerror = (ev) => {
                    if (r.error && r.error.name === 'ConstraintError') {
                        ev.preventDefault(); // the transaction commits, nothing added
                        resolve(false);
                    }
                };
            } catch (e) {
                reject(e);
                return;
            }
            tx.oncomplete = () => resolve(true);
            tx.onerror = () => reject(tx.error);
            tx.onabort = () => reject(tx.error || new Error('transaction aborted'));
        });
    }

    // Forgets direct messages taken before `beforeMs` (a copy older than 7
    // days is refused by its age anyway).
    forgetReceived(beforeMs) {
        return this.received().then((all) => this.write('received', (s) => {
            for (const r of all) if (r.time < beforeMs) s.delete([this.slot, r.id]);
        }));
    }

    write(storeName, fn) {
        let tx;
        try {
            tx = this.db.transaction(storeName, 'readwrite');
            fn(tx.objectStore(storeName));
        } catch (e) {
            return Promise.reject(e);
        }
        return done(tx);
    }
}
