package sfsim

import (
	"fmt"
	"net/http"
	"strings"
)

// Error is one Salesforce REST error: the HTTP status it is answered with,
// its errorCode, message and (for field errors) the fields. Fields is nil
// when Salesforce leaves the key out and empty when it sends [].
type Error struct {
	StatusCode int
	Code       string
	Message    string
	Fields     []string
	// Duplicate is the duplicateResult of a DUPLICATES_DETECTED error.
	Duplicate jobj
}

func (e *Error) Error() string {
	if len(e.Fields) > 0 {
		return fmt.Sprintf("%s: %s (fields %s)", e.Code, e.Message, strings.Join(e.Fields, ","))
	}
	return e.Code + ": " + e.Message
}

// MarshalJSON writes the REST form {"message","errorCode","fields"}.
func (e *Error) MarshalJSON() ([]byte, error) {
	var o jobj
	if e.Duplicate != nil {
		o = append(o, kv{"duplicateResult", e.Duplicate})
	}
	o = append(o, kv{"message", e.Message}, kv{"errorCode", e.Code})
	if e.Fields != nil {
		o = append(o, kv{"fields", e.Fields})
	}
	return o.MarshalJSON()
}

// recordError is the per-record form used by sObject Collections:
// statusCode instead of errorCode.
func (e *Error) recordError() jobj {
	fields := e.Fields
	if fields == nil {
		fields = []string{}
	}
	o := jobj{{"statusCode", e.Code}, {"message", e.Message}, {"fields", fields}}
	if e.Duplicate != nil {
		o = append(o, kv{"duplicateResult", e.Duplicate})
	}
	return o
}

// Errors is several errors answered together (e.g. a record with a missing
// required field and a value too long).
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

func (es Errors) status() int {
	if len(es) == 0 {
		return http.StatusBadRequest
	}
	return es[0].StatusCode
}

// badRequest is a 400 with the given code; fields are sent when given.
func badRequest(code, msg string, fields ...string) *Error {
	e := &Error{StatusCode: http.StatusBadRequest, Code: code, Message: msg}
	if len(fields) > 0 {
		e.Fields = fields
	}
	return e
}

// errNotFoundMessage is Salesforce's text for a missing resource.
const errNotFoundMessage = "The requested resource does not exist"

func errNotFound() *Error {
	return &Error{StatusCode: http.StatusNotFound, Code: "NOT_FOUND", Message: errNotFoundMessage}
}

func errBadExternalIDField(segment string) *Error {
	return &Error{StatusCode: http.StatusNotFound, Code: "NOT_FOUND",
		Message: "Provided external ID field does not exist or is not accessible: " + segment}
}

func errInvalidSession() *Error {
	return &Error{StatusCode: http.StatusUnauthorized, Code: "INVALID_SESSION_ID", Message: "Session expired or invalid"}
}

func errRequestLimit() *Error {
	return &Error{StatusCode: http.StatusForbidden, Code: "REQUEST_LIMIT_EXCEEDED", Message: "TotalRequests Limit exceeded."}
}

func errMethodNotAllowed(method string, allowed string) *Error {
	return &Error{StatusCode: http.StatusMethodNotAllowed, Code: "METHOD_NOT_ALLOWED",
		Message: fmt.Sprintf("HTTP Method '%s' not allowed. Allowed are %s", method, allowed)}
}

func errInvalidType(name string) *Error {
	// A REST path with an unknown sObject answers 404 NOT_FOUND (fixture
	// error_not_found_resource.json); INVALID_TYPE is what SOQL, SOSL and
	// the collections answer.
	return &Error{StatusCode: http.StatusBadRequest, Code: "INVALID_TYPE", Message: invalidTypeMessage(name)}
}

func invalidTypeMessage(name string) string {
	return fmt.Sprintf("sObject type '%s' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", name)
}

func errUnknownField(field, object string) *Error {
	// Fixture error_invalid_field_on_write.json: no "fields" key.
	return &Error{StatusCode: http.StatusBadRequest, Code: "INVALID_FIELD",
		Message: fmt.Sprintf("No such column '%s' on sobject of type %s", field, object)}
}

func errJSON(msg string) *Error {
	return &Error{StatusCode: http.StatusBadRequest, Code: "JSON_PARSER_ERROR", Message: msg}
}
