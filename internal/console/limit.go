package console

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Failed sign-ins are bounded per source address: a burst of
// signinBurst, then one every signinEvery; past that the sign-in is
// refused before the key is checked.
const (
	signinBurst   = 10
	signinEvery   = 6 * time.Second
	maxLimitAddrs = 10_000 // addresses remembered; past it, the table starts empty again
)

// signinLimit counts failed sign-ins per source address. Safe for
// concurrent use.
type signinLimit struct {
	mu     sync.Mutex
	failed map[string]bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// sourceAddr is the address a request came from (no port).
func sourceAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// level returns addr's bucket refilled to now.
func (l *signinLimit) level(addr string, now time.Time) bucket {
	b, ok := l.failed[addr]
	if !ok {
		return bucket{tokens: signinBurst, at: now}
	}
	b.tokens = min(signinBurst, b.tokens+now.Sub(b.at).Seconds()/signinEvery.Seconds())
	b.at = now
	return b
}

// allowed reports whether addr may try to sign in at now.
func (l *signinLimit) allowed(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.level(addr, now).tokens >= 1
}

// fail counts a failed sign-in from addr at now.
func (l *signinLimit) fail(addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failed == nil || len(l.failed) >= maxLimitAddrs {
		l.failed = map[string]bucket{}
	}
	b := l.level(addr, now)
	b.tokens--
	l.failed[addr] = b
}
