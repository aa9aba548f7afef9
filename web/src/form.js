// The order form: item rows added and removed, the order sent with an idempotency key, and the API's problem
// details shown next to the fields they name (customer_email, items, items[1].quantity, ...).

import { ApiError, newIdempotencyKey, placeOrder } from './api.js';
import { integerOrRaw, el, money } from './format.js';

const itemFields = ['sku', 'quantity', 'price_cents'];
const itemFieldNames = { sku: 'SKU', quantity: 'quantity', price_cents: 'price' };
const itemFieldPattern = /^items\[(\d+)\]\.(sku|quantity|price_cents)$/;
const itemPattern = /^items\[(\d+)\]$/;
// How long after an order is placed the submit button ignores clicks: longer than a double click.
const doubleClickMillis = 800;

/**
 * OrderForm drives the order form. onPlaced(order) is called once per placed order; announce(text) speaks a
 * message through the page's live region.
 */
export class OrderForm {
  constructor(doc, { onPlaced, announce }) {
    this.doc = doc;
    this.onPlaced = onPlaced;
    this.announce = announce;
    this.form = doc.getElementById('order-form');
    this.email = doc.getElementById('customer_email');
    this.items = doc.getElementById('items');
    this.rows = doc.getElementById('item-rows');
    this.template = doc.getElementById('item-row-template');
    this.total = doc.getElementById('order-total');
    this.submitButton = doc.getElementById('submit-order');
    this.summary = doc.getElementById('error-summary');
    this.nextRowId = 1;
    // The key of the order being submitted: kept across retries of the same form contents (a double click, a
    // retry after a network error), replaced as soon as the contents change or the order is placed.
    this.key = null;
    this.busy = false;

    doc.getElementById('add-item').addEventListener('click', () => {
      const row = this.addRow();
      row.querySelector('[data-name="sku"]').focus();
    });
    this.rows.addEventListener('click', (e) => {
      const button = e.target.closest('[data-action="remove"]');
      if (button) this.removeRow(button.closest('.item-row'));
    });
    this.form.addEventListener('input', (e) => {
      this.key = null;
      this.clearFieldError(e.target);
      this.updateTotals();
    });
    // A click on the button while an order is on its way or just placed must not take focus from the order
    // that focus was moved to.
    this.submitButton.addEventListener('mousedown', (e) => {
      if (this.busy) e.preventDefault();
    });
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    this.summary.addEventListener('click', (e) => {
      const link = e.target.closest('a[href^="#"]');
      if (!link) return;
      const target = doc.getElementById(link.getAttribute('href').slice(1));
      if (target) {
        e.preventDefault();
        (target.matches('input') ? target : target.querySelector('input'))?.focus();
      }
    });
    this.addRow({ sku: 'SKU-1', quantity: '1', price_cents: '1250' });
  }

  /** addRow appends an item row, with values if given, and returns it. */
  addRow(values = {}) {
    const row = this.template.content.firstElementChild.cloneNode(true);
    this.key = null; // the order changes
    const rowId = `item-${this.nextRowId++}`;
    row.id = rowId;
    for (const name of itemFields) {
      const input = row.querySelector(`[data-name="${name}"]`);
      input.id = `${rowId}-${name}`;
      row.querySelector(`[data-for="${name}"]`).htmlFor = input.id;
      row.querySelector(`[data-error="${name}"]`).id = `${input.id}-error`;
      const hint = row.querySelector(`[data-hint="${name}"]`);
      if (hint) hint.id = `${input.id}-hint`;
      if (values[name] !== undefined) input.value = values[name];
      describe(input);
    }
    this.rows.append(row);
    this.renumber();
    this.updateTotals();
    return row;
  }

  /** removeRow removes an item row and moves focus to a neighbouring control, never to the page's start. */
  removeRow(row) {
    if (this.rowElements().length <= 1) return;
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    this.key = null;
    // Errors name items by position, which has just changed.
    this.clearItemErrors();
    this.renumber();
    this.updateTotals();
    next.querySelector('[data-action="remove"]').focus();
    this.announce(`Item removed. ${this.rowElements().length} left.`);
  }

  rowElements() {
    return Array.from(this.rows.querySelectorAll(':scope > .item-row'));
  }

  renumber() {
    const rows = this.rowElements();
    rows.forEach((row, i) => {
      for (const slot of row.querySelectorAll('[data-slot="number"]')) slot.textContent = String(i + 1);
      const remove = row.querySelector('[data-action="remove"]');
      remove.disabled = rows.length === 1;
    });
  }

  /** updateTotals shows each price in dollars and the order's total while the user types. */
  updateTotals() {
    let total = 0;
    let complete = true;
    for (const row of this.rowElements()) {
      const q = integerOrRaw(row.querySelector('[data-name="quantity"]').value);
      const p = integerOrRaw(row.querySelector('[data-name="price_cents"]').value);
      row.querySelector('[data-hint="price_cents"]').textContent = Number.isInteger(p) && p >= 0 ? `= ${money(p)}` : '';
      if (Number.isInteger(q) && Number.isInteger(p)) total += q * p;
      else complete = false;
    }
    this.total.textContent = complete ? money(total) : '–';
  }

  /** order is the request body, read from the inputs as they are: the API is the one judge of validity. */
  order() {
    return {
      customer_email: this.email.value.trim(),
      items: this.rowElements().map((row) => ({
        sku: row.querySelector('[data-name="sku"]').value.trim(),
        quantity: integerOrRaw(row.querySelector('[data-name="quantity"]').value),
        price_cents: integerOrRaw(row.querySelector('[data-name="price_cents"]').value),
      })),
    };
  }

  async submit() {
    // The second click of a double click arrives while the order is on its way or just placed: ignore it. The
    // idempotency key covers what this cannot, such as a retry after the answer was lost.
    if (this.busy) return;
    this.busy = true;
    this.key ??= newIdempotencyKey();
    this.setButton('Placing order…', true);
    this.clearErrors();
    let placed = false;
    try {
      const order = await placeOrder(this.order(), this.key);
      placed = true;
      this.key = null;
      this.resetItems();
      this.onPlaced(order);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      // The key was used for other contents: the next submit is a new order.
      if (err.status === 409) this.key = null;
      this.showProblem(err);
    } finally {
      const done = () => {
        this.busy = false;
        this.setButton('Place order', false);
      };
      if (placed) {
        this.setButton('Order placed', true);
        setTimeout(done, doubleClickMillis);
      } else {
        done();
      }
    }
  }

  setButton(label, busy) {
    this.submitButton.textContent = label;
    if (busy) this.submitButton.setAttribute('aria-disabled', 'true');
    else this.submitButton.removeAttribute('aria-disabled');
  }

  /** resetItems leaves one empty item row after an order is placed; the email stays for the next order. */
  resetItems() {
    for (const row of this.rowElements()) row.remove();
    this.addRow();
  }

  /**
   * showProblem puts each field error of the problem next to its field, lists them all in the summary above the
   * form, and moves focus to the summary so that keyboard and screen reader users learn what went wrong.
   */
  showProblem(err) {
    const rows = this.rowElements();
    const links = [];
    const general = [];
    for (const { field, reason } of err.fieldErrors) {
      let target = null;
      let label = field;
      let m;
      if (field === 'customer_email') {
        target = this.email;
        label = 'Customer email';
      } else if ((m = itemFieldPattern.exec(field)) && rows[Number(m[1])]) {
        target = rows[Number(m[1])].querySelector(`[data-name="${m[2]}"]`);
        label = `Item ${Number(m[1]) + 1}, ${itemFieldNames[m[2]]}`;
      } else if (field === 'items' || ((m = itemPattern.exec(field)) && rows[Number(m[1])])) {
        target = this.items;
        label = m ? `Item ${Number(m[1]) + 1}` : 'Items';
      }
      if (!target) {
        general.push(`${field}: ${reason}`);
        continue;
      }
      setFieldError(target, label === 'Items' || target !== this.items ? reason : `${label}: ${reason}`);
      links.push(el('li', {}, el('a', { href: `#${target.id}` }, `${label}: ${reason}`)));
    }
    const parts = [];
    if (general.length > 0) parts.push(`${err.problem.title}: ${general.join('; ')}.`);
    if (links.length > 0) parts.push('Correct the fields marked below and place the order again.');
    if (parts.length === 0) {
      const { title, detail: why } = err.problem;
      parts.push(why ? `${title}: ${why}.` : `${title}.`);
    }
    if (err.status === 503 || err.status === 0) parts.push('You can safely try again: the order is placed once.');
    const detail = parts.join(' ');
    this.doc.getElementById('error-summary-detail').textContent = detail;
    this.doc.getElementById('error-summary-list').replaceChildren(...links);
    this.summary.hidden = false;
    this.summary.focus();
  }

  clearErrors() {
    this.summary.hidden = true;
    for (const input of this.form.querySelectorAll('[aria-invalid="true"]')) clearFieldErrorOf(input);
    clearFieldErrorOf(this.items);
  }

  clearItemErrors() {
    for (const input of this.rows.querySelectorAll('[aria-invalid="true"]')) clearFieldErrorOf(input);
    clearFieldErrorOf(this.items);
  }

  clearFieldError(target) {
    if (target.matches?.('input[aria-invalid="true"]')) clearFieldErrorOf(target);
  }
}

function errorElement(target) {
  return target.ownerDocument.getElementById(`${target.id}-error`);
}

/** describe points aria-describedby at the field's hint, and at its error while it has one. */
function describe(target) {
  const doc = target.ownerDocument;
  const scope = target.closest('.item-row') || doc;
  const hint = scope.querySelector(`#${CSS.escape(`${target.id}-hint`)}`);
  const error = scope.querySelector(`#${CSS.escape(`${target.id}-error`)}`);
  const ids = [];
  if (hint) ids.push(hint.id);
  if (error && !error.hidden && error.textContent.trim() !== '') ids.push(error.id);
  if (ids.length > 0) target.setAttribute('aria-describedby', ids.join(' '));
  else target.removeAttribute('aria-describedby');
}

function setFieldError(target, reason) {
  const e = errorElement(target);
  e.textContent = e.hidden || e.textContent === '' ? reason : `${e.textContent} ${reason}`;
  e.hidden = false;
  if (target.matches('input')) target.setAttribute('aria-invalid', 'true');
  describe(target);
}

function clearFieldErrorOf(target) {
  const e = errorElement(target);
  if (e) {
    e.textContent = '';
    e.hidden = true;
  }
  target.removeAttribute('aria-invalid');
  describe(target);
}
