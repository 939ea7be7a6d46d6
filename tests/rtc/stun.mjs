// A STUN server (coturn) on loopback gives pkc a server-reflexive candidate,
// and a peer that knows only that candidate connects through it. The test
// starts coturn on a free port and stops it.
import { spawn } from 'node:child_process'
import dgram from 'node:dgram'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { check, deadline, failed, pkc, tmpdir } from './lib.mjs'

const T = 20000
const dir = tmpdir('pkc-coturn-')

// A free UDP port: bind port 0, note it, release it; coturn takes it next
// (if another process wins the race, the readiness probe below fails and
// we try again).
async function freePort() {
  const s = dgram.createSocket('udp4')
  await new Promise(res => s.bind(0, '127.0.0.1', res))
  const p = s.address().port
  await new Promise(res => s.close(res))
  return p
}

// Sends STUN Binding requests until one is answered.
async function stunAnswers(port, ms) {
  const s = dgram.createSocket('udp4')
  await new Promise(res => s.bind(0, '127.0.0.1', res))
  const req = Buffer.alloc(20)
  req.writeUInt16BE(0x0001, 0); req.writeUInt16BE(0, 2); req.writeUInt32BE(0x2112A442, 4)
  crypto.randomFillSync(req, 8, 12)
  try {
    return await deadline(new Promise(resolve => {
      s.on('message', m => { if (m.length >= 20 && m.readUInt16BE(0) === 0x0101) resolve(true) })
      const send = () => s.send(req, port, '127.0.0.1')
      send()
      const t = setInterval(send, 100)
      s.on('close', () => clearInterval(t))
    }), ms, 'coturn answers')
  } catch { return false } finally { s.close() }
}

let coturn, port
for (let attempt = 0; attempt < 5 && !coturn; attempt++) {
  port = await freePort()
  const alt = await freePort()
  const proc = spawn('turnserver', ['-n', '--stun-only', '--listening-ip=127.0.0.1', `--listening-port=${port}`,
    `--alt-listening-port=${alt}`, '--no-tls', '--no-dtls', '--no-cli', '--no-rfc5780',
    `--userdb=${path.join(dir, 'turndb')}`, `--pidfile=${path.join(dir, 'turnserver.pid')}`,
    '--log-file=stdout', '--simple-log', '--no-software-attribute'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  proc.stdout.on('data', d => { log += d })
  proc.stderr.on('data', d => { log += d })
  if (await stunAnswers(port, 5000)) { coturn = proc; coturn.log = () => log }
  else { proc.kill('SIGKILL'); console.error(`coturn did not come up on ${port}: ${log.slice(-500)}`) }
}
if (!coturn) { console.error('FAIL: could not start coturn'); process.exit(1) }
process.on('exit', () => coturn.kill('SIGKILL'))

try {
  // The offerer has no loopback host candidates, so the mapped address
  // coturn reports (127.0.0.1:port) is not redundant with a host candidate.
  const a = pkc(['rtc', 'echo', '--offer', '--no-loopback', '--stun', `127.0.0.1:${port}`, '--timeout', '30'])
  const off = await a.next('offer', T)
  const srflx = off.sdp.split('\r\n').filter(l => / typ srflx /.test(l))
  check(srflx.length === 1, `one server-reflexive candidate in the offer: ${srflx.join(' | ')}`)
  const m = srflx[0] && srflx[0].match(/ udp \d+ (\S+) (\d+) typ srflx raddr (\S+) rport (\d+)/)
  check(m && m[1] === '127.0.0.1', `mapped address is 127.0.0.1: ${srflx[0]}`)
  check(m && m[2] === m[4], 'mapped port is the socket\'s port (no NAT on loopback)')
  check(/a=end-of-candidates/.test(off.sdp), 'gathering completed before the offer was printed')
  // The answerer learns only the server-reflexive candidate.
  const onlySrflx = off.sdp.split('\r\n').filter(l => !/^a=candidate:/.test(l) || / typ srflx /.test(l)).join('\r\n')
  const b = pkc(['rtc', 'echo', '--timeout', '30'])
  b.send({ type: 'offer', sdp: onlySrflx })
  const ans = await b.next('answer', T)
  // The offerer learns none of the answerer's candidates either: otherwise it
  // may check (and nominate) a pair between the two hosts' own interface
  // addresses, which the answerer sees as peer-reflexive, and the srflx path
  // this test is about would only win when it happens to be checked first.
  a.send({ type: 'answer', sdp: ans.sdp.split('\r\n').filter(l => !/^a=candidate:/.test(l)).join('\r\n') })
  const stats = await b.next('stats', T)
  check(stats.remote_type === 'srflx', `the answerer reached the offerer through its srflx candidate: ${JSON.stringify(stats)}`)
  check(stats.remote === `127.0.0.1:${m && m[2]}`, `selected remote ${stats.remote}`)
  const open = await b.next(l => l.type === 'channel' && l.label === 'echo', T, 'the channel opens')
  check(open.how === 'remote', 'channel opened over the srflx path')
  a.kill(); b.kill()
  // A STUN server that does not answer: gathering ends after retries and
  // the offer still comes (with host candidates only).
  const dead = await freePort()
  const c = pkc(['rtc', 'echo', '--offer', '--stun', `127.0.0.1:${dead}`, '--timeout', '30'])
  const off2 = await c.next('offer', T)
  check(!/typ srflx/.test(off2.sdp) && /typ host/.test(off2.sdp), 'no srflx from a silent server, host candidates still offered')
  c.kill()
  // The server by name: "localhost" is resolved (asynchronously) before
  // gathering starts.
  const n = pkc(['rtc', 'echo', '--offer', '--no-loopback', '--stun', `localhost:${port}`, '--timeout', '30'])
  const off3 = await n.next('offer', T)
  const s3 = off3.sdp.split('\r\n').filter(l => / typ srflx /.test(l))
  check(s3.some(l => / 127\.0\.0\.1 \d+ typ srflx/.test(l)),
    `a srflx candidate from a server given by name: ${s3.join(' | ')}`)
  n.kill()
} catch (e) {
  check(false, `${e.message}\n--- coturn ---\n${coturn.log().slice(-2000)}`)
}
coturn.kill('SIGKILL')
if (failed()) { console.error(`${failed()} check(s) failed`); process.exit(1) }
console.log('STUN server-reflexive checks passed')
process.exit(0)
