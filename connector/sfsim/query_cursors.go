package sfsim

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The query and queryMore resources: batches, and query locators for the
// rows that did not fit one.

// cursor holds the rows of a query that did not fit one batch.
type cursor struct {
	id       string
	userID   string
	rows     []jobj
	total    int
	batch    int
	lastUsed time.Time
}

type cursorStore struct {
	mu   sync.Mutex
	now  func() time.Time
	ids  idGen
	byID map[string]*cursor
}

// Cursor limits of Salesforce: 15 minutes idle, 10 open per user (opening
// an 11th releases the oldest).
const (
	cursorIdle    = 15 * time.Minute
	cursorPerUser = 10
)

func newCursorStore(now func() time.Time) *cursorStore {
	return &cursorStore{now: now, byID: map[string]*cursor{}}
}

func (cs *cursorStore) open(userID string, rows []jobj, batch int) *cursor {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	now := cs.now()
	var mine []*cursor
	for id, c := range cs.byID {
		if now.Sub(c.lastUsed) > cursorIdle {
			delete(cs.byID, id)
			continue
		}
		if c.userID == userID {
			mine = append(mine, c)
		}
	}
	if len(mine) >= cursorPerUser {
		sort.Slice(mine, func(i, j int) bool { return mine[i].lastUsed.Before(mine[j].lastUsed) })
		for _, c := range mine[:len(mine)-cursorPerUser+1] {
			delete(cs.byID, c.id)
		}
	}
	c := &cursor{id: cs.ids.next("01g"), userID: userID, rows: rows, total: len(rows), batch: batch, lastUsed: now}
	cs.byID[c.id] = c
	return c
}

func (cs *cursorStore) get(id, userID string) *cursor {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c := cs.byID[id]
	if c == nil || c.userID != userID {
		return nil
	}
	now := cs.now()
	if now.Sub(c.lastUsed) > cursorIdle {
		delete(cs.byID, id)
		return nil
	}
	c.lastUsed = now
	return c
}

// batchSize reads Sforce-Query-Options: batchSize=N (200..2000), capped by
// Options.QueryBatchSize.
func (s *Server) batchSize(h http.Header) int {
	n := DefaultQueryBatchSize
	for _, part := range strings.Split(h.Get("Sforce-Query-Options"), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "batchSize") {
			if x, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				n = min(max(x, 200), 2000)
			}
		}
	}
	return min(n, s.opts.QueryBatchSize)
}

func (s *Server) handleQuery(c *call, all bool) *response {
	src := c.query.Get("q")
	if strings.TrimSpace(src) == "" {
		return errResp(badRequest("MALFORMED_QUERY", "A query string has to be specified"))
	}
	res, err := s.runQuery(src, c.version, all)
	if err != nil {
		return errResp(err)
	}
	batch := s.batchSize(c.header)
	if res.aggregate {
		batch = max(len(res.rows), 1)
	}
	return jsonResp(http.StatusOK, s.page(c, res.totalSize, res.rows, 0, batch, nil))
}

// page renders one batch of rows starting at pos, opening a cursor when
// more remain.
func (s *Server) page(c *call, total int, rows []jobj, pos, batch int, cur *cursor) jobj {
	end := min(pos+batch, len(rows))
	out := jobj{{"totalSize", total}}
	if end < len(rows) {
		if cur == nil {
			cur = s.cursors.open(c.userID, rows, batch)
		}
		out = append(out, kv{"done", false}, kv{"nextRecordsUrl", fmt.Sprintf("/services/data/v%s/query/%s-%d", c.version, cur.id, end)})
	} else {
		out = append(out, kv{"done", true})
	}
	page := rows[pos:end]
	if page == nil {
		page = []jobj{}
	}
	s.stats.returnedRows(len(page))
	return append(out, kv{"records", page})
}

func (s *Server) handleQueryMore(c *call, locator string) *response {
	id, posText, ok := strings.Cut(locator, "-")
	pos, err := strconv.Atoi(posText)
	invalid := badRequest("INVALID_QUERY_LOCATOR", "invalid query locator")
	if !ok || err != nil || pos < 0 {
		return errResp(invalid)
	}
	cur := s.cursors.get(id, c.userID)
	if cur == nil || pos > len(cur.rows) {
		return errResp(invalid)
	}
	batch := cur.batch
	if c.header.Get("Sforce-Query-Options") != "" {
		batch = s.batchSize(c.header)
	}
	return jsonResp(http.StatusOK, s.page(c, cur.total, cur.rows, pos, batch, cur))
}
