package bolt

// The waiting index (SPEC §16): the waiting cases (new, unassigned) by the
// skills they need, each skill set oldest first, kept by putCase in the
// transaction of every case write. An agent freeing capacity reads the
// head of each skill set they cover and takes the oldest of those heads,
// so a freeing change reads at most one case per skill set beyond the
// cases it assigns, however many cases wait for a skill nobody free has.
// The order is the case index's (creation, then id): the assignments are
// those of a scan of every waiting case, oldest first.
//
//	routing   "waiting" 0x00 skills 0x00 created, id → ∅ (skills sorted, joined by 0x01; "" needs none)
//	          "waiting_rules" → digest of the routing rules the index was built with

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

var (
	waitingIndexPrefix = []byte("waiting\x00")
	waitingIndexRules  = []byte("waiting_rules")
)

// waitingOrderLen is the length of a waiting key's order: created, id.
const waitingOrderLen = 16

// skillSet is the index's name of a set of needed skills (sorted).
func skillSet(need []string) []byte { return []byte(strings.Join(need, "\x01")) }

// waitingKey is c's entry in the waiting index; nil when c does not wait.
func (s *Store) waitingKey(c *care.Case) []byte {
	if !waiting(c) {
		return nil
	}
	return join(waitingIndexPrefix, skillSet(s.routing.NeededSkills(c)), sep,
		u64(care.SortValue(c, care.SortCreated)), i64(c.ID))
}

// indexWaiting moves c's entry in the waiting index from before's (nil: a
// new case) to c's.
func (s *Store) indexWaiting(tx *bbolt.Tx, before, c *care.Case) error {
	was, now := s.waitingKey(before), s.waitingKey(c)
	if bytes.Equal(was, now) {
		return nil
	}
	b := tx.Bucket(bucketRouting)
	if was != nil {
		if err := b.Delete(was); err != nil {
			return err
		}
	}
	if now != nil {
		return b.Put(now, nil)
	}
	return nil
}

// rulesDigest names the routing rules the waiting index sorts by.
func (s *Store) rulesDigest() []byte {
	b, _ := json.Marshal(s.routing.Rules) // plain strings: never fails
	sum := sha256.Sum256(append([]byte("v1\x00"), b...))
	return sum[:]
}

// migrateWaitingIndex builds the waiting index from the case index when
// it was built under other routing rules (or never: a store of an older
// release), once per change of the rules.
func (s *Store) migrateWaitingIndex(tx *bbolt.Tx) error {
	b := tx.Bucket(bucketRouting)
	digest := s.rulesDigest()
	if bytes.Equal(b.Get(waitingIndexRules), digest) {
		return nil
	}
	var stale [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(waitingIndexPrefix); k != nil && bytes.HasPrefix(k, waitingIndexPrefix); k, _ = c.Next() {
		stale = append(stale, bytes.Clone(k))
	}
	for _, k := range stale {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	prefix := waitingPrefix()
	idx := tx.Bucket(bucketCaseIndex).Cursor()
	for k, _ := idx.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = idx.Next() {
		if len(k) < len(prefix)+16 {
			continue
		}
		cs, err := getCase(tx, int64(getU64(k[len(k)-8:])))
		if err != nil {
			return err
		}
		if key := s.waitingKey(cs); key != nil {
			if err := b.Put(key, nil); err != nil {
				return err
			}
		}
	}
	return b.Put(waitingIndexRules, digest)
}

// waitingHead is the oldest waiting case of one skill set: its index key.
type waitingHead struct {
	set  []byte // the skill set's prefix: "waiting" 0x00 skills 0x00
	need []string
	key  []byte
}

func (h waitingHead) order() []byte { return h.key[len(h.key)-waitingOrderLen:] }

// caseID is the head case's id.
func (h waitingHead) caseID() int64 { return int64(getU64(h.key[len(h.key)-8:])) }

// next moves h to the next case of its set, false when none is left.
func (h *waitingHead) next(b *bbolt.Bucket) bool {
	k, _ := b.Cursor().Seek(append(bytes.Clone(h.key), 0))
	if k == nil || !bytes.HasPrefix(k, h.set) || len(k) != len(h.set)+waitingOrderLen {
		return false
	}
	h.key = bytes.Clone(k)
	return true
}

// waitingHeads returns the head of every skill set waiting cases need that
// some free agent among loads covers: one seek per skill set.
func waitingHeads(b *bbolt.Bucket, loads []care.AgentLoad) []waitingHead {
	var heads []waitingHead
	c := b.Cursor()
	k, _ := c.Seek(waitingIndexPrefix)
	for k != nil && bytes.HasPrefix(k, waitingIndexPrefix) && len(k) > len(waitingIndexPrefix)+waitingOrderLen {
		set := bytes.Clone(k[:len(k)-waitingOrderLen])
		skills := set[len(waitingIndexPrefix) : len(set)-1]
		var need []string
		if len(skills) > 0 {
			need = strings.Split(string(skills), "\x01")
		}
		if slices.ContainsFunc(loads, func(l care.AgentLoad) bool { return l.Free() && l.Agent.HasSkills(need) }) {
			heads = append(heads, waitingHead{set: set, need: need, key: bytes.Clone(k)})
		}
		// The next skill set: past every key of this one.
		k, _ = c.Seek(join(set[:len(set)-1], []byte{1}))
	}
	return heads
}

// oldestHead is the index in heads of the head waiting longest.
func oldestHead(heads []waitingHead) int {
	best := 0
	for i := range heads {
		if bytes.Compare(heads[i].order(), heads[best].order()) < 0 {
			best = i
		}
	}
	return best
}

// assignWaiting assigns waiting cases, oldest first, while an agent has
// free capacity: only to agent when it is not "" (their capacity freed),
// else to any routed agent. A case no free agent has the skills for stays
// waiting, and so does every case of its skill set (loads only grow here);
// the next ones are still tried. The cases it reads are counted in
// RoutingExamined.
func (s *Store) assignWaiting(tx *bbolt.Tx, now time.Time, agent string) error {
	examined := 0
	defer func() { s.routingExamined.Add(int64(examined)) }()
	loads := s.agentLoads(tx)
	if agent != "" {
		i := slices.IndexFunc(loads, func(l care.AgentLoad) bool { return l.Agent.ID == agent })
		if i < 0 {
			return nil // not a routed agent
		}
		loads = loads[i : i+1]
	}
	if !anyFree(loads) {
		return nil
	}
	b := tx.Bucket(bucketRouting)
	heads := waitingHeads(b, loads)
	for len(heads) > 0 && anyFree(loads) {
		i := oldestHead(heads)
		h := &heads[i]
		examined++
		c, err := getCase(tx, h.caseID())
		if err != nil {
			return err
		}
		if waiting(c) {
			id, ok, err := s.pickAgent(tx, s.routing.NeededSkills(c), loads)
			if err != nil {
				return err
			}
			if !ok {
				// No free agent has these skills now, nor will in this
				// change: the rest of the set waits too.
				heads = slices.Delete(heads, i, i+1)
				continue
			}
			if err := s.writeRouted(tx, c, id, now); err != nil {
				return err
			}
			for j := range loads {
				if loads[j].Agent.ID == id {
					loads[j].Load++
				}
			}
		}
		if !h.next(b) {
			heads = slices.Delete(heads, i, i+1)
		}
	}
	return nil
}

// RoutingExamined is how many waiting cases routing read since the store
// opened, to find the ones it assigned: a freeing change reads the cases
// it assigns and at most one more per skill set waiting cases need.
func (s *Store) RoutingExamined() int64 { return s.routingExamined.Load() }
