// app.js: the console's entry point. Routes (/, /cases/{id},
// /settings/salesforce, /embed/cases/{id}), the view list with counts, the
// case list with sorting, filters and paging.

import { api, qs, describe } from './api.js';
import {
  h, replace, announce, alertBox, VIEWS, SORTS, STATUS, PRIORITY, badge, timeEl, select,
} from './dom.js';
import { CasePage } from './casepage.js';
import { renderSettings } from './salesforce.js';

const bootMeta = document.querySelector('meta[name="carebridge-boot"]');
const boot = JSON.parse(bootMeta ? bootMeta.content : '{}');
const me = boot.user;
const isSupervisor = me.role === 'supervisor';
const userName = (id) => (boot.users.find((u) => u.id === id) || { name: id }).name;

const app = document.getElementById('app');
const main = document.getElementById('main');

/** Customer names by id, fetched once each (again after an edit here). */
const customers = new Map();
function customerName(id) {
  if (!customers.has(id)) {
    customers.set(id, api('GET', `/api/v1/customers/${id}`).then((c) => c.name || c.username || `Customer ${id}`,
      () => `Customer ${id}`));
  }
  return customers.get(id);
}

// ---- routing ----

const FILTERS = ['status', 'priority', 'assignee', 'platform', 'profile_id'];

function parseRoute() {
  const p = new URLSearchParams(window.location.search);
  const r = { page: 'cases', caseId: null, view: p.get('view') || 'inbox', sort: p.get('sort') || '', filters: {} };
  for (const f of FILTERS) if (p.get(f)) r.filters[f] = p.get(f);
  const path = window.location.pathname;
  let m;
  if (path === '/settings/salesforce') r.page = 'settings';
  else if ((m = path.match(/^\/cases\/(\d+)$/))) r.caseId = Number(m[1]);
  if (!VIEWS.some((v) => v.id === r.view)) r.view = 'inbox';
  return r;
}

function routeURL(r) {
  if (r.page === 'settings') return '/settings/salesforce';
  const path = r.caseId ? `/cases/${r.caseId}` : '/';
  const params = { view: r.view === 'inbox' && !r.caseId ? '' : r.view, sort: r.sort, ...r.filters };
  return path + qs(params);
}

function navigate(r, replaceState) {
  const url = routeURL(r);
  if (replaceState) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  render();
}

// Links inside the app that carry data-route are followed without a reload.
document.addEventListener('click', (ev) => {
  const a = ev.target.closest && ev.target.closest('a[data-route]');
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  ev.preventDefault();
  window.history.pushState(null, '', a.getAttribute('href'));
  render();
});
window.addEventListener('popstate', () => render());

// ---- layout ----

let viewsNav = null;
let listSection = null;
let current = { page: null, view: null, key: null, caseId: null };
let casePage = null;

function layout() {
  if (viewsNav) return;
  viewsNav = h('nav', { class: 'views', 'aria-labelledby': 'views-title' },
    h('h2', { id: 'views-title', class: 'pane-title' }, 'Views'));
  listSection = h('section', { class: 'caselist', 'aria-labelledby': 'list-title' });
  app.insertBefore(listSection, main);
  app.insertBefore(viewsNav, listSection);
  main.className = 'case-area';
}

function render() {
  const r = parseRoute();
  for (const a of document.querySelectorAll('.sections a')) {
    if (a.dataset.section === (r.page === 'settings' ? 'settings' : 'cases')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (r.page === 'settings') {
    app.classList.add('settings-mode');
    current = { page: 'settings' };
    casePage = null;
    document.title = 'Salesforce settings · carebridge';
    renderSettings(main, boot);
    return;
  }
  app.classList.remove('settings-mode');
  layout();
  renderViews(r);
  const key = JSON.stringify([r.view, r.sort, r.filters]);
  if (current.page !== 'cases' || current.key !== key) {
    renderList(r);
  } else {
    markSelected(r.caseId);
  }
  if (current.page !== 'cases' || current.caseId !== r.caseId || !casePage) {
    if (r.caseId) {
      casePage = new CasePage(main, boot, {
        caseId: r.caseId, mode: 'console',
        caseLink: (id) => routeURL({ ...r, caseId: id }),
        onChange: (customerId) => {
          if (customerId) customers.delete(customerId);
          refreshList();
          loadCounts();
        },
      });
      casePage.load();
    } else {
      casePage = null;
      document.title = 'Care cases · carebridge';
      replace(main, h('div', { class: 'placeholder' },
        h('h2', {}, 'No case open'),
        h('p', {}, 'Choose a case from the list to read the conversation and work on it.')));
    }
  }
  current = { page: 'cases', view: r.view, key, caseId: r.caseId };
}

// ---- views and counts ----

const counts = {};

function visibleViews() {
  return VIEWS.filter((v) => !v.supervisor || isSupervisor);
}

function renderViews(r) {
  const ul = h('ul', { class: 'view-list' });
  for (const v of visibleViews()) {
    const n = counts[v.id];
    const label = n === undefined ? '' : n;
    const a = h('a', {
      href: routeURL({ page: 'cases', view: v.id, sort: '', filters: {}, caseId: null }),
      'data-route': '', 'data-view': v.id,
      'aria-current': v.id === r.view ? 'page' : null,
      'aria-label': n === undefined ? v.label : `${v.label}, ${label} ${n === 1 ? 'case' : 'cases'}`,
    }, h('span', { class: 'view-name' }, v.label), h('span', { class: 'count', 'aria-hidden': 'true' }, String(label)));
    ul.append(h('li', {}, a));
  }
  const old = viewsNav.querySelector('ul');
  if (old) old.replaceWith(ul); else viewsNav.append(ul);
}

/** How many cases a count reads before it shows "N+". */
const COUNT_LIMIT = 200;
let countsTimer = null;

async function loadCounts() {
  window.clearTimeout(countsTimer);
  await Promise.all(visibleViews().map(async (v) => {
    try {
      const page = await api('GET', '/api/v1/cases' + qs({ view: v.id, limit: COUNT_LIMIT }));
      counts[v.id] = page.next_cursor ? `${COUNT_LIMIT}+` : page.cases.length;
    } catch (e) {
      delete counts[v.id];
    }
  }));
  if (current.page === 'cases') renderViews(parseRoute());
  // Refreshed every two minutes, and after every change made here.
  countsTimer = window.setTimeout(loadCounts, 120000);
}

// ---- the case list ----

let listState = null;

function viewLabel(id) {
  return (VIEWS.find((v) => v.id === id) || { label: id }).label;
}

function renderList(r) {
  listState = { route: r, cases: [], cursor: null, loading: false, error: null };
  const title = h('h2', { id: 'list-title', class: 'pane-title' }, viewLabel(r.view));
  const sortSel = select({ id: 'sort', name: 'sort', onchange: (ev) => navigate({ ...r, caseId: null, sort: ev.target.value }) },
    SORTS.map((s) => [s.id, s.label]), r.sort);
  const toolbar = h('div', { class: 'list-toolbar' },
    h('label', { for: 'sort' }, 'Sort'), sortSel, filtersForm(r));
  const ul = h('ul', { class: 'cases', id: 'case-list', 'aria-labelledby': 'list-title', 'aria-busy': 'true' });
  const more = h('div', { class: 'list-more' });
  replace(listSection, title, toolbar, ul, more);
  loadPage();
}

function filtersForm(r) {
  const f = r.filters;
  const active = Object.keys(f).length;
  const form = h('form', {
    class: 'filters stack',
    onsubmit: (ev) => {
      ev.preventDefault();
      const data = new FormData(ev.target);
      const filters = {};
      for (const k of FILTERS) {
        const v = String(data.get(k) || '').trim();
        if (v) filters[k] = v;
      }
      navigate({ ...r, caseId: null, filters });
    },
  },
  h('label', { for: 'f-status' }, 'Status'),
  select({ id: 'f-status', name: 'status' }, [['', 'Any status'], ...Object.entries(STATUS).filter(([k]) => k !== 'deleted')], f.status || ''),
  h('label', { for: 'f-priority' }, 'Priority'),
  select({ id: 'f-priority', name: 'priority' }, [['', 'Any priority'], ...Object.entries(PRIORITY)], f.priority || ''),
  h('label', { for: 'f-assignee' }, 'Assignee'),
  select({ id: 'f-assignee', name: 'assignee' }, [['', 'Anyone'], ['none', 'Unassigned'], ...boot.users.map((u) => [u.id, u.name])], f.assignee || ''),
  h('label', { for: 'f-platform' }, 'Platform'),
  h('input', { id: 'f-platform', name: 'platform', value: f.platform || '', placeholder: 'e.g. twitter' }),
  h('label', { for: 'f-profile' }, 'Profile'),
  h('input', { id: 'f-profile', name: 'profile_id', value: f.profile_id || '' }),
  h('div', { class: 'row' },
    h('button', { type: 'submit', class: 'primary' }, 'Apply filters'),
    h('button', { type: 'button', onclick: () => navigate({ ...r, caseId: null, filters: {} }) }, 'Clear')));
  return h('details', { class: 'filter-box' },
    h('summary', {}, active ? `Filters (${active} on)` : 'Filters'), form);
}

async function loadPage() {
  const st = listState;
  if (st.loading) return;
  st.loading = true;
  const r = st.route;
  const ul = document.getElementById('case-list');
  const more = listSection.querySelector('.list-more');
  try {
    const page = await api('GET', '/api/v1/cases' + qs({ view: r.view, sort: r.sort, cursor: st.cursor, limit: 50, ...r.filters }));
    if (st !== listState) return; // the view changed meanwhile
    st.cases.push(...page.cases);
    st.cursor = page.next_cursor;
    for (const c of page.cases) ul.append(caseItem(c, r));
    if (!st.cases.length) ul.append(h('li', { class: 'empty' }, 'No cases in this view.'));
    replace(more, st.cursor ? h('button', { type: 'button', onclick: loadPage }, 'Load more cases') : null);
    if (!st.cursor && !Object.keys(r.filters).length) {
      counts[r.view] = st.cases.length;
      renderViews(r);
    }
  } catch (e) {
    if (st !== listState) return;
    replace(more, alertBox(describe(e)));
  } finally {
    st.loading = false;
    ul.removeAttribute('aria-busy');
    markSelected(parseRoute().caseId);
  }
}

function refreshList() {
  if (current.page === 'cases' && listState) renderList(listState.route);
}

function caseItem(c, r) {
  const name = h('span', { class: 'case-customer' }, `Customer ${c.customer_id}`);
  customerName(c.customer_id).then((n) => { name.textContent = n; });
  const when = c.last_customer_message_at || c.created_at;
  const a = h('a', { href: routeURL({ ...r, caseId: c.id }), 'data-route': '', 'data-case': String(c.id), class: 'case-link' },
    h('span', { class: 'case-line' }, h('span', { class: 'case-id' }, `#${c.id}`), name),
    h('span', { class: 'case-line small' },
      badge('status', c.status, STATUS), ' ', badge('priority', c.priority, PRIORITY), ' ',
      h('span', { class: 'muted' }, c.platform), c.salesforce && c.salesforce.case_number ? h('span', { class: 'muted' }, ` · SF ${c.salesforce.case_number}`) : null),
    h('span', { class: 'case-line small muted' },
      c.assignee ? `Assigned to ${userName(c.assignee)}` : 'Unassigned', ' · ', timeEl(when)));
  return h('li', {}, a);
}

function markSelected(caseId) {
  for (const a of listSection ? listSection.querySelectorAll('a[data-case]') : []) {
    if (Number(a.dataset.case) === caseId) a.setAttribute('aria-current', 'true');
    else a.removeAttribute('aria-current');
  }
}

// ---- what the OAuth callback sends back ----

/** The words for the codes the Salesforce connect lands on the console with (?error=). */
function connectError(code, orgId) {
  switch (code) {
    case 'org_mismatch':
      return 'That Salesforce account belongs to another org than the one carebridge is connected to, so it was refused and nothing was stored. ' +
        (orgId ? `Sign in to Salesforce with an account of org ${orgId} and connect again.` : 'Sign in to Salesforce with an account of the connected org and connect again.');
    case 'access_denied':
      return 'The Salesforce connection was not approved in Salesforce. Connect again and choose Allow.';
    case 'invalid_state':
      return 'The Salesforce connection could not be finished: it expired or was started in another browser. Start connecting again.';
    default:
      return `Connecting Salesforce failed (${code}). Try again; if it keeps failing, tell your administrator.`;
  }
}

/**
 * Shows the error the connect came back with, then drops it from the URL
 * so a reload or a shared link does not show it again. A supervisor also
 * learns which org carebridge is bound to.
 */
async function showConnectError() {
  const url = new URL(window.location.href);
  const code = url.searchParams.get('error');
  if (!code) return;
  url.searchParams.delete('error');
  window.history.replaceState(null, '', url.pathname + url.search + url.hash);
  const flash = document.getElementById('flash');
  if (!flash) return;
  let orgId = '';
  if (code === 'org_mismatch' && isSupervisor) {
    orgId = await api('GET', '/api/v1/salesforce/connection').then((c) => (c && c.org_id) || '', () => '');
  }
  replace(flash, h('div', { class: 'alert flash-box', role: 'alert', id: 'connect-error' },
    h('p', {}, connectError(code.slice(0, 64), orgId)),
    h('button', { type: 'button', class: 'link', onclick: () => flash.replaceChildren() }, 'Dismiss')));
}

// ---- start ----

if (boot.mode === 'embed') {
  app.classList.add('embed-mode');
  const page = new CasePage(main, boot, {
    caseId: boot.case_id, mode: 'embed', caseLink: (id) => `/embed/cases/${id}`, onChange: () => {},
  });
  page.load();
} else {
  showConnectError();
  render();
  loadCounts();
}
announce('');
