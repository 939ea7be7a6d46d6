// The page side of bench/web (bench.mjs serves it): document sync in a page,
// pkc.wasm's CRDT (web/dist/pkc.js, as the landing page loads it) beside the
// `yjs` package loaded into the same page as an ES module, on the same
// editing trace, the same job each. Times with performance.now(); every
// measure is run `runs` times, pkc and yjs alternating which goes first.
import { load } from '/dist/pkc.js';
import * as Y from 'yjs';

const now = () => performance.now();

// The four jobs, each returning its time in ms and what is checked.
function pkcJobs(pkc, edits, updates, endContent) {
    return {
        // the trace typed in the page: every insert and delete its own
        // transaction (pkc.js's Text has no transaction call: yjs does the same)
        edit() {
            const d = pkc.newDoc({ clientId: 1 });
            const t = d.getText('text');
            const t0 = now();
            for (const [pos, del, ins] of edits) {
                if (del) t.delete(pos, del);
                if (ins) t.insert(pos, ins);
            }
            const ms = now() - t0;
            const ok = t.toString() === endContent;
            const state = d.encodeState();
            d.free();
            return { ms, ok, state };
        },
        // the whole document encoded (what a newcomer is sent: sync step 2)
        encode(state) {
            const d = pkc.newDoc({ clientId: 2 });
            d.applyUpdate(state);
            const t0 = now();
            const enc = d.encodeState();
            const ms = now() - t0;
            d.free();
            return { ms, ok: enc.length === state.length, bytes: enc.length };
        },
        // the newcomer applying it
        load(state) {
            const d = pkc.newDoc({ clientId: 3 });
            const t0 = now();
            d.applyUpdate(state);
            const ms = now() - t0;
            const ok = d.getText('text').toString() === endContent;
            d.free();
            return { ms, ok };
        },
        // a peer's edits arriving one update each, as the mesh brings them
        receive() {
            const d = pkc.newDoc({ clientId: 4 });
            const t0 = now();
            for (const u of updates) d.applyUpdate(u);
            const ms = now() - t0;
            const ok = d.getText('text').toString() === endContent;
            d.free();
            return { ms, ok };
        },
    };
}

function yjsJobs(edits, updates, endContent) {
    const doc = (id) => {
        const d = new Y.Doc();
        d.clientID = id;
        return d;
    };
    return {
        edit() {
            const d = doc(1);
            const t = d.getText('text');
            const t0 = now();
            for (const [pos, del, ins] of edits) {
                if (del) t.delete(pos, del);
                if (ins) t.insert(pos, ins);
            }
            const ms = now() - t0;
            const ok = t.toString() === endContent;
            const state = Y.encodeStateAsUpdate(d);
            d.destroy();
            return { ms, ok, state };
        },
        encode(state) {
            const d = doc(2);
            Y.applyUpdate(d, state);
            const t0 = now();
            const enc = Y.encodeStateAsUpdate(d);
            const ms = now() - t0;
            d.destroy();
            return { ms, ok: enc.length === state.length, bytes: enc.length };
        },
        load(state) {
            const d = doc(3);
            const t0 = now();
            Y.applyUpdate(d, state);
            const ms = now() - t0;
            const ok = d.getText('text').toString() === endContent;
            d.destroy();
            return { ms, ok };
        },
        receive() {
            const d = doc(4);
            const t0 = now();
            for (const u of updates) Y.applyUpdate(d, u);
            const ms = now() - t0;
            const ok = d.getText('text').toString() === endContent;
            d.destroy();
            return { ms, ok };
        },
    };
}

// Runs the benchmark: { edits, pkc: { edit: [ms...], ... }, yjs: {...}, ... }.
window.runBench = async (runs) => {
    const pkc = await load();
    const trace = await (await fetch('/trace.json')).json();
    const edits = [];
    for (const tx of trace.txns) for (const p of tx.patches) edits.push(p);
    // The trace's positions count code points; Yjs and pkc's texts count
    // UTF-16 units. They differ only past a character outside the BMP: then
    // each edit is converted once, before anything is timed.
    if (edits.some(([, , ins]) => ins && /[\u{10000}-\u{10FFFF}]/u.test(ins))) {
        const cps = [...trace.startContent];
        for (const e of edits) {
            const [pos, del, ins] = e;
            let at = 0, len = 0;
            for (let i = 0; i < pos; i++) at += cps[i].length;
            for (let i = pos; i < pos + del; i++) len += cps[i].length;
            cps.splice(pos, del, ...(ins ? [...ins] : []));
            e[0] = at;
            e[1] = len;
        }
    }
    // The updates a peer typing the trace sends (one per insert or delete),
    // made once by yjs: the same bytes go to both.
    const updates = [];
    {
        const d = new Y.Doc();
        d.clientID = 9;
        d.on('update', (u) => updates.push(u));
        const t = d.getText('text');
        for (const [pos, del, ins] of edits) {
            if (del) t.delete(pos, del);
            if (ins) t.insert(pos, ins);
        }
        d.destroy();
    }
    const sides = { pkc: pkcJobs(pkc, edits, updates, trace.endContent),
        yjs: yjsJobs(edits, updates, trace.endContent) };
    const out = { edits: edits.length, updates: updates.length,
        updateBytes: updates.reduce((a, u) => a + u.length, 0), pkc: {}, yjs: {}, sizes: {} };
    for (const s of ['pkc', 'yjs']) for (const k of ['edit', 'encode', 'load', 'receive']) out[s][k] = [];
    for (let r = 0; r < runs; r++) {
        const order = r % 2 ? ['yjs', 'pkc'] : ['pkc', 'yjs'];
        for (const s of order) {
            const j = sides[s];
            const e = j.edit();
            const c = j.encode(e.state);
            const l = j.load(e.state);
            const v = j.receive();
            for (const [k, x] of [['edit', e], ['encode', c], ['load', l], ['receive', v]]) {
                if (!x.ok) throw new Error(`${s} ${k}: wrong result`);
                out[s][k].push(x.ms);
            }
            out.sizes[s] = e.state.length;
        }
    }
    return out;
};
document.documentElement.dataset.bench = 'ready';
