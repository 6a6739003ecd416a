package care

import (
	"testing"
	"time"
)

func TestNewExternalKey(t *testing.T) {
	now := time.Date(2026, 12, 5, 16, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	for i := 0; i < 10000; i++ {
		k := NewExternalKey(now)
		if len(k) != ExternalKeyLen || !ValidExternalKey(k) {
			t.Fatalf("key %q: not a 26-character ULID", k)
		}
		if seen[k] {
			t.Fatalf("key %q minted twice", k)
		}
		seen[k] = true
	}
	// The first ten characters are the time: later keys sort after.
	a, b := NewExternalKey(now), NewExternalKey(now.Add(time.Millisecond))
	if a[:10] >= b[:10] {
		t.Fatalf("time prefix does not order: %s then %s", a, b)
	}
	// A known ULID: 2016-07-30T23:54:10.259Z with zero randomness is
	// 01ARZ3NDEK (the ULID spec's example) followed by sixteen zeros.
	var raw [16]byte
	ms := uint64(1469922850259)
	for i := 5; i >= 0; i-- {
		raw[i] = byte(ms)
		ms >>= 8
	}
	if got := encodeULID(raw); got != "01ARZ3NDEK0000000000000000" {
		t.Fatalf("encodeULID = %s", got)
	}
	for _, bad := range []string{"", "01ARYZ3NDE", "81ARYZ3NDE0000000000000000", "01ARYZ3NDE000000000000000I", "01aryz3nde0000000000000000"} {
		if ValidExternalKey(bad) {
			t.Errorf("ValidExternalKey(%q) = true", bad)
		}
	}
}
