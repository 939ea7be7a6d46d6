// Prints bench/crdt's results: pkc beside yjs, with yjs/pkc ratios.
const [c, j, m] = process.argv.slice(2).map(s => JSON.parse(s))
// the memory of the loaded B4 document comes from bench-crdt --mem
if (m.doc_bytes !== c.B4.doc_bytes) throw new Error('bench-crdt --mem loaded another document')
c.B4.mem_bytes = m.mem_bytes
const fmt = (v, unit) => unit === 'ms' ? (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)) : String(Math.round(v))
const row = (label, a, b, unit, higherIsBetter = false) => {
  const r = a === 0 || b === undefined ? '' : higherIsBetter ? (a / b).toFixed(1) + 'x' : (b / a).toFixed(1) + 'x'
  console.log(`${label.padEnd(40)} ${fmt(a, unit).padStart(12)} ${b === undefined ? '-'.padStart(12) : fmt(b, unit).padStart(12)} ${r.padStart(9)}`)
}
console.log('crdt-benchmarks B1-B4: pkc beside yjs (same inputs, same run); times in ms, best of 3\n(loads: best of at least 3 over at least 100 ms, both sides)')
console.log(`${''.padEnd(40)} ${'pkc'.padStart(12)} ${'yjs'.padStart(12)} ${'yjs/pkc'.padStart(9)}`)
for (const k of Object.keys(j)) {
  if (k === 'B4') continue
  const a = c[k], b = j[k]
  row(`${k} time (ms)`, a.time_ms, b.time_ms, 'ms')
  row(`${k} load (ms)`, a.load_ms, b.load_ms, 'ms')
  if (a.doc_bytes !== b.doc_bytes) row(`${k} encoded size (bytes) DIFFERS`, a.doc_bytes, b.doc_bytes, 'b')
}
const a = c.B4, b = j.B4
console.log(`\nB4: ${a.edits} edits of the automerge-paper trace, one transaction per edit`)
row('B4 apply the trace (ms)', a.apply_ms, b.apply_ms, 'ms')
row(`B4 receive ${a.edits} updates (ms)`, a.receive_ms, b.receive_ms, 'ms')
row(`B4 merge first ${a.merge_n} updates (ms)`, a.merge_ms, b.merge_ms, 'ms')
row(`B4 merge all ${a.edits} updates (ms)`, a.merge_all_ms, undefined, 'ms')
row('B4 load the document (ms)', a.load_ms, b.load_ms, 'ms')
row('B4 encoded size (bytes)', a.doc_bytes, b.doc_bytes, 'b')
row('B4 updates, total (bytes)', a.updates_bytes, b.updates_bytes, 'b')
row('B4 memory of the loaded document (bytes)', a.mem_bytes, b.mem_bytes, 'b')
console.log(`  (memory: per document, the average of 4 loaded and kept; pkc: malloc's in-use bytes, headers included; yjs: V8 heap + external after GC)`)
const same = a.doc_bytes === b.doc_bytes && a.merge_bytes === b.merge_bytes && a.updates_bytes === b.updates_bytes
console.log(same ? 'B4 encoded document, updates and merged update: same sizes as yjs' : 'B4: SIZES DIFFER FROM YJS')
