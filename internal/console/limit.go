package console

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Failed sign-ins are bounded per source address: a burst of
// signinBurst, then one every signinEvery; past that the sign-in is
// refused before the key is checked.
const (
	signinBurst   = 10
	signinEvery   = 6 * time.Second
	maxLimitAddrs = 10_000 // addresses remembered; past it, refilled ones are forgotten first
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

// sourceAddr is the address a request came from (no port); an IPv6
// address stands for its /64, which one client usually holds whole.
func sourceAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is6() && !ip.Is4In6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
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

// take spends one of addr's tokens before its key is checked, and reports
// whether there was one: checking and counting in one step, so that many
// sign-ins sent at once cannot all pass a check made before any failed. A
// sign-in that succeeds gives its token back (refund).
func (l *signinLimit) take(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.level(addr, now)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	if _, ok := l.failed[addr]; !ok {
		l.makeRoom(now)
	}
	if l.failed == nil {
		l.failed = map[string]bucket{}
	}
	l.failed[addr] = b
	return true
}

// refund gives back the token a successful sign-in took.
func (l *signinLimit) refund(addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.failed[addr]; ok {
		b = l.level(addr, now)
		b.tokens = min(signinBurst, b.tokens+1)
		l.failed[addr] = b
	}
}

// makeRoom keeps the table under maxLimitAddrs: first it forgets the
// addresses whose bucket has refilled (they are as if never seen), then,
// if still full, the one with the most tokens left (the least suspect),
// never the whole table (which would let a client with many addresses
// wipe its own count).
func (l *signinLimit) makeRoom(now time.Time) {
	if len(l.failed) < maxLimitAddrs {
		return
	}
	for a := range l.failed {
		if l.level(a, now).tokens >= signinBurst {
			delete(l.failed, a)
		}
	}
	for len(l.failed) >= maxLimitAddrs {
		most, best := "", -1.0
		for a, b := range l.failed {
			if b.tokens > best {
				most, best = a, b.tokens
			}
		}
		delete(l.failed, most)
	}
}
