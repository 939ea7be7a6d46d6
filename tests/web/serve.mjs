// web.serve: pkc web serves web/dist on 127.0.0.1 only, with the content
// types a browser needs, GET and HEAD only, and nothing outside the
// directory (.., encoded .., a symbolic link out); a half-sent request does
// not hold up others.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { PKC, check, finish, pkcWeb, tmpdir, deadline } from './lib.mjs'

// A directory of our own, with a secret beside it that must stay out of reach.
const top = tmpdir('pkc-web-serve-')
const dir = path.join(top, 'dist')
fs.mkdirSync(path.join(dir, 'sub'), { recursive: true })
const wasm = Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])
fs.writeFileSync(path.join(dir, 'pkc.wasm'), wasm)
fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>t</title>')
fs.writeFileSync(path.join(dir, 'pkc.js'), 'export {}')
fs.writeFileSync(path.join(dir, 'sub', 'index.html'), 'sub')
fs.writeFileSync(path.join(dir, 'a b.txt'), 'space')
fs.writeFileSync(path.join(top, 'secret.txt'), 'secret')
fs.symlinkSync(path.join(top, 'secret.txt'), path.join(dir, 'link.txt'))

// One raw request; resolves to { status, headers, body }.
function raw(port, text, ms = 5000) {
  return deadline(new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(text))
    const chunks = []
    s.on('data', d => chunks.push(d))
    s.on('error', reject)
    s.on('end', () => {
      const all = Buffer.concat(chunks)
      const sep = all.indexOf('\r\n\r\n')
      const head = all.subarray(0, sep).toString().split('\r\n')
      const headers = {}
      for (const h of head.slice(1)) { const i = h.indexOf(':'); headers[h.slice(0, i).toLowerCase()] = h.slice(i + 1).trim() }
      resolve({ status: Number(head[0].split(' ')[1]), headers, body: all.subarray(sep + 4) })
    })
  }), ms, `answer to ${JSON.stringify(text.split('\r\n')[0])}`)
}
const get = (port, target, method = 'GET') => raw(port, `${method} ${target} HTTP/1.1\r\nHost: x\r\n\r\n`)

// Refusals before serving: a directory without pkc.wasm, bad options.
const empty = tmpdir('pkc-web-empty-')
let r = spawnSync(PKC, ['web', '--port', '0', '--dir', empty], { encoding: 'utf8', timeout: 10000 })
check(r.status === 1 && /has no pkc\.wasm.*make web/.test(r.stderr), `a directory without pkc.wasm: ${r.status} ${r.stderr.trim()}`)
r = spawnSync(PKC, ['web', '--dir', path.join(top, 'missing')], { encoding: 'utf8', timeout: 10000 })
check(r.status === 1 && /make web/.test(r.stderr), `a missing directory: ${r.status} ${r.stderr.trim()}`)
for (const args of [['--port', '65536'], ['--port', 'x'], ['extra'], ['--bogus']]) {
  r = spawnSync(PKC, ['web', ...args], { encoding: 'utf8', timeout: 10000 })
  check(r.status === 2, `pkc web ${args.join(' ')}: usage error (${r.status})`)
}
r = spawnSync(PKC, ['web', '--help'], { encoding: 'utf8', timeout: 10000 })
check(r.status === 0 && /--port N/.test(r.stdout) && /127\.0\.0\.1/.test(r.stdout), 'pkc web --help')

const server = await pkcWeb(['--dir', dir])
const port = server.port
try {
  // A connection that never completes its request, open during the rest.
  const idle = net.connect(port, '127.0.0.1', () => idle.write('GET / HTTP/1.1\r\n'))
  idle.on('error', () => {})

  const types = { '/': 'text/html; charset=utf-8', '/index.html': 'text/html; charset=utf-8',
    '/pkc.js': 'text/javascript; charset=utf-8', '/pkc.wasm': 'application/wasm',
    '/sub/': 'text/html; charset=utf-8', '/sub': 'text/html; charset=utf-8',
    '/a%20b.txt': 'text/plain; charset=utf-8', '/pkc.wasm?v=1#x': 'application/wasm' }
  for (const [target, type] of Object.entries(types)) {
    const r = await get(port, target)
    check(r.status === 200 && r.headers['content-type'] === type, `${target}: ${r.status} ${r.headers['content-type']}`)
    check(Number(r.headers['content-length']) === r.body.length, `${target}: Content-Length`)
  }
  const w = await get(port, '/pkc.wasm')
  check(w.body.equals(wasm), 'pkc.wasm: the bytes of the file')
  check(w.headers['x-content-type-options'] === 'nosniff', 'nosniff')
  const h = await get(port, '/pkc.wasm', 'HEAD')
  check(h.status === 200 && h.body.length === 0 && h.headers['content-length'] === String(wasm.length),
    `HEAD: ${h.status}, no body, the length of the file`)
  for (const m of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
    const r = await get(port, '/', m)
    check(r.status === 405 && r.headers.allow === 'GET, HEAD', `${m}: ${r.status} Allow ${r.headers.allow}`)
  }
  for (const target of ['/../secret.txt', '/sub/../../secret.txt', '/%2e%2e/secret.txt', '/%2E%2e%2fsecret.txt',
    '/..%2fsecret.txt', '/.%2e/secret.txt', '/sub/%2e%2e/%2e%2e/secret.txt', '/%00', '/%zz', 'secret.txt',
    'http://127.0.0.1/../secret.txt', '/..\\secret.txt']) {
    const r = await get(port, target)
    check(r.status === 400 || r.status === 404, `${target}: ${r.status}`)
    check(!r.body.toString().includes('secret'), `${target}: the file outside is not served`)
  }
  const hb = await get(port, '/../secret.txt', 'HEAD')
  check(hb.status === 400 && hb.body.length === 0, `HEAD of a refused path: ${hb.status}, no body`)
  const l = await get(port, '/link.txt')
  check(l.status === 404 && !l.body.toString().includes('secret'), `a link out of the directory: ${l.status}`)
  check((await get(port, '/missing.js')).status === 404, 'a missing file: 404')
  check((await raw(port, 'GET / HTTP/2.0\r\n\r\n')).status === 400, 'not HTTP/1.x: 400')
  check((await raw(port, 'garbage\r\n\r\n')).status === 400, 'garbage: 400')
  const big = await raw(port, 'GET /' + 'a'.repeat(10000) + ' HTTP/1.1\r\n\r\n')
  check(big.status === 431, `an oversized request: ${big.status}`)
  idle.destroy()

  // Only 127.0.0.1: another local address of this machine is refused.
  const other = Object.values(os.networkInterfaces()).flat()
    .find(a => a && a.family === 'IPv4' && !a.internal)
  if (other) {
    const refused = await new Promise(res => {
      const s = net.connect(port, other.address)
      s.on('connect', () => { s.destroy(); res(false) })
      s.on('error', () => res(true))
    })
    check(refused, `not reachable at ${other.address}`)
  } else {
    console.log('no non-loopback IPv4 address here: the bind check rests on getsockname below')
  }
} finally {
  server.child.kill('SIGINT')
}
const exit = await server.exited
check(exit.code === 0, `pkc web exits 0 on SIGINT (${exit.code} ${exit.sig})`)
check(/GET \/pkc\.wasm HTTP\/1\.1 -> 200/.test(server.stderr()), 'pkc web logs its requests')
finish('web.serve')
