// web.api: the page's JavaScript API (window.p2p, web/page/p2p.js: the
// seed's appendix A) called from the page as a web developer would
// (page.evaluate), between two tabs of one Chromium context from `pkc web`
// and with a native node (`pkc up`), in a network namespace of the test's
// own (as web.invite_native: `unshare -n`, lo and a veth pair, nothing else).
//  1. getPeers()/peers(): the two tabs list each other.
//  2. broadcast(data) of JSON values both ways: each arrives once, as the
//     same value, from the right peer; what is not JSON is refused.
//  3. on/off: a handler taken off gets nothing more; unknown events refused.
//  4. send(peerId, data): sealed to one tab, given to it once as a direct
//     message, the sender's promise resolving to its id and 'delivered'.
//  5. getSharedState(): set/get/delete/observe converge across the tabs,
//     'state:update' fires, and the state read by the `yjs` package gives
//     the same values with doc.getMap('state').get(key).
//  6. disconnectPeer(): both sides see 'peer:disconnect', neither lists or
//     dials the other; connectPeer() brings them back.
//     A direct message between two tabs with no link between them goes
//     through the third tab (the mesh's routes) and is acknowledged.
//  7. A direct message to a closed tab waits (in the outbox, kept in
//     IndexedDB across the sender's reload) and goes when the tab is back
//     (reopened, with its identity): shown once, 'delivered' on the sender.
//     The peer book lists the tab, kept across the reload.
//  8. With a native node, by its invitation (acceptInvitation): `pkc send
//     --to PAGE` appears in the page as a direct message; p2p.send(node, ..)
//     appears in `pkc inbox` as a direct message from the page, and the page
//     gets 'delivered'.
//  0. (first) A database of schema version 1, from before the peer book, is
//     upgraded to version 2 by the page, its identity kept.
// Every wait is for a state, with a deadline.
import fs from 'node:fs'
import path from 'node:path'
import * as Y from 'yjs'
import { inNetns } from './browsers.mjs'
import { check, finish, needDist, pkcWeb, chromium, deadline, tmpdir, PKC, until, jsonLines, startNode } from './lib.mjs'

needDist()
// lo and a veth pair with both ends in here (10.99.0.1), and a default route
// through it: Chromium gathers host candidates only where a default route
// exists (without one, two tabs offer no candidate at all and never connect).
inNetns({ veth: true })

const CONNECT_MS = 20000
const tmp = tmpdir('pkc-web-api-')
const xdg = path.join(tmp, 'xdg')
fs.mkdirSync(xdg, { mode: 0o700 })
const data = path.join(tmp, 'n')
const env = { ...process.env, XDG_RUNTIME_DIR: xdg }
const ROOM = 'web api test room'
const started = startNode(data, ['--no-local', '--no-lan', '--room', ROOM], env)
const node = started.child
const events = started.events
const nodeExit = started.exit
const pkc = started.cli
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b)

const server = await pkcWeb()
const ctx = await chromium(['--disable-features=WebRtcHideLocalIpsWithMdns'])
const CHANNEL = `api-${Math.random().toString(36).slice(2)}`

// A tab on the test's channel, with the events it sees recorded through
// window.p2p.on, as an application would.
async function open(url = `${server.url}?channel=${CHANNEL}`, page = null) {
  page = page || await ctx.newPage()
  const errors = []
  if (!page.pkcHooked) {
    page.pkcHooked = true
    page.on('pageerror', e => errors.push(String(e)))
    page.on('console', m => {
      if (m.type() === 'error') errors.push(m.text())
      if (process.env.PKC_WEB_DEBUG) console.log(`[page] ${m.type()}: ${m.text()}`)
    })
    page.errors = errors
  }
  if (page.url() === url) await page.reload()
  else await page.goto(url + (process.env.PKC_WEB_DEBUG ? '&debug' : ''))
  await deadline(page.waitForFunction(() => document.documentElement.dataset.pkc), 30000, 'the page to load pkc')
  check(await page.evaluate(() => document.documentElement.dataset.pkc) === 'ready', 'the page is ready')
  const id = await page.evaluate(() => {
    window.got = { message: [], 'peer:connect': [], 'peer:disconnect': [], 'state:update': [], delivered: [],
      error: [] }
    for (const ev of Object.keys(window.got))
      window.p2p.on(ev, (d) => window.got[ev].push(ev === 'state:update'
        ? { name: d.name, local: d.local, keys: d.changes ? [...d.changes.keys.keys()] : null } : d))
    return window.p2p.peerId
  })
  return { page, errors: page.errors, id }
}
const peersOf = (t) => t.page.evaluate(() => window.p2p.getPeers())
const connected = (t, id, what) => deadline(t.page.waitForFunction((id) =>
  window.p2p.getPeers().some(p => p.peerId === id), id, { polling: 50 }), CONNECT_MS, what)
const got = (t, ev) => t.page.evaluate((ev) => window.got[ev], ev)
let a, b
try {
  const up = await until(() => events.find(e => e.event === 'up'), 30000, 'the node to start')
  const nodeId = up.peer_id
  const room = jsonLines(pkc('rooms', '--json')).find(r => !r.local)

  // ---- 0. a database of schema version 1 (before the peer book) is upgraded ----
  {
    const upg = `api-upgrade-${Math.random().toString(36).slice(2)}`
    const page = await ctx.newPage()
    await page.goto(`${server.url}pkc.js`) // the origin, without the page's code
    await page.evaluate((name) => new Promise((resolve, reject) => {
      const r = indexedDB.open(name, 1)
      r.onupgradeneeded = () => {
        const db = r.result
        db.createObjectStore('identities', { keyPath: 'slot' })
        db.createObjectStore('rooms', { keyPath: ['slot', 'room'] })
        db.createObjectStore('updates', { keyPath: 'seq', autoIncrement: true }).createIndex('doc', ['slot', 'room', 'doc'])
        r.transaction.objectStore('identities').put({ slot: 'old', seed: new Uint8Array(32).fill(7), peerId: 'x', created: 1 })
      }
      r.onsuccess = () => { r.result.close(); resolve() }
      r.onerror = () => reject(r.error)
    }), `pkc:${upg}`)
    const t = await open(`${server.url}?channel=${upg}`, page)
    const st = await t.page.evaluate(() => {
      const db = window.pkcPeer.store.db
      const me = window.pkcPeer.pkc.identityFromSeed(new Uint8Array(32).fill(7))
      const kept = me.peerId === window.p2p.peerId
      me.free()
      return { version: db.version, stores: [...db.objectStoreNames].sort(), kept, book: window.p2p.knownPeers().length }
    })
    check(st.version === 2 && same(st.stores, ['identities', 'outbox', 'peers', 'received', 'rooms', 'updates']) &&
      st.kept && st.book === 0, `a version 1 database is upgraded to 2, its identity kept: ${JSON.stringify(st)}`)
    check(t.errors.length === 0, `no page error on the upgraded page: ${t.errors.join('; ')}`)
    await page.close()
  }

  // ---- 1. two tabs, getPeers ----
  a = await open()
  b = await open()
  check(a.id !== b.id, 'two tabs, two peer ids')
  await connected(a, b.id, 'tab A to list tab B')
  await connected(b, a.id, 'tab B to list tab A')
  for (const [x, y] of [[a, b], [b, a]]) {
    const list = await peersOf(x)
    check(list.length === 1 && list[0].peerId === y.id && same(list[0].rooms, ['local']) &&
      list[0].route === 'direct', `getPeers(): the other tab, in the local room: ${JSON.stringify(list)}`)
    check(same(await x.page.evaluate(() => window.p2p.peers()), list), 'peers() is getPeers()')
    check((await got(x, 'peer:connect')).some(d => d.peerId === y.id), "'peer:connect' with the other tab's id")
  }

  // ---- 2. broadcast of JSON values, both ways ----
  const values = [{ type: 'hello', message: 'Hi everyone!' }, ['Alice', 'Bob', 3, { deep: [true, null] }],
    'a plain string', '42', 42, -0.5, 1e21, null, true, false, 'ünïcødé 😀 "quotes" \\ \n',
    { nested: { a: { b: { c: [1, [2, [3]]] } } } }]
  const sent = await a.page.evaluate((values) => values.map(v => window.p2p.broadcast(v)), values)
  check(sent.every(id => /^[0-9a-f]{32}$/.test(id)), `broadcast() returns message ids: ${sent}`)
  await deadline(b.page.waitForFunction((n) => window.got.message.filter(m => !m.direct).length >= n,
    values.length, { polling: 50 }), 15000, 'the broadcasts to reach tab B')
  const atB = (await got(b, 'message')).filter(m => !m.direct)
  check(atB.length === values.length, `each broadcast arrives once (${atB.length} of ${values.length})`)
  for (let i = 0; i < values.length; i++) {
    const m = atB.find(m => m.id === sent[i])
    check(m && m.from === a.id && same(m.data, values[i]) && m.json === true &&
      m.text === JSON.stringify(values[i]) && m.room === 'local',
    `broadcast ${JSON.stringify(values[i])} arrives as the same value from A: ${JSON.stringify(m)}`)
  }
  check(Object.is((atB.find(m => m.id === sent[values.indexOf(42)]) || {}).data, 42) &&
    typeof (atB.find(m => m.id === sent[values.indexOf('42')]) || {}).data === 'string',
  'the number 42 and the string "42" stay apart')
  await b.page.evaluate(() => window.p2p.broadcast({ back: 'from B', n: [1, 2] }))
  await deadline(a.page.waitForFunction(() => window.got.message.some(m => m.data && m.data.back === 'from B'),
    null, { polling: 50 }), 15000, "B's broadcast to reach A")
  const back = (await got(a, 'message')).find(m => m.data && m.data.back)
  check(back.from === b.id && same(back.data, { back: 'from B', n: [1, 2] }) && back.direct === false,
    `B's broadcast at A: ${JSON.stringify(back)}`)
  const refused = await a.page.evaluate(() => [undefined, () => 1, 10n, Symbol('x')].map(v => {
    try { window.p2p.broadcast(v); return 'sent' } catch (e) { return e.name }
  }))
  check(same(refused, ['TypeError', 'TypeError', 'TypeError', 'TypeError']),
    `what is not JSON is refused with a TypeError: ${refused}`)

  // ---- 3. on/off ----
  const onOff = await b.page.evaluate(() => {
    window.extra = []
    window.extraFn = (d) => window.extra.push(d.data)
    window.p2p.on('message', window.extraFn)
    let unknown
    try { window.p2p.on('messages', () => {}) } catch (e) { unknown = e.name }
    return unknown
  })
  check(onOff === 'TypeError', `on() of an unknown event throws a TypeError (${onOff})`)
  await a.page.evaluate(() => window.p2p.broadcast('first, with the extra handler'))
  await deadline(b.page.waitForFunction(() => window.extra.includes('first, with the extra handler'), null,
    { polling: 50 }), 15000, 'the extra handler to get the message')
  check(await b.page.evaluate(() => window.p2p.off('message', window.extraFn)) === true, 'off() takes it off')
  check(await b.page.evaluate(() => window.p2p.off('message', window.extraFn)) === false, 'off() again: false')
  await a.page.evaluate(() => window.p2p.broadcast('second, the extra handler off'))
  await deadline(b.page.waitForFunction(() => window.got.message.some(m => m.data === 'second, the extra handler off'),
    null, { polling: 50 }), 15000, 'the second message to reach B')
  check(same(await b.page.evaluate(() => window.extra), ['first, with the extra handler']),
    `the handler taken off got nothing more: ${JSON.stringify(await b.page.evaluate(() => window.extra))}`)

  // A handler may answer at once: broadcast and send from inside 'message'.
  await b.page.evaluate(() => window.p2p.on('message', ({ from, data }) => {
    if (data === 'echo?') {
      window.p2p.broadcast('echo!')
      window.p2p.send(from, 'echo, directly')
    }
  }))
  await a.page.evaluate(() => window.p2p.broadcast('echo?'))
  await deadline(a.page.waitForFunction(() => window.got.message.some(m => m.data === 'echo!') &&
    window.got.message.some(m => m.data === 'echo, directly' && m.direct), null, { polling: 50 }), 15000,
  "B's answers, made inside its 'message' handler, to reach A")

  // ---- 4. send(): a direct message, delivered ----
  const dm = await deadline(a.page.evaluate((to) => window.p2p.send(to, { type: 'private', message: 'Secret message' }),
    b.id), 15000, 'send() to B to be acknowledged')
  check(/^[0-9a-f]{32}$/.test(dm), `send() resolves to the message id once acknowledged: ${dm}`)
  check((await got(a, 'delivered')).some(d => d.to === b.id && d.id === dm), "'delivered' on the sender")
  await deadline(b.page.waitForFunction((id) => window.got.message.some(m => m.id === id), dm, { polling: 50 }),
    15000, 'the direct message at B')
  const atB2 = (await got(b, 'message')).filter(m => m.id === dm)
  check(atB2.length === 1 && atB2[0].direct === true && atB2[0].from === a.id &&
    same(atB2[0].data, { type: 'private', message: 'Secret message' }),
  `B gets the direct message once, from A: ${JSON.stringify(atB2)}`)
  check((await a.page.evaluate(() => window.p2p.pending())).length === 0, 'nothing left pending at A')
  const bad = await a.page.evaluate(async (me) => {
    const out = []
    for (const to of ['pkc1notapeerid', me]) {
      try { await window.p2p.send(to, 'x'); out.push('sent') } catch (e) { out.push('refused') }
    }
    return out
  }, a.id)
  check(same(bad, ['refused', 'refused']), `send() to a malformed id or to oneself is refused: ${bad}`)

  // ---- 5. getSharedState ----
  await b.page.evaluate(() => {
    window.stateEvents = []
    window.p2p.getSharedState('myApp').observe((e) => window.stateEvents.push({
      local: e.local, keys: Object.fromEntries([...e.changes.keys].map(([k, v]) => [k, v.action]))
    }))
  })
  await a.page.evaluate(() => {
    const s = window.p2p.getSharedState('myApp')
    s.set('counter', 42)
    s.set('users', ['Alice', 'Bob'])
    s.set('profile', { name: 'Ann', tags: ['x', 'y'], age: 3.5, ok: true, none: null })
  })
  const wantA = { counter: 42, users: ['Alice', 'Bob'], profile: { name: 'Ann', tags: ['x', 'y'], age: 3.5, ok: true, none: null } }
  const stateOf = (t) => t.page.evaluate(() => {
    const s = window.p2p.getSharedState('myApp')
    return { json: s.toJSON(), keys: s.keys().sort(), counter: s.get('counter'), missing: s.get('missing') === undefined,
      proto: s.get('toString') === undefined }
  })
  await until(async () => same((await stateOf(b)).json, wantA), 15000, "A's state to reach B")
  const sb = await stateOf(b)
  check(sb.counter === 42 && same(sb.keys, ['counter', 'profile', 'users']) && sb.missing && sb.proto,
    `B reads A's values with get/keys: ${JSON.stringify(sb)}`)
  const evB = await b.page.evaluate(() => window.stateEvents)
  check(evB.length >= 1 && evB.every(e => e.local === false) &&
    ['counter', 'users', 'profile'].every(k => evB.some(e => e.keys[k] === 'add')),
  `B's observer saw the three keys added by a peer: ${JSON.stringify(evB)}`)
  check((await got(b, 'state:update')).some(e => e.name === 'myApp' && e.keys && e.keys.includes('counter')),
    "'state:update' on B names the document and the keys")
  // Concurrent edits on both sides, and a delete.
  await Promise.all([
    a.page.evaluate(() => { const s = window.p2p.getSharedState('myApp'); s.set('fromA', 1); s.delete('users') }),
    b.page.evaluate(() => { const s = window.p2p.getSharedState('myApp'); s.set('fromB', 2); s.set('counter', 43) })
  ])
  const wantBoth = { counter: 43, profile: wantA.profile, fromA: 1, fromB: 2 }
  const sorted = (o) => JSON.stringify(o, Object.keys(o).sort())
  await until(async () => sorted((await stateOf(a)).json) === sorted(wantBoth) &&
    sorted((await stateOf(b)).json) === sorted(wantBoth), 15000, 'the shared state to converge').catch(async (e) => {
    console.error(`A ${JSON.stringify(await stateOf(a))} B ${JSON.stringify(await stateOf(b))}`)
    throw e
  })
  await until(async () => (await b.page.evaluate(() => window.stateEvents)).some(e => e.keys.users === 'delete'),
    10000, "B's observer to see the delete")
  // Read by the yjs package from each tab's encoded state.
  for (const t of [a, b]) {
    const state = await t.page.evaluate(() => Array.from(window.pkcPeer.doc('myApp').encodeState()))
    const d = new Y.Doc()
    Y.applyUpdate(d, Uint8Array.from(state))
    const m = d.getMap('state')
    check(m.get('counter') === 43 && m.get('fromA') === 1 && m.get('fromB') === 2 && m.get('users') === undefined &&
      same(m.get('profile'), wantA.profile) && sorted(m.toJSON()) === sorted(wantBoth),
    `yjs reads the tab's state with doc.getMap('state').get(key): ${JSON.stringify(m.toJSON())}`)
  }
  // A value set by yjs (an editor binding) is read by the API.
  {
    const state = await b.page.evaluate(() => Array.from(window.pkcPeer.doc('myApp').encodeState()))
    const d = new Y.Doc()
    Y.applyUpdate(d, Uint8Array.from(state))
    const sv = Y.encodeStateVector(d)
    d.getMap('state').set('byYjs', { list: [1, 'two'] })
    const diff = Array.from(Y.encodeStateAsUpdate(d, sv))
    await b.page.evaluate((diff) => {
      const p = window.pkcPeer
      p.change(() => p.doc('myApp').applyUpdate(Uint8Array.from(diff)))
    }, diff)
    await until(async () => same(await a.page.evaluate(() => window.p2p.getSharedState('myApp').get('byYjs')),
      { list: [1, 'two'] }), 10000, "yjs's value to reach A through the API")
  }
  const notJson = await a.page.evaluate(() => {
    try { window.p2p.getSharedState('myApp').set('f', () => 1); return 'set' } catch (e) { return e.name }
  })
  check(notJson === 'TypeError', `set() of what is not JSON throws a TypeError (${notJson})`)

  // ---- 6. disconnectPeer ----
  check(await a.page.evaluate(() => window.p2p.disconnectPeer('pkc1nobody')) === false,
    'disconnectPeer() of a peer not connected: false')
  check(await a.page.evaluate((id) => window.p2p.disconnectPeer(id), b.id) === true, 'disconnectPeer(): true')
  for (const [x, y] of [[a, b], [b, a]]) {
    await deadline(x.page.waitForFunction((id) => window.got['peer:disconnect'].some(d => d.peerId === id) &&
      window.p2p.getPeers().length === 0, y.id, { polling: 50 }), 15000, "'peer:disconnect' on both sides")
    // Neither dials the other again: no link, and the other is no longer a
    // tab it redials (peer.js redials only tabs it knows).
    const st = await x.page.evaluate((id) => ({ link: window.pkcPeer.links.has(id), tab: window.pkcPeer.tabs.has(id) }), y.id)
    check(!st.link && !st.tab, `after disconnectPeer, no link and no redial between the tabs: ${JSON.stringify(st)}`)
  }
  await a.page.evaluate((id) => window.p2p.connectPeer(id), b.id)
  await connected(a, b.id, 'connectPeer() to bring tab B back')
  await connected(b, a.id, 'tab B to list tab A again')

  // ---- 6b. a direct message with no direct link: routed through the mesh ----
  const c = await open()
  await connected(c, a.id, 'tab C to list tab A')
  await connected(c, b.id, 'tab C to list tab B')
  await connected(a, c.id, 'tab A to list tab C')
  // C knows A's keys (its announcement) and A C's; then A and C part.
  await until(async () => (await a.page.evaluate((id) => window.p2p.knownPeers().some(p => p.peerId === id),
    c.id)), 5000, "C in A's peer book")
  check(await a.page.evaluate((id) => window.p2p.disconnectPeer(id), c.id), 'A disconnects from C')
  await deadline(a.page.waitForFunction((id) => !window.pkcPeer.links.has(id), c.id, { polling: 50 }), 15000,
    'A to have no link to C')
  await deadline(c.page.waitForFunction((id) => !window.pkcPeer.links.has(id), a.id, { polling: 50 }), 15000,
    'C to have no link to A')
  const routed = await deadline(a.page.evaluate((to) => window.p2p.send(to, { routed: 'through B' }), c.id),
    20000, 'the routed message to be acknowledged')
  const atC = (await got(c, 'message')).filter(m => m.id === routed)
  check(atC.length === 1 && atC[0].from === a.id && atC[0].direct && same(atC[0].data, { routed: 'through B' }),
    `C gets the message routed through B, once: ${JSON.stringify(atC)}`)
  check(!(await a.page.evaluate((id) => window.pkcPeer.links.has(id), c.id)), 'A still has no link to C')
  await c.page.close()

  // ---- 7. a direct message to a closed tab ----
  const bId = b.id
  await b.page.close()
  await deadline(a.page.waitForFunction((id) => !window.p2p.getPeers().some(p => p.peerId === id), bId,
    { polling: 50 }), 15000, 'A to see B gone')
  const book = await a.page.evaluate(() => window.p2p.knownPeers())
  const bb = book.find(p => p.peerId === bId)
  check(bb && bb.via === 'tab' && same(bb.rooms, ['local']) && bb.connected === false && bb.lastSeen >= bb.firstSeen,
    `the peer book lists the closed tab: ${JSON.stringify(bb)}`)
  await a.page.evaluate((to) => { window.waiting = window.p2p.send(to, { while: 'you were away' }) }, bId)
  await until(async () => {
    const p = await a.page.evaluate(() => window.p2p.pending())
    return p.length === 1 && p[0].to === bId && p[0].sealed
  }, 5000, 'the message to wait, sealed, in the outbox')
  // The sender reloads: the outbox and the peer book are kept (IndexedDB).
  a = await open(undefined, a.page)
  const pend = await a.page.evaluate(() => window.p2p.pending())
  check(pend.length === 1 && pend[0].to === bId && pend[0].text === JSON.stringify({ while: 'you were away' }),
    `after A's reload the message still waits: ${JSON.stringify(pend)}`)
  check(await a.page.evaluate(() => window.p2p.metrics().messages.outbox_pending) === 1,
    'metrics(): one message in the outbox')
  check((await a.page.evaluate(() => window.p2p.knownPeers())).some(p => p.peerId === bId && p.via === 'tab'),
    'after the reload the peer book still lists B')
  // B comes back: a new tab takes the closed tab's identity.
  b = await open()
  check(b.id === bId, `the reopened tab has B's identity (${b.id})`)
  await deadline(b.page.waitForFunction(() => window.got.message.some(m => m.direct && m.data && m.data.while),
    null, { polling: 50 }), CONNECT_MS, 'the waiting message to reach B once it is back')
  await deadline(a.page.waitForFunction((id) => window.got.delivered.some(d => d.to === id), bId, { polling: 50 }),
    15000, "'delivered' at A for the message that waited")
  const arrived = (await got(b, 'message')).filter(m => m.direct && m.data && m.data.while)
  check(arrived.length === 1 && arrived[0].from === a.id, `it arrives once, from A: ${JSON.stringify(arrived)}`)
  check((await a.page.evaluate(() => window.p2p.pending())).length === 0, 'the outbox is empty')
  check(await a.page.evaluate(() => window.p2p.metrics().messages.outbox_pending) === 0,
    'metrics(): the outbox empty')

  // ---- 8. a native node, by its invitation ----
  const inv = JSON.parse(pkc('invite', '--room', room.id, '--url-base', server.url, '--json', '--one-step'))
  const conn = await a.page.evaluate(async (url) => {
    const c = await window.p2p.acceptInvitation(url)
    const info = { peerId: c.peerId, room: c.room }
    await c.connected
    return info
  }, inv.url)
  check(conn.peerId === nodeId && conn.room === room.name, `acceptInvitation() gives the inviter's peer id: ${JSON.stringify(conn)}`)
  await until(() => jsonLines(pkc('peers', '--json')).some(p => p.peer_id === a.id), 10000, 'the node to list the page')
  pkc('send', '--room', room.id, '--to', a.id, 'a direct message from the node')
  pkc('send', '--room', room.id, '--to', a.id, '{"json":"from the node"}')
  await deadline(a.page.waitForFunction(() => window.got.message.filter(m => m.direct && m.room !== 'local').length >= 2,
    null, { polling: 50 }), 20000, "the node's direct messages in the page")
  const fromNode = (await got(a, 'message')).filter(m => m.direct && m.from === nodeId)
  check(fromNode.length === 2 && fromNode.some(m => m.data === 'a direct message from the node' && m.json === false) &&
    fromNode.some(m => same(m.data, { json: 'from the node' }) && m.json === true) && fromNode.every(m => m.room === room.name),
  `the node's texts arrive once each, a plain text as a string, JSON as its value: ${JSON.stringify(fromNode)}`)
  // The node's outbox empties: the page acknowledged both.
  await until(() => JSON.parse(pkc('status', '--json')).metrics.messages.outbox_pending === 0, 15000,
    "the node's outbox to empty (the page acknowledged both)")
  const toNode = await deadline(a.page.evaluate((id) => window.p2p.send(id, { to: 'the node', n: 1 }), nodeId),
    15000, 'p2p.send() to the node to be acknowledged').catch(async (e) => {
    console.error(`page: ${JSON.stringify(await a.page.evaluate(() => ({ pending: window.p2p.pending(),
      peers: window.p2p.getPeers(), rooms: [...window.pkcPeer.rooms.values()].map(r => [r.name,
        window.pkcPeer.x.pkcw_room_stats(r.handle, 0)]) })))}`)
    throw e
  })
  check((await got(a, 'delivered')).some(d => d.to === nodeId && d.id === toNode), "'delivered' from the node")
  const inboxed = await until(() => jsonLines(pkc('inbox', '--json')).find(m => m.direct && m.from === a.id),
    10000, "the page's direct message in the node's inbox")
  check(inboxed.text === JSON.stringify({ to: 'the node', n: 1 }) && inboxed.room === room.id,
    `the node's inbox has the page's direct message as its JSON text: ${JSON.stringify(inboxed)}`)

  // ---- 9. a page's invitation, the answer step, and metrics(), through window.p2p ----
  // A tab on a BroadcastChannel of its own (it cannot find A as a tab):
  // A invites it, it answers, A applies the answer.
  const inv2 = await open(`${server.url}?channel=${CHANNEL}-other`)
  const made = await a.page.evaluate(async () => {
    const inv = await window.p2p.createInvitation()
    return { url: inv.url, qr: inv.qr, expires: inv.expires }
  })
  check(made.url.startsWith(`${server.url}#PKCI1`) && made.qr.startsWith('<svg') &&
    made.expires > Date.now() && made.expires < Date.now() + 2 * 3600 * 1000,
  `createInvitation(): { url, qr, expires }: ${made.url.slice(0, 60)}... ${made.qr.slice(0, 20)}... ${made.expires}`)
  const taken = await inv2.page.evaluate(async (url) => {
    const r = await window.p2p.acceptInvitation(url)
    window.invited = r.connected
    return { peerId: r.peerId, answer: r.answer && r.answer.code }
  }, made.url)
  check(taken.peerId === a.id && /^PKCA1/.test(taken.answer || ''),
    `acceptInvitation() of a page's invitation: the inviter and an answer: ${JSON.stringify(taken)}`)
  const applied = await a.page.evaluate((code) => window.p2p.acceptAnswer(code), taken.answer)
  check(applied.peerId === inv2.id, `acceptAnswer(): the invitee: ${JSON.stringify(applied)}`)
  await deadline(inv2.page.evaluate(() => window.invited.then(() => true)), CONNECT_MS,
    "the invitee's `connected` to resolve")
  await connected(a, inv2.id, 'A to list the tab it invited')
  // metrics(): the node's `pkc status --json` field names, values of the page's own.
  const nodeMetrics = JSON.parse(pkc('status', '--json')).metrics
  const pageMetrics = await a.page.evaluate(() => window.p2p.metrics())
  for (const part of ['network', 'sync', 'health']) {
    const missing = Object.keys(nodeMetrics[part] || {}).filter(k => !(k in (pageMetrics[part] || {})))
    check(missing.length === 0, `metrics().${part} has the node's fields (missing: ${missing.join(', ')})`)
  }
  check(pageMetrics.network.connected_peers >= 3 && pageMetrics.health.uptime_ms > 0,
    `metrics(): A's peers (B, C, the node) and uptime: ${JSON.stringify(pageMetrics.network)}`)
  check(inv2.errors.length === 0, `no page error in the invited tab: ${inv2.errors.join('; ')}`)

  for (const t of [a, b]) {
    check(t.errors.length === 0, `no page error: ${t.errors.join('; ')}`)
    const errs = await t.page.evaluate(() => window.pkcPeer.errors.map(e => e.message))
    check(errs.length === 0, `no pkc error: ${errs.join('; ')}`)
  }
  await ctx.close()
  node.kill('SIGTERM')
  const ex = await deadline(nodeExit, 20000, 'the node to stop')
  check(ex.code === 0, `the node stopped cleanly (${JSON.stringify(ex)})`)
  server.child.kill('SIGTERM')
} catch (e) {
  check(false, e.stack || String(e))
  console.error(`node stderr (last lines):\n${started.stderr().split('\n').slice(-80).join('\n')}`)
  await ctx.close().catch(() => {})
}
finish('web.api')
