package sfsim

import (
	"net"
	"net/http"
)

// writeFault answers an injected failure. done is the committed answer for
// after_commit faults (nil otherwise).
func (s *Server) writeFault(w http.ResponseWriter, f *Fault, done *response) {
	switch f.Kind {
	case FaultDrop:
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic(http.ErrAbortHandler) // the net/http way to drop a response
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = conn.Close()
	case FaultRequestLimitExceeded:
		writeErrors(w, http.StatusForbidden, []*Error{errRequestLimit()})
	case FaultUnableToLockRow:
		if done != nil && done.status == http.StatusOK {
			if lockAll(done) {
				writeResponse(w, done)
				return
			}
		}
		writeErrors(w, http.StatusBadRequest, []*Error{errLockRow()})
	case FaultServerError:
		switch f.Status {
		case http.StatusInternalServerError:
			writeErrors(w, http.StatusInternalServerError, []*Error{{Code: "UNKNOWN_EXCEPTION",
				Message: "An unexpected error occurred. Please include this ErrorId if you contact support: 1466391093-52177 (-1207291366)"}})
		case http.StatusBadGateway:
			writeRaw(w, f.Status, "text/html", "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>\n")
		case http.StatusGatewayTimeout:
			writeRaw(w, f.Status, "text/html", "<html><head><title>504 Gateway Timeout</title></head><body><h1>Gateway Timeout</h1></body></html>\n")
		default:
			writeRaw(w, http.StatusServiceUnavailable, "text/html", "<html><head><title>Service Unavailable</title></head><body><h1>Service Unavailable</h1><p>The server is temporarily unable to service your request. Please try again later.</p></body></html>\n")
		}
	}
}

func writeRaw(w http.ResponseWriter, status int, ctype, text string) {
	w.Header().Set("Content-Type", ctype)
	w.WriteHeader(status)
	_, _ = w.Write([]byte(text))
}

func errLockRow() *Error {
	return &Error{StatusCode: http.StatusBadRequest, Code: "UNABLE_TO_LOCK_ROW",
		Message: "unable to obtain exclusive access to this record or 1 records", Fields: []string{}}
}

// lockAll rewrites a committed collections or composite answer so every
// record or subrequest shows UNABLE_TO_LOCK_ROW. It reports false for
// answers it does not know.
func lockAll(resp *response) bool {
	switch b := resp.body.(type) {
	case []jobj: // collections
		for i := range b {
			b[i] = lockedResult()
		}
		return true
	case jobj: // composite
		v, ok := b.get("compositeResponse")
		subs, ok2 := v.([]jobj)
		if !ok || !ok2 {
			return false
		}
		for i, sub := range subs {
			ref, _ := sub.get("referenceId")
			subs[i] = lockedSubresponse(ref)
		}
		return true
	}
	return false
}

func lockedResult() jobj {
	return jobj{{"success", false}, {"errors", []jobj{errLockRow().recordError()}}}
}

// lockedSubresponse is a composite subrequest that failed with
// UNABLE_TO_LOCK_ROW.
func lockedSubresponse(referenceID any) jobj {
	return append(subError(errLockRow()), kv{"referenceId", referenceID})
}
