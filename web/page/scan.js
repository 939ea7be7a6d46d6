// scan.js: reads a QR code with the camera (docs/web.md, "The page",
// Scanning). The browser's BarcodeDetector where it has one that reads QR
// codes (Chromium on Android, macOS, ChromeOS; Safari), otherwise jsQR
// (the npm package jsqr 1.4.0, Apache-2.0, copied to jsQR.js by `make web`),
// loaded only when a scan starts: a page that never scans never fetches it.
//
//   const text = await scanQr(videoElement, { signal, onStatus });

const FRAME_MAX = 800;      // frames are scaled down to this width at most before decoding
const INTERVAL_MS = 150;    // between two attempts

async function detector() {
    if (typeof BarcodeDetector !== 'undefined') {
        try {
            const formats = await BarcodeDetector.getSupportedFormats();
            if (formats.includes('qr_code')) {
                const d = new BarcodeDetector({ formats: ['qr_code'] });
                return { name: 'BarcodeDetector', detect: async (video) => {
                    const found = await d.detect(video);
                    return found.length ? found[0].rawValue : null;
                } };
            }
        } catch {
            // not usable here: jsQR below
        }
    }
    // jsQR's bundle is a UMD module: imported, it sets self.jsQR.
    await import('./jsQR.js');
    const jsQR = globalThis.jsQR;
    if (typeof jsQR !== 'function') throw new Error('the QR decoder (jsQR.js) did not load');
    const canvas = document.createElement('canvas');
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    return { name: 'jsQR', detect: async (video) => {
        const w = video.videoWidth, h = video.videoHeight;
        if (!w || !h) return null;
        const scale = Math.min(1, FRAME_MAX / w);
        canvas.width = Math.round(w * scale);
        canvas.height = Math.round(h * scale);
        ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
        const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
        const code = jsQR(img.data, img.width, img.height, { inversionAttempts: 'attemptBoth' });
        return code && code.data ? code.data : null;
    } };
}

// Starts the camera in `video`, looks for a QR code in its frames until one
// is read (resolves to its text) or `signal` aborts (rejects with an
// AbortError). The camera is released either way.
export async function scanQr(video, { signal, onStatus = () => {} } = {}) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia)
        throw new Error('this browser gives no camera here (a camera needs https or localhost)');
    onStatus('asking for the camera…');
    const stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: { ideal: 'environment' } }, audio: false });
    try {
        if (signal && signal.aborted) throw new DOMException('stopped', 'AbortError');
        video.srcObject = stream;
        await video.play();
        const d = await detector();
        onStatus(`looking for a QR code (${d.name})…`);
        for (;;) {
            if (signal && signal.aborted) throw new DOMException('stopped', 'AbortError');
            const text = await d.detect(video).catch(() => null);
            if (text) return text;
            await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
        }
    } finally {
        for (const t of stream.getTracks()) t.stop();
        video.srcObject = null;
    }
}
