package sfsim

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/connector/testworld/expect"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

func TestStateFileKeepsTheOrg(t *testing.T) {
	clock := newClock()
	path := filepath.Join(t.TempDir(), "org.json")
	opts := Options{Now: clock.Now, StateFile: path, ClientID: "kept-app", ClientSecret: "kept-secret"}
	first, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	a := newAPI(t, first, "")
	contactID := a.mustCreate("Contact", map[string]any{"LastName": "Kept", "Email": "kept@example.com", "Birthdate": "1990-01-02"})
	caseID := a.mustCreate("Case", map[string]any{"Subject": "kept case", "ContactId": contactID, "Care_Case_Id__c": "care-1"})
	goneID := a.mustCreate("Contact", map[string]any{"LastName": "Gone"})
	if r := a.call(http.MethodDelete, "sobjects/Contact/"+goneID, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if _, err := first.CreateUserWith(NewUser{Username: "rita@example.com", LastName: "Rita", Profile: ProfileRestricted}); err != nil {
		t.Fatal(err)
	}
	tr := loginOIDC(t, first, "rita@example.com")
	wantContacts, wantCases := first.Records("Contact"), first.Records("Case")
	wantRita, _ := first.UserInfo("rita@example.com")
	orgID := first.OrgID()
	first.Close()

	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v, want mode 0600", fi, err)
	}
	clock.Add(time.Hour)
	// The connected app comes from the file when the options leave it out.
	second := startServer(t, Options{Now: clock.Now, StateFile: path})
	if second.OrgID() != orgID {
		t.Errorf("org id %s, was %s", second.OrgID(), orgID)
	}
	if got := second.Records("Contact"); !reflect.DeepEqual(got, wantContacts) {
		t.Errorf("contacts after restart:\n got %v\nwant %v", got, wantContacts)
	}
	if got := second.Records("Case"); !reflect.DeepEqual(got, wantCases) {
		t.Errorf("cases after restart:\n got %v\nwant %v", got, wantCases)
	}
	if rita, _ := second.UserInfo("rita@example.com"); rita != wantRita {
		t.Errorf("user %+v, was %+v", rita, wantRita)
	}

	// The refresh token still refreshes (and the old session still works).
	status, m := refresh(t, second, tr.RefreshToken)
	if status != http.StatusOK || m["id_token"] == nil {
		t.Fatalf("refresh after restart: %d %v", status, m)
	}
	old := &api{t: t, base: second.InstanceURL, token: tr.AccessToken, version: "62.0", hc: testClient}
	if r := old.call(http.MethodGet, "sobjects/Case/"+caseID, nil); r.status != http.StatusOK {
		t.Fatalf("old session after restart: %d %s", r.status, r.body)
	}
	// An id token of the first run verifies against the second run's keys.
	ctx := oidc.ClientContext(context.Background(), testClient)
	keys := oidc.NewRemoteKeySet(ctx, second.LoginURL+"/id/keys")
	v := oidc.NewVerifier(first.LoginURL, keys, &oidc.Config{ClientID: "kept-app", Now: func() time.Time { return clock.Now().Add(-time.Hour) }})
	if _, err := v.Verify(ctx, tr.IDToken); err != nil {
		t.Fatalf("id token of the first run: %v", err)
	}

	// New records get new ids and numbers; the deleted one stays deleted
	// and in getDeleted.
	b := &api{t: t, base: second.InstanceURL, token: m["access_token"].(string), version: "62.0", hc: testClient}
	newContact := b.mustCreate("Contact", map[string]any{"LastName": "New"})
	newCase := b.mustCreate("Case", map[string]any{"Subject": "new case"})
	for _, old := range []string{contactID, caseID, goneID} {
		if newContact == old || newCase == old {
			t.Fatalf("new id %s/%s repeats %s", newContact, newCase, old)
		}
	}
	if newContact <= goneID {
		t.Errorf("new id %s does not sort after the last kept one %s", newContact, goneID)
	}
	nc, _ := second.Record("Case", newCase)
	if nc["CaseNumber"] != "00000002" {
		t.Errorf("case number %v, want 00000002", nc["CaseNumber"])
	}
	if r := b.call(http.MethodPatch, "sobjects/Case/Care_Case_Id__c/care-1", map[string]any{"Subject": "upserted"}); r.status != http.StatusOK || r.obj(t)["created"] != false {
		t.Errorf("upsert by a kept external id: %d %s (want an update)", r.status, r.body)
	}
	if _, ok := second.Record("Contact", goneID); ok {
		t.Error("a deleted record came back")
	}
	del := b.replication("Contact", "deleted", clock.Now().Add(-2*time.Hour), clock.Now())
	if !strings.Contains(string(del.body), goneID) {
		t.Errorf("getDeleted lost %s: %s", goneID, del.body)
	}
}

// loginOIDC logs the user in with openid through the org's own connected
// app.
func loginOIDC(t *testing.T, srv *Server, username string) tokenResponse {
	t.Helper()
	c := newOIDCClient(t, srv)
	c.cfg.ClientID, c.cfg.ClientSecret = srv.opts.ClientID, srv.opts.ClientSecret
	verifier := "v-" + strings.Repeat("k", 50)
	tok, err := c.cfg.Exchange(c.ctx, c.code(username, "n", verifier), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	return tokenResponse{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, IDToken: tok.Extra("id_token").(string)}
}

func TestStateFileRefusals(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"garbage":        "{not json",
		"empty":          "",
		"other version":  `{"version":99,"org_id":"00DSm0000000001AAA","admin_id":"005Sm0000000001IAA"}`,
		"unknown object": `{"version":1,"org_id":"00DSm0000000001AAA","admin_id":"005Sm0000000001IAA","objects":[{"object":"Widget__c","records":[]}]}`,
		"bad value":      `{"version":1,"org_id":"00DSm0000000001AAA","admin_id":"005Sm0000000001IAA","objects":[{"object":"Contact","records":[{"fields":{"Id":"003Sm0000000002AAA","LastName":{"x":1}}}]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := expect.WriteFile(t, dir, strings.ReplaceAll(name, " ", "-")+".json", content)
			srv, err := NewServer(Options{StateFile: path})
			if err == nil {
				srv.Close()
				t.Fatal("a damaged state file started a fresh org")
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the file", err)
			}
			if b, _ := os.ReadFile(path); string(b) != content {
				t.Fatal("the damaged file was overwritten")
			}
		})
	}
}

func TestSaveStateWhileRunning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "org.json")
	srv := startServer(t, Options{StateFile: path})
	id, err := srv.CreateRecord("Lead", map[string]any{"LastName": "Saved", "Company": "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SaveState(); err != nil {
		t.Fatal(err)
	}
	st, err := readState(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.IDKey) == 0 {
		t.Error("a kept org has no id_token key from the start")
	}
	for _, ts := range st.Objects {
		if ts.Object != "Lead" {
			continue
		}
		if len(ts.Records) != 1 || ts.Records[0].Fields["Id"] != id {
			t.Fatalf("saved leads %+v, want %s", ts.Records, id)
		}
		return
	}
	t.Fatal("no leads saved")
}
