package sfsim

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carebridge/carebridge/config/atomicfile"
)

// A kept org (Options.StateFile): the org's records, users, connected app,
// refresh tokens with their sessions and the id_token key live in one JSON
// file, so a simulator started again on it is the same org with the same
// ids, and a stored refresh token still refreshes.

// stateVersion is the layout of the state file.
const stateVersion = 1

// orgState is the state file.
type orgState struct {
	Version      int    `json:"version"`
	OrgID        string `json:"org_id"`
	AdminID      string `json:"admin_id"`
	QueueID      string `json:"queue_id"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	// LastID is the id counter: the next record gets LastID+1.
	LastID    uint64    `json:"last_id"`
	LastStamp time.Time `json:"last_stamp"`
	// Started is when the org began: the earliest getDeleted answers.
	Started time.Time `json:"started"`
	// RecordTypes maps the Case record types' developer names to their ids.
	RecordTypes map[string]string `json:"record_types"`
	Users       []userState       `json:"users"`
	Objects     []tableState      `json:"objects"`
	GrantSeq    uint64            `json:"grant_seq"`
	Grants      []grantState      `json:"grants"`
	Sessions    []sessionState    `json:"sessions"`
	// IDKey is the id_token signing key (PKCS #8), once made.
	IDKey []byte `json:"id_key,omitempty"`
}

type userState struct {
	ID      string `json:"id"`
	Profile string `json:"profile"`
	OrgID   string `json:"org_id"`
}

type tableState struct {
	Object      string         `json:"object"`
	AutoNumbers map[string]int `json:"auto_numbers,omitempty"`
	Records     []recordState  `json:"records"`
}

// recordState is a record; Fields holds strings and booleans as they are,
// and the other types tagged: {"d":1.5} double, {"i":3} int, {"t":"…"}
// date-time. A null field is left out.
type recordState struct {
	Fields    map[string]any `json:"fields"`
	DeletedAt *time.Time     `json:"deleted_at,omitempty"`
}

type grantState struct {
	Token    string    `json:"token"`
	UserID   string    `json:"user_id"`
	Scopes   []string  `json:"scopes"`
	Seq      uint64    `json:"seq"`
	AuthTime time.Time `json:"auth_time"`
}

type sessionState struct {
	Token   string    `json:"token"`
	UserID  string    `json:"user_id"`
	Expires time.Time `json:"expires"`
	// Grant is the refresh token the session came from, if any.
	Grant string `json:"grant,omitempty"`
}

// changeCount counts the changes worth keeping; a nil one counts nothing.
type changeCount struct{ n atomic.Uint64 }

func (c *changeCount) bump() {
	if c != nil {
		c.n.Add(1)
	}
}

func (c *changeCount) load() uint64 {
	if c == nil {
		return 0
	}
	return c.n.Load()
}

// readState reads the state file; it answers nil, nil when there is none
// yet (a new org).
func readState(path string) (*orgState, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sfsim: state file: %w", err)
	}
	var st orgState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("sfsim: state file %s is damaged: %w", path, err)
	}
	if st.Version != stateVersion || st.OrgID == "" || st.AdminID == "" {
		return nil, fmt.Errorf("sfsim: state file %s is damaged or of another version (version %d, want %d)", path, st.Version, stateVersion)
	}
	return &st, nil
}

// keptApp fills the connected app of opts from the kept org where opts
// leaves it to the default.
func (st *orgState) keptApp(opts Options) Options {
	if st == nil {
		return opts
	}
	if opts.ClientID == "" {
		opts.ClientID = st.ClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = st.ClientSecret
	}
	return opts
}

// snapshot captures the org. It takes the store's read lock and the auth
// lock (in that order, as no handler takes them the other way round).
func (s *Server) snapshot() (*orgState, error) {
	st := &orgState{
		Version: stateVersion, OrgID: s.orgID, AdminID: s.adminID, QueueID: s.queueID, Started: s.started,
		ClientID: s.opts.ClientID, ClientSecret: s.opts.ClientSecret, RecordTypes: map[string]string{},
	}
	if key := s.auth.keys.current(); key != nil {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("encode id_token key: %w", err)
		}
		st.IDKey = der
	}
	s.store.mu.RLock()
	defer s.store.mu.RUnlock()
	st.LastID = s.store.ids.n.Load()
	st.LastStamp = s.store.last
	for _, rt := range s.schema.object("Case").RecordTypes {
		if rt.ID != "" {
			st.RecordTypes[rt.DeveloperName] = rt.ID
		}
	}
	for _, o := range s.schema.objects {
		t := s.store.table(o)
		ts := tableState{Object: o.Name, AutoNumbers: t.autoNum}
		for _, r := range t.rows {
			rs, err := keepRecord(r)
			if err != nil {
				return nil, err
			}
			ts.Records = append(ts.Records, rs)
		}
		st.Objects = append(st.Objects, ts)
	}
	st.Users = s.users.kept()

	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	st.GrantSeq = s.auth.seq
	for _, g := range s.auth.grants {
		st.Grants = append(st.Grants, grantState{Token: g.token, UserID: g.userID, Scopes: g.scopes, Seq: g.seq, AuthTime: g.authTime})
	}
	sort.Slice(st.Grants, func(i, j int) bool { return st.Grants[i].Seq < st.Grants[j].Seq })
	for _, sess := range s.auth.sessions {
		ss := sessionState{Token: sess.token, UserID: sess.userID, Expires: sess.expires}
		if sess.grant != nil {
			ss.Grant = sess.grant.token
		}
		st.Sessions = append(st.Sessions, ss)
	}
	sort.Slice(st.Sessions, func(i, j int) bool { return st.Sessions[i].Token < st.Sessions[j].Token })
	return st, nil
}

func keepRecord(r *record) (recordState, error) {
	rs := recordState{Fields: make(map[string]any, len(r.vals))}
	if r.deleted {
		at := r.deletedAt
		rs.DeletedAt = &at
	}
	for k, v := range r.vals {
		switch v := v.(type) {
		case nil:
		case string, bool:
			rs.Fields[k] = v
		case float64:
			rs.Fields[k] = map[string]float64{"d": v}
		case int64:
			rs.Fields[k] = map[string]int64{"i": v}
		case time.Time:
			rs.Fields[k] = map[string]string{"t": v.Format(time.RFC3339Nano)}
		default:
			return recordState{}, fmt.Errorf("record %s field %s: cannot keep a %T", r.id, k, v)
		}
	}
	return rs, nil
}

// restore makes the server the kept org. It runs before the server
// serves, instead of seed.
func (s *Server) restore(st *orgState) error {
	s.orgID, s.adminID, s.queueID = st.OrgID, st.AdminID, st.QueueID
	if !st.Started.IsZero() {
		s.started = st.Started
	}
	s.users.homeOrg = st.OrgID
	for _, u := range st.Users {
		s.users.set(u.ID, userMeta{profile: u.Profile, orgID: u.OrgID})
	}
	if len(st.IDKey) > 0 {
		k, err := x509.ParsePKCS8PrivateKey(st.IDKey)
		rk, ok := k.(*rsa.PrivateKey)
		if err != nil || !ok {
			return errors.New("the id_token key does not parse")
		}
		s.auth.keys.set(rk)
	}
	cs := s.schema.object("Case")
	for i, rt := range cs.RecordTypes {
		if id, ok := st.RecordTypes[rt.DeveloperName]; ok {
			cs.RecordTypes[i].ID = id
		}
	}
	store := s.store
	store.ids.n.Store(st.LastID)
	store.last = st.LastStamp
	for _, ts := range st.Objects {
		o := s.schema.object(ts.Object)
		if o == nil {
			return fmt.Errorf("object %s is not in the schema (was a --schema file left out?)", ts.Object)
		}
		t := store.table(o)
		for name, n := range ts.AutoNumbers {
			t.autoNum[name] = n
		}
		for _, rs := range ts.Records {
			r, err := restoreRecord(o, rs)
			if err != nil {
				return fmt.Errorf("%s: %w", o.Name, err)
			}
			t.rows = append(t.rows, r)
			t.byID[r.id] = r
			if !r.deleted {
				t.indexAdd(r)
			}
		}
	}
	a := s.auth
	a.seq = st.GrantSeq
	for _, gs := range st.Grants {
		a.grants[gs.Token] = &grant{token: gs.Token, userID: gs.UserID, scopes: gs.Scopes, seq: gs.Seq, authTime: gs.AuthTime}
	}
	for _, ss := range st.Sessions {
		a.sessions[ss.Token] = &session{token: ss.Token, userID: ss.UserID, expires: ss.Expires, grant: a.grants[ss.Grant]}
	}
	return nil
}

func restoreRecord(o *object, rs recordState) (*record, error) {
	id, _ := rs.Fields["Id"].(string)
	if id18, ok := NormalizeID(id); !ok || id18 != id || id[:3] != o.KeyPrefix {
		return nil, fmt.Errorf("a record with a bad id %q", id)
	}
	r := &record{obj: o, id: id, vals: make(map[string]any, len(rs.Fields))}
	if rs.DeletedAt != nil {
		r.deleted, r.deletedAt = true, *rs.DeletedAt
	}
	for k, v := range rs.Fields {
		if o.field(k) == nil {
			return nil, fmt.Errorf("record %s: field %s is not in the schema", id, k)
		}
		val, err := restoreValue(v)
		if err != nil {
			return nil, fmt.Errorf("record %s field %s: %w", id, k, err)
		}
		r.vals[k] = val
	}
	return r, nil
}

func restoreValue(v any) (any, error) {
	switch v := v.(type) {
	case string, bool:
		return v, nil
	case map[string]any:
		if len(v) == 1 {
			switch {
			case v["d"] != nil:
				if f, ok := v["d"].(float64); ok {
					return f, nil
				}
			case v["i"] != nil:
				if f, ok := v["i"].(float64); ok && f == float64(int64(f)) {
					return int64(f), nil
				}
			case v["t"] != nil:
				if s, ok := v["t"].(string); ok {
					return time.Parse(time.RFC3339Nano, s)
				}
			}
		}
	}
	return nil, fmt.Errorf("a value %v of no known type", v)
}

// writeState saves st to path atomically (atomicfile.Write). The file
// holds refresh tokens and a private key: it is readable by its owner only.
func writeState(path string, st *orgState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b, 0o600)
}

// keepInterval is how long changes wait before they are saved: writes
// coming together are saved together.
const keepInterval = time.Second

// keeper saves the org to Options.StateFile keepInterval after changes, and
// on Close and Shutdown.
type keeper struct {
	path    string
	changes *changeCount
	mu      sync.Mutex // one save at a time
	saved   uint64     // the change count the file holds
	stop    chan struct{}
	done    chan struct{}
}

// startKeeping saves the org at once (so a state file that cannot be
// written fails the start), with its id_token key, and then keeps it saved.
func (s *Server) startKeeping() error {
	if s.opts.StateFile == "" {
		return nil
	}
	k := &keeper{path: s.opts.StateFile, changes: &s.changes, stop: make(chan struct{}), done: make(chan struct{})}
	s.keeper = k
	// A kept org has its id_token key from the start, so every id token
	// it signs stays verifiable after a restart.
	if _, _, err := s.auth.keys.signingKey(); err != nil {
		return fmt.Errorf("sfsim: %w", err)
	}
	if err := s.SaveState(); err != nil {
		return err
	}
	go func() {
		defer close(k.done)
		tick := time.NewTicker(keepInterval)
		defer tick.Stop()
		for {
			select {
			case <-k.stop:
				return
			case <-tick.C:
				if k.changes.load() == k.savedCount() {
					continue
				}
				if err := s.SaveState(); err != nil {
					s.log.Error("sfsim: save state", "err", err)
				}
			}
		}
	}()
	return nil
}

func (k *keeper) savedCount() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.saved
}

// SaveState writes the org to Options.StateFile now. Without a state file
// it does nothing.
func (s *Server) SaveState() error {
	k := s.keeper
	if k == nil {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	n := k.changes.load()
	st, err := s.snapshot()
	if err == nil {
		err = writeState(k.path, st)
	}
	if err != nil {
		return fmt.Errorf("sfsim: save state to %s: %w", k.path, err)
	}
	k.saved = n
	return nil
}

// stopKeeping ends the saving loop and saves a last time.
func (s *Server) stopKeeping() error {
	k := s.keeper
	if k == nil {
		return nil
	}
	close(k.stop)
	<-k.done
	return s.SaveState()
}
