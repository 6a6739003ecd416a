package care

import (
	"errors"
	"fmt"
)

// Code is a machine-readable error code, as the API answers it.
type Code string

// Error codes of the Care domain. The HTTP adapter maps each to a status.
const (
	CodeInvalidArgument    Code = "invalid_argument"
	CodeTooLarge           Code = "too_large" // a value over its limit (Limits)
	CodeNotFound           Code = "not_found"
	CodeForbidden          Code = "forbidden"
	CodeNotAssigned        Code = "not_assigned"
	CodeProfileLocked      Code = "profile_locked"
	CodeCaseUnassigned     Code = "case_unassigned"
	CodeInvalidTransition  Code = "invalid_transition"
	CodeNoProfile          Code = "no_profile"
	CodeLockedToSalesforce Code = "locked_to_salesforce"
	CodeOpenCaseExists     Code = "open_case_exists"
	CodeConflict           Code = "conflict"

	// Salesforce escalation codes.
	CodeContactNotFound       Code = "contact_not_found"
	CodeContactNotLinked      Code = "contact_not_linked"
	CodeAlreadyEscalated      Code = "already_escalated"
	CodeConversationTooOld    Code = "conversation_too_old"
	CodeConnectionExpired     Code = "salesforce_connection_expired"
	CodeSalesforceRejected    Code = "salesforce_rejected"
	CodeSalesforceUnavailable Code = "salesforce_unavailable"
	CodeMappingNotConfigured  Code = "mapping_not_configured"
)

// Error is a domain error: a code and a message safe to show the caller.
type Error struct {
	Code    Code
	Message string
	// Details, when set, is shown to the caller inside the error (e.g.
	// Salesforce's own errors of a rejected record).
	Details any
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Errorf builds a domain error.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of a domain error in err's chain, or "" when
// err is not a domain error (an internal one).
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// IsNotFound reports whether err says something does not exist.
func IsNotFound(err error) bool { return ErrorCode(err) == CodeNotFound }
