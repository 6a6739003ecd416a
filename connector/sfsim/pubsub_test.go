package sfsim

import (
	"context"
	"net/http"
	"reflect"
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
