package sfsim

import (
	"errors"
	"io"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/carebridge/carebridge/connector/pubsub/pubsubapi"
)

// Limits of a subscription, as Salesforce's: at most maxCredit events
// requested and not yet delivered (more asked counts as 100), and a stream
// whose credit is used up ends unless a FetchRequest comes within
// pubsubIdleClose of the last FetchResponse.
const (
	rpcIDHeader     = "rpc-id"
	maxCredit       = 100
	pubsubIdleClose = 60 * time.Second
)

// Subscribe serves one subscription: the first FetchRequest names the topic,
// where to start and the first credit; each later one adds credit. The
// server never sends more events than the credit outstanding, answers a
// stream with credit but no events with an empty keepalive FetchResponse
// every keepalive period, ends a stream left without credit for
// pubsubIdleClose, and ends the stream with an auth error once the session
// has expired.
func (p *pubsubServer) Subscribe(stream pubsubapi.PubSub_SubscribeServer) error {
	ctx := stream.Context()
	tok, err := p.authenticate(ctx)
	if err != nil {
		return err
	}
	first, err := stream.Recv()
	if err != nil {
		return nil // the client went away before asking anything
	}
	if err := p.checkTopic(ctx, first.GetTopicName()); err != nil {
		return err
	}
	if first.GetNumRequested() < 0 {
		return pubsubError(ctx, codes.InvalidArgument, pubsubFetchError, "num_requested must not be negative")
	}
	pos, err := p.start(ctx, first)
	if err != nil {
		return err
	}
	// The subscription stands: answer the response headers at once (with
	// the call's rpc-id), as a gRPC server does, rather than only with the
	// first events or keepalive.
	if err := stream.SendHeader(metadata.Pairs(rpcIDHeader, p.rpcID())); err != nil {
		return err
	}
	credit := min(int(first.GetNumRequested()), maxCredit)
	p.open.Add(1)
	defer p.open.Add(-1)
	p.s.log.Debug("sfsim: pubsub subscribe", "topic", first.GetTopicName(), "preset", first.GetReplayPreset().String(), "from", pos)

	// The client's later FetchRequests arrive on their own goroutine.
	more := make(chan int)
	recvErr := make(chan error, 1)
	go func() {
		for {
			req, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case more <- int(req.GetNumRequested()):
			case <-ctx.Done():
				return
			}
		}
	}()

	p.mu.Lock()
	dropped, idleClose := p.dropped, p.idleClose
	p.mu.Unlock()
	dropLeft := -1 // events still allowed before a drop; -1: no drop asked
	// idle fires a keepalive period after the last answer while there is
	// credit, or idleClose after it while there is none.
	idle := time.NewTimer(p.keepalive)
	defer idle.Stop()
	rearm := func() {
		d := p.keepalive
		if credit == 0 {
			d = idleClose
		}
		idle.Stop()
		idle.Reset(d)
	}
	rearm()
	for {
		select {
		case <-dropped: // asked before the writes that woke us
			p.mu.Lock()
			dropLeft, dropped = p.dropAfter, p.dropped
			p.mu.Unlock()
		default:
		}
		if !p.live(tok) {
			return pubsubError(ctx, codes.Unauthenticated, pubsubAuthError, "the session expired or is invalid")
		}
		n := credit
		if dropLeft >= 0 {
			n = min(n, dropLeft)
		}
		p.s.store.mu.RLock()
		batch, wake := p.log.after(pos, n)
		events := make([]*pubsubapi.ConsumerEvent, len(batch))
		for i, e := range batch {
			events[i] = e.ev
		}
		p.s.store.mu.RUnlock()
		if len(events) > 0 {
			pos = batch[len(batch)-1].seq
			credit -= len(events)
			if dropLeft > 0 {
				dropLeft -= len(events)
			}
			if err := stream.Send(&pubsubapi.FetchResponse{
				Events: events, LatestReplayId: replayID(pos), RpcId: p.rpcID(), PendingNumRequested: int32(credit),
			}); err != nil {
				return err
			}
			rearm()
			continue
		}
		if dropLeft == 0 {
			return pubsubError(ctx, codes.Unavailable, pubsubDropped, "the subscription was dropped")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-recvErr:
			if errors.Is(err, io.EOF) {
				return nil // the client closed its side
			}
			return err
		case n := <-more:
			if n < 0 {
				return pubsubError(ctx, codes.InvalidArgument, pubsubFetchError, "num_requested must not be negative")
			}
			credit = min(credit+n, maxCredit)
			rearm()
		case <-wake:
		case <-dropped:
			p.mu.Lock()
			dropLeft, dropped = p.dropAfter, p.dropped
			p.mu.Unlock()
		case <-idle.C:
			if !p.live(tok) {
				continue // the loop ends the stream with the auth error
			}
			if credit == 0 {
				return nil // no FetchRequest in time: the stream ends
			}
			// Credit but no events: the replay id the subscription has
			// reached, which a client may store and resume after.
			if err := stream.Send(&pubsubapi.FetchResponse{
				LatestReplayId: replayID(pos), RpcId: p.rpcID(), PendingNumRequested: int32(credit),
			}); err != nil {
				return err
			}
			rearm()
		}
	}
}
