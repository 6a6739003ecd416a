package live_test

import (
	"testing"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/live"
)

// A breach is a case.sla_breached event {"case_id","policy","kind"} for
// those who see the case: its assignee and supervisors, no other agent.
func TestSLABreachEvent(t *testing.T) {
	b := live.New(live.Options{Clock: fixedClock{}})
	subs := map[string]*live.Subscription{}
	for _, u := range []care.User{alice, sue, {ID: "bob", Role: care.RoleAgent}} {
		s, err := b.Subscribe(u, 0, false)
		if err != nil {
			t.Fatal(err)
		}
		subs[u.ID] = s
	}
	ch := change(7, care.StatusOpen, care.StatusOpen, "alice", "alice")
	ch.SLABreach = &care.SLABreach{CaseID: 7, Policy: "vip", Kind: care.SLAFirstResponse}
	b.Publish([]care.Change{ch})
	for _, id := range []string{"alice", "sue"} {
		e := next(t, subs[id])
		if e.Type != live.TypeSLABreached || string(e.Data) != `{"case_id":7,"policy":"vip","kind":"first_response"}` {
			t.Errorf("%s got %s %s", id, e.Type, e.Data)
		}
	}
	select {
	case e := <-subs["bob"].Events():
		t.Errorf("bob got %s", e.Type)
	default:
	}
}
