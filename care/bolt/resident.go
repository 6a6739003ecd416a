package bolt

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// trimInterval is how often the store hands the file pages it has read back
// to the page cache.
const trimInterval = 2 * time.Second

// trimResident drops the store's mapped file pages from the process's
// resident set (madvise MADV_DONTNEED on bbolt's read-only shared mapping).
// bbolt reads through the mapping and writes with pwrite, so every page a
// B-tree walk ever touched stays resident, also after copy-on-write freed
// it: without this the resident set grows towards the file size. The pages
// stay in the page cache; the next read maps them again with a minor fault.
//
// bbolt replaces the mapping only inside a write transaction, so the trim
// holds one (rolled back, nothing written) while it advises: the mapping
// cannot move under it.
func (s *Store) trimResident() {
	tx, err := s.db.Begin(true)
	if err != nil {
		return
	}
	defer tx.Rollback()
	base := s.db.Info().Data
	size := mappingSize(base)
	if size == 0 {
		return
	}
	// bbolt exposes the mapping only as an address (DB.Info), so the
	// system call takes it as it is. The length is the mapping's own, read
	// from /proc/self/maps: the file may be longer than what is mapped, and
	// advising past the mapping would discard other memory.
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, base, size, unix.MADV_DONTNEED)
}

// mappingSize is the length of the memory mapping that starts at base, 0
// when there is none.
func mappingSize(base uintptr) uintptr {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rng, _, _ := strings.Cut(sc.Text(), " ")
		lo, hi, ok := strings.Cut(rng, "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 == nil && err2 == nil && uintptr(start) == base && end > start {
			return uintptr(end - start)
		}
	}
	return 0
}
