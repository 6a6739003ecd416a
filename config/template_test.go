package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The written config loads back to the config it was written from: every
// key, odd strings and users included.
func TestTemplateRoundTrip(t *testing.T) {
	odd := Default()
	odd.PublicURL = "https://care.example.com/base"
	odd.DataDir = "/var/lib/carebridge"
	odd.MappingFile = "mapping.yaml"
	odd.Care.GracePeriod = 90 * time.Minute
	odd.Salesforce.LoginURL = "http://127.0.0.1:9999"
	odd.Salesforce.ClientID = `3MVG9"quoted\back#hash: colon`
	odd.Salesforce.BackgroundBudget = 0.25
	odd.Salesforce.EmbedFrameAncestors = []string{}
	odd.Limits.Mentions = 7
	odd.Auth.Users = []User{
		{ID: "sue", Name: "Süe \"the boss\"\nSupervisor", Email: "sue@example.com", Role: RoleSupervisor, TokenSHA256: strings.Repeat("ab", 32)},
		{ID: "yes", Name: "null", Email: "", Role: RoleAgent, TokenSHA256: strings.Repeat("0", 64)},
	}
	for name, c := range map[string]Config{"defaults": Default(), "odd values": odd} {
		t.Run(name, func(t *testing.T) {
			text := Template(&c)
			got, err := Parse("/etc/carebridge/carebridge.yaml", text, nil)
			if err != nil {
				t.Fatalf("the written config does not load: %v\n%s", err, text)
			}
			// Relative paths come back relative to the file's directory.
			for _, s := range newSchema().settings {
				if !s.fsPath || *s.str(&c) == "" {
					continue
				}
				want := *s.str(&c)
				if !filepath.IsAbs(want) {
					want = filepath.Join("/etc/carebridge", want)
				}
				if *s.str(got) != want {
					t.Errorf("%s loads as %q, want %q", s.path, *s.str(got), want)
				}
				*s.str(got) = *s.str(&c)
			}
			if again := Template(got); string(again) != string(text) {
				t.Fatalf("loaded back, it writes differently:\n--- written\n%s--- loaded and written\n%s", text, again)
			}
			if len(got.Auth.Users) != len(c.Auth.Users) || (len(c.Auth.Users) > 0 && !reflect.DeepEqual(got.Auth.Users[0], c.Auth.Users[0])) {
				t.Errorf("users %+v, want %+v", got.Auth.Users, c.Auth.Users)
			}
			if got.Salesforce.PollInterval != c.Salesforce.PollInterval || got.Care.GracePeriod != c.Care.GracePeriod {
				t.Errorf("durations %v %v", got.Salesforce.PollInterval, got.Care.GracePeriod)
			}
		})
	}
}

// Every key of the schema is written with its own one-line comment: a key
// added without one fails here (add it to keyDocs).
func TestTemplateDocumentsEveryKey(t *testing.T) {
	sc := newSchema()
	text := string(Template(new(Default())))
	for _, s := range sc.settings {
		if _, ok := keyDocs[s.path]; !ok {
			t.Errorf("%s has no comment in keyDocs", s.path)
		}
		key := s.path[strings.LastIndexByte(s.path, '.')+1:]
		if !strings.Contains(text, "# "+keyDocs[s.path]+"\n") || !strings.Contains(text, " "+key+": ") && !strings.Contains(text, "\n"+key+": ") {
			t.Errorf("%s is not written with its comment", s.path)
		}
	}
	for doc := range keyDocs {
		if _, ok := sc.byPath[doc]; !ok && !sc.isSection(doc) && doc != usersPath && doc != slaPath && doc != routingRulesPath {
			t.Errorf("keyDocs documents %s, which is no key", doc)
		}
	}
}
