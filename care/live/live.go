// Package live is the console's live feed (SPEC §14): a broker that turns
// the store's committed case changes into events, keeps the latest in a
// bounded buffer for resuming, and hands each subscriber the events of the
// cases it may see. It never blocks the store: a subscriber that falls
// behind is dropped and resumes (or is told to reload) when it comes back.
package live

import (
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/carebridge/carebridge/care"
)

// Event types.
const (
	TypeCaseCreated  = "case.created"
	TypeCaseUpdated  = "case.updated"
	TypeMessageAdded = "message.added"
	// TypeSLABreached is an SLA breach: {"case_id","policy","kind"}.
	TypeSLABreached = "case.sla_breached"
	// TypeReset tells a subscriber it missed events: reload what it shows.
	TypeReset = "reset"
)

// Defaults of Options.
const (
	DefaultBuffer        = 10_000
	DefaultQueue         = 1_000
	DefaultMaxPerUser    = 10
	DefaultMaxStreams    = 1_000
	DefaultKeepalive     = 15 * time.Second
	DefaultWriteDeadline = 10 * time.Second
)

// Errors of Subscribe.
var (
	// ErrTooManyStreams refuses a subscriber over the per-user or overall cap.
	ErrTooManyStreams = errors.New("too many event streams")
	// ErrClosed refuses a subscriber once the broker is closed.
	ErrClosed = errors.New("event broker closed")
)

// Options configure a Broker; zero values take the defaults.
type Options struct {
	Buffer     int // events kept for Last-Event-ID resume
	Queue      int // events one subscriber may have waiting before it is dropped
	MaxPerUser int // concurrent streams per user
	MaxStreams int // concurrent streams in all
	// Keepalive is how often a stream sends a comment line.
	Keepalive time.Duration
	// WriteDeadline bounds one write to a subscriber's connection: a
	// client that stops reading is cut off after it.
	WriteDeadline time.Duration
	Clock         care.Clock // seeds the ids; nil = the wall clock
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Buffer, DefaultBuffer)
	def(&o.Queue, DefaultQueue)
	def(&o.MaxPerUser, DefaultMaxPerUser)
	def(&o.MaxStreams, DefaultMaxStreams)
	if o.Keepalive <= 0 {
		o.Keepalive = DefaultKeepalive
	}
	if o.WriteDeadline <= 0 {
		o.WriteDeadline = DefaultWriteDeadline
	}
	if o.Clock == nil {
		o.Clock = care.SystemClock{}
	}
	return o
}

// Event is one event of the feed.
type Event struct {
	ID   uint64
	Type string
	// Data is the event's JSON: {"case_id","status","assignee","updated_at"}
	// (nil for a reset).
	Data []byte
	// seen is who may see the case before and after the change.
	before, after sight
	caseID        int64 // the case it tells of (0 for a reset)
}

// sight is what decides who sees a case: its status and assignee.
type sight struct {
	ok       bool // the case existed
	status   care.Status
	assignee string
}

// visibleTo reports whether u sees a case in this state: supervisors all,
// agents those assigned to them and the new unassigned ones.
func (s sight) visibleTo(u care.User) bool {
	switch {
	case !s.ok:
		return false
	case u.Role == care.RoleSupervisor:
		return true
	case u.Role == care.RoleAgent:
		return s.assignee == u.ID || (s.status == care.StatusNew && s.assignee == "")
	}
	return false
}

// For reports whether u gets e: the case was visible to u before the
// change or is after it (a reassigned case leaves the old inbox).
func (e Event) For(u care.User) bool {
	return e.Type == TypeReset || e.before.visibleTo(u) || e.after.visibleTo(u)
}

// caseData is an event's JSON.
type caseData struct {
	CaseID    int64       `json:"case_id"`
	Status    care.Status `json:"status"`
	Assignee  *string     `json:"assignee"`
	UpdatedAt time.Time   `json:"updated_at"`
}

func eventOf(ch care.Change) Event {
	e := Event{Type: TypeCaseUpdated, after: sight{ok: true, status: ch.After.Status, assignee: ch.After.Assignee}, caseID: ch.After.ID}
	switch {
	case ch.Before == nil:
		e.Type = TypeCaseCreated
	case ch.Message != nil:
		e.Type = TypeMessageAdded
	}
	if ch.Before != nil {
		e.before = sight{ok: true, status: ch.Before.Status, assignee: ch.Before.Assignee}
	}
	d := caseData{CaseID: ch.After.ID, Status: ch.After.Status, UpdatedAt: ch.After.UpdatedAt.UTC()}
	if ch.After.Assignee != "" {
		a := ch.After.Assignee
		d.Assignee = &a
	}
	e.Data, _ = json.Marshal(d) // plain values: never fails
	if ch.SLABreach != nil {
		e.Type = TypeSLABreached
		e.Data, _ = json.Marshal(ch.SLABreach)
	}
	return e
}

// Broker fans the store's committed changes out to subscribers. Its
// methods are safe for concurrent use; Publish never blocks.
type Broker struct {
	opts Options

	mu     sync.Mutex
	ring   []Event // the last events, oldest first from head
	head   int     // index of the oldest event in ring
	size   int     // events in ring
	last   uint64  // id of the latest event (or reset)
	first  uint64  // the oldest id a subscriber may resume after is first-1
	subs   map[*Subscription]struct{}
	byUser map[string]int
	closed bool
	drops  uint64
}

// New builds a broker. Event ids start above the clock's microseconds, so
// a client resuming across a restart is told to reset rather than handed
// someone else's ids.
func New(opts Options) *Broker {
	opts = opts.withDefaults()
	seed := uint64(max(opts.Clock.Now().UnixMicro(), 1))
	return &Broker{opts: opts, ring: make([]Event, opts.Buffer), last: seed, first: seed + 1,
		subs: map[*Subscription]struct{}{}, byUser: map[string]int{}}
}

// Keepalive is how often a stream sends a comment line.
func (b *Broker) Keepalive() time.Duration { return b.opts.Keepalive }

// WriteDeadline bounds one write to a stream.
func (b *Broker) WriteDeadline() time.Duration { return b.opts.WriteDeadline }

// Publish takes one committed group of case changes (bolt.Options.OnCommit).
// An empty group means changes were lost: every subscriber is told to
// reset, and nobody may resume from before.
func (b *Broker) Publish(changes []care.Change) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(changes) == 0 {
		b.resetLocked()
		return
	}
	for _, ch := range changes {
		e := eventOf(ch)
		b.last++
		e.ID = b.last
		b.keep(e)
		for s := range b.subs {
			if s.wants(e) {
				b.send(s, e)
			}
		}
	}
}

func (b *Broker) keep(e Event) {
	if b.size == len(b.ring) {
		b.first = b.ring[b.head].ID + 1
		b.ring[b.head] = Event{}
		b.head = (b.head + 1) % len(b.ring)
		b.size--
	}
	b.ring[(b.head+b.size)%len(b.ring)] = e
	b.size++
}

// resetLocked forgets the buffer and tells every subscriber to reset.
func (b *Broker) resetLocked() {
	b.last++
	clear(b.ring)
	b.head, b.size, b.first = 0, 0, b.last+1
	e := Event{ID: b.last, Type: TypeReset}
	for s := range b.subs {
		b.send(s, e)
	}
}

// send queues e for s, or drops s when its queue is full.
func (b *Broker) send(s *Subscription, e Event) {
	select {
	case s.queue <- e:
	default:
		s.lagged = true
		b.drops++
		b.removeLocked(s)
	}
}

// Subscribe starts a stream for u. With resume, the events after lastID
// come first (those u may see); when they are no longer kept, or lastID is
// not one this broker gave out, a reset comes first instead.
func (b *Broker) Subscribe(u care.User, lastID uint64, resume bool) (*Subscription, error) {
	return b.subscribe(u, 0, lastID, resume)
}

// SubscribeCase starts a stream for u of one case's events (the embedded
// case page), whoever it is assigned to: the caller has checked that u may
// read the case. It counts against the same caps as Subscribe.
func (b *Broker) SubscribeCase(u care.User, caseID int64, lastID uint64, resume bool) (*Subscription, error) {
	if caseID <= 0 {
		return nil, errors.New("live: a case stream needs a case id")
	}
	return b.subscribe(u, caseID, lastID, resume)
}

func (b *Broker) subscribe(u care.User, caseID int64, lastID uint64, resume bool) (*Subscription, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	if len(b.subs) >= b.opts.MaxStreams || b.byUser[u.ID] >= b.opts.MaxPerUser {
		return nil, ErrTooManyStreams
	}
	s := &Subscription{b: b, user: u, caseID: caseID, queue: make(chan Event, b.opts.Queue), done: make(chan struct{})}
	if resume {
		s.backlog = b.since(s, lastID)
	}
	b.subs[s] = struct{}{}
	b.byUser[u.ID]++
	return s, nil
}

// since lists the kept events after lastID that s wants, or a reset.
func (b *Broker) since(s *Subscription, lastID uint64) []Event {
	if lastID+1 < b.first || lastID > b.last {
		return []Event{{ID: b.last, Type: TypeReset}}
	}
	var out []Event
	for i := range b.size {
		e := b.ring[(b.head+i)%len(b.ring)]
		if e.ID > lastID && s.wants(e) {
			out = append(out, e)
		}
	}
	return out
}

func (b *Broker) removeLocked(s *Subscription) {
	if _, ok := b.subs[s]; !ok {
		return
	}
	delete(b.subs, s)
	if b.byUser[s.user.ID]--; b.byUser[s.user.ID] <= 0 {
		delete(b.byUser, s.user.ID)
	}
	close(s.done)
}

// Close ends every stream and refuses new ones (the daemon's shutdown:
// http.Server.Shutdown waits for no open stream).
func (b *Broker) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for s := range b.subs {
		b.removeLocked(s)
	}
}

// Stats are the broker's numbers now.
type Stats struct {
	Streams int    // open streams
	Dropped uint64 // subscribers dropped for falling behind
	LastID  uint64
}

// Stats reports the broker's numbers.
func (b *Broker) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Stats{Streams: len(b.subs), Dropped: b.drops, LastID: b.last}
}

// Subscription is one subscriber's stream.
type Subscription struct {
	b       *Broker
	user    care.User
	caseID  int64   // a case stream's case; 0: every case user may see
	backlog []Event // replayed before the queue
	queue   chan Event
	done    chan struct{}
	lagged  bool // dropped for a full queue (under b.mu)
}

// wants reports whether s gets e: a case stream its case's events, any
// other the events its user may see; every stream a reset.
func (s *Subscription) wants(e Event) bool {
	if s.caseID != 0 && e.Type != TypeReset {
		return e.caseID == s.caseID
	}
	return e.For(s.user)
}

// Backlog returns the events to send before the live ones (once).
func (s *Subscription) Backlog() []Event {
	out := s.backlog
	s.backlog = nil
	return out
}

// Events delivers the live events.
func (s *Subscription) Events() <-chan Event { return s.queue }

// Done is closed when the stream must end: the subscriber fell behind, or
// the broker closed.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Lagged reports whether the subscriber was dropped for falling behind
// (then it should be told to reset).
func (s *Subscription) Lagged() bool {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	return s.lagged
}

// LastID is the id of the latest event.
func (b *Broker) LastID() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// Close ends the stream.
func (s *Subscription) Close() {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.removeLocked(s)
}
