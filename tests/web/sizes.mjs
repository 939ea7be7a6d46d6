// web.sizes: the size of what a page loads (every file of web/dist: pkc.wasm,
// pkc.js, peer.js, store.js, index.html and whatever else the page has),
// raw and gzip -9, printed for the record beside the references of
// docs/web.md, "Figures". Nothing is asserted about the
// figures: the budget (under 300 KB gzip for the whole page) is
// reported by the benchmark note, not enforced here. It fails only when a
// file is missing or empty.
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { DIST, check, finish, needDist } from './lib.mjs'

needDist()
let raw = 0, gz = 0
const rows = []
const files = fs.readdirSync(DIST).filter(f => fs.statSync(path.join(DIST, f)).isFile()).sort()
for (const f of ['pkc.wasm', 'pkc.js', 'peer.js', 'store.js', 'index.html']) check(files.includes(f), `web/dist has ${f}`)
for (const f of files) {
  const b = fs.readFileSync(path.join(DIST, f))
  const g = zlib.gzipSync(b, { level: 9 }).length
  check(b.length > 0, `${f} is not empty`)
  rows.push(`${f.padEnd(14)} ${String(b.length).padStart(8)} ${String(g).padStart(8)}`)
  raw += b.length
  gz += g
}
console.log(`${'file'.padEnd(14)} ${'raw'.padStart(8)} ${'gzip -9'.padStart(8)}`)
for (const r of rows) console.log(r)
console.log(`${'total'.padEnd(14)} ${String(raw).padStart(8)} ${String(gz).padStart(8)}`)
console.log('references (docs/web.md, "Figures"): the issue\'s target, the whole page under 300 KB gzip; ' +
  'the seed\'s goal, about 50 KB; Trystero\'s published bundle sizes (minified by Rollup + Terser, ' +
  'not gzip): 27K with BitTorrent, 56K Nostr, 212K Firebase, 337K MQTT, 1MB IPFS')
finish('web.sizes')
