// WebRTC data channels, same run, side by side: C to C (pkc rtc bench
// against pkc rtc echo, two processes), C to Chromium (pkc rtc bench
// against a page) and Chromium to Chromium (two RTCPeerConnections in one
// page). Throughput: binary messages of 64 KiB one way, until the receiver
// confirms the byte count. Time to open: from applying the answer to the
// offerer's channel being open. Medians of RUNS runs. Then the memory of
// idle connections (bench-rtc). All on loopback.
import { spawn, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'

const build = process.env.PKC_BUILD_DIR
const PKC = path.join(build, 'pkc')
const BYTES = Number(process.env.RTC_BENCH_BYTES || 64 * 1024 * 1024)
const RUNS = Number(process.env.RTC_BENCH_RUNS || 5)
// Time to open varies with scheduling on a busy machine: more, short runs.
const OPEN_RUNS = Number(process.env.RTC_BENCH_OPEN_RUNS || 15)
const OPEN_BYTES = 1024 * 1024
const MSG = 65536
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pkc-bench-rtc-'))
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }))
const median = a => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)] }

function proc(args) {
  const child = spawn(PKC, ['--data', path.join(tmp, 'data'), ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  const waiters = [], lines = []
  let err = ''
  child.stderr.on('data', d => { err += d })
  readline.createInterface({ input: child.stdout }).on('line', l => {
    const m = JSON.parse(l); lines.push(m)
    for (const w of [...waiters]) if (w.t === m.type) { waiters.splice(waiters.indexOf(w), 1); w.res(m) }
  })
  return {
    child, get err() { return err },
    send: o => child.stdin.write(JSON.stringify(o) + '\n'),
    next: t => { const s = lines.find(m => m.type === t); return s ? Promise.resolve(s) : new Promise(res => waiters.push({ t, res })) },
    done: new Promise(res => child.on('exit', res))
  }
}

async function cToC(bytes = BYTES) {
  const b = proc(['rtc', 'bench', '--bytes', String(bytes), '--message-size', String(MSG), '--timeout', '120'])
  const e = proc(['rtc', 'echo', '--timeout', '120'])
  e.send(await b.next('offer'))
  b.send(await e.next('answer'))
  const r = await b.next('result')
  e.child.kill(); await b.done
  if (r.received !== bytes) throw new Error(`C to C: ${r.received} of ${bytes} bytes`)
  return { mibps: r.mib_per_s, open: r.open_ms }
}

// The page side: an answerer that behaves as pkc's sink, and a whole
// Chromium-to-Chromium run.
const pageJs = `
window.B = {
  async answer(offerSdp) {
    const pc = new RTCPeerConnection(); this.pc = pc
    pc.ondatachannel = e => {
      const ch = e.channel; ch.binaryType = 'arraybuffer'; let bytes = 0, msgs = 0
      ch.onmessage = m => { if (typeof m.data === 'string') ch.send(JSON.stringify({ bytes, messages: msgs })); else { bytes += m.data.byteLength; msgs++ } }
    }
    await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp })
    await pc.setLocalDescription(await pc.createAnswer())
    await new Promise(r => { if (pc.iceGatheringState === 'complete') r(); else pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r() })
    return pc.localDescription.sdp
  },
  close() { this.pc.close(); return true },
  async gathered(pc) { await new Promise(r => { if (pc.iceGatheringState === 'complete') r(); else pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r()) }) },
  async chromeToChrome(total, size) {
    const a = new RTCPeerConnection(), b = new RTCPeerConnection()
    let bytes = 0
    b.ondatachannel = e => {
      const ch = e.channel; ch.binaryType = 'arraybuffer'
      ch.onmessage = m => { if (typeof m.data === 'string') ch.send(JSON.stringify({ bytes })); else bytes += m.data.byteLength }
    }
    const ch = a.createDataChannel('bench', { protocol: 'pkc-sink' }); ch.binaryType = 'arraybuffer'
    await a.setLocalDescription(await a.createOffer()); await this.gathered(a)
    await b.setRemoteDescription(a.localDescription)
    await b.setLocalDescription(await b.createAnswer()); await this.gathered(b)
    const opened = new Promise(r => { ch.onopen = r })
    const t0 = performance.now()
    await a.setRemoteDescription(b.localDescription)
    await opened
    const tOpen = performance.now()
    const buf = new ArrayBuffer(size); let sent = 0
    ch.bufferedAmountLowThreshold = 1 << 20
    const reply = new Promise(r => { ch.onmessage = m => r(JSON.parse(m.data)) })
    await new Promise(done => {
      const pump = () => {
        while (sent < total && ch.bufferedAmount < 4 << 20) { ch.send(buf); sent += size }
        if (sent >= total) { ch.onbufferedamountlow = null; ch.send('done'); done() }
      }
      ch.onbufferedamountlow = pump; pump()
    })
    const got = await reply
    const t1 = performance.now()
    a.close(); b.close()
    return { open: tOpen - t0, mibps: total / 1048576 / ((t1 - tOpen) / 1000), received: got.bytes }
  }
}`

async function main() {
  const { chromium } = await import(path.join(process.cwd(), 'node_modules/playwright-core/index.mjs'))
  const ctx = await chromium.launchPersistentContext(path.join(tmp, 'chromium'), {
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync']
  })
  async function cToChromium(bytes = BYTES) {
    const page = await ctx.newPage(); await page.addScriptTag({ content: pageJs })
    const b = proc(['rtc', 'bench', '--bytes', String(bytes), '--message-size', String(MSG), '--timeout', '120'])
    const off = await b.next('offer')
    b.send({ type: 'answer', sdp: await page.evaluate(s => B.answer(s), off.sdp) })
    const r = await b.next('result')
    await b.done; await page.evaluate(() => B.close()); await page.close()
    if (r.received !== bytes) throw new Error(`C to Chromium: ${r.received} of ${bytes} bytes`)
    return { mibps: r.mib_per_s, open: r.open_ms }
  }
  async function chromiumToChromium(bytes = BYTES) {
    const page = await ctx.newPage(); await page.addScriptTag({ content: pageJs })
    const r = await page.evaluate(([t, s]) => B.chromeToChrome(t, s), [bytes, MSG])
    await page.close()
    if (r.received !== bytes) throw new Error(`Chromium to Chromium: ${r.received} of ${bytes} bytes`)
    return r
  }
  const res = { cc: [], cx: [], xx: [] }, open = { cc: [], cx: [], xx: [] }
  for (let i = 0; i < RUNS; i++) {   // interleaved, so load spikes hit all three alike
    res.cc.push(await cToC())
    res.cx.push(await cToChromium())
    res.xx.push(await chromiumToChromium())
  }
  for (let i = 0; i < OPEN_RUNS; i++) {
    open.cc.push(await cToC(OPEN_BYTES))
    open.cx.push(await cToChromium(OPEN_BYTES))
    open.xx.push(await chromiumToChromium(OPEN_BYTES))
  }
  await ctx.close()
  const mem = JSON.parse(execFileSync(path.join(build, 'bench', 'bench-rtc'), ['--pairs', '50', '--idle-ms', '3000']).toString())

  const row = (label, k, unit, digits, from = res) => {
    const v = ['cc', 'cx', 'xx'].map(p => median(from[p].map(r => r[k])))
    console.log(`${label.padEnd(26)} ${v.map(x => x.toFixed(digits).padStart(12)).join('')}   ${(v[0] / v[2]).toFixed(2).padStart(6)}x  ${unit}`)
  }
  console.log(`WebRTC data channels on loopback, one run. Throughput: ${BYTES / 1048576} MiB one way in ${MSG / 1024} KiB`)
  console.log(`binary messages, median of ${RUNS}. Time to open (answer applied -> channel open at the offerer): median of ${OPEN_RUNS}.`)
  console.log(`${''.padEnd(26)} ${'C-C'.padStart(12)}${'C-Chromium'.padStart(12)}${'Chrom-Chrom'.padStart(12)}   C-C/Chrom-Chrom`)
  row('throughput (MiB/s)', 'mibps', 'target >= 5x', 1)
  row('time to open (ms)', 'open', 'target <= 1x', 1, open)
  console.log(`idle connections: ${mem.connections} in one process, ${mem.kib_per_connection} KiB RSS each (target <= 256 KiB)`)
}
main().then(() => process.exit(0), e => { console.error(e); process.exit(1) })
