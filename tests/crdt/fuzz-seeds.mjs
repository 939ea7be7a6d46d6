// Writes the seed corpora of the crdt fuzz harnesses (fuzz/y*.c) with the
// real yjs / y-protocols / lib0 encoders. Not a test; rerun it when a
// harness's input format changes:  node tests/crdt/fuzz-seeds.mjs
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import * as syncProtocol from 'y-protocols/sync'
import * as awarenessProtocol from 'y-protocols/awareness'
import { mkdirSync, writeFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fuzz', 'corpus')
const out = {}
const seed = (harness, name, flag, bytes) => {
  (out[harness] ||= []).push([name, Buffer.concat([Buffer.from([flag]), Buffer.from(bytes)])])
}
const enc = f => { const e = encoding.createEncoder(); f(e); return encoding.toUint8Array(e) }

// the base document of the harnesses (base_update in fuzz/yupdate.c)
const baseUpdate = Buffer.from('02020200c401010102024142a8010d017d020b01000601047465787404626f6c64047472756584010001688401010165810102038401050620776f726c6486010b04626f6c64046e756c6c2101036d6170016b012701036d6170016e010801056172726179027d017701788701100204000111017401010203030d01', 'hex')

// documents with every kind of content
const rich = (id, gc) => {
  const d = new Y.Doc({ gc }); d.clientID = id
  const t = d.getText('text')
  t.insert(0, 'hello 😀 world', { bold: true }); t.insertEmbed(3, { image: 'x.png' }); t.format(1, 4, { italic: true }); t.delete(2, 2)
  const m = d.getMap('map')
  m.set('num', 1.5); m.set('int', 42); m.set('big', 2 ** 40); m.set('neg', -7); m.set('s', 'str'); m.set('bin', new Uint8Array([1, 2, 3]))
  m.set('obj', { a: [1, null, true, false], b: { c: 'd' } }); m.set('und', undefined); m.set('bigint', 5n)
  const nested = new Y.Map(); m.set('nested', nested); nested.set('x', 1)
  const arr = d.getArray('array'); arr.insert(0, [1, 'two', { three: 3 }]); arr.push([new Y.Array(), new Y.Text('t')])
  arr.delete(0, 1)
  const x = d.getXmlFragment('xml'); const el = new Y.XmlElement('p'); x.insert(0, [el]); el.setAttribute('class', 'c')
  const xt = new Y.XmlText(); el.insert(0, [xt]); xt.insert(0, 'xml', { b: true })
  x.insert(1, [new Y.XmlHook('hook')])
  m.set('doc', new Y.Doc({ guid: 'sub', meta: { k: 1 }, autoLoad: true }))
  return d
}
const a = rich(1, true)
const b = new Y.Doc(); b.clientID = 2
Y.applyUpdate(b, Y.encodeStateAsUpdate(a))
const svA = Y.encodeStateVector(a)
b.getText('text').insert(0, 'more'); b.getMap('map').set('num', 2); b.getArray('array').delete(0, 1)
const incr = Y.encodeStateAsUpdate(b, svA)
const noGc = rich(3, false); noGc.getText('text').delete(0, 5)

// yupdate: flag bit 0 v2, bit 1 base document, bit 2 gc off
seed('yupdate', 'state-v1', 0, Y.encodeStateAsUpdate(b))
seed('yupdate', 'state-v2', 1, Y.encodeStateAsUpdateV2(b))
seed('yupdate', 'state-v1-base', 2, Y.encodeStateAsUpdate(a))
seed('yupdate', 'state-v2-base', 3, Y.encodeStateAsUpdateV2(a))
seed('yupdate', 'incremental-pending', 0, incr)
seed('yupdate', 'incremental-v2', 1, Y.encodeStateAsUpdateV2(b, svA))
seed('yupdate', 'nogc-v1', 4, Y.encodeStateAsUpdate(noGc))
seed('yupdate', 'nogc-v2', 5, Y.encodeStateAsUpdateV2(noGc))
seed('yupdate', 'merged', 0, Y.mergeUpdates([Y.encodeStateAsUpdate(noGc), incr]))
seed('yupdate', 'base-itself', 2, baseUpdate)
seed('yupdate', 'empty', 0, Y.encodeStateAsUpdate(new Y.Doc()))
{
  // an edit on the base document: refers into it
  const d = new Y.Doc(); d.clientID = 3; Y.applyUpdate(d, baseUpdate)
  const sv = Y.encodeStateVector(d)
  d.getText('text').insert(3, 'X'); d.getText('text').format(0, 4, { i: 1 }); d.getMap('map').delete('k'); d.getArray('array').delete(1, 1)
  seed('yupdate', 'edit-of-base', 2, Y.encodeStateAsUpdate(d, sv))
  seed('yupdate', 'edit-of-base-v2', 3, Y.encodeStateAsUpdateV2(d, sv))
}

// yprovider: flag bit 0 provider framing
const syncMsg = f => enc(e => f(e))
const base = new Y.Doc(); base.clientID = 4; Y.applyUpdate(base, baseUpdate)
seed('yprovider', 'step1-empty', 0, syncMsg(e => syncProtocol.writeSyncStep1(e, new Y.Doc())))
seed('yprovider', 'step1-base', 0, syncMsg(e => syncProtocol.writeSyncStep1(e, base)))
seed('yprovider', 'step2', 0, syncMsg(e => syncProtocol.writeSyncStep2(e, b)))
seed('yprovider', 'update', 0, syncMsg(e => syncProtocol.writeUpdate(e, incr)))
const framedSync = f => enc(e => { encoding.writeVarUint(e, 0); f(e) })
seed('yprovider', 'framed-step1', 1, framedSync(e => syncProtocol.writeSyncStep1(e, a)))
seed('yprovider', 'framed-step2', 1, framedSync(e => syncProtocol.writeSyncStep2(e, a)))
seed('yprovider', 'framed-update', 1, framedSync(e => syncProtocol.writeUpdate(e, Y.encodeStateAsUpdate(a))))
const aw = new awarenessProtocol.Awareness(new Y.Doc())
aw.doc.clientID = 10; aw.clientID = 10
aw.setLocalState({ user: { name: 'a', color: '#f00' }, cursor: { anchor: 1, head: 4 } })
const awUpdate = awarenessProtocol.encodeAwarenessUpdate(aw, [10])
seed('yprovider', 'framed-awareness', 1, enc(e => { encoding.writeVarUint(e, 1); encoding.writeVarUint8Array(e, awUpdate) }))
seed('yprovider', 'framed-query', 1, enc(e => encoding.writeVarUint(e, 3)))
aw.setLocalState(null)
const awRemoved = awarenessProtocol.encodeAwarenessUpdate(aw, [10])
seed('yprovider', 'framed-awareness-removed', 1, enc(e => { encoding.writeVarUint(e, 1); encoding.writeVarUint8Array(e, awRemoved) }))
aw.destroy()

// yawareness: the first byte is the time of arrival (seconds after the start)
{
  const p = new awarenessProtocol.Awareness(new Y.Doc()); p.clientID = 2
  p.setLocalState({ name: 'two', n: 1.5, list: [1, 'x', null], deep: { a: { b: true } } })
  seed('yawareness', 'client2', 0, awarenessProtocol.encodeAwarenessUpdate(p, [2]))
  seed('yawareness', 'client2-late', 40, awarenessProtocol.encodeAwarenessUpdate(p, [2]))
  const q = new awarenessProtocol.Awareness(new Y.Doc()); q.clientID = 7
  q.setLocalState({ s: 'é😀' })
  const qq = awarenessProtocol.encodeAwarenessUpdate(q, [7])
  q.setLocalState(null)
  seed('yawareness', 'new-client', 0, qq)
  seed('yawareness', 'removed', 0, awarenessProtocol.encodeAwarenessUpdate(q, [7]))
  // several clients at once, including ourselves (client 1)
  seed('yawareness', 'several', 5, enc(e => {
    encoding.writeVarUint(e, 3)
    for (const [c, clock, s] of [[1, 5, '{"x":1}'], [2, 4, 'null'], [3, 3, '{"y":[]}']]) {
      encoding.writeVarUint(e, c); encoding.writeVarUint(e, clock); encoding.writeVarString(e, s)
    }
  }))
  p.destroy(); q.destroy()
}

// yvalue: 0 + lib0 Any, 1 + JSON text
for (const [name, v] of [['int', 42], ['neg', -3], ['float32', 2.5], ['float64', 0.1], ['big', 2 ** 40], ['bigint', 12345678901234n],
  ['str', 'é😀'], ['bin', new Uint8Array([0, 255])], ['arr', [1, null, true, false, undefined]], ['obj', { b: 1, 10: 2, 2: [3], c: { d: 'e' } }]]) {
  seed('yvalue', 'any-' + name, 0, enc(e => encoding.writeAny(e, v)))
}
seed('yvalue', 'any-float64-one', 0, enc(e => { encoding.writeUint8(e, 123); encoding.writeFloat64(e, 1) }))
for (const [name, t] of [['obj', '{"a":[1,2.5,-0,1e21,null],"b":{"c":"\\u0041\\ud83d\\ude00"},"1":true}'], ['spaces', ' { "a" : 1.0 } '],
  ['str', '"line\\nbreak\\t\\"q\\""'], ['lone', '"\\udc00"'], ['num', '-1.5e-7'], ['dup', '{"a":1,"a":2}']]) {
  seed('yvalue', 'json-' + name, 1, Buffer.from(t))
}

// yposition: 0 + relative position, 1 + snapshot, for the base document (gc off)
{
  const d = new Y.Doc({ gc: false }); d.clientID = 9; Y.applyUpdate(d, baseUpdate)
  const t = d.getText('text'); const arr = d.getArray('array'); const m = d.getMap('map')
  seed('yposition', 'relpos-text', 0, Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(t, 3)))
  seed('yposition', 'relpos-text-end', 0, Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(t, t.length)))
  seed('yposition', 'relpos-before', 0, Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(t, 2, -1)))
  seed('yposition', 'relpos-array', 0, Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(arr, 1)))
  seed('yposition', 'relpos-nested', 0, Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(m.get('n'), 0)))
  seed('yposition', 'relpos-map-item', 0, enc(e => { encoding.writeVarUint(e, 0); encoding.writeVarUint(e, 1); encoding.writeVarUint(e, 16); encoding.writeVarInt(e, 0) }))
  seed('yposition', 'snapshot-now', 1, Y.encodeSnapshot(Y.snapshot(d)))
  seed('yposition', 'snapshot-empty', 1, Y.encodeSnapshot(Y.emptySnapshot))
  const past = new Y.Doc({ gc: false }); past.clientID = 9
  Y.applyUpdate(past, Y.encodeStateAsUpdate(d, Y.encodeStateVector(new Y.Doc())))
  seed('yposition', 'snapshot-v2', 1, Y.encodeSnapshotV2(Y.snapshot(d)))
}

for (const [harness, seeds] of Object.entries(out)) {
  const dir = join(root, harness)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  for (const [name, bytes] of seeds) writeFileSync(join(dir, name), bytes)
  console.log(`${harness}: ${seeds.length} seeds`)
}
