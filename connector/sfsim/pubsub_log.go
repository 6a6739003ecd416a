package sfsim

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/carebridge/carebridge/connector/pubsub"
	"github.com/carebridge/carebridge/connector/pubsub/pubsubapi"
)

// Retention of change events: Salesforce keeps them 72 hours; the simulator
// also keeps at most changeEventsKept of them in memory.
const (
	changeEventRetention = 72 * time.Hour
	changeEventsKept     = 100000
)

// changeLog is the event bus of /data/CaseChangeEvent: every Case create,
// update, delete and undelete becomes an Avro CaseChangeEvent with a
// replay id (the 8-byte big-endian sequence number). It is guarded by the
// store's lock: written by writers holding it (so an allOrNone rollback takes
// its events back before anyone sees them), read under the read lock.
type changeLog struct {
	schema *pubsub.Schema
	// fields are the event's record fields the simulated Case has.
	fields []eventField
	events []loggedEvent
	// next is the sequence number of the next event; first that of the
	// oldest kept (next when none is).
	first, next uint64
	keep        time.Duration
	max         int
	now         func() time.Time
	// wake is closed and replaced at every new event.
	wake chan struct{}
	// injected are the gap and overflow events to publish instead.
	injected injected
}

type eventField struct {
	name  string
	kind  pubsub.Kind
	field *field
}

type loggedEvent struct {
	seq uint64
	at  time.Time
	ev  *pubsubapi.ConsumerEvent
}

// newChangeLog builds the CaseChangeEvent schema from the simulated Case:
// the standard fields it has, then its custom fields.
func newChangeLog(cs *object, now func() time.Time) (*changeLog, error) {
	var custom []pubsub.Field
	for _, f := range cs.Fields {
		if f.Custom {
			custom = append(custom, pubsub.Field{Name: f.Name, Kind: eventKind(f)})
		}
	}
	sch, err := pubsub.CaseChangeEventSchema(custom...)
	if err != nil {
		return nil, fmt.Errorf("sfsim: change events: %w", err)
	}
	l := &changeLog{schema: sch, first: 1, next: 1, keep: changeEventRetention, max: changeEventsKept, now: now, wake: make(chan struct{})}
	for _, sf := range pubsub.CaseFields() {
		if f := cs.field(sf.Name); f != nil && eventKind(f) == sf.Kind {
			l.fields = append(l.fields, eventField{name: sf.Name, kind: sf.Kind, field: f})
		}
	}
	for _, c := range custom {
		l.fields = append(l.fields, eventField{name: c.Name, kind: c.Kind, field: cs.field(c.Name)})
	}
	return l, nil
}

// eventKind is the Avro kind of a simulated field.
func eventKind(f *field) pubsub.Kind {
	switch f.Type {
	case typeBoolean:
		return pubsub.KindBoolean
	case typeDouble, typeCurrency, typePercent:
		return pubsub.KindDouble
	case typeInt:
		return pubsub.KindInt
	case typeDateTime:
		return pubsub.KindDateTime
	case typeDate:
		return pubsub.KindDate
	}
	return pubsub.KindString
}

// eventValue is a stored value as the event carries it.
func eventValue(ef eventField, v any) any {
	if s, ok := v.(string); ok && ef.kind == pubsub.KindDate {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return nil
		}
		return t
	}
	return v
}

func sameValue(a, b any) bool {
	ta, okA := a.(time.Time)
	tb, okB := b.(time.Time)
	if okA || okB {
		return okA && okB && ta.Equal(tb)
	}
	return a == b
}

// The store's hooks: a Case was created, updated, deleted or undeleted.
// The write lock is held.
func (st *store) created(tx *txn, r *record) { st.events.add(tx, pubsub.ChangeCreate, r, nil) }
func (st *store) updated(tx *txn, r *record, old map[string]any) {
	st.events.add(tx, pubsub.ChangeUpdate, r, old)
}
func (st *store) deleted(tx *txn, r *record)   { st.events.add(tx, pubsub.ChangeDelete, r, nil) }
func (st *store) undeleted(tx *txn, r *record) { st.events.add(tx, pubsub.ChangeUndelete, r, nil) }

// add publishes the change event of one Case write. An update that changed
// none of the event's fields publishes nothing. While gaps or an overflow
// are injected, the write's event is a gap event, or folds into the
// overflow event, instead (injected).
func (l *changeLog) add(tx *txn, changeType string, r *record, old map[string]any) {
	if l == nil || r.obj.Name != "Case" {
		return
	}
	at := l.now()
	user, _ := r.vals["LastModifiedById"].(string)
	ev := pubsub.Event{
		Header: pubsub.Header{
			EntityName: "Case", RecordIDs: []string{r.id}, ChangeType: changeType,
			ChangeOrigin:   "com/salesforce/api/rest/" + DefaultVersion,
			TransactionKey: fmt.Sprintf("%08x-0000-0000-0000-%012x", l.next, at.UnixMilli()),
			SequenceNumber: 1, CommitTimestamp: at.UnixMilli(), CommitNumber: int64(l.next), CommitUser: user,
		},
		Fields: map[string]any{},
	}
	switch changeType {
	case pubsub.ChangeCreate, pubsub.ChangeUndelete:
		for _, ef := range l.fields {
			if v := eventValue(ef, r.vals[ef.name]); v != nil {
				ev.Fields[ef.name] = v
			}
		}
	case pubsub.ChangeUpdate:
		var changed, nulled []string
		for _, ef := range l.fields {
			v := r.vals[ef.name]
			if sameValue(old[ef.name], v) {
				continue
			}
			changed = append(changed, ef.name)
			if v == nil {
				nulled = append(nulled, ef.name)
				continue
			}
			ev.Fields[ef.name] = eventValue(ef, v)
		}
		if len(changed) == 0 {
			return
		}
		// The names come from the schema: they always encode.
		ev.Header.ChangedFields, _ = l.schema.Bitmap(changed)
		ev.Header.NulledFields, _ = l.schema.Bitmap(nulled)
	}
	saved := l.injected
	tx.onUndo(func() { l.injected = saved })
	if !l.injected.replace(&ev) {
		return // folded into the overflow event already published
	}
	l.append(tx, at, ev, r.id)
}

// append encodes ev and publishes it under the next replay id; a rollback
// takes it back.
func (l *changeLog) append(tx *txn, at time.Time, ev pubsub.Event, id string) {
	payload, err := l.schema.Encode(ev)
	if err != nil {
		// A stored value the schema cannot carry is a simulator bug.
		panic(fmt.Sprintf("sfsim: encode a change event of %s: %v", id, err))
	}
	seq := l.next
	l.next++
	l.events = append(l.events, loggedEvent{seq: seq, at: at, ev: &pubsubapi.ConsumerEvent{
		Event:    &pubsubapi.ProducerEvent{Id: fmt.Sprintf("sfsim-%d", seq), SchemaId: l.schema.ID(), Payload: payload},
		ReplayId: replayID(seq),
	}})
	l.trim(at.Add(-l.keep))
	close(l.wake)
	l.wake = make(chan struct{})
	tx.onUndo(func() {
		// A rollback takes the event back before any stream saw it (they
		// read under the store's read lock).
		if n := len(l.events); n > 0 && l.events[n-1].seq == seq {
			l.events = l.events[:n-1]
			l.next = seq
		}
	})
}

// emptyRecordID is the record id of an overflow event: the empty id.
const emptyRecordID = "000000000000000AAA"

// injected are the gap and overflow events a test asked for
// (InjectChangeGaps, InjectChangeOverflow).
type injected struct {
	// gaps is how many of the next events are GAP_ events.
	gaps int
	// overflow is how many of the next changes fold into one GAP_OVERFLOW
	// event; overflowed says it was published.
	overflow   int
	overflowed bool
}

// replace turns ev into what Salesforce sends instead, as injected, and
// says whether to publish it. A gap event keeps the header (its change
// type GAP_<type>, the record ids, the commit) without the change origin,
// the changed, nulled and diff fields or any value. An overflow event
// (the changes of a transaction past its 100,000th) is one GAP_OVERFLOW
// event of the entity, with the empty record id and nothing else, for
// every change it stands for.
func (in *injected) replace(ev *pubsub.Event) bool {
	switch {
	case in.overflow > 0:
		in.overflow--
		first := !in.overflowed
		in.overflowed = in.overflow > 0
		if !first {
			return false
		}
		*ev = pubsub.Event{Header: pubsub.Header{EntityName: ev.Header.EntityName, RecordIDs: []string{emptyRecordID},
			ChangeType: pubsub.ChangeGapOverflow, TransactionKey: ev.Header.TransactionKey, SequenceNumber: 1,
			CommitTimestamp: ev.Header.CommitTimestamp, CommitNumber: ev.Header.CommitNumber, CommitUser: ev.Header.CommitUser},
			Fields: map[string]any{}}
	case in.gaps > 0:
		in.gaps--
		h := ev.Header
		h.ChangeType = "GAP_" + h.ChangeType
		h.ChangeOrigin, h.ChangedFields, h.NulledFields, h.DiffFields = "", nil, nil, nil
		*ev = pubsub.Event{Header: h, Fields: map[string]any{}}
	}
	return true
}

// trim forgets the events older than before and those over the count.
func (l *changeLog) trim(before time.Time) {
	drop := 0
	for drop < len(l.events) && (l.events[drop].at.Before(before) || len(l.events)-drop > l.max) {
		drop++
	}
	if drop == 0 {
		return
	}
	l.events = append(l.events[:0:0], l.events[drop:]...)
	l.first = l.next
	if len(l.events) > 0 {
		l.first = l.events[0].seq
	}
}

// after returns up to n events following sequence number seq, and the wake
// channel to wait on for more.
func (l *changeLog) after(seq uint64, n int) ([]loggedEvent, chan struct{}) {
	if n <= 0 || seq+1 >= l.next {
		return nil, l.wake
	}
	i := 0
	if seq+1 > l.first {
		i = int(seq + 1 - l.first)
	}
	end := min(i+n, len(l.events))
	return l.events[i:end], l.wake
}

// latest is the sequence number of the newest event (0 before any).
func (l *changeLog) latest() uint64 { return l.next - 1 }

func replayID(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}
