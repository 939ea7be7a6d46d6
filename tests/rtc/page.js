// Runs inside Chromium: one RTCPeerConnection and helpers the test calls.
window.T = {
  pc: null,
  chans: {},
  errors: [],
  newPc(config = {}) {
    this.pc = new RTCPeerConnection(config)
    this.pc.ondatachannel = e => this.adopt(e.channel)
    this.states = []
    this.pc.onconnectionstatechange = () => this.states.push(this.pc.connectionState)
    return true
  },
  adopt(ch) {
    ch.binaryType = 'arraybuffer'
    const c = { ch, queue: [], waiters: [] }
    c.opened = new Promise(res => { if (ch.readyState === 'open') res(); else ch.onopen = () => res() })
    c.closed = new Promise(res => { ch.onclose = () => res() })
    ch.onmessage = e => {
      const w = c.waiters.shift()
      if (w) w(e.data); else c.queue.push(e.data)
    }
    this.chans[ch.label] = c
    return c
  },
  next(label) {
    const c = this.chans[label]
    if (c.queue.length) return Promise.resolve(c.queue.shift())
    return new Promise(res => c.waiters.push(res))
  },
  async gathered() {
    const pc = this.pc
    if (pc.iceGatheringState === 'complete') return
    await new Promise(res => pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') res() }))
  },
  async offer() {
    await this.pc.setLocalDescription(await this.pc.createOffer())
    await this.gathered()
    return this.pc.localDescription.sdp
  },
  async answer(sdp) {
    await this.pc.setRemoteDescription({ type: 'offer', sdp })
    await this.pc.setLocalDescription(await this.pc.createAnswer())
    await this.gathered()
    return this.pc.localDescription.sdp
  },
  async applyAnswer(sdp) { await this.pc.setRemoteDescription({ type: 'answer', sdp }) },
  create(label, opts) { this.adopt(this.pc.createDataChannel(label, opts)); return true },
  async waitChannel(label) {
    while (!this.chans[label]) await new Promise(r => setTimeout(r, 5))
    await this.chans[label].opened
    const ch = this.chans[label].ch
    return { label: ch.label, id: ch.id, ordered: ch.ordered, maxRetransmits: ch.maxRetransmits,
             maxPacketLifeTime: ch.maxPacketLifeTime, protocol: ch.protocol, negotiated: ch.negotiated }
  },
  messages(big) {
    const bin = n => { const a = new Uint8Array(n); for (let i = 0; i < n; i++) a[i] = (i * 7 + 3) & 255; return a.buffer }
    const m = ['hello', 'h\u00e9llo w\u00f6rld \u2713 \u{1F680}', '', new Uint8Array([0, 1, 2, 255]).buffer, new ArrayBuffer(0)]
    if (big) m.push('x'.repeat(262144), bin(262144))
    return m
  },
  same(a, b) {
    if (typeof a === 'string' || typeof b === 'string') return a === b
    if (!(a instanceof ArrayBuffer) || !(b instanceof ArrayBuffer) || a.byteLength !== b.byteLength) return false
    const x = new Uint8Array(a), y = new Uint8Array(b)
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false
    return true
  },
  describe(m) { return typeof m === 'string' ? `text(${m.length})` : `binary(${m.byteLength})` },
  // Sends every message and checks that each comes back, same type, same
  // bytes, in order. Returns a list of problems (empty when all is well).
  async echo(label, big = true, burst = false) {
    const c = this.chans[label]
    await c.opened
    const problems = []
    const msgs = this.messages(big)
    if (burst) {
      for (const m of msgs) c.ch.send(m)
      for (const m of msgs) {
        const got = await this.next(label)
        if (!this.same(m, got)) problems.push(`${label}: sent ${this.describe(m)}, got ${this.describe(got)}`)
      }
    } else {
      for (const m of msgs) {
        c.ch.send(m)
        const got = await this.next(label)
        if (!this.same(m, got)) problems.push(`${label}: sent ${this.describe(m)}, got ${this.describe(got)}`)
      }
    }
    return problems
  },
  close() { this.pc.close(); return true },
  async closeChannel(label) { const c = this.chans[label]; c.ch.close(); await c.closed; return c.ch.readyState }
}
