package changeevents

import (
	"context"
	"errors"
	"io"
	"net/url"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/carebridge/carebridge/connector/pubsub/pubsubapi"
	"github.com/carebridge/carebridge/connector/salesforce"
)

// errStreamEnded: the server closed the stream without an error.
var errStreamEnded = errors.New("the server ended the change stream")

// errOtherOrgHost: the org's instance is not at Salesforce (the
// simulator, a test double) while the Pub/Sub URL is Salesforce's own.
var errOtherOrgHost = errors.New("salesforce.pubsub_url is Salesforce's endpoint but the org's instance is not at Salesforce: set salesforce.pubsub_url")

// DefaultURL is Salesforce's Pub/Sub API endpoint.
const DefaultURL = "api.pubsub.salesforce.com:7443"

// mayReceive reports whether the subscription may send the token of an
// org at instanceURL to the Pub/Sub endpoint: Salesforce's endpoint gets
// only the tokens of orgs at Salesforce; an endpoint the admin configured
// gets any.
func (s *Subscriber) mayReceive(instanceURL string) bool {
	if s.url != DefaultURL {
		return true
	}
	u, err := url.Parse(instanceURL)
	if err != nil || u.Scheme != "https" {
		return false
	}
	host := strings.ToLower(u.Hostname())
	for _, d := range []string{".salesforce.com", ".force.com", ".salesforce-gov.com", ".salesforce.mil"} {
		if strings.HasSuffix(host, d) {
			return true
		}
	}
	return false
}

// tokenUse is the token a subscription runs under, to refresh it when the
// Pub/Sub API refuses it.
type tokenUse struct {
	session salesforce.Session
	token   salesforce.Token
}

// topicOf is the change event channel of a Salesforce object:
// /data/CaseChangeEvent, or /data/Thing__ChangeEvent for Thing__c.
func topicOf(object string) string {
	if base, ok := strings.CutSuffix(object, "__c"); ok {
		return "/data/" + base + "__ChangeEvent"
	}
	return "/data/" + object + "ChangeEvent"
}

// attempt is how far one subscription got: up, the server answered it,
// so it was marked up (and the poller relaxed to its safety-net
// interval).
type attempt struct {
	use *tokenUse
	up  bool
}

// subscribe runs one subscription until it fails or ctx ends. Nothing
// here holds a store transaction across a network call: each event is
// applied, then its replay id stored, between reads.
func (s *Subscriber) subscribe(ctx context.Context, object, field string) (a attempt, err error) {
	conn, err := s.tokens.Background(ctx)
	if err != nil {
		return a, err
	}
	use := &tokenUse{session: s.tokens.Session(conn.Info.Kind, conn.Info.UserID)}
	if use.token, err = use.session.Token(ctx); err != nil {
		return a, err
	}
	a.use = use
	if !s.mayReceive(use.token.InstanceURL) {
		return a, errOtherOrgHost
	}
	org := conn.Info.OrgID
	if org == "" {
		org = s.tokens.OrgID()
	}
	sctx, cancel := context.WithCancel(withAuth(ctx, use.token, org))
	defer cancel()

	topic := topicOf(object)
	info, err := s.api.GetTopic(sctx, &pubsubapi.TopicRequest{TopicName: topic})
	if err != nil {
		return a, err
	}
	if !info.GetCanSubscribe() {
		return a, status.Error(codes.PermissionDenied, "the topic cannot be subscribed to")
	}
	from, err := s.replay.load(ctx)
	if err != nil {
		return a, err
	}
	stream, err := s.api.Subscribe(sctx)
	if err != nil {
		return a, err
	}
	first := &pubsubapi.FetchRequest{TopicName: topic, ReplayPreset: pubsubapi.ReplayPreset_LATEST, NumRequested: int32(s.batch)}
	if from != nil {
		first.ReplayPreset, first.ReplayId = pubsubapi.ReplayPreset_CUSTOM, from
	}
	if err := stream.Send(first); err != nil {
		return a, recvErr(stream.RecvMsg(new(pubsubapi.FetchResponse)), err)
	}
	s.log.Info("changeevents: subscribing", "topic", topic, "resumed", from != nil)
	s.setUp(false, "subscribed; waiting for the Pub/Sub API's first answer (within 270 s)")
	if s.pendingCatchUp {
		s.pendingCatchUp = false
		s.catchUp(ctx)
	}
	// A server that answers the subscription's headers at once (the
	// simulator does, with an rpc-id) has taken it: up now, not at the
	// first event or keepalive, which on a quiet org comes 270 s later.
	// Anything else waits for the first answer below.
	if md, err := stream.Header(); err == nil && acceptedHeader(md) {
		s.setUp(true, "")
		a.up = true
	}
	requested := s.batch // events asked for and not yet received
	for {
		resp, err := stream.Recv()
		if err != nil {
			return a, recvErr(err, nil)
		}
		if !a.up {
			// The server answered (events, or a keepalive within 270 s):
			// the subscription stands.
			s.setUp(true, "")
			a.up = true
		}
		s.metrics.eventsReceived(len(resp.GetEvents()))
		if err := s.handle(sctx, object, field, resp); err != nil {
			return a, err
		}
		requested -= len(resp.GetEvents())
		if requested <= s.batch/2 {
			// Ask for more as the batch is consumed: never more than
			// batch outstanding, never idle for want of credit.
			more := s.batch - max(requested, 0)
			if err := stream.Send(&pubsubapi.FetchRequest{TopicName: topic, NumRequested: int32(more)}); err != nil {
				return a, recvErr(stream.RecvMsg(new(pubsubapi.FetchResponse)), err)
			}
			requested += more
		}
	}
}

// acceptedHeader tells response headers of a subscription the server took
// (they carry its rpc-id) from the empty or trailer-only headers of one it
// refused.
func acceptedHeader(md metadata.MD) bool { return len(md.Get("rpc-id")) > 0 }

// recvErr is the error that ended a stream: the server's status when a
// send failed because the stream ended (io.EOF on Send hides it).
func recvErr(recv, send error) error {
	switch {
	case recv != nil && !errors.Is(recv, io.EOF):
		return recv
	case send != nil:
		return send
	}
	return errStreamEnded
}

// handle applies the events of one response in order and stores the
// replay id: after each event that changed Care (so a crash re-applies at
// most that one, harmlessly), and the response's latest at its end (also
// for an empty keepalive, as Salesforce advises).
func (s *Subscriber) handle(ctx context.Context, object, field string, resp *pubsubapi.FetchResponse) error {
	catchUp := false
	var stored []byte
	for _, ev := range resp.GetEvents() {
		out, err := s.apply(ctx, object, field, ev)
		if err != nil {
			return err
		}
		catchUp = catchUp || out.catchUp
		if out.changed {
			if err := s.replay.save(ctx, ev.GetReplayId()); err != nil {
				return err
			}
			stored = ev.GetReplayId()
		}
	}
	if catchUp {
		// A gap event, or an event we could not read: what it stood for
		// is read by a poll.
		s.catchUp(ctx)
	}
	last := resp.GetLatestReplayId()
	if evs := resp.GetEvents(); len(last) == 0 && len(evs) > 0 {
		last = evs[len(evs)-1].GetReplayId()
	}
	if len(last) == 0 || string(last) == string(stored) {
		return nil
	}
	return s.replay.save(ctx, last)
}
