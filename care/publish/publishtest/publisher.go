// Package publishtest is a reference publisher for tests and benchmarks:
// an HTTP server that checks every delivery's signature, answers a
// platform id, deduplicates by delivery_id (a replay gets the first
// answer and is not taken twice) and fails on cue.
package publishtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/carebridge/carebridge/care/publish"
)

// Delivery is one request the publisher received.
type Delivery struct {
	Body     publish.Body
	Verified bool // the signature matched
	Replay   bool // its delivery_id had been taken before
	Status   int  // what the publisher answered
	At       time.Time
}

// Publisher is the reference publisher. Its methods are safe for
// concurrent use.
type Publisher struct {
	URL    string
	secret []byte
	server *httptest.Server

	mu         sync.Mutex
	latency    time.Duration
	failStatus int
	failText   string
	caseFails  map[int64]refusal // FailCase
	deliveries []Delivery
	taken      []publish.Body    // first acceptance of each delivery id, in order
	ids        map[string]string // delivery id → the external id answered
	onTake     func(Delivery)
}

// New starts a publisher that checks signatures with secret; Close stops
// it.
func New(secret []byte) *Publisher {
	p := &Publisher{secret: secret, ids: map[string]string{}}
	p.server = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.server.URL
	return p
}

// Close stops the server.
func (p *Publisher) Close() { p.server.Close() }

// SetLatency makes every answer wait d.
func (p *Publisher) SetLatency(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = d
}

// Fail answers every delivery with status and text until Recover.
func (p *Publisher) Fail(status int, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failStatus, p.failText = status, text
}

// refusal is an answer the publisher gives instead of taking a delivery.
type refusal struct {
	status int
	text   string
}

// FailCase answers the deliveries of one case with status and text (while
// Fail does not answer every delivery) until Recover; the other cases'
// replies are taken.
func (p *Publisher) FailCase(caseID int64, status int, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.caseFails == nil {
		p.caseFails = map[int64]refusal{}
	}
	p.caseFails[caseID] = refusal{status, text}
}

// Recover takes deliveries again, of every case.
func (p *Publisher) Recover() {
	p.Fail(0, "")
	p.mu.Lock()
	defer p.mu.Unlock()
	p.caseFails = nil
}

// OnTake is called with each delivery taken for the first time (not with
// replays); its At is when the request arrived.
func (p *Publisher) OnTake(fn func(Delivery)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.onTake = fn
}

// Deliveries returns every request received, in order.
func (p *Publisher) Deliveries() []Delivery {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Delivery(nil), p.deliveries...)
}

// Taken returns the replies taken, each once, in the order taken.
func (p *Publisher) Taken() []publish.Body {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]publish.Body(nil), p.taken...)
}

// ExternalID is the platform id answered for a delivery id ("" if none).
func (p *Publisher) ExternalID(deliveryID string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ids[deliveryID]
}

func (p *Publisher) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var d Delivery
	d.At = time.Now()
	d.Verified = publish.Verify(p.secret, r.Header.Get(publish.HeaderTimestamp), raw, r.Header.Get(publish.HeaderSignature))
	_ = json.Unmarshal(raw, &d.Body)

	p.mu.Lock()
	latency, status, text := p.latency, p.failStatus, p.failText
	if f, ok := p.caseFails[d.Body.CaseID]; ok && status == 0 {
		status, text = f.status, f.text
	}
	p.mu.Unlock()
	if latency > 0 {
		time.Sleep(latency)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case !d.Verified:
		status, text = http.StatusUnauthorized, "bad signature"
	case d.Body.DeliveryID == "":
		status, text = http.StatusBadRequest, "no delivery_id"
	}
	if status != 0 {
		d.Status = status
		p.deliveries = append(p.deliveries, d)
		http.Error(w, text, status)
		return
	}
	id, seen := p.ids[d.Body.DeliveryID]
	if !seen {
		id = fmt.Sprintf("platform-%d", len(p.ids)+1)
		p.ids[d.Body.DeliveryID] = id
		p.taken = append(p.taken, d.Body)
	}
	d.Replay, d.Status = seen, http.StatusOK
	if !seen && p.onTake != nil {
		p.onTake(d)
	}
	p.deliveries = append(p.deliveries, d)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(publish.Answer{ExternalID: id})
}
