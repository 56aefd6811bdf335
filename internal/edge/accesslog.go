package edge

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"time"

	"github.com/esacert/esacert/internal/accesslog"
)

// AccessLogger takes the edge's access log (accesslog.Log is one). Its
// methods must be safe for concurrent use and return at once.
type AccessLogger interface {
	// Sampled reports whether to log the request about to be served.
	Sampled() bool
	// Write takes one request's line.
	Write(accesslog.Entry)
}

var _ AccessLogger = (*accesslog.Log)(nil)

// What the access log holds, and what it leaves out, is accesslog.Entry's:
// a line for each request answered on the edge's listeners (HTTPS and
// plain HTTP), the path without its query. A TLS handshake that fails is no
// request and has no line: it is counted by the handshake metrics
// (HandshakeObserver) and logged at debug level.

// originStatusKey is the context key of a logged request's *int, where the
// proxy notes the status its origin answered.
type originStatusKey struct{}

// noteOrigin notes, for the access log, the status of an origin's answer.
// It is the proxies' ModifyResponse.
func noteOrigin(resp *http.Response) error {
	if p, ok := resp.Request.Context().Value(originStatusKey{}).(*int); ok {
		*p = resp.StatusCode
	}
	return nil
}

// logged wraps h so that the requests it serves are written to the access
// log, the sampled ones; without an access log it is h.
func (e *Edge) logged(h http.Handler, scheme string) http.Handler {
	if e.AccessLog == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !e.AccessLog.Sampled() {
			h.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		var origin int
		r = r.WithContext(context.WithValue(r.Context(), originStatusKey{}, &origin))
		// Written even when the handler panics (the proxy aborts an answer
		// the origin cut short with http.ErrAbortHandler).
		defer func() {
			e.AccessLog.Write(logEntry(r, scheme, start, rec, origin))
		}()
		h.ServeHTTP(rec, r)
	})
}

// logEntry builds a request's line.
func logEntry(r *http.Request, scheme string, start time.Time, rec *recorder, origin int) accesslog.Entry {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	path := r.URL.EscapedPath()
	if len(path) > accesslog.MaxPath {
		path = path[:accesslog.MaxPath] + "…"
	}
	le := accesslog.Entry{Time: start.UTC(), ClientIP: ip, Scheme: scheme, Host: hostOf(r), Method: r.Method,
		Path: path, Proto: r.Proto, Status: rec.status, Bytes: rec.bytes,
		DurationMS: float64(time.Since(start).Microseconds()) / 1000, OriginStatus: origin}
	switch {
	case le.Status != 0:
	case origin == http.StatusSwitchingProtocols: // the proxy wrote the 101 on the hijacked connection
		le.Status = origin
	default: // nothing was written: net/http answers 200
		le.Status = http.StatusOK
	}
	if r.TLS != nil {
		le.SNI = normalize(r.TLS.ServerName)
		le.TLSVersion = tls.VersionName(r.TLS.Version)
		le.ALPN = r.TLS.NegotiatedProtocol
		le.Resumed = r.TLS.DidResume
	}
	return le
}

// recorder notes the status and the body bytes of an answer. Unwrap lets
// http.ResponseController (flushes, hijacking for protocol switches, write
// deadlines) reach the server's ResponseWriter.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush is http.Flusher's, for handlers that ask for it by type.
func (w *recorder) Flush() { http.NewResponseController(w.ResponseWriter).Flush() }

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
