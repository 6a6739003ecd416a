package sfsim

import (
	"strings"
	"testing"
)

func TestChecksumMatchesRealIDs(t *testing.T) {
	// 18-character ids from real Salesforce responses in ../shared/sf-fixtures.
	real := []string{
		"003q000000KvQ1tAAF", "003q000000KvQ2DAAV", "003q000000KwKFhAAN", "003q000000KwKJoAAN",
		"003q000000KwJyqAAF", "003q000000KwJwLAAV", "003q000000KwYFaAAN", // get_updated.json
		"a00D0000008pQRAIA2",                       // get_deleted.json
		"701E0000000JuFHIA0", "701E00000005ZqAIAU", // query_aggregate.json
		"a00E0000004D5lsIAC", // query_with_parent_and_child_relationships.json
		"012000000000000AAA", // the master record type
	}
	for _, id := range real {
		t.Run(id, func(t *testing.T) {
			if got := To18(id[:15]); got != id {
				t.Fatalf("To18(%s) = %s, want %s", id[:15], got, id)
			}
			n, ok := NormalizeID(id)
			if !ok || n != id {
				t.Fatalf("NormalizeID(%s) = %s, %v", id, n, ok)
			}
			// The suffix is case-insensitive, the first 15 are not.
			if n, ok := NormalizeID(id[:15] + strings.ToLower(id[15:])); !ok || n != id {
				t.Fatalf("lower-case suffix: %s, %v", n, ok)
			}
		})
	}
}

func TestNormalizeIDRejects(t *testing.T) {
	for _, bad := range []string{"", "23foo", "003q000000KvQ1", "003q000000KvQ1tAAFx", "003q000000KvQ1tXYZ", "003q000000KvQ1-", "003q000000KvQ1tAA!"} {
		if _, ok := NormalizeID(bad); ok {
			t.Errorf("NormalizeID(%q) accepted", bad)
		}
	}
	// 15-character ids are case-sensitive: another case is another id.
	a, _ := NormalizeID("003q000000KvQ1t")
	b, _ := NormalizeID("003Q000000KVQ1T")
	if a == b {
		t.Fatal("15-character ids differing in case must differ in 18-character form")
	}
}

func TestIDGenerator(t *testing.T) {
	var g idGen
	prev := ""
	for i := 0; i < 200; i++ {
		id := g.next("500")
		if len(id) != 18 || !strings.HasPrefix(id, "500") {
			t.Fatalf("id %q", id)
		}
		if n, ok := NormalizeID(id); !ok || n != id {
			t.Fatalf("generated id %s does not validate", id)
		}
		if id[:15] <= prev {
			t.Fatalf("ids not increasing: %s after %s", id, prev)
		}
		prev = id[:15]
	}
}
