// ui.js: the landing page (docs/web.md, "The page"): identity and status,
// invite and join (a pasted link or code, a link's fragment, a QR code
// scanned with the camera), the peer list with state, route and latency,
// chat, the shared note and the network dashboard (peer.metrics(), the
// native node's figures, drawn once a second).
import { load } from './pkc.js';
import { Peer } from './peer.js';
import { Store } from './store.js';
import { Dashboard } from './dashboard.js';
import { createP2P } from './p2p.js'; // window.p2p: docs/web.md, "The JavaScript API"
const $ = (id) => document.getElementById(id);
const status = $('status');
const errors = [];
const showError = (message) => {
  errors.push(message);
  const li = document.createElement('li');
  li.textContent = message;
  $('errors').append(li);
};
try {
  const pkc = await load();
  const params = new URLSearchParams(location.search);
  // The identity, rooms and documents are kept in IndexedDB (one
  // database per origin; per ?channel= for tests): docs/web.md,
  // "Persistence". Without storage (a private window that refuses it),
  // the tab runs with a fresh identity, not kept.
  let store = null, identity, kept;
  try {
    store = await Store.open(params.get('channel') ? `pkc:${params.get('channel')}` : 'pkc');
    const rec = await store.claimIdentity((seed) => {
      const id = pkc.identityFromSeed(seed);
      try { return id.peerId; } finally { id.free(); }
    });
    identity = pkc.identityFromSeed(rec.seed);
    kept = rec.fresh ? 'a new identity, kept in this browser' : 'kept in this browser';
  } catch (e) {
    store = null;
    identity = pkc.generateIdentity();
    kept = `a fresh identity, not kept: ${e.message}`;
  }
  const peer = new Peer(pkc, identity, { store, tamper: params.get('tamper') || undefined,
    channel: params.get('channel') || undefined });
  window.pkcPeer = peer;
  window.p2p = createP2P(peer);
  $('me').textContent = peer.peerId;
  $('kept').textContent = kept;

  // The peer list: every peer known (peer.peerList()): neighbours
  // (direct, with their latency), links being set up, and peers the meshes
  // know through neighbours (relayed, or heard of with no route).
  const tag = (cls, text) => {
    const s = document.createElement('span');
    s.className = `tag ${cls}`;
    s.textContent = text;
    return s;
  };
  const showPeers = () => {
    const list = peer.peerList();
    const ul = $('peers');
    const connected = list.filter((p) => p.state === 'connected');
    const n = new Set(connected.map((p) => p.peerId)).size;
    $('peer-count').textContent = String(n);
    const items = [];
    for (const p of list) {
      const li = document.createElement('li');
      li.dataset.peer = p.peerId;
      li.dataset.state = p.state;
      li.dataset.route = p.route;
      const code = document.createElement('code');
      code.textContent = p.peerId;
      const route = p.route === 'direct' ? 'direct'
        : p.route === 'relayed' ? `relayed via ${p.via.slice(0, 12)}… (${p.hops} hops)`
          : p.route === 'waypoint' ? `through ${p.via.slice(0, 12)}…` : 'heard of, no route';
      // Spaces between the parts, for screen readers and copying.
      li.append(code, ' ', tag(p.state, p.state), ' ', tag('route', route));
      if (p.room) li.append(' ', tag('room', `room ${p.room}`));
      if (p.latencyMs != null) {
        const l = tag('latency', `${p.latencyMs.toFixed(1)} ms`);
        l.title = 'round-trip time';
        l.dataset.latency = String(p.latencyMs);
        li.append(' ', l);
      }
      items.push(li);
    }
    if (items.length === 0) {
      const li = document.createElement('li');
      li.className = 'empty';
      li.textContent = 'none yet: open this page in another tab, or join by invitation';
      items.push(li);
    }
    ul.replaceChildren(...items);
    status.textContent = n ? `connected to ${n} peer${n === 1 ? '' : 's'}` : 'alone';
    status.dataset.state = n ? 'connected' : 'alone';
  };
  const say = (from, text, room) => {
    const li = document.createElement('li');
    const who = document.createElement('code');
    who.textContent = from === peer.peerId ? 'you' : from.slice(0, 12) + '…';
    li.append(who, `: ${text}`);
    // Which room, once there is more than one.
    if (room && peer.rooms.size > 1) li.append(` (${room === 'local' ? 'local room' : `room ${room}`})`);
    $('log').append(li);
    li.scrollIntoView({ block: 'nearest' });
  };
  peer.addEventListener('peer:connect', showPeers);
  peer.addEventListener('peer:disconnect', showPeers);
  peer.addEventListener('message', (e) => say(e.detail.from, e.detail.text, e.detail.room));
  peer.addEventListener('error', (e) => showError(e.detail.message));
  if (params.has('debug')) peer.addEventListener('log', (e) => console.debug(`pkc: ${e.detail.text}`));

  await peer.restore(); // the rooms and documents kept, before connecting
  peer.start();
  $('room').textContent = [...peer.rooms.values()].map((r) => r.name).join(', ');
  const note = peer.doc('note');
  const text = note.getText('note');
  const area = $('note');
  let shown = text.toString();
  area.value = shown;
  // A local edit: the difference from what was shown, as one delete and
  // one insert (indexes in UTF-16 code units, as Yjs counts them).
  area.addEventListener('input', () => {
    const now = area.value;
    let a = 0;
    while (a < shown.length && a < now.length && shown[a] === now[a]) a++;
    let b = 0;
    while (b < shown.length - a && b < now.length - a &&
           shown[shown.length - 1 - b] === now[now.length - 1 - b]) b++;
    peer.change(() => {
      if (shown.length - a - b > 0) text.delete(a, shown.length - a - b);
      if (now.length - a - b > 0) text.insert(a, now.slice(a, now.length - b));
    });
    shown = now;
  });
  peer.addEventListener('doc', (e) => {
    if (e.detail.name !== 'note' || e.detail.local) return;
    const value = text.toString();
    if (value === area.value) { shown = value; return; }
    // The caret moves with the text a peer inserted or removed before it.
    const old = area.value;
    let a = 0;
    while (a < old.length && a < value.length && old[a] === value[a]) a++;
    let b = 0;
    while (b < old.length - a && b < value.length - a &&
           old[old.length - 1 - b] === value[value.length - 1 - b]) b++;
    const removed = old.length - a - b, inserted = value.length - a - b;
    const move = (pos) => (pos <= a ? pos : pos >= a + removed ? pos + inserted - removed
      : a + inserted);
    const start = move(area.selectionStart), end = move(area.selectionEnd);
    area.value = shown = value;
    area.setSelectionRange(start, end);
  });

  $('chat').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = $('text').value;
    if (!t) return;
    try {
      // To one room: the one chosen, by default the last joined (an
      // invitation's). Not to every room: tabs share their rooms, so a
      // line sent to each would reach them once per room.
      const room = $('chat-room').value || 'local';
      peer.broadcast(t, room);
      say(peer.peerId, t, room);
      $('text').value = '';
    } catch (e) {
      showError(`not sent: ${e.message}`);
    }
  });
  // An invitation pasted, or in this page's fragment (#PKCI1...: the
  // browser never sends a fragment to the server).
  let inviter = null;
  // acceptInvitation may return a promise (a page's invitation, answered).
  const join = async (text) => {
    try {
      const j = await peer.acceptInvitation(text);
      inviter = j.peerId;
      $('joined').textContent = `joined room "${j.room}" (${j.roomId}): connecting to the inviter ` +
        `${j.peerId}`;
      // A page's invitation (two-step): our answer, for the inviter to apply.
      if (j.answer) $('joined').textContent = `joined room "${j.room}" (${j.roomId}): send this ` +
        `answer back to the inviter ${j.peerId}`;
      $('answer-out').value = j.answer ? j.answer.code : '';
      $('answer-made').hidden = !j.answer;
      $('room').textContent = [...peer.rooms.values()].map((r) => r.name).join(', ');
      return true;
    } catch (e) {
      $('joined').textContent = `invitation refused: ${e.message}`;
      showError(`invitation refused: ${e.message}`);
      return false;
    }
  };
  $('join').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (await join($('code').value.trim())) $('code').value = '';
  });
  peer.addEventListener('peer:connect', (e) => {
    if (e.detail.peerId === inviter)
      $('joined').textContent = `joined room "${e.detail.room}": connected to the inviter ${inviter}`;
  });
  peer.addEventListener('error', (e) => {
    if (inviter && e.detail.message.startsWith(`the inviter ${inviter} could not be reached`))
      $('joined').textContent = e.detail.message;
  });
  const refusedBy = (e) => {
    if (e.detail.peerId === inviter && e.detail.reason)
      $('joined').textContent = `the inviter ${inviter} refused: ${e.detail.text}`;
  };
  peer.addEventListener('peer:disconnect', refusedBy);
  peer.addEventListener('peer:refused', refusedBy);
  if (/^#PKC/i.test(location.hash)) {
    join(decodeURIComponent(location.hash.slice(1)));
    history.replaceState(null, '', location.pathname + location.search); // not kept in history
  }
  // Invitations made here (two-step: the invitee sends an answer back,
  // applied in the answer box), docs/web.md "Invitations made by a page".
  $('invite').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const inv = await peer.createInvitation({ room: [...peer.rooms.values()].at(-1).name });
      $('invite-url').value = inv.url;
      $('invite-qr').innerHTML = inv.qr;
      $('invite-expires').textContent = `single use, expires at ${new Date(inv.expires).toLocaleTimeString()}`;
      $('invite-made').hidden = false;
    } catch (e) {
      showError(`no invitation made: ${e.message}`);
    }
  });
  $('invite-copy').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText($('invite-url').value);
      $('invite-copy').textContent = 'Copied';
    } catch {
      $('invite-url').select(); // no clipboard access (not a secure context): ready for Ctrl+C
    }
  });
  $('answer').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const a = await peer.acceptAnswer($('answer-in').value.trim());
      $('answered').textContent = `answer applied: connecting to ${a.peerId} in room "${a.room}"`;
      $('answer-in').value = '';
    } catch (e) {
      $('answered').textContent = `answer refused: ${e.message}`;
      showError(`answer refused: ${e.message}`);
    }
  });

  // Scanning: the camera, BarcodeDetector or jsQR (scan.js, loaded on
  // the first press); what it reads is joined as if pasted.
  let scanning = null;
  const stopScan = () => {
    if (scanning) scanning.abort();
  };
  $('scan').addEventListener('click', async () => {
    if (scanning) return stopScan();
    const { scanQr } = await import('./scan.js');
    scanning = new AbortController();
    $('scanner').hidden = false;
    $('scan').setAttribute('aria-expanded', 'true');
    $('scan').textContent = 'Stop scanning';
    const say = (t) => { $('scan-status').textContent = t; };
    try {
      const text = await scanQr($('scan-video'), { signal: scanning.signal, onStatus: say });
      say(`read a QR code: ${text.length > 48 ? text.slice(0, 48) + '…' : text}`);
      $('code').value = text.trim();
      if (await join(text.trim())) $('code').value = '';
    } catch (e) {
      say(e.name === 'AbortError' ? '' : `scanning stopped: ${e.message}`);
    } finally {
      scanning = null;
      $('scanner').hidden = true;
      $('scan').setAttribute('aria-expanded', 'false');
      $('scan').textContent = 'Scan a QR code';
      $('scan').focus();
    }
  });
  document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') stopScan(); });

  for (const el of [$('text'), $('chat').querySelector('button'), area, $('code'),
    $('join').querySelector('button'), $('scan'), $('invite').querySelector('button'),
    $('answer').querySelector('button')]) el.disabled = false;
  const dash = new Dashboard(document);
  // The chat's room choice, shown once the page is in more than one room.
  let roomsShown = '';
  const showRooms = () => {
    const names = [...peer.rooms.values()].map((r) => r.name);
    if (names.join('\n') === roomsShown) return;
    const sel = $('chat-room');
    const grown = names.length > roomsShown.split('\n').filter(Boolean).length;
    roomsShown = names.join('\n');
    const keep = grown ? names.at(-1) : sel.value;
    sel.replaceChildren(...names.map((n) => new Option(n === 'local' ? 'local room' : `room ${n}`, n)));
    sel.value = names.includes(keep) ? keep : names.at(-1);
    sel.hidden = names.length < 2;
  };
  const refresh = () => {
    showRooms();
    showPeers();
    dash.update(peer.metrics());
  };
  refresh();
  setInterval(refresh, 1000);
  document.documentElement.dataset.pkc = 'ready';
} catch (e) {
  status.textContent = `pkc's core did not load: ${e.message}`;
  status.dataset.state = 'failed';
  showError(e.message);
  document.documentElement.dataset.pkc = 'failed';
}
