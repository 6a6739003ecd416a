package sfsim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/carebridge/carebridge/connector/pubsub"
	"github.com/carebridge/carebridge/connector/pubsub/pubsubapi"
)

// subscriber is a Pub/Sub API client of the org over loopback gRPC, with
// the credentials of an api's session.
type subscriber struct {
	t      testing.TB
	client pubsubapi.PubSubClient
	ctx    context.Context
	schema *pubsub.Schema
}

func newSubscriber(t testing.TB, srv *Server, a *api) *subscriber {
	t.Helper()
	cc, err := grpc.NewClient(strings.TrimPrefix(srv.PubSubURL(), "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	ctx = metadata.NewOutgoingContext(ctx, metadata.Pairs("accesstoken", a.token, "instanceurl", a.base, "tenantid", srv.OrgID()))
	return &subscriber{t: t, client: pubsubapi.NewPubSubClient(cc), ctx: ctx}
}

// open starts a subscription to CaseChangeEvent.
func (s *subscriber) open(preset pubsubapi.ReplayPreset, replay []byte, n int32) pubsubapi.PubSub_SubscribeClient {
	s.t.Helper()
	stream, err := s.client.Subscribe(s.ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := stream.Send(&pubsubapi.FetchRequest{TopicName: pubsub.CaseChangeTopic, ReplayPreset: preset, ReplayId: replay, NumRequested: n}); err != nil {
		s.t.Fatal(err)
	}
	return stream
}

// events receives until it has n events (failing on an error).
func (s *subscriber) events(stream pubsubapi.PubSub_SubscribeClient, n int) []*pubsubapi.ConsumerEvent {
	s.t.Helper()
	var out []*pubsubapi.ConsumerEvent
	for len(out) < n {
		resp, err := stream.Recv()
		if err != nil {
			s.t.Fatalf("after %d of %d events: %v", len(out), n, err)
		}
		out = append(out, resp.GetEvents()...)
	}
	if len(out) != n {
		s.t.Fatalf("%d events, want %d", len(out), n)
	}
	return out
}

// decode reads an event with the schema GetSchema serves.
func (s *subscriber) decode(ev *pubsubapi.ConsumerEvent) pubsub.Event {
	s.t.Helper()
	if s.schema == nil || s.schema.ID() != ev.GetEvent().GetSchemaId() {
		info, err := s.client.GetSchema(s.ctx, &pubsubapi.SchemaRequest{SchemaId: ev.GetEvent().GetSchemaId()})
		if err != nil {
			s.t.Fatal(err)
		}
		if s.schema, err = pubsub.ParseSchema(info.GetSchemaJson()); err != nil {
			s.t.Fatal(err)
		}
	}
	out, err := s.schema.Decode(ev.GetEvent().GetPayload())
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

// streamEnd receives until the stream ends and returns its status.
func streamEnd(t testing.TB, stream pubsubapi.PubSub_SubscribeClient) *status.Status {
	t.Helper()
	for {
		if _, err := stream.Recv(); err != nil {
			return status.Convert(err)
		}
	}
}

func TestPubSubTopicAndSchema(t *testing.T) {
	_, srv, a := clockedOrg(t, Options{})
	sub := newSubscriber(t, srv, a)
	topic, err := sub.client.GetTopic(sub.ctx, &pubsubapi.TopicRequest{TopicName: "/data/CaseChangeEvent"})
	if err != nil {
		t.Fatal(err)
	}
	if !topic.GetCanSubscribe() || topic.GetCanPublish() || topic.GetTenantGuid() != srv.OrgID() || topic.GetRpcId() == "" {
		t.Fatalf("topic %+v", topic)
	}
	info, err := sub.client.GetSchema(sub.ctx, &pubsubapi.SchemaRequest{SchemaId: topic.GetSchemaId()})
	if err != nil {
		t.Fatal(err)
	}
	sch, err := pubsub.ParseSchema(info.GetSchemaJson())
	if err != nil {
		t.Fatal(err)
	}
	// The org's custom Case fields are in it, after the standard ones.
	if sch.ID() != topic.GetSchemaId() || sch.Name() != "CaseChangeEvent" || !sch.HasField("Care_Case_Id__c") || !sch.HasField("Status") {
		t.Fatalf("schema %s %s: %s", sch.ID(), sch.Name(), info.GetSchemaJson())
	}
	if srv.CaseChangeEventSchema().ID() != sch.ID() {
		t.Fatal("CaseChangeEventSchema differs from GetSchema")
	}
	_, err = sub.client.GetTopic(sub.ctx, &pubsubapi.TopicRequest{TopicName: "/data/NoSuchChangeEvent"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("unknown topic: %v", err)
	}
	_, err = sub.client.GetSchema(sub.ctx, &pubsubapi.SchemaRequest{SchemaId: "nope"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("unknown schema: %v", err)
	}
	stream := sub.open(pubsubapi.ReplayPreset_LATEST, nil, 1)
	stream.CloseSend()
	_ = stream
	bad, err := sub.client.Subscribe(sub.ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = bad.Send(&pubsubapi.FetchRequest{TopicName: "/data/NoSuchChangeEvent", NumRequested: 1})
	if st := streamEnd(t, bad); st.Code() != codes.NotFound {
		t.Fatalf("subscribe to an unknown topic: %v", st)
	}
}

// Every way a Case is written publishes its event: REST, sObject
// Collections, the composite API, the control surface and the Go methods;
// an update's changedFields name what changed.
func TestPubSubCaseWritesPublishEvents(t *testing.T) {
	clock, srv, a := clockedOrg(t, Options{})
	id := a.mustCreate("Case", map[string]any{"Subject": "Printer on fire", "Status": "New"})
	sub := newSubscriber(t, srv, a)
	stream := sub.open(pubsubapi.ReplayPreset_LATEST, nil, 100)
	waitSubscribed(t, srv, 1) // LATEST is the tip when the server reads the request

	clock.Add(time.Minute)
	if r := a.call(http.MethodPatch, "sobjects/Case/"+id, map[string]any{"Status": "Working", "Description": "smoke"}); r.status != http.StatusNoContent {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	ev := sub.decode(sub.events(stream, 1)[0])
	h := ev.Header
	if h.ChangeType != pubsub.ChangeUpdate || h.EntityName != "Case" || !reflect.DeepEqual(h.RecordIDs, []string{id}) {
		t.Fatalf("header %+v", h)
	}
	if h.CommitTimestamp != clock.Now().UnixMilli() || h.CommitUser != srv.adminID {
		t.Fatalf("commit %d by %s, want %d by %s", h.CommitTimestamp, h.CommitUser, clock.Now().UnixMilli(), srv.adminID)
	}
	changed, err := sub.schema.Names(h.ChangedFields)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(changed, []string{"Status", "Description", "LastModifiedDate", "SystemModstamp"}) {
		t.Fatalf("changedFields %v = %v", h.ChangedFields, changed)
	}
	if ev.Fields["Status"] != "Working" || ev.Fields["Description"] != "smoke" || ev.Fields["Subject"] != nil {
		t.Fatalf("an update carries the changed fields only: %v", ev.Fields)
	}

	// Other paths: a collection create, a composite update, a control
	// PATCH that nulls a field, a delete and an undelete.
	r := a.call(http.MethodPost, "composite/sobjects", map[string]any{"allOrNone": true, "records": []any{
		map[string]any{"attributes": map[string]any{"type": "Case"}, "Subject": "Second", "Care_Case_Id__c": "care-2"},
	}})
	if r.status != http.StatusOK {
		t.Fatalf("collections: %d %s", r.status, r.body)
	}
	r = a.call(http.MethodPost, "composite", map[string]any{"compositeRequest": []any{map[string]any{
		"method": "PATCH", "url": "/services/data/v62.0/sobjects/Case/" + id, "referenceId": "u", "body": map[string]any{"Priority": "High"},
	}}})
	if r.status != http.StatusOK || strings.Contains(string(r.body), `"httpStatusCode":4`) {
		t.Fatalf("composite: %d %s", r.status, r.body)
	}
	if status, body := simCall(t, srv, http.MethodPatch, "/__sim/records/Case/"+id, `{"Description":null}`); status != http.StatusNoContent {
		t.Fatalf("control: %d %s", status, body)
	}
	if r := a.call(http.MethodDelete, "sobjects/Case/"+id, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if err := srv.UndeleteRecord("Case", id); err != nil {
		t.Fatal(err)
	}
	var got []string
	var evs []pubsub.Event
	for _, ce := range sub.events(stream, 5) {
		e := sub.decode(ce)
		evs = append(evs, e)
		got = append(got, e.Header.ChangeType)
	}
	if want := []string{"CREATE", "UPDATE", "UPDATE", "DELETE", "UNDELETE"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("change types %v, want %v", got, want)
	}
	if evs[0].Fields["Subject"] != "Second" || evs[0].Fields["Care_Case_Id__c"] != "care-2" || len(evs[0].Header.ChangedFields) != 0 {
		t.Fatalf("create event %+v", evs[0])
	}
	if nulled, _ := sub.schema.Names(evs[2].Header.NulledFields); !reflect.DeepEqual(nulled, []string{"Description"}) {
		t.Fatalf("nulledFields %v", nulled)
	}
	if evs[4].Fields["Subject"] != "Printer on fire" || evs[4].Fields["Priority"] != "High" {
		t.Fatalf("an undelete carries the record: %v", evs[4].Fields)
	}
}

// waitSubscribed waits until n subscriptions are open on the org.
func waitSubscribed(t testing.TB, srv *Server, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for srv.pubsub.subscriptions() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscriptions, want %d", srv.pubsub.subscriptions(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// pubsubOrg is an org on a fake clock with a short keepalive, a Pub/Sub
// client of its admin and n Case updates already published.
func pubsubOrg(t *testing.T, n int) (*fakeClock, *Server, *api, *subscriber, string) {
	t.Helper()
	clock, srv, a := clockedOrg(t, Options{PubSubKeepalive: 20 * time.Millisecond})
	id := a.mustCreate("Case", map[string]any{"Subject": "Flow"})
	for i := range n - 1 {
		if err := srv.UpdateRecord("Case", id, map[string]any{"Subject": "Flow " + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	return clock, srv, a, newSubscriber(t, srv, a), id
}

func replaySeq(ev *pubsubapi.ConsumerEvent) uint64 { return binary.BigEndian.Uint64(ev.GetReplayId()) }

// The server never sends more events than the credit outstanding: with
// three events waiting, each FetchRequest gets exactly what it asked for.
func TestPubSubFlowControl(t *testing.T) {
	_, srv, _, sub, _ := pubsubOrg(t, 5)
	stream := sub.open(pubsubapi.ReplayPreset_EARLIEST, nil, 2)
	got := sub.events(stream, 2)
	if replaySeq(got[0]) != 1 || replaySeq(got[1]) != 2 {
		t.Fatalf("replay ids %x %x", got[0].GetReplayId(), got[1].GetReplayId())
	}
	if err := stream.Send(&pubsubapi.FetchRequest{NumRequested: 1}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetEvents()) != 1 || replaySeq(resp.GetEvents()[0]) != 3 || resp.GetPendingNumRequested() != 0 {
		t.Fatalf("one more asked: %d events from %x, pending %d", len(resp.GetEvents()), resp.GetLatestReplayId(), resp.GetPendingNumRequested())
	}
	if err := stream.Send(&pubsubapi.FetchRequest{NumRequested: 10}); err != nil {
		t.Fatal(err)
	}
	var rest []*pubsubapi.ConsumerEvent
	for len(rest) < 2 {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		rest = append(rest, resp.GetEvents()...)
		if len(resp.GetEvents()) > 0 && resp.GetPendingNumRequested() != int32(10-len(rest)) {
			t.Fatalf("pending %d after %d of 10", resp.GetPendingNumRequested(), len(rest))
		}
	}
	if len(rest) != 2 || replaySeq(rest[0]) != 4 || replaySeq(rest[1]) != 5 {
		t.Fatalf("%d more events", len(rest))
	}
	// With credit left and nothing to send: keepalives at the position
	// reached.
	resp, err = stream.Recv()
	if err != nil || len(resp.GetEvents()) != 0 || resp.GetPendingNumRequested() != 8 || replaySeqOf(resp.GetLatestReplayId()) != 5 {
		t.Fatalf("keepalive: %v %v", resp, err)
	}
	// Negative credit is refused.
	if err := stream.Send(&pubsubapi.FetchRequest{NumRequested: -1}); err != nil {
		t.Fatal(err)
	}
	if st := streamEnd(t, stream); st.Code() != codes.InvalidArgument {
		t.Fatalf("negative credit: %v", st)
	}

	// At most 100 are outstanding, however many are asked for.
	id := sub.decode(got[0]).Header.RecordIDs[0]
	for i := range 120 {
		if err := srv.UpdateRecord("Case", id, map[string]any{"Subject": "Many " + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	many := sub.open(pubsubapi.ReplayPreset_EARLIEST, nil, 500)
	var n int
	for n < 100 {
		resp, err := many.Recv()
		if err != nil {
			t.Fatal(err)
		}
		n += len(resp.GetEvents())
		if resp.GetPendingNumRequested() != int32(100-n) {
			t.Fatalf("pending %d after %d", resp.GetPendingNumRequested(), n)
		}
	}
	if err := many.Send(&pubsubapi.FetchRequest{NumRequested: 1}); err != nil {
		t.Fatal(err)
	}
	if resp, err := many.Recv(); err != nil || len(resp.GetEvents()) != 1 || replaySeq(resp.GetEvents()[0]) != 101 {
		t.Fatalf("after 100: %v %v", resp, err)
	}
}

// A stream whose credit is used up ends when no FetchRequest comes in time.
func TestPubSubIdleStreamWithoutCreditEnds(t *testing.T) {
	_, srv, _, sub, _ := pubsubOrg(t, 1)
	srv.pubsub.mu.Lock()
	srv.pubsub.idleClose = 30 * time.Millisecond
	srv.pubsub.mu.Unlock()
	stream := sub.open(pubsubapi.ReplayPreset_EARLIEST, nil, 1)
	sub.events(stream, 1)
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("idle without credit: %v, want the stream ended", err)
	}
}

func replaySeqOf(id []byte) uint64 {
	if len(id) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(id)
}

// CUSTOM resumes just after the replay id given; one past retention (or
// unknown) fails with INVALID_ARGUMENT naming the replay id, so a client
// falls back to reading the records.
func TestPubSubReplay(t *testing.T) {
	clock, srv, _, sub, _ := pubsubOrg(t, 4)
	stream := sub.open(pubsubapi.ReplayPreset_EARLIEST, nil, 10)
	all := sub.events(stream, 4)

	resumed := sub.open(pubsubapi.ReplayPreset_CUSTOM, all[1].GetReplayId(), 10)
	if got := sub.events(resumed, 2); replaySeq(got[0]) != 3 || replaySeq(got[1]) != 4 {
		t.Fatalf("resumed at %d", replaySeq(got[0]))
	}
	// The newest replay id resumes with nothing to replay.
	tip := sub.open(pubsubapi.ReplayPreset_CUSTOM, all[3].GetReplayId(), 10)
	if resp, err := tip.Recv(); err != nil || len(resp.GetEvents()) != 0 || replaySeqOf(resp.GetLatestReplayId()) != 4 {
		t.Fatalf("at the tip: %v %v", resp, err)
	}

	// Events 1 and 2 pass retention.
	clock.Add(time.Second)
	if err := srv.UpdateRecord("Case", sub.decode(all[0]).Header.RecordIDs[0], map[string]any{"Priority": "Low"}); err != nil {
		t.Fatal(err)
	}
	srv.ExpireChangeEvents(clock.Now())
	for name, id := range map[string][]byte{
		"expired": all[1].GetReplayId(),
		"future":  replayID(99),
		"garbage": []byte("nope"),
	} {
		st := streamEnd(t, sub.open(pubsubapi.ReplayPreset_CUSTOM, id, 10))
		if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "Replay ID validation failed") || !strings.Contains(st.Message(), fmt.Sprintf("%x", id)) {
			t.Errorf("%s replay id: %v", name, st)
		}
	}
	// The last id before the kept ones still resumes: nothing was lost.
	ok := sub.open(pubsubapi.ReplayPreset_CUSTOM, all[3].GetReplayId(), 10)
	if got := sub.events(ok, 1); replaySeq(got[0]) != 5 {
		t.Fatalf("after expiry resumed at %d", replaySeq(got[0]))
	}
	// EARLIEST starts at the oldest kept.
	if got := sub.events(sub.open(pubsubapi.ReplayPreset_EARLIEST, nil, 10), 1); replaySeq(got[0]) != 5 {
		t.Fatalf("EARLIEST after expiry: %d", replaySeq(got[0]))
	}
	// The control surface expires the rest.
	if status, body := simCall(t, srv, http.MethodPost, "/__sim/pubsub/expire", ""); status != http.StatusNoContent {
		t.Fatalf("expire: %d %s", status, body)
	}
	if st := streamEnd(t, sub.open(pubsubapi.ReplayPreset_CUSTOM, all[3].GetReplayId(), 10)); st.Code() != codes.InvalidArgument {
		t.Fatalf("after expiring all: %v", st)
	}
}

// The change log keeps at most its count, oldest out first, and 72 hours.
func TestPubSubRetentionBounds(t *testing.T) {
	clock, srv, _, _, id := pubsubOrg(t, 1)
	l := srv.pubsub.log
	srv.store.mu.Lock()
	l.max = 3
	srv.store.mu.Unlock()
	for i := range 4 {
		if err := srv.UpdateRecord("Case", id, map[string]any{"Subject": "Kept " + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	srv.store.mu.RLock()
	first, n := l.first, len(l.events)
	srv.store.mu.RUnlock()
	if first != 3 || n != 3 {
		t.Fatalf("kept %d from %d, want 3 from 3", n, first)
	}
	clock.Add(changeEventRetention + time.Second)
	if err := srv.UpdateRecord("Case", id, map[string]any{"Subject": "Later"}); err != nil {
		t.Fatal(err)
	}
	srv.store.mu.RLock()
	first, n = l.first, len(l.events)
	srv.store.mu.RUnlock()
	if first != 6 || n != 1 {
		t.Fatalf("after 72h kept %d from %d, want 1 from 6", n, first)
	}
}

// A composite request rolled back by allOrNone publishes nothing, and
// gives back an injected gap it took.
func TestPubSubRollbackPublishesNothing(t *testing.T) {
	_, srv, a, sub, id := pubsubOrg(t, 1)
	rollBack := func() {
		t.Helper()
		r := a.call(http.MethodPost, "composite/sobjects", map[string]any{"allOrNone": true, "records": []any{
			map[string]any{"attributes": map[string]any{"type": "Case"}, "id": id, "Subject": "Rolled back"},
			map[string]any{"attributes": map[string]any{"type": "Case"}, "id": id, "Status": "NoSuchStatus"},
		}})
		if r.status != http.StatusOK || strings.Contains(string(r.body), `"success":true`) {
			t.Fatalf("allOrNone: %d %s", r.status, r.body)
		}
	}
	rollBack()
	if err := srv.UpdateRecord("Case", id, map[string]any{"Subject": "Kept"}); err != nil {
		t.Fatal(err)
	}
	srv.InjectChangeGaps(1)
	rollBack()
	if err := srv.UpdateRecord("Case", id, map[string]any{"Subject": "Kept as a gap"}); err != nil {
		t.Fatal(err)
	}
	got := sub.events(sub.open(pubsubapi.ReplayPreset_EARLIEST, nil, 10), 3)
	if ev := sub.decode(got[1]); ev.Fields["Subject"] != "Kept" || replaySeq(got[1]) != 2 {
		t.Fatalf("second event %d: %v", replaySeq(got[1]), ev.Fields)
	}
	if ev := sub.decode(got[2]); ev.Header.ChangeType != pubsub.ChangeGapUpdate || replaySeq(got[2]) != 3 {
		t.Fatalf("third event %d: %+v", replaySeq(got[2]), ev.Header)
	}
}

func TestPubSubRefusesBadCredentials(t *testing.T) {
	_, srv, a, good, _ := pubsubOrg(t, 1)
	for name, md := range map[string][]string{
		"unknown token":  {"accesstoken", "00Dxx!nope", "instanceurl", a.base, "tenantid", srv.OrgID()},
		"no token":       {"instanceurl", a.base, "tenantid", srv.OrgID()},
		"no tenant":      {"accesstoken", a.token, "instanceurl", a.base},
		"another org":    {"accesstoken", a.token, "instanceurl", a.base, "tenantid", otherOrgID},
		"no instanceurl": {"accesstoken", a.token, "tenantid", srv.OrgID()},
	} {
		ctx := metadata.NewOutgoingContext(context.Background(), metadata.Pairs(md...))
		var trailer metadata.MD
		_, err := good.client.GetTopic(ctx, &pubsubapi.TopicRequest{TopicName: pubsub.CaseChangeTopic}, grpc.Trailer(&trailer))
		if status.Code(err) != codes.Unauthenticated || !reflect.DeepEqual(trailer.Get("error-code"), []string{pubsubAuthError}) {
			t.Errorf("%s: GetTopic %v, trailer %v", name, err, trailer)
		}
		if strings.Contains(status.Convert(err).Message(), a.token) {
			t.Errorf("%s: the error echoes the token", name)
		}
		stream, err := good.client.Subscribe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_ = stream.Send(&pubsubapi.FetchRequest{TopicName: pubsub.CaseChangeTopic, NumRequested: 1})
		if st := streamEnd(t, stream); st.Code() != codes.Unauthenticated {
			t.Errorf("%s: Subscribe %v", name, st)
		}
	}
}

// A session that expires while subscribed ends the stream with the auth
// error, at the next event or keepalive.
func TestPubSubSessionExpiringMidStream(t *testing.T) {
	clock, srv, _, sub, id := pubsubOrg(t, 1)
	stream := sub.open(pubsubapi.ReplayPreset_EARLIEST, nil, 10)
	sub.events(stream, 1)
	clock.Add(DefaultSessionTTL + time.Second)
	if err := srv.UpdateRecord("Case", id, map[string]any{"Subject": "After expiry"}); err != nil {
		t.Fatal(err)
	}
	st := streamEnd(t, stream)
	if st.Code() != codes.Unauthenticated || !strings.Contains(st.Message(), pubsubAuthError) {
		t.Fatalf("expired mid-stream: %v", st)
	}
	// ExpireSessions too, with no event: the keepalive notices.
	_, srv2, a2 := clockedOrg(t, Options{PubSubKeepalive: 20 * time.Millisecond})
	sub2 := newSubscriber(t, srv2, a2)
	stream2 := sub2.open(pubsubapi.ReplayPreset_LATEST, nil, 10)
	waitSubscribed(t, srv2, 1)
	srv2.ExpireSessions()
	if st := streamEnd(t, stream2); st.Code() != codes.Unauthenticated {
		t.Fatalf("ExpireSessions mid-stream: %v", st)
	}
}

// A dropped stream ends with UNAVAILABLE after the events asked for.
func TestPubSubDropMidBatch(t *testing.T) {
	_, srv, _, sub, id := pubsubOrg(t, 1)
	stream := sub.open(pubsubapi.ReplayPreset_EARLIEST, nil, 10)
	sub.events(stream, 1)
	if status, body := simCall(t, srv, http.MethodPost, "/__sim/pubsub/drop", `{"after_events":2}`); status != http.StatusNoContent {
		t.Fatalf("drop: %d %s", status, body)
	}
	for i := range 4 {
		if err := srv.UpdateRecord("Case", id, map[string]any{"Subject": "Batch " + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	var got int
	var st *status.Status
	for st == nil {
		resp, err := stream.Recv()
		if err != nil {
			st = status.Convert(err)
			break
		}
		got += len(resp.GetEvents())
	}
	if got != 2 || st.Code() != codes.Unavailable {
		t.Fatalf("dropped after %d events with %v, want 2 and UNAVAILABLE", got, st)
	}
	// A new subscription resumes after the last event delivered.
	again := sub.open(pubsubapi.ReplayPreset_CUSTOM, replayID(3), 10)
	if evs := sub.events(again, 2); replaySeq(evs[0]) != 4 {
		t.Fatalf("resumed at %d", replaySeq(evs[0]))
	}
	if status, _ := simCall(t, srv, http.MethodPost, "/__sim/pubsub/drop", `{"after_events":-1}`); status != http.StatusBadRequest {
		t.Fatalf("negative drop: %d", status)
	}
}

func TestNoPubSubServesNone(t *testing.T) {
	_, srv, a := clockedOrg(t, Options{NoPubSub: true})
	if srv.PubSubURL() != "" || srv.CaseChangeEventSchema() != nil {
		t.Fatalf("pubsub served at %q", srv.PubSubURL())
	}
	a.mustCreate("Case", map[string]any{"Subject": "No events"})
	if srv.store.events != nil {
		t.Fatal("change events kept without a Pub/Sub API")
	}
	if status, _ := simCall(t, srv, http.MethodPost, "/__sim/pubsub/drop", ""); status != http.StatusNotFound {
		t.Fatalf("drop without pubsub: %d", status)
	}
	srv.DropChangeStreams(0)
	srv.ExpireChangeEvents(time.Now())
}

// Custom Case fields of every type a --schema file declares travel in the
// events with their values.
func TestPubSubCustomFieldsOfEveryType(t *testing.T) {
	ext, err := ParseSchema("case.yaml", []byte(`objects:
  Case:
    fields:
      Score__c: {type: double}
      Visits__c: {type: int}
      Due__c: {type: date}
      Seen__c: {type: datetime}
      Vip__c: {type: boolean}
      Tags__c: {type: multipicklist, values: [a, b]}
      Mood__c: {type: picklist, values: [Happy, Sad]}
      Note__c: {type: textarea, length: 1000}
`))
	if err != nil {
		t.Fatal(err)
	}
	clock, srv, a := clockedOrg(t, Options{Schema: ext})
	sub := newSubscriber(t, srv, a)
	stream := sub.open(pubsubapi.ReplayPreset_LATEST, nil, 10)
	waitSubscribed(t, srv, 1)
	seen := clock.Now().Add(-time.Hour).Truncate(time.Second)
	id := a.mustCreate("Case", map[string]any{
		"Subject": "Typed", "Score__c": 4.5, "Visits__c": 3, "Due__c": "1970-01-11", "Seen__c": seen.Format(time.RFC3339),
		"Vip__c": true, "Tags__c": "a;b", "Mood__c": "Happy", "Note__c": "long",
	})
	ev := sub.decode(sub.events(stream, 1)[0])
	want := map[string]any{
		"Score__c": 4.5, "Visits__c": int32(3), "Due__c": int32(10), "Seen__c": seen.UnixMilli(),
		"Vip__c": true, "Tags__c": "a;b", "Mood__c": "Happy", "Note__c": "long", "Subject": "Typed",
	}
	for k, v := range want {
		if !reflect.DeepEqual(ev.Fields[k], v) {
			t.Errorf("%s = %#v, want %#v", k, ev.Fields[k], v)
		}
	}
	if ev.Header.ChangeType != pubsub.ChangeCreate || ev.Header.RecordIDs[0] != id {
		t.Fatalf("header %+v", ev.Header)
	}
}

// Injected gaps publish GAP_ events as Salesforce does: the header with
// the record id and the commit, no change origin, no changed fields, no
// values; an update that changes nothing publishes nothing and leaves the
// gap to the next change. An injected overflow folds the next changes into
// one GAP_OVERFLOW event of the entity with the empty record id.
func TestPubSubGapEvents(t *testing.T) {
	_, srv, _, sub, id := pubsubOrg(t, 1)
	update := func(subject string) {
		t.Helper()
		if err := srv.UpdateRecord("Case", id, map[string]any{"Subject": subject}); err != nil {
			t.Fatal(err)
		}
	}
	if status, body := simCall(t, srv, http.MethodPost, "/__sim/pubsub/gaps", `{"count":1}`); status != http.StatusNoContent {
		t.Fatalf("gaps: %d %s", status, body)
	}
	update("Flow") // its value already, at the same instant: no change, no event
	update("Gap")
	update("Plain")
	if status, body := simCall(t, srv, http.MethodPost, "/__sim/pubsub/overflow", `{"count":3}`); status != http.StatusNoContent {
		t.Fatalf("overflow: %d %s", status, body)
	}
	for _, subject := range []string{"Over 1", "Over 2", "Over 3", "After"} {
		update(subject)
	}
	got := sub.events(sub.open(pubsubapi.ReplayPreset_EARLIEST, nil, 10), 5)
	gap, plain, overflow, after := sub.decode(got[1]), sub.decode(got[2]), sub.decode(got[3]), sub.decode(got[4])
	if h := gap.Header; h.ChangeType != pubsub.ChangeGapUpdate || len(h.RecordIDs) != 1 || h.RecordIDs[0] != id || h.EntityName != "Case" ||
		h.ChangeOrigin != "" || h.CommitTimestamp == 0 || len(gap.Fields) != 0 || len(h.ChangedFields) != 0 || len(h.NulledFields) != 0 {
		t.Fatalf("gap event %+v", gap)
	}
	if plain.Header.ChangeType != pubsub.ChangeUpdate || plain.Fields["Subject"] != "Plain" || plain.Header.ChangeOrigin == "" {
		t.Fatalf("after the gap %+v", plain)
	}
	if h := overflow.Header; h.ChangeType != pubsub.ChangeGapOverflow || h.EntityName != "Case" ||
		len(h.RecordIDs) != 1 || h.RecordIDs[0] != "000000000000000AAA" || len(overflow.Fields) != 0 || len(h.ChangedFields) != 0 {
		t.Fatalf("overflow event %+v", overflow)
	}
	if after.Header.ChangeType != pubsub.ChangeUpdate || after.Fields["Subject"] != "After" {
		t.Fatalf("after the overflow %+v", after)
	}
	for _, action := range []string{"gaps", "overflow"} {
		if status, _ := simCall(t, srv, http.MethodPost, "/__sim/pubsub/"+action, `{"count":-1}`); status != http.StatusBadRequest {
			t.Fatalf("negative %s: %d", action, status)
		}
	}
}
