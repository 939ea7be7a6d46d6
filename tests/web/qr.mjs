// web.qr: the page's QR codes (web/page/qr.js over qrcode-generator,
// web/dist/qrcode.mjs) checked by reading what it draws with another reader:
// each SVG qrSvg makes is rasterised here (its path of unit squares, parsed
// strictly, into a PNG of 4 pixels a module) and decoded by `pkc qr decode`
// (zbar), which must give the text back byte for byte. Texts: short and
// long, ASCII and UTF-8, invitation links (their code in an alphanumeric
// segment), up to the most a version 40-M symbol holds in byte mode (2331
// bytes, also as 777 three-byte characters) and in alphanumeric mode (3391
// characters); each also read by jsQR, the page's own scanner. The symbol of an invitation link is no larger than the one
// libqrencode makes for it (`pkc qr encode --info`, level M). One byte more
// than the limits is refused with a clear Error.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { pathToFileURL } from 'node:url'
import { DIST, check, finish, needDist, tmpdir, PKC } from './lib.mjs'

needDist()
check(fs.existsSync(path.join(DIST, 'qrcode.mjs')), 'web/dist/qrcode.mjs (npm qrcode-generator, copied by make web)')
const { qrModules, qrSvg } = await import(pathToFileURL(path.join(DIST, 'qr.js')))
const tmp = tmpdir('pkc-web-qr-')

// The dark modules of an SVG from qrSvg, as an n x n array of booleans (n:
// the viewBox's side, quiet zone included). Anything but the expected form
// (white background, one black path of 1-module-high rectangles inside the
// quiet zone) throws.
function parseSvg(svg, size) {
  const m = /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 (\d+) (\d+)" shape-rendering="crispEdges" role="img" aria-label="QR code"><rect width="(\d+)" height="(\d+)" fill="#fff"\/><path fill="#000" d="([^"]*)"\/><\/svg>$/.exec(svg)
  if (!m) throw new Error(`not the SVG expected: ${svg.slice(0, 200)}`)
  const n = Number(m[1])
  if (Number(m[2]) !== n || Number(m[3]) !== n || Number(m[4]) !== n) throw new Error('viewBox and background differ')
  if (n !== size + 8) throw new Error(`side ${n}: not ${size} modules and a quiet zone of 4`)
  const grid = Array.from({ length: n }, () => new Array(n).fill(false))
  const re = /M(\d+) (\d+)h(\d+)v1h-(\d+)z/y
  let r
  while (re.lastIndex < m[5].length && (r = re.exec(m[5]))) {
    const [x, y, w, w2] = r.slice(1).map(Number)
    if (w !== w2 || w < 1 || x < 4 || y < 4 || x + w > n - 4 || y >= n - 4) throw new Error(`a rectangle out of place: ${r[0]}`)
    for (let i = 0; i < w; i++) {
      if (grid[y][x + i]) throw new Error(`rectangles overlap at ${x + i},${y}`)
      grid[y][x + i] = true
    }
  }
  if (re.lastIndex !== m[5].length) throw new Error(`the path does not parse at ${re.lastIndex}: ${m[5].slice(re.lastIndex, re.lastIndex + 40)}`)
  return grid
}

// A greyscale PNG of a grid of modules, `px` pixels a module.
function png(grid, px = 4) {
  const n = grid.length * px
  const raw = Buffer.alloc(n * (n + 1), 255)
  for (let y = 0; y < n; y++) {
    raw[y * (n + 1)] = 0 // filter: none
    for (let x = 0; x < n; x++) {
      if (grid[Math.floor(y / px)][Math.floor(x / px)]) raw[y * (n + 1) + 1 + x] = 0
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

// jsQR (npm jsqr, the page's own scanner where a browser has no
// BarcodeDetector) on the same grid: the bytes it read, or null.
const jsQR = (await import('jsqr')).default
function jsqrRead(grid, px = 4) {
  const n = grid.length * px
  const d = new Uint8ClampedArray(n * n * 4).fill(255)
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) {
    if (grid[Math.floor(y / px)][Math.floor(x / px)]) d.fill(0, (y * n + x) * 4, (y * n + x) * 4 + 3)
  }
  const c = jsQR(d, n, n)
  return c ? Buffer.from(c.binaryData) : null
}

// libqrencode's version for a text at level M (it raises the level to Q
// only within the same version).
function refVersion(t) {
  const q = spawnSync(PKC, ['qr', 'encode', '--info', '--level', 'M', '--png', path.join(tmp, 'ref.png'), t], { encoding: 'utf8' })
  const m = /version (\d+)/.exec(q.stderr)
  return m ? Number(m[1]) : null
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
const code = (n, seed) => 'PKCI1' + Array.from({ length: n }, (_, i) => B32[(i * 7 + seed * 13 + (i * i) % 11) % 32]).join('')
const texts = [
  'a', 'hello', 'https://example.org/', 'ünïcødé ✓ 😀 and more',
  `http://127.0.0.1:41234/#${code(420, 1)}`, `https://pkc.invalid/join#${code(413, 2)}`,
  `http://[fe80::1]:8080/pkc/?channel=x#${code(260, 4)}`,
  `https://example.org/pkc/#${code(880, 3)}`,
  'x'.repeat(100), 'The quick brown fox jumps over the lazy dog. '.repeat(12),
  Array.from({ length: 1500 }, (_, i) => String.fromCharCode(33 + (i * 31) % 94)).join(''),
  Array.from({ length: 2331 }, (_, i) => String.fromCharCode(32 + (i * 7919 + (i * i) % 97) % 95)).join(''),
  '€'.repeat(777), 'HTTPS://PKC.INVALID/JOIN/'.padEnd(3391, 'ABC234 $%*+-./:')
]
const versions = new Set()
for (const [i, t] of texts.entries()) {
  const bytes = Buffer.byteLength(t)
  const sym = qrModules(t)
  const svg = qrSvg(t)
  let grid
  try {
    grid = parseSvg(svg, sym.size)
  } catch (e) {
    check(false, `text ${i}: ${e.message}`)
    continue
  }
  let same = true
  for (let y = 0; y < sym.size; y++) for (let x = 0; x < sym.size; x++) same &&= grid[y + 4][x + 4] === sym.dark(x, y)
  check(same, `text ${i}: the SVG draws the symbol's modules`)
  versions.add(sym.version)
  const file = path.join(tmp, `q${i}.png`)
  fs.writeFileSync(file, png(grid))
  const r = spawnSync(PKC, ['qr', 'decode', file], { encoding: 'utf8' })
  const got = (r.stdout || '').replace(/\n$/, '')
  check(r.status === 0 && got === t, `text ${i} (${bytes} bytes, version ${sym.version}) read back: ` +
    `${r.status} ${JSON.stringify(got.slice(0, 40))} ${r.stderr}`)
  const j = jsqrRead(grid)
  check(j && j.equals(Buffer.from(t)), `text ${i}: read back by jsQR too`)
  const segs = sym.segments.map(s => `${s.mode === 'Byte' ? 'byte' : 'alnum'} ${s.length}`).join(', ')
  if (t.includes('#PKCI1')) {
    const ref = refVersion(t)
    check(ref && sym.version <= ref, `invitation link ${i}: version ${sym.version}, libqrencode's ${ref}`)
    check(sym.segments.at(-1).mode === 'Alphanumeric' && sym.segments.at(-1).length >= t.length - t.indexOf('#') - 1,
      `invitation link ${i}: its code in an alphanumeric segment (${segs})`)
    console.log(`  an invitation link of ${t.length} characters: version ${sym.version} (libqrencode: ${ref}), segments ${segs}`)
  } else {
    console.log(`  text ${i}: ${bytes} bytes, version ${sym.version}, segments ${segs}`)
  }
}
console.log(`  ${texts.length} texts read back by zbar, versions ${[...versions].sort((a, b) => a - b).join(', ')}`)
check(versions.has(1) && versions.has(40), 'versions 1 and 40 among them')

// 2331 times 'y': the library picks mask 3 (its own penalty, not ISO
// 18004's), whose diagonals over this repetitive data zbar does not find at
// any scale; the symbol is valid (other masks of the same data read, and
// jsQR reads this one). Random texts and invitation links read in zbar.
{
  const t = 'y'.repeat(2331)
  const sym = qrModules(t)
  const j = jsqrRead(parseSvg(qrSvg(t), sym.size))
  check(sym.version === 40 && j && j.equals(Buffer.from(t)), `2331 times 'y': version ${sym.version}, read by jsQR`)
}

// One more than a version 40-M symbol holds: refused, saying so.
for (const t of ['y'.repeat(2332), '€'.repeat(778), 'A'.repeat(3392)]) {
  let err = null
  try { qrSvg(t) } catch (e) { err = e }
  check(err instanceof Error && /^qr: \d+ bytes are more than a QR code holds at level M/.test(err.message),
    `${Buffer.byteLength(t)} bytes (${t[0]}...) refused: ${err && err.message}`)
}
const svg = qrSvg('hello')
check(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" viewBox="0 0 29 29"/.test(svg) && /<path fill="#000" d="M4 4h7v1h-7z/.test(svg),
  `the SVG of a version 1 code: 29 modules with the quiet zone, the finder's top row first: ${svg.slice(0, 200)}`)
finish('web.qr')
