package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/esacert/esacert/internal/bodyrate"
	"github.com/esacert/esacert/internal/cert"
)

// Defaults of Server's optional fields.
const (
	DefaultMaxBody = 1 << 20
	DefaultWindow  = 15 * time.Minute
)

// Server answers ESA's OpenAPI (RPC style, path /) over HTTP. Its fields are
// set once before it serves; after that it is safe for concurrent use.
type Server struct {
	Service *cert.Service // required
	Keys    Keyring       // required

	// Nonces remembers signature nonces; nil means a MemoryNonces of its own.
	Nonces NonceCache
	// Log receives one line per request; nil means slog.Default().
	Log *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxBody is the largest request body accepted; 0 means DefaultMaxBody.
	MaxBody int64
	// Window is how far a request's time stamp may be from Now; 0 means DefaultWindow.
	Window time.Duration
	// NameServers is the comma-separated list reported for NS sites; "" leaves it out.
	NameServers string
	// CnameZone is the CNAME suffix reported for CNAME sites; "" leaves it out.
	CnameZone string
	// Unreachable, when set, reports the errors that say the database could
	// not be reached: they are answered ServiceUnavailable (503, retry in a
	// second) instead of InternalException, so that clients try again.
	Unreachable func(error) bool

	initNonces sync.Once
	memNonces  MemoryNonces
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Server) window() time.Duration {
	if s.Window > 0 {
		return s.Window
	}
	return DefaultWindow
}

func (s *Server) maxBody() int64 {
	if s.MaxBody > 0 {
		return s.MaxBody
	}
	return DefaultMaxBody
}

func (s *Server) nonces() NonceCache {
	if s.Nonces != nil {
		return s.Nonces
	}
	return &s.memNonces
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// request is one API call as the envelope sees it.
type request struct {
	r       *http.Request
	body    []byte
	query   url.Values
	params  params
	action  string
	version string
}

// event is what the per-request log line says.
type event struct {
	requestID string
	action    string
	version   string
	keyID     string
	siteID    string
	code      string
	status    int
	internal  error // the text of an unexpected failure; logged, never sent
}

// ServeHTTP implements http.Handler: it runs the envelope once — body limit,
// parameters, signature, time stamp, nonce, dispatch — and writes exactly one
// JSON answer and one log line.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ev := &event{requestID: newRequestID()}
	result, err := s.serve(w, r, ev)
	if err != nil {
		s.writeError(w, r, ev, err)
	} else {
		s.writeResult(w, ev, result)
	}
	s.logRequest(r, ev, time.Since(start))
}

// Unavailable answers every request with ServiceUnavailable (503) and a
// hint to retry in a second, logged like any request: for a node that is up
// but has not reached its database.
func Unavailable(log *slog.Logger) http.Handler {
	s := &Server{Log: log}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ev := &event{requestID: newRequestID()}
		s.writeError(w, r, ev, errUnavailable)
		s.logRequest(r, ev, time.Since(start))
	})
}

// serve runs the envelope and the action, turning a panic into an error.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, ev *event) (result any, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v\n%s", v, debug.Stack())
		}
	}()
	req, err := s.readRequest(w, r)
	if err != nil {
		return nil, err
	}
	ev.action, ev.version, ev.siteID = req.action, req.version, req.params.str("SiteId")
	keyID, err := s.authenticate(r.Context(), req)
	ev.keyID = keyID
	if err != nil {
		return nil, err
	}
	if req.version == "" {
		return nil, cert.Missing("Version")
	}
	if req.action == "" {
		return nil, cert.Missing("Action")
	}
	actions, ok := versions[req.version]
	if !ok {
		return nil, errUnknownVersion
	}
	act, ok := actions[req.action]
	if !ok {
		return nil, errUnknownAction
	}
	return act(s, r.Context(), &req.params)
}

// readRequest reads the body (at most MaxBody bytes), merges the query and
// a form body into the parameters, and finds the action and version.
func (s *Server) readRequest(w http.ResponseWriter, r *http.Request) (*request, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return nil, errMethod
	}
	if r.URL.Path != "/" {
		return nil, withDetail(errUnknownAction, "Every action is served at the path /.")
	}
	if r.ContentLength > s.maxBody() {
		return nil, errBodyTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody()))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errBodyTooLarge
		}
		if errors.Is(err, bodyrate.ErrTooSlow) {
			return nil, errBodyTooSlow
		}
		return nil, withDetail(errBadForm, "The request body could not be read.")
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, errBadForm
	}
	var form url.Values
	if len(bytes.TrimSpace(body)) > 0 {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "application/x-www-form-urlencoded" && mt != "" {
			return nil, errBodyType
		}
		if form, err = url.ParseQuery(string(body)); err != nil {
			return nil, errBadForm
		}
	}
	if err := checkParams(query); err != nil {
		return nil, err
	}
	if err := checkParams(form); err != nil {
		return nil, err
	}
	req := &request{r: r, body: body, query: query, params: params{v: mergeParams(query, form)}}
	// Only the signed source counts: ACS3 signs the x-acs-* headers, the RPC
	// scheme signs the parameters (and sends the headers unsigned).
	if strings.HasPrefix(r.Header.Get("Authorization"), "ACS3-") {
		req.action, req.version = r.Header.Get("x-acs-action"), r.Header.Get("x-acs-version")
	} else {
		req.action, req.version = req.params.str("Action"), req.params.str("Version")
	}
	return req, nil
}

// writeResult writes a success: the action's result object with RequestId
// first. A result that is nil answers {"RequestId": …} alone.
func (s *Server) writeResult(w http.ResponseWriter, ev *event, result any) {
	var body []byte
	if result != nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(result); err != nil {
			s.writeError(w, nil, ev, fmt.Errorf("encode result: %w", err))
			return
		}
		body = bytes.TrimSpace(buf.Bytes())
	}
	out := make([]byte, 0, len(body)+64)
	out = append(out, `{"RequestId":"`...)
	out = append(out, ev.requestID...)
	out = append(out, '"')
	if len(body) > 2 { // more than "{}"
		out = append(out, ',')
		out = append(out, body[1:]...)
	} else {
		out = append(out, '}')
	}
	ev.status = http.StatusOK
	writeJSON(w, http.StatusOK, out)
}

// errorBody is the JSON of every error answer.
type errorBody struct {
	RequestId string
	HostId    string
	Code      string
	Message   string
	Recommend string
}

// writeError answers err through the error table.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, ev *event, err error) {
	row, msg := lookup(err)
	if row.code == internalRow.code {
		ev.internal = err
		if s.Unreachable != nil && s.Unreachable(err) {
			row, msg = lookup(errUnavailable)
		}
	}
	if row.status == http.StatusServiceUnavailable {
		// The aliyun CLI retries only when told when to (milliseconds).
		w.Header().Set("x-acs-retry-after", "1000")
		w.Header().Set("Retry-After", "1")
	}
	host := ""
	if r != nil {
		host = r.Host
	}
	ev.code, ev.status = row.code, row.status
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(errorBody{RequestId: ev.requestID, HostId: host, Code: row.code, Message: msg, Recommend: row.recommend})
	writeJSON(w, row.status, bytes.TrimSpace(buf.Bytes()))
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(body)
}

// logRequest writes the request's one log line. It names the access key id,
// never a secret, and no parameter values besides SiteId.
func (s *Server) logRequest(r *http.Request, ev *event, latency time.Duration) {
	code := ev.code
	if code == "" {
		code = "OK"
	}
	attrs := []slog.Attr{
		slog.String("request_id", ev.requestID),
		slog.String("action", ev.action),
		slog.String("version", ev.version),
		slog.String("access_key_id", ev.keyID),
		slog.String("site_id", ev.siteID),
		slog.String("code", code),
		slog.Int("status", ev.status),
		slog.Float64("latency_ms", float64(latency.Microseconds())/1000),
		slog.String("method", r.Method),
		slog.String("remote", r.RemoteAddr),
	}
	level := slog.LevelInfo
	if ev.internal != nil {
		level = slog.LevelError
		attrs = append(attrs, slog.String("error", ev.internal.Error()))
	}
	s.log().LogAttrs(context.Background(), level, "api request", attrs...)
}

// newRequestID returns a random UUID (version 4) in upper case.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hexd = "0123456789ABCDEF"
	out := make([]byte, 36)
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hexd[c>>4], hexd[c&0x0f]
		j += 2
	}
	return string(out)
}
