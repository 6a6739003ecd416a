// sla.js: the time left on a case's SLA (SPEC §16), "12 min left" or
// "breached 5 min ago", coloured by state. The times are re-rendered by a
// local timer, so they count down without a reload; breaches themselves
// arrive by the live feed (case.sla_breached).

import { h } from './dom.js';
import { serverNow } from './api.js';

const KIND = { first_response: 'first response', next_response: 'next response', resolution: 'resolution' };

function span(ms) {
  const min = Math.max(1, Math.round(Math.abs(ms) / 60000));
  if (min < 90) return `${min} min`;
  const hours = Math.round(min / 60);
  return hours < 48 ? `${hours} h` : `${Math.round(hours / 24)} d`;
}

/** The sla= filters of a list (SPEC §16), as a <select>'s options. */
export const SLA_FILTERS = [['', 'Any SLA'], ['breached', 'Breached'], ['due_soon', 'Due soon']];

/**
 * What sla says at time now: { text, state } with state ok, soon, breached
 * or paused. Due soon is the server's rule (sla.due_soon_at, the sla=due_soon
 * filter's): a quarter of the target before the due time.
 */
export function slaStatus(sla, now) {
  const dues = Object.keys(KIND).filter((k) => sla[`${k}_due`]).map((k) => ({ kind: k, at: Date.parse(sla[`${k}_due`]) }));
  const breached = (sla.breached || []).length > 0;
  if (sla.paused_at) return { text: 'SLA paused', state: breached ? 'breached' : 'paused' };
  if (!dues.length) return { text: breached ? 'SLA breached' : 'SLA met', state: breached ? 'breached' : 'ok' };
  dues.sort((a, b) => a.at - b.at);
  const next = dues[0];
  const left = next.at - now;
  if (left <= 0) return { text: `${KIND[next.kind]} breached ${span(left)} ago`, state: 'breached' };
  const soon = sla.due_soon_at && now >= Date.parse(sla.due_soon_at);
  return { text: `${span(left)} left (${KIND[next.kind]})`, state: breached ? 'breached' : soon ? 'soon' : 'ok' };
}

function paint(el) {
  let sla;
  try { sla = JSON.parse(el.dataset.sla); } catch (e) { return; }
  const st = slaStatus(sla, serverNow());
  el.textContent = st.text;
  el.className = `sla sla-${st.state}`;
}

/** The SLA element of a case, or null when no policy applies. */
export function slaEl(sla) {
  if (!sla) return null;
  const el = h('span', { class: 'sla', 'data-sla': JSON.stringify(sla), title: `SLA policy ${sla.policy}` });
  paint(el);
  return el;
}

window.setInterval(() => document.querySelectorAll('.sla[data-sla]').forEach(paint), 20000);
