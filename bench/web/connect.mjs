// bench/web, the connection: the time from opening a native node's
// invitation link in a browser to the pkc session with the node, on
// loopback (a network namespace of its own, as web.invite_native), in
// Chromium and Firefox, a fresh browser (empty cache) each run. Split in
// two on the page's own clock (performance.now(), from navigation start):
// the page's peer made (pkc.wasm fetched and compiled, identity claimed in
// IndexedDB), then the rest (rooms restored, the invitation read, ICE,
// DTLS, SCTP and pkc's handshake).
//
// Usage: PKC_BIN=build/pkc node connect.mjs [RUNS]
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'
import { launch, inNetns } from '../../tests/web/browsers.mjs'
import { pkcWeb, deadline } from '../../tests/web/lib.mjs'

const runs = Number(process.argv[2] || 5)
process.setMaxListeners(4 * runs + 20) // each browser launched cleans up at exit
const PKC = process.env.PKC_BIN
if (!PKC) throw new Error('PKC_BIN must name the pkc binary')
inNetns({ veth: true })

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pkc-bench-web-'))
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }))
const xdg = path.join(tmp, 'xdg')
fs.mkdirSync(xdg, { mode: 0o700 })
const env = { ...process.env, XDG_RUNTIME_DIR: xdg }
const data = path.join(tmp, 'a')
const node = spawn(PKC, ['--data', data, 'up', '--json', '--no-local', '--no-lan', '--room', 'bench web'],
  { env, stdio: ['ignore', 'pipe', 'ignore'] })
process.on('exit', () => { try { node.kill('SIGKILL') } catch {} })
const up = await deadline(new Promise(res => readline.createInterface({ input: node.stdout }).on('line', l => {
  try { const e = JSON.parse(l); if (e.event === 'up') res(e) } catch {}
})), 30000, 'the node to start')
const pkc = (...args) => {
  const r = spawnSync(PKC, ['--data', data, ...args], { env, encoding: 'utf8', timeout: 30000 })
  if (r.status !== 0) throw new Error(`pkc ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}
const room = pkc('rooms', '--json').split('\n').filter(Boolean).map(l => JSON.parse(l)).find(r => !r.local)
const server = await pkcWeb()

const results = {}
for (const browser of ['chromium', 'firefox']) {
  results[browser] = { ready: [], session: [], total: [] }
  for (let i = 0; i < runs; i++) {
    const inv = JSON.parse(pkc('invite', '--room', room.id, '--single-use', '--one-step', '--url-base',
      server.url, '--json'))
    const b = await launch(browser, { chromiumArgs: ['--disable-features=WebRtcHideLocalIpsWithMdns'] })
    try {
      const p = await b.newPage()
      await p.initScript(() => {
        // the page's peer made (pkc.wasm compiled, identity claimed)
        let peer
        Object.defineProperty(window, 'pkcPeer', { configurable: true, get: () => peer,
          set: (v) => { peer = v; window.readyMs ??= performance.now() } })
        const dispatch = EventTarget.prototype.dispatchEvent
        EventTarget.prototype.dispatchEvent = function (ev) {
          if (ev.type === 'peer:connect' && window.connectMs === undefined) window.connectMs = performance.now()
          return dispatch.call(this, ev)
        }
      })
      const [base, code] = inv.url.split('#')
      await p.goto(`${base}?channel=bench-${i}#${code}`)
      await p.waitFor((id) => window.pkcPeer && window.pkcPeer.peers().some(x => x.peerId === id), up.peer_id,
        20000, `${browser}: the page to connect to the node`)
      const t = await p.evaluate(() => ({ ready: window.readyMs, connect: window.connectMs }))
      if (p.errors.length) throw new Error(`${browser}: page errors: ${p.errors.join(' | ')}`)
      results[browser].ready.push(t.ready)
      results[browser].session.push(t.connect - t.ready)
      results[browser].total.push(t.connect)
    } finally {
      await b.close()
    }
  }
}
server.child.kill('SIGTERM')
node.kill('SIGTERM')

const median = (a) => { const s = a.slice().sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2 }
const cell = (a) => `${median(a).toFixed(0)} (${Math.min(...a).toFixed(0)}-${Math.max(...a).toFixed(0)})`
console.log(`\nopening a node's invitation link (one-step, pkc up on loopback) to the session with it; ` +
  `a fresh browser each run; ms on the page's clock, median (min-max) of ${runs} runs; the issue's target: under 1000 ms`)
console.log(`${''.padEnd(10)} ${'peer made'.padStart(18)} ${'then the session'.padStart(18)} ${'link to session'.padStart(18)}`)
for (const [b, r] of Object.entries(results))
  console.log(`${b.padEnd(10)} ${cell(r.ready).padStart(18)} ${cell(r.session).padStart(18)} ${cell(r.total).padStart(18)}`)
process.exit(0)
