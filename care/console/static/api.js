// api.js: the /api/v1 client of the console, and the words for its errors.

const csrfMeta = document.querySelector('meta[name="csrf-token"]');
const csrfToken = csrfMeta ? csrfMeta.content : '';

/**
 * An error answered by the API (or a network failure, status 0). extra
 * is the rest of the error object: matches (salesforce_duplicate), fields
 * (field_not_overridable).
 */
export class ApiError extends Error {
  constructor(status, code, message, details, extra) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
    this.details = details;
    const x = extra || {};
    this.matches = Array.isArray(x.matches) ? x.matches.map(String) : [];
    this.fields = Array.isArray(x.fields) ? x.fields.map(String) : [];
  }
}

/** Reads an error answer's body into an ApiError. */
async function errorOf(res) {
  let e = {};
  try { e = (JSON.parse(await res.text()) || {}).error || {}; } catch (err) { e = {}; }
  return new ApiError(res.status, e.code, e.message, e.details, e);
}

// The server's clock less this computer's, from the Date of the last
// answer: times left on a case count by the server's clock, so a wrong
// clock on the agent's computer does not colour them wrong.
let serverOffset = 0;

/** Now by the server's clock (milliseconds since the epoch). */
export function serverNow() {
  return Date.now() + serverOffset;
}

/** fetch with the session cookie and, when changing state, the CSRF token. */
async function send(method, path, headers, body) {
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken;
  if (body !== undefined) init.body = body;
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'network', 'network error');
  }
  const date = Date.parse(res.headers.get('Date') || '');
  // The Date header has whole seconds: a smaller difference is noise.
  if (!Number.isNaN(date) && Math.abs(date - Date.now()) > 2000) serverOffset = date - Date.now();
  else if (!Number.isNaN(date)) serverOffset = 0;
  return res;
}

/**
 * Calls the API with the session cookie. State-changing calls carry the
 * session's CSRF token. Resolves to the decoded JSON body (null when
 * empty); rejects with an ApiError.
 */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await send(method, path, headers, body === undefined ? undefined : JSON.stringify(body));
  if (!res.ok) throw await errorOf(res);
  const text = await res.text();
  if (!text) return null;
  try { return JSON.parse(text); } catch (e) { return null; }
}

/**
 * GETs a file with the session cookie. Resolves to {blob, filename}
 * (the name from Content-Disposition, else fallback); rejects with an
 * ApiError.
 */
export async function download(path, fallback) {
  const res = await send('GET', path, { Accept: 'application/octet-stream, application/json' });
  if (!res.ok) throw await errorOf(res);
  const blob = await res.blob();
  const cd = res.headers.get('Content-Disposition') || '';
  const m = cd.match(/filename="?([^";]+)"?/i);
  const filename = m ? m[1].replace(/[\\/]/g, '_') : fallback;
  return { blob, filename };
}

/** UTF-8 length of a string: the API's byte limits count these. */
export function utf8Bytes(s) {
  return new TextEncoder().encode(s).length;
}

/**
 * The limits of the Care API (SPEC §12) the console's inputs carry: the
 * defaults here, replaced by the configured ones the page was served with
 * (boot data "limits", config limits:), which the API enforces (400
 * too_large).
 */
export const LIMITS = {
  messageTextBytes: 65536, nameChars: 255, emailChars: 254, idBytes: 256, fieldNameChars: 255, fieldValueBytes: 4096,
};

(() => {
  const el = document.querySelector('meta[name="carebridge-boot"]');
  let served = null;
  try { served = JSON.parse(el ? el.content : '{}').limits; } catch (e) { served = null; }
  if (!served) return;
  const names = {
    message_text_bytes: 'messageTextBytes', name_chars: 'nameChars', email_chars: 'emailChars',
    id_bytes: 'idBytes', field_name_chars: 'fieldNameChars', field_value_bytes: 'fieldValueBytes',
  };
  for (const [key, name] of Object.entries(names)) {
    const n = served[key];
    if (Number.isInteger(n) && n > 0) LIMITS[name] = n;
  }
})();

/** Builds a query string from an object, leaving out empty values. */
export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  }
  const s = p.toString();
  return s ? '?' + s : '';
}

/**
 * Reports whether an error means the route is not there (a part of the
 * daemon not built or not enabled), as opposed to a missing record.
 */
export function unavailable(err) {
  return err instanceof ApiError && (err.status === 404 || err.status === 405 || err.status === 501) &&
    (err.code === '' || err.code === 'not_found' || err.code === 'not_implemented');
}

const words = {
  network: 'Could not reach carebridge. Check your connection and try again.',
  unauthenticated: 'Your session has ended or was refused. Reload the page, or sign in again.',
  forbidden: 'You do not have permission to do that.',
  not_assigned: 'Only the agent assigned to this case can do that. Assign the case to yourself first.',
  profile_locked: 'The profile can no longer be changed: a reply has already been sent from this case\'s profile.',
  case_unassigned: 'A case must be assigned before it can be marked done. Assign it first.',
  invalid_transition: 'That status change is not allowed: a deleted case cannot change.',
  no_profile: 'Choose the profile to reply from before sending a reply.',
  locked_to_salesforce: 'This case has been escalated to Salesforce: replies are written from the Care page inside Salesforce.',
  open_case_exists: 'This customer already has an open case with this profile.',
  conflict: 'Someone else changed this at the same time. Reload and try again.',
  not_found: 'It no longer exists, or you cannot see it.',
  invalid_json: 'The request was not understood.',
  body_too_large: 'The text is too long to send.',
  contact_not_linked: 'Link a Salesforce contact to this customer first, or create a lead instead.',
  contact_not_found: 'That Salesforce contact was not found. It may have been deleted in Salesforce.',
  already_escalated: 'This case has already been escalated to Salesforce.',
  salesforce_connection_expired: 'The Salesforce connection has expired. A supervisor must reconnect it on the Salesforce settings page.',
  salesforce_rejected: 'Salesforce rejected the record.',
  conversation_too_old: 'The customer\'s last message is 90 days old or more, so this case can no longer be escalated.',
  salesforce_unavailable: 'Salesforce did not answer. Try again in a moment.',
  mapping_not_configured: 'The Salesforce mapping does not cover this: a supervisor must add it to the mapping file.',
  salesforce_authorization_failed: 'Salesforce did not authorize the connection.',
  too_large: 'That is more than carebridge accepts',
  field_not_overridable: 'The mapping does not let you set these fields',
  salesforce_duplicate: 'Salesforce refused the record as a duplicate of records it already has.',
  too_many_requests: 'Too many requests are pending. Wait a moment and try again.',
  internal: 'carebridge ran into an internal error. Try again; if it keeps happening, tell your administrator.',
};

/** Turns an error into a sentence for the user. */
export function describe(err) {
  if (!(err instanceof ApiError)) return 'Something went wrong: ' + String(err && err.message || err);
  if (err.status === 401) return words.unauthenticated;
  let text = words[err.code];
  if (err.code === 'invalid_argument') {
    text = 'That value is not accepted: ' + (err.message || 'check the form') + '.';
  } else if (err.code === 'salesforce_rejected') {
    const details = salesforceDetails(err.details);
    text = words.salesforce_rejected + (details ? ' ' + details : (err.message ? ' ' + err.message : ''));
  } else if ((err.code === 'mapping_not_configured' || err.code === 'salesforce_unavailable') && err.message) {
    text = text + ' (' + err.message + ')';
  } else if (err.code === 'too_large') {
    text = words.too_large + (err.message ? ': ' + err.message : '') + '. Shorten it and try again.';
  } else if (err.code === 'field_not_overridable') {
    text = words.field_not_overridable + ': ' + (err.fields.length ? err.fields.join(', ') : err.message) + '. Leave them as the mapping fills them in.';
  } else if (err.code === 'salesforce_duplicate' && err.message) {
    text = words.salesforce_duplicate + ' (' + err.message + ')';
  } else if (err.code === 'forbidden' && err.message) {
    text = words.forbidden + ' (' + err.message + ')';
  }
  if (!text) {
    text = err.message ? err.message.charAt(0).toUpperCase() + err.message.slice(1) : `The request failed (HTTP ${err.status}).`;
  }
  return text;
}

function salesforceDetails(d) {
  const list = Array.isArray(d) ? d : (d && Array.isArray(d.errors) ? d.errors : null);
  if (!list) return '';
  return list.map((e) => {
    const code = e.errorCode || e.statusCode || '';
    const fields = Array.isArray(e.fields) && e.fields.length ? ' (' + e.fields.join(', ') + ')' : '';
    return (code ? code + ': ' : '') + (e.message || '') + fields;
  }).join('; ');
}
