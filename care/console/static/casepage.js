// casepage.js: one case: the conversation, the reply and note boxes, and
// the property panel (Case, Customer, History, Salesforce tabs).

import {
  api, describe, ApiError, utf8Bytes, LIMITS,
} from './api.js';
import {
  h, replace, announce, alertBox, okBox, badge, timeEl, select, tabSet, safeURL, confirmAction,
  STATUS, PRIORITY, SENTIMENT, REPLY_TYPE, MESSAGE_TYPE,
} from './dom.js';
import { renderSalesforceTab } from './salesforce.js';
import { deliveryLine, refreshDeliveries } from './delivery.js';
import { slaEl } from './sla.js';

const MENTION = /(^|[^\w@])@([A-Za-z0-9._-]+)/g;

/** Messages read at a time: the latest on opening, then "Load earlier". */
const MESSAGE_PAGE = 100;

/** The nearest ancestor of el that scrolls (else the page). */
function scroller(el) {
  for (let n = el && el.parentElement; n && n !== document.body; n = n.parentElement) {
    const oy = window.getComputedStyle(n).overflowY;
    if ((oy === 'auto' || oy === 'scroll') && n.scrollHeight > n.clientHeight) return n;
  }
  return document.scrollingElement || document.documentElement;
}

/**
 * The "n / max bytes" line under a message box, kept as it is typed:
 * maxlength counts characters, the limit counts UTF-8 bytes.
 */
function byteCounter(input) {
  const el = h('p', { class: 'hint counter', id: `${input.id}-count` });
  const update = () => {
    const n = utf8Bytes(input.value);
    el.textContent = `${n} / ${LIMITS.messageTextBytes} bytes`;
    el.classList.toggle('over', n > LIMITS.messageTextBytes);
  };
  input.addEventListener('input', update);
  update();
  return el;
}

/**
 * Refuses a text over the API's byte limit before sending it: maxlength
 * counts characters, the API counts UTF-8 bytes. Says so in box.
 */
function tooLong(box, input, what) {
  const n = utf8Bytes(input.value);
  if (n <= LIMITS.messageTextBytes) return false;
  replace(box, alertBox(`The ${what} is ${n} bytes long; at most ${LIMITS.messageTextBytes} bytes can be sent. Shorten it.`));
  input.focus();
  return true;
}

/** Why the profile is fixed, by the server's profile_lock_reason. */
const PROFILE_LOCK = {
  outbound_message: 'The profile is fixed: a reply has been sent from it.',
  deleted: 'The case is deleted; its profile no longer changes.',
};

/** What the profile field's hint says. */
function profileHint(c) {
  if (!c.profile_locked) return 'The social profile replies are sent from. Only the assignee can set it, and only before the first reply.';
  return PROFILE_LOCK[c.profile_lock_reason] || 'The profile is fixed.';
}

/**
 * The case page. opts: caseId, mode (console|embed), caseLink(id),
 * onChange(customerId) (customerId set when the customer's details changed).
 */
export class CasePage {
  constructor(container, boot, opts) {
    this.container = container;
    this.boot = boot;
    this.me = boot.user;
    this.opts = opts;
    this.id = opts.caseId;
    this.embed = opts.mode === 'embed';
    this.drafts = { reply: '', note: '', replyType: null, markPending: false };
    this.composeTab = 'reply';
    this.propTab = 'case';
  }

  userName(id) {
    return (this.boot.users.find((u) => u.id === id) || { name: id }).name;
  }

  /** Fetches the case and its latest messages; earlier ones load on demand. */
  async fetchCase() {
    const [c, msgs] = await Promise.all([
      api('GET', `/api/v1/cases/${this.id}`),
      api('GET', `/api/v1/cases/${this.id}/messages?limit=${MESSAGE_PAGE}`),
    ]);
    this.c = c;
    this.msgs = msgs.messages;
    this.hasEarlier = msgs.messages.length >= MESSAGE_PAGE;
  }

  /** Prepends the page of messages before the first shown, keeping the view still. */
  async loadEarlier(button) {
    if (!this.msgs.length) return;
    button.disabled = true;
    try {
      const res = await api('GET', `/api/v1/cases/${this.id}/messages?limit=${MESSAGE_PAGE}&before=${encodeURIComponent(this.msgs[0].id)}`);
      const have = new Set(this.msgs.map((m) => m.id));
      const earlier = res.messages.filter((m) => !have.has(m.id));
      this.hasEarlier = res.messages.length >= MESSAGE_PAGE && earlier.length > 0;
      const anchor = this.convEl.querySelector('li.msg');
      const box = scroller(this.convEl);
      const before = anchor ? anchor.getBoundingClientRect().top : 0;
      this.msgs = [...earlier, ...this.msgs];
      const items = earlier.map((m) => this.messageItem(m));
      if (anchor) anchor.before(...items);
      this.renderEarlierButton();
      if (anchor) box.scrollTop += anchor.getBoundingClientRect().top - before;
      announce(earlier.length ? `${earlier.length} earlier messages loaded.` : 'No earlier messages.');
    } catch (e) {
      button.disabled = false;
      this.showError(describe(e));
    }
  }

  renderEarlierButton() {
    const old = this.convEl.querySelector('li.earlier');
    if (old) old.remove();
    if (!this.hasEarlier) return;
    const b = h('button', { type: 'button', id: 'load-earlier', onclick: () => this.loadEarlier(b) }, 'Load earlier messages');
    this.convEl.prepend(h('li', { class: 'earlier' }, b));
  }

  /**
   * The live feed says this case changed: appends the messages not shown
   * yet and refreshes the head and the panels that show what changed,
   * leaving the conversation, drafts and focus as they are.
   */
  async liveUpdate() {
    let c;
    let latest;
    try {
      [c, latest] = await Promise.all([
        api('GET', `/api/v1/cases/${this.id}`),
        api('GET', `/api/v1/cases/${this.id}/messages?limit=50`),
      ]);
    } catch (e) {
      return; // the next event or a reload shows it
    }
    if (!this.convEl || !this.convEl.isConnected) return;
    const have = new Set(this.msgs.map((m) => m.id));
    const added = latest.messages.filter((m) => !have.has(m.id));
    refreshDeliveries(this.convEl, this.msgs, latest.messages, this.id, this.mayRetry());
    if (added.length) {
      const empty = this.convEl.querySelector('li.empty');
      if (empty) empty.remove();
      this.msgs.push(...added);
      for (const m of added) this.convEl.append(this.messageItem(m));
      const last = this.convEl.lastElementChild;
      if (last && last.scrollIntoView) last.scrollIntoView({ block: 'nearest' });
      announce(added.length === 1 ? 'A new message arrived.' : `${added.length} new messages arrived.`);
    }
    const before = this.c;
    this.c = c;
    const key = (x) => JSON.stringify([x.status, x.assignee, x.priority, x.sentiment, x.profile_id, x.profile_locked, x.fields, x.locked_for_reply, x.salesforce, x.sla]);
    if (key(before) === key(c) && !added.length) return;
    this.renderHead();
    const focusId = document.activeElement && document.activeElement.id;
    if (this.propTab === 'case' && !this.tabs.el.contains(document.activeElement) && key(before) !== key(c)) {
      this.renderCaseTab(this.tabs.panel('case'));
    }
    const gate = (x) => JSON.stringify([x.status, x.assignee, x.profile_id, x.locked_for_reply]);
    if (gate(before) !== gate(c) && !this.composerEl.contains(document.activeElement)) this.renderComposer();
    const el = focusId && document.getElementById(focusId);
    if (el && el !== document.activeElement) el.focus();
  }

  async load() {
    replace(this.container, h('p', { class: 'placeholder', 'aria-busy': 'true' }, `Loading case #${this.id}…`));
    try {
      await this.fetchCase();
      this.customer = await api('GET', `/api/v1/customers/${this.c.customer_id}`).catch(() => null);
    } catch (e) {
      const msg = e instanceof ApiError && e.status === 404 ? `Case #${this.id} was not found, or you cannot see it.` : describe(e);
      replace(this.container, h('div', { class: 'placeholder' }, h('h2', {}, `Case #${this.id}`), alertBox(msg)));
      return;
    }
    this.render();
  }

  /** Reloads the case and its messages, re-rendering what shows them. */
  async reload() {
    const focusId = document.activeElement && document.activeElement.id;
    try {
      await this.fetchCase();
    } catch (e) {
      this.showError(describe(e));
      return;
    }
    this.renderHead();
    this.renderConversation();
    this.renderComposer();
    if (this.propTab === 'case') this.renderCaseTab(this.tabs.panel('case'));
    if (focusId) {
      const el = document.getElementById(focusId);
      if (el) el.focus();
    }
  }

  changed(customerId) {
    this.opts.onChange(customerId);
  }

  showError(msg) {
    replace(this.errorEl, alertBox(msg));
  }

  clearError() {
    this.errorEl.replaceChildren();
  }

  customerName() {
    const cu = this.customer || this.c.customer;
    return cu ? (cu.name || cu.username || `Customer ${cu.id}`) : `Customer ${this.c.customer_id}`;
  }

  render() {
    document.title = `Case #${this.id} · carebridge`;
    this.headEl = h('header', { class: 'case-head' });
    this.errorEl = h('div', { class: 'case-errors' });
    this.convEl = h('ol', { class: 'conversation', 'aria-labelledby': 'conv-title' });
    this.composerEl = h('div', { class: 'composer' });
    const sf = this.c.salesforce || {};
    this.tabs = tabSet('Case details', [
      { id: 'case', label: 'Case', render: (p) => this.renderCaseTab(p) },
      { id: 'customer', label: 'Customer', render: (p) => this.renderCustomerTab(p) },
      { id: 'history', label: 'History', render: (p) => this.renderHistoryTab(p) },
      {
        id: 'salesforce', label: 'Salesforce', render: (p) => renderSalesforceTab(p, this),
        marker: sf.escalated_without_contact ? 'escalated without a contact' : null,
      },
    ], this.propTab, (id) => { this.propTab = id; });
    replace(this.container, h('div', { class: 'case' },
      h('section', { class: 'conversation-pane', 'aria-labelledby': 'case-title' },
        this.headEl, this.errorEl,
        h('h3', { id: 'conv-title', class: 'sr-only' }, 'Conversation'),
        this.convEl, this.composerEl),
      h('aside', { class: 'props', 'aria-label': 'Case details' }, this.tabs.el)));
    this.renderHead();
    this.renderConversation();
    this.renderComposer();
  }

  renderHead() {
    const c = this.c;
    const sf = c.salesforce || {};
    const assigned = c.assignee === this.me.id;
    replace(this.headEl,
      h('h2', { id: 'case-title', tabindex: '-1' }, `Case #${c.id} · ${this.customerName()}`),
      h('p', { class: 'case-badges' },
        badge('status', c.status, STATUS), ' ',
        badge('priority', c.priority, PRIORITY), ' ',
        slaEl(c.sla),
        h('span', { class: 'meta' }, `Sentiment: ${SENTIMENT[c.sentiment] || c.sentiment}`),
        h('span', { class: 'meta' }, `Platform: ${c.platform}`),
        h('span', { class: 'meta' }, `Profile: ${c.profile_id || 'none chosen'}`),
        h('span', { class: 'meta' }, c.assignee ? `Assignee: ${this.userName(c.assignee)}` : 'Unassigned'),
        sf.case_number ? h('span', { class: 'meta' }, `Salesforce case ${sf.case_number}`,
          sf.deleted_at ? ' (deleted in Salesforce)' : (sf.status ? ' (' + sf.status + ')' : '')) : null),
      !assigned && c.status !== 'deleted'
        ? h('p', {}, h('button', { type: 'button', id: 'head-assign-me', class: 'primary', onclick: () => this.patch({ assignee: this.me.id }, 'Assigned to you') }, 'Assign to me'))
        : null);
  }

  renderConversation() {
    const items = this.msgs.map((m) => this.messageItem(m));
    replace(this.convEl, items.length ? items : h('li', { class: 'empty' }, 'No messages yet.'));
    this.renderEarlierButton();
    const last = this.convEl.lastElementChild;
    if (last && last.scrollIntoView) last.scrollIntoView({ block: 'nearest' });
  }

  /** One message of the conversation. */
  messageItem(m) {
    const note = m.kind === 'note';
    const cls = note ? 'note' : m.direction;
    const who = note ? 'Internal note' : (m.direction === 'inbound' ? 'Customer' : 'Reply');
    const type = note ? null : (m.reply_type ? REPLY_TYPE[m.reply_type] : MESSAGE_TYPE[m.type] || m.type);
    const atts = (m.attachments || []).filter((a) => a && safeURL(a.url));
    return h('li', { class: `msg ${cls}`, 'data-kind': m.kind, 'data-direction': m.direction, 'data-id': m.id },
      h('div', { class: 'msg-meta' },
        h('span', { class: 'msg-label' }, who), ' ',
        h('strong', {}, m.author || (m.author_id ? this.userName(m.author_id) : '')), ' ',
        type ? h('span', { class: 'muted' }, `· ${type}`) : null, ' ',
        m.via === 'salesforce' ? h('span', { class: 'muted' }, '· from Salesforce') : null, ' ',
        h('span', { class: 'muted' }, '· ', timeEl(m.sent_at))),
      h('p', { class: 'msg-text' }, m.text),
      note && m.mentions && m.mentions.length
        ? h('p', { class: 'msg-mentions' }, 'Mentions: ', m.mentions.map((id) => this.userName(id)).join(', '))
        : null,
      atts.length ? h('ul', { class: 'attachments', 'aria-label': 'Attachments' },
        atts.map((a) => h('li', {}, h('a', { href: a.url, target: '_blank', rel: 'noopener noreferrer' }, a.name || a.type || a.url)))) : null,
      deliveryLine(m, this.id, this.mayRetry()));
  }

  /** Whether the viewer may retry a reply the publisher refused. */
  mayRetry() {
    return this.me.role === 'supervisor' || this.c.assignee === this.me.id;
  }

  // ---- composer ----

  renderComposer() {
    const set = tabSet('Write', [
      { id: 'reply', label: 'Reply', render: (p) => this.renderReply(p) },
      { id: 'note', label: 'Internal note', render: (p) => this.renderNote(p) },
    ], this.composeTab, (id) => { this.composeTab = id; });
    replace(this.composerEl, set.el);
  }

  defaultReplyType() {
    const lastIn = [...this.msgs].reverse().find((m) => m.direction === 'inbound' && m.kind === 'message');
    if (lastIn && lastIn.type === 'direct_message') return 'direct_message';
    if (lastIn && lastIn.type === 'post') return 'comment_on_post';
    return 'public_reply';
  }

  renderReply(panel) {
    const c = this.c;
    const assigned = c.assignee === this.me.id;
    const locked = c.locked_for_reply && !this.embed;
    const notices = [];
    let blocked = false;
    if (c.status === 'deleted') {
      notices.push(h('p', { class: 'notice' }, 'This case is deleted; it cannot be replied to.'));
      blocked = true;
    } else if (locked) {
      notices.push(h('p', { class: 'notice' }, 'This case has been escalated to Salesforce. Replies are written from the Care page inside the Salesforce case.'));
      blocked = true;
    } else if (!assigned) {
      notices.push(h('p', { class: 'notice' }, c.assignee
        ? `Only the assignee (${this.userName(c.assignee)}) can reply. Assign the case to yourself to reply.`
        : 'Only the assignee can reply. Assign the case to yourself to reply.', ' ',
      h('button', { type: 'button', id: 'reply-assign-me', onclick: () => this.patch({ assignee: this.me.id }, 'Assigned to you') }, 'Assign to me')));
      blocked = true;
    } else if (!c.profile_id && c.profile_locked) {
      notices.push(h('p', { class: 'notice' }, 'This case has no profile, and it can no longer be set: replies cannot be sent from Care.'));
      blocked = true;
    } else if (!c.profile_id) {
      const input = h('input', { id: 'reply-profile', name: 'profile_id', required: true, autocomplete: 'off', maxlength: LIMITS.idBytes });
      notices.push(h('form', {
        class: 'notice row',
        onsubmit: (ev) => {
          ev.preventDefault();
          const v = input.value.trim();
          if (v) this.patch({ profile_id: v }, `Profile set to ${v}`);
        },
      }, h('label', { for: 'reply-profile' }, 'This case has no profile. Choose the profile to reply from:'), input,
      h('button', { type: 'submit' }, 'Set profile')));
      blocked = true;
    }
    if (blocked) {
      // Only the reason and the way out; a greyed-out form would only take room.
      replace(panel, notices);
      return;
    }
    const errBox = h('div', { class: 'form-errors' });
    const type = select({ id: 'reply-type', name: 'reply_type', onchange: (ev) => { this.drafts.replyType = ev.target.value; } },
      Object.entries(REPLY_TYPE), this.drafts.replyType || this.defaultReplyType());
    const text = h('textarea', {
      id: 'reply-text', name: 'text', rows: '3', required: true, maxlength: LIMITS.messageTextBytes, 'aria-describedby': 'reply-text-count',
      oninput: (ev) => { this.drafts.reply = ev.target.value; },
    });
    text.value = this.drafts.reply;
    const count = byteCounter(text);
    const pending = h('input', { type: 'checkbox', id: 'reply-pending', name: 'mark_pending', onchange: (ev) => { this.drafts.markPending = ev.target.checked; } });
    pending.checked = this.drafts.markPending;
    const send = h('button', { type: 'submit', class: 'primary', id: 'reply-send' }, this.embed ? 'Send reply from Salesforce' : 'Send reply');
    const form = h('form', {
      class: 'stack', 'aria-label': 'Reply to the customer',
      onsubmit: (ev) => this.sendMessage(ev, {
        text, button: send, errBox, what: 'reply',
        body: () => ({
          kind: 'reply', reply_type: type.value, text: text.value, mark_pending: pending.checked,
          via: this.embed ? 'salesforce' : 'care',
        }),
        sent: () => {
          this.drafts.reply = '';
          this.drafts.markPending = false;
          announce(pending.checked ? 'Reply sent; the case is pending.' : 'Reply sent.');
        },
      }),
    },
    h('div', { class: 'row' }, h('label', { for: 'reply-type' }, 'Reply as'), type),
    h('label', { for: 'reply-text' }, 'Reply to the customer'), text, count,
    h('div', { class: 'row spread' },
      h('span', { class: 'check' }, pending, h('label', { for: 'reply-pending' }, 'Mark as pending after sending')),
      send),
    errBox);
    replace(panel, form);
  }

  /**
   * Sends a reply or a note from its compose form: refuses an empty or too
   * long text in errBox, posts body() with the button disabled, then runs
   * sent(), reloads and puts the focus back in the (re-rendered) text box;
   * on failure it explains and lets the button be pressed again.
   */
  async sendMessage(ev, { text, button, errBox, what, body, sent }) {
    ev.preventDefault();
    if (!text.value.trim()) { replace(errBox, alertBox(`Write the ${what} first.`)); text.focus(); return; }
    if (tooLong(errBox, text, what)) return;
    button.disabled = true;
    try {
      await api('POST', `/api/v1/cases/${this.id}/messages`, body());
      errBox.replaceChildren();
      sent();
      await this.reload();
      this.changed();
      const t = document.getElementById(text.id);
      if (t) t.focus();
    } catch (e) {
      button.disabled = false;
      replace(errBox, alertBox(describe(e)));
    }
  }

  mentionsIn(text) {
    const ids = new Set();
    for (const m of text.matchAll(MENTION)) {
      if (this.boot.users.some((u) => u.id === m[2])) ids.add(m[2]);
    }
    return [...ids];
  }

  renderNote(panel) {
    const errBox = h('div', { class: 'form-errors' });
    const notifies = h('p', { class: 'hint', id: 'note-notifies', 'aria-live': 'polite' });
    const text = h('textarea', {
      id: 'note-text', name: 'text', rows: '3', required: true, maxlength: LIMITS.messageTextBytes, 'aria-describedby': 'note-help note-text-count note-notifies',
    });
    const updateNotifies = () => {
      const ids = this.mentionsIn(text.value);
      notifies.textContent = ids.length ? 'Notifies: ' + ids.map((id) => this.userName(id)).join(', ') : '';
    };
    text.value = this.drafts.note;
    const count = byteCounter(text);
    text.addEventListener('input', () => { this.drafts.note = text.value; updateNotifies(); });
    updateNotifies();
    const others = this.boot.users.filter((u) => u.id !== this.me.id);
    const picker = select({
      id: 'note-mention',
      onchange: (ev) => {
        const id = ev.target.value;
        if (!id) return;
        const sep = text.value && !/\s$/.test(text.value) ? ' ' : '';
        text.value += `${sep}@${id} `;
        this.drafts.note = text.value;
        ev.target.value = '';
        updateNotifies();
        text.focus();
      },
    }, [['', 'Choose a colleague…'], ...others.map((u) => [u.id, `${u.name} (@${u.id})`])], '');
    const add = h('button', { type: 'submit', id: 'note-add' }, 'Add note');
    const form = h('form', {
      class: 'stack', 'aria-label': 'Internal note',
      onsubmit: (ev) => this.sendMessage(ev, {
        text, button: add, errBox, what: 'note',
        body: () => ({ kind: 'note', text: text.value, mentions: this.mentionsIn(text.value) }),
        sent: () => {
          this.drafts.note = '';
          announce('Note added.');
          this.composeTab = 'note';
        },
      }),
    },
    h('label', { for: 'note-text' }, 'Internal note'),
    h('p', { class: 'hint', id: 'note-help' }, 'Only Care users see notes; they never reach the customer or Salesforce. Type @ and a user id to mention someone.'),
    text, count, notifies,
    h('div', { class: 'row spread' }, h('span', { class: 'row' }, h('label', { for: 'note-mention' }, 'Mention'), picker), add),
    errBox);
    replace(panel, form);
  }

  // ---- property panel ----

  /** PATCHes the case; on success re-renders, on failure explains. */
  async patch(body, done) {
    this.clearError();
    try {
      this.c = await api('PATCH', `/api/v1/cases/${this.id}`, body);
      announce(done);
      await this.reload();
      this.changed();
      return true;
    } catch (e) {
      // The error shows next to the control that failed: in the property
      // panel when the change came from there, else above the conversation.
      const fromPanel = this.tabs.el.contains(document.activeElement);
      const focusId = document.activeElement && document.activeElement.id;
      if (fromPanel && this.propTab === 'case') {
        this.renderCaseTab(this.tabs.panel('case'), describe(e));
      } else {
        this.showError(describe(e));
        if (this.propTab === 'case') this.renderCaseTab(this.tabs.panel('case'));
      }
      this.renderHead();
      this.renderComposer();
      const el = focusId && document.getElementById(focusId);
      if (el) el.focus();
      return false;
    }
  }

  renderCaseTab(panel, error) {
    const c = this.c;
    const deleted = c.status === 'deleted';
    const assignee = select({
      id: 'prop-assignee', disabled: deleted,
      onchange: (ev) => this.patch({ assignee: ev.target.value || null }, ev.target.value ? `Assigned to ${this.userName(ev.target.value)}` : 'Unassigned'),
    }, [['', 'Unassigned'], ...this.boot.users.map((u) => [u.id, u.name])], c.assignee || '');
    const statuses = Object.entries(STATUS).filter(([k]) => k !== 'deleted' || deleted);
    const status = select({
      id: 'prop-status', disabled: deleted,
      onchange: (ev) => this.patch({ status: ev.target.value }, `Status changed to ${STATUS[ev.target.value]}`),
    }, statuses, c.status);
    const priority = select({
      id: 'prop-priority', disabled: deleted,
      onchange: (ev) => this.patch({ priority: ev.target.value }, `Priority changed to ${PRIORITY[ev.target.value]}`),
    }, Object.entries(PRIORITY), c.priority);
    const sentiment = select({
      id: 'prop-sentiment', disabled: deleted,
      onchange: (ev) => this.patch({ sentiment: ev.target.value }, `Sentiment changed to ${SENTIMENT[ev.target.value]}`),
    }, Object.entries(SENTIMENT), c.sentiment);

    // The server decides on the whole case (profile_locked), not on the
    // page of messages loaded here.
    const profileLocked = !!c.profile_locked;
    const profile = h('input', {
      id: 'prop-profile', value: c.profile_id, disabled: profileLocked, 'aria-describedby': 'prop-profile-hint', autocomplete: 'off', maxlength: LIMITS.idBytes,
    });
    const profileForm = h('form', {
      class: 'row',
      onsubmit: (ev) => {
        ev.preventDefault();
        this.patch({ profile_id: profile.value.trim() }, 'Profile saved');
      },
    }, profile, h('button', { type: 'submit', disabled: profileLocked }, 'Save'));

    replace(panel,
      error ? alertBox(error) : null,
      h('h3', { class: 'sr-only' }, 'Case properties'),
      h('div', { class: 'fields' },
        h('label', { for: 'prop-assignee' }, 'Assignee'),
        h('div', { class: 'row' }, assignee,
          c.assignee !== this.me.id && !deleted ? h('button', { type: 'button', id: 'prop-assign-me', onclick: () => this.patch({ assignee: this.me.id }, 'Assigned to you') }, 'Assign to me') : null),
        h('label', { for: 'prop-status' }, 'Status'), status,
        h('label', { for: 'prop-priority' }, 'Priority'), priority,
        h('label', { for: 'prop-sentiment' }, 'Sentiment'), sentiment,
        h('label', { for: 'prop-profile' }, 'Profile'), profileForm,
        h('p', { class: 'hint', id: 'prop-profile-hint', 'data-lock': c.profile_lock_reason || '' }, profileHint(c))),
      this.fieldsEditor(deleted),
      h('p', { class: 'muted small' }, 'Created ', timeEl(c.created_at), c.last_customer_message_at ? h('span', {}, ' · last customer message ', timeEl(c.last_customer_message_at)) : null,
        ` · Community: ${c.community_state}`),
      deleted ? null : this.deleteButton());
  }

  fieldsEditor(deleted) {
    const fields = this.c.fields || {};
    const names = Object.keys(fields).sort();
    const rows = names.map((name, i) => h('div', { class: 'field-row' },
      h('label', { for: `cf-${i}` }, name),
      h('input', { id: `cf-${i}`, 'data-name': name, value: fields[name], disabled: deleted, maxlength: LIMITS.fieldValueBytes }),
      h('button', {
        type: 'button', disabled: deleted, 'aria-label': `Remove field ${name}`,
        onclick: () => this.patch({ fields: { [name]: null } }, `Field ${name} removed`),
      }, 'Remove')));
    const newName = h('input', { id: 'cf-new-name', placeholder: 'Field name', disabled: deleted, autocomplete: 'off', maxlength: LIMITS.fieldNameChars });
    const newValue = h('input', { id: 'cf-new-value', placeholder: 'Value', disabled: deleted, autocomplete: 'off', maxlength: LIMITS.fieldValueBytes });
    return h('form', {
      class: 'custom-fields',
      onsubmit: (ev) => {
        ev.preventDefault();
        const patch = {};
        for (const inp of ev.target.querySelectorAll('input[data-name]')) {
          if (inp.value !== fields[inp.dataset.name]) patch[inp.dataset.name] = inp.value;
        }
        if (newName.value.trim()) patch[newName.value.trim()] = newValue.value;
        if (Object.keys(patch).length) this.patch({ fields: patch }, 'Fields saved');
        else announce('No field changed.');
      },
    },
    h('fieldset', {},
      h('legend', {}, 'Custom fields'),
      rows.length ? rows : h('p', { class: 'muted small' }, 'No custom fields yet.'),
      h('div', { class: 'field-row new' },
        h('label', { for: 'cf-new-name', class: 'sr-only' }, 'New field name'), newName,
        h('label', { for: 'cf-new-value', class: 'sr-only' }, 'New field value'), newValue),
      h('button', { type: 'submit', id: 'cf-save', disabled: deleted }, 'Save fields')));
  }

  deleteButton() {
    return confirmAction({
      id: 'case-delete', label: 'Delete case…', question: 'Delete this case? A deleted case cannot be restored.',
      confirmLabel: 'Delete case', onConfirm: () => this.deleteCase(),
    });
  }

  async deleteCase() {
    try {
      await api('DELETE', `/api/v1/cases/${this.id}`);
      announce('Case deleted.');
      await this.reload();
      this.changed();
    } catch (e) {
      this.showError(describe(e));
    }
  }

  renderCustomerTab(panel) {
    const cu = this.customer;
    if (!cu) {
      replace(panel, alertBox('The customer could not be loaded.'));
      return;
    }
    const msg = h('div', { class: 'form-errors' });
    const field = (name, label, type) => [
      h('label', { for: `cust-${name}` }, label),
      h('input', {
        id: `cust-${name}`, name, type: type || 'text', value: cu[name] || '', autocomplete: 'off',
        maxlength: type === 'email' ? LIMITS.emailChars : LIMITS.nameChars,
      }),
    ];
    replace(panel,
      h('h3', { class: 'sr-only' }, 'Customer'),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Platform'), h('dd', {}, cu.platform),
        h('dt', {}, 'Platform user id'), h('dd', {}, cu.platform_user_id),
        h('dt', {}, 'Salesforce contact'), h('dd', {}, cu.salesforce_contact_id || 'not linked')),
      h('form', {
        class: 'fields',
        onsubmit: async (ev) => {
          ev.preventDefault();
          const data = new FormData(ev.target);
          const body = {};
          for (const k of ['username', 'first_name', 'last_name', 'email']) body[k] = String(data.get(k) || '');
          try {
            this.customer = await api('PATCH', `/api/v1/customers/${cu.id}`, body);
            replace(msg, okBox('Customer details saved.'));
            this.renderHead();
            this.changed(cu.id);
          } catch (e) {
            replace(msg, alertBox(describe(e)));
          }
        },
      },
      field('username', 'Username'), field('first_name', 'First name'), field('last_name', 'Last name'), field('email', 'Email', 'email'),
      h('div', {}, h('button', { type: 'submit', class: 'primary', id: 'cust-save' }, 'Save customer'))),
      msg);
  }

  async renderHistoryTab(panel) {
    replace(panel, h('h3', { class: 'sr-only' }, 'Case history'), h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading the customer\'s cases…'));
    try {
      const res = await api('GET', `/api/v1/customers/${this.c.customer_id}/cases`);
      const items = res.cases.map((k) => h('li', {},
        k.id === this.id
          ? h('span', {}, h('strong', {}, `#${k.id}`), ' (this case)')
          : h('a', { href: this.opts.caseLink(k.id), 'data-route': this.embed ? null : '' }, `Case #${k.id}`),
        ' ', badge('status', k.status, STATUS), ' ',
        h('span', { class: 'muted small' }, `profile ${k.profile_id || 'none'} · opened `, timeEl(k.created_at))));
      replace(panel, h('h3', {}, `Cases of ${this.customerName()}`),
        items.length ? h('ul', { class: 'history' }, items) : h('p', {}, 'No other cases.'));
    } catch (e) {
      replace(panel, alertBox(describe(e)));
    }
  }
}
