// The reference for bench/replay: what `pkc yjs replay TRACE` does, in
// JavaScript with the yjs package, as a whole process: read the file,
// gunzip, parse the JSON, replay every edit into a Y.Text named "text" (one
// transaction per edit, client id 1, positions converted from code points
// to UTF-16 units), encode the state as an update and write it to stdout.
//
// Usage: node replay.mjs TRACE.json.gz > OUT
import * as Y from 'yjs'
import fs from 'node:fs'
import zlib from 'node:zlib'

const trace = JSON.parse(zlib.gunzipSync(fs.readFileSync(process.argv[2])))
const doc = new Y.Doc()
doc.clientID = 1
const text = doc.getText('text')
if (trace.startContent) text.insert(0, trace.startContent)
const end = trace.endContent
// Code point -> UTF-16 offsets: needed only once a character above U+FFFF
// has been seen; until then both count alike (as in pkc).
let cps = null
const astral = s => /[\uD800-\uDFFF]/.test(s)
if (astral(trace.startContent || '')) cps = Array.from(trace.startContent)
for (const tx of trace.txns) {
  doc.transact(() => {
    for (const [pos, del, ins] of tx.patches) {
      if (cps === null && astral(ins)) cps = Array.from(text.toString())
      let upos = pos, udel = del
      if (cps !== null) {
        upos = 0
        for (let i = 0; i < pos; i++) upos += cps[i].length
        udel = 0
        for (let i = pos; i < pos + del; i++) udel += cps[i].length
        cps.splice(pos, del, ...Array.from(ins))
      }
      if (udel) text.delete(upos, udel)
      if (ins) text.insert(upos, ins)
    }
  })
}
if (typeof end === 'string' && text.toString() !== end) {
  console.error('replay.mjs: the replayed text differs from endContent')
  process.exit(1)
}
const out = Y.encodeStateAsUpdate(doc)
for (let off = 0; off < out.length;) off += fs.writeSync(1, out, off)
