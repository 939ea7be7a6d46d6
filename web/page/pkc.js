// pkc.js: loads pkc.wasm (pkc's core as a WASI reactor) and wraps the
// functions it exports (web/exports.txt). The same file runs in browsers and
// in Node.js (>= 18). It supplies the module's nine WASI imports itself: no
// node:wasi, no bundler. See docs/web.md.
//
//   import { load } from './pkc.js';
//   const pkc = await load();                  // fetches ./pkc.wasm beside this file
//   const pkc = await load(bytes);             // or from bytes / a Response / a Module
//   const me = pkc.identityFromSeed(seed);     // me.peerId, me.sign(bytes), ...

const WASI_ESUCCESS = 0;
const WASI_EBADF = 8;
const WASI_EINVAL = 28;
const WASI_ENOSYS = 52;
const WASI_ESPIPE = 70;

// What the module's stdout and stderr (fd 1, 2) print: whole lines, to the
// console unless load() is given { print(fd, line) }.
class Lines {
    constructor(print) {
        this.print = print;
        this.pending = ['', '', ''];
        this.decoder = new TextDecoder();
    }
    write(fd, bytes) {
        const text = this.pending[fd] + this.decoder.decode(bytes);
        const lines = text.split('\n');
        this.pending[fd] = lines.pop();
        for (const line of lines) this.print(fd, line);
    }
}

// exit() inside the module: thrown to the caller of the export.
export class WasiExit extends Error {
    constructor(code) {
        super(`pkc.wasm exited with status ${code}`);
        this.code = code;
    }
}

// A failed call: `code` is pkc's error code (negative), `name` its name
// (PKC_ERR_*), the message pkc_errmsg().
export class PkcError extends Error {
    constructor(code, name, message) {
        super(`${name}: ${message}`);
        this.code = code;
        this.name = 'PkcError';
        this.errName = name;
    }
}

function wasiImports(getMemory, print) {
    const lines = new Lines(print);
    const view = () => new DataView(getMemory().buffer);
    const bytes = (ptr, len) => new Uint8Array(getMemory().buffer, ptr, len);
    const perf = globalThis.performance;
    return {
        // No environment: pkc reads none it needs in a browser.
        environ_sizes_get(countPtr, sizePtr) {
            view().setUint32(countPtr, 0, true);
            view().setUint32(sizePtr, 0, true);
            return WASI_ESUCCESS;
        },
        environ_get() {
            return WASI_ESUCCESS;
        },
        // 0 realtime, 1 monotonic (the only two pkc's clock reads), in ns.
        clock_time_get(id, _precision, timePtr) {
            let ns;
            if (id === 0) ns = BigInt(Math.round((perf.timeOrigin + perf.now()) * 1e6));
            else if (id === 1) ns = BigInt(Math.round(perf.now() * 1e6));
            else return WASI_EINVAL;
            view().setBigUint64(timePtr, ns, true);
            return WASI_ESUCCESS;
        },
        fd_write(fd, iovs, iovsLen, nwrittenPtr) {
            if (fd !== 1 && fd !== 2) return WASI_EBADF;
            const v = view();
            let n = 0;
            for (let i = 0; i < iovsLen; i++) {
                const ptr = v.getUint32(iovs + 8 * i, true);
                const len = v.getUint32(iovs + 8 * i + 4, true);
                lines.write(fd, bytes(ptr, len));
                n += len;
            }
            v.setUint32(nwrittenPtr, n, true);
            return WASI_ESUCCESS;
        },
        fd_close(fd) {
            return fd <= 2 ? WASI_ESUCCESS : WASI_EBADF;
        },
        fd_seek(fd) {
            return fd <= 2 ? WASI_ESPIPE : WASI_EBADF;
        },
        // Sleeping would block the page: the core never sleeps (it returns
        // its next deadline), so nothing should ask.
        poll_oneoff() {
            return WASI_ENOSYS;
        },
        proc_exit(code) {
            throw new WasiExit(code);
        },
        // crypto.getRandomValues gives at most 65536 bytes a call.
        random_get(ptr, len) {
            for (let off = 0; off < len; off += 65536)
                globalThis.crypto.getRandomValues(bytes(ptr + off, Math.min(65536, len - off)));
            return WASI_ESUCCESS;
        },
    };
}

const consolePrint = (fd, line) => (fd === 2 ? console.error(line) : console.log(line));

// The functions pkc.wasm imports from "pkc_host": the browser peer's
// callbacks (web/src/peer.c). They call the object given to
// Pkc.setHost() (peer.js supplies it); before that, or for a name it lacks,
// they do nothing and return 0. An exception must not unwind through the
// module (the engines would be left half way): it is caught and reported.
const HOST_IMPORTS = ['chan_send', 'chan_established', 'chan_closed', 'message', 'doc_changed',
    'mesh_connect', 'log', 'direct', 'delivered', 'peer_keys'];

function hostImports(getHost) {
    const imports = {};
    for (const name of HOST_IMPORTS) {
        imports[name] = (...args) => {
            const host = getHost();
            if (!host || !host[name]) return 0;
            try {
                return host[name](...args) || 0;
            } catch (e) {
                console.error(`pkc host ${name}:`, e);
                return 1;
            }
        };
    }
    return imports;
}

// Instantiates pkc.wasm. `source`: nothing (./pkc.wasm beside this module),
// a URL or string, a Response or Promise of one, bytes, or a
// WebAssembly.Module. Options: print(fd, line) for the module's output.
export async function load(source, options = {}) {
    let memory = null;
    let pkc = null;
    const imports = {
        wasi_snapshot_preview1: wasiImports(() => memory, options.print || consolePrint),
        pkc_host: hostImports(() => pkc && pkc.host),
    };
    if (source === undefined) source = new URL('./pkc.wasm', import.meta.url);
    if (typeof source === 'string' || source instanceof URL) source = fetch(source);
    let instance;
    if (source instanceof WebAssembly.Module) {
        instance = await WebAssembly.instantiate(source, imports);
    } else if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
        instance = (await WebAssembly.instantiate(source, imports)).instance;
    } else {
        // A Response (or its promise): compiled while it downloads, which
        // needs the server to say Content-Type: application/wasm.
        instance = (await WebAssembly.instantiateStreaming(source, imports)).instance;
    }
    memory = instance.exports.memory;
    instance.exports._initialize();
    pkc = new Pkc(instance.exports);
    return pkc;
}

const PKC_YMAP = 1;
const PKC_YTEXT = 2;
const PKC_YDOC_CONFIG_V1 = 1;
const PKC_YDOC_CONFIG_SIZE = 16; // { uint64_t client_id; int gc; } on wasm32
const PUBLIC_KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;
const PEER_ID_SIZE = 64; // PKC_PEER_ID_SIZE is smaller; room to spare

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// The wrappers: JavaScript values in, JavaScript values out; memory the
// module allocates for a call is freed before it returns.
export class Pkc {
    constructor(exports) {
        this.x = exports;
        this.host = null;
    }
    // The object whose methods the module's pkc_host imports call.
    setHost(host) {
        this.host = host;
    }
    get memory() {
        return new Uint8Array(this.x.memory.buffer);
    }
    alloc(n) {
        const p = this.x.malloc(Math.max(n, 1));
        if (p === 0) throw new PkcError(-1, 'PKC_ERR_NOMEM', `${n} bytes`);
        return p;
    }
    // Copies `data` (Uint8Array or string, UTF-8) into the module; [ptr, len].
    put(data) {
        const b = typeof data === 'string' ? encoder.encode(data) : data;
        const p = this.alloc(b.length + 1);
        this.memory.set(b, p);
        this.memory[p + b.length] = 0;
        return [p, b.length];
    }
    bytes(ptr, len) {
        return this.memory.slice(ptr, ptr + len);
    }
    cstring(ptr) {
        const m = this.memory;
        let end = ptr;
        while (m[end] !== 0) end++;
        return decoder.decode(m.subarray(ptr, end));
    }
    u32(ptr) {
        return new DataView(this.x.memory.buffer).getUint32(ptr, true);
    }
    // Runs fn with `n` zeroed 4-byte out slots, frees them and whatever the
    // call allocated with pointers in `ins`.
    call(fn, ins = [], nout = 0) {
        const out = nout ? this.alloc(4 * nout) : 0;
        if (nout) this.memory.fill(0, out, out + 4 * nout);
        try {
            return fn(out);
        } finally {
            for (const p of ins) this.x.free(p);
            if (nout) this.x.free(out);
        }
    }
    check(rc) {
        if (rc !== 0) {
            throw new PkcError(rc, this.cstring(this.x.pkc_err_name(rc)),
                this.cstring(this.x.pkc_errmsg()));
        }
    }
    // A malloc'd buffer from out slots (ptr at `out`, length at `out + 4`),
    // copied out and freed.
    takeBytes(out) {
        const p = this.u32(out);
        const b = this.bytes(p, this.u32(out + 4));
        this.x.free(p);
        return b;
    }
    takeString(out) {
        const p = this.u32(out);
        const s = this.cstring(p);
        this.x.free(p);
        return s;
    }

    version() {
        return this.cstring(this.x.pkc_version());
    }

    // ---- identity ----
    identityFromSeed(seed) {
        if (seed.length !== 32) throw new TypeError('an identity seed is 32 bytes');
        const [s] = this.put(seed);
        const handle = this.call((out) => {
            this.check(this.x.pkc_identity_from_seed(s, out));
            return this.u32(out);
        }, [s], 1);
        return new Identity(this, handle);
    }
    generateIdentity() {
        return new Identity(this, this.call((out) => {
            this.check(this.x.pkc_identity_generate(this.x.pkc_rng_system(), out));
            return this.u32(out);
        }, [], 1));
    }
    verify(publicKey, message, signature) {
        if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES)
            return false;
        const [k] = this.put(publicKey);
        const [m, mlen] = this.put(message);
        const [s] = this.put(signature);
        return this.call(() => this.x.pkc_signature_verify(k, m, mlen, s) === 0, [k, m, s]);
    }

    // The peer id (text) of an Ed25519 public key.
    peerIdFromPublicKey(publicKey) {
        if (publicKey.length !== PUBLIC_KEY_BYTES) throw new TypeError('a public key is 32 bytes');
        const [k] = this.put(publicKey);
        const out = this.alloc(PEER_ID_SIZE);
        return this.call(() => {
            this.x.pkc_peer_id_from_public_key(k, out);
            return this.cstring(out);
        }, [k, out]);
    }

    // ---- messages ----
    // A signed DATA frame from `identity`: sealed to `to` ({publicKey,
    // dhPublicKey}) or, without `to`, in clear to everyone.
    sealMessage(identity, { to = null, topic = '', payload }) {
        const ins = [];
        const keep = (d) => {
            const r = this.put(d);
            ins.push(r[0]);
            return r;
        };
        const [pk] = to ? keep(to.publicKey) : [0];
        const [dh] = to ? keep(to.dhPublicKey) : [0];
        const [t, tlen] = keep(topic);
        const [p, plen] = keep(payload);
        return this.call((out) => {
            this.check(this.x.pkcw_message_seal(identity.handle, pk, dh, t, tlen, p, plen, out,
                out + 4));
            return this.takeBytes(out);
        }, ins, 2);
    }
    // Verifies and opens a DATA frame addressed to `identity` (or in clear):
    // { from (public key), payload }.
    openMessage(identity, frame, maxAgeMs = 5 * 60 * 1000) {
        const [f, flen] = this.put(frame);
        const from = this.alloc(PUBLIC_KEY_BYTES);
        return this.call((out) => {
            this.check(this.x.pkcw_message_open(identity.handle, f, flen, maxAgeMs, out, out + 4,
                from));
            return { from: this.bytes(from, PUBLIC_KEY_BYTES), payload: this.takeBytes(out) };
        }, [f, from], 2);
    }

    // ---- documents ----
    // A Yjs document; clientId (below 2^53) fixed, or random when omitted.
    newDoc({ clientId } = {}) {
        const cfg = this.alloc(PKC_YDOC_CONFIG_SIZE);
        const handle = this.call((out) => {
            this.x.pkc_ydoc_config_default_versioned(PKC_YDOC_CONFIG_V1, cfg);
            if (clientId !== undefined)
                new DataView(this.x.memory.buffer).setBigUint64(cfg, BigInt(clientId), true);
            this.check(this.x.pkc_ydoc_new_versioned(PKC_YDOC_CONFIG_V1, cfg,
                this.x.pkc_rng_system(), out));
            return this.u32(out);
        }, [cfg], 1);
        return new Doc(this, handle);
    }
}

export class Identity {
    constructor(pkc, handle) {
        this.pkc = pkc;
        this.handle = handle;
    }
    get peerId() {
        return this.pkc.cstring(this.pkc.x.pkc_identity_get_peer_id(this.handle));
    }
    get publicKey() {
        return this.pkc.bytes(this.pkc.x.pkc_identity_get_public_key(this.handle),
            PUBLIC_KEY_BYTES);
    }
    get dhPublicKey() {
        return this.pkc.bytes(this.pkc.x.pkc_identity_get_dh_public_key(this.handle), 32);
    }
    sign(message) {
        const pkc = this.pkc;
        const [m, mlen] = pkc.put(message);
        const sig = pkc.alloc(SIGNATURE_BYTES);
        return pkc.call(() => {
            pkc.x.pkc_identity_sign(this.handle, m, mlen, sig);
            return pkc.bytes(sig, SIGNATURE_BYTES);
        }, [m, sig]);
    }
    free() {
        this.pkc.x.pkc_identity_free(this.handle);
        this.handle = 0;
    }
}

export class Doc {
    constructor(pkc, handle) {
        this.pkc = pkc;
        this.handle = handle;
    }
    get clientId() {
        return Number(this.pkc.x.pkc_ydoc_get_client_id(this.handle));
    }
    root(name, kind) {
        const pkc = this.pkc;
        const [n] = pkc.put(name);
        return pkc.call((out) => {
            pkc.check(pkc.x.pkc_ydoc_get(this.handle, n, kind, out));
            return pkc.u32(out);
        }, [n], 1);
    }
    getText(name) {
        return new Text(this.pkc, this.root(name, PKC_YTEXT));
    }
    // The root Y.Map `name` (a YMap: values are JSON values).
    getMap(name) {
        return new YMap(this.pkc, this.root(name, PKC_YMAP));
    }
    // Y.applyUpdate (v1).
    applyUpdate(update) {
        const pkc = this.pkc;
        const [u, ulen] = pkc.put(update);
        pkc.call(() => pkc.check(pkc.x.pkc_ydoc_apply_update(this.handle, u, ulen, 0)), [u]);
    }
    // Y.encodeStateAsUpdate (v1), against a state vector if given.
    encodeState(stateVector = null) {
        const pkc = this.pkc;
        const [sv, svlen] = stateVector ? pkc.put(stateVector) : [0, 0];
        return pkc.call((out) => {
            pkc.check(pkc.x.pkc_ydoc_encode_state(this.handle, sv, svlen, out, out + 4));
            return pkc.takeBytes(out);
        }, stateVector ? [sv] : [], 2);
    }
    // Y.encodeStateVector.
    encodeStateVector() {
        const pkc = this.pkc;
        return pkc.call((out) => {
            pkc.check(pkc.x.pkc_ydoc_encode_state_vector(this.handle, out, out + 4));
            return pkc.takeBytes(out);
        }, [], 2);
    }
    free() {
        this.pkc.x.pkc_ydoc_free(this.handle);
        this.handle = 0;
    }
}

export class Text {
    constructor(pkc, handle) {
        this.pkc = pkc;
        this.handle = handle;
    }
    // Indexes count UTF-16 code units, as in Yjs.
    insert(index, text) {
        const pkc = this.pkc;
        const [s, slen] = pkc.put(text);
        pkc.call(() => pkc.check(pkc.x.pkc_ytext_insert(0, this.handle, index, s, slen, 0, 0)),
            [s]);
    }
    delete(index, length) {
        this.pkc.check(this.pkc.x.pkc_ytext_delete(0, this.handle, index, length));
    }
    toString() {
        const pkc = this.pkc;
        return pkc.call((out) => {
            pkc.check(pkc.x.pkc_ytext_to_string(this.handle, out, out + 4));
            return pkc.takeString(out);
        }, [], 2);
    }
    toJSON() {
        const pkc = this.pkc;
        return JSON.parse(pkc.call((out) => {
            pkc.check(pkc.x.pkc_ytype_to_json(this.handle, out, out + 4));
            return pkc.takeString(out);
        }, [], 2));
    }
}

// A Y.Map whose values are JSON values, stored as Yjs stores a plain value
// (lib0 Any): what the yjs package reads with doc.getMap(name).get(key).
export class YMap {
    constructor(pkc, handle) {
        this.pkc = pkc;
        this.handle = handle;
    }
    // map.set(key, value): value is anything JSON.stringify accepts (not
    // undefined); throws PkcError otherwise.
    set(key, value) {
        const json = JSON.stringify(value);
        if (json === undefined) throw new TypeError('the value is not a JSON value');
        const pkc = this.pkc;
        const [k] = pkc.put(String(key));
        const [j, jlen] = pkc.put(json);
        pkc.call(() => pkc.check(pkc.x.pkcw_map_set_json(this.handle, k, j, jlen)), [k, j]);
    }
    delete(key) {
        const pkc = this.pkc;
        const [k] = pkc.put(String(key));
        pkc.call(() => pkc.check(pkc.x.pkc_ymap_delete(0, this.handle, k)), [k]);
    }
    // The whole map as a plain object (Y.Map.toJSON()).
    toJSON() {
        const pkc = this.pkc;
        return JSON.parse(pkc.call((out) => {
            pkc.check(pkc.x.pkc_ytype_to_json(this.handle, out, out + 4));
            return pkc.takeString(out);
        }, [], 2));
    }
    // The value of `key`, or undefined when unset.
    get(key) {
        const all = this.toJSON();
        return Object.prototype.hasOwnProperty.call(all, key) ? all[key] : undefined;
    }
}
