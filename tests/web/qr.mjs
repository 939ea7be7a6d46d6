// web.qr: the page's QR encoder (web/src/qr_web.c in pkc.wasm, drawn by
// web/page/qr.js) checked by reading what it makes with another reader:
// each symbol is written as a PNG and decoded by `pkc qr decode` (zbar),
// which must give the text back byte for byte. Texts: short and long, ASCII
// and UTF-8, and invitation links whose code goes in an alphanumeric
// segment, versions 1 to 40; the symbol of an invitation link is no larger
// than the one libqrencode makes for it (`pkc qr encode --info`, level M).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { pathToFileURL } from 'node:url'
import { DIST, check, finish, needDist, tmpdir, PKC } from './lib.mjs'

needDist()
const { load } = await import(pathToFileURL(path.join(DIST, 'pkc.js')))
const { qrModules, qrSvg } = await import(pathToFileURL(path.join(DIST, 'qr.js')))
const pkc = await load(fs.readFileSync(path.join(DIST, 'pkc.wasm')))
const tmp = tmpdir('pkc-web-qr-')

// A greyscale PNG of the symbol, `px` pixels a module, quiet zone 4.
function png(size, dark, px = 4) {
  const n = (size + 8) * px
  const raw = Buffer.alloc(n * (n + 1), 255)
  for (let y = 0; y < n; y++) {
    raw[y * (n + 1)] = 0 // filter: none
    for (let x = 0; x < n; x++) {
      const mx = Math.floor(x / px) - 4, my = Math.floor(y / px) - 4
      if (mx >= 0 && my >= 0 && mx < size && my < size && dark(mx, my)) raw[y * (n + 1) + 1 + x] = 0
    }
  }
  const crcTable = Array.from({ length: 256 }, (_, k) => {
    let c = k
    for (let i = 0; i < 8; i++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    return c >>> 0
  })
  const crc = (b) => { let c = 0xffffffff; for (const x of b) c = crcTable[(c ^ x) & 255] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0 }
  const chunk = (type, body) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(body.length)
    const tb = Buffer.concat([Buffer.from(type), body])
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(tb))
    return Buffer.concat([len, tb, c])
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(n, 0); ihdr.writeUInt32BE(n, 4); ihdr[8] = 8; ihdr[9] = 0
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))])
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
const code = (n, seed) => 'PKCI1' + Array.from({ length: n }, (_, i) => B32[(i * 7 + seed * 13 + (i * i) % 11) % 32]).join('')
const texts = [
  'a', 'hello', 'https://example.org/', 'ünïcødé ✓ 😀 and more',
  `http://127.0.0.1:41234/#${code(420, 1)}`, `https://pkc.invalid/join#${code(413, 2)}`,
  `https://example.org/pkc/#${code(880, 3)}`,
  'x'.repeat(100), 'The quick brown fox jumps over the lazy dog. '.repeat(12),
  Array.from({ length: 1500 }, (_, i) => String.fromCharCode(33 + (i * 31) % 94)).join(''),
  'y'.repeat(2331)
]
const versions = new Set()
for (const [i, t] of texts.entries()) {
  const { size, dark } = qrModules(t, pkc)
  const version = (size - 17) / 4
  versions.add(version)
  const file = path.join(tmp, `q${i}.png`)
  fs.writeFileSync(file, png(size, dark))
  const r = spawnSync(PKC, ['qr', 'decode', file], { encoding: 'utf8' })
  const got = (r.stdout || '').replace(/\n$/, '')
  check(r.status === 0 && got === t, `text ${i} (${Buffer.byteLength(t)} bytes, version ${version}) read back: ` +
    `${r.status} ${JSON.stringify(got.slice(0, 40))} ${r.stderr}`)
  if (t.includes('#PKCI1')) {
    const q = spawnSync(PKC, ['qr', 'encode', '--info', '--level', 'M', '--png', path.join(tmp, 'ref.png'), t], { encoding: 'utf8' })
    const m = /version (\d+)/.exec(q.stderr)
    check(m && version <= Number(m[1]), `invitation link ${i}: version ${version}, libqrencode's ${m && m[1]}`)
    console.log(`  an invitation link of ${t.length} characters: version ${version} (libqrencode: ${m && m[1]})`)
  }
}
console.log(`  ${texts.length} texts read back by zbar, versions ${[...versions].sort((a, b) => a - b).join(', ')}`)
check(versions.has(1) && versions.has(40), 'versions 1 and 40 among them')
let tooLong = null
try { qrModules('y'.repeat(2332), pkc) } catch (e) { tooLong = e }
check(tooLong && /more than a QR code holds/.test(tooLong.message), `2332 bytes refused: ${tooLong && tooLong.message}`)
const svg = qrSvg('hello', pkc)
check(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" viewBox="0 0 29 29"/.test(svg) && /<path fill="#000" d="M4 4h7v1h-7z/.test(svg),
  `the SVG of a version 1 code: 29 modules with the quiet zone, the finder's top row first: ${svg.slice(0, 200)}`)
finish('web.qr')
