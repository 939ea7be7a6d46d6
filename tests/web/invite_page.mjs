// web.invite_page (and web.invite_page.firefox: `node invite_page.mjs
// firefox`, parts 1 and 2 only): invitations made by a page, and the answer
// step (issue 14). Run in a network namespace of its own (`unshare -n`,
// made by the test itself: lo and a veth pair, nothing else), as
// web.invite_native.
//  1. A page invites a native node: the page makes a link
//     (peer.createInvitation), `pkc join LINK` prints the answer code (a
//     page's invitation is two-step: the node does not dial it), the page
//     applies it (peer.acceptAnswer) and connects (the QR code shown, as a
//     screenshot, reads as the link; the time from the answer applied to
//     the session, on the page's clock, printed); the node reports the
//     room joined; `pkc send` appears in the page's chat, the page's text
//     in `pkc inbox`; a document edited on both sides converges.
//  2. Refusals, each shown on the page and connecting nothing: a tampered
//     answer (its MAC or signature), a second answer to the used
//     single-use invitation, an answer to an invitation that expired (by
//     the page's own clock: no skew), an answer to another page's
//     invitation, an invitation pasted as an answer.
//  3. A Chromium page invites another Chromium page on another
//     BroadcastChannel (they cannot find each other as tabs): the invitee
//     gets an answer, the inviter applies it; they chat both ways. A
//     multi-use invitation brings in two pages.
//  4. A Chromium page and a Firefox ESR page (puppeteer-core over WebDriver
//     BiDi) connect by invitation, each way, and chat; Firefox's invitation,
//     multi-use, brings in a second Chromium page.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import readline from 'node:readline'
import * as Y from 'yjs'
import { check, finish, needDist, pkcWeb, deadline, tmpdir, PKC, until, jsonLines } from './lib.mjs'
import { browserArg, launch, inNetns, needBrowser } from './browsers.mjs'

// `node invite_page.mjs [chromium|firefox]`: parts 1 and 2 in the browser
// named (web.invite_page, web.invite_page.firefox); parts 3 and 4 in the
// Chromium run only (4 has both browsers in it already).
const BROWSER = browserArg()
needDist()
needBrowser(BROWSER)
// A network namespace of our own (browsers.mjs): lo, and one end of a veth
// pair with 10.99.0.1 and the default route. Chromium gathers no candidate
// on loopback alone, and a page that has not been granted a camera or
// microphone gathers only on the interface of the default route; the
// other end is in this namespace too, so nothing leaves it. Firefox (its
// prefs: browsers.mjs) gathers 127.0.0.1 as well.
inNetns({ veth: true })
const FIREFOX = process.env.PKC_FIREFOX || '/usr/bin/firefox-esr'
const tmp = tmpdir('pkc-web-invite-page-')
const xdg = path.join(tmp, 'xdg')
fs.mkdirSync(xdg, { mode: 0o700 })
const data = path.join(tmp, 'a')
const env = { ...process.env, XDG_RUNTIME_DIR: xdg }


let node, nodeErr = '', ctx, ff
const events = []
try {
  node = spawn(PKC, ['--data', data, '--log-level', 'debug', 'up', '--json', '--no-local', '--no-lan',
    '--room', 'page invitation room'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  node.stderr.on('data', d => { nodeErr += d })
  readline.createInterface({ input: node.stdout }).on('line', l => {
    try { events.push(JSON.parse(l)) } catch {}
  })
  process.on('exit', () => { try { node.kill('SIGKILL') } catch {} })
  const pkc = (...args) => {
    const r = spawnSync(PKC, ['--data', data, ...args], { env, encoding: 'utf8', timeout: 60000 })
    if (r.status !== 0) throw new Error(`pkc ${args.join(' ')}: ${r.stderr}${r.stdout}`)
    return r.stdout
  }
  const nodePeers = () => jsonLines(pkc('peers', '--json')).map(p => p.peer_id)
  const up = await until(() => events.find(e => e.event === 'up'), 30000, 'the node to start')
  const nodeId = up.peer_id
  const server = await pkcWeb()
  ctx = await launch(BROWSER, { chromiumArgs: ['--disable-features=WebRtcHideLocalIpsWithMdns'] })

  // A fresh page on a BroadcastChannel of its own (no other page meets it
  // as a tab), in the test's browser (ctx) or another (browsers.mjs).
  async function open(browser = ctx) {
    const page = await browser.newPage()
    const errors = page.errors
    const requests = [] // what the page fetched (paths)
    page.raw.on('request', r => requests.push(new URL(r.url()).pathname))
    const q = `?channel=invpage-${Math.random().toString(36).slice(2)}${process.env.PKC_WEB_DEBUG ? '&debug' : ''}`
    await page.goto(server.url + q)
    await deadline(page.waitForFunction(() => document.documentElement.dataset.pkc, null, { polling: 100 }), 30000, 'the page to load pkc')
    check(await page.evaluate(() => document.documentElement.dataset.pkc) === 'ready', 'the page is ready')
    const id = await page.evaluate(() => window.pkcPeer.peerId)
    return { page, errors, requests, id, browser: browser.name }
  }
  // Playwright's argument order in both browsers (browsers.mjs).
  const waitFn = (t, fn, arg) => t.page.waitForFunction(fn, arg, { polling: 50 })
  const peersOf = (t) => t.page.evaluate(() => window.pkcPeer.peers())
  const connectedTo = (t, id, what) => deadline(waitFn(t, (id) =>
    window.pkcPeer.peers().some(p => p.peerId === id), id), 20000, what)
    .catch(async (e) => {
      console.error(`errors: ${JSON.stringify(await t.page.evaluate(() => window.pkcPeer.errors.map(e => e.message)))}`)
      throw e
    })
  // The page's own invitation UI: the button, then the link shown.
  const invite = async (t, opts = null) => {
    if (opts) return t.page.evaluate((o) => window.pkcPeer.createInvitation(o), opts)
    await t.page.click('#invite button')
    await deadline(waitFn(t, () => document.getElementById('invite-url').value), 20000,
      'the invitation link')
    return { url: await t.page.evaluate(() => document.getElementById('invite-url').value),
      qr: await t.page.evaluate(() => document.getElementById('invite-qr').innerHTML) }
  }
  const applyAnswer = async (t, text) => {
    await t.page.evaluate((v) => { document.getElementById('answer-in').value = v }, text)
    await t.page.click('#answer button')
    await deadline(waitFn(t, () => document.getElementById('answered').textContent),
      20000, 'the answer applied or refused')
    const said = await t.page.evaluate(() => {
      const el = document.getElementById('answered')
      const s = el.textContent
      el.textContent = ''
      return s
    })
    return said
  }
  const say = async (t, text) => {
    await t.page.evaluate((v) => { document.getElementById('text').value = v }, text)
    await t.page.click('#chat button')
  }
  const heard = (t, text, what) => deadline(waitFn(t, (w) =>
    document.getElementById('log').textContent.includes(w), text), 10000, what)

  // ---- 1. a page invites the native node ----
  const a = await open()
  // The QR encoder (qr.js, qrcode.mjs) is fetched when the first invitation
  // is made, not with the page.
  const qrFiles = (t) => t.requests.filter(p => /\/(qr\.js|qrcode\.mjs)$/.test(p))
  check(qrFiles(a).length === 0, `the page loads no QR encoder before an invitation: ${qrFiles(a)}`)
  const inv = await invite(a)
  check(['/qr.js', '/qrcode.mjs'].every(f => qrFiles(a).includes(f)),
    `making an invitation loads qr.js and qrcode.mjs: ${qrFiles(a)}`)
  check(inv.url.startsWith(`${server.url}#PKCI1`), `the page's invitation link: ${inv.url.slice(0, 60)}...`)
  check(/^<svg[^>]*viewBox/.test(inv.qr) && inv.qr.includes('<path'), `the page shows a QR code (SVG): ${inv.qr.slice(0, 60)}`)
  // The QR code as the page shows it, read by zbar (`pkc qr decode`).
  const shot = path.join(tmp, 'qr.png')
  await (await a.page.raw.$('#invite-qr')).screenshot({ path: shot })
  const read = spawnSync(PKC, ['qr', 'decode', shot], { encoding: 'utf8' })
  check(read.status === 0 && read.stdout.trim() === inv.url, `the QR code on the page reads as the link: ${read.stdout.slice(0, 60)} ${read.stderr}`)
  const t0 = Date.now()
  const join = spawn(PKC, ['--data', data, 'join', '--json', '-'], { env, stdio: ['pipe', 'pipe', 'pipe'] })
  join.stdin.end(`${inv.url}\n\n`)
  let joinOut = ''
  join.stdout.on('data', d => { joinOut += d })
  join.stderr.on('data', d => { joinOut += d })
  const joinExit = new Promise(res => join.on('exit', (code) => res(code)))
  const reply = await until(() => {
    const l = joinOut.split('\n').find(l => l.includes('answer_code'))
    return l && JSON.parse(l)
  }, 10000, '`pkc join` to print the answer')
  check(reply.one_step === false && reply.inviter === a.id, `pkc join read a two-step invitation from the page: ${JSON.stringify({ ...reply, answer_url: undefined, answer_code: undefined })}`)
  check(reply.answer_code.startsWith('PKCA1'), 'pkc join printed an answer code')
  await until(() => nodeErr.includes('waiting for the inviter to apply our answer (two-step)'), 5000,
    'the node to say it waits for the answer to be applied')
  check(!/dialing pkc1/.test(nodeErr), 'the node did not dial the page (it has no listener)')
  // From the answer applied (its button clicked) to the session with the
  // node established (peer:connect), on the page's clock.
  await a.page.evaluate((id) => {
    const p = window.pkcPeer
    p.addEventListener('peer:connect', (ev) => {
      if (ev.detail.peerId === id && window.nodeConnectMs === undefined) window.nodeConnectMs = performance.now()
    })
    window.answerAppliedMs = performance.now()
  }, nodeId)
  const said = await applyAnswer(a, reply.answer_url)
  check(/answer applied: connecting to/.test(said), `the page applied the node's answer: ${said}`)
  await connectedTo(a, nodeId, 'the page to connect to the node')
  const answerMs = await a.page.evaluate(() => window.nodeConnectMs - window.answerAppliedMs)
  check(answerMs > 0, `the page's own time from the answer to the session: ${answerMs}`)
  console.log(`  figure: ${BROWSER}: the page connected to the node ${Math.round(answerMs)} ms after the ` +
    `answer was applied (its button to peer:connect); ${Date.now() - t0} ms after pkc join was started`)
  check(await deadline(joinExit, 20000, 'pkc join to finish') === 0, `pkc join succeeded: ${joinOut.slice(-300)}`)
  const joined = await until(() => events.find(e => e.event === 'invite' && e.outcome === 'joined'), 10000,
    'the node to report the invitation joined')
  check(joined.peer === a.id || joined.inviter === a.id || JSON.stringify(joined).includes(a.id),
    `the node reports the room joined by the page's invitation: ${JSON.stringify(joined)}`)
  const room = jsonLines(pkc('rooms', '--json')).find(r => r.name === 'local' && !r.local) ||
    jsonLines(pkc('rooms', '--json')).find(r => r.id === reply.room)
  check(room && room.id === reply.room, `the node is in the page's room: ${JSON.stringify(room)}`)
  await until(() => nodePeers().includes(a.id), 10000, 'the node to list the page')
  pkc('send', '--room', reply.room, 'from the node to the inviting page')
  await heard(a, 'from the node to the inviting page', "the node's text on the page")
  await say(a, 'from the inviting page to the node')
  const got = await until(() => jsonLines(pkc('inbox', '--json')).find(m => m.text === 'from the inviting page to the node'),
    10000, "the page's text in the node's inbox")
  check(got.from === a.id && got.room === reply.room, `the node's inbox has the page's text: ${JSON.stringify(got)}`)
  // A document edited on both sides converges.
  pkc('doc', 'set', '--room', reply.room, 'shared', 'node', '"set by the node"')
  const pageDoc = () => a.page.evaluate(() => Array.from(window.pkcPeer.doc('shared', 'local').encodeState()))
  const asJson = (state) => {
    const d = new Y.Doc()
    Y.applyUpdate(d, Uint8Array.from(state))
    return d.getMap('state').toJSON()
  }
  await until(async () => asJson(await pageDoc()).node === 'set by the node', 10000, "the node's edit on the page")
  const ydoc = new Y.Doc()
  Y.applyUpdate(ydoc, Uint8Array.from(await pageDoc()))
  const sv = Y.encodeStateVector(ydoc)
  ydoc.getMap('state').set('page', 'set by the page')
  const diff = Array.from(Y.encodeStateAsUpdate(ydoc, sv))
  await a.page.evaluate((diff) => {
    const p = window.pkcPeer
    p.change(() => p.doc('shared', 'local').applyUpdate(Uint8Array.from(diff)))
  }, diff)
  const want = JSON.stringify({ node: 'set by the node', page: 'set by the page' })
  const sorted = (o) => JSON.stringify(o, Object.keys(o).sort())
  await until(async () => sorted(JSON.parse(pkc('doc', 'json', '--room', reply.room, 'shared'))) === want &&
    sorted(asJson(await pageDoc())) === want, 15000, 'the document to converge')
  console.log(`  page <- node: chat both ways, document converged: ${pkc('doc', 'json', '--room', reply.room, 'shared').trim()}`)

  // ---- 2. refusals ----
  const refused = async (t, what, text, words) => {
    const before = (await peersOf(t)).length
    const s = await applyAnswer(t, text)
    check(new RegExp(words).test(s), `${what}: the page says "${words}": ${s}`)
    const shown = await t.page.evaluate(() => document.getElementById('errors').textContent)
    check(shown.includes(s.replace(/^answer refused: /, '')), `${what}: shown in the page's errors`)
    check((await peersOf(t)).length === before, `${what}: connected to nobody new`)
    console.log(`  ${what}: ${s}`)
  }
  // A second answer to the used single-use invitation (the node's own
  // answer again, then a fresh node's).
  await refused(a, 'the same answer again', reply.answer_code, 'answer refused: .*single-use and already used')
  // A tampered answer: one character changed.
  const c2 = await invite(a, { room: 'local', singleUse: true })
  const other = path.join(tmp, 'b')
  const nodeB = spawn(PKC, ['--data', other, 'up', '--json', '--no-local', '--no-lan'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  process.on('exit', () => { try { nodeB.kill('SIGKILL') } catch {} })
  const pkcB = (...args) => {
    const r = spawnSync(PKC, ['--data', other, ...args], { env, encoding: 'utf8', timeout: 60000, input: args.includes('-') ? `${args.at(-2)}\n\n` : undefined })
    if (r.status !== 0) throw new Error(`pkc ${args.join(' ')}: ${r.stderr}${r.stdout}`)
    return r.stdout
  }
  await until(() => spawnSync(PKC, ['--data', other, 'status'], { env }).status === 0, 20000, 'node b to start')
  const answerOf = (url) => {
    const r = spawnSync(PKC, ['--data', other, 'join', '--no-wait', '--json', '-'], { env, encoding: 'utf8', input: `${url}\n\n`, timeout: 30000 })
    if (r.status !== 0) throw new Error(`pkc join: ${r.stderr}`)
    return JSON.parse(r.stdout.split('\n').find(l => l.includes('answer_code'))).answer_code
  }
  const ans2 = answerOf(c2.url)
  const flip = ans2[60] === 'A' ? 'B' : 'A'
  await refused(a, 'a tampered answer', ans2.slice(0, 60) + flip + ans2.slice(61), 'answer refused: answer: .*(tampered|MAC|signature)')
  await refused(a, 'an invitation given as an answer', c2.url, 'answer refused: answer: this is an invitation')
  // An answer to an invitation that expired (by the page's clock, no skew).
  const c3 = await invite(a, { room: 'local', expiresInMs: 1000 })
  const ans3 = answerOf(c3.url)
  await until(() => Date.now() > c3.expires + 50, 5000, 'the invitation to expire')
  await refused(a, 'an answer to an expired invitation', ans3, 'answer refused: answer: the invitation it answers: .*expired')
  check(!nodePeers().includes(JSON.parse(pkcB('status', '--json')).peer_id) && (await peersOf(a)).length === 1,
    'the refused answers connected nobody')
  nodeB.kill('SIGTERM')
  // An answer to a's invitation applied on another page.
  const stranger = await open()
  await refused(stranger, "an answer to another page's invitation", ans2, "answer refused: answer: it answers invitation [0-9a-f]{16}, which is not one of this page's")
  const pages = [a, stranger]

  // Parts 3 and 4 in the Chromium run only.
  if (BROWSER === 'chromium') {
    // ---- 3. a page invites another page (Chromium, separate channels) ----
    const b = await open()
    pages.push(b)
    const c4 = await invite(b, { room: 'local' })
    check(typeof c4.qr === 'string' && c4.qr.startsWith('<svg'), 'createInvitation gives a QR code')
    // The page that refused an answer in part 2 is the invitee here.
    const cPage = stranger
    // Through the page's boxes: the link pasted in Join gives the answer;
    // the answer pasted in the inviter's answer box is applied.
    await cPage.page.evaluate((u) => { document.getElementById('code').value = u }, c4.url)
    await cPage.page.click('#join button')
    await deadline(waitFn(cPage, () => document.getElementById('answer-out').value), 20000, 'the answer shown')
    const answerShown = await cPage.page.evaluate(() => document.getElementById('answer-out').value)
    const joinLine = await cPage.page.evaluate(() => document.getElementById('joined').textContent)
    check(answerShown.startsWith('PKCA1') && joinLine.includes(`send this answer back to the inviter ${b.id}`),
      `the invitee page shows its answer: ${joinLine}`)
    const t1 = Date.now()
    const applied = await applyAnswer(b, answerShown)
    check(applied === `answer applied: connecting to ${cPage.id} in room "local"`, `the inviter page applied it: ${applied}`)
    await connectedTo(b, cPage.id, 'the inviter page to connect to the invitee page')
    await connectedTo(cPage, b.id, 'the invitee page to connect to the inviter page')
    console.log(`  page -> page (Chromium): connected ${Date.now() - t1} ms after the answer`)
    await deadline(waitFn(cPage, (id) => document.getElementById('joined').textContent.includes(`connected to the inviter ${id}`), b.id),
      10000, 'the Join line to say connected')
    await say(b, 'inviter page to invitee page')
    await heard(cPage, 'inviter page to invitee page', 'the inviter page heard')
    await say(cPage, 'invitee page to inviter page')
    await heard(b, 'invitee page to inviter page', 'the invitee page heard')

    // A multi-use invitation: the first answer takes the kept connection, the
    // next gets one of its own with the invitation's ICE credentials.
    const multi = await invite(b, { room: 'local', singleUse: false })
    for (const n of [1, 2]) {
      const t = await open()
      const r = await t.page.evaluate((u) => window.pkcPeer.acceptInvitation(u), multi.url)
      await b.page.evaluate((c) => window.pkcPeer.acceptAnswer(c), r.answer.code)
      await connectedTo(b, t.id, `answer ${n} to a multi-use invitation: the inviter connects`)
      await connectedTo(t, b.id, `answer ${n} to a multi-use invitation: the invitee connects`)
      await say(t, `multi-use invitee ${n}`)
      await heard(b, `multi-use invitee ${n}`, `the inviter heard multi-use invitee ${n}`)
      check(t.errors.length === 0, `multi-use invitee ${n}: no page error: ${t.errors.join('; ')}`)
    }
    console.log('  a multi-use invitation of a page: two pages connected with it')

    // ---- 4. Chromium and Firefox ESR, each way ----
    ff = fs.existsSync(FIREFOX) ? await launch('firefox') : null
    if (!ff) {
      console.log('  Firefox ESR is not installed: the Chromium <-> Firefox case is not run')
    } else {
      for (const [inviterIn, inviteeIn] of [['chromium', 'firefox'], ['firefox', 'chromium']]) {
        const x = await open(inviterIn === 'chromium' ? ctx : ff)
        const y = await open(inviteeIn === 'chromium' ? ctx : ff)
        const c = await invite(x, { room: 'local', singleUse: inviterIn !== 'firefox' })
        const r = await y.page.evaluate((u) => window.pkcPeer.acceptInvitation(u), c.url)
        check(r.answer && r.answer.code.startsWith('PKCA1'), `${inviteeIn} made an answer`)
        const t2 = Date.now()
        await x.page.evaluate((c) => window.pkcPeer.acceptAnswer(c), r.answer.code)
        await connectedTo(x, y.id, `${inviterIn} (inviter) to connect to ${inviteeIn}`)
        await connectedTo(y, x.id, `${inviteeIn} (invitee) to connect to ${inviterIn}`)
        console.log(`  ${inviterIn} invites ${inviteeIn}: connected ${Date.now() - t2} ms after the answer`)
        await say(x, `hello from ${inviterIn}`)
        await heard(y, `hello from ${inviterIn}`, `${inviteeIn} heard ${inviterIn}`)
        await say(y, `hello from ${inviteeIn}`)
        await heard(x, `hello from ${inviteeIn}`, `${inviterIn} heard ${inviteeIn}`)
        if (inviterIn === 'firefox') {
          // Firefox's invitation is multi-use: a second Chromium page joins
          // with it (a connection of its own, the invitation's ICE
          // credentials set by the page).
          const z = await open(ctx)
          const r2 = await z.page.evaluate((u) => window.pkcPeer.acceptInvitation(u), c.url)
          await x.page.evaluate((c) => window.pkcPeer.acceptAnswer(c), r2.answer.code)
          await connectedTo(x, z.id, 'firefox (inviter) to connect to a second chromium page')
          await say(z, 'the second chromium page')
          await heard(x, 'the second chromium page', 'firefox heard the second chromium page')
          console.log('  firefox\'s multi-use invitation: a second chromium page connected with it')
        }
        for (const t of [x, y]) check(t.errors.length === 0, `${inviterIn}/${inviteeIn}: no page error: ${t.errors.join('; ')}`)
      }
    }
  }
  for (const t of pages) check(t.errors.length === 0, `no page error: ${t.errors.join('; ')}`)
  if (ff) await ff.close()
  ff = null
  await ctx.close()
  ctx = null
  node.kill('SIGTERM')
  server.child.kill('SIGTERM')
} catch (e) {
  check(false, e.stack || String(e))
  console.error(`node stderr (last lines):\n${nodeErr.split('\n').slice(-30).join('\n')}`)
  if (ctx) await ctx.close().catch(() => {})
  if (ff) await ff.close().catch(() => {})
}
finish(BROWSER === 'chromium' ? 'web.invite_page' : `web.invite_page.${BROWSER}`)
