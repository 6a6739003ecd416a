// live.js: the console's live feed. One EventSource on /api/v1/events
// (SPEC §14): case events go to onCase, "reset" (the server could not
// replay what was missed) to onReset. The browser reconnects by itself
// with Last-Event-ID; when the server refused the stream (too many open,
// shutting down) it is opened again here, later, from the last id seen.
//
// The embedded case page follows its one case (caseId: ?case_id=), lets
// its stream go while the page is hidden (pauseHidden: streams are capped
// per user, and a Salesforce user keeps many case pages open), and learns
// by onRefused when the stream is refused for good (401, 403: a
// partitioned frame whose session the stream does not carry; 404: no
// live feed), so that it can poll instead.

const CASE_EVENTS = ['case.created', 'case.updated', 'message.added', 'case.sla_breached'];

/** State of the feed, for the page and its tests: 'connecting', 'open', 'closed', 'paused', 'off'. */
export const liveState = { state: 'connecting', lastId: '' };

/** Statuses that say the stream will not open by trying again. */
const REFUSED = [401, 403, 404];

/**
 * The status the events route answers url with (0: no answer). An
 * EventSource does not tell why it failed; this asks once, and lets the
 * stream go as soon as the status is known.
 */
async function statusOf(url) {
  const ctl = new AbortController();
  try {
    const res = await fetch(url, { credentials: 'same-origin', cache: 'no-store', signal: ctl.signal, headers: { Accept: 'text/event-stream' } });
    return res.status;
  } catch (e) {
    return 0;
  } finally {
    ctl.abort();
  }
}

export function connectLive({
  onCase, onReset, onState, caseId, pauseHidden, onRefused,
}) {
  let retry = 1000;
  let es = null;
  let timer = null;
  const seen = (ev) => {
    if (ev.lastEventId) liveState.lastId = ev.lastEventId;
  };
  const setState = (s) => {
    liveState.state = s;
    document.documentElement.dataset.live = s;
    if (onState) onState(s);
  };
  const url = () => {
    const p = new URLSearchParams();
    if (caseId) p.set('case_id', String(caseId));
    if (liveState.lastId) p.set('last_event_id', liveState.lastId);
    const q = p.toString();
    return '/api/v1/events' + (q ? '?' + q : '');
  };
  const hidden = () => pauseHidden && document.visibilityState === 'hidden';
  function open() {
    window.clearTimeout(timer);
    if (es || liveState.state === 'off') return;
    if (hidden()) {
      setState('paused');
      return;
    }
    const at = url();
    const src = new EventSource(at, { withCredentials: true });
    es = src;
    let opened = false;
    for (const type of CASE_EVENTS) {
      src.addEventListener(type, (ev) => {
        seen(ev);
        let data;
        try { data = JSON.parse(ev.data); } catch (e) { return; }
        if (data && typeof data.case_id === 'number') onCase(type, data);
      });
    }
    src.addEventListener('reset', (ev) => {
      seen(ev);
      onReset();
    });
    src.onopen = () => {
      opened = true;
      retry = 1000;
      setState('open');
    };
    src.onerror = async () => {
      if (src.readyState !== EventSource.CLOSED) {
        setState('connecting');
        return;
      }
      src.close();
      if (es === src) es = null;
      setState('closed');
      if (onRefused && !opened) {
        const status = await statusOf(at);
        if (REFUSED.includes(status)) {
          setState('off');
          onRefused(status);
          return;
        }
      }
      timer = window.setTimeout(open, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }
  if (pauseHidden) {
    document.addEventListener('visibilitychange', () => {
      if (!hidden()) {
        open();
      } else if (es) {
        es.close();
        es = null;
        setState('paused');
      }
    });
  }
  open();
}
