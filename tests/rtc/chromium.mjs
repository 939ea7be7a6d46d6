// pkc against headless Chromium in the four combinations (C offers or
// answers; C or the browser opens the channel), with Chromium's default
// mDNS-hidden host candidates: text, binary, empty and 256 KiB messages,
// channel options read back on both sides, negotiated channels, closing.
import fs from 'node:fs'
import path from 'node:path'
import { check, chromium, deadline, failed, pkc } from './lib.mjs'

const here = path.dirname(new URL(import.meta.url).pathname)
const pageJs = fs.readFileSync(path.join(here, 'page.js'), 'utf8')
const T = 30000

const ctx = await chromium()
async function newPage() {
  const page = await ctx.newPage()
  await page.addScriptTag({ content: pageJs })
  await page.evaluate(() => T.newPc())
  return page
}

function problems(list, what) {
  check(list.length === 0, `${what}: ${list.join('; ')}`)
}

async function finish(page, c, what) {
  // The browser closes; the C peer must notice and exit cleanly.
  await page.evaluate(() => T.close())
  const st = await c.next(m => m.type === 'state' && m.state === 'closed', T, `${what}: C sees the close`)
  check(st.state === 'closed', `${what}: closed`)
  const ex = await deadline(c.exited, T, `${what}: pkc exits`)
  check(ex.code === 0, `${what}: pkc exit status ${ex.code} (stderr: ${c.stderr.slice(-2000)})`)
  await page.close()
}

async function scenario(name, fn) {
  const t0 = Date.now()
  let c
  try {
    c = await fn(x => { c = x; return x })
  } catch (e) {
    check(false, `${name}: ${e.message}${c ? `\n--- pkc stderr ---\n${c.stderr.slice(-3000)}` : ''}`)
    c?.kill()
  }
  console.log(`${name}: ${Date.now() - t0} ms`)
}

// 1. The browser offers and opens channels (reliable, unordered with
// retransmit limit, with lifetime, with a protocol, a negotiated one); C
// answers and echoes. C's view of each channel's options is checked.
await scenario('browser offers, browser opens', async keep => {
  const page = await newPage()
  await page.evaluate(() => {
    T.create('a', {})
    T.create('b', { ordered: false, maxRetransmits: 2 })
    T.create('c', { maxPacketLifeTime: 1500, protocol: 'proto-c' })
    T.create('neg', { negotiated: true, id: 7 })
    return true
  })
  const offer = await page.evaluate(() => T.offer())
  const c = keep(pkc(['rtc', 'echo', '--open', 'neg,negotiated=7', '--timeout', '60']))
  c.send({ type: 'offer', sdp: offer })
  const ans = await c.next('answer', T)
  check(/a=setup:active/.test(ans.sdp), 'C answers a=setup:active')
  await page.evaluate(sdp => T.applyAnswer(sdp), ans.sdp)
  problems(await deadline(page.evaluate(() => T.echo('a', true, false)), T, 'echo on a'), 'a')
  problems(await deadline(page.evaluate(() => T.echo('a', true, true)), T, 'burst on a'), 'a burst')
  problems(await deadline(page.evaluate(() => T.echo('b', false)), T, 'echo on b'), 'b')
  problems(await deadline(page.evaluate(() => T.echo('c', false)), T, 'echo on c'), 'c')
  // Partially reliable channels carry small messages here (see scenario 2).
  problems(await deadline(page.evaluate(() => T.echo('neg', true)), T, 'echo on negotiated'), 'neg')
  const seen = l => c.lines.find(m => m.type === 'channel' && m.how === 'remote' && m.label === l)
  const a = seen('a'), b = seen('b'), cc = seen('c')
  check(a && a.ordered && a.max_retransmits === -1 && a.max_lifetime_ms === -1, `C sees a reliable ordered: ${JSON.stringify(a)}`)
  check(b && !b.ordered && b.max_retransmits === 2, `C sees b unordered, 2 retransmits: ${JSON.stringify(b)}`)
  check(cc && cc.ordered && cc.max_lifetime_ms === 1500 && cc.protocol === 'proto-c', `C sees c with lifetime and protocol: ${JSON.stringify(cc)}`)
  // C answered a=setup:active: C is the DTLS client (even ids), Chromium the server (odd).
  check(a && a.id % 2 === 1, `the browser (DTLS server) used an odd stream id: ${a && a.id}`)
  // Closing one channel: C answers the stream reset, the browser's channel closes.
  const rs = await deadline(page.evaluate(() => T.closeChannel('b')), T, 'close of b')
  check(rs === 'closed', 'channel b closed in the browser')
  await c.next(m => m.type === 'close' && m.label === 'b', T, 'C reports b closed')
  problems(await deadline(page.evaluate(() => T.echo('a', false)), T, 'a after closing b'), 'a after b closed')
  // The browser restarts ICE: C answers the new offer with new credentials
  // and the channels keep working.
  const ufrag = sdp => (sdp.match(/a=ice-ufrag:(\S+)/) || [])[1]
  const offer2 = await page.evaluate(async () => { T.pc.restartIce(); return T.offer() })
  check(ufrag(offer2) !== ufrag(offer), 'Chromium restarts with a new ufrag')
  c.send({ type: 'offer', sdp: offer2 })
  const ans2 = await c.next(m => m.type === 'answer' && m.sdp !== ans.sdp, T, 'C answers the restart')
  check(ufrag(ans2.sdp) !== ufrag(ans.sdp), 'C answers the restart with a new ufrag')
  await page.evaluate(sdp => T.applyAnswer(sdp), ans2.sdp)
  problems(await deadline(page.evaluate(() => T.echo('a', true)), T, 'a after the restart'), 'a after restart')
  const st = await deadline(page.evaluate(async () => {
    const stats = await T.pc.getStats()
    let pair = null
    stats.forEach(r => { if (r.type === 'transport') pair = r.selectedCandidatePairId })
    return { state: T.pc.connectionState, ice: T.pc.iceConnectionState, pair }
  }), T, 'browser stats')
  check(st.state === 'connected', `browser connected after the restart: ${JSON.stringify(st)}`)
  await finish(page, c, 'scenario 1')
  return c
})

// 2. The browser offers; C answers and opens two channels: one with options
// (unordered, 3 retransmits, a protocol), one reliable for the big messages.
// (A 256 KiB message on a partially reliable channel may be abandoned when
// a socket buffer overflows: that is what partial reliability means.)
await scenario('browser offers, C opens', async keep => {
  const page = await newPage()
  // An offer needs a data section: a negotiated channel makes one without DCEP.
  await page.evaluate(() => T.create('placeholder', { negotiated: true, id: 900 }))
  const offer = await page.evaluate(() => T.offer())
  const c = keep(pkc(['rtc', 'echo', '--open', 'from-c,unordered,rtx=3,protocol=p2', '--open', 'rel-c', '--timeout', '60']))
  c.send({ type: 'offer', sdp: offer })
  const ans = await c.next('answer', T)
  await page.evaluate(sdp => T.applyAnswer(sdp), ans.sdp)
  const info = await deadline(page.evaluate(() => T.waitChannel('from-c')), T, 'the browser sees the channel C opened')
  check(info.ordered === false && info.maxRetransmits === 3 && info.protocol === 'p2', `browser sees C's options: ${JSON.stringify(info)}`)
  check(info.id % 2 === 0, `C (DTLS client) used an even stream id: ${info.id}`)
  problems(await deadline(page.evaluate(() => T.echo('from-c', false)), T, 'echo on from-c'), 'from-c')
  await deadline(page.evaluate(() => T.waitChannel('rel-c')), T, 'the browser sees rel-c')
  problems(await deadline(page.evaluate(() => T.echo('rel-c', true)), T, 'echo on rel-c'), 'rel-c')
  problems(await deadline(page.evaluate(() => T.echo('rel-c', true, true)), T, 'burst on rel-c'), 'rel-c burst')
  await finish(page, c, 'scenario 2')
  return c
})

// 3. C offers and opens "echo"; the browser answers.
await scenario('C offers, C opens', async keep => {
  const page = await newPage()
  const c = keep(pkc(['rtc', 'echo', '--offer', '--timeout', '60']))
  const off = await c.next('offer', T)
  check(/a=setup:actpass/.test(off.sdp) && /a=ice-options:trickle/.test(off.sdp), 'C offers actpass and trickle')
  const answer = await page.evaluate(sdp => T.answer(sdp), off.sdp)
  check(/a=setup:active/.test(answer), 'Chromium answers active')
  c.send({ type: 'answer', sdp: answer })
  const info = await deadline(page.evaluate(() => T.waitChannel('echo')), T, 'the browser sees "echo"')
  check(info.ordered === true && info.maxRetransmits === null, `echo is reliable and ordered: ${JSON.stringify(info)}`)
  problems(await deadline(page.evaluate(() => T.echo('echo', true)), T, 'echo on echo'), 'echo')
  problems(await deadline(page.evaluate(() => T.echo('echo', true, true)), T, 'burst on echo'), 'echo burst')
  await finish(page, c, 'scenario 3')
  return c
})

// 4. C offers without a channel; the browser answers and opens one.
await scenario('C offers, browser opens', async keep => {
  const page = await newPage()
  const c = keep(pkc(['rtc', 'echo', '--offer', '--no-open', '--timeout', '60']))
  const off = await c.next('offer', T)
  const answer = await page.evaluate(sdp => T.answer(sdp), off.sdp)
  c.send({ type: 'answer', sdp: answer })
  await deadline(page.evaluate(async () => {
    while (T.pc.sctp === null || T.pc.sctp.state !== 'connected') await new Promise(r => setTimeout(r, 10))
    return true
  }), T, 'SCTP up in the browser')
  await page.evaluate(() => { T.create('b4', { maxPacketLifeTime: 1000 }); T.create('r4', {}); return true })
  problems(await deadline(page.evaluate(() => T.echo('b4', false)), T, 'echo on b4'), 'b4')
  problems(await deadline(page.evaluate(() => T.echo('r4', true)), T, 'echo on r4'), 'r4')
  const seen = c.lines.find(m => m.type === 'channel' && m.label === 'b4')
  check(seen && seen.max_lifetime_ms === 1000 && seen.id % 2 === 0, `C sees b4 (lifetime 1000, even id from the DTLS client): ${JSON.stringify(seen)}`)
  await finish(page, c, 'scenario 4')
  return c
})

// 5. ICE-lite listener: C never sees the browsers' offers. Two pages apply
// the listener's answer to their own offers and connect to the same port.
await scenario('browsers connect to a C ICE-lite listener', async keep => {
  const c = keep(pkc(['rtc', 'echo', '--listen', '--timeout', '60']))
  const ans = await c.next('answer', T)
  check(/a=ice-lite/.test(ans.sdp) && /a=setup:passive/.test(ans.sdp), 'listener answer is ice-lite and passive')
  const pages = []
  for (let i = 0; i < 2; i++) {
    const page = await newPage()
    await page.evaluate(() => T.create('lite', {}))
    await page.evaluate(() => T.offer())
    await page.evaluate(sdp => T.applyAnswer(sdp), ans.sdp)
    pages.push(page)
  }
  for (const page of pages)
    problems(await deadline(page.evaluate(() => T.echo('lite', true)), T, 'echo through the listener'), 'lite')
  await c.next(m => m.type === 'incoming' && m.count === 2, T, 'two incoming connections')
  for (const page of pages) { await page.evaluate(() => T.close()); await page.close() }
  const ex = await deadline(c.exited, T, 'the listener exits after both closed')
  check(ex.code === 0, `listener exit status ${ex.code}`)
  return c
})

await ctx.close()
if (failed()) { console.error(`${failed()} check(s) failed`); process.exit(1) }
console.log('all Chromium interop checks passed')
process.exit(0)
