package config_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/config"
	"github.com/carebridge/carebridge/connector/testworld/expect"
)

func TestEnvOverrides(t *testing.T) {
	const file = `
listen: 127.0.0.1:7000
care:
  grace_period: 1h
salesforce:
  poll_interval: 10s
  embed_frame_ancestors: [https://file.example]
`
	tests := []struct {
		name  string
		env   []string
		check func(t *testing.T, c *config.Config)
	}{
		{"string", []string{"CAREBRIDGE_LISTEN=0.0.0.0:9000"}, func(t *testing.T, c *config.Config) {
			if c.Listen != "0.0.0.0:9000" {
				t.Errorf("Listen = %q", c.Listen)
			}
		}},
		{"duration over the file", []string{"CAREBRIDGE_CARE_GRACE_PERIOD=48h"}, func(t *testing.T, c *config.Config) {
			if c.Care.GracePeriod != 48*time.Hour {
				t.Errorf("GracePeriod = %v", c.Care.GracePeriod)
			}
		}},
		{"duration zero where zero is valid", []string{"CAREBRIDGE_CARE_GRACE_PERIOD=0"}, func(t *testing.T, c *config.Config) {
			if c.Care.GracePeriod != 0 {
				t.Errorf("GracePeriod = %v", c.Care.GracePeriod)
			}
		}},
		{"nested duration", []string{"CAREBRIDGE_SALESFORCE_POLL_INTERVAL=5s", "CAREBRIDGE_SALESFORCE_KEEPALIVE_INTERVAL=1h"}, func(t *testing.T, c *config.Config) {
			if c.Salesforce.PollInterval != 5*time.Second || c.Salesforce.KeepaliveInterval != time.Hour {
				t.Errorf("PollInterval = %v, KeepaliveInterval = %v", c.Salesforce.PollInterval, c.Salesforce.KeepaliveInterval)
			}
		}},
		{"number", []string{"CAREBRIDGE_SALESFORCE_BACKGROUND_BUDGET=0.5"}, func(t *testing.T, c *config.Config) {
			if c.Salesforce.BackgroundBudget != 0.5 {
				t.Errorf("BackgroundBudget = %v", c.Salesforce.BackgroundBudget)
			}
		}},
		{"list with commas and spaces", []string{"CAREBRIDGE_SALESFORCE_EMBED_FRAME_ANCESTORS=https://a.example, https://b.example  'self'"}, func(t *testing.T, c *config.Config) {
			want := []string{"https://a.example", "https://b.example", "'self'"}
			if !reflect.DeepEqual(c.Salesforce.EmbedFrameAncestors, want) {
				t.Errorf("EmbedFrameAncestors = %q, want %q", c.Salesforce.EmbedFrameAncestors, want)
			}
		}},
		{"jwt pair from the environment", []string{
			"CAREBRIDGE_SALESFORCE_CLIENT_ID=app",
			"CAREBRIDGE_SALESFORCE_JWT_USERNAME=u@example.com",
			"CAREBRIDGE_SALESFORCE_JWT_PRIVATE_KEY_FILE=/etc/hostname",
		}, func(t *testing.T, c *config.Config) {
			want := config.JWT{Username: "u@example.com", PrivateKeyFile: "/etc/hostname"}
			if c.Salesforce.JWT != want || !c.Salesforce.JWT.Enabled() || c.Salesforce.ClientID != "app" {
				t.Errorf("JWT = %+v, ClientID = %q", c.Salesforce.JWT, c.Salesforce.ClientID)
			}
		}},
		{"every string key", []string{
			"CAREBRIDGE_PUBLIC_URL=https://care.example.com/",
			"CAREBRIDGE_DATA_DIR=rel/data",
			"CAREBRIDGE_LOG_LEVEL=debug",
			"CAREBRIDGE_MAPPING_FILE=rel/mapping.yaml",
			"CAREBRIDGE_SALESFORCE_ENVIRONMENT=sandbox",
			"CAREBRIDGE_SALESFORCE_LOGIN_URL=http://127.0.0.1:5555/",
			"CAREBRIDGE_SALESFORCE_API_VERSION=60.0",
			"CAREBRIDGE_SALESFORCE_REDIRECT_URL=https://cb.example.com/cb",
		}, func(t *testing.T, c *config.Config) {
			got := []string{c.PublicURL, c.DataDir, c.LogLevel, c.MappingFile, c.Salesforce.Environment,
				c.LoginURL(), c.Salesforce.APIVersion, c.RedirectURL()}
			// Relative paths from the environment stay relative to the
			// working directory, not the file's.
			want := []string{"https://care.example.com/", "rel/data", "debug", "rel/mapping.yaml", "sandbox",
				"http://127.0.0.1:5555", "60.0", "https://cb.example.com/cb"}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		}},
		{"empty value counts as unset", []string{"CAREBRIDGE_LISTEN=", "CAREBRIDGE_CARE_GRACE_PERIOD="}, func(t *testing.T, c *config.Config) {
			if c.Listen != "127.0.0.1:7000" || c.Care.GracePeriod != time.Hour {
				t.Errorf("Listen = %q, GracePeriod = %v: want the file's values", c.Listen, c.Care.GracePeriod)
			}
		}},
		{"later entry wins", []string{"CAREBRIDGE_LOG_LEVEL=error", "CAREBRIDGE_LOG_LEVEL=warn"}, func(t *testing.T, c *config.Config) {
			if c.LogLevel != "warn" {
				t.Errorf("LogLevel = %q", c.LogLevel)
			}
		}},
		{"unknown and secret variables are ignored", []string{
			"CAREBRIDGE_SECRET_KEY=k", "CAREBRIDGE_SALESFORCE_CLIENT_SECRET=s", "CAREBRIDGE_FUTURE_THING=x",
			"carebridge_listen=bad", "CAREBRIDGE_LISTEN_ADDR=bad", "NOT_AN_ASSIGNMENT",
		}, func(t *testing.T, c *config.Config) {
			if c.Listen != "127.0.0.1:7000" {
				t.Errorf("Listen = %q", c.Listen)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, mustParse(t, "dir/c.yaml", file, tt.env))
		})
	}
}

func TestEnvProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
		want []string
	}{
		{"bad duration", "", []string{"CAREBRIDGE_SALESFORCE_POLL_INTERVAL=often"}, []string{
			`env CAREBRIDGE_SALESFORCE_POLL_INTERVAL: invalid duration "often" (write e.g. 30s, 5m, 6h)`}},
		{"change events unknown", "", []string{"CAREBRIDGE_SALESFORCE_CHANGE_EVENTS=on"}, []string{
			`env CAREBRIDGE_SALESFORCE_CHANGE_EVENTS: must be one of pubsub, off, got "on"`}},
		{"safety-net poll of a week", "", []string{"CAREBRIDGE_SALESFORCE_POLL_INTERVAL_WITH_EVENTS=168h"}, []string{
			`env CAREBRIDGE_SALESFORCE_POLL_INTERVAL_WITH_EVENTS: must be at most 24h, got 168h`}},
		{"zero poll interval", "", []string{"CAREBRIDGE_SALESFORCE_POLL_INTERVAL=0s"}, []string{
			`env CAREBRIDGE_SALESFORCE_POLL_INTERVAL: must be at least 1s, got 0s`}},
		{"keepalive of a millisecond", "", []string{"CAREBRIDGE_SALESFORCE_KEEPALIVE_INTERVAL=1ms"}, []string{
			`env CAREBRIDGE_SALESFORCE_KEEPALIVE_INTERVAL: must be at least 1m, got 1ms`}},
		{"limit not a number", "", []string{"CAREBRIDGE_LIMITS_MESSAGE_TEXT_BYTES=64k"}, []string{
			`env CAREBRIDGE_LIMITS_MESSAGE_TEXT_BYTES: expected a whole number, got "64k"`}},
		{"limit out of range", "", []string{"CAREBRIDGE_LIMITS_MESSAGE_TEXT_BYTES=0"}, []string{
			`env CAREBRIDGE_LIMITS_MESSAGE_TEXT_BYTES: must be from 1 to 262144, got 0`}},
		{"negative grace period", "", []string{"CAREBRIDGE_CARE_GRACE_PERIOD=-2h"}, []string{
			`env CAREBRIDGE_CARE_GRACE_PERIOD: must not be negative, got -2h`}},
		{"bad number", "", []string{"CAREBRIDGE_SALESFORCE_BACKGROUND_BUDGET=lots"}, []string{
			`env CAREBRIDGE_SALESFORCE_BACKGROUND_BUDGET: expected a number, got "lots"`}},
		{"number out of range", "", []string{"CAREBRIDGE_SALESFORCE_BACKGROUND_BUDGET=2"}, []string{
			`env CAREBRIDGE_SALESFORCE_BACKGROUND_BUDGET: must be greater than 0 and at most 1, got 2`}},
		{"bad string", "", []string{"CAREBRIDGE_LOG_LEVEL=loud"}, []string{
			`env CAREBRIDGE_LOG_LEVEL: must be one of debug, info, warn, error, got "loud"`}},
		{"bad URL", "", []string{"CAREBRIDGE_SALESFORCE_LOGIN_URL=login.salesforce.com"}, []string{
			`env CAREBRIDGE_SALESFORCE_LOGIN_URL: must be an absolute http or https URL, got "login.salesforce.com"`}},
		{"bad list item", "", []string{"CAREBRIDGE_SALESFORCE_EMBED_FRAME_ANCESTORS=https://a.example;b"}, []string{
			`env CAREBRIDGE_SALESFORCE_EMBED_FRAME_ANCESTORS: must be one CSP source (e.g. https://*.my.salesforce.com), got "https://a.example;b"`}},
		{"users", "", []string{"CAREBRIDGE_AUTH_USERS=alice"}, []string{
			`env CAREBRIDGE_AUTH_USERS: users cannot come from the environment; list them under auth.users in the config file`}},
		{"jwt half from the environment", "", []string{"CAREBRIDGE_SALESFORCE_JWT_USERNAME=u@example.com"}, []string{
			`env CAREBRIDGE_SALESFORCE_JWT_USERNAME: salesforce.jwt.private_key_file is not set; the JWT bearer flow needs both username and private_key_file`}},
		{"env value fixes nothing it does not name", "listen: bad\n", []string{"CAREBRIDGE_LOG_LEVEL=debug"}, []string{
			`c.yaml:1:9: listen: must be host:port (e.g. 127.0.0.1:8080 or :8080), got "bad"`}},
		{"env over a bad file value is checked as env", "salesforce:\n  poll_interval: 0s\n", []string{"CAREBRIDGE_SALESFORCE_POLL_INTERVAL=-1s"}, []string{
			`env CAREBRIDGE_SALESFORCE_POLL_INTERVAL: must be at least 1s, got -1s`}},
		{"file problems first, then env by name", "lisen: x\n", []string{
			"CAREBRIDGE_SALESFORCE_ENVIRONMENT=prod", "CAREBRIDGE_LOG_LEVEL=loud"}, []string{
			`c.yaml:1:1: unknown key "lisen" (did you mean "listen"?)`,
			`env CAREBRIDGE_LOG_LEVEL: must be one of debug, info, warn, error, got "loud"`,
			`env CAREBRIDGE_SALESFORCE_ENVIRONMENT: must be one of production, sandbox, got "prod"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLines(t, problemLines(t, tt.yaml, tt.env), tt.want)
		})
	}

	t.Run("without a file", func(t *testing.T) {
		_, err := config.Load("", []string{"CAREBRIDGE_LISTEN=nope"})
		want := `env CAREBRIDGE_LISTEN: must be host:port (e.g. 127.0.0.1:8080 or :8080), got "nope"`
		if err == nil || err.Error() != want {
			t.Fatalf("Load(\"\") error = %v, want %s", err, want)
		}
		var p config.Problem
		if !errors.As(err, &p) || p.Env != "CAREBRIDGE_LISTEN" {
			t.Errorf("errors.As(Problem) = %+v", p)
		}
	})
}

func TestRelativePaths(t *testing.T) {
	const file = `
data_dir: ./data
mapping_file: mapping.yaml
salesforce:
  client_secret_file: /etc/hostname
`
	tests := []struct {
		name, path            string
		wantData, wantMapping string
	}{
		{"file in the working directory", "carebridge.yaml", "./data", "mapping.yaml"},
		{"file elsewhere", filepath.Join("etc", "carebridge", "carebridge.yaml"),
			filepath.Join("etc", "carebridge", "data"), filepath.Join("etc", "carebridge", "mapping.yaml")},
		{"absolute file", "/etc/carebridge/carebridge.yaml", "/etc/carebridge/data", "/etc/carebridge/mapping.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.path, file, nil)
			if c.DataDir != tt.wantData || c.MappingFile != tt.wantMapping {
				t.Errorf("DataDir = %q, MappingFile = %q; want %q, %q", c.DataDir, c.MappingFile, tt.wantData, tt.wantMapping)
			}
			if c.Salesforce.ClientSecretFile != "/etc/hostname" {
				t.Errorf("absolute ClientSecretFile changed to %q", c.Salesforce.ClientSecretFile)
			}
			if c.Path != tt.path {
				t.Errorf("Path = %q, want %q", c.Path, tt.path)
			}
			if got, want := c.SecretKeyPath(), filepath.Join(tt.wantData, "secret.key"); got != want {
				t.Errorf("SecretKeyPath() = %q, want %q", got, want)
			}
		})
	}
	t.Run("client secret file beside the config", func(t *testing.T) {
		dir := t.TempDir()
		expect.WriteFile(t, dir, "client.secret", "beside\n")
		cfgPath := expect.WriteFile(t, dir, "carebridge.yaml", "salesforce:\n  client_secret_file: client.secret\n")
		c, err := config.Load(cfgPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.ClientSecret()
		if err != nil || s.Reveal() != "beside" {
			t.Fatalf("ClientSecret() = %q, %v", s.Reveal(), err)
		}
	})
}

func TestLoad(t *testing.T) {
	t.Run("missing file", func(t *testing.T) {
		_, err := config.Load(filepath.Join(t.TempDir(), "nope.yaml"), nil)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("err = %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("Parse without a name still parses", func(t *testing.T) {
		_, err := config.Parse("", []byte("lisen: x\n"), nil)
		want := `config:1:1: unknown key "lisen" (did you mean "listen"?)`
		if err == nil || err.Error() != want {
			t.Fatalf("err = %v, want %s", err, want)
		}
	})
	t.Run("problems name the path", func(t *testing.T) {
		p := expect.WriteFile(t, t.TempDir(), "carebridge.yaml", "\nlisten: x\n")
		_, err := config.Load(p, nil)
		want := p + `:2:9: listen: must be host:port (e.g. 127.0.0.1:8080 or :8080), got "x"`
		if err == nil || err.Error() != want {
			t.Fatalf("err = %v\nwant %s", err, want)
		}
		var errs config.Errors
		if !errors.As(err, &errs) || len(errs) != 1 || errs[0].Line != 2 || errs[0].Column != 9 || errs[0].File != p {
			t.Fatalf("Errors = %+v", errs)
		}
	})
}

func TestURLs(t *testing.T) {
	tests := []struct {
		name                    string
		yaml                    string
		wantLogin, wantRedirect string
	}{
		{"defaults", "", "https://login.salesforce.com", "http://127.0.0.1:8080/oauth/salesforce/callback"},
		{"sandbox", "salesforce: {environment: sandbox}\n", "https://test.salesforce.com", "http://127.0.0.1:8080/oauth/salesforce/callback"},
		{"login url wins over environment", "salesforce: {environment: sandbox, login_url: \"http://127.0.0.1:4000/\"}\n",
			"http://127.0.0.1:4000", "http://127.0.0.1:8080/oauth/salesforce/callback"},
		{"public url with a path and slash", "public_url: https://example.com/care/\n",
			"https://login.salesforce.com", "https://example.com/care/oauth/salesforce/callback"},
		{"explicit redirect url", "public_url: https://example.com\nsalesforce: {redirect_url: \"https://cb.example.com/x\"}\n",
			"https://login.salesforce.com", "https://cb.example.com/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, "c.yaml", tt.yaml, nil)
			if got := c.LoginURL(); got != tt.wantLogin {
				t.Errorf("LoginURL() = %q, want %q", got, tt.wantLogin)
			}
			if got := c.RedirectURL(); got != tt.wantRedirect {
				t.Errorf("RedirectURL() = %q, want %q", got, tt.wantRedirect)
			}
		})
	}
}

func TestClientSecret(t *testing.T) {
	dir := t.TempDir()
	file := expect.WriteFile(t, dir, "secret", "  from-file\n\n")
	withFile := "salesforce:\n  client_secret_file: " + file + "\n"
	tests := []struct {
		name string
		yaml string
		env  []string
		want string
	}{
		{"none", "", nil, ""},
		{"from the file, trimmed", withFile, nil, "from-file"},
		{"env wins over the file", withFile, []string{"CAREBRIDGE_SALESFORCE_CLIENT_SECRET=from-env"}, "from-env"},
		{"env alone", "", []string{"CAREBRIDGE_SALESFORCE_CLIENT_SECRET=from-env"}, "from-env"},
		{"empty env falls back to the file", withFile, []string{"CAREBRIDGE_SALESFORCE_CLIENT_SECRET="}, "from-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, "c.yaml", tt.yaml, tt.env)
			s, err := c.ClientSecret()
			if err != nil {
				t.Fatal(err)
			}
			if s.Reveal() != tt.want {
				t.Errorf("ClientSecret() = %q, want %q", s.Reveal(), tt.want)
			}
		})
	}
	t.Run("file gone after load", func(t *testing.T) {
		gone := expect.WriteFile(t, dir, "gone", "x")
		c := mustParse(t, "c.yaml", "salesforce:\n  client_secret_file: "+gone+"\n", nil)
		if err := os.Remove(gone); err != nil {
			t.Fatal(err)
		}
		s, err := c.ClientSecret()
		if !errors.Is(err, fs.ErrNotExist) || s != "" {
			t.Fatalf("ClientSecret() = %q, %v; want fs.ErrNotExist", s.Reveal(), err)
		}
	})
	t.Run("secret key from env", func(t *testing.T) {
		c := mustParse(t, "c.yaml", "", []string{"CAREBRIDGE_SECRET_KEY=k3y"})
		if got := c.SecretKeyEnv().Reveal(); got != "k3y" {
			t.Errorf("SecretKeyEnv() = %q", got)
		}
		if got := mustParse(t, "c.yaml", "", nil).SecretKeyEnv(); !got.IsZero() {
			t.Errorf("SecretKeyEnv() without env = %q", got.Reveal())
		}
	})
}

func TestSlogLevel(t *testing.T) {
	for level, want := range map[string]string{"debug": "DEBUG", "info": "INFO", "warn": "WARN", "error": "ERROR"} {
		t.Run(level, func(t *testing.T) {
			c := mustParse(t, "c.yaml", "log_level: "+level+"\n", nil)
			if got := c.SlogLevel().String(); got != want {
				t.Errorf("SlogLevel() = %s, want %s", got, want)
			}
		})
	}
}

// TestConfigHidesSecrets prints a loaded config every way a careless caller
// might and checks no secret of the environment shows.
func TestConfigHidesSecrets(t *testing.T) {
	c := mustParse(t, "c.yaml", "auth:\n  users:\n    - {id: a, role: agent, token_sha256: "+hash+"}\n",
		[]string{"CAREBRIDGE_SALESFORCE_CLIENT_SECRET=topsecret1", "CAREBRIDGE_SECRET_KEY=topsecret2"})
	outputs := map[string]string{
		"%+v":           sprintf("%+v", *c),
		"%#v":           sprintf("%#v", *c),
		"slog":          logJSON(t, "config", c),
		"slog by value": logJSON(t, "config", *c),
	}
	for name, out := range outputs {
		if strings.Contains(out, "topsecret") {
			t.Errorf("%s shows a secret: %s", name, out)
		}
	}
	if out := outputs["slog"]; strings.Contains(out, hash) || !strings.Contains(out, `"users":1`) {
		t.Errorf("LogValue should count users and hide token hashes: %s", out)
	}
}
