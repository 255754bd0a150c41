// demo.js — the meeting page at / : a lobby (camera preview, devices, room
// and name), then a room with every participant in a grid, mute, camera,
// screen share, device switching, network quality, a chat panel (room
// messages over data channels) and leave.  Uses only the
// public Web SDK API (global ISDPRTC, docs/SDK.md) and POST /demo/token.
(function () {
  'use strict';
  const $ = id => document.getElementById(id);
  const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
  const QUALITY = ['Measuring…', 'Excellent', 'Good', 'Poor', 'Bad', 'Very bad', 'Disconnected'];
  const LEAVE_REASONS = { 0: 'left', 1: 'server error', 2: 'media server failure', 3: 'service unavailable', 4: 'internal error',
    5: 'was removed', 6: 'session expired', 7: 'lost connection', 9: 'was removed', 10: 'meeting ended' };

  const state = {
    client: null, local: null, screen: null, room: '', name: '',
    tiles: new Map(), // key (userId, userId--screen, or "self") → tile
    peers: new Set(), micOn: true, camOn: true, joinedAt: 0, clockTimer: null, levelTimer: null, joining: false,
  };

  // ---------- small helpers ----------
  function toast(text, kind) {
    const t = document.createElement('div');
    t.className = 'toast' + (kind ? ' ' + kind : '');
    t.textContent = text;
    $('toasts').appendChild(t);
    setTimeout(() => t.classList.add('out'), 3500);
    setTimeout(() => t.remove(), 4000);
  }
  function show(view) {
    for (const v of ['lobby', 'meeting', 'left']) $(v).hidden = v !== view;
  }
  function initials(name) {
    const parts = name.split(/[-_]+/).filter(Boolean);
    return ((parts[0] || name)[0] + (parts.length > 1 ? parts[1][0] : (name[1] || ''))).toUpperCase();
  }
  function hue(name) {
    let h = 0;
    for (const c of name) h = (h * 31 + c.charCodeAt(0)) % 360;
    return h;
  }
  function captureMessage(r) {
    const msgs = { NotFoundError: 'not found', NotAllowedError: 'access was denied', NotReadableError: 'is in use by another application',
      OverConstrainedError: 'is not available', AbortError: 'could not be started' };
    return (r.getMediaCaptureResult ? r.getMediaCaptureResult() : []).filter(x => x.error)
      .map(x => `${x.type === 'audio' ? 'Microphone' : 'Camera'} ${msgs[x.error.getMsg()] || x.error.getMsg()}`).join('; ');
  }
  function setToggle(btn, on, icons, titles) {
    btn.setAttribute('aria-pressed', String(!on));
    btn.classList.toggle('off', !on);
    btn.querySelector('use').setAttribute('href', on ? icons[0] : icons[1]);
    btn.title = on ? titles[0] : titles[1];
  }

  // ---------- lobby ----------
  async function init() {
    $('sdk-version').textContent = ISDPRTC.VERSION;
    fetch('/healthz').then(r => r.json()).then(h => {
      $('version').textContent = h.version;
      $('status').textContent = h.status;
    }).catch(() => { $('status').textContent = 'unreachable'; });
    const q = new URLSearchParams(location.search);
    $('room').value = ID_RE.test(q.get('room') || '') ? q.get('room') : 'room-' + Math.random().toString(36).slice(2, 6);
    const saved = localStorage.getItem('irtc-name');
    $('name').value = ID_RE.test(q.get('name') || '') ? q.get('name') : saved && ID_RE.test(saved) ? saved : 'guest-' + Math.random().toString(36).slice(2, 6);
    try {
      await ISDPRTC.checkSystemRequirements();
    } catch (e) {
      $('join-error').textContent = 'This browser cannot join meetings: ' + (e.getMsg ? e.getMsg() : e.message);
      $('join').disabled = true;
      return;
    }
    // Is the token service on?  (An empty request: 400 when it is, 404 when server.demo_token is off.)
    fetch('/demo/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then(r => {
      if (r.status !== 404) return;
      state.noTokens = 'This server does not hand out demo tokens (server.demo_token is off), so this page cannot join rooms.';
      $('join-error').textContent = state.noTokens;
      $('join').disabled = true;
    }).catch(() => {});
    $('join-form').addEventListener('submit', e => { e.preventDefault(); join(); });
    $('pv-mic').onclick = () => toggleMic();
    $('pv-cam').onclick = () => toggleCam();
    $('cam-select').onchange = () => changeDevice('video', $('cam-select').value);
    $('mic-select').onchange = () => changeDevice('audio', $('mic-select').value);
    $('cam-select2').onchange = () => changeDevice('video', $('cam-select2').value);
    $('mic-select2').onchange = () => changeDevice('audio', $('mic-select2').value);
    $('btn-mic').onclick = () => toggleMic();
    $('btn-cam').onclick = () => toggleCam();
    $('btn-screen').onclick = () => toggleScreen();
    $('btn-settings').onclick = () => { $('settings').hidden = !$('settings').hidden; };
    $('btn-leave').onclick = () => leave();
    $('copy-link').onclick = copyLink;
    $('rejoin').onclick = () => { show('lobby'); startPreview().then(join); };
    $('home').onclick = () => { show('lobby'); startPreview(); };
    window.addEventListener('resize', layout);
    await startPreview();
    if (q.get('autojoin') === '1') join();
  }

  async function startPreview(cameraId, microphoneId) {
    if (state.local) state.local.close();
    $('preview-empty').textContent = 'Starting camera…';
    $('preview-empty').hidden = false;
    const s = ISDPRTC.createStream({ audio: true, video: true, cameraId, microphoneId, userId: $('name').value || undefined });
    state.local = s;
    try {
      await s.initialize();
      $('join-error').textContent = state.noTokens || '';
    } catch (r) {
      const msg = captureMessage(r);
      $('join-error').textContent = msg ? msg + '. You can still join.' : 'Camera and microphone unavailable.';
    }
    if (state.local !== s) return;
    if (!state.micOn) s.muteAudio();
    if (!state.camOn) s.muteVideo();
    if (s.hasVideo()) {
      await s.play('preview', { objectFit: 'cover', muted: true }).catch(() => {});
      $('preview-empty').hidden = state.camOn;
      $('preview-empty').textContent = 'Camera is off';
    } else {
      $('preview-empty').textContent = 'No camera';
    }
    await fillDevices();
    if (!state.levelTimer) {
      state.levelTimer = setInterval(() => {
        const l = state.local ? state.local.getAudioLevel() : 0;
        $('pv-level').style.width = Math.min(100, Math.round(l * 250)) + '%';
      }, 120);
    }
  }

  async function fillDevices() {
    let devices = [];
    try { devices = await ISDPRTC.getDevices(); } catch (e) { return; }
    const cur = {
      videoinput: state.local && state.local.getVideoTrack() ? state.local.getVideoTrack().getSettings().deviceId : '',
      audioinput: state.local && state.local.getAudioTrack() ? state.local.getAudioTrack().getSettings().deviceId : '',
    };
    for (const [kind, ids] of [['videoinput', ['cam-select', 'cam-select2']], ['audioinput', ['mic-select', 'mic-select2']]]) {
      const list = devices.filter(d => d.kind === kind && d.deviceId);
      for (const id of ids) {
        const sel = $(id);
        sel.innerHTML = '';
        list.forEach((d, i) => {
          const o = document.createElement('option');
          o.value = d.deviceId;
          o.textContent = d.label || `${kind === 'videoinput' ? 'Camera' : 'Microphone'} ${i + 1}`;
          o.selected = d.deviceId === cur[kind];
          sel.appendChild(o);
        });
        sel.disabled = list.length === 0;
      }
    }
  }

  async function changeDevice(kind, deviceId) {
    if (!deviceId || !state.local) return;
    try {
      if (state.client) {
        await state.local.switchDevice(kind, deviceId);
      } else {
        const cam = kind === 'video' ? deviceId : $('cam-select').value;
        const mic = kind === 'audio' ? deviceId : $('mic-select').value;
        await startPreview(cam, mic);
      }
      await fillDevices();
    } catch (e) {
      toast(`Could not switch the ${kind === 'audio' ? 'microphone' : 'camera'}: ${e.getMsg ? e.getMsg() : e.message}`, 'error');
    }
  }

  function toggleMic() {
    state.micOn = !state.micOn;
    if (state.local) state.micOn ? state.local.unmuteAudio() : state.local.muteAudio();
    for (const b of [$('pv-mic'), $('btn-mic')]) setToggle(b, state.micOn, ['#i-mic', '#i-mic-off'], ['Mute microphone', 'Unmute microphone']);
    const self = state.tiles.get('self');
    if (self) self.el.classList.toggle('muted', !state.micOn);
  }

  function toggleCam() {
    state.camOn = !state.camOn;
    if (state.local) state.camOn ? state.local.unmuteVideo() : state.local.muteVideo();
    for (const b of [$('pv-cam'), $('btn-cam')]) setToggle(b, state.camOn, ['#i-cam', '#i-cam-off'], ['Turn off camera', 'Turn on camera']);
    $('preview-empty').hidden = state.camOn && !!(state.local && state.local.hasVideo());
    $('preview-empty').textContent = state.local && state.local.hasVideo() ? 'Camera is off' : 'No camera';
    const self = state.tiles.get('self');
    if (self) self.el.classList.toggle('no-video', !state.camOn || !state.local || !state.local.hasVideo());
  }

  // ---------- joining ----------
  async function token(room, name) {
    const r = await fetch('/demo/token', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channelId: room, userId: name }) });
    if (r.status === 404) throw new Error('This server does not hand out demo tokens (server.demo_token is off).');
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.errorDetail || body.error_description || body.errorMessage || `The token service answered ${r.status}.`);
    return body;
  }

  async function join() {
    if (state.joining || state.client) return;
    const room = $('room').value.trim(), name = $('name').value.trim();
    if (!ID_RE.test(room) || !ID_RE.test(name)) {
      $('join-error').textContent = 'Room and name: 1 to 64 letters, digits, “-” or “_”.';
      return;
    }
    state.joining = true;
    $('join').disabled = true;
    $('join').textContent = 'Joining…';
    $('join-error').textContent = '';
    localStorage.setItem('irtc-name', name);
    let client = null;
    try {
      const t = await token(room, name);
      client = ISDPRTC.createClient({ appId: t.appId, domain: location.host });
      wire(client, room, name);
      await client.join(room, { userId: name, signature: t.signature, ctime: t.ctime, host: t.host, port: t.port, userRole: 1 });
    } catch (e) {
      const code = e.getCode ? e.getCode() : 0;
      $('join-error').textContent = code === 200011 ? `Someone named “${name}” is already in this room: pick another name.`
        : `Could not join: ${e.getMsg ? e.getMsg() : e.message}`;
      state.joining = false;
      $('join').disabled = false;
      $('join').textContent = 'Join now';
      return;
    }
    state.client = client;
    state.room = room;
    state.name = name;
    state.joining = false;
    $('join').disabled = false;
    $('join').textContent = 'Join now';
    history.replaceState(null, '', '/?room=' + encodeURIComponent(room));
    enterMeeting();
    if (state.local && (state.local.hasAudio() || state.local.hasVideo())) {
      try {
        await client.publish(state.local);
      } catch (e) {
        toast('Could not send your camera and microphone: ' + (e.getMsg ? e.getMsg() : e.message), 'error');
      }
    }
  }

  function wire(client, room, name) {
    client.on('peer-join', e => {
      state.peers.add(e.userId);
      chatPeers();
      ensureTile(e.userId);
      if (state.client) toast(`${e.userId} joined`);
      layout();
    });
    client.on('peer-leave', e => {
      if (e.userId === name) return;
      state.peers.delete(e.userId);
      chatPeers();
      removeTile(e.userId);
      removeTile(e.userId + '--screen');
      const why = e.reason && e.reason.code ? ` (${LEAVE_REASONS[e.reason.code] || e.reason.msg})` : '';
      toast(`${e.userId} left${why}`);
      layout();
    });
    // The guide's flow: subscribe to every stream, play it once subscribed.
    client.on('stream-added', e => {
      client.subscribe(e.stream).catch(err => toast(`Could not receive ${e.stream.getUserId()}: ${err.getMsg()}`, 'error'));
    });
    client.on('stream-subscribed', e => attachRemote(e.stream));
    client.on('stream-removed', e => {
      const st = e.stream;
      if (st.getType() === 'auxiliary') {
        removeTile(st.getUserId() + '--screen');
      } else {
        const tile = state.tiles.get(st.getUserId());
        if (tile && tile.stream === st) { tile.stream = null; tile.el.classList.add('no-video'); }
      }
      st.close();
      layout();
    });
    client.on('stream-updated', e => {
      const st = e.stream, tile = tileOf(st);
      if (!tile) return;
      const info = st.getStreamInfo();
      tile.el.classList.toggle('no-video', info.videoMuted || !info.hasVideo);
      if (st.getType() === 'main') tile.el.classList.toggle('muted', info.audioMuted || !info.hasAudio);
    });
    for (const ev of ['mute-audio', 'unmute-audio', 'mute-video', 'unmute-video']) {
      client.on(ev, e => {
        const tile = state.tiles.get(e.userId);
        if (!tile || (e.streamId && tile.stream && tile.stream.getId() !== e.streamId)) return;
        if (ev.endsWith('audio')) tile.el.classList.toggle('muted', ev === 'mute-audio');
        else tile.el.classList.toggle('no-video', ev === 'mute-video');
      });
    }
    client.on('network-quality', e => {
      const q = Math.max(e.uplinkNetworkQuality, e.downlinkNetworkQuality);
      const el = $('quality');
      el.className = 'quality q' + q;
      const rtt = Math.max(e.uplink.rtt || 0, e.downlink.rtt || 0);
      const loss = Math.max(e.uplink.loss, e.downlink.loss) * 100;
      $('quality-text').textContent = q ? `${QUALITY[q]} · ${rtt} ms · ${loss.toFixed(1)}% loss` : QUALITY[0];
      el.title = `Network quality — up: ${QUALITY[e.uplinkNetworkQuality]}, ${(e.uplink.bitrate / 1e6).toFixed(2)} Mbps; ` +
        `down: ${QUALITY[e.downlinkNetworkQuality]}, ${(e.downlink.bitrate / 1e6).toFixed(2)} Mbps`;
    });
    // Simulcast: a tile's video pauses when the downlink cannot carry even the smallest layer (audio goes on).
    client.on('stream-video-paused', e => { const t = tileOf(e.stream); if (t) t.el.classList.add('video-paused'); });
    client.on('stream-video-resumed', e => { const t = tileOf(e.stream); if (t) t.el.classList.remove('video-paused'); });
    client.on('active-speaker', e => {
      for (const t of state.tiles.values()) {
        const who = t.key === 'self' ? name : t.key;
        t.el.classList.toggle('active-speaker', who === e.userId);
      }
    });
    client.on('audio-volume', e => {
      for (const r of e.result) {
        const tile = r.type === 'local' ? state.tiles.get('self') : r.type === 'main' ? state.tiles.get(r.userId) : null;
        if (tile) tile.el.classList.toggle('speaking', r.level > 0.1);
      }
    });
    client.on('connection-state-changed', e => {
      if (e.curState === 'RECONNECTING') {
        $('banner').textContent = 'Connection lost. Reconnecting…';
        $('banner').hidden = false;
      } else if (e.curState === 'CONNECTED' && e.prevState === 'RECONNECTING') {
        $('banner').hidden = true;
        toast('Reconnected');
      } else if (e.curState === 'DISCONNECTED' && e.reason === 'NETWORK') {
        ended('Connection lost', 'The connection to the server could not be restored.');
      }
    });
    client.on('client-banned', e => {
      ended(e.reason && e.reason.code === 10 ? 'The meeting was ended' : 'You were removed from the meeting',
        e.reason ? `Reason: ${e.reason.msg}.` : '');
    });
    client.on('signature-expired', async () => {
      try { await client.renewSignature((await token(room, name)).signature); } catch (err) { toast('Could not renew the session: ' + err.message, 'error'); }
    });
    client.on('camera-changed', () => fillDevices());
    client.on('error', e => toast(`Error ${e.errorCode}: ${e.errorMsg}`, 'error'));
    client.on('message', e => chatLine(e.userId, typeof e.data === 'string' ? e.data : `[${e.data.byteLength} bytes]`, false));
  }

  // ---------- the meeting ----------
  function enterMeeting() {
    show('meeting');
    $('room-title').textContent = state.room;
    state.tiles.clear();
    $('grid').innerHTML = '';
    const self = ensureTile('self', state.name + ' (you)');
    self.stream = state.local;
    self.el.classList.toggle('muted', !state.micOn || !state.local || !state.local.hasAudio());
    self.el.classList.toggle('no-video', !state.camOn || !state.local || !state.local.hasVideo());
    if (state.local && state.local.hasVideo()) state.local.play(self.videoId, { objectFit: 'cover', muted: true }).catch(() => {});
    for (const b of [$('btn-mic')]) setToggle(b, state.micOn, ['#i-mic', '#i-mic-off'], ['Mute microphone', 'Unmute microphone']);
    for (const b of [$('btn-cam')]) setToggle(b, state.camOn, ['#i-cam', '#i-cam-off'], ['Turn off camera', 'Turn on camera']);
    setToggle($('btn-screen'), true, ['#i-screen', '#i-screen'], ['Share your screen', 'Stop sharing']);
    $('btn-screen').classList.remove('off', 'active');
    state.joinedAt = Date.now();
    clearInterval(state.clockTimer);
    state.clockTimer = setInterval(() => {
      const s = Math.floor((Date.now() - state.joinedAt) / 1000);
      $('clock').textContent = `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')} · ${state.room}`;
    }, 1000);
    layout();
  }

  function ensureTile(key, label) {
    let tile = state.tiles.get(key);
    if (tile) return tile;
    const name = label || key.replace(/--screen$/, '');
    const el = document.createElement('div');
    el.className = 'tile no-video' + (key === 'self' ? ' self' : '') + (key.endsWith('--screen') ? ' screen' : '');
    el.dataset.key = key;
    const videoId = 'video-' + key;
    el.innerHTML = `<div class="video" id="${videoId}"></div><div class="avatar"><span></span></div>` +
      `<div class="label"><svg class="mic-off"><use href="#i-mic-off"/></svg><span class="name"></span></div>`;
    el.querySelector('.avatar span').textContent = initials(name.replace(/ \(you\)$/, ''));
    el.querySelector('.avatar span').style.background = `hsl(${hue(name)} 45% 38%)`;
    el.querySelector('.name').textContent = key.endsWith('--screen') ? `${name}'s screen` : name;
    $('grid').appendChild(el);
    tile = { key, el, videoId, stream: null };
    state.tiles.set(key, tile);
    layout();
    return tile;
  }

  function removeTile(key) {
    const tile = state.tiles.get(key);
    if (!tile) return;
    tile.el.remove();
    state.tiles.delete(key);
  }

  function tileOf(stream) {
    return state.tiles.get(stream.getType() === 'auxiliary' ? stream.getUserId() + '--screen' : stream.getUserId());
  }

  function attachRemote(stream) {
    const key = stream.getType() === 'auxiliary' ? stream.getUserId() + '--screen' : stream.getUserId();
    const tile = ensureTile(key);
    tile.stream = stream;
    tile.layer = null;
    tile.el.classList.remove('video-paused');
    const info = stream.getStreamInfo();
    tile.el.classList.toggle('no-video', info.videoMuted || !info.hasVideo);
    if (stream.getType() === 'main') tile.el.classList.toggle('muted', info.audioMuted || !info.hasAudio);
    stream.play(tile.videoId, { objectFit: stream.getType() === 'auxiliary' ? 'contain' : 'cover', muted: false })
      .catch(() => {
        // Autoplay with sound needs a gesture: play muted, and unmute on the next click.
        stream.stop({ audio: true });
        toast('Click anywhere to hear the others');
        document.addEventListener('click', () => stream.resume(), { once: true });
      });
    layout();
  }

  async function toggleScreen() {
    if (!state.client) return;
    if (state.screen) { stopScreen(); return; }
    const s = ISDPRTC.createStream({ screen: true, userId: state.name });
    try {
      await s.initialize();
    } catch (r) {
      if (r.getMsg && r.getMsg() !== 'NotAllowedError') toast('Screen sharing failed: ' + r.getMsg(), 'error');
      return;
    }
    state.screen = s;
    s.getVideoTrack().addEventListener('ended', stopScreen); // the browser's own "Stop sharing"
    try {
      await state.client.publish(s);
    } catch (e) {
      toast('Could not share the screen: ' + (e.getMsg ? e.getMsg() : e.message), 'error');
      stopScreen();
      return;
    }
    const tile = ensureTile('self--screen', 'You are presenting');
    tile.el.querySelector('.name').textContent = 'Your screen';
    tile.el.classList.remove('no-video');
    tile.stream = s;
    s.play(tile.videoId, { objectFit: 'contain', muted: true }).catch(() => {});
    $('btn-screen').classList.add('active');
    $('btn-screen').title = 'Stop sharing';
    layout();
  }

  function stopScreen() {
    const s = state.screen;
    if (!s) return;
    state.screen = null;
    if (state.client) state.client.unpublish(s).catch(() => {});
    s.close();
    removeTile('self--screen');
    $('btn-screen').classList.remove('active');
    $('btn-screen').title = 'Share your screen';
    layout();
  }

  async function leave() {
    const c = state.client;
    if (!c) return;
    stopScreen();
    await c.leave().catch(() => {});
    ended('You left the meeting', `Room “${state.room}”.`);
  }

  function ended(title, text) {
    const c = state.client;
    state.client = null;
    if (c) c.leave().catch(() => {});
    stopScreen();
    if (state.local) { state.local.close(); state.local = null; }
    state.peers.clear();
    state.tiles.clear();
    $('grid').innerHTML = '';
    clearInterval(state.clockTimer);
    $('banner').hidden = true;
    $('settings').hidden = true;
    $('left-title').textContent = title;
    $('left-text').textContent = text;
    show('left');
  }

  function copyLink() {
    const url = `${location.origin}/?room=${encodeURIComponent(state.room)}`;
    (navigator.clipboard ? navigator.clipboard.writeText(url) : Promise.reject(new Error('no clipboard')))
      .then(() => toast('Invitation link copied'), () => toast(url));
  }

  // Tiles as large as fit: the screen share (if any) big, everyone else beside it.
  // Each remote camera tile receives the simulcast layer its size needs:
  // thumbnails beside a screen share the smallest, a large tile the full size.
  function adjustLayers() {
    if (!state.client) return;
    const dpr = window.devicePixelRatio || 1;
    for (const t of state.tiles.values()) {
      const st = t.stream;
      if (!st || t.key === 'self' || t.key.endsWith('--screen') || st.getType() !== 'main') continue;
      const px = t.el.clientWidth * dpr;
      const want = px <= 400 ? 'low' : px <= 800 ? 'medium' : 'high';
      if (t.layer === want) continue;
      t.layer = want;
      state.client.setRemoteVideoLayer(st, want).catch(() => { t.layer = null; });
    }
  }

  function layout() {
    layoutTiles();
    adjustLayers();
  }

  function layoutTiles() {
    const grid = $('grid');
    const tiles = Array.from(state.tiles.values());
    $('count').textContent = String(1 + state.peers.size);
    const screens = tiles.filter(t => t.key.endsWith('--screen'));
    grid.classList.toggle('presenting', screens.length > 0);
    const people = tiles.filter(t => !t.key.endsWith('--screen'));
    const W = grid.clientWidth, H = grid.clientHeight;
    if (!W || !H) return;
    const gap = 12;
    if (screens.length) {
      const side = Math.min(320, Math.max(200, W * 0.22));
      screens.forEach((t, i) => { Object.assign(t.el.style, { width: `${W - side - gap * 3}px`, height: `${H - gap * 2}px`, order: String(i) }); });
      const h = Math.min((side - gap) * 9 / 16, (H - gap) / Math.max(1, people.length) - gap);
      people.forEach(t => { Object.assign(t.el.style, { width: `${h * 16 / 9}px`, height: `${h}px`, order: '10' }); });
      return;
    }
    const n = Math.max(1, people.length);
    let best = 0, bestCols = 1;
    for (let cols = 1; cols <= n; cols++) {
      const rows = Math.ceil(n / cols);
      const w = Math.min((W - gap * (cols + 1)) / cols, ((H - gap * (rows + 1)) / rows) * 16 / 9);
      if (w > best) { best = w; bestCols = cols; }
    }
    grid.dataset.cols = String(bestCols);
    people.forEach(t => { Object.assign(t.el.style, { width: `${Math.floor(best)}px`, height: `${Math.floor(best * 9 / 16)}px`, order: t.key === 'self' ? '0' : '1' }); });
  }

  // ---------- chat (client.sendMessage / 'message') ----------
  function chatLine(from, text, own, to) {
    const li = document.createElement('li');
    const b = document.createElement('b');
    b.textContent = own ? (to ? `me → ${to}` : 'me') : from;
    li.append(b, document.createTextNode(text));
    if (to) li.classList.add('private');
    $('chat-log').append(li);
    li.scrollIntoView({ block: 'end' });
    if ($('chat').hidden && !own) {
      const u = $('chat-unread');
      u.textContent = String((Number(u.textContent) || 0) + 1);
      u.hidden = false;
    }
  }

  function chatPeers() {
    const sel = $('chat-to'), keep = sel.value;
    sel.replaceChildren(new Option('Everyone', ''), ...Array.from(state.peers).sort().map(p => new Option(p, p)));
    sel.value = state.peers.has(keep) ? keep : '';
  }

  function toggleChat() {
    const panel = $('chat');
    panel.hidden = !panel.hidden;
    $('btn-chat').setAttribute('aria-pressed', String(!panel.hidden));
    if (!panel.hidden) {
      chatPeers();
      $('chat-unread').hidden = true;
      $('chat-unread').textContent = '';
      $('chat-input').focus();
    }
  }

  function sendChat(ev) {
    ev.preventDefault();
    const text = $('chat-input').value, to = $('chat-to').value;
    if (!text || !state.client) return;
    try {
      state.client.sendMessage(text, to ? { userId: to } : {});
      chatLine(state.name, text, true, to);
      $('chat-input').value = '';
    } catch (e) {
      toast(e.getMsg ? e.getMsg() : String(e), 'error');
    }
  }

  $('btn-chat').addEventListener('click', toggleChat);
  $('chat-form').addEventListener('submit', sendChat);

  init();
})();
