package config_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/carebridge/carebridge/config"
)

// FuzzParse checks that Parse never panics or hangs, reports problems only
// as Errors naming the file, answers the same way twice, and accepts only
// configs that keep the invariants validation promises.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/carebridge.example.yaml", "testdata/broken.yaml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "~", "---\n", "- a\n", "a: b: c", "listen: [1\n", "x: *nope\n",
		"care: &c\n  grace_period: *c\n",
		"salesforce: &s\n  jwt: *s\n",
		"a: &a [*a, *a]\nb: &b [*a, *a]\n",
		"auth:\n  users:\n    - &u {id: a, role: agent, token_sha256: " + hash + "}\n    - *u\n",
		"care:\n  <<: {grace_period: 1h}\n",
		"listen: :80\n---\nlisten: :81\n",
		"salesforce:\n  background_budget: .inf\n  poll_interval: -0s\n",
		"salesforce:\n  client_secret_file: /dev/zero\n",
		"? [a]\n: b\n",
		"listen: !!binary aGk=\n",
		listBomb(6), listBomb(12),
		"limits:\n  mentions: 1e3\n  attachments: 0x10\n",
		"salesforce:\n  keepalive_interval: 59s\n  poll_interval: 1s\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse("f.yaml", data, nil)
		_, err2 := config.Parse("f.yaml", data, nil)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
			t.Fatalf("two parses differ:\n%v\n---\n%v", err, err2)
		}
		if err != nil {
			var errs config.Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error is %T, want non-empty config.Errors: %v", err, err)
			}
			for _, p := range errs {
				if p.File != "f.yaml" || p.Env != "" || p.Message == "" || p.Line < 0 || p.Column < 0 {
					t.Fatalf("bad problem %+v", p)
				}
			}
			if c != nil {
				t.Fatal("config returned with an error")
			}
			return
		}
		checkInvariants(t, c)
	})
}

// checkInvariants asserts what validation guarantees of an accepted config.
func checkInvariants(t *testing.T, c *config.Config) {
	t.Helper()
	sf := c.Salesforce
	switch {
	case c.Care.GracePeriod < 0:
		t.Fatalf("negative grace period %v", c.Care.GracePeriod)
	case sf.PollInterval < time.Second || sf.KeepaliveInterval < time.Minute ||
		sf.PollInterval > 24*time.Hour || sf.KeepaliveInterval > 720*time.Hour || c.Care.GracePeriod > 720*time.Hour:
		t.Fatalf("interval out of bounds %v %v %v", sf.PollInterval, sf.KeepaliveInterval, c.Care.GracePeriod)
	case len(sf.EmbedFrameAncestors) > 20:
		t.Fatalf("%d frame ancestors", len(sf.EmbedFrameAncestors))
	case !(sf.BackgroundBudget > 0 && sf.BackgroundBudget <= 1):
		t.Fatalf("budget %v", sf.BackgroundBudget)
	case sf.Environment != "production" && sf.Environment != "sandbox":
		t.Fatalf("environment %q", sf.Environment)
	case (sf.JWT.Username == "") != (sf.JWT.PrivateKeyFile == ""):
		t.Fatalf("half a jwt %+v", sf.JWT)
	case c.DataDir == "" || c.Listen == "" || c.PublicURL == "":
		t.Fatalf("empty required value %+v", c)
	}
	l := c.Limits
	for _, n := range []int{l.MessageTextBytes, l.NameChars, l.Attachments, l.AttachmentURLChars, l.CaseFields, l.FieldValueBytes, l.Mentions} {
		if n < 1 || n > 262144 {
			t.Fatalf("limit out of bounds %+v", l)
		}
	}
	ids, tokens := map[string]bool{}, map[string]bool{}
	for _, u := range c.Auth.Users {
		if u.ID == "" || ids[u.ID] || tokens[u.TokenSHA256] || len(u.TokenSHA256) != 64 ||
			strings.Trim(u.TokenSHA256, "0123456789abcdef") != "" {
			t.Fatalf("bad or duplicate user %+v", u)
		}
		switch u.Role {
		case config.RoleAgent, config.RoleSupervisor, config.RoleIntegration:
		default:
			t.Fatalf("bad role %+v", u)
		}
		ids[u.ID], tokens[u.TokenSHA256] = true, true
	}
	for _, a := range sf.EmbedFrameAncestors {
		if a == "" || strings.ContainsAny(a, " ;,\n\r\t") {
			t.Fatalf("bad frame ancestor %q", a)
		}
	}
}
