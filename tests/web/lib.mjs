// Helpers for the web tests: where web/dist is, whether the toolchain that
// makes it is installed, pkc web as a child process, headless Chromium.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'

const SRC = process.env.PKC_SOURCE_DIR || path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..')
export const DIST = path.join(SRC, 'web', 'dist')
export const PKC = process.env.PKC_BIN

let failures = 0
export function check(cond, what) {
  if (cond) return true
  failures++
  console.error(`FAIL: ${what}`)
  return false
}
export function finish(what) {
  if (failures) {
    console.error(`${what}: ${failures} check(s) failed`)
    process.exit(1)
  }
  console.log(`${what}: ok`)
  process.exit(0)
}

// web/dist must be there: `make web` (which `make test` runs first) writes
// it. Only where the WebAssembly toolchain is not installed at all is that
// a skip (77); otherwise a missing build is a failure.
export function needDist() {
  if (fs.existsSync(path.join(DIST, 'pkc.wasm')) && fs.existsSync(path.join(DIST, 'pkc.js'))) return
  const q = spawnSync('dpkg-query', ['-W', '-f=${db:Status-Status} ', 'wasi-libc', 'libclang-rt-14-dev-wasm32'],
    { encoding: 'utf8' })
  const installed = q.status === 0 && q.stdout.trim().split(/\s+/).every(s => s === 'installed')
  if (!installed) {
    console.error('SKIP: the WebAssembly toolchain (wasi-libc, libclang-rt-14-dev-wasm32) is not installed; ' +
      'scripts/bootstrap installs it, then `make web`')
    process.exit(77)
  }
  console.error(`FAIL: ${DIST} has no pkc.wasm and pkc.js: run \`make web\` (make test does)`)
  process.exit(1)
}

export function tmpdir(prefix) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  process.on('exit', () => fs.rmSync(d, { recursive: true, force: true }))
  return d
}

// Polls fn (sync or async) every 100 ms until it gives a truthy value, which
// is returned; throws "timeout (ms): what" after ms.
export async function until(fn, ms, what) {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > end) throw new Error(`timeout (${ms} ms): ${what}`)
    await new Promise(r => setTimeout(r, 100))
  }
}

// One JSON object per line (the CLI's --json streams and lists).
export const jsonLines = (text) => text.split('\n').filter(Boolean).map(l => JSON.parse(l))

// `pkc --data DATA --log-level debug up --json ARGS` in the environment env:
// { child, events (its --json lines, parsed, as they come), stderr() (all it
// logged), exit (a promise of { code, sig }), cli(...args) (another pkc
// command on the same data directory: its stdout; throws with its stderr
// when it fails) }. Killed when the test exits.
export function startNode(data, args, env) {
  const child = spawn(PKC, ['--data', data, '--log-level', 'debug', 'up', '--json', ...args],
    { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  child.stderr.on('data', d => { err += d })
  const events = []
  readline.createInterface({ input: child.stdout }).on('line', l => {
    try { events.push(JSON.parse(l)) } catch {}
  })
  process.on('exit', () => { try { child.kill('SIGKILL') } catch {} })
  const exit = new Promise(res => child.on('exit', (code, sig) => res({ code, sig })))
  const cli = (...a) => {
    const r = spawnSync(PKC, ['--data', data, ...a], { env, encoding: 'utf8', timeout: 30000 })
    if (r.status !== 0) throw new Error(`pkc ${a.join(' ')}: ${r.stderr}`)
    return r.stdout
  }
  return { child, events, stderr: () => err, exit, cli }
}

export function deadline(promise, ms, what) {
  let t
  return Promise.race([
    promise,
    new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timeout (${ms} ms): ${what}`)), ms) })
  ]).finally(() => clearTimeout(t))
}

// `pkc web --port 0 [args]`; resolves to { url, port, child, stderr() } once
// it prints its address.
export async function pkcWeb(args = []) {
  if (!PKC) throw new Error('PKC_BIN must name the pkc binary')
  const child = spawn(PKC, ['web', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', d => { stderr += d })
  process.on('exit', () => { try { child.kill('SIGKILL') } catch {} })
  const exited = new Promise(res => child.on('exit', (code, sig) => res({ code, sig })))
  const port = await deadline(new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).on('line', l => {
      const m = /http:\/\/localhost:(\d+)\//.exec(l)
      if (m) resolve(Number(m[1]))
    })
    child.on('exit', code => reject(new Error(`pkc web exited (${code}): ${stderr}`)))
  }), 10000, 'pkc web to print its address')
  return { url: `http://127.0.0.1:${port}/`, port, child, exited, stderr: () => stderr }
}

export const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

export async function chromium(extraArgs = []) {
  const { chromium } = await import('playwright-core')
  return chromium.launchPersistentContext(tmpdir('pkc-web-chromium-'), {
    executablePath: process.env.PKC_CHROMIUM || '/usr/bin/chromium', headless: true,
    args: [...CHROMIUM_FLAGS, ...extraArgs]
  })
}
