// Seeding the demo: the sample users connect Salesforce and Care fills
// with sample cases, once per data directory.

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"github.com/carebridge/carebridge/connector/sfsim"
)

// demoClient calls the demo daemon's API as its sample users.
type demoClient struct {
	base  string
	users map[string]*demoUser
	http  *http.Client
}

func newDemoClient(base string, users []*demoUser) *demoClient {
	c := &demoClient{base: base, users: map[string]*demoUser{}, http: &http.Client{Timeout: 30 * time.Second}}
	for _, u := range users {
		c.users[u.id] = u
	}
	return c
}

func (c *demoClient) call(ctx context.Context, user, method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.users[user].token)
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// connect runs the OAuth web-server flow against the simulated org, as a
// person would in the console: the daemon redirects to the org's authorize
// page, which approves at once and sends the browser back to the callback.
func (c *demoClient) connect(ctx context.Context, user, as, sfUser string) error {
	jar, _ := cookiejar.New(nil)
	var last *url.URL
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		last = r.URL
		if r.URL.Path == consoleSettings {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/oauth/salesforce/connect?as="+as+"&login_hint="+url.QueryEscape(sfUser), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.users[user].token)
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	res.Body.Close()
	if last == nil || last.Path != consoleSettings {
		return fmt.Errorf("connect %s: the flow ended with %d: %s", user, res.StatusCode, bytes.TrimSpace(body))
	}
	if e := last.Query().Get("error"); e != "" {
		return &connectRefused{code: e}
	}
	return nil
}

// connectRefused is a connect the daemon ended on the console with
// ?error=code (org_mismatch: a token of another org than the bound one).
type connectRefused struct{ code string }

func (e *connectRefused) Error() string { return "connect refused: " + e.code }

// prepare makes the demo ready: the Salesforce connections (after a
// restart, only when the org no longer honours them) and, when Care has no
// case yet, the sample data. A restart on the same data directory keeps its
// cases and does not seed them twice.
func (c *demoClient) prepare(ctx context.Context, sim *sfsim.Server) error {
	if _, ok := sim.User("alice@sfsim.test"); !ok {
		if _, err := sim.CreateUser("alice@sfsim.test", "Alice", "Agent", "alice@example.com"); err != nil {
			return err
		}
	}
	// A search through the default token tells whether the org still
	// honours the tokens of the last start (the simulated org keeps its
	// state in the data directory).
	if c.call(ctx, "sue", "GET", "/api/v1/salesforce/contacts?q=Doe", nil, nil) != nil {
		err := c.connect(ctx, "sue", "default", "admin@sfsim.test")
		var refused *connectRefused
		if errors.As(err, &refused) && refused.code == "org_mismatch" {
			// The simulated org of the last start is gone: forget it
			// and bind to this one.
			if err := c.call(ctx, "sue", "DELETE", "/api/v1/salesforce/connection", nil, nil); err != nil {
				return err
			}
			err = c.connect(ctx, "sue", "default", "admin@sfsim.test")
		}
		if err != nil {
			return err
		}
		if err := c.connect(ctx, "alice", "user", "alice@sfsim.test"); err != nil {
			return err
		}
	}
	if len(c.cases(ctx)) > 0 {
		return nil
	}
	return c.seed(ctx, sim)
}

// demoCase is what the demo reads of a case.
type demoCase struct {
	ID         int64  `json:"id"`
	CustomerID int64  `json:"customer_id"`
	Status     string `json:"status"`
	Salesforce struct {
		CaseID *string `json:"case_id"`
	} `json:"salesforce"`
}

// cases lists the first page of Care's cases, as the supervisor sees them.
func (c *demoClient) cases(ctx context.Context) []demoCase {
	var list struct {
		Cases []demoCase `json:"cases"`
	}
	if err := c.call(ctx, "sue", "GET", "/api/v1/cases", nil, &list); err != nil {
		return nil
	}
	return list.Cases
}

// sampleRecordURL is the simulated org's record page of an escalated case,
// "" when none is.
func (c *demoClient) sampleRecordURL(ctx context.Context, sim *sfsim.Server) string {
	for _, cs := range c.cases(ctx) {
		if cs.Salesforce.CaseID != nil {
			return strings.TrimRight(sim.InstanceURL, "/") + "/lightning/r/Case/" + *cs.Salesforce.CaseID + "/view"
		}
	}
	return ""
}

// seed fills the simulated org with sample contacts and Care with sample
// cases across platforms, some escalated to Salesforce.
func (c *demoClient) seed(ctx context.Context, sim *sfsim.Server) error {
	for _, ct := range []map[string]any{
		{"FirstName": "Joe", "LastName": "Doe", "Email": "joe.doe@example.com"},
		{"FirstName": "Maria", "LastName": "Garcia", "Email": "maria@example.com"},
		{"FirstName": "Maria", "LastName": "Garcia", "Email": "m.garcia@example.org"},
	} {
		if _, err := sim.CreateRecord("Contact", ct); err != nil {
			return err
		}
	}
	now := time.Now().UTC()
	type convo struct {
		platform, profile, user, first, last string
		texts                                []string
		salesforce                           bool
	}
	convos := []convo{
		{"twitter", "brand-tw", "joedoe", "Joe", "Doe", []string{"Hi, does your new perfume have hibiscus in it?", "Asking because I'm allergic 🌺"}, false},
		{"facebook", "brand-fb", "maria.g", "Maria", "Garcia", []string{"My order #4411 arrived broken.", "Photos attached."}, true},
		{"instagram", "brand-ig", "sam_k", "Sam", "Kim", []string{"Love the new bottle design!"}, false},
		{"twitter", "brand-tw", "lee88", "", "", []string{"Where is my refund??", "It has been three weeks."}, true},
		{"facebook", "brand-fb", "ana.p", "Ana", "Pereira", []string{"Do you ship to Portugal?"}, false},
		{"twitter", "brand-tw", "spambot", "", "", []string{"Buy followers cheap!!!"}, false},
	}
	var ids []int64
	for i, cv := range convos {
		var res struct {
			Case struct {
				ID int64 `json:"id"`
			} `json:"case"`
		}
		for j, text := range cv.texts {
			msg := map[string]any{
				"external_id": fmt.Sprintf("demo-%d-%d", i, j), "platform": cv.platform, "profile_id": cv.profile,
				"customer": map[string]any{"platform_user_id": cv.user, "username": "@" + cv.user, "first_name": cv.first, "last_name": cv.last},
				"type":     "mention", "text": text, "sent_at": now.Add(time.Duration(-60*(len(convos)-i)+j) * time.Minute).Format(time.RFC3339),
			}
			if j == 0 {
				if err := c.call(ctx, "community", "POST", "/api/v1/cases", map[string]any{"message": msg, "mode": "automatic", "salesforce": cv.salesforce}, &res); err != nil {
					return err
				}
				continue
			}
			if err := c.call(ctx, "community", "POST", "/api/v1/messages", msg, nil); err != nil {
				return err
			}
		}
		ids = append(ids, res.Case.ID)
	}
	// Agents at work.
	steps := []struct {
		user, method, path string
		body               any
	}{
		{"alice", "PATCH", fmt.Sprintf("/api/v1/cases/%d", ids[0]), map[string]any{"assignee": "alice", "priority": "high", "sentiment": "neutral"}},
		{"alice", "POST", fmt.Sprintf("/api/v1/cases/%d/messages", ids[0]), map[string]any{"kind": "reply", "reply_type": "public_reply", "text": "Hi Joe! No hibiscus in this one. DM us for the full list 💜"}},
		{"alice", "POST", fmt.Sprintf("/api/v1/cases/%d/messages", ids[0]), map[string]any{"kind": "note", "text": "@sue allergy question: worth an FAQ entry?", "mentions": []string{"sue"}}},
		{"bob", "PATCH", fmt.Sprintf("/api/v1/cases/%d", ids[2]), map[string]any{"assignee": "bob", "sentiment": "positive"}},
		{"bob", "PATCH", fmt.Sprintf("/api/v1/cases/%d", ids[2]), map[string]any{"status": "done"}},
		{"sue", "PATCH", fmt.Sprintf("/api/v1/cases/%d", ids[5]), map[string]any{"status": "spam"}},
		{"bob", "PATCH", fmt.Sprintf("/api/v1/cases/%d", ids[4]), map[string]any{"assignee": "bob", "status": "pending"}},
	}
	for _, s := range steps {
		if err := c.call(ctx, s.user, s.method, s.path, s.body, nil); err != nil {
			return err
		}
	}
	// Joe is a known contact: link him and escalate his case by hand.
	var found struct {
		Contacts []struct {
			ID string `json:"id"`
		} `json:"contacts"`
	}
	if err := c.call(ctx, "alice", "GET", "/api/v1/salesforce/contacts?q=Doe", nil, &found); err != nil {
		return err
	}
	var joe struct {
		CustomerID int64 `json:"customer_id"`
	}
	if err := c.call(ctx, "alice", "GET", fmt.Sprintf("/api/v1/cases/%d", ids[0]), nil, &joe); err != nil {
		return err
	}
	if len(found.Contacts) == 0 {
		return errors.New("the sample contact Joe Doe is not found")
	}
	if err := c.call(ctx, "alice", "PUT", fmt.Sprintf("/api/v1/customers/%d/salesforce-contact", joe.CustomerID), map[string]any{"contact_id": found.Contacts[0].ID}, nil); err != nil {
		return err
	}
	return c.call(ctx, "alice", "POST", fmt.Sprintf("/api/v1/cases/%d/salesforce/case", ids[0]), map[string]any{}, nil)
}
