package edge

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/esacert/esacert/internal/bodyrate"
	"github.com/esacert/esacert/internal/origin"
	"github.com/esacert/esacert/internal/originauth"
)

type routeKey struct{}

// loopToken marks requests this edge forwards (RFC 8586 CDN-Loop), so that
// an origin that points back at the edge is answered 508, not followed.
const loopToken = "esacert"

// proxy forwards requests to their route's origin, over HTTP or HTTPS as
// the host's origin rules say (see targetOf).
type proxy struct {
	origin *originTransport // rp's transport
	rp     *httputil.ReverseProxy
	direct *httputil.ReverseProxy // for paused sites: the request as it came
	log    *slog.Logger
}

// newProxy builds the proxy. Every connection to an origin is made by
// origins, which applies the origin policy.
func newProxy(log *slog.Logger, timeout time.Duration, origins *origin.Dialer) *proxy {
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	p := &proxy{log: log, origin: &originTransport{origins: origins, timeout: timeout}}
	transport := &http.Transport{
		Proxy:                 nil, // origins are reached directly
		DialContext:           origins.DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			rt := pr.In.Context().Value(routeKey{}).(*route)
			t := targetOf(pr.In, rt)
			pr.Out = pr.Out.WithContext(context.WithValue(pr.Out.Context(), targetKey{}, t))
			pr.SetURL(&url.URL{Scheme: t.scheme, Host: t.addr})
			pr.SetXForwarded()
			pr.Out.Header.Add("CDN-Loop", loopToken)
			setClientIP(pr.Out.Header, pr.In, rt.site)
			clientHeaders(pr.Out.Header, pr.In)
			pr.Out.Host = t.host
			if rt.auth != nil {
				rt.auth.sign(pr.Out) // serve made its signer
			}
		},
		Transport: p.origin,
		ModifyResponse: func(resp *http.Response) error {
			edgeHeadersWin(resp)
			return noteOrigin(resp) // for the access log (accesslog.go)
		},
		ErrorHandler: p.fail,
		BufferPool:   copyBuffers,
	}
	p.direct = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			rt := pr.In.Context().Value(routeKey{}).(*route)
			pr.SetURL(&url.URL{Scheme: "http", Host: rt.origin})
			pr.Out.Host = pr.In.Host
			// Nothing is added but the loop token. What the client sent
			// of the headers an origin may trust when they come from the
			// edge is still taken out (Rewrite has taken out Forwarded and
			// X-Forwarded-*): the request comes from the edge's address.
			if name := rt.site.clientIPHeader(); clientIPHeader(name) {
				pr.Out.Header.Del(name)
			}
			clientHeaders(pr.Out.Header, pr.In) // no identity: only takes the visitor's out
			pr.Out.Header.Add("CDN-Loop", loopToken)
		},
		Transport:      transport,
		ModifyResponse: noteOrigin,
		ErrorHandler:   p.fail,
		BufferPool:     copyBuffers,
	}
	return p
}

// copyBuffers are the 32 KiB buffers the proxies copy bodies through,
// reused instead of allocated for every request (BenchmarkOriginProxy:
// most of a small request's allocations were its buffer).
var copyBuffers httputil.BufferPool = bufferPool{}

type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }

// serve proxies r to rt's origin, unless r came from an edge already.
func (p *proxy) serve(w http.ResponseWriter, r *http.Request, rt *route) {
	if looped(w, r) {
		return
	}
	if rt.auth != nil && originauth.Signs(r.Method) {
		if first, err := rt.auth.ready(p.origin.sealer); err != nil {
			if first {
				p.log.Error("origin credentials unusable", "host", hostOf(r), "record", rt.auth.Record, "error", err)
			}
			page(w, http.StatusBadGateway, "The credentials for this site's origin cannot be used.")
			return
		}
	}
	// The headers the edge set (HSTS, Alt-Svc) go on the origin's answer
	// in place of the origin's (edgeHeadersWin), or on the edge's page when
	// the origin fails (fail): kept apart from w until then, as the proxy
	// clears w's headers after an informational answer (103 Early Hints).
	var own http.Header
	if h := w.Header(); len(h) > 0 {
		own = h.Clone()
		clear(h)
	}
	p.forward(p.rp, w, r, rt, own)
}

// serveDirect proxies r to rt's origin as it came, for a paused site,
// unless r came from an edge already: no header is added but CDN-Loop (the
// origin policy refuses this node's own listeners as origins, but not
// behind a NAT or a port mapping), and none the client sent is forwarded
// that the origin could take for the edge's (X-Forwarded-*, Forwarded,
// the site's client-IP header).
func (p *proxy) serveDirect(w http.ResponseWriter, r *http.Request, rt *route) {
	if looped(w, r) {
		return
	}
	p.forward(p.direct, w, r, rt, nil)
}

// looped answers r 508 and reports true when r came from an edge already:
// its CDN-Loop names this edge's token.
func looped(w http.ResponseWriter, r *http.Request) bool {
	for _, v := range r.Header.Values("CDN-Loop") {
		for _, part := range strings.Split(v, ",") {
			if name, _, _ := strings.Cut(strings.TrimSpace(part), ";"); strings.TrimSpace(name) == loopToken {
				page(w, http.StatusLoopDetected, "This site's origin points back at the edge.")
				return true
			}
		}
	}
	return false
}

// forward has rp proxy r to rt's origin; own are the headers the edge
// sets on the answer, if any (see serve).
func (p *proxy) forward(rp *httputil.ReverseProxy, w http.ResponseWriter, r *http.Request, rt *route, own http.Header) {
	ctx := context.WithValue(r.Context(), routeKey{}, rt)
	if own != nil {
		ctx = context.WithValue(ctx, edgeHeadersKey{}, own)
	}
	var body *clientBody
	if r.Body != nil && r.Body != http.NoBody {
		body = &clientBody{ReadCloser: r.Body}
		ctx = context.WithValue(ctx, bodyKey{}, body)
	}
	r = r.WithContext(ctx)
	if body != nil {
		r.Body = body
	}
	rp.ServeHTTP(w, r)
}

// edgeHeadersKey is the context key of the headers the edge sets on a
// proxied answer (HSTS, Alt-Svc): an http.Header (see serve).
type edgeHeadersKey struct{}

// edgeHeadersWin puts the headers the edge sets on an origin's answer in
// place of the origin's, so that the host's settings decide them and a
// visitor never gets two Strict-Transport-Security policies or an Alt-Svc
// of "clear" beside the origin's entries. An origin's Alt-Svc goes in any
// case: it names the origin's alternatives, not the edge's, and the edge
// advertises its own HTTP/3 as the host's AltSvc settings say. A paused
// site's origin answers as it is (the direct proxy does not call this).
func edgeHeadersWin(resp *http.Response) {
	resp.Header.Del("Alt-Svc")
	if own, ok := resp.Request.Context().Value(edgeHeadersKey{}).(http.Header); ok {
		for k, vv := range own {
			resp.Header[k] = vv
		}
	}
}

// edgeHeadersBack puts the headers the edge sets back on w, for the page
// it answers itself when the origin fails.
func edgeHeadersBack(w http.ResponseWriter, r *http.Request) {
	if own, ok := r.Context().Value(edgeHeadersKey{}).(http.Header); ok {
		h := w.Header()
		for k, vv := range own {
			h[k] = vv
		}
	}
}

// bodyKey is the context key of a proxied request's *clientBody: the
// request that fail is given is the outgoing one, whose Body is wrapped.
type bodyKey struct{}

// clientBody is a request body that keeps its first read error, so that a
// failed round trip can be laid on the client (its body was malformed, cut
// short or too slow) rather than on the origin. Reads come from the
// transport's goroutine: the error is read under mu.
type clientBody struct {
	io.ReadCloser
	mu  sync.Mutex
	err error
}

func (b *clientBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	return n, err
}

// failure returns the first read error of the client's body of r (the
// incoming request or the outgoing one), or nil.
func failure(r *http.Request) error {
	b, ok := r.Context().Value(bodyKey{}).(*clientBody)
	if !ok {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// fail answers a failed round trip. When reading the client's body failed,
// the client is answered 408 (too slow) or 400 (malformed or cut short) and
// the fault is logged as the client's; otherwise the origin failed: 504 for
// a timeout, 502 otherwise.
func (p *proxy) fail(w http.ResponseWriter, r *http.Request, err error) {
	edgeHeadersBack(w, r)
	if errors.Is(err, origin.ErrRefused) {
		p.refuse(w, r, err)
		return
	}
	// The client's body comes first: a body read that timed out also
	// cancels the request's context, which is no sign the client left.
	if cerr := failure(r); cerr != nil {
		status, text := http.StatusBadRequest, "The request body could not be read: it was malformed or cut short."
		if errors.Is(cerr, bodyrate.ErrTooSlow) {
			status, text = http.StatusRequestTimeout, "The request body arrived too slowly."
		}
		p.log.Debug("client request body failed", "host", hostOf(r), "status", status, "error", cerr)
		page(w, status, text)
		return
	}
	status := http.StatusBadGateway
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		status = http.StatusGatewayTimeout
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client went away
	}
	p.log.Warn("origin failed", "host", hostOf(r), "status", status, "error", err)
	text := "The origin server of this site did not answer in time."
	if status == http.StatusBadGateway {
		text = "The origin server of this site could not be reached."
	}
	page(w, status, text)
}

// page writes a short HTML page; its text is the parts, each escaped,
// one after the other (a host name between two texts costs no string of
// its own).
func page(w http.ResponseWriter, status int, parts ...string) {
	// The header's values are shared, never written (a Set or Add
	// replaces or reallocates them): no allocation for each page, and
	// the keys are already canonical.
	h := w.Header()
	h["Content-Type"] = pageContentType
	h["Cache-Control"] = pageCacheControl
	w.WriteHeader(status)
	// Appended to a pooled buffer, not formatted: no allocation where
	// fmt.Fprintf made seven (a Writer keeps nothing of what it is given).
	buf := pageBuffers.Get().(*[]byte)
	b := append((*buf)[:0], "<!doctype html><title>"...)
	b = appendStatus(b, status)
	b = append(b, "</title><h1>"...)
	b = appendStatus(b, status)
	b = append(b, "</h1><p>"...)
	for _, p := range parts {
		b = appendEscaped(b, p)
	}
	b = append(b, "</p><hr><p>esacert</p>\n"...)
	w.Write(b)
	*buf = b
	pageBuffers.Put(buf)
}

var (
	pageContentType  = []string{"text/html; charset=utf-8"}
	pageCacheControl = []string{"no-store"}
)

// appendEscaped appends s to b escaped for HTML text, as
// html.EscapeString escapes it.
func appendEscaped(b []byte, s string) []byte {
	for {
		i := strings.IndexAny(s, `<>&'"`)
		if i < 0 {
			return append(b, s...)
		}
		b = append(b, s[:i]...)
		switch s[i] {
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		case '&':
			b = append(b, "&amp;"...)
		case '\'':
			b = append(b, "&#39;"...)
		case '"':
			b = append(b, "&#34;"...)
		}
		s = s[i+1:]
	}
}

var pageBuffers = sync.Pool{New: func() any { return new([]byte) }}

// appendStatus appends "404 Not Found" for 404.
func appendStatus(b []byte, status int) []byte {
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	return append(b, http.StatusText(status)...)
}

// hostOf returns the request's host without port, normalized.
func hostOf(r *http.Request) string {
	h := r.Host
	if i := strings.LastIndexByte(h, ':'); i > 0 && !strings.HasSuffix(h, "]") {
		h = h[:i]
	}
	return normalize(h)
}

// HTTPSHandler answers requests that arrived over TLS: HSTS when the host's
// policy asks for it, then the proxy. A request for a host whose site was
// paused after its connection was made is answered 421, and the connection
// closed: the client's next connection is passed through to the origin.
func (e *Edge) HTTPSHandler() http.Handler {
	return e.logged(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := hostOf(r)
		// A request for another host than the connection's SNI would skip
		// that host's TLS settings and certificate: send it to a connection
		// of its own (RFC 9110 §15.5.20).
		if r.TLS != nil && e.connHost(r.TLS) != host { // sni.go: a connection without SNI is its NoSNIHost's
			page(w, http.StatusMisdirectedRequest, "This connection was made for another host.")
			return
		}
		ix := e.index.Load()
		rt := ix.routeFor(host)
		if rt == nil || rt.site.refuses(r) {
			page(w, http.StatusNotFound, "No site on this edge serves ", host, ".")
			return
		}
		if rt.site.settings.Paused {
			closeConn(w, r) // http3.go
			page(w, http.StatusMisdirectedRequest, "This site is paused: connect again to reach its origin.")
			return
		}
		hp := rt.site.policy().For(host)
		if hp.HSTS != "" {
			w.Header().Set("Strict-Transport-Security", hp.HSTS)
		}
		if v := e.altSvc(hp); v != "" { // http3.go
			w.Header().Set("Alt-Svc", v)
		}
		// Mutual TLS (clientauth.go): the certificate checked at the
		// handshake is checked again, as the index says now.
		var ok bool
		if r, ok = checkClient(r, rt.site, host); !ok {
			closeConn(w, r) // http3.go
			page(w, http.StatusForbidden, "This host requires a valid client certificate, and this connection has none.")
			return
		}
		e.proxy.serve(w, r, rt)
	}), "https")
}

// HTTPHandler answers plain HTTP: ACME HTTP-01 challenges, the redirect to
// HTTPS when the host forces it, else the proxy. For a paused site's host
// it proxies the request as it came (see features.go).
func (e *Edge) HTTPHandler() http.Handler {
	return e.logged(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := hostOf(r)
		if token, ok := strings.CutPrefix(r.URL.Path, "/.well-known/acme-challenge/"); ok {
			if e.ACME != nil {
				if answer, ok := e.ACME(host, token); ok {
					w.Header().Set("Content-Type", "text/plain")
					w.Write([]byte(answer))
					return
				}
			}
			http.NotFound(w, r)
			return
		}
		ix := e.index.Load()
		site := ix.siteOf(host)
		if site == nil || site.refuses(r) {
			page(w, http.StatusNotFound, "No site on this edge serves ", host, ".")
			return
		}
		if site.settings.Paused {
			rt := ix.routeFor(host)
			if rt == nil {
				page(w, http.StatusNotFound, "No site on this edge serves ", host, ".")
				return
			}
			e.proxy.serveDirect(w, r, rt)
			return
		}
		if hp := site.policy().For(host); hp.Force && hp.HTTPS {
			authority := host
			if e.HTTPSPort != "" && e.HTTPSPort != "443" {
				authority = net.JoinHostPort(host, e.HTTPSPort)
			}
			http.Redirect(w, r, "https://"+authority+r.URL.RequestURI(), hp.ForceCode)
			return
		}
		if site.clientAuthFor(host) != nil { // mutual TLS needs TLS
			page(w, http.StatusForbidden, "This host requires a client certificate: connect over HTTPS.")
			return
		}
		rt := ix.routeFor(host)
		if rt == nil {
			page(w, http.StatusNotFound, "No origin is set for ", host, ".")
			return
		}
		e.proxy.serve(w, r, rt)
	}), "http")
}
