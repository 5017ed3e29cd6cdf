// The sale view's "New sale" form: a product (a new one, created first, or
// an existing one by id) and an activity of it, created through the admin
// API. The API checks every field; a refusal names its field, and its
// message is shown beside that field.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const view = window.saleView;
  const form = $('new-sale-form');

  // The form's inputs by the field of the request body they fill.
  const sale = {
    name: 'ns-name', price: 'ns-price', total: 'ns-total', start_at: 'ns-start', end_at: 'ns-end',
    pay_timeout_seconds: 'ns-pay', shards: 'ns-shards', challenge_difficulty: 'ns-difficulty', fair_start_ms: 'ns-fair',
  };
  const times = ['start_at', 'end_at'];
  const texts = ['name'];

  const existing = () => form.querySelector('input[name="product-kind"]:checked').value === 'existing';

  function showKind() {
    $('ns-new-product').hidden = existing();
    $('ns-existing-product').hidden = !existing();
  }

  function toggle(open) {
    $('new-sale').hidden = !open;
    if (!open) return;
    // The products of the sales listed, to pick from; any other by its id.
    $('ns-products').innerHTML = view.products().map((p) =>
      '<option value="' + p.id + '">#' + p.id + ' ' + view.esc(p.name) + '</option>').join('');
  }

  // value reads an input as the API wants it: text as typed, a number, a
  // local time as RFC 3339; an empty input is left out (the API's default,
  // or its refusal).
  function value(field, id) {
    const v = $(id).value.trim();
    if (v === '') return undefined;
    if (texts.includes(field)) return v;
    if (times.includes(field)) return new Date(v).toISOString();
    return Number(v);
  }

  function clearErrors() {
    form.querySelectorAll('label.invalid').forEach((l) => l.classList.remove('invalid'));
    form.querySelectorAll('.field-error').forEach((e) => { e.textContent = ''; });
    said('', '');
  }

  // refuse shows message beside the field, or under the form when no field
  // of the form is named.
  function refuse(field, message) {
    const label = field && form.querySelector('label[data-field="' + field + '"]');
    if (!label) return said('error', message);
    label.classList.add('invalid');
    label.querySelector('.field-error').textContent = message;
    label.querySelector('input').focus();
  }

  function said(cls, text) {
    const el = $('new-sale-result');
    el.className = cls;
    el.textContent = text;
  }

  function refused(r, prefix) {
    if (r.status === 401) return view.fail(r);
    refuse(r.status === 400 && r.field ? prefix + r.field : '', r.message);
  }

  // productID returns the id of the sale's product, creating it first when
  // it is new; null when the product was refused.
  async function productID() {
    if (existing()) return value('product_id', 'ns-product-id');
    const r = await view.api('/admin/v1/products', {
      name: $('ns-product-name').value.trim(),
      description: $('ns-product-description').value.trim(),
      price: value('price', 'ns-product-price'),
    });
    if (!r.ok) { refused(r, 'product.'); return null; }
    // From now on the form names the product made: submitting again, after
    // a refusal of the sale, makes no second one.
    form.querySelector('input[name="product-kind"][value="existing"]').checked = true;
    $('ns-product-id').value = r.data.id;
    showKind();
    said('muted', 'Product #' + r.data.id + ' "' + r.data.name + '" created.');
    return r.data.id;
  }

  async function create(ev) {
    ev.preventDefault();
    clearErrors();
    $('new-sale-create').disabled = true;
    try {
      const product = await productID();
      if (product === null) return;
      const body = { product_id: product };
      for (const [field, id] of Object.entries(sale)) body[field] = value(field, id);
      const r = await view.api('/admin/v1/activities', body);
      // createActivity's 404 is about its product.
      if (r.status === 404) return refuse('product_id', r.message);
      if (!r.ok) return refused(r, '');
      said('ok', 'Sale #' + r.data.id + ' "' + r.data.name + '" created (' + r.data.status + ').');
      $('new-sale-result').dataset.activity = r.data.id;
      view.open(r.data.id);
    } finally {
      $('new-sale-create').disabled = false;
    }
  }

  $('new-sale-open').addEventListener('click', () => toggle($('new-sale').hidden));
  $('new-sale-close').addEventListener('click', () => toggle(false));
  form.querySelectorAll('input[name="product-kind"]').forEach((r) => r.addEventListener('change', showKind));
  form.addEventListener('submit', create);
})();
