// qr.js: QR codes on the page (docs/web.md, "Invitations made by a page").
// The symbol is made by qrcode-generator (npm qrcode-generator 2.0.4, MIT,
// copied to qrcode.mjs by `make web`) at error correction level M, the
// smallest version that holds the text; an invitation link's code (upper-case
// base32) goes in an alphanumeric segment, 5.5 bits a character, the rest in
// byte mode as UTF-8. It is drawn here as SVG: one path of unit squares,
// black on white, with the quiet zone of 4 modules a reader needs.
//
// peer.js imports this module (and so qrcode.mjs) only when an invitation is
// made: the first load of the page does not fetch them.
//
//   const { qrSvg } = await import('./qr.js');
//   el.innerHTML = qrSvg(url);
import qrcode from './qrcode.mjs';

const QUIET = 4;
const LEVEL = 'M';
// What a version 40-M symbol holds: in byte mode, and in alphanumeric mode.
const BYTES_MAX = 2331, ALNUM_MAX = 3391;
// A run of alphanumeric characters gets a segment of its own where that
// saves bits at every version: a run at the start or end of the text pays
// one header (mode 4 + count bits, 13 at most), one in the middle two (the
// byte segment after it starts anew: 4 + 16 more).
const ALNUM = /^[0-9A-Z $%*+\-./:]$/;
const HEADER_EDGE = 4 + 13, HEADER_MIDDLE = HEADER_EDGE + 4 + 16;
const saved = (n) => 8 * n - (11 * (n >> 1) + 6 * (n & 1));

// UTF-8 bytes as a string of char codes 0..255: what the library's byte mode
// takes byte for byte (its own conversion keeps the low 8 bits of each UTF-16
// unit).
function utf8(s) {
    let b = '';
    for (const c of new TextEncoder().encode(s)) b += String.fromCharCode(c);
    return b;
}

// The segments of `text`: [{ mode: 'Byte' | 'Alphanumeric', data }].
function segments(text) {
    const segs = [];
    let bytes = '';
    for (let i = 0; i < text.length;) {
        let j = i;
        while (j < text.length && ALNUM.test(text[j])) j++;
        const edge = i === 0 || j === text.length;
        if (j > i && ((i === 0 && j === text.length) || saved(j - i) > (edge ? HEADER_EDGE : HEADER_MIDDLE))) {
            if (bytes) segs.push({ mode: 'Byte', data: utf8(bytes) });
            segs.push({ mode: 'Alphanumeric', data: text.slice(i, j) });
            bytes = '';
        } else {
            while (j < text.length && !ALNUM.test(text[j])) j++;
            bytes += text.slice(i, j);
        }
        i = j;
    }
    if (bytes) segs.push({ mode: 'Byte', data: utf8(bytes) });
    return segs;
}

// The symbol of `text`: { size, version, segments, dark(x, y) } (size in
// modules, without the quiet zone). Throws an Error when the text is more
// than a QR code holds at level M.
export function qrModules(text) {
    text = String(text);
    const segs = segments(text);
    const qr = qrcode(0, LEVEL);
    for (const s of segs) qr.addData(s.data, s.mode);
    try {
        qr.make();
    } catch (e) {
        if (/overflow/.test(String(e))) {
            throw new Error(`qr: ${new TextEncoder().encode(text).length} bytes are more than a QR code ` +
                `holds at level ${LEVEL} (${BYTES_MAX} bytes, ${ALNUM_MAX} characters of 0-9 A-Z $%*+-./: ` +
                'and space)');
        }
        throw e instanceof Error ? e : new Error(`qr: ${e}`);
    }
    const size = qr.getModuleCount();
    return { size, version: (size - 17) / 4, segments: segs.map((s) => ({ mode: s.mode, length: s.data.length })),
        dark: (x, y) => qr.isDark(y, x) };
}

// An SVG document (a string) of the QR code of `text`, scaled by its
// container (viewBox in modules; crisp edges).
export function qrSvg(text) {
    const { size, dark } = qrModules(text);
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
