// Package httpapi is the Care HTTP API (/api/v1): JSON over the Care
// service, bearer-token authentication, the error shape of SPEC §4.
package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/carebridge/carebridge/care"
	"github.com/carebridge/carebridge/care/live"
	"github.com/prometheus/client_golang/prometheus"
)

// MaxBodyBytes is the largest request body the API reads.
const MaxBodyBytes = 1 << 20

// Credential is a user and the SHA-256 hex of their bearer token.
type Credential struct {
	User        care.User
	TokenSHA256 string
}

// Options configure the API.
type Options struct {
	// Service is the Care store. The API serves it behind care.Guard, so
	// the roles and Policy.Limits hold on every route.
	Service     care.Service
	Credentials []Credential
	Policy      care.Policy
	Clock       care.Clock
	Logger      *slog.Logger
	// Ready reports whether the daemon can serve (store open, config and
	// mapping loaded); nil means always ready.
	Ready      func() error
	Registerer prometheus.Registerer
	// SessionAuth, when set, authenticates requests that carry no
	// Authorization header (the console's cookie session). It must refuse
	// state-changing requests that fail its CSRF check.
	SessionAuth func(r *http.Request) (care.User, bool)
	// Events, when set, serves GET /api/v1/events from this broker (fed
	// by the store's OnCommit).
	Events *live.Broker
}

// Server serves the Care API.
type Server struct {
	svc      care.Service
	tokens   map[[sha256.Size]byte]care.User
	policy   care.Policy
	clock    care.Clock
	log      *slog.Logger
	ready    func() error
	mux      *http.ServeMux
	requests *prometheus.CounterVec
	session  func(r *http.Request) (care.User, bool)
	live     *live.Broker
	router   care.Router // routing.go; nil when the service routes nothing
}

// New builds the API server. It fails when a credential's hash is not
// SHA-256 hex.
func New(opts Options) (*Server, error) {
	s := &Server{svc: care.Guard(opts.Service, opts.Policy), policy: opts.Policy, clock: opts.Clock, log: opts.Logger,
		ready: opts.Ready, tokens: make(map[[sha256.Size]byte]care.User), mux: http.NewServeMux(),
		session: opts.SessionAuth, live: opts.Events}
	if s.clock == nil {
		s.clock = care.SystemClock{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, c := range opts.Credentials {
		raw, err := hex.DecodeString(strings.ToLower(c.TokenSHA256))
		if err != nil || len(raw) != sha256.Size {
			return nil, fmt.Errorf("user %s: token_sha256 is not a SHA-256 hex digest", c.User.ID)
		}
		s.tokens[[sha256.Size]byte(raw)] = c.User
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "carebridge_http_requests_total",
		Help: "HTTP requests served, by route pattern and status code.",
	}, []string{"route", "code"})
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(s.requests); err != nil {
			return nil, fmt.Errorf("register http metrics: %w", err)
		}
	}
	s.routes()
	s.routeBackup(opts.Service)
	s.routeSavedViews()
	s.routeEvents()
	s.routePublish(opts.Service)
	s.routeRouting(opts.Service)
	return s, nil
}

// Handle registers an extra route on the server's mux (the Salesforce and
// console adapters add theirs), wrapped in the same metrics.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// HandleAPI registers an authenticated /api/v1 route.
func (s *Server) HandleAPI(pattern string, h func(w http.ResponseWriter, r *http.Request, u care.User)) {
	s.mux.Handle(pattern, s.authed(h))
}

// ServeHTTP serves the API, counting each request by route pattern.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	s.mux.ServeHTTP(rec, r)
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	s.requests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
}

type statusRecorder struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.code, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if s.ready != nil {
			if err := s.ready(); err != nil {
				WriteError(w, http.StatusServiceUnavailable, "not_ready", err.Error())
				return
			}
		}
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	s.HandleAPI("GET /api/v1/me", s.me)
	s.HandleAPI("POST /api/v1/messages", s.ingest)
	s.HandleAPI("POST /api/v1/cases", s.escalate)
	s.HandleAPI("GET /api/v1/cases", s.listCases)
	s.HandleAPI("GET /api/v1/cases/{id}", s.getCase)
	s.HandleAPI("PATCH /api/v1/cases/{id}", s.patchCase)
	s.HandleAPI("DELETE /api/v1/cases/{id}", s.deleteCase)
	s.HandleAPI("GET /api/v1/cases/{id}/messages", s.listMessages)
	s.HandleAPI("POST /api/v1/cases/{id}/messages", s.addMessage)
	s.HandleAPI("GET /api/v1/customers/{id}", s.getCustomer)
	s.HandleAPI("PATCH /api/v1/customers/{id}", s.patchCustomer)
	s.HandleAPI("GET /api/v1/customers/{id}/cases", s.customerCases)
	s.HandleAPI("GET /api/v1/community/messages/{platform}/{external_id}", s.communityMessage)
	s.mux.Handle("/api/v1/", s.authed(func(w http.ResponseWriter, r *http.Request, _ care.User) {
		WriteError(w, http.StatusNotFound, "not_found", "no such API route: "+r.Method+" "+r.URL.Path)
	}))
}

// User returns the user a bearer token belongs to.
func (s *Server) User(token string) (care.User, bool) {
	if token == "" {
		return care.User{}, false
	}
	u, ok := s.tokens[sha256.Sum256([]byte(token))]
	return u, ok
}

// Authenticate finds the caller of r: a bearer token, else (with no
// Authorization header) the console session.
func (s *Server) Authenticate(r *http.Request) (care.User, bool) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		if s.session != nil {
			return s.session(r)
		}
		return care.User{}, false
	}
	scheme, token, _ := strings.Cut(auth, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return care.User{}, false
	}
	return s.User(strings.TrimSpace(token))
}

func (s *Server) authed(h func(w http.ResponseWriter, r *http.Request, u care.User)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := s.Authenticate(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="carebridge"`)
			WriteError(w, http.StatusUnauthorized, "unauthenticated", "a valid bearer token is required")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)), u)
	})
}

type userKey struct{}

// UserFrom returns the authenticated user of a request served by HandleAPI.
func UserFrom(ctx context.Context) (care.User, bool) {
	u, ok := ctx.Value(userKey{}).(care.User)
	return u, ok
}

// ---- JSON in and out ----

// ErrorBody is the JSON error shape.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

// WriteJSON writes v as a JSON response.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, `{"error":{"code":"internal","message":"internal error"}}`, http.StatusInternalServerError)
		return
	}
	setJSONHeaders(w)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func setJSONHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
}

// WriteError writes the JSON error shape.
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	WriteJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: msg}})
}

// statusOf maps each domain error code to its HTTP status.
var statusOf = map[care.Code]int{
	care.CodeInvalidArgument:    http.StatusBadRequest,
	care.CodeTooLarge:           http.StatusBadRequest,
	care.CodeNotFound:           http.StatusNotFound,
	care.CodeForbidden:          http.StatusForbidden,
	care.CodeNotAssigned:        http.StatusForbidden,
	care.CodeProfileLocked:      http.StatusConflict,
	care.CodeCaseUnassigned:     http.StatusConflict,
	care.CodeInvalidTransition:  http.StatusConflict,
	care.CodeNoProfile:          http.StatusConflict,
	care.CodeLockedToSalesforce: http.StatusLocked,
	care.CodeOpenCaseExists:     http.StatusConflict,
	care.CodeConflict:           http.StatusConflict,

	care.CodeContactNotFound:       http.StatusNotFound,
	care.CodeContactNotLinked:      http.StatusConflict,
	care.CodeAlreadyEscalated:      http.StatusConflict,
	care.CodeConversationTooOld:    http.StatusConflict,
	care.CodeConnectionExpired:     http.StatusServiceUnavailable,
	care.CodeSalesforceRejected:    http.StatusUnprocessableEntity,
	care.CodeSalesforceUnavailable: http.StatusBadGateway,
	care.CodeMappingNotConfigured:  http.StatusConflict,
}

// Fail answers err: a domain error with its code, anything else as an
// internal error (logged in full, answered without detail).
func (s *Server) Fail(w http.ResponseWriter, r *http.Request, err error) {
	var de *care.Error
	if errors.As(err, &de) {
		status, ok := statusOf[de.Code]
		if !ok {
			status = http.StatusBadRequest
		}
		WriteJSON(w, status, ErrorBody{Error: ErrorDetail{Code: string(de.Code), Message: de.Message, Details: de.Details}})
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "route", r.Pattern, "err", err)
	WriteError(w, http.StatusInternalServerError, "internal", "internal error")
}

// answer writes view(v) with status, or err through Fail; view runs only on
// success.
func answer[T, V any](s *Server, w http.ResponseWriter, r *http.Request, status int, v T, err error, view func(T) V) {
	if err != nil {
		s.Fail(w, r, err)
		return
	}
	WriteJSON(w, status, view(v))
}

// asIs is the view of a value the API shows as it is.
func asIs[T any](v T) T { return v }

// Decode reads a JSON body strictly into v: at most MaxBodyBytes, no unknown
// fields, nothing after the value. It answers the error itself and reports
// whether decoding succeeded.
func Decode(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeBody(w, r, v, false)
}

// DecodeOptional is Decode for a body that may be left out: an empty body
// leaves v as it is.
func DecodeOptional(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeBody(w, r, v, true)
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any, optional bool) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			WriteError(w, http.StatusRequestEntityTooLarge, "body_too_large",
				fmt.Sprintf("request body is over %d bytes", MaxBodyBytes))
			return false
		}
		WriteError(w, http.StatusBadRequest, "invalid_json", "could not read the request body")
		return false
	}
	if optional && len(bytes.TrimSpace(body)) == 0 {
		return true
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		WriteError(w, http.StatusBadRequest, "invalid_json", jsonProblem(err))
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		WriteError(w, http.StatusBadRequest, "invalid_json", "unexpected data after the JSON value")
		return false
	}
	return true
}

func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("field %s: expected %s, got JSON %s", typ.Field, typ.Type, typ.Value)
		}
		return fmt.Sprintf("expected %s, got JSON %s", typ.Type, typ.Value)
	case errors.Is(err, io.EOF):
		return "request body is empty"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "malformed JSON: " + strings.TrimPrefix(err.Error(), "json: ")
}

// PathID reads the positive integer {id} of the route, answering 404 when
// it is not one.
func PathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		WriteError(w, http.StatusNotFound, "not_found", "no such id: "+r.PathValue("id"))
		return 0, false
	}
	return id, true
}

// pathIDAndBody reads the {id} of the route (PathID) and then the JSON body
// into v (Decode); false once either is refused and answered.
func pathIDAndBody(w http.ResponseWriter, r *http.Request, v any) (int64, bool) {
	id, ok := PathID(w, r)
	return id, ok && Decode(w, r, v)
}

func (s *Server) now() time.Time { return s.clock.Now().UTC() }

// SetSessionAuth installs the console's cookie-session authentication (see
// Options.SessionAuth). Call it before serving.
func (s *Server) SetSessionAuth(fn func(r *http.Request) (care.User, bool)) { s.session = fn }
