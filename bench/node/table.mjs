// bench/node's table: pkc beside y-webrtc, the seed's figures and the
// issue's targets. Both sides are read the same way: one JSON object per
// line (format in README.md).
//   node table.mjs PKC_ROWS_FILE PKC_STATUS YWEBRTC_ROWS_FILE YWEBRTC_STATUS
// A status other than "ok" fills that side's column (e.g. "not built").
import fs from 'node:fs'

const [pkcFile, pkcStatus, ywFile, ywStatus] = process.argv.slice(2)

// Known rows, in order. better: 'lower' or 'higher'. target: [test, text].
// Targets in MB are read strictly (1 MB = 1,000,000 bytes).
const ROWS = [
    ['floor_rss_kib', 'memory, no node: libraries + OpenSSL (VmRSS)', 'lower', '', null],
    ['floor_rss_anon_kib', 'memory, no node: libraries + OpenSSL (RssAnon)', 'lower', '', null],
    ['dtls_floor_rss_kib', 'memory, OpenSSL alone set up for DTLS (VmRSS)', 'lower', '', [v => v * 1024 < 3e6, '< 3 MB']],
    ['dtls_floor_static_rss_kib', 'same, linked statically (VmRSS)', 'lower', '', [v => v * 1024 < 3e6, '< 3 MB']],
    ['idle_rss_kib', 'memory, idle node (VmRSS)', 'lower', '5-10 MB', [v => v * 1024 < 3e6, '< 3 MB']],
    ['idle_over_floor_kib', 'memory, idle node less the no-node floor (VmRSS)', 'lower', '', [v => v * 1024 < 3e6, '< 3 MB']],
    ['idle_rss_anon_kib', 'memory, idle node (RssAnon)', 'lower', '', null],
    ['first_peer_rss_kib', 'memory added by the first peer (VmRSS)', 'lower', '', null],
    ['first_peer_rss_anon_kib', 'memory added by the first peer (RssAnon)', 'lower', '', null],
    ['per_peer_rss_kib', 'memory per further connected peer (VmRSS)', 'lower', '1-2 MB', [v => v < 256, '< 256 KiB']],
    ['per_peer_rss_anon_kib', 'memory per further connected peer (RssAnon)', 'lower', '', null],
    ['one_hop_latency_us', 'one-hop latency, small message', 'lower', '', null],
    ['two_hop_latency_us', 'two-hop latency, small message', 'lower', '', null],
    ['messages_per_s', 'small messages per second, 2 nodes', 'higher', '100-1000', [v => v >= 10000, '>= 10,000']],
    ['sync_1mib_ms', 'new peer syncs 1 MiB, from joining', 'lower', 'state sync < 100 ms', [v => v < 100, '< 100 ms']],
    ['sync_1mib_connected_ms', 'new peer syncs 1 MiB, from connected', 'lower', 'state sync < 100 ms', [v => v < 100, '< 100 ms']],
    ['sync_1mib_unfixed_ms', 'same, y-webrtc as shipped (no size fix)', 'lower', '', null],
    ['first_connection_ms', 'start to first connection, same host', 'lower', '', null]
]

function read(file, status) {
    const rows = new Map()
    if (status !== 'ok') return rows
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        if (!line.trim()) continue
        let o
        try { o = JSON.parse(line) } catch { continue }
        if (o && typeof o.row === 'string') rows.set(o.row, o)
    }
    return rows
}
const pkc = read(pkcFile, pkcStatus)
const yw = read(ywFile, ywStatus)

const num = v => {
    const a = Math.abs(v)
    const d = a >= 100 ? 0 : a >= 10 ? 1 : 2
    return v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: 0 })
}
function cell(rows, status, name) {
    if (status !== 'ok') return status
    const o = rows.get(name)
    if (!o) return '-'
    const tries = (o.runs || 0) + (o.failures || 0)
    const fail = o.failures ? ` (${o.failures}/${tries} failed)` : ''
    if (o.median === null || o.median === undefined) return `n/a${o.na ? `: ${o.na}` : ''}${fail}`
    const sep = o.min < 0 || o.max < 0 ? ' to ' : '-'
    return `${num(o.median)} [${num(o.min)}${sep}${num(o.max)}]${fail}`
}

const units = { kib: 'KiB', us: 'µs', ms: 'ms', 'msg/s': 'msg/s' }
const unitOf = name => {
    const o = pkc.get(name) || yw.get(name)
    if (o && o.unit) return units[o.unit.toLowerCase()] || o.unit
    return name.endsWith('_kib') ? 'KiB' : name.endsWith('_us') ? 'µs' : name.endsWith('_ms') ? 'ms' : name.endsWith('_per_s') ? '/s' : ''
}

function verdict(name, better, target) {
    const p = pkc.get(name)
    if (pkcStatus !== 'ok' || !p || p.median == null) return ''
    const out = []
    if (target) out.push(target[0](p.median) ? 'target met' : 'TARGET MISSED')
    const y = yw.get(name)
    if (ywStatus === 'ok' && y && y.median != null) {
        const ahead = better === 'lower' ? p.median < y.median : p.median > y.median
        out.push(ahead ? 'ahead of y-webrtc' : 'BEHIND y-webrtc')
    }
    return out.join(', ')
}

const known = new Set(ROWS.map(r => r[0]))
const extra = [...new Set([...pkc.keys(), ...yw.keys()])].filter(n => !known.has(n))
const all = [...ROWS, ...extra.map(n => [n, n, 'lower', '', null])]

console.log('| row | unit | pkc | y-webrtc | seed | target | pkc: |')
console.log('|---|---|---|---|---|---|---|')
for (const [name, label, better, seed, target] of all) {
    console.log(`| ${label} | ${unitOf(name)} | ${cell(pkc, pkcStatus, name)} | ${cell(yw, ywStatus, name)} | ` +
        `${seed} | ${target ? target[1] : ''} | ${verdict(name, better, target)} |`)
}
console.log('\nmedian [min-max]; "n failed": runs that timed out (y-webrtc stalls), not in the figures; ' +
    'targets from issue 11, the seed\'s figures from its design. Notes per row:')
for (const [name] of all) {
    for (const [side, rows] of [['pkc', pkc], ['y-webrtc', yw]]) {
        const o = rows.get(name)
        if (o && o.note) console.log(`- ${name}, ${side}: ${o.note} (${o.samples ?? o.runs} sample${(o.samples ?? o.runs) === 1 ? '' : 's'})`)
    }
}
