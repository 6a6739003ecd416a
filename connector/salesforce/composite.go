package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// MaxCompositeSubrequests is the most subrequests one composite call takes.
const MaxCompositeSubrequests = 25

// Subrequest is one step of a composite call.
type Subrequest struct {
	Method string // GET, POST, PATCH, DELETE
	// URL is the resource path, e.g. Client.DataPath("sobjects", "Case");
	// it may hold @{referenceId.field} references and a query string.
	URL string
	// ReferenceID names the step for later references: letters, digits
	// and underscores, unique in the call.
	ReferenceID string
	Body        any               // JSON body; nil for none
	HTTPHeaders map[string]string // optional subrequest headers
}

// SubResponse is the answer to one subrequest, in request order.
type SubResponse struct {
	ReferenceID    string            `json:"referenceId"`
	HTTPStatusCode int               `json:"httpStatusCode"`
	HTTPHeaders    map[string]string `json:"httpHeaders"`
	Body           json.RawMessage   `json:"body"`
}

// Err returns nil for a 2xx subresponse, else its body as an *APIError
// (Operation "composite", Status the subresponse's status). Subrequests
// rolled back because another failed carry PROCESSING_HALTED.
func (s SubResponse) Err() error {
	if s.HTTPStatusCode >= 200 && s.HTTPStatusCode < 300 {
		return nil
	}
	body := s.Body
	if len(body) > maxErrorBody {
		body = body[:maxErrorBody]
	}
	return newAPIError(string(OpComposite), s.HTTPStatusCode, body)
}

// Decode unmarshals the subresponse body into v (numbers as json.Number).
func (s SubResponse) Decode(v any) error {
	if len(bytes.TrimSpace(s.Body)) == 0 {
		return fmt.Errorf("salesforce composite: subresponse %s has no body", s.ReferenceID)
	}
	return decode(OpComposite, s.Body, v)
}

// Composite sends up to 25 subrequests as one API call, in order
// (collateSubrequests false). With allOrNone, one failure rolls back all.
// A well-formed call answers 200 whatever the subrequests did: check each
// SubResponse.Err.
func (c *Client) Composite(ctx context.Context, allOrNone bool, reqs []Subrequest) ([]SubResponse, error) {
	const op = OpComposite
	if len(reqs) == 0 {
		return []SubResponse{}, nil
	}
	if len(reqs) > MaxCompositeSubrequests {
		return nil, fmt.Errorf("salesforce composite: %w: %d subrequests, at most %d",
			ErrInvalidArgument, len(reqs), MaxCompositeSubrequests)
	}
	type wireSub struct {
		Method      string            `json:"method"`
		URL         string            `json:"url"`
		ReferenceID string            `json:"referenceId"`
		Body        any               `json:"body,omitempty"`
		HTTPHeaders map[string]string `json:"httpHeaders,omitempty"`
	}
	subs := make([]wireSub, len(reqs))
	refs := make(map[string]bool, len(reqs))
	for i, r := range reqs {
		if err := checkName("reference", r.ReferenceID); err != nil {
			return nil, fmt.Errorf("salesforce composite: subrequest %d: %w", i, err)
		}
		if refs[r.ReferenceID] {
			return nil, fmt.Errorf("salesforce composite: %w: duplicate referenceId %q", ErrInvalidArgument, r.ReferenceID)
		}
		refs[r.ReferenceID] = true
		if !strings.HasPrefix(r.URL, "/services/data/") {
			return nil, fmt.Errorf("salesforce composite: %w: subrequest %s URL must start with /services/data/", ErrInvalidArgument, r.ReferenceID)
		}
		switch r.Method {
		case http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete, http.MethodHead:
		default:
			return nil, fmt.Errorf("salesforce composite: %w: subrequest %s method %q", ErrInvalidArgument, r.ReferenceID, r.Method)
		}
		subs[i] = wireSub{Method: r.Method, URL: r.URL, ReferenceID: r.ReferenceID, Body: r.Body, HTTPHeaders: r.HTTPHeaders}
		if isWrite(r.Method) {
			// Subrequests inherit only Accept, Authorization and
			// Content-Type from the composite request: each write
			// carries the write headers itself (its own win).
			h := writeHeaders(ctx)
			for k, v := range r.HTTPHeaders {
				h[k] = v
			}
			subs[i].HTTPHeaders = h
		}
	}
	body, err := encodeBody(op, map[string]any{
		"allOrNone":          allOrNone,
		"collateSubrequests": false,
		"compositeRequest":   subs,
	})
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, &request{op: op, method: http.MethodPost, path: c.DataPath("composite"), body: body}, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var out struct {
		CompositeResponse []SubResponse `json:"compositeResponse"`
	}
	if err := json.Unmarshal(resp.body, &out); err != nil {
		return nil, fmt.Errorf("salesforce composite: decode answer: %w", err)
	}
	if len(out.CompositeResponse) != len(reqs) {
		return nil, fmt.Errorf("salesforce composite: %d subresponses for %d subrequests", len(out.CompositeResponse), len(reqs))
	}
	return out.CompositeResponse, nil
}
