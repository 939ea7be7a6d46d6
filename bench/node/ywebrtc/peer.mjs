// One y-webrtc peer, a process of its own (y-webrtc allows one provider per
// room per process). Driven by bench.mjs: its configuration is argv[2] (JSON),
// commands arrive on stdin and events leave on stdout, one JSON object per
// line. Every event carries t, CLOCK_MONOTONIC in microseconds
// (process.hrtime), the same clock in every process of the host, so the
// driver subtracts times taken in different processes.
//
// Configuration: { rooms: [names], signaling: url, fix: bool, want_text: bytes }
//   rooms      the rooms joined, one provider each, all on one Y.Doc: a peer
//              in two rooms relays every update from one to the other (the
//              two-hop setup; y-webrtc has no routing of its own)
//   fix        advertise a=max-message-size 16 MiB instead of libwebrtc's
//              256 KiB (see README.md: without it no document over 256 KiB
//              ever syncs)
//   want_text  emit "text" once the doc's Y.Text "text" holds that many
//              characters, checked against the expected content
// Commands: fill {bytes}, ping {id}, burst {n, size, batch}, want_count {n},
//   rss, settle, exit.
import readline from 'node:readline'
import fs from 'node:fs'
import WebSocket from 'ws'
import { text as expectedText } from './content.mjs'

const now = () => Number(process.hrtime.bigint()) / 1000
const emit = o => process.stdout.write(JSON.stringify({ t: now(), ...o }) + '\n')

// Node has no global WebSocket before 22: y-webrtc's signaling client needs one.
globalThis.WebSocket = WebSocket
const wrtc = (await import('@roamhq/wrtc')).default
const Y = await import('yjs')
const { WebrtcProvider } = await import('y-webrtc')

const cfg = JSON.parse(process.argv[2])
const BIG = 16 * 1024 * 1024
const peerOpts = { wrtc, config: { iceServers: [] } }
if (cfg.fix) {
    peerOpts.sdpTransform = sdp => sdp.replace(/a=max-message-size:\d+/g, `a=max-message-size:${BIG}`)
}

const doc = new Y.Doc()
const ytext = doc.getText('text')
const pings = doc.getMap('ping')
const msgs = doc.getArray('msgs')

// Remote pings: the receiver's timestamp is taken in the observer, before
// anything else runs.
pings.observe(ev => {
    if (ev.transaction.local) return
    const t = now()
    for (const key of ev.keysChanged) emit({ ev: 'recv', t, id: key, sent: pings.get(key) })
})

let wantCount = 0
msgs.observe(() => {
    if (wantCount && msgs.length >= wantCount) {
        emit({ ev: 'count', n: msgs.length })
        wantCount = 0
    }
})

if (cfg.want_text) {
    expectedText(cfg.want_text) // computed now, not while the sync is timed
    const check = () => {
        if (ytext.length < cfg.want_text) return false
        const t = now()
        const ok = ytext.toString() === expectedText(cfg.want_text)
        emit({ ev: 'text', t, ok, length: ytext.length })
        doc.off('update', check)
        return true
    }
    doc.on('update', check)
}

emit({ ev: 'ready' })
const providers = []
for (const room of cfg.rooms) {
    emit({ ev: 'joining', room })
    const p = new WebrtcProvider(room, doc, { signaling: [cfg.signaling], peerOpts })
    providers.push(p)
    // 'peers' fires when y-webrtc creates the connection object; it is
    // connected when simple-peer says so (data channel open).
    p.on('peers', ({ added }) => {
        for (const id of added) {
            const conn = p.room && p.room.webrtcConns.get(id)
            if (!conn) continue
            const connected = () => {
                const n = [...p.room.webrtcConns.values()].filter(c => c.connected).length
                emit({ ev: 'connected', room, peer: id, n })
            }
            if (conn.connected) connected()
            else conn.peer.once('connect', connected)
            conn.peer.once('close', () => emit({ ev: 'closed', room, peer: id }))
            // Sync step 2 received on this connection (message type 0, sync
            // type 1, both one-byte varuints). y-webrtc's own conn.synced is
            // set only for the first connection of a room that is not yet
            // synced, so it cannot tell.
            conn.peer.on('data', d => {
                if (d[0] === 0 && d[1] === 1) conn.gotStep2 = true
            })
        }
    })
    for (const s of p.signalingConns) {
        if (s.connected) emit({ ev: 'signaling', room })
        else s.once('connect', () => emit({ ev: 'signaling', room }))
    }
}

function status() {
    const s = fs.readFileSync('/proc/self/status', 'utf8')
    const kib = name => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(s)[1])
    return { rss_kib: kib('VmRSS'), anon_kib: kib('RssAnon') }
}

// Every connection of every room open and through sync step 2.
const allSynced = () =>
    providers.every(p => p.room && [...p.room.webrtcConns.values()].every(c => c.connected && c.gotStep2))

const commands = {
    fill({ bytes }) {
        ytext.insert(0, expectedText(bytes))
        emit({ ev: 'filled', length: ytext.length })
    },
    ping({ id }) {
        pings.set(String(id), now())
    },
    async burst({ n, size, batch }) {
        const payload = 'x'.repeat(size)
        emit({ ev: 'burst_start' })
        for (let i = 0; i < n; i++) {
            msgs.push([payload])
            if ((i + 1) % batch === 0) await new Promise(r => setImmediate(r))
        }
        emit({ ev: 'burst_sent' })
    },
    want_count({ n }) {
        if (msgs.length >= n) emit({ ev: 'count', n: msgs.length })
        else wantCount = n
    },
    rss() {
        // Live memory, not garbage waiting for a collection (node --expose-gc).
        if (globalThis.gc) {
            globalThis.gc()
            globalThis.gc()
        }
        emit({ ev: 'rss', ...status() })
    },
    settle() {
        const poll = () => (allSynced() ? emit({ ev: 'settled' }) : setTimeout(poll, 5))
        poll()
    },
    exit() {
        for (const p of providers) p.destroy()
        process.exit(0)
    }
}

readline.createInterface({ input: process.stdin }).on('line', line => {
    const c = JSON.parse(line)
    Promise.resolve(commands[c.cmd](c)).catch(e => {
        emit({ ev: 'error', message: String(e && e.stack) })
    })
})
process.stdin.on('end', () => process.exit(0))
