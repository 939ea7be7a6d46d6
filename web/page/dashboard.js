// dashboard.js: the page's network dashboard (docs/web.md, "The page"):
// peer.metrics() once a second as numbers, and the last minute of messages
// and bytes per second, in and out, as two line graphs on canvases (no
// library). Each canvas has a text alternative (its aria-label) saying
// what it shows now.

const HISTORY = 60; // samples (seconds) a graph shows

export function formatBytes(n) {
    if (!Number.isFinite(n)) return '–';
    const units = ['B', 'KB', 'MB', 'GB'];
    let i = 0;
    while (Math.abs(n) >= 1000 && i < units.length - 1) {
        n /= 1000;
        i++;
    }
    return `${i ? n.toFixed(n < 10 ? 1 : 0) : Math.round(n)} ${units[i]}`;
}

export function formatRate(n) {
    if (!Number.isFinite(n)) return '–';
    return n >= 100 ? String(Math.round(n)) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

export function formatDuration(ms) {
    const s = Math.floor(ms / 1000);
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function ago(ms, now) {
    if (!ms) return 'never';
    const d = Math.max(0, now - ms);
    return d < 1000 ? 'just now' : `${formatDuration(d)} ago`;
}

export class Dashboard {
    constructor(doc) {
        this.doc = doc;
        this.msgs = { in: [], out: [] };
        this.bytes = { in: [], out: [] };
    }

    set(id, text) {
        const el = this.doc.getElementById(id);
        if (el && el.textContent !== text) el.textContent = text;
    }

    update(m) {
        const n = m.network, s = m.sync, h = m.health;
        this.set('m-peers', String(n.connected_peers));
        this.set('m-connections', String(n.total_connections));
        this.set('m-msg-in', formatRate(n.messages_in_per_second));
        this.set('m-msg-out', formatRate(n.messages_out_per_second));
        this.set('m-bytes-in', formatBytes(n.bytes_in_per_second));
        this.set('m-bytes-out', formatBytes(n.bytes_out_per_second));
        this.set('m-latency', n.average_latency_ms >= 0 ? `${n.average_latency_ms.toFixed(1)} ms` : '–');
        this.set('m-known', String(n.known_peers));
        this.set('m-state', formatBytes(s.state_bytes));
        this.set('m-pending', String(s.pending_updates));
        this.set('m-conflicts', String(s.conflicts_resolved));
        this.set('m-last-sync', ago(s.last_sync_ms, Date.now()));
        this.set('m-status', h.status);
        this.set('m-uptime', formatDuration(h.uptime_ms));
        this.set('m-reconnections', String(h.reconnections));
        this.set('m-errors', String(h.errors));
        const push = (a, v) => {
            a.push(Number.isFinite(v) ? v : 0);
            if (a.length > HISTORY) a.shift();
        };
        push(this.msgs.in, n.messages_in_per_second);
        push(this.msgs.out, n.messages_out_per_second);
        push(this.bytes.in, n.bytes_in_per_second);
        push(this.bytes.out, n.bytes_out_per_second);
        const mm = this.draw('graph-msgs', this.msgs);
        this.set('graph-max', formatRate(mm));
        const bm = this.draw('graph-bytes', this.bytes);
        this.set('graph-bytes-max', formatBytes(bm));
        const last = (a) => a[a.length - 1] || 0;
        this.label('graph-msgs', `messages per second, last minute: now ${formatRate(last(this.msgs.in))} ` +
            `in and ${formatRate(last(this.msgs.out))} out, at most ${formatRate(mm)}`);
        this.label('graph-bytes', `bytes per second, last minute: now ${formatBytes(last(this.bytes.in))} ` +
            `in and ${formatBytes(last(this.bytes.out))} out, at most ${formatBytes(bm)}`);
    }

    label(id, text) {
        const el = this.doc.getElementById(id);
        if (el) el.setAttribute('aria-label', text);
    }

    // Two series (in, out) as lines over the last HISTORY samples, scaled
    // to the largest value shown; returns that value.
    draw(id, series) {
        const canvas = this.doc.getElementById(id);
        if (!canvas || !canvas.getContext) return 0;
        const ratio = globalThis.devicePixelRatio || 1;
        const w = Math.max(1, Math.round(canvas.clientWidth * ratio));
        const h = Math.max(1, Math.round(canvas.clientHeight * ratio));
        if (canvas.width !== w || canvas.height !== h) {
            canvas.width = w;
            canvas.height = h;
        }
        const ctx = canvas.getContext('2d');
        ctx.clearRect(0, 0, w, h);
        const max = Math.max(...series.in, ...series.out, 0);
        const top = max > 0 ? max * 1.15 : 1;
        const pad = 4 * ratio;
        ctx.strokeStyle = '#d5d9e0';
        ctx.lineWidth = ratio;
        for (const f of [0.25, 0.5, 0.75]) {
            const y = Math.round(pad + (h - 2 * pad) * f) + 0.5;
            ctx.beginPath();
            ctx.moveTo(0, y);
            ctx.lineTo(w, y);
            ctx.stroke();
        }
        const style = getComputedStyle(this.doc.documentElement);
        const colours = { in: style.getPropertyValue('--in').trim() || '#0b57d0',
            out: style.getPropertyValue('--out').trim() || '#b3261e' };
        for (const key of ['in', 'out']) {
            const a = series[key];
            if (a.length < 2) continue;
            ctx.strokeStyle = colours[key];
            ctx.lineWidth = 2 * ratio;
            ctx.lineJoin = 'round';
            ctx.beginPath();
            a.forEach((v, i) => {
                const x = w - (a.length - 1 - i) * (w / (HISTORY - 1));
                const y = h - pad - (h - 2 * pad) * (v / top);
                if (i === 0) ctx.moveTo(x, y);
                else ctx.lineTo(x, y);
            });
            ctx.stroke();
        }
        return max;
    }
}
