package publish_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// A publisher that answers one case's replies with a 500 and takes the
// others': the stuck reply's age grows in
// carebridge_replies_oldest_pending_age_seconds while
// carebridge_replies_published_total{result="sent"} rises, so one case
// stuck in retries shows while the others go out. After a restart the
// counter starts again at 0 but the gauge reads the stuck reply's age at
// once, from the store; it falls to 0 once the reply is taken.
func TestOldestPendingAgeShowsOneStuckCase(t *testing.T) {
	w := newPublishing(t, nil)
	stuck, other := w.openCase("ann"), w.openCase("ben")
	w.pub.FailCase(stuck, http.StatusInternalServerError, "ann's platform is down")
	w.expectOldest("nothing written", 0)
	w.reply(stuck, "reply", "to ann")
	w.flush()
	w.expectOldest("just written", 0)
	for i := range 15 {
		w.Clock.Advance(time.Minute)
		w.reply(other, "reply", fmt.Sprintf("to ben %d", i))
		w.flush()
		w.expectOldest(fmt.Sprintf("minute %d", i+1), time.Duration(i+1)*time.Minute)
	}
	if v := counter(t, w, "sent"); v != 15 {
		t.Errorf("replies_published_total{result=sent} = %v, want 15 (ben's replies)", v)
	}
	if v := counter(t, w, "retry"); v < 4 {
		t.Errorf("replies_published_total{result=retry} = %v: ann's reply was not retried", v)
	}
	w.expectOutbox("ann's reply stuck", 1, 0)

	w.restart(nil)
	if v := counter(t, w, "sent"); v != 0 {
		t.Errorf("after the restart replies_published_total{result=sent} = %v, want 0", v)
	}
	w.expectOldest("at once after the restart", 15*time.Minute)
	w.expectOutbox("after the restart", 1, 0)
	w.Clock.Advance(5 * time.Minute)
	w.flush()
	w.expectOldest("still refused after the restart", 20*time.Minute)

	w.pub.Recover()
	for range 6 { // the backoff is at most 5 minutes
		w.Clock.Advance(time.Minute)
		w.flush()
	}
	w.expectOldest("taken", 0)
	w.expectOutbox("taken", 0, 0)
	if d := delivery(w.messages(stuck)["to ann"]); d["state"] != "sent" {
		t.Errorf("ann's reply after the recovery: %v", d)
	}
}
