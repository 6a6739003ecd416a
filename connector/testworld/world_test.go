package testworld_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/carebridge/carebridge/care/httpapi"
	"github.com/carebridge/carebridge/connector/sfsim"
	"github.com/carebridge/carebridge/connector/testworld"
	"github.com/carebridge/carebridge/connector/tokens"
)

// A connected world answers the API as its users, holds a healthy default
// token of the simulated org, and escalates under it.
func TestConnectedWorld(t *testing.T) {
	routes := 0
	w := testworld.New(t, testworld.Connected(),
		testworld.WithRoutes(func(w *testworld.World, api *httpapi.Server) {
			if w.Store == nil || w.Pool == nil || w.Escalator == nil || w.URL == "" {
				t.Errorf("routes added before the world is ready: %+v", w)
			}
			routes++
		}))
	if routes != 1 {
		t.Fatalf("routes hook ran %d times", routes)
	}
	info, ok := w.Pool.Get(tokens.KindDefault, "")
	if !ok || !info.Healthy || info.UserID != testworld.Holder || info.SFUsername != sfsim.DefaultUsername {
		t.Fatalf("default token: %+v (%v)", info, ok)
	}
	if w.Pool.OrgID() != w.Sim.OrgID() {
		t.Fatalf("pool bound to %q, org is %q", w.Pool.OrgID(), w.Sim.OrgID())
	}
	me := w.Must(http.StatusOK, "GET", "/api/v1/me", "alice", nil)
	if me["id"] != "alice" {
		t.Fatalf("/me as alice: %v", me)
	}
	if a := w.Do("GET", "/api/v1/me", "", nil); a.Status != http.StatusUnauthorized || a.Code() == "" {
		t.Fatalf("/me without a token: %d %s", a.Status, a.Raw)
	}
}

// A world closed and built again over its directory finds its data.
func TestReopenOverDir(t *testing.T) {
	w := testworld.New(t)
	body := map[string]any{"message": map[string]any{"external_id": "m1", "platform": "twitter", "profile_id": "brand",
		"customer": map[string]any{"platform_user_id": "u1"}, "text": "hello"}}
	c := w.Must(http.StatusCreated, "POST", "/api/v1/cases", "community", body)["case"].(map[string]any)
	w.Close()
	w.Close() // idempotent
	again := testworld.New(t, testworld.WithDir(w.Dir), testworld.NoServer())
	if again.Server != nil || again.API == nil {
		t.Fatal("NoServer: a server started, or no API built")
	}
	got, err := again.Store.Case(t.Context(), testworld.Users[2], int64(c["id"].(float64)))
	if err != nil || got.ID == 0 {
		t.Fatalf("case after reopening: %+v, %v", got, err)
	}
}

func TestClock(t *testing.T) {
	c := testworld.NewClock()
	if !c.Now().Equal(testworld.Start) {
		t.Fatalf("new clock at %v", c.Now())
	}
	c.Advance(time.Hour)
	if !c.Now().Equal(testworld.Start.Add(time.Hour)) {
		t.Fatalf("advanced clock at %v", c.Now())
	}
	wall := &testworld.Clock{}
	wall.Advance(-2 * time.Hour)
	if d := time.Since(wall.Now()); d < 2*time.Hour || d > 3*time.Hour {
		t.Fatalf("wall clock two hours back reads %v ago", d)
	}
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	wall.Set(at)
	wall.Advance(time.Minute)
	if !wall.Now().Equal(at.Add(time.Minute)) {
		t.Fatalf("stopped clock at %v", wall.Now())
	}
}
