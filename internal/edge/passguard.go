package edge

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// A paused site's origin may be the edge itself. The origin policy refuses
// the node's own listeners as origins, but not through a NAT or a port
// mapping (listeners on :8443 and :8080 reached as 443 and 80): then every
// passed-through connection would come back to be passed through again,
// without end. Plain HTTP carries CDN-Loop as every proxied request does
// (proxy.serveDirect); a passed-through connection can carry nothing, so
// the edge keeps, for as long as each pass-through lasts:
//   - the local address of its connection to the origin: a connection
//     accepted from one of those is the edge's own, and is closed at once,
//     by the listener (Accept), or once its hello is read when it was
//     accepted before the dial returned;
//   - the ClientHello's random (32 bytes the client chose for this one
//     handshake): the same hello arriving again while the first one is
//     passed through is the edge's own connection, come back through a
//     NAT that changed its address;
//   - a count of the pass-throughs, in all and per site, under caps
//     (Edge.MaxPassthroughs, Edge.MaxSitePassthroughs), so that whatever
//     loops anyway, and a flood of connections for paused hosts, ends
//     there: beyond a cap the handshake fails as for an unknown host.

// Default caps of the pass-throughs at once.
const (
	maxPasses     = 10000
	maxSitePasses = 1000
)

// Why a pass-through is refused.
const (
	byAddress = "address" // from the local address of a pass-through: a loop
	byHello   = "hello"   // the hello of a pass-through under way: a loop
	capEdge   = "edge"    // the edge's cap is reached
	capSite   = "site"    // the site's cap is reached
)

// passGuard keeps what the edge knows of its pass-throughs under way. Its
// zero value is ready; it is safe for concurrent use.
type passGuard struct {
	mu     sync.Mutex
	total  int
	sites  map[int64]int
	hellos map[[32]byte]bool
	locals map[netip.AddrPort]int
	// nLocals is len(locals), read without mu so that the listener pays
	// nothing while nothing is passed through.
	nLocals atomic.Int64

	// Refusals at a cap are logged at most every capLogEvery, with the
	// count since the last line.
	warned  atomic.Int64 // when the last line was logged, in Unix nanoseconds
	refused atomic.Int64
}

// capLogEvery bounds how often refusals at a cap are logged.
const capLogEvery = 10 * time.Second

// tcpAddrPort returns a's address and port when it is a TCP address, an
// IPv4-mapped address as the IPv4 one.
func tcpAddrPort(a net.Addr) (netip.AddrPort, bool) {
	ta, ok := a.(*net.TCPAddr)
	if !ok || ta == nil {
		return netip.AddrPort{}, false
	}
	ap := ta.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// own reports whether a connection from remote is one of the edge's own
// pass-throughs to an origin.
func (g *passGuard) own(remote net.Addr) bool {
	if g.nLocals.Load() == 0 {
		return false
	}
	ap, ok := tcpAddrPort(remote)
	if !ok {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.locals[ap] > 0
}

// dialed keeps local, the local address of a pass-through's connection to
// its origin, until release is called.
func (g *passGuard) dialed(local net.Addr) (release func()) {
	ap, ok := tcpAddrPort(local)
	if !ok {
		return func() {}
	}
	g.mu.Lock()
	if g.locals == nil {
		g.locals = map[netip.AddrPort]int{}
	}
	g.locals[ap]++
	g.nLocals.Store(int64(len(g.locals)))
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		if g.locals[ap]--; g.locals[ap] <= 0 {
			delete(g.locals, ap)
		}
		g.nLocals.Store(int64(len(g.locals)))
		g.mu.Unlock()
	}
}

// admit takes a slot for a pass-through of a connection from remote for
// site, whose hello's random is random (nil when unknown), under the caps
// maxAll and maxSite. It returns release, to call when the pass-through
// ends, or why it is refused: byAddress or byHello for a loop, capEdge or
// capSite at a cap (then release is nil).
func (g *passGuard) admit(remote net.Addr, random *[32]byte, site int64, maxAll, maxSite int) (release func(), refused string) {
	ap, apOK := tcpAddrPort(remote)
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case apOK && g.locals[ap] > 0:
		return nil, byAddress
	case random != nil && g.hellos[*random]:
		return nil, byHello
	case g.total >= maxAll:
		return nil, capEdge
	case g.sites[site] >= maxSite:
		return nil, capSite
	}
	if g.sites == nil {
		g.sites, g.hellos = map[int64]int{}, map[[32]byte]bool{}
	}
	g.total++
	g.sites[site]++
	if random != nil {
		g.hellos[*random] = true
	}
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.total--
		if g.sites[site]--; g.sites[site] <= 0 {
			delete(g.sites, site)
		}
		if random != nil {
			delete(g.hellos, *random)
		}
	}, ""
}

// full counts a refusal at a cap, and reports whether to log it now (and
// the refusals since the last line logged) or not yet.
func (g *passGuard) full() (log bool, count int64) {
	g.refused.Add(1)
	now, last := time.Now().UnixNano(), g.warned.Load()
	if last != 0 && now-last < int64(capLogEvery) || !g.warned.CompareAndSwap(last, now) {
		return false, 0
	}
	return true, g.refused.Swap(0)
}

// helloRandom returns the random of the ClientHello that read begins with
// (TLS records of the handshake type, as a client sends them), or nil when
// read does not hold it.
func helloRandom(read []byte) *[32]byte {
	// The handshake message: its type (1 byte), length (3), the legacy
	// version (2), then the random (32), over as many records as it takes
	// (one, from every client seen).
	var msg [38]byte
	have := 0
	for have < len(msg) && len(read) >= 5 {
		if read[0] != 22 { // handshake
			return nil
		}
		n := int(read[3])<<8 | int(read[4])
		body := read[5:]
		if len(body) > n {
			body = body[:n]
		}
		have += copy(msg[have:], body)
		read = read[5+len(body):]
	}
	if have < len(msg) || msg[0] != 1 { // client_hello
		return nil
	}
	r := [32]byte(msg[6:38])
	return &r
}

// maxPasses and maxSitePasses are the caps in force.
func (e *Edge) maxPasses() int {
	if e.MaxPassthroughs > 0 {
		return e.MaxPassthroughs
	}
	return maxPasses
}

func (e *Edge) maxSitePasses() int {
	if e.MaxSitePassthroughs > 0 {
		return e.MaxSitePassthroughs
	}
	return maxSitePasses
}
