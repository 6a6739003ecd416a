// salesforce.js: the Salesforce tab of a case and the Salesforce settings
// page. Routes not served by this daemon (404) show "not available".

import {
  api, describe, unavailable, qs, download, ApiError,
} from './api.js';
import {
  h, replace, announce, alertBox, okBox, timeEl, confirmAction,
} from './dom.js';

const NOT_AVAILABLE = 'The Salesforce integration is not available on this server yet.';

function notAvailable(what) {
  return h('p', { class: 'notice' }, what ? `${what}: not available on this server.` : NOT_AVAILABLE);
}

function externalLink(url, label) {
  if (!url || !/^https?:\/\//i.test(url)) return null;
  return h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, label, h('span', { class: 'sr-only' }, ' (opens in a new tab)'));
}

// ---- the case's Salesforce tab ----

/**
 * The origin of the org's records, from a record link the API gave (the
 * case's or lead's); "" when none is known.
 */
function instanceOf(info) {
  for (const rec of [info.case, info.lead]) {
    if (rec && rec.url && /^https?:\/\//i.test(rec.url)) {
      try { return new URL(rec.url).origin; } catch (e) { /* not a URL */ }
    }
  }
  return '';
}

/** A link to any record of the org by id ("" without an instance). */
function recordLink(instance, id, label) {
  return instance ? externalLink(`${instance}/${encodeURIComponent(id)}`, label) : null;
}

/**
 * What a 201 of a create says about the token it used: under the default
 * token (created_as "default") the agent is told why.
 */
function createdNote(res, done) {
  if (res && res.created_as === 'default') {
    return h('div', {}, okBox(done),
      h('p', { class: 'notice', id: 'sf-created-as' }, 'Created under the default token because ' + (res.reason || 'your own Salesforce connection could not be used') + '.'));
  }
  return okBox(done);
}

/**
 * The answer to a 409 salesforce_duplicate: Salesforce's words and the
 * records it matched, each linked in Salesforce when the instance is
 * known, each with a "Link" button when link is given (contacts).
 */
function duplicateBox(e, instance, link) {
  return h('div', { class: 'alert', role: 'alert', id: 'sf-duplicate' },
    h('p', {}, describe(e)),
    e.matches.length ? [
      h('p', {}, link ? 'Link one of the matching contacts instead:' : 'The matching records:'),
      h('ul', { class: 'sf-matches' }, e.matches.map((id, i) => h('li', { class: 'row' },
        h('code', {}, id), ' ', recordLink(instance, id, 'Open in Salesforce'),
        link ? h('button', { type: 'button', id: `sf-link-match-${i}`, onclick: () => link(id), 'aria-label': `Link contact ${id}` }, 'Link this contact') : null))),
    ] : null);
}

/** Renders the Salesforce tab of case page p into panel; notice, when
 * given, shows at the top (what the last action did). */
export async function renderSalesforceTab(panel, p, notice) {
  replace(panel, h('h3', { class: 'sr-only' }, 'Salesforce'), h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading Salesforce details…'));
  let info;
  try {
    info = await api('GET', `/api/v1/cases/${p.id}/salesforce`);
  } catch (e) {
    const sf = p.c.salesforce || {};
    replace(panel, h('h3', {}, 'Salesforce'),
      unavailable(e) ? notAvailable() : alertBox(describe(e)),
      sf.case_id ? h('p', {}, `Salesforce case ${sf.case_number || sf.case_id}${sf.status ? ' — ' + sf.status : ''}.`) : null,
      sf.lead_id ? h('p', {}, `Salesforce lead ${sf.lead_id}.`) : null);
    return;
  }
  const refresh = async (note) => {
    await p.reload();
    p.changed();
    renderSalesforceTab(panel, p, note);
  };
  const msg = h('div', { class: 'form-errors', id: 'sf-messages' }, notice || null);
  replace(panel,
    h('h3', {}, 'Salesforce'),
    msg,
    contactSection(p, info, msg, refresh),
    escalationSection(p, info, 'case', msg, refresh),
    escalationSection(p, info, 'lead', msg, refresh));
}

function contactSection(p, info, msg, refresh) {
  const cust = p.customer;
  const sec = h('section', { class: 'sf-section', 'aria-labelledby': 'sf-contact-title' }, h('h4', { id: 'sf-contact-title' }, 'Contact'));
  const link = async (contactId) => {
    try {
      await api('PUT', `/api/v1/customers/${p.c.customer_id}/salesforce-contact`, { contact_id: contactId });
      announce('Salesforce contact linked.');
      p.customer = await api('GET', `/api/v1/customers/${p.c.customer_id}`).catch(() => p.customer);
      await refresh();
    } catch (e) {
      replace(msg, alertBox(unavailable(e) ? 'Linking contacts is not available on this server.' : describe(e)));
    }
  };
  if (info.contact) {
    const c = info.contact;
    sec.append(
      h('dl', { class: 'facts' },
        h('dt', {}, 'Name'), h('dd', {}, c.name || [c.first_name, c.last_name].filter(Boolean).join(' ')),
        c.email ? [h('dt', {}, 'Email'), h('dd', {}, c.email)] : null,
        h('dt', {}, 'Contact id'), h('dd', {}, c.id)),
      h('div', { class: 'row' },
        h('button', {
          type: 'button', id: 'sf-unlink',
          onclick: async () => {
            try {
              await api('DELETE', `/api/v1/customers/${p.c.customer_id}/salesforce-contact`);
              announce('Salesforce contact unlinked.');
              await refresh();
            } catch (e) {
              replace(msg, alertBox(unavailable(e) ? 'Unlinking is not available on this server.' : describe(e)));
            }
          },
        }, 'Unlink contact')));
    return sec;
  }
  sec.append(h('p', {}, 'No Salesforce contact is linked to this customer.'));
  if (info.escalated_without_contact) {
    sec.append(h('p', { class: 'notice' }, 'This case was escalated to Salesforce without a contact. Link one of the suggested contacts, search, or create one.'));
  }
  const suggested = info.suggested_contacts || [];
  if (suggested.length) {
    sec.append(h('h5', {}, 'Suggested contacts'), contactList(suggested, link, 'sugg'));
  }
  // Search.
  const results = h('div', { class: 'sf-results', 'aria-live': 'polite' });
  const q = h('input', { id: 'sf-search', type: 'search', autocomplete: 'off', value: cust ? ([cust.first_name, cust.last_name].filter(Boolean).join(' ') || (cust.username || '').replace(/^@/, '')) : '' });
  sec.append(h('form', {
    class: 'stack',
    onsubmit: async (ev) => {
      ev.preventDefault();
      if (!q.value.trim()) return;
      replace(results, h('p', { class: 'muted' }, 'Searching…'));
      try {
        const res = await api('GET', '/api/v1/salesforce/contacts' + qs({ q: q.value.trim() }));
        const list = res.contacts || [];
        replace(results, h('p', { class: 'muted small' }, `${list.length} ${list.length === 1 ? 'contact' : 'contacts'} found.`),
          list.length ? contactList(list, link, 'res') : null);
      } catch (e) {
        replace(results, alertBox(unavailable(e) ? 'Contact search is not available on this server.' : describe(e)));
      }
    },
  },
  h('label', { for: 'sf-search' }, 'Search Salesforce contacts by name'),
  h('div', { class: 'row' }, q, h('button', { type: 'submit', id: 'sf-search-go' }, 'Search'))), results);
  // Create: the contact mapping's record for this customer, editable.
  const createBody = h('div', {});
  const start = h('button', {
    type: 'button', id: 'sf-contact-start',
    onclick: () => {
      start.hidden = true;
      mappedForm(p, 'contact', createBody, {
        submitLabel: 'Create Salesforce contact',
        fallback: [
          { name: 'FirstName', label: 'First name', value: cust && cust.first_name },
          { name: 'LastName', label: 'Last name', value: cust && (cust.last_name || cust.username) },
          { name: 'Email', label: 'Email', value: cust && cust.email },
        ],
        submit: async (fields) => {
          const res = await api('POST', `/api/v1/customers/${p.c.customer_id}/salesforce-contact`, { fields });
          announce('Salesforce contact created and linked.');
          await refresh(createdNote(res, 'Salesforce contact created and linked.'));
        },
        fail: (e) => {
          if (e instanceof ApiError && e.code === 'salesforce_duplicate') replace(msg, duplicateBox(e, instanceOf(info), link));
          else replace(msg, alertBox(unavailable(e) ? 'Creating contacts is not available on this server.' : describe(e)));
          msg.scrollIntoView({ block: 'nearest' });
        },
        cancel: () => { start.hidden = false; start.focus(); },
      });
    },
  }, 'Create a Salesforce contact…');
  sec.append(h('div', { class: 'disclosure' }, start, createBody));
  return sec;
}

function contactList(list, link, prefix) {
  return h('ul', { class: 'sf-contacts' }, list.map((c, i) => h('li', { class: 'row' },
    h('span', {}, h('strong', {}, c.name || [c.first_name, c.last_name].filter(Boolean).join(' ') || c.id),
      c.email ? h('span', { class: 'muted' }, ` · ${c.email}`) : null),
    h('button', { type: 'button', id: `sf-link-${prefix}-${i}`, onclick: () => link(c.id), 'aria-label': `Link ${c.name || c.id}` }, 'Link'))));
}

function escalationSection(p, info, object, msg, refresh) {
  const isCase = object === 'case';
  const title = isCase ? 'Salesforce case' : 'Lead';
  const sec = h('section', { class: 'sf-section', 'aria-labelledby': `sf-${object}-title` }, h('h4', { id: `sf-${object}-title` }, title));
  const rec = info[object];
  const deletedAt = isCase && p.c.salesforce && p.c.salesforce.deleted_at;
  if (rec && deletedAt) {
    sec.append(h('p', { id: 'sf-case-deleted' }, `Case ${rec.number || rec.id}: deleted in Salesforce on `, timeEl(deletedAt), '.'),
      h('p', { class: 'hint' }, 'Replies to the customer are written here in Care again; what was waiting for Salesforce is listed as failed. You may create the Salesforce case again.'));
  } else if (rec) {
    sec.append(h('p', {},
      isCase ? `Case ${rec.number || rec.id}${rec.status ? ' — ' + rec.status : ''}. ` : `Lead ${rec.id}. `,
      externalLink(rec.url, isCase ? 'Open the case in Salesforce' : 'Open the lead in Salesforce')));
    if (isCase) sec.append(h('p', { class: 'hint' }, 'Replies to the customer are now written from the Care page inside this Salesforce case.'));
    return sec;
  }
  const body = h('div', {});
  const open = h('button', {
    type: 'button', id: `sf-${object}-start`, class: isCase ? 'primary' : '',
    onclick: () => {
      open.hidden = true;
      mappedForm(p, object, body, {
        submitLabel: isCase ? 'Create Salesforce case' : 'Create Salesforce lead',
        submit: async (fields) => {
          const res = await api('POST', `/api/v1/cases/${p.id}/salesforce/${object}`, { fields });
          const rec = res && res[object];
          const done = isCase ? `Salesforce case ${(rec && (rec.number || rec.id)) || ''} created.` : `Salesforce lead ${(rec && rec.id) || ''} created.`;
          announce(done);
          await refresh(createdNote(res, done));
        },
        fail: (e) => {
          if (e instanceof ApiError && e.code === 'salesforce_duplicate') replace(msg, duplicateBox(e, instanceOf(info), null));
          else replace(msg, alertBox(unavailable(e) ? `Creating a Salesforce ${object} is not available on this server.` : describe(e)));
          msg.scrollIntoView({ block: 'nearest' });
        },
        cancel: () => { open.hidden = false; open.focus(); },
      });
    },
  }, isCase ? 'Create Salesforce case…' : 'Create lead…');
  sec.append(h('p', { class: 'hint' }, isCase
    ? (info.contact ? 'Escalate this case to Salesforce, filled in from the mapping.' : 'A Salesforce case needs a linked contact; a lead does not.')
    : 'Create a Salesforce lead from this customer, filled in from the mapping.'), open, body);
  return sec;
}

/**
 * Turns an edited field back into the type the preview had, so a number
 * or a checkbox field is not sent as text.
 */
function typed(raw, text) {
  if (typeof raw === 'number') {
    const n = Number(text);
    return text.trim() !== '' && Number.isFinite(n) ? n : text;
  }
  if (typeof raw === 'boolean') return text.trim().toLowerCase() === 'true';
  if (raw === null && text === '') return null;
  return text;
}

/**
 * The fields of a preview answer ({fields: {name: value}, shortened:
 * [name], overridable: [name]}) as [{name, value, raw, shortened,
 * editable}]. A field is editable when the answer lists it as
 * overridable (every field, from a server that does not say); an
 * overridable field the record leaves empty is offered too.
 */
function previewFields(pv) {
  const shortened = new Set(pv.shortened || []);
  const listed = Array.isArray(pv.overridable) ? pv.overridable : null;
  const can = (name) => !listed || listed.some((o) => o.toLowerCase() === name.toLowerCase());
  const out = Object.entries(pv.fields || {}).map(([name, v]) => (
    { name, value: v == null ? '' : String(v), raw: v, shortened: shortened.has(name), editable: can(name) }));
  for (const name of listed || []) {
    if (!out.some((f) => f.name.toLowerCase() === name.toLowerCase())) out.push({ name, value: '', raw: null, editable: true });
  }
  return out;
}

/** One field of a create form: an input when editable, else read-only. */
function fieldRow(object, f, i) {
  const id = `sf-${object}-f${i}`;
  const long = f.value.length > 80 || f.value.includes('\n');
  const attrs = { id, 'data-field': f.name, autocomplete: 'off' };
  if (f.editable) attrs['data-name'] = f.name;
  else Object.assign(attrs, { readonly: true, 'aria-readonly': 'true', 'aria-describedby': `sf-${object}-fixed` });
  const input = long ? h('textarea', { ...attrs, rows: '4' }) : h('input', attrs);
  input.value = f.value;
  return h('div', { class: f.editable ? 'stack' : 'stack fixed' },
    h('label', { for: id }, f.label || f.name, f.shortened ? h('span', { class: 'tag' }, 'shortened to fit') : null,
      f.editable ? null : h('span', { class: 'tag' }, 'from the mapping')), input);
}

/**
 * Shows the record the mapping would send for object (case, lead or
 * contact): the fields the mapping lets callers set are editable, the
 * rest read-only. Submits only the editable fields the user changed, as
 * overrides. Without a preview it offers opts.fallback fields, sent when
 * filled in. A 400 field_not_overridable marks the refused fields.
 */
async function mappedForm(p, object, body, opts) {
  replace(body, h('p', { class: 'muted' }, 'Preparing the record…'));
  let fields = [];
  let note = null;
  let fallback = false;
  try {
    const pv = await api('GET', `/api/v1/cases/${p.id}/salesforce/preview` + qs({ object }));
    fields = previewFields(pv);
    if (pv.described === false) note = h('p', { class: 'hint' }, 'Field lengths are not known yet, so nothing is shortened in this preview; what does not fit is shortened when the record is created.');
  } catch (e) {
    note = h('p', { class: 'hint' }, unavailable(e)
      ? 'A preview is not available; the record is filled in from the mapping.'
      : 'The preview could not be loaded (' + describe(e) + '); the record is filled in from the mapping.');
    if (opts.fallback) {
      fallback = true;
      fields = opts.fallback.map((f) => ({ name: f.name, label: f.label, value: f.value || '', raw: undefined, editable: true }));
    }
  }
  const fixed = fields.some((f) => !f.editable)
    ? h('p', { class: 'hint', id: `sf-${object}-fixed` }, 'Fields marked “from the mapping” are filled in by carebridge and cannot be changed here.')
    : null;
  const byName = new Map(fields.map((f) => [f.name, f]));
  const submit = h('button', { type: 'submit', class: 'primary', id: `sf-${object}-create` }, opts.submitLabel);
  replace(body, h('form', {
    class: 'stack sf-escalate', 'aria-label': opts.submitLabel,
    onsubmit: async (ev) => {
      ev.preventDefault();
      const form = ev.target;
      const overrides = {};
      form.querySelectorAll('[data-name]').forEach((el) => {
        const f = byName.get(el.dataset.name);
        el.removeAttribute('aria-invalid');
        if (fallback ? el.value.trim() !== '' : el.value !== f.value) overrides[f.name] = typed(f.raw, el.value);
      });
      submit.disabled = true;
      try {
        await opts.submit(overrides);
      } catch (e) {
        submit.disabled = false;
        if (e instanceof ApiError && e.code === 'field_not_overridable') {
          const refused = new Set(e.fields.map((n) => n.toLowerCase()));
          form.querySelectorAll('[data-field]').forEach((el) => {
            if (refused.has(el.dataset.field.toLowerCase())) el.setAttribute('aria-invalid', 'true');
          });
        }
        opts.fail(e);
      }
    },
  },
  note, fixed, fields.map((f, i) => fieldRow(object, f, i)),
  h('div', { class: 'row' }, submit, h('button', { type: 'button', onclick: () => { body.replaceChildren(); opts.cancel(); } }, 'Cancel'))));
  const first = body.querySelector('[data-name], button');
  if (first) first.focus();
}

// ---- the settings page ----

const STATE_WORDS = {
  connected: 'Connected', expired: 'Expired — reconnect needed', not_connected: 'Not connected',
  misconfigured: 'Misconfigured — check the connected app',
};

/** Renders the Salesforce settings page into main. */
export function renderSettings(main, boot) {
  const sup = boot.user.role === 'supervisor';
  const mine = h('section', { class: 'card', 'aria-labelledby': 'set-mine' });
  const conn = h('section', { class: 'card', 'aria-labelledby': 'set-conn' });
  const outbox = h('section', { class: 'card', 'aria-labelledby': 'set-outbox' });
  const mapping = h('section', { class: 'card', 'aria-labelledby': 'set-mapping' });
  const backup = h('section', { class: 'card', 'aria-labelledby': 'set-backup' });
  replace(main, h('div', { class: 'settings' },
    h('h2', { id: 'settings-title', tabindex: '-1' }, 'Salesforce settings'),
    mine, sup ? conn : null, sup ? outbox : null, sup ? mapping : null, sup ? backup : null));
  renderMine(mine, boot);
  if (sup) {
    renderConnection(conn, boot);
    // A retry changes the outbox counts the connection card shows.
    renderOutbox(outbox, () => renderConnection(conn, boot));
    renderMapping(mapping);
    renderBackup(backup);
  }
}

async function renderMine(sec, boot) {
  const msg = h('div', { class: 'form-errors' });
  let me = null;
  try {
    me = await api('GET', '/api/v1/salesforce/me');
  } catch (e) {
    if (!unavailable(e)) replace(msg, alertBox(describe(e)));
  }
  let state = h('p', { id: 'sf-me-state', class: 'muted' }, 'Whether your account is connected is not known on this server.');
  if (me && me.connected) {
    state = h('p', { id: 'sf-me-state', 'data-connected': 'true' }, 'Connected as ', h('strong', { id: 'sf-me-username' }, me.sf_username || me.sf_user_id || 'your Salesforce user'),
      me.healthy ? '.' : ` — not working${me.error ? ': ' + me.error : ''}. Connect again.`);
  } else if (me) {
    state = h('p', { id: 'sf-me-state', 'data-connected': 'false' }, 'Not connected: what you escalate is created under the default token.');
  }
  replace(sec, h('h3', { id: 'set-mine' }, 'Your Salesforce account'),
    state,
    h('p', {}, 'Connect your own Salesforce login so the cases and leads you escalate are created under your name. Without it they are created under the default token.'),
    h('div', { class: 'row' },
      h('a', { class: 'button primary', href: '/oauth/salesforce/connect?as=user', id: 'connect-me' }, me && me.connected ? 'Connect again' : 'Connect my Salesforce account'),
      me && !me.connected ? null : h('button', {
        type: 'button', id: 'disconnect-me',
        onclick: async () => {
          try {
            await api('DELETE', `/api/v1/salesforce/users/${encodeURIComponent(boot.user.id)}`);
            await renderMine(sec, boot);
            announce('Your Salesforce account is disconnected.');
          } catch (e) {
            replace(msg, alertBox(unavailable(e) ? 'Nothing to disconnect, or disconnecting is not available on this server.' : describe(e)));
          }
        },
      }, 'Disconnect my account')),
    msg);
}

function userLabel(boot, id) {
  const u = boot.users.find((x) => x.id === id);
  return u ? `${u.name} (${id})` : id;
}

// changesText says how Salesforce changes reach Care (SPEC §15).
function changesText(c) {
  if (c.changes === 'events') return 'changes: events';
  return 'changes: polling' + (c.changes_reason ? ` (${c.changes_reason})` : '');
}

function defaultTokenText(dt) {
  let t = dt.sf_username || dt.holder || dt.user_id || 'connected';
  if (dt.holder && dt.holder !== dt.sf_username) t += ` (held by ${dt.holder}${dt.flow === 'jwt' ? ', JWT bearer flow' : ''})`;
  if (dt.healthy === false) t += ' — not healthy' + (dt.error ? ': ' + dt.error : '');
  return t;
}

async function renderConnection(sec, boot) {
  replace(sec, h('h3', { id: 'set-conn' }, 'Connection'), h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading…'));
  let c;
  try {
    c = await api('GET', '/api/v1/salesforce/connection');
  } catch (e) {
    replace(sec, h('h3', { id: 'set-conn' }, 'Connection'), unavailable(e) ? notAvailable('The connection status') : alertBox(describe(e)),
      h('p', {}, h('a', { class: 'button', href: '/oauth/salesforce/connect?as=default' }, 'Connect the default token')));
    return;
  }
  const msg = h('div', { class: 'form-errors' });
  const dt = c.default_token;
  const users = c.users || [];
  const ob = c.outbox || {};
  const reason = c.error || c.reason;
  replace(sec, h('h3', { id: 'set-conn' }, 'Connection'),
    h('p', {}, h('span', { class: `badge conn-${c.state}` }, STATE_WORDS[c.state] || c.state),
      c.environment ? ` · ${c.environment}` : '', c.instance_url ? ` · ${c.instance_url}` : ''),
    reason ? h('p', { class: c.state === 'connected' ? 'notice' : 'alert', id: 'conn-reason' }, 'Reason: ' + reason) : null,
    h('dl', { class: 'facts' },
      h('dt', {}, 'Salesforce org'),
      h('dd', { id: 'conn-org' }, c.org_id || 'none yet: the first default connect binds carebridge to its org'),
      h('dt', {}, 'Default token'),
      h('dd', {}, dt ? defaultTokenText(dt) : 'none'),
      h('dt', {}, 'Status sync'), h('dd', {}, c.status_sync || '—'),
      h('dt', {}, 'Message sync'), h('dd', {}, c.message_sync || '—'),
      h('dt', {}, 'Contact sync'), h('dd', {}, c.contact_sync || '—'),
      h('dt', {}, 'Outbox'), h('dd', {}, `${ob.pending ?? 0} pending, ${ob.failed ?? 0} failed` + (ob.oldest_age_seconds ? `, oldest ${Math.round(ob.oldest_age_seconds)} s` : '')),
      h('dt', {}, 'Last status poll'), h('dd', {}, c.last_poll_at ? timeEl(c.last_poll_at) : 'never'),
      h('dt', {}, 'Changes'), h('dd', { id: 'conn-changes' }, changesText(c))),
    h('div', { class: 'row' },
      h('a', { class: 'button primary', href: '/oauth/salesforce/connect?as=default', id: 'connect-default' },
        dt ? 'Reconnect the default token as me' : 'Connect the default token'),
      h('a', { class: 'button', href: '/oauth/salesforce/connect?as=default&environment=sandbox', id: 'connect-default-sandbox' },
        'Connect a sandbox org'),
      dt ? h('button', {
        type: 'button', id: 'disconnect-default',
        onclick: async () => {
          try {
            await api('DELETE', '/api/v1/salesforce/default');
            announce('The default token is disconnected.');
            renderConnection(sec, boot);
          } catch (e) {
            replace(msg, alertBox(unavailable(e) ? 'Disconnecting the default token is not available on this server.' : describe(e)));
          }
        },
      }, 'Disconnect the default token') : null),
    h('p', { class: 'hint' }, 'The default token creates cases and leads for users who have not connected their own account, and runs the background sync.'),
    c.org_id || dt || users.length ? forgetButton(sec, boot, msg) : null,
    h('h4', {}, 'Connected users'),
    users.length ? h('table', { class: 'table' },
      h('caption', { class: 'sr-only' }, 'Care users connected to Salesforce'),
      h('thead', {}, h('tr', {}, ['Care user', 'Salesforce user', 'Health', 'Last refreshed', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, users.map((u) => h('tr', {},
        h('td', {}, userLabel(boot, u.user_id)), h('td', {}, u.sf_username || u.sf_user_id || ''),
        h('td', {}, u.healthy ? 'Healthy' : 'Not healthy' + (u.error ? ': ' + u.error : '')),
        h('td', {}, timeEl(u.last_refreshed_at)),
        h('td', {}, h('button', {
          type: 'button', 'aria-label': `Disconnect ${userLabel(boot, u.user_id)}`,
          onclick: async () => {
            try {
              await api('DELETE', `/api/v1/salesforce/users/${encodeURIComponent(u.user_id)}`);
              announce(`${userLabel(boot, u.user_id)} disconnected.`);
              renderConnection(sec, boot);
            } catch (e) {
              replace(msg, alertBox(describe(e)));
            }
          },
        }, 'Disconnect')))))) : h('p', {}, 'No Care user has connected a personal token.'),
    msg);
}

/**
 * Forget the connection: every token revoked at Salesforce and forgotten,
 * the org too, after the supervisor confirms.
 */
function forgetButton(sec, boot, msg) {
  return confirmAction({
    id: 'conn-forget', label: 'Forget the connection…',
    question: 'Forget the Salesforce connection? Every token (the default token and every user\'s) is revoked at Salesforce and forgotten, and so is the org: the next default connect may bind another org.',
    confirmLabel: 'Forget the connection',
    onConfirm: async () => {
      try {
        await api('DELETE', '/api/v1/salesforce/connection');
        announce('The Salesforce connection is forgotten.');
        await renderConnection(sec, boot);
        const m = sec.querySelector('.form-errors');
        if (m) replace(m, okBox('The Salesforce connection is forgotten: every token was revoked. Connect the default token to start again.'));
      } catch (e) {
        replace(msg, alertBox(unavailable(e) ? 'Forgetting the connection is not available on this server.' : describe(e)));
      }
    },
  });
}

/** The backup card: a consistent copy of the running daemon's store. */
function renderBackup(sec) {
  const msg = h('div', { class: 'form-errors', id: 'backup-messages' });
  const btn = h('button', {
    type: 'button', id: 'backup-download',
    onclick: async () => {
      btn.disabled = true;
      replace(msg, h('p', { class: 'muted' }, 'Preparing the backup…'));
      try {
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        const { blob, filename } = await download('/api/v1/admin/backup', `carebridge-backup-${stamp}.db`);
        const url = URL.createObjectURL(blob);
        const a = h('a', { href: url, download: filename, hidden: true });
        document.body.append(a);
        a.click();
        a.remove();
        window.setTimeout(() => URL.revokeObjectURL(url), 60000);
        replace(msg, okBox(`Backup saved as ${filename} (${blob.size} bytes).`));
        announce('Backup downloaded.');
      } catch (e) {
        replace(msg, alertBox(unavailable(e) ? 'Backups are not available on this server.' : describe(e)));
      } finally {
        btn.disabled = false;
      }
    },
  }, 'Download a backup');
  replace(sec, h('h3', { id: 'set-backup' }, 'Backup'),
    h('p', {}, 'A consistent copy of carebridge\'s database, taken while it runs: cases, customers, messages, the outbox and the encrypted Salesforce tokens. Keep it with the secret key; without that key the tokens in it cannot be read.'),
    h('div', { class: 'row' }, btn), msg);
}

/** An entry's error ({code, message} or null) in one line. */
function outboxError(op) {
  const e = op.error;
  return e ? (e.code ? e.code + ': ' : '') + e.message : '';
}

async function renderOutbox(sec, onRetry) {
  replace(sec, h('h3', { id: 'set-outbox' }, 'Failed deliveries'), h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading…'));
  let list;
  try {
    list = (await api('GET', '/api/v1/salesforce/outbox' + qs({ state: 'failed' }))).entries;
  } catch (e) {
    replace(sec, h('h3', { id: 'set-outbox' }, 'Failed deliveries'), unavailable(e) ? notAvailable('The outbox') : alertBox(describe(e)));
    return;
  }
  const msg = h('div', { class: 'form-errors' });
  replace(sec, h('h3', { id: 'set-outbox' }, 'Failed deliveries'),
    h('p', { class: 'hint' }, 'Operations Salesforce rejected. Fix the mapping or the record, then retry.'),
    list.length ? h('table', { class: 'table' },
      h('caption', { class: 'sr-only' }, 'Failed outbox operations'),
      h('thead', {}, h('tr', {}, ['Operation', 'Case', 'Error', 'Attempts', 'Since', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, list.map((op) => h('tr', {},
        h('td', {}, op.kind.replace(/_/g, ' ') + (op.value ? ` → ${op.value}` : '')),
        h('td', {}, op.case_id ? h('a', { href: `/cases/${op.case_id}` }, `#${op.case_id}`) : ''),
        h('td', {}, outboxError(op)),
        h('td', {}, String(op.attempts)),
        h('td', {}, timeEl(op.created_at)),
        h('td', {}, h('button', {
          type: 'button', 'aria-label': `Retry operation ${op.id}`,
          onclick: async () => {
            try {
              await api('POST', `/api/v1/salesforce/outbox/${encodeURIComponent(op.id)}/retry`);
              announce('Operation requeued.');
              renderOutbox(sec, onRetry);
              if (onRetry) onRetry();
            } catch (e) {
              replace(msg, alertBox(describe(e)));
            }
          },
        }, 'Retry')))))) : h('p', {}, 'No failed operations.'),
    msg);
}

async function renderMapping(sec) {
  replace(sec, h('h3', { id: 'set-mapping' }, 'Mapping'), h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading…'));
  let m;
  try {
    m = await api('GET', '/api/v1/mapping');
  } catch (e) {
    replace(sec, h('h3', { id: 'set-mapping' }, 'Mapping'), unavailable(e) ? notAvailable('The mapping') : alertBox(describe(e)));
    return;
  }
  const problems = (m.report && m.report.problems) || [];
  replace(sec, h('h3', { id: 'set-mapping' }, 'Mapping'),
    h('dl', { class: 'facts' },
      h('dt', {}, 'File'), h('dd', {}, m.file || 'none configured (nothing is sent to Salesforce)'),
      h('dt', {}, 'State'), h('dd', {}, !m.file ? '—' : (m.loaded ? (m.valid ? 'Loaded and valid' : 'Loaded; the latest edit was rejected') : 'Not loaded')),
      m.loaded_at ? [h('dt', {}, 'Loaded'), h('dd', {}, timeEl(m.loaded_at))] : null),
    m.last_error ? alertBox('The last reload was rejected: ' + m.last_error) : null,
    problems.length ? [h('h4', {}, 'Problems'), h('ul', { class: 'problems' },
      problems.map((pr) => h('li', {}, h('code', {}, `${pr.file}:${pr.line}:${pr.column}`), ' ', pr.message)))] : null,
    m.source ? h('details', { class: 'disclosure' }, h('summary', {}, 'Show the mapping file'), h('pre', { class: 'source', tabindex: '0' }, m.source)) : null,
    m.file ? validateOnline() : null);
}

/** "Validate online": the mapping file checked against the org's describe. */
function validateOnline() {
  const out = h('div', { id: 'validate-result', 'aria-live': 'polite' });
  const button = h('button', {
    type: 'button', id: 'validate-online',
    onclick: async () => {
      button.disabled = true;
      replace(out, h('p', { class: 'muted', 'aria-busy': 'true' }, 'Checking the mapping against Salesforce…'));
      try {
        const rep = await api('POST', '/api/v1/mapping/validate?online=true');
        const problems = rep.problems || [];
        replace(out, problems.length
          ? [alertBox(`Salesforce does not accept this mapping: ${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}.`),
            h('ul', { class: 'problems' }, problems.map((pr) => h('li', {}, h('code', {}, `${pr.file}:${pr.line}:${pr.column}`), ' ', pr.message)))]
          : okBox('The mapping is valid against the connected org.'));
      } catch (e) {
        replace(out, alertBox(unavailable(e) ? 'Validating online is not available on this server.' : describe(e)));
      } finally {
        button.disabled = false;
      }
    },
  }, 'Validate online');
  return h('div', { class: 'stack' }, h('div', { class: 'row' }, button), out);
}
