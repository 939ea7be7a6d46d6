// Helpers for the rtc tests: pkc processes speaking JSON lines, a headless
// Chromium driven by playwright-core, deadlines instead of sleeps.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'

export const PKC = process.env.PKC_BIN
if (!PKC) { console.error('PKC_BIN must name the pkc binary'); process.exit(2) }

export function tmpdir(prefix = 'pkc-rtc-') {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  process.on('exit', () => fs.rmSync(d, { recursive: true, force: true }))
  return d
}

// Rejects after `ms` with `what` in the message.
export function deadline(promise, ms, what) {
  let t
  return Promise.race([
    promise,
    new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timeout (${ms} ms): ${what}`)), ms) })
  ]).finally(() => clearTimeout(t))
}

// A pkc process; its stdout JSON lines are collected and awaitable.
export function pkc(args, opts = {}) {
  const dir = opts.dataDir || tmpdir('pkc-data-')
  // opts.wrap: a command prefix (e.g. nsenter --net=/run/netns/NAME).
  const argv = ['--data', dir, ...args]
  const child = opts.wrap
    ? spawn(opts.wrap[0], [...opts.wrap.slice(1), PKC, ...argv], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...(opts.env || {}) } })
    : spawn(PKC, argv, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...(opts.env || {}) } })
  const lines = [], waiters = []
  let stderr = ''
  child.stderr.on('data', d => { stderr += d; if (process.env.PKC_TEST_VERBOSE) process.stderr.write(d) })
  readline.createInterface({ input: child.stdout }).on('line', l => {
    let m
    try { m = JSON.parse(l) } catch { m = { type: 'garbage', line: l } }
    lines.push(m)
    for (const w of [...waiters]) if (w.pred(m)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m) }
  })
  const exited = new Promise(res => child.on('exit', (code, sig) => res({ code, sig })))
  return {
    child, lines, exited,
    get stderr() { return stderr },
    send(obj) { child.stdin.write(JSON.stringify(obj) + '\n') },
    // The first line (already seen or future) matching `pred`.
    next(pred, ms = 20000, what = 'a line from pkc') {
      if (typeof pred === 'string') { const t = pred; pred = m => m.type === t; what = `pkc line of type ${t}` }
      const seen = lines.find(pred)
      if (seen) return Promise.resolve(seen)
      return deadline(new Promise(resolve => waiters.push({ pred, resolve })), ms, what)
    },
    kill() { try { child.kill('SIGKILL') } catch {} }
  }
}

export const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

export async function chromium(extraFlags = []) {
  const { chromium } = await import('playwright-core')
  const dir = tmpdir('pkc-chromium-')
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.PKC_CHROMIUM || '/usr/bin/chromium', headless: true,
    args: [...CHROMIUM_FLAGS, ...extraFlags]
  })
  return ctx
}

let failures = 0
export function check(cond, what) {
  if (cond) return true
  failures++
  console.error(`FAIL: ${what}`)
  return false
}
export function failed() { return failures }
