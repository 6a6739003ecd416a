package bolt

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

var spanishRule = care.RoutingRule{Field: "language", Equals: "es", Skills: []string{"es"}}

var spanish = map[string]string{"language": "es"}

// checkWaitingIndex fails unless the waiting index holds exactly the
// waiting cases of the case index, each under the skills it needs now.
func checkWaitingIndex(t *testing.T, s *Store) {
	t.Helper()
	var got, want [][]byte
	err := s.view(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketRouting).Cursor()
		for k, _ := c.Seek(waitingIndexPrefix); k != nil && bytes.HasPrefix(k, waitingIndexPrefix); k, _ = c.Next() {
			got = append(got, bytes.Clone(k))
		}
		prefix := waitingPrefix()
		idx := tx.Bucket(bucketCaseIndex).Cursor()
		for k, _ := idx.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = idx.Next() {
			cs, err := getCase(tx, int64(getU64(k[len(k)-8:])))
			if err != nil {
				return err
			}
			want = append(want, s.waitingKey(cs))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(want, bytes.Compare)
	if !slices.EqualFunc(got, want, bytes.Equal) {
		t.Fatalf("waiting index\n%q\nwant\n%q", got, want)
	}
}

// A weekend backlog of Spanish cases nobody online speaks: an English
// agent closing a case reads the one plain case they take, not the
// backlog; the index comes back at open for a store without it (an older
// release) and follows a change of the rules.
func TestRoutingBacklogOfAnUnservedSkill(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	agents := []care.RoutingAgent{{ID: "alice", Capacity: 1}, {ID: "bob", Skills: []string{"es"}, Capacity: 1}}
	rules := []care.RoutingRule{spanishRule}
	s := routingStore(t, dir, nil, care.RoutingLeastBusy, rules, agents...)
	alice, bob := user(t, "alice"), user(t, "bob")
	if _, err := s.SetAvailable(ctx, bob, false); err != nil {
		t.Fatal(err)
	}
	first := escalateCustomer(t, s, 0, nil)
	const backlog = 300
	var es []care.Case
	for i := 1; i <= backlog; i++ {
		es = append(es, escalateCustomer(t, s, i, spanish))
	}
	plain := escalateCustomer(t, s, backlog+1, nil)
	if first.Assignee != "alice" || plain.Assignee != "" || es[0].Assignee != "" {
		t.Fatalf("first %q, plain %q, es %q: want alice, then waiting", first.Assignee, plain.Assignee, es[0].Assignee)
	}
	checkWaitingIndex(t, s)

	read := s.RoutingExamined()
	if _, err := s.PatchCase(ctx, alice, first.ID, patch(care.StatusDone, nil)); err != nil {
		t.Fatal(err)
	}
	if c := getStored(t, s, plain.ID); c.Assignee != "alice" {
		t.Fatalf("the plain case behind %d Spanish ones went to %q, want alice", backlog, c.Assignee)
	}
	if n := s.RoutingExamined() - read; n != 1 {
		t.Fatalf("alice closing a case read %d waiting cases, want 1 (the one she took), whatever waits for es", n)
	}
	read = s.RoutingExamined()
	if _, err := s.PatchCase(ctx, alice, plain.ID, patch(care.StatusDone, nil)); err != nil {
		t.Fatal(err)
	}
	if n := s.RoutingExamined() - read; n != 0 {
		t.Fatalf("alice closing with only Spanish cases waiting read %d of them, want none", n)
	}
	if _, err := s.SetAvailable(ctx, bob, true); err != nil {
		t.Fatal(err)
	}
	if c := getStored(t, s, es[0].ID); c.Assignee != "bob" {
		t.Fatalf("the oldest Spanish case went to %q when bob came online, want bob", c.Assignee)
	}
	checkWaitingIndex(t, s)

	// A store of an older release has no waiting index: it is built at
	// open, and routing reads it.
	if err := s.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketRouting)
		for k, _ := b.Cursor().Seek(waitingIndexPrefix); k != nil && bytes.HasPrefix(k, waitingIndexPrefix); k, _ = b.Cursor().Seek(waitingIndexPrefix) {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return b.Delete(waitingIndexRules)
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = routingStore(t, dir, nil, care.RoutingLeastBusy, rules, agents...)
	checkWaitingIndex(t, s)
	if _, err := s.PatchCase(ctx, bob, es[0].ID, patch(care.StatusDone, nil)); err != nil {
		t.Fatal(err)
	}
	if c := getStored(t, s, es[1].ID); c.Assignee != "bob" {
		t.Fatalf("after the index was rebuilt the next Spanish case went to %q, want bob", c.Assignee)
	}
	s.Close()

	// Without the Spanish rule the backlog needs no skill: alice, with
	// room for two, takes the two oldest at open.
	agents[0].Capacity = 2
	s = routingStore(t, dir, nil, care.RoutingLeastBusy, nil, agents...)
	checkWaitingIndex(t, s)
	for i, c := range es[2:5] {
		if got, want := getStored(t, s, c.ID).Assignee, []string{"alice", "alice", ""}[i]; got != want {
			t.Fatalf("Spanish case %d goes to %q once no rule needs es, want %q", i+2, got, want)
		}
	}
}

// routingWorld is the model of TestRoutingTakesTheOldestCaseItCan: every
// case by id, read back from the store.
type routingWorld struct {
	t     *testing.T
	s     *Store
	rt    care.Routing
	cases map[int64]care.Case
	ids   []int64
}

func (w *routingWorld) read() map[int64]care.Case {
	out := map[int64]care.Case{}
	for _, id := range w.ids {
		out[id] = getStored(w.t, w.s, id)
	}
	return out
}

func (w *routingWorld) load(cases map[int64]care.Case, agent string) int {
	n := 0
	for _, c := range cases {
		if c.Assignee == agent && containsStatus(loadStatuses, c.Status) {
			n++
		}
	}
	return n
}

// takeable is what a scan of every waiting case, oldest first, gives
// agent a with free room: the first cases whose skills a has.
func (w *routingWorld) takeable(cases map[int64]care.Case, a care.RoutingAgent, free int) map[int64]string {
	out := map[int64]string{}
	for _, id := range w.ids {
		c := cases[id]
		if len(out) < free && waiting(&c) && a.HasSkills(w.rt.NeededSkills(&c)) {
			out[id] = a.ID
		}
	}
	return out
}

// assignedSince is the cases waiting in before that after assigns.
func assignedSince(before, after map[int64]care.Case) map[int64]string {
	out := map[int64]string{}
	for id, c := range before {
		if waiting(&c) && after[id].Assignee != "" {
			out[id] = after[id].Assignee
		}
	}
	return out
}

// Over random skills, capacities, availability and case changes, every
// freeing change (a case closed, an agent coming online) assigns exactly
// what a scan of every waiting case, oldest first, finds for that agent;
// a restart with more capacity assigns exactly what such a scan through
// Pick does; the waiting index always holds exactly the waiting cases.
func TestRoutingTakesTheOldestCaseItCan(t *testing.T) {
	ctx := context.Background()
	rules := []care.RoutingRule{spanishRule, {Priority: care.PriorityUrgent, Skills: []string{"vip"}}}
	skillSets := [][]string{nil, {"es"}, {"vip"}, {"es", "vip"}}
	prios := []care.Priority{care.PriorityUrgent, care.PriorityMedium, care.PriorityLow}
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 9))
			var agents []care.RoutingAgent
			for _, id := range []string{"alice", "bob", "carol"} {
				agents = append(agents, care.RoutingAgent{ID: id, Skills: skillSets[rng.IntN(4)], Capacity: 1 + rng.IntN(3)})
			}
			mode := []care.RoutingMode{care.RoutingLeastBusy, care.RoutingRoundRobin}[seed%2]
			dir := t.TempDir()
			w := &routingWorld{t: t, s: routingStore(t, dir, nil, mode, rules, agents...),
				rt: care.Routing{Mode: mode, Rules: rules, Agents: agents}}
			available := map[string]bool{}
			for _, a := range agents {
				if _, err := w.s.SetAvailable(ctx, user(t, a.ID), false); err != nil {
					t.Fatal(err)
				}
			}
			newCase := func(n int) {
				var fields map[string]string
				if rng.IntN(5) < 2 {
					fields = spanish
				}
				w.ids = append(w.ids, escalateWith(t, w.s, n, fields, prios[rng.IntN(len(prios))]).ID)
			}
			for n := range 25 {
				newCase(n)
			}
			for step := range 60 {
				before := w.read()
				a := agents[rng.IntN(len(agents))]
				u := user(t, a.ID)
				want := map[int64]string{}
				switch op := rng.IntN(10); {
				case op < 3: // a case closed by its agent
					var theirs []int64
					for _, id := range w.ids {
						if c := before[id]; c.Assignee == a.ID && c.Status == care.StatusOpen {
							theirs = append(theirs, id)
						}
					}
					if len(theirs) == 0 {
						continue
					}
					if _, err := w.s.PatchCase(ctx, u, theirs[rng.IntN(len(theirs))], patch(care.StatusDone, nil)); err != nil {
						t.Fatal(err)
					}
					if available[a.ID] {
						want = w.takeable(before, a, a.Capacity-w.load(before, a.ID)+1)
					}
				case op < 6: // an agent switching
					on := !available[a.ID]
					if _, err := w.s.SetAvailable(ctx, u, on); err != nil {
						t.Fatal(err)
					}
					available[a.ID] = on
					if on {
						want = w.takeable(before, a, a.Capacity-w.load(before, a.ID))
					}
				case op < 8: // a waiting case changes priority: its skills may change
					var waitingIDs []int64
					for _, id := range w.ids {
						if c := before[id]; waiting(&c) {
							waitingIDs = append(waitingIDs, id)
						}
					}
					if len(waitingIDs) == 0 {
						continue
					}
					p := care.CasePatch{Priority: care.Optional[care.Priority]{Set: true, Value: prios[rng.IntN(len(prios))]}}
					if _, err := w.s.PatchCase(ctx, user(t, "sue"), waitingIDs[rng.IntN(len(waitingIDs))], p); err != nil {
						t.Fatal(err)
					}
				default: // a new case
					newCase(100 + step)
					continue
				}
				after := w.read()
				if got := assignedSince(before, after); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("step %d (%s, skills %v, capacity %d): assigned %v, a scan of every waiting case gives %v",
						step, a.ID, a.Skills, a.Capacity, got, want)
				}
				checkWaitingIndex(t, w.s)
			}

			// A restart with more room: the drain at open is the scan of
			// every waiting case through Pick, in rotation.
			before := w.read()
			var last string
			if err := w.s.view(func(tx *bbolt.Tx) error {
				last = string(tx.Bucket(bucketRouting).Get(routingRotation))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			w.s.Close()
			var loads []care.AgentLoad
			for i := range agents {
				agents[i].Capacity++
				loads = append(loads, care.AgentLoad{Agent: agents[i], Available: available[agents[i].ID], Load: w.load(before, agents[i].ID)})
			}
			want := map[int64]string{}
			for _, id := range w.ids {
				c := before[id]
				if !waiting(&c) {
					continue
				}
				if id, ok := w.rt.Pick(w.rt.NeededSkills(&c), loads, last); ok {
					want[c.ID], last = id, id
					loads[slices.IndexFunc(loads, func(l care.AgentLoad) bool { return l.Agent.ID == id })].Load++
				}
			}
			opts := Options{Policy: care.Policy{Grace: time.Hour}, Users: benchUsers, Routing: care.Routing{Mode: mode, Rules: rules, Agents: agents}}
			s, err := Open(dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			w.s = s
			if got := assignedSince(before, w.read()); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("the drain at open assigned %v, a scan of every waiting case gives %v", got, want)
			}
			checkWaitingIndex(t, s)
		})
	}
}
