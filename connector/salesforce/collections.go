package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// MaxCollectionRecords is the most records one sObject Collections call takes.
const MaxCollectionRecords = 200

// SaveResult is the outcome for one record of an sObject Collections call,
// in request order.
type SaveResult struct {
	ID      string // the record id; empty when the record failed
	Success bool
	Created bool // upsert only: the record was inserted
	// Err is an *APIError (Status 0) built from the record's errors, which
	// Salesforce keys statusCode; nil on success. A record rolled back only
	// because another failed under allOrNone carries
	// ALL_OR_NONE_OPERATION_ROLLED_BACK and classifies as Retryable.
	Err error
}

// CollectionsCreate inserts up to 200 records of one object in one call.
// Records carry no Id.
func (c *Client) CollectionsCreate(ctx context.Context, object string, records []map[string]any, allOrNone bool) ([]SaveResult, error) {
	return c.collections(ctx, http.MethodPost, object, "", records, allOrNone)
}

// CollectionsUpdate updates up to 200 records of one object in one call.
// Every record carries its Id.
func (c *Client) CollectionsUpdate(ctx context.Context, object string, records []map[string]any, allOrNone bool) ([]SaveResult, error) {
	return c.collections(ctx, http.MethodPatch, object, "", records, allOrNone)
}

// CollectionsUpsert creates or updates up to 200 records of one object by
// the external id field extField, which every record carries.
func (c *Client) CollectionsUpsert(ctx context.Context, object, extField string, records []map[string]any, allOrNone bool) ([]SaveResult, error) {
	if err := checkName("field", extField); err != nil {
		return nil, fmt.Errorf("salesforce collections: %w", err)
	}
	return c.collections(ctx, http.MethodPatch, object, extField, records, allOrNone)
}

func (c *Client) collections(ctx context.Context, method, object, extField string, records []map[string]any, allOrNone bool) ([]SaveResult, error) {
	const op = OpCollections
	if err := checkName("object", object); err != nil {
		return nil, fmt.Errorf("salesforce collections: %w", err)
	}
	if len(records) == 0 {
		return []SaveResult{}, nil
	}
	if len(records) > MaxCollectionRecords {
		return nil, fmt.Errorf("salesforce collections: %w: %d records, at most %d per call",
			ErrInvalidArgument, len(records), MaxCollectionRecords)
	}
	update := method == http.MethodPatch && extField == ""
	out := make([]map[string]any, len(records))
	for i, rec := range records {
		m := make(map[string]any, len(rec)+1)
		hasID := false
		for k, v := range rec {
			if strings.EqualFold(k, "Id") {
				if s, _ := v.(string); s != "" {
					hasID = true
				}
			}
			m[k] = v
		}
		switch {
		case update && !hasID:
			return nil, fmt.Errorf("salesforce collections: %w: record %d has no Id", ErrInvalidArgument, i)
		case method == http.MethodPost && hasID:
			return nil, fmt.Errorf("salesforce collections: %w: record %d of a create has an Id", ErrInvalidArgument, i)
		case extField != "" && !hasField(rec, extField):
			return nil, fmt.Errorf("salesforce collections: %w: record %d has no %s", ErrInvalidArgument, i, extField)
		}
		m["attributes"] = map[string]any{"type": object}
		out[i] = m
	}
	body, err := encodeBody(op, map[string]any{"allOrNone": allOrNone, "records": out})
	if err != nil {
		return nil, err
	}
	path := c.DataPath("composite", "sobjects")
	if extField != "" {
		path = c.DataPath("composite", "sobjects", object, extField)
	}
	resp, err := c.do(ctx, &request{op: op, method: method, path: path, body: body}, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var wire []saveResult
	if err := decode(op, resp.body, &wire); err != nil {
		return nil, err
	}
	if len(wire) != len(records) {
		return nil, fmt.Errorf("salesforce collections: %d results for %d records", len(wire), len(records))
	}
	results := make([]SaveResult, len(wire))
	for i, w := range wire {
		r := SaveResult{Success: w.Success}
		if w.ID != nil {
			r.ID = *w.ID
		}
		if w.Created != nil {
			r.Created = *w.Created
		}
		if !w.Success {
			r.Err = recordError(string(op), w.Errors)
		}
		results[i] = r
	}
	return results, nil
}

func hasField(rec map[string]any, name string) bool {
	for k, v := range rec {
		if strings.EqualFold(k, name) && v != nil {
			return true
		}
	}
	return false
}
