package httpapi

import (
	"io"
	"net/http"

	"github.com/carebridge/carebridge/care"
)

// Backuper writes a consistent snapshot of the database to w (the bbolt
// store does, in a read transaction).
type Backuper interface {
	Backup(w io.Writer) (int64, error)
}

// routeBackup serves GET /api/v1/admin/backup (supervisors only) when the
// service can back itself up: the running daemon's database as a file
// download (SPEC §12).
func (s *Server) routeBackup(svc care.Service) {
	b, ok := svc.(Backuper)
	if !ok {
		return
	}
	s.mux.Handle("GET /api/v1/admin/backup", s.authed(func(w http.ResponseWriter, r *http.Request, u care.User) {
		if u.Role != care.RoleSupervisor {
			s.Fail(w, r, care.Errorf(care.CodeForbidden, "only a supervisor may download a backup"))
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", `attachment; filename="carebridge-`+s.now().Format("20060102T150405Z")+`.db"`)
		h.Set("Cache-Control", "no-store")
		if r.Method == http.MethodHead {
			return
		}
		cw := &countingWriter{w: w}
		if _, err := b.Backup(cw); err != nil {
			if cw.n == 0 {
				h.Del("Content-Disposition")
				s.Fail(w, r, err)
				return
			}
			// Half a file went out: break the connection so the client
			// cannot take it for a backup.
			s.log.ErrorContext(r.Context(), "backup cut short", "bytes", cw.n, "err", err)
			panic(http.ErrAbortHandler)
		}
	}))
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
