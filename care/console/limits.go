package console

import "github.com/carebridge/carebridge/care"

// bootLimits are the configured limits (config limits:) the page's inputs
// carry as maxlength and counters, so an agent is stopped while typing,
// not refused after sending. The API enforces the same numbers.
type bootLimits struct {
	MessageTextBytes int `json:"message_text_bytes"`
	NameChars        int `json:"name_chars"`
	EmailChars       int `json:"email_chars"`
	IDBytes          int `json:"id_bytes"`
	FieldNameChars   int `json:"field_name_chars"`
	FieldValueBytes  int `json:"field_value_bytes"`
}

// limits are the limits of the API the console is registered on (the
// defaults before Register).
func (c *Console) limits() bootLimits {
	l := care.DefaultLimits()
	if c.api != nil {
		l = c.api.Limits()
	}
	return bootLimits{
		MessageTextBytes: l.MessageTextBytes, NameChars: l.NameChars, EmailChars: l.EmailChars,
		IDBytes: l.IDBytes, FieldNameChars: l.FieldNameChars, FieldValueBytes: l.FieldValueBytes,
	}
}
