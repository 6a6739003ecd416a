package httpapi_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/care/bolt"
)

// A supervisor downloads the running store; agents and integrations may
// not; the download opens as a store holding everything the API showed.
func TestBackupDownload(t *testing.T) {
	e := newEnv(t)
	e.escalate("b1", "ann", "brand")
	id := e.escalate("b2", "ben", "brand")
	e.must(http.StatusCreated, "POST", path("/api/v1/cases/%d/messages", id), "sue", map[string]any{"kind": "note", "text": "kept in the backup"})
	want := e.state()
	for user, status := range map[string]int{"alice": http.StatusForbidden, "community": http.StatusForbidden, "": http.StatusUnauthorized} {
		if r := e.do("GET", "/api/v1/admin/backup", user, nil); r.status != status || len(r.raw) > 1024 {
			t.Fatalf("backup as %q: %d (%d bytes), want %d", user, r.status, len(r.raw), status)
		}
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/admin/backup", nil)
	req.Header.Set("Authorization", "Bearer "+token("sue"))
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/octet-stream" ||
		res.Header.Get("Content-Disposition") != `attachment; filename="carebridge-20260301T090000Z.db"` {
		t.Fatalf("backup: %d %v", res.StatusCode, res.Header)
	}
	restored := t.TempDir()
	f, err := os.Create(filepath.Join(restored, bolt.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadFrom(res.Body); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	e.stop()
	e.dir = restored
	e.start()
	if got := e.state(); got != want {
		t.Fatalf("restored store differs:\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(want, "kept in the backup") {
		t.Fatal("the state does not show the note")
	}
}
