// Package bolt is the Care case store on bbolt: cases, customers, messages and
// the indexes behind the views, in one file under data_dir.
//
// Layout (all integer keys are 8-byte big-endian):
//
//	meta            "install" → random install id (prefix of message ids)
//	customers       customer id → Customer JSON
//	accounts        platform 0x00 platform_user_id → customer id
//	cases           case id → Case JSON
//	pairs           customer id, profile id → id of the pair's latest case
//	customer_cases  customer id, case id → ∅
//	case_index      scope 0x00 status sortkey value id → ∅ (scope "*", "-" or "u:"+user)
//	status_counts   status → count
//	messages        message seq → Message JSON
//	external_ids    platform 0x00 external_id → message seq, ingest event
//	case_messages   case id, sent_at, message seq → ∅
//	mentions        user 0x00 note time, case id → ∅
//	mention_latest  user 0x00 case id → note time
//	kv              namespace 0x00 key → value (adapters' own state)
//	outbox          entry id → OutboxEntry JSON (see outbox.go)
//	outbox_pending  entry id → case id, next attempt (pending entries)
//	salesforce_cases  Salesforce case id → Care case id (+ the external id field carebridge wrote on it)
//	case_keys       case external key → case id
//	outbox_counts   state → count
//	view_counts, case_mentions  counters of the views (see counts.go)
//	search_*        the search index (see search.go)
//	saved_views     view id → SavedView JSON
//
// Writes go through one committer goroutine that groups concurrent writes
// into one transaction (group commit), so ingest is not bound by fsync.
// The case changes of each committed group go to Options.OnCommit, in
// commit order, from a goroutine of their own (notify.go).
package bolt

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carebridge/carebridge/care"
	bbolt "go.etcd.io/bbolt"
)

// FileName is the store's file inside data_dir.
const FileName = "carebridge.db"

var (
	bucketMeta          = []byte("meta")
	bucketCustomers     = []byte("customers")
	bucketAccounts      = []byte("accounts")
	bucketCases         = []byte("cases")
	bucketPairs         = []byte("pairs")
	bucketCustomerCases = []byte("customer_cases")
	bucketCaseIndex     = []byte("case_index")
	bucketStatusCounts  = []byte("status_counts")
	bucketMessages      = []byte("messages")
	bucketExternalIDs   = []byte("external_ids")
	bucketCaseMessages  = []byte("case_messages")
	bucketMentions      = []byte("mentions")
	bucketMentionLatest = []byte("mention_latest")
	bucketKV            = []byte("kv")
	bucketSFCases       = []byte("salesforce_cases")
	bucketCaseKeys      = []byte("case_keys")

	allBuckets = append([][]byte{bucketMeta, bucketCustomers, bucketAccounts, bucketCases, bucketPairs,
		bucketCustomerCases, bucketCaseIndex, bucketStatusCounts, bucketMessages, bucketExternalIDs,
		bucketCaseMessages, bucketMentions, bucketMentionLatest, bucketKV, bucketOutbox, bucketOutboxCounts, bucketSFCases, bucketOutboxPending, bucketCaseKeys,
		bucketViewCounts, bucketCaseMentions, bucketSLADue, bucketSLABreached,
		bucketSavedViews, bucketPublish, bucketPublishPending, bucketPublishMessages, bucketPublishCounts, bucketRouting}, searchBuckets...)
)

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("care store is closed")

// Options configure a Store.
type Options struct {
	Policy care.Policy
	Clock  care.Clock // nil = care.SystemClock
	Users  care.Users
	// Effects, when set, decides the Salesforce side effects of every case
	// change; they are recorded in the outbox in the change's transaction.
	Effects care.Effects
	// OnCommit, when set, is told the case changes of every committed
	// write group, in commit order, once the transaction is over. It runs
	// on a goroutine of its own, never on the committer's, so however slow
	// it is no write waits for it; still, it should enqueue and return.
	// Should it fall more than MaxCommitBacklog changes behind, the
	// changes waiting are dropped and it is called once with an empty
	// batch: changes were lost, reload.
	OnCommit func(changes []care.Change)
	// Publishing records every reply in the publish outbox for the
	// publisher (SPEC §16, publish.go).
	Publishing bool
	// WithoutSearchIndex leaves the search index out of every write
	// (benchmarks only: it measures what the index costs; search then
	// misses what was written so).
	WithoutSearchIndex bool
	// Routing assigns new cases to agents (SPEC §16, routing.go).
	Routing care.Routing
}

// Store is the bbolt-backed Care case store. It implements care.Service.
type Store struct {
	db      *bbolt.DB
	policy  care.Policy
	clock   care.Clock
	users   care.Users
	effects care.Effects
	install string
	// messagePageBytes overrides MessagePageBytes (tests).
	messagePageBytes int
	noSearchIndex    bool
	logged           atomic.Int64 // messages in the search log, about (see searchlog.go)
	compactAt        atomic.Int64 // overrides compactAt (tests)
	merges           searchMerges // see searchmerge.go

	// changes are the case changes of the transaction being committed
	// (the committer's alone); notify hands them to OnCommit.
	changes []care.Change
	notify  *notifier

	// outboxSignal wakes the outbox's deliverer after a commit that
	// recorded entries; enqueued notes that one did.
	outboxSignal chan struct{}
	enqueued     atomic.Bool
	// publishing and publishSignal: see publish.go.
	publishing    bool
	publishSignal chan struct{}
	routing       care.Routing
	// routingExamined counts the waiting cases routing read (routing_index.go).
	routingExamined atomic.Int64

	writes  chan *writeReq
	closing chan struct{}
	done    chan struct{}
	closeMu sync.RWMutex
	closed  bool
}

var _ care.Service = (*Store)(nil)

// Open opens (creating when needed) the store in dir. An existing file is
// checked first, read-only and for at most OpenCheckBudget: a damaged one
// is a *DamagedError and is left as it is.
func Open(dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	path := filepath.Join(dir, FileName)
	if st, err := os.Stat(path); err == nil && st.Size() > 0 {
		if err := checkFile(path, OpenCheckBudget, false); err != nil {
			return nil, err
		}
	}
	s := &Store{policy: opts.Policy, clock: opts.Clock, users: opts.Users, effects: opts.Effects,
		writes: make(chan *writeReq, 1024), closing: make(chan struct{}), done: make(chan struct{}),
		outboxSignal: make(chan struct{}, 1), noSearchIndex: opts.WithoutSearchIndex,
		publishing: opts.Publishing, publishSignal: make(chan struct{}, 1), routing: opts.Routing}
	if s.clock == nil {
		s.clock = care.SystemClock{}
	}
	if s.users == nil {
		s.users = noUsers{}
	}
	// The check passed, yet the file may change under us: a panic or a
	// fault in bbolt while opening is still a damaged file.
	err := faultSafe(path, func() error {
		// A map larger than the file lets writers grow it while a backup's
		// read transaction holds the map (bbolt remaps only beyond it).
		db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 2 * time.Second, FreelistType: bbolt.FreelistMapType,
			InitialMmapSize: initialMmapSize})
		if err != nil {
			return openErr(path, err)
		}
		if err := db.Update(s.init); err != nil {
			db.Close()
			return fmt.Errorf("initialise %s: %w", path, err)
		}
		s.db = db
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.migrateSearchIndex(); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("build the search index: %w", err)
	}
	if opts.OnCommit != nil {
		s.notify = newNotifier(opts.OnCommit)
		go s.notify.run()
	}
	go s.commitLoop()
	if err := s.drainWaiting(); err != nil {
		s.Close()
		return nil, fmt.Errorf("route waiting cases: %w", err)
	}
	return s, nil
}

type noUsers struct{}

func (noUsers) User(string) (care.User, bool) { return care.User{}, false }

func (s *Store) init(tx *bbolt.Tx) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	var pending int64
	if v := tx.Bucket(bucketOutboxCounts).Get(countPending); v != nil {
		pending = int64(getU64(v))
	}
	if int64(tx.Bucket(bucketOutboxPending).Stats().KeyN) != pending {
		if err := rebuildPendingIndex(tx); err != nil {
			return err
		}
	}
	if err := migratePublishCounts(tx); err != nil {
		return fmt.Errorf("count the publish outbox: %w", err)
	}
	meta := tx.Bucket(bucketMeta)
	if err := migrateCaseKeys(tx, s.now()); err != nil {
		return fmt.Errorf("give cases their external keys: %w", err)
	}
	if err := migrateViewCounts(tx); err != nil {
		return fmt.Errorf("count the views: %w", err)
	}
	if err := migrateSLAIndex(tx); err != nil {
		return fmt.Errorf("index the SLA due times: %w", err)
	}
	s.logged.Store(int64(tx.Bucket(bucketSearchLog).Stats().KeyN))
	if v := meta.Get([]byte("install")); v != nil {
		s.install = string(v)
		return nil
	}
	s.install = newInstallID()
	return meta.Put([]byte("install"), []byte(s.install))
}

// metaCaseKeys marks a database whose cases all have external keys, each
// in the case_keys index.
var metaCaseKeys = []byte("case_keys_indexed")

// migrateCaseKeys gives every case written before external keys existed
// its key and indexes every case by its key, once: a case already in
// Salesforce keeps the value its record was upserted by (the last
// release's mapping sent the case id), any other case gets a fresh key.
func migrateCaseKeys(tx *bbolt.Tx, now time.Time) error {
	meta := tx.Bucket(bucketMeta)
	if meta.Get(metaCaseKeys) != nil {
		return nil
	}
	cases, index := tx.Bucket(bucketCases), tx.Bucket(bucketCaseKeys)
	type fix struct {
		key []byte
		c   care.Case
	}
	var fixes []fix
	err := cases.ForEach(func(k, v []byte) error {
		var c care.Case
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("case %x: %w", k, err)
		}
		if c.ExternalKey == "" {
			if c.Salesforce.CaseID != "" {
				c.ExternalKey = strconv.FormatInt(c.ID, 10)
			} else {
				c.ExternalKey = care.NewExternalKey(now)
			}
			fixes = append(fixes, fix{append([]byte(nil), k...), c})
		}
		// Writing inside ForEach would move its cursor; the index is
		// another bucket.
		return index.Put([]byte(c.ExternalKey), append([]byte(nil), k...))
	})
	if err != nil {
		return err
	}
	for _, f := range fixes {
		if err := putJSON(cases, f.key, &f.c); err != nil {
			return err
		}
	}
	return meta.Put(metaCaseKeys, []byte{1})
}

// newInstallID is a short random id that makes message ids unique across
// installations writing to one Salesforce org.
func newInstallID() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, 8)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// DB exposes the bbolt handle to adapters that keep their own buckets in the
// same file (the Salesforce token pool and outbox).
func (s *Store) DB() *bbolt.DB { return s.db }

// Close stops taking writes, finishes the queued ones and closes the file.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	s.closeMu.Unlock()
	<-s.done
	s.waitMerges()
	if s.notify != nil {
		s.notify.close()
	}
	return s.db.Close()
}

// Ping reports whether the store is open.
func (s *Store) Ping() error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

// writeReq is one write waiting for the committer.
type writeReq struct {
	fn   func(tx *bbolt.Tx) error
	done chan error
}

// update runs fn in a write transaction, grouped with other concurrent
// writes. fn may run more than once (when a grouped write fails) and must
// not write before it returns a *care.Error: such an error fails only that
// write, not its group.
func (s *Store) update(ctx context.Context, fn func(tx *bbolt.Tx) error) error {
	req := &writeReq{fn: fn, done: make(chan error, 1)}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return ErrClosed
	}
	select {
	case s.writes <- req:
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return ctx.Err()
	}
	s.closeMu.RUnlock()
	// Once queued the write is not abandoned: it may commit, and the caller
	// must learn whether it did.
	return <-req.done
}

const maxGroup = 512

func (s *Store) commitLoop() {
	defer close(s.done)
	lastTrim := time.Now()
	for {
		if time.Since(lastTrim) > trimInterval {
			s.trimResident()
			lastTrim = time.Now()
		}
		var first *writeReq
		select {
		case first = <-s.writes:
		case <-s.closing:
			// Drain what was queued before Close.
			for {
				select {
				case r := <-s.writes:
					s.commit([]*writeReq{r})
				default:
					return
				}
			}
		}
		group := []*writeReq{first}
	fill:
		for len(group) < maxGroup {
			select {
			case r := <-s.writes:
				group = append(group, r)
			default:
				break fill
			}
		}
		s.commit(group)
		s.compactIfDue()
	}
}

// commit runs a group in one transaction. Domain errors answer their own
// request; any other error rolls the group back, and the group is retried
// without the failing write, which then runs alone to get its own answer.
// The case changes of what committed go to OnCommit before the writers
// hear back.
func (s *Store) commit(group []*writeReq) {
	for len(group) > 0 {
		results := make([]error, len(group))
		failed := -1
		s.changes = s.changes[:0]
		err := s.db.Update(func(tx *bbolt.Tx) error {
			for i, r := range group {
				mark := len(s.changes)
				err := r.fn(tx)
				var de *care.Error
				if errors.As(err, &de) {
					s.changes = s.changes[:mark]
					results[i] = err
					continue
				}
				if err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if err == nil {
			if s.enqueued.Swap(false) {
				s.signalOutbox()
			}
			s.committed()
			for i, r := range group {
				r.done <- results[i]
			}
			return
		}
		if failed < 0 { // the commit itself failed
			for _, r := range group {
				r.done <- err
			}
			return
		}
		bad := group[failed]
		s.changes = s.changes[:0]
		err = s.db.Update(bad.fn)
		if err == nil {
			s.committed()
		}
		bad.done <- err
		group = append(group[:failed:failed], group[failed+1:]...)
	}
}

// record notes a case change of the write being committed, for OnCommit.
// Only writes run by the committer (s.update) may call it.
func (s *Store) record(ch care.Change) {
	if s.notify != nil {
		s.changes = append(s.changes, ch)
	}
}

// committed hands the changes of a committed transaction to OnCommit.
func (s *Store) committed() {
	if s.notify != nil && len(s.changes) > 0 {
		s.notify.push(slices.Clone(s.changes))
	}
	s.changes = s.changes[:0]
}

func (s *Store) view(fn func(tx *bbolt.Tx) error) error { return s.db.View(fn) }

// viewGet returns what get reads in one read transaction.
func viewGet[T any](s *Store, get func(tx *bbolt.Tx) (T, error)) (T, error) {
	var v T
	err := s.view(func(tx *bbolt.Tx) error {
		var err error
		v, err = get(tx)
		return err
	})
	return v, err
}

// viewRecord is viewGet for one record decoded by get, returned by value.
func viewRecord[T any](s *Store, get func(tx *bbolt.Tx) (*T, error)) (T, error) {
	p, err := viewGet(s, get)
	if err != nil {
		var zero T
		return zero, err
	}
	return *p, nil
}

// u64 encodes v as an 8-byte big-endian key.
func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func i64(v int64) []byte { return u64(uint64(v)) }

func getU64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// join concatenates key parts.
func join(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var sep = []byte{0}

// initialMmapSize is the address space the file is mapped with at open.
const initialMmapSize = 1 << 30

// Backup writes a consistent snapshot of the whole file (the Salesforce
// adapters' buckets too) to w, in a read transaction: writers go on while
// it streams. It answers the bytes written.
func (s *Store) Backup(w io.Writer) (int64, error) {
	if err := s.Ping(); err != nil {
		return 0, err
	}
	var n int64
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}
