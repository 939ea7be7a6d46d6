// web.sizes: the size of what a page loads (pkc.wasm, pkc.js, peer.js, store.js, index.html),
// raw and gzip -9, printed for the record. Nothing is asserted about the
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
for (const f of ['pkc.wasm', 'pkc.js', 'peer.js', 'store.js', 'index.html']) {
  const b = fs.readFileSync(path.join(DIST, f))
  const g = zlib.gzipSync(b, { level: 9 }).length
  check(b.length > 0, `${f} is not empty`)
  rows.push(`${f.padEnd(12)} ${String(b.length).padStart(8)} ${String(g).padStart(8)}`)
  raw += b.length
  gz += g
}
console.log(`${'file'.padEnd(12)} ${'raw'.padStart(8)} ${'gzip -9'.padStart(8)}`)
for (const r of rows) console.log(r)
console.log(`${'total'.padEnd(12)} ${String(raw).padStart(8)} ${String(gz).padStart(8)}`)
finish('web.sizes')
