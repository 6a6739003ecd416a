package connector

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/tokens"
	"github.com/carebridge/carebridge/mapping"
)

// DuplicateError is a blocking Salesforce duplicate rule refusing a new
// record (DUPLICATES_DETECTED). The API answers it 409
// salesforce_duplicate with Matches, so the agent can link one of those
// records instead.
type DuplicateError struct {
	Message string   // for the caller: what was refused and why
	Matches []string // the ids of the records the rule matched
	Err     error    // Salesforce's error
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("%s (matches: %s)", e.Message, strings.Join(e.Matches, ", "))
}

func (e *DuplicateError) Unwrap() error { return e.Err }

// sfError turns a Salesforce failure into the API's error: 503 when no
// token is healthy, a DuplicateError when a duplicate rule blocked the
// record, 422 with Salesforce's errors when it refused the record, 502 when
// it could not be reached. Care errors and refused overrides
// (*mapping.NotOverridableError) pass as they are.
func sfError(op string, err error) error {
	if err == nil {
		return nil
	}
	var ce *care.Error
	var no *mapping.NotOverridableError
	var de *DuplicateError
	if errors.As(err, &ce) || errors.As(err, &no) || errors.As(err, &de) {
		return err
	}
	if errors.Is(err, tokens.ErrNoHealthyToken) || salesforce.Classify(err) == salesforce.Auth {
		return &care.Error{Code: care.CodeConnectionExpired, Message: "the Salesforce connection has expired: a supervisor must connect it again"}
	}
	var ae *salesforce.APIError
	if errors.As(err, &ae) && errors.Is(err, salesforce.ErrDuplicates) {
		return &DuplicateError{Message: fmt.Sprintf("Salesforce refused to %s: %s", op, ae.Message), Matches: ae.Matches, Err: err}
	}
	if errors.As(err, &ae) && salesforce.Classify(err) == salesforce.NotRetryable {
		details := make([]map[string]any, 0, len(ae.Details))
		for _, d := range ae.Details {
			details = append(details, map[string]any{"errorCode": d.Code, "message": d.Message, "fields": d.Fields})
		}
		if len(details) == 0 {
			details = append(details, map[string]any{"errorCode": ae.Code, "message": ae.Message, "fields": ae.Fields})
		}
		return &care.Error{Code: care.CodeSalesforceRejected, Message: fmt.Sprintf("Salesforce refused to %s: %s", op, ae.Message), Details: details}
	}
	return &care.Error{Code: care.CodeSalesforceUnavailable, Message: fmt.Sprintf("could not %s: Salesforce did not answer (%v)", op, err)}
}

// renderError is the API's error for a mapping that could not render a
// record: refused overrides as they are (400 field_not_overridable), any
// other problem as invalid_argument.
func renderError(what string, err error) error {
	var no *mapping.NotOverridableError
	if errors.As(err, &no) {
		return no
	}
	return care.Errorf(care.CodeInvalidArgument, "render the %s: %v", what, err)
}

// checkOverrides refuses, before any Salesforce call, overrides of fields
// the section does not let callers set (Render checks again with describe,
// which also knows lookups by type).
func checkOverrides(obj mapping.Object, sec *mapping.ObjectMapping, overrides map[string]any) error {
	var refused []string
	for name := range overrides {
		if !sec.CanOverrideWith(name, nil) {
			refused = append(refused, name)
		}
	}
	if refused == nil {
		return nil
	}
	slices.Sort(refused)
	return &mapping.NotOverridableError{Section: obj, Fields: refused}
}
