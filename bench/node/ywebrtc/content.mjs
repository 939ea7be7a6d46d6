// The document content of the sync rows: n characters of pseudo-random
// lower-case words, the same in every process (a fixed-seed LCG), so the
// receiver checks what it got without it being sent twice.
const cache = new Map()
export function text(n) {
    if (cache.has(n)) return cache.get(n)
    const alphabet = 'abcdefghijklmnopqrstuvwxyz     '
    const out = new Array(n)
    let x = 0x2545f491
    for (let i = 0; i < n; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0
        out[i] = alphabet[(x >>> 16) % alphabet.length]
    }
    const s = out.join('')
    cache.set(n, s)
    return s
}
