// Bad input against pkc's update decoder: every truncation of real updates
// (v1 and v2), random corruptions, and crafted hostile updates (huge
// counts, lengths and clocks, bad refs, references to the future, clients
// twice, trailing bytes). Each must be rejected with an error that leaves
// the document exactly as it was (encoded state, state vector, pending), or
// be accepted; nothing may crash or leak (the test runs under ASan).
//
// Usage: node hostile.mjs YDRIVER   (env HOSTILE_N: corruptions per sample,
// HOSTILE_SCRIPT=FILE: on a mismatch, write the commands since the last reset)
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'

const driver = process.argv[2]
const PER_SAMPLE = +(process.env.HOSTILE_N || 1500) // corruptions of each sample
const hex = u8 => Buffer.from(u8).toString('hex')
const lines = []; const expect = []; const where = []
const cmd = (l, e, w) => { lines.push(l); expect.push(e); where.push(w) }

let seed = 7
const rand = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff }
const int = (a, b) => a + Math.floor(rand() * (b - a + 1))

// documents with every kind of content
const mkDoc = (id, k) => {
  const d = new Y.Doc(); d.clientID = id
  const t = d.getText('text')
  t.insert(0, 'hello 😀 world é', { bold: true })
  t.insertEmbed(3, { image: 'x.png' })
  t.format(1, 4, { italic: true })
  t.delete(2, 2)
  const m = d.getMap('map')
  m.set('num', 1.5); m.set('big', 2 ** 40); m.set('s', 'str'); m.set('bin', new Uint8Array([1, 2, 3]))
  m.set('obj', { a: [1, null, true], b: { c: 'd' } }); m.set('und', undefined)
  const nested = new Y.Map(); m.set('nested', nested); nested.set('x', k)
  const arr = d.getArray('array'); arr.insert(0, [1, 'two', { three: 3 }]); arr.insert(1, [new Uint8Array([9])])
  const sub = new Y.Array(); arr.push([sub]); sub.push(['deep'])
  arr.delete(0, 1)
  const x = d.getXmlFragment('xml'); const el = new Y.XmlElement('p'); x.insert(0, [el]); el.setAttribute('class', 'c')
  const xt = new Y.XmlText(); el.insert(0, [xt]); xt.insert(0, 'xml text', { b: true })
  m.set('doc', new Y.Doc({ guid: 'sub-' + k }))
  return d
}
const a = mkDoc(11, 1)
const b = mkDoc(12, 2)
Y.applyUpdate(b, Y.encodeStateAsUpdate(a))
b.getText('text').insert(0, 'more')
const samples = [
  ['state v1', Y.encodeStateAsUpdate(b), false],
  ['state v2', Y.encodeStateAsUpdateV2(b), true],
  ['diff v1', Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)), false],
  ['merged v1', Y.mergeUpdates([Y.encodeStateAsUpdate(a), Y.encodeStateAsUpdate(b)]), false]
]

// The base document the bad updates are applied to
const base = new Y.Doc(); base.clientID = 99
base.getText('text').insert(0, 'base')
const baseState = Y.encodeStateAsUpdate(base)
let ndoc = 0
const fresh = () => {
  cmd(`doc 0 99 1`, 'ok', 'new base document')
  cmd(`apply 0 ${hex(baseState)}`, 'ok', 'load the base document')
  ndoc++
}
fresh()

// 1. every truncation of every sample
for (const [name, u, v2] of samples) {
  for (let k = 0; k < u.length; k++) {
    cmd(`tryapply${v2 ? '2' : ''} 0 ${hex(u.slice(0, k))}`, /^err PKC_ERR_\w+ unchanged$/, `${name}: truncated to ${k} of ${u.length} bytes`)
  }
  // the whole sample applies
  cmd(`tryapply${v2 ? '2' : ''} 0 ${hex(u)}`, 'ok', `${name}: complete`)
  fresh()
}

// 2. random corruptions: flip, insert, delete bytes. pkc must reject a
// corruption without a change, or accept it; when Yjs accepts it too, both
// must hold the same document afterwards. Corruptions accumulate in one
// document (reset every 25), so later ones meet earlier garbage. These run
// interactively (the next step depends on what pkc did).
const corrupt = []
for (const [name, u, v2] of samples) {
  for (let k = 0; k < PER_SAMPLE; k++) {
    let m = Buffer.from(u)
    const at = []
    for (let n = rand() < 0.6 ? 1 : int(2, 3); n > 0; n--) {
      const pos = int(0, m.length - 1)
      const r = rand()
      at.push(pos)
      if (r < 0.5) {
        m[pos] ^= 1 << int(0, 7)
      } else if (r < 0.75) {
        m = Buffer.concat([m.subarray(0, pos), Buffer.from([int(0, 255)]), m.subarray(pos)])
      } else {
        m = Buffer.concat([m.subarray(0, pos), m.subarray(pos + 1)])
      }
    }
    corrupt.push([`${name}: corruption ${k} at ${at}`, m, v2, k % 25 === 24])
  }
}

// 3. crafted updates
const enc = f => encoding.encode(f)
const vu = (e, n) => encoding.writeVarUint(e, n)
const item = (e, info, fields) => { encoding.writeUint8(e, info); fields(e) }
const crafted = [
  ['struct count 2^40', enc(e => { vu(e, 1); vu(e, 2 ** 40); vu(e, 5); vu(e, 0) }), 'TOO_LARGE'],
  ['client count 2^50', enc(e => { vu(e, 2 ** 50) }), 'TRUNCATED'],
  ['client above 2^53', enc(e => { vu(e, 1); vu(e, 1); encoding.writeUint8(e, 0xff); encoding.writeUint8(e, 0xff); for (let i = 0; i < 6; i++) encoding.writeUint8(e, 0xff); encoding.writeUint8(e, 0x7f); vu(e, 0); item(e, 0, x => vu(x, 1)); vu(e, 0) }), 'RANGE'],
  ['clock 2^33', enc(e => { vu(e, 1); vu(e, 1); vu(e, 5); vu(e, 2 ** 33); item(e, 0, x => vu(x, 1)); vu(e, 0) }), 'RANGE'],
  ['GC length 2^40', enc(e => { vu(e, 1); vu(e, 1); vu(e, 5); vu(e, 0); item(e, 0, x => vu(x, 2 ** 40)); vu(e, 0) }), 'RANGE'],
  ['zero-length GC', enc(e => { vu(e, 1); vu(e, 1); vu(e, 5); vu(e, 0); item(e, 0, x => vu(x, 0)); vu(e, 0) }), 'MALFORMED'],
  ['string length 2^40', enc(e => { vu(e, 1); vu(e, 1); vu(e, 5); vu(e, 0); item(e, 4, x => { vu(x, 1); encoding.writeVarString(x, 't'); vu(x, 2 ** 40) }); vu(e, 0) }), 'TRUNCATED'],
  ['any array of 2^40', enc(e => { vu(e, 1); vu(e, 1); vu(e, 5); vu(e, 0); item(e, 8, x => { vu(x, 1); encoding.writeVarString(x, 'a'); vu(x, 1); encoding.writeUint8(x, 117); vu(x, 2 ** 40) }); vu(e, 0) }), 'TRUNCATED'],
  ['any nested 5000 deep', enc(e => { vu(e, 1); vu(e, 1); vu(e, 5); vu(e, 0); item(e, 8, x => { vu(x, 1); encoding.writeVarString(x, 'a'); vu(x, 1); for (let i = 0; i < 5000; i++) { encoding.writeUint8(x, 117); vu(x, 1) } encoding.writeUint8(x, 126) }); vu(e, 0) }), 'TOO_LARGE'],
  ['unknown content ref 11', enc(e => { vu(e, 1); vu(e, 1); vu(e, 5); vu(e, 0); item(e, 11, x => { vu(x, 1); encoding.writeVarString(x, 'a') }); vu(e, 0) }), 'MALFORMED'],
  ['unknown type ref 9', enc(e => { vu(e, 1); vu(e, 1); vu(e, 5); vu(e, 0); item(e, 7, x => { vu(x, 1); encoding.writeVarString(x, 'a'); vu(x, 9) }); vu(e, 0) }), 'MALFORMED'],
  ['parent info 2', enc(e => { vu(e, 1); vu(e, 1); vu(e, 5); vu(e, 0); item(e, 4, x => { vu(x, 2); encoding.writeVarString(x, 'x') }); vu(e, 0) }), 'MALFORMED'],
  ['invalid JSON content', enc(e => { vu(e, 1); vu(e, 1); vu(e, 5); vu(e, 0); item(e, 2, x => { vu(x, 1); encoding.writeVarString(x, 'a'); vu(x, 1); encoding.writeVarString(x, '{bad') }); vu(e, 0) }), 'MALFORMED'],
  ['invalid UTF-8 string', Buffer.from([1, 1, 5, 0, 4, 1, 1, 0x61, 2, 0xc3, 0x28, 0]), 'MALFORMED'],
  ['origin in its own future', enc(e => { vu(e, 1); vu(e, 1); vu(e, 5); vu(e, 0); item(e, 0x84, x => { vu(x, 5); vu(x, 3); encoding.writeVarString(x, 'a') }); vu(e, 0) }), 'MALFORMED'],
  ['parent is itself', enc(e => { vu(e, 1); vu(e, 1); vu(e, 5); vu(e, 0); item(e, 4, x => { vu(x, 0); vu(x, 5); vu(x, 0); encoding.writeVarString(x, 'a') }); vu(e, 0) }), 'MALFORMED'],
  ['client twice', enc(e => { vu(e, 2); for (let k = 0; k < 2; k++) { vu(e, 1); vu(e, 5); vu(e, k); item(e, 0, x => vu(x, 1)) } vu(e, 0) }), 'MALFORMED'],
  ['trailing byte', Buffer.concat([Buffer.from(Y.encodeStateAsUpdate(a)), Buffer.from([0])]), 'MALFORMED'],
  ['delete set 2^40 ranges', enc(e => { vu(e, 0); vu(e, 1); vu(e, 5); vu(e, 2 ** 40) }), 'TRUNCATED'],
  ['delete clock 2^40', enc(e => { vu(e, 0); vu(e, 1); vu(e, 5); vu(e, 1); vu(e, 2 ** 40); vu(e, 1) }), 'RANGE'],
  ['varuint of 12 bytes', Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0]), 'RANGE'],
  ['empty', Buffer.alloc(0), 'TRUNCATED']
]
for (const [name, u, code] of crafted) cmd(`tryapply 0 ${hex(u)}`, `err PKC_ERR_${code} unchanged`, `crafted: ${name}`)
// a v2 update claiming 2^40 structs through run-length columns
const v2huge = Buffer.from(Y.encodeStateAsUpdateV2(a))
cmd(`tryapply2 0 ${hex(v2huge.subarray(0, 20))}`, /^err PKC_ERR_\w+ unchanged$/, 'crafted: truncated v2')
// what the base document must still be
cmd('enc 0', hex(baseState), 'the base document is unchanged after all crafted updates')

// 4. updates whose dependencies are missing are kept, not rejected
{
  const c = new Y.Doc(); c.clientID = 50
  c.getText('text').insert(0, 'abc')
  const u1 = Y.encodeStateAsUpdate(c)
  c.getText('text').insert(1, 'X')
  const u2 = Y.encodeStateAsUpdate(c, Y.encodeStateVector((() => { const t = new Y.Doc(); Y.applyUpdate(t, u1); return t })()))
  cmd('doc 1 77 1', 'ok', 'pending: new doc')
  cmd(`apply 1 ${hex(u2)}`, 'ok', 'pending: the second update first')
  cmd('pending 1', '1', 'pending: it waits')
  cmd(`apply 1 ${hex(u1)}`, 'ok', 'pending: the first arrives')
  cmd('pending 1', '0', 'pending: nothing waits')
  cmd('json 1 text:2', JSON.stringify({ text: c.getText('text').toString() }), 'pending: both applied')
}


// the driver, one command at a time
const child = spawn(driver, [], { stdio: ['pipe', 'pipe', 'inherit'] })
const waiting = []
let exited = null
child.on('exit', (code, sig) => { exited = `ydriver exited with ${code} ${sig || ''}`; for (const w of waiting.splice(0)) w.reject(new Error(exited)) })
createInterface({ input: child.stdout }).on('line', l => waiting.shift().resolve(l))
const run = line => new Promise((resolve, reject) => {
  history.push(line)
  if (exited) return reject(new Error(exited))
  waiting.push({ resolve, reject }); child.stdin.write(line + '\n')
})
let history = []
const fail = async (what, line, exp, got) => {
  if (process.env.HOSTILE_SCRIPT) (await import('node:fs')).writeFileSync(process.env.HOSTILE_SCRIPT, history.join('\n') + '\n')
  console.error(`MISMATCH at ${what}\n  command:  ${line.slice(0, 200)}\n  expected: ${exp}\n  pkc:      ${got}`)
  process.exit(1)
}
const expectLine = async (line, exp, what) => {
  let got
  try { got = await run(line) } catch (e) { console.error(`${e.message}; at ${what}`); process.exit(1) }
  const ok = exp instanceof RegExp ? exp.test(got) : got === exp
  if (!ok) await fail(what, line, exp, got)
  return got
}

let accepted = 0; let agreed = 0; let stricter = 0; let yjsThrew = 0; let conflicts = 0; let unsortedDs = 0; let ncanon = 0
for (let i = 0; i < lines.length; i++) {
  const got = await expectLine(lines[i], expect[i], where[i])
  if (lines[i].startsWith('tryapply') && got === 'ok') accepted++
}

// Is a Yjs document internally sound: every list and map chain holds only
// items of its own type (and key), and every type's length is its content's?
const yjsSound = doc => {
  const types = [...doc.share.values()]
  doc.store.clients.forEach(structs => structs.forEach(s => { if (s.content && s.content.type) types.push(s.content.type) }))
  for (const t of types) {
    let w = 0
    for (let it = t._start; it; it = it.right) {
      if (it.parent !== t || it.parentSub !== null) return false
      if (it.countable && !it.deleted) w += it.length
    }
    if (w !== t._length) return false
    for (const [key, last] of t._map) {
      for (let it = last; it; it = it.left) if (it.parent !== t || it.parentSub !== key) return false
    }
  }
  return true
}

// Does an update's delete set have sorted, disjoint ranges per client?
const dsCanonical = (u, v2) => {
  const { ds } = v2 ? Y.decodeUpdateV2(u) : Y.decodeUpdate(u)
  for (const ranges of ds.clients.values()) {
    for (let i = 1; i < ranges.length; i++) if (ranges[i].clock < ranges[i - 1].clock + ranges[i - 1].len) return false
  }
  return true
}

// section 2, interactively, with a Yjs shadow of document 0
let shadow
const reset = async () => {
  history = []
  await expectLine('doc 0 99 1', 'ok', 'new base document')
  await expectLine(`apply 0 ${hex(baseState)}`, 'ok', 'load the base document')
  shadow = new Y.Doc(); shadow.clientID = 98 // not the base's 99: Yjs would complain
  Y.applyUpdate(shadow, baseState)
}
await reset()
for (const [what, m, v2, resetAfter] of corrupt) {
  let yjsOk = true
  try {
    // Yjs logs and swallows some errors; silence it while it chews garbage
    const saved = [console.log, console.error, console.warn]
    console.log = console.error = console.warn = () => {}
    try { v2 ? Y.applyUpdateV2(shadow, m) : Y.applyUpdate(shadow, m) } finally { [console.log, console.error, console.warn] = saved }
  } catch (e) { yjsOk = false }
  const got = await expectLine(`tryapply${v2 ? '2' : ''} 0 ${hex(m)}`, /^(ok|ok warned|err PKC_ERR_\w+ unchanged)$/, what)
  await expectLine('check 0', 'ok', `${what}: consistent afterwards`)
  if (got.startsWith('ok')) accepted++
  if (got === 'ok warned') {
    // it gave known ids other content: pkc dropped that (see integrate.c),
    // Yjs linked items into foreign lists (yjsSound is then false)
    conflicts++
    await reset()
    continue
  }
  if (!yjsOk) {
    yjsThrew++
    await reset() // Yjs is left half way; start both again
    continue
  }
  if (got === 'ok' && !yjsSound(shadow)) await fail(`${what}: Yjs is unsound but pkc did not warn`, 'tryapply', 'ok warned', got)
  if (got === 'ok' && !dsCanonical(m, v2)) {
    // Yjs keeps the part of an unsorted or overlapping delete set it cannot
    // apply yet in a v2 encoding that needs sorted ranges, and garbles it
    // (clock deltas become negative); pkc sorts and merges the ranges.
    unsortedDs++
    await reset()
    continue
  }
  if (got === 'ok') {
    const want = hex(Y.encodeStateAsUpdate(shadow))
    const have = await run('enc 0')
    if (have !== want) await fail(`${what}: pkc and Yjs both accepted it`, 'enc 0', want, have)
    agreed++
  } else {
    stricter++; if (process.env.HOSTILE_VERBOSE) console.log(`stricter: ${what}: ${got}`)
    await reset()
    continue
  }
  if (resetAfter) await reset()
}
// 5. content in a form Yjs's encoder would not write: Yjs decodes it into
// JavaScript values and writes those anew; pkc must end up with the same bytes
{
  const one = (client, content) => enc(e => { vu(e, 1); vu(e, 1); vu(e, client); vu(e, 0); content(e); vu(e, 0) })
  const anyItem = (key, values) => e => item(e, 0x28, x => { vu(x, 1); encoding.writeVarString(x, 'map'); encoding.writeVarString(x, key); vu(x, values.length); for (const v of values) v(x) })
  const u8 = b => x => encoding.writeUint8(x, b)
  const raw = bytes => x => { for (const b of bytes) encoding.writeUint8(x, b) }
  const f64 = v => x => { encoding.writeUint8(x, 123); encoding.writeFloat64(x, v) }
  const f32 = v => x => { encoding.writeUint8(x, 124); encoding.writeFloat32(x, v) }
  const str = t => x => { encoding.writeUint8(x, 119); encoding.writeVarString(x, t) }
  const obj = entries => x => { encoding.writeUint8(x, 118); vu(x, entries.length); for (const [k, v] of entries) { encoding.writeVarString(x, k); v(x) } }
  const jsonItem = (key, texts) => e => item(e, 0x22, x => { vu(x, 1); encoding.writeVarString(x, 'map'); encoding.writeVarString(x, key); vu(x, texts.length); for (const t of texts) encoding.writeVarString(x, t) })
  const textItem = (info, body) => e => item(e, info, x => { vu(x, 1); encoding.writeVarString(x, 'text'); body(x) })
  const docItem = (guid, opts) => e => item(e, 0x29, x => { vu(x, 1); encoding.writeVarString(x, 'map'); encoding.writeVarString(x, 'sub'); encoding.writeVarString(x, guid); opts(x) })
  const cases = [
    ['float64 1.0', anyItem('k', [f64(1)])],
    ['float64 that fits float32', anyItem('k', [f64(2.5)])],
    ['float64 -0', anyItem('k', [f64(-0)])],
    ['float64 Infinity', anyItem('k', [f64(Infinity)])],
    ['float64 2^31', anyItem('k', [f64(2 ** 31)])],
    ['float64 precise', anyItem('k', [f64(0.1)])],
    ['float32 7', anyItem('k', [f32(7)])],
    ['float32 NaN', anyItem('k', [f32(NaN)])],
    ['varint 2^40', anyItem('k', [raw([125, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])])],
    ['varint overlong 1', anyItem('k', [raw([125, 0x81, 0x00])])],
    ['varint -0', anyItem('k', [raw([125, 0x40])])],
    ['string with overlong length', anyItem('k', [raw([119, 0x81, 0x00, 0x61])])],
    ['array with overlong count', anyItem('k', [raw([117, 0x82, 0x00, 126, 127])])],
    ['object with a duplicate key', anyItem('k', [obj([['a', str('x')], ['b', str('y')], ['a', str('z')]])])],
    ['object with index keys late', anyItem('k', [obj([['b', str('x')], ['10', str('y')], ['2', str('z')]])])],
    ['object with __proto__', anyItem('k', [obj([['__proto__', obj([['p', str('x')]])], ['c', str('y')]])])],
    ['several values', e => item(e, 0x08, x => { vu(x, 1); encoding.writeVarString(x, 'array'); vu(x, 3); f64(3)(x); str('s')(x); f32(0.5)(x) })],
    ['JSON with spaces', jsonItem('j', ['{ "a" : 1.0, "b": [ true ] }', 'undefined', '"\\u0041"', '1e2'])],
    ['JSON with a lone surrogate', jsonItem('j', ['"\\ud800"'])],
    ['embed with spaces', textItem(0x05, x => encoding.writeVarString(x, ' { "image" : "x.png" } '))],
    ['format with spaces', textItem(0x06, x => { encoding.writeVarString(x, 'bold'); encoding.writeVarString(x, ' true ') })],
    ['format with a number', textItem(0x06, x => { encoding.writeVarString(x, 'size'); encoding.writeVarString(x, '12.50') })],
    ['subdoc with extra options', docItem('g1', obj([['x', str('y')], ['gc', raw([125, 0])], ['autoLoad', str('yes')], ['shouldLoad', raw([120])]]))],
    ['subdoc with meta null', docItem('g2', obj([['meta', raw([126])], ['gc', raw([120])]]))],
    ['subdoc with meta', docItem('g3', obj([['meta', obj([['b', f64(1)], ['a', str('x')]])], ['autoLoad', raw([121])]]))],
    ['subdoc with a guid option', docItem('g4', obj([['guid', str('other')]]))],
    ['subdoc with string options', docItem('g5', str('abc'))]
  ]
  ncanon = cases.length
  for (const [name, content] of cases) {
    const u = one(7, content)
    const y = new Y.Doc(); y.clientID = 98
    Y.applyUpdate(y, u)
    await expectLine('doc 2 99 1', 'ok', `canonical: ${name}: new doc`)
    await expectLine(`tryapply 2 ${hex(u)}`, 'ok', `canonical: ${name}: applies`)
    await expectLine('enc 2', hex(Y.encodeStateAsUpdate(y)), `canonical: ${name}: the same bytes as Yjs`)
    await expectLine(`tryapply2 2 ${hex(Y.encodeStateAsUpdateV2(y))}`, 'ok', `canonical: ${name}: Yjs's v2 applies`)
    await expectLine(`enc 2 ${hex(Y.encodeStateVector(new Y.Doc()))}`, hex(Y.encodeStateAsUpdate(y)), `canonical: ${name}: still the same`)
    await expectLine(`merge ${hex(u)} ${hex(baseState)}`, hex(Y.mergeUpdates([u, baseState])), `canonical: ${name}: mergeUpdates`)
    await expectLine(`diff ${hex(u)} 00`, hex(Y.diffUpdate(u, new Uint8Array([0]))), `canonical: ${name}: diffUpdate`)
  }
  for (const [name, u] of [['subdoc options null', one(7, docItem('g6', raw([126])))], ['subdoc guid a number', one(7, docItem('g7', obj([['guid', f64(1.5)]])))]]) {
    await expectLine('doc 2 99 1', 'ok', `canonical: ${name}: new doc`)
    await expectLine(`tryapply 2 ${hex(u)}`, 'err PKC_ERR_MALFORMED unchanged', `canonical: ${name}: rejected`)
  }
}

child.stdin.end()
await new Promise(resolve => child.on('close', resolve))
console.log(`ok: ${lines.length + corrupt.length} bad updates and checks, ${ncanon} non-canonical contents as Yjs writes them; corruptions: ${agreed} accepted by both with the same result, ` +
  `${stricter} accepted by Yjs but rejected by pkc, ${yjsThrew} made Yjs throw, ${conflicts} gave known ids other content (dropped by pkc with a warning), ${unsortedDs} had unsorted delete sets (Yjs garbles them); ${accepted} bad updates were applied in all`)
