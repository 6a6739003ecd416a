package bolt

import (
	"os"
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
func (s *Store) trimResident() {
	fi, err := os.Stat(s.db.Path())
	if err != nil || fi.Size() == 0 {
		return
	}
	// bbolt exposes the mapping only as an address (DB.Info), so the
	// system call takes it as it is.
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, s.db.Info().Data, uintptr(fi.Size()), unix.MADV_DONTNEED)
}
