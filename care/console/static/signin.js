// Sign in with Salesforce inside the Salesforce iframe. Salesforce's login
// page refuses to be framed, so the framed sign-in page opens it in a
// popup. When the popup has signed in, it posts a one-time ticket to this
// frame, which trades it for a session cookie of its own (POST
// /login/salesforce/ticket: where the browser partitions third-party
// cookies, the popup's cookie is not sent to the frame) and reloads.

const ticketPath = '/login/salesforce/ticket';
const messageType = 'carebridge-signed-in';

function framedSignIn(link) {
  let popup = null;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    location.replace(link.dataset.next || '/');
  };
  window.addEventListener('message', async (ev) => {
    if (ev.origin !== location.origin || !ev.data || ev.data.type !== messageType) return;
    try {
      await fetch(ticketPath, {
        method: 'POST',
        credentials: 'same-origin',
        body: new URLSearchParams({ ticket: String(ev.data.ticket || '') }),
      });
    } finally {
      finish();
    }
  });
  link.addEventListener('click', (ev) => {
    ev.preventDefault();
    popup = window.open(link.href, 'carebridge-signin', 'popup,width=520,height=700');
    if (!popup) {
      location.assign(link.href); // popups blocked: sign in in this frame's place
      return;
    }
    const watch = setInterval(() => {
      if (popup.closed) {
        clearInterval(watch);
        setTimeout(finish, 300); // the message, if any, comes first
      }
    }, 500);
  });
}

function popupDone(el) {
  const opener = window.opener;
  if (!opener) return; // opened without an opener: the page says what to do
  opener.postMessage({ type: messageType, ticket: el.dataset.ticket }, location.origin);
  window.close();
}

const link = document.getElementById('salesforce-sign-in');
if (link && link.dataset.popup) framedSignIn(link);
const done = document.getElementById('signin-done');
if (done) popupDone(done);
