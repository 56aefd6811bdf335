// Package acmetest runs a real ACME CA in the test's process: Let's
// Encrypt's Pebble, with a DNS server of its own that points every name at
// the loopback edge under test, so that challenges are really validated.
package acmetest

import (
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"

	"github.com/esacert/esacert/internal/freeport"
)

// Zone holds the TXT records the test DNS server answers, as a DNS-01
// provider would publish them.
type Zone struct {
	mu  sync.Mutex
	txt map[string][]string // by lower-case FQDN with the final dot
}

// SetTXT adds a TXT value at fqdn.
func (z *Zone) SetTXT(fqdn, value string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.txt == nil {
		z.txt = map[string][]string{}
	}
	k := dns.Fqdn(strings.ToLower(fqdn))
	z.txt[k] = append(z.txt[k], value)
}

// DeleteTXT removes a TXT value at fqdn.
func (z *Zone) DeleteTXT(fqdn, value string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	k := dns.Fqdn(strings.ToLower(fqdn))
	z.txt[k] = slices.DeleteFunc(z.txt[k], func(v string) bool { return v == value })
}

// TXT returns the TXT values at fqdn.
func (z *Zone) TXT(fqdn string) []string { return z.lookup(dns.Fqdn(fqdn)) }

func (z *Zone) lookup(fqdn string) []string {
	if z == nil {
		return nil
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	return slices.Clone(z.txt[strings.ToLower(fqdn)])
}

// HTTPReq serves lego's httpreq DNS provider protocol (POST /present and
// /cleanup with {"fqdn", "value"}) onto the zone, and returns its URL: set
// HTTPREQ_ENDPOINT to it.
func (z *Zone) HTTPReq(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct{ FQDN, Value string }
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&m) != nil || m.FQDN == "" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		switch r.URL.Path {
		case "/present":
			z.SetTXT(m.FQDN, m.Value)
		case "/cleanup":
			z.DeleteTXT(m.FQDN, m.Value)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// DNS starts a DNS server over UDP and TCP and returns its address. It
// answers A queries with 127.0.0.2 for names starting with "elsewhere."
// (nothing listens there) and 127.0.0.1 for every other name, so Pebble's
// validation authority reaches the edge under test; TXT queries from zone;
// and SOA queries for every two-label name, the apex of its zone.
func DNS(t testing.TB, zone *Zone) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, qq := range q.Question {
			hdr := dns.RR_Header{Name: qq.Name, Rrtype: qq.Qtype, Class: dns.ClassINET, Ttl: 1}
			switch qq.Qtype {
			case dns.TypeA:
				ip := net.ParseIP("127.0.0.1")
				if strings.HasPrefix(qq.Name, "elsewhere.") {
					ip = net.ParseIP("127.0.0.2")
				}
				m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: ip})
			case dns.TypeTXT:
				for _, v := range zone.lookup(qq.Name) {
					m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr, Txt: []string{v}})
				}
			case dns.TypeSOA:
				if dns.CountLabel(qq.Name) == 2 {
					m.Answer = append(m.Answer, &dns.SOA{Hdr: hdr, Ns: "ns." + qq.Name, Mbox: "hostmaster." + qq.Name,
						Serial: 1, Refresh: 60, Retry: 60, Expire: 60, Minttl: 1})
				}
			}
		}
		w.WriteMsg(m)
	})
	udp := &dns.Server{PacketConn: pc, Handler: handler}
	tcp := &dns.Server{Listener: ln, Handler: handler}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	t.Cleanup(func() { udp.Shutdown(); tcp.Shutdown() })
	return ln.Addr().String()
}

// FreePort returns a loopback port nothing listens on (yet), for a node
// to bind next (freeport: below the ephemeral range, so that no outgoing
// connection takes it meanwhile).
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := freeport.Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Options shape the in-process CA.
type Options struct {
	HTTPPort int               // where HTTP-01 is validated
	TLSPort  int               // where TLS-ALPN-01 is validated; 0 means nowhere useful
	Down     *atomic.Bool      // while true the CA is unreachable (503); may be nil
	EAB      map[string]string // when set, accounts must be bound with one of these (key id to base64url HMAC key)
	Zone     *Zone             // the TXT records DNS-01 is validated against; may be nil
}

// CA is a running in-process CA.
type CA struct {
	Directory string // the ACME directory URL
	Roots     string // a PEM file with the root to trust for the CA's HTTPS
	DNS       string // host:port of the DNS server its validation authority uses

	created *atomic.Int64
	store   *db.MemoryStore
}

// SetRenewalWindow makes the CA's ACME Renewal Information suggest renewing
// the certificate with serial between start and end.
func (c CA) SetRenewalWindow(serial *big.Int, start, end time.Time) error {
	body, err := json.Marshal(map[string]any{"suggestedWindow": map[string]time.Time{"start": start.UTC(), "end": end.UTC()}})
	if err != nil {
		return err
	}
	return c.store.SetARIResponse(serial, string(body))
}

// AccountsCreated is how many ACME accounts were created so far.
func (c CA) AccountsCreated() int { return int(c.created.Load()) }

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }

// Start runs Pebble in this process, its validation authority resolving
// every name through DNS.
func Start(t testing.TB, o Options) CA {
	t.Helper()
	os.Setenv("PEBBLE_VA_NOSLEEP", "1") // the validation authority answers at once
	if o.TLSPort == 0 {
		o.TLSPort = FreePort(t)
	}
	if o.Down == nil {
		o.Down = new(atomic.Bool)
	}
	logger := log.New(io.Discard, "", 0)
	store := db.NewMemoryStore()
	for kid, key := range o.EAB {
		if err := store.AddExternalAccountKeyByID(kid, key); err != nil {
			t.Fatal(err)
		}
	}
	dnsAddr := DNS(t, o.Zone)
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "default"}})
	validator := va.New(logger, o.HTTPPort, o.TLSPort, false, dnsAddr, store)
	front := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, len(o.EAB) > 0, 1, 1)
	handler := front.Handler()
	down, created := o.Down, new(atomic.Int64)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		handler.ServeHTTP(rec, r)
		if r.URL.Path == "/sign-me-up" && rec.status == http.StatusCreated {
			created.Add(1) // Pebble answers 201 for a new account, 200 for a known key
		}
	}))
	t.Cleanup(srv.Close)
	roots := filepath.Join(t.TempDir(), "pebble-roots.pem")
	if err := os.WriteFile(roots, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return CA{Directory: srv.URL + wfe.DirectoryPath, Roots: roots, DNS: dnsAddr, created: created, store: store}
}

// Pebble is Start validating HTTP-01 on httpPort; down, while true, makes
// the CA unreachable.
func Pebble(t testing.TB, httpPort int, down *atomic.Bool) (directory, rootsFile string) {
	t.Helper()
	c := Start(t, Options{HTTPPort: httpPort, Down: down})
	return c.Directory, c.Roots
}
