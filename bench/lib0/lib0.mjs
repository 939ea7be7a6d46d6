// The lib0 npm package on the workload of bench_lib0.c; one JSON line.
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'

const N = 2000000
const vals = new Array(N)
for (let i = 0; i < N; i++) vals[i] = Number((BigInt(i) * 2654435761n) % (1n << BigInt(7 * (i % 7 + 1))))
const str = 'hello, world €'
let bestEnc = 1e9; let bestDec = 1e9; let bytes = 0; let sink = 0
for (let round = 0; round < 5; round++) {
  const t0 = performance.now()
  const e = encoding.createEncoder()
  for (let i = 0; i < N; i++) {
    encoding.writeVarUint(e, vals[i])
    encoding.writeVarInt(e, -Math.floor(vals[i] / 2))
    if (i % 8 === 0) encoding.writeVarString(e, str)
  }
  const buf = encoding.toUint8Array(e)
  const t1 = performance.now()
  const d = decoding.createDecoder(buf)
  for (let i = 0; i < N; i++) {
    sink += decoding.readVarUint(d)
    sink += decoding.readVarInt(d)
    if (i % 8 === 0) sink += decoding.readVarString(d).length
  }
  const t2 = performance.now()
  bestEnc = Math.min(bestEnc, (t1 - t0) / 1000)
  bestDec = Math.min(bestDec, (t2 - t1) / 1000)
  bytes = buf.length
}
const ops = N * 2 + N / 8
console.log(JSON.stringify({ impl: 'lib0', values: ops, bytes, encode_mops: +(ops / bestEnc / 1e6).toFixed(2), decode_mops: +(ops / bestDec / 1e6).toFixed(2), sink: sink % 10 }))
