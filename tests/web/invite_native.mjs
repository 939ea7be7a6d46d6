// web.invite_native (and web.invite_native.firefox: `node invite_native.mjs
// firefox`): a page accepts a native node's invitation and joins its room
// (issue 14, item 5, node -> page). Run in a network namespace of its
// own (`unshare -n`, made by the test itself), where the node's listener and
// the browser share lo and a veth pair, and nothing else exists.
//  1. `pkc up` in a private room; `pkc invite --single-use --one-step` with
//     the page as the link's base; the page is opened at that link (the
//     code in its fragment) and accepts it by itself: the node reports the
//     invitation used by the page's peer id and lists it as a peer, the page
//     lists the node, in the room the invitation named.
//  2. A broadcast from the node (`pkc send`) appears in the page's chat; one
//     typed in the page appears in the node's `pkc inbox`.
//  3. A document edited on both sides (`pkc doc set` on the node; a Yjs
//     edit made by the `yjs` package applied in the page, as an editor
//     binding would) converges: the node's `pkc doc json` equals the
//     page's state read by yjs.
//  4. Refusals, each on a fresh page, each shown on the page with no
//     connection made: a tampered code (one character changed: the
//     signature), a malformed one (cut short), another kind pasted in the
//     box, one expired by the page's clock (set an hour ahead: refused in
//     wasm, nothing dialed), one expired by the inviter's clock (refused by
//     the node in the handshake: the page shows its words), the used
//     single-use link again (refused by the node), and an inviter that does
//     not answer (stopped: the page gives up when ICE fails, or after 20 s,
//     and says so).
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import * as Y from 'yjs'
import { check, finish, needDist, pkcWeb, deadline, tmpdir, PKC, until, jsonLines, startNode } from './lib.mjs'
import { browserArg, launch, inNetns, needBrowser, shiftClock } from './browsers.mjs'

// `node invite_native.mjs [chromium|firefox]`
const BROWSER = browserArg()
needDist()
needBrowser(BROWSER)
// A network namespace of our own, where loopback is the only network: as
// root a new one, otherwise inside a user namespace (skipped, 77, where
// neither can be made). With lo, one end of a veth pair (both ends in
// here): Chromium gathers no candidate on loopback alone (it never offers
// loopback ones), so it gets 10.99.0.1, which the node's listener gives
// too; packets to a local address stay on lo. Firefox (its prefs:
// browsers.mjs) gathers 127.0.0.1 as well.
inNetns({ veth: true })
const tmp = tmpdir('pkc-web-invite-')
const xdg = path.join(tmp, 'xdg')
fs.mkdirSync(xdg, { mode: 0o700 })
const data = path.join(tmp, 'a')
const env = { ...process.env, XDG_RUNTIME_DIR: xdg }

// The node: --no-local, so that the page's local room is not shared with
// it and only the invitation brings them together; --no-lan.
const ROOM = 'web invitation test room'
const started = startNode(data, ['--no-local', '--no-lan', '--room', ROOM], env)
const node = started.child
const events = started.events
const nodeExit = started.exit
const pkc = started.cli
const nodePeers = () => jsonLines(pkc('peers', '--json')).map(p => p.peer_id)

let ctx
try {
  const up = await until(() => events.find(e => e.event === 'up'), 30000, 'the node to start')
  const nodeId = up.peer_id
  const room = jsonLines(pkc('rooms', '--json')).find(r => !r.local)
  check(room, 'the node is in its private room')
  const server = await pkcWeb()
  ctx = await launch(BROWSER, { chromiumArgs: ['--disable-features=WebRtcHideLocalIpsWithMdns'] })

  const invite = (...args) => JSON.parse(pkc('invite', '--room', room.id, '--url-base',
    server.url, '--json', ...args))

  // A fresh page (its own BroadcastChannel: no tab of another case meets
  // it) at `url`.
  async function open(url, clockMs = null) {
    // With clockMs: the page's clock (Date) set to that time from its
    // first script on, and running on.
    const page = await ctx.newPage()
    const errors = page.errors
    if (clockMs !== null) await shiftClock(page, clockMs - Date.now())
    // When the first peer:connect is dispatched, on the page's clock from
    // the start of its navigation (performance.now()).
    await page.initScript(() => {
      const dispatch = EventTarget.prototype.dispatchEvent
      EventTarget.prototype.dispatchEvent = function (ev) {
        if (ev.type === 'peer:connect' && window.firstConnectMs === undefined)
          window.firstConnectMs = performance.now()
        return dispatch.call(this, ev)
      }
    })
    const [base, frag] = url.split('#')
    const q = `?channel=invite-${Math.random().toString(36).slice(2)}${process.env.PKC_WEB_DEBUG ? '&debug' : ''}`
    // The link as printed, plus a query of the test's (its tab channel).
    await page.goto(base + q + (frag ? `#${frag}` : ''))
    await deadline(page.waitForFunction(() => document.documentElement.dataset.pkc), 30000,
      'the page to load pkc')
    check(await page.evaluate(() => document.documentElement.dataset.pkc) === 'ready', 'the page is ready')
    const id = await page.evaluate(() => window.pkcPeer.peerId)
    return { page, errors, id }
  }
  const joinedText = (t) => t.page.textContent('#joined')
  const pageErrors = (t) => t.page.evaluate(() => window.pkcPeer.errors.map(e => e.message))

  // ---- 1. the link opened by the page ----
  const inv = invite('--single-use', '--one-step')
  check(inv.url.startsWith(`${server.url}#PKCI1`), `an invitation link to the page: ${inv.url}`)
  const t0 = Date.now()
  const tab = await open(inv.url)
  check(!(await tab.page.evaluate(() => location.hash)), 'the code is taken out of the address bar')
  await deadline(tab.page.waitForFunction((id) => window.pkcPeer.peers().some(p => p.peerId === id),
    nodeId, { polling: 50 }), 20000, 'the page to connect to the node').catch(async (e) => {
    console.error(`page: ${await joinedText(tab)}; errors ${JSON.stringify(await pageErrors(tab))}; ` +
      `links ${JSON.stringify(await tab.page.evaluate(() => [...window.pkcPeer.links.values()].map(l =>
        ({ peer: l.peerId, pc: l.pc.connectionState, ice: l.pc.iceConnectionState,
          dcs: l.dcs.map(d => d.readyState) }))))}`)
    throw e
  })
  // The figure (docs/web.md, "Figures"): from opening the link (the page
  // loading, pkc.wasm compiled, the invitation read, ICE, DTLS, SCTP, pkc's
  // handshake) to the session established, on the page's clock.
  const connectMs = await tab.page.evaluate(() => window.firstConnectMs)
  console.log(`  figure: ${BROWSER}: the page connected to the node ${Math.round(connectMs)} ms after ` +
    `the link was opened (navigation start to peer:connect; ${Date.now() - t0} ms seen by the test)`)
  check(connectMs > 0, `the page's own time to connect: ${connectMs}`)
  const used = await until(() => events.find(e => e.event === 'invite' && e.outcome === 'used'),
    10000, 'the node to report the invitation used')
  check(used.peer === tab.id && used.id === inv.id && used.room === room.id,
    `the node reports invitation ${inv.id} used by the page ${tab.id}: ${JSON.stringify(used)}`)
  await until(() => nodePeers().includes(tab.id), 10000, 'the node to list the page as a peer')
  const pagePeer = (await tab.page.evaluate(() => window.pkcPeer.peers()))
    .find(p => p.peerId === nodeId)
  check(pagePeer && pagePeer.room === room.name, `the page is connected in room "${room.name}": ${JSON.stringify(pagePeer)}`)
  check(/connected to the inviter/.test(await joinedText(tab)), `the page says: ${await joinedText(tab)}`)

  // ---- 2. broadcasts both ways ----
  pkc('send', '--room', room.id, 'from the node to the page')
  await deadline(tab.page.waitForFunction(() =>
    document.getElementById('log').textContent.includes('from the node to the page'), null, { polling: 50 }),
  10000, "the node's broadcast to appear on the page")
  await tab.page.fill('#text', 'from the page to the node, ünïcødé')
  await tab.page.click('#chat button')
  const got = await until(() => jsonLines(pkc('inbox', '--json'))
    .find(m => m.text === 'from the page to the node, ünïcødé'), 10000, "the page's broadcast in the node's inbox")
  check(got.from === tab.id && got.room === room.id && !got.direct,
    `the node's inbox has the page's broadcast, from the page, in the room: ${JSON.stringify(got)}`)

  // ---- 3. a document edited on both sides ----
  pkc('doc', 'set', '--room', room.id, 'shared', 'node', '"set by the node"')
  const pageDoc = () => tab.page.evaluate((room) =>
    Array.from(window.pkcPeer.doc('shared', room).encodeState()), room.name)
  const asJson = (state) => {
    const d = new Y.Doc()
    Y.applyUpdate(d, Uint8Array.from(state))
    return d.getMap('state').toJSON()
  }
  await until(async () => asJson(await pageDoc()).node === 'set by the node', 10000,
    "the node's edit to reach the page")
  // The page's edit: made with yjs on the page's state, as an editor
  // binding would, and applied in the page (broadcast as its own).
  const ydoc = new Y.Doc()
  Y.applyUpdate(ydoc, Uint8Array.from(await pageDoc()))
  const sv = Y.encodeStateVector(ydoc)
  ydoc.getMap('state').set('page', 'set by the page')
  ydoc.getMap('state').set('both', ['a', 1, { deep: true }])
  const diff = Array.from(Y.encodeStateAsUpdate(ydoc, sv))
  await tab.page.evaluate(([diff, room]) => {
    const p = window.pkcPeer
    p.change(() => p.doc('shared', room).applyUpdate(Uint8Array.from(diff)))
  }, [diff, room.name])
  pkc('doc', 'set', '--room', room.id, 'shared', 'node2', '42')
  const want = { node: 'set by the node', page: 'set by the page', both: ['a', 1, { deep: true }], node2: 42 }
  // JSON with the keys of every object sorted (a replacer array would drop
  // the keys of nested objects)
  const sorted = (v) => JSON.stringify(v, (k, x) => x && typeof x === 'object' && !Array.isArray(x)
    ? Object.fromEntries(Object.keys(x).sort().map(k => [k, x[k]])) : x)
  await until(async () => sorted(JSON.parse(pkc('doc', 'json', '--room', room.id, 'shared'))) === sorted(want) &&
    sorted(asJson(await pageDoc())) === sorted(want), 15000, 'the document to converge').catch((e) => {
    console.error(`node: ${pkc('doc', 'json', '--room', room.id, 'shared')}`)
    throw e
  })
  console.log(`  the document converged on both sides: ${pkc('doc', 'json', '--room', room.id, 'shared').trim()}`)

  // ---- 4. refusals ----
  const peersBefore = nodePeers().length
  const refusedOnPage = async (what, url, words, clockMs = null) => {
    const t = await open(url, clockMs)
    await deadline(t.page.waitForFunction((w) => new RegExp(w).test(document.getElementById('errors').textContent),
      words, { polling: 50 }), 30000, `the page to refuse ${what}`).catch(async (e) => {
      console.error(`page: ${await joinedText(t)}; errors ${JSON.stringify(await pageErrors(t))}`)
      throw e
    })
    const shown = (await t.page.textContent('#errors'))
    check(new RegExp(words).test(shown), `${what}: the page shows "${words}": ${shown}`)
    check((await t.page.evaluate(() => window.pkcPeer.peers().length)) === 0, `${what}: the page connected to nobody`)
    check(t.errors.length === 0, `${what}: no page error: ${t.errors.join('; ')}`)
    console.log(`  ${what}: ${[...shown.matchAll(/[^\n]+/g)].map(m => m[0]).find(m => new RegExp(words).test(m))}`)
    return t
  }
  const good = invite()
  const code = good.code
  const flip = code[40] === 'A' ? 'B' : 'A'
  let t = await refusedOnPage('a tampered code', `${server.url}#${code.slice(0, 40)}${flip}${code.slice(41)}`,
    'invitation refused: invitation: .*signature')
  check((await joinedText(t)).startsWith('invitation refused'), 'the tampered code is refused in the join line')
  check((await t.page.evaluate(() => window.pkcPeer.links.size)) === 0, 'no link dialed for the tampered code')
  await t.page.close()
  t = await refusedOnPage('a code cut short', `${server.url}#${code.slice(0, 61)}`,
    'invitation refused: invitation: .*offset')
  await t.page.close()
  // Pasted in the box rather than opened.
  t = await open(server.url)
  await t.page.fill('#code', 'PKCX1' + code.slice(5))
  await t.page.click('#join button')
  check(/invitation refused: .*PKCI/.test(await joinedText(t)), `another kind of code, pasted: ${await joinedText(t)}`)
  await t.page.close()
  // Expired by the page's own clock (an hour ahead: past the 5 minutes of
  // clock skew a code is given): refused in wasm before any dial.
  t = await refusedOnPage('a code expired by the page\'s clock', good.url,
    'invitation refused: invitation: expired (5[5-9]|60) min .* ago', Date.now() + 3600 * 1000)
  check((await t.page.evaluate(() => window.pkcPeer.links.size)) === 0, 'no link dialed for the expired code')
  await t.page.close()
  // Expired by the inviter's clock: the page's check tolerates 5 minutes
  // of clock skew, as a native invitee does; the node refuses it in the
  // handshake, and the page shows the node's words.
  const short = invite('--one-step', '--expires', '1s') // dialed: the node refuses it
  await until(() => Date.now() > short.expires_ms + 50, 5000, 'the invitation to expire')
  t = await refusedOnPage('an expired code', short.url, 'refused \\(unauthorized\\): .*invitation: expired .* ago')
  check(/the inviter .* refused: .*expired/.test(await joinedText(t)), `the join line says: ${await joinedText(t)}`)
  await t.page.close()
  t = await refusedOnPage('the single-use link again', inv.url, 'refused \\(unauthorized\\): .*invitation already used')
  await t.page.close()
  // An inviter that does not answer (stopped: SIGSTOP): the page gives up
  // when ICE fails, or after 20 s as a node does, and says so.
  const late = invite('--one-step')
  node.kill('SIGSTOP')
  try {
    t = await refusedOnPage('an inviter that does not answer', late.url,
      `the inviter ${nodeId} could not be reached: (not connected in time|connection failed)`)
    check(/could not be reached/.test(await joinedText(t)), `the join line says: ${await joinedText(t)}`)
    check((await t.page.evaluate(() => window.pkcPeer.links.size)) === 0, 'the link to it is closed')
    await t.page.close()
  } finally {
    node.kill('SIGCONT')
  }
  check(nodePeers().length === peersBefore, `the node took no new peer (${nodePeers().length})`)
  check(nodePeers().includes(tab.id), 'the first page is still connected')
  check(tab.errors.length === 0, `no page error on the first page: ${tab.errors.join('; ')}`)
  check((await pageErrors(tab)).length === 0, `no pkc error on the first page: ${(await pageErrors(tab)).join('; ')}`)

  await ctx.close()
  ctx = null
  node.kill('SIGTERM')
  const ex = await deadline(nodeExit, 20000, 'the node to stop')
  check(ex.code === 0, `the node stopped cleanly (${JSON.stringify(ex)})`)
  server.child.kill('SIGTERM')
} catch (e) {
  check(false, e.stack || String(e))
  console.error(`node stderr (last lines):\n${started.stderr().split('\n').slice(-40).join('\n')}`)
  if (ctx) await ctx.close().catch(() => {})
}
finish(BROWSER === 'chromium' ? 'web.invite_native' : `web.invite_native.${BROWSER}`)
