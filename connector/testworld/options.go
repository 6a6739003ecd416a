package testworld

import (
	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt"
	"github.com/carebridge/carebridge/care/httpapi"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/tokens"
)

// Option adjusts a world.
type Option func(*config)

type config struct {
	dir        string
	clock      *Clock
	users      []care.User
	directory  Directory
	policy     care.Policy
	store      func(*bolt.Options)
	salesforce bool
	sim        sfsim.Options
	mapping    []byte
	pool       func(*tokens.Options)
	connected  bool
	pinOrg     bool
	noServer   bool
	api        func(*World, *httpapi.Options)
	routes     []func(*World, *httpapi.Server)
}

// WithDir opens the store in dir instead of a new temporary directory (to
// open a closed world's data again).
func WithDir(dir string) Option { return func(c *config) { c.dir = dir } }

// WithClock gives the world clock (default: stopped at Start).
func WithClock(clock *Clock) Option { return func(c *config) { c.clock = clock } }

// WithUsers replaces the world's users (default: Users); each gets a Token.
func WithUsers(users ...care.User) Option { return func(c *config) { c.users = users } }

// WithDirectory makes the store and the escalator read users from d (a test
// that changes users while the world runs); the API's credentials still
// come from the users.
func WithDirectory(d Directory) Option { return func(c *config) { c.directory = d } }

// WithPolicy replaces the Care policy (default: a grace period of 24 h and
// the default limits).
func WithPolicy(p care.Policy) Option { return func(c *config) { c.policy = p } }

// WithStore adjusts the store's options before it opens.
func WithStore(fn func(*bolt.Options)) Option { return func(c *config) { c.store = fn } }

// WithSalesforce adds the Salesforce side: a simulated org of o, the mapping
// (default: the sample), the token pool and the escalator.
func WithSalesforce(o sfsim.Options) Option {
	return func(c *config) { c.salesforce, c.sim = true, o }
}

// WithMapping loads yaml as the mapping; it implies WithSalesforce.
func WithMapping(yaml []byte) Option {
	return func(c *config) { c.salesforce, c.mapping = true, yaml }
}

// WithPool adjusts the token pool's options before it opens; it implies
// WithSalesforce.
func WithPool(fn func(*tokens.Options)) Option {
	return func(c *config) { c.salesforce, c.pool = true, fn }
}

// PinnedOrg opens the token pool bound to the simulated org from the
// start, as salesforce.org_id does; it implies WithSalesforce.
func PinnedOrg() Option { return func(c *config) { c.salesforce, c.pinOrg = true, true } }

// Connected connects the default token (held by Holder, as the org's
// DefaultUsername) through the OAuth flow; it implies WithSalesforce.
func Connected() Option { return func(c *config) { c.salesforce, c.connected = true, true } }

// NoServer starts no HTTP server; the API is built all the same.
func NoServer() Option { return func(c *config) { c.noServer = true } }

// WithAPI adjusts the Care API's options before it is built.
func WithAPI(fn func(*World, *httpapi.Options)) Option { return func(c *config) { c.api = fn } }

// WithRoutes registers more routes on the API before the server starts:
// the connect and escalation routes (connector/sfapi), the outbox's, the
// console. The world's parts are ready when fn runs.
func WithRoutes(fn func(*World, *httpapi.Server)) Option {
	return func(c *config) { c.routes = append(c.routes, fn) }
}
