package simtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/carebridge/carebridge/connector/salesforce"
	"github.com/carebridge/carebridge/connector/sfsim"
)

// A lenient run logs, for each org a test started, the test's package
// directory, its top-level name and how many answers a strict org would
// have given otherwise; a strict run logs nothing.
func TestStrictLog(t *testing.T) {
	log := filepath.Join(t.TempDir(), "strict.tsv")
	t.Setenv(EnvStrictLog, log)
	t.Setenv(EnvStrict, "")
	t.Run("quiet", func(t *testing.T) { NewServer(t, sfsim.Options{}) })
	t.Run("no org", func(t *testing.T) { NoOrg(t) })
	t.Run("approvals", func(t *testing.T) {
		sim := NewServer(t, sfsim.Options{})
		auth, err := salesforce.NewOAuth(salesforce.OAuthConfig{ClientID: sfsim.DefaultClientID, ClientSecret: sfsim.DefaultClientSecret,
			RedirectURL: "http://127.0.0.1:1/callback", LoginURL: sim.LoginURL})
		if err != nil {
			t.Fatal(err)
		}
		for range 7 { // two over the limit of five
			Authorize(t, auth, sfsim.DefaultUsername)
		}
	})
	t.Setenv(EnvStrict, "1")
	t.Run("strict", func(t *testing.T) {
		NewServer(t, sfsim.Options{})
		NoOrg(t)
	})

	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := os.Getwd()
	want := dir + "\tTestStrictLog\t0\n" + dir + "\tTestStrictLog\t0\n" + dir + "\tTestStrictLog\t2\n"
	if string(b) != want {
		t.Fatalf("log:\n%s\nwant:\n%s", b, want)
	}
}
