// The y-webrtc side of bench/node: y-webrtc 10 with @roamhq/wrtc, its own
// signaling server (bin/server.js, bound to 127.0.0.1), every peer a process
// of its own (peer.mjs). Prints one JSON object per row on stdout, in the
// format of bench/node/README.md; progress and failures go to stderr.
//
// Runs only where loopback is the one interface (bench/node/run starts it
// inside `unshare -n` with lo up): wrtc gathers candidates on every
// interface, and no traffic may leave the host.
//
// Environment: YW_RUNS (default 5) runs of each measure, YW_PINGS (default
// 100) pings per run, YW_BURST (default 10000) messages per throughput run,
// YW_PEERS (default 4) peers connected to the measured one for memory,
// YW_TIMEOUT_MS (default 15000) for every wait.
import { spawn } from 'node:child_process'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, '../../..')
const env = (k, d) => Number(process.env[k] || d)
const RUNS = env('YW_RUNS', 5)
const PINGS = env('YW_PINGS', 100)
const WARMUP = 10
const BURST = env('YW_BURST', 10000)
const BURST_BATCH = env('YW_BATCH', 100)
const MSG_BYTES = 32
const PEERS = env('YW_PEERS', 4)
const TIMEOUT = env('YW_TIMEOUT_MS', 15000)
const SYNC_BYTES = 1024 * 1024
const UNFIXED_RUNS = env('YW_UNFIXED_RUNS', 2)
const UNFIXED_TIMEOUT = env('YW_UNFIXED_TIMEOUT_MS', 8000)

// YW_ONLY=memory,pair,twohop,sync,unfixed runs only those parts.
const only = part => !process.env.YW_ONLY || process.env.YW_ONLY.split(',').includes(part)

const now = () => Number(process.hrtime.bigint()) / 1000
const log = (...a) => console.error('bench/node y-webrtc:', ...a)
const out = o => console.log(JSON.stringify(o))

const ifaces = Object.keys(os.networkInterfaces())
if (ifaces.some(i => i !== 'lo')) {
    log(`interfaces ${ifaces.join(', ')}: run inside a namespace with only lo (bench/node/run does)`)
    process.exit(2)
}

// A child process speaking JSON lines; next(ev, pred, ms) waits for an event.
// next() consumes the event it returns.
function child(args, extraEnv = {}) {
    const c = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...extraEnv } })
    const events = [], waiters = []
    let err = ''
    c.stderr.on('data', d => { err += d })
    readline.createInterface({ input: c.stdout }).on('line', l => {
        let m
        try { m = JSON.parse(l) } catch { m = { ev: 'text-line', line: l } }
        events.push(m)
        for (const w of [...waiters]) {
            if (w.ev === m.ev && w.pred(m)) {
                waiters.splice(waiters.indexOf(w), 1); clearTimeout(w.timer); w.res(m)
                events.splice(events.indexOf(m), 1)
                break
            }
        }
    })
    const exited = new Promise(res => c.on('exit', (code, sig) => res({ code, sig })))
    exited.then(() => { for (const w of [...waiters]) w.rej(new Error(`exited while waiting for ${w.ev}: ${err.trim().split('\n').slice(-3).join(' | ')}`)) })
    return {
        c, events, exited,
        send: o => c.stdin.write(JSON.stringify(o) + '\n'),
        next(ev, pred = () => true, ms = TIMEOUT) {
            const i = events.findIndex(m => m.ev === ev && pred(m))
            if (i >= 0) return Promise.resolve(events.splice(i, 1)[0])
            return new Promise((res, rej) => {
                const w = { ev, pred, res, rej }
                w.timer = setTimeout(() => { waiters.splice(waiters.indexOf(w), 1); rej(new Timeout(`no ${ev} within ${ms} ms`)) }, ms)
                waiters.push(w)
            })
        },
        kill() { c.kill('SIGKILL'); return exited }
    }
}
class Timeout extends Error {}

async function freePort() {
    const s = net.createServer()
    await new Promise(r => s.listen(0, '127.0.0.1', r))
    const { port } = s.address()
    await new Promise(r => s.close(r))
    return port
}

const port = await freePort()
const signaling = child(['--import', path.join(here, 'localhost.mjs'),
    path.join(root, 'node_modules/y-webrtc/bin/server.js')], { PORT: String(port) })
// It prints its line before it listens: ready once a TCP connection succeeds.
for (let i = 0; ; i++) {
    const ok = await new Promise(res => {
        const s = net.connect(port, '127.0.0.1', () => { s.destroy(); res(true) })
        s.on('error', () => res(false))
    })
    if (ok) break
    if (i === 200) throw new Error(`signaling server did not listen: ${signaling.events.map(e => e.line).join(' ')}`)
    await new Promise(r => setTimeout(r, 10))
}
const SIGNALING = `ws://127.0.0.1:${port}`
let roomSeq = 0
const room = () => `pkc-bench-${process.pid}-${++roomSeq}`

const procs = new Set()
function peer(cfg) {
    const p = child(['--expose-gc', path.join(here, 'peer.mjs'), JSON.stringify({ signaling: SIGNALING, ...cfg })])
    procs.add(p)
    p.exited.then(() => procs.delete(p))
    return p
}
async function killAll() { await Promise.all([...procs].map(p => p.kill())) }

// run(name, n, fn): n runs of fn, each pushing samples; a run that throws
// (a timeout: y-webrtc stalls) is a failure, its peers killed.
async function runs(name, n, fn) {
    let ok = 0, failures = 0, reasons = []
    for (let i = 0; i < n; i++) {
        try {
            await fn(i)
            ok++
        } catch (e) {
            failures++
            reasons.push(e.message)
            log(`${name} run ${i + 1}: ${e.message}`)
        } finally {
            await killAll()
        }
    }
    return { ok, failures, reasons }
}

function row(name, samples, r, unit, note, extra = {}) {
    const s = [...samples].sort((a, b) => a - b)
    const o = { row: name, unit, runs: r.ok, failures: r.failures, samples: s.length }
    if (s.length) {
        const m = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
        Object.assign(o, { median: round(m), min: round(s[0]), max: round(s[s.length - 1]) })
    } else {
        Object.assign(o, { median: null, min: null, max: null, na: r.reasons[0] || 'no sample' })
    }
    out({ ...o, ...extra, note })
}
const round = v => Math.round(v * 10) / 10

// Two peers: A joins and reaches the signaling server, then B is spawned;
// both connected (data channel open) and through the first sync.
async function pair(cfgA = {}, cfgB = {}) {
    const r = room()
    const a = peer({ rooms: [r], ...cfgA })
    await a.next('signaling')
    const t0 = now()
    const b = peer({ rooms: [r], ...cfgB })
    const conn = await b.next('connected')
    await a.next('connected')
    return { a, b, t0, conn }
}
async function settle(...ps) {
    for (const p of ps) { p.send({ cmd: 'settle' }) }
    for (const p of ps) await p.next('settled')
}

async function latency(from, to, samples) {
    for (let i = 0; i < WARMUP + PINGS; i++) {
        const id = `p${i}`
        from.send({ cmd: 'ping', id })
        const m = await to.next('recv', e => e.id === id)
        if (i >= WARMUP) samples.push(m.t - m.sent)
    }
}

// Least-squares slope of ys over k = 1, 2, ...: memory per further peer,
// less sensitive to one measure's GC noise than (last - first) / n.
function slope(ys) {
    const n = ys.length, mx = (n + 1) / 2, my = ys.reduce((a, b) => a + b, 0) / n
    let sxy = 0, sxx = 0
    ys.forEach((y, i) => { sxy += (i + 1 - mx) * (y - my); sxx += (i + 1 - mx) ** 2 })
    return sxy / sxx
}

// Memory: one peer idle (its signaling connection up), then with 1 and
// 1, 2, ... PEERS peers connected, each joining once the previous one is
// connected and through sync.
if (only('memory')) {
    const idle = [], idleAnon = [], first = [], firstAnon = [], per = [], perAnon = []
    const r = await runs('memory', RUNS, async () => {
        const name = room()
        const hub = peer({ rooms: [name] })
        await hub.next('signaling')
        hub.send({ cmd: 'rss' })
        const m0 = await hub.next('rss')
        const others = [], at = []
        for (let k = 1; k <= PEERS; k++) {
            others.push(peer({ rooms: [name] }))
            await hub.next('connected', e => e.n === k)
            await settle(hub)
            hub.send({ cmd: 'rss' })
            at.push(await hub.next('rss'))
        }
        idle.push(m0.rss_kib); idleAnon.push(m0.anon_kib)
        first.push(at[0].rss_kib - m0.rss_kib); firstAnon.push(at[0].anon_kib - m0.anon_kib)
        per.push(slope(at.map(m => m.rss_kib))); perAnon.push(slope(at.map(m => m.anon_kib)))
    })
    log(`memory: ${r.ok} runs`)
    const how = 'VmRSS of the peer process after two full GCs (node --expose-gc)'
    row('idle_rss_kib', idle, r, 'KiB', `${how}; provider created, signaling connected, no peer`)
    row('idle_rss_anon_kib', idleAnon, r, 'KiB', 'RssAnon of the same process (excludes mapped code: node, libwebrtc)')
    row('first_peer_rss_kib', first, r, 'KiB', 'VmRSS added by the first connected peer (wrtc starts its threads then)')
    row('first_peer_rss_anon_kib', firstAnon, r, 'KiB', 'RssAnon added by the first connected peer')
    row('per_peer_rss_kib', per, r, 'KiB', `VmRSS added per further connected peer: least-squares slope of VmRSS over 1..${PEERS} connected peers (full mesh), each measured once all are through sync`)
    row('per_peer_rss_anon_kib', perAnon, r, 'KiB', 'RssAnon added per further connected peer')
}

// Pairs: time to the first connection, one-hop latency, messages per second.
if (only('pair')) {
    const first = [], oneHop = [], rate = []
    const r = await runs('pair', RUNS, async () => {
        const { a, b, t0, conn } = await pair()
        first.push((conn.t - t0) / 1000)
        await settle(a, b)
        await latency(a, b, oneHop)
        b.send({ cmd: 'want_count', n: BURST })
        a.send({ cmd: 'burst', n: BURST, size: MSG_BYTES, batch: BURST_BATCH })
        const s = await a.next('burst_start')
        const d = await b.next('count', () => true, Math.max(TIMEOUT, 60000))
        rate.push(BURST / ((d.t - s.t) / 1e6))
    })
    log(`pairs: ${r.ok} runs`)
    row('first_connection_ms', first, r, 'ms',
        'spawn of the second peer process (the first one already on the signaling server) to its data channel open; includes Node start and module loading')
    row('one_hop_latency_us', oneHop, r, 'us',
        `one-way, CLOCK_MONOTONIC: Y.Map set in the sender to the receiver's observer; ${PINGS} sequential updates per run after ${WARMUP} warm-up`)
    row('messages_per_s', rate, r, 'msg/s',
        `${BURST} transactions each pushing one ${MSG_BYTES}-byte string to a Y.Array, ${BURST_BATCH} per event-loop turn, first push to the receiver holding all`)
}

// Two hops: y-webrtc has no routing (a room is a full mesh); the nearest
// thing is a peer in two rooms on one Y.Doc, which relays every update.
if (only('twohop')) {
    const twoHop = []
    const r = await runs('two-hop', Math.max(3, Math.ceil(RUNS / 2)), async () => {
        const r1 = room(), r2 = room()
        const a = peer({ rooms: [r1] })
        await a.next('signaling')
        const m = peer({ rooms: [r1, r2] })
        await a.next('connected')
        const c = peer({ rooms: [r2] })
        await c.next('connected')
        await settle(a, m, c)
        await latency(a, c, twoHop)
    })
    log(`two-hop: ${r.ok} runs`)
    row('two_hop_latency_us', twoHop, r, 'us',
        'no routing in y-webrtc (full mesh): A and C in different rooms, relayed by a peer in both rooms on one Y.Doc; same measure as one hop')
}

// A new peer syncs 1 MiB: A holds 1 MiB of text, B joins.
async function syncRuns(name, n, fix, ms) {
    const fromJoin = [], fromConn = []
    const r = await runs(name, n, async () => {
        const rn = room()
        const a = peer({ rooms: [rn], fix })
        a.send({ cmd: 'fill', bytes: SYNC_BYTES })
        await a.next('filled')
        await a.next('signaling')
        const b = peer({ rooms: [rn], fix, want_text: SYNC_BYTES })
        const done = await b.next('text', () => true, ms)
        if (!done.ok) throw new Error('synced text differs from the original')
        const joining = await b.next('joining')
        const conn = await b.next('connected')
        fromJoin.push((done.t - joining.t) / 1000)
        fromConn.push((done.t - conn.t) / 1000)
    })
    return { fromJoin, fromConn, r }
}
if (only('sync')) {
    const { fromJoin, fromConn, r } = await syncRuns('sync', RUNS, true, Math.max(TIMEOUT, 30000))
    log(`sync: ${r.ok} runs`)
    const fix = 'with the max-message-size fix (16 MiB advertised): without it y-webrtc never syncs a document over 256 KiB'
    row('sync_1mib_ms', fromJoin, r, 'ms', `new peer's provider created (process loaded) to its Y.Text equal to the 1 MiB original; ${fix}`)
    row('sync_1mib_connected_ms', fromConn, r, 'ms', `new peer's data channel open to its Y.Text equal to the original; ${fix}`)
}
if (only('unfixed')) {
    const { fromJoin, r } = await syncRuns('sync unfixed', UNFIXED_RUNS, false, UNFIXED_TIMEOUT)
    log(`sync unfixed: ${r.ok} runs`)
    row('sync_1mib_unfixed_ms', fromJoin, r, 'ms',
        `as sync_1mib_ms with y-webrtc as shipped (libwebrtc's 256 KiB max-message-size); timeout ${UNFIXED_TIMEOUT} ms`)
}

await signaling.kill()
process.exit(0)
