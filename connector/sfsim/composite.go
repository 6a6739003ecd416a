package sfsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Composite (/composite): up to 25 subrequests with references between
// them, under the store's write lock held by handle, with a txn so that
// allOrNone can roll back.

const (
	maxCompositeRequests = 25
	maxCompositeQueries  = 5
)

type subrequest struct {
	Method      string            `json:"method"`
	URL         string            `json:"url"`
	ReferenceID string            `json:"referenceId"`
	Body        json.RawMessage   `json:"body"`
	HTTPHeaders map[string]string `json:"httpHeaders"`
}

var (
	refIDPattern = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	refPattern   = regexp.MustCompile(`@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[[0-9]+\])*)\}`)
)

func processingHalted(msg string) jobj {
	return jobj{{"body", []jobj{{{"errorCode", "PROCESSING_HALTED"}, {"message", msg}}}}, {"httpHeaders", jobj{}}, {"httpStatusCode", http.StatusBadRequest}}
}

const haltedRolledBack = "The transaction was rolled back since another operation in the same transaction failed."

func (s *Server) handleComposite(c *call) *response {
	var req struct {
		AllOrNone          bool            `json:"allOrNone"`
		CollateSubrequests *bool           `json:"collateSubrequests"`
		CompositeRequest   json.RawMessage `json:"compositeRequest"`
	}
	dec := json.NewDecoder(bytes.NewReader(c.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return errResp(c.body.rawSyntaxError(c.body, 0, err))
	}
	if len(req.CompositeRequest) == 0 {
		return errResp(errJSON("'compositeRequest' is a required field."))
	}
	var subs []subrequest
	if err := json.Unmarshal(req.CompositeRequest, &subs); err != nil {
		return errResp(errJSON("Cannot deserialize instance of compositeRequest: " + err.Error()))
	}
	if len(subs) > maxCompositeRequests {
		return errResp(badRequest("LIMIT_EXCEEDED", fmt.Sprintf("Limit Exceeded: the maximum number of subrequests is %d", maxCompositeRequests)))
	}
	seen := map[string]bool{}
	queries := 0
	for _, sub := range subs {
		switch {
		case sub.ReferenceID == "":
			return errResp(errJSON("'referenceId' is a required field."))
		case sub.Method == "":
			return errResp(errJSON("'method' is a required field."))
		case sub.URL == "":
			return errResp(errJSON("'url' is a required field."))
		case !refIDPattern.MatchString(sub.ReferenceID):
			return errResp(errJSON(fmt.Sprintf("Invalid referenceId (%s): it may contain only letters, digits and underscores", sub.ReferenceID)))
		case seen[sub.ReferenceID]:
			return errResp(errJSON("Duplicate ReferenceId provided in the request: " + sub.ReferenceID))
		}
		seen[sub.ReferenceID] = true
		if strings.Contains(sub.URL, "/query") || strings.Contains(sub.URL, "/composite/sobjects") {
			queries++
		}
	}
	if queries > maxCompositeQueries {
		return errResp(badRequest("LIMIT_EXCEEDED", fmt.Sprintf("Limit Exceeded: at most %d subrequests may be sObject Collections or queries", maxCompositeQueries)))
	}

	start := c.tx.mark()
	results := map[string]any{} // referenceId → decoded body of a successful subrequest
	entries := make([]jobj, len(subs))
	failedAt := -1
	for i, sub := range subs {
		if failedAt >= 0 && req.AllOrNone {
			entries[i] = append(processingHalted(haltedRolledBack), kv{"referenceId", sub.ReferenceID})
			continue
		}
		if c.lockRows {
			entries[i] = lockedSubresponse(sub.ReferenceID)
			failedAt = i
			continue
		}
		entry, ok := s.runSubrequest(c, sub, results)
		entries[i] = append(entry, kv{"referenceId", sub.ReferenceID})
		if !ok && failedAt < 0 {
			failedAt = i
		}
	}
	if failedAt >= 0 && req.AllOrNone {
		c.tx.rollback(start)
		for i, sub := range subs {
			if i != failedAt {
				entries[i] = append(processingHalted(haltedRolledBack), kv{"referenceId", sub.ReferenceID})
			}
		}
	}
	return jsonResp(http.StatusOK, jobj{{"compositeResponse", entries}})
}

// runSubrequest resolves references, routes one subrequest and records its
// body for later references. ok is false when it failed.
func (s *Server) runSubrequest(c *call, sub subrequest, results map[string]any) (jobj, bool) {
	resolve := func(text string, inURL bool) (string, string) {
		var missing string
		out := refPattern.ReplaceAllStringFunc(text, func(m string) string {
			parts := refPattern.FindStringSubmatch(m)
			v, ok := lookupRef(results, parts[1], parts[2])
			if !ok {
				if missing == "" {
					missing = strings.TrimSuffix(strings.TrimPrefix(m, "@{"), "}")
				}
				return m
			}
			str := refString(v)
			if inURL {
				return url.PathEscape(str)
			}
			return str
		})
		return out, missing
	}
	u, missing := resolve(sub.URL, true)
	if missing == "" && len(sub.Body) > 0 {
		var b string
		b, missing = resolveJSON(sub.Body, resolve)
		sub.Body = json.RawMessage(b)
	}
	if missing != "" {
		ref, _, _ := strings.Cut(missing, ".")
		ref, _, _ = strings.Cut(ref, "[")
		return processingHalted(fmt.Sprintf("Invalid reference specified. No value for %s found in %s. Provided referenceId ('%s') must match a referenceId in a previous subrequest in this composite request, and it must contain a value.", missing, ref, ref)), false
	}
	parsed, err := url.Parse(u)
	if err != nil || !strings.HasPrefix(parsed.EscapedPath(), "/services/data/") {
		return subError(errNotFound()), false
	}
	version, vnum, rest, ok := splitDataPath(parsed.EscapedPath())
	if !ok || vnum > c.vnum {
		return subError(errNotFound()), false
	}
	if len(rest) == 1 && rest[0] == "composite" {
		return subError(badRequest("INVALID_INPUT", "A composite request cannot contain a composite subrequest")), false
	}
	// The composite request's headers (Sforce-Auto-Assign, the duplicate
	// rule header) apply to every subrequest; its own httpHeaders win.
	h := c.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	for k, v := range sub.HTTPHeaders {
		h.Set(k, v)
	}
	method := strings.ToUpper(sub.Method)
	sc := &call{ctx: c.ctx, userID: c.userID, version: version, vnum: vnum, method: method,
		segs: rest, query: parsed.Query(), header: h, body: body(sub.Body), tx: c.tx}
	mark := c.tx.mark()
	resp := s.route(sc)
	okStatus := resp.status < 300
	if !okStatus {
		c.tx.rollback(mark)
	}
	headers := jobj{}
	if loc := resp.header.Get("Location"); loc != "" {
		headers = append(headers, kv{"Location", loc})
	}
	var bodyV any
	if resp.body != nil {
		bodyV = resp.body
		if okStatus {
			// Keep a generic copy for @{ref.field} lookups.
			if b, err := marshal(resp.body); err == nil {
				var generic any
				d := json.NewDecoder(bytes.NewReader(b))
				d.UseNumber()
				if d.Decode(&generic) == nil {
					results[sub.ReferenceID] = generic
				}
			}
		}
	} else if okStatus {
		results[sub.ReferenceID] = map[string]any{}
	}
	return jobj{{"body", bodyV}, {"httpHeaders", headers}, {"httpStatusCode", resp.status}}, okStatus
}

func subError(e *Error) jobj {
	return jobj{{"body", []*Error{e}}, {"httpHeaders", jobj{}}, {"httpStatusCode", e.StatusCode}}
}

// lookupRef evaluates ref.path (".field", "[n]") in a previous body.
func lookupRef(results map[string]any, ref, path string) (any, bool) {
	v, ok := results[ref]
	if !ok {
		return nil, false
	}
	for path != "" {
		switch path[0] {
		case '.':
			end := strings.IndexAny(path[1:], ".[")
			key := path[1:]
			if end >= 0 {
				key = path[1 : end+1]
				path = path[end+1:]
			} else {
				path = ""
			}
			m, isMap := v.(map[string]any)
			if !isMap {
				return nil, false
			}
			v, ok = m[key]
			if !ok {
				return nil, false
			}
		case '[':
			end := strings.IndexByte(path, ']')
			n, err := strconv.Atoi(path[1:end])
			path = path[end+1:]
			arr, isArr := v.([]any)
			if err != nil || !isArr || n >= len(arr) {
				return nil, false
			}
			v = arr[n]
		default:
			return nil, false
		}
	}
	return v, v != nil
}

func refString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// resolveJSON substitutes references inside the string values of a JSON
// body, keeping key order.
func resolveJSON(raw json.RawMessage, resolve func(string, bool) (string, string)) (string, string) {
	if !refPattern.Match(raw) {
		return string(raw), ""
	}
	var missing string
	var b bytes.Buffer
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var walk func() error
	walk = func() error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case json.Delim:
			b.WriteRune(rune(t))
			if t == '{' || t == '[' {
				first := true
				for dec.More() {
					if !first {
						b.WriteByte(',')
					}
					first = false
					if t == '{' {
						k, err := dec.Token()
						if err != nil {
							return err
						}
						kb, _ := json.Marshal(k)
						b.Write(kb)
						b.WriteByte(':')
					}
					if err := walk(); err != nil {
						return err
					}
				}
				end, err := dec.Token()
				if err != nil {
					return err
				}
				b.WriteRune(rune(end.(json.Delim)))
			}
		case string:
			out, miss := resolve(t, false)
			if miss != "" && missing == "" {
				missing = miss
			}
			sb, _ := marshal(out)
			b.Write(sb)
		default:
			tb, _ := json.Marshal(t)
			b.Write(tb)
		}
		return nil
	}
	if err := walk(); err != nil {
		return string(raw), ""
	}
	return b.String(), missing
}
