package sfsim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/carebridge/carebridge/connector/pubsub"
	"github.com/carebridge/carebridge/connector/pubsub/pubsubapi"
)

// DefaultPubSubKeepalive is how often an idle subscription gets an empty
// FetchResponse carrying the latest replay id, as Salesforce sends one
// within 270 seconds.
const DefaultPubSubKeepalive = 270 * time.Second

// Error codes the Pub/Sub API names in the error-code trailer.
const (
	pubsubAuthError   = "sfdc.platform.eventbus.grpc.service.auth.error"
	pubsubReplayError = "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.validation.failed"
	pubsubTopicError  = "sfdc.platform.eventbus.grpc.service.topic.not.found"
	pubsubSchemaError = "sfdc.platform.eventbus.grpc.schema.not.found"
	pubsubFetchError  = "sfdc.platform.eventbus.grpc.fetch.request.invalid"
	pubsubDropped     = "sfdc.platform.eventbus.grpc.service.unavailable"
)

// pubsubServer serves the Pub/Sub API (gRPC, plaintext HTTP/2) on a
// loopback port of its own: GetTopic and GetSchema of /data/CaseChangeEvent
// and Subscribe with flow control and replay.
type pubsubServer struct {
	pubsubapi.UnimplementedPubSubServer
	s         *Server
	log       *changeLog
	keepalive time.Duration
	grpc      *grpc.Server
	ln        net.Listener
	rpcs      atomic.Uint64
	// open counts the subscriptions serving events.
	open atomic.Int64

	mu sync.Mutex
	// dropped is closed (and replaced) to end the open subscriptions;
	// dropAfter is how many more events each may deliver first.
	dropped   chan struct{}
	dropAfter int
	// idleClose ends a subscription left without credit that long
	// (pubsubIdleClose; tests shorten it).
	idleClose time.Duration
}

// startPubSub opens the Pub/Sub API on a random port of host and hooks the
// change log into the store. Without it (Options.NoPubSub) no change event
// is kept.
func (s *Server) startPubSub(host string) error {
	if s.opts.NoPubSub {
		return nil
	}
	log, err := newChangeLog(s.schema.object("Case"), s.now)
	if err != nil {
		return err
	}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return fmt.Errorf("sfsim: pubsub listen on %s: %w", host, err)
	}
	p := &pubsubServer{s: s, log: log, keepalive: s.opts.PubSubKeepalive, ln: ln, dropped: make(chan struct{}), idleClose: pubsubIdleClose}
	if p.keepalive <= 0 {
		p.keepalive = DefaultPubSubKeepalive
	}
	p.grpc = grpc.NewServer(
		// Clients keep their streams alive with pings; let them.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
	)
	pubsubapi.RegisterPubSubServer(p.grpc, p)
	s.store.mu.Lock()
	s.store.events = log
	s.store.mu.Unlock()
	s.pubsub = p
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := p.grpc.Serve(ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			s.log.Error("sfsim: serve pubsub", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return nil
}

// stopPubSub ends every subscription and closes the port.
func (s *Server) stopPubSub() {
	if s.pubsub != nil {
		s.pubsub.grpc.Stop()
	}
}

// PubSubURL is the Pub/Sub API's address as salesforce.pubsub_url takes it
// (http:// for plaintext HTTP/2), or "" when the org serves none.
func (s *Server) PubSubURL() string {
	if s.pubsub == nil {
		return ""
	}
	return "http://" + s.pubsub.ln.Addr().String()
}

// CaseChangeEventSchema is the schema of the org's CaseChangeEvent (nil
// when it serves no Pub/Sub API).
func (s *Server) CaseChangeEventSchema() *pubsub.Schema {
	if s.pubsub == nil {
		return nil
	}
	return s.pubsub.log.schema
}

// DropChangeStreams ends every open subscription with UNAVAILABLE after it
// has delivered at most afterEvents more events (0: at once), as a lost
// connection does mid-batch.
func (s *Server) DropChangeStreams(afterEvents int) {
	if s.pubsub == nil {
		return
	}
	p := s.pubsub
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropAfter = max(afterEvents, 0)
	close(p.dropped)
	p.dropped = make(chan struct{})
}

// InjectChangeGaps makes the next n Case change events gap events
// (GAP_CREATE, GAP_UPDATE, ...: the header with the record ids, no change
// origin, no changed fields, no values), as Salesforce publishes when it
// cannot compute a change; the subscriber must read the records.
func (s *Server) InjectChangeGaps(n int) {
	s.inject(func(in *injected) { in.gaps = max(n, 0) })
}

// InjectChangeOverflow makes the next n Case changes (n > 0) one
// GAP_OVERFLOW event, as Salesforce publishes for the changes of a
// transaction past its 100,000th: the entity and the empty record id
// 000000000000000AAA, nothing else; the subscriber must read what changed.
func (s *Server) InjectChangeOverflow(n int) {
	s.inject(func(in *injected) { in.overflow, in.overflowed = max(n, 0), false })
}

func (s *Server) inject(set func(*injected)) {
	if s.pubsub == nil {
		return
	}
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	set(&s.pubsub.log.injected)
}

// ExpireChangeEvents forgets the change events committed before t, as
// retention does after 72 hours: a replay from before them fails.
func (s *Server) ExpireChangeEvents(before time.Time) {
	if s.pubsub == nil {
		return
	}
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	s.pubsub.log.trim(before)
}

// subscriptions is the number of open subscriptions.
func (p *pubsubServer) subscriptions() int { return int(p.open.Load()) }

func (p *pubsubServer) rpcID() string {
	return fmt.Sprintf("sfsim-rpc-%d", p.rpcs.Add(1))
}

// pubsubError is a gRPC status whose error-code trailer names the reason,
// as Salesforce's are.
func pubsubError(ctx context.Context, c codes.Code, errorCode, msg string) error {
	_ = grpc.SetTrailer(ctx, metadata.Pairs("error-code", errorCode))
	return status.Error(c, errorCode+": "+msg)
}

// authenticate checks the call's metadata: accesstoken (a live session),
// instanceurl and tenantid (this org's id).
func (p *pubsubServer) authenticate(ctx context.Context) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	get := func(k string) string {
		if v := md.Get(k); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	tok, instance, tenant := get("accesstoken"), get("instanceurl"), get("tenantid")
	if tok == "" || instance == "" || tenant == "" {
		return "", pubsubError(ctx, codes.Unauthenticated, pubsubAuthError, "the accesstoken, instanceurl and tenantid headers are required")
	}
	if tenant != p.s.orgID && tenant != p.s.orgID[:15] {
		return "", pubsubError(ctx, codes.Unauthenticated, pubsubAuthError, "the tenantid does not match the session's org")
	}
	if !p.live(tok) {
		return "", pubsubError(ctx, codes.Unauthenticated, pubsubAuthError, "the session is expired or invalid")
	}
	return tok, nil
}

func (p *pubsubServer) live(tok string) bool {
	return p.s.auth.lookup(tok, p.s.now()) != nil
}

func (p *pubsubServer) checkTopic(ctx context.Context, topic string) error {
	if topic != pubsub.CaseChangeTopic {
		return pubsubError(ctx, codes.NotFound, pubsubTopicError, fmt.Sprintf("topic %q is not found or not subscribable in this org", topic))
	}
	return nil
}

// GetTopic answers /data/CaseChangeEvent: subscribable, not publishable.
func (p *pubsubServer) GetTopic(ctx context.Context, req *pubsubapi.TopicRequest) (*pubsubapi.TopicInfo, error) {
	if _, err := p.authenticate(ctx); err != nil {
		return nil, err
	}
	if err := p.checkTopic(ctx, req.GetTopicName()); err != nil {
		return nil, err
	}
	return &pubsubapi.TopicInfo{
		TopicName: req.GetTopicName(), TenantGuid: p.s.orgID, CanSubscribe: true,
		SchemaId: p.log.schema.ID(), RpcId: p.rpcID(),
	}, nil
}

// GetSchema answers the schema of CaseChangeEvent by its id.
func (p *pubsubServer) GetSchema(ctx context.Context, req *pubsubapi.SchemaRequest) (*pubsubapi.SchemaInfo, error) {
	if _, err := p.authenticate(ctx); err != nil {
		return nil, err
	}
	if req.GetSchemaId() != p.log.schema.ID() {
		return nil, pubsubError(ctx, codes.NotFound, pubsubSchemaError, fmt.Sprintf("schema %q is not found", req.GetSchemaId()))
	}
	return &pubsubapi.SchemaInfo{SchemaJson: p.log.schema.JSON(), SchemaId: p.log.schema.ID(), RpcId: p.rpcID()}, nil
}

// Publish refuses: change events are published by the org, not by clients.
func (p *pubsubServer) Publish(ctx context.Context, req *pubsubapi.PublishRequest) (*pubsubapi.PublishResponse, error) {
	if _, err := p.authenticate(ctx); err != nil {
		return nil, err
	}
	if err := p.checkTopic(ctx, req.GetTopicName()); err != nil {
		return nil, err
	}
	return nil, status.Error(codes.PermissionDenied, "change events cannot be published by clients")
}

// start is the sequence number a subscription reads after, from its first
// FetchRequest: the tip (LATEST), before the oldest kept (EARLIEST) or the
// replay id given (CUSTOM), which must still be within retention.
func (p *pubsubServer) start(ctx context.Context, req *pubsubapi.FetchRequest) (uint64, error) {
	p.s.store.mu.RLock()
	defer p.s.store.mu.RUnlock()
	l := p.log
	switch req.GetReplayPreset() {
	case pubsubapi.ReplayPreset_LATEST:
		return l.latest(), nil
	case pubsubapi.ReplayPreset_EARLIEST:
		return l.first - 1, nil
	case pubsubapi.ReplayPreset_CUSTOM:
		id := req.GetReplayId()
		if len(id) != 8 {
			return 0, pubsubError(ctx, codes.InvalidArgument, pubsubReplayError, fmt.Sprintf("The Replay ID validation failed: replay id %x is not valid", id))
		}
		seq := binary.BigEndian.Uint64(id)
		if seq+1 < l.first || seq > l.latest() {
			return 0, pubsubError(ctx, codes.InvalidArgument, pubsubReplayError,
				fmt.Sprintf("The Replay ID validation failed: replay id %x is outside the retention window of the events kept", id))
		}
		return seq, nil
	}
	return 0, pubsubError(ctx, codes.InvalidArgument, pubsubFetchError, fmt.Sprintf("replay preset %d is not valid", req.GetReplayPreset()))
}
