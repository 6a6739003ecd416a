package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// saveResult is the wire form of a SaveResult / UpsertResult.
type saveResult struct {
	ID      *string     `json:"id"`
	Success bool        `json:"success"`
	Created *bool       `json:"created"`
	Errors  []wireError `json:"errors"`
}

// Get reads one record by id. With no fields, Salesforce returns them all.
func (c *Client) Get(ctx context.Context, object, id string, fields ...string) (Record, error) {
	if err := checkName("object", object); err != nil {
		return nil, fmt.Errorf("salesforce query: %w", err)
	}
	if err := checkID(id); err != nil {
		return nil, fmt.Errorf("salesforce query: %w", err)
	}
	var q url.Values
	if len(fields) > 0 {
		for _, f := range fields {
			if err := checkName("field", f); err != nil {
				return nil, fmt.Errorf("salesforce query: %w", err)
			}
		}
		q = url.Values{"fields": {strings.Join(fields, ",")}}
	}
	var rec Record
	if err := c.getJSON(ctx, OpQuery, c.DataPath("sobjects", object, id), q, &rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// Create inserts one record and returns its id. Prefer Upsert with an
// external id where a retried create could make a duplicate.
func (c *Client) Create(ctx context.Context, object string, fields map[string]any) (string, error) {
	if err := checkName("object", object); err != nil {
		return "", fmt.Errorf("salesforce create: %w", err)
	}
	if fields == nil {
		fields = map[string]any{}
	}
	body, err := encodeBody(OpCreate, fields)
	if err != nil {
		return "", err
	}
	resp, err := c.do(ctx, &request{op: OpCreate, method: http.MethodPost,
		path: c.DataPath("sobjects", object), body: body}, http.StatusCreated, http.StatusOK)
	if err != nil {
		return "", err
	}
	var res saveResult
	if err := decode(OpCreate, resp.body, &res); err != nil {
		return "", err
	}
	if !res.Success || res.ID == nil || *res.ID == "" {
		e := recordError(string(OpCreate), res.Errors)
		e.Status = resp.status
		return "", e
	}
	return *res.ID, nil
}

// Update changes fields of one record; a nil value clears a field.
func (c *Client) Update(ctx context.Context, object, id string, fields map[string]any) error {
	if err := checkName("object", object); err != nil {
		return fmt.Errorf("salesforce update: %w", err)
	}
	if err := checkID(id); err != nil {
		return fmt.Errorf("salesforce update: %w", err)
	}
	if fields == nil {
		fields = map[string]any{}
	}
	body, err := encodeBody(OpUpdate, fields)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, &request{op: OpUpdate, method: http.MethodPatch,
		path: c.DataPath("sobjects", object, id), body: body}, http.StatusNoContent, http.StatusOK)
	return err
}

// Delete deletes one record. Deleting a record that is already gone fails
// with an error matching ErrNotFound.
func (c *Client) Delete(ctx context.Context, object, id string) error {
	if err := checkName("object", object); err != nil {
		return fmt.Errorf("salesforce delete: %w", err)
	}
	if err := checkID(id); err != nil {
		return fmt.Errorf("salesforce delete: %w", err)
	}
	_, err := c.do(ctx, &request{op: OpDelete, method: http.MethodDelete,
		path: c.DataPath("sobjects", object, id)}, http.StatusNoContent, http.StatusOK)
	return err
}

// UpsertResult tells what an upsert did.
type UpsertResult struct {
	// ID is the record's id. It is empty only when Salesforce answered an
	// update with 204 and no body (API versions before 46.0).
	ID string
	// Created is true when the upsert inserted a new record.
	Created bool
}

// Upsert creates or updates the object record whose external id field
// extField equals extValue. Salesforce refuses the external id field and Id
// in the body, so an extField entry in fields equal to extValue is left out
// of the body; a different value, or an Id, is an ErrInvalidArgument. When
// several records match, the error matches ErrMultipleMatches and lists
// their ids in APIError.Matches.
func (c *Client) Upsert(ctx context.Context, object, extField, extValue string, fields map[string]any) (UpsertResult, error) {
	if err := checkName("object", object); err != nil {
		return UpsertResult{}, fmt.Errorf("salesforce upsert: %w", err)
	}
	if err := checkName("field", extField); err != nil {
		return UpsertResult{}, fmt.Errorf("salesforce upsert: %w", err)
	}
	if err := checkExtValue(extValue); err != nil {
		return UpsertResult{}, fmt.Errorf("salesforce upsert: %w", err)
	}
	clean := make(map[string]any, len(fields))
	for k, v := range fields {
		switch {
		case strings.EqualFold(k, "Id"):
			return UpsertResult{}, fmt.Errorf("salesforce upsert: %w: Id in the body of an upsert", ErrInvalidArgument)
		case strings.EqualFold(k, extField):
			if v == nil || fmt.Sprint(v) != extValue {
				return UpsertResult{}, fmt.Errorf("salesforce upsert: %w: body's %s differs from the external id value", ErrInvalidArgument, k)
			}
		default:
			clean[k] = v
		}
	}
	body, err := encodeBody(OpUpsert, clean)
	if err != nil {
		return UpsertResult{}, err
	}
	resp, err := c.do(ctx, &request{op: OpUpsert, method: http.MethodPatch,
		path: c.DataPath("sobjects", object, extField, extValue), body: body},
		http.StatusCreated, http.StatusOK, http.StatusNoContent)
	if err != nil {
		return UpsertResult{}, err
	}
	res := UpsertResult{Created: resp.status == http.StatusCreated}
	if resp.status == http.StatusNoContent || len(strings.TrimSpace(string(resp.body))) == 0 {
		return res, nil
	}
	var sr saveResult
	if err := decode(OpUpsert, resp.body, &sr); err != nil {
		return UpsertResult{}, err
	}
	if !sr.Success && len(sr.Errors) > 0 {
		e := recordError(string(OpUpsert), sr.Errors)
		e.Status = resp.status
		return UpsertResult{}, e
	}
	if sr.ID != nil {
		res.ID = *sr.ID
	}
	if sr.Created != nil {
		res.Created = *sr.Created
	}
	return res, nil
}
