package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/care/publish/publishtest"
)

// The daemon with publishing configured sends a reply to the publisher,
// signed with the secret of secret_file, counts it in /metrics and keeps
// the platform id answered; the shutdown drains the publisher.
func TestServePublishesReplies(t *testing.T) {
	pub := publishtest.New([]byte("file-secret"))
	defer pub.Close()
	secret := filepath.Join(t.TempDir(), "publisher.secret")
	os.WriteFile(secret, []byte("file-secret\n"), 0o600)
	cfgFile := daemonConfig(t, daemonFiles{extra: fmt.Sprintf("publishing:\n  webhook_url: %s\n  secret_file: %s\n", pub.URL, secret)})
	_, addr, stop := serveInProcess(t, cfgFile)
	base := "http://" + addr

	code, body := call(t, "POST", base+"/api/v1/cases", "community-token", `{"message":{"external_id":"m1","platform":"twitter",`+
		`"profile_id":"brand","customer":{"platform_user_id":"ann"},"text":"help"}}`)
	if code != 201 {
		t.Fatalf("escalate: %d %s", code, body)
	}
	var created struct{ Case struct{ ID int64 } }
	json.Unmarshal([]byte(body), &created)
	caseURL := fmt.Sprintf("%s/api/v1/cases/%d", base, created.Case.ID)
	if code, body := call(t, "PATCH", caseURL, "alice-token", `{"assignee":"alice"}`); code != 200 {
		t.Fatalf("assign: %d %s", code, body)
	}
	if code, body := call(t, "POST", caseURL+"/messages", "alice-token", `{"kind":"reply","text":"on it"}`); code != 201 {
		t.Fatalf("reply: %d %s", code, body)
	}
	waitFor(t, func() bool {
		_, body := call(t, "GET", caseURL+"/messages", "alice-token", "")
		return strings.Contains(body, `"state":"sent"`)
	})
	taken := pub.Taken()
	if len(taken) != 1 || taken[0].Message.Text != "on it" || taken[0].InReplyTo == nil || *taken[0].InReplyTo != "m1" {
		t.Fatalf("taken = %+v", taken)
	}
	_, body = call(t, "GET", caseURL+"/messages", "alice-token", "")
	if !strings.Contains(body, `"external_id":"`+pub.ExternalID(taken[0].DeliveryID)+`"`) {
		t.Errorf("the platform id is not the reply's external id: %s", body)
	}
	_, scrape := call(t, "GET", base+"/metrics", "", "")
	for _, want := range []string{`carebridge_replies_published_total{result="sent"} 1`, `carebridge_replies_published_total{result="failed"} 0`,
		"carebridge_replies_pending 0", "carebridge_replies_oldest_pending_age_seconds 0"} {
		if !strings.Contains(scrape, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
