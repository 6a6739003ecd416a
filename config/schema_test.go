package config

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// TestExampleHasEveryKey checks that the documented example names exactly
// the keys of the schema, so a new key cannot go undocumented.
func TestExampleHasEveryKey(t *testing.T) {
	data, err := os.ReadFile("testdata/carebridge.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var got []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, sub := range v {
				p := join(prefix, k)
				if p == usersPath {
					got = append(got, p)
					for _, u := range sub.([]any) {
						walk(p+"[]", u)
					}
					continue
				}
				walk(p, sub)
			}
		default:
			got = append(got, prefix)
		}
	}
	walk("", doc)
	slices.Sort(got)
	got = slices.Compact(got)

	sc := newSchema()
	var want []string
	for _, s := range sc.settings {
		want = append(want, s.path)
	}
	want = append(want, usersPath, routingRulesPath)
	want = append(want, slaPath)
	for _, k := range userKeys() {
		want = append(want, usersPath+"[]."+k)
	}
	slices.Sort(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("example keys:\n %q\nschema keys:\n %q", got, want)
	}
}

// TestEverySettingHasAnEnvOverride sets each setting through its variable
// and checks the value lands in the config. The table must name every
// setting, so a new key is tested too.
func TestEverySettingHasAnEnvOverride(t *testing.T) {
	dir := t.TempDir()
	baseKey, key, secret := dir+"/base.pem", dir+"/key.pem", dir+"/secret"
	for _, f := range []string{baseKey, key, secret} {
		if err := os.WriteFile(f, []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	values := map[string]struct {
		env  string
		want any
	}{
		"listen":                               {":9999", ":9999"},
		"public_url":                           {"https://care.example.com", "https://care.example.com"},
		"data_dir":                             {"/var/lib/carebridge", "/var/lib/carebridge"},
		"log_level":                            {"warn", "warn"},
		"mapping_file":                         {"m.yaml", "m.yaml"},
		"care.grace_period":                    {"90m", 90 * time.Minute},
		"salesforce.environment":               {"sandbox", "sandbox"},
		"salesforce.login_url":                 {"http://127.0.0.1:1", "http://127.0.0.1:1"},
		"salesforce.api_version":               {"59.0", "59.0"},
		"salesforce.client_id":                 {"other-app", "other-app"},
		"salesforce.client_secret_file":        {secret, secret},
		"salesforce.redirect_url":              {"https://x.example/cb", "https://x.example/cb"},
		"salesforce.jwt.username":              {"u@example.com", "u@example.com"},
		"salesforce.jwt.private_key_file":      {key, key},
		"salesforce.poll_interval":             {"7s", 7 * time.Second},
		"salesforce.keepalive_interval":        {"2h", 2 * time.Hour},
		"salesforce.background_budget":         {"0.25", 0.25},
		"salesforce.embed_frame_ancestors":     {"'self' https://a.example", []string{"'self'", "https://a.example"}},
		"salesforce.jwt_audience":              {"https://test.salesforce.com", "https://test.salesforce.com"},
		"salesforce.org_id":                    {"00Dxx0000001gPLEAY", "00Dxx0000001gPLEAY"},
		"salesforce.change_events":             {"off", "off"},
		"salesforce.pubsub_url":                {"http://127.0.0.1:7011", "http://127.0.0.1:7011"},
		"salesforce.poll_interval_with_events": {"2m", 2 * time.Minute},
		"limits.message_text_bytes":            {"1024", 1024},
		"limits.name_chars":                    {"80", 80},
		"limits.attachments":                   {"5", 5},
		"limits.attachment_url_chars":          {"4096", 4096},
		"limits.case_fields":                   {"10", 10},
		"limits.field_value_bytes":             {"512", 512},
		"limits.mentions":                      {"3", 3},
		"console.salesforce_sign_in":           {"true", true},
		"publishing.webhook_url":               {"https://publisher.example/replies", "https://publisher.example/replies"},
		"publishing.secret_file":               {key, key},
		"routing.mode":                         {"least_busy", "least_busy"},
		"routing.default_capacity":             {"12", 12},
	}
	// The jwt pair and its client id must come together; the variable
	// under test comes later and wins.
	base := []string{
		"CAREBRIDGE_SALESFORCE_CLIENT_ID=app",
		"CAREBRIDGE_SALESFORCE_JWT_USERNAME=base@example.com",
		"CAREBRIDGE_SALESFORCE_JWT_PRIVATE_KEY_FILE=" + baseKey,
		"CAREBRIDGE_PUBLISHING_SECRET=publisher-secret",
	}
	sc := newSchema()
	get := func(s *setting, c *Config) any {
		switch s.kind {
		case kindDuration:
			return *s.dur(c)
		case kindNumber:
			return *s.num(c)
		case kindInt:
			return *s.integer(c)
		case kindList:
			return *s.list(c)
		case kindBool:
			return *s.boolean(c)
		}
		return *s.str(c)
	}
	for _, s := range sc.settings {
		t.Run(s.path, func(t *testing.T) {
			v, ok := values[s.path]
			if !ok {
				t.Fatalf("no test value for %s", s.path)
			}
			name := s.envName()
			if want := "CAREBRIDGE_" + strings.ToUpper(strings.ReplaceAll(s.path, ".", "_")); name != want {
				t.Fatalf("envName() = %s, want %s", name, want)
			}
			c, err := Parse("c.yaml", nil, append(slices.Clone(base), name+"="+v.env))
			if err != nil {
				t.Fatal(err)
			}
			if got := get(s, c); !reflect.DeepEqual(got, v.want) {
				t.Errorf("%s=%s gave %#v, want %#v", name, v.env, got, v.want)
			}
			c0, err := Parse("c.yaml", nil, base)
			if err != nil {
				t.Fatal(err)
			}
			if reflect.DeepEqual(get(s, c0), v.want) {
				t.Errorf("test value equals the value without the variable; pick another")
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"listen", "public_url", "data_dir", "log_level", "token_sha256", "id"}
	tests := []struct{ name, want string }{
		{"lisen", "listen"},
		{"listne", "listen"},
		{"LISTEN", "listen"},
		{"listener", "listen"},
		{"publicurl", "public_url"},
		{"token", "token_sha256"},
		{"ids", "id"},
		{"log", "log_level"},
		{"colour", ""},
		{"x", ""},
		{"datadirectory", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := suggest(tt.name, keys); got != tt.want {
				t.Errorf("suggest(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}
