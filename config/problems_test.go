package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/config"
)

// problemLines parses data as c.yaml and returns the report's lines; it
// fails the test when the config is accepted.
func problemLines(t *testing.T, data string, environ []string) []string {
	t.Helper()
	c, err := config.Parse("c.yaml", []byte(data), environ)
	if err == nil {
		t.Fatalf("Parse accepted the config: %+v", *c)
	}
	var errs config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error is %T, want config.Errors: %v", err, err)
	}
	if c != nil {
		t.Errorf("Parse returned a config with its error")
	}
	return strings.Split(err.Error(), "\n")
}

func checkLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestProblems(t *testing.T) {
	// user is one flow-style user whose token hash is made of c.
	user := func(id, role string, c string) string {
		return "    - {id: " + id + ", role: " + role + ", token_sha256: " + strings.Repeat(c, 64) + "}\n"
	}
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		// Structure.
		{"top level is a list", "- listen\n", []string{
			`c.yaml:1:1: the top level must be a mapping of keys, got a list`}},
		{"top level is a scalar", "listen\n", []string{
			`c.yaml:1:1: the top level must be a mapping of keys, got string "listen"`}},
		{"syntax error with a line", "listen: [1\n", []string{
			`c.yaml:1: invalid YAML: did not find expected ',' or ']'`}},
		{"syntax error further down", "care:\n  grace_period: 1h\n bad: 2\n", []string{
			`c.yaml:2: invalid YAML: did not find expected key`}},
		{"syntax error without a line", "listen: a: b\n", []string{
			`c.yaml: invalid YAML: mapping values are not allowed in this context`}},
		{"tab indentation", "care:\n\tgrace_period: 1h\n", []string{
			`c.yaml:2: invalid YAML: found character that cannot start any token`}},
		{"second document", "listen: :80\n---\nlisten: :81\n", []string{
			`c.yaml:3:1: a config file holds one YAML document; a second one starts here`}},
		{"duplicate top-level key", "listen: :80\nlog_level: info\nlisten: :81\n", []string{
			`c.yaml:3:1: duplicate key "listen" (first at line 1)`}},
		{"duplicate nested key", "salesforce:\n  client_id: a\n  client_id: b\n", []string{
			`c.yaml:3:3: salesforce: duplicate key "client_id" (first at line 2)`}},
		{"merge key", "base: &b {grace_period: 1h}\ncare:\n  <<: *b\n", []string{
			`c.yaml:1:1: unknown key "base"`,
			`c.yaml:3:3: care: merge keys ("<<") are not supported; write the keys out`}},
		{"key that is not a string", "[listen]: x\n", []string{
			`c.yaml:1:1: a key must be a string, got a list`}},

		// Unknown keys.
		{"unknown key with a close match", "lisen: :80\n", []string{
			`c.yaml:1:1: unknown key "lisen" (did you mean "listen"?)`}},
		{"unknown key differing in case", "Log_Level: info\n", []string{
			`c.yaml:1:1: unknown key "Log_Level" (did you mean "log_level"?)`}},
		{"unknown key with no match", "colour: blue\n", []string{
			`c.yaml:1:1: unknown key "colour"`}},
		{"key in the wrong section", "poll_interval: 10s\n", []string{
			`c.yaml:1:1: unknown key "poll_interval" (did you mean "salesforce.poll_interval"?)`}},
		{"users at the top level", "users: []\n", []string{
			`c.yaml:1:1: unknown key "users" (did you mean "auth.users"?)`}},
		{"unknown nested key", "salesforce:\n  pol_interval: 10s\n", []string{
			`c.yaml:2:3: salesforce: unknown key "pol_interval" (did you mean "poll_interval"?)`}},
		{"unknown jwt key", "salesforce:\n  jwt:\n    user: x\n", []string{
			`c.yaml:3:5: salesforce.jwt: unknown key "user" (did you mean "username"?)`}},
		{"raw token instead of its hash", "auth:\n  users:\n    - id: a\n      role: agent\n      token: s3cret\n", []string{
			`c.yaml:3:7: auth.users[0]: missing token_sha256`,
			`c.yaml:5:7: auth.users[0]: unknown key "token" (did you mean "token_sha256"?)`}},

		// Wrong types.
		{"list where a mapping is expected", "salesforce: [a, b]\n", []string{
			`c.yaml:1:13: salesforce: expected a mapping, got a list`}},
		{"scalar where a mapping is expected", "care: 24h\n", []string{
			`c.yaml:1:7: care: expected a mapping, got string "24h"`}},
		{"mapping where a string is expected", "listen: {host: a}\n", []string{
			`c.yaml:1:9: listen: expected a string, got a mapping`}},
		{"string for a number", "salesforce:\n  background_budget: most\n", []string{
			`c.yaml:2:22: salesforce.background_budget: expected a number, got string "most"`}},
		{"quoted number", "salesforce:\n  background_budget: \"0.5\"\n", []string{
			`c.yaml:2:22: salesforce.background_budget: expected a number, got string "0.5"`}},
		{"string for a boolean", "console:\n  salesforce_sign_in: \"yes\"\n", []string{
			`c.yaml:2:23: console.salesforce_sign_in: expected true or false, got string "yes"`}},
		{"number for a boolean", "console:\n  salesforce_sign_in: 1\n", []string{
			`c.yaml:2:23: console.salesforce_sign_in: expected true or false, got number 1`}},
		{"boolean for a number", "salesforce:\n  background_budget: true\n", []string{
			`c.yaml:2:22: salesforce.background_budget: expected a number, got boolean true`}},
		{"list for a duration", "care:\n  grace_period: [1h]\n", []string{
			`c.yaml:2:17: care.grace_period: expected a duration such as 30s, 5m or 6h, got a list`}},
		{"null duration", "care:\n  grace_period:\n", []string{
			`c.yaml:2:16: care.grace_period: expected a duration such as 30s, 5m or 6h, got null`}},
		{"string for a list", "salesforce:\n  embed_frame_ancestors: https://a.example\n", []string{
			`c.yaml:2:26: salesforce.embed_frame_ancestors: expected a list of strings, got string "https://a.example"`}},
		{"mapping in a list", "salesforce:\n  embed_frame_ancestors: [https://a.example, {x: 1}]\n", []string{
			`c.yaml:2:46: salesforce.embed_frame_ancestors[1]: expected a string, got a mapping`}},
		{"users not a list", "auth:\n  users: {id: a}\n", []string{
			`c.yaml:2:10: auth.users: expected a list of users, got a mapping`}},
		{"user not a mapping", "auth:\n  users:\n    - alice\n", []string{
			`c.yaml:3:7: auth.users[0]: expected a mapping with id, name, email, role and token_sha256, got string "alice"`}},
		{"user field not a string", "auth:\n  users:\n    - {id: [a], role: agent, token_sha256: " + hash + "}\n", []string{
			`c.yaml:3:7: auth.users[0]: missing id`,
			`c.yaml:3:12: auth.users[0].id: expected a string, got a list`}},

		// Durations.
		{"bad duration", "salesforce:\n  poll_interval: soon\n", []string{
			`c.yaml:2:18: salesforce.poll_interval: invalid duration "soon" (write e.g. 30s, 5m, 6h)`}},
		{"duration without unit", "salesforce:\n  poll_interval: 30\n", []string{
			`c.yaml:2:18: salesforce.poll_interval: duration "30" has no unit (write e.g. 30s)`}},
		{"duration in days", "care:\n  grace_period: 2d\n", []string{
			`c.yaml:2:17: care.grace_period: invalid duration "2d": days are not a unit, use hours (e.g. 24h)`}},
		{"negative grace period", "care:\n  grace_period: -1h\n", []string{
			`c.yaml:2:17: care.grace_period: must not be negative, got -1h`}},
		{"change events neither pubsub nor off", "salesforce:\n  change_events: cometd\n", []string{
			`c.yaml:2:18: salesforce.change_events: must be one of pubsub, off, got "cometd"`}},
		{"pubsub url without a port", "salesforce:\n  pubsub_url: api.pubsub.salesforce.com\n", []string{
			`c.yaml:2:15: salesforce.pubsub_url: must be HOST:PORT, https://HOST:PORT or http://HOST:PORT, got "api.pubsub.salesforce.com"`}},
		{"pubsub url of another scheme", "salesforce:\n  pubsub_url: grpc://h:7443\n", []string{
			`c.yaml:2:15: salesforce.pubsub_url: must be HOST:PORT, https://HOST:PORT or http://HOST:PORT, got "grpc://h:7443"`}},
		{"pubsub url port out of range", "salesforce:\n  pubsub_url: http://h:70000\n", []string{
			`c.yaml:2:15: salesforce.pubsub_url: port must be a number from 1 to 65535, got "70000"`}},
		{"safety-net poll of a millisecond", "salesforce:\n  poll_interval_with_events: 1ms\n", []string{
			`c.yaml:2:30: salesforce.poll_interval_with_events: must be at least 1s, got 1ms`}},
		{"zero poll interval", "salesforce:\n  poll_interval: 0s\n", []string{
			`c.yaml:2:18: salesforce.poll_interval: must be at least 1s, got 0s`}},
		{"negative keepalive", "salesforce:\n  keepalive_interval: -5m\n", []string{
			`c.yaml:2:23: salesforce.keepalive_interval: must be at least 1m, got -5m`}},
		{"keepalive of a millisecond", "salesforce:\n  keepalive_interval: 1ms\n", []string{
			`c.yaml:2:23: salesforce.keepalive_interval: must be at least 1m, got 1ms`}},
		{"keepalive of a year", "salesforce:\n  keepalive_interval: 8760h\n", []string{
			`c.yaml:2:23: salesforce.keepalive_interval: must be at most 720h, got 8760h`}},
		{"poll interval under a second", "salesforce:\n  poll_interval: 999ms\n", []string{
			`c.yaml:2:18: salesforce.poll_interval: must be at least 1s, got 999ms`}},
		{"poll interval over a day", "salesforce:\n  poll_interval: 24h0m1s\n", []string{
			`c.yaml:2:18: salesforce.poll_interval: must be at most 24h, got 24h0m1s`}},
		{"grace period over a month", "care:\n  grace_period: 721h\n", []string{
			`c.yaml:2:17: care.grace_period: must be at most 720h, got 721h`}},

		// Limits and counts.
		{"limit of zero", "limits:\n  message_text_bytes: 0\n", []string{
			`c.yaml:2:23: limits.message_text_bytes: must be from 1 to 262144, got 0`}},
		{"limit over its bound", "limits:\n  attachments: 101\n  mentions: -1\n", []string{
			`c.yaml:2:16: limits.attachments: must be from 1 to 100, got 101`,
			`c.yaml:3:13: limits.mentions: must be from 1 to 200, got -1`}},
		{"limit not whole", "limits:\n  name_chars: 2.5\n  case_fields: \"50\"\n", []string{
			`c.yaml:2:15: limits.name_chars: expected a whole number, got number 2.5`,
			`c.yaml:3:16: limits.case_fields: expected a whole number, got string "50"`}},
		{"limit in the wrong section", "name_chars: 10\n", []string{
			`c.yaml:1:1: unknown key "name_chars" (did you mean "limits.name_chars"?)`}},
		{"too many frame ancestors", "salesforce:\n  embed_frame_ancestors: [" + strings.Repeat("'self', ", 21) + "]\n", []string{
			`c.yaml:2:26: salesforce.embed_frame_ancestors: at most 20 entries, got 21`}},
		{"too many users", "auth:\n  users: [" + strings.Repeat("{}, ", 10_001) + "]\n", []string{
			`c.yaml:2:10: auth.users: at most 10000 users, got 10001`}},
		{"old api version", "salesforce:\n  api_version: \"41.0\"\n", []string{
			`c.yaml:2:16: salesforce.api_version: must be 42.0 or later (sObject Collections), got "41.0"`}},
		{"jwt audience not a URL", "salesforce:\n  jwt_audience: login.salesforce.com\n", []string{
			`c.yaml:2:17: salesforce.jwt_audience: must be an absolute http or https URL, got "login.salesforce.com"`}},

		// Values.
		{"bad log level", "log_level: verbose\n", []string{
			`c.yaml:1:12: log_level: must be one of debug, info, warn, error, got "verbose"`}},
		{"log level is case-sensitive", "log_level: INFO\n", []string{
			`c.yaml:1:12: log_level: must be one of debug, info, warn, error, got "INFO"`}},
		{"empty data dir", "data_dir: \"\"\n", []string{
			`c.yaml:1:11: data_dir: must not be empty`}},
		{"bad environment", "salesforce:\n  environment: prod\n", []string{
			`c.yaml:2:16: salesforce.environment: must be one of production, sandbox, got "prod"`}},
		{"org id too short", "salesforce:\n  org_id: 00Dxx0000001\n", []string{
			`c.yaml:2:11: salesforce.org_id: must be a Salesforce org id: 15 or 18 letters and digits starting with 00D (Setup → Company Information → Salesforce.com Organization ID), got "00Dxx0000001"`}},
		{"org id of a user", "salesforce:\n  org_id: 005xx0000001gPLAAY\n", []string{
			`c.yaml:2:11: salesforce.org_id: must be a Salesforce org id: 15 or 18 letters and digits starting with 00D (Setup → Company Information → Salesforce.com Organization ID), got "005xx0000001gPLAAY"`}},
		{"api version without minor", "salesforce:\n  api_version: \"62\"\n", []string{
			`c.yaml:2:16: salesforce.api_version: must look like "62.0", got "62"`}},
		{"api version with a v", "salesforce:\n  api_version: v62.0\n", []string{
			`c.yaml:2:16: salesforce.api_version: must look like "62.0", got "v62.0"`}},
		{"api version with a minor", "salesforce:\n  api_version: 62.5\n", []string{
			`c.yaml:2:16: salesforce.api_version: must look like "62.0", got "62.5"`}},
		{"budget zero", "salesforce:\n  background_budget: 0\n", []string{
			`c.yaml:2:22: salesforce.background_budget: must be greater than 0 and at most 1, got 0`}},
		{"budget over one", "salesforce:\n  background_budget: 1.5\n", []string{
			`c.yaml:2:22: salesforce.background_budget: must be greater than 0 and at most 1, got 1.5`}},
		{"budget NaN", "salesforce:\n  background_budget: .nan\n", []string{
			`c.yaml:2:22: salesforce.background_budget: expected a number, got ".nan"`}},
		{"listen without port", "listen: \"8080\"\n", []string{
			`c.yaml:1:9: listen: must be host:port (e.g. 127.0.0.1:8080 or :8080), got "8080"`}},
		{"listen port out of range", "listen: \":99999\"\n", []string{
			`c.yaml:1:9: listen: port must be a number from 0 to 65535, got "99999"`}},
		{"listen named port", "listen: localhost:http\n", []string{
			`c.yaml:1:9: listen: port must be a number from 0 to 65535, got "http"`}},
		{"public url not http", "public_url: ftp://example.com\n", []string{
			`c.yaml:1:13: public_url: must be an absolute http or https URL, got "ftp://example.com"`}},
		{"public url relative", "public_url: example.com\n", []string{
			`c.yaml:1:13: public_url: must be an absolute http or https URL, got "example.com"`}},
		{"public url empty", "public_url: \"\"\n", []string{
			`c.yaml:1:13: public_url: must not be empty`}},
		{"public url with a query", "public_url: https://example.com/?a=1\n", []string{
			`c.yaml:1:13: public_url: must not have a query or fragment, got "https://example.com/?a=1"`}},
		{"login url that does not parse", "salesforce:\n  login_url: \"http://[::1\"\n", []string{
			`c.yaml:2:14: salesforce.login_url: invalid URL "http://[::1": missing ']' in host`}},
		{"login url with credentials", "salesforce:\n  login_url: https://u:p@login.example.com\n", []string{
			`c.yaml:2:14: salesforce.login_url: must not contain a user name or password`}},
		{"redirect url relative", "salesforce:\n  redirect_url: /oauth/salesforce/callback\n", []string{
			`c.yaml:2:17: salesforce.redirect_url: must be an absolute http or https URL, got "/oauth/salesforce/callback"`}},
		{"frame ancestor with a space", "salesforce:\n  embed_frame_ancestors: [\"https://a.example https://b.example\"]\n", []string{
			`c.yaml:2:27: salesforce.embed_frame_ancestors[0]: must be one CSP source (e.g. https://*.my.salesforce.com), got "https://a.example https://b.example"`}},
		{"frame ancestor breaking out of the directive", "salesforce:\n  embed_frame_ancestors:\n    - https://a.example\n    - \"'self'; script-src *\"\n", []string{
			`c.yaml:4:7: salesforce.embed_frame_ancestors[1]: must be one CSP source (e.g. https://*.my.salesforce.com), got "'self'; script-src *"`}},

		// Users.
		{"bad role", "auth:\n  users:\n" + user("alice", "admin", "a"), []string{
			`c.yaml:3:25: auth.users[0].role: must be one of agent, supervisor, integration, got "admin"`}},
		{"duplicate user id", "auth:\n  users:\n" + user("alice", "agent", "a") + user("bob", "agent", "b") + user("alice", "agent", "c"), []string{
			`c.yaml:5:12: auth.users[2].id: duplicate user id "alice" (first at line 3)`}},
		{"duplicate token", "auth:\n  users:\n" + user("alice", "agent", "a") + user("bob", "agent", "A"), []string{
			`c.yaml:4:44: auth.users[1].token_sha256: same token as user "alice" (line 3)`}},
		{"empty user id", "auth:\n  users:\n    - {id: \"\", role: agent, token_sha256: " + hash + "}\n", []string{
			`c.yaml:3:12: auth.users[0].id: must not be empty`}},
		{"user id with a slash", "auth:\n  users:\n" + user("a/b", "agent", "a"), []string{
			`c.yaml:3:12: auth.users[0].id: must not contain spaces or slashes, got "a/b"`}},
		{"token too short", "auth:\n  users:\n    - {id: a, role: agent, token_sha256: abc123}\n", []string{
			"c.yaml:3:42: auth.users[0].token_sha256: must be the 64 hex characters of the token's SHA-256 (see `carebridge token hash`), got 6 characters"}},
		{"token not hex", "auth:\n  users:\n    - {id: a, role: agent, token_sha256: " + strings.Repeat("g", 64) + "}\n", []string{
			"c.yaml:3:42: auth.users[0].token_sha256: must be the 64 hex characters of the token's SHA-256 (see `carebridge token hash`), got 64 characters"}},
		{"user with nothing", "auth:\n  users:\n    - {name: Nobody}\n", []string{
			`c.yaml:3:7: auth.users[0]: missing id, role, token_sha256`}},
		{"bad email", "auth:\n  users:\n    - {id: a, role: agent, email: a at example, token_sha256: " + hash + "}\n", []string{
			`c.yaml:3:35: auth.users[0].email: must be a plain email address, got "a at example"`}},
		{"duplicate user key", "auth:\n  users:\n    - {id: a, id: b, role: agent, token_sha256: " + hash + "}\n", []string{
			`c.yaml:3:15: auth.users[0]: duplicate key "id" (first at line 3)`}},

		// Rules across keys.
		{"jwt username alone", "salesforce:\n  client_id: app\n  jwt:\n    username: u@example.com\n", []string{
			`c.yaml:4:15: salesforce.jwt.username: salesforce.jwt.private_key_file is not set; the JWT bearer flow needs both username and private_key_file`}},
		{"jwt key file alone", "salesforce:\n  jwt: {private_key_file: /etc/hostname}\n", []string{
			`c.yaml:2:27: salesforce.jwt.private_key_file: salesforce.jwt.username is not set; the JWT bearer flow needs both username and private_key_file`}},

		// Several problems at once, in file order whatever the kind.
		{"several problems", "salesforce:\n  poll_interval: 0s\n  environment: prod\nlisten: nope\nlisen: x\ncare: []\n", []string{
			`c.yaml:2:18: salesforce.poll_interval: must be at least 1s, got 0s`,
			`c.yaml:3:16: salesforce.environment: must be one of production, sandbox, got "prod"`,
			`c.yaml:4:9: listen: must be host:port (e.g. 127.0.0.1:8080 or :8080), got "nope"`,
			`c.yaml:5:1: unknown key "lisen" (did you mean "listen"?)`,
			`c.yaml:6:7: care: expected a mapping, got a list`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLines(t, problemLines(t, tt.yaml, nil), tt.want)
		})
	}
}

// TestFileChecks covers the keys naming files, which must be readable.
func TestFileChecks(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	secret := write("secret", "s3cret\n", 0o600)
	empty := write("empty", " \n", 0o600)
	key := write("key.pem", "-----BEGIN PRIVATE KEY-----\n", 0o600)
	missing := filepath.Join(dir, "missing")

	tests := []struct {
		name string
		yaml string
		want []string // nil: valid
	}{
		{"readable secret", "salesforce:\n  client_secret_file: " + secret + "\n", nil},
		{"missing secret", "salesforce:\n  client_secret_file: " + missing + "\n", []string{
			`c.yaml:2:23: salesforce.client_secret_file: cannot read "` + missing + `": no such file or directory`}},
		{"secret is a directory", "salesforce:\n  client_secret_file: " + dir + "\n", []string{
			`c.yaml:2:23: salesforce.client_secret_file: cannot read "` + dir + `": not a regular file`}},
		{"empty secret", "salesforce:\n  client_secret_file: " + empty + "\n", []string{
			`c.yaml:2:23: salesforce.client_secret_file: "` + empty + `" is empty`}},
		{"jwt complete", "salesforce:\n  client_id: app\n  jwt:\n    username: u@example.com\n    private_key_file: " + key + "\n", nil},
		{"jwt key missing", "salesforce:\n  client_id: app\n  jwt:\n    username: u@example.com\n    private_key_file: " + missing + "\n", []string{
			`c.yaml:5:23: salesforce.jwt.private_key_file: cannot read "` + missing + `": no such file or directory`}},
		{"jwt without client id", "salesforce:\n  jwt:\n    username: u@example.com\n    private_key_file: " + key + "\n", []string{
			`c.yaml:3:15: salesforce.jwt.username: the JWT bearer flow needs salesforce.client_id (the connected app's consumer key)`}},
	}
	if os.Geteuid() != 0 { // root reads anything
		unreadable := write("unreadable", "x", 0o000)
		tests = append(tests, struct {
			name string
			yaml string
			want []string
		}{"unreadable secret", "salesforce:\n  client_secret_file: " + unreadable + "\n", []string{
			`c.yaml:2:23: salesforce.client_secret_file: cannot read "` + unreadable + `": permission denied`}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == nil {
				mustParse(t, "c.yaml", tt.yaml, nil)
				return
			}
			checkLines(t, problemLines(t, tt.yaml, nil), tt.want)
		})
	}
}
