// A peer behind a NAT (network namespaces made here, iptables MASQUERADE)
// learns its public address from coturn and connects to a public peer
// through it. Needs root (network namespaces); exits 77 (skipped) if it
// cannot make them. Everything stays inside the namespaces, which are
// removed at the end.
//
//   rtc-a-N (10.77.1.2) -- rtc-r-N (10.77.1.1 | 198.18.77.1, NAT) -- rtc-w-N (198.18.77.2 coturn, .3 peer)
import { execFileSync, spawn } from 'node:child_process'
import path from 'node:path'
import { check, deadline, failed, pkc, tmpdir } from './lib.mjs'

const T = 20000
const n = String(process.pid % 100000)
const A = `rtc-a-${n}`, R = `rtc-r-${n}`, W = `rtc-w-${n}`
const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString()
// nsenter joins only the network namespace; `ip netns exec` also remounts /sys in a new mount
// namespace, which fails in chroots and some containers.
const inNsArgs = ns => ['nsenter', `--net=/run/netns/${ns}`]
const inNs = (ns, cmd, ...args) => execFileSync(inNsArgs(ns)[0], [...inNsArgs(ns).slice(1), cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString()

function cleanup() {
  for (const ns of [A, R, W]) { try { ip('netns', 'del', ns) } catch {} }
}
try {
  ip('netns', 'add', A)
} catch (e) {
  console.log(`skipped: cannot create network namespaces (${e.message.split('\n')[0]})`)
  process.exit(77)
}
process.on('exit', cleanup)
const dir = tmpdir('pkc-nat-')
let coturn
try {
  ip('netns', 'add', R)
  ip('netns', 'add', W)
  ip('link', 'add', `va${n}`, 'type', 'veth', 'peer', 'name', `vra${n}`)
  ip('link', 'set', `va${n}`, 'netns', A)
  ip('link', 'set', `vra${n}`, 'netns', R)
  ip('link', 'add', `vw${n}`, 'type', 'veth', 'peer', 'name', `vrw${n}`)
  ip('link', 'set', `vw${n}`, 'netns', W)
  ip('link', 'set', `vrw${n}`, 'netns', R)
  for (const ns of [A, R, W]) inNs(ns, 'ip', 'link', 'set', 'lo', 'up')
  inNs(A, 'ip', 'addr', 'add', '10.77.1.2/24', 'dev', `va${n}`)
  inNs(A, 'ip', 'link', 'set', `va${n}`, 'up')
  inNs(A, 'ip', 'route', 'add', 'default', 'via', '10.77.1.1')
  inNs(R, 'ip', 'addr', 'add', '10.77.1.1/24', 'dev', `vra${n}`)
  inNs(R, 'ip', 'addr', 'add', '198.18.77.1/24', 'dev', `vrw${n}`)
  inNs(R, 'ip', 'link', 'set', `vra${n}`, 'up')
  inNs(R, 'ip', 'link', 'set', `vrw${n}`, 'up')
  inNs(R, 'sysctl', '-q', 'net.ipv4.ip_forward=1')
  inNs(R, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', `vrw${n}`, '-j', 'MASQUERADE')
  inNs(W, 'ip', 'addr', 'add', '198.18.77.2/24', 'dev', `vw${n}`)
  inNs(W, 'ip', 'addr', 'add', '198.18.77.3/24', 'dev', `vw${n}`)
  inNs(W, 'ip', 'link', 'set', `vw${n}`, 'up')

  coturn = spawn('nsenter', [`--net=/run/netns/${W}`, 'turnserver', '-n', '--stun-only', '--listening-ip=198.18.77.2',
    '--listening-port=3478', '--no-tls', '--no-dtls', '--no-cli', '--no-rfc5780', '--no-software-attribute',
    `--userdb=${path.join(dir, 'turndb')}`, `--pidfile=${path.join(dir, 'turnserver.pid')}`,
    '--log-file=stdout', '--simple-log'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  coturn.stdout.on('data', d => { log += d })
  await deadline(new Promise(res => { const t = setInterval(() => { if (/listener opened|Total (UDP|General) servers/.test(log)) { clearInterval(t); res() } }, 50) }), 10000, 'coturn starts')

  // The peers: pkc inside the namespaces (the same binary, run through nsenter).
  const a = pkc(['rtc', 'echo', '--offer', '--stun', '198.18.77.2:3478', '--timeout', '30'], { wrap: inNsArgs(A) })
  const off = await a.next('offer', T)
  const lines = off.sdp.split('\r\n').filter(l => l.startsWith('a=candidate:'))
  const srflx = lines.find(l => / typ srflx /.test(l))
  check(lines.some(l => / 10\.77\.1\.2 \d+ typ host/.test(l)), `host candidate behind the NAT: ${lines.join(' | ')}`)
  check(srflx && / 198\.18\.77\.1 \d+ typ srflx raddr 10\.77\.1\.2 /.test(srflx), `srflx is the NAT's address, related to the host: ${srflx}`)
  const b = pkc(['rtc', 'echo', '--timeout', '30'], { wrap: inNsArgs(W) })
  b.send(off)
  const ans = await b.next('answer', T)
  a.send(ans)
  const sb = await b.next('stats', T)
  check(/^198\.18\.77\.1:/.test(sb.remote), `the public peer reaches the NATed one at the NAT's address: ${sb.remote}`)
  const ch = await b.next(m => m.type === 'channel' && m.label === 'echo', T, 'channel through the NAT')
  check(ch.how === 'remote', 'the channel opened through the NAT')
  a.kill(); b.kill()
} catch (e) {
  check(false, e.message)
} finally {
  if (coturn) coturn.kill('SIGKILL')
}
if (failed()) { console.error(`${failed()} check(s) failed`); process.exit(1) }
console.log('NAT: server-reflexive candidate and connection through it')
process.exit(0)
