// qr.js: QR codes on the page (docs/web.md, "Invitations made by a page").
// The symbol is made in pkc.wasm (web/src/qr_web.c: level M, the smallest
// version, an invitation's code in alphanumeric mode) and drawn here as
// SVG: one path of unit squares, black on white, with the quiet zone of 4
// modules a reader needs.
//
//   import { qrSvg } from './qr.js';
//   el.innerHTML = qrSvg(url, pkc);      // pkc: a loaded pkc.js module
//
// The module given last is used when none is given.
const QUIET = 4;
const SIZE_MAX = 177;
let lastPkc = null;

// The modules of `text`: { size, dark(x, y) }. Throws an Error (too long).
export function qrModules(text, pkc = lastPkc) {
    if (!pkc) throw new Error('qr: no pkc module loaded');
    lastPkc = pkc;
    const [t, len] = pkc.put(String(text));
    const out = pkc.alloc(SIZE_MAX * SIZE_MAX);
    return pkc.call(() => {
        const size = pkc.x.pkcw_qr_encode(t, len, out, SIZE_MAX * SIZE_MAX);
        if (size < 0) pkc.check(size);
        const m = pkc.bytes(out, size * size);
        return { size, modules: m, dark: (x, y) => m[y * size + x] === 1 };
    }, [t, out]);
}

// An SVG document (a string) of the QR code of `text`, scaled by its
// container (viewBox in modules; crisp edges).
export function qrSvg(text, pkc = lastPkc) {
    const { size, dark } = qrModules(text, pkc);
    const n = size + 2 * QUIET;
    let d = '';
    for (let y = 0; y < size; y++) {
        for (let x = 0; x < size;) {
            if (!dark(x, y)) { x++; continue; }
            let w = 1;
            while (x + w < size && dark(x + w, y)) w++;
            d += `M${x + QUIET} ${y + QUIET}h${w}v1h-${w}z`;
            x += w;
        }
    }
    return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${n} ${n}" shape-rendering="crispEdges" ` +
        `role="img" aria-label="QR code"><rect width="${n}" height="${n}" fill="#fff"/>` +
        `<path fill="#000" d="${d}"/></svg>`;
}
