package config_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/config"
)

// hash is a valid token_sha256 (of "alice-demo-token").
const hash = "bba775a1794a2ccaa524798e32cea98187c9a32d80433d760a92d449bfddff66"

// same reports whether two configs hold the same exported values.
func same(a, b config.Config) bool {
	// Compare through a copy of the exported fields only: unexported
	// fields keep the environment's secrets.
	strip := func(c config.Config) config.Config {
		return config.Config{
			Listen: c.Listen, PublicURL: c.PublicURL, DataDir: c.DataDir,
			LogLevel: c.LogLevel, MappingFile: c.MappingFile, Care: c.Care,
			Auth: c.Auth, Salesforce: c.Salesforce, Limits: c.Limits, Path: c.Path,
		}
	}
	return reflect.DeepEqual(strip(a), strip(b))
}

func mustParse(t *testing.T, name, data string, environ []string) *config.Config {
	t.Helper()
	c, err := config.Parse(name, []byte(data), environ)
	if err != nil {
		t.Fatalf("Parse: unexpected error:\n%v", err)
	}
	return c
}

func TestDefault(t *testing.T) {
	d := config.Default()
	want := config.Config{
		Listen:    "127.0.0.1:8080",
		PublicURL: "http://127.0.0.1:8080",
		DataDir:   "./carebridge-data",
		LogLevel:  "info",
		Care:      config.Care{GracePeriod: 24 * time.Hour},
		Limits: config.Limits{MessageTextBytes: 65536, NameChars: 255, Attachments: 20, AttachmentURLChars: 2048,
			CaseFields: 50, FieldValueBytes: 4096, Mentions: 20},
		Salesforce: config.Salesforce{
			Environment:            "production",
			APIVersion:             "62.0",
			PollInterval:           30 * time.Second,
			KeepaliveInterval:      6 * time.Hour,
			BackgroundBudget:       0.9,
			EmbedFrameAncestors:    []string{"https://*.lightning.force.com", "https://*.my.salesforce.com", "https://*.vf.force.com"},
			ChangeEvents:           "pubsub",
			PubSubURL:              "api.pubsub.salesforce.com:7443",
			PollIntervalWithEvents: 5 * time.Minute,
		},
	}
	if !same(d, want) {
		t.Fatalf("Default() = %+v\nwant %+v", d, want)
	}
	// Default hands out fresh slices: a caller's change does not leak.
	d.Salesforce.EmbedFrameAncestors[0] = "changed"
	if got := config.Default().Salesforce.EmbedFrameAncestors[0]; got != "https://*.lightning.force.com" {
		t.Fatalf("Default shares its slice: got %q", got)
	}

	c, err := config.Load("", nil)
	if err != nil {
		t.Fatalf("Load(\"\"): %v", err)
	}
	if !same(*c, config.Default()) || c.Path != "" {
		t.Fatalf("Load(\"\") = %+v, want the defaults", *c)
	}
	if got, want := c.LoginURL(), "https://login.salesforce.com"; got != want {
		t.Errorf("LoginURL() = %q, want %q", got, want)
	}
	if got, want := c.RedirectURL(), "http://127.0.0.1:8080/oauth/salesforce/callback"; got != want {
		t.Errorf("RedirectURL() = %q, want %q", got, want)
	}
}

func TestEmptyFilesKeepDefaults(t *testing.T) {
	for name, data := range map[string]string{
		"empty":              "",
		"comments only":      "# nothing here\n  # indented comment\n",
		"document marker":    "---\n",
		"explicit null":      "~\n",
		"empty sections":     "care:\nauth:\nsalesforce:\n  jwt:\n",
		"trailing separator": "listen: 127.0.0.1:8080\n---\n",
	} {
		t.Run(name, func(t *testing.T) {
			c := mustParse(t, "c.yaml", data, nil)
			want := config.Default()
			want.Path = "c.yaml"
			if !same(*c, want) {
				t.Fatalf("got %+v\nwant the defaults", *c)
			}
		})
	}
}

func TestDecodeOverDefaults(t *testing.T) {
	c := mustParse(t, "c.yaml", `
listen: 0.0.0.0:9000
care:
  grace_period: 0          # valid: a done case closes at once
auth:
  users:
    - id: alice
      name: Alice Agent
      email: alice@example.com
      role: agent
      token_sha256: "`+strings.ToUpper(hash)+`"
    - {id: "42", role: integration, token_sha256: `+strings.Repeat("0", 64)+`}
salesforce:
  environment: sandbox
  api_version: 61.0        # unquoted: still the text "61.0"
  background_budget: 1
  embed_frame_ancestors: []
`, nil)
	want := config.Default()
	want.Path = "c.yaml"
	want.Listen = "0.0.0.0:9000"
	want.Care.GracePeriod = 0
	want.Auth.Users = []config.User{
		{ID: "alice", Name: "Alice Agent", Email: "alice@example.com", Role: "agent", TokenSHA256: hash},
		{ID: "42", Role: "integration", TokenSHA256: strings.Repeat("0", 64)},
	}
	want.Salesforce.Environment = "sandbox"
	want.Salesforce.APIVersion = "61.0"
	want.Salesforce.BackgroundBudget = 1
	want.Salesforce.EmbedFrameAncestors = []string{}
	if !same(*c, want) {
		t.Fatalf("got  %+v\nwant %+v", *c, want)
	}
	if got := c.LoginURL(); got != "https://test.salesforce.com" {
		t.Errorf("LoginURL() = %q, want the sandbox host", got)
	}
}
