package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// client is how the load generator connects: the TLS settings every
// connection starts from (no certificate check: the harness checks which
// certificate it got where that matters, and a chain check would only add
// client CPU on the same cores).
type client struct {
	curves []tls.CurveID // nil: Go's defaults (X25519MLKEM768 first, as browsers offer it)
}

func (c client) config(name string, version uint16, cache tls.ClientSessionCache) *tls.Config {
	return &tls.Config{ServerName: name, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12, MaxVersion: version,
		CurvePreferences: c.curves, ClientSessionCache: cache}
}

// visit makes one connection to addr for cfg.ServerName: the handshake,
// then, when get, a GET / whose answer it reads whole; and closes it. It
// returns the connection's state.
func visit(addr string, cfg *tls.Config, get bool) (tls.ConnectionState, error) {
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	conn := tls.Client(raw, cfg)
	if err := conn.Handshake(); err != nil {
		return tls.ConnectionState{}, err
	}
	if get {
		if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: "+cfg.ServerName+"\r\nConnection: close\r\n\r\n"); err != nil {
			return tls.ConnectionState{}, err
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return tls.ConnectionState{}, fmt.Errorf("GET: %w", err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return tls.ConnectionState{}, fmt.Errorf("GET: %w", err)
		}
		if resp.StatusCode >= 500 {
			return tls.ConnectionState{}, fmt.Errorf("GET: %s", resp.Status)
		}
	}
	return conn.ConnectionState(), nil
}

// served reports whether addr serves name's certificate (a handshake only).
func (c client) served(addr, name string) bool {
	raw, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return false
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(3 * time.Second))
	conn := tls.Client(raw, c.config(name, tls.VersionTLS13, nil))
	if conn.Handshake() != nil {
		return false
	}
	certs := conn.ConnectionState().PeerCertificates
	return len(certs) > 0 && slices.Contains(certs[0].DNSNames, name)
}

// sample is up to k of names, spread evenly, the first and the last among
// them.
func sample(names []string, k int) []string {
	if len(names) <= k {
		return slices.Clone(names)
	}
	out := make([]string, 0, k)
	for i := range k {
		out = append(out, names[i*(len(names)-1)/(k-1)])
	}
	return out
}

// waitReady polls addr until each of names has been served its own
// certificate, and returns when the last was; it gives up when alive says
// the server stopped or at deadline.
func (c client) waitReady(addr string, names []string, alive func() error, deadline time.Time) (time.Time, error) {
	pending := slices.Clone(names)
	for {
		pending = slices.DeleteFunc(pending, func(n string) bool { return c.served(addr, n) })
		now := time.Now()
		if len(pending) == 0 {
			return now, nil
		}
		if err := alive(); err != nil {
			return now, err
		}
		if now.After(deadline) {
			return now, fmt.Errorf("%d of %d sampled names not served yet, e.g. %s", len(pending), len(names), pending[0])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// result is what one measurement counted.
type result struct {
	Conns    int           // connections completed
	Resumed  int           // of which resumed
	Errors   int           // connections that failed
	FirstErr error         // the first failure
	Elapsed  time.Duration // wall time
	CPU      time.Duration // the server's CPU time meanwhile
}

func (r result) rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Conns) / r.Elapsed.Seconds()
}

// cpuPer is the server's CPU time per connection.
func (r result) cpuPer() time.Duration {
	if r.Conns == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Conns)
}

// tally collects the workers' counts.
type tally struct {
	conns, resumed, errors atomic.Int64
	mu                     sync.Mutex
	first                  error
}

func (t *tally) add(cs tls.ConnectionState, err error) {
	if err != nil {
		if t.errors.Add(1) == 1 {
			t.mu.Lock()
			t.first = err
			t.mu.Unlock()
		}
		return
	}
	t.conns.Add(1)
	if cs.DidResume {
		t.resumed.Add(1)
	}
}

func (t *tally) result(elapsed, cpu time.Duration) result {
	t.mu.Lock()
	defer t.mu.Unlock()
	return result{Conns: int(t.conns.Load()), Resumed: int(t.resumed.Load()), Errors: int(t.errors.Load()),
		FirstErr: t.first, Elapsed: elapsed, CPU: cpu}
}

// order is the names in a random order, shared by the workers of a run: the
// next name is order[next % len].
type order struct {
	names []string
	next  atomic.Int64
}

func newOrder(names []string, seed uint64) *order {
	o := &order{names: slices.Clone(names)}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	r.Shuffle(len(o.names), func(i, j int) { o.names[i], o.names[j] = o.names[j], o.names[i] })
	return o
}

func (o *order) take() (string, int64) {
	i := o.next.Add(1) - 1
	return o.names[i%int64(len(o.names))], i
}

// full runs clients workers for d, each making new connections with full
// TLS 1.3 handshakes and a GET, to names taken in o's order (spread over
// all of them), and counts them. cpu reads the server's CPU time.
func (c client) full(addr string, o *order, clients int, d time.Duration, cpu func() time.Duration) result {
	var t tally
	cpu0, start := cpu(), time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				name, _ := o.take()
				t.add(visit(addr, c.config(name, tls.VersionTLS13, nil), true))
			}
		}()
	}
	wg.Wait()
	return t.result(time.Since(start), cpu()-cpu0)
}

// rest makes a handshake (TLS 1.3, no GET) with each name o has not given
// out yet, clients at a time: afterwards the server has served every name
// once. It returns how many it made.
func (c client) rest(addr string, o *order, clients int) result {
	var t tally
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				name, i := o.take()
				if i >= int64(len(o.names)) {
					return
				}
				t.add(visit(addr, c.config(name, tls.VersionTLS13, nil), false))
			}
		}()
	}
	wg.Wait()
	return t.result(time.Since(start), 0)
}

// resumed runs clients workers, each with a session cache of its own and
// its share of names: first one full handshake (and GET) per name, to get
// a ticket, untimed; then, for d, new connections with resumed handshakes
// of version and a GET, going round its names. It counts the connections
// and how many did resume. cpu is the server's CPU time so far.
func (c client) resumed(addr string, names []string, version uint16, clients int, d time.Duration, cpu func() time.Duration) (result, error) {
	r, err := c.primeResumed(addr, names, version, clients)
	if err != nil {
		return result{}, err
	}
	return r.run(d, cpu), nil
}

// resumer is clients holding a session for each of their names on one
// server, ready to resume them (client.primeResumed).
type resumer struct {
	c       client
	addr    string
	version uint16
	shares  [][]string
	caches  []tls.ClientSessionCache
}

// primeResumed makes the first, full, handshake of each of names, shared
// among clients, each client keeping its sessions.
func (c client) primeResumed(addr string, names []string, version uint16, clients int) (*resumer, error) {
	r := &resumer{c: c, addr: addr, version: version, shares: make([][]string, clients), caches: make([]tls.ClientSessionCache, clients)}
	for i, n := range names {
		r.shares[i%clients] = append(r.shares[i%clients], n)
	}
	for w, share := range r.shares {
		r.caches[w] = tls.NewLRUClientSessionCache(len(share) + 1)
		for _, n := range share {
			if _, err := visit(addr, c.config(n, version, r.caches[w]), true); err != nil {
				return nil, fmt.Errorf("first %s connection to %s: %w", tls.VersionName(version), n, err)
			}
		}
	}
	return r, nil
}

// run resumes the clients' sessions, round their names, for d.
func (r *resumer) run(d time.Duration, cpu func() time.Duration) result {
	var t tally
	cpu0, start := cpu(), time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w, share := range r.shares {
		if len(share) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				n := share[i%len(share)]
				t.add(visit(r.addr, r.c.config(n, r.version, r.caches[w]), true))
			}
		}()
	}
	wg.Wait()
	return t.result(time.Since(start), cpu()-cpu0)
}
