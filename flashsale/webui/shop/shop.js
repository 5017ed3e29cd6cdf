// The shopper page: activity list and detail, a countdown by server time,
// buy (secret, then buy), the order polled from pending to created, and pay.
// It speaks the shopper API of docs/api.md and nothing else.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = 'flashsale.token';

  const state = {
    token: null, user: null, exp: 0,
    offset: 0, rtt: Infinity, // server clock = browser clock + offset (ms)
    act: null,                // the activity shown, as the API gave it
    order: null,              // the shopper's order in it, when known
    orderStatus: 'none',      // none | pending | created | paid | cancelled
    busy: false,              // a buy or a payment is under way
    blockedUntil: 0,          // after 429, no buy before this server time
    refetching: false,
    pollGen: 0,               // bumps to stop an older poll
  };

  // A message for people for every error code of the contract, by context.
  const MESSAGES = {
    unauthorized: 'Please sign in again: your sign-in is missing or has expired.',
    not_found: 'This sale does not exist (any more).',
    not_started: 'The sale has not started yet. The button unlocks when the countdown ends.',
    ended: 'This sale has ended.',
    bad_secret: 'Your purchase ticket was not accepted (it may be from before the start). Please press Buy again.',
    blocked: 'This account or network may not buy in this sale. Contact support if you think this is a mistake.',
    rate_limited: 'Too many attempts right now.',
    sold_out: 'Sold out: every unit has been taken. Better luck next time!',
    already_purchased: 'You already bought in this sale: one per customer.',
    attempt_used: 'Your one attempt in this sale was interrupted without a unit.',
    challenge_required: 'Your proof of work was not accepted. Please press Buy again.',
    bad_request: 'The shop did not understand the request. Please reload the page.',
    too_large: 'The request was too large. Please reload the page.',
    unavailable: 'The sale is very busy or briefly unavailable. Please try again in a moment.',
    not_payable: 'This order can no longer be paid: its time to pay is over and it was cancelled.',
    internal: 'Something went wrong on our side. Please try again.',
    network: 'Cannot reach the shop. Check your connection and try again.',
  };
  const PAY_MESSAGES = {
    not_found: 'This order was not found among yours.',
    unavailable: 'The payment did not go through (the payment service did not answer). You were not charged twice; please try again.',
    http_404: 'Payment is not available on this shop yet.',
    http_405: 'Payment is not available on this shop yet.',
  };

  function human(r, ctx) {
    const own = ctx === 'pay' ? PAY_MESSAGES : {};
    let m = own[r.code] || MESSAGES[r.code];
    if (!m) m = r.message ? 'Error: ' + r.message : 'Unexpected answer (HTTP ' + r.status + ').';
    if (r.code === 'rate_limited') m += ' Please wait ' + Math.max(1, r.retryAfter || 1) + ' s before trying again.';
    return m;
  }

  // ---- the API ----------------------------------------------------------

  async function api(method, path, body) {
    const headers = {};
    if (state.token) headers.Authorization = 'Bearer ' + state.token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let resp;
    try {
      resp = await fetch(path, { method, headers, cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      return { ok: false, status: 0, code: 'network', message: String(e) };
    }
    let data = null;
    try { data = await resp.json(); } catch (e) { /* not JSON */ }
    if (resp.ok) return { ok: true, status: resp.status, data };
    return {
      ok: false, status: resp.status, message: data && data.message,
      code: (data && data.error) || 'http_' + resp.status,
      retryAfter: Number(resp.headers.get('Retry-After')) || 0,
    };
  }

  // ---- the clock: server time, corrected for the browser's offset --------

  async function syncClock() {
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      const r = await api('GET', '/api/v1/time');
      const t1 = Date.now();
      if (!r.ok) continue;
      if (t1 - t0 <= state.rtt) {
        state.rtt = t1 - t0;
        state.offset = Date.parse(r.data.server_time) - (t0 + t1) / 2;
      }
    }
    const s = Math.round(state.offset / 100) / 10;
    $('clock-note').textContent = state.rtt === Infinity ? '(server clock not reached)'
      : Math.abs(s) < 0.2 ? '(your clock agrees)' : '(your clock is ' + Math.abs(s) + ' s ' + (s > 0 ? 'behind' : 'ahead') + '; corrected)';
  }
  const now = () => Date.now() + state.offset;

  // ---- sign-in ------------------------------------------------------------

  function claims(token) {
    try {
      const p = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      return JSON.parse(atob(p + '==='.slice((p.length + 3) % 4)));
    } catch (e) { return null; }
  }

  function setToken(t) {
    const c = t && claims(t);
    if (!c || !c.sub || (c.exp && c.exp * 1000 < Date.now())) {
      state.token = null; state.user = null;
      localStorage.removeItem(TOKEN_KEY);
      return !t;
    }
    state.token = t; state.user = c.sub; state.exp = c.exp;
    localStorage.setItem(TOKEN_KEY, t);
    return true;
  }

  function signOut() {
    setToken(null);
    state.order = null; state.orderStatus = 'none';
    route();
  }

  // ---- pages ---------------------------------------------------------------

  const show = (id, on) => { $(id).hidden = !on; };
  const money = (n) => '\u00a5' + (n / 100).toFixed(2);
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

  function route() {
    const m = location.hash.match(/^#\/a\/(\d+)/);
    $('who').textContent = state.user ? 'Signed in as ' + state.user : '';
    show('signout', !!state.user);
    if (!state.user) {
      show('signin', true); show('list', false); show('detail', false);
      return;
    }
    show('signin', false);
    if (m) {
      show('list', false); show('detail', true);
      openActivity(Number(m[1]));
    } else {
      show('detail', false); show('list', true);
      state.act = null;
      loadList();
    }
  }

  async function loadList() {
    const r = await api('GET', '/api/v1/activities');
    const ul = $('activities');
    if (!r.ok) { ul.innerHTML = '<li class="msg error">' + esc(human(r)) + '</li>'; return; }
    const list = r.data.activities || [];
    show('list-empty', list.length === 0);
    ul.innerHTML = list.map((a) =>
      '<li><a href="#/a/' + a.id + '" data-activity="' + a.id + '">' +
      '<div class="name">' + esc(a.name) + '</div>' +
      '<div>' + esc(a.product.name) + '</div>' +
      '<div class="price"><span>' + money(a.price) + '</span> <s class="muted">' + money(a.original_price) + '</s></div>' +
      '<span class="badge ' + a.status + '">' + label(a.status) + '</span> ' +
      '<span class="muted">' + (a.status === 'upcoming' ? 'opens ' + new Date(a.start_at).toLocaleString() : a.total + ' units') + '</span>' +
      '</a></li>').join('');
  }

  function label(status) {
    return { upcoming: 'Coming soon', open: 'On sale now', sold_out: 'Sold out', ended: 'Ended' }[status] || status;
  }

  async function openActivity(id) {
    if (!state.act || state.act.id !== id) {
      state.order = null; state.orderStatus = 'none'; state.pollGen++;
      message('', '');
      show('gid', false);
    }
    const r = await api('GET', '/api/v1/activities/' + id);
    if (!r.ok) { message('error', human(r)); state.act = null; renderDetail(); return; }
    state.act = r.data;
    renderDetail();
    const o = await api('GET', '/api/v1/activities/' + id + '/order');
    if (o.ok) setOrder(o.data);
    if (state.orderStatus === 'pending') pollOrder();
  }

  async function refetchActivity() {
    if (state.refetching || !state.act) return;
    state.refetching = true;
    const r = await api('GET', '/api/v1/activities/' + state.act.id);
    state.refetching = false;
    if (r.ok && state.act && r.data.id === state.act.id) { state.act = r.data; renderDetail(); }
  }

  function fmtSpan(ms) {
    const t = Math.max(0, Math.ceil(ms / 1000));
    const d = Math.floor(t / 86400), h = Math.floor(t / 3600) % 24, m = Math.floor(t / 60) % 60, s = t % 60;
    const two = (n) => String(n).padStart(2, '0');
    return (d ? d + 'd ' : '') + two(h) + ':' + two(m) + ':' + two(s);
  }

  // phase is the activity's status by the corrected clock: the server's
  // word, except that the countdown's end is seen here first.
  function phase() {
    const a = state.act;
    const t = now(), start = Date.parse(a.start_at), end = Date.parse(a.end_at);
    if (t >= end) return 'ended';
    if (t < start) return 'upcoming';
    return a.status === 'upcoming' ? 'opening' : a.status;
  }

  function renderDetail() {
    const a = state.act;
    show('buy', !!a);
    if (!a) { $('name').textContent = ''; return; }
    $('name').textContent = a.name;
    $('product').textContent = a.product.name;
    $('description').textContent = a.product.description || '';
    $('price').textContent = money(a.price);
    $('original').textContent = a.original_price > a.price ? money(a.original_price) : '';
    $('units').textContent = a.total + ' units \u00b7 one per customer';
    const img = $('image');
    img.hidden = !a.product.image_url;
    if (a.product.image_url && img.getAttribute('src') !== a.product.image_url) img.src = a.product.image_url;
    show('pic-emoji', img.hidden);
    tick();
  }

  // tick runs every 200 ms: the countdown, and the buy button's state.
  function tick() {
    $('server-time').textContent = new Date(now()).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
    const a = state.act;
    if (!a || $('detail').hidden) return;
    const p = phase();
    const badge = $('status');
    const shown = p === 'opening' ? 'upcoming' : p;
    badge.className = 'badge ' + shown;
    badge.textContent = label(shown);
    const cd = $('countdown');
    if (p === 'upcoming') cd.textContent = 'Opens in ' + fmtSpan(Date.parse(a.start_at) - now());
    else if (p === 'opening') { cd.textContent = 'Opening\u2026'; refetchActivity(); }
    else if (p === 'open') cd.textContent = 'Ends in ' + fmtSpan(Date.parse(a.end_at) - now());
    else cd.textContent = '';
    if (p === 'open' && a.status !== 'open') refetchActivity();
    if (p === 'ended' && a.status !== 'ended') refetchActivity();
    const waiting = now() < state.blockedUntil;
    $('buy').disabled = !(p === 'open' && a.status === 'open') || state.busy || waiting || state.orderStatus !== 'none';
    $('buy').textContent = state.orderStatus !== 'none' ? 'Bought' : state.busy ? 'Buying\u2026'
      : waiting ? 'Wait ' + Math.ceil((state.blockedUntil - now()) / 1000) + ' s' : 'Buy now';
    renderOrder();
  }

  function message(kind, text) {
    const m = $('message');
    m.className = 'msg' + (kind ? ' ' + kind : '');
    m.textContent = text;
    m.hidden = !text;
  }

  function setOrder(body) {
    state.orderStatus = body.status;
    if (body.order) state.order = body.order;
    renderOrder();
  }

  function renderOrder() {
    const st = state.orderStatus, o = state.order;
    show('order', st !== 'none');
    $('order-status').dataset.status = st;
    $('order-status').textContent = {
      pending: 'Order being created\u2026', created: 'Order created', paid: 'Paid \u2714', cancelled: 'Order cancelled',
    }[st] || '';
    let detail = '';
    if (o) detail = 'Order #' + o.id + ' \u00b7 ' + money(o.price);
    if (st === 'created' && o && o.expires_at) detail += ' \u00b7 pay within ' + fmtSpan(Date.parse(o.expires_at) - now());
    if (st === 'paid' && o && o.paid_at) detail += ' \u00b7 paid ' + new Date(o.paid_at).toLocaleTimeString();
    if (st === 'cancelled') detail += ' \u00b7 its time to pay ended; the unit went back on sale';
    $('order-detail').textContent = detail;
    show('pay', st === 'created' && !!o);
    $('pay').disabled = state.busy;
    if (o) $('pay-amount').textContent = money(o.price);
    if (o && o.gid) { $('gid').textContent = 'purchase ' + o.gid; show('gid', true); }
  }

  // ---- buy, poll, pay ----------------------------------------------------------

  async function buy() {
    const a = state.act;
    if (!a || state.busy) return;
    state.busy = true;
    tick();
    message('', 'Getting your ticket\u2026');
    try {
      let query = '';
      if (a.challenge_difficulty > 0) {
        // The sale asks a proof of work before the ticket: solved in a
        // Web Worker (pow.js), its progress shown.
        const c = await api('GET', '/api/v1/activities/' + a.id + '/challenge');
        if (!c.ok) return failBuy(c);
        const solution = await solveChallenge(c.data);
        query = '?challenge=' + encodeURIComponent(c.data.challenge) + '&solution=' + encodeURIComponent(solution);
        message('', 'Getting your ticket\u2026');
      }
      const s = await api('GET', '/api/v1/activities/' + a.id + '/secret' + query);
      if (!s.ok) return failBuy(s);
      message('', 'Placing your order\u2026');
      const b = await api('POST', '/api/v1/activities/' + a.id + '/buy', { secret: s.data.secret });
      if (!b.ok) return failBuy(b);
      $('gid').textContent = 'purchase ' + b.data.gid;
      show('gid', true);
      state.orderStatus = 'pending';
      message('ok', 'You got one! Your order is being created\u2026');
      pollOrder();
    } finally {
      state.busy = false;
      tick();
    }
  }

  // solveChallenge runs the proof of work in a worker and resolves with
  // the solution, showing how far the expected work has gone.
  function solveChallenge(c) {
    return new Promise((resolve, reject) => {
      const w = new Worker('/ui/shop/pow.js');
      w.onmessage = (e) => {
        if (e.data.solution !== undefined) {
          w.terminate();
          $('pow').hidden = true;
          resolve(e.data.solution);
          return;
        }
        const pct = Math.min(99, Math.round(100 * e.data.progress / e.data.expected));
        $('pow').hidden = false;
        $('pow').value = pct;
        message('', 'Proving you are a person, not a bot\u2026 ' + pct + ' %');
      };
      w.onerror = (e) => { w.terminate(); reject(e); };
      message('', 'Proving you are a person, not a bot\u2026');
      w.postMessage({ challenge: c.challenge, difficulty: c.difficulty });
    });
  }

  async function failBuy(r) {
    message('error', human(r));
    if (r.code === 'rate_limited') state.blockedUntil = now() + 1000 * Math.max(1, r.retryAfter || 1);
    if (r.code === 'unauthorized') { setToken(null); setTimeout(route, 1500); }
    if (r.code === 'already_purchased' || r.code === 'attempt_used' || r.code === 'sold_out' || r.code === 'ended' || r.code === 'not_started') {
      const o = await api('GET', '/api/v1/activities/' + state.act.id + '/order');
      if (o.ok) { setOrder(o.data); if (o.data.status === 'pending') pollOrder(); }
      refetchActivity();
    }
  }

  // pollOrder polls the order until it leaves pending, with backoff: 150 ms,
  // then 1.5 times longer each time up to 3 s, for at most two minutes.
  async function pollOrder() {
    const gen = ++state.pollGen;
    const id = state.act.id;
    const deadline = Date.now() + 120000;
    let delay = 150, nones = 0;
    while (gen === state.pollGen && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(3000, delay * 1.5);
      if (gen !== state.pollGen) return;
      const r = await api('GET', '/api/v1/activities/' + id + '/order');
      if (!r.ok) { if (r.code === 'unauthorized') return failBuy(r); continue; }
      if (r.data.status === 'pending') continue;
      if (r.data.status === 'none') {
        // The unit was taken but dtm rolled the purchase back: rare; a
        // few looks make sure it is not a read racing the write.
        if (++nones < 4) continue;
        state.orderStatus = 'none';
        message('error', 'Your purchase did not go through. You were not charged; you may try again.');
        tick();
        return;
      }
      setOrder(r.data);
      if (r.data.status === 'created') message('ok', 'Order created. Pay now to keep it.');
      return;
    }
    if (gen === state.pollGen) message('', 'Your order is still being created. This page will show it when you come back.');
  }

  async function pay() {
    const o = state.order;
    if (!o || state.busy) return;
    state.busy = true;
    renderOrder();
    message('', 'Paying\u2026');
    try {
      const r = await api('POST', '/api/v1/orders/' + o.id + '/pay');
      if (!r.ok) {
        message('error', human(r, 'pay'));
        if (r.code === 'not_payable') {
          const s = await api('GET', '/api/v1/activities/' + o.activity_id + '/order');
          if (s.ok) setOrder(s.data);
        }
        return;
      }
      state.order = r.data;
      state.orderStatus = r.data.status || 'paid';
      message('ok', 'Payment received. Thank you!');
    } finally {
      state.busy = false;
      renderOrder();
    }
  }

  // ---- start -----------------------------------------------------------

  function start() {
    const m = location.hash.match(/[#&]token=([^&]+)/);
    if (m) {
      setToken(decodeURIComponent(m[1]));
      history.replaceState(null, '', location.pathname + location.search + '#/');
    } else {
      setToken(localStorage.getItem(TOKEN_KEY));
    }
    $('token-save').addEventListener('click', () => {
      const ok = setToken($('token-input').value.trim());
      $('signin-error').textContent = 'That token is not valid or has expired.';
      show('signin-error', !ok || !state.user);
      if (state.user) route();
    });
    $('signout').addEventListener('click', signOut);
    $('image').addEventListener('error', () => { show('image', false); show('pic-emoji', true); });
    $('buy').addEventListener('click', buy);
    $('pay').addEventListener('click', pay);
    window.addEventListener('hashchange', route);
    syncClock().then(route);
    setInterval(tick, 200);
    setInterval(syncClock, 60000);
  }
  start();
})();
