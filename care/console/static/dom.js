// dom.js: building the page from nodes (never from HTML strings), labels, time formatting.

/**
 * Creates an element. attrs: class, text, html is not supported on purpose;
 * on<event> functions become listeners; true/false toggle boolean
 * attributes; everything else is set as an attribute. Children may be
 * nodes, strings or arrays of them; null and false are skipped.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'value') el.value = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces el's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Says msg to screen readers through the page's live region. */
export function announce(msg) {
  const live = document.getElementById('live');
  if (!live) return;
  live.textContent = '';
  window.setTimeout(() => { live.textContent = msg; }, 30);
}

/** An alert box for an error message (role=alert, read at once). */
export function alertBox(msg) {
  return h('p', { class: 'alert', role: 'alert' }, msg);
}

/** A polite note (e.g. "saved"). */
export function okBox(msg) {
  return h('p', { class: 'ok', role: 'status' }, msg);
}

export const STATUS = {
  new: 'New', open: 'Open', pending: 'Pending', on_hold: 'On hold', done: 'Done', spam: 'Spam', deleted: 'Deleted',
};
export const PRIORITY = { urgent: 'Urgent', high: 'High', medium: 'Medium', low: 'Low' };
export const SENTIMENT = { none: 'None', positive: 'Positive', neutral: 'Neutral', negative: 'Negative' };
export const REPLY_TYPE = {
  public_reply: 'Public reply', comment_on_post: 'Comment on post', direct_message: 'Direct message',
};
export const MESSAGE_TYPE = {
  post: 'Post', comment: 'Comment', direct_message: 'Direct message', mention: 'Mention',
};

/** The eight default views, in console order. */
export const VIEWS = [
  { id: 'inbox', label: 'Inbox' },
  { id: 'new', label: 'New cases' },
  { id: 'my_open', label: 'My open' },
  { id: 'my_pending', label: 'My pending' },
  { id: 'my_on_hold', label: 'My on hold' },
  { id: 'done', label: 'Done' },
  { id: 'my_mentions', label: 'My mentions' },
  { id: 'spam', label: 'Spam', supervisor: true },
];

export const SORTS = [
  { id: '', label: 'View default' },
  { id: 'created_asc', label: 'Created, oldest first' },
  { id: 'created_desc', label: 'Created, newest first' },
  { id: 'last_message_desc', label: 'Last message, newest first' },
  { id: 'last_message_asc', label: 'Last message, oldest first' },
  { id: 'priority_desc', label: 'Priority, highest first' },
  { id: 'priority_asc', label: 'Priority, lowest first' },
  { id: 'sla_due_asc', label: 'SLA due, soonest first' },
];

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** Formats an RFC 3339 time for people; "" for none. */
export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateFmt.format(d);
}

/** A <time> element. */
export function timeEl(iso) {
  return iso ? h('time', { datetime: iso }, fmtTime(iso)) : '';
}

/** A coloured badge with words (never colour alone). */
export function badge(kind, value, labels) {
  return h('span', { class: `badge ${kind}-${value}` }, labels[value] || value);
}

/** A <select> over a map of value -> label. */
export function select(attrs, options, current) {
  const el = h('select', attrs);
  for (const [v, label] of options) {
    const o = h('option', { value: v }, label);
    if (v === current) o.selected = true;
    el.append(o);
  }
  return el;
}

let uid = 0;
/** A unique element id with a prefix. */
export function newId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** True for http(s) URLs, the only ones turned into links. */
export function safeURL(u) {
  try {
    const p = new URL(u, window.location.href);
    return p.protocol === 'https:' || p.protocol === 'http:';
  } catch (e) {
    return false;
  }
}

/**
 * Makes an accessible tab set. tabs: [{id, label, render(panel)}]. Arrow
 * keys, Home and End move between tabs.
 */
export function tabSet(name, tabs, active, onSwitch) {
  const list = h('div', { class: 'tabs', role: 'tablist', 'aria-label': name });
  const panels = h('div', { class: 'tab-panels' });
  const buttons = [];
  const panelEls = [];
  const activate = (i, focus) => {
    buttons.forEach((b, j) => {
      b.setAttribute('aria-selected', String(i === j));
      b.tabIndex = i === j ? 0 : -1;
      panelEls[j].hidden = i !== j;
    });
    if (focus) buttons[i].focus();
    tabs[i].render(panelEls[i]);
    if (onSwitch) onSwitch(tabs[i].id);
  };
  tabs.forEach((t, i) => {
    const b = h('button', {
      type: 'button', role: 'tab', id: `tab-${t.id}`, 'aria-controls': `panel-${t.id}`, class: 'tab',
      onclick: () => activate(i, false),
      onkeydown: (ev) => {
        let j = null;
        if (ev.key === 'ArrowRight') j = (i + 1) % tabs.length;
        else if (ev.key === 'ArrowLeft') j = (i - 1 + tabs.length) % tabs.length;
        else if (ev.key === 'Home') j = 0;
        else if (ev.key === 'End') j = tabs.length - 1;
        if (j !== null) { ev.preventDefault(); activate(j, true); }
      },
    }, t.label, t.marker ? h('span', { class: 'marker', 'aria-label': t.marker, title: t.marker }, ' •') : null);
    const p = h('div', { role: 'tabpanel', id: `panel-${t.id}`, 'aria-labelledby': `tab-${t.id}`, tabindex: '0', class: 'tab-panel' });
    buttons.push(b);
    panelEls.push(p);
    list.append(b);
    panels.append(p);
  });
  const start = Math.max(0, tabs.findIndex((t) => t.id === active));
  activate(start, false);
  return { el: h('div', { class: 'tabset' }, list, panels), activate, panel: (id) => panelEls[tabs.findIndex((t) => t.id === id)] };
}

/**
 * A button that asks before it acts: id opens the question, id-confirm
 * runs onConfirm, id-cancel puts the button back. Focus follows.
 */
export function confirmAction({ id, label, question, confirmLabel, onConfirm }) {
  const box = h('div', { class: 'danger-zone' });
  const reset = () => replace(box, h('button', {
    type: 'button', class: 'danger-outline', id,
    onclick: () => { ask(); document.getElementById(`${id}-cancel`).focus(); },
  }, label));
  const ask = () => replace(box,
    h('p', {}, question),
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'danger', id: `${id}-confirm`, onclick: () => onConfirm() }, confirmLabel),
      h('button', { type: 'button', id: `${id}-cancel`, onclick: () => { reset(); document.getElementById(id).focus(); } }, 'Cancel')));
  reset();
  return box;
}
