// web.sizes: the size of what a page loads (pkc.wasm, pkc.js, peer.js, store.js, p2p.js,
// index.html, ui.js, dashboard.js, page.css), raw and gzip -9, printed for the record; then what it loads
// only when an invitation is made (qr.js and qrcode.mjs, the QR encoder) and when a scan starts
// (scan.js, and jsQR.js where the browser has no BarcodeDetector). Nothing is asserted about the
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
for (const f of ['pkc.wasm', 'pkc.js', 'peer.js', 'store.js', 'p2p.js', 'index.html', 'ui.js',
  'dashboard.js', 'page.css']) {
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
// Loaded later, each group only when the page needs it; qr.js and
// qrcode.mjs make invitations, so they must be there.
const later = (title, files, required) => {
  console.log(title)
  let graw = 0, ggz = 0
  for (const f of files) {
    if (!fs.existsSync(path.join(DIST, f))) {
      check(!required, `${f} is in web/dist`)
      console.log(`${f.padEnd(12)} (not in web/dist)`)
      continue
    }
    const b = fs.readFileSync(path.join(DIST, f))
    const g = zlib.gzipSync(b, { level: 9 }).length
    check(b.length > 0, `${f} is not empty`)
    console.log(`${f.padEnd(12)} ${String(b.length).padStart(8)} ${String(g).padStart(8)}`)
    graw += b.length
    ggz += g
  }
  console.log(`${'total'.padEnd(12)} ${String(graw).padStart(8)} ${String(ggz).padStart(8)}`)
}
later('loaded when an invitation is made:', ['qr.js', 'qrcode.mjs'], true)
later('loaded when a scan starts:', ['scan.js', 'jsQR.js'], false)
finish('web.sizes')
