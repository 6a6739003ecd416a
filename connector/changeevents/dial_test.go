package changeevents

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/connector/pubsub"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestTarget(t *testing.T) {
	for _, tc := range []struct {
		url, addr string
		tls, bad  bool
	}{
		{url: "api.pubsub.salesforce.com:7443", addr: "api.pubsub.salesforce.com:7443", tls: true},
		{url: "https://api.pubsub.salesforce.com:7443", addr: "api.pubsub.salesforce.com:7443", tls: true},
		{url: "https://pubsub.example.com", addr: "pubsub.example.com:443", tls: true},
		{url: "http://127.0.0.1:7011", addr: "127.0.0.1:7011", tls: false},
		{url: "grpc://h:1", bad: true},
		{url: "api.pubsub.salesforce.com", bad: true},
		{url: "http://", bad: true},
	} {
		t.Run(tc.url, func(t *testing.T) {
			addr, useTLS, err := target(tc.url)
			if tc.bad {
				if err == nil {
					t.Fatalf("target(%q) = %q, %v; want an error", tc.url, addr, useTLS)
				}
				return
			}
			if err != nil || addr != tc.addr || useTLS != tc.tls {
				t.Fatalf("target(%q) = %q, %v, %v; want %q, %v", tc.url, addr, useTLS, err, tc.addr, tc.tls)
			}
		})
	}
}

func TestSalesforceEndpointGetsSalesforceTokensOnly(t *testing.T) {
	for _, tc := range []struct {
		url, instance string
		want          bool
	}{
		{DefaultURL, "https://acme.my.salesforce.com", true},
		{DefaultURL, "https://acme--dev.sandbox.my.salesforce.com", true},
		{DefaultURL, "https://na1.force.com", true},
		{DefaultURL, "http://127.0.0.1:8443", false}, // the simulator
		{DefaultURL, "https://salesforce.com.evil.example", false},
		{"http://127.0.0.1:7011", "http://127.0.0.1:8443", true}, // configured
	} {
		s := &Subscriber{url: tc.url}
		if got := s.mayReceive(tc.instance); got != tc.want {
			t.Errorf("%s with an org at %s: %v, want %v", tc.url, tc.instance, got, tc.want)
		}
	}
	if f := classify(errOtherOrgHost, true); f != failRefused || reasonFor(f, errOtherOrgHost) != errOtherOrgHost.Error() {
		t.Errorf("an org not at Salesforce: %d, %q", f, reasonFor(f, errOtherOrgHost))
	}
}

func TestTopicOf(t *testing.T) {
	for object, want := range map[string]string{
		"Case":         "/data/CaseChangeEvent",
		"Care_Case__c": "/data/Care_Case__ChangeEvent",
		"Opportunity":  "/data/OpportunityChangeEvent",
	} {
		if got := topicOf(object); got != want {
			t.Errorf("topicOf(%s) = %s, want %s", object, got, want)
		}
	}
}

func TestClassify(t *testing.T) {
	secret := "00Dxx!AQ4AQSECRETTOKEN"
	for _, tc := range []struct {
		err  error
		want failure
	}{
		{status.Error(codes.Unauthenticated, "sfdc.platform.eventbus.grpc.service.auth.error"), failAuth},
		{status.Error(codes.InvalidArgument, "The Replay ID validation failed: replay id AAA is not valid"), failReplay},
		{status.Error(codes.InvalidArgument, "unknown topic /data/NoSuchChangeEvent"), failRefused},
		{status.Error(codes.PermissionDenied, "no access"), failRefused},
		{status.Error(codes.Unavailable, "connection reset"), failLost},
		{errStreamEnded, failLost},
		{fmt.Errorf("wrapped: %w", errReplayGone), failReplay},
		{errors.New("dial tcp: refused"), failLost},
	} {
		if got := classify(tc.err, true); got != tc.want {
			t.Errorf("classify(%v) = %d, want %d", tc.err, got, tc.want)
		}
		// The reason shown on the connection never carries the server's
		// text (which could echo a token).
		if r := reasonFor(classify(tc.err, true), status.Error(codes.Unauthenticated, secret)); strings.Contains(r, secret) {
			t.Errorf("reason %q carries the server's text", r)
		}
	}
}

func TestStatusValue(t *testing.T) {
	upd := change{changeType: pubsub.ChangeUpdate, changed: []string{"Status", "LastModifiedDate"}, values: map[string]any{"Status": "Escalated"}}
	if v, ok := upd.statusValue("Status"); !ok || v != "Escalated" {
		t.Fatalf("update of Status: %q, %v", v, ok)
	}
	other := change{changeType: pubsub.ChangeUpdate, changed: []string{"Subject"}, values: map[string]any{"Subject": "x"}}
	if _, ok := other.statusValue("Status"); ok {
		t.Fatal("an update of another field is a status change")
	}
	nulled := change{changeType: pubsub.ChangeUpdate, changed: []string{"Care_Status__c"}, values: map[string]any{"Care_Status__c": nil}}
	if v, ok := nulled.statusValue("care_status__c"); !ok || v != "" {
		t.Fatalf("nulled custom field: %q, %v", v, ok)
	}
	created := change{changeType: pubsub.ChangeCreate, values: map[string]any{"Status": "New"}}
	if v, ok := created.statusValue("Status"); !ok || v != "New" {
		t.Fatalf("create: %q, %v", v, ok)
	}
	if _, ok := (change{changeType: pubsub.ChangeUndelete, values: map[string]any{"Status": "New"}}).statusValue("Status"); ok {
		t.Fatal("an undelete is a status change")
	}
	// A field only in nulledFields was set to null all the same.
	onlyNulled := change{changeType: pubsub.ChangeUpdate, changed: []string{"Subject"}, nulled: []string{"Care_Case_Id__c"}}
	if v, ok := onlyNulled.updated("care_case_id__c"); !ok || v != "" {
		t.Fatalf("a field in nulledFields only: %q, %v", v, ok)
	}
	if _, ok := created.updated("Status"); ok {
		t.Fatal("a create is an update of its fields")
	}
}
