// routing.js: a routed agent's availability switch in the header and their
// routing state (SPEC §16): skills and load against capacity. Switching
// available takes waiting cases at once; the load follows the live feed.

import { api, describe } from './api.js';
import { h, replace, announce } from './dom.js';

let box = null;

/** Adds the switch to the header when the signed-in user is a routed agent. */
export async function mountAvailability() {
  const who = document.querySelector('.topbar .who');
  if (!who) return;
  let me;
  try { me = await api('GET', '/api/v1/me'); } catch (e) { return; }
  if (!me || typeof me.available !== 'boolean') return; // not routed
  box = h('span', { class: 'availability', id: 'availability' });
  who.prepend(box);
  show(me);
}

/** Reads the agent's load again (after a case change of the live feed). */
export async function refreshAvailability() {
  if (!box) return;
  try { show(await api('GET', '/api/v1/me')); } catch (e) { /* the next change tries again */ }
}

function show(me) {
  const input = h('input', {
    type: 'checkbox', id: 'available-switch', role: 'switch', checked: me.available,
    'aria-checked': String(me.available), onchange: () => toggle(input),
  });
  const skills = me.skills.length ? ` · skills ${me.skills.join(', ')}` : '';
  replace(box,
    h('label', { for: 'available-switch', class: me.available ? 'on' : 'off' }, input, me.available ? 'Available' : 'Away'),
    h('span', { class: 'muted routing-load', id: 'routing-load', title: 'cases new, open or pending assigned to you / your capacity' },
      `${me.load}/${me.capacity} cases${skills}`));
}

async function toggle(input) {
  input.disabled = true;
  try {
    const me = await api('PATCH', '/api/v1/me', { available: input.checked });
    show(me);
    announce(me.available ? `You are available: ${me.load} of ${me.capacity} cases` : 'You are away: no new cases come to you');
  } catch (e) {
    input.checked = !input.checked;
    input.disabled = false;
    announce(describe(e));
  }
}
