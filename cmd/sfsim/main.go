// Command sfsim runs the Salesforce org simulator standalone (SPEC §8): the
// OAuth endpoints and the /__sim/ control surface on the --listen address,
// the REST data API on a second address it prints on start.
//
//	sfsim [--listen ADDR] [--schema FILE] [--session-ttl D] [--daily-limit N]
//	      [--client-id ID] [--client-secret S] [--callback URL]
//	      [--rotate-refresh-tokens] [--jwt-cert FILE] [--strict]
//	      [--state-file FILE] [--login-page] [--case-page-embed-url URL]
//
// --state-file keeps the org (records, users, the connected app, refresh
// tokens, the id_token key) in FILE: started again on it, sfsim is the same
// org with the same ids.
//
// --strict plays a production org (SPEC §11): an active Case and Lead
// assignment rule, a Contact duplicate rule that alerts and a Lead
// duplicate rule that blocks, and at most 5 refresh tokens per user.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/carebridge/carebridge/connector/sfsim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// strictHelp closes --help: what --strict changes.
const strictHelp = `
--strict makes the org behave like a production org (SPEC §11):
  - assignment rules: a Case or Lead create or update without the header
    "Sforce-Auto-Assign: FALSE" gets OwnerId = the queue "Support Queue"
    (a Group record, 00G...);
  - duplicate rules: a Contact with the FirstName, LastName and non-empty
    Email of another (any case) is refused with DUPLICATES_DETECTED unless
    the request sends "Sforce-Duplicate-Rule-Header: allowSave=true"; a Lead
    with the Email of another is always refused;
  - approvals: a user keeps at most 5 refresh tokens; a 6th approval
    revokes the oldest.
Without --strict none of this happens. Always: whole-second CreatedDate,
LastModifiedDate and SystemModstamp; POST /__sim/users takes
"profile":"standard"|"restricted" and "org":"home"|"other".
`

// shutdownTimeout bounds the wait for in-flight requests on exit.
const shutdownTimeout = 10 * time.Second

// run starts the simulator and serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sfsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8780", "`ADDR` of the login URL (OAuth and /__sim/); the instance URL gets a port of its own on the same host")
	schemaFile := fs.String("schema", "", "YAML `FILE` of objects and fields to add over the default schema")
	ttl := fs.Duration("session-ttl", sfsim.DefaultSessionTTL, "access token lifetime `D`")
	dailyLimit := fs.Int("daily-limit", sfsim.DefaultDailyLimit, "daily API request allocation `N`")
	clientID := fs.String("client-id", sfsim.DefaultClientID, "connected app consumer key `ID`")
	clientSecret := fs.String("client-secret", sfsim.DefaultClientSecret, "connected app consumer secret `S`")
	callback := fs.String("callback", "", "callback `URL`; when set, redirect_uri must match it exactly")
	rotate := fs.Bool("rotate-refresh-tokens", false, "answer every refresh with a new refresh token and void the old one")
	jwtCert := fs.String("jwt-cert", "", "PEM `FILE` (certificate or public key) that verifies JWT bearer assertions")
	strict := fs.Bool("strict", false, "play a production org: assignment rules, duplicate rules, 5 approvals per user (below)")
	stateFile := fs.String("state-file", "", "keep the org in `FILE` (JSON, mode 0600): loaded at start when it exists, saved after changes and on exit")
	loginPage := fs.Bool("login-page", false, "show a login form at authorize (username prefilled from login_hint) instead of approving at once")
	embedURL := fs.String("case-page-embed-url", "", "`URL` shown in an iframe on a Case's page /lightning/r/Case/{Id}/view; {Field__c} placeholders are filled from the case")
	noPubSub := fs.Bool("no-pubsub", false, "serve no Pub/Sub API (no change events: clients poll)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sfsim [flags]")
		fs.PrintDefaults()
		fmt.Fprint(stderr, strictHelp)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "sfsim: "+format+"\n", a...)
		fs.Usage()
		return exitUsage
	}
	switch {
	case fs.NArg() > 0:
		return usage("unexpected argument %q", fs.Arg(0))
	case *ttl <= 0:
		return usage("--session-ttl must be positive")
	case *dailyLimit <= 0:
		return usage("--daily-limit must be positive")
	case *clientID == "" || *clientSecret == "":
		return usage("--client-id and --client-secret must not be empty")
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return usage("--listen %q: %v", *listen, err)
	}

	opts := sfsim.Options{
		ClientID: *clientID, ClientSecret: *clientSecret, Callback: *callback,
		SessionTTL: *ttl, DailyLimit: *dailyLimit, RotateRefreshTokens: *rotate, Strict: *strict,
		StateFile: *stateFile, LoginPage: *loginPage, CasePageEmbedURL: *embedURL, NoPubSub: *noPubSub,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	if *schemaFile != "" {
		ext, err := sfsim.LoadSchemaFile(*schemaFile)
		if err != nil {
			fmt.Fprintf(stderr, "sfsim: %v\n", err)
			return exitError
		}
		opts.Schema = ext
	}
	if *jwtCert != "" {
		pemBytes, err := os.ReadFile(*jwtCert)
		if err != nil {
			fmt.Fprintf(stderr, "sfsim: --jwt-cert: %v\n", err)
			return exitError
		}
		key, err := sfsim.ParseJWTKey(pemBytes)
		if err != nil {
			fmt.Fprintf(stderr, "sfsim: --jwt-cert %s: %v\n", *jwtCert, err)
			return exitError
		}
		opts.JWTPublicKey = key
	}

	srv, err := sfsim.NewServerAt(opts, *listen, net.JoinHostPort(host, "0"))
	if err != nil {
		fmt.Fprintf(stderr, "sfsim: %v\n", err)
		return exitError
	}
	if u := srv.PubSubURL(); u != "" {
		fmt.Fprintf(stdout, "sfsim: login_url=%s instance_url=%s pubsub_url=%s\n", srv.LoginURL, srv.InstanceURL, u)
	} else {
		fmt.Fprintf(stdout, "sfsim: login_url=%s instance_url=%s\n", srv.LoginURL, srv.InstanceURL)
	}

	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		fmt.Fprintf(stderr, "sfsim: shutdown: %v\n", err)
		srv.Close()
		return exitError
	}
	return exitOK
}
