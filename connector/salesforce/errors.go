package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
)

// Sentinel errors, matched with errors.Is against the typed errors below.
var (
	// ErrSessionExpired matches a 401 from the data API (INVALID_SESSION_ID).
	// The client has already refreshed once when a caller sees it.
	ErrSessionExpired = errors.New("salesforce: session expired or invalid")
	// ErrNotFound matches a 404, NOT_FOUND and ENTITY_IS_DELETED.
	ErrNotFound = errors.New("salesforce: not found")
	// ErrRequestLimitExceeded matches REQUEST_LIMIT_EXCEEDED (403).
	ErrRequestLimitExceeded = errors.New("salesforce: request limit exceeded")
	// ErrMultipleMatches matches a 300 answer: an external id value matched
	// more than one record.
	ErrMultipleMatches = errors.New("salesforce: external id matches several records")
	// ErrInvalidGrant matches an OAuth invalid_grant: the refresh token,
	// authorization code or JWT was refused and the user must reconnect.
	ErrInvalidGrant = errors.New("salesforce: invalid grant")
	// ErrDuplicates matches DUPLICATES_DETECTED: a duplicate rule that
	// blocks refused the save. APIError.Matches lists the records it
	// matched.
	ErrDuplicates = errors.New("salesforce: duplicate rule refused the save")
	// ErrNoToken is for Session implementations to wrap when no healthy
	// token exists (nothing connected, or every token expired). It
	// classifies as Auth: wait for a reconnect, then retry.
	ErrNoToken = errors.New("salesforce: no usable token")
)

// Error codes the client branches on.
const (
	CodeInvalidSession       = "INVALID_SESSION_ID"
	CodeRequestLimitExceeded = "REQUEST_LIMIT_EXCEEDED"
	CodeUnableToLockRow      = "UNABLE_TO_LOCK_ROW"
	CodeNotFound             = "NOT_FOUND"
	CodeEntityIsDeleted      = "ENTITY_IS_DELETED"
	CodeServerUnavailable    = "SERVER_UNAVAILABLE"
	CodeAllOrNoneRolledBack  = "ALL_OR_NONE_OPERATION_ROLLED_BACK"
	CodeProcessingHalted     = "PROCESSING_HALTED"
	CodeDuplicatesDetected   = "DUPLICATES_DETECTED"
)

const (
	oauthCodeInvalidGrant = "invalid_grant"
	// maxErrorBody caps how much of an error answer is read.
	maxErrorBody = 64 << 10
	// nonJSONErrorMessagePrefix starts the message of an error whose body
	// was not understood (and is not echoed).
	nonJSONErrorMessagePrefix = "unrecognized error body"
)

// ErrorDetail is one error of the list Salesforce sends with a failed call.
type ErrorDetail struct {
	Code    string   // errorCode (REST) or statusCode (per-record results)
	Message string   // Salesforce's message, as sent
	Fields  []string // fields the error is about, when Salesforce names them
	// Matches lists the ids of the records a duplicate rule matched
	// (DUPLICATES_DETECTED, from duplicateResult).
	Matches []string
}

// APIError is a failed answer from the Salesforce data API. Status, Code,
// Message and Fields describe the first error Salesforce listed; Details holds
// all of them. For an error reported per record inside a 200 (sObject
// Collections) or per subrequest (composite), Status is that record's status:
// 0 for collections, the subrequest's httpStatusCode for composite.
//
// An APIError never holds a request URL, header or token.
type APIError struct {
	Status    int
	Code      string
	Message   string
	Fields    []string
	Operation string
	Details   []ErrorDetail
	// Matches holds the record ids of a 300 answer (ErrMultipleMatches),
	// or of the records a duplicate rule matched (ErrDuplicates).
	Matches []string
}

// Error describes the failure as "salesforce <op>: <status> <code>: <message>".
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("salesforce")
	if e.Operation != "" {
		b.WriteString(" ")
		b.WriteString(e.Operation)
	}
	b.WriteString(":")
	if e.Status != 0 {
		fmt.Fprintf(&b, " %d", e.Status)
	}
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if len(e.Fields) > 0 {
		fmt.Fprintf(&b, " (fields: %s)", strings.Join(e.Fields, ", "))
	}
	if n := len(e.Details); n > 1 {
		fmt.Fprintf(&b, " (and %d more)", n-1)
	}
	return b.String()
}

// Is reports whether e matches one of the package's sentinel errors.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrSessionExpired:
		return e.Status == http.StatusUnauthorized || e.Code == CodeInvalidSession
	case ErrNotFound:
		return e.Status == http.StatusNotFound || e.Code == CodeNotFound || e.Code == CodeEntityIsDeleted
	case ErrRequestLimitExceeded:
		return e.Code == CodeRequestLimitExceeded
	case ErrMultipleMatches:
		return e.Status == http.StatusMultipleChoices
	case ErrDuplicates:
		return e.HasCode(CodeDuplicatesDetected)
	}
	return false
}

// HasCode reports whether any of the listed errors carries code.
func (e *APIError) HasCode(code string) bool {
	if e.Code == code {
		return true
	}
	for _, d := range e.Details {
		if d.Code == code {
			return true
		}
	}
	return false
}

// OAuthError is a failed answer from the OAuth token, revoke or userinfo
// endpoint: {"error":"...","error_description":"..."}. It matches
// ErrInvalidGrant through errors.Is when Code is invalid_grant.
type OAuthError struct {
	Status      int
	Code        string // error
	Description string // error_description
	Operation   string
}

// Error describes the failure without any token or URL.
func (e *OAuthError) Error() string {
	s := "salesforce oauth"
	if e.Operation != "" {
		s += " " + e.Operation
	}
	s += ":"
	if e.Status != 0 {
		s += fmt.Sprintf(" %d", e.Status)
	}
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Is matches ErrInvalidGrant.
func (e *OAuthError) Is(target error) bool {
	return target == ErrInvalidGrant && e.Code == oauthCodeInvalidGrant
}

// NetworkError is a call that got no HTTP answer: connection refused or
// dropped, TLS failure, a timeout or a cancelled context. It holds the cause
// without the request URL.
type NetworkError struct {
	Operation string
	Err       error
}

// Error describes the failure as "salesforce <op>: network: <cause>".
func (e *NetworkError) Error() string {
	return fmt.Sprintf("salesforce %s: network: %v", e.Operation, e.Err)
}

// Unwrap returns the cause (e.g. context.DeadlineExceeded, a *net.OpError).
func (e *NetworkError) Unwrap() error { return e.Err }

// newNetworkError wraps a transport error, dropping the *url.Error layer that
// would echo the request URL (and with it a SOQL query or record id).
func newNetworkError(op string, err error) *NetworkError {
	if ue, ok := err.(*url.Error); ok {
		err = ue.Err
	}
	return &NetworkError{Operation: op, Err: err}
}

// Class sorts an error for the caller's retry policy.
type Class int

const (
	// NotRetryable: Salesforce refused the request itself (400 and most
	// other 4xx). Sending it again fails again; surface it and park it.
	NotRetryable Class = iota
	// Retryable: the request may succeed later: network errors, timeouts,
	// 5xx, UNABLE_TO_LOCK_ROW, REQUEST_LIMIT_EXCEEDED (see LongWait), and
	// records rolled back only because another record failed.
	Retryable
	// Auth: no usable token: 401 after the one refresh, or an OAuth grant
	// refused (invalid_grant). Wait for a healthy token; retry then.
	Auth
)

// String names the class: "retryable", "auth" or "not_retryable".
func (c Class) String() string {
	switch c {
	case Retryable:
		return "retryable"
	case Auth:
		return "auth"
	default:
		return "not_retryable"
	}
}

// Classify sorts err into Retryable, Auth or NotRetryable. A nil error and
// errors of no known kind are NotRetryable. A cancelled context counts as
// Retryable: the request was not refused, the caller gave up; callers that
// stop on cancel check ctx.Err() themselves.
//
// A 401 whose refresh failed carries both errors; the refresh failure
// decides: a refused grant (or no usable token) is Auth, while a refresh
// that got no answer, timed out or met a 5xx is Retryable, since the token
// may well be fine.
func Classify(err error) Class {
	if err == nil {
		return NotRetryable
	}
	if errors.Is(err, ErrNoToken) {
		return Auth
	}
	var oe *OAuthError
	if errors.As(err, &oe) {
		if oe.Status >= 500 || oe.Status == http.StatusTooManyRequests {
			return Retryable
		}
		return Auth
	}
	// Before *APIError: a network failure next to an APIError can only be
	// the failed refresh of a 401 (see Client.do).
	var ne *NetworkError
	var nerr net.Error
	if errors.As(err, &ne) || errors.As(err, &nerr) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return Retryable
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return classifyAPIError(ae)
	}
	return NotRetryable
}

func classifyAPIError(e *APIError) Class {
	switch {
	case e.Status == http.StatusUnauthorized || e.Code == CodeInvalidSession:
		return Auth
	case e.HasCode(CodeRequestLimitExceeded), e.HasCode(CodeUnableToLockRow),
		e.Code == CodeServerUnavailable,
		e.Code == CodeAllOrNoneRolledBack, e.Code == CodeProcessingHalted:
		return Retryable
	case e.Status >= 500, e.Status == http.StatusTooManyRequests:
		return Retryable
	}
	return NotRetryable
}

// LongWait reports whether err is Salesforce's daily API quota being spent
// (REQUEST_LIMIT_EXCEEDED "TotalRequests Limit exceeded."): retry after
// minutes or hours, not seconds. The short-lived concurrent-request variant
// (ConcurrentPerOrgLongTxn) is not a long wait.
func LongWait(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) || !ae.HasCode(CodeRequestLimitExceeded) {
		return false
	}
	msg := ae.Message
	for _, d := range ae.Details {
		if d.Code == CodeRequestLimitExceeded {
			msg = d.Message
			break
		}
	}
	return !strings.Contains(strings.ToLower(msg), "concurrent")
}

// wireError is the union of the keys Salesforce uses in error bodies: REST
// ({errorCode,message,fields}), per-record results ({statusCode,message,
// fields}) and OAuth ({error,error_description}).
type wireError struct {
	ErrorCode        string   `json:"errorCode"`
	StatusCode       string   `json:"statusCode"`
	Message          string   `json:"message"`
	Fields           []string `json:"fields"`
	Error            string   `json:"error"`
	ErrorDescription string   `json:"error_description"`
	// DuplicateResult comes with DUPLICATES_DETECTED (Salesforce's
	// DuplicateError): the rule's matches, record by record.
	DuplicateResult *struct {
		MatchResults []struct {
			MatchRecords []struct {
				Record struct {
					ID string `json:"Id"`
				} `json:"record"`
			} `json:"matchRecords"`
		} `json:"matchResults"`
	} `json:"duplicateResult"`
}

func (w wireError) detail() ErrorDetail {
	d := ErrorDetail{Code: w.ErrorCode, Message: w.Message, Fields: w.Fields}
	if w.DuplicateResult != nil {
		for _, mr := range w.DuplicateResult.MatchResults {
			for _, rec := range mr.MatchRecords {
				if id := rec.Record.ID; id != "" && !slices.Contains(d.Matches, id) {
					d.Matches = append(d.Matches, id)
				}
			}
		}
	}
	if d.Code == "" {
		d.Code = w.StatusCode
	}
	if d.Code == "" {
		d.Code = w.Error
	}
	if d.Message == "" {
		d.Message = w.ErrorDescription
	}
	return d
}

func (w wireError) empty() bool {
	return w.ErrorCode == "" && w.StatusCode == "" && w.Message == "" &&
		w.Error == "" && w.ErrorDescription == "" && len(w.Fields) == 0
}

// newAPIError turns any failed data-API answer into an *APIError. body is at
// most maxErrorBody bytes (the caller reads it through io.LimitReader). It
// understands the three body shapes of Salesforce (a REST error array, a
// per-record error object, an OAuth error object), a single object of either
// kind, and the 300 list of record URLs. Anything else (HTML, an empty 502)
// yields an error with the status and no echo of the body.
func newAPIError(op string, status int, body []byte) *APIError {
	e := &APIError{Status: status, Operation: op}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		e.Message = http.StatusText(status)
		return e
	}
	var details []ErrorDetail
	switch trimmed[0] {
	case '[':
		var list []wireError
		if err := json.Unmarshal(trimmed, &list); err == nil {
			for _, w := range list {
				if !w.empty() {
					details = append(details, w.detail())
				}
			}
			break
		}
		// A 300 answer is a list of record URLs, not of errors.
		var urls []string
		if err := json.Unmarshal(trimmed, &urls); err == nil {
			for _, u := range urls {
				if id := path.Base(u); id != "." && id != "/" && id != "" {
					e.Matches = append(e.Matches, id)
				}
			}
			if status == http.StatusMultipleChoices || len(urls) > 0 {
				e.Message = fmt.Sprintf("external id value matches %d records", len(urls))
				return e
			}
		}
	case '{':
		var w wireError
		if err := json.Unmarshal(trimmed, &w); err == nil && !w.empty() {
			details = append(details, w.detail())
		}
	}
	if len(details) == 0 {
		e.Message = fmt.Sprintf("%s (%s, %d bytes)", nonJSONErrorMessagePrefix, httpStatusText(status), len(body))
		return e
	}
	e.Details = details
	e.Code, e.Message, e.Fields = details[0].Code, details[0].Message, details[0].Fields
	e.Matches = duplicateMatches(details)
	return e
}

// duplicateMatches gathers the records duplicate rules matched, in order,
// each once.
func duplicateMatches(details []ErrorDetail) []string {
	var out []string
	for _, d := range details {
		for _, id := range d.Matches {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out
}

// newOAuthError turns a failed OAuth endpoint answer into an *OAuthError.
func newOAuthError(op string, status int, body []byte) *OAuthError {
	e := &OAuthError{Status: status, Operation: op}
	var w wireError
	if err := json.Unmarshal(bytes.TrimSpace(body), &w); err == nil {
		d := w.detail()
		e.Code, e.Description = d.Code, d.Message
	} else {
		var list []wireError
		if err := json.Unmarshal(bytes.TrimSpace(body), &list); err == nil && len(list) > 0 {
			d := list[0].detail()
			e.Code, e.Description = d.Code, d.Message
		}
	}
	if e.Code == "" && e.Description == "" {
		e.Description = httpStatusText(status)
	}
	return e
}

// recordError builds the typed error of one failed record of an sObject
// Collections answer.
func recordError(op string, errs []wireError) *APIError {
	e := &APIError{Operation: op}
	for _, w := range errs {
		e.Details = append(e.Details, w.detail())
	}
	if len(e.Details) == 0 {
		e.Message = "record failed without an error"
		return e
	}
	e.Code, e.Message, e.Fields = e.Details[0].Code, e.Details[0].Message, e.Details[0].Fields
	e.Matches = duplicateMatches(e.Details)
	return e
}

func httpStatusText(status int) string {
	if t := http.StatusText(status); t != "" {
		return t
	}
	return fmt.Sprintf("status %d", status)
}
