// The orders page: the order form on one side, the orders and their notifications on the other.

import { OrderForm } from './form.js';
import { OrdersView } from './orders.js';

const announcer = document.getElementById('announcer');

// announce speaks a message once through the polite live region. Clearing it first makes a repeated message
// be read again.
function announce(text) {
  announcer.textContent = '';
  requestAnimationFrame(() => {
    announcer.textContent = text;
  });
}

const orders = new OrdersView(document, { announce });
new OrderForm(document, { announce, onPlaced: (order) => orders.add(order) });
orders.start();
