// Formatting of amounts, times and ids for display.

const currency = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
const timeOfDay = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** money formats an amount in cents, e.g. 2500 as "$25.00". */
export function money(cents) {
  return currency.format(cents / 100);
}

/** dateTime formats an RFC 3339 time for people; an unparsable one is shown as is. */
export function dateTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : timeOfDay.format(d);
}

/** shortId is the first block of a UUID: enough to tell orders apart on one screen. */
export function shortId(id) {
  return String(id).split('-')[0];
}

/**
 * integerOrRaw reads a numeric text input: an integer when it holds one, else the text itself, so that the API
 * names the field and says why it is refused.
 */
export function integerOrRaw(text) {
  const t = text.trim();
  return /^-?\d{1,15}$/.test(t) ? Number(t) : t;
}

/** el creates an element with attributes and children (strings become text, never HTML). */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}
