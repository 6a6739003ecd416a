package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/carebridge/carebridge/config/sfid"
	"github.com/carebridge/carebridge/config/yamlsafe"
)

// kind is the type of a scalar setting.
type kind int

const (
	kindString kind = iota
	kindDuration
	kindNumber
	kindInt
	kindList // a list of strings; from the environment, comma- or space-separated
	kindBool // true or false
)

// setting is one overridable key of the config file: where it lives, how to
// store text into it and how to check the result. Exactly one of the
// accessor/check pairs matching kind is set.
type setting struct {
	path   string // dotted: "salesforce.poll_interval"
	kind   kind
	fsPath bool // a file system path: relative in a file = relative to the file's directory

	str      func(*Config) *string
	checkStr func(string) string

	dur      func(*Config) *time.Duration
	checkDur func(time.Duration) string

	num      func(*Config) *float64
	checkNum func(float64) string

	integer  func(*Config) *int
	checkInt func(int) string

	list      func(*Config) *[]string
	checkItem func(string) string
	maxItems  int // 0: any number

	boolean func(*Config) *bool
}

// envName is the variable that overrides s: CAREBRIDGE_ + upper-cased path
// with "_" for ".".
func (s *setting) envName() string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(s.path, ".", "_"))
}

// set stores raw text (a YAML scalar's value or an env value) into c. It
// returns a problem message, "" on success.
func (s *setting) set(c *Config, raw string) string {
	switch s.kind {
	case kindString:
		*s.str(c) = raw
	case kindDuration:
		d, msg := parseDuration(raw)
		if msg != "" {
			return msg
		}
		*s.dur(c) = d
	case kindNumber:
		f, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil {
			return "expected a number, got " + quote(raw)
		}
		*s.num(c) = f
	case kindInt:
		i, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return "expected a whole number, got " + quote(raw)
		}
		*s.integer(c) = i
	case kindList:
		*s.list(c) = splitList(raw)
	case kindBool:
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return "expected true or false, got " + quote(raw)
		}
		*s.boolean(c) = b
	}
	return ""
}

// check validates the current value of s in c. It returns the message for
// the value as a whole ("" when fine) and, for lists, one per bad item.
func (s *setting) check(c *Config) (string, map[int]string) {
	switch s.kind {
	case kindString:
		if s.checkStr != nil {
			return s.checkStr(*s.str(c)), nil
		}
	case kindDuration:
		if s.checkDur != nil {
			return s.checkDur(*s.dur(c)), nil
		}
	case kindNumber:
		if s.checkNum != nil {
			return s.checkNum(*s.num(c)), nil
		}
	case kindInt:
		if s.checkInt != nil {
			return s.checkInt(*s.integer(c)), nil
		}
	case kindList:
		if n := len(*s.list(c)); s.maxItems > 0 && n > s.maxItems {
			return fmt.Sprintf("at most %d entries, got %d", s.maxItems, n), nil
		}
		if s.checkItem != nil {
			var bad map[int]string
			for i, v := range *s.list(c) {
				if msg := s.checkItem(v); msg != "" {
					if bad == nil {
						bad = map[int]string{}
					}
					bad[i] = msg
				}
			}
			return "", bad
		}
	}
	return "", nil
}

// schema describes the whole file: its settings in file order, and the
// sections (mappings) that hold them.
type schema struct {
	settings []*setting
	byPath   map[string]*setting
	sections map[string][]string // section path ("" = top) -> its keys in order
}

// usersPath is the one key that is neither a setting nor a section.
const usersPath = "auth.users"

// newSchema builds the schema. It is built per parse rather than kept in a
// package variable.
func newSchema() *schema {
	str := func(path string, ptr func(*Config) *string, check func(string) string) *setting {
		return &setting{path: path, kind: kindString, str: ptr, checkStr: check}
	}
	file := func(path string, ptr func(*Config) *string, check func(string) string) *setting {
		s := str(path, ptr, check)
		s.fsPath = true
		return s
	}
	dur := func(path string, ptr func(*Config) *time.Duration, check func(time.Duration) string) *setting {
		return &setting{path: path, kind: kindDuration, dur: ptr, checkDur: check}
	}
	limit := func(key string, ptr func(*Limits) *int, max int) *setting {
		return &setting{path: "limits." + key, kind: kindInt,
			integer: func(c *Config) *int { return ptr(&c.Limits) }, checkInt: checkIntRange(1, max)}
	}
	sc := &schema{
		settings: []*setting{
			str("listen", func(c *Config) *string { return &c.Listen }, checkListen),
			str("public_url", func(c *Config) *string { return &c.PublicURL }, checkURL(true)),
			file("data_dir", func(c *Config) *string { return &c.DataDir }, checkNotEmpty),
			str("log_level", func(c *Config) *string { return &c.LogLevel }, checkOneOf("debug", "info", "warn", "error")),
			file("mapping_file", func(c *Config) *string { return &c.MappingFile }, nil),
			dur("care.grace_period", func(c *Config) *time.Duration { return &c.Care.GracePeriod }, checkDurRange(0, maxGracePeriod)),
			str("salesforce.environment", func(c *Config) *string { return &c.Salesforce.Environment },
				checkOneOf(EnvironmentProduction, EnvironmentSandbox)),
			str("salesforce.login_url", func(c *Config) *string { return &c.Salesforce.LoginURL }, checkURL(false)),
			str("salesforce.api_version", func(c *Config) *string { return &c.Salesforce.APIVersion }, checkAPIVersion),
			str("salesforce.client_id", func(c *Config) *string { return &c.Salesforce.ClientID }, nil),
			file("salesforce.client_secret_file", func(c *Config) *string { return &c.Salesforce.ClientSecretFile }, nil),
			str("salesforce.redirect_url", func(c *Config) *string { return &c.Salesforce.RedirectURL }, checkURL(false)),
			str("salesforce.org_id", func(c *Config) *string { return &c.Salesforce.OrgID }, checkOrgID),
			str("salesforce.jwt.username", func(c *Config) *string { return &c.Salesforce.JWT.Username }, nil),
			file("salesforce.jwt.private_key_file", func(c *Config) *string { return &c.Salesforce.JWT.PrivateKeyFile }, nil),
			str("salesforce.jwt_audience", func(c *Config) *string { return &c.Salesforce.JWTAudience }, checkURL(false)),
			dur("salesforce.poll_interval", func(c *Config) *time.Duration { return &c.Salesforce.PollInterval },
				checkDurRange(minPollInterval, maxPollInterval)),
			dur("salesforce.keepalive_interval", func(c *Config) *time.Duration { return &c.Salesforce.KeepaliveInterval },
				checkDurRange(minKeepaliveInterval, maxKeepaliveInterval)),
			str("salesforce.change_events", func(c *Config) *string { return &c.Salesforce.ChangeEvents },
				checkOneOf(ChangeEventsPubSub, ChangeEventsOff)),
			str("salesforce.pubsub_url", func(c *Config) *string { return &c.Salesforce.PubSubURL }, checkPubSubURL),
			dur("salesforce.poll_interval_with_events", func(c *Config) *time.Duration { return &c.Salesforce.PollIntervalWithEvents },
				checkDurRange(minPollInterval, maxPollInterval)),
			{path: "salesforce.background_budget", kind: kindNumber,
				num: func(c *Config) *float64 { return &c.Salesforce.BackgroundBudget }, checkNum: checkBudget},
			{path: "salesforce.embed_frame_ancestors", kind: kindList,
				list: func(c *Config) *[]string { return &c.Salesforce.EmbedFrameAncestors }, checkItem: checkFrameAncestor,
				maxItems: maxFrameAncestors},
			{path: "console.salesforce_sign_in", kind: kindBool,
				boolean: func(c *Config) *bool { return &c.Console.SalesforceSignIn }},
			str("publishing.webhook_url", func(c *Config) *string { return &c.Publishing.WebhookURL }, checkURL(false)),
			file("publishing.secret_file", func(c *Config) *string { return &c.Publishing.SecretFile }, nil),
			limit("message_text_bytes", func(l *Limits) *int { return &l.MessageTextBytes }, 256<<10),
			limit("name_chars", func(l *Limits) *int { return &l.NameChars }, 1024),
			limit("attachments", func(l *Limits) *int { return &l.Attachments }, 100),
			limit("attachment_url_chars", func(l *Limits) *int { return &l.AttachmentURLChars }, 8192),
			limit("case_fields", func(l *Limits) *int { return &l.CaseFields }, 500),
			limit("field_value_bytes", func(l *Limits) *int { return &l.FieldValueBytes }, 131072),
			limit("mentions", func(l *Limits) *int { return &l.Mentions }, 200),
		},
		byPath:   map[string]*setting{},
		sections: map[string][]string{},
	}
	sc.settings = append(sc.settings, routingSettings()...)
	add := func(path string) {
		parent, key := "", path
		if i := strings.LastIndexByte(path, '.'); i >= 0 {
			parent, key = path[:i], path[i+1:]
		}
		for _, k := range sc.sections[parent] {
			if k == key {
				return
			}
		}
		sc.sections[parent] = append(sc.sections[parent], key)
	}
	for _, s := range sc.settings {
		sc.byPath[s.path] = s
		// Register every enclosing section, outermost first.
		parts := strings.Split(s.path, ".")
		for i := 1; i <= len(parts); i++ {
			add(strings.Join(parts[:i], "."))
		}
	}
	add("auth")
	add(usersPath)
	add(routingRulesPath)
	add(slaPath)
	return sc
}

// isSection reports whether path names a mapping of the schema.
func (sc *schema) isSection(path string) bool {
	_, ok := sc.sections[path]
	return ok && path != ""
}

// parseDuration parses a Go duration with a message fit for a user.
func parseDuration(raw string) (time.Duration, string) {
	v := strings.TrimSpace(raw)
	d, err := time.ParseDuration(v)
	if err == nil {
		return d, ""
	}
	switch {
	case v == "":
		return 0, "expected a duration such as 30s, 5m or 6h, got nothing"
	case strings.Trim(v, "0123456789.-+") == "":
		return 0, fmt.Sprintf("duration %s has no unit (write e.g. %ss)", quote(raw), v)
	case strings.HasSuffix(v, "d"):
		return 0, fmt.Sprintf("invalid duration %s: days are not a unit, use hours (e.g. 24h)", quote(raw))
	}
	return 0, fmt.Sprintf("invalid duration %s (write e.g. 30s, 5m, 6h)", quote(raw))
}

// splitList splits an env value on commas and white space.
func splitList(raw string) []string {
	return strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
}

func checkNotEmpty(v string) string {
	if v == "" {
		return "must not be empty"
	}
	return ""
}

func checkOneOf(allowed ...string) func(string) string {
	return func(v string) string {
		for _, a := range allowed {
			if v == a {
				return ""
			}
		}
		return fmt.Sprintf("must be one of %s, got %s", strings.Join(allowed, ", "), quote(v))
	}
}

func checkListen(v string) string {
	host, port, err := net.SplitHostPort(v)
	if err != nil || strings.ContainsAny(host, " /") {
		return fmt.Sprintf("must be host:port (e.g. 127.0.0.1:8080 or :8080), got %s", quote(v))
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Sprintf("port must be a number from 0 to 65535, got %s", quote(port))
	}
	return ""
}

// checkURL checks an absolute http(s) URL; "" is fine unless required.
func checkURL(required bool) func(string) string {
	return func(v string) string {
		if v == "" {
			if required {
				return "must not be empty"
			}
			return ""
		}
		u, err := url.Parse(v)
		if err != nil {
			reason := err.Error()
			if ue := (*url.Error)(nil); errors.As(err, &ue) {
				reason = ue.Err.Error()
			}
			return fmt.Sprintf("invalid URL %s: %s", quote(v), reason)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
			return fmt.Sprintf("must be an absolute http or https URL, got %s", quote(v))
		}
		if u.User != nil {
			return "must not contain a user name or password"
		}
		if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
			return fmt.Sprintf("must not have a query or fragment, got %s", quote(v))
		}
		return ""
	}
}

// checkPubSubURL accepts the Pub/Sub API endpoint: HOST:PORT or
// https://HOST[:PORT] (TLS), or http://HOST:PORT (plaintext HTTP/2).
func checkPubSubURL(v string) string {
	hostPort := v
	if scheme, rest, ok := strings.Cut(v, "://"); ok {
		if scheme != "http" && scheme != "https" {
			return fmt.Sprintf("must be HOST:PORT, https://HOST:PORT or http://HOST:PORT, got %s", quote(v))
		}
		hostPort = strings.TrimSuffix(rest, "/")
		if scheme == "https" && !strings.Contains(hostPort, ":") {
			hostPort += ":443"
		}
	}
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil || host == "" || strings.ContainsAny(host, " /?#@") {
		return fmt.Sprintf("must be HOST:PORT, https://HOST:PORT or http://HOST:PORT, got %s", quote(v))
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("port must be a number from 1 to 65535, got %s", quote(port))
	}
	return ""
}

// checkOrgID accepts "" (no pin) or a Salesforce org id.
func checkOrgID(v string) string {
	if v == "" {
		return ""
	}
	if err := sfid.CheckOrg(v); err != nil {
		return fmt.Sprintf("%v, got %s", err, quote(v))
	}
	return ""
}

// checkAPIVersion accepts Salesforce REST versions such as "62.0".
func checkAPIVersion(v string) string {
	major, minor, ok := strings.Cut(v, ".")
	if ok && minor == "0" && major != "" && major[0] != '0' && strings.Trim(major, "0123456789") == "" && len(major) <= 3 {
		if n, _ := strconv.Atoi(major); n < minAPIVersion {
			return fmt.Sprintf("must be %d.0 or later (sObject Collections), got %s", minAPIVersion, quote(v))
		}
		return ""
	}
	return fmt.Sprintf(`must look like "62.0", got %s`, quote(v))
}

// Bounds of the durations and counts that are not limits (SPEC §12): each
// is listed in testdata/carebridge.example.yaml.
const (
	maxGracePeriod       = 30 * 24 * time.Hour // a done case does not wait a month for its customer
	minPollInterval      = time.Second         // one query a second is the most the API budget should pay for
	maxPollInterval      = 24 * time.Hour
	minKeepaliveInterval = time.Minute // a refresh a minute would only burn API calls
	maxKeepaliveInterval = 30 * 24 * time.Hour
	maxFrameAncestors    = 20
	maxUsers             = 10_000
	minAPIVersion        = 42 // sObject Collections, which pushes use, came with 42.0
)

// checkDurRange accepts min <= d <= max.
func checkDurRange(min, max time.Duration) func(time.Duration) string {
	return func(d time.Duration) string {
		switch {
		case d < min && min == 0:
			return "must not be negative, got " + fmtDuration(d)
		case d < min:
			return fmt.Sprintf("must be at least %s, got %s", fmtDuration(min), fmtDuration(d))
		case d > max:
			return fmt.Sprintf("must be at most %s, got %s", fmtDuration(max), fmtDuration(d))
		}
		return ""
	}
}

// fmtDuration writes d as one would in the file: 1m, 720h, 1h30m, 1.5s.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// checkIntRange accepts min <= i <= max.
func checkIntRange(min, max int) func(int) string {
	return func(i int) string {
		if i < min || i > max {
			return fmt.Sprintf("must be from %d to %d, got %d", min, max, i)
		}
		return ""
	}
}

func checkBudget(f float64) string {
	if f > 0 && f <= 1 {
		return ""
	}
	return "must be greater than 0 and at most 1, got " + strconv.FormatFloat(f, 'g', -1, 64)
}

// checkFrameAncestor accepts one CSP source expression; anything that could
// break out of the frame-ancestors directive is refused.
func checkFrameAncestor(v string) string {
	if v == "" {
		return "must not be empty"
	}
	if strings.ContainsFunc(v, func(r rune) bool { return r == ';' || r == ',' || unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return fmt.Sprintf("must be one CSP source (e.g. https://*.my.salesforce.com), got %s", quote(v))
	}
	return ""
}

// quote quotes a user value for a message, clipped to yamlsafe.MaxQuote
// characters.
func quote(v string) string {
	return strconv.Quote(yamlsafe.Clip(v, yamlsafe.MaxQuote))
}
