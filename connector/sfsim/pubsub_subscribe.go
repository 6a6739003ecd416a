package sfsim

import (
	"errors"
	"io"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/carebridge/carebridge/connector/pubsub/pubsubapi"
)

// Subscribe serves one subscription: the first FetchRequest names the topic,
// where to start and the first credit; each later one adds credit. The
// server never sends more events than the credit outstanding, answers an
// idle stream with an empty keepalive FetchResponse every keepalive period,
// and ends the stream with an auth error once the session has expired.
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
	credit := int(first.GetNumRequested())
	p.open.Add(1)
	defer p.open.Add(-1)

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
	dropped := p.dropped
	p.mu.Unlock()
	dropLeft := -1 // events still allowed before a drop; -1: no drop asked
	keepalive := time.NewTimer(p.keepalive)
	defer keepalive.Stop()
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
			resetTimer(keepalive, p.keepalive)
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
			credit += n
		case <-wake:
		case <-dropped:
			p.mu.Lock()
			dropLeft, dropped = p.dropAfter, p.dropped
			p.mu.Unlock()
		case <-keepalive.C:
			// Idle (or out of credit): the replay id the subscription
			// has reached, which a client may store and resume after.
			if err := stream.Send(&pubsubapi.FetchResponse{
				LatestReplayId: replayID(pos), RpcId: p.rpcID(), PendingNumRequested: int32(credit),
			}); err != nil {
				return err
			}
			keepalive.Reset(p.keepalive)
		}
	}
}

func resetTimer(t *time.Timer, d time.Duration) {
	t.Stop()
	t.Reset(d)
}
