package bolt

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/bolt/bolttest"
)

// damageableStore writes a store with branch pages and free pages (cases
// patched after they were written) and returns its closed file.
func damageableStore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s := openAt(t, dir)
	cases := escalateN(t, s, 0, 60)
	sue, _ := benchUsers.User("sue")
	for _, c := range cases[:20] {
		if _, err := s.PatchCase(context.Background(), sue, c.ID, care.CasePatch{Priority: care.Optional[care.Priority]{Set: true, Value: care.PriorityHigh}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, FileName)
}

// A healthy file passes both checks; each damage is found by the open and
// by the full check, named in one line that says to restore a backup, and
// the file is left as it was.
func TestDamagedFile(t *testing.T) {
	healthy := damageableStore(t)
	if err := CheckFile(healthy); err != nil {
		t.Fatalf("healthy file: %v", err)
	}
	bolttest.EachDamage(t, healthy, FileName, func(t *testing.T, dir, path string) {
		s, err := Open(dir, Options{Users: benchUsers})
		if err == nil {
			s.Close()
			t.Fatal("a damaged file opened")
		}
		for name, err := range map[string]error{"open": err, "check": CheckFile(path)} {
			msg := fmt.Sprint(err)
			t.Logf("%s: %s", name, msg)
			if !IsDamaged(err) || !strings.Contains(msg, path) || !strings.Contains(msg, "restore a backup") || strings.Contains(msg, "\n") {
				t.Errorf("%s: %q, want one line naming the file and the restore", name, msg)
			}
		}
	})
}

// Another process holding the file is not damage.
func TestCheckFileHeld(t *testing.T) {
	dir := t.TempDir()
	openAt(t, dir)
	if err := CheckFile(filepath.Join(dir, FileName)); err == nil || IsDamaged(err) || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("held file: %v", err)
	}
}
