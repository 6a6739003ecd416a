package console

import (
	"net/http"
	"testing"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt"
	"github.com/chromedp/chromedp"
)

// An agent's header shows their routing state; switching available takes
// the waiting case at once, and a case routed later moves their load
// without a reload. A supervisor has no switch.
func TestBrowserAvailabilitySwitch(t *testing.T) {
	e := newLiveEnv(t, func(o *bolt.Options) {
		o.Routing = care.Routing{Mode: care.RoutingLeastBusy, Agents: []care.RoutingAgent{{ID: "alice", Skills: []string{"es"}, Capacity: 2}}}
	})
	waitingCase := e.escalate("m1", "joe", "brand", "Hola")

	tb := newTab(t, e)
	tb.do(chromedp.Navigate(tb.base + "/"))
	tb.signIn("alice")
	tb.waitText("#availability label", "Away")
	tb.waitText("#routing-load", "0/2 cases · skills es")
	tb.waitJS("the live feed", `document.documentElement.dataset.live === 'open'`)
	tb.click("#available-switch")
	tb.waitText("#availability label", "Available")
	tb.waitText("#routing-load", "1/2 cases")
	if c := e.caseState(waitingCase); c["assignee"] != "alice" {
		t.Fatalf("the waiting case went to %v after alice switched available", c["assignee"])
	}
	e.escalate("m2", "ann", "brand", "Hello")
	tb.waitText("#routing-load", "2/2 cases")
	tb.shot("availability")
	if s, me := e.apiAs("alice", http.MethodGet, "/api/v1/me", nil); s != http.StatusOK || me["available"] != true {
		t.Fatalf("me: %d %v", s, me)
	}

	sup := newTab(t, e)
	sup.do(chromedp.Navigate(sup.base + "/"))
	sup.signIn("sue")
	sup.waitJS("the live feed", `document.documentElement.dataset.live === 'open'`)
	sup.waitJS("no switch for a supervisor", `document.querySelector('#availability') === null`)
}
