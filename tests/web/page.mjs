// web.page: the landing page itself (docs/web.md, "The page"), in headless
// Chromium on the page `pkc web` serves, in a network namespace of its own
// (as web.invite_native: a native node takes part in the scanning case).
//  1. Two tabs on a ?channel= of their own connect; each one's peer list
//     shows the other as connected, direct, with a latency; the dashboard
//     shows 1 peer, and after a burst of chat messages from A, messages per
//     second in on B and out on A above 0 and a latency in ms; peer.metrics()
//     has the native node's field names (`pkc status --json`).
//  2. Screenshots of A at a desktop (1280x800) and a phone (390x844)
//     viewport, written beside the pkc binary (paths printed); at 390 px
//     and at 360 px nothing overflows sideways; every control has an
//     accessible name (Chromium's own accessibility tree).
//  3. Scanning: a native node's invitation link as a QR code (`pkc qr
//     encode --png`), turned into a y4m video here and given to Chromium as
//     its camera; Scan on a fresh page reads it and joins: the page shows
//     the inviter's peer id connected, and lists it as a direct peer.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import readline from 'node:readline'
import zlib from 'node:zlib'
import { inNetns } from './browsers.mjs'
import { check, finish, needDist, pkcWeb, chromium, deadline, tmpdir, PKC, until } from './lib.mjs'

needDist()
// The tabs (1, 2) run as web.tabs does, on the host's own addresses; the scan (3) with its native node in a network
// namespace of its own, as web.invite_native (the same script, again, with
// PKC_TEST_NETNS set).
const SCAN = !!process.env.PKC_TEST_NETNS
function scanInNamespace() {
  for (const flags of ['-n', '-rn']) {
    if (spawnSync('unshare', [flags, 'true']).status !== 0) continue
    const r = spawnSync('unshare', [flags, process.execPath, ...process.argv.slice(1)],
      { stdio: 'inherit', env: { ...process.env, PKC_TEST_NETNS: '1' } })
    return r.status ?? 1
  }
  console.error('SKIP (scanning only): cannot make a network namespace (unshare -n)')
  return 77
}
// lo, and a veth pair with a default route (browsers.mjs inNetns):
// Chromium gathers no candidate on loopback alone.
if (SCAN) inNetns({ veth: true })
const OUT = path.dirname(path.resolve(PKC)) // the build directory
const tmp = tmpdir('pkc-web-page-')
const FLAGS = ['--disable-features=WebRtcHideLocalIpsWithMdns']


async function open(ctx, url) {
  const page = await ctx.newPage()
  const errors = []
  page.on('pageerror', e => errors.push(String(e)))
  page.on('console', m => {
    if (m.type() === 'error') errors.push(m.text())
    if (process.env.PKC_WEB_DEBUG) console.log(`[page] ${m.type()}: ${m.text()}`)
  })
  await page.goto(url)
  await deadline(page.waitForFunction(() => document.documentElement.dataset.pkc), 30000, 'the page to load pkc')
  check(await page.evaluate(() => document.documentElement.dataset.pkc) === 'ready',
    `the page is ready: ${await page.textContent('#status')}`)
  const id = await page.evaluate(() => window.pkcPeer.peerId)
  return { page, errors, id }
}

// 8-bit greyscale PNG (what `pkc qr encode --grey8` writes) to pixels.
function readGreyPng(file) {
  const b = fs.readFileSync(file)
  let at = 8, w = 0, h = 0
  const idat = []
  while (at < b.length) {
    const len = b.readUInt32BE(at), type = b.toString('latin1', at + 4, at + 8)
    const data = b.subarray(at + 8, at + 8 + len)
    if (type === 'IHDR') {
      w = data.readUInt32BE(0)
      h = data.readUInt32BE(4)
      if (data[8] !== 8 || data[9] !== 0 || data[12] !== 0) throw new Error('not an 8-bit greyscale PNG')
    } else if (type === 'IDAT') idat.push(data)
    at += 12 + len
  }
  const raw = zlib.inflateSync(Buffer.concat(idat))
  const px = new Uint8Array(w * h)
  for (let y = 0; y < h; y++) {
    const f = raw[y * (w + 1)], row = raw.subarray(y * (w + 1) + 1, (y + 1) * (w + 1))
    for (let x = 0; x < w; x++) {
      const a = x ? px[y * w + x - 1] : 0, up = y ? px[(y - 1) * w + x] : 0
      const c = x && y ? px[(y - 1) * w + x - 1] : 0
      let v = row[x]
      if (f === 1) v += a
      else if (f === 2) v += up
      else if (f === 3) v += (a + up) >> 1
      else if (f === 4) {
        const p = a + up - c, pa = Math.abs(p - a), pb = Math.abs(p - up), pc = Math.abs(p - c)
        v += pa <= pb && pa <= pc ? a : pb <= pc ? up : c
      }
      px[y * w + x] = v & 255
    }
  }
  return { w, h, px }
}

// A one-frame y4m video (4:2:0): the picture centred on white, its size
// even; Chromium's fake camera plays it in a loop.
function y4m(img, file) {
  const W = Math.max(640, (img.w + 64 + 1) & ~1), H = Math.max(480, (img.h + 64 + 1) & ~1)
  const Y = Buffer.alloc(W * H, 235)
  const ox = (W - img.w) >> 1, oy = (H - img.h) >> 1
  for (let y = 0; y < img.h; y++)
    for (let x = 0; x < img.w; x++) Y[(oy + y) * W + ox + x] = 16 + Math.round(img.px[y * img.w + x] * 219 / 255)
  const UV = Buffer.alloc((W / 2) * (H / 2) * 2, 128)
  fs.writeFileSync(file, Buffer.concat([Buffer.from(`YUV4MPEG2 W${W} H${H} F10:1 Ip A1:1 C420jpeg\nFRAME\n`), Y, UV]))
  return { W, H }
}

const server = await pkcWeb()
let ctx, node, node2
try {
  if (!SCAN) await tabs()
  else await scan()
} catch (e) {
  check(false, e.stack || String(e))
} finally {
  if (ctx) await ctx.close().catch(() => {})
  if (node) node.kill('SIGTERM')
  if (node2) node2.kill('SIGTERM')
  server.child.kill('SIGTERM')
}
if (!SCAN) {
  const rc = scanInNamespace()
  check(rc === 0 || rc === 77, `the scanning case (in a namespace) passes: exit ${rc}`)
}
finish(SCAN ? 'web.page (scanning)' : 'web.page')

async function tabs() {
  // ---- 1. two tabs, the peer list and the dashboard ----
  ctx = await chromium(FLAGS)
  const url = `${server.url}?channel=ui-page-${Math.random().toString(36).slice(2)}`
  const a = await open(ctx, url)
  const b = await open(ctx, url)
  check(a.id !== b.id, 'the tabs have different peer ids')
  for (const [x, y] of [[a, b], [b, a]]) {
    const li = await until(() => x.page.evaluate((id) => {
      const e = document.querySelector(`#peers li[data-peer="${id}"]`)
      const l = e && e.querySelector('[data-latency]')
      return e && e.dataset.state === 'connected' && l ? { route: e.dataset.route, latency: Number(l.dataset.latency),
        text: e.textContent } : null
    }, y.id), 30000, 'the peer list to show the other tab with a latency')
    check(li.route === 'direct', `the other tab is direct: ${li.text}`)
    check(Number.isFinite(li.latency) && li.latency >= 0, `with a latency: ${li.text}`)
    check(/\d ms/.test(li.text), `shown in ms: ${li.text}`)
  }
  await until(() => a.page.textContent('#m-peers').then(t => t === '1'), 5000, 'the dashboard to show 1 peer')
  // A burst of chat messages from A.
  for (let i = 0; i < 20; i++) {
    await a.page.fill('#text', `burst ${i}`)
    await a.page.click('#chat button')
  }
  await until(() => b.page.textContent('#log').then(t => t.includes('burst 19')), 10000, 'B to get the burst')
  const num = async (p, id) => Number.parseFloat(await p.textContent(id))
  const inB = await until(async () => { const v = await num(b.page, '#m-msg-in'); return v > 0 && v }, 10000,
    'B\'s messages/s in to move')
  const outA = await until(async () => { const v = await num(a.page, '#m-msg-out'); return v > 0 && v }, 10000,
    'A\'s messages/s out to move')
  check(inB > 0 && outA > 0, `messages/s move: B in ${inB}, A out ${outA}`)
  check(await num(b.page, '#m-bytes-in') > 0, 'B\'s bytes/s in is above 0')
  const lat = await until(() => a.page.textContent('#m-latency').then(t => /^\d+(\.\d+)? ms$/.test(t) && t), 30000,
    'the dashboard\'s latency to be a number')
  check(true, `latency ${lat}`)
  const m = await a.page.evaluate(() => window.pkcPeer.metrics())
  const keys = (o) => Object.keys(o).sort().join(',')
  check(['connected_peers', 'total_connections', 'messages_per_second', 'bytes_per_second', 'average_latency_ms']
    .every(k => typeof m.network[k] === 'number'), `metrics().network has the node's fields: ${keys(m.network)}`)
  check(['state_bytes', 'pending_updates', 'conflicts_resolved', 'last_sync_ms'].every(k => typeof m.sync[k] === 'number'),
    `metrics().sync has the node's fields: ${keys(m.sync)}`)
  check(m.health.status === 'connected' && m.health.healthy === true && m.health.uptime_ms > 0 &&
    typeof m.health.reconnections === 'number' && typeof m.health.errors === 'number' &&
    typeof m.health.last_error === 'string', `metrics().health: ${JSON.stringify(m.health)}`)
  check(m.network.connected_peers === 1 && m.network.total_connections >= 1, `one peer: ${JSON.stringify(m.network)}`)
  check(m.messages.sent === 20, `20 texts sent: ${JSON.stringify(m.messages)}`)
  // The note: an edit from B reaches A; A's last sync is set.
  await b.page.fill('#note', 'a note from B')
  await until(() => a.page.evaluate(() => document.getElementById('note').value === 'a note from B'), 10000,
    'the note to reach A')
  await until(() => a.page.evaluate(() => window.pkcPeer.metrics().sync.last_sync_ms > 0), 5000, 'A\'s last sync')
  await until(() => a.page.textContent('#m-last-sync').then(t => t !== 'never'), 5000, 'the dashboard\'s last sync')
  // A's edit then reaches B, which changed the note since its last peer's
  // update: one conflict resolved, as the node counts them (node_doc.c).
  check(await b.page.evaluate(() => window.pkcPeer.metrics().sync.conflicts_resolved) === 0, 'B: no conflict yet')
  await a.page.fill('#note', 'a note from B, and A')
  await until(() => b.page.evaluate(() => window.pkcPeer.metrics().sync.conflicts_resolved === 1), 10000,
    'B to count a conflict resolved')
  await until(() => b.page.textContent('#m-conflicts').then(t => t === '1'), 5000, 'B\'s dashboard to show it')
  const sync = await b.page.evaluate(() => window.pkcPeer.metrics().sync)
  check(sync.state_bytes > 'a note from B, and A'.length && sync.pending_updates === 0, `B's sync: ${JSON.stringify(sync)}`)

  // ---- 2. screenshots, overflow, accessible names ----
  // With an invitation made (its link, Copy, expiry and QR code shown).
  await a.page.click('#invite button')
  await until(() => a.page.evaluate(() => document.getElementById('invite-url').value.includes('#PKCI1') &&
    document.querySelector('#invite-qr svg') !== null), 15000, 'A to show its invitation')
  await a.page.setViewportSize({ width: 1280, height: 800 })
  // The graphs redrawn at this size (once a second).
  await a.page.waitForFunction(() => [...document.querySelectorAll('.graph canvas')].every(c =>
    c.width === Math.max(1, Math.round(c.clientWidth * devicePixelRatio))), null, { timeout: 5000 })
  const desktop = path.join(OUT, 'web-page-desktop.png')
  await a.page.screenshot({ path: desktop, fullPage: true })
  console.log(`screenshot (desktop, 1280x800): ${desktop}`)
  for (const width of [390, 360]) {
    await a.page.setViewportSize({ width, height: 844 })
    const o = await a.page.evaluate(() => ({ sw: document.scrollingElement.scrollWidth, iw: innerWidth }))
    check(o.sw <= o.iw, `no horizontal overflow at ${width} px: scrollWidth ${o.sw}, innerWidth ${o.iw}`)
  }
  await a.page.setViewportSize({ width: 390, height: 844 })
  await a.page.waitForFunction(() => [...document.querySelectorAll('.graph canvas')].every(c =>
    c.width === Math.max(1, Math.round(c.clientWidth * devicePixelRatio))), null, { timeout: 5000 })
  const phone = path.join(OUT, 'web-page-phone.png')
  await a.page.screenshot({ path: phone, fullPage: true })
  console.log(`screenshot (phone, 390x844): ${phone}`)
  const phoneTop = path.join(OUT, 'web-page-phone-top.png')
  await a.page.evaluate(() => window.scrollTo(0, 0))
  await a.page.screenshot({ path: phoneTop })
  console.log(`screenshot (phone, 390x844, the first screen): ${phoneTop}`)
  const cdp = await ctx.newCDPSession(a.page)
  const { nodes } = await cdp.send('Accessibility.getFullAXTree')
  const controls = nodes.filter(n => !n.ignored && ['textbox', 'button', 'searchbox', 'combobox', 'checkbox']
    .includes(n.role && n.role.value))
  const unnamed = controls.filter(n => !(n.name && String(n.name.value).trim()))
  check(controls.filter(n => n.role.value === 'textbox').length >= 3, `the inputs are in the tree (${controls.length} controls)`)
  check(unnamed.length === 0, `every control has an accessible name: unnamed ${JSON.stringify(unnamed.map(n => n.role.value))}`)
  // Shown ones: a hidden element (an invitation's link before one is made) is in no tree.
  const inputs = await a.page.evaluate(() => [...document.querySelectorAll('input, textarea, select')]
    .filter(e => e.checkVisibility()).map(e => e.id))
  const named = new Set(controls.filter(n => n.role.value !== 'button').map(n => n.backendDOMNodeId))
  check(inputs.length === named.size, `every input is a named control: ${inputs.join(', ')} (${named.size} named)`)
  // Text contrast (WCAG 2 AA: 4.5:1, 3:1 for large text) of every visible
  // element with text of its own, against the first opaque background
  // behind it; disabled controls are exempt, as WCAG says.
  const low = await a.page.evaluate(() => {
    const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number)
    const lum = ([r, g, b]) => {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4 }
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b)
    }
    const bg = (e) => {
      for (; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor)
        if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3)
      }
      return [255, 255, 255]
    }
    const out = []
    for (const e of document.querySelectorAll('body *')) {
      if (!e.checkVisibility() || e.closest(':disabled')) continue
      if (![...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue
      const st = getComputedStyle(e)
      const l1 = lum(rgb(st.color)), l2 = lum(bg(e))
      const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05)
      const size = parseFloat(st.fontSize), large = size >= 24 || (size >= 18.66 && Number(st.fontWeight) >= 700)
      if (ratio < (large ? 3 : 4.5)) out.push(`${e.tagName.toLowerCase()}#${e.id}.${e.className} "${e.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`)
    }
    return out
  })
  check(low.length === 0, `text contrast at least 4.5:1: ${low.join('; ')}`)
  // Keyboard: Tab from the start reaches the Join box, then its button.
  await a.page.keyboard.press('Tab')
  const order = []
  for (let i = 0; i < 14; i++) {
    order.push(await a.page.evaluate(() => document.activeElement.id || document.activeElement.textContent.trim()))
    await a.page.keyboard.press('Tab')
  }
  check(order.includes('code') && order.includes('scan') && order.includes('text'),
    `the controls are reached with Tab: ${order.join(', ')}`)
  for (const t of [a, b]) check(t.errors.length === 0, `no page errors: ${t.errors.join('; ')}`)
  await ctx.close()
  ctx = null
}

async function scan() {
  // ---- 3. scanning a native node's invitation ----
  const xdg = path.join(tmp, 'xdg')
  fs.mkdirSync(xdg, { mode: 0o700 })
  const data = path.join(tmp, 'n')
  const env = { ...process.env, XDG_RUNTIME_DIR: xdg }
  node = spawn(PKC, ['--data', data, 'up', '--json', '--no-local', '--no-lan', '--room', 'scan test room'],
    { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let nodeErr = ''
  node.stderr.on('data', d => { nodeErr += d })
  const events = []
  readline.createInterface({ input: node.stdout }).on('line', l => { try { events.push(JSON.parse(l)) } catch {} })
  const pkc = (...args) => {
    const r = spawnSync(PKC, ['--data', data, ...args], { env, encoding: 'utf8', timeout: 30000 })
    if (r.status !== 0) throw new Error(`pkc ${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }
  const up = await until(() => events.find(e => e.event === 'up'), 30000, `the node to start: ${nodeErr}`)
  const room = pkc('rooms', '--json').split('\n').filter(Boolean).map(l => JSON.parse(l)).find(r => !r.local)
  const inv = JSON.parse(pkc('invite', '--room', room.id, '--url-base', server.url, '--json', '--single-use', '--one-step'))
  const png = path.join(tmp, 'invite.png')
  pkc('qr', 'encode', '--png', png, '--grey8', '--module', '4', inv.url)
  const video = path.join(tmp, 'invite.y4m')
  const dims = y4m(readGreyPng(png), video)
  console.log(`the invitation's QR code as the camera: ${dims.W}x${dims.H}, ${inv.url.length} characters`)
  ctx = await chromium([...FLAGS, '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    `--use-file-for-fake-video-capture=${video}`])
  const s = await open(ctx, `${server.url}?channel=ui-scan-${Math.random().toString(36).slice(2)}`)
  const detector = await s.page.evaluate(async () => typeof BarcodeDetector !== 'undefined' &&
    (await BarcodeDetector.getSupportedFormats()).includes('qr_code'))
  console.log(`decoder: ${detector ? 'BarcodeDetector' : 'jsQR'}`)
  check(detector || fs.existsSync(path.join(path.dirname(new URL(import.meta.url).pathname), '../../web/dist/jsQR.js')),
    'a QR decoder: BarcodeDetector, or web/dist/jsQR.js (npm jsqr 1.4.0, copied by make web)')
  await s.page.click('#scan')
  const joined = await until(() => s.page.textContent('#joined').then(t => t.includes('connected to the inviter') && t),
    30000, 'the page to read the QR code and connect to the inviter')
  check(joined.includes(up.peer_id), `the page joined the node's room through the scanned code: ${joined}`)
  check(await s.page.evaluate(() => document.getElementById('scanner').hidden), 'the camera view is closed')
  check(!(await s.page.evaluate(() => document.getElementById('code').value)), 'the Join box is left empty')
  await until(() => s.page.evaluate((id) => {
    const e = document.querySelector(`#peers li[data-peer="${id}"]`)
    return e && e.dataset.state === 'connected' && e.dataset.route === 'direct'
  }, up.peer_id), 10000, 'the peer list to show the node as direct')
  // A second node joins the first one's room by an invitation of its own:
  // the page's mesh hears of it through the first (its neighbour), and the
  // peer list shows it beyond the neighbours, with its route as the mesh
  // knows it (not direct).
  const data2 = path.join(tmp, 'n2')
  node2 = spawn(PKC, ['--data', data2, 'up', '--json', '--no-local', '--no-lan'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const events2 = []
  readline.createInterface({ input: node2.stdout }).on('line', l => { try { events2.push(JSON.parse(l)) } catch {} })
  const up2 = await until(() => events2.find(e => e.event === 'up'), 30000, 'the second node to start')
  const inv2 = JSON.parse(pkc('invite', '--room', room.id, '--json', '--one-step'))
  const j = spawnSync(PKC, ['--data', data2, 'join', '--json', inv2.url], { env, encoding: 'utf8', timeout: 60000 })
  check(j.status === 0, `the second node joins the room: ${j.stdout} ${j.stderr}`)
  const t0 = Date.now()
  const far = await until(() => s.page.evaluate((id) => {
    const e = document.querySelector(`#peers li[data-peer="${id}"]`)
    return e && { state: e.dataset.state, route: e.dataset.route, text: e.textContent }
  }, up2.peer_id), 60000, 'the peer list to show the second node, known through the first')
  console.log(`the second node in the page's peer list after ${Date.now() - t0} ms: ${far.text}`)
  check(far.route !== 'direct' && far.state !== 'connected', `the second node is not a neighbour: ${far.text}`)
  check(s.errors.length === 0, `no page errors: ${s.errors.join('; ')}`)
}
