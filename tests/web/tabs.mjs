// web.tabs (and web.tabs.firefox: `node tabs.mjs firefox`): two tabs of one
// origin (two pages of one browser context, on the page `pkc web` serves)
// find each other over BroadcastChannel, connect by WebRTC with pkc's
// session handshake, chat, and converge on a shared note
// (checked with the yjs package here in Node.js); a tab whose signals are
// tampered with, or whose handshake binds the wrong DTLS fingerprint, is
// refused with a clear message and no connection. Every wait is for an
// event or a state, with a deadline; nothing sleeps.
import * as Y from 'yjs'
import { check, finish, needDist, pkcWeb, deadline } from './lib.mjs'
import { browserArg, launch, inNetns, needBrowser } from './browsers.mjs'

// `node tabs.mjs [chromium|firefox]`. Firefox runs in a network namespace
// of the test's own (loopback only; its prefs give it loopback candidates).
const BROWSER = browserArg()
needDist()
needBrowser(BROWSER)
if (BROWSER === 'firefox') inNetns()
const CONNECT_MS = 15000
const server = await pkcWeb()
// Real host candidates instead of mDNS names: the test machine has no
// multicast DNS (docs/web.md, "Tests").
const ctx = await launch(BROWSER, { chromiumArgs: ['--disable-features=WebRtcHideLocalIpsWithMdns'] })

async function open(query = '') {
  const page = await ctx.newPage()
  const errors = page.errors
  // Every data channel message the page sends, measured: none may be over
  // the peer's a=max-message-size (Chromium's and the node's 262144 are the
  // smallest a peer of pkc's gives; a browser refuses a larger send).
  await page.initScript(() => {
    window.dcSent = { count: 0, max: 0, maxMessageSize: Infinity }
    const send = RTCDataChannel.prototype.send
    RTCDataChannel.prototype.send = function (d) {
      const n = d.byteLength ?? d.size ?? new TextEncoder().encode(d).length
      window.dcSent.count++
      window.dcSent.max = Math.max(window.dcSent.max, n)
      return send.call(this, d)
    }
    // The page's 'log' events from its start: a newcomer may connect and
    // sync while it loads, before the test listens (window.seen below).
    window.earlyLogs = []
    const dispatch = EventTarget.prototype.dispatchEvent
    EventTarget.prototype.dispatchEvent = function (e) {
      if (e.type === 'log' && typeof e.detail?.text === 'string') window.earlyLogs.push(e.detail.text)
      return dispatch.call(this, e)
    }
  })
  await page.goto(server.url + query + (process.env.PKC_WEB_DEBUG ? '&debug' : ''))
  await deadline(page.waitForFunction(() => document.documentElement.dataset.pkc), 30000, 'the page to load pkc')
  check(await page.evaluate(() => document.documentElement.dataset.pkc) === 'ready',
    `the page is ready: ${await page.textContent('#status')}`)
  // Events seen from now on, for the checks.
  await page.evaluate(() => {
    window.seen = { messages: [], errors: [], connects: [], logs: [] }
    const p = window.pkcPeer
    p.addEventListener('message', e => window.seen.messages.push({ from: e.detail.from, text: e.detail.text }))
    p.addEventListener('error', e => window.seen.errors.push(e.detail.message))
    p.addEventListener('peer:connect', e => window.seen.connects.push(e.detail.peerId))
    p.addEventListener('log', e => window.seen.logs.push(e.detail.text))
  })
  const id = await page.evaluate(() => window.pkcPeer.peerId)
  return { page, errors, id }
}

const connectedTo = (t, id, ms, what) => deadline(t.page.waitForFunction(
  (id) => window.pkcPeer.peers().some(p => p.peerId === id), id, { polling: 50 }), ms, what)
  .catch(async (e) => {
    console.error(`tab ${t.id}: ${JSON.stringify(await t.page.evaluate(() => ({ seen: window.seen,
      links: [...window.pkcPeer.links.values()].map(l => ({ peer: l.peerId, outbound: l.outbound,
        state: l.state, pc: l.pc.connectionState, ice: l.pc.iceConnectionState,
        dcs: l.dcs.map(d => d.readyState) })) })))}`)
    throw e
  })

const noteOf = (t) => t.page.evaluate(() => {
  const doc = window.pkcPeer.doc('note')
  return { text: doc.getText('note').toString(), state: Array.from(doc.encodeState()),
    area: document.getElementById('note').value }
})

try {
  // ---- two tabs find each other and connect ----
  const t0 = Date.now()
  const a = await open('?channel=tabs')
  const b = await open('?channel=tabs')
  await connectedTo(a, b.id, CONNECT_MS, 'tab A connected to tab B')
  await connectedTo(b, a.id, CONNECT_MS, 'tab B connected to tab A')
  console.log(`two tabs connected ${Date.now() - t0} ms after the first was opened`)
  for (const [x, y] of [[a, b], [b, a]]) {
    const peers = await x.page.evaluate(() => window.pkcPeer.peers())
    check(peers.length === 1 && peers[0].peerId === y.id && peers[0].room === 'local',
      `one peer, the other tab, in the local room: ${JSON.stringify(peers)}`)
    check(await x.page.textContent('#peers').then(s => s.includes(y.id)), 'the page lists the other tab')
  }

  // ---- chat: typed in one, shown in the other ----
  const text = `hello from A ${Math.random().toString(36).slice(2)}`
  await a.page.fill('#text', text)
  await a.page.press('#text', 'Enter')
  await deadline(b.page.waitForFunction((t) => window.seen.messages.some(m => m.text === t), text,
    { polling: 50 }), 10000, 'the message to reach tab B')
  const got = await b.page.evaluate(() => window.seen.messages)
  check(got.length === 1 && got[0].from === a.id && got[0].text === text,
    `B got A's message once, from A: ${JSON.stringify(got)}`)
  check((await b.page.textContent('#log')).includes(text), 'B shows the message')
  const back = 'and back ✓ 😀'
  await b.page.fill('#text', back)
  await b.page.press('#text', 'Enter')
  await deadline(a.page.waitForFunction((t) => window.seen.messages.some(m => m.text === t), back,
    { polling: 50 }), 10000, 'the answer to reach tab A')

  // ---- the shared note: edits on both sides converge ----
  await a.page.click('#note')
  await a.page.keyboard.type('Shared by A. ')
  await deadline(b.page.waitForFunction(() => document.getElementById('note').value === 'Shared by A. ',
    null, { polling: 50 }), 10000, "A's edit to reach B")
  // Concurrent edits: each side types before seeing the other's.
  await Promise.all([
    a.page.evaluate(() => { const ta = document.getElementById('note'); ta.focus(); ta.setSelectionRange(0, 0) }),
    b.page.evaluate(() => { const ta = document.getElementById('note'); ta.focus(); ta.setSelectionRange(ta.value.length, ta.value.length) })
  ])
  await Promise.all([a.page.keyboard.type('[A first] '), b.page.keyboard.type('B adds this.')])
  await deadline(Promise.all([a, b].map(t => t.page.waitForFunction(() => {
    const v = document.getElementById('note').value
    return v.includes('[A first]') && v.includes('B adds this.')
  }, null, { polling: 50 }))), 10000, 'both edits on both sides').catch(async (e) => {
    console.error(`notes: ${JSON.stringify(await Promise.all([a, b].map(noteOf)).then(n => n.map(x => [x.text, x.area])))}`)
    throw e
  })
  const na = await noteOf(a), nb = await noteOf(b)
  check(na.text === nb.text && na.area === na.text && nb.area === nb.text,
    `the note converged: ${JSON.stringify([na.text, nb.text, na.area, nb.area])}`)
  check(na.text.startsWith('[A first] Shared by A. ') && na.text.endsWith('B adds this.'),
    `the note holds both edits in place: ${JSON.stringify(na.text)}`)
  // The Yjs state of each side, read by yjs: the same text and state vector.
  const ya = new Y.Doc(), yb = new Y.Doc()
  Y.applyUpdate(ya, Uint8Array.from(na.state))
  Y.applyUpdate(yb, Uint8Array.from(nb.state))
  check(ya.getText('note').toString() === na.text && yb.getText('note').toString() === na.text,
    `yjs reads the same text from both tabs' states`)
  check(Buffer.compare(Buffer.from(Y.encodeStateVector(ya)), Buffer.from(Y.encodeStateVector(yb))) === 0,
    'both states have the same state vector in yjs')
  check(a.errors.length === 0 && b.errors.length === 0,
    `no page errors: ${[...a.errors, ...b.errors].join(' | ')}`)
  const pageErr = await Promise.all([a, b].map(t => t.page.evaluate(() => window.seen.errors)))
  check(pageErr.every(e => e.length === 0), `no pkc errors: ${JSON.stringify(pageErr)}`)

  // ---- garbage on the tabs' BroadcastChannel: refused, nothing breaks ----
  await a.page.evaluate(() => {
    const bc = new BroadcastChannel('tabs')
    for (const m of ['text', { m: '{', s: '' }, { m: '{"v":1}', s: '' },
      { m: JSON.stringify({ v: 1, kind: 'hello', from: 'x', pk: '!!', to: '', conn: '', t: Date.now(), body: '' }), s: '$$' },
      { m: JSON.stringify({ v: 1, kind: 'hello', from: window.pkcPeer.peerId, pk: 'AAAA', to: '', conn: '', t: Date.now(), body: '' }), s: 'AAAA' }])
      bc.postMessage(m)
    bc.close()
  })
  await deadline(b.page.waitForFunction(() => window.seen.errors.length >= 5, null, { polling: 50 }),
    10000, 'tab B to refuse five bad signals')
  const bErr = await b.page.evaluate(() => window.seen.errors)
  check(bErr.length === 5 && bErr.every(e => /refused/.test(e)), `each bad signal refused: ${JSON.stringify(bErr)}`)
  check(b.errors.length === 0, `no page errors from bad signals: ${b.errors.join(' | ')}`)
  check((await b.page.evaluate(() => window.pkcPeer.peers())).length === 1, 'B is still connected to A')

  // ---- a large document reaches a newcomer (sync step 2 in fragments) ----
  {
    const c = await open('?channel=large')
    // 3 x 100,000 characters, each edit's update under the mesh's payload
    // limit; the whole state (about 300 KB) is over one record (252 KiB).
    await c.page.evaluate(() => {
      const p = window.pkcPeer
      const t = p.doc('big').getText('t')
      for (let i = 0; i < 3; i++) p.change(() => t.insert(t.toString().length, String(i).repeat(100000)))
    })
    const d = await open('?channel=large')
    await connectedTo(d, c.id, CONNECT_MS, 'the newcomer connected')
    await deadline(d.page.waitForFunction(() => {
      try { return window.pkcPeer.doc('big').getText('t').toString().length === 300000 } catch { return false }
    }, null, { polling: 100 }), 20000, 'the large document to reach the newcomer')
    const [sc, sd] = await Promise.all([c, d].map(t => t.page.evaluate(() =>
      Array.from(window.pkcPeer.doc('big').encodeState()))))
    const yc = new Y.Doc(), yd = new Y.Doc()
    Y.applyUpdate(yc, Uint8Array.from(sc))
    Y.applyUpdate(yd, Uint8Array.from(sd))
    console.log(`large document: ${sc.length} bytes of state, synced to a newcomer`)
    check(sc.length > 258048, `the state is over one record (${sc.length} bytes)`)
    // The fragments came close to the limit, and never over it; the limit
    // the browser takes from the peer's SDP is at least that.
    const sent = await c.page.evaluate(() => ({ ...window.dcSent,
      maxMessageSize: Math.min(...[...window.pkcPeer.links.values()].map(l => l.pc.sctp?.maxMessageSize ?? Infinity)) }))
    console.log(`largest data channel message sent: ${sent.max} bytes (${sent.count} sent; ` +
      `the browser's max message size to the newcomer: ${sent.maxMessageSize})`)
    check(sent.max > 240000 && sent.max <= 262144 && sent.max <= sent.maxMessageSize,
      `every message sent fits the peer's max-message-size: ${JSON.stringify(sent)}`)
    const logs = await d.page.evaluate(() => window.earlyLogs.filter(l => /reassembled/.test(l)))
    check(logs.length >= 1, `the newcomer reassembled a fragmented sync message: ${JSON.stringify(logs)} ` +
      `(its log: ${JSON.stringify(await d.page.evaluate(() => window.earlyLogs.slice(-10)))})`)
    check(yd.getText('t').toString() === yc.getText('t').toString() &&
      yd.getText('t').toString() === '0'.repeat(100000) + '1'.repeat(100000) + '2'.repeat(100000),
      'the newcomer has the same large text (yjs)')
    const errs = await Promise.all([c, d].map(t => t.page.evaluate(() => window.seen.errors)))
    check(errs.every(e => e.length === 0), `no pkc errors in the large sync: ${JSON.stringify(errs)}`)
    await c.page.close()
    await d.page.close()
  }

  // ---- a tab whose signals are tampered with: refused, no connection ----
  for (const [tamper, pattern] of [['signal', /refused: bad signature/], ['fingerprint', /refused \(fingerprint\)/]]) {
    const chan = `?channel=tamper-${tamper}`
    const good = await open(chan)
    const bad = await open(`${chan}&tamper=${tamper}`)
    // Whichever side dials, the good tab refuses and says why.
    await deadline(good.page.waitForFunction((src) => window.seen.errors.some(e => new RegExp(src, 'i').test(e)),
      pattern.source, { polling: 50 }), 2 * CONNECT_MS, `tab refuses a ${tamper}-tampered tab`).catch(async (e) => {
      for (const t of [good, bad])
        console.error(`${t === good ? 'good' : 'tampered'} tab ${t.id}: ${JSON.stringify(await t.page.evaluate(() => window.seen))}`)
      throw e
    })
    const errs = await good.page.evaluate(() => window.seen.errors)
    console.log(`tampered ${tamper}: ${errs.join(' | ')}`)
    check(await good.page.textContent('#errors').then(s => pattern.test(s)), `the page shows the ${tamper} refusal`)
    const conns = await Promise.all([good, bad].map(t => t.page.evaluate(() => ({
      connects: window.seen.connects, peers: window.pkcPeer.peers() }))))
    check(conns.every(c => c.connects.length === 0 && c.peers.length === 0),
      `no connection with a ${tamper}-tampered tab: ${JSON.stringify(conns)}`)
    if (tamper === 'fingerprint') {
      const s = await good.page.evaluate(() => window.seen.errors.join(' '))
      check(/fingerprint/i.test(s), `the good tab names the fingerprint: ${s}`)
    }
    await good.page.close()
    await bad.page.close()
  }
} finally {
  await ctx.close()
  server.child.kill('SIGTERM')
}
finish(BROWSER === 'chromium' ? 'web.tabs' : `web.tabs.${BROWSER}`)
