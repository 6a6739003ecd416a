package sfsim

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
)

// Injected faults (POST /__sim/faults): the next calls of the data API or
// the token endpoint fail as Salesforce or its edge can fail.

// Fault kinds for InjectFault and POST /__sim/faults.
const (
	FaultServerError          = "5xx"
	FaultUnableToLockRow      = "unable_to_lock_row"
	FaultRequestLimitExceeded = "request_limit_exceeded"
	FaultDrop                 = "drop"
	FaultLatency              = "latency"
)

// Fault targets: the data API (/services/data/...) or the OAuth token
// endpoint (/services/oauth2/token).
const (
	FaultTargetData  = "data"
	FaultTargetToken = "token"
)

// Fault makes the next Count calls of its target fail. With AfterCommit
// the call's writes (or the token issued) are applied first and the
// answer is then replaced by the failure, as when a response is lost
// after Salesforce committed.
type Fault struct {
	Kind        string `json:"kind"`
	Count       int    `json:"count"`
	LatencyMS   int    `json:"latency_ms"`
	AfterCommit bool   `json:"after_commit"`
	// Status picks the 5xx answer: 500 (UNKNOWN_EXCEPTION, JSON; on the
	// token endpoint the OAuth error unknown_error), 502 or 503 (default;
	// plain-text bodies, as the Salesforce edge sends).
	Status int `json:"status,omitempty"`
	// Target is FaultTargetData (default) or FaultTargetToken; a fault
	// only ever hits calls of its target.
	Target string `json:"target,omitempty"`
}

func (f *Fault) validate() error {
	switch f.Target {
	case "":
		f.Target = FaultTargetData
	case FaultTargetData:
	case FaultTargetToken:
		if f.Kind == FaultUnableToLockRow || f.Kind == FaultRequestLimitExceeded {
			return fmt.Errorf("a %s fault applies to data calls only (the token endpoint takes 5xx, drop or latency)", f.Kind)
		}
	default:
		return fmt.Errorf("unknown fault target %q (want data or token)", f.Target)
	}
	switch f.Kind {
	case FaultServerError:
		switch f.Status {
		case 0:
			f.Status = http.StatusServiceUnavailable
		case 500, 502, 503, 504:
		default:
			return fmt.Errorf("status %d is not a 5xx the simulator sends (500, 502, 503, 504)", f.Status)
		}
	case FaultUnableToLockRow, FaultRequestLimitExceeded, FaultDrop:
	case FaultLatency:
		if f.LatencyMS <= 0 {
			return errors.New("a latency fault needs latency_ms > 0")
		}
	default:
		return fmt.Errorf("unknown fault kind %q (want 5xx, unable_to_lock_row, request_limit_exceeded, drop or latency)", f.Kind)
	}
	if f.Count < 0 {
		return errors.New("count must not be negative")
	}
	if f.Count == 0 {
		f.Count = 1
	}
	return nil
}

type faultQueue struct {
	mu sync.Mutex
	q  []Fault
	// n mirrors len(q) so the hot path can skip the lock.
	n atomic.Int64
}

func (fq *faultQueue) push(f Fault) {
	fq.mu.Lock()
	fq.q = append(fq.q, f)
	fq.n.Store(int64(len(fq.q)))
	fq.mu.Unlock()
}

// next takes one call's worth of the oldest fault for target.
func (fq *faultQueue) next(target string) *Fault {
	if fq.n.Load() == 0 {
		return nil
	}
	fq.mu.Lock()
	defer fq.mu.Unlock()
	for i := range fq.q {
		if fq.q[i].Target != target {
			continue
		}
		f := fq.q[i]
		fq.q[i].Count--
		if fq.q[i].Count <= 0 {
			fq.q = append(fq.q[:i:i], fq.q[i+1:]...)
		}
		fq.n.Store(int64(len(fq.q)))
		return &f
	}
	return nil
}

func (fq *faultQueue) clear() {
	fq.mu.Lock()
	fq.q = nil
	fq.n.Store(0)
	fq.mu.Unlock()
}

// InjectFault queues a fault for the next data calls.
func (s *Server) InjectFault(f Fault) error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("sfsim: %w", err)
	}
	s.faults.push(f)
	return nil
}

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() { s.faults.clear() }
