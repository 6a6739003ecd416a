package salesforce

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// QueryResult is one page of a SOQL query answer.
type QueryResult struct {
	// TotalSize counts every row the query matches, not only this page's.
	TotalSize int `json:"totalSize"`
	// Done is true on the last page.
	Done bool `json:"done"`
	// NextRecordsURL locates the next page when Done is false.
	NextRecordsURL string   `json:"nextRecordsUrl"`
	Records        []Record `json:"records"`
}

// Query runs a SOQL query and returns every record, following
// nextRecordsUrl (queryMore) to the last page.
func (c *Client) Query(ctx context.Context, soql string) ([]Record, error) {
	var all []Record
	err := c.QueryPages(ctx, soql, func(p *QueryResult) error {
		if all == nil {
			all = make([]Record, 0, min(max(p.TotalSize, len(p.Records)), 10000))
		}
		all = append(all, p.Records...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if all == nil {
		all = []Record{}
	}
	return all, nil
}

// QueryPages runs a SOQL query and calls fn with each page in order,
// fetching the next page only after fn returns. An error from fn stops the
// walk and is returned as is.
func (c *Client) QueryPages(ctx context.Context, soql string, fn func(*QueryResult) error) error {
	if strings.TrimSpace(soql) == "" {
		return fmt.Errorf("salesforce query: %w: empty query", ErrInvalidArgument)
	}
	page, err := c.queryPage(ctx, c.DataPath("query"), url.Values{"q": {soql}})
	seen := map[string]bool{}
	for {
		if err != nil {
			return err
		}
		if err := fn(page); err != nil {
			return err
		}
		if page.Done {
			return nil
		}
		next := page.NextRecordsURL
		if next == "" {
			return fmt.Errorf("salesforce query: answer not done but has no nextRecordsUrl")
		}
		if !strings.HasPrefix(next, "/services/data/") || strings.ContainsAny(next, "?#") ||
			strings.Contains(next, "..") {
			return fmt.Errorf("salesforce query: unexpected nextRecordsUrl")
		}
		if seen[next] {
			return fmt.Errorf("salesforce query: nextRecordsUrl repeats")
		}
		seen[next] = true
		page, err = c.queryPage(ctx, next, nil)
	}
}

func (c *Client) queryPage(ctx context.Context, path string, q url.Values) (*QueryResult, error) {
	r := &request{op: OpQuery, method: http.MethodGet, path: path, query: q}
	if c.batchSize > 0 {
		r.header = http.Header{"Sforce-Query-Options": {"batchSize=" + itoa(c.batchSize)}}
	}
	resp, err := c.do(ctx, r, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var page QueryResult
	if err := decode(OpQuery, resp.body, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// Search runs a SOSL search (FIND {...} ...) and returns the matching
// records. It accepts both the current {"searchRecords":[...]} answer and
// the bare array of API versions before 36.0.
func (c *Client) Search(ctx context.Context, sosl string) ([]Record, error) {
	if strings.TrimSpace(sosl) == "" {
		return nil, fmt.Errorf("salesforce search: %w: empty search", ErrInvalidArgument)
	}
	resp, err := c.do(ctx, &request{op: OpSearch, method: http.MethodGet, path: c.DataPath("search"),
		query: url.Values{"q": {sosl}}}, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var recs []Record
	if bytes.HasPrefix(bytes.TrimSpace(resp.body), []byte("[")) {
		err = decode(OpSearch, resp.body, &recs)
	} else {
		var wrapped struct {
			SearchRecords []Record `json:"searchRecords"`
		}
		err = decode(OpSearch, resp.body, &wrapped)
		recs = wrapped.SearchRecords
	}
	if err != nil {
		return nil, err
	}
	if recs == nil {
		recs = []Record{}
	}
	return recs, nil
}

// UpdatedResult is the answer of getUpdated: ids of records changed in a
// window, and the point up to which the answer is complete.
type UpdatedResult struct {
	IDs []string
	// LatestDateCovered is where the next window should start; it can be
	// earlier than the requested end while a long transaction is open.
	LatestDateCovered time.Time
}

// Updated lists the ids of object records changed between start and end
// (getUpdated; minute granularity, at most 30 days back).
func (c *Client) Updated(ctx context.Context, object string, start, end time.Time) (UpdatedResult, error) {
	if err := checkName("object", object); err != nil {
		return UpdatedResult{}, fmt.Errorf("salesforce query: %w", err)
	}
	if !start.Before(end) {
		return UpdatedResult{}, fmt.Errorf("salesforce query: %w: start must be before end", ErrInvalidArgument)
	}
	q := url.Values{
		"start": {start.UTC().Format("2006-01-02T15:04:05+00:00")},
		"end":   {end.UTC().Format("2006-01-02T15:04:05+00:00")},
	}
	var body struct {
		IDs               []string `json:"ids"`
		LatestDateCovered string   `json:"latestDateCovered"`
	}
	// The trailing slash is part of the documented resource.
	if err := c.getJSON(ctx, OpQuery, c.DataPath("sobjects", object, "updated")+"/", q, &body); err != nil {
		return UpdatedResult{}, err
	}
	res := UpdatedResult{IDs: body.IDs}
	if res.IDs == nil {
		res.IDs = []string{}
	}
	if body.LatestDateCovered != "" {
		t, err := ParseTime(body.LatestDateCovered)
		if err != nil {
			return UpdatedResult{}, fmt.Errorf("salesforce query: latestDateCovered: %w", err)
		}
		res.LatestDateCovered = t
	}
	return res, nil
}
