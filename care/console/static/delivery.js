// delivery.js: a reply's way to the customer (SPEC §16): sending, sent, or
// not sent with the publisher's reason and a Retry button for the case's
// assignee or a supervisor.

import { api, describe } from './api.js';
import { h, replace, announce } from './dom.js';

/** The delivery line of reply m (null for a message without one). */
export function deliveryLine(m, caseId, canRetry) {
  if (!m.delivery) return null;
  const el = h('p', { class: 'msg-delivery' });
  fill(el, m, caseId, canRetry);
  return el;
}

function fill(el, m, caseId, canRetry) {
  const d = m.delivery;
  el.className = `msg-delivery delivery-${d.state}`;
  el.dataset.delivery = d.state;
  if (d.state === 'sent') {
    replace(el, 'Sent to the customer');
    return;
  }
  if (d.state === 'pending') {
    replace(el, 'Sending…', d.attempts ? h('span', { class: 'muted' }, ` (tried ${d.attempts} times: ${d.error})`) : null);
    return;
  }
  const btn = canRetry ? h('button', {
    type: 'button',
    class: 'retry-delivery',
    onclick: async () => {
      btn.disabled = true;
      try {
        const sent = await api('POST', `/api/v1/cases/${caseId}/messages/${encodeURIComponent(m.id)}/retry`);
        m.delivery = sent.delivery;
        fill(el, m, caseId, canRetry);
        announce('The reply is being sent again.');
      } catch (e) {
        btn.disabled = false;
        el.append(' ', h('span', { class: 'alert', role: 'alert' }, describe(e)));
      }
    },
  }, 'Retry') : null;
  replace(el, h('strong', {}, 'Not sent: '), h('span', { class: 'delivery-error' }, d.error || 'the publisher refused it'), ' ', btn);
}

/**
 * Brings the delivery lines of the messages shown (shown, in list) up to
 * date with fresh copies of them.
 */
export function refreshDeliveries(list, shown, fresh, caseId, canRetry) {
  const byId = new Map(shown.map((m) => [m.id, m]));
  for (const m of fresh) {
    const old = byId.get(m.id);
    if (!old || !m.delivery || JSON.stringify(old.delivery) === JSON.stringify(m.delivery)) continue;
    old.delivery = m.delivery;
    const item = [...list.querySelectorAll('li.msg')].find((li) => li.dataset.id === m.id);
    const el = item && item.querySelector('.msg-delivery');
    if (el) fill(el, old, caseId, canRetry);
    else if (item) item.append(deliveryLine(old, caseId, canRetry));
  }
}
