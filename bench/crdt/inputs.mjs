// The inputs of the crdt-benchmarks suite (B1 to B3, N = 6000, lib0 prng
// seeded with 42, as dmonad/crdt-benchmarks js-lib/b1.js..b3.js define them)
// written as JSON so that pkc and yjs run exactly the same operations.
// B4 is the automerge-paper editing trace, read by both sides directly.
//
// Usage: node inputs.mjs OUT.json
import * as prng from 'lib0/prng'
import * as math from 'lib0/math'
import fs from 'node:fs'

const N = 6000
const gen = prng.create(42)
const out = {}

// B1: one peer; every op is its own transaction.
// ops: ["ti", index, text] insert text, ["td", index, len] delete text,
//      ["ai", index, [numbers]] insert into the array
{
  const string = prng.word(gen, N, N)
  out['B1.1'] = string.split('').map((s, i) => ['ti', i, s])
}
{
  const string = prng.word(gen, N, N)
  out['B1.2'] = [['ti', 0, string]]
}
{
  const string = prng.word(gen, N, N)
  const rev = string.split('').reverse()
  out['B1.3'] = rev.map(s => ['ti', 0, s])
}
{
  let string = ''
  const ops = []
  for (let i = 0; i < N; i++) {
    const index = prng.int32(gen, 0, string.length)
    const insert = prng.word(gen, 1, 1)
    string = string.slice(0, index) + insert + string.slice(index)
    ops.push(['ti', index, insert])
  }
  out['B1.4'] = ops
}
{
  let string = ''
  const ops = []
  for (let i = 0; i < N; i++) {
    const index = prng.int32(gen, 0, string.length)
    const insert = prng.word(gen, 2, 10)
    string = string.slice(0, index) + insert + string.slice(index)
    ops.push(['ti', index, insert])
  }
  out['B1.5'] = ops
}
{
  const string = prng.word(gen, N, N)
  out['B1.6'] = [['ti', 0, string], ['td', 0, string.length]]
}
{
  let string = ''
  const ops = []
  for (let i = 0; i < N; i++) {
    const index = prng.uint32(gen, 0, string.length)
    if (string.length === index || prng.bool(gen)) {
      const insert = prng.word(gen, 2, 10)
      string = string.slice(0, index) + insert + string.slice(index)
      ops.push(['ti', index, insert])
    } else {
      const deleteCount = prng.uint32(gen, 1, math.min(9, string.length - index))
      string = string.slice(0, index) + string.slice(index + deleteCount)
      ops.push(['td', index, deleteCount])
    }
  }
  out['B1.7'] = ops
}
{
  const numbers = Array.from({ length: N }).map(() => prng.uint32(gen, 0, 0x7fffffff))
  out['B1.8'] = numbers.map((n, i) => ['ai', i, [n]])
}
{
  const numbers = Array.from({ length: N }).map(() => prng.uint32(gen, 0, 0x7fffffff))
  out['B1.9'] = [['ai', 0, numbers]]
}
{
  const numbers = Array.from({ length: N }).map(() => prng.uint32(gen, 0, 0x7fffffff))
  out['B1.10'] = numbers.map(n => ['ai', 0, [n]])
}
{
  const numbers = []
  const ops = []
  for (let i = 0; i < N; i++) {
    const index = prng.uint32(gen, 0, numbers.length)
    const insert = prng.uint32(gen, 0, 0x7fffffff)
    numbers.splice(index, 0, insert)
    ops.push(['ai', index, [insert]])
  }
  out['B1.11'] = ops
}

// B2: two peers; each runs its ops in one transaction, then they sync.
const initText = prng.word(gen, 100, 100)
const b2 = (mk) => { const a = mk(); const b = mk(); return { init: initText, a, b } }
{
  const s1 = prng.word(gen, N, N)
  const s2 = prng.word(gen, N, N)
  out['B2.1'] = { init: initText, a: [['ti', 0, s1]], b: [['ti', 0, s2]] }
}
out['B2.2'] = b2(() => {
  let str = initText
  const ops = []
  for (let i = 0; i < N; i++) {
    const index = prng.uint32(gen, 0, str.length)
    const insert = prng.word(gen, 1, 1)
    str = str.slice(0, index) + insert + str.slice(index)
    ops.push(['ti', index, insert])
  }
  return ops
})
out['B2.3'] = b2(() => {
  let str = initText
  const ops = []
  for (let i = 0; i < N; i++) {
    const index = prng.uint32(gen, 0, str.length)
    const insert = prng.word(gen, 3, 9)
    str = str.slice(0, index) + insert + str.slice(index)
    ops.push(['ti', index, insert])
  }
  return ops
})
out['B2.4'] = b2(() => {
  let str = initText
  const ops = []
  for (let i = 0; i < N; i++) {
    const index = prng.uint32(gen, 0, str.length)
    const insert = prng.word(gen, 3, 9)
    str = str.slice(0, index) + insert + str.slice(index)
    ops.push(['ti', index, insert])
    if (str.length === index || prng.bool(gen)) {
      const insert2 = prng.word(gen, 2, 10)
      str = str.slice(0, index) + insert2 + str.slice(index)
      ops.push(['ti', index, insert2])
    } else {
      const deleteCount = prng.uint32(gen, 1, math.min(9, str.length - index))
      str = str.slice(0, index) + str.slice(index + deleteCount)
      ops.push(['td', index, deleteCount])
    }
  }
  return ops
})

// B3: 20 * sqrt(N) peers each make one change; a peer applies them all.
// ops per peer: ["ms", key, value] set in the map, or ["ai", 0, [string]]
const sqrtN = math.floor(math.sqrt(N)) * 20
const b3 = f => Array.from({ length: sqrtN }).map((_, i) => f(i))
out['B3.1'] = b3(i => ['ms', 'v', i])
out['B3.2'] = b3(i => ['ms', 'v', { name: i.toString(), address: 'here' }])
out['B3.3'] = b3(i => ['ms', 'v', i.toString().repeat(sqrtN)])
out['B3.4'] = b3(i => ['ai', 0, [i.toString()]])

fs.writeFileSync(process.argv[2], JSON.stringify(out))
