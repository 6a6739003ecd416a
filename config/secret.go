package config

import (
	"fmt"
	"log/slog"
)

// redacted is what a Secret prints, logs and marshals to.
const redacted = "[redacted]"

// Secret is a string that never shows itself: fmt (every verb), slog, JSON,
// YAML and text marshalling all give "[redacted]". Reveal returns the value
// for the one place that needs it.
//
// One gap: encoding/json writes a map key of a string type as is, so never
// use a Secret as a map key. Struct fields, values and pointers are safe.
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s == "" }

// String implements fmt.Stringer.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer.
func (s Secret) GoString() string { return `config.Secret("` + redacted + `")` }

// Format implements fmt.Formatter so that no verb (%d, %x, %q...) prints
// the value.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(redacted))
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler (XML, flag printing and
// other text encoders).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// MarshalYAML implements yaml.Marshaler.
func (s Secret) MarshalYAML() (any, error) { return redacted, nil }
