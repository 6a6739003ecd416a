package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultAPIVersion is the REST API version used when Options leaves it empty.
const DefaultAPIVersion = "62.0"

const (
	// maxBody caps a successful answer (a query page of 2000 wide records
	// stays far below it).
	maxBody = 64 << 20
	// defaultTimeout is the timeout of the client New builds when given none.
	defaultTimeout = 60 * time.Second
	limitHeader    = "Sforce-Limit-Info"
)

// ErrInvalidArgument wraps arguments the client refuses to send (a bad
// object name, an empty id, more than 200 records...). Such errors are
// NotRetryable.
var ErrInvalidArgument = errors.New("salesforce: invalid argument")

// Options configures a Client. The zero value is usable.
type Options struct {
	// APIVersion is the REST API version, e.g. "62.0" (a leading "v" is
	// accepted). Default DefaultAPIVersion.
	APIVersion string
	// Metrics observes every HTTP exchange and the API usage; may be nil.
	Metrics Observer
	// Logger receives debug lines per request and warnings on refresh;
	// nil discards. Tokens are never logged.
	Logger *slog.Logger
	// QueryBatchSize asks for query pages of this many records
	// (Sforce-Query-Options: batchSize=N; Salesforce accepts 200..2000).
	// 0 leaves Salesforce's default (2000).
	QueryBatchSize int
}

// Client calls the Salesforce REST API of one org. It is safe for
// concurrent use. Every call asks its Session for the current token and
// sends the request to that token's instance URL; on a 401 it asks the
// Session to refresh the token once and repeats the call once.
type Client struct {
	http      *http.Client
	session   Session
	version   string
	obs       Observer
	log       *slog.Logger
	batchSize int

	limitMu   sync.Mutex
	limit     LimitInfo
	haveLimit bool

	describeMu sync.Mutex
	describes  map[string]cachedDescribe[*SObjectDescribe]
	global     cachedDescribe[*GlobalDescribe]
	now        func() time.Time // the describe cache's clock
}

// New returns a client that sends requests through httpClient (which carries
// the timeouts; nil gets a client with a 60 s timeout, never
// http.DefaultClient) with tokens from session.
func New(httpClient *http.Client, session Session, opts Options) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: defaultTimeout}
	}
	v := strings.TrimPrefix(strings.TrimPrefix(opts.APIVersion, "v"), "V")
	if v == "" {
		v = DefaultAPIVersion
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Client{
		http:      httpClient,
		session:   session,
		version:   v,
		obs:       opts.Metrics,
		log:       logger,
		batchSize: opts.QueryBatchSize,
		describes: make(map[string]cachedDescribe[*SObjectDescribe]),
		now:       time.Now,
	}
}

// APIVersion returns the REST API version the client speaks, e.g. "62.0".
func (c *Client) APIVersion() string { return c.version }

// DataPath returns the path of a data resource for this API version, each
// element escaped: DataPath("sobjects", "Case") is
// "/services/data/v62.0/sobjects/Case". Composite subrequests use it.
func (c *Client) DataPath(elem ...string) string {
	var b strings.Builder
	b.WriteString("/services/data/v")
	b.WriteString(c.version)
	for _, e := range elem {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(e))
	}
	return b.String()
}

// LastLimitInfo returns the API usage from the most recent answer that
// carried a Sforce-Limit-Info header; ok is false before the first one.
func (c *Client) LastLimitInfo() (l LimitInfo, ok bool) {
	c.limitMu.Lock()
	defer c.limitMu.Unlock()
	return c.limit, c.haveLimit
}

// request is one call to the data API.
type request struct {
	op     Operation
	method string
	path   string // escaped path on the instance, starting with /services/
	query  url.Values
	body   []byte // JSON body; nil for none
	header http.Header
}

// response is a read answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends r with the session's token. A 401 makes it refresh the token once
// and resend once. Any status outside ok becomes an *APIError.
func (c *Client) do(ctx context.Context, r *request, ok ...int) (*response, error) {
	tok, err := c.session.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("salesforce %s: get token: %w", r.op, err)
	}
	resp, err := c.send(ctx, r, tok)
	if err != nil {
		return nil, err
	}
	if resp.status == http.StatusUnauthorized {
		first := newAPIError(string(r.op), resp.status, resp.body)
		c.log.Warn("salesforce session rejected; refreshing", "op", string(r.op), "code", first.Code)
		fresh, rerr := c.session.Refresh(ctx, tok)
		if rerr != nil {
			return nil, fmt.Errorf("%w (refresh failed: %w)", first, rerr)
		}
		resp, err = c.send(ctx, r, fresh)
		if err != nil {
			return nil, err
		}
	}
	for _, s := range ok {
		if resp.status == s {
			return resp, nil
		}
	}
	return nil, newAPIError(string(r.op), resp.status, resp.body)
}

// send performs one HTTP exchange and reads the answer.
func (c *Client) send(ctx context.Context, r *request, tok Token) (*response, error) {
	base, err := instanceBase(tok.InstanceURL)
	if err != nil {
		return nil, fmt.Errorf("salesforce %s: %w", r.op, err)
	}
	u, err := url.Parse(base + r.path)
	if err != nil {
		return nil, fmt.Errorf("salesforce %s: %w: bad request path", r.op, ErrInvalidArgument)
	}
	if len(r.query) > 0 {
		u.RawQuery = r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("salesforce %s: build request: %w", r.op, ErrInvalidArgument)
	}
	if isWrite(r.method) {
		for k, v := range writeHeaders(ctx) {
			req.Header.Set(k, v)
		}
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.observe(r.op, 0, time.Since(start))
		ne := newNetworkError(string(r.op), err)
		// ne.Err, not err: the *url.Error would log the query string (SOQL
		// with customer names and emails).
		c.log.Debug("salesforce request failed", "op", string(r.op), "method", r.method, "path", u.Path, "error", ne.Err)
		return nil, ne
	}
	defer resp.Body.Close()
	limit := int64(maxBody)
	if resp.StatusCode >= 400 {
		limit = maxErrorBody
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	// Drain a little of what is left so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	d := time.Since(start)
	c.observe(r.op, resp.StatusCode, d)
	c.readLimit(resp.Header)
	if err != nil {
		return nil, newNetworkError(string(r.op), err)
	}
	c.log.Debug("salesforce request", "op", string(r.op), "method", r.method, "path", u.Path,
		"status", resp.StatusCode, "duration", d)
	return &response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

func (c *Client) observe(op Operation, code int, d time.Duration) {
	if c.obs != nil {
		c.obs.ObserveRequest(op, code, d)
	}
}

func (c *Client) readLimit(h http.Header) {
	l, ok := ParseLimitInfo(h.Get(limitHeader))
	if !ok {
		return
	}
	c.limitMu.Lock()
	c.limit, c.haveLimit = l, true
	c.limitMu.Unlock()
	if c.obs != nil {
		c.obs.ObserveLimit(l)
	}
}

// instanceBase validates a token's instance URL and returns it without a
// trailing slash.
func instanceBase(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("token has no instance URL")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", errors.New("token has an invalid instance URL")
	}
	return strings.TrimRight(raw, "/"), nil
}

// Headers every write sends (SPEC §11): assignment rules never move the
// owner of a record we write unless a call asks for them, and duplicate
// rules that only alert do not fail our writes (a blocking rule still
// does, with DUPLICATES_DETECTED).
const (
	autoAssignHeader    = "Sforce-Auto-Assign"
	duplicateRuleHeader = "Sforce-Duplicate-Rule-Header"
	allowSave           = "allowSave=true"
)

type assignmentRulesKey struct{}

// WithAssignmentRules returns a context under which the client's writes let
// the org's active assignment rule run (Sforce-Auto-Assign: TRUE). Without
// it every write sends Sforce-Auto-Assign: FALSE. Give it to the one create
// (or upsert) that should be assigned, never to updates.
func WithAssignmentRules(ctx context.Context) context.Context {
	return context.WithValue(ctx, assignmentRulesKey{}, true)
}

// writeHeaders are the headers of a write made under ctx.
func writeHeaders(ctx context.Context) map[string]string {
	assign := "FALSE"
	if on, _ := ctx.Value(assignmentRulesKey{}).(bool); on {
		assign = "TRUE"
	}
	return map[string]string{autoAssignHeader: assign, duplicateRuleHeader: allowSave}
}

// isWrite reports whether a request of method changes records.
func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// getJSON sends a GET and decodes a 200 answer into out.
func (c *Client) getJSON(ctx context.Context, op Operation, path string, query url.Values, out any) error {
	resp, err := c.do(ctx, &request{op: op, method: http.MethodGet, path: path, query: query}, http.StatusOK)
	if err != nil {
		return err
	}
	return decode(op, resp.body, out)
}

// decode unmarshals a JSON answer keeping numbers as json.Number.
func decode(op Operation, body []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("salesforce %s: decode answer: %w", op, err)
	}
	return nil
}

func encodeBody(op Operation, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("salesforce %s: encode body: %w", op, err)
	}
	return b, nil
}

// checkName accepts Salesforce API names: object, field and relationship
// names are letters, digits and underscores.
func checkName(kind, s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty %s name", ErrInvalidArgument, kind)
	}
	for _, r := range s {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return fmt.Errorf("%w: %s name %q", ErrInvalidArgument, kind, s)
		}
	}
	return nil
}

// checkID accepts record ids: 15 or 18 letters and digits.
func checkID(id string) error {
	if len(id) != 15 && len(id) != 18 {
		return fmt.Errorf("%w: record id %q is not 15 or 18 characters", ErrInvalidArgument, id)
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return fmt.Errorf("%w: record id %q", ErrInvalidArgument, id)
		}
	}
	return nil
}

// checkExtValue accepts an external id value that can stand as one path
// segment.
func checkExtValue(v string) error {
	if v == "" || v == "." || v == ".." || strings.ContainsAny(v, "/\\") {
		return fmt.Errorf("%w: external id value %q cannot be used in a URL path", ErrInvalidArgument, v)
	}
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }
