package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/carebridge/carebridge/care"
)

// Environment variables the package reads besides the per-key overrides.
const (
	// EnvClientSecret holds the connected app's consumer secret; it wins over
	// salesforce.client_secret_file.
	EnvClientSecret = "CAREBRIDGE_SALESFORCE_CLIENT_SECRET"
	// EnvSecretKey holds the key that encrypts stored tokens (SPEC §6); when
	// unset the key lives in data_dir/secret.key.
	EnvSecretKey = "CAREBRIDGE_SECRET_KEY"
	// EnvPrefix starts every carebridge environment variable.
	EnvPrefix = "CAREBRIDGE_"
)

// Salesforce environments.
const (
	EnvironmentProduction = "production"
	EnvironmentSandbox    = "sandbox"
)

// Values of salesforce.change_events (SPEC §15).
const (
	ChangeEventsPubSub = "pubsub"
	ChangeEventsOff    = "off"
)

// DefaultPubSubURL is Salesforce's Pub/Sub API endpoint.
const DefaultPubSubURL = "api.pubsub.salesforce.com:7443"

// Login hosts used when salesforce.login_url is empty.
const (
	ProductionLoginURL = "https://login.salesforce.com"
	SandboxLoginURL    = "https://test.salesforce.com"
)

// CallbackPath is the OAuth callback path appended to public_url when
// salesforce.redirect_url is empty.
const CallbackPath = "/oauth/salesforce/callback"

// Config is the daemon's configuration (SPEC §2). Build it with Default, Load
// or Parse; the zero value is not valid.
type Config struct {
	Listen      string // host:port the HTTP server binds
	PublicURL   string // external base URL, no trailing slash needed
	DataDir     string // bbolt file and secret.key
	LogLevel    string // debug|info|warn|error
	MappingFile string // "" = none: nothing is sent to Salesforce
	Care        Care
	Auth        Auth
	Salesforce  Salesforce
	Limits      Limits
	Console     Console
	Publishing  Publishing // replies to the publisher (publishing.go)
	Routing     Routing    // new cases to agents (routing.go)
	// SLA are the SLA policies, the first match applies (sla.go).
	SLA SLAPolicies
	// Path is the file the config came from, "" for defaults only.
	Path string

	// env holds the secrets of the environment Load/Parse were given. It
	// is a pointer so that fmt prints an address, not the values: fmt
	// cannot call Secret's methods on an unexported field.
	env *envSecrets
}

// envSecrets are the secret variables of the environment a Config was
// loaded with.
type envSecrets struct {
	clientSecret     Secret
	secretKey        Secret
	publishingSecret Secret
}

// Console holds the web console's settings.
type Console struct {
	// SalesforceSignIn offers "Sign in with Salesforce" (OpenID Connect
	// with the connected app of salesforce.client_id) on /login.
	SalesforceSignIn bool
}

// Care holds the Care store's settings.
type Care struct {
	// GracePeriod is how long a done case stays open to new messages; 0 means
	// a done case closes at once.
	GracePeriod time.Duration
}

// Limits bound what one write may carry (SPEC §12); over a limit the API
// answers 400 too_large naming the field.
type Limits struct {
	MessageTextBytes   int // a message's or note's text, in bytes
	NameChars          int // author, names, username, handle, in characters
	Attachments        int // attachments per message
	AttachmentURLChars int // one attachment URL, in characters
	CaseFields         int // custom fields per case
	FieldValueBytes    int // one custom field value, in bytes
	Mentions           int // mentions per message
}

// limitsOf is the part of Care's limits the config names: its defaults are
// Care's (SPEC §12), written once in care.DefaultLimits.
func limitsOf(l care.Limits) Limits {
	return Limits{
		MessageTextBytes: l.MessageTextBytes, NameChars: l.NameChars, Attachments: l.Attachments,
		AttachmentURLChars: l.AttachmentURLChars, CaseFields: l.CaseFields, FieldValueBytes: l.FieldValueBytes,
		Mentions: l.Mentions,
	}
}

// Auth holds the users allowed to call the API. Users come from the config
// file only, never from the environment.
type Auth struct {
	Users []User
}

// Roles a user may hold.
const (
	RoleAgent       = "agent"
	RoleSupervisor  = "supervisor"
	RoleIntegration = "integration"
)

// User is one API user. TokenSHA256 is the lower-case hex SHA-256 of the
// user's bearer token (what `carebridge token hash` prints).
type User struct {
	ID          string
	Name        string
	Email       string
	Role        string // agent|supervisor|integration
	TokenSHA256 string
	Skills      []string // what the user's routed cases may need (routing.go)
	Capacity    int      // cases new, open or pending at once; 0 = routing.default_capacity
}

// Salesforce holds the connection settings.
type Salesforce struct {
	Environment      string // production|sandbox
	LoginURL         string // "" = by Environment; use Config.LoginURL()
	APIVersion       string // like "62.0"
	ClientID         string
	ClientSecretFile string // use Config.ClientSecret()
	RedirectURL      string // "" = public_url + CallbackPath; use Config.RedirectURL()
	// OrgID pins the org (15 or 18 characters, 00D…): only its tokens
	// connect and only its users sign in with Salesforce; "" = the org of
	// the first default token connected.
	OrgID string
	JWT   JWT
	// JWTAudience is the JWT bearer assertion's aud; "" = the salesforce
	// package's default (login.salesforce.com, test.salesforce.com for a
	// sandbox, or login_url when it is not a salesforce.com host).
	JWTAudience       string
	PollInterval      time.Duration
	KeepaliveInterval time.Duration
	// ChangeEvents is pubsub (Change Data Capture over the Pub/Sub API,
	// SPEC §15) or off (polling alone).
	ChangeEvents string
	// PubSubURL is the Pub/Sub API endpoint: HOST:PORT or https://HOST:PORT
	// (TLS), http://HOST:PORT (plaintext HTTP/2, the simulator).
	PubSubURL string
	// PollIntervalWithEvents is how often the poller runs as a safety net
	// while the change stream is up.
	PollIntervalWithEvents time.Duration
	BackgroundBudget       float64 // share of the daily API allocation background work may use, in (0,1]
	EmbedFrameAncestors    []string
}

// JWT configures the default token through the JWT bearer flow. Both fields
// are set or neither is.
type JWT struct {
	Username       string
	PrivateKeyFile string
}

// Enabled reports whether the JWT bearer flow is configured.
func (j JWT) Enabled() bool { return j.Username != "" && j.PrivateKeyFile != "" }

// Default returns the configuration used when no file is given (SPEC §2).
func Default() Config {
	return Config{
		Listen:    "127.0.0.1:8080",
		PublicURL: "http://127.0.0.1:8080",
		DataDir:   "./carebridge-data",
		LogLevel:  "info",
		Care:      Care{GracePeriod: 24 * time.Hour},
		Routing:   Routing{Mode: RoutingOff, DefaultCapacity: 5},
		Limits:    limitsOf(care.DefaultLimits()),
		Salesforce: Salesforce{
			Environment:            EnvironmentProduction,
			APIVersion:             "62.0",
			PollInterval:           30 * time.Second,
			KeepaliveInterval:      6 * time.Hour,
			BackgroundBudget:       0.9,
			ChangeEvents:           ChangeEventsPubSub,
			PubSubURL:              DefaultPubSubURL,
			PollIntervalWithEvents: 5 * time.Minute,
			EmbedFrameAncestors: []string{
				"https://*.lightning.force.com",
				"https://*.my.salesforce.com",
				"https://*.vf.force.com", // the org kit's Visualforce case page
			},
		},
	}
}

// LoginURL is salesforce.login_url without a trailing slash, else the login
// host of salesforce.environment.
func (c *Config) LoginURL() string {
	if c.Salesforce.LoginURL != "" {
		return strings.TrimRight(c.Salesforce.LoginURL, "/")
	}
	if c.Salesforce.Environment == EnvironmentSandbox {
		return SandboxLoginURL
	}
	return ProductionLoginURL
}

// RedirectURL is salesforce.redirect_url, else public_url + CallbackPath.
func (c *Config) RedirectURL() string {
	if c.Salesforce.RedirectURL != "" {
		return c.Salesforce.RedirectURL
	}
	return strings.TrimRight(c.PublicURL, "/") + CallbackPath
}

// maxSecretFileSize bounds what is read from a secret or key file.
const maxSecretFileSize = 1 << 20

// ClientSecret returns the connected app's consumer secret: the
// CAREBRIDGE_SALESFORCE_CLIENT_SECRET variable of the environment the config
// was loaded with, else the trimmed contents of salesforce.client_secret_file
// (read now, so a rotated file is picked up), else "".
func (c *Config) ClientSecret() (Secret, error) {
	var env Secret
	if c.env != nil {
		env = c.env.clientSecret
	}
	return secretOf(env, c.Salesforce.ClientSecretFile, "client secret")
}

// secretOf is env when set, else the trimmed contents of file (read now),
// else "".
func secretOf(env Secret, file, what string) (Secret, error) {
	if env != "" {
		return env, nil
	}
	if file == "" {
		return "", nil
	}
	b, err := readSecretFile(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	return Secret(strings.TrimSpace(string(b))), nil
}

// SecretKeyEnv returns CAREBRIDGE_SECRET_KEY from the environment the config
// was loaded with, "" when unset. Decoding it is the token store's business.
func (c *Config) SecretKeyEnv() Secret {
	if c.env == nil {
		return ""
	}
	return c.env.secretKey
}

// SecretKeyPath is where the token encryption key lives when
// CAREBRIDGE_SECRET_KEY is unset: data_dir/secret.key.
func (c *Config) SecretKeyPath() string { return filepath.Join(c.DataDir, "secret.key") }

// SlogLevel returns log_level as a slog.Level (info for an unknown value,
// which validation never lets through).
func (c *Config) SlogLevel() slog.Level {
	switch c.LogLevel {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// LogValue summarises the config for a startup log line. It names no secret
// and no token hash.
func (c *Config) LogValue() slog.Value {
	path := c.Path
	if path == "" {
		path = "(defaults)"
	}
	return slog.GroupValue(
		slog.String("path", path),
		slog.String("listen", c.Listen),
		slog.String("public_url", c.PublicURL),
		slog.String("data_dir", c.DataDir),
		slog.String("log_level", c.LogLevel),
		slog.String("mapping_file", c.MappingFile),
		slog.Int("users", len(c.Auth.Users)),
		slog.String("salesforce_login_url", c.LoginURL()),
		slog.String("salesforce_org_id", c.Salesforce.OrgID),
		slog.String("salesforce_api_version", c.Salesforce.APIVersion),
		slog.Bool("salesforce_jwt", c.Salesforce.JWT.Enabled()),
	)
}

// errNotRegular is returned for a secret path that is not a regular file
// (a directory, a FIFO, a device), which is never read.
var errNotRegular = errors.New("not a regular file")

// errTooLarge is returned for a secret file over maxSecretFileSize.
var errTooLarge = errors.New("file too large")

// readSecretFile reads a small regular file. It stats first so that a FIFO
// or device is refused instead of blocking or reading forever.
func readSecretFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &os.PathError{Op: "read", Path: path, Err: errNotRegular}
	}
	if fi.Size() > maxSecretFileSize {
		return nil, &os.PathError{Op: "read", Path: path, Err: errTooLarge}
	}
	return os.ReadFile(path)
}
