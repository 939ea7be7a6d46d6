// web.node and web.chromium: pkc's core compiled to WebAssembly (web/dist,
// from `make web`) computes what the native library computes.
//   node core.mjs node|chromium NATIVE
// NATIVE is pkc-web-native (web_native.c), the native library's side. The
// same probe (below) runs against pkc.wasm in Node.js, loaded by pkc.js's
// own WASI shim, or in headless Chromium on the page that `pkc web` serves;
// this script then checks its results against the native library and the
// yjs package:
// - identities from a fixed seed and from a random one: peer id, public
//   keys, the signature of a message: equal to native;
// - a DATA message sealed in wasm is opened by native code, and one sealed by
//   native code is opened in wasm; a tampered or misaddressed one is refused;
// - a Yjs update made by the wasm CRDT, applied by yjs, gives the same text
//   and re-encodes to the same bytes; yjs's edits applied in wasm, and the
//   wasm's reply applied by yjs, converge.
import { spawnSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import * as Y from 'yjs'
import { DIST, check, finish, needDist, pkcWeb, chromium, deadline } from './lib.mjs'

const [mode, NATIVE] = process.argv.slice(2)
if (!['node', 'chromium'].includes(mode) || !NATIVE) {
  console.error('usage: core.mjs node|chromium PKC_WEB_NATIVE')
  process.exit(2)
}
needDist()

const hex = b => Buffer.from(b).toString('hex')
const unhex = s => new Uint8Array(Buffer.from(s, 'hex'))

function native(...args) {
  const r = spawnSync(NATIVE, args, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`pkc-web-native ${args[0]}: status ${r.status}: ${r.stderr}`)
  return r.stdout.trim()
}

// Runs inside the page as well: no reference to anything outside it.
// `pkc` is what pkc.js's load() returns.
async function probe(pkc, input) {
  const hex = b => Array.from(b, x => x.toString(16).padStart(2, '0')).join('')
  const unhex = s => new Uint8Array(s.match(/../g).map(x => parseInt(x, 16)))
  const errName = f => { try { f(); return null } catch (e) { return e.errName || String(e) } }
  const out = { version: pkc.version(), identities: [] }
  const ids = input.seeds.map(s => pkc.identityFromSeed(unhex(s)))
  const msg = unhex(input.msg)
  for (const id of ids) {
    const sig = id.sign(msg)
    const bad = sig.slice()
    bad[0] ^= 1
    out.identities.push({
      peer_id: id.peerId, public_key: hex(id.publicKey), dh_public_key: hex(id.dhPublicKey),
      signature: hex(sig), verifies: pkc.verify(id.publicKey, msg, sig),
      tampered_verifies: pkc.verify(id.publicKey, msg, bad)
    })
  }
  const [a, b] = ids
  // Sealed in wasm, from a to b, for native code to open.
  out.sealed = hex(pkc.sealMessage(a, { to: b, topic: 'web', payload: unhex(input.payload) }))
  // Sealed by native code, from a to b: b opens it; a, not the recipient,
  // cannot; a changed byte breaks the signature.
  const frame = unhex(input.nativeFrame)
  const opened = pkc.openMessage(b, frame)
  out.opened = { payload: hex(opened.payload), from: hex(opened.from) }
  out.openedByOther = errName(() => pkc.openMessage(a, frame))
  const tampered = frame.slice()
  tampered[tampered.length - 70] ^= 1
  out.openedTampered = errName(() => pkc.openMessage(b, tampered))
  out.openedTruncated = errName(() => pkc.openMessage(b, frame.subarray(0, frame.length - 1)))

  // A document edited in wasm.
  const doc = pkc.newDoc({ clientId: input.clientId })
  const t = doc.getText('t')
  t.insert(0, 'hello world')
  t.insert(5, ', wasm')
  t.delete(0, 1)
  t.insert(0, 'H')
  t.insert(t.toString().length, ' \u00e9\u4e16\ud83d\ude00!')
  out.doc = { text: t.toString(), json: t.toJSON(), update: hex(doc.encodeState()), clientId: doc.clientId }
  // yjs's document applied here, edited here, and the difference sent back.
  const doc2 = pkc.newDoc({ clientId: input.clientId + 1 })
  doc2.applyUpdate(unhex(input.yjsUpdate))
  const t2 = doc2.getText('t')
  out.fromYjs = t2.toString()
  t2.insert(2, '[wasm]')
  t2.delete(0, 1)
  out.reply = hex(doc2.encodeState(unhex(input.yjsStateVector)))
  out.replyText = t2.toString()
  out.replyFull = hex(doc2.encodeState())
  for (const x of [...ids, doc, doc2]) x.free()
  return out
}

// The module's layout: the stack first (--stack-first, 1 MiB), so that an
// overflow runs below address 0 and traps instead of overwriting data. The
// stack pointer is the first mutable i32 global; data segments lie above it.
function layout(wasm) {
  let p = 8
  const uleb = () => { let r = 0, s = 0, x; do { x = wasm[p++]; r += (x & 0x7f) * 2 ** s; s += 7 } while (x & 0x80); return r }
  const sleb = () => { let r = 0, s = 0, x; do { x = wasm[p++]; r |= (x & 0x7f) << s; s += 7 } while (x & 0x80); if (s < 32 && (x & 0x40)) r |= -1 << s; return r }
  const out = { stackPointer: null, data: [] }
  while (p < wasm.length) {
    const id = wasm[p++], len = uleb(), end = p + len
    if (id === 6) { // globals: type, mutability, init expression
      for (let n = uleb(); n > 0; n--) {
        const type = wasm[p++], mut = wasm[p++], op = wasm[p++], v = sleb(); p++ // end
        if (type === 0x7f && mut === 1 && op === 0x41 && out.stackPointer === null) out.stackPointer = v
      }
    } else if (id === 11) { // data: active segments at i32.const offsets
      for (let n = uleb(); n > 0; n--) {
        const flags = uleb()
        if (flags !== 0) throw new Error(`data segment flags ${flags}`)
        p++ // i32.const
        const offset = sleb(); p++ // end
        const size = uleb(); p += size
        out.data.push({ offset, size })
      }
    }
    p = end
  }
  return out
}

// The inputs: seeds, a message, a frame sealed natively, yjs's document.
const seeds = ['000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
  crypto.randomBytes(32).toString('hex')]
console.log(`seeds: ${seeds.join(' ')}`)
const nat = seeds.map(s => JSON.parse(native('identity', s, hex(Buffer.from('pkc web test message')))))
const payload = hex(crypto.randomBytes(100))
const nativePayload = hex(Buffer.from('from native code \u00e9'))
const nativeFrame = native('seal', seeds[0], nat[1].public_key, nat[1].dh_public_key, nativePayload)
const ydoc = new Y.Doc()
ydoc.clientID = 1000
const ytext = ydoc.getText('t')
ytext.insert(0, 'typed in yjs')
ytext.insert(5, ' here')
ytext.delete(0, 2)
const input = {
  seeds, msg: hex(Buffer.from('pkc web test message')), payload, nativeFrame, clientId: 77,
  yjsUpdate: hex(Y.encodeStateAsUpdate(ydoc)), yjsStateVector: hex(Y.encodeStateVector(ydoc))
}

let out
if (mode === 'node') {
  const { load } = await import(pathToFileURL(path.join(DIST, 'pkc.js')))
  const printed = []
  const pkc = await load(fs.readFileSync(path.join(DIST, 'pkc.wasm')), { print: (fd, l) => printed.push(l) })
  out = await probe(pkc, input)
  check(printed.length === 0, `the module printed nothing: ${printed.join(' | ')}`)
  const l = layout(fs.readFileSync(path.join(DIST, 'pkc.wasm')))
  check(l.stackPointer === 1048576, `the stack starts at 1 MiB and grows down to 0 (${l.stackPointer})`)
  check(l.data.length > 0 && l.data.every(d => d.offset >= 1048576),
    `the data lies above the stack: ${JSON.stringify(l.data)}`)
  console.log(`layout: stack [0, ${l.stackPointer}), data from ${Math.min(...l.data.map(d => d.offset))}`)
} else {
  // As a user runs it: `pkc web` serves the source tree's web/dist by default.
  const server = await pkcWeb()
  const ctx = await chromium()
  try {
    const page = await ctx.newPage()
    const errors = []
    page.on('pageerror', e => errors.push(String(e)))
    page.on('console', m => { if (m.type() === 'error') errors.push(m.text()) })
    const resp = await page.goto(server.url)
    check(resp.status() === 200, `the page loads from pkc web (${resp.status()})`)
    // The placeholder page loads the core by itself and shows a peer id.
    await deadline(page.waitForFunction(() => document.documentElement.dataset.pkc), 30000, 'the page to load pkc')
    check(await page.evaluate(() => document.documentElement.dataset.pkc) === 'ready',
      `the page says: ${await page.textContent('#status')}`)
    check(/pkc1[0-9a-z]{30,}/.test(await page.textContent('#me')), 'the page shows a peer id')
    // pkc.js from the page's origin; load() streams ./pkc.wasm, which needs
    // the application/wasm content type.
    out = await deadline(page.evaluate(async ({ src, input }) => {
      const m = await import('/pkc.js')
      const pkc = await m.load()
      // eslint-disable-next-line no-eval
      const probe = (0, eval)(`(${src})`)
      return probe(pkc, input)
    }, { src: probe.toString(), input }), 60000, 'the probe in Chromium')
    check(errors.length === 0, `no errors on the page: ${errors.join(' | ')}`)
    const ua = await page.evaluate(() => navigator.userAgent)
    console.log(`chromium: ${ua}`)
  } finally {
    await ctx.close()
    server.child.kill('SIGTERM')
  }
  const exit = await server.exited
  check(exit.code === 0, `pkc web exits 0 on SIGTERM (${exit.code} ${exit.sig})`)
  check(/GET \/pkc\.wasm HTTP\/1\.1 -> 200/.test(server.stderr()), 'the page fetched pkc.wasm from pkc web')
}

// ---- checks ----
console.log(`pkc ${out.version} (${mode})`)
for (let i = 0; i < seeds.length; i++) {
  const w = out.identities[i], n = nat[i]
  for (const k of ['peer_id', 'public_key', 'dh_public_key', 'signature'])
    check(w[k] === n[k], `seed ${i}: ${k}: wasm ${w[k]} native ${n[k]}`)
  check(w.verifies === true, `seed ${i}: wasm verifies its own signature`)
  check(w.tampered_verifies === false, `seed ${i}: wasm refuses a changed signature`)
}
console.log(`identity: peer id ${out.identities[0].peer_id} (fixed seed) equal to native`)

const [npayload, nfrom] = native('open', seeds[1], out.sealed).split('\n')
check(npayload === payload, 'native code opens the message sealed in wasm: same payload')
check(nfrom === nat[0].public_key, 'native code sees it from the wasm sender')
check(out.opened.payload === nativePayload && out.opened.from === nat[0].public_key,
  'wasm opens the message sealed by native code')
check(out.openedByOther === 'PKC_ERR_NOT_FOUND', `wasm: a message sealed to another peer: ${out.openedByOther}`)
check(out.openedTampered === 'PKC_ERR_BAD_SIGNATURE', `wasm: a changed byte: ${out.openedTampered}`)
check(out.openedTruncated === 'PKC_ERR_TRUNCATED', `wasm: a truncated frame: ${out.openedTruncated}`)
const tamperedSealed = Buffer.from(out.sealed, 'hex')
tamperedSealed[tamperedSealed.length - 70] ^= 1
check(spawnSync(NATIVE, ['open', seeds[1], tamperedSealed.toString('hex')]).status === 1,
  'native code refuses a changed byte of the wasm message')

// The wasm document in yjs.
const expected = 'Hello, wasm world \u00e9\u4e16\ud83d\ude00!'
check(out.doc.text === expected, `wasm text: ${JSON.stringify(out.doc.text)}`)
check(out.doc.json === expected, 'wasm toJSON is the text')
check(out.doc.clientId === input.clientId, `wasm client id ${out.doc.clientId}`)
const yd = new Y.Doc()
Y.applyUpdate(yd, unhex(out.doc.update))
check(yd.getText('t').toString() === expected, `yjs reads the wasm update: ${JSON.stringify(yd.getText('t').toString())}`)
check(hex(Y.encodeStateAsUpdate(yd)) === out.doc.update, 'yjs re-encodes the wasm update to the same bytes')
// yjs -> wasm -> yjs.
check(out.fromYjs === ytext.toString(), `wasm reads yjs's update: ${JSON.stringify(out.fromYjs)}`)
Y.applyUpdate(ydoc, unhex(out.reply))
check(ytext.toString() === out.replyText, `yjs applies the wasm reply: ${JSON.stringify(ytext.toString())} vs ${JSON.stringify(out.replyText)}`)
check(hex(Y.encodeStateAsUpdate(ydoc)) === out.replyFull, 'yjs and wasm encode the merged document to the same bytes')
console.log(`crdt: ${JSON.stringify(out.doc.text)} and ${JSON.stringify(out.replyText)} equal in yjs`)

finish(`web.${mode}`)
