package salesforce

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/carebridge/carebridge/connector/testworld/expect"
)

func TestNewAPIErrorFixtures(t *testing.T) {
	tests := []struct {
		fixture string
		status  int
		code    string
		message string
		fields  []string
		class   Class
		is      []error
		isNot   []error
	}{
		{"error_invalid_session.json", 401, "INVALID_SESSION_ID", "Session expired or invalid", nil, Auth,
			[]error{ErrSessionExpired}, []error{ErrNotFound, ErrRequestLimitExceeded}},
		{"error_not_found_resource.json", 404, "NOT_FOUND", "The requested resource does not exist", nil, NotRetryable,
			[]error{ErrNotFound}, []error{ErrSessionExpired}},
		{"error_not_found_bad_id_in_path.json", 404, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: 23foo", nil, NotRetryable,
			[]error{ErrNotFound}, nil},
		{"error_invalid_field_on_write.json", 400, "INVALID_FIELD", "No such column 'foo' on sobject of type Bar", nil, NotRetryable,
			nil, []error{ErrNotFound, ErrSessionExpired, ErrMultipleMatches}},
		{"error_upsert_unknown_external_id_field.json", 404, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: Namez", nil, NotRetryable,
			[]error{ErrNotFound}, nil},
		{"error_malformed_search.json", 400, "MALFORMED_SEARCH", "No search term found. The search term must be enclosed in braces.", nil, NotRetryable,
			nil, []error{ErrNotFound}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			e := newAPIError("query", tt.status, fixture(t, tt.fixture))
			if e.Status != tt.status || e.Code != tt.code || e.Message != tt.message || !reflect.DeepEqual(e.Fields, tt.fields) {
				t.Errorf("got status=%d code=%q message=%q fields=%v", e.Status, e.Code, e.Message, e.Fields)
			}
			if e.Operation != "query" {
				t.Errorf("operation %q", e.Operation)
			}
			if len(e.Details) != 1 {
				t.Errorf("details %v", e.Details)
			}
			var err error = fmt.Errorf("push: %w", e)
			if got := Classify(err); got != tt.class {
				t.Errorf("Classify = %v, want %v", got, tt.class)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae != e {
				t.Errorf("errors.As failed")
			}
			for _, s := range tt.is {
				if !errors.Is(err, s) {
					t.Errorf("errors.Is(%v) = false", s)
				}
			}
			for _, s := range tt.isNot {
				if errors.Is(err, s) {
					t.Errorf("errors.Is(%v) = true", s)
				}
			}
			if !strings.Contains(e.Error(), tt.code) || !strings.Contains(e.Error(), tt.message) {
				t.Errorf("Error() = %q", e.Error())
			}
		})
	}
}

func TestNewAPIErrorShapes(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		code    string
		message string
		fields  []string
		details int
		class   Class
	}{
		{"rest array with fields", 400, `[{"message":"Required fields are missing: [LastName]","errorCode":"REQUIRED_FIELD_MISSING","fields":["LastName"]}]`,
			"REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", []string{"LastName"}, 1, NotRetryable},
		{"several errors", 400, `[{"message":"a","errorCode":"STRING_TOO_LONG","fields":["Subject"]},{"message":"b","errorCode":"INVALID_EMAIL_ADDRESS","fields":["Email"]}]`,
			"STRING_TOO_LONG", "a", []string{"Subject"}, 2, NotRetryable},
		{"lock row", 400, `[{"message":"unable to obtain exclusive access to this record","errorCode":"UNABLE_TO_LOCK_ROW","fields":[]}]`,
			"UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", []string{}, 1, Retryable},
		{"lock row second", 400, `[{"message":"x","errorCode":"FIELD_CUSTOM_VALIDATION_EXCEPTION"},{"message":"y","errorCode":"UNABLE_TO_LOCK_ROW"}]`,
			"FIELD_CUSTOM_VALIDATION_EXCEPTION", "x", nil, 2, Retryable},
		{"daily limit", 403, `[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`,
			"REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", nil, 1, Retryable},
		{"per-record object", 400, `{"statusCode":"DUPLICATE_VALUE","message":"duplicate value found","fields":["Ext__c"]}`,
			"DUPLICATE_VALUE", "duplicate value found", []string{"Ext__c"}, 1, NotRetryable},
		{"single rest object", 500, `{"errorCode":"UNKNOWN_EXCEPTION","message":"An unexpected error occurred."}`,
			"UNKNOWN_EXCEPTION", "An unexpected error occurred.", nil, 1, Retryable},
		{"oauth shape", 400, `{"error":"invalid_grant","error_description":"expired access/refresh token"}`,
			"invalid_grant", "expired access/refresh token", nil, 1, NotRetryable},
		{"server unavailable code", 400, `[{"message":"busy","errorCode":"SERVER_UNAVAILABLE"}]`,
			"SERVER_UNAVAILABLE", "busy", nil, 1, Retryable},
		{"html 503", 503, `<html><body>Down for maintenance at https://status.salesforce.com/x?token=abc</body></html>`,
			"", "", nil, 0, Retryable},
		{"empty 502", 502, ``, "", "Bad Gateway", nil, 0, Retryable},
		{"json garbage 400", 400, `{"unexpected":true}`, "", "", nil, 0, NotRetryable},
		{"forbidden no code", 403, `[{"message":"insufficient access rights on object id","errorCode":"INSUFFICIENT_ACCESS"}]`,
			"INSUFFICIENT_ACCESS", "insufficient access rights on object id", nil, 1, NotRetryable},
		{"405", 405, `[{"message":"HTTP Method 'PUT' not allowed. Allowed are HEAD,GET,PATCH,DELETE","errorCode":"METHOD_NOT_ALLOWED"}]`,
			"METHOD_NOT_ALLOWED", "HTTP Method 'PUT' not allowed. Allowed are HEAD,GET,PATCH,DELETE", nil, 1, NotRetryable},
		{"429", 429, ``, "", "Too Many Requests", nil, 0, Retryable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAPIError("update", tt.status, []byte(tt.body))
			if e.Code != tt.code || e.Status != tt.status || !reflect.DeepEqual(e.Fields, tt.fields) || len(e.Details) != tt.details {
				t.Errorf("got code=%q status=%d fields=%#v details=%d", e.Code, e.Status, e.Fields, len(e.Details))
			}
			if tt.message != "" && e.Message != tt.message {
				t.Errorf("message %q, want %q", e.Message, tt.message)
			}
			if got := Classify(e); got != tt.class {
				t.Errorf("Classify = %v, want %v", got, tt.class)
			}
			if strings.Contains(e.Error(), "https://") || strings.Contains(e.Error(), "token=") {
				t.Errorf("error echoes the body's URL: %q", e.Error())
			}
		})
	}
}

func TestMultipleMatches(t *testing.T) {
	e := newAPIError("upsert", 300, fixture(t, "upsert_multiple_matches_300.json"))
	if !errors.Is(e, ErrMultipleMatches) {
		t.Fatal("not ErrMultipleMatches")
	}
	if !reflect.DeepEqual(e.Matches, []string{"foo", "bar"}) {
		t.Errorf("matches %v", e.Matches)
	}
	if Classify(e) != NotRetryable {
		t.Errorf("class %v", Classify(e))
	}
	if strings.Contains(e.Error(), "/services/data") {
		t.Errorf("error echoes URLs: %q", e.Error())
	}
}

func TestLongWait(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"daily quota", newAPIError("query", 403, []byte(`[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`)), true},
		{"concurrent", newAPIError("query", 403, []byte(`[{"message":"ConcurrentPerOrgLongTxn Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`)), false},
		{"lock", newAPIError("query", 400, []byte(`[{"message":"x","errorCode":"UNABLE_TO_LOCK_ROW"}]`)), false},
		{"wrapped quota", fmt.Errorf("push: %w", newAPIError("query", 403, []byte(`[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`))), true},
		{"network", &NetworkError{Operation: "query", Err: context.DeadlineExceeded}, false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LongWait(tt.err); got != tt.want {
				t.Errorf("LongWait = %v, want %v", got, tt.want)
			}
		})
	}
	if !errors.Is(tests[0].err, ErrRequestLimitExceeded) {
		t.Error("quota error is not ErrRequestLimitExceeded")
	}
}

func TestClassifyOther(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Class
	}{
		{"nil", nil, NotRetryable},
		{"unknown", errors.New("boom"), NotRetryable},
		{"invalid argument", fmt.Errorf("x: %w", ErrInvalidArgument), NotRetryable},
		{"network", &NetworkError{Operation: "create", Err: errors.New("connection refused")}, Retryable},
		{"no token from the session", fmt.Errorf("salesforce query: get token: %w", ErrNoToken), Auth},
		{"static session cannot refresh", fmt.Errorf("x: %w", ErrNoRefresh), Auth},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), Retryable},
		{"canceled", context.Canceled, Retryable},
		{"oauth invalid_grant", &OAuthError{Status: 400, Code: "invalid_grant"}, Auth},
		{"oauth invalid_client", &OAuthError{Status: 400, Code: "invalid_client"}, Auth},
		{"oauth 503", &OAuthError{Status: 503}, Retryable},
		{"401 after failed refresh", fmt.Errorf("%w (refresh failed: %w)", newAPIError("query", 401, []byte(`[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`)), &OAuthError{Status: 400, Code: "invalid_grant"}), Auth},
		{"collections rolled back", recordError("collections", []wireError{{StatusCode: CodeAllOrNoneRolledBack, Message: "Record rolled back"}}), Retryable},
		{"collections required", recordError("collections", []wireError{{StatusCode: "REQUIRED_FIELD_MISSING"}}), NotRetryable},
		{"composite halted", newAPIError("composite", 400, []byte(`[{"errorCode":"PROCESSING_HALTED","message":"The transaction was rolled back since another operation in the same transaction failed."}]`)), Retryable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.err); got != tt.want {
				t.Errorf("Classify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOAuthErrorFixtures(t *testing.T) {
	tests := []struct {
		fixture, code, desc string
	}{
		{"oauth_refresh_error_expired.json", "invalid_grant", "expired access/refresh token"},
		{"oauth_error_authentication_failure.json", "invalid_grant", "authentication failure - Invalid Password"},
		{"oauth_jwt_error_audience_invalid.json", "invalid_grant", "audience is invalid"},
		{"oauth_jwt_error_user_not_approved.json", "invalid_grant", "user hasn't approved this consumer"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			e := newOAuthError("token", 400, fixture(t, tt.fixture))
			if e.Code != tt.code || e.Description != tt.desc || e.Status != 400 {
				t.Errorf("got %+v", e)
			}
			if !errors.Is(e, ErrInvalidGrant) || Classify(e) != Auth {
				t.Errorf("not an auth invalid_grant")
			}
		})
	}
	if errors.Is(&OAuthError{Code: "invalid_client"}, ErrInvalidGrant) {
		t.Error("invalid_client matched ErrInvalidGrant")
	}
}

func TestNetworkErrorDropsURL(t *testing.T) {
	var logs logBuffer
	c := New(testHTTPClient(), StaticSession{T: Token{AccessToken: testAccess, InstanceURL: "http://127.0.0.1:1"}}, Options{Logger: logs.Logger()})
	_, err := c.Query(context.Background(), "SELECT Id FROM Contact WHERE Email = 'secret@example.com'")
	var ne *NetworkError
	if !errors.As(err, &ne) {
		t.Fatalf("err %v is not a NetworkError", err)
	}
	if Classify(err) != Retryable {
		t.Errorf("class %v", Classify(err))
	}
	expect.NoSecret(t, "the error", err.Error(), "secret@example.com", "SELECT", "/services/data", testAccess)
	// The debug log names the failure, but not the query.
	if !strings.Contains(logs.String(), "salesforce request failed") {
		t.Errorf("no debug line for the failure: %s", logs.String())
	}
	expect.NoSecret(t, "the debug log", logs.String(), "secret", "SELECT", testAccess)
}

func FuzzNewAPIError(f *testing.F) {
	for _, name := range []string{
		"error_invalid_session.json", "error_not_found_resource.json", "error_invalid_field_on_write.json",
		"error_malformed_search.json", "upsert_multiple_matches_300.json", "oauth_refresh_error_expired.json",
	} {
		f.Add(400, fixture(f, name))
	}
	f.Add(300, []byte(`["/services/data/v62.0/sobjects/Case/500"]`))
	f.Add(503, []byte(`<html>down</html>`))
	f.Add(200, []byte(`[{"statusCode":"X","fields":null}]`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if len(body) > maxErrorBody {
			body = body[:maxErrorBody]
		}
		e := newAPIError("query", status, body)
		if e == nil || e.Status != status || e.Operation != "query" {
			t.Fatalf("bad error %#v", e)
		}
		if len(e.Details) > 0 && (e.Code != e.Details[0].Code || e.Message != e.Details[0].Message) {
			t.Fatalf("first detail not promoted: %#v", e)
		}
		msg := e.Error()
		if !strings.HasPrefix(msg, "salesforce query:") {
			t.Fatalf("Error() = %q", msg)
		}
		// A body the parser did not understand is never echoed.
		if len(e.Details) == 0 && e.Matches == nil && len(body) > 0 && strings.HasPrefix(e.Message, nonJSONErrorMessagePrefix) {
			if b := strings.TrimSpace(string(body)); len(b) > 8 && utf8.ValidString(b) && strings.Contains(msg, b) {
				t.Fatalf("body echoed: %q", msg)
			}
		}
		_ = Classify(e)
		_ = LongWait(e)
		_ = errors.Is(e, ErrNotFound)
		oe := newOAuthError("token", status, body)
		if oe.Status != status {
			t.Fatalf("oauth status %d", oe.Status)
		}
		_ = oe.Error()
	})
}

func TestAPIErrorIsWithHTTPStatus(t *testing.T) {
	e := &APIError{Status: http.StatusNotFound}
	if !errors.Is(e, ErrNotFound) {
		t.Error("404 without code is not ErrNotFound")
	}
	e = &APIError{Code: CodeEntityIsDeleted, Status: 400}
	if !errors.Is(e, ErrNotFound) {
		t.Error("ENTITY_IS_DELETED is not ErrNotFound")
	}
}
