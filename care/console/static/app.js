// app.js: the console's entry point. Routes (/, /cases/{id},
// /settings/salesforce, /embed/cases/{id}), the view list with counts and
// saved views, the case list with sorting, filters, search and paging, kept
// up to date by the live feed (live.js).

import { api, qs, describe } from './api.js';
import {
  h, replace, announce, alertBox, VIEWS, SORTS, STATUS, PRIORITY, badge, timeEl, select,
} from './dom.js';
import { CasePage } from './casepage.js';
import { renderSettings } from './salesforce.js';
import { connectLive } from './live.js';
import { slaEl, SLA_FILTERS } from './sla.js';
import { mountAvailability, refreshAvailability } from './routing.js';

const bootMeta = document.querySelector('meta[name="carebridge-boot"]');
const boot = JSON.parse(bootMeta ? bootMeta.content : '{}');
const me = boot.user;
const isSupervisor = me.role === 'supervisor';
const userName = (id) => (boot.users.find((u) => u.id === id) || { name: id }).name;

const app = document.getElementById('app');
const main = document.getElementById('main');

/** The name a case's JSON gives its customer. */
function customerName(c) {
  const cu = c.customer;
  return (cu && (cu.name || cu.username)) || `Customer ${c.customer_id}`;
}

// ---- routing ----

const FILTERS = ['status', 'priority', 'assignee', 'platform', 'profile_id', 'sla'];

function parseRoute() {
  const p = new URLSearchParams(window.location.search);
  const r = {
    page: 'cases', caseId: null, view: p.get('view') || 'inbox', sort: p.get('sort') || '', filters: {}, q: p.get('q') || '',
  };
  for (const f of FILTERS) if (p.get(f)) r.filters[f] = p.get(f);
  const path = window.location.pathname;
  let m;
  if (path === '/settings/salesforce') r.page = 'settings';
  else if ((m = path.match(/^\/cases\/(\d+)$/))) r.caseId = Number(m[1]);
  if (!VIEWS.some((v) => v.id === r.view) && !isSavedView(r.view)) r.view = 'inbox';
  return r;
}

function routeURL(r) {
  if (r.page === 'settings') return '/settings/salesforce';
  const path = r.caseId ? `/cases/${r.caseId}` : '/';
  const params = { view: r.view === 'inbox' && !r.caseId ? '' : r.view, sort: r.sort, ...r.filters, q: r.q };
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
    h('h2', { id: 'views-title', class: 'pane-title' }, 'Views'),
    h('section', { class: 'saved-views', 'aria-labelledby': 'saved-title' }));
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
  const key = JSON.stringify([r.view, r.sort, r.filters, r.q]);
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
        onChange: () => {
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

function viewLink(id, label, n, r) {
  const text = n === undefined ? '' : String(n);
  return h('a', {
    href: routeURL({ page: 'cases', view: id, sort: '', filters: {}, q: '', caseId: null }),
    'data-route': '', 'data-view': id,
    'aria-current': id === r.view ? 'page' : null,
    'aria-label': n === undefined ? label : `${label}, ${text} ${n === 1 ? 'case' : 'cases'}`,
  }, h('span', { class: 'view-name' }, label), h('span', { class: 'count', 'aria-hidden': 'true' }, text));
}

function renderViews(r) {
  const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.view : null;
  renderSavedViews(r);
  const ul = h('ul', { class: 'view-list' });
  for (const v of visibleViews()) ul.append(h('li', {}, viewLink(v.id, v.label, counts[v.id], r)));
  const old = viewsNav.querySelector(':scope > ul.view-list');
  if (old) old.replaceWith(ul); else viewsNav.insertBefore(ul, viewsNav.querySelector('.saved-views'));
  // Counts change under the agent's hands: the focus stays on its view.
  const again = focused && viewsNav.querySelector(`a[data-view="${CSS.escape(focused)}"]`);
  if (again) again.focus();
}

let countsTimer = null;

/**
 * Reads every view's count in one call, and the saved views with theirs.
 * The live feed calls it after each change; without the feed it runs
 * every two minutes.
 */
async function loadCounts() {
  window.clearTimeout(countsTimer);
  const [c, sv] = await Promise.all([
    api('GET', '/api/v1/views/counts').catch(() => null),
    api('GET', '/api/v1/views').catch(() => null),
  ]);
  if (c) {
    for (const k of Object.keys(counts)) delete counts[k];
    Object.assign(counts, c);
  }
  if (sv) savedViews = sv.views || [];
  if (current.page === 'cases') renderViews(parseRoute());
  countsTimer = window.setTimeout(loadCounts, 120000);
}

// ---- saved views ----

/** The caller's saved views and those shared, with counts (GET /api/v1/views). */
let savedViews = [];

/** Saved view ids are numbers; default views have names. */
function isSavedView(id) {
  return /^[0-9]+$/.test(String(id || ''));
}

function renderSavedViews(r) {
  const sec = viewsNav.querySelector('.saved-views');
  const msg = h('div', { class: 'form-errors' });
  const items = savedViews.map((v) => {
    const mine = v.owner === me.id;
    const count = v.count_capped ? `${v.count}+` : v.count;
    return h('li', { class: 'saved-view' }, viewLink(v.id, v.name, count, r),
      mine || isSupervisor ? h('button', {
        type: 'button', class: 'link small', 'aria-label': `Delete saved view ${v.name}`, 'data-delete-view': v.id,
        onclick: async () => {
          try {
            await api('DELETE', `/api/v1/views/${encodeURIComponent(v.id)}`);
            announce(`Saved view ${v.name} deleted.`);
            savedViews = savedViews.filter((x) => x.id !== v.id);
            if (parseRoute().view === v.id) navigate({ page: 'cases', view: 'inbox', sort: '', filters: {}, q: '', caseId: null });
            else renderViews(parseRoute());
          } catch (e) {
            replace(msg, alertBox(describe(e)));
          }
        },
      }, 'Delete') : null,
      v.shared ? h('span', { class: 'muted small' }, mine ? ' shared' : ` by ${userName(v.owner)}`) : null);
  });
  replace(sec, h('h3', { id: 'saved-title', class: 'pane-subtitle' }, 'Saved views'),
    items.length ? h('ul', { class: 'view-list saved' }, items) : h('p', { class: 'muted small hint' }, 'Save the filters and search of a list to find them here.'),
    msg);
}

/** The search box over the current view (q=). */
function searchForm(r) {
  const input = h('input', {
    type: 'search', id: 'search-q', name: 'q', value: r.q, placeholder: 'Search names and messages', maxlength: '200', autocomplete: 'off',
  });
  return h('form', {
    class: 'search row', role: 'search',
    onsubmit: (ev) => {
      ev.preventDefault();
      navigate({ ...r, caseId: null, q: input.value.trim() });
    },
  }, h('label', { for: 'search-q', class: 'sr-only' }, 'Search cases'), input, h('button', { type: 'submit', id: 'search-go' }, 'Search'));
}

/** Saves the current filters, search and sort as a view. */
function saveViewForm(r) {
  const msg = h('div', { class: 'form-errors' });
  const name = h('input', { id: 'sv-name', name: 'name', required: true, maxlength: '100', autocomplete: 'off' });
  const shared = h('input', { type: 'checkbox', id: 'sv-shared', name: 'shared' });
  const form = h('form', {
    class: 'stack',
    onsubmit: async (ev) => {
      ev.preventDefault();
      const filters = { ...r.filters, q: r.q };
      if (r.view !== 'inbox' && !filters.status && VIEW_STATUS[r.view]) filters.status = VIEW_STATUS[r.view];
      try {
        const v = await api('POST', '/api/v1/views', { name: name.value.trim(), filters, sort: r.sort, shared: shared.checked });
        announce(`Saved view ${v.name} created.`);
        await loadCounts();
        navigate({ page: 'cases', view: v.id, sort: '', filters: {}, q: '', caseId: null });
      } catch (e) {
        replace(msg, alertBox(describe(e)));
      }
    },
  },
  h('label', { for: 'sv-name' }, 'Name'), name,
  h('span', { class: 'check' }, shared, h('label', { for: 'sv-shared' }, 'Share with everyone')),
  h('p', { class: 'hint' }, 'Keeps the filters (SLA included), the search and the sort of this list.'),
  h('button', { type: 'submit', id: 'sv-save' }, 'Save view'), msg);
  return h('details', { class: 'filter-box' }, h('summary', {}, 'Save as view'), form);
}

/** The one status a default view lists, kept when it is saved as a view. */
const VIEW_STATUS = { new: 'new', my_open: 'open', my_pending: 'pending', my_on_hold: 'on_hold', done: 'done', spam: 'spam' };

// ---- the case list ----

/** The query string of the list r shows. */
function listQuery(r, more) {
  if (isSavedView(r.view)) return qs({ view: r.view, ...more });
  return qs({ view: r.view, sort: r.sort, ...r.filters, q: r.q, ...more });
}

/** What a row shows of a case: a row whose case says the same is kept. */
function caseSig(c) {
  return JSON.stringify([c.status, c.priority, c.assignee, c.platform, customerName(c), c.last_customer_message_at, c.created_at,
    c.salesforce && c.salesforce.case_number, c.sla]);
}

let listState = null;

function viewLabel(id) {
  const sv = savedViews.find((v) => v.id === id);
  if (sv) return sv.name;
  return (VIEWS.find((v) => v.id === id) || { label: isSavedView(id) ? 'Saved view' : id }).label;
}

function renderList(r) {
  listState = { route: r, cases: [], cursor: null, loading: false, error: null };
  const title = h('h2', { id: 'list-title', class: 'pane-title' }, viewLabel(r.view));
  const sortSel = select({ id: 'sort', name: 'sort', onchange: (ev) => navigate({ ...r, caseId: null, sort: ev.target.value }) },
    SORTS.map((s) => [s.id, s.label]), r.sort);
  const saved = isSavedView(r.view);
  const toolbar = h('div', { class: 'list-toolbar' },
    saved ? null : searchForm(r),
    saved ? null : [h('label', { for: 'sort' }, 'Sort'), sortSel, filtersForm(r), saveViewForm(r)]);
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
  h('label', { for: 'f-sla' }, 'SLA'),
  select({ id: 'f-sla', name: 'sla' }, SLA_FILTERS, f.sla || ''),
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
    const page = await api('GET', '/api/v1/cases' + listQuery(r, { cursor: st.cursor, limit: 50 }));
    if (st !== listState) return; // the view changed meanwhile
    st.cases.push(...page.cases);
    st.cursor = page.next_cursor;
    for (const c of page.cases) ul.append(caseItem(c, r));
    if (!st.cases.length) ul.append(h('li', { class: 'empty' }, 'No cases in this view.'));
    replace(more, st.cursor ? h('button', { type: 'button', onclick: loadPage }, 'Load more cases') : null);
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
  if (current.page === 'cases' && listState) refreshListInPlace();
}

/**
 * Reads the list again from its start (as many cases as it shows) and
 * changes only the rows that differ: rows that stay are not touched, so
 * nothing jumps and focus stays where it was.
 */
async function refreshListInPlace() {
  const st = listState;
  if (!st || st.loading) {
    if (st) st.again = true;
    return;
  }
  st.loading = true;
  const r = st.route;
  try {
    const page = await api('GET', '/api/v1/cases' + listQuery(r, { limit: Math.min(500, Math.max(50, st.cases.length)) }));
    if (st !== listState) return;
    const ul = document.getElementById('case-list');
    const old = new Map();
    for (const li of ul.children) if (li.dataset.row) old.set(li.dataset.row, li);
    const rows = page.cases.map((c) => {
      const li = old.get(String(c.id));
      if (li && li.dataset.sig === caseSig(c)) return li;
      return caseItem(c, r);
    });
    if (!rows.length) rows.push(h('li', { class: 'empty' }, 'No cases in this view.'));
    rows.forEach((li, i) => {
      if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null);
    });
    while (ul.children.length > rows.length) ul.lastElementChild.remove();
    st.cases = page.cases;
    st.cursor = page.next_cursor;
    const more = listSection.querySelector('.list-more');
    replace(more, st.cursor ? h('button', { type: 'button', onclick: loadPage }, 'Load more cases') : null);
    markSelected(parseRoute().caseId);
  } catch (e) {
    // The next change or the next reset tries again.
  } finally {
    st.loading = false;
    if (st.again) {
      st.again = false;
      refreshListInPlace();
    }
  }
}

// ---- the live feed ----

let liveTimer = null;
const liveCases = new Set();

/** A case changed: counts, the list and the open case follow, batched. */
function onLiveCase(type, ev) {
  liveCases.add(ev.case_id);
  if (liveTimer) return;
  liveTimer = window.setTimeout(() => {
    liveTimer = null;
    const ids = new Set(liveCases);
    liveCases.clear();
    if (current.page !== 'cases') return;
    loadCounts();
    refreshAvailability();
    refreshListInPlace();
    if (casePage && ids.has(casePage.id)) casePage.liveUpdate();
  }, 100);
}

/** Events were missed: read everything again. */
function onLiveReset() {
  if (current.page !== 'cases') return;
  loadCounts();
  if (listState) renderList(listState.route);
  if (casePage) casePage.reload();
}

function caseItem(c, r) {
  const name = h('span', { class: 'case-customer' }, customerName(c));
  const when = c.last_customer_message_at || c.created_at;
  const a = h('a', { href: routeURL({ ...r, caseId: c.id }), 'data-route': '', 'data-case': String(c.id), class: 'case-link' },
    h('span', { class: 'case-line' }, h('span', { class: 'case-id' }, `#${c.id}`), name),
    h('span', { class: 'case-line small' },
      badge('status', c.status, STATUS), ' ', badge('priority', c.priority, PRIORITY), ' ',
      h('span', { class: 'muted' }, c.platform), c.salesforce && c.salesforce.case_number ? h('span', { class: 'muted' }, ` · SF ${c.salesforce.case_number}`) : null,
      c.sla ? ' ' : null, slaEl(c.sla)),
    h('span', { class: 'case-line small muted' },
      c.assignee ? `Assigned to ${userName(c.assignee)}` : 'Unassigned', ' · ', timeEl(when)));
  return h('li', { 'data-sig': caseSig(c), 'data-row': String(c.id) }, a);
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

/** How often the embedded case page reads its case when it has no live feed. */
const EMBED_POLL_MS = 30000;

/**
 * The embedded case page follows its case: its own stream of that case's
 * events (whoever the case is assigned to), batched as the console's; a
 * stream refused for good (a partitioned frame without the session) turns
 * into a slow poll, said discreetly in the top bar.
 */
function followEmbedded(page) {
  let timer = null;
  let wasOpen = false;
  const update = () => {
    timer = null;
    page.liveUpdate();
  };
  connectLive({
    caseId: page.id,
    pauseHidden: true,
    // Back after a pause or a refusal (too many streams): what changed
    // meanwhile may be past what the stream replays.
    onState: (st) => {
      if (st === 'open' && wasOpen) page.liveUpdate();
      if (st === 'open') wasOpen = true;
    },
    onCase: (type, ev) => {
      if (ev.case_id !== page.id || timer) return;
      timer = window.setTimeout(update, 100);
    },
    onReset: () => page.reload(),
    onRefused: () => {
      const who = document.querySelector('.topbar .who');
      if (who && !document.getElementById('live-off')) {
        who.prepend(h('span', {
          id: 'live-off', class: 'muted small live-off',
          title: 'This page could not open its live feed here; it reads the case again every 30 seconds.',
        }, 'Live updates off'));
      }
      window.setInterval(() => page.liveUpdate(), EMBED_POLL_MS);
    },
  });
}

if (boot.mode === 'embed') {
  app.classList.add('embed-mode');
  const page = new CasePage(main, boot, {
    caseId: boot.case_id, mode: 'embed', caseLink: (id) => `/embed/cases/${id}`, onChange: () => {},
  });
  page.load();
  followEmbedded(page);
} else {
  showConnectError();
  render();
  loadCounts();
  mountAvailability();
  connectLive({ onCase: onLiveCase, onReset: onLiveReset });
}
announce('');
