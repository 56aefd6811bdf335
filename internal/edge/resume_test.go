package edge

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/ticketkey"
)

// memKeys is a ticketkey.Store in memory.
type memKeys struct {
	mu   sync.Mutex
	keys []ticketkey.Sealed // newest first
}

func (m *memKeys) TicketKeys(context.Context) ([]ticketkey.Sealed, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]ticketkey.Sealed(nil), m.keys...), nil
}

func (m *memKeys) AddTicketKey(_ context.Context, k ticketkey.Sealed) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var newest int64
	if len(m.keys) > 0 {
		newest = m.keys[0].ID
	}
	if newest != k.ID-1 {
		return false, nil
	}
	m.keys = append([]ticketkey.Sealed{k}, m.keys...)
	if len(m.keys) > 3 {
		m.keys = m.keys[:3]
	}
	return true, nil
}

// resumeWorld is an edge with tickets on, its keys on a clock the test
// moves, serving www.example.com (site 1) from memory.
type resumeWorld struct {
	f     *fixture
	src   *memSource
	e     *Edge
	addr  string
	keys  *ticketkey.Keeper
	clock time.Time
	mu    sync.Mutex
	st    SiteState
}

// ticketkeyKeeper is a keeper on keys in memory, synced once.
type ticketkeyKeeper struct{ k *ticketkey.Keeper }

func (kk *ticketkeyKeeper) init(tb testing.TB, f *fixture) {
	kk.k = &ticketkey.Keeper{Store: &memKeys{}, Sealer: f.sealer, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := kk.k.Sync(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

func newResumeWorld(t *testing.T) *resumeWorld { return newResumeWorldWith(t, nil) }

// newResumeWorldWith is newResumeWorld with the edge changed by configure
// before it starts.
func newResumeWorldWith(t *testing.T, configure func(*Edge)) *resumeWorld {
	w := &resumeWorld{f: newFixture(t), src: newMemSource(), clock: now}
	c, _ := w.f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.example.com")
	w.st = siteState(1, "example.com", site.SiteActive, c)
	w.src.put(w.st)
	w.keys = &ticketkey.Keeper{Store: &memKeys{}, Sealer: w.f.sealer, Period: time.Hour, Now: w.now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := w.keys.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := &Edge{Source: w.src, Sealer: w.f.sealer, Poll: time.Hour, Tickets: w.keys}
	if configure != nil {
		configure(e)
	}
	w.e, w.addr = serveEdge(t, e)
	return w
}

func (w *resumeWorld) now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.clock
}

// rotate moves the clock by the period and lets the keeper rotate: it
// makes the next key, which seals once past its grace (a minute covers it).
func (w *resumeWorld) rotate(t *testing.T) {
	for _, d := range []time.Duration{time.Hour, time.Minute} {
		w.mu.Lock()
		w.clock = w.clock.Add(d)
		w.mu.Unlock()
		if err := w.keys.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// apply puts the site's state and applies it to the edge.
func (w *resumeWorld) apply() {
	w.src.put(w.st)
	w.e.Refresh(context.Background())
}

// visit connects to addr for name with cfg's session cache, sends a request
// (so that a TLS 1.3 ticket arrives) and reports whether the session was
// resumed and the leaf served.
func visit(t testing.TB, addr, name string, cfg *tls.Config) (resumed bool, leaf []byte, err error) {
	t.Helper()
	cs, err := visitState(addr, name, cfg)
	if err != nil {
		return false, nil, err
	}
	return cs.DidResume, cs.PeerCertificates[0].Raw, nil
}

// visitState is visit, returning the connection's state.
func visitState(addr, name string, cfg *tls.Config) (tls.ConnectionState, error) {
	c := cfg.Clone()
	c.ServerName, c.InsecureSkipVerify = name, true
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, c)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: "+name+"\r\nConnection: close\r\n\r\n"); err != nil {
		return tls.ConnectionState{}, err
	}
	if _, err := io.ReadAll(conn); err != nil {
		return tls.ConnectionState{}, err
	}
	return conn.ConnectionState(), nil
}

func clientConfig(version uint16) *tls.Config {
	return &tls.Config{MinVersion: version, MaxVersion: version, ClientSessionCache: tls.NewLRUClientSessionCache(8)}
}

// TestResumption: with tickets on, a visitor resumes its session (TLS 1.3
// and 1.2) while nothing changed; a session never outlives its
// certificate's deletion or replacement, nor HTTPS turned off for its
// host, nor its name taken out of the SNI allowlist, nor its TLS version
// disallowed: those handshakes are full ones (or
// fail, as a new visitor's would).
func TestResumption(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			w := newResumeWorld(t)
			cfg := clientConfig(v)
			mustVisit := func(want bool) []byte {
				t.Helper()
				resumed, leaf, err := visit(t, w.addr, "www.example.com", cfg)
				if err != nil || resumed != want {
					t.Fatalf("resumed %v, %v; want resumed %v", resumed, err, want)
				}
				return leaf
			}
			first := mustVisit(false)
			if leaf := mustVisit(true); !bytes.Equal(leaf, first) {
				t.Fatal("a resumed session shows another certificate")
			}
			mustVisit(true)

			// Replaced: the same id, another certificate.
			replaced, rleaf := w.f.certificate("ecdsa-p256", now.Add(90*24*time.Hour), "www.example.com")
			replaced.ID = w.st.Certificates[0].ID
			var err error
			if replaced.SealedKey, err = cert.SealKey(w.f.sealer, replaced.ID, []byte(rleaf.KeyPEM)); err != nil {
				t.Fatal(err)
			}
			old := w.st.Certificates
			w.st.Certificates = []cert.Certificate{replaced}
			w.apply()
			if leaf := mustVisit(false); bytes.Equal(leaf, first) {
				t.Fatal("the replaced certificate is still served")
			}
			mustVisit(true)

			// Another certificate for the name, preferred (a later NotAfter):
			// the session of the one it displaces does not resume.
			better, _ := w.f.certificate("ecdsa-p256", now.Add(120*24*time.Hour), "www.example.com")
			w.st.Certificates = append(w.st.Certificates, better)
			w.apply()
			mustVisit(false)
			mustVisit(true)

			// Deleted: no certificate left for the name.
			w.st.Certificates = nil
			w.apply()
			if resumed, _, err := visit(t, w.addr, "www.example.com", cfg); err == nil || resumed {
				t.Fatalf("after the deletion: resumed %v, %v; want a failed handshake", resumed, err)
			}
			w.st.Certificates = old
			w.apply()
			mustVisit(false)
			mustVisit(true)

			// HTTPS off for the host.
			off := DefaultHostPolicy()
			off.HTTPS = false
			w.st.Policy.Hosts = map[string]HostPolicy{"www.example.com": off}
			w.apply()
			if resumed, _, err := visit(t, w.addr, "www.example.com", cfg); err == nil || resumed {
				t.Fatalf("with HTTPS off: resumed %v, %v; want a failed handshake", resumed, err)
			}
			w.st.Policy.Hosts = nil
			w.apply()
			mustVisit(false)
			mustVisit(true)

			// The name left out of the host's SNI allowlist.
			allow := DefaultHostPolicy()
			allow.SNIAllow = []string{"api.example.com"}
			w.st.Policy.Hosts = map[string]HostPolicy{"www.example.com": allow}
			w.apply()
			if resumed, _, err := visit(t, w.addr, "www.example.com", cfg); err == nil || resumed {
				t.Fatalf("with the name out of the SNI allowlist: resumed %v, %v; want a failed handshake", resumed, err)
			}
			w.st.Policy.Hosts = nil
			w.apply()
			mustVisit(false)
			mustVisit(true)

			// The session's version disallowed: a visitor that also speaks
			// another version gets a full handshake in it.
			other := uint16(tls.VersionTLS12)
			if v == tls.VersionTLS12 {
				other = tls.VersionTLS13
			}
			only := DefaultHostPolicy()
			only.MinVersion, only.MaxVersion = other, other
			w.st.Policy.Hosts = map[string]HostPolicy{"www.example.com": only}
			w.apply()
			both := cfg.Clone()
			both.MinVersion, both.MaxVersion = tls.VersionTLS12, tls.VersionTLS13
			if resumed, _, err := visit(t, w.addr, "www.example.com", both); err != nil || resumed {
				t.Fatalf("with %s disallowed: resumed %v, %v; want a full handshake", tls.VersionName(v), resumed, err)
			}
		})
	}
}

// TestResumptionAcrossRotations: a ticket sealed by the key before the
// current one still resumes; one sealed two keys ago does not.
func TestResumptionAcrossRotations(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			w := newResumeWorld(t)
			a, b := clientConfig(v), clientConfig(v)
			for _, c := range []*tls.Config{a, b} {
				if resumed, _, err := visit(t, w.addr, "www.example.com", c); err != nil || resumed {
					t.Fatalf("first visit: resumed %v, %v", resumed, err)
				}
			}
			w.rotate(t)
			if resumed, _, err := visit(t, w.addr, "www.example.com", a); err != nil || !resumed {
				t.Fatalf("after one rotation: resumed %v, %v; want a resumption", resumed, err)
			}
			w.rotate(t)
			if resumed, _, err := visit(t, w.addr, "www.example.com", b); err != nil || resumed {
				t.Fatalf("after two rotations: resumed %v, %v; want a full handshake", resumed, err)
			}
			// a's ticket was re-issued under the key it resumed with the
			// rotation after: it resumes again.
			if resumed, _, err := visit(t, w.addr, "www.example.com", a); err != nil || !resumed {
				t.Fatalf("a session re-issued a ticket: resumed %v, %v; want a resumption", resumed, err)
			}
		})
	}
}

// TestResumptionWithoutTickets: an edge without ticket keys never resumes.
func TestResumptionWithoutTickets(t *testing.T) {
	f := newFixture(t)
	src := newMemSource()
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.example.com")
	src.put(siteState(1, "example.com", site.SiteActive, c))
	_, addr := startEdge(t, src, f.sealer)
	cfg := clientConfig(tls.VersionTLS13)
	for i := range 2 {
		if resumed, _, err := visit(t, addr, "www.example.com", cfg); err != nil || resumed {
			t.Fatalf("visit %d: resumed %v, %v; want a full handshake", i, resumed, err)
		}
	}
}

// TestResumptionClientCertificates: on a host asking for client
// certificates, a session resumes while its client certificate is
// accepted, and fails once it is revoked (crypto/tls runs VerifyConnection
// on resumed handshakes).
func TestResumptionClientCertificates(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			w := newResumeWorld(t)
			mt := newMTLSWorld(t) // for its client CA
			issued, pair := clientLeaf(t, mt.issuer, "visitor")
			ca := ClientCA{ID: "issuer", Certs: [][]byte{mt.issuer.Cert.Raw}, Hostnames: []string{"www.example.com"},
				Issued: true, Active: []string{fp(issued.Cert.Raw)}}
			w.st.ClientCAs = []ClientCA{ca}
			w.apply()
			cfg := clientConfig(v)
			cfg.Certificates = []tls.Certificate{pair}
			if resumed, _, err := visit(t, w.addr, "www.example.com", cfg); err != nil || resumed {
				t.Fatalf("first visit: resumed %v, %v", resumed, err)
			}
			if resumed, _, err := visit(t, w.addr, "www.example.com", cfg); err != nil || !resumed {
				t.Fatalf("second visit: resumed %v, %v; want a resumption", resumed, err)
			}
			// A session without a client certificate does not resume once
			// the host asks for one.
			plain := clientConfig(v)
			w.st.ClientCAs = nil
			w.apply()
			if resumed, _, err := visit(t, w.addr, "www.example.com", plain); err != nil || resumed {
				t.Fatalf("visit without a certificate: resumed %v, %v", resumed, err)
			}
			w.st.ClientCAs = []ClientCA{ca}
			w.apply()
			if resumed, _, err := visit(t, w.addr, "www.example.com", plain); err == nil || resumed {
				t.Fatalf("a session without a client certificate on a host asking for one: resumed %v, %v", resumed, err)
			}
			ca.Active = nil
			w.st.ClientCAs = []ClientCA{ca}
			w.apply()
			if resumed, _, err := visit(t, w.addr, "www.example.com", cfg); err == nil {
				t.Fatalf("a resumed session of a revoked certificate was accepted (resumed %v)", resumed)
			}
		})
	}
}

// ticketLog is a client session cache that keeps the tickets it is given.
type ticketLog struct {
	tls.ClientSessionCache
	tickets [][]byte
}

func (l *ticketLog) Put(key string, cs *tls.ClientSessionState) {
	if cs != nil {
		if ticket, _, err := cs.ResumptionState(); err == nil {
			l.tickets = append(l.tickets, bytes.Clone(ticket))
		}
	}
	l.ClientSessionCache.Put(key, cs)
}

// TestResumptionTLS12Reseal: a resumed TLS 1.2 session gets a new ticket
// each time, under the current key (also after a rotation), which carries
// the session as the first ticket did; and it keeps resuming. A session
// that is not resumed gets a ticket for the session it makes.
func TestResumptionTLS12Reseal(t *testing.T) {
	w := newResumeWorld(t)
	log := &ticketLog{ClientSessionCache: tls.NewLRUClientSessionCache(8)}
	cfg := clientConfig(tls.VersionTLS12)
	cfg.ClientSessionCache = log
	visitN := func(want bool) []byte {
		t.Helper()
		n := len(log.tickets)
		if resumed, _, err := visit(t, w.addr, "www.example.com", cfg); err != nil || resumed != want {
			t.Fatalf("resumed %v, %v; want resumed %v", resumed, err, want)
		}
		if len(log.tickets) != n+1 {
			t.Fatalf("%d new tickets, want 1", len(log.tickets)-n)
		}
		return log.tickets[n]
	}
	open := func(ticket []byte) []byte {
		t.Helper()
		plain, ok := w.keys.Keys().Open(ticket)
		if !ok {
			t.Fatal("a ticket the edge issued does not open")
		}
		if id := int64(binary.BigEndian.Uint64(ticket)); id != w.keys.Keys().Current().ID {
			t.Fatalf("a ticket sealed by key %d, want the current key %d", id, w.keys.Keys().Current().ID)
		}
		return plain
	}
	first := visitN(false)
	session := open(first)
	prev := first
	for i := range 3 {
		if i == 2 {
			w.rotate(t)
		}
		next := visitN(true)
		if bytes.Equal(next, prev) {
			t.Fatal("a resumed session got the ticket it came with: visits could be linked")
		}
		if !bytes.Equal(open(next), session) {
			t.Fatalf("visit %d: the new ticket carries another session than the one resumed", i+2)
		}
		prev = next
	}

	// A visitor without a session gets a ticket of its own session.
	other := clientConfig(tls.VersionTLS12)
	olog := &ticketLog{ClientSessionCache: tls.NewLRUClientSessionCache(8)}
	other.ClientSessionCache = olog
	if resumed, _, err := visit(t, w.addr, "www.example.com", other); err != nil || resumed || len(olog.tickets) != 1 {
		t.Fatalf("another visitor: resumed %v, %v, %d tickets", resumed, err, len(olog.tickets))
	}
	if bytes.Equal(open(olog.tickets[0]), session) {
		t.Fatal("another visitor's session is the first one's")
	}
}

// TestWrapSessionReseal: the ticket of a resumed TLS 1.2 session seals
// the bytes its ticket carried; a TLS 1.3 one (whose next session has a
// secret of its own) is encoded anew.
func TestWrapSessionReseal(t *testing.T) {
	w := newResumeWorld(t)
	carried := []byte("the session as its ticket carried it")
	b := &binding{name: "www.example.com", id: "c1"}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		h := &handshakeTickets{resumed: b, resumedPlain: carried}
		ss := &tls.SessionState{}
		ticket, err := w.e.wrapSession(h, tls.ConnectionState{Version: v, DidResume: true}, ss)
		if err != nil {
			t.Fatal(err)
		}
		plain, ok := w.keys.Keys().Open(ticket)
		if !ok {
			t.Fatalf("%s: the ticket does not open", tls.VersionName(v))
		}
		if resealed := bytes.Equal(plain, carried); resealed != (v == tls.VersionTLS12) {
			t.Fatalf("%s: sealed the carried bytes again: %v", tls.VersionName(v), resealed)
		}
	}
}
