// Checks pkc's lib0 codec (tests/interop/lib0_tool.c) against the lib0 npm
// package, the encoder and decoder Yjs uses, in both directions:
//   lib0 encodes -> pkc must produce the same bytes and decode lib0's bytes;
//   pkc encodes  -> lib0 must decode pkc's bytes to the original values.
// Usage: node tests/interop/lib0.mjs PATH/TO/pkc-lib0-tool
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'
import { spawnSync } from 'node:child_process'

const tool = process.argv[2]
if (!tool) { console.error('usage: lib0.mjs TOOL'); process.exit(2) }

// Deterministic PRNG (mulberry32), so a failure reproduces.
let seed = 0x5eed
const rand = () => {
  seed |= 0; seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const hex = u8 => Buffer.from(u8).toString('hex')
const enc = f => { const e = encoding.createEncoder(); f(e); return encoding.toUint8Array(e) }

const uints = new Set()
for (let i = 0; i <= 1000; i++) uints.add(i)
for (let k = 1; k <= 53; k++) {
  const p = 2 ** k
  for (const d of [-1, 0, 1]) if (p + d <= Number.MAX_SAFE_INTEGER) uints.add(p + d)
}
for (let i = 0; i < 2000; i++) uints.add(Math.floor(rand() * 2 ** (1 + Math.floor(rand() * 53))))
const ints = []
for (const u of uints) { ints.push(u); if (u !== 0) ints.push(-u) }
ints.push(-0)

const strings = ['', 'a', 'hello world', 'é', '€', '😀', '日本語のテキスト', 'mixed ascii é € 😀 end',
  '\u0000', '\uffff', '\ud800', 'a\udfffb', // lone surrogates: TextEncoder writes U+FFFD
  'x'.repeat(9999), 'y'.repeat(10001), '😀'.repeat(20000)]
for (let i = 0; i < 300; i++) {
  let s = ''
  const n = Math.floor(rand() * 40)
  for (let k = 0; k < n; k++) {
    const r = rand()
    s += r < 0.5 ? String.fromCharCode(32 + Math.floor(rand() * 95))
      : r < 0.8 ? String.fromCharCode(0xa0 + Math.floor(rand() * 0xd700))
        : String.fromCodePoint(0x10000 + Math.floor(rand() * 0xfffff))
  }
  strings.push(s)
}
const utf8 = s => Buffer.from(new TextEncoder().encode(s))

const lines = []
const expect = []
const isNegZero = v => v === 0 && 1 / v < 0
// lib0 -> pkc: same bytes out of pkc's encoder, same values out of its decoder.
for (const u of uints) {
  const e = hex(enc(x => encoding.writeVarUint(x, u)))
  lines.push(`eu ${u}`); expect.push(e)
  lines.push(`du ${e}`); expect.push(String(u))
}
for (const i of ints) {
  const e = hex(enc(x => encoding.writeVarInt(x, i)))
  const txt = isNegZero(i) ? '-0' : String(i)
  lines.push(`ei ${txt}`); expect.push(e)
  lines.push(`di ${e}`); expect.push(txt)
}
for (const s of strings) {
  const e = hex(enc(x => encoding.writeVarString(x, s)))
  lines.push(`es ${hex(utf8(s))}`); expect.push(e)
  lines.push(`ds ${e}`); expect.push(hex(utf8(s)))
}
// Mixed streams written by one lib0 encoder.
for (let t = 0; t < 200; t++) {
  const kinds = []; const vals = []
  const e = encoding.createEncoder()
  const n = 1 + Math.floor(rand() * 12)
  for (let k = 0; k < n; k++) {
    const r = rand()
    if (r < 0.4) {
      const v = [...uints][Math.floor(rand() * uints.size)]
      encoding.writeVarUint(e, v); kinds.push('u'); vals.push(String(v))
    } else if (r < 0.8) {
      const v = ints[Math.floor(rand() * ints.length)]
      encoding.writeVarInt(e, v); kinds.push('i'); vals.push(isNegZero(v) ? '-0' : String(v))
    } else {
      const v = strings[Math.floor(rand() * 30)]
      encoding.writeVarString(e, v); kinds.push('s'); vals.push(hex(utf8(v)))
    }
  }
  lines.push(`dm ${kinds.join('')} ${hex(encoding.toUint8Array(e))}`); expect.push(vals.join(' '))
}
// Malformed inputs are errors in pkc, never values. (For invalid UTF-8 pkc is
// stricter than lib0, whose TextDecoder substitutes U+FFFD; TextEncoder, the
// only way lib0 writes strings, always produces valid UTF-8.)
const rejected = [
  ['du', ''], ['du', '80'], ['du', 'ffff'], ['di', ''], ['di', 'c0'],
  ['ds', '05616263'], ['ds', '02c080'], ['ds', '03eda080']
]
for (const [k, h] of rejected) { lines.push(`${k} ${h}`); expect.push(null) }

const out = spawnSync(tool, { input: lines.join('\n') + '\n', maxBuffer: 1 << 28 })
if (out.status !== 0) { console.error(out.stderr.toString()); process.exit(1) }
const got = out.stdout.toString().split('\n')
let failed = 0
const fail = (msg) => { if (failed++ < 20) console.error(msg) }
for (let i = 0; i < lines.length; i++) {
  if (expect[i] === null) {
    if (!got[i].startsWith('error ')) fail(`${lines[i].slice(0, 80)}: pkc accepted malformed input: ${got[i]}`)
  } else if (got[i] !== expect[i]) {
    fail(`${lines[i].slice(0, 80)}: pkc gave ${got[i].slice(0, 80)}, lib0 ${expect[i].slice(0, 80)}`)
  }
}

// pkc -> lib0: lib0 decodes what pkc encoded to the original value.
let checkedReverse = 0
for (let i = 0; i < lines.length; i++) {
  const [cmd, arg] = lines[i].split(' ')
  if (cmd[0] !== 'e') continue
  const d = decoding.createDecoder(Buffer.from(got[i], 'hex'))
  let v
  if (cmd === 'eu') v = String(decoding.readVarUint(d))
  else if (cmd === 'ei') { const x = decoding.readVarInt(d); v = isNegZero(x) ? '-0' : String(x) }
  else v = hex(Buffer.from(decoding.readVarString(d), 'utf8'))
  if (v !== arg || decoding.hasContent(d)) fail(`lib0 decoded pkc's ${cmd} ${arg.slice(0, 60)} as ${v.slice(0, 60)}`)
  checkedReverse++
}

console.log(`lib0 interop: ${lines.length} checks lib0->pkc, ${checkedReverse} pkc->lib0, ${failed} failed`)
process.exit(failed ? 1 : 0)
