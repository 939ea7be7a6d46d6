// Differential test of pkc's CRDT against the real `yjs` package.
//
// Every pkc replica has a Yjs "shadow" that receives exactly the same local
// changes and remote updates in the same order. After every step the two
// must agree byte for byte: the update a transaction emits, the encoded
// state (with and without a target state vector), the state vector, pending
// structs, and the JSON of every root. Updates travel between replicas in
// random order, duplicated, merged (Y.mergeUpdates), diffed against the
// receiver (Y.diffUpdate) and as v2, so pending structs and deletes, splits
// and merges all happen. The run is seeded: a failure names its seed.
//
// --big: now and then large strings, long runs of array values and large
// deletes, so that items hold over 16 KiB and content arenas get compacted.
//
// Also (--no-delta: not) toDelta(snapshot, prevSnapshot, computeYChange) of
// texts, with snapshots of any replica, formatting and embeds.
//
// Usage: node differential.mjs YDRIVER [--seeds N] [--first S] [--steps K] [--big] [--no-delta] [-v]
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
const require_fs = () => fs

// The UndoManager reads the time through lib0/time, bound to Date.now when
// first imported: a fake clock installed first makes capture deterministic.
let fakeNow = 1_700_000_000_000
Date.now = () => fakeNow
const Y = await import('yjs')

const args = process.argv.slice(2)
const driver = args[0]
if (!driver) { console.error('usage: differential.mjs YDRIVER [--seeds N] [--first S] [--steps K]'); process.exit(2) }
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : def }
const SEEDS = opt('--seeds', 160)
const FIRST = opt('--first', 1)
const STEPS = opt('--steps', 50)
const VERBOSE = args.includes('-v')
const CHECK_ALL = args.includes('--check-all') // full check after every step
const BIG = args.includes('--big')
const DUMP = opt('--dump-step', -1)
const DELTA = !args.includes('--no-delta') // toDelta with snapshots (own random stream)
let deltaChecks = 0 // print the items of every text before this step

const dumpText = (doc, label) => {
  for (const [name, kind] of ROOTS) {
    if (kind !== 2) continue
    const out = []
    for (let n = doc.get(name, CTORS[kind])._start; n; n = n.right) {
      const c = n.content
      const what = c.str !== undefined ? JSON.stringify(c.str) : c.key !== undefined ? `fmt ${c.key}=${JSON.stringify(c.value)}` : c.constructor.name
      out.push(`${n.id.client}:${n.id.clock}+${n.length}${n.deleted ? ' DEL' : ''} ${what}`)
    }
    console.error(`${label} ${name}:\n  ` + out.join('\n  '))
  }
}

const hex = u8 => Buffer.from(u8).toString('hex')

// mulberry32
const prng = seed => {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) | 0
    let t = Math.imul(s ^ (s >>> 15), 1 | s)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const ROOTS = [['text', 2], ['map', 1], ['array', 0], ['xml', 4]]
const SPEC = ROOTS.map(([n, k]) => `${n}:${k}`).join(',')
const { CTORS, kindOf, fromJ, resolve, applyOp } = (await import('./yops.mjs')).makeOps(Y)

// ---------------------------------------------------------------------------
// Random content

const WORDS = ['a', 'b', 'hello', ' ', '\n', 'xyz', 'é', '€uro', '😀', 'a😀b', '日本', '\u{1F600}\u{1F601}']
const mkGen = rand => {
  const int = (a, b) => a + Math.floor(rand() * (b - a + 1))
  const pick = arr => arr[Math.floor(rand() * arr.length)]
  const str = () => {
    let s = ''
    if (BIG && rand() < 0.1) {
      const n = int(4000, 24000)
      while (s.length < n) s += pick(WORDS)
      return s
    }
    const n = int(1, 3)
    for (let i = 0; i < n; i++) s += pick(WORDS)
    return s
  }
  const num = () => pick([0, 1, -1, 42, 2147483647, 2147483648, -2147483649, 0.5, 1.5e300, 3.14159, 1e21, 1e-7, 123456789012, int(-1000, 1000)])
  const value = (depth = 0) => {
    const r = rand()
    if (r < 0.2) return num()
    if (r < 0.4) return str()
    if (r < 0.5) return rand() < 0.5
    if (r < 0.55) return null
    if (r < 0.62) { const b = []; for (let i = int(0, 4); i > 0; i--) b.push(int(0, 255)); return { $bin: Buffer.from(b).toString('hex') } }
    if (depth < 2 && r < 0.8) { const a = []; for (let i = int(0, 3); i > 0; i--) a.push(value(depth + 1)); return a }
    if (depth < 2) { const o = {}; for (let i = int(0, 3); i > 0; i--) o[pick(['k', 'name', '1', '0', 'x y', 'ä'])] = value(depth + 1); return o }
    return str()
  }
  const attrs = () => {
    const a = {}
    const n = int(1, 2)
    for (let i = 0; i < n; i++) {
      const k = pick(['bold', 'italic', 'color', 'link', 'size'])
      a[k] = k === 'bold' || k === 'italic' ? pick([true, null]) : k === 'color' ? pick(['red', 'blue', null]) : k === 'size' ? pick([1, 2, null]) : pick([{ href: 'x' }, null])
    }
    return a
  }
  return { int, pick, str, value, attrs, rand }
}

// All live shared types of a doc, with their driver paths.
const collectTypes = doc => {
  const out = []
  const walk = (t, path) => {
    if (t.doc === null) return
    out.push({ t, path })
    if (out.length > 40) return
    if (t instanceof Y.Map && !(t instanceof Y.XmlHook)) {
      for (const [k, v] of t.entries()) if (v instanceof Y.AbstractType) walk(v, [...path, k])
    } else if (t instanceof Y.Array || (t instanceof Y.XmlFragment)) {
      const arr = t.toArray()
      arr.forEach((v, i) => { if (v instanceof Y.AbstractType && !(v instanceof Y.XmlHook)) walk(v, [...path, i]) })
    }
  }
  for (const [name, kind] of ROOTS) walk(doc.get(name, CTORS[kind]), [name, kind])
  return out
}

// Yjs itself diverges when an index falls between the halves of a
// surrogate pair (the halves become U+FFFD on one replica only); such
// scenarios still run in lockstep but skip the replica convergence check.
let splitPair = false
const midPair = (t, i) => {
  // the plain text (XmlText.toString() would add tags), embeds as one unit
  const s = t.toDelta().map(op => typeof op.insert === 'string' ? op.insert : '*').join('')
  const c = s.charCodeAt(i - 1)
  return i > 0 && c >= 0xd800 && c <= 0xdbff
}
const notePair = (t, i) => { if ((t instanceof Y.Text) && midPair(t, i)) splitPair = true; return i }

const genOp = (g, doc, allowFormat) => {
  const types = collectTypes(doc)
  const { t, path } = g.pick(types)
  const k = kindOf(t)
  const p = path
  const r = g.rand()
  if (k === 1) {
    const key = g.pick(['a', 'b', 'c', 'key', '0', 'ü'])
    if (r < 0.55) return { p, o: 'mset', k: key, v: g.value() }
    if (r < 0.75) return { p, o: 'mset_t', k: key, kind: g.pick([0, 1, 2, 4]) }
    return { p, o: 'mdel', k: key }
  }
  if (k === 0) {
    const len = t.length
    // now and then many values, so items pass 32 elements (offset tables)
    if (r < 0.45) { const v = []; for (let i = g.rand() < 0.1 ? (BIG && g.rand() < 0.5 ? g.int(1000, 4000) : g.int(20, 70)) : g.int(1, 3); i > 0; i--) v.push(g.value()); return { p, o: 'ains', i: g.int(0, len), v } }
    if (r < 0.55) return { p, o: 'ains_t', i: g.int(0, len), kind: g.pick([0, 1, 2]) }
    if (r < 0.65) { const v = []; for (let i = g.rand() < 0.2 ? g.int(5, 40) : 1; i > 0; i--) v.push(g.value()); return { p, o: 'apush', v } }
    if (len > 0) { const i = g.int(0, len - 1); return { p, o: 'adel', i, n: g.int(1, Math.min(3, len - i)) } }
    return { p, o: 'ains', i: 0, v: [g.value()] }
  }
  if (k === 2 || k === 6) {
    const len = t.length
    if (r < 0.5 || len === 0) {
      const a = allowFormat && g.rand() < 0.4 ? (g.rand() < 0.2 ? {} : g.attrs()) : null
      return { p, o: 'tins', i: notePair(t, g.int(0, len)), s: g.str(), a }
    }
    if (allowFormat && r < 0.58) return { p, o: 'tembed', i: notePair(t, g.int(0, len)), v: g.pick([{ image: 'x.png' }, 1, 'e']), a: g.rand() < 0.5 ? null : g.attrs() }
    // (rarely past the end: Yjs stops deletes there and fills formatting
    // with newlines)
    const over = g.rand() < 0.03 ? g.int(1, 3) : 0
    if (allowFormat && r < 0.75) { const i = notePair(t, g.int(0, len - 1)); const n = g.int(1, Math.min(5, len - i)) + over; notePair(t, i + n); return { p, o: 'tfmt', i, n, a: g.attrs() } }
    const i = notePair(t, g.int(0, len - 1))
    const n = g.int(1, Math.min(BIG && g.rand() < 0.5 ? len : 4, len - i)) + over
    notePair(t, i + n)
    return { p, o: 'tdel', i, n }
  }
  if (k === 3 || k === 4) {
    const len = t.length
    if (k === 3 && r < 0.2) return { p, o: 'xattr', k: g.pick(['class', 'id', 'href']), v: g.str() }
    if (k === 3 && r < 0.25) return { p, o: 'xrmattr', k: g.pick(['class', 'id', 'href']) }
    if (r < 0.55) return { p, o: 'xel', i: g.int(0, len), name: g.pick(['p', 'div', 'SPAN', 'h1']) }
    if (r < 0.8) return { p, o: 'xtext', i: g.int(0, len) }
    if (len > 0) { const i = g.int(0, len - 1); return { p, o: 'adel', i, n: g.int(1, Math.min(2, len - i)) } }
    return { p, o: 'xtext', i: 0 }
  }
  return { p: ['map', 1], o: 'mset', k: 'z', v: 1 }
}

// Surrogate-pair positions are legal in Yjs (they split into U+FFFD); they
// are exercised on purpose by the generator since indices are UTF-16.

// ---------------------------------------------------------------------------

const jsonOf = doc => {
  const o = {}
  for (const [name, kind] of ROOTS) o[name] = doc.get(name, CTORS[kind]).toJSON()
  return JSON.stringify(o)
}
const pendingOf = doc => (doc.store.pendingStructs !== null || doc.store.pendingDs !== null) ? '1' : '0'

const lines = []
const expect = []
const where = []
const cmd = (line, exp, ctx) => { lines.push(line); expect.push(exp); where.push(ctx) }

let totalOps = 0
for (let seed = FIRST; seed < FIRST + SEEDS; seed++) {
  const rand = prng(seed * 7919)
  const g = mkGen(rand)
  splitPair = false
  const nrep = g.int(2, 4)
  const gc = g.rand() < 0.7
  const allowFormat = g.rand() < 0.8
  const withUndo = g.rand() < 0.5
  const reps = []
  const ids = new Set()
  for (let i = 0; i < nrep; i++) {
    let id
    do { id = g.rand() < 0.15 ? g.int(1, 5) : g.rand() < 0.1 ? 2 ** 40 + g.int(0, 1000) : g.int(1, 2 ** 32 - 1) } while (ids.has(id))
    ids.add(id)
    const doc = new Y.Doc({ gc })
    doc.clientID = id
    const r = { doc, id, emitted: [] }
    doc.on('update', (u, origin, d, tr) => r.emitted.push({ u, local: tr.local }))
    reps.push(r)
    cmd(`doc ${i} ${id} ${gc ? 1 : 0}`, 'ok', `seed ${seed}: create`)
    for (const [name, kind] of ROOTS) doc.get(name, CTORS[kind])
    // typing the roots on both sides: an untyped root has no observers, so
    // no formatting cleanup either
    cmd(`json ${i} ${SPEC}`, jsonOf(doc), `seed ${seed}: roots`)
    if (withUndo) {
      r.um = new Y.UndoManager(ROOTS.map(([n, k]) => doc.get(n, CTORS[k])), { captureTimeout: 500 })
      cmd(`um ${i} 500 ${SPEC}`, 'ok', `seed ${seed}: undo manager`)
    }
  }
  const all = [] // every update emitted by any replica
  const relpos = []
  const snaps = []
  const deliver = (ri, u, how, step) => {
    const r = reps[ri]
    r.emitted.length = 0
    if (how === 'v2') {
      const u2 = Y.convertUpdateFormatV1ToV2(u)
      cmd(`v21 ${hex(u2)}`, hex(Y.convertUpdateFormatV2ToV1(u2)), `seed ${seed} step ${step}: convertUpdateFormatV2ToV1`)
      Y.applyUpdateV2(r.doc, u2)
      cmd(`apply2 ${ri} ${hex(u2)}`, 'ok', `seed ${seed} step ${step}: apply v2 to ${ri}`)
    } else {
      Y.applyUpdate(r.doc, u)
      cmd(`apply ${ri} ${hex(u)}`, 'ok', `seed ${seed} step ${step}: apply to ${ri}`)
    }
    // formatting cleanups after remote changes are local changes: spread them
    for (const e of r.emitted) if (e.local) all.push(e.u)
  }
  const check = (ri, step, full) => {
    const r = reps[ri]
    const ctx = `seed ${seed} step ${step} replica ${ri}`
    cmd(`sv ${ri}`, hex(Y.encodeStateVector(r.doc)), ctx + ': state vector')
    cmd(`pending ${ri}`, pendingOf(r.doc), ctx + ': pending')
    cmd(`check ${ri}`, 'ok', ctx + ': internal consistency')
    if (full) {
      cmd(`enc ${ri}`, hex(Y.encodeStateAsUpdate(r.doc)), ctx + ': encodeStateAsUpdate')
      cmd(`json ${ri} ${SPEC}`, jsonOf(r.doc), ctx + ': toJSON')
      const other = reps[(ri + 1) % reps.length]
      const sv = Y.encodeStateVector(other.doc)
      cmd(`enc ${ri} ${hex(sv)}`, hex(Y.encodeStateAsUpdate(r.doc, sv)), ctx + ': encodeStateAsUpdate(sv)')
    }
  }
  // toDelta(snapshot, prevSnapshot, computeYChange) of a text of replica
  // ri: snapshots of any replica (of ri only once an index fell inside a
  // surrogate pair: Yjs's splits at the snapshots' boundaries would then
  // turn the pair into U+FFFD for good, where pkc reads without changing
  // the document). Decisions come from their own generator, so the
  // scenarios stay the ones they were without these checks.
  const rand2 = prng(seed * 104729 + 7)
  const pick2 = arr => arr[Math.floor(rand2() * arr.length)]
  const dsnaps = []
  const takeSnap = ri => {
    const sn = Y.encodeSnapshot(Y.snapshot(reps[ri].doc))
    cmd(`snap ${ri} `, hex(sn), `seed ${seed}: snapshot of ${ri} (toDelta)`)
    dsnaps.push({ ri, sn })
  }
  const computeYChange = (type, id) => id.client % 2 ? { type, user: 'u' + id.client, clock: id.clock } : { user: id.client, type }
  const deltaAt = (ri, step) => {
    if (rand2() < 0.5) takeSnap(ri)
    const texts = collectTypes(reps[ri].doc).filter(x => x.t instanceof Y.Text)
    const pool = dsnaps.filter(x => !splitPair || x.ri === ri)
    if (!texts.length || !pool.length) return
    const { t, path } = rand2() < 0.6 ? texts[0] : pick2(texts) // mostly the root text
    const a = pick2(pool).sn; const b = pick2(pool).sn
    const cb = rand2() < 0.4
    const which = rand2()
    const [sn, prev] = which < 0.5 ? [a, b] : which < 0.75 ? [undefined, b] : [a, undefined]
    const want = JSON.stringify(t.toDelta(sn && Y.decodeSnapshot(sn), prev && Y.decodeSnapshot(prev), cb ? computeYChange : undefined))
    cmd(`deltaat ${ri} ${JSON.stringify(path)} ${sn ? hex(sn) : '-'} ${prev ? hex(prev) : '-'} ${cb ? 1 : 0}`, want,
      `seed ${seed} step ${step}: toDelta(${sn ? 'snap' : 'undefined'}, ${prev ? 'prev' : 'undefined'}${cb ? ', computeYChange' : ''}) on ${ri}`)
    deltaChecks++
  }
  for (let step = 0; step < STEPS; step++) {
    const ri = g.int(0, nrep - 1)
    const r = reps[ri]
    const act = g.rand()
    if (withUndo && g.rand() < 0.5) {
      fakeNow += g.pick([10, 100, 300, 600, 2000])
      cmd(`time ${fakeNow}`, 'ok', `seed ${seed} step ${step}: time`)
    }
    if (g.rand() < 0.06) {
      // relative positions: made on one replica, resolved on any later
      const lists = collectTypes(r.doc).filter(x => !(x.t instanceof Y.Map))
      const { t, path } = g.pick(lists)
      const index = g.int(0, t.length)
      const assoc = g.pick([0, -1, 1])
      const rp = Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(t, index, assoc))
      cmd(`rpos ${ri} ${JSON.stringify(path)} ${index} ${assoc}`, hex(rp), `seed ${seed} step ${step}: relative position on ${ri}`)
      relpos.push(rp)
    }
    if (relpos.length && g.rand() < 0.08) {
      const rp = g.pick(relpos)
      const abs = Y.createAbsolutePositionFromRelativePosition(Y.decodeRelativePosition(rp), r.doc)
      let want = '-'
      if (abs) {
        const it = abs.type._item
        const name = it ? null : [...r.doc.share.entries()].find(e => e[1] === abs.type)[0]
        want = (it ? `id:${it.id.client}:${it.id.clock}` : `root:${name}`) + ` ${abs.index}`
      }
      cmd(`rpres ${ri} ${hex(rp)}`, want, `seed ${seed} step ${step}: resolve a relative position on ${ri}`)
    }
    if (!gc && g.rand() < 0.04) {
      const sn = Y.encodeSnapshot(Y.snapshot(r.doc))
      cmd(`snap ${ri} `, hex(sn), `seed ${seed} step ${step}: snapshot of ${ri}`)
      snaps.push({ ri, sn })
    }
    if (snaps.length && g.rand() < 0.05) {
      const { ri: si, sn } = g.pick(snaps)
      const nd = Y.createDocFromSnapshot(reps[si].doc, Y.decodeSnapshot(sn))
      cmd(`fromsnap ${si} ${hex(sn)} 40`, 'ok', `seed ${seed} step ${step}: doc from a snapshot of ${si}`)
      cmd('enc 40', hex(Y.encodeStateAsUpdate(nd)), `seed ${seed} step ${step}: the snapshot's document`)
      cmd(`json 40 ${SPEC}`, jsonOf(nd), `seed ${seed} step ${step}: the snapshot's content`)
      cmd('free 40', 'ok', `seed ${seed} step ${step}: free`)
      reps[si].emitted.length = 0
    }
    if (DELTA && rand2() < 0.1) takeSnap(ri)
    if (DELTA && rand2() < 0.2) deltaAt(ri, step)
    if (withUndo && g.rand() < 0.2) {
      const what = g.pick(['undo', 'undo', 'redo', 'stopcap'])
      if (what === 'stopcap') {
        r.um.stopCapturing()
        cmd(`stopcap ${ri}`, 'ok', `seed ${seed} step ${step}: stop capturing on ${ri}`)
      } else {
        r.emitted.length = 0
        r.um[what]()
        const u = r.emitted.length ? r.emitted[0].u : null
        cmd(`${what} ${ri}`, u ? hex(u) : '-', `seed ${seed} step ${step}: ${what} on ${ri}`)
        for (const e of r.emitted) all.push(e.u)
      }
      continue
    }
    if (step === DUMP) dumpText(r.doc, `replica ${ri} before step ${step}`)
    if (act < 0.55) {
      const ops = []
      r.emitted.length = 0
      r.doc.transact(() => {
        for (let k = g.int(1, 3); k > 0; k--) {
          const op = genOp(g, r.doc, allowFormat)
          ops.push(op)
          applyOp(r.doc, op)
        }
      })
      totalOps += ops.length
      const u = r.emitted.length ? r.emitted[0].u : null
      cmd(`txn ${ri} ${JSON.stringify(ops)}`, u ? hex(u) : '-', `seed ${seed} step ${step}: local transaction on ${ri}`)
      for (const e of r.emitted) all.push(e.u)
    } else if (act < 0.85 && all.length > 0) {
      // deliver a few updates: random order, duplicates, merged, diffed, v2
      const n = g.int(1, Math.min(6, all.length))
      const batch = []
      for (let k = 0; k < n; k++) batch.push(g.pick(all))
      const how = g.rand()
      if (how < 0.15) {
        const m = Y.mergeUpdates(batch)
        cmd(`merge ${batch.map(hex).join(' ')}`, hex(m), `seed ${seed} step ${step}: mergeUpdates`)
        deliver(ri, m, 'v1', step)
      } else if (how < 0.25) {
        const m = Y.mergeUpdates(batch)
        const sv = Y.encodeStateVector(r.doc)
        const d = Y.diffUpdate(m, sv)
        cmd(`diff ${hex(m)} ${hex(sv)}`, hex(d), `seed ${seed} step ${step}: diffUpdate`)
        cmd(`svu ${hex(m)}`, hex(Y.encodeStateVectorFromUpdate(m)), `seed ${seed} step ${step}: encodeStateVectorFromUpdate`)
        deliver(ri, d, 'v1', step)
      } else if (how < 0.35) {
        for (const u of batch) deliver(ri, u, 'v2', step)
      } else {
        for (const u of batch) deliver(ri, u, 'v1', step)
      }
    } else {
      check(ri, step, g.rand() < 0.5)
    }
    if (CHECK_ALL) for (let i = 0; i < nrep; i++) cmd(`enc ${i}`, hex(Y.encodeStateAsUpdate(reps[i].doc)), `seed ${seed} step ${step} replica ${i}: encodeStateAsUpdate (--check-all)`)
  }
  // full sync, then everything must agree
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < nrep; i++) {
      for (let j = 0; j < nrep; j++) {
        if (i === j) continue
        const u = Y.encodeStateAsUpdate(reps[j].doc, Y.encodeStateVector(reps[i].doc))
        deliver(i, u, round === 0 && j % 2 ? 'v2' : 'v1', 'sync')
        if (CHECK_ALL) cmd(`json ${i} ${SPEC}`, jsonOf(reps[i].doc), `seed ${seed} sync ${i}<-${j} round ${round}: json (--check-all)`)
        if (CHECK_ALL) cmd(`enc ${i}`, hex(Y.encodeStateAsUpdate(reps[i].doc)), `seed ${seed} sync ${i}<-${j} round ${round}: encodeStateAsUpdate (--check-all)`)
      }
    }
  }
  for (let i = 0; i < nrep; i++) check(i, 'final', true)
  if (DELTA) for (let i = 0; i < nrep; i++) for (let k = 0; k < 3; k++) deltaAt(i, 'final')
  const j0 = jsonOf(reps[0].doc)
  for (let i = 1; i < nrep && !splitPair; i++) {
    if (jsonOf(reps[i].doc) !== j0 && JSON.stringify(JSON.parse(jsonOf(reps[i].doc))) !== j0) {
      // key order of maps may differ between replicas; compare canonically
      const canon = x => JSON.stringify(x, (k, v) => v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort()) : v)
      if (canon(JSON.parse(jsonOf(reps[i].doc))) !== canon(JSON.parse(j0))) {
        console.error(`seed ${seed}: the Yjs replicas themselves did not converge:\n${j0}\n${jsonOf(reps[i].doc)}\npending: ${reps.map(r => pendingOf(r.doc))}`)
        process.exit(1)
      }
    }
  }
  const chunk = all.slice(0, 200)
  if (chunk.length > 1) cmd(`merge ${chunk.map(hex).join(' ')}`, hex(Y.mergeUpdates(chunk)), `seed ${seed}: mergeUpdates of all`)
  for (let i = 0; i < nrep; i++) cmd(`free ${i}`, 'ok', `seed ${seed}: free`)
}

if (process.env.DIFF_SCRIPT) require_fs().writeFileSync(process.env.DIFF_SCRIPT, lines.map((l, i) => `${l}\t${expect[i]}\t${where[i]}`).join('\n'))
const res = spawnSync(driver, [], { input: lines.join('\n') + '\n', maxBuffer: 1 << 30, encoding: 'utf8' })
if (res.status !== 0) {
  console.error(`ydriver exited with ${res.status} ${res.signal || ''}\n${res.stderr}`)
  const got = (res.stdout || '').split('\n')
  console.error(`after ${got.length - 1} of ${lines.length} commands; last: ${where[got.length - 1]}`)
  process.exit(1)
}
const got = res.stdout.split('\n')
let failures = 0
for (let i = 0; i < lines.length; i++) {
  if (got[i] !== expect[i]) {
    if (failures < 5) {
      console.error(`MISMATCH at ${where[i]}\n  command: ${lines[i].slice(0, 400)}\n  yjs:     ${String(expect[i]).slice(0, 600)}\n  pkc:     ${String(got[i]).slice(0, 600)}`)
      if (/^[0-9a-f]+$/.test(expect[i]) && /^[0-9a-f]+$/.test(got[i] || '')) {
        let k = 0
        while (k < expect[i].length && expect[i][k] === got[i][k]) k++
        console.error(`  first difference at byte ${k / 2}`)
        try {
          const a = Y.decodeUpdate(Buffer.from(expect[i], 'hex'))
          const b = Y.decodeUpdate(Buffer.from(got[i], 'hex'))
          const sa = a.structs.map(x => JSON.stringify(x)), sb = b.structs.map(x => JSON.stringify(x))
          let d = 0
          while (d < sa.length && sa[d] === sb[d]) d++
          console.error(`  structs: yjs ${sa.length}, pkc ${sb.length}; first differing #${d}`)
          console.error('   yjs:', (sa[d] || '').slice(0, 600))
          console.error('   pkc:', (sb[d] || '').slice(0, 600))
          console.error('  ds yjs:', JSON.stringify([...a.ds.clients.entries()]).slice(0, 1500))
          console.error('  ds pkc:', JSON.stringify([...b.ds.clients.entries()]).slice(0, 1500))
        } catch (e) {}
      }
    }
    failures++
    if (!VERBOSE) break
  }
}
if (res.stderr) process.stderr.write(res.stderr)
if (failures) {
  console.error(`${failures} mismatch(es); reproduce with --first <seed> --seeds 1`)
  process.exit(1)
}
console.log(`ok: ${SEEDS} scenarios, ${totalOps} operations, ${lines.length} commands checked against yjs (${deltaChecks} toDelta with snapshots)`)
