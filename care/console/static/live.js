// live.js: the console's live feed. One EventSource on /api/v1/events
// (SPEC §14): case events go to onCase, "reset" (the server could not
// replay what was missed) to onReset. The browser reconnects by itself
// with Last-Event-ID; when the server refused the stream (too many open,
// shutting down) it is opened again here, later, from the last id seen.

const CASE_EVENTS = ['case.created', 'case.updated', 'message.added', 'case.sla_breached'];

/** State of the feed, for the page and its tests: 'connecting', 'open', 'closed'. */
export const liveState = { state: 'connecting', lastId: '' };

export function connectLive({ onCase, onReset, onState }) {
  let retry = 1000;
  const seen = (ev) => {
    if (ev.lastEventId) liveState.lastId = ev.lastEventId;
  };
  const setState = (s) => {
    liveState.state = s;
    document.documentElement.dataset.live = s;
    if (onState) onState(s);
  };
  function open() {
    const q = liveState.lastId ? '?last_event_id=' + encodeURIComponent(liveState.lastId) : '';
    const es = new EventSource('/api/v1/events' + q, { withCredentials: true });
    for (const type of CASE_EVENTS) {
      es.addEventListener(type, (ev) => {
        seen(ev);
        let data;
        try { data = JSON.parse(ev.data); } catch (e) { return; }
        if (data && typeof data.case_id === 'number') onCase(type, data);
      });
    }
    es.addEventListener('reset', (ev) => {
      seen(ev);
      onReset();
    });
    es.onopen = () => {
      retry = 1000;
      setState('open');
    };
    es.onerror = () => {
      if (es.readyState !== EventSource.CLOSED) {
        setState('connecting');
        return;
      }
      es.close();
      setState('closed');
      window.setTimeout(open, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }
  open();
}
