// peer.js: the browser peer's JavaScript host (docs/web.md, "The browser
// peer"). It owns what only a browser has: RTCPeerConnections and their data
// channels, the BroadcastChannel on which tabs of one origin find each other,
// and the timers. Everything said over a data channel (the pkc session and
// its handshake, the rooms' meshes, broadcasts, document sync) is pkc's core
// in pkc.wasm (web/src/peer.c), bound exactly as the native node binds it.
//
//   import { load } from './pkc.js';
//   import { Peer } from './peer.js';
//   const pkc = await load();
//   const peer = new Peer(pkc, pkc.generateIdentity());
//   peer.addEventListener('message', (e) => e.detail.from, e.detail.text);
//   peer.start();                       // joins the local room, says hello to other tabs
//   peer.broadcast('hi');
//   const note = peer.doc('note');      // a Yjs document shared by the room

import { Doc } from './pkc.js';

const CHANNEL_LABEL = 'pkc';                 // the node's data channel label
const TAB_CHANNEL = 'pkc-tabs-v1';           // the BroadcastChannel's name
const TAB_SIGNAL_LABEL = 'pkc-tab-signal-v1';
const TAB_SIGNAL_MAX_SKEW_MS = 60000;        // signals older or newer are refused
const GATHER_TIMEOUT_MS = 5000;              // ICE gathering, then the SDP is sent as it is
const CONNECT_TIMEOUT_MS = 20000;            // as the node: a link not connected by then is closed
const LINGER_MS = 2000;                      // a closing link's channels flush this long at most
const RETRY_FIRST_MS = 1000, RETRY_MAX_MS = 60000, RETRY_ATTEMPTS = 10; // as the mesh's defaults
const PEER_ID_SIZE = 64;                     // PKC_PEER_ID_SIZE, with room to spare
const INVITE_ONE_STEP = 1;                   // an invitation's flag (invite.h)
const INVITE_SKEW_MS = 300000;               // PKC_INVITE_SKEW_MS
const OUTBOX_RETRY_MS = 5000;                // as the node's outbox_retry_ms
const DIRECT_MAX_AGE_MS = 7 * 24 * 3600 * 1000; // NODE_DIRECT_MAX_AGE_MS: older copies are refused
const DIRECT_TEXT_MAX = 60000;               // bytes of UTF-8, as a broadcast

// Reasons a session ends (docs/protocol.md, "Session handshake").
const REASONS = ['none', 'protocol', 'version', 'fingerprint', 'auth', 'unauthorized', 'pow',
    'blocked', 'wrong-peer', 'self', 'timeout', 'shutdown'];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function b64u(bytes) {
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function unb64u(text) {
    const s = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

// The SHA-256 certificate fingerprint of an SDP (a=fingerprint), as bytes.
export function sdpFingerprint(sdp) {
    const m = /^a=fingerprint:sha-256 ([0-9A-Fa-f:]+)\s*$/m.exec(sdp || '');
    if (!m) return null;
    const bytes = m[1].split(':').map((h) => parseInt(h, 16));
    return bytes.length === 32 && bytes.every((b) => b >= 0 && b < 256) ? Uint8Array.from(bytes)
        : null;
}

// NODE_RTC_MESSAGE_MAX (src/node/node_int.h): the largest message a
// node's data channel takes, PKC_FRAME_SIZE_MAX + 4096.
const NODE_RTC_MESSAGE_MAX = 1048576 + 4096;

// The answer a native node's ICE-lite listener gives, made from its
// invitation as the native dialer makes it (node_conn.c build_lite_answer,
// pkc_sdp_write_lite_answer): one data channel section with the offer's
// mid, ice-lite, the listener's credentials and certificate fingerprint,
// setup passive (we are the DTLS client), its max-message-size, and the
// invitation's addresses as host candidates.
export function liteAnswer(offerSdp, inv) {
    const mid = (/^a=mid:(\S+)\s*$/m.exec(offerSdp) || [null, '0'])[1];
    const fp = [...inv.fingerprint].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
    const lines = ['v=0', 'o=- 1 1 IN IP4 0.0.0.0', 's=-', 't=0 0', `a=group:BUNDLE ${mid}`,
        'a=ice-lite', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0',
        `a=mid:${mid}`, `a=ice-ufrag:${inv.ufrag}`, `a=ice-pwd:${inv.pwd}`,
        `a=fingerprint:sha-256 ${fp}`, 'a=setup:passive', 'a=sctp-port:5000',
        `a=max-message-size:${NODE_RTC_MESSAGE_MAX}`];
    inv.addresses.forEach((a, i) => {
        const m = /^udp:(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):(\d+)$/.exec(a);
        if (!m) return; // checked by the codec: cannot be
        const prio = 126 * 2 ** 24 + (65535 - i) * 256 + 255;
        lines.push(`a=candidate:${i + 1} 1 udp ${prio} ${m[1] || m[2]} ${m[3]} typ host`);
    });
    lines.push('a=end-of-candidates');
    return lines.join('\r\n') + '\r\n';
}

// The dial information of an SDP of ours: ICE ufrag and pwd, the
// certificate's fingerprint, and the UDP candidates with an IP address
// (host, srflx: an mDNS name cannot go in a code) as "udp:IP:PORT" lines.
export function sdpDial(sdp) {
    const ufrag = (/^a=ice-ufrag:(\S+)\s*$/m.exec(sdp) || [])[1];
    const pwd = (/^a=ice-pwd:(\S+)\s*$/m.exec(sdp) || [])[1];
    const fingerprint = sdpFingerprint(sdp);
    const addresses = [];
    for (const m of sdp.matchAll(/^a=candidate:\S+ 1 udp \d+ (\S+) (\d+) typ (host|srflx)\b.*$/gim)) {
        const ip = m[1].toLowerCase();
        if (/^[0-9.]+$/.test(ip)) addresses.push(`udp:${ip}:${m[2]}`);
        else if (/^[0-9a-f:]+$/.test(ip)) addresses.push(`udp:[${ip}]:${m[2]}`);
    }
    if (!ufrag || !pwd || !fingerprint) throw new Error('the browser\'s SDP has no ICE credentials or fingerprint');
    return { ufrag, pwd, fingerprint, addresses: addresses.join('\n') };
}

// The description of the other side made from an invitation or an answer
// (its dial information): one data channel section with `mid`, full ICE
// (a page's is a full agent; a native listener, ICE-lite, answers a full
// agent's checks as well), its credentials, fingerprint and addresses as
// host candidates, and `setup` (an invitation: active, so that the invitee
// is the DTLS server, as a native listener is; an answer: passive).
export function dialSdp(mid, setup, d) {
    const fp = [...d.fingerprint].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
    const lines = ['v=0', 'o=- 1 1 IN IP4 0.0.0.0', 's=-', 't=0 0', `a=group:BUNDLE ${mid}`,
        'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0',
        `a=mid:${mid}`, `a=ice-ufrag:${d.ufrag}`, `a=ice-pwd:${d.pwd}`,
        `a=fingerprint:sha-256 ${fp}`, `a=setup:${setup}`, 'a=sctp-port:5000',
        `a=max-message-size:${NODE_RTC_MESSAGE_MAX}`];
    d.addresses.forEach((a, i) => {
        const m = /^udp:(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):(\d+)$/.exec(a);
        if (!m) return; // checked by the codec: cannot be
        const prio = 126 * 2 ** 24 + (65535 - i) * 256 + 255;
        lines.push(`a=candidate:${i + 1} 1 udp ${prio} ${m[1] || m[2]} ${m[3]} typ host`);
    });
    lines.push('a=end-of-candidates');
    return lines.join('\r\n') + '\r\n';
}

function compare(a, b) {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
    return 0;
}

export class Peer extends EventTarget {
    // options: { store (a store.js Store whose identity this is: rooms and
    // documents are kept there; restore() before start()), channel
    // (BroadcastChannel name), tamper (tests only:
    // 'signal' changes our offers after signing them, 'fingerprint' gives
    // our sessions a wrong local fingerprint) }
    constructor(pkc, identity, options = {}) {
        super();
        this.pkc = pkc;
        this.x = pkc.x;
        this.identity = identity;
        this.options = options;
        this.peerId = identity.peerId;
        this.hash = this.peerHash(this.peerId);
        this.links = new Map();     // peer id -> link
        this.chans = new Map();     // channel handle -> { link, room, dc, peerId, established }
        this.rooms = new Map();     // room handle -> { name, handle, id }
        this.tabs = new Map();      // peer id -> { publicKey, seenMs }
        this.seenSignals = new Map(); // signature -> expiry (replays refused)
        this.retries = new Map();   // peer id -> failed attempts in a row
        this.errors = [];
        this.counts = { received: 0, sent: 0, errors: 0 }; // for metrics()
        this.timer = null;
        this.kickQueued = false;
        this.store = options.store || null;
        this.restoring = false;
        this.handle = pkc.call((out) => {
            pkc.check(this.x.pkcw_peer_new(identity.handle, out));
            return pkc.u32(out);
        }, [], 1);
        this.initDirect();
        pkc.setHost(this.hostCallbacks());
    }

    // ---- the core's callbacks (pkc_host imports) ----
    hostCallbacks() {
        const pkc = this.pkc;
        return {
            chan_send: (chan, ptr, len) => {
                const c = this.chans.get(chan >>> 0);
                if (!c) return 1;
                try {
                    c.dc.send(pkc.bytes(ptr >>> 0, len >>> 0));
                    return 0;
                } catch (e) {
                    this.emit('log', { level: 1, text: `a record to ${c.link.peerId} not sent ` +
                        `(data channel ${c.dc.readyState}): ${e.message}` });
                    return 1;
                }
            },
            chan_established: (chan, room, idPtr) => {
                const c = this.chans.get(chan >>> 0);
                if (!c) return;
                c.established = true;
                c.peerId = pkc.cstring(idPtr >>> 0);
                c.room = room >>> 0;
                if (c.link) c.link.state = 'connected';
                this.retries.delete(c.peerId);
                this.emit('peer:connect', { peerId: c.peerId, room: this.roomName(c.room) });
            },
            chan_closed: (chan, reason, byPeer, authenticated, textPtr) => {
                const c = this.chans.get(chan >>> 0);
                const text = pkc.cstring(textPtr >>> 0);
                if (!c) return;
                const who = c.peerId || (c.link && c.link.peerId) || 'a peer';
                if (reason !== 0)
                    this.error(`session with ${who} refused (${REASONS[reason] || reason}): ${text}` +
                        (byPeer && !authenticated ? ' (said by the peer, unauthenticated)' : ''),
                        { reason, byPeer: !!byPeer, authenticated: !!authenticated });
                const was = c.established;
                c.closed = true;
                if (reason !== 0 && c.link) c.link.refused = true; // not retried
                this.emit('log', { level: 1, text: `session with ${who} ended: ${text} (reason ${reason})` });
                // The handle is freed after this callback has returned.
                queueMicrotask(() => this.dropChan(chan >>> 0));
                if (was) this.emit('peer:disconnect', { peerId: who, reason, text });
                // Refused in its handshake (a node refuses there an invitation
                // that no longer admits, or when its room is full): never
                // connected, so no peer:disconnect.
                else if (byPeer) this.emit('peer:refused', { peerId: who, reason, text });
            },
            message: (room, fromPtr, idPtr, ptr, len, timestampMs) => {
                const data = pkc.bytes(ptr >>> 0, len >>> 0);
                this.counts.received++;
                this.emit('message', {
                    from: pkc.cstring(fromPtr >>> 0), id: hex(pkc.bytes(idPtr >>> 0, 16)),
                    room: this.roomName(room >>> 0), data, text: decoder.decode(data),
                    timestamp: timestampMs,
                });
            },
            doc_changed: (room, namePtr, local, ptr, len) => {
                const name = pkc.cstring(namePtr >>> 0);
                // Kept, and a local change broadcast once its write has
                // committed (DOC_HELD): docs/web.md, "Persistence".
                let held = 0;
                if (this.store && !this.restoring)
                    held = this.keepUpdate(room >>> 0, name, pkc.bytes(ptr >>> 0, len >>> 0), !!local);
                this.emit('doc', { room: this.roomName(room >>> 0), name, local: !!local });
                return held;
            },
            mesh_connect: (room, peerPtr) => {
                // The mesh wants a peer: tabs are connected as soon as they
                // are heard of, so one we have no link to is unknown here;
                // the mesh retries it later.
                const hash = pkc.bytes(peerPtr >>> 0, 20);
                for (const link of this.links.values())
                    if (compare(link.hash, hash) === 0) return;
                queueMicrotask(() => {
                    const [p] = pkc.put(hash);
                    try { this.x.pkcw_room_connect_failed(room >>> 0, p); } finally { this.x.free(p); }
                    this.kick();
                });
            },
            log: (level, textPtr) => {
                const text = pkc.cstring(textPtr >>> 0);
                if (level >= 2) this.error(text);
                else this.emit('log', { level, text });
            },
            ...this.directCallbacks(),
        };
    }

    emit(type, detail) {
        this.dispatchEvent(new CustomEvent(type, { detail }));
    }

    error(message, extra = {}) {
        const e = { message, time: Date.now(), ...extra };
        this.counts.errors++;
        this.errors.push(e);
        if (this.errors.length > 100) this.errors.shift();
        this.emit('error', e);
    }

    peerHash(peerId) {
        const pkc = this.pkc;
        const [s] = pkc.put(peerId);
        const out = pkc.alloc(20);
        return pkc.call(() => {
            pkc.check(this.x.pkcw_peer_id_hash(s, out));
            return pkc.bytes(out, 20);
        }, [s, out]);
    }

    roomName(handle) {
        const r = this.rooms.get(handle);
        return r ? r.name : null;
    }

    // ---- the loop: the core's deadlines as one timer ----
    kick() {
        if (this.kickQueued) return;
        this.kickQueued = true;
        queueMicrotask(() => {
            this.kickQueued = false;
            this.tick();
        });
    }

    tick() {
        if (!this.handle) return;
        clearTimeout(this.timer);
        this.timer = null;
        const ms = this.x.pkcw_tick(this.handle);
        if (ms >= 0) this.timer = setTimeout(() => this.tick(), Math.min(Math.ceil(ms), 0x7fffffff));
    }

    // ---- rooms, messages, documents ----
    // Joins a room by its 32-byte secret; the local room when none is given.
    joinRoom(name = 'local', secret = null) {
        const pkc = this.pkc;
        if (!secret) {
            const out = pkc.alloc(32);
            secret = pkc.call(() => {
                this.x.pkcw_local_room_secret(out);
                return pkc.bytes(out, 32);
            }, [out]);
        }
        const [s] = pkc.put(secret);
        const handle = pkc.call((out) => {
            pkc.check(this.x.pkcw_room_join(this.handle, s, out));
            return pkc.u32(out);
        }, [s], 1);
        const id = hex(pkc.bytes(this.x.pkcw_room_id(handle), 8));
        if (!this.rooms.has(handle)) {
            this.rooms.set(handle, { name, handle, id });
            if (this.store && name !== 'local' && !this.restoring)
                this.store.saveRoom(id, name, secret).catch((e) => this.storeFailed(`room ${name}`, e));
            this.tabRoomJoined(handle, name, secret);
        }
        this.kick();
        return handle;
    }

    // ---- persistence (docs/web.md, "Persistence") ----
    storeHash(bytes) {
        const pkc = this.pkc;
        const [p, n] = pkc.put(bytes);
        const out = pkc.alloc(16);
        return pkc.call(() => {
            this.x.pkcw_store_hash(p, n, out);
            return pkc.bytes(out, 16);
        }, [p, out]);
    }

    // Appends an update to the store. A local one is held (returns
    // DOC_HELD, 2) and broadcast when its write has committed, or has failed
    // (shown): a change is sent only once it is kept, where it can be.
    keepUpdate(room, name, update, local) {
        const r = this.rooms.get(room);
        if (!r) return 0;
        const written = this.store.appendUpdate(r.id, name, update, this.storeHash(update))
            .catch((e) => this.storeFailed(`document ${name}`, e));
        if (!local) return 0;
        written.then(() => this.sendHeld(room, name, update));
        return 2;
    }

    sendHeld(room, name, update) {
        if (!this.handle || !this.rooms.has(room)) return;
        const pkc = this.pkc;
        const [n] = pkc.put(name);
        const [p, len] = pkc.put(update);
        pkc.call(() => this.x.pkcw_room_doc_send(room, n, p, len), [n, p]);
        this.kick();
    }

    storeFailed(what, e) {
        this.error(`${what}: not kept in this browser's storage: ${e && e.message || e}`);
    }

    // Rejoins the rooms kept and restores the documents from their updates
    // (each checked against its hash: a damaged one is dropped, shown, and
    // what it held comes back from peers at the next sync), then compacts
    // each document to one update. Call before start().
    async restore() {
        if (!this.store) return;
        await this.restoreDirect();
        const pkc = this.pkc;
        const rooms = await this.store.rooms();
        const updates = await this.store.updates();
        this.restoring = true;
        const docs = new Map(); // "room\0doc" -> { room, doc, seqs, handle }
        try {
            if (this.rooms.size === 0) this.joinRoom();
            for (const r of rooms) {
                try {
                    if (!(r.secret instanceof Uint8Array) || r.secret.length !== 32)
                        throw new Error('its secret is damaged');
                    const h = this.joinRoom(r.name, r.secret);
                    if (this.rooms.get(h).id !== r.room) throw new Error('its secret is damaged');
                } catch (e) {
                    this.error(`kept room ${r.name}: not rejoined: ${e.message}`);
                }
            }
            const byId = new Map([...this.rooms.values()].map((r) => [r.id, r]));
            for (const u of updates) {
                const key = `${u.room}\0${u.doc}`;
                let d = docs.get(key);
                if (!d) docs.set(key, d = { room: byId.get(u.room), roomId: u.room, doc: u.doc, seqs: [],
                    handle: 0 });
                d.seqs.push(u.seq);
                if (!d.room) continue; // a room no longer kept: dropped
                const ok = u.update instanceof Uint8Array && u.hash instanceof Uint8Array &&
                    u.hash.length === 16 && compare(this.storeHash(u.update), u.hash) === 0;
                if (!ok) {
                    this.error(`document ${u.doc} (room ${d.room.name}): a kept update (#${u.seq}) is ` +
                        'damaged (its hash does not match); dropped: the document is fetched again ' +
                        'from peers', { damaged: { room: d.room.name, doc: u.doc, seq: u.seq } });
                    continue;
                }
                const [n] = pkc.put(u.doc);
                const [p, len] = pkc.put(u.update);
                try {
                    pkc.call(() => pkc.check(this.x.pkcw_room_doc_restore(d.room.handle, n, p, len)), [n, p]);
                } catch (e) {
                    this.error(`document ${u.doc} (room ${d.room.name}): a kept update (#${u.seq}) ` +
                        `does not apply (${e.message}); dropped: the document is fetched again from peers`,
                        { damaged: { room: d.room.name, doc: u.doc, seq: u.seq } });
                }
            }
        } finally {
            this.restoring = false;
        }
        // Compaction: one update per document, its whole state.
        const writes = [];
        for (const d of docs.values()) {
            if (!d.room) {
                writes.push(this.store.compact(d.roomId, d.doc, d.seqs, null, null).catch(() => {}));
                continue;
            }
            const state = this.doc(d.doc, d.room.name).encodeState();
            writes.push(this.store.compact(d.room.id, d.doc, d.seqs, state, this.storeHash(state))
                .catch((e) => this.storeFailed(`document ${d.doc}`, e)));
        }
        await Promise.all(writes);
    }

    room(name = 'local') {
        for (const r of this.rooms.values()) if (r.name === name) return r.handle;
        throw new Error(`not in room ${name}`);
    }

    // A text to everyone in the room: a signed DATA frame encrypted with the
    // room key, spread by the room's mesh. Returns its message id (hex).
    broadcast(text, roomName = 'local') {
        const pkc = this.pkc;
        const [d, dlen] = pkc.put(text);
        const id = pkc.alloc(16);
        try {
            return pkc.call(() => {
                pkc.check(this.x.pkcw_room_broadcast(this.room(roomName), d, dlen, id));
                this.counts.sent++;
                return hex(pkc.bytes(id, 16));
            }, [d, id]);
        } finally {
            this.kick();
        }
    }

    // The room's document `name` (a pkc.js Doc); edit it inside
    // peer.change(() => ...) so that its updates go to the room.
    doc(name, roomName = 'local') {
        const pkc = this.pkc;
        const [n] = pkc.put(name);
        const handle = pkc.call(() => this.x.pkcw_room_doc(this.room(roomName), n), [n]);
        this.kick();
        if (!handle) throw new Error(`document ${name}: ${pkc.cstring(this.x.pkc_errmsg())}`);
        return new Doc(pkc, handle); // owned by the room: not to be freed
    }

    // Runs fn (edits of documents); what they make is sent when it returns.
    change(fn) {
        this.x.pkcw_begin(this.handle);
        try {
            return fn();
        } finally {
            this.x.pkcw_end(this.handle);
            this.kick();
        }
    }

    // Connected peers: [{ peerId, room, rttMs }].
    peers() {
        const out = [];
        const idBuf = this.pkc.alloc(PEER_ID_SIZE + 8);
        try {
            for (const [handle, c] of this.chans) {
                if (!c.established || c.closed) continue;
                const state = this.x.pkcw_chan_state(handle, idBuf, idBuf + PEER_ID_SIZE);
                const rtt = new DataView(this.x.memory.buffer).getFloat64(idBuf + PEER_ID_SIZE, true);
                if (state === 1)
                    out.push({ peerId: c.peerId, room: this.roomName(c.room), rttMs: rtt ? rtt / 1000 : null });
            }
        } finally {
            this.x.free(idBuf);
        }
        return out;
    }

    // ---- BroadcastChannel: tabs of this origin ----
    start() {
        this.startedAt = performance.now();
        if (this.rooms.size === 0) this.joinRoom();
        if (typeof BroadcastChannel !== 'undefined') {
            this.bc = new BroadcastChannel(this.options.channel || TAB_CHANNEL);
            this.bc.onmessage = (ev) => this.onTabSignal(ev.data);
            this.sendSignal({ kind: 'hello' });
            this.onUnload = () => this.stop();
            globalThis.addEventListener?.('pagehide', this.onUnload);
        }
        this.kick();
    }

    stop() {
        this.stopped = true;
        if (this.bc) {
            this.sendSignal({ kind: 'bye' });
            this.bc.close();
            this.bc = null;
        }
        for (const link of [...this.links.values()]) this.closeLink(link, 'stopped');
    }

    // A signed signal (docs/web.md, "Tab signaling"): the fields as one JSON
    // text `m`, and the Ed25519 signature of "pkc-tab-signal-v1\0" + m.
    sendSignal(fields) {
        if (!this.bc) return;
        const body = { v: 1, from: this.peerId, pk: b64u(this.identity.publicKey), to: '',
            conn: '', t: Date.now(), body: '', ...fields };
        const m = JSON.stringify(body);
        const sig = this.identity.sign(encoder.encode(`${TAB_SIGNAL_LABEL}\0${m}`));
        let msg = { m, s: b64u(sig) };
        if (this.options.tamper === 'signal' && (fields.kind === 'offer' || fields.kind === 'answer'))
            msg = { m: m.replace('a=setup:', 'a=setup: '), s: msg.s };
        this.bc.postMessage(msg);
    }

    // Checks a signal; the fields, or null (refused, with a reason shown).
    checkSignal(data) {
        let f, pk, sig;
        try {
            if (typeof data !== 'object' || typeof data.m !== 'string' || typeof data.s !== 'string' ||
                data.m.length > 65536)
                throw new Error('not a signal');
            f = JSON.parse(data.m);
            if (f.v !== 1 || typeof f.from !== 'string' || typeof f.pk !== 'string' ||
                typeof f.kind !== 'string' || typeof f.to !== 'string' || typeof f.t !== 'number' ||
                typeof f.conn !== 'string' || typeof f.body !== 'string')
                throw new Error('malformed');
            pk = unb64u(f.pk);
            sig = unb64u(data.s);
        } catch (e) {
            this.error(`a tab signal refused: ${e.message}`);
            return null;
        }
        if (f.from === this.peerId) return null;
        if (f.to !== '' && f.to !== this.peerId) return null; // for another tab
        let why = null;
        if (pk.length !== 32 || this.pkc.peerIdFromPublicKey(pk) !== f.from)
            why = 'its key is not its peer id\'s';
        else if (!this.pkc.verify(pk, encoder.encode(`${TAB_SIGNAL_LABEL}\0${data.m}`), sig))
            why = 'bad signature';
        else if (Math.abs(Date.now() - f.t) > TAB_SIGNAL_MAX_SKEW_MS)
            why = 'too old or from the future';
        else if (this.seenSignals.has(data.s))
            why = 'a replay';
        if (why) {
            this.error(`a ${f.kind} signal from ${f.from} refused: ${why}`);
            return null;
        }
        const now = Date.now();
        for (const [k, exp] of this.seenSignals) if (exp < now) this.seenSignals.delete(k);
        this.seenSignals.set(data.s, now + 2 * TAB_SIGNAL_MAX_SKEW_MS);
        return f;
    }

    onTabSignal(data) {
        const f = this.checkSignal(data);
        if (!f) return;
        this.tabs.set(f.from, { seenMs: Date.now() });
        switch (f.kind) {
        case 'hello':
            this.sendSignal({ kind: 'here', to: f.from });
            this.tabRoomsTo(f.from);
            this.maybeDial(f.from);
            break;
        case 'room':
            this.onTabRoom(f);
            break;
        case 'here':
            this.tabRoomsTo(f.from);
            this.maybeDial(f.from);
            break;
        case 'offer':
            this.onOffer(f).catch((e) => this.error(`offer from ${f.from}: ${e.message}`));
            break;
        case 'answer': {
            const link = this.links.get(f.from);
            if (!link || link.conn !== f.conn || !link.outbound || link.answered) return;
            link.answered = true;
            link.pc.setRemoteDescription({ type: 'answer', sdp: f.body })
                .then(link.remoteResolve, (e) => this.error(`answer from ${f.from}: ${e.message}`));
            break;
        }
        case 'bye': {
            const link = this.links.get(f.from);
            this.tabs.delete(f.from);
            if (link) this.closeLink(link, 'the tab left');
            break;
        }
        default:
            break; // a later kind: ignored
        }
    }

    // ---- invitations of native nodes (docs/web.md, "Accepting an invitation") ----
    // Reads a "PKCI1..." code or a "BASE#CODE" link: decoded and checked in
    // pkc.wasm by the node's own codec (syntax, the inviter's signature,
    // the time on this page's clock); throws an Error whose message says
    // what is wrong. Then joins the invitation's room and dials the
    // inviter's ICE-lite listener as a native invitee does. Resolves to
    // { peerId, room, roomId, expires } at once; 'peer:connect' follows.
    // An invitation without the ONE_STEP flag (a page's, whose inviter has
    // no listener) is not dialed: info.answer is { code, url }, the answer
    // for a person to send back to the inviter (see answerInvitation).
    async acceptInvitation(text) {
        const inv = this.readInvitation(text);
        if (this.links.has(inv.peerId))
            throw new Error(`invitation: already connected to its inviter ${inv.peerId}`);
        if (!(inv.flags & INVITE_ONE_STEP)) return this.answerInvitation(inv);
        const name = inv.roomName || `room ${inv.id}`;
        const room = this.joinRoom(name, inv.secret);
        const info = { peerId: inv.peerId, room: this.roomName(room),
            roomId: this.rooms.get(room).id, expires: inv.expires };
        this.dialInviter(inv, room).catch((e) => this.error(`dialing the inviter ${inv.peerId}: ${e.message}`));
        return info;
    }

    readInvitation(text) {
        const pkc = this.pkc;
        const [t, tlen] = pkc.put(String(text));
        const [me] = pkc.put(this.peerId);
        let handle;
        try {
            handle = pkc.call((out) => {
                pkc.check(this.x.pkcw_invite_parse(t, tlen, Date.now(), me, out));
                return pkc.u32(out);
            }, [t, me], 1);
        } catch (e) {
            throw new Error(e.errName ? e.message.slice(e.errName.length + 2) : e.message);
        }
        try {
            const [peerId, ufrag, pwd, expires, roomName, ...addresses] =
                pkc.cstring(this.x.pkcw_invite_text(handle)).split('\n');
            return {
                peerId, ufrag, pwd, expires: Number(expires), roomName, addresses,
                id: hex(pkc.bytes(this.x.pkcw_invite_id(handle), 8)),
                fingerprint: pkc.bytes(this.x.pkcw_invite_fingerprint(handle), 32),
                secret: pkc.bytes(this.x.pkcw_invite_room_secret(handle), 32),
                token: pkc.bytes(this.x.pkcw_invite_token(handle), 32),
                flags: this.x.pkcw_invite_flags(handle),
                text: String(text),
            };
        } finally {
            this.x.pkcw_invite_free(handle);
        }
    }

    // The native invitee's dial (node_conn.c): our offer with one channel
    // for the room, and the answer the inviter's listener would give, built
    // from the invitation (docs/node.md, "Connections").
    async dialInviter(inv, room) {
        const link = this.newLink(inv.peerId, this.peerHash(inv.peerId), true, `invite-${inv.id}`);
        link.invite = { room, token: inv.token };
        const dc = link.pc.createDataChannel(CHANNEL_LABEL, { ordered: true });
        this.attachChannel(link, dc, room);
        const offer = await link.pc.createOffer();
        await link.pc.setLocalDescription(offer);
        if (link.closed) return;
        const answer = liteAnswer(offer.sdp, inv);
        await link.pc.setRemoteDescription({ type: 'answer', sdp: answer });
        link.remoteResolve();
        this.emit('log', { level: 1, text: `dialing the inviter ${inv.peerId} at ${inv.addresses.join(', ')}` });
    }

    // The smaller peer id hash dials, as natively.
    maybeDial(peerId) {
        if (this.links.has(peerId)) return;
        const hash = this.peerHash(peerId);
        if (compare(this.hash, hash) >= 0) return;
        this.dial(peerId, hash).catch((e) => this.error(`dialing ${peerId}: ${e.message}`));
    }

    newLink(peerId, hash, outbound, conn, existing = null) {
        const pc = existing || new RTCPeerConnection({ iceServers: [] });
        const link = { peerId, hash, outbound, conn, pc, state: 'connecting', dcs: [] };
        // A data channel may open before setRemoteDescription() has
        // resolved (and pc.remoteDescription is set): sessions wait for it.
        link.remoteSet = new Promise((resolve) => { link.remoteResolve = resolve; });
        this.links.set(peerId, link);
        link.timer = setTimeout(() => {
            if (![...this.chans.values()].some((c) => c.link === link && c.established))
                this.closeLink(link, 'not connected in time', true);
        }, CONNECT_TIMEOUT_MS);
        pc.onconnectionstatechange = () => {
            if (pc.connectionState === 'failed' || pc.connectionState === 'closed')
                this.closeLink(link, `connection ${pc.connectionState}`, true);
        };
        return link;
    }

    async dial(peerId, hash) {
        const conn = b64u(crypto.getRandomValues(new Uint8Array(9)));
        const link = this.newLink(peerId, hash, true, conn);
        link.roomsDialed = new Set(this.rooms.keys());
        // A channel per room, label "pkc", reliable and ordered.
        for (const room of this.rooms.keys()) {
            const dc = link.pc.createDataChannel(CHANNEL_LABEL, { ordered: true });
            this.attachChannel(link, dc, room);
        }
        await link.pc.setLocalDescription(await link.pc.createOffer());
        await this.gathered(link.pc);
        if (this.links.get(peerId) !== link) return;
        this.sendSignal({ kind: 'offer', to: peerId, conn, body: link.pc.localDescription.sdp });
    }

    async onOffer(f) {
        const hash = this.peerHash(f.from);
        if (compare(hash, this.hash) >= 0) {
            this.error(`an offer from ${f.from} refused: the smaller peer id dials`);
            return;
        }
        const old = this.links.get(f.from);
        if (old) this.closeLink(old, 'replaced by a new connection'); // the tab reloaded
        const link = this.newLink(f.from, hash, false, f.conn);
        link.pc.ondatachannel = (ev) => this.attachChannel(link, ev.channel, null);
        await link.pc.setRemoteDescription({ type: 'offer', sdp: f.body });
        link.remoteResolve();
        await link.pc.setLocalDescription(await link.pc.createAnswer());
        await this.gathered(link.pc);
        if (this.links.get(f.from) !== link) return;
        this.sendSignal({ kind: 'answer', to: f.from, conn: f.conn, body: link.pc.localDescription.sdp });
    }

    gathered(pc) {
        if (pc.iceGatheringState === 'complete') return Promise.resolve();
        return new Promise((resolve) => {
            const t = setTimeout(resolve, GATHER_TIMEOUT_MS);
            pc.addEventListener('icegatheringstatechange', () => {
                if (pc.iceGatheringState === 'complete') {
                    clearTimeout(t);
                    resolve();
                }
            });
        });
    }

    // A data channel of the link: the dialer's (room known) or one the
    // dialer opened (room learnt from the proof in the handshake).
    attachChannel(link, dc, room) {
        if (dc.label !== CHANNEL_LABEL || dc.ordered === false || dc.maxRetransmits !== null ||
            dc.maxPacketLifeTime !== null) {
            this.error(`a data channel "${dc.label}" from ${link.peerId} that is not pkc's, closed`);
            dc.close();
            return;
        }
        dc.binaryType = 'arraybuffer';
        link.dcs.push(dc);
        let chan = 0;
        const pending = [];
        let opening = false;
        dc.onopen = async () => {
            if (chan || opening) return;
            opening = true;
            await link.remoteSet;
            if (link.closed) return;
            try {
                chan = this.openChan(link, dc, room);
                for (const m of pending) this.receive(chan, m);
            } catch (e) {
                this.error(`session with ${link.peerId} not started: ${e.message}`);
                this.closeLink(link, 'no session', true);
            }
        };
        // A channel the peer opened may be open already when announced.
        if (dc.readyState === 'open') queueMicrotask(() => dc.onopen());
        dc.onmessage = (ev) => {
            if (typeof ev.data === 'string') return; // pkc's records are binary
            if (chan) this.receive(chan, new Uint8Array(ev.data));
            else pending.push(new Uint8Array(ev.data));
        };
        dc.onclose = () => {
            if (!chan || !this.chans.has(chan)) return;
            this.x.pkcw_chan_transport_closed(chan);
            this.kick();
        };
    }

    openChan(link, dc, room) {
        const pkc = this.pkc;
        let local = sdpFingerprint(link.pc.localDescription && link.pc.localDescription.sdp);
        const remote = sdpFingerprint(link.pc.remoteDescription && link.pc.remoteDescription.sdp);
        if (!local || !remote) {
            const d = (desc) => (desc ? `${desc.type}: ${(/^a=fingerprint:.*$/m.exec(desc.sdp) || ['none'])[0]}`
                : 'none');
            throw new Error(`no SHA-256 fingerprint in the ${local ? 'remote' : 'local'} SDP ` +
                `(local ${d(link.pc.localDescription)}; remote ${d(link.pc.remoteDescription)})`);
        }
        if (this.options.tamper === 'fingerprint') {
            local = local.slice();
            local[0] ^= 1;
        }
        const ins = [];
        const keep = (d) => {
            const r = pkc.put(d);
            ins.push(r[0]);
            return r;
        };
        const [lf, lfl] = keep(local);
        const [rf, rfl] = keep(remote);
        const [ep] = room ? keep(link.peerId) : [0];
        // A channel to a native inviter proves the invitation's token.
        const [pf] = room && link.invite && link.invite.room === room ? keep(link.invite.token) : [0];
        const handle = pkc.call((out) => {
            const rc = this.x.pkcw_chan_new(this.handle, room || 0, ep, pf, lf, lfl, rf, rfl, out);
            pkc.check(rc);
            return pkc.u32(out);
        }, ins, 1);
        this.chans.set(handle, { link, dc, room, established: false, closed: false });
        pkc.check(this.x.pkcw_chan_start(handle));
        this.kick();
        return handle;
    }

    receive(chan, bytes) {
        const c = this.chans.get(chan);
        if (!c || c.closed) return;
        const [p, n] = this.pkc.put(bytes);
        try {
            this.x.pkcw_chan_receive(chan, p, n);
        } finally {
            this.x.free(p);
        }
        this.kick();
    }

    dropChan(chan) {
        const c = this.chans.get(chan);
        if (!c) return;
        this.chans.delete(chan);
        this.x.pkcw_chan_free(chan);
        try { c.dc.close(); } catch {}
        const link = c.link;
        if (link && ![...this.chans.values()].some((o) => o.link === link))
            this.closeLink(link, 'no channel left', true);
        this.kick();
    }

    // A link that failed (not refused, not closed on purpose) to a tab still
    // there is dialed again, as the mesh retries a peer: after 1 s, doubling
    // to 60 s, 10 times.
    closeLink(link, why, failed = false) {
        if (link.closed) return;
        link.closed = true;
        link.remoteResolve(); // channels waiting for it see the link closed
        if (failed && !link.refused && this.bc && this.tabs.has(link.peerId)) {
            const n = this.retries.get(link.peerId) || 0;
            if (n >= RETRY_ATTEMPTS) {
                this.error(`gave up connecting to ${link.peerId} after ${n} attempts: ${why}`);
            } else {
                this.retries.set(link.peerId, n + 1);
                setTimeout(() => {
                    if (this.bc && !this.links.has(link.peerId) && this.tabs.has(link.peerId))
                        this.maybeDial(link.peerId);
                }, Math.min(RETRY_FIRST_MS * 2 ** n, RETRY_MAX_MS));
            }
        }
        // An inviter we could not reach (a refusal is shown by the session).
        if (failed && link.invite && !link.refused &&
            ![...this.chans.values()].some((c) => c.link === link && c.established))
            this.error(`the ${link.inviting ? 'invitee' : 'inviter'} ${link.peerId} could not be reached: ${why}`);
        clearTimeout(link.timer);
        if (this.links.get(link.peerId) === link) this.links.delete(link.peerId);
        for (const [h, c] of this.chans) {
            if (c.link !== link || c.closed) continue;
            this.x.pkcw_chan_transport_closed(h);
        }
        // The last records (a REFUSE, a DISCONNECT) must still reach the
        // peer: a data channel's close() sends what it holds first, closing
        // the connection would not. So the connection is closed once its
        // channels are (or after LINGER_MS).
        const open = link.dcs.filter((dc) => dc.readyState !== 'closed');
        let left = open.length;
        const done = () => {
            clearTimeout(linger);
            try { link.pc.close(); } catch {}
        };
        const linger = setTimeout(done, LINGER_MS);
        for (const dc of open) {
            dc.addEventListener('close', () => { if (--left === 0) done(); });
            try { dc.close(); } catch {}
        }
        if (left === 0) done();
        this.emit('log', { level: 1, text: `link to ${link.peerId} closed: ${why}` });
        this.kick();
    }

    // ---- metrics (docs/web.md, "The page") ----
    // The page's figures with the names and units of the native node's
    // `pkc status --json` (docs/node.md, "Metrics"), computed in pkc.wasm
    // as the node computes them (pkcw_peer_metrics): messages_per_second
    // and bytes_per_second are the meshes' own rates (sent + received, over
    // the last gossip interval, 5 s). Besides them, the rates in and out
    // (`*_in_per_second`, `*_out_per_second`), from the meshes' counters
    // over the time since the previous sample (taken by a call at least
    // 0.5 s before; 0 until there is one), and `known_peers` (the meshes'
    // estimates of their size). What a page cannot know is null.
    metrics() {
        const N = 16;
        const out = this.pkc.alloc(8 * N);
        let v;
        try {
            const n = this.x.pkcw_peer_metrics(this.handle, out, N);
            const dv = new DataView(this.x.memory.buffer);
            v = Array.from({ length: N }, (_, i) => (i < n ? dv.getFloat64(out + 8 * i, true) : 0));
        } finally {
            this.x.free(out);
        }
        const now = performance.now();
        const sample = { t: now, ms: v[10], mr: v[11], bs: v[12], br: v[13] };
        if (!this.rateSample) {
            this.rateSample = sample;
            this.rates = { mi: 0, mo: 0, bi: 0, bo: 0 };
        } else if (now - this.rateSample.t >= 500) {
            const s = this.rateSample, dt = (now - s.t) / 1000;
            this.rates = { mi: (sample.mr - s.mr) / dt, mo: (sample.ms - s.ms) / dt,
                bi: (sample.br - s.br) / dt, bo: (sample.bs - s.bs) / dt };
            this.rateSample = sample;
        }
        const healthy = this.startedAt !== undefined && !this.stopped;
        const last = this.errors[this.errors.length - 1];
        return {
            network: {
                connected_peers: v[0], total_connections: v[1], messages_per_second: v[2],
                bytes_per_second: v[3], average_latency_ms: v[4],
                messages_in_per_second: this.rates.mi, messages_out_per_second: this.rates.mo,
                bytes_in_per_second: this.rates.bi, bytes_out_per_second: this.rates.bo,
                known_peers: v[14],
            },
            sync: { state_bytes: v[5], pending_updates: v[6], conflicts_resolved: v[7],
                last_sync_ms: v[8] },
            health: {
                healthy, status: healthy ? (v[0] ? 'connected' : 'alone') : 'stopped',
                uptime_ms: healthy ? Math.round(now - this.startedAt) : 0, reconnections: v[9],
                errors: this.counts.errors, last_error: last ? last.message : '',
            },
            messages: { received: this.counts.received, sent: this.counts.sent,
                outbox_pending: this.outbox ? this.outbox.size : 0 },
        };
    }

    // Every peer this page knows, for a peer list: [{ peerId, room, state,
    // route, hops, via, latencyMs }]. Neighbours: state 'connected', route
    // 'direct' (a data channel of our own), latencyMs the mesh's PING/PONG
    // round trip (the figure average_latency_ms averages; the session's
    // until the mesh has one; null until either has). Links being set up:
    // 'connecting'. Peers the rooms' meshes know only through neighbours
    // (pkcw_room_known, as the node's pkc_node_get_relayed_peers): state
    // 'known', route 'relayed' (hops, via: the neighbour it goes through),
    // 'waypoint', or 'none' (heard of, no route now).
    peerList() {
        const known = new Map(); // room handle -> lines
        for (const r of this.rooms.values()) {
            const p = this.x.pkcw_room_known(r.handle);
            if (!p) continue;
            try {
                known.set(r.handle, this.pkc.cstring(p).split('\n').filter(Boolean).map((l) => l.split(' ')));
            } finally {
                this.x.free(p);
            }
        }
        const rtt = new Map();
        for (const lines of known.values())
            for (const [peerId, route, , , , , ms] of lines)
                if (route === 'direct' && Number(ms) >= 0) rtt.set(peerId, Number(ms));
        const list = this.peers().map((p) => ({ peerId: p.peerId, room: p.room, state: 'connected',
            route: 'direct', hops: 1, via: null,
            latencyMs: rtt.has(p.peerId) ? rtt.get(p.peerId) : p.rttMs }));
        const seen = new Set(list.map((p) => p.peerId));
        for (const link of this.links.values()) {
            if (seen.has(link.peerId) || link.closed) continue;
            seen.add(link.peerId);
            list.push({ peerId: link.peerId, room: null, state: 'connecting', route: 'direct', hops: 1,
                via: null, latencyMs: null });
        }
        for (const [handle, lines] of known) {
            const r = this.rooms.get(handle);
            for (const [peerId, route, hops, via, pending] of lines) {
                if (route === 'direct' || peerId === this.peerId || seen.has(peerId)) continue;
                seen.add(peerId);
                list.push({ peerId, room: r.name, state: pending === '1' ? 'connecting' : 'known', route,
                    hops: Number(hops) || null, via: via === '-' ? null : via, latencyMs: null });
            }
        }
        return list;
    }

    // ---- invitations made by this page (docs/web.md, "Invitations made by a page") ----
    // One certificate for every connection an invitation or answer keeps,
    // made once: its fingerprint is the one the code carries.
    async certificate() {
        if (!this.cert)
            this.cert = RTCPeerConnection.generateCertificate({ name: 'ECDSA', namedCurve: 'P-256' });
        return this.cert;
    }

    // A connection kept for an invitation: one "pkc" data channel (so that
    // the offer has its section), our offer set, its candidates gathered.
    // With `ice` ({ ufrag, pwd }), those credentials instead of the
    // browser's (a multi-use invitation's next answer: Chromium takes
    // them; a browser that does not keeps its own, which a native invitee,
    // whose listener takes any, does not mind).
    async invitationPc(ice = null) {
        const pc = new RTCPeerConnection({ iceServers: [], certificates: [await this.certificate()] });
        const dc = pc.createDataChannel(CHANNEL_LABEL, { ordered: true });
        const offer = await pc.createOffer();
        let sdp = offer.sdp;
        if (ice) {
            const munged = sdp.replace(/^a=ice-ufrag:\S+/gm, `a=ice-ufrag:${ice.ufrag}`)
                .replace(/^a=ice-pwd:\S+/gm, `a=ice-pwd:${ice.pwd}`);
            try {
                await pc.setLocalDescription({ type: 'offer', sdp: munged });
                sdp = munged;
            } catch {
                sdp = null;
            }
        }
        if (!ice || sdp === null) await pc.setLocalDescription(offer);
        await this.gathered(pc);
        return { pc, dc };
    }

    // Makes an invitation to room `room` (by its name): a signed "PKCI1..."
    // code made in pkc.wasm by the node's own codec, holding the room's
    // secret, a fresh token, this page's identity and the dial information
    // of a connection kept for it (never ONE_STEP: the invitee answers, and
    // acceptAnswer applies the answer). Returns { url, code, qr, expires, id }:
    // url = base#code, qr an SVG of url.
    async createInvitation({ room = 'local', expiresInMs = 3600000, singleUse = true,
        base = globalThis.location ? location.origin + location.pathname : undefined } = {}) {
        const pkc = this.pkc;
        const handle = this.room(room);
        // qr.js and the QR encoder it imports (qrcode.mjs) are fetched the first
        // time an invitation is made, not with the page; before anything is
        // made, so that a failure to load them leaves nothing behind.
        const { qrSvg } = await import('./qr.js');
        const { pc, dc } = await this.invitationPc();
        let inv;
        try {
            const d = sdpDial(pc.localDescription.sdp);
            const token = crypto.getRandomValues(new Uint8Array(32));
            const ins = [];
            const keep = (v) => {
                const r = pkc.put(v);
                ins.push(r[0]);
                return r[0];
            };
            const args = [keep(this.roomName(handle)), keep(token), keep(d.fingerprint), keep(d.ufrag),
                keep(d.pwd), keep(d.addresses), base === undefined ? 0 : keep(String(base))];
            const created = Date.now();
            const h = pkc.call((out) => {
                pkc.check(this.x.pkcw_invite_create(this.identity.handle, handle, created, expiresInMs,
                    singleUse ? 1 : 0, ...args, out));
                return pkc.u32(out);
            }, ins, 1);
            const url = pkc.cstring(this.x.pkcw_invite_code(h));
            const [, expires] = pkc.cstring(this.x.pkcw_invite_text(h)).split('\n').slice(2, 4);
            inv = { handle: h, pc, dc, room: handle, token, singleUse, expires: Number(expires),
                id: hex(pkc.bytes(this.x.pkcw_invite_id(h), 8)), url, ice: { ufrag: d.ufrag, pwd: d.pwd },
                answered: 0, used: false };
        } catch (e) {
            pc.close();
            throw new Error(e.errName ? e.message.slice(e.errName.length + 2) : e.message);
        }
        if (!this.invitations) this.invitations = new Map();
        this.invitations.set(inv.id, inv);
        // Forgotten when it expires for everyone (past expiry and the skew an
        // answer may still claim): its kept connection closed, if unused.
        inv.timer = setTimeout(() => this.forgetInvitation(inv),
            Math.min(inv.expires - Date.now() + INVITE_SKEW_MS, 0x7fffffff));
        const code = inv.url.slice(inv.url.indexOf('#') + 1);
        this.emit('log', { level: 1, text: `invitation ${inv.id} to room ${room} made, until ` +
            `${new Date(inv.expires).toISOString()}` });
        return { url: inv.url, code, qr: qrSvg(inv.url), expires: inv.expires, id: inv.id };
    }

    forgetInvitation(inv) {
        clearTimeout(inv.timer);
        if (this.invitations.get(inv.id) !== inv) return;
        this.invitations.delete(inv.id);
        if (!inv.answered) try { inv.pc.close(); } catch {}
        this.x.pkcw_invite_free(inv.handle);
    }

    // Applies an answer ("PKCA1..." or a link to one) to one of this page's
    // invitations: checked in pkc.wasm (syntax, the invitee's signature, its
    // times; that it answers a live invitation of ours, its MAC keyed by the
    // invitation's token, the invitation not expired by our clock, a
    // single-use one not answered yet), then the kept connection is given
    // the invitee's description and we connect to it, proving the token in
    // the handshake as a native inviter does. Returns { peerId, room } once
    // dialing started; 'peer:connect' follows. Throws an Error saying what
    // is wrong.
    async acceptAnswer(text) {
        const pkc = this.pkc;
        const [t, tlen] = pkc.put(String(text));
        const fail = (e) => new Error(e.errName ? e.message.slice(e.errName.length + 2) : e.message);
        let ah;
        try {
            ah = pkc.call((out) => {
                pkc.check(this.x.pkcw_invite_answer_read(t, tlen, Date.now(), out));
                return pkc.u32(out);
            }, [t], 1);
        } catch (e) {
            throw fail(e);
        }
        let ans, inv;
        try {
            const [peerId, ufrag, pwd, , , ...addresses] = pkc.cstring(this.x.pkcw_invite_text(ah)).split('\n');
            ans = { peerId, ufrag, pwd, addresses, fingerprint: pkc.bytes(this.x.pkcw_invite_fingerprint(ah), 32),
                id: hex(pkc.bytes(this.x.pkcw_invite_id(ah), 8)) };
            inv = this.invitations && this.invitations.get(ans.id);
            if (!inv)
                throw new Error(`answer: it answers invitation ${ans.id}, which is not one of this page's ` +
                    '(made elsewhere, or expired and forgotten)');
            try {
                pkc.check(this.x.pkcw_invite_answer_check(ah, inv.handle, Date.now()));
            } catch (e) {
                throw fail(e);
            }
        } finally {
            this.x.pkcw_invite_free(ah);
        }
        if (inv.singleUse && (inv.used || inv.answered))
            throw new Error(`answer: invitation ${inv.id} is single-use and already ` +
                (inv.used ? 'used' : `answered (by ${inv.answeredBy})`));
        if (ans.peerId === this.peerId) throw new Error('answer: this answer is our own');
        if (this.links.has(ans.peerId))
            throw new Error(`answer: already connected (or connecting) to ${ans.peerId}`);
        // The kept connection for the first answer; a multi-use invitation's
        // next ones get one of their own, with the same certificate.
        const { pc, dc } = inv.answered ? await this.invitationPc(inv.ice) : inv;
        inv.answered++;
        inv.answeredBy = ans.peerId;
        const link = this.newLink(ans.peerId, this.peerHash(ans.peerId), true, `invite-${inv.id}`, pc);
        link.invite = { room: inv.room, token: inv.token };
        link.inviting = inv.id;
        this.attachChannel(link, dc, inv.room);
        const onConnect = (e) => {
            if (e.detail.peerId !== ans.peerId || this.links.get(ans.peerId) !== link) return;
            this.removeEventListener('peer:connect', onConnect);
            inv.used = true;
            this.emit('log', { level: 1, text: `invitation ${inv.id} used by ${ans.peerId}` });
        };
        this.addEventListener('peer:connect', onConnect);
        const mid = (/^a=mid:(\S+)\s*$/m.exec(pc.localDescription.sdp) || [null, '0'])[1];
        try {
            await pc.setRemoteDescription({ type: 'answer', sdp: dialSdp(mid, 'passive', ans) });
        } catch (e) {
            this.closeLink(link, `its answer's description was refused: ${e.message}`);
            throw new Error(`answer: the browser refused the description made from it: ${e.message}`);
        }
        link.remoteResolve();
        this.emit('log', { level: 1, text: `answer to invitation ${inv.id} from ${ans.peerId}: ` +
            `connecting to it at ${ans.addresses.join(', ')}` });
        return { peerId: ans.peerId, room: this.roomName(inv.room) };
    }

    // The invitee's side of a two-step invitation (a page's): joins its
    // room, takes its token as one an inviter may prove, and keeps a
    // connection answering the description made from the invitation (we
    // are the DTLS server, as a native listener is). Returns the info of
    // acceptInvitation with answer: { code, url } to send back.
    async answerInvitation(inv) {
        const pkc = this.pkc;
        const name = inv.roomName || `room ${inv.id}`;
        const room = this.joinRoom(name, inv.secret);
        {
            const [tk] = pkc.put(inv.token);
            const [who] = pkc.put(inv.peerId);
            pkc.call(() => pkc.check(this.x.pkcw_room_invite_accepted(room, tk, who)), [tk, who]);
        }
        const pc = new RTCPeerConnection({ iceServers: [], certificates: [await this.certificate()] });
        const link = this.newLink(inv.peerId, this.peerHash(inv.peerId), false, `invite-${inv.id}`, pc);
        // Waits for the inviter as long as the invitation lasts, not the
        // usual 20 s.
        clearTimeout(link.timer);
        link.timer = setTimeout(() => {
            if (![...this.chans.values()].some((c) => c.link === link && c.established))
                this.closeLink(link, 'the inviter did not apply our answer before the invitation expired');
        }, Math.max(0, Math.min(inv.expires + INVITE_SKEW_MS - Date.now(), 0x7fffffff)));
        pc.ondatachannel = (ev) => this.attachChannel(link, ev.channel, null);
        let code;
        try {
            await pc.setRemoteDescription({ type: 'offer', sdp: dialSdp('0', 'active', inv) });
            link.remoteResolve();
            await pc.setLocalDescription(await pc.createAnswer());
            await this.gathered(pc);
            const d = sdpDial(pc.localDescription.sdp);
            // The invitation again (the wasm side reads it once more: the
            // object kept by readInvitation was freed).
            const [t, tlen] = pkc.put(inv.text);
            const [me] = pkc.put(this.peerId);
            const ih = pkc.call((out) => {
                pkc.check(this.x.pkcw_invite_parse(t, tlen, Date.now(), me, out));
                return pkc.u32(out);
            }, [t, me], 1);
            try {
                const ins = [];
                const keep = (v) => {
                    const r = pkc.put(v);
                    ins.push(r[0]);
                    return r[0];
                };
                const args = [keep(d.fingerprint), keep(d.ufrag), keep(d.pwd), keep(d.addresses)];
                const ah = pkc.call((out) => {
                    pkc.check(this.x.pkcw_invite_answer(this.identity.handle, ih, Date.now(), ...args, out));
                    return pkc.u32(out);
                }, ins, 1);
                code = pkc.cstring(this.x.pkcw_invite_code(ah));
                this.x.pkcw_invite_free(ah);
            } finally {
                this.x.pkcw_invite_free(ih);
            }
        } catch (e) {
            this.closeLink(link, `no answer made: ${e.message}`);
            throw new Error(e.errName ? e.message.slice(e.errName.length + 2) : e.message);
        }
        const base = globalThis.location ? location.origin + location.pathname : null;
        this.emit('log', { level: 1, text: `invitation ${inv.id} from ${inv.peerId} accepted: ` +
            'waiting for the inviter to apply our answer' });
        return { peerId: inv.peerId, room: this.roomName(room), roomId: this.rooms.get(room).id,
            expires: inv.expires, answer: { code, url: base ? `${base}#${code}` : code } };
    }

    // ---- direct messages and the peer book (docs/web.md, "Direct messages") ----
    initDirect() {
        this.outbox = new Map();      // key -> { key, to, room, text, created, id, frame, waiters }
        this.takenDirect = new Map(); // id (hex) -> ms: direct messages taken (shown once)
        this.book = new Map();        // peer id -> the peer book's record
        this.outboxTimer = null;
        this.addEventListener('peer:connect', (e) => this.onPeerConnect(e.detail));
        this.addEventListener('peer:disconnect', (e) => {
            if (this.book.has(e.detail.peerId)) this.notePeer(e.detail.peerId, {});
        });
    }

    // The core's callbacks for direct messages (pkc_host "direct",
    // "delivered", "peer_keys"). They run inside the mesh's callbacks, which
    // must not call the mesh again: what they do runs in a microtask.
    directCallbacks() {
        const pkc = this.pkc;
        return {
            direct: (room, fromPtr, idPtr, ptr, len, timestampMs) => {
                const from = pkc.cstring(fromPtr >>> 0);
                const id = pkc.bytes(idPtr >>> 0, 16);
                const data = pkc.bytes(ptr >>> 0, len >>> 0);
                queueMicrotask(() => this.onDirect(room >>> 0, from, id, data, timestampMs)
                    .catch((e) => this.error(`a direct message from ${from}: ${e.message}`)));
            },
            delivered: (room, fromPtr, idPtr) => {
                const from = pkc.cstring(fromPtr >>> 0);
                const id = hex(pkc.bytes(idPtr >>> 0, 16));
                queueMicrotask(() => this.onDelivered(from, id));
            },
            peer_keys: (idPtr, pkPtr, dhPtr) => {
                const peerId = pkc.cstring(idPtr >>> 0);
                const publicKey = pkc.bytes(pkPtr >>> 0, 32);
                const dhPublicKey = pkc.bytes(dhPtr >>> 0, 32);
                queueMicrotask(() => this.onPeerKeys(peerId, publicKey, dhPublicKey));
            },
        };
    }

    // Sends `text` to peer `peerId` alone, as the node's `pkc send --to`:
    // a DATA frame signed by us and sealed to the peer's X25519 key, routed
    // through the room's mesh (over the direct link when there is one, else
    // through other peers), kept in the outbox (memory and IndexedDB) and
    // sent again every 5 s while the room has a neighbour, and at once when
    // the peer connects, until its ack arrives. Resolves to the message id
    // (hex) once acknowledged ('delivered' is emitted too); a peer whose
    // keys we do not know yet (it never announced itself to us) gets the
    // message once it does. Throws at once for a malformed peer id, oneself,
    // a room we are not in, or a text over 60000 bytes.
    sendDirect(peerId, text, roomName = 'local') {
        this.room(roomName);
        this.peerHash(String(peerId));
        if (peerId === this.peerId) throw new Error('a direct message to oneself');
        text = String(text);
        if (encoder.encode(text).length > DIRECT_TEXT_MAX)
            throw new Error(`a direct message has at most ${DIRECT_TEXT_MAX} bytes`);
        const entry = { key: b64u(crypto.getRandomValues(new Uint8Array(9))), to: peerId,
            room: roomName, text, created: Date.now(), id: null, frame: null, waiters: [] };
        this.sealEntry(entry);
        const delivered = new Promise((resolve, reject) => entry.waiters.push({ resolve, reject }));
        this.outbox.set(entry.key, entry);
        // Kept before it is sent, as the node's outbox.
        const kept = this.store ? this.store.saveOutbox(this.outboxRecord(entry))
            .catch((e) => this.storeFailed('a direct message', e)) : Promise.resolve();
        kept.then(() => this.flushEntry(entry));
        this.armOutbox();
        return delivered;
    }

    // The direct messages not acknowledged yet: [{ to, room, text, id, created, sealed }].
    pendingDirect() {
        return [...this.outbox.values()].map((e) => ({ to: e.to, room: e.room, text: e.text, id: e.id,
            created: e.created, sealed: !!e.frame }));
    }

    // The peer book: every peer this page was connected to (kept in
    // IndexedDB): [{ peerId, rooms, firstSeen, lastSeen, via, connected }],
    // the most recently seen first.
    knownPeers() {
        const now = new Set(this.peers().map((p) => p.peerId));
        return [...this.book.values()].map((r) => ({ peerId: r.peerId, rooms: [...r.rooms],
            firstSeen: r.firstSeen, lastSeen: r.lastSeen, via: r.via, connected: now.has(r.peerId) }))
            .sort((a, b) => b.lastSeen - a.lastSeen);
    }

    outboxRecord(e) {
        return { key: e.key, to: e.to, room: e.room, text: e.text, created: e.created, id: e.id,
            frame: e.frame };
    }

    // Seals a waiting message once the recipient's keys are known; false
    // while they are not. Other errors throw.
    sealEntry(entry) {
        if (entry.frame) return true;
        try {
            const { frame, id } = this.sealDirect(entry.to, 'dm', encoder.encode(entry.text));
            entry.frame = frame;
            entry.id = id;
        } catch (e) {
            if (e.errName === 'PKC_ERR_NOT_FOUND') return false;
            throw e;
        }
        if (this.store && this.outbox.has(entry.key))
            this.store.saveOutbox(this.outboxRecord(entry)).catch((e) => this.storeFailed('a direct message', e));
        return true;
    }

    sealDirect(peerId, topic, bytes) {
        const pkc = this.pkc;
        const [p] = pkc.put(peerId);
        const [t] = pkc.put(topic);
        const [d, dlen] = pkc.put(bytes);
        const idp = pkc.alloc(16);
        return pkc.call((out) => {
            pkc.check(this.x.pkcw_direct_seal(this.handle, p, t, d, dlen, out, out + 4, idp));
            return { frame: pkc.takeBytes(out), id: hex(pkc.bytes(idp, 16)) };
        }, [p, t, d, idp], 2);
    }

    // Through the room's mesh; 0 or pkc_mesh_send()'s error code.
    sendSealed(room, peerId, frame) {
        const pkc = this.pkc;
        const [p] = pkc.put(peerId);
        const [f, flen] = pkc.put(frame);
        try {
            return pkc.call(() => this.x.pkcw_room_direct_send(room, p, f, flen), [p, f]);
        } finally {
            this.kick();
        }
    }

    flushEntry(entry) {
        if (!this.handle || !this.outbox.has(entry.key)) return;
        let room;
        try {
            if (!this.sealEntry(entry)) return;
            room = this.room(entry.room);
        } catch (e) {
            // Shown once; it stays in the outbox (pendingDirect) and is tried again.
            if (!entry.failed) this.error(`a direct message to ${entry.to}: not sent: ${e.message}`);
            entry.failed = true;
            return;
        }
        if (this.x.pkcw_room_stats(room, 0) === 0) return; // no neighbour: later
        const rc = this.sendSealed(room, entry.to, entry.frame);
        if (rc !== 0)
            this.emit('log', { level: 0, text: `a direct message to ${entry.to} not sent now: ` +
                `${this.pkc.cstring(this.x.pkc_errmsg())}` });
    }

    armOutbox() {
        if (this.outbox.size === 0) {
            clearInterval(this.outboxTimer);
            this.outboxTimer = null;
        } else if (!this.outboxTimer) {
            this.outboxTimer = setInterval(() => {
                for (const e of [...this.outbox.values()]) this.flushEntry(e);
                this.armOutbox();
            }, OUTBOX_RETRY_MS);
        }
    }

    // Taken once (its id, in memory and IndexedDB, as the node's inbox
    // refuses an id twice), acknowledged every time: a lost ack costs one
    // more copy, never a duplicate.
    async onDirect(room, from, idBytes, data, timestampMs) {
        const id = hex(idBytes);
        const now = Date.now();
        let fresh = !this.takenDirect.has(id);
        this.takenDirect.set(id, now);
        if (this.takenDirect.size > 10000) {
            for (const [k, t] of this.takenDirect) {
                if (t > now - DIRECT_MAX_AGE_MS && this.takenDirect.size <= 10000) break;
                this.takenDirect.delete(k);
            }
        }
        if (fresh && this.store) {
            try {
                fresh = await this.store.takeDirect(id, from, now);
            } catch (e) {
                this.storeFailed('a direct message', e);
            }
        }
        if (fresh)
            this.emit('direct', { from, room: this.roomName(room), id, text: decoder.decode(data), data,
                timestamp: timestampMs });
        if (!this.handle || !this.rooms.has(room)) return;
        try {
            const { frame } = this.sealDirect(from, 'ack', idBytes);
            const rc = this.sendSealed(room, from, frame);
            if (rc !== 0) throw new Error(this.pkc.cstring(this.x.pkc_errmsg()));
        } catch (e) {
            this.emit('log', { level: 1, text: `receipt to ${from} not sent: ${e.message}` });
        }
    }

    // Only the first ack of a message counts (it is no longer pending after).
    onDelivered(from, id) {
        const entry = [...this.outbox.values()].find((e) => e.id === id && e.to === from);
        if (!entry) return;
        this.outbox.delete(entry.key);
        this.armOutbox();
        if (this.store) this.store.deleteOutbox(entry.key).catch((e) => this.storeFailed('the outbox', e));
        this.emit('log', { level: 1, text: `direct message delivered to ${from}` });
        this.emit('delivered', { to: from, id, room: entry.room });
        for (const w of entry.waiters) w.resolve(id);
    }

    onPeerKeys(peerId, publicKey, dhPublicKey) {
        this.notePeer(peerId, { publicKey, dhPublicKey });
        for (const e of [...this.outbox.values()]) if (e.to === peerId && !e.frame) this.flushEntry(e);
    }

    onPeerConnect({ peerId, room }) {
        const link = this.links.get(peerId);
        const via = link && link.invite ? 'invitation' : this.tabs.has(peerId) ? 'tab' : 'other';
        this.notePeer(peerId, { room, via });
        // As the node (node_outbox_flush for the peer): what waits for it goes now.
        for (const e of [...this.outbox.values()]) if (e.to === peerId) this.flushEntry(e);
    }

    notePeer(peerId, { room = null, via = null, publicKey = null, dhPublicKey = null }) {
        const now = Date.now();
        const rec = this.book.get(peerId) || { peerId, rooms: [], firstSeen: now, lastSeen: now, via: null,
            publicKey: null, dhPublicKey: null };
        if (room && !rec.rooms.includes(room)) rec.rooms.push(room);
        if (via && !rec.via) rec.via = via;
        if (publicKey) {
            rec.publicKey = publicKey;
            rec.dhPublicKey = dhPublicKey;
        }
        rec.lastSeen = now;
        this.book.set(peerId, rec);
        if (this.store) this.store.savePeer(rec).catch((e) => this.storeFailed('the peer book', e));
    }

    // The peer book, the outbox and the ids taken, from IndexedDB (restore()).
    async restoreDirect() {
        const [peers, outbox, received] = await Promise.all([this.store.peers(), this.store.outbox(),
            this.store.received()]);
        const pkc = this.pkc;
        for (const r of peers) {
            if (typeof r.peerId !== 'string' || !Array.isArray(r.rooms)) continue;
            this.book.set(r.peerId, r);
            if (!(r.publicKey instanceof Uint8Array) || r.publicKey.length !== 32 ||
                !(r.dhPublicKey instanceof Uint8Array) || r.dhPublicKey.length !== 32 ||
                pkc.peerIdFromPublicKey(r.publicKey) !== r.peerId)
                continue;
            const [a] = pkc.put(r.publicKey);
            const [b] = pkc.put(r.dhPublicKey);
            pkc.call(() => this.x.pkcw_peer_known(this.handle, a, b), [a, b]);
        }
        const old = Date.now() - DIRECT_MAX_AGE_MS;
        for (const r of received) if (r.time >= old) this.takenDirect.set(r.id, r.time);
        this.store.forgetReceived(old).catch(() => {});
        for (const r of outbox) {
            if (typeof r.key !== 'string' || typeof r.to !== 'string' || typeof r.text !== 'string') continue;
            this.outbox.set(r.key, { ...r, frame: r.frame instanceof Uint8Array ? r.frame : null,
                id: r.frame instanceof Uint8Array ? r.id : null, waiters: [] });
        }
        this.armOutbox();
    }

    // ---- the rooms of this browser's tabs (docs/web.md, "Rooms shared by tabs") ----
    // Tabs of one origin are one person's: a room one of them joins (by an
    // invitation) is kept in the origin's IndexedDB, where every tab of it
    // would find it at its next load. So it is joined by every open tab at
    // once: told over the BroadcastChannel (the room's name and secret:
    // same-origin only, like the IndexedDB that holds them), and each link
    // between two tabs of the room gets a channel for it, opened by the
    // link's dialer once it knows that both are in the room.
    tabRoomJoined(handle, name, secret) {
        if (name === 'local') return;
        if (!this.roomSecrets) this.roomSecrets = new Map();
        this.roomSecrets.set(handle, secret);
        this.sendSignal({ kind: 'room', body: JSON.stringify({ name, secret: b64u(secret) }) });
    }

    // Our rooms, to a tab that said hello, or answered ours.
    tabRoomsTo(peerId) {
        for (const [handle, secret] of this.roomSecrets || []) {
            const r = this.rooms.get(handle);
            if (r) this.sendSignal({ kind: 'room', to: peerId, body: JSON.stringify({ name: r.name,
                secret: b64u(secret) }) });
        }
    }

    // A tab is in a room: we join it too (telling the tabs, when it is new
    // to us), then open its channel on our link to that tab if we dialed it.
    onTabRoom(f) {
        let name, secret;
        try {
            const b = JSON.parse(f.body);
            name = String(b.name);
            secret = unb64u(String(b.secret));
            if (secret.length !== 32 || !name || name === 'local') throw new Error('malformed');
        } catch (e) {
            this.error(`a room signal from ${f.from} refused: ${e.message}`);
            return;
        }
        let room;
        try {
            room = this.joinRoom(name, secret);
        } catch (e) {
            this.error(`room ${name} of tab ${f.from}: not joined: ${e.message}`);
            return;
        }
        const link = this.links.get(f.from);
        if (!link || link.closed || !link.outbound || link.invite || !link.roomsDialed ||
            link.roomsDialed.has(room))
            return;
        link.roomsDialed.add(room);
        const dc = link.pc.createDataChannel(CHANNEL_LABEL, { ordered: true });
        this.attachChannel(link, dc, room);
    }
}
