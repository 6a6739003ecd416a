package sfsim

import "sync"

// What the org counts: the calls per operation (GET /__sim/stats) and the
// daily API allocation (Sforce-Limit-Info, /limits).

// Operation names of SPEC §7, used by the stats.
const (
	opToken       = "token"
	opQuery       = "query"
	opSearch      = "search"
	opDescribe    = "describe"
	opCreate      = "create"
	opUpdate      = "update"
	opUpsert      = "upsert"
	opCollections = "collections"
	opComposite   = "composite"
	opDelete      = "delete"
	opRevoke      = "revoke"
	opUserinfo    = "userinfo"
	opLimits      = "limits"
	// opOther counts calls outside the fixed set (unknown paths).
	opOther = "other"
)

// operations are the names Stats counts, in SPEC §7 order.
var operations = [...]string{opToken, opQuery, opSearch, opDescribe, opCreate, opUpdate, opUpsert,
	opCollections, opComposite, opDelete, opRevoke, opUserinfo, opLimits}

// Operations lists the operation names Stats counts, in SPEC §7 order
// (SPEC §7's operation label set).
func Operations() []string { return append([]string(nil), operations[:]...) }

// Stats counts the data and token calls the org received, whatever their
// outcome (a call answered 401 or failed by a fault counts too), and the
// records query and queryMore answered.
type Stats struct {
	Total       int64            `json:"total"`
	ByOperation map[string]int64 `json:"by_operation"`
	// RecordsReturned is the rows answered by query and queryMore pages.
	RecordsReturned int64 `json:"records_returned"`
}

type stats struct {
	mu       sync.Mutex
	total    int64
	by       map[string]int64
	returned int64
}

func newStats() *stats { return &stats{by: map[string]int64{}} }

func (s *stats) count(op string) {
	s.mu.Lock()
	s.total++
	s.by[op]++
	s.mu.Unlock()
}

// returnedRows counts the rows of one query or queryMore page.
func (s *stats) returnedRows(n int) {
	s.mu.Lock()
	s.returned += int64(n)
	s.mu.Unlock()
}

func (s *stats) snapshot() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Stats{Total: s.total, ByOperation: make(map[string]int64, len(operations)+1), RecordsReturned: s.returned}
	for _, op := range operations {
		out.ByOperation[op] = s.by[op]
	}
	if n := s.by[opOther]; n > 0 {
		out.ByOperation[opOther] = n
	}
	return out
}

func (s *stats) reset() {
	s.mu.Lock()
	s.total = 0
	s.returned = 0
	s.by = map[string]int64{}
	s.mu.Unlock()
}

// limitState is the daily API allocation.
type limitState struct {
	mu   sync.Mutex
	used int
	max  int
}

// take counts one call; ok is false (and nothing is counted) once the
// allocation is used up.
func (l *limitState) take() (used, max int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.used >= l.max {
		return l.used, l.max, false
	}
	l.used++
	return l.used, l.max, true
}

func (l *limitState) get() (used, max int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.used, l.max
}

// Stats returns the call counters.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

// ResetStats zeroes the call counters.
func (s *Server) ResetStats() { s.stats.reset() }

// SetDailyLimit changes the daily API allocation.
func (s *Server) SetDailyLimit(n int) {
	s.limits.mu.Lock()
	s.limits.max = n
	s.limits.mu.Unlock()
}

// SetAPIUsage sets the number of API calls counted today.
func (s *Server) SetAPIUsage(n int) {
	s.limits.mu.Lock()
	s.limits.used = n
	s.limits.mu.Unlock()
}

// APIUsage returns the calls counted today and the daily allocation.
func (s *Server) APIUsage() (used, max int) { return s.limits.get() }
