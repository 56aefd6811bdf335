package api

import (
	"bytes"
	"crypto/hmac"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"time"

	"github.com/esacert/esacert/internal/identity"
	"github.com/esacert/esacert/internal/redact"
	"github.com/esacert/esacert/internal/session"
)

// A client that does not sign every request — the web console, whose user
// signs in once with an access key id and its secret — goes through the
// same envelope as a signed request, less the signature: SignIn checks the
// key and secret once; Invoke then runs each action as that key, with the
// same identification of the key, authorization by its policies, audit
// trail, log line and error table as a signed request, and answers the
// JSON the API would have sent.

// ConsoleSignin is the name of a sign-in's event in the audit trail (as
// ActionTrail names a console sign-in), and its action in the log.
const ConsoleSignin = "ConsoleSignin"

// SignIn checks an access key id and its secret, as a signature would
// check them: the root key, or an active key of a RAM user. principal is
// the ARN of who signs with the key (for display). ok is false for a key
// id that names no key, a wrong secret, a disabled key, and STS
// credentials (they need their token, and expire: sign in with a key).
// err reports a failure to look the key up (such as the database), never a
// wrong key. It writes one log line (the key id, never the secret) and,
// when the audit trail is kept, an event: a failed sign-in as a failed
// authentication (within their budget), a successful one as ConsoleSignin.
// r is the sign-in's request: its source address and TLS are recorded.
func (s *Server) SignIn(r *http.Request, keyID, secret string) (principal string, ok bool, err error) {
	start := time.Now()
	ev := &event{requestID: newRequestID(), action: ConsoleSignin, keyID: keyID}
	req := &request{r: r, query: url.Values{}, params: params{v: url.Values{}}}
	var want string
	if !session.IsKey(keyID) && keyID != "" {
		want, err = s.secret(r.Context(), req, keyID)
	}
	ev.keyKnown = req.keyKnown
	switch {
	case err != nil && !errors.Is(err, errUnknownKey) && !errors.Is(err, identity.ErrKeyInactive):
		ev.code, ev.internal = "InternalException", err
		s.logSignIn(r, ev, time.Since(start))
		return "", false, err
	case err == nil && req.caller != nil && hmac.Equal([]byte(want), []byte(secret)):
		ev.verified = true
		if s.Audit != nil {
			e := s.newAuditEvent(&request{r: r, params: params{v: url.Values{}}, action: ConsoleSignin, caller: req.caller}, ev.requestID)
			e.Service, e.Write = "console", true
			ev.audit = e
		}
		s.recordAudit(r, ev)
		s.logSignIn(r, ev, time.Since(start))
		return req.caller.ARN(), true, nil
	}
	ev.code, ev.message = "SignInFailed", "The access key id or secret is wrong, or the key is disabled."
	if s.Audit != nil {
		if ok, _ := s.failedAuth.take(s.now()); ok { // recorded within the failed authentications' budget
			e := s.failedAuthEvent(ev, r)
			e.Name, e.Service = ConsoleSignin, "console"
			ev.audit = e
			s.recordAudit(r, ev)
		}
	}
	s.logSignIn(r, ev, time.Since(start))
	return "", false, nil
}

// logSignIn writes a sign-in's one log line: the key id as logRequest
// shows it (in full once it names a key, else its first characters), the
// outcome, and the text of an unexpected failure.
func (s *Server) logSignIn(r *http.Request, ev *event, latency time.Duration) {
	keyID := redact.Prefix(ev.keyID, logKeyIDHint)
	if ev.keyKnown {
		keyID = redact.Clean(ev.keyID, logValueBound)
	}
	code := ev.code
	if code == "" {
		code = "OK"
	}
	attrs := []any{"request_id", ev.requestID, "action", ConsoleSignin, "access_key_id", keyID, "code", code,
		"latency_ms", float64(latency.Microseconds()) / 1000, "remote", r.RemoteAddr}
	if ev.internal != nil {
		s.log().Error("console sign-in", append(attrs, "error", redact.Clean(ev.internal.Error(), logErrorBound))...)
		return
	}
	s.log().Info("console sign-in", attrs...)
}

// Invoke runs one action (of version, with params) as the access key
// keyID, for a client whose user signed in with SignIn: the key is
// identified again (a key deleted or disabled since, or a policy changed,
// is in force at once), the caller's policies authorize the action in the
// context of r (its source address, whether it came over TLS, the time),
// and the action runs as a signed request's would, with its audit event
// and its log line. The answer is what the API would have sent: the HTTP
// status and the JSON body (RequestId first; Code and Message on an error).
// Invoke never panics for a client's mistake.
func (s *Server) Invoke(r *http.Request, keyID, version, action string, params url.Values) (status int, body []byte) {
	start := time.Now()
	ev := &event{requestID: newRequestID()}
	w := &bufferedAnswer{header: http.Header{}}
	result, err := s.invoke(r, ev, keyID, version, action, params)
	if err != nil {
		s.writeError(w, r, ev, err)
	} else {
		s.writeResult(w, ev, result)
	}
	s.recordAudit(r, ev)
	took := time.Since(start)
	s.logRequest(r, ev, took)
	s.observe(ev, took) // the console's calls count as the API's requests
	return w.status, w.body.Bytes()
}

// invoke is Invoke's envelope: the parameters' checks, the key's identity,
// then dispatch; a panic becomes an error.
func (s *Server) invoke(r *http.Request, ev *event, keyID, version, action string, v url.Values) (result any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{value: fmt.Sprint(p), stack: debug.Stack()}
		}
	}()
	if v == nil {
		v = url.Values{}
	}
	req := &request{r: r, query: url.Values{}, params: params{v: v}, action: action, version: version}
	ev.action, ev.version, ev.siteID, ev.keyID = action, version, req.params.str("SiteId"), keyID
	if err := checkParams(v); err != nil {
		return nil, err
	}
	if session.IsKey(keyID) {
		ev.authFailed = true
		return nil, errUnknownKey // SignIn never accepts STS credentials
	}
	_, err = s.secret(r.Context(), req, keyID)
	ev.keyKnown = req.keyKnown
	if err != nil {
		ev.authFailed = true
		return nil, err
	}
	ev.verified = true // by the sign-in
	return s.dispatch(r.Context(), req, ev)
}

// bufferedAnswer is an http.ResponseWriter that keeps the answer in memory.
type bufferedAnswer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedAnswer) Header() http.Header { return b.header }
func (b *bufferedAnswer) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
func (b *bufferedAnswer) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}
