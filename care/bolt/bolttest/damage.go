// Package bolttest damages copies of a store file the ways a disk, a full
// filesystem or a careless copy do, for tests of the store's checks.
package bolttest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// Damage is one way to damage a store file.
type Damage struct {
	Name  string
	Apply func(path string) error
}

// Damages lists the damages that fit the (closed, healthy) store file at
// path: its meta pages, a branch and a leaf page of its largest bucket,
// its freelist page, and a copy cut short. The file must have a branch
// page and free pages: write enough records, and overwrite some, first.
// used is how many bytes its pages take (the file may be longer).
func Damages(path string) (damages []Damage, used int64, err error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, PreLoadFreelist: true, Timeout: time.Second})
	if err != nil {
		return nil, 0, err
	}
	defer db.Close()
	pageSize := int64(db.Info().PageSize)
	var branch, leaf, freelist int64 = -1, -1, -1
	var freeCount int
	err = db.View(func(tx *bbolt.Tx) error {
		used = tx.Size()
		for id := 2; ; id++ {
			info, err := tx.Page(id)
			if err != nil || info == nil {
				return err
			}
			switch {
			case info.Type == "branch" && branch < 0:
				branch = int64(id)
			case info.Type == "leaf" && leaf < 0 && info.Count > 1:
				leaf = int64(id)
			case info.Type == "freelist":
				freelist, freeCount = int64(id), info.Count
			}
			id += info.OverflowCount
		}
	})
	if err != nil {
		return nil, 0, err
	}
	if branch < 0 || leaf < 0 || freelist < 0 || freeCount == 0 {
		return nil, 0, fmt.Errorf("%s: no branch (%d), leaf (%d) or free pages (%d in page %d) to damage", path, branch, leaf, freeCount, freelist)
	}
	at := func(page, off int64) int64 { return page*pageSize + off }
	ff := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	return []Damage{
		// Page header: id 8, flags 2, count 2, overflow 4; the meta after it.
		{"meta page 0 root", overwrite(at(0, 16+16), []byte{0x7f})},
		{"meta page 1 high-water mark", overwrite(at(1, 16+40), []byte{0x01, 0x02})},
		// A branch element: pos 4, ksize 4, child page id 8.
		{"branch page child id", overwrite(at(branch, 16+8), ff)},
		// A leaf element: flags 4, pos 4, ksize 4, vsize 4.
		{"leaf page key size", overwrite(at(leaf, 16+8), ff[:4])},
		{"leaf page type", overwrite(at(leaf, 8), []byte{0x00, 0x00})},
		{"freelist page ids", overwrite(at(freelist, 16), ff)},
		{"freelist page type", overwrite(at(freelist, 8), []byte{0x02, 0x00})},
		{"cut short", func(path string) error { return os.Truncate(path, used/2) }},
	}, used, nil
}

func overwrite(off int64, b []byte) func(path string) error {
	return func(path string) error {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		if _, err := f.WriteAt(b, off); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
}

// write writes raw to path with d applied, and returns the damaged file's
// FileSum.
func write(tb testing.TB, raw []byte, path string, d Damage) string {
	tb.Helper()
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := d.Apply(path); err != nil {
		tb.Fatal(err)
	}
	sum, err := FileSum(path)
	if err != nil {
		tb.Fatal(err)
	}
	return sum
}

// EachDamage runs check in a subtest per damage of the healthy store file:
// path is a damaged copy of it named name in dir, a temporary directory.
// The subtest fails when the file changed under check: no check repairs
// or truncates what it finds damaged.
func EachDamage(t *testing.T, healthy, name string, check func(t *testing.T, dir, path string)) {
	t.Helper()
	damages, used, err := Damages(healthy)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(healthy)
	if err != nil {
		t.Fatal(err)
	}
	// The copies hold the pages only: the zeros the store's mmap size
	// leaves after them are nothing a check reads, and copying and hashing
	// 16 MiB of them took most of each subtest's time under -race.
	raw = raw[:min(used, int64(len(raw)))]
	for _, d := range damages {
		t.Run(d.Name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, name)
			before := write(t, raw, path, d)
			check(t, dir, path)
			if after, _ := FileSum(path); after != before {
				t.Error("the file changed")
			}
		})
	}
}

// FileSum is the SHA-256 of a file's bytes, to show a check left it
// unchanged.
func FileSum(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
