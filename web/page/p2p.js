// p2p.js: the seed's JavaScript API (its appendix A) over a browser peer
// (peer.js), as an ES module and, on the page, as `window.p2p`
// (docs/web.md, "The JavaScript API (window.p2p)").
//
//   const invitation = await p2p.createInvitation();     // { url, qr, expires, ... }
//   const connection = await p2p.acceptInvitation(url);   // { peerId, room, connected, ... }
//   p2p.broadcast({ type: 'hello', message: 'Hi everyone!' });
//   await p2p.send(peerId, { type: 'private' });          // resolves once the peer acknowledged it
//   p2p.on('message', ({ from, data }) => ...);
//   const state = p2p.getSharedState('myApp');            // a Y.Map of JSON values
//   state.observe((event) => event.changes.keys);
//   state.set('counter', 42); state.get('counter');
//
// Messages are UTF-8 texts on the wire, as between native nodes: a value
// is sent as its JSON text (JSON.stringify), and a text received is given
// as `data` parsed (JSON.parse) when it is JSON, else as the text itself (a
// native node's `pkc send hello` arrives as the string 'hello'); `text`
// always holds the text as received.

const EVENTS = ['peer:connect', 'peer:disconnect', 'peer:refused', 'message', 'state:update', 'delivered',
    'error'];
const STATE_ROOT = 'state'; // the node's root map of a document (pkc doc set/json)

// The JSON text of a value; TypeError for what JSON cannot carry.
export function encodeData(data) {
    let text;
    try {
        text = JSON.stringify(data);
    } catch (e) {
        throw new TypeError(`the data is not a JSON value: ${e.message}`);
    }
    if (text === undefined) throw new TypeError('the data is not a JSON value');
    return text;
}

// A text received: its JSON value when it is JSON, else the text itself.
export function decodeData(text) {
    try {
        return { data: JSON.parse(text), json: true };
    } catch {
        return { data: text, json: false };
    }
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// A shared map: the root Y.Map "state" of the room's document `name`, the
// same map the native node's `pkc doc set/json` read and write, real Yjs on
// the wire. Values are JSON values.
export class SharedState {
    constructor(api, name) {
        this.api = api;
        this.name = name;
        this.map = api.peer.doc(name, api.room).getMap(STATE_ROOT);
        this.observers = new Set();
        this.last = this.map.toJSON();
        this.queued = false;
        this.local = false;
    }

    get(key) {
        return this.map.get(key);
    }

    has(key) {
        return Object.prototype.hasOwnProperty.call(this.map.toJSON(), key);
    }

    // Sets `key` to a JSON value (TypeError otherwise) and sends the change
    // to the room; returns the value.
    set(key, value) {
        encodeData(value);
        this.api.peer.change(() => this.map.set(String(key), value));
        return value;
    }

    delete(key) {
        if (!this.has(key)) return false;
        this.api.peer.change(() => this.map.delete(String(key)));
        return true;
    }

    keys() {
        return Object.keys(this.map.toJSON());
    }

    get size() {
        return this.keys().length;
    }

    toJSON() {
        return this.map.toJSON();
    }

    // fn(event) after each change, local or from a peer: event.changes.keys
    // is a Map key -> { action: 'add' | 'update' | 'delete', oldValue } as
    // in Yjs's YMapEvent, event.keysChanged a Set, event.local whether this
    // page made it. Changes made together come in one event.
    observe(fn) {
        this.observers.add(fn);
    }

    unobserve(fn) {
        this.observers.delete(fn);
    }

    // The document changed: compared with what it was, once the core's call
    // has returned (the map is not read from inside its own callback).
    changed(local) {
        this.local = this.local || local;
        if (this.queued) return;
        this.queued = true;
        queueMicrotask(() => {
            this.queued = false;
            const local = this.local;
            this.local = false;
            const now = this.map.toJSON();
            const keys = new Map();
            for (const k of Object.keys(this.last))
                if (!Object.prototype.hasOwnProperty.call(now, k))
                    keys.set(k, { action: 'delete', oldValue: this.last[k] });
                else if (!same(this.last[k], now[k]))
                    keys.set(k, { action: 'update', oldValue: this.last[k] });
            for (const k of Object.keys(now))
                if (!Object.prototype.hasOwnProperty.call(this.last, k))
                    keys.set(k, { action: 'add', oldValue: undefined });
            this.last = now;
            if (keys.size === 0) return;
            const event = { name: this.name, changes: { keys }, keysChanged: new Set(keys.keys()), local };
            for (const fn of [...this.observers]) {
                try {
                    fn(event);
                } catch (e) {
                    console.error(e);
                }
            }
            this.api.fire('state:update', event);
        });
    }
}

export class P2P {
    // peer: a peer.js Peer; options.room: the room whose peers, messages and
    // shared states this API uses ('local', the page's room of tabs).
    constructor(peer, { room = 'local' } = {}) {
        this.peer = peer;
        this.room = room;
        this.handlers = new Map(EVENTS.map((e) => [e, new Set()]));
        this.states = new Map();
        const on = (type, fn) => peer.addEventListener(type, (e) => fn(e.detail));
        on('peer:connect', (d) => this.fire('peer:connect', { peerId: d.peerId, room: d.room }));
        on('peer:disconnect', (d) => this.fire('peer:disconnect', { peerId: d.peerId, reason: d.reason,
            text: d.text }));
        on('peer:refused', (d) => this.fire('peer:refused', { peerId: d.peerId, reason: d.reason,
            text: d.text }));
        on('message', (d) => this.fire('message', { from: d.from, ...decodeData(d.text), text: d.text,
            direct: false, room: d.room, id: d.id, timestamp: d.timestamp }));
        on('direct', (d) => this.fire('message', { from: d.from, ...decodeData(d.text), text: d.text,
            direct: true, room: d.room, id: d.id, timestamp: d.timestamp }));
        on('delivered', (d) => this.fire('delivered', { to: d.to, id: d.id }));
        on('error', (d) => this.fire('error', d));
        on('doc', (d) => {
            if (d.room !== this.room) return;
            const s = this.states.get(d.name);
            if (s) s.changed(d.local);
            else this.fire('state:update', { name: d.name, changes: null, keysChanged: null, local: d.local });
        });
    }

    get peerId() {
        return this.peer.peerId;
    }

    // Handlers run in a microtask of their own, never inside the core's
    // callbacks (which must not call the engines again: a handler may
    // broadcast, send or set state), in the order the events came.
    fire(type, detail) {
        const fns = [...this.handlers.get(type)];
        if (fns.length === 0) return;
        queueMicrotask(() => {
            for (const fn of fns) {
                try {
                    fn(detail);
                } catch (e) {
                    console.error(e);
                }
            }
        });
    }

    // ---- invitations (peer.js) ----
    // An invitation to this page: { url, qr (SVG text), expires (ms since
    // the epoch), code, id }.
    async createInvitation(options = {}) {
        return this.peer.createInvitation(options);
    }

    // Accepts an invitation link or code: { peerId, room, roomId, expires,
    // answer?, connected }; `connected` resolves once a connection with the
    // inviter is open ('peer:connect' follows too), and rejects if the
    // inviter refuses the session in its handshake ('peer:refused': the
    // invitation expired or used by its clock, its room full). Throws
    // (rejects) with what is wrong for an expired, tampered or malformed
    // invitation.
    async acceptInvitation(url) {
        const connected = this.connectedTo(null);
        let info;
        try {
            info = await this.peer.acceptInvitation(url);
        } catch (e) {
            connected.cancel();
            throw e;
        }
        connected.peerId = info.peerId;
        return { ...info, connected: connected.promise };
    }

    // The answer step of a two-step invitation: { peerId, room }; 'peer:connect' follows.
    async acceptAnswer(text) {
        return this.peer.acceptAnswer(text);
    }

    connectedTo(peerId) {
        const w = { peerId };
        let fn, refused;
        w.cancel = () => {
            this.peer.removeEventListener('peer:connect', fn);
            this.peer.removeEventListener('peer:refused', refused);
        };
        w.promise = new Promise((resolve, reject) => {
            fn = (e) => {
                if (e.detail.peerId !== w.peerId) return;
                w.cancel();
                resolve({ peerId: e.detail.peerId, room: e.detail.room });
            };
            refused = (e) => {
                if (e.detail.peerId !== w.peerId) return;
                w.cancel();
                reject(new Error(`the inviter ${w.peerId} refused: ${e.detail.text}`));
            };
            this.peer.addEventListener('peer:connect', fn);
            this.peer.addEventListener('peer:refused', refused);
        });
        w.promise.catch(() => {}); // a caller that never awaits it is not told of it twice
        return w;
    }

    // ---- peers ----
    // The peers connected now: [{ peerId, rooms, rttMs, route: 'direct' }]
    // (a peer connected in several rooms is listed once).
    getPeers() {
        const byId = new Map();
        for (const p of this.peer.peers()) {
            const e = byId.get(p.peerId) || { peerId: p.peerId, rooms: [], rttMs: p.rttMs, route: 'direct' };
            e.rooms.push(p.room);
            if (e.rttMs == null) e.rttMs = p.rttMs;
            byId.set(p.peerId, e);
        }
        return [...byId.values()];
    }

    peers() {
        return this.getPeers();
    }

    // The peer book: every peer this page has been connected to (kept in
    // IndexedDB): [{ peerId, rooms, firstSeen, lastSeen, via, connected }].
    knownPeers() {
        return this.peer.knownPeers();
    }

    // Closes the connection with `peerId` (every room). A tab is told so and
    // neither side dials the other again until one of them reloads or
    // connectPeer() is called; a native node is not redialed (a page cannot
    // dial a node without a new invitation). Returns false when not connected.
    disconnectPeer(peerId) {
        const link = this.peer.links.get(peerId);
        if (!link) return false;
        if (this.peer.tabs.has(peerId)) {
            this.peer.sendSignal({ kind: 'bye', to: peerId });
            this.peer.tabs.delete(peerId);
        }
        this.peer.closeLink(link, 'disconnected by the application');
        return true;
    }

    // Asks a tab of this origin (one disconnected with disconnectPeer) to
    // connect again; 'peer:connect' follows.
    connectPeer(peerId) {
        this.peer.peerHash(String(peerId));
        if (this.peer.links.has(peerId)) return;
        this.peer.sendSignal({ kind: 'hello', to: peerId });
    }

    // ---- messages ----
    // `data` (any JSON value) to every peer of the room; returns the message id (hex).
    broadcast(data) {
        return this.peer.broadcast(encodeData(data), this.room);
    }

    // `data` (any JSON value) to `peerId` alone, sealed to it; resolves to the
    // message id (hex) once the peer acknowledged it ('delivered' too). It
    // waits, also across reloads, while the peer is away. It goes through a
    // room the peer is connected in (the API's room first), else the room
    // the peer book last saw it in, else the API's room.
    send(peerId, data) {
        try {
            return this.peer.sendDirect(peerId, encodeData(data), this.roomOf(peerId));
        } catch (e) {
            return Promise.reject(e);
        }
    }

    roomOf(peerId) {
        const rooms = this.peer.peers().filter((p) => p.peerId === peerId).map((p) => p.room);
        if (rooms.includes(this.room)) return this.room;
        if (rooms.length) return rooms[0];
        const known = this.peer.book.get(peerId);
        const joined = new Set([...this.peer.rooms.values()].map((r) => r.name));
        if (known && !known.rooms.includes(this.room))
            for (const r of known.rooms) if (joined.has(r)) return r;
        return this.room;
    }

    // Direct messages not acknowledged yet.
    pending() {
        return this.peer.pendingDirect();
    }

    // ---- events ----
    on(event, handler) {
        const set = this.handlers.get(event);
        if (!set) throw new TypeError(`unknown event '${event}' (one of ${EVENTS.join(', ')})`);
        if (typeof handler !== 'function') throw new TypeError('the handler is not a function');
        set.add(handler);
        return () => this.off(event, handler);
    }

    off(event, handler) {
        const set = this.handlers.get(event);
        if (!set) throw new TypeError(`unknown event '${event}' (one of ${EVENTS.join(', ')})`);
        return set.delete(handler);
    }

    // ---- shared state ----
    getSharedState(name) {
        let s = this.states.get(name);
        if (!s) {
            s = new SharedState(this, String(name));
            this.states.set(s.name, s);
        }
        return s;
    }

    // ---- metrics ----
    // { network, sync, health } with the fields and units of the native
    // node's `pkc status --json` (peer.js metrics()).
    metrics() {
        if (typeof this.peer.metrics !== 'function') throw new Error('metrics: not in this build of the page');
        return this.peer.metrics();
    }
}

export function createP2P(peer, options) {
    return new P2P(peer, options);
}

export default createP2P;
