package config

import (
	"fmt"
	"strconv"
	"strings"
)

// keyDocs is the one-line comment of each key and section in a written
// config file (Template). Every key of the schema has one (a test checks);
// the example config (testdata/carebridge.example.yaml) says more.
var keyDocs = map[string]string{
	"listen":                               "host:port the HTTP server (API, console, /metrics) listens on; :8080 = every interface",
	"public_url":                           "the URL people and Salesforce reach carebridge at (OAuth redirects, case links)",
	"data_dir":                             "the bbolt store and secret.key; one daemon per directory",
	"log_level":                            "debug | info | warn | error (JSON lines on stderr)",
	"mapping_file":                         "the Salesforce mapping (SPEC §5); empty = nothing is sent to Salesforce",
	"care":                                 "the Care case store",
	"care.grace_period":                    "how long a done case still takes messages and reopens; 0 closes at once; 0 to 720h",
	"auth":                                 "who may use the API and the console",
	"auth.users":                           "id, name, email, role (agent | supervisor | integration), token_sha256, skills, capacity; add one with `carebridge user add`",
	"salesforce":                           "the Salesforce org",
	"salesforce.environment":               "production | sandbox: login.salesforce.com or test.salesforce.com",
	"salesforce.login_url":                 "overrides environment: a My Domain login URL (or the simulator's); empty = by environment",
	"salesforce.api_version":               "REST API version, 42.0 or later; quote it",
	"salesforce.client_id":                 "the connected app's consumer key (its secret: env CAREBRIDGE_SALESFORCE_CLIENT_SECRET)",
	"salesforce.client_secret_file":        "a file holding the consumer secret; the environment variable wins over it",
	"salesforce.redirect_url":              "the connected app's callback; empty = public_url + /oauth/salesforce/callback",
	"salesforce.org_id":                    "the org carebridge serves (Setup → Company Information → Salesforce.com Organization ID); empty = the org of the first default token connected, and no Sign in with Salesforce until then",
	"salesforce.jwt":                       "optional: the default token by the JWT bearer flow (set both or neither)",
	"salesforce.jwt.username":              "the Salesforce user the default token acts as",
	"salesforce.jwt.private_key_file":      "PEM private key whose certificate the connected app holds",
	"salesforce.jwt_audience":              "the JWT assertion's aud; empty = the login host of environment",
	"salesforce.poll_interval":             "how often Salesforce status changes are read (one query); 1s to 24h",
	"salesforce.keepalive_interval":        "how often idle tokens are refreshed; 1m to 720h",
	"salesforce.change_events":             "pubsub (Change Data Capture over the Pub/Sub API) | off (polling alone)",
	"salesforce.pubsub_url":                "the Pub/Sub API endpoint: HOST:PORT or https:// is TLS, http:// plaintext HTTP/2",
	"salesforce.poll_interval_with_events": "how often the poller still runs while the change stream is up; 1s to 24h",
	"salesforce.background_budget":         "share of the daily API allocation background work may use; in (0, 1]",
	"salesforce.embed_frame_ancestors":     "who may frame /embed/cases/{id} (CSP frame-ancestors); [] forbids; at most 20",
	"console":                              "the web console",
	"console.salesforce_sign_in":           "offer Sign in with Salesforce on /login (the connected app's callback: public_url + /login/salesforce/callback)",
	"publishing":                           "replies to the customer: each is POSTed, signed, to the publisher (SPEC §16)",
	"publishing.webhook_url":               "the publisher's endpoint; empty = replies are not published",
	"publishing.secret_file":               "a file holding the signing secret; env CAREBRIDGE_PUBLISHING_SECRET wins over it",
	"sla":                                  "SLA policies, first match applies: [{name, when: {priority: [...], platform: [...]}, first_response, next_response, resolution}]",
	"routing":                              "new cases to available agents with the skills they need and free capacity (SPEC §16)",
	"routing.mode":                         "off | round_robin (in turn) | least_busy (fewest cases first)",
	"routing.default_capacity":             "cases new, open or pending an agent holds at once unless their user sets capacity; 1 to 1000",
	"routing.rules":                        "[{when: {platform, priority, field, equals}, skills: [...]}]: a case needs the skills of every rule it matches",
	"limits":                               "what one write may carry; over a limit the API answers 400 too_large",
	"limits.message_text_bytes":            "a message's or note's text, in bytes; up to 262144",
	"limits.name_chars":                    "author, names, username, handle, in characters; up to 1024",
	"limits.attachments":                   "attachments per message; up to 100",
	"limits.attachment_url_chars":          "one attachment URL, in characters; up to 8192",
	"limits.case_fields":                   "custom fields per case; up to 500",
	"limits.field_value_bytes":             "one custom field value, in bytes; up to 131072",
	"limits.mentions":                      "mentions per message; up to 200",
}

// templateHeader opens a written config file.
const templateHeader = `# carebridge.yaml — the daemon's config (SPEC §2), written by carebridge init.
#
# Every key is shown with its value (the default unless init was told
# otherwise) and a one-line comment. Any scalar key may be overridden by
# CAREBRIDGE_ + its path in upper case joined with "_"
# (CAREBRIDGE_SALESFORCE_POLL_INTERVAL=10s); users come from this file only.
# Secrets never go here: CAREBRIDGE_SALESFORCE_CLIENT_SECRET holds the
# connected app's consumer secret, CAREBRIDGE_SECRET_KEY (or
# data_dir/secret.key, 0600) the key that encrypts stored tokens.
# Relative paths are relative to this file's directory.
`

// Template renders c as a commented config file: every key of the schema
// in its section, with c's value and a one-line comment, and c's users.
// Loading the result gives c back (paths relative to the file's directory).
func Template(c *Config) []byte {
	sc := newSchema()
	var b strings.Builder
	b.WriteString(templateHeader)
	var section func(path string, depth int)
	section = func(path string, depth int) {
		indent := strings.Repeat("  ", depth)
		for i, key := range sc.sections[path] {
			full := key
			if path != "" {
				full = path + "." + key
			}
			if depth == 0 || (i > 0 && sc.isSection(full)) {
				b.WriteString("\n")
			}
			if doc := keyDoc(full); doc != "" {
				fmt.Fprintf(&b, "%s# %s\n", indent, doc)
			}
			switch {
			case full == usersPath:
				writeUsers(&b, indent, c.Auth.Users)
			case full == routingRulesPath:
				writeRoutingRules(&b, indent, c.Routing.Rules)
			case full == slaPath:
				writeSLA(&b, indent, c.SLA)
			case sc.isSection(full):
				fmt.Fprintf(&b, "%s%s:\n", indent, key)
				section(full, depth+1)
			default:
				fmt.Fprintf(&b, "%s%s: %s\n", indent, key, sc.byPath[full].yamlValue(c))
			}
		}
	}
	section("", 0)
	return []byte(b.String())
}

// keyDoc is the comment of a key; a key added to the schema without one
// still gets a pointer to where keys are documented.
func keyDoc(path string) string {
	if d, ok := keyDocs[path]; ok {
		return d
	}
	return "see config/testdata/carebridge.example.yaml"
}

// writeUsers writes auth.users as a block list (or [] when empty).
func writeUsers(b *strings.Builder, indent string, users []User) {
	writeBlockList(b, indent, "users", len(users), func(i int, indent string) { b.WriteString(UserYAML(users[i], indent)) })
}

// UserYAML is one auth.users entry as a block list item whose dash is at
// indent, the way Template writes it; `carebridge user add` appends it to an
// existing file.
func UserYAML(u User, indent string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s- id: %s\n", indent, yamlQuote(u.ID))
	for _, kv := range [][2]string{{"name", u.Name}, {"email", u.Email}, {"role", u.Role}, {"token_sha256", u.TokenSHA256}} {
		fmt.Fprintf(&b, "%s  %s: %s\n", indent, kv[0], yamlQuote(kv[1]))
	}
	b.WriteString(userRoutingYAML(u, indent))
	return b.String()
}

// yamlValue is the setting's value in c as YAML text.
func (s *setting) yamlValue(c *Config) string {
	switch s.kind {
	case kindDuration:
		return fmtDuration(*s.dur(c))
	case kindNumber:
		return strconv.FormatFloat(*s.num(c), 'g', -1, 64)
	case kindInt:
		return strconv.Itoa(*s.integer(c))
	case kindBool:
		return strconv.FormatBool(*s.boolean(c))
	case kindList:
		return yamlList(*s.list(c))
	}
	return yamlQuote(*s.str(c))
}

// yamlQuote writes v as a YAML double-quoted scalar. Go's escapes (\", \\,
// \n, \t, \xNN, \uNNNN, \UNNNNNNNN, \a, \b, \f, \v) are all YAML escapes.
func yamlQuote(v string) string { return strconv.Quote(v) }
