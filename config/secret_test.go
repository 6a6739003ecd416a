package config_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/carebridge/carebridge/config"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// logJSON logs one attribute through slog's JSON handler and returns the line.
func logJSON(t *testing.T, key string, v any) string {
	t.Helper()
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("msg", key, v)
	return buf.String()
}

func TestSecretRedaction(t *testing.T) {
	const value = "hunter2-s3cret"
	s := config.Secret(value)
	type holder struct {
		Name   string        `json:"name" yaml:"name"`
		Secret config.Secret `json:"secret" yaml:"secret"`
		Ptr    *config.Secret
	}
	h := holder{Name: "n", Secret: s, Ptr: &s}

	jsonBytes, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	yamlBytes, err := yaml.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":           fmt.Sprintf("%v", s),
		"%s":           fmt.Sprintf("%s", s),
		"%q":           fmt.Sprintf("%q", s),
		"%x":           fmt.Sprintf("%x", s),
		"%X":           fmt.Sprintf("%X", s),
		"%d":           fmt.Sprintf("%d", s),
		"%#v":          fmt.Sprintf("%#v", s),
		"%10.3s":       fmt.Sprintf("%10.3s", s),
		"struct %+v":   fmt.Sprintf("%+v", h),
		"struct %#v":   fmt.Sprintf("%#v", h),
		"Print":        fmt.Sprint(s, h),
		"String":       s.String(),
		"error wrap":   fmt.Errorf("login with %v: %w", s, fmt.Errorf("x")).Error(),
		"slog JSON":    logJSON(t, "secret", s),
		"slog struct":  logJSON(t, "holder", h),
		"slog text":    textLog(s),
		"json.Marshal": string(jsonBytes),
		"yaml.Marshal": string(yamlBytes),
	}
	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			if strings.Contains(out, value) || strings.Contains(out, "hunter") {
				t.Errorf("shows the secret: %s", out)
			}
			if !strings.Contains(out, "[redacted]") {
				t.Errorf("does not say [redacted]: %s", out)
			}
		})
	}
	if got := outputs["slog JSON"]; !strings.Contains(got, `"secret":"[redacted]"`) {
		t.Errorf("slog JSON = %s", got)
	}
	if got := outputs["json.Marshal"]; got != `{"name":"n","secret":"[redacted]","Ptr":"[redacted]"}` {
		t.Errorf("json.Marshal = %s", got)
	}
	if s.Reveal() != value {
		t.Errorf("Reveal() = %q, want %q", s.Reveal(), value)
	}
}

func textLog(v any) string {
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("msg", "secret", v)
	return buf.String()
}
