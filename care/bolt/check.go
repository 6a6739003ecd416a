package bolt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// OpenCheckBudget bounds the page walk Open makes before it trusts a file.
const OpenCheckBudget = 2 * time.Second

// fullCheckBelow is the file size up to which Open also runs bbolt's full
// check: small enough that it ends well within OpenCheckBudget.
const fullCheckBelow = 64 << 20

// DamagedError says the store's file is damaged. Its message is one line
// naming the file and saying to restore a backup; the file is left as it
// was found.
type DamagedError struct {
	Path   string
	Reason string // what the check found, one line
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("%s is damaged (%s): restore a backup (README, \"Restore a backup\")", e.Path, e.Reason)
}

// IsDamaged reports whether err says a store file is damaged.
func IsDamaged(err error) bool {
	var d *DamagedError
	return errors.As(err, &d)
}

// CheckFile runs the full check of the store file at path: both meta
// pages, the file's length, the freelist, every page's type, every bucket's
// keys in order, and bbolt's own consistency check over every page. It
// opens the file read-only and never changes it. A damaged file is a
// *DamagedError; a file held by a running daemon is another error.
func CheckFile(path string) error { return checkFile(path, 0, true) }

// checkFile checks the file at path, walking pages for at most budget
// (0: no limit); full adds bbolt's tx.Check.
func checkFile(path string, budget time.Duration, full bool) error {
	size, err := checkMeta(path)
	if err != nil {
		return err
	}
	return faultSafe(path, func() error {
		db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, PreLoadFreelist: true,
			Timeout: 2 * time.Second, FreelistType: bbolt.FreelistMapType})
		if err != nil {
			return openErr(path, err)
		}
		defer db.Close()
		return db.View(func(tx *bbolt.Tx) error {
			var deadline time.Time
			if budget > 0 {
				deadline = time.Now().Add(budget)
			}
			complete, err := checkPages(tx, deadline)
			if err != nil {
				return &DamagedError{Path: path, Reason: err.Error()}
			}
			if complete {
				complete, err = walkBuckets(tx, deadline)
			}
			if err != nil {
				return &DamagedError{Path: path, Reason: err.Error()}
			}
			if !complete || !(full || size <= fullCheckBelow) {
				return nil
			}
			// Every page the walk reached had the id it was reached by, so
			// bbolt's check (in a goroutine of its own) reads only pages
			// inside the file. Its channel is read to the end: the check
			// must be over before the transaction closes.
			var first error
			for err := range tx.Check() {
				if first == nil {
					first = err
				}
			}
			if first != nil {
				return &DamagedError{Path: path, Reason: oneLine(first.Error())}
			}
			return nil
		})
	})
}

// faultSafe runs fn on a goroutine where a fault reading the memory-mapped
// file (SIGBUS past its end, SIGSEGV on a wild page id) and any panic in
// bbolt become a *DamagedError instead of killing the process.
func faultSafe(path string, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		debug.SetPanicOnFault(true)
		defer func() {
			if r := recover(); r != nil {
				done <- &DamagedError{Path: path, Reason: "reading it failed: " + oneLine(fmt.Sprint(r))}
			}
		}()
		done <- fn()
	}()
	return <-done
}

// openErr sorts an error of bbolt.Open: the lock held by another process
// and the file's permissions are no damage, anything else is.
func openErr(path string, err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("open %s: another process holds it (one carebridge per data directory)", path)
	case errors.Is(err, os.ErrPermission), errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("open %s: %w", path, err)
	}
	return &DamagedError{Path: path, Reason: oneLine(err.Error())}
}

// The meta page as bbolt lays it out (native byte order) after the page
// header: magic, version, page size, flags, root bucket (page, sequence),
// freelist page, high-water mark, txid, checksum.
const (
	pageHeaderSize = 16
	metaPageFlag   = 0x04
	metaSize       = 64
	metaSumAt      = 56
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	noFreelist     = ^uint64(0)
)

type metaPage struct {
	pageSize, root, freelist, pgid uint64
}

// checkMeta reads both meta pages straight from the file (bbolt would
// quietly fall back to the other one and lose the last commit) and
// checks the file holds every page they count. It returns the file's size.
func checkMeta(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	size := st.Size()
	damaged := func(format string, args ...any) (int64, error) {
		return size, &DamagedError{Path: path, Reason: fmt.Sprintf(format, args...)}
	}
	m0, err := readMeta(f, 0)
	if err != nil {
		return damaged("meta page 0: %v", err)
	}
	m1, err := readMeta(f, int64(m0.pageSize))
	if err != nil {
		return damaged("meta page 1: %v", err)
	}
	for i, m := range []metaPage{m0, m1} {
		switch {
		case m.pageSize != m0.pageSize:
			return damaged("meta page %d: page size %d, not %d", i, m.pageSize, m0.pageSize)
		case m.root >= m.pgid || (m.freelist >= m.pgid && m.freelist != noFreelist):
			return damaged("meta page %d: a page beyond the last (%d)", i, m.pgid)
		case uint64(size) < m.pgid*m.pageSize:
			return damaged("cut short: %d bytes, its pages need %d", size, m.pgid*m.pageSize)
		}
	}
	return size, nil
}

func readMeta(f *os.File, at int64) (metaPage, error) {
	var b [pageHeaderSize + metaSize]byte
	if _, err := f.ReadAt(b[:], at); err != nil {
		if errors.Is(err, io.EOF) {
			return metaPage{}, errors.New("missing: the file is cut short")
		}
		return metaPage{}, err
	}
	ne := binary.NativeEndian
	if ne.Uint16(b[8:]) != metaPageFlag {
		return metaPage{}, errors.New("not a meta page")
	}
	m := b[pageHeaderSize:]
	h := fnv.New64a()
	h.Write(m[:metaSumAt])
	switch {
	case ne.Uint32(m[0:]) != boltMagic:
		return metaPage{}, errors.New("not a bbolt file")
	case ne.Uint32(m[4:]) != boltVersion:
		return metaPage{}, fmt.Errorf("unknown bbolt version %d", ne.Uint32(m[4:]))
	case ne.Uint64(m[metaSumAt:]) != h.Sum64():
		return metaPage{}, errors.New("checksum mismatch")
	}
	mp := metaPage{pageSize: uint64(ne.Uint32(m[8:])), root: ne.Uint64(m[16:]), freelist: ne.Uint64(m[32:]), pgid: ne.Uint64(m[40:])}
	if mp.pageSize < 512 || mp.pageSize > 1<<16 || mp.pageSize&(mp.pageSize-1) != 0 {
		return metaPage{}, fmt.Errorf("page size %d", mp.pageSize)
	}
	return mp, nil
}

// checkPages reads every page's header: each is free, or a branch, leaf or
// freelist page whose overflow stays within the file. It stops at deadline
// (zero: never), answering done=false.
func checkPages(tx *bbolt.Tx, deadline time.Time) (done bool, err error) {
	for id := 2; ; {
		if id%1024 == 0 && !deadline.IsZero() && time.Now().After(deadline) {
			return false, nil
		}
		info, err := tx.Page(id)
		if err != nil {
			return false, fmt.Errorf("page %d: %v", id, err)
		}
		if info == nil {
			return true, nil
		}
		switch info.Type {
		case "free":
			id++
		case "branch", "leaf", "freelist":
			id += 1 + info.OverflowCount
			if last, _ := tx.Page(id - 1); last == nil && info.OverflowCount > 0 {
				return false, fmt.Errorf("page %d: runs past the last page", info.ID)
			}
		default:
			return false, fmt.Errorf("page %d: unexpected type %s", id, info.Type)
		}
	}
}

// walkBuckets reads every key and value of every bucket, checking the keys
// come in order. It stops at deadline (zero: never), answering
// complete=false. Errors name the top-level bucket, never a key.
func walkBuckets(tx *bbolt.Tx, deadline time.Time) (complete bool, err error) {
	n := 0
	var walk func(top string, b *bbolt.Bucket) error
	errTime := errors.New("out of time")
	walk = func(top string, b *bbolt.Bucket) error {
		c := b.Cursor()
		var prev []byte
		var touched byte
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if n++; n%4096 == 0 && !deadline.IsZero() && time.Now().After(deadline) {
				return errTime
			}
			if prev != nil && bytes.Compare(prev, k) >= 0 {
				return fmt.Errorf("bucket %s: keys out of order", top)
			}
			prev = append(prev[:0], k...)
			if v == nil {
				if nb := b.Bucket(k); nb != nil {
					if err := walk(top, nb); err != nil {
						return err
					}
				}
				continue
			}
			if len(v) > 0 {
				touched ^= v[0] ^ v[len(v)-1] // reach the value's last page
			}
		}
		runtime.KeepAlive(touched)
		return nil
	}
	err = tx.ForEach(func(name []byte, b *bbolt.Bucket) error {
		return walk(oneLine(string(name)), b)
	})
	if errors.Is(err, errTime) {
		return false, nil
	}
	return err == nil, err
}

// oneLine keeps the first line of s, at most 200 bytes of it.
func oneLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
