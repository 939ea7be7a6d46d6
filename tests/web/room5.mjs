// web.room5 (and web.room5.firefox: `node room5.mjs firefox`): three tabs and
// two native nodes in one room (issue 14, item 5), in a network namespace of
// the test's own (as web.invite_native).
//  1. Two nodes, `pkc up --no-local --no-lan`: a in a private room, b joins
//     it by a's one-step invitation (`pkc join`).
//  2. Three tabs of one browser context find each other over the
//     BroadcastChannel (the local room). One of them accepts a's invitation
//     (pasted in the join box, as a person would): it joins the room and
//     connects to a; the other two tabs join the same room with no
//     invitation of their own (a room joined by one tab is joined by all
//     tabs of the origin: docs/web.md, "Rooms shared by tabs"), and each
//     link between tabs gets a channel in it.
//  3. One broadcast from each of the five (`pkc send` on the nodes,
//     peer.broadcast() in the tabs) reaches the other four, exactly once
//     each (checked after a second round has arrived everywhere too).
//  4. A document edited in a tab that has no link to a node (made with
//     the `yjs` package, applied in the page as an editor binding would)
//     reaches both nodes: `pkc doc json` on a and b equals the page's state.
// Every wait is for a state, with a deadline.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import readline from 'node:readline'
import * as Y from 'yjs'
import { check, finish, needDist, pkcWeb, deadline, tmpdir, PKC, until, jsonLines } from './lib.mjs'
import { browserArg, launch, inNetns, needBrowser } from './browsers.mjs'

const BROWSER = browserArg()
needDist()
needBrowser(BROWSER)
inNetns({ veth: true })

const tmp = tmpdir('pkc-web-room5-')
const xdg = path.join(tmp, 'xdg')
fs.mkdirSync(xdg, { mode: 0o700 })
const env = { ...process.env, XDG_RUNTIME_DIR: xdg }
// the room: a's --room (its secret's words); ROOM, its name (`pkc rooms`)
const ROOM_WORDS = 'five peers room'
let ROOM

const nodes = {}
function startNode(name, args) {
  const data = path.join(tmp, name)
  const child = spawn(PKC, ['--data', data, '--log-level', 'debug', 'up', '--json', '--no-local', '--no-lan',
    ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const n = { name, data, child, events: [], err: '' }
  child.stderr.on('data', d => { n.err += d })
  readline.createInterface({ input: child.stdout }).on('line', l => {
    try { n.events.push(JSON.parse(l)) } catch {}
  })
  n.exit = new Promise(res => child.on('exit', (code, sig) => res({ code, sig })))
  process.on('exit', () => { try { child.kill('SIGKILL') } catch {} })
  nodes[name] = n
  return n
}
const pkc = (n, args, extraEnv = {}) => {
  const r = spawnSync(PKC, ['--data', n.data, ...args], { env: { ...env, ...extraEnv }, encoding: 'utf8',
    timeout: 60000 })
  if (r.status !== 0) throw new Error(`pkc ${n.name} ${args.join(' ')}: ${r.stdout}${r.stderr}`)
  return r.stdout
}
const nodePeers = (n) => jsonLines(pkc(n, ['peers', '--json'])).map(p => p.peer_id)

// Phases printed with the seconds since the start (for the record only).
const T0 = Date.now()
const say = (text) => console.log(`[${((Date.now() - T0) / 1000).toFixed(1)} s] ${text}`)
let ctx
try {
  // ---- 1. two nodes in one room ----
  const a = startNode('a', ['--room', ROOM_WORDS])
  const b = startNode('b', [])
  for (const n of [a, b]) {
    const up = await until(() => n.events.find(e => e.event === 'up'), 30000, `node ${n.name} to start`)
    n.id = up.peer_id
  }
  const room = jsonLines(pkc(a, ['rooms', '--json'])).find(r => !r.local)
  check(room, `a is in its room: ${JSON.stringify(room)}`)
  ROOM = room.name
  const invB = JSON.parse(pkc(a, ['invite', '--room', room.id, '--one-step', '--single-use', '--json']))
  const joined = pkc(b, ['join'], { PKC_INVITE: invB.url })
  check(/you are in the room/.test(joined), `b joined a's room: ${joined.trim()}`)
  await until(() => nodePeers(a).includes(b.id) && nodePeers(b).includes(a.id), 20000, 'a and b to be neighbours')
  say('nodes a and b are neighbours in the room')

  // ---- 2. three tabs; one accepts a's invitation ----
  const server = await pkcWeb()
  ctx = await launch(BROWSER, { chromiumArgs: ['--disable-features=WebRtcHideLocalIpsWithMdns'] })
  const channel = `room5-${Math.random().toString(36).slice(2)}`
  const open = async () => {
    const page = await ctx.newPage()
    await page.goto(`${server.url}?channel=${channel}${process.env.PKC_WEB_DEBUG ? '&debug' : ''}`)
    await page.waitFor(() => document.documentElement.dataset.pkc, null, 30000, 'the page to load pkc')
    check(await page.evaluate(() => document.documentElement.dataset.pkc) === 'ready', 'the page is ready')
    await page.evaluate(() => {
      window.seen = { messages: [], errors: [] }
      window.pkcPeer.addEventListener('message', e => window.seen.messages.push(
        { from: e.detail.from, room: e.detail.room, id: e.detail.id, text: e.detail.text }))
      window.pkcPeer.addEventListener('error', e => window.seen.errors.push(e.detail.message))
    })
    return { page, id: await page.evaluate(() => window.pkcPeer.peerId) }
  }
  const tabs = []
  for (let i = 0; i < 3; i++) tabs.push(await open())
  const peersIn = (t, r) => t.page.evaluate((r) => window.pkcPeer.peers().filter(p => p.room === r)
    .map(p => p.peerId).sort(), r)
  const linked = (t, r, ids, ms, what) => until(async () => {
    const got = await peersIn(t, r)
    return ids.every(id => got.includes(id))
  }, ms, what).catch(async (e) => {
    console.error(`tab ${t.id} in ${r}: ${JSON.stringify(await peersIn(t, r))}; errors ` +
      JSON.stringify(await t.page.evaluate(() => window.seen.errors)) + '; links ' +
      JSON.stringify(await t.page.evaluate(() => [...window.pkcPeer.links.values()].map(l => ({ peer: l.peerId,
        outbound: l.outbound, pc: l.pc.connectionState, ice: l.pc.iceConnectionState,
        dcs: l.dcs.map(d => d.readyState) })))))
    throw e
  })
  for (const t of tabs)
    await linked(t, 'local', tabs.filter(o => o !== t).map(o => o.id), 20000, 'the tabs to find each other')
  say('three tabs connected in the local room')

  const invT = JSON.parse(pkc(a, ['invite', '--room', room.id, '--one-step', '--single-use', '--url-base',
    server.url, '--json']))
  const [t1, t2, t3] = tabs
  await t1.page.fill('#code', invT.url)
  await t1.page.click('#join button')
  await linked(t1, ROOM, [a.id], 20000, 'tab 1 to connect to a in the room')
  say('tab 1 connected to a')
  check(/connected to the inviter/.test(await t1.page.textContent('#joined')),
    `tab 1 says: ${await t1.page.textContent('#joined')}`)
  // The other tabs: in the room with no invitation, each linked in it to
  // the other two tabs.
  for (const t of tabs)
    await linked(t, ROOM, tabs.filter(o => o !== t).map(o => o.id), 20000,
      `tab ${t.id} linked to the other tabs in the room`)
  for (const t of [t2, t3]) {
    const rooms = await t.page.evaluate(() => [...window.pkcPeer.rooms.values()].map(r => [r.name, r.id]))
    check(rooms.some(([n, id]) => n === ROOM && id === room.id), `tab ${t.id} is in the room: ${JSON.stringify(rooms)}`)
  }
  say(`the other two tabs joined "${ROOM}" through tab 1 (no invitation of theirs)`)

  // ---- 3. one broadcast from each of the five, to all five ----
  const everyone = [...tabs.map((t, i) => ({ kind: 'tab', name: `tab${i + 1}`, id: t.id, t })),
    { kind: 'node', name: 'a', id: a.id, n: a }, { kind: 'node', name: 'b', id: b.id, n: b }]
  const received = async (p) => p.kind === 'tab'
    ? (await p.t.page.evaluate(() => window.seen.messages)).filter(m => m.room === ROOM)
    : jsonLines(pkc(p.n, ['inbox', '--json'])).filter(m => m.room === room.id && !m.direct)
  const round = async (tag) => {
    const texts = new Map()
    for (const p of everyone) {
      const text = `${tag} from ${p.name}`
      texts.set(p.id, text)
      if (p.kind === 'tab') await p.t.page.evaluate(([t, r]) => window.pkcPeer.broadcast(t, r), [text, ROOM])
      else pkc(p.n, ['send', '--room', room.id, text])
    }
    for (const p of everyone) {
      const want = everyone.filter(o => o !== p).map(o => texts.get(o.id))
      await until(async () => {
        const got = (await received(p)).map(m => m.text)
        return want.every(w => got.includes(w))
      }, 30000, `${p.name} to receive the ${tag} broadcasts`).catch(async (e) => {
        console.error(`${p.name} got: ${JSON.stringify((await received(p)).map(m => m.text))}`)
        throw e
      })
    }
    return texts
  }
  const t0 = Date.now()
  const first = await round('round 1')
  say(`five broadcasts reached the other four peers each in ${Date.now() - t0} ms`)
  await round('round 2')
  for (const p of everyone) {
    const got = await received(p)
    for (const o of everyone) {
      if (o === p) continue
      const n = got.filter(m => m.text === first.get(o.id))
      check(n.length === 1 && n[0].from === o.id,
        `${p.name} got ${o.name}'s broadcast exactly once, from it: ${JSON.stringify(n)}`)
    }
  }

  // ---- 3b. the page's chat box: a tab in two rooms (local, and the shared
  // one) sends a line to one (the last joined, chosen by default); the
  // other tabs show it once, and the nodes get it ----
  const line = `typed in tab 2's chat box ${Math.random().toString(36).slice(2)}`
  await until(() => tabs[1].page.evaluate(() => document.getElementById('chat-room').hidden === false &&
    document.getElementById('chat-room').options.length === 2), 5000, "tab 2's chat to offer its two rooms")
  // As typed and sent with Enter (the form's submit), without the browser
  // driver's wait for the box to be scrolled into view and stable.
  await tabs[1].page.evaluate((w) => {
    document.getElementById('text').value = w
    document.getElementById('chat').requestSubmit()
  }, line)
  for (const t of [tabs[0], tabs[2]])
    await until(() => t.page.evaluate((w) => document.getElementById('log').textContent.includes(w), line),
      15000, 'the typed line in the other tabs')
  await until(async () => (await Promise.all(everyone.filter(p => p.kind === 'node').map(received)))
    .every(got => got.some(m => m.text === line)), 15000, 'the typed line at both nodes')
  for (const t of [tabs[0], tabs[2]]) {
    const n = await t.page.evaluate((w) => [...document.querySelectorAll('#log li')]
      .filter(li => li.textContent.includes(w)).length, line)
    check(n === 1, `the typed line is shown once in a tab in both rooms (${n})`)
  }

  // ---- 4. a document edit from a tab with no link to a node ----
  const pageDoc = (t) => t.page.evaluate((r) => Array.from(window.pkcPeer.doc('shared', r).encodeState()), ROOM)
  const ydoc = new Y.Doc()
  Y.applyUpdate(ydoc, Uint8Array.from(await pageDoc(t3)))
  const sv = Y.encodeStateVector(ydoc)
  ydoc.getMap('state').set('tab3', 'set in tab 3')
  ydoc.getMap('state').set('list', [1, 2, { three: true }])
  const diff = Array.from(Y.encodeStateAsUpdate(ydoc, sv))
  await t3.page.evaluate(([diff, r]) => {
    const p = window.pkcPeer
    p.change(() => p.doc('shared', r).applyUpdate(Uint8Array.from(diff)))
  }, [diff, ROOM])
  // JSON with the keys of every object sorted
  const canon = (v) => JSON.stringify(v, (k, x) => x && typeof x === 'object' && !Array.isArray(x)
    ? Object.fromEntries(Object.keys(x).sort().map(k => [k, x[k]])) : x)
  const want = canon({ list: [1, 2, { three: true }], tab3: 'set in tab 3' })
  const docOf = (n) => {
    try {
      return canon(JSON.parse(pkc(n, ['doc', 'json', '--room', room.id, 'shared'])))
    } catch (e) {
      return e.message // not there yet
    }
  }
  await until(() => docOf(a) === want && docOf(b) === want, 20000, "tab 3's edit to reach both nodes")
    .catch((e) => {
      console.error(`a: ${docOf(a)}\nb: ${docOf(b)}`)
      throw e
    })
  const inPage = new Y.Doc()
  Y.applyUpdate(inPage, Uint8Array.from(await pageDoc(t1)))
  check(canon(inPage.getMap('state').toJSON()) === want, "tab 1 has tab 3's edit too")
  say(`tab 3's edit reached both nodes: ${docOf(b)}`)

  for (const t of tabs) {
    check(t.page.errors.length === 0, `no page errors in tab ${t.id}: ${t.page.errors.join(' | ')}`)
    const errs = await t.page.evaluate(() => window.seen.errors)
    check(errs.length === 0, `no pkc errors in tab ${t.id}: ${JSON.stringify(errs)}`)
  }
  await ctx.close()
  ctx = null
  server.child.kill('SIGTERM')
  for (const n of [a, b]) n.child.kill('SIGTERM')
  for (const n of [a, b]) {
    const ex = await deadline(n.exit, 20000, `node ${n.name} to stop`)
    check(ex.code === 0, `node ${n.name} stopped cleanly (${JSON.stringify(ex)})`)
  }
} catch (e) {
  check(false, e.stack || String(e))
  for (const n of Object.values(nodes))
    console.error(`node ${n.name} stderr (last lines):\n${n.err.split('\n').slice(-25).join('\n')}`)
  if (ctx) await ctx.close().catch(() => {})
}
finish(BROWSER === 'chromium' ? 'web.room5' : `web.room5.${BROWSER}`)
