// salesforce.js: the Salesforce tab of a case and the Salesforce settings
// page. Routes not served by this daemon (404) show "not available".

import { api, describe, unavailable, qs } from './api.js';
import {
  h, replace, announce, alertBox, okBox, timeEl,
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

/** Renders the Salesforce tab of case page p into panel. */
export async function renderSalesforceTab(panel, p) {
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
  const refresh = async () => {
    await p.reload();
    p.changed();
    renderSalesforceTab(panel, p);
  };
  const msg = h('div', { class: 'form-errors', id: 'sf-messages' });
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
          await api('POST', `/api/v1/customers/${p.c.customer_id}/salesforce-contact`, { fields });
          announce('Salesforce contact created and linked.');
          await refresh();
        },
        fail: (e) => replace(msg, alertBox(unavailable(e) ? 'Creating contacts is not available on this server.' : describe(e))),
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
  if (rec) {
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
          replace(msg, okBox(isCase ? `Salesforce case ${(rec && (rec.number || rec.id)) || ''} created.` : `Salesforce lead ${(rec && rec.id) || ''} created.`));
          announce(isCase ? 'Salesforce case created.' : 'Salesforce lead created.');
          await refresh();
        },
        fail: (e) => {
          replace(msg, alertBox(unavailable(e) ? `Creating a Salesforce ${object} is not available on this server.` : describe(e)));
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
 * [name]}) as [{name, value, raw, shortened}].
 */
function previewFields(pv) {
  const shortened = new Set(pv.shortened || []);
  return Object.entries(pv.fields || {}).map(([name, v]) => (
    { name, value: v == null ? '' : String(v), raw: v, shortened: shortened.has(name) }));
}

/**
 * Shows the record the mapping would send for object (case, lead or
 * contact), each field editable; submits only the fields the user changed,
 * as overrides. Without a preview it offers opts.fallback fields, sent
 * when filled in.
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
      fields = opts.fallback.map((f) => ({ name: f.name, label: f.label, value: f.value || '', raw: undefined }));
    }
  }
  const inputs = fields.map((f, i) => {
    const id = `sf-${object}-f${i}`;
    const long = f.value.length > 80 || f.value.includes('\n');
    const input = long ? h('textarea', { id, rows: '4', 'data-name': f.name }) : h('input', { id, 'data-name': f.name, autocomplete: 'off' });
    input.value = f.value;
    return h('div', { class: 'stack' },
      h('label', { for: id }, f.label || f.name, f.shortened ? h('span', { class: 'tag' }, 'shortened to fit') : null), input);
  });
  const submit = h('button', { type: 'submit', class: 'primary', id: `sf-${object}-create` }, opts.submitLabel);
  replace(body, h('form', {
    class: 'stack sf-escalate', 'aria-label': opts.submitLabel,
    onsubmit: async (ev) => {
      ev.preventDefault();
      const overrides = {};
      ev.target.querySelectorAll('[data-name]').forEach((el, i) => {
        if (fallback ? el.value.trim() !== '' : el.value !== fields[i].value) overrides[el.dataset.name] = typed(fields[i].raw, el.value);
      });
      submit.disabled = true;
      try {
        await opts.submit(overrides);
      } catch (e) {
        submit.disabled = false;
        opts.fail(e);
      }
    },
  },
  note, inputs,
  h('div', { class: 'row' }, submit, h('button', { type: 'button', onclick: () => { body.replaceChildren(); opts.cancel(); } }, 'Cancel'))));
  const first = body.querySelector('input, textarea, button');
  if (first) first.focus();
}

// ---- the settings page ----

const STATE_WORDS = {
  connected: 'Connected', expired: 'Expired — reconnect needed', not_connected: 'Not connected',
};

/** Renders the Salesforce settings page into main. */
export function renderSettings(main, boot) {
  const sup = boot.user.role === 'supervisor';
  const mine = h('section', { class: 'card', 'aria-labelledby': 'set-mine' });
  const conn = h('section', { class: 'card', 'aria-labelledby': 'set-conn' });
  const outbox = h('section', { class: 'card', 'aria-labelledby': 'set-outbox' });
  const mapping = h('section', { class: 'card', 'aria-labelledby': 'set-mapping' });
  replace(main, h('div', { class: 'settings' },
    h('h2', { id: 'settings-title', tabindex: '-1' }, 'Salesforce settings'),
    mine, sup ? conn : null, sup ? outbox : null, sup ? mapping : null));
  renderMine(mine, boot);
  if (sup) {
    renderConnection(conn, boot);
    // A retry changes the outbox counts the connection card shows.
    renderOutbox(outbox, () => renderConnection(conn, boot));
    renderMapping(mapping);
  }
}

function renderMine(sec, boot) {
  const msg = h('div', { class: 'form-errors' });
  replace(sec, h('h3', { id: 'set-mine' }, 'Your Salesforce account'),
    h('p', {}, 'Connect your own Salesforce login so the cases and leads you escalate are created under your name. Without it they are created under the default token.'),
    h('div', { class: 'row' },
      h('a', { class: 'button primary', href: '/oauth/salesforce/connect?as=user', id: 'connect-me' }, 'Connect my Salesforce account'),
      h('button', {
        type: 'button', id: 'disconnect-me',
        onclick: async () => {
          try {
            await api('DELETE', `/api/v1/salesforce/users/${encodeURIComponent(boot.user.id)}`);
            replace(msg, okBox('Your Salesforce account is disconnected.'));
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
  replace(sec, h('h3', { id: 'set-conn' }, 'Connection'),
    h('p', {}, h('span', { class: `badge conn-${c.state}` }, STATE_WORDS[c.state] || c.state),
      c.environment ? ` · ${c.environment}` : '', c.instance_url ? ` · ${c.instance_url}` : ''),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Default token'),
      h('dd', {}, dt ? defaultTokenText(dt) : 'none'),
      h('dt', {}, 'Status sync'), h('dd', {}, c.status_sync || '—'),
      h('dt', {}, 'Message sync'), h('dd', {}, c.message_sync || '—'),
      h('dt', {}, 'Contact sync'), h('dd', {}, c.contact_sync || '—'),
      h('dt', {}, 'Outbox'), h('dd', {}, `${ob.pending ?? 0} pending, ${ob.failed ?? 0} failed` + (ob.oldest_age_seconds ? `, oldest ${Math.round(ob.oldest_age_seconds)} s` : '')),
      h('dt', {}, 'Last status poll'), h('dd', {}, c.last_poll_at ? timeEl(c.last_poll_at) : 'never')),
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
    m.source ? h('details', { class: 'disclosure' }, h('summary', {}, 'Show the mapping file'), h('pre', { class: 'source', tabindex: '0' }, m.source)) : null);
}
