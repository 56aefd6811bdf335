package edge

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/esacert/esacert/internal/origin"
)

// target is where one proxied request goes, as its host's origin rules
// (OriginPolicy) and its route say.
type target struct {
	scheme  string        // http or https
	addr    string        // host:port
	host    string        // the Host header
	sni     string        // https: the server name sent and verified
	verify  bool          // https: verify the certificate against the system roots
	timeout time.Duration // the response header timeout; 0: the edge's default
}

// targetKey is the context key of a proxied request's *target.
type targetKey struct{}

// targetOf resolves where r goes: rt's origin, changed by the origin
// policy of r's host.
func targetOf(r *http.Request, rt *route) *target {
	op := rt.site.policy.For(hostOf(r)).Origin
	t := &target{scheme: "http", addr: rt.origin, host: r.Host, timeout: op.ReadTimeout}
	if rt.originHost != "" {
		t.host = rt.originHost
	}
	if op.Host != "" {
		t.host = op.Host
	}
	switch op.Scheme {
	case "https":
		t.scheme = "https"
	case "follow":
		if r.TLS != nil {
			t.scheme = "https"
		}
	}
	host, port, err := net.SplitHostPort(rt.origin)
	if err != nil {
		host = rt.origin
	}
	if t.scheme == "https" {
		port = "443"
		if op.HTTPSPort > 0 {
			port = strconv.Itoa(op.HTTPSPort)
		}
		t.sni, t.verify = op.SNI, op.Verify
		if t.sni == "" {
			t.sni = hostWithoutPort(t.host)
		}
	} else if op.HTTPPort > 0 {
		port = strconv.Itoa(op.HTTPPort)
	}
	t.addr = net.JoinHostPort(host, port)
	return t
}

func hostWithoutPort(h string) string {
	if hh, _, err := net.SplitHostPort(h); err == nil {
		return hh
	}
	return h
}

// originTransport sends each request over a transport made for its
// target's TLS settings and timeout, so that a pooled connection is only
// reused by requests that would have made it the same way (the same SNI
// and verification). Every connection is dialed by the origin Dialer.
type originTransport struct {
	origins *origin.Dialer
	timeout time.Duration // the edge's default response header timeout
	mu      sync.Mutex
	byKey   map[string]*http.Transport
}

// maxOriginTransports bounds the transports kept; beyond it the idle
// connections of all are closed and the set starts again.
const maxOriginTransports = 4096

func (o *originTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t, _ := r.Context().Value(targetKey{}).(*target)
	if t == nil {
		return nil, errors.New("edge: a proxied request without a target")
	}
	return o.transport(t).RoundTrip(r)
}

func (o *originTransport) transport(t *target) *http.Transport {
	timeout := t.timeout
	if timeout <= 0 {
		timeout = o.timeout
	}
	key := t.scheme + "|" + timeout.String()
	if t.scheme == "https" {
		key += "|" + t.sni + "|" + strconv.FormatBool(t.verify)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if tr := o.byKey[key]; tr != nil {
		return tr
	}
	if o.byKey == nil || len(o.byKey) >= maxOriginTransports {
		for _, tr := range o.byKey {
			tr.CloseIdleConnections()
		}
		o.byKey = map[string]*http.Transport{}
	}
	tr := &http.Transport{
		Proxy:                 nil, // origins are reached directly
		DialContext:           o.origins.DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
	}
	if t.scheme == "https" {
		tr.TLSClientConfig = &tls.Config{ServerName: t.sni, InsecureSkipVerify: !t.verify, MinVersion: tls.VersionTLS12}
		tr.ForceAttemptHTTP2 = true
		tr.TLSHandshakeTimeout = 10 * time.Second
	}
	o.byKey[key] = tr
	return tr
}
