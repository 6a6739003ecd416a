// Package atomicfile writes a file so that a reader (or the next start
// after a crash) sees either the old content or the new, never a part:
// through a temporary file in the same directory, synced, then renamed
// over the old one.
//
// It imports nothing of the product, so every room may import it (the
// simulated org too: it is no Salesforce behaviour the simulator could
// borrow from the client).
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write writes data to path with mode perm, atomically: a temporary file
// beside path (".<name>.*") is written, synced and renamed over path; on
// any failure path is left as it was and the temporary file is removed.
func Write(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
