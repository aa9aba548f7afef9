// The list of orders, newest first, with their notifications. While an order is pending, or was just decided
// and its notification has not arrived yet, the list polls the API and announces every change of status.

import { ApiError, getOrder, listNotifications, listOrders } from './api.js';
import { dateTime, el, money, shortId } from './format.js';
import { traceView } from './trace.js';

const pageSize = 20;
const pollMillis = 1500;
const retryMillis = 5000;
// How long to keep asking for the notification of an order seen being decided.
const notificationWaitMillis = 60_000;

const statusLabels = { pending: 'Pending', fulfilled: 'Fulfilled', rejected: 'Rejected' };
const statusIcons = { pending: '…', fulfilled: '✓', rejected: '✕' };

/** statusChange is what the live region says of an order's status: "Order 1a2b3c4d rejected: reason." */
function statusChange(o) {
  return `Order ${shortId(o.id)} ${o.status}${o.status_reason ? `: ${o.status_reason}` : ''}.`;
}

/** OrdersView shows the orders and keeps them up to date. announce(text) speaks through the live region. */
export class OrdersView {
  constructor(doc, { announce }) {
    this.doc = doc;
    this.announce = announce;
    this.list = doc.getElementById('orders');
    this.state = doc.getElementById('orders-state');
    this.loadMoreButton = doc.getElementById('load-more');
    this.ids = []; // newest first
    this.orders = new Map(); // id -> order
    this.notifications = new Map(); // id -> notifications
    this.waitNotifications = new Map(); // id -> time until which to poll for its notifications
    this.items = new Map(); // id -> <li>
    this.rendered = new Map(); // id -> what the <li> shows, to rebuild only what changed
    this.cursor = '';
    this.pagesLoaded = 0;
    this.timer = 0;
    this.ticking = false;

    this.loadMoreButton.addEventListener('click', () => this.loadMore());
    doc.getElementById('refresh').addEventListener('click', () => this.tick());
    doc.addEventListener('visibilitychange', () => {
      if (!doc.hidden) this.schedule(0);
    });
  }

  /** start loads the first page and keeps the list current. */
  start() {
    this.schedule(0);
  }

  /** add shows an order just placed at the top, moves focus to it and follows it until it is decided. */
  add(order) {
    this.merge([order], { prepend: true });
    this.render();
    this.state.hidden = true;
    this.items.get(order.id)?.focus();
    // An order can be decided by the time its placing answer arrives (a retry returns the stored order): its
    // outcome is spoken as the list would speak a change.
    const outcome = order.status === 'pending' ? `Status: ${order.status}.` : statusChange(order);
    this.announce(`Order ${shortId(order.id)} placed for ${money(order.total_cents)}. ${outcome}`);
    this.schedule(pollMillis);
  }

  schedule(delay) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), delay);
  }

  /** tick refreshes the first page, every pending order further down and the awaited notifications. */
  async tick() {
    if (this.ticking) return;
    this.ticking = true;
    clearTimeout(this.timer);
    let delay = 0;
    try {
      const page = await listOrders({ limit: pageSize });
      const firstLoad = this.pagesLoaded === 0;
      const before = new Map(this.orders);
      this.merge(page.orders, { prepend: true });
      if (this.pagesLoaded <= 1) {
        this.cursor = page.next_cursor || '';
        this.pagesLoaded = 1;
      }
      const onPage = new Set(page.orders.map((o) => o.id));
      const stale = this.ids.filter((id) => !onPage.has(id) && this.orders.get(id).status === 'pending');
      this.merge(await Promise.all(stale.map((id) => getOrder(id))), {});
      await this.fetchNotifications(before);
      this.announceChanges(before, firstLoad);
      this.state.hidden = this.ids.length > 0;
      this.state.textContent = 'No orders yet. Place the first one.';
      this.render();
      delay = this.unsettled() ? pollMillis : 0;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      this.state.hidden = false;
      this.state.textContent = `Could not load the orders (${err.message}). Trying again shortly.`;
      delay = retryMillis;
    } finally {
      this.ticking = false;
    }
    if (delay > 0 && !this.doc.hidden) this.schedule(delay);
  }

  /** loadMore appends the next page and moves focus to its first order. */
  async loadMore() {
    if (!this.cursor) return;
    try {
      const page = await listOrders({ limit: pageSize, cursor: this.cursor });
      const fresh = page.orders.filter((o) => !this.orders.has(o.id));
      this.merge(page.orders, {});
      this.cursor = page.next_cursor || '';
      this.pagesLoaded++;
      await this.fetchNotifications(new Map(this.orders));
      this.render();
      if (fresh.length > 0) this.items.get(fresh[0].id)?.focus();
      this.announce(`${fresh.length} more orders loaded.`);
      if (this.unsettled()) this.schedule(pollMillis);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      this.announce(`Could not load more orders: ${err.message}`);
    }
  }

  /** merge stores orders; with prepend, orders not seen before go on top in the order given. */
  merge(orders, { prepend }) {
    const fresh = [];
    for (const o of orders) {
      if (!this.orders.has(o.id)) fresh.push(o.id);
      this.orders.set(o.id, o);
    }
    this.ids = prepend ? [...fresh, ...this.ids] : [...this.ids, ...fresh];
  }

  /**
   * fetchNotifications fetches the notifications of orders decided since before (and keeps asking for a while
   * until they arrive), and once for every decided order not shown before.
   */
  async fetchNotifications(before) {
    const now = Date.now();
    const wanted = [];
    for (const id of this.ids) {
      const o = this.orders.get(id);
      if (o.status === 'pending') continue;
      const was = before.get(id);
      if (was?.status === 'pending' || (!was && !this.notifications.has(id) && now - Date.parse(o.updated_at) < notificationWaitMillis)) {
        if (!this.waitNotifications.has(id)) this.waitNotifications.set(id, now + notificationWaitMillis);
      }
      const waiting = (this.waitNotifications.get(id) || 0) > now && !(this.notifications.get(id)?.length > 0);
      if (waiting || !this.notifications.has(id)) wanted.push(id);
    }
    const results = await Promise.all(wanted.map((id) => listNotifications(id).catch(() => null)));
    wanted.forEach((id, i) => {
      if (results[i]) this.notifications.set(id, results[i]);
      if (results[i]?.length > 0) this.waitNotifications.delete(id);
    });
  }

  /** unsettled says whether anything shown is still expected to change. */
  unsettled() {
    const now = Date.now();
    for (const id of this.ids) {
      if (this.orders.get(id).status === 'pending') return true;
      if ((this.waitNotifications.get(id) || 0) > now) return true;
    }
    return false;
  }

  /**
   * announceChanges speaks every change of status since before. An order that first appears already settled (its
   * placing answer was lost and the list found it, or another tab placed it) counts as a change too, except on the
   * first load, when every order is new.
   */
  announceChanges(before, firstLoad) {
    const changes = [];
    for (const id of this.ids) {
      const was = before.get(id);
      const o = this.orders.get(id);
      if ((was && was.status !== o.status) || (!was && !firstLoad && o.status !== 'pending')) {
        changes.push(statusChange(o));
      }
    }
    if (changes.length > 0) this.announce(changes.join(' '));
  }

  render() {
    const now = Date.now();
    let previous = null;
    for (const id of this.ids) {
      const o = this.orders.get(id);
      const notes = this.notifications.get(id) || [];
      const awaiting = o.status !== 'pending' && notes.length === 0 && (this.waitNotifications.get(id) || 0) > now;
      const key = `${o.status}|${o.updated_at}|${notes.length}|${awaiting}`;
      let li = this.items.get(id);
      if (!li) {
        li = el('li', { class: 'order', id: `order-${id}`, tabindex: '-1', 'data-order-id': id, 'aria-labelledby': `order-${id}-title` });
        this.items.set(id, li);
      }
      if (this.rendered.get(id) !== key) {
        li.dataset.status = o.status;
        li.replaceChildren(...orderContent(o, notes, awaiting));
        this.rendered.set(id, key);
      }
      const expected = previous ? previous.nextElementSibling : this.list.firstElementChild;
      if (expected !== li) this.list.insertBefore(li, expected);
      previous = li;
    }
    this.loadMoreButton.hidden = !this.cursor;
  }
}

function orderContent(o, notes, awaiting) {
  const titleId = `order-${o.id}-title`;
  const content = [
    el('div', { class: 'order-head' },
      el('h3', { id: titleId, class: 'order-title' }, 'Order ', el('code', { title: o.id }, shortId(o.id))),
      el('span', { class: `status status-${o.status}` },
        el('span', { 'aria-hidden': 'true', class: 'status-icon' }, statusIcons[o.status] || ''),
        statusLabels[o.status] || o.status)),
    el('p', { class: 'order-meta' },
      o.customer_email, ' · ', el('time', { datetime: o.created_at }, dateTime(o.created_at))),
    el('ul', { class: 'order-items', 'aria-label': 'Items' },
      o.items.map((it) => el('li', {}, `${it.quantity} × `, el('code', {}, it.sku), ` at ${money(it.price_cents)}`))),
    el('p', { class: 'order-total' }, 'Total ', el('strong', {}, money(o.total_cents))),
  ];
  if (o.status_reason) content.push(el('p', { class: 'status-reason' }, `Reason: ${o.status_reason}`));
  if (notes.length > 0) {
    content.push(el('div', { class: 'notifications' },
      el('h4', {}, notes.length === 1 ? 'Notification sent' : `${notes.length} notifications sent`),
      el('ul', {}, notes.map((n) => el('li', { class: 'notification', 'data-notification-type': n.type },
        el('p', { class: 'notification-head' },
          el('span', { class: 'channel' }, n.channel), ` to ${n.recipient} · `,
          el('time', { datetime: n.sent_at }, dateTime(n.sent_at))),
        el('p', { class: 'notification-subject' }, n.subject),
        el('p', { class: 'notification-body' }, n.body))))));
  } else if (awaiting) {
    content.push(el('p', { class: 'hint' }, 'Waiting for the notification…'));
  }
  if (o.status !== 'pending') content.push(traceView(o.id));
  return content;
}
