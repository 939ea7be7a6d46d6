// web.persist: a tab keeps its identity, rooms and documents in IndexedDB
// (docs/web.md, "Persistence"). Two tabs of one origin share the database
// and still have identities of their own; a tab that chatted and edited the
// note reloads with the same peer id, the same note and its rooms; a tab
// whose kept update was damaged (bad bytes written into IndexedDB here)
// says so on the page and gets the document back from the other tab.
// Every wait is for a state, with a deadline; nothing sleeps.
// `node persist.mjs [chromium|firefox]` (web.persist, web.persist.firefox;
// Firefox in a network namespace of the test's own).
import { check, finish, needDist, pkcWeb, deadline } from './lib.mjs'
import { browserArg, launch, inNetns, needBrowser } from './browsers.mjs'

const BROWSER = browserArg()
needDist()
needBrowser(BROWSER)
if (BROWSER === 'firefox') inNetns()
const CONNECT_MS = 15000
const server = await pkcWeb()
const ctx = await launch(BROWSER, { chromiumArgs: ['--disable-features=WebRtcHideLocalIpsWithMdns'] })
const QUERY = '?channel=persist'

async function ready(t) {
  await deadline(t.page.waitForFunction(() => document.documentElement.dataset.pkc), 30000, 'the page to load pkc')
  check(await t.page.evaluate(() => document.documentElement.dataset.pkc) === 'ready',
    `the page is ready: ${await t.page.textContent('#status')}`)
  t.id = await t.page.evaluate(() => window.pkcPeer.peerId)
}

async function open(sessionSlot = null) {
  const page = await ctx.newPage()
  // A duplicated tab starts with a copy of the original's sessionStorage.
  if (sessionSlot) await page.initScript((slot) => {
    if (location.protocol === 'http:') sessionStorage.setItem('pkc-identity:pkc:persist', slot)
  }, sessionSlot)
  const t = { page, errors: page.errors }
  await page.goto(server.url + QUERY + (process.env.PKC_WEB_DEBUG ? '&debug' : ''))
  await ready(t)
  return t
}

const connectedTo = (t, id, what) => deadline(t.page.waitForFunction(
  (id) => window.pkcPeer.peers().some(p => p.peerId === id), id, { polling: 50 }), CONNECT_MS, what)
const note = (t) => t.page.evaluate(() => ({
  text: window.pkcPeer.doc('note').getText('note').toString(),
  area: document.getElementById('note').value }))
// The tab's kept updates of a document, once every write asked for so far is
// committed (a read transaction on the store waits for the writes before it).
const kept = (t, doc) => t.page.evaluate(async (doc) =>
  (await window.pkcPeer.store.updates()).filter(u => u.doc === doc).map(u => u.seq), doc)

try {
  const a = await open()
  const b = await open()
  check(a.id !== b.id, `two tabs of one origin have identities of their own: ${a.id} ${b.id}`)
  await connectedTo(a, b.id, 'tab A connected to tab B')
  await connectedTo(b, a.id, 'tab B connected to tab A')

  // A chat, a room joined by its secret (as an invitation joins one), and
  // three edits of the note.
  await a.page.fill('#text', 'hello before the reload')
  await a.page.press('#text', 'Enter')
  const room = await a.page.evaluate(() => {
    const secret = crypto.getRandomValues(new Uint8Array(32))
    const h = window.pkcPeer.joinRoom('kept room', secret)
    return window.pkcPeer.rooms.get(h).id
  })
  await a.page.click('#note')
  for (const s of ['Kept ', 'across ', 'reloads ✓'])
    await a.page.keyboard.type(s)
  const want = 'Kept across reloads ✓'
  await deadline(b.page.waitForFunction((w) => document.getElementById('note').value === w, want,
    { polling: 50 }), 10000, "A's edits to reach B")
  const before = await kept(a, 'note')
  check(before.length >= 3, `A kept its edits as updates: ${before.length}`)

  // ---- reload: same identity, note and rooms ----
  const oldA = a.id
  await a.page.reload()
  await ready(a)
  check(a.id === oldA, `the reloaded tab has the same peer id: ${a.id} (was ${oldA})`)
  const na = await note(a)
  check(na.text === want && na.area === want, `the reloaded tab has its note: ${JSON.stringify(na)}`)
  const rooms = await a.page.evaluate(() => [...window.pkcPeer.rooms.values()].map(r => [r.name, r.id]))
  check(rooms.some(([n, id]) => n === 'kept room' && id === room) && rooms.some(([n]) => n === 'local'),
    `the reloaded tab is in its rooms again: ${JSON.stringify(rooms)}`)
  check(/kept in this browser/.test(await a.page.textContent('#kept')), 'the page says the identity is kept')
  const after = await kept(a, 'note')
  check(after.length >= 1 && after.length < before.length && !after.some(s => before.includes(s)),
    `the note's updates were compacted on load: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`)
  await connectedTo(a, b.id, 'the reloaded tab A connected to tab B again')
  await connectedTo(b, a.id, 'tab B connected to the reloaded tab A')
  // Once in each room: the local one, and 'kept room', which B joined when
  // A did (docs/web.md, "Rooms shared by tabs").
  const seenByB = await b.page.evaluate(() => window.pkcPeer.peers().map(p => `${p.peerId} ${p.room}`).sort())
  check(JSON.stringify(seenByB) === JSON.stringify([`${a.id} kept room`, `${a.id} local`]),
    `B sees A once in each room: ${JSON.stringify(seenByB)}`)
  // Editing goes on after the reload.
  await a.page.click('#note')
  await a.page.keyboard.press('End')
  await a.page.keyboard.type('!')
  await deadline(b.page.waitForFunction((w) => document.getElementById('note').value === w, want + '!',
    { polling: 50 }), 10000, "the reloaded A's edit to reach B")

  // ---- a damaged update: detected, dropped, shown, fetched again ----
  const bKept = await kept(b, 'note')
  check(bKept.length >= 1, `B kept the note: ${bKept.length} update(s)`)
  const damaged = await b.page.evaluate(async ({ name, slot }) => {
    const db = await new Promise((res, rej) => {
      const r = indexedDB.open(name)
      r.onsuccess = () => res(r.result)
      r.onerror = () => rej(r.error)
    })
    const tx = db.transaction('updates', 'readwrite')
    const s = tx.objectStore('updates')
    const all = await new Promise((res) => { const r = s.getAll(); r.onsuccess = () => res(r.result) })
    let n = 0
    for (const u of all) {
      if (u.slot !== slot || u.doc !== 'note') continue
      u.update = u.update.slice()
      u.update[u.update.length >> 1] ^= 0x5a // the hash beside it is left as it was
      s.put(u)
      n++
    }
    await new Promise((res) => { tx.oncomplete = res })
    db.close()
    return n
  }, await b.page.evaluate(() => ({ name: window.pkcPeer.store.name, slot: window.pkcPeer.store.slot })))
  check(damaged === bKept.length, `every kept update of B's note was damaged: ${damaged}`)
  const oldB = b.id
  await b.page.reload()
  await ready(b)
  check(b.id === oldB, 'B reloaded with the same peer id')
  const shown = await b.page.textContent('#errors')
  const reported = (shown.match(/a kept update \(#\d+\) is damaged/g) || []).length
  check(reported === damaged, `the page reports each damaged update (${reported} of ${damaged}): ${shown}`)
  check(/fetched again from peers/.test(shown), 'and says the document is fetched again')
  await connectedTo(b, a.id, 'B connected to A after its reload')
  await deadline(b.page.waitForFunction((w) => document.getElementById('note').value === w &&
    window.pkcPeer.doc('note').getText('note').toString() === w, want + '!', { polling: 50 }), 10000,
  'B to get the note back from A').catch(async (e) => {
    console.error(`B's note: ${JSON.stringify(await note(b))}`)
    throw e
  })
  // ... and keeps it again: the next reload restores it with no error.
  await deadline(b.page.waitForFunction(async () => (await window.pkcPeer.store.updates())
    .some(u => u.doc === 'note'), null, { polling: 100 }), 10000, 'B to keep the note again')
  await b.page.reload()
  await ready(b)
  const nb = await note(b)
  check(nb.text === want + '!', `B restored the note it got back: ${JSON.stringify(nb)}`)
  check(!/damaged/.test(await b.page.textContent('#errors')), 'and reports nothing damaged this time')

  // ---- a duplicated tab (A's slot in its sessionStorage) is another peer;
  // a tab opened after it closed takes its identity back ----
  const slotA = await a.page.evaluate(() => window.pkcPeer.store.slot)
  const dup = await open(slotA)
  const dupSlot = await dup.page.evaluate(() => window.pkcPeer.store.slot)
  check(dup.id !== a.id && dup.id !== b.id && dupSlot !== slotA,
    `a tab with A's slot while A lives gets an identity of its own: ${dup.id} (A ${a.id})`)
  await connectedTo(dup, a.id, 'the duplicated tab connected to A')
  await dup.page.close()
  // Its lock is released as the page goes (asynchronously): seen from A.
  await deadline(a.page.waitForFunction(async (name) => !(await navigator.locks.query()).held
    .some(l => l.name === name), `pkc-identity:pkc:persist:${dupSlot}`, { polling: 50 }), 10000,
  "the closed tab's identity lock to be released")
  const next = await open()
  check(next.id === dup.id, `a new tab takes the closed tab's identity: ${next.id} (closed ${dup.id})`)
  await next.page.close()

  // ---- storage failing: the edit is still sent, and the failure shown ----
  await a.page.evaluate(() => window.pkcPeer.store.db.close())
  await a.page.click('#note')
  await a.page.keyboard.press('End')
  await a.page.keyboard.type('?')
  await deadline(b.page.waitForFunction((w) => document.getElementById('note').value === w, want + '!?',
    { polling: 50 }), 10000, "A's edit to reach B while A's storage fails")
  check(/document note: not kept in this browser's storage/.test(await a.page.textContent('#errors')),
    'A shows that its edit was not kept')
  check([a, b, dup, next].every(t => t.errors.length === 0),
    `no page errors: ${[a, b, dup, next].flatMap(t => t.errors).join(' | ')}`)
} finally {
  await ctx.close()
  server.child.kill('SIGTERM')
}
finish(BROWSER === 'chromium' ? 'web.persist' : `web.persist.${BROWSER}`)
