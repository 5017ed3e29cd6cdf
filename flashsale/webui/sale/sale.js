// The sale view: one activity's stock, orders, answers, rejections, buys per
// second and reconciliation, refreshed every second from the admin API, and
// a purchase lookup that links into the dtm dashboard.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const KEY = 'flashsale.admin';
  const state = { token: sessionStorage.getItem(KEY), act: null, acts: [], dtm: '', reconAt: 0 };
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

  async function api(path, body) {
    let resp;
    const init = { headers: { Authorization: 'Bearer ' + state.token }, cache: 'no-store' };
    if (body !== undefined) {
      init.method = 'POST';
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    try {
      resp = await fetch(path, init);
    } catch (e) {
      return { ok: false, status: 0, message: 'the admin API is unreachable' };
    }
    let data = null;
    try { data = await resp.json(); } catch (e) { /* not JSON */ }
    if (resp.ok) return { ok: true, data };
    return { ok: false, status: resp.status, code: data && data.error, field: data && data.field, message: (data && data.message) || resp.statusText };
  }

  function fail(r) {
    if (r.status === 401) { signOut('The admin token was refused.'); return; }
    $('error').textContent = r.message;
    $('error').hidden = false;
  }

  function signOut(why) {
    sessionStorage.removeItem(KEY);
    state.token = null;
    $('signin-error').textContent = why || '';
    $('signin-error').hidden = !why;
    layout();
  }

  function layout() {
    $('signin').hidden = !!state.token;
    $('view').hidden = !state.token;
    $('signout').hidden = !state.token;
    $('activity').hidden = !state.token;
    $('new-sale-open').hidden = !state.token;
    if (state.token) loadActivities();
  }

  async function loadActivities() {
    const r = await api('/admin/v1/activities');
    if (!r.ok) return fail(r);
    state.acts = r.data.activities || [];
    const sel = $('activity');
    const want = state.act || Number(new URLSearchParams(location.search).get('activity')) || (state.acts[0] && state.acts[0].id);
    sel.innerHTML = state.acts.map((a) => '<option value="' + a.id + '">#' + a.id + ' ' + esc(a.name) + ' (' + a.status + ')</option>').join('');
    if (want) sel.value = String(want);
    state.act = Number(sel.value) || null;
    refresh(true);
    loadAdjustments();
  }

  function rows(el, obj, order) {
    const keys = order ? order.concat(Object.keys(obj).filter((k) => !order.includes(k)).sort()) : Object.keys(obj).sort();
    el.innerHTML = keys.length === 0 ? '<tr><th>none yet</th></tr>'
      : keys.map((k) => '<tr><th>' + esc(k) + '</th><td class="num" data-key="' + esc(k) + '">' + (obj[k] || 0) + '</td></tr>').join('');
  }

  function spark(per, accepted) {
    const max = Math.max(1, ...per);
    const pts = (xs) => xs.map((v, i) => (i * 300 / (xs.length - 1)).toFixed(1) + ',' + (58 - v * 56 / max).toFixed(1)).join(' ');
    $('spark').innerHTML = '<polyline fill="none" stroke="#9aa5b1" stroke-width="1.5" points="' + pts(per) + '"/>' +
      '<polyline fill="none" stroke="#2453a6" stroke-width="2" points="' + pts(accepted) + '"/>';
  }

  async function refresh(withRecon) {
    const id = state.act;
    if (!id || !state.token) return;
    const [stats, live] = await Promise.all([api('/admin/v1/activities/' + id + '/stats'), api('/admin/v1/activities/' + id + '/live')]);
    if (id !== state.act) return;
    if (!stats.ok) return fail(stats);
    if (!live.ok) return fail(live);
    $('error').hidden = true;
    const s = stats.data, l = live.data;
    $('redis-stock').textContent = s.redis_stock === null ? 'missing' : s.redis_stock;
    // A sale of several shards: each shard's counter (null: stale).
    const shards = s.shards || [];
    $('shards-row').hidden = shards.length < 2;
    $('shards').textContent = shards.map((x) => x.redis_stock === null ? '?' : x.redis_stock).join(' / ');
    $('db-stock').textContent = s.db_stock;
    $('total').textContent = s.total;
    const left = s.redis_stock === null ? s.total : s.redis_stock;
    $('sold-bar').style.width = (100 * (s.total - left) / Math.max(1, s.total)).toFixed(1) + '%';
    const a = state.acts.find((x) => x.id === id);
    if (a) $('window').textContent = 'open ' + new Date(a.start_at).toLocaleString() + ' \u2013 ' + new Date(a.end_at).toLocaleString();
    rows($('orders'), s.orders, ['pending', 'created', 'paid', 'cancelled']);
    const inst = l.instance;
    rows($('outcomes'), inst.outcomes, ['accepted']);
    rows($('rejections'), inst.rejections);
    const per = inst.per_second, acc = inst.accepted_per_second;
    $('rate').textContent = per[per.length - 1];
    $('rate-accepted').textContent = acc[acc.length - 1];
    $('rate-peak').textContent = Math.max(...per);
    spark(per, acc);
    // What a store forgot, driven to its end by this instance.
    const rep = l.repairs || {in_progress: [], made: {}};
    $('repairs-now').textContent = rep.in_progress.length ? rep.in_progress.length + ' in progress: ' + rep.in_progress.slice(0, 5).join(', ') : 'none in progress';
    rows($('repairs'), rep.made);
    if (l.dtm_dashboard && l.dtm_dashboard !== state.dtm) {
      state.dtm = l.dtm_dashboard;
      $('dtm-home').href = state.dtm;
      // Several dtm groups: a link to each one's dashboard.
      const more = (l.dtm_dashboards || []).slice(1);
      $('dtm-more').innerHTML = more.map((u, i) => ' <a target="_blank" rel="noopener" href="' + esc(u) + '">group ' + (i + 2) + '</a>').join('');
    }
    if (withRecon || Date.now() - state.reconAt > 5000) reconcile();
  }

  async function reconcile() {
    const id = state.act;
    state.reconAt = Date.now();
    const r = await api('/admin/v1/reconcile?activity=' + id);
    if (id !== state.act) return;
    if (!r.ok) { $('recon-ok').textContent = 'could not check'; $('violations').innerHTML = '<li>' + esc(r.message) + '</li>'; return; }
    const rep = r.data.report || {};
    const unsettled = (rep.pending || []).length;
    $('recon-ok').className = 'big ' + (r.data.ok ? 'ok' : 'error');
    $('recon-ok').textContent = r.data.ok ? (unsettled ? 'OK so far' : 'OK') : r.data.violations.length + ' broken';
    const items = (r.data.violations || []).map((v) => '<li><strong>' + esc(v.invariant) + '</strong> ' + esc(v.message) + '</li>');
    if (unsettled) items.push('<li class="muted">' + unsettled + ' purchase(s) still settling</li>');
    $('violations').innerHTML = items.join('');
    $('recon-at').textContent = 'checked ' + new Date().toLocaleTimeString();
  }

  async function lookup(ev) {
    ev.preventDefault();
    const q = $('lookup').value.trim();
    if (!q) return;
    const path = q.startsWith('flash-sale-') ? '/admin/v1/purchase?gid=' + encodeURIComponent(q)
      : '/admin/v1/purchase?activity=' + state.act + '&user=' + encodeURIComponent(q);
    const r = await api(path);
    const out = $('lookup-result');
    if (!r.ok) { out.innerHTML = '<p class="error">' + esc(r.message) + '</p>'; return; }
    const p = r.data, o = p.order;
    out.innerHTML = '<table>' +
      '<tr><th>gid</th><td><code>' + esc(p.gid) + '</code></td></tr>' +
      '<tr><th>order</th><td>' + (o ? '#' + o.id + ' ' + esc(o.status) + ', created ' + new Date(o.created_at).toLocaleString() : 'none') + '</td></tr>' +
      '<tr><th>dtm message</th><td>' + esc(p.dtm_status) + '</td></tr>' +
      '</table><p><a id="dtm-link" target="_blank" rel="noopener" href="' + esc(p.dtm_url) + '">Open this transaction in the dtm dashboard &rarr;</a></p>';
  }

  // One request id per click: a retried request (the same id) would apply
  // once; a new click is a new change.
  function requestID() {
    return 'ui_' + Date.now().toString(36) + '_' + Math.random().toString(36).slice(2, 8);
  }

  function said(ok, text) {
    const el = $('action-result');
    el.className = ok ? 'ok' : 'error';
    el.textContent = text;
  }

  async function adjust(ev) {
    ev.preventDefault();
    const delta = Number($('adjust-delta').value);
    if (!Number.isInteger(delta) || delta === 0) return said(false, 'Give a whole number of units, + to add, - to remove.');
    const r = await api('/admin/v1/activities/' + state.act + '/stock', { delta, request_id: requestID() });
    if (!r.ok) return r.status === 401 ? fail(r) : said(false, r.message);
    said(true, (delta > 0 ? 'Added ' + delta : 'Removed ' + -delta) + ' units (' + r.data.status + ', ' + r.data.gid + ').');
    $('adjust-delta').value = '';
    refresh(true);
    loadAdjustments();
  }

  async function loadAdjustments() {
    const id = state.act;
    const r = await api('/admin/v1/activities/' + id + '/stock');
    if (id !== state.act || !r.ok) return;
    const list = r.data.adjustments || [];
    $('adjustments').innerHTML = list.length === 0 ? '<li>none</li>' : list.map((a) =>
      '<li data-request="' + esc(a.request_id) + '">' + (a.delta > 0 ? '+' : '') + a.delta + ' units, ' +
      new Date(a.applied_at).toLocaleString() + ' <code>' + esc(a.request_id) + '</code></li>').join('');
  }

  async function cancelSale() {
    const a = state.acts.find((x) => x.id === state.act);
    if (!window.confirm('End "' + (a ? a.name : '#' + state.act) + '" now? No unit is sold after this.')) return;
    const r = await api('/admin/v1/activities/' + state.act + '/cancel', {});
    if (!r.ok) return r.status === 401 ? fail(r) : said(false, r.message);
    said(true, 'The sale ended at ' + new Date(r.data.end_at).toLocaleString() + '.');
    loadActivities();
  }

  // What the New sale form (newsale.js) uses of the view.
  window.saleView = {
    api, esc, fail,
    // open shows the activity id, listed anew.
    open(id) { state.act = id; loadActivities(); },
    // products returns the products of the sales listed, each once.
    products() {
      const seen = new Map();
      state.acts.forEach((a) => seen.set(a.product.id, a.product));
      return [...seen.values()];
    },
  };

  function start() {
    const m = location.hash.match(/[#&]token=([^&]+)/);
    if (m) {
      state.token = decodeURIComponent(m[1]);
      sessionStorage.setItem(KEY, state.token);
      history.replaceState(null, '', location.pathname + location.search);
    }
    $('token-save').addEventListener('click', () => {
      state.token = $('token-input').value.trim();
      if (state.token) sessionStorage.setItem(KEY, state.token);
      layout();
    });
    $('signout').addEventListener('click', () => signOut(''));
    $('activity').addEventListener('change', () => { state.act = Number($('activity').value); refresh(true); loadAdjustments(); });
    $('recon-now').addEventListener('click', reconcile);
    $('lookup-form').addEventListener('submit', lookup);
    $('adjust-form').addEventListener('submit', adjust);
    $('cancel-sale').addEventListener('click', cancelSale);
    layout();
    setInterval(() => refresh(false), 1000);
    setInterval(() => { if (state.token) loadActivities(); }, 15000);
  }
  start();
})();
