// Cases from Yjs's own test suite (yjs v13.6, tests/*.tests.js), ported.
//
// Every case runs twice: on the real `yjs` package and on pkc (through
// pkc-ydriver), with the same documents, client ids, operations and sync
// steps. pkc must agree with Yjs on everything the case looks at: the update
// each transaction emits, the events deep observers receive (paths, changed
// keys, deltas), JSON and deltas, encoded states and state vectors, undo and
// redo, relative positions and snapshots. Where the Yjs test asserts a
// literal result, the port asserts it on the Yjs side too, so a port that
// drifts from the original case fails.
//
// Usage: node yjs-cases.mjs YDRIVER [-v]
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { makeOps } from './yops.mjs'

// UndoManager reads the time through lib0/time (Date.now, bound on import)
let fakeNow = 1_700_000_000_000
Date.now = () => fakeNow
const Y = await import('yjs')
const { CTORS, applyOp, toJ, kindOf } = makeOps(Y)

const driver = process.argv[2]
const VERBOSE = process.argv.includes('-v')
const hex = u8 => Buffer.from(u8).toString('hex')

// ---------------------------------------------------------------------------
// The command list: each line with what pkc must answer (a string, or a
// function of pkc's answer) and where it comes from.

const lines = []; const expects = []; const wheres = []
let caseName = ''
const cmd = (line, exp, what) => { lines.push(line); expects.push(exp); wheres.push(`${caseName}: ${what}`) }
const failures = []
const yjsMust = (cond, what) => { if (!cond) failures.push(`${caseName}: the Yjs side does not give what the original test expects: ${what}`) }
const sorted = v => Array.isArray(v) ? v.map(sorted) : v !== null && typeof v === 'object'
  ? Object.fromEntries(Object.keys(v).sort().map(k => [k, sorted(v[k])])) : v
const deepEq = (a, b) => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b)) // key order aside

const ROOTS = [['text', 2], ['map', 1], ['array', 0], ['xml', 4]]
const SPEC = ROOTS.map(([n, k]) => `${n}:${k}`).join(',')
const T = (...p) => ['text', 2, ...p]
const M = (...p) => ['map', 1, ...p]
const A = (...p) => ['array', 0, ...p]
const X = (...p) => ['xml', 4, ...p]

// events as both sides report them, with changed keys in a canonical order
const normEvents = evs => JSON.stringify(evs.map(e => ({
  r: e.r, path: e.path, delta: e.delta, keys: Object.entries(e.keys || {}).sort((a, b) => a[0] < b[0] ? -1 : 1)
})))

const freeSlots = [...Array(60).keys()] // ydriver documents 0..59 (60: snapshots)
class Twin {
  constructor (client, gc) {
    this.slot = freeSlots.shift()
    this.y = new Y.Doc({ gc })
    this.y.clientID = client
    this.events = []
    this.emitted = []
    this.y.on('update', u => this.emitted.push(u))
    for (const [n, k] of ROOTS) this.y.get(n, CTORS[k])
    cmd(`doc ${this.slot} ${client} ${gc ? 1 : 0}`, 'ok', `new document ${client}`)
  }

  get (p) { let t = this.y.get(p[0], CTORS[p[1]]); for (let i = 2; i < p.length; i++) t = t.get(p[i]); return t }

  // ops in one transaction: [o, path, fields]
  // (randomClient: the client id is a new random one, so only the rest of
  // the update can be the same)
  txn (ops, what = 'a transaction', randomClient = false) {
    const js = ops.map(([o, p, f]) => ({ o, p, ...f }))
    this.emitted.length = 0
    this.y.transact(() => js.forEach(op => applyOp(this.y, op)))
    const want = this.emitted.length ? hex(this.emitted[0]) : '-'
    const sameButClient = got => got !== '-' && got.slice(-16) === want.slice(-16)
    cmd(`txn ${this.slot} ${JSON.stringify(js)}`, randomClient ? sameButClient : want, `${what} on ${this.y.clientID}: ${JSON.stringify(js).slice(0, 120)}`)
  }

  do (o, p, f = {}) { this.txn([[o, p, f]]) }

  observe () {
    for (const [n, k] of ROOTS) {
      this.y.get(n, CTORS[k]).observeDeep(evs => {
        for (const e of evs) {
          const keys = {}
          for (const [key, c] of e.changes.keys) keys[key] = { action: c.action, oldValue: toJ(c.oldValue) }
          this.events.push({ r: n, path: e.path, keys, delta: toJ(e.changes.delta) })
        }
      })
    }
    cmd(`observe ${this.slot} ${SPEC}`, 'ok', `observe ${this.y.clientID}`)
  }

  checkEvents (what = 'events') {
    const want = normEvents(this.events)
    this.events.length = 0
    cmd(`events ${this.slot}`, got => { try { return normEvents(JSON.parse(got)) === want } catch { return false } },
      `${what} on ${this.y.clientID}: want ${want}`)
  }

  // remote updates carry an origin, as in Yjs's test connector (undo
  // managers track only local transactions then)
  apply (u) {
    this.emitted.length = 0
    Y.applyUpdate(this.y, u, 'remote')
    cmd(`applyr ${this.slot} ${hex(u)}`, 'ok', `apply an update to ${this.y.clientID}`)
  }

  json () { const o = {}; for (const [n, k] of ROOTS) o[n] = this.y.get(n, CTORS[k]).toJSON(); return o }

  check (what = 'state') {
    cmd(`json ${this.slot} ${SPEC}`, JSON.stringify(this.json()), `${what}: JSON of ${this.y.clientID}`)
    cmd(`delta ${this.slot} text`, JSON.stringify(this.y.getText('text').toDelta()), `${what}: delta of ${this.y.clientID}`)
    cmd(`enc ${this.slot}`, hex(Y.encodeStateAsUpdate(this.y)), `${what}: encoded state of ${this.y.clientID}`)
    cmd(`sv ${this.slot}`, hex(Y.encodeStateVector(this.y)), `${what}: state vector of ${this.y.clientID}`)
    cmd(`pending ${this.slot}`, this.y.store.pendingStructs || this.y.store.pendingDs ? '1' : '0', `${what}: pending on ${this.y.clientID}`)
  }

  // UndoManager over all roots
  undoManager (captureTimeout = 500) {
    this.um = new Y.UndoManager(ROOTS.map(([n, k]) => this.y.get(n, CTORS[k])), { captureTimeout })
    cmd(`um ${this.slot} ${captureTimeout} ${SPEC}`, 'ok', `undo manager on ${this.y.clientID}`)
  }

  undoRedo (which) {
    this.emitted.length = 0
    which === 'undo' ? this.um.undo() : this.um.redo()
    cmd(`${which} ${this.slot}`, this.emitted.length ? hex(this.emitted[0]) : '-', `${which} on ${this.y.clientID}`)
  }

  undo () { this.undoRedo('undo') }
  redo () { this.undoRedo('redo') }
  free () { cmd(`free ${this.slot}`, 'ok', 'free'); freeSlots.unshift(this.slot) }

  stopCapturing () { this.um.stopCapturing(); cmd(`stopcap ${this.slot}`, 'ok', 'stop capturing') }
}

class Case {
  constructor (n, gc = true) { this.users = []; for (let i = 0; i < n; i++) this.users.push(new Twin(i + 1, gc)) }
  // every user sends every other what it lacks
  sync () {
    for (const a of this.users) for (const b of this.users) if (a !== b) this.send(a, b)
  }

  send (a, b) {
    const sv = Y.encodeStateVector(b.y)
    const u = Y.encodeStateAsUpdate(a.y, sv)
    cmd(`enc ${a.slot} ${hex(sv)}`, hex(u), `what ${a.y.clientID} sends ${b.y.clientID}`)
    b.apply(u)
  }

  time (ms) { fakeNow += ms; cmd(`time ${fakeNow}`, 'ok', 'time') }
  check () {
    for (const u of this.users) u.check()
    for (const u of this.users.slice(1)) yjsMust(deepEq(u.json(), this.users[0].json()), `users converge: ${JSON.stringify(u.json())} vs ${JSON.stringify(this.users[0].json())}`)
  }

  end () { for (const u of this.users) u.free() }
}

const cases = []
const testCase = (name, fn) => cases.push([name, fn])

// ---------------------------------------------------------------------------
// compatibility.tests.js: documents written by Yjs v13.2 decode to the same
// content today (the v1 updates below are the test's).

const compat = JSON.parse(readFileSync(new URL('./yjs-compat-docs.json', import.meta.url), 'utf8')).cases
testCase('compatibility: array, map and text documents of Yjs 13.2', () => {
  for (const [name, root, read] of [['testArrayCompatibilityV1', 'array', y => y.getArray('array').toJSON()],
    ['testMapDecodingCompatibilityV1', 'map', y => y.getMap('map').toJSON()],
    ['testTextDecodingCompatibilityV1', 'text', y => y.getText('text').toDelta()]]) {
    const t = new Case(1)
    const [u] = t.users
    u.apply(Buffer.from(compat[name].update_base64, 'base64'))
    yjsMust(deepEq(read(u.y), compat[name].expected), `${name}: the old ${root} document decodes`)
    u.check(name)
    t.end()
  }
})

// ---------------------------------------------------------------------------
// y-text.tests.js

testCase('y-text: testBasicInsertAndDelete (events)', () => {
  const t = new Case(1); const [u] = t.users
  u.observe()
  u.do('tins', T(), { i: 0, s: 'abc' }); u.checkEvents()
  u.do('tdel', T(), { i: 0, n: 1 }); u.checkEvents()
  u.do('tdel', T(), { i: 1, n: 1 }); u.checkEvents()
  u.do('tins', T(), { i: 1, s: 'abc' }); u.checkEvents()
  u.do('tdel', T(), { i: 0, n: 5 }); u.checkEvents()
  yjsMust(u.y.getText('text').toString() === '', 'everything deleted')
  u.check(); t.end()
})

testCase('y-text: testBasicFormat (events)', () => {
  const t = new Case(1); const [u] = t.users
  u.observe()
  u.do('tins', T(), { i: 0, s: 'abc', a: { bold: true } }); u.checkEvents()
  u.do('tdel', T(), { i: 0, n: 1 }); u.checkEvents()
  u.do('tdel', T(), { i: 1, n: 1 }); u.checkEvents()
  u.do('tins', T(), { i: 0, s: 'z', a: { bold: true } }); u.checkEvents()
  u.do('tins', T(), { i: 0, s: 'y' }); u.checkEvents()
  u.do('tfmt', T(), { i: 0, n: 2, a: { bold: null } }); u.checkEvents()
  yjsMust(deepEq(u.y.getText('text').toDelta(), [{ insert: 'yz' }, { insert: 'b', attributes: { bold: true } }]), 'delta')
  u.check(); t.end()
})

testCase('y-text: testFalsyFormats', () => {
  const t = new Case(1); const [u] = t.users
  u.observe()
  u.do('tins', T(), { i: 0, s: 'abcde', a: { falsy: false } }); u.checkEvents()
  u.do('tfmt', T(), { i: 0, n: 3, a: { falsy: true } }); u.checkEvents()
  u.do('tfmt', T(), { i: 2, n: 2, a: { falsy: false } }); u.checkEvents()
  yjsMust(deepEq(u.y.getText('text').toDelta(), [{ insert: 'ab', attributes: { falsy: true } }, { insert: 'cde', attributes: { falsy: false } }]), 'delta')
  u.check(); t.end()
})

testCase('y-text: testDeltaAfterConcurrentFormatting', () => {
  const t = new Case(2); const [a, b] = t.users
  a.do('tins', T(), { i: 0, s: 'abcde' }); t.sync()
  a.do('tfmt', T(), { i: 0, n: 3, a: { bold: true } })
  b.do('tfmt', T(), { i: 2, n: 2, a: { bold: true } })
  b.observe()
  t.sync(); b.checkEvents('the remote formatting changes nothing visible')
  t.check(); t.end()
})

testCase('y-text: testMultilineFormat and testNotMergeEmptyLinesFormat', () => {
  const t = new Case(1); const [u] = t.users
  u.do('tins', T(), { i: 0, s: 'Test\nMulti-line\nFormatting' })
  u.do('delta', T(), { v: [{ retain: 4, attributes: { bold: true } }, { retain: 1 }, { retain: 10, attributes: { bold: true } }, { retain: 1 }, { retain: 10, attributes: { bold: true } }] })
  yjsMust(deepEq(u.y.getText('text').toDelta(), [{ insert: 'Test', attributes: { bold: true } }, { insert: '\n' }, { insert: 'Multi-line', attributes: { bold: true } }, { insert: '\n' }, { insert: 'Formatting', attributes: { bold: true } }]), 'multiline')
  const t2 = new Case(1); const [v] = t2.users
  v.do('delta', T(), { v: [{ insert: 'Text' }, { insert: '\n', attributes: { title: true } }, { insert: '\nText' }, { insert: '\n', attributes: { title: true } }] })
  yjsMust(deepEq(v.y.getText('text').toDelta(), [{ insert: 'Text' }, { insert: '\n', attributes: { title: true } }, { insert: '\nText' }, { insert: '\n', attributes: { title: true } }]), 'empty lines')
  u.check(); v.check(); t.end(); t2.end()
})

testCase('y-text: testPreserveAttributesThroughDelete', () => {
  const t = new Case(1); const [u] = t.users
  u.do('tins', T(), { i: 0, s: 'Test\nMulti-line\nFormatting' })
  u.do('delta', T(), { v: [{ retain: 4 }, { delete: 1 }, { retain: 1, attributes: { bold: true } }, { retain: 15, attributes: { bold: true } }] })
  u.do('delta', T(), { v: [{ retain: 4 }, { insert: '\n', attributes: { bold: true } }] })
  u.check(); t.end()
})

testCase('y-text: testGetDeltaWithEmbeds, testToDeltaEmbedAttributes/NoAttributes', () => {
  const t = new Case(1); const [u] = t.users
  u.do('delta', T(), { v: [{ insert: { linebreak: 's' } }] })
  yjsMust(deepEq(u.y.getText('text').toDelta(), [{ insert: { linebreak: 's' } }]), 'embed delta')
  u.do('tins', T(), { i: 1, s: 'ab', a: { bold: true } })
  u.do('tembed', T(), { i: 2, v: { image: 'imageSrc.png' }, a: { width: 100 } })
  u.do('tembed', T(), { i: 0, v: { image: 'x.png' } })
  u.check(); t.end()
})

testCase('y-text: testTypesAsEmbed', () => {
  const t = new Case(2); const [a, b] = t.users
  a.do('tins', T(), { i: 0, s: 'ab' })
  a.do('tembed_t', T(), { i: 1, kind: 1 })
  a.observe(); b.observe()
  t.sync(); b.checkEvents()
  t.check(); t.end()
})

testCase('y-text: testFormattingRemoved and ...InMidText', () => {
  const t = new Case(1); const [u] = t.users
  u.do('tins', T(), { i: 0, s: 'ab', a: { bold: true } })
  u.do('tdel', T(), { i: 0, n: 2 })
  u.check('removed')
  u.do('tins', T(), { i: 0, s: '1234' })
  u.do('tins', T(), { i: 2, s: 'ab', a: { bold: true } })
  u.do('tdel', T(), { i: 2, n: 2 })
  u.check('removed in mid text'); t.end()
})

testCase('y-text: testFormattingDeltaUnnecessaryAttributeChange', () => {
  const t = new Case(2); const [a, b] = t.users
  a.do('tins', T(), { i: 0, s: '\n', a: { PARAGRAPH_STYLES: 'normal', LIST_STYLES: 'bullet' } })
  a.do('tins', T(), { i: 1, s: 'abc', a: { PARAGRAPH_STYLES: 'normal' } })
  t.sync()
  a.observe(); b.observe()
  a.do('tfmt', T(), { i: 1, n: 3, a: { LIST_STYLES: 'number' } })
  b.do('tfmt', T(), { i: 1, n: 3, a: { LIST_STYLES: null } })
  a.checkEvents(); b.checkEvents()
  t.sync(); a.checkEvents('after sync'); b.checkEvents('after sync')
  t.check(); t.end()
})

testCase('y-text: testAppendChars', () => {
  const t = new Case(1); const [u] = t.users
  const ops = []
  for (let i = 0; i < 200; i++) ops.push(['tins', T(), { i, s: 'a' }])
  for (const op of ops) u.txn([op])
  yjsMust(u.y.getText('text').length === 200, 'length')
  u.check(); t.end()
})

testCase('y-text: testSplitSurrogateCharacter', () => {
  // a split surrogate pair becomes U+FFFD on both sides
  {
    const t = new Case(2); const [a, b] = t.users
    a.do('tins', T(), { i: 0, s: '👾' })
    b.do('tins', T(), { i: 0, s: '👾' }); t.sync()
    a.do('tins', T(), { i: 1, s: 'hi!' }); t.sync()
    t.check(); t.end()
  }
  {
    const t = new Case(2); const [a, b] = t.users
    a.do('tins', T(), { i: 0, s: '👾👾' }); t.sync()
    a.do('tdel', T(), { i: 1, n: 2 }); t.sync()
    t.check(); t.end()
  }
  {
    const t = new Case(2); const [a, b] = t.users
    a.do('tins', T(), { i: 0, s: '👾👾' }); t.sync()
    a.do('tfmt', T(), { i: 1, n: 2, a: { bold: true } }); t.sync()
    t.check(); t.end()
  }
})

testCase('y-text: testSearchMarkerBug1', () => {
  const t = new Case(2); const [a, b] = t.users
  a.do('tins', T(), { i: 0, s: 'a_a' }); t.sync()
  a.do('tins', T(), { i: 2, s: 's' }); b.do('tins', T(), { i: 2, s: 'x' }); t.sync()
  a.do('tins', T(), { i: 0, s: 'x' }); b.do('tins', T(), { i: 0, s: 'x' }); t.sync()
  a.do('tins', T(), { i: 5, s: 'a' }); b.do('tins', T(), { i: 6, s: 'a' }); t.sync()
  a.do('tins', T(), { i: 0, s: 'hello' }); t.sync()
  a.do('tdel', T(), { i: 3, n: 4 }); t.sync()
  t.check(); t.end()
})

testCase('y-text: testFormattingBug and testDeleteFormatting', () => {
  {
    const t = new Case(2); const [a, b] = t.users
    a.do('tins', T(), { i: 0, s: '\n\n\n' })
    a.do('tfmt', T(), { i: 1, n: 1, a: { url: 'http://example.com' } }); t.sync()
    b.do('tfmt', T(), { i: 1, n: 1, a: { url: 'http://docs.yjs.dev' } })
    a.do('tfmt', T(), { i: 1, n: 1, a: { url: 'http://example.com' } }); t.sync()
    t.check(); t.end()
  }
  {
    const t = new Case(2); const [a, b] = t.users
    a.do('tins', T(), { i: 0, s: 'Attack ships on fire off the shoulder of Orion.' }); t.sync()
    b.do('tfmt', T(), { i: 13, n: 7, a: { bold: true } }); t.sync()
    b.do('tfmt', T(), { i: 16, n: 4, a: { bold: null } }); t.sync()
    yjsMust(deepEq(a.y.getText('text').toDelta(), [{ insert: 'Attack ships ' }, { insert: 'on ', attributes: { bold: true } }, { insert: 'fire off the shoulder of Orion.' }]), 'delta')
    t.check(); t.end()
  }
})

// ---------------------------------------------------------------------------
// y-map.tests.js

testCase('y-map: testBasicMapTests and value kinds', () => {
  const t = new Case(3); const [a, b, c] = t.users
  c.txn([]) // (c is offline in the original; it gets everything at the end)
  a.do('mset', M(), { k: 'number', v: 1 })
  a.do('mset', M(), { k: 'string', v: 'hello Y' })
  a.do('mset', M(), { k: 'object', v: { key: { key2: 'value' } } })
  a.do('mset_t', M(), { k: 'y-map', kind: 1 })
  a.do('mset', M(), { k: 'boolean1', v: true })
  a.do('mset', M(), { k: 'boolean0', v: false })
  a.do('mset', M('y-map'), { k: 'y-array', v: 0 })
  a.do('mset_t', M('y-map'), { k: 'y-array', kind: 0 })
  a.do('ains', M('y-map', 'y-array'), { i: 0, v: [0] })
  a.do('ains', M('y-map', 'y-array'), { i: 0, v: [-1] })
  a.do('mset', M(), { k: 'bin', v: { $bin: '01020304' } })
  t.sync()
  yjsMust(c.y.getMap('map').get('y-map').get('y-array').get(0) === -1, 'nested array')
  t.check(); t.end()
})

testCase('y-map: conflicts (two and three users, with deletes and clears)', () => {
  {
    const t = new Case(2); const [a, b] = t.users
    a.do('mset', M(), { k: 'stuff', v: 'c0' }); b.do('mset', M(), { k: 'stuff', v: 'c1' }); t.sync()
    yjsMust(a.y.getMap('map').get('stuff') === 'c1', 'the higher client wins')
    t.check(); t.end()
  }
  {
    const t = new Case(3); const [a, b, c] = t.users
    a.do('mset', M(), { k: 'stuff', v: 'c0' }); b.do('mset', M(), { k: 'stuff', v: 'c1' })
    b.do('mset', M(), { k: 'stuff', v: 'c2' }); c.do('mset', M(), { k: 'stuff', v: 'c3' }); t.sync()
    t.check(); t.end()
  }
  {
    const t = new Case(4); const [a, b, c, d] = t.users
    a.do('mset', M(), { k: 'stuff', v: 'c0' }); b.do('mset', M(), { k: 'stuff', v: 'c1' })
    b.do('mset', M(), { k: 'stuff', v: 'c2' }); c.do('mset', M(), { k: 'stuff', v: 'c3' }); t.sync()
    a.do('mset', M(), { k: 'stuff', v: 'deleteme' }); b.do('mset', M(), { k: 'stuff', v: 'c1' })
    c.do('mset', M(), { k: 'stuff', v: 'c2' }); d.do('mset', M(), { k: 'stuff', v: 'c3' }); d.do('mdel', M(), { k: 'stuff' })
    t.sync(); t.check(); t.end()
  }
  {
    const t = new Case(4); const [a, b, c, d] = t.users
    a.do('mset', M(), { k: 'key1', v: 'c0' }); b.do('mset', M(), { k: 'key1', v: 'c1' }); b.do('mset', M(), { k: 'key1', v: 'c2' })
    c.do('mset', M(), { k: 'key1', v: 'c3' }); t.sync()
    a.txn([['mset', M(), { k: 'key1', v: 'deleteme' }], ['mset', M(), { k: 'key2', v: 'c0' }]])
    b.txn([['mdel', M(), { k: 'key1' }], ['mdel', M(), { k: 'key2' }]])
    c.do('mset', M(), { k: 'key3', v: 'c3' }); t.sync()
    t.check(); t.end()
  }
})

testCase('y-map: testObserveDeepProperties, testPathsOfSiblingEvents, testChangeEvent', () => {
  {
    const t = new Case(3); const [a, b, c] = t.users
    a.observe()
    a.do('mset_t', M(), { k: 'map', kind: 1 }); a.checkEvents()
    a.do('mset', M('map'), { k: 'deepmap', v: 0 })
    a.do('mset_t', M('map'), { k: 'deepmap', kind: 1 }); a.checkEvents()
    t.sync()
    b.do('mset', M('map', 'deepmap'), { k: 'x', v: 1 }); c.do('mset', M('map', 'deepmap'), { k: 'x', v: 2 })
    t.sync(); a.checkEvents('after sync')
    t.check(); t.end()
  }
  {
    const t = new Case(2); const [a, b] = t.users
    a.do('mset_t', M(), { k: 'map', kind: 1 }); a.do('mset', M('map'), { k: 'a', v: 1 })
    a.do('mset_t', M('map'), { k: 'b', kind: 1 }); t.sync()
    b.observe()
    a.txn([['mset', M('map'), { k: 'a', v: 2 }], ['mset', M('map', 'b'), { k: 'x', v: 3 }]])
    t.sync(); b.checkEvents()
    t.check(); t.end()
  }
  {
    const t = new Case(1); const [u] = t.users
    u.observe()
    u.do('mset', M(), { k: 'a', v: 1 }); u.checkEvents('add')
    u.do('mdel', M(), { k: 'a' }); u.checkEvents('delete')
    u.do('mset', M(), { k: 'a', v: 1 }); u.do('mset', M(), { k: 'a', v: 2 }); u.checkEvents('update')
    u.txn([['mset', M(), { k: 'b', v: 1 }], ['mset', M(), { k: 'b', v: 2 }]]); u.checkEvents('add then update in one transaction')
    u.txn([['mset', M(), { k: 'c', v: 1 }], ['mdel', M(), { k: 'c' }]]); u.checkEvents('add then delete in one transaction')
    u.txn([['mset', M(), { k: 'd', v: 1 }], ['mset_t', M(), { k: 'd', kind: 1 }]]); u.checkEvents('a value, then a type')
    u.check(); t.end()
  }
})

testCase('y-map: testYmapEventHasCorrectValueWhenSettingAPrimitive (also from another user)', () => {
  const t = new Case(2); const [a, b] = t.users
  a.observe(); b.observe()
  a.do('mset', M(), { k: 'stuff', v: 2 }); a.checkEvents(); t.sync(); b.checkEvents()
  t.check(); t.end()
})

// ---------------------------------------------------------------------------
// y-array.tests.js

testCase('y-array: testDeleteInsert, testInsertThreeElementsTryRegetProperty, testSlice', () => {
  const t = new Case(2); const [a, b] = t.users
  a.do('ains', A(), { i: 0, v: ['x', 'y'] }); a.do('adel', A(), { i: 0, n: 1 })
  a.do('ains', A(), { i: 0, v: [1, true, false] }); t.sync()
  a.do('ains', A(), { i: 0, v: [1, 2, 3] }); a.do('ains', A(), { i: 1, v: ['a', 'b'] })
  t.sync(); t.check(); t.end()
})

testCase('y-array: concurrent inserts and deletes with three users', () => {
  {
    const t = new Case(3); const [a, b, c] = t.users
    a.do('ains', A(), { i: 0, v: [0] }); b.do('ains', A(), { i: 0, v: [1] }); c.do('ains', A(), { i: 0, v: [2] })
    t.sync(); t.check(); t.end()
  }
  {
    const t = new Case(3); const [a, b, c] = t.users
    a.do('ains', A(), { i: 0, v: ['x', 'y', 'z'] }); t.sync()
    a.do('ains', A(), { i: 1, v: [0] }); b.do('adel', A(), { i: 0, n: 1 }); b.do('adel', A(), { i: 1, n: 1 })
    c.do('ains', A(), { i: 1, v: [2] }); t.sync(); t.check(); t.end()
  }
})

testCase('y-array: insertions and deletions in late sync, merge delete on sync', () => {
  {
    const t = new Case(3); const [a, b, c] = t.users
    a.do('ains', A(), { i: 0, v: ['x', 'y'] }); t.sync()
    b.do('ains', A(), { i: 1, v: ['user0'] }); c.do('ains', A(), { i: 1, v: ['user1'] })
    a.do('adel', A(), { i: 1, n: 1 }); t.sync(); t.check(); t.end()
  }
  {
    const t = new Case(2); const [a, b] = t.users
    a.do('ains', A(), { i: 0, v: [1, 2] }); t.send(a, b)
    b.do('adel', A(), { i: 0, n: 2 }); t.sync(); t.check(); t.end()
  }
})

testCase('y-array: testInsertAndDeleteEvents, ...ForTypes, testObserveDeepEventOrder, testChangeEvent', () => {
  const t = new Case(2); const [a, b] = t.users
  a.observe(); b.observe()
  a.do('ains', A(), { i: 0, v: [0, 1, 2] }); a.checkEvents('insert')
  a.do('adel', A(), { i: 0, n: 1 }); a.checkEvents('delete')
  a.do('adel', A(), { i: 0, n: 2 }); a.checkEvents('delete two')
  a.do('ains_t', A(), { i: 0, kind: 0 }); a.checkEvents('insert a type')
  a.do('adel', A(), { i: 0, n: 1 }); a.checkEvents('delete a type')
  a.txn([['ains_t', A(), { i: 0, kind: 1 }], ['mset', A(0), { k: 'a', v: 1 }], ['ains', A(), { i: 1, v: [7] }]]); a.checkEvents('new type and its content in one transaction')
  a.txn([['ains', A(), { i: 0, v: [1, 2, 3] }], ['adel', A(), { i: 1, n: 3 }]]); a.checkEvents('insert and delete in one transaction')
  t.sync(); b.checkEvents('remote')
  t.check(); t.end()
})

testCase('y-array: testGarbageCollector and testLengthIssue', () => {
  const t = new Case(3); const [a, b, c] = t.users
  a.do('ains', A(), { i: 0, v: ['x', 'y', 'z'] }); t.sync()
  a.do('adel', A(), { i: 0, n: 3 }); t.sync()
  t.check()
  b.do('apush', A(), { v: [0] }); b.do('adel', A(), { i: 0, n: 1 }); b.do('apush', A(), { v: [1] }); b.do('apush', A(), { v: [2] })
  yjsMust(b.y.getArray('array').length === 2, 'length')
  t.sync(); t.check(); t.end()
})

testCase('y-array: testInsertAndDeleteEventsForTypes2, testNewChildDoesNotEmitEventInTransaction, testEventTargetIsSetCorrectlyOnRemote', () => {
  const t = new Case(2); const [a, b] = t.users
  a.observe(); b.observe()
  a.txn([['ains', A(), { i: 0, v: ['hi'] }], ['ains_t', A(), { i: 1, kind: 1 }]]); a.checkEvents('a value and a type')
  a.do('adel', A(), { i: 1, n: 1 }); a.checkEvents('delete the type')
  a.txn([['ains_t', A(), { i: 0, kind: 1 }], ['mset', A(0), { k: 'tst', v: 42 }]]); a.checkEvents('a new child changed in its transaction: one event')
  t.sync(); b.checkEvents('remote')
  t.check(); t.end()
})

testCase('undo-redo: testUndoUntilChangePerformed', () => {
  const t = new Case(2); const [a, b] = t.users
  a.do('ains_t', A(), { i: 0, kind: 1 }); a.do('mset', A(0), { k: 'hello', v: 'world' }); t.sync()
  a.undoManager(); b.undoManager()
  b.do('mset', A(0), { k: 'key', v: 'value' }); b.stopCapturing(); t.sync()
  a.do('adel', A(), { i: 0, n: 1 }); t.sync()
  b.undo(); b.undo()
  a.undo(); t.sync()
  t.check(); t.end()
})

// ---------------------------------------------------------------------------
// y-xml.tests.js

testCase('y-xml: testSetProperty, testEvents, testYtextAttributes, testSiblings, testFormattingBug', () => {
  const t = new Case(2); const [a, b] = t.users
  a.observe(); b.observe()
  a.do('xel', X(), { i: 0, name: 'p' }); a.checkEvents('insert an element')
  a.do('xattr', X(0), { k: 'height', v: '10' }); a.checkEvents('set an attribute')
  a.do('xrmattr', X(0), { k: 'height' }); a.checkEvents('remove it')
  a.do('xattr', X(0), { k: 'width', v: '5' })
  a.do('xtext', X(0), { i: 0 })
  a.do('tins', X(0, 0), { i: 0, s: 'hello' })
  a.do('xattr', X(0, 0), { k: 'test', v: '42' }); a.checkEvents('text attributes')
  a.do('tfmt', X(0, 0), { i: 0, n: 3, a: { bold: true } })
  a.do('tfmt', X(0, 0), { i: 1, n: 1, a: { italic: { x: 'y' } } })
  a.do('xel', X(), { i: 1, name: 'img' }); a.do('xtext', X(), { i: 2 }); a.checkEvents('siblings')
  t.sync(); b.checkEvents('remote')
  yjsMust(b.y.getXmlFragment('xml').get(0).getAttribute('width') === '5', 'attribute')
  t.check(); t.end()
})

// ---------------------------------------------------------------------------
// undo-redo.tests.js

testCase('undo-redo: testUndoText', () => {
  const t = new Case(2); const [a, b] = t.users
  a.undoManager()
  b.do('tins', T(), { i: 0, s: 'xyz' }); t.sync()
  a.do('tins', T(), { i: 0, s: 'abc' }); t.sync()
  a.undo(); t.sync()
  yjsMust(a.y.getText('text').toString() === 'xyz', 'undo')
  a.redo(); t.sync()
  t.time(600)
  a.do('tins', T(), { i: 0, s: 'xyz' }); t.time(600)
  a.do('tdel', T(), { i: 0, n: 2 }); t.sync()
  a.undo(); a.redo(); a.undo(); a.undo(); t.sync()
  a.do('tfmt', T(), { i: 1, n: 3, a: { bold: true } }); t.time(600)
  a.do('tins', T(), { i: 0, s: 'x', a: { bold: true } }); t.time(600)
  a.undo(); a.undo(); a.redo(); a.redo()
  t.sync(); t.check(); t.end()
})

testCase('undo-redo: testDoubleUndo, testUndoDeleteTextFormat, testConsecutiveRedoBug', () => {
  {
    const t = new Case(1); const [u] = t.users
    u.do('tins', T(), { i: 0, s: '1221' })
    u.undoManager()
    u.do('tins', T(), { i: 2, s: '3' }); u.do('tins', T(), { i: 3, s: '3' })
    u.undo(); u.undo()
    u.do('tins', T(), { i: 2, s: '3' })
    yjsMust(u.y.getText('text').toString() === '12321', 'double undo')
    u.check(); t.end()
  }
  {
    const t = new Case(2); const [a, b] = t.users
    a.do('tins', T(), { i: 0, s: 'Attack ships on fire off the shoulder of Orion.\n' }); t.sync()
    a.undoManager()
    a.do('tfmt', T(), { i: 13, n: 7, a: { bold: true } }); a.stopCapturing(); t.sync()
    a.do('tfmt', T(), { i: 16, n: 4, a: { bold: null } }); a.stopCapturing(); t.sync()
    a.undo(); t.sync()
    t.check(); t.end()
  }
  {
    const t = new Case(1); const [u] = t.users
    u.undoManager()
    u.do('mset_t', M(), { k: 'p', kind: 1 }); u.do('mset', M('p'), { k: 'x', v: 0 }); u.stopCapturing()
    u.do('mset', M('p'), { k: 'x', v: 1 }); u.stopCapturing()
    u.do('mset', M('p'), { k: 'x', v: 2 }); u.stopCapturing()
    u.undo(); u.undo(); u.undo(); u.redo(); u.redo(); u.redo(); u.redo()
    u.check(); t.end()
  }
})

testCase('undo-redo: testUndoMap, testUndoArray, testUndoXml, testUndoDeleteInMap', () => {
  const t = new Case(2); const [a, b] = t.users
  a.undoManager()
  a.do('mset', M(), { k: 'a', v: 0 }); a.stopCapturing()
  a.do('mset', M(), { k: 'a', v: 1 }); a.undo()
  b.do('mset', M(), { k: 'a', v: 3 }); t.sync()
  a.do('mset_t', M(), { k: 'sub', kind: 1 }); a.do('mset', M('sub'), { k: 'x', v: 42 }); a.stopCapturing()
  a.undo(); a.redo(); t.sync()
  a.do('ains', A(), { i: 0, v: [1, 2, 3] }); b.do('ains', A(), { i: 0, v: [4, 5, 6] }); t.sync()
  a.undo(); a.redo()
  a.do('ains_t', A(), { i: 0, kind: 1 }); a.do('mset', A(0), { k: 'a', v: 1 }); a.stopCapturing()
  a.do('mset', A(0), { k: 'b', v: 2 }); a.undo(); a.undo(); a.redo()
  a.do('xel', X(), { i: 0, name: 'undefined' }); a.do('xel', X(0), { i: 0, name: 'p' }); a.do('xtext', X(0, 0), { i: 0 })
  a.stopCapturing(); a.do('tins', X(0, 0, 0), { i: 0, s: 'content' }); a.stopCapturing()
  a.do('tfmt', X(0, 0, 0), { i: 3, n: 4, a: { bold: {} } }); a.stopCapturing()
  a.undo(); a.undo(); a.redo()
  a.do('mset', M(), { k: 'k', v: 'v' }); a.stopCapturing(); a.do('mdel', M(), { k: 'k' }); a.undo(); a.undo(); a.redo()
  t.sync(); t.check(); t.end()
})

testCase('undo-redo: testSpecialDeletionCase, testUndoBlockBug', () => {
  {
    const t = new Case(1); const [u] = t.users
    u.undoManager()
    u.do('xel', X(), { i: 0, name: 'test' }); u.do('xattr', X(0), { k: 'a', v: '1' }); u.do('xattr', X(0), { k: 'b', v: '2' })
    u.stopCapturing()
    u.txn([['xattr', X(0), { k: 'b', v: '3' }], ['xrmattr', X(0), { k: 'b' }]])
    u.undo(); u.check(); t.end()
  }
  {
    const t = new Case(2); const [a, b] = t.users
    a.undoManager(); b.undoManager()
    a.do('mset', M(), { k: 'a', v: 1 }); a.stopCapturing(); t.sync()
    b.do('mset', M(), { k: 'a', v: 2 }); b.stopCapturing(); t.sync()
    a.undo(); b.undo(); a.redo(); b.redo(); t.sync()
    t.check(); t.end()
  }
})

// ---------------------------------------------------------------------------
// relativePositions.tests.js: a relative position made at index i resolves
// to i (with its association) and follows edits.

const relposCheck = (u, p, index, assoc) => {
  const type = u.get(p)
  const rp = Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(type, index, assoc))
  cmd(`rpos ${u.slot} ${JSON.stringify(p)} ${index} ${assoc}`, hex(rp), `relative position at ${index} (assoc ${assoc})`)
  const abs = Y.createAbsolutePositionFromRelativePosition(Y.decodeRelativePosition(rp), u.y)
  yjsMust(abs && abs.type === type && abs.index === index, `it resolves to ${index}`)
  const it = abs.type._item
  const name = it ? null : [...u.y.share.entries()].find(e => e[1] === abs.type)[0]
  cmd(`rpres ${u.slot} ${hex(rp)}`, (it ? `id:${it.id.client}:${it.id.clock}` : `root:${name}`) + ` ${abs.index}`, `resolve at ${index}`)
}

testCase('relativePositions: cases 1-7 and association', () => {
  const t = new Case(2); const [a, b] = t.users
  a.do('tins', T(), { i: 0, s: '1' }); a.do('tins', T(), { i: 0, s: 'abc' }); a.do('tins', T(), { i: 0, s: 'z' })
  a.do('tins', T(), { i: 0, s: 'y' }); a.do('tins', T(), { i: 0, s: 'x' })
  for (let i = 0; i <= a.y.getText('text').length; i++) for (const assoc of [0, -1]) relposCheck(a, T(), i, assoc)
  b.do('tins', T(), { i: 0, s: 'abc' }); b.do('tdel', T(), { i: 1, n: 1 }); b.do('tins', T(), { i: 1, s: 'x' })
  for (let i = 0; i <= b.y.getText('text').length; i++) for (const assoc of [0, -1]) relposCheck(b, T(), i, assoc)
  t.sync()
  a.do('ains', A(), { i: 0, v: [1, 2, 3] }); a.do('xel', X(), { i: 0, name: 'p' }); a.do('xtext', X(), { i: 1 })
  for (let i = 0; i <= 3; i++) relposCheck(a, A(), i, 0)
  for (let i = 0; i <= 2; i++) relposCheck(a, X(), i, -1)
  t.sync(); t.check(); t.end()
})

testCase('relativePositions: testRelativePositionWithUndo (follows undone deletions)', () => {
  const t = new Case(2); const [a, b] = t.users
  a.do('tins', T(), { i: 0, s: 'hello world' })
  const rp = Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(a.y.getText('text'), 1))
  cmd(`rpos ${a.slot} ${JSON.stringify(T())} 1 0`, hex(rp), 'relative position at 1')
  a.undoManager()
  a.do('tdel', T(), { i: 0, n: 6 })
  const resolve = (u, what) => {
    const abs = Y.createAbsolutePositionFromRelativePosition(Y.decodeRelativePosition(rp), u.y)
    cmd(`rpres ${u.slot} ${hex(rp)}`, abs ? `root:text ${abs.index}` : '-', what)
    return abs
  }
  yjsMust(resolve(a, 'after the delete').index === 0, 'index 0 after the delete')
  a.undo()
  yjsMust(resolve(a, 'after undo').index === 1, 'back at 1 after undo (via the redone item)')
  t.sync()
  resolve(b, 'on the other peer (no redone links there)')
  t.check(); t.end()
})

// ---------------------------------------------------------------------------
// snapshot.tests.js: createDocFromSnapshot shows the past

const restore = (u, what) => {
  const sn = Y.snapshot(u.y)
  const bytes = Y.encodeSnapshot(sn)
  cmd(`snap ${u.slot}`, hex(bytes), `${what}: snapshot`)
  return bytes
}
const checkRestore = (u, bytes, what) => {
  const past = Y.createDocFromSnapshot(u.y, Y.decodeSnapshot(bytes))
  cmd(`fromsnap ${u.slot} ${hex(bytes)} 60`, 'ok', `${what}: document from the snapshot`)
  cmd('enc 60', hex(Y.encodeStateAsUpdate(past)), `${what}: its state`)
  const o = {}; for (const [n, k] of ROOTS) o[n] = past.get(n, CTORS[k]).toJSON()
  cmd(`json 60 ${SPEC}`, JSON.stringify(o), `${what}: its content`)
  cmd('free 60', 'ok', 'free')
  return past
}

testCase('snapshot: basic restore, deleted items, left items, dependent changes', () => {
  const t = new Case(2, false); const [a, b] = t.users
  a.do('ains', A(), { i: 0, v: ['hello', 'world'] })
  const s1 = restore(a, 'array')
  a.do('ains', A(), { i: 1, v: ['between'] }); a.do('adel', A(), { i: 0, n: 1 })
  const p1 = checkRestore(a, s1, 'array')
  yjsMust(deepEq(p1.getArray('array').toArray(), ['hello', 'world']), 'restored')
  a.do('mset_t', M(), { k: 'sub', kind: 0 }); a.do('ains', M('sub'), { i: 0, v: ['a'] })
  const s2 = restore(a, 'sub type')
  a.do('ains', M('sub'), { i: 1, v: ['b'] }); a.do('mdel', M(), { k: 'sub' })
  checkRestore(a, s2, 'sub type')
  a.do('tins', T(), { i: 0, s: 'item1item2' }); t.sync()
  b.do('tdel', T(), { i: 0, n: 5 }); t.sync()
  const s3 = restore(a, 'deleted items')
  a.do('tins', T(), { i: 5, s: 'item3' }); a.do('tdel', T(), { i: 0, n: 5 }); t.sync()
  checkRestore(a, s3, 'deleted items'); checkRestore(b, restore(b, 'remote'), 'remote')
  t.check(); t.end()
})

// ---------------------------------------------------------------------------
// y-text.tests.js: toDelta(snapshot, prevSnapshot, computeYChange)

// computeYChange as ydriver's ychange_cb: odd clients get a user name and
// the clock, even ones {user: client} (which Yjs's cur.user === client
// comparison joins into one op)
const ychangeCb = (type, id) => id.client % 2 ? { type, user: 'u' + id.client, clock: id.clock } : { user: id.client, type }
const deltaAt = (u, path, sn, prev, cb, what) => {
  const want = u.get(path).toDelta(sn && Y.decodeSnapshot(sn), prev && Y.decodeSnapshot(prev), cb ? ychangeCb : undefined)
  cmd(`deltaat ${u.slot} ${JSON.stringify(path)} ${sn ? hex(sn) : '-'} ${prev ? hex(prev) : '-'} ${cb ? 1 : 0}`,
    JSON.stringify(want), `toDelta(${sn ? 'snapshot' : 'undefined'}, ${prev ? 'prevSnapshot' : 'undefined'}${cb ? ', computeYChange' : ''}): ${what}`)
  return want
}
const allPairs = (u, path, snaps, what) => {
  for (let i = 0; i < snaps.length; i++) {
    deltaAt(u, path, snaps[i], undefined, false, `${what} at #${i}`)
    deltaAt(u, path, undefined, snaps[i], i % 2 === 1, `${what} now against #${i}`)
    for (let j = 0; j < snaps.length; j++) deltaAt(u, path, snaps[i], snaps[j], (i + j) % 2 === 1, `${what} #${i} against #${j}`)
  }
}

testCase('y-text: testSnapshot, testSnapshotDeleteAfter', () => {
  const t = new Case(1, false); const [u] = t.users
  u.do('delta', T(), { v: [{ insert: 'abcd' }] })
  const s1 = restore(u, 'snapshot1')
  u.do('delta', T(), { v: [{ retain: 1 }, { insert: 'x' }, { delete: 1 }] })
  const s2 = restore(u, 'snapshot2')
  u.do('delta', T(), { v: [{ retain: 2 }, { delete: 3 }, { insert: 'x' }, { delete: 1 }] })
  yjsMust(deepEq(deltaAt(u, T(), s1, undefined, false, 'state1'), [{ insert: 'abcd' }]), 'state1')
  yjsMust(deepEq(deltaAt(u, T(), s2, undefined, false, 'state2'), [{ insert: 'axcd' }]), 'state2')
  const diff = deltaAt(u, T(), s2, s1, false, 'state2Diff')
  yjsMust(deepEq(diff, [{ insert: 'a' }, { insert: 'x', attributes: { ychange: { type: 'added' } } },
    { insert: 'b', attributes: { ychange: { type: 'removed' } } }, { insert: 'cd' }]), 'state2Diff')
  deltaAt(u, T(), s2, s1, true, 'state2Diff with users')
  allPairs(u, T(), [s1, s2, restore(u, 'now')], 'every pair')
  u.check(); t.end()
  // testSnapshotDeleteAfter: what came after the snapshot is not there
  const t2 = new Case(1, false); const [v] = t2.users
  v.do('delta', T(), { v: [{ insert: 'abcd' }] })
  const s = restore(v, 'snapshot1')
  v.do('delta', T(), { v: [{ retain: 4 }, { insert: 'e' }] })
  yjsMust(deepEq(deltaAt(v, T(), s, undefined, false, 'state1'), [{ insert: 'abcd' }]), 'deleteAfter state1')
  deltaAt(v, T(), undefined, s, false, 'now against snapshot1')
  v.check(); t2.end()
})

// Not in Yjs's suite: formatting, embeds and shared types between
// snapshots, two clients, XmlText, and documents that collect garbage.
testCase('y-text: toDelta with snapshots over formatting, embeds and two clients', () => {
  const t = new Case(2, false); const [a, b] = t.users
  const snaps = []
  a.do('tins', T(), { i: 0, s: 'hello world', a: { bold: true } })
  a.do('tfmt', T(), { i: 5, n: 6, a: { bold: null } })
  snaps.push(restore(a, 's0'))
  t.sync()
  b.do('tins', T(), { i: 6, s: 'big ' })
  b.do('tembed', T(), { i: 0, v: { image: 'x.png' }, a: { width: 100 } })
  a.do('tdel', T(), { i: 1, n: 3 })
  t.sync()
  snaps.push(restore(a, 's1'))
  a.do('tfmt', T(), { i: 3, n: 6, a: { italic: true } })
  b.do('tdel', T(), { i: 5, n: 5 })
  b.do('tembed_t', T(), { i: 2, kind: 1 })
  t.sync()
  a.do('tins', T(), { i: 3, s: 'a😀b€' })
  t.sync()
  snaps.push(restore(b, 's2'))
  a.do('tdel', T(), { i: 4, n: 3 })
  a.do('tfmt', T(), { i: 0, n: 4, a: { bold: null, color: 'red' } })
  t.sync()
  snaps.push(restore(a, 's3'))
  allPairs(a, T(), snaps, 'a')
  allPairs(b, T(), snaps, 'b')
  // XmlText is a Y.Text
  a.do('xtext', X(), { i: 0 })
  a.do('tins', X(0), { i: 0, s: 'xml text', a: { b: true } })
  const x0 = restore(a, 'x0')
  a.do('tdel', X(0), { i: 2, n: 4 })
  deltaAt(a, X(0), x0, restore(a, 'x1'), false, 'XmlText')
  deltaAt(a, X(0), restore(a, 'x2'), x0, true, 'XmlText')
  t.sync(); t.check(); t.end()
})

testCase('y-text: a "ychange" format attribute, and snapshots of a gc document', () => {
  // toDelta drops the attribute from text (its ychange bookkeeping deletes
  // it), but not from embeds; XmlText.toString() goes through toDelta
  const t = new Case(1, false); const [u] = t.users
  u.do('tins', T(), { i: 0, s: 'abcdef' })
  u.do('tembed', T(), { i: 3, v: { image: 'y.png' } })
  u.do('tfmt', T(), { i: 1, n: 4, a: { ychange: { type: 'x' }, bold: true } })
  yjsMust(deepEq(u.y.getText('text').toDelta(), [{ insert: 'a' }, { insert: 'bc', attributes: { bold: true } },
    { insert: { image: 'y.png' }, attributes: { bold: true } }, { insert: 'd', attributes: { bold: true } }, { insert: 'ef' }]), 'ychange dropped')
  const s0 = restore(u, 's0')
  u.do('tdel', T(), { i: 2, n: 3 })
  allPairs(u, T(), [s0, restore(u, 's1')], 'ychange attribute')
  u.do('xtext', X(), { i: 0 })
  u.do('tins', X(0), { i: 0, s: 'xy', a: { ychange: 1, i: true } })
  cmd(`json ${u.slot} xml:4`, JSON.stringify({ xml: u.y.getXmlFragment('xml').toJSON() }), 'XmlText.toString without it')
  u.check(); t.end()
  // gc: deleted text is gone, so nothing shows as removed
  const t2 = new Case(1, true); const [v] = t2.users
  v.do('tins', T(), { i: 0, s: 'keep gone keep', a: { bold: true } })
  const g0 = restore(v, 'g0')
  v.do('tdel', T(), { i: 5, n: 5 })
  v.do('tins', T(), { i: 0, s: 'new ' })
  const g1 = restore(v, 'g1')
  allPairs(v, T(), [g0, g1], 'gc')
  v.check(); t2.end()
})

// Snapshot bytes no Yjs writes, but Yjs reads: unsorted delete ranges, one
// past the state (iterateDeletedStructs stops there), a client listed twice
// in the delete set and in the state vector, an empty range, clients the
// document does not know.
testCase('y-text: toDelta with hand-made snapshots', () => {
  const vu = n => { const b = []; do { let x = n % 128; n = Math.floor(n / 128); if (n > 0) x |= 128; b.push(x) } while (n > 0); return b }
  const snapOf = (ds, sv) => Buffer.from([...vu(ds.length), ...ds.flatMap(([c, rs]) => [...vu(c), ...vu(rs.length), ...rs.flatMap(([k, l]) => [...vu(k), ...vu(l)])]),
    ...vu(sv.length), ...sv.flatMap(([c, k]) => [...vu(c), ...vu(k)])])
  const t = new Case(2, false); const [a, b] = t.users
  a.do('tins', T(), { i: 0, s: 'abcdefghij', a: { bold: true } })
  t.sync()
  b.do('tins', T(), { i: 5, s: 'XYZ' })
  b.do('tdel', T(), { i: 2, n: 2 })
  t.sync()
  const real = restore(a, 'a real snapshot')
  a.do('tdel', T(), { i: 6, n: 3 })
  const made = [
    snapOf([[1, [[6, 2], [1, 2], [20, 1], [3, 1]]], [1, [[8, 1]]], [2, [[1, 1], [0, 0]]]], [[1, 5], [1, 9], [2, 2]]),
    snapOf([[1, [[4, 3]]], [7, [[0, 5]]]], [[1, 8], [2, 3], [7, 4]]),
    snapOf([], [[1, 10]]),
    snapOf([[2, [[0, 3]]]], [])
  ]
  allPairs(a, T(), [...made, real], 'hand-made')
  t.sync(); allPairs(b, T(), made, 'hand-made on b')
  t.check(); t.end()
})

// ---------------------------------------------------------------------------
// updates.tests.js and encoding.tests.js: merging and diffing updates

testCase('updates: testMergeUpdates / testMergePendingUpdates / diff ignores what the sv has', () => {
  const t = new Case(3); const [a, b, c] = t.users
  const ups = []
  a.y.on('update', u => ups.push(u))
  a.do('ains', A(), { i: 0, v: [1] }); a.do('ains', A(), { i: 0, v: [2] }); a.do('adel', A(), { i: 0, n: 1 })
  a.do('tins', T(), { i: 0, s: 'hi' }); a.do('tfmt', T(), { i: 0, n: 1, a: { b: 1 } })
  const merged = Y.mergeUpdates(ups)
  cmd(`merge ${ups.map(hex).join(' ')}`, hex(merged), 'mergeUpdates of all')
  cmd(`merge ${ups.slice().reverse().map(hex).join(' ')}`, hex(Y.mergeUpdates(ups.slice().reverse())), 'mergeUpdates in reverse')
  cmd(`merge ${hex(ups[0])} ${hex(ups[2])}`, hex(Y.mergeUpdates([ups[0], ups[2]])), 'merge with a gap')
  b.apply(merged)
  // pending: the later half first
  c.apply(Y.mergeUpdates(ups.slice(2)))
  cmd(`pending ${c.slot}`, '1', 'the later updates wait')
  c.apply(Y.mergeUpdates(ups.slice(0, 2)))
  const sv = Y.encodeStateVectorFromUpdate(ups[0])
  cmd(`svu ${hex(merged)}`, hex(Y.encodeStateVectorFromUpdate(merged)), 'encodeStateVectorFromUpdate')
  cmd(`diff ${hex(merged)} ${hex(sv)}`, hex(Y.diffUpdate(merged, sv)), 'diffUpdate')
  cmd(`diff ${hex(merged)} ${hex(Y.encodeStateVector(a.y))}`, hex(Y.diffUpdate(merged, Y.encodeStateVector(a.y))), 'diff against everything is empty')
  t.check(); t.end()
})

// ---------------------------------------------------------------------------
// doc.tests.js

testCase('doc: testClientIdDuplicateChange, testToJSON (untyped roots)', () => {
  const t = new Case(2); const [a, b] = t.users
  const c = new Twin(1, true) // the same client id as a
  a.do('ains', A(), { i: 0, v: [0] })
  c.apply(Y.encodeStateAsUpdate(a.y))
  c.txn([['ains', A(), { i: 0, v: [1] }]], 'an insert under a new random client id', true)
  yjsMust(c.y.clientID !== 1, 'c took a new client id')
  cmd(`json ${c.slot} array:0`, JSON.stringify({ array: c.y.getArray('array').toJSON() }), 'c took a new id and inserted')
  b.do('mset', M(), { k: 'x', v: 1 })
  t.sync(); t.check(); t.end(); c.free()
})

// ---------------------------------------------------------------------------

for (const [name, fn] of cases) { caseName = name; fn() }
if (failures.length) { console.error(failures.join('\n')); process.exit(1) }

const res = spawnSync(driver, [], { input: lines.join('\n') + '\n', maxBuffer: 1 << 28, encoding: 'utf8' })
const got = (res.stdout || '').split('\n')
if (res.status !== 0) {
  console.error(`ydriver exited with ${res.status} ${res.signal || ''}\n${res.stderr}\nafter ${got.length - 1} of ${lines.length} commands; next: ${wheres[got.length - 1]}`)
  process.exit(1)
}
let bad = 0
for (let i = 0; i < lines.length; i++) {
  const e = expects[i]
  const ok = typeof e === 'function' ? e(got[i]) : got[i] === e
  if (!ok) {
    bad++
    console.error(`MISMATCH at ${wheres[i]}\n  command: ${lines[i].slice(0, 300)}\n  yjs:     ${typeof e === 'function' ? '(see above)' : e.slice(0, 600)}\n  pkc:     ${got[i].slice(0, 600)}`)
    if (bad >= 5) break
  }
}
if (res.stderr) process.stderr.write(res.stderr)
if (bad) process.exit(1)
if (VERBOSE) for (const [name] of cases) console.log('  ' + name)
console.log(`ok: ${cases.length} cases from Yjs's test suite, ${lines.length} commands checked against yjs`)
