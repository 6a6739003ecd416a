package outbox

import (
	"errors"
	"strings"

	"github.com/carebridge/carebridge/connector/salesforce"
)

// ReasonRecordDeleted is the code of the error recorded on the entries of
// a case whose Salesforce case was deleted (SPEC §11); the outbox API
// shows it as the error's code.
const ReasonRecordDeleted = "salesforce_record_deleted"

// errRecordDeleted marks the entries of a case whose Salesforce case was
// deleted: nothing more is sent for that case.
var errRecordDeleted = errors.New("the Salesforce case was deleted; nothing more is sent for this case")

// errorText is the message recorded on an entry: Salesforce's code and
// message when Salesforce refused, else the error.
func errorText(err error) string {
	if errors.Is(err, errRecordDeleted) {
		return ReasonRecordDeleted + ": " + errRecordDeleted.Error()
	}
	var ae *salesforce.APIError
	if errors.As(err, &ae) && ae.Code != "" {
		s := ae.Code + ": " + ae.Message
		if len(ae.Fields) > 0 {
			s += " (fields: " + strings.Join(ae.Fields, ", ") + ")"
		}
		return s
	}
	return err.Error()
}
