// The yjs side of bench/crdt: the crdt-benchmarks cases B1 to B4 on the
// `yjs` package, printed as one JSON object (times in ms, sizes in bytes).
// bench_crdt.c runs the same cases on pkc. Run with --expose-gc.
//
// Usage: node --expose-gc yjs.mjs INPUTS.json TRACE.json.gz MERGE_N
import * as Y from 'yjs'
import fs from 'node:fs'
import zlib from 'node:zlib'

const [inputsPath, tracePath, mergeN] = process.argv.slice(2)
const inputs = JSON.parse(fs.readFileSync(inputsPath, 'utf8'))
const now = () => performance.now()
const clientId = k => ((Math.imul(2654435761, k + 1) >>> 0) || 1)
// Memory: the V8 heap and external memory (ArrayBuffers), after garbage
// collections until the figure stops changing (one gc() leaves garbage that
// later ones collect, which made single readings vary by ±10%).
const heap = () => {
  if (!global.gc) throw new Error('run with --expose-gc')
  let prev = -1
  for (let i = 0; i < 20; i++) {
    global.gc()
    const m = process.memoryUsage()
    const cur = m.heapUsed + m.external
    if (Math.abs(cur - prev) < 1024) return cur
    prev = cur
  }
  return prev
}
const best = (n, f) => { let b = Infinity; let r; for (let i = 0; i < n; i++) { const t0 = now(); r = f(); b = Math.min(b, now() - t0) } return [b, r] }

const newDoc = (k, onUpdate) => {
  const d = new Y.Doc()
  d.clientID = clientId(k)
  if (onUpdate) d.on('update', onUpdate)
  return d
}
const runOps = (d, ops) => {
  for (const op of ops) {
    if (op[0] === 'ti') d.getText('text').insert(op[1], op[2])
    else if (op[0] === 'td') d.getText('text').delete(op[1], op[2])
    else if (op[0] === 'ai') d.getArray('array').insert(op[1], op[2])
    else if (op[0] === 'ms') d.getMap('map').set(op[1], op[2])
  }
}
// Loads are short (a few ms): the best of at least 3, repeated until 100 ms
// have gone by, so that one burst of load on a shared machine does not decide
// the figure. bench_crdt.c measures pkc by the same rule.
const loadStats = enc => {
  let b = Infinity
  const start = now()
  for (let i = 0; i < 3 || (now() - start < 100 && i < 1000); i++) {
    const t0 = now()
    const d = new Y.Doc()
    Y.applyUpdate(d, enc)
    b = Math.min(b, now() - t0)
  }
  return { load_ms: b }
}
// What a loaded document holds: MEM_DOCS documents loaded and kept alive,
// the heap's growth divided by their number (bench_crdt.c does the same).
const MEM_DOCS = 4
const memStats = enc => {
  const before = heap()
  const keep = []
  for (let i = 0; i < MEM_DOCS; i++) {
    const d = new Y.Doc()
    Y.applyUpdate(d, enc)
    keep.push(d)
  }
  const mem = heap() - before
  if (keep.some(d => d.getText('text').length === 0)) throw new Error('empty document')
  return { mem_bytes: Math.round(mem / MEM_DOCS) }
}

const res = {}
for (const [name, spec] of Object.entries(inputs)) {
  if (name.startsWith('B1')) {
    let updates = []
    const [t] = best(3, () => {
      updates = []
      const d = newDoc(0, u => updates.push(u))
      runOps(d, spec)
      return d
    })
    const d2 = newDoc(1)
    for (const u of updates) Y.applyUpdate(d2, u)
    const enc = Y.encodeStateAsUpdate(d2)
    res[name] = { time_ms: t, update_bytes: updates.reduce((a, u) => a + u.length, 0) / spec.length, doc_bytes: enc.length, ...loadStats(enc) }
  } else if (name.startsWith('B2')) {
    let enc
    const [t] = best(3, () => {
      let busy = false
      let d1 = null; let d2 = null
      d1 = newDoc(0, u => { if (!busy) { busy = true; Y.applyUpdate(d2, u); busy = false } })
      d2 = newDoc(1, u => { if (!busy) { busy = true; Y.applyUpdate(d1, u); busy = false } })
      d1.getText('text').insert(0, spec.init)
      const t0 = now()
      d1.transact(() => runOps(d1, spec.a))
      d2.transact(() => runOps(d2, spec.b))
      const dt = now() - t0
      if (d1.getText('text').toString() !== d2.getText('text').toString()) throw new Error(name + ' did not converge')
      enc = Y.encodeStateAsUpdate(d1)
      return dt
    })
    res[name] = { time_ms: t, doc_bytes: enc.length, ...loadStats(enc) }
  } else if (name.startsWith('B3')) {
    const updates = []
    spec.forEach((op, i) => { const d = newDoc(i, u => updates.push(u)); runOps(d, [op]) })
    const d0 = newDoc(spec.length)
    d0.transact(() => { for (const u of updates) Y.applyUpdate(d0, u) })
    const [t] = best(3, () => {
      const d1 = newDoc(spec.length + 1)
      d1.transact(() => { for (const u of updates) Y.applyUpdate(d1, u) })
      return d1
    })
    const enc = Y.encodeStateAsUpdate(d0)
    res[name] = { time_ms: t, update_bytes: updates.reduce((a, u) => a + u.length, 0), doc_bytes: enc.length, ...loadStats(enc) }
  }
}

// B4: the automerge-paper trace, one transaction per edit
{
  const trace = JSON.parse(zlib.gunzipSync(fs.readFileSync(tracePath)))
  const edits = []
  for (const tx of trace.txns) for (const p of tx.patches) edits.push(p)
  let updates = []
  let d
  const [apply] = best(2, () => {
    updates = []
    d = newDoc(0, u => updates.push(u))
    const text = d.getText('text')
    for (const [pos, del, ins] of edits) {
      d.transact(() => {
        if (del) text.delete(pos, del)
        if (ins) text.insert(pos, ins)
      })
    }
    return d
  })
  if (d.getText('text').toString() !== trace.endContent) throw new Error('B4 replay is wrong')
  const enc = Y.encodeStateAsUpdate(d)
  const [receive] = best(2, () => {
    const r = newDoc(1)
    for (const u of updates) Y.applyUpdate(r, u)
    return r
  })
  const n = Math.min(Number(mergeN), updates.length)
  const [merge, merged] = best(1, () => Y.mergeUpdates(updates.slice(0, n)))
  const load = loadStats(enc)
  res.B4 = {
    edits: edits.length,
    apply_ms: apply,
    receive_ms: receive,
    merge_n: n,
    merge_ms: merge,
    merge_bytes: merged.length,
    updates_bytes: updates.reduce((a, u) => a + u.length, 0),
    doc_bytes: enc.length,
    ...load,
    ...memStats(enc)
  }
}
process.stdout.write(JSON.stringify(res) + '\n')
