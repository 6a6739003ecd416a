package changeevents

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/tokens"
)

// target turns salesforce.pubsub_url into a gRPC target and whether it is
// TLS: HOST:PORT and https://HOST[:PORT] are TLS (a real org),
// http://HOST:PORT is plaintext HTTP/2 (the simulator).
func target(raw string) (addr string, useTLS bool, err error) {
	addr, useTLS = raw, true
	if scheme, _, ok := strings.Cut(raw, "://"); ok {
		u, perr := url.Parse(raw)
		if perr != nil || u.Host == "" {
			return "", false, fmt.Errorf("changeevents: pubsub url %q: want HOST:PORT, https://HOST:PORT or http://HOST:PORT", raw)
		}
		addr = u.Host
		switch scheme {
		case "https":
			if u.Port() == "" {
				addr = net.JoinHostPort(u.Hostname(), "443")
			}
		case "http":
			useTLS = false
		default:
			return "", false, fmt.Errorf("changeevents: pubsub url %q: scheme %s is neither http nor https", raw, scheme)
		}
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", false, fmt.Errorf("changeevents: pubsub url %q: want HOST:PORT, https://HOST:PORT or http://HOST:PORT", raw)
	}
	return addr, useTLS, nil
}

// dial opens the client connection (lazily: no network until the first
// call).
func dial(raw string, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	addr, useTLS, err := target(raw)
	if err != nil {
		return nil, err
	}
	creds := insecure.NewCredentials()
	if useTLS {
		creds = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	opts := append([]grpc.DialOption{grpc.WithTransportCredentials(creds)}, extra...)
	cc, err := grpc.NewClient("dns:///"+addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("changeevents: pubsub client for %s: %w", addr, err)
	}
	return cc, nil
}

// withAuth puts the Pub/Sub API's credentials in the call's metadata.
func withAuth(ctx context.Context, tok salesforce.Token, orgID string) context.Context {
	return metadata.NewOutgoingContext(ctx, metadata.Pairs(
		"accesstoken", tok.AccessToken, "instanceurl", tok.InstanceURL, "tenantid", orgID))
}

// failure sorts why a subscription ended.
type failure int

const (
	failLost    failure = iota // network, server going away: resubscribe
	failAuth                   // the access token was refused: refresh it
	failReplay                 // the replay id is past retention or unknown
	failRefused                // the topic or subscription was refused
)

// errReplayGone marks a stored replay id the server no longer serves.
var errReplayGone = errors.New("the stored replay id is past retention")

// classify sorts a Pub/Sub API error. Salesforce names the reason in the
// error-code trailer (sfdc.platform.eventbus.grpc.…); the status code
// tells the rest.
func classify(err error, custom bool) failure {
	switch {
	case errors.Is(err, errReplayGone):
		return failReplay
	case errors.Is(err, errOtherOrgHost):
		return failRefused
	}
	st, ok := status.FromError(err)
	if !ok {
		return failLost
	}
	switch st.Code() {
	case codes.Unauthenticated:
		return failAuth
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange, codes.NotFound:
		if custom && strings.Contains(strings.ToLower(st.Message()), "replay") {
			return failReplay
		}
		return failRefused
	case codes.PermissionDenied, codes.ResourceExhausted, codes.Unimplemented:
		return failRefused
	}
	return failLost
}

// reasonFor is the connection's changes_reason for a failure: our words
// and the gRPC code, never the server's text (which could echo a token).
func reasonFor(f failure, err error) string {
	code := status.Code(err).String()
	switch {
	case errors.Is(err, errOtherOrgHost):
		return errOtherOrgHost.Error()
	case errors.Is(err, tokens.ErrNoHealthyToken):
		return "no healthy Salesforce token"
	}
	switch f {
	case failAuth:
		return "the change stream's token was refused; refreshing it"
	case failReplay:
		return "the change stream's replay id was past retention; caught up by a poll"
	case failRefused:
		return "the Pub/Sub API refused the subscription (" + code + ")"
	}
	if status.Code(err) == codes.Unknown {
		return "the change stream was lost"
	}
	return "the change stream was lost (" + code + ")"
}
