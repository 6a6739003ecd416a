package testworld

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// Answer is an HTTP answer: its status, headers, raw body and the body
// decoded when it is a JSON object (a JSON answer that is not valid JSON
// fails the test).
type Answer struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   map[string]any
}

// Code is the error code of an error answer ("" otherwise).
func (a Answer) Code() string {
	e, _ := a.Body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// Do sends a request to the world's server as user (no Authorization
// header when user is ""). body may be a string or []byte (sent raw) or a
// value (sent as JSON).
func (w *World) Do(method, path, user string, body any) Answer {
	w.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		w.fatal("request body", err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, w.Server.URL+path, rd)
	w.fatal("request", err)
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+Token(user))
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := w.Server.Client().Do(req)
	w.fatal(method+" "+path, err)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	a := Answer{Status: res.StatusCode, Header: res.Header, Raw: raw}
	if len(raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if !json.Valid(raw) {
			w.T.Fatalf("%s %s: answer is not JSON: %s", method, path, raw)
		}
		_ = json.Unmarshal(raw, &a.Body) // nil Body for an answer that is not an object
	}
	return a
}

// Must is Do failing the test unless the status is want; it returns the
// decoded body.
func (w *World) Must(want int, method, path, user string, body any) map[string]any {
	w.T.Helper()
	a := w.Do(method, path, user, body)
	if a.Status != want {
		w.T.Fatalf("%s %s as %s: status %d, want %d: %s", method, path, user, a.Status, want, a.Raw)
	}
	return a.Body
}
