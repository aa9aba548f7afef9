// The orders API (same origin, under /api/). Every failure becomes an ApiError carrying the problem document
// (RFC 9457) the API answered, or one made up here when the API could not be reached.

/** ApiError is a failed request: its status (0 when the API was unreachable) and its problem document. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }

  /** fieldErrors lists the problem's {field, reason} pairs, e.g. {field: "items[1].quantity", reason: "..."}. */
  get fieldErrors() {
    const errs = this.problem.errors;
    return Array.isArray(errs) ? errs.filter((e) => e && typeof e.field === 'string') : [];
  }
}

async function request(path, init = {}) {
  let resp;
  try {
    resp = await fetch(path, {
      ...init,
      headers: { Accept: 'application/json, application/problem+json', ...init.headers },
    });
  } catch {
    throw new ApiError(0, {
      title: 'The orders API could not be reached',
      detail: 'Check your connection and try again.',
    });
  }
  let body = null;
  if ((resp.headers.get('Content-Type') || '').includes('json')) {
    body = await resp.json().catch(() => null);
  }
  if (!resp.ok) {
    const problem = body && typeof body === 'object' ? body : {};
    throw new ApiError(resp.status, {
      title: resp.statusText || 'The request failed',
      ...problem,
      status: resp.status,
    });
  }
  return body;
}

/**
 * placeOrder places an order. The idempotency key makes a retried or repeated submit of the same order answer
 * the order placed first instead of placing another.
 */
export function placeOrder(order, idempotencyKey) {
  return request('/api/orders', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Idempotency-Key': idempotencyKey },
    body: JSON.stringify(order),
  });
}

/** listOrders fetches a page of orders, newest first; pass a page's next_cursor as cursor for the next one. */
export function listOrders({ limit = 20, cursor = '' } = {}) {
  const q = new URLSearchParams({ limit: String(limit) });
  if (cursor) q.set('cursor', cursor);
  return request(`/api/orders?${q}`);
}

/** getOrder fetches one order. */
export function getOrder(id) {
  return request(`/api/orders/${encodeURIComponent(id)}`);
}

/** listNotifications fetches the notifications sent about an order, oldest first. */
export async function listNotifications(id) {
  const body = await request(`/api/orders/${encodeURIComponent(id)}/notifications`);
  return body.notifications || [];
}

/** newIdempotencyKey returns a random UUID, also where crypto.randomUUID is missing (plain-HTTP origins). */
export function newIdempotencyKey() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
