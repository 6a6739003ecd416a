package care

import (
	"encoding/json"
	"testing"
	"time"
)

// The store keeps customers as this JSON: its shape is the file format, and
// a record written by an earlier release must read back the same.
func TestCustomerJSON(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	c := Customer{CustomerIdentity: CustomerIdentity{ID: 7, Platform: "twitter", PlatformUserID: "u-77", Username: "@joedoe",
		FirstName: "Joe", LastName: "Doe"}, Email: "joe@example.com", ContactID: "003A", CreatedAt: at, UpdatedAt: at.Add(time.Hour)}
	const want = `{"id":7,"platform":"twitter","platform_user_id":"u-77","username":"@joedoe","first_name":"Joe","last_name":"Doe",` +
		`"email":"joe@example.com","salesforce_contact_id":"003A","created_at":"2026-03-01T09:30:00Z","updated_at":"2026-03-01T10:30:00Z"}`
	got, err := json.Marshal(c)
	if err != nil || string(got) != want {
		t.Fatalf("customer JSON:\n got %s (%v)\nwant %s", got, err, want)
	}
	var back Customer
	if err := json.Unmarshal([]byte(want), &back); err != nil || back != c {
		t.Fatalf("read back %+v (%v), want %+v", back, err, c)
	}
	if got := c.Name(); got != "Joe Doe" {
		t.Errorf("Name() = %q", got)
	}
}
