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
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/account"
	"github.com/esacert/esacert/internal/audit"
	"github.com/esacert/esacert/internal/bodyrate"
	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/clientca"
	"github.com/esacert/esacert/internal/clientcert"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/group"
	"github.com/esacert/esacert/internal/httpsconf"
	"github.com/esacert/esacert/internal/identity"
	"github.com/esacert/esacert/internal/origincert"
	"github.com/esacert/esacert/internal/rampolicy"
	"github.com/esacert/esacert/internal/record"
	"github.com/esacert/esacert/internal/redact"
	"github.com/esacert/esacert/internal/role"
	"github.com/esacert/esacert/internal/session"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/sitesetting"
	"github.com/esacert/esacert/internal/user"
)

// Defaults of Server's optional fields.
const (
	DefaultMaxBody = 1 << 20
	DefaultWindow  = 15 * time.Minute
)

// Server answers ESA's OpenAPI (RPC style, path /) over HTTP. Its fields are
// set once before it serves; after that it is safe for concurrent use.
type Server struct {
	// The use cases, one Service per noun; all four are required.
	Sites *site.Service // sites and plan instances
	// Settings: sites' feature settings and tags; required for their actions.
	Settings *sitesetting.Service
	Records  *record.Service    // DNS records
	HTTPS    *httpsconf.Service // HTTPS configurations
	Certs    *cert.Service      // certificates, the repository, free certificates
	// OriginCerts: origin CA certificates; required for their actions.
	OriginCerts *origincert.Service
	// ClientCAs: client CA certificates, and ClientCerts: the client
	// certificates esacert issues (mutual TLS from visitors); each is
	// required for its actions.
	ClientCAs   *clientca.Service
	ClientCerts *clientcert.Service
	Keys        Keyring // the root key (every right); required

	// Access control, one Service per noun (RAM, version 2015-05-01). All
	// are set together; when Users is nil the RAM version is not answered.
	Account    *account.Service
	Users      *user.Service
	AccessKeys *accesskey.Service
	Groups     *group.Service
	Policies   *rampolicy.Service
	Roles      *role.Service
	// AccountID is the account's id, as ARNs and resources name it.
	AccountID string
	// Identities authenticates the keys that are not the root key (RAM
	// users' keys, STS credentials); their requests are authorized by their
	// policies (see permissions). Nil accepts the root key only.
	Identities Identities
	// Sessions issues STS credentials (AssumeRole); nil leaves the STS
	// version unanswered.
	Sessions *session.Service

	// Nonces remembers signature nonces; nil means a MemoryNonces of its own.
	Nonces NonceCache
	// Log receives one line per request; nil means slog.Default().
	Log *slog.Logger
	// Observer, when set, is told of every request once it is answered
	// (for the metrics); nil tells no one.
	Observer Observer
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
	// Audit, when set, keeps the audit trail: every authenticated request
	// that changes state (or may: it is not a Get…/List… read), every
	// failed authentication (at most failedAuthRate a second), and reads
	// too when AuditReads; LookupEvents reads it. Nil keeps none.
	Audit      AuditStore
	AuditReads bool

	failedAuth failedAuthBudget

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

// Observer is told of every request once it is answered. Request must
// return quickly and be safe for concurrent use.
type Observer interface {
	// Request reports one request: its action when some version answers an
	// action of that name ("" for none), the Code of its answer ("OK" for a
	// success, else one of the error table's) and how long it took.
	Request(action, code string, took time.Duration)
}

// request is one API call as the envelope sees it.
type request struct {
	r       *http.Request
	body    []byte
	query   url.Values
	params  params
	action  string
	version string

	keyKnown bool // the keyring has the access key id the request names
	verified bool // the signature matched that key's secret
	// caller is who signs with the key, once the key is known.
	caller *identity.Identity
}

// event is what the per-request log line says. action, version, keyID and
// siteID are as the request sent them; logRequest decides how much of them
// to show.
type event struct {
	requestID string
	action    string
	version   string
	keyID     string
	siteID    string
	keyKnown  bool
	verified  bool
	code      string
	message   string // the answer's message, for the audit trail
	status    int
	internal  error // the text of an unexpected failure; logged, never sent

	authFailed bool         // the request's authentication failed
	audit      *audit.Event // the request's audit event, when it is kept
}

// panicError is a panic recovered while serving a request.
type panicError struct {
	value string
	stack []byte
}

func (e *panicError) Error() string { return "panic: " + e.value }

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
	s.recordAudit(r, ev)
	took := time.Since(start)
	s.logRequest(r, ev, took)
	s.observe(ev, took)
}

// observe tells the Observer of a request: the action it names, only when
// esacert answers an action of that name (so that a client cannot make up
// label values), and the Code it was answered.
func (s *Server) observe(ev *event, took time.Duration) {
	if s.Observer == nil {
		return
	}
	action, code := "", ev.code
	if knownAction(ev.action) {
		action = ev.action
	}
	if code == "" {
		code = "OK"
	}
	s.Observer.Request(action, code, took)
}

// recordAudit writes the request's event when no transaction of its did:
// a refused or failed change, an audited read, a failed authentication.
func (s *Server) recordAudit(r *http.Request, ev *event) {
	if s.Audit == nil {
		return
	}
	e := ev.audit
	if e == nil && ev.authFailed {
		ok, dropped := s.failedAuth.take(s.now())
		if dropped > 0 {
			s.log().Warn("audit trail: failed authentications not recorded (more than the budget)", "dropped", dropped)
		}
		if !ok {
			return
		}
		e = s.failedAuthEvent(ev, r)
	}
	if e == nil || e.Claimed() {
		return
	}
	e.ErrorCode, e.ErrorMessage = ev.code, ev.message
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 2*time.Second)
	defer cancel()
	if err := s.Audit.RecordEvent(ctx, e); err != nil {
		s.log().Warn("audit trail: cannot record an event", "request_id", ev.requestID, "error", err)
	}
}

// Unavailable answers every request with ServiceUnavailable (503) and a
// hint to retry in a second, logged like any request: for a node that is up
// but has not reached its database. obs, when set, is told of each request.
func Unavailable(log *slog.Logger, obs Observer) http.Handler {
	s := &Server{Log: log, Observer: obs}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ev := &event{requestID: newRequestID()}
		s.writeError(w, r, ev, errUnavailable)
		took := time.Since(start)
		s.logRequest(r, ev, took)
		s.observe(ev, took)
	})
}

// serve runs the envelope and the action, turning a panic into an error.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, ev *event) (result any, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: fmt.Sprint(v), stack: debug.Stack()}
		}
	}()
	req, err := s.readRequest(w, r)
	if err != nil {
		return nil, err
	}
	ev.action, ev.version, ev.siteID = req.action, req.version, req.params.str("SiteId")
	keyID, err := s.authenticate(r.Context(), req)
	ev.keyID, ev.keyKnown, ev.verified = keyID, req.keyKnown, req.verified
	if err != nil {
		ev.authFailed = true
		return nil, err
	}
	return s.dispatch(r.Context(), req, ev)
}

// dispatch runs an authenticated request (req.caller is who made it): the
// action's lookup, the audit trail's event, authorization by the caller's
// policies, the action, and the refresh of identities after a RAM change.
func (s *Server) dispatch(ctx context.Context, req *request, ev *event) (result any, err error) {
	if req.version == "" {
		return nil, domain.Missing("Version")
	}
	if req.action == "" {
		return nil, domain.Missing("Action")
	}
	actions, ok := versions[req.version]
	if !ok || req.version == RAMVersion && s.Users == nil || req.version == STSVersion && s.Sessions == nil {
		return nil, errUnknownVersion
	}
	act, ok := actions[req.action]
	if !ok {
		return nil, errUnknownAction
	}
	if s.Audit != nil {
		if e := s.newAuditEvent(req, ev.requestID); e.Write || s.AuditReads {
			ev.audit, ctx = e, audit.With(ctx, e)
		}
	}
	req.params.conditions = s.conditions(req)
	if err := s.authorize(req, req.caller); err != nil {
		if s.Audit != nil && ev.audit == nil { // a denied read is recorded too
			ev.audit = s.newAuditEvent(req, ev.requestID)
		}
		return nil, err
	}
	req.params.caller = req.caller
	result, err = act(s, ctx, &req.params)
	if err == nil && req.version == RAMVersion && permissions[req.version][req.action].level == levelWrite {
		s.refreshIdentities(ctx)
	}
	return result, err
}

// refresher is an Identities that can be told to catch up with the
// database at once (identity.Resolver).
type refresher interface {
	Refresh(ctx context.Context) error
}

// refreshIdentities makes a RAM change made through this node in force on
// it before the answer goes out, so that the caller's next request sees
// it; other nodes follow within their poll.
func (s *Server) refreshIdentities(ctx context.Context) {
	if r, ok := s.Identities.(refresher); ok {
		if err := r.Refresh(ctx); err != nil {
			s.log().Warn("access control: cannot read the RAM revision after a change", "error", err)
		}
	}
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

// errorBody is the JSON of every error answer; a denial adds the
// AccessDeniedDetail object.
type errorBody struct {
	RequestId          string
	HostId             string
	Code               string
	Message            string
	Recommend          string
	AccessDeniedDetail *accessDeniedDetail `json:",omitempty"`
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
	ev.code, ev.status, ev.message = row.code, row.status, msg
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	body := errorBody{RequestId: ev.requestID, HostId: host, Code: row.code, Message: msg, Recommend: row.recommend}
	var de *deniedError
	if errors.As(err, &de) {
		body.AccessDeniedDetail = de.detail()
	}
	enc.Encode(body)
	writeJSON(w, row.status, bytes.TrimSpace(buf.Bytes()))
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(body)
}

// Bounds of the values of a log line, in bytes. No action, version, site id,
// access key id or method esacert knows comes near them.
const (
	logValueBound  = 64
	logMethodBound = 16
	logErrorBound  = 1024
	// logKeyIDHint is how much of an access key id that names no key is
	// shown: enough to recognise an id, too little to give away a secret
	// pasted in its place.
	logKeyIDHint = 8
)

// logRequest writes the request's one log line. It names the access key id,
// never a secret, and no parameter values besides SiteId. Its size does not
// depend on what the client sent: every value is bounded and cleaned of
// control characters and key-like text (redact.Clean), and what a client
// sends before its signature is verified is shown only where the server
// recognises it (see logFields).
func (s *Server) logRequest(r *http.Request, ev *event, latency time.Duration) {
	code := ev.code
	if code == "" {
		code = "OK"
	}
	action, version, siteID, keyID := ev.logFields()
	attrs := []slog.Attr{
		slog.String("request_id", ev.requestID),
		slog.String("action", action),
		slog.String("version", version),
		slog.String("access_key_id", keyID),
		slog.String("site_id", siteID),
		slog.String("code", code),
		slog.Int("status", ev.status),
		slog.Float64("latency_ms", float64(latency.Microseconds())/1000),
		slog.String("method", redact.Clean(r.Method, logMethodBound)),
		slog.String("remote", r.RemoteAddr),
	}
	level := slog.LevelInfo
	if ev.internal != nil {
		level = slog.LevelError
		attrs = append(attrs, slog.String("error", redact.Clean(ev.internal.Error(), logErrorBound)))
		var pe *panicError
		if errors.As(ev.internal, &pe) {
			attrs = append(attrs, slog.String("stack", string(pe.stack)))
		}
	}
	s.log().LogAttrs(context.Background(), level, "api request", attrs...)
}

// logFields returns the action, version, site id and access key id as the
// log line shows them. Once the signature is verified they were chosen by
// the key's holder and are shown bounded and cleaned. Before, anyone may
// have chosen them, so only what the server recognises is shown: an action
// or a version it answers, a site id that is a number, an access key id
// that names a key (one that does not shows its first characters and its
// length, in case a secret was pasted in its place); anything else is a
// marker with its length.
func (ev *event) logFields() (action, version, siteID, keyID string) {
	if ev.verified {
		return redact.Clean(ev.action, logValueBound), redact.Clean(ev.version, logValueBound),
			redact.Clean(ev.siteID, logValueBound), redact.Clean(ev.keyID, logValueBound)
	}
	action, version, siteID = unrecognised(ev.action), unrecognised(ev.version), unrecognised(ev.siteID)
	if knownAction(ev.action) {
		action = ev.action
	}
	if _, ok := versions[ev.version]; ok {
		version = ev.version
	}
	if plausibleID(ev.siteID) {
		siteID = ev.siteID
	}
	if ev.keyKnown {
		keyID = redact.Clean(ev.keyID, logValueBound)
	} else {
		keyID = redact.Prefix(ev.keyID, logKeyIDHint)
	}
	return action, version, siteID, keyID
}

// unrecognised is the log's marker for a value the server does not know:
// its length only ("" stays "").
func unrecognised(v string) string {
	if v == "" {
		return ""
	}
	return "[unrecognised: " + strconv.Itoa(len(v)) + " bytes]"
}

// knownAction reports whether some version answers action.
func knownAction(action string) bool {
	for _, actions := range versions {
		if _, ok := actions[action]; ok {
			return true
		}
	}
	return false
}

// plausibleID reports whether v could be a site id: 1 to 19 decimal digits.
func plausibleID(v string) bool {
	if v == "" || len(v) > 19 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
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
