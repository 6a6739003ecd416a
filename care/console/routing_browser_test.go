package console

import (
	"net/http"
	"testing"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt"
	"github.com/chromedp/chromedp"
)

// An agent who signs in is available and takes what waits; the header
// shows their routing state and switches them away and back (taking what
// waited meanwhile), and a case routed later moves their load without a
// reload. A supervisor has no switch.
func TestBrowserAvailabilitySwitch(t *testing.T) {
	t.Parallel() // each has its own world and browser context
	e := newLiveEnv(t, func(o *bolt.Options) {
		o.Routing = care.Routing{Mode: care.RoutingLeastBusy, Agents: []care.RoutingAgent{{ID: "alice", Skills: []string{"es"}, Capacity: 3}}}
	})
	first := e.escalate("m1", "joe", "brand", "Hola")

	tb := newTab(t, e)
	tb.do(chromedp.Navigate(tb.base + "/"))
	tb.signIn("alice")
	tb.waitText("#availability label", "Available")
	tb.waitText("#routing-load", "1/3 cases · skills es")
	if c := e.caseState(first); c["assignee"] != "alice" {
		t.Fatalf("the waiting case went to %v when alice signed in", c["assignee"])
	}
	tb.waitJS("the live feed", `document.documentElement.dataset.live === 'open'`)

	tb.click("#available-switch")
	tb.waitText("#availability label", "Away")
	second := e.escalate("m2", "ann", "brand", "Hello")
	if c := e.caseState(second); c["assignee"] != nil {
		t.Fatalf("a case went to %v while alice was away", c["assignee"])
	}
	tb.click("#available-switch")
	tb.waitText("#availability label", "Available")
	tb.waitText("#routing-load", "2/3 cases")
	if c := e.caseState(second); c["assignee"] != "alice" {
		t.Fatalf("the case that waited went to %v when alice came back", c["assignee"])
	}
	e.escalate("m3", "bea", "brand", "Hi")
	tb.waitText("#routing-load", "3/3 cases")
	tb.shot("availability")
	if s, me := e.apiAs("alice", http.MethodGet, "/api/v1/me", nil); s != http.StatusOK || me["available"] != true || me["load"] != float64(3) {
		t.Fatalf("me: %d %v", s, me)
	}

	sup := newTab(t, e)
	sup.do(chromedp.Navigate(sup.base + "/"))
	sup.signIn("sue")
	sup.waitJS("the live feed", `document.documentElement.dataset.live === 'open'`)
	sup.waitJS("no switch for a supervisor", `document.querySelector('#availability') === null`)
}
