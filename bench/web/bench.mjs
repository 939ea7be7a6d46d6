// bench/web: document sync speed in a page, pkc.wasm beside the `yjs`
// package in the same page (headless Chromium). Serves, on 127.0.0.1 and a
// port of its own: web/dist/ (as `pkc web` would), page.mjs and a page that
// loads it, yjs and lib0 as ES modules from node_modules (an import map:
// nothing of node_modules is copied), and the editing trace, read from
// ../shared/data. Prints median and spread (min-max) of RUNS runs.
//
// Usage: node bench.mjs TRACE.json.gz [RUNS]
import http from 'node:http'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { createRequire } from 'node:module'
import { launch } from '../../tests/web/browsers.mjs'

const here = path.dirname(new URL(import.meta.url).pathname)
const src = path.resolve(here, '../..')
const dist = path.join(src, 'web', 'dist')
const [tracePath, runsArg] = process.argv.slice(2)
const runs = Number(runsArg || 5)
const require = createRequire(path.join(src, 'package.json'))
const pkgDir = (name) => path.dirname(require.resolve(`${name}/package.json`))
const yjsDir = pkgDir('yjs'), lib0Dir = pkgDir('lib0')
const yjsVersion = JSON.parse(fs.readFileSync(path.join(yjsDir, 'package.json'), 'utf8')).version
const trace = zlib.gunzipSync(fs.readFileSync(tracePath))

const page = `<!doctype html><meta charset="utf-8"><title>pkc bench/web</title><link rel="icon" href="data:,">
<script type="importmap">{"imports": {"yjs": "/nm/yjs/dist/yjs.mjs", "lib0/": "/nm/lib0/"}}</script>
<script type="module" src="/page.mjs"></script>`
const types = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
  '.html': 'text/html', '.json': 'application/json' }
// A file under root, or null (nothing outside it); lib0's bare subpaths
// ("lib0/observable") are its files with ".js".
const under = (root, rel) => {
  const f = path.resolve(root, '.' + path.posix.normalize('/' + rel))
  if (!f.startsWith(root + path.sep)) return null
  for (const c of [f, f + '.js']) if (fs.existsSync(c) && fs.statSync(c).isFile()) return c
  return null
}
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x').pathname
  let file = null, body = null
  if (url === '/') body = page
  else if (url === '/page.mjs') file = path.join(here, 'page.mjs')
  else if (url === '/trace.json') body = trace
  else if (url.startsWith('/dist/')) file = under(dist, url.slice(6))
  else if (url.startsWith('/nm/yjs/')) file = under(yjsDir, url.slice(8))
  else if (url.startsWith('/nm/lib0/')) file = under(lib0Dir, url.slice(9))
  if (!file && body === null) {
    res.writeHead(404).end()
    return
  }
  const type = url === '/' ? 'text/html' : types[path.extname(file || url)] || 'application/octet-stream'
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' })
  res.end(body ?? fs.readFileSync(file))
})
await new Promise(r => server.listen(0, '127.0.0.1', r))
const base = `http://127.0.0.1:${server.address().port}/`

const browser = await launch('chromium')
let out
try {
  const p = await browser.newPage()
  await p.goto(base)
  await p.waitFor(() => document.documentElement.dataset.bench, null, 30000, 'the bench page to load')
  out = await p.evaluate((n) => window.runBench(n), runs)
  if (p.errors.length) throw new Error(`page errors: ${p.errors.join(' | ')}`)
} finally {
  await browser.close()
  server.close()
}

const sorted = (a) => a.slice().sort((x, y) => x - y)
const median = (a) => { const s = sorted(a); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2 }
const fmt = (v) => v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)
const cell = (a) => `${fmt(median(a))} (${fmt(Math.min(...a))}-${fmt(Math.max(...a))})`
const wasmKB = (fs.statSync(path.join(dist, 'pkc.wasm')).size / 1024).toFixed(0)
console.log(`document sync in one page (headless Chromium, pkc.wasm ${wasmKB} KB as web/dist has it, beside ` +
  `yjs ${yjsVersion} as an ES module): the ${path.basename(tracePath).replace(/\.json\.gz$/, "")} trace, ${out.edits} edits; ms, median (min-max) of ${runs} runs`)
console.log(`${''.padEnd(54)} ${'pkc.wasm'.padStart(20)} ${'yjs'.padStart(20)} ${'yjs/pkc'.padStart(8)}`)
const rows = [['edit', 'type the trace (each op a transaction)'], ['encode', 'encode the document (sync step 2)'],
  ['load', 'a newcomer applies it'], ['receive', `apply ${out.updates} updates (${out.updateBytes} bytes) one by one`]]
for (const [k, label] of rows)
  console.log(`${label.padEnd(54)} ${cell(out.pkc[k]).padStart(20)} ${cell(out.yjs[k]).padStart(20)} ` +
    `${(median(out.yjs[k]) / median(out.pkc[k])).toFixed(1).padStart(7)}x`)
console.log(`${'encoded document (bytes)'.padEnd(54)} ${String(out.sizes.pkc).padStart(20)} ${String(out.sizes.yjs).padStart(20)}`)
