// `pkc yjs` against the `yjs` package: merge, json, sv, diff and replay
// give what Yjs gives (byte for byte where the output is an update), and
// bad input gives an error (exit 1) or a usage error (exit 2).
//
// Usage: node cli.mjs PKC   (PKC_SOURCE_DIR locates the editing traces)
import * as Y from 'yjs'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import zlib from 'node:zlib'

const pkc = process.argv[2]
const src = process.env.PKC_SOURCE_DIR || '.'
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pkc-yjs-cli-'))
let failures = 0
let checks = 0
const fail = msg => { failures++; console.error('FAIL: ' + msg) }
const run = (...args) => spawnSync(pkc, args, { maxBuffer: 1 << 28 })
const file = (name, bytes) => { const p = path.join(tmp, name); fs.writeFileSync(p, bytes); return p }
const eqBytes = (a, b, what) => { checks++; if (Buffer.compare(Buffer.from(a), Buffer.from(b)) !== 0) fail(`${what}: bytes differ (pkc ${a.length}, yjs ${b.length})`) }
const eq = (a, b, what) => { checks++; if (a !== b) fail(`${what}:\n  pkc: ${String(a).slice(0, 300)}\n  yjs: ${String(b).slice(0, 300)}`) }

let seed = 42
const rand = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff }
const int = (a, b) => a + Math.floor(rand() * (b - a + 1))

try {
  for (let round = 0; round < 12; round++) {
    // three peers edit concurrently; their updates are the input files
    const docs = [0, 1, 2].map(i => { const d = new Y.Doc(); d.clientID = 100 + i + round * 3; return d })
    const updates = []
    docs.forEach(d => d.on('update', u => updates.push(u)))
    for (let k = 0; k < 40; k++) {
      const d = docs[int(0, 2)]
      const r = rand()
      if (r < 0.3) {
        const t = d.getText('text')
        t.insert(int(0, t.length), ['a', 'é', '😀', 'xyz'][int(0, 3)], rand() < 0.2 ? { bold: true } : undefined)
      } else if (r < 0.4) {
        const t = d.getText('text')
        if (t.length) t.delete(int(0, t.length - 1), 1)
      } else if (r < 0.6) {
        d.getMap('map').set(['a', 'b', '1'][int(0, 2)], rand() < 0.5 ? int(0, 100) : { x: [1, 'two', null] })
      } else if (r < 0.8) {
        const a = d.getArray('array')
        a.insert(int(0, a.length), [int(0, 9), 'v'])
      } else {
        const x = d.getXmlFragment('xml')
        const el = new Y.XmlElement('p')
        x.insert(int(0, x.length), [el])
        el.setAttribute('class', 'c' + k)
      }
      if (rand() < 0.3) { const a = docs[int(0, 2)], b = docs[int(0, 2)]; Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a))) }
    }
    const files = updates.map((u, i) => file(`u${round}-${i}.bin`, u))
    // merge: apply in order, encode
    const ref = new Y.Doc()
    for (const u of updates) Y.applyUpdate(ref, u)
    const m = run('yjs', 'merge', ...files)
    eq(m.status, 0, `merge exit (${m.stderr})`)
    eqBytes(m.stdout, Y.encodeStateAsUpdate(ref), `round ${round}: merge`)
    const merged = file(`m${round}.bin`, m.stdout)
    // json
    const j = run('yjs', 'json', merged, '--map', 'map', '--array', 'array', '--text', 'text', '--xml', 'xml')
    const want = JSON.stringify({ map: ref.getMap('map').toJSON(), array: ref.getArray('array').toJSON(), text: ref.getText('text').toJSON(), xml: ref.getXmlFragment('xml').toJSON() })
    eq(j.stdout.toString().trim(), want, `round ${round}: json`)
    eq(run('yjs', 'json', merged, '--text', 'text').stdout.toString().trim(), JSON.stringify(ref.getText('text').toJSON()), `round ${round}: json of one root`)
    // sv
    const sv = run('yjs', 'sv', merged)
    const svm = Y.decodeStateVector(Y.encodeStateVector(ref))
    eq(sv.stdout.toString().trim(), JSON.stringify(Object.fromEntries([...svm.entries()].sort((a, b) => a[0] - b[0]))), `round ${round}: sv`)
    // diff against a peer's state vector, binary and JSON
    const peer = docs[int(0, 2)]
    const psv = Y.encodeStateVector(peer)
    const svfile = file(`sv${round}.bin`, psv)
    const d = run('yjs', 'diff', merged, svfile)
    eqBytes(d.stdout, Y.diffUpdate(m.stdout, psv), `round ${round}: diff`)
    const svjson = file(`sv${round}.json`, JSON.stringify(Object.fromEntries(Y.decodeStateVector(psv))))
    eqBytes(run('yjs', 'diff', merged, svjson).stdout, Y.diffUpdate(m.stdout, psv), `round ${round}: diff (JSON sv)`)
  }

  // replay a real editing trace: the same document, byte for byte
  const trace = path.join(src, '../shared/data/editing-traces/seph-blog1.json.gz')
  if (fs.existsSync(trace)) {
    const t = JSON.parse(zlib.gunzipSync(fs.readFileSync(trace)))
    const doc = new Y.Doc(); doc.clientID = 1
    const text = doc.getText('text')
    // positions count code points; this trace has no characters above U+FFFF
    for (const tx of t.txns) doc.transact(() => { for (const [pos, del, ins] of tx.patches) { if (del) text.delete(pos, del); if (ins) text.insert(pos, ins) } })
    const r = run('yjs', 'replay', trace)
    eq(r.status, 0, `replay exit (${r.stderr})`)
    eqBytes(r.stdout, Y.encodeStateAsUpdate(doc), 'replay of seph-blog1')
  } else {
    fail(`missing ${trace}`)
  }

  // a trace with characters above U+FFFF: positions count code points, Yjs
  // counts UTF-16 units. Random edits, several per transaction, deletions
  // across astral characters, escapes, whitespace and keys replay skips.
  {
    const alphabet = ['a', 'b', ' ', '\n', 'é', '€', '"', '\\', '\u0001', '😀', '𝄞', '🇫🇷', '\u{10FFFF}']
    const word = () => { let s = ''; for (let k = int(0, 4); k > 0; k--) s += alphabet[int(0, alphabet.length - 1)]; return s }
    let cps = Array.from('start 😀 here ')
    const startContent = cps.join('')
    const txns = []
    for (let i = 0; i < 3000; i++) {
      const patches = []
      for (let k = int(1, 3); k > 0; k--) {
        const pos = int(0, cps.length)
        const del = rand() < 0.4 ? int(0, Math.min(5, cps.length - pos)) : 0
        const ins = rand() < 0.8 ? word() : ''
        cps.splice(pos, del, ...Array.from(ins))
        patches.push([pos, del, ins])
      }
      txns.push({ time: `t${i}`, patches, extra: { n: [i, null, true, 1.5e3] } })
    }
    const t = { startContent, endContent: cps.join(''), txns, author: 'test' }
    const tfile = file('astral.json.gz', zlib.gzipSync(JSON.stringify(t, null, 1)))
    const doc = new Y.Doc(); doc.clientID = 7
    const text = doc.getText('text')
    text.insert(0, startContent)
    const u16 = (s, n) => Array.from(s).slice(0, n).join('').length
    for (const tx of t.txns) {
      doc.transact(() => {
        for (const [pos, del, ins] of tx.patches) {
          const s = text.toString()
          const upos = u16(s, pos), udel = u16(s, pos + del) - upos
          if (udel) text.delete(upos, udel)
          if (ins) text.insert(upos, ins)
        }
      })
    }
    eq(text.toString(), t.endContent, 'the reference replay of the astral trace')
    const r = run('yjs', 'replay', tfile, '--client-id', '7')
    eq(r.status, 0, `replay of the astral trace: exit (${r.stderr})`)
    eqBytes(r.stdout, Y.encodeStateAsUpdate(doc), 'replay of a trace with characters above U+FFFF')
    const r2 = spawnSync(pkc, ['yjs', 'replay', '-', '--client-id', '7'], { input: fs.readFileSync(tfile), maxBuffer: 1 << 28 })
    eqBytes(r2.stdout, Y.encodeStateAsUpdate(doc), 'replay from stdin')

    // what replay refuses: each an error naming the file (and the offset
    // in the JSON where there is one), nothing on stdout
    const bad = (name, json, re) => {
      const r = run('yjs', 'replay', file(name, zlib.gzipSync(json)))
      eq(r.status, 1, `${name}: exit 1 (${r.stderr})`)
      eq(r.stdout.length, 0, `${name}: no output`)
      checks++; if (!re.test(r.stderr.toString())) fail(`${name}: message ${JSON.stringify(r.stderr.toString())} does not match ${re}`)
    }
    bad('truncated.json.gz', Buffer.from(JSON.stringify(t)).subarray(0, 5000), /truncated\.json\.gz: JSON offset 5000: the trace ends/)
    bad('trailing.json.gz', '{"txns":[]} {}', /offset 12: more after the end/)
    bad('fraction.json.gz', '{"txns":[{"patches":[[1.5,0,""]]}]}', /offset 22: expected a position/)
    bad('negative.json.gz', '{"txns":[{"patches":[[0,-1,""]]}]}', /offset 24: the count of deleted characters is negative/)
    bad('surrogate.json.gz', '{"txns":[{"patches":[[0,0,"\\ud83d"]]}]}', /offset 27: a lone surrogate/)
    bad('badutf8.json.gz', Buffer.concat([Buffer.from('{"txns":[{"patches":[[0,0,"'), Buffer.from([0xc0, 0x80]), Buffer.from('"]]}]}')]), /offset 27: invalid UTF-8/)
    bad('nopatches.json.gz', '{"txns":[{"time":1}]}', /offset 18: a transaction without "patches"/)
    bad('twice.json.gz', '{"txns":[],"txns":[]}', /offset 11: "txns" twice/)
    bad('notrace.json.gz', '[1,2]', /offset 0: expected an object/)
    bad('past.json.gz', '{"txns":[{"patches":[[0,0,"a😀"],[3,0,"x"]]}]}', /edit 0 does not apply: position 3, 0 deleted, but the text has 2 characters/)
    bad('late.json.gz', '{"txns":[{"patches":[]}],"startContent":"x"}', /"startContent" comes after "txns"/)
    bad('differs.json.gz', '{"txns":[{"patches":[[0,0,"a😀b"],[1,0,"x"]]}],"endContent":"a😀xb"}', /differs from endContent/)
    const gz = fs.readFileSync(tfile)
    const cut = run('yjs', 'replay', file('cut.json.gz', gz.subarray(0, gz.length >> 1)))
    eq(cut.status, 1, 'replay of cut gzip data: exit 1')
    checks++; if (!/gzip data ends early/.test(cut.stderr.toString())) fail(`cut gzip: ${cut.stderr}`)
  }

  // errors
  const good = Y.encodeStateAsUpdate((() => { const d = new Y.Doc(); d.getText('t').insert(0, 'hello'); return d })())
  const trunc = file('trunc.bin', good.slice(0, good.length - 3))
  let r = run('yjs', 'merge', trunc)
  eq(r.status, 1, 'truncated update: exit 1')
  checks++; if (!/trunc\.bin: offset \d+/.test(r.stderr.toString())) fail(`truncated update: message names the file and offset: ${r.stderr}`)
  eq(r.stdout.length, 0, 'truncated update: no output')
  r = run('yjs', 'merge', path.join(tmp, 'missing.bin'))
  eq(r.status, 1, 'missing file: exit 1')
  r = run('yjs', 'json', file('g.bin', good))
  eq(r.status, 2, 'json without roots: usage error')
  r = run('yjs', 'frobnicate')
  eq(r.status, 2, 'unknown subcommand: usage error')
  r = run('yjs', 'json', file('g2.bin', good), '--text', 't', '--map', 't')
  eq(r.status, 1, 'the same root as two kinds: exit 1')
  r = run('yjs', 'replay', file('notgz.json', '{}'))
  eq(r.status, 1, 'replay of a file that is not gzip: exit 1')
} finally {
  fs.rmSync(tmp, { recursive: true, force: true })
}
if (failures) { console.error(`${failures} of ${checks} checks failed`); process.exit(1) }
console.log(`ok: ${checks} checks of pkc yjs against yjs`)

