// A browser-neutral harness for the web tests: Debian's Chromium through
// playwright-core, or Debian's Firefox ESR through puppeteer-core over
// WebDriver BiDi (no browser is ever downloaded), behind the few page
// operations the tests use. A test names its browser on its command line
// (`node tabs.mjs firefox`; Chromium when none is named).
//
//   const b = await launch(browserArg())
//   const p = await b.newPage()            // pages of one context: one origin's tabs
//   await p.goto(url)
//   await p.waitFor(() => window.ready, null, 10000, 'the page to be ready')
//   await deadline(p.waitForFunction(fn, arg, { polling: 50 }), ms, what) // Playwright's signature
//   await p.evaluate((x) => x + 1, 1)
//   await p.fill('#text', 'hi'); await p.press('#text', 'Enter'); await p.click('button')
//   await p.keyboard.type('typed'); await p.textContent('#log'); await p.reload()
//   p.errors                               // page errors and console.error lines
//   await b.close()
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { deadline, tmpdir, CHROMIUM_FLAGS } from './lib.mjs'

export const BROWSERS = ['chromium', 'firefox']

// The browser named among the arguments, else Chromium.
export function browserArg(argv = process.argv.slice(2)) {
  return argv.find(a => BROWSERS.includes(a)) || 'chromium'
}

// Firefox's prefs for WebRTC tests (../shared/webrtc-interop-notes.md,
// "Firefox"): with stock prefs it gathers only mDNS host candidates on the
// default route, and none at all where loopback is the only network.
// ice.loopback and a microphone permission give it real host candidates,
// 127.0.0.1 included, with no getUserMedia call.
export const FIREFOX_PREFS = {
  'media.peerconnection.ice.loopback': true,
  'permissions.default.microphone': 1,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  // nothing of Firefox's own goes out (the tests run in a namespace anyway)
  'app.update.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'datareporting.healthreport.uploadEnabled': false,
  'toolkit.telemetry.enabled': false
}

// Launches `name`. opts.chromiumArgs: extra Chromium flags.
export async function launch(name = 'chromium', opts = {}) {
  if (name === 'firefox') return launchFirefox(opts)
  if (name !== 'chromium') throw new Error(`unknown browser ${name}`)
  const { chromium } = await import('playwright-core')
  const ctx = await chromium.launchPersistentContext(tmpdir('pkc-web-chromium-'), {
    executablePath: process.env.PKC_CHROMIUM || '/usr/bin/chromium', headless: true,
    args: [...CHROMIUM_FLAGS, ...(opts.chromiumArgs || [])]
  })
  // The persistent context opens a blank page of its own: used first.
  const blank = ctx.pages().slice()
  return {
    name, raw: ctx,
    async newPage() { return wrapPlaywright(blank.shift() || await ctx.newPage()) },
    close: () => ctx.close()
  }
}

async function launchFirefox(opts) {
  const exe = process.env.PKC_FIREFOX || '/usr/bin/firefox-esr'
  const puppeteer = (await import('puppeteer-core')).default
  const browser = await puppeteer.launch({
    browser: 'firefox', executablePath: exe, protocol: 'webDriverBiDi', headless: true,
    userDataDir: tmpdir('pkc-web-firefox-'), extraPrefsFirefox: { ...FIREFOX_PREFS, ...(opts.prefs || {}) }
  })
  process.on('exit', () => { try { browser.process()?.kill('SIGKILL') } catch {} })
  const blank = (await browser.pages()).slice()
  return {
    name: 'firefox', raw: browser,
    async newPage() { return wrapPuppeteer(blank.shift() || await browser.newPage()) },
    close: () => browser.close()
  }
}

// The browser must be installed (scripts/bootstrap installs both); where it
// is not, the test is skipped (77) and says so.
export function needBrowser(name) {
  const exe = name === 'firefox' ? (process.env.PKC_FIREFOX || '/usr/bin/firefox-esr')
    : (process.env.PKC_CHROMIUM || '/usr/bin/chromium')
  if (fs.existsSync(exe)) return
  console.error(`SKIP: ${exe} is not installed (scripts/bootstrap installs it)`)
  process.exit(77)
}

function common(page, raw, kind) {
  page.raw = raw
  page.errors = []
  page.consoleLines = []
  // Firefox reports an ICE failure itself, as an error of the page: the
  // browser's words, not the page's (the page reports the failure itself).
  const browsers = (text) => kind === 'firefox' && /^WebRTC: ICE failed/.test(text)
  raw.on('pageerror', e => {
    const text = String(e && e.message || e)
    if (browsers(text)) page.consoleLines.push(`browser error: ${text}`)
    else page.errors.push(text)
  })
  raw.on('console', m => {
    const line = `${m.type()}: ${m.text()}`
    if (m.type() === 'error' && !browsers(m.text()))
      page.errors.push(m.text())
    page.consoleLines.push(line)
    if (process.env.PKC_WEB_DEBUG) console.log(`[${kind}] ${line}`)
  })
  page.evaluate = (fn, arg) => raw.evaluate(fn, arg)
  page.textContent = (sel) => raw.evaluate((s) => {
    const e = document.querySelector(s)
    return e ? e.textContent : null
  }, sel)
  page.keyboard = raw.keyboard
  page.click = (sel) => raw.click(sel)
  page.close = () => raw.close()
  page.goto = (url) => raw.goto(url)
  page.reload = () => raw.reload()
  return page
}

function wrapPlaywright(raw) {
  const page = common({}, raw, 'chromium')
  page.browser = 'chromium'
  // fn(arg) true within ms, polled every `polling` ms.
  page.waitFor = (fn, arg, ms, what, polling = 50) =>
    deadline(raw.waitForFunction(fn, arg, { polling, timeout: ms + 5000 }), ms, what)
  page.waitForFunction = (fn, arg, o = {}) => raw.waitForFunction(fn, arg, { timeout: 0, ...o })
  page.fill = (sel, text) => raw.fill(sel, text)
  page.press = (sel, key) => raw.press(sel, key)
  // Runs `fn(arg)` in every document the page loads, before its scripts.
  page.initScript = (fn, arg) => raw.addInitScript(fn, arg)
  return page
}

function wrapPuppeteer(raw) {
  const page = common({}, raw, 'firefox')
  page.browser = 'firefox'
  raw.setDefaultTimeout(60000)
  page.waitFor = (fn, arg, ms, what, polling = 50) =>
    deadline(raw.waitForFunction(fn, { polling, timeout: ms + 5000 }, arg), ms, what)
  // Playwright's signature (the tests' waits are bounded by deadline()).
  page.waitForFunction = (fn, arg, o = {}) =>
    raw.waitForFunction(fn, { polling: o.polling || 'raf', timeout: o.timeout ?? 0 }, arg)
  page.fill = (sel, text) => raw.locator(sel).fill(text)
  page.press = async (sel, key) => {
    await raw.focus(sel)
    await raw.keyboard.press(key)
  }
  page.initScript = (fn, arg) => raw.evaluateOnNewDocument(fn, arg)
  return page
}

// The page's clock moved by offsetMs from the first script on (Date.now()
// and new Date() with no argument): call before goto.
export function shiftClock(page, offsetMs) {
  return page.initScript((off) => {
    const RealDate = Date
    const now = RealDate.now.bind(RealDate)
    class Shifted extends RealDate {
      constructor(...a) { if (a.length) super(...a); else super(now() + off) }
      static now() { return now() + off }
    }
    globalThis.Date = Shifted
  }, offsetMs)
}

// Re-runs this script in a network namespace of its own where loopback is
// the only network (as root a new one, else inside a user namespace), with
// PKC_TEST_NETNS=1; exits 77 (skip) where none can be made. In the
// namespace (this returns there), lo is up and, with veth, one end of a veth
// pair (both ends inside) has 10.99.0.1/24 and the default route (via
// 10.99.0.2, which nothing answers: the other end is in here too): Chromium
// gathers no candidate on loopback alone, nor any where there is no default
// route, so it gets 10.99.0.1 (packets to a local address stay on lo).
export function inNetns({ veth = false } = {}) {
  if (!process.env.PKC_TEST_NETNS) {
    for (const flags of ['-n', '-rn']) {
      if (spawnSync('unshare', [flags, 'true']).status !== 0) continue
      const r = spawnSync('unshare', [flags, process.execPath, ...process.argv.slice(1)],
        { stdio: 'inherit', env: { ...process.env, PKC_TEST_NETNS: '1' } })
      process.exit(r.status ?? 1)
    }
    console.error('SKIP: cannot make a network namespace (unshare -n)')
    process.exit(77)
  }
  // PKC_TEST_NETNS=1 set by hand outside a namespace must not make a veth
  // pair (and a default route) in the host's own network: a namespace of
  // ours has nothing but lo when we come in.
  const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout || ''
  const names = links.split('\n').filter(Boolean).map(l => l.split(':')[1].trim().split('@')[0])
  if (names.some(n => n !== 'lo')) {
    console.error(`FAIL: PKC_TEST_NETNS is set, but this network namespace has ${names.join(', ')}: ` +
      'not a namespace of the test\'s own; unset PKC_TEST_NETNS')
    process.exit(1)
  }
  const cmds = [['link', 'set', 'lo', 'up']]
  if (veth)
    cmds.push(['link', 'add', 'pkcweb0', 'type', 'veth', 'peer', 'name', 'pkcweb1'], ['link', 'set', 'pkcweb1', 'up'],
      ['addr', 'add', '10.99.0.1/24', 'dev', 'pkcweb0'], ['link', 'set', 'pkcweb0', 'up'],
      ['route', 'add', 'default', 'via', '10.99.0.2', 'dev', 'pkcweb0'])
  for (const cmd of cmds) {
    const r = spawnSync('ip', cmd, { encoding: 'utf8' })
    if (r.status !== 0) {
      console.error(`FAIL: ip ${cmd.join(' ')} in the namespace: ${r.stderr}`)
      process.exit(1)
    }
  }
}
