// pkc's y-protocols sync and awareness against the real `y-protocols`
// package: the same messages byte for byte, the same states and the same
// events (added / updated / removed, 'change' and 'update'), including the
// 15 s renewal and 30 s timeout, run on a fake clock.
//
// Usage: node protocols.mjs YDRIVER
import { spawnSync } from 'node:child_process'

// y-protocols reads the time through lib0/time (bound to Date.now when
// first imported) and renews and expires states in a setInterval callback:
// install a fake clock and capture the callbacks before importing.
let fakeNow = 1_700_000_000_000
Date.now = () => fakeNow
const intervals = []
globalThis.setInterval = (f) => { intervals.push(f); return intervals.length }
globalThis.clearInterval = () => {}
const Y = await import('yjs')
const awarenessProtocol = await import('y-protocols/awareness')
const syncProtocol = await import('y-protocols/sync')
const encoding = await import('lib0/encoding')
const decoding = await import('lib0/decoding')

const driver = process.argv[2]
const hex = u8 => Buffer.from(u8).toString('hex')
const lines = []; const expect = []; const where = []
const cmd = (l, e, w) => { lines.push(l); expect.push(e); where.push(w) }

const prng = seed => {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) | 0
    let t = Math.imul(s ^ (s >>> 15), 1 | s)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

// ---------------------------------------------------------------------------
// Awareness

for (let seed = 1; seed <= 40; seed++) {
  const rand = prng(seed)
  const int = (a, b) => a + Math.floor(rand() * (b - a + 1))
  const pick = a => a[Math.floor(rand() * a.length)]
  const n = int(2, 4)
  const peers = []
  for (let i = 0; i < n; i++) {
    const doc = new Y.Doc()
    doc.clientID = i === 0 && seed % 5 === 0 ? 2 ** 40 + i : 1000 + i * 7 + seed
    const before = intervals.length
    const aw = new awarenessProtocol.Awareness(doc)
    const tick = intervals[before]
    const events = []
    aw.on('change', (c, origin) => events.push(`change [${c.added}][${c.updated}][${c.removed}] ${origin}`))
    aw.on('update', (c, origin) => events.push(`update [${c.added}][${c.updated}][${c.removed}] ${origin}`))
    peers.push({ aw, tick, events, id: doc.clientID })
    cmd(`aw ${i} ${doc.clientID} ${fakeNow}`, 'ok', `awareness seed ${seed}: new ${i}`)
  }
  const ctx = (s) => `awareness seed ${seed}: ${s}`
  const checkEvents = (i, s) => { cmd(`awevents ${i}`, peers[i].events.join(';'), ctx(s + ': events')); peers[i].events.length = 0 }
  const states = () => pick([{}, { user: { name: 'ann', color: '#f00' } }, { cursor: { anchor: int(0, 99), head: int(0, 99) } }, { name: 'é😀', n: 1.5, list: [1, null, true] }, { a: 1, b: 2 }, { b: 2, a: 1 }, { 1: 'x', z: 'y' }])
  for (let step = 0; step < 40; step++) {
    const i = int(0, n - 1)
    const p = peers[i]
    const r = rand()
    if (r < 0.3) {
      const st = rand() < 0.15 ? null : states()
      p.aw.setLocalState(st)
      cmd(`awset ${i} ${fakeNow} ${JSON.stringify(st)}`, 'ok', ctx(`step ${step} set local ${i}`))
      checkEvents(i, `step ${step} set local ${i}`)
    } else if (r < 0.65) {
      // send some or all known clients from i to j
      const known = [...p.aw.meta.keys()]
      const clients = rand() < 0.5 ? known : known.filter(() => rand() < 0.6)
      if (clients.length === 0) continue
      const u = awarenessProtocol.encodeAwarenessUpdate(p.aw, clients)
      cmd(`awenc ${i} ${clients.join(' ')}`, hex(u), ctx(`step ${step} encode ${i}`))
      const j = int(0, n - 1)
      awarenessProtocol.applyAwarenessUpdate(peers[j].aw, u, 'remote')
      cmd(`awapply ${j} ${fakeNow} ${hex(u)}`, 'ok', ctx(`step ${step} apply to ${j}`))
      checkEvents(j, `step ${step} apply to ${j}`)
    } else if (r < 0.72) {
      const known = [...p.aw.states.keys()].filter(() => rand() < 0.5)
      awarenessProtocol.removeAwarenessStates(p.aw, known, 'remote')
      cmd(`awrm ${i} ${fakeNow} ${known.join(' ')}`, 'ok', ctx(`step ${step} remove on ${i}`))
      checkEvents(i, `step ${step} remove on ${i}`)
    } else if (r < 0.9) {
      fakeNow += pick([1000, 3000, 14000, 16000, 31000])
      for (let k = 0; k < n; k++) {
        peers[k].tick()
        cmd(`awcheck ${k} ${fakeNow}`, '3000', ctx(`step ${step} check ${k}`))
        checkEvents(k, `step ${step} check ${k}`)
      }
    }
    for (let k = 0; k < n; k++) {
      const aw = peers[k].aw
      const ids = [...aw.states.keys()].sort((a, b) => a - b)
      cmd(`awclients ${k}`, ids.join(' '), ctx(`step ${step} clients of ${k}`))
      for (const id of ids) cmd(`awget ${k} ${id}`, JSON.stringify(aw.states.get(id)), ctx(`step ${step} state ${id} at ${k}`))
      if (ids.length) cmd(`awenc ${k}`, hex(awarenessProtocol.encodeAwarenessUpdate(aw, [...aw.states.keys()])), ctx(`step ${step} encode all of ${k}`))
    }
  }
}

// bad awareness updates change nothing
{
  const aw = new awarenessProtocol.Awareness(new Y.Doc())
  cmd(`aw 0 ${aw.clientID} ${fakeNow}`, 'ok', 'bad awareness: new')
  aw.setLocalState({ x: 1 })
  cmd(`awset 0 ${fakeNow} {"x":1}`, 'ok', 'bad awareness: set')
  cmd('awevents 0', `change [][${aw.clientID}][] local;update [][${aw.clientID}][] local`, 'bad awareness: drain')
  const good = encoding.encode(e => { encoding.writeVarUint(e, 2); encoding.writeVarUint(e, 77); encoding.writeVarUint(e, 3); encoding.writeVarString(e, '{"a":1}'); encoding.writeVarUint(e, 78); encoding.writeVarUint(e, 1); encoding.writeVarString(e, '{"b"') })
  cmd(`awapply 0 ${fakeNow} ${hex(good)}`, 'err PKC_ERR_MALFORMED', 'bad awareness: bad JSON in the second state')
  cmd('awclients 0', String(aw.clientID), 'bad awareness: nothing applied')
  for (let cut = 0; cut < good.length - 6; cut++) cmd(`awapply 0 ${fakeNow} ${hex(good.slice(0, cut))}`, cut === 0 ? 'err PKC_ERR_TRUNCATED' : /^err /, `bad awareness: truncated at ${cut}`)
  cmd('awclients 0', String(aw.clientID), 'bad awareness: still nothing applied')
  cmd('awevents 0', '', 'bad awareness: no events')
}

// ---------------------------------------------------------------------------
// Sync

for (let seed = 1; seed <= 30; seed++) {
  const rand = prng(1000 + seed)
  const int = (a, b) => a + Math.floor(rand() * (b - a + 1))
  const docs = [new Y.Doc(), new Y.Doc()]
  docs.forEach((d, i) => { d.clientID = 10 + i })
  for (let k = 0; k < 20; k++) {
    const d = docs[int(0, 1)]
    const t = d.getText('t')
    if (rand() < 0.7 || t.length === 0) t.insert(int(0, t.length), 'ab😀'.slice(0, int(1, 3)))
    else t.delete(int(0, t.length - 1), 1)
    if (rand() < 0.3) d.getMap('m').set('k' + int(0, 3), int(0, 9))
  }
  // a partial sync first, so that step 2 is a real diff
  Y.applyUpdate(docs[1], Y.encodeStateAsUpdate(docs[0]).slice(0, 0).length ? new Uint8Array() : Y.encodeStateAsUpdate(docs[0], Y.encodeStateVector(docs[1])))
  docs.forEach((d, i) => {
    cmd(`doc ${i} ${100 + i} 1`, 'ok', `sync seed ${seed}: doc ${i}`)
    cmd(`apply ${i} ${hex(Y.encodeStateAsUpdate(d))}`, 'ok', `sync seed ${seed}: load ${i}`)
  })
  const ctx = s => `sync seed ${seed}: ${s}`
  const step1 = d => encoding.encode(e => syncProtocol.writeSyncStep1(e, d))
  cmd('sync1 0', hex(step1(docs[0])), ctx('step 1'))
  // peer 1 answers peer 0's step 1 with step 2
  const s1 = step1(docs[0])
  const reply = encoding.encode(e => syncProtocol.readSyncMessage(decoding.createDecoder(s1), e, docs[1], 'x'))
  cmd(`syncread 1 ${hex(s1)}`, hex(reply), ctx('step 2 reply'))
  // peer 0 reads step 2
  encoding.encode(e => syncProtocol.readSyncMessage(decoding.createDecoder(reply), e, docs[0], 'x'))
  cmd(`syncread 0 ${hex(reply)}`, '-', ctx('read step 2'))
  cmd('enc 0', hex(Y.encodeStateAsUpdate(docs[0])), ctx('state after step 2'))
  // an update message
  let upd = null
  docs[1].once('update', u => { upd = u })
  docs[1].getText('t').insert(0, 'Z')
  cmd(`apply 1 ${hex(upd)}`, 'ok', ctx('a change on peer 1'))
  const um = encoding.encode(e => syncProtocol.writeUpdate(e, upd))
  cmd(`syncupd ${hex(upd)}`, hex(um), ctx('update message'))
  encoding.encode(e => syncProtocol.readSyncMessage(decoding.createDecoder(um), e, docs[0], 'x'))
  cmd(`syncread 0 ${hex(um)}`, '-', ctx('read update'))
  cmd('enc 0', hex(Y.encodeStateAsUpdate(docs[0])), ctx('state after update'))
  // provider framing (y-websocket): [0, sync message], [3] query awareness
  const framed = encoding.encode(e => { encoding.writeVarUint(e, 0); syncProtocol.writeSyncStep1(e, docs[1]) })
  const framedReply = encoding.encode(e => { encoding.writeVarUint(e, 0); syncProtocol.readSyncMessage(decoding.createDecoder(framed.slice(1)), e, docs[0], 'x') })
  cmd(`aw 5 ${docs[0].clientID} ${fakeNow}`, 'ok', ctx('awareness for the provider'))
  cmd(`prov 0 5 ${fakeNow} ${hex(framed)}`, hex(framedReply), ctx('provider sync step 1'))
  // bad messages: unknown type, truncated, trailing bytes
  cmd('syncread 0 03', 'err PKC_ERR_MALFORMED', ctx('unknown type'))
  cmd(`syncread 0 ${hex(um.slice(0, um.length - 1))}`, 'err PKC_ERR_TRUNCATED', ctx('truncated update message'))
  cmd(`syncread 0 ${hex(um)}00`, 'err PKC_ERR_MALFORMED', ctx('trailing byte'))
  cmd('enc 0', hex(Y.encodeStateAsUpdate(docs[0])), ctx('bad messages changed nothing'))
  cmd('free 0', 'ok', ctx('free'))
  cmd('free 1', 'ok', ctx('free'))
}

// provider awareness messages
{
  const doc = new Y.Doc(); doc.clientID = 501
  const aw = new awarenessProtocol.Awareness(doc)
  aw.setLocalState({ user: 'bob' })
  cmd('doc 0 501 1', 'ok', 'provider awareness: doc')
  cmd(`aw 1 900 ${fakeNow}`, 'ok', 'provider awareness: local awareness')
  const msg = encoding.encode(e => { encoding.writeVarUint(e, 1); encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(aw, [501])) })
  cmd(`prov 0 1 ${fakeNow} ${hex(msg)}`, '-', 'provider awareness: apply')
  cmd('awget 1 501', '{"user":"bob"}', 'provider awareness: state arrived')
  const q = new Uint8Array([3])
  const aw2 = new awarenessProtocol.Awareness(new Y.Doc()); aw2.clientID = 900
  aw2.doc.clientID = 900
  // expected: our full state as an awareness message
  const expectAll = encoding.encode(e => { encoding.writeVarUint(e, 1); encoding.writeVarUint8Array(e, encoding.encode(x => { encoding.writeVarUint(x, 2); encoding.writeVarUint(x, 900); encoding.writeVarUint(x, 0); encoding.writeVarString(x, '{}'); encoding.writeVarUint(x, 501); encoding.writeVarUint(x, 1); encoding.writeVarString(x, '{"user":"bob"}') })) })
  cmd(`prov 0 1 ${fakeNow} ${hex(q)}`, hex(expectAll), 'provider awareness: query')
}

if (process.env.PROTO_SCRIPT) (await import("node:fs")).writeFileSync(process.env.PROTO_SCRIPT, lines.join("\n") + "\n")
const res = spawnSync(driver, [], { input: lines.join('\n') + '\n', maxBuffer: 1 << 28, encoding: 'utf8' })
if (res.status !== 0) {
  console.error(`ydriver exited with ${res.status} ${res.signal} ${res.error}\n${res.stderr}`)
  process.exit(1)
}
const got = res.stdout.split('\n')
for (let i = 0; i < lines.length; i++) {
  const ok = expect[i] instanceof RegExp ? expect[i].test(got[i]) : got[i] === expect[i]
  if (!ok) {
    console.error(`MISMATCH at ${where[i]}\n  command:    ${lines[i].slice(0, 300)}\n  y-protocols: ${String(expect[i]).slice(0, 500)}\n  pkc:        ${String(got[i]).slice(0, 500)}`)
    process.exit(1)
  }
}
if (res.stderr) process.stderr.write(res.stderr)
console.log(`ok: ${lines.length} commands checked against y-protocols`)
