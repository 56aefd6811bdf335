// Package acmetest runs a real ACME CA in the test's process: Let's
// Encrypt's Pebble, with a DNS server of its own that points every name at
// the loopback edge under test, so that challenges are really validated.
package acmetest

import (
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"
)

// DNS starts a DNS server that answers A queries, over UDP and TCP: 127.0.0.2 for names
// starting with "elsewhere." (nothing listens there), 127.0.0.1 for every
// other name, so Pebble's validation authority reaches the edge under test.
func DNS(t testing.TB) string {
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
			if qq.Qtype != dns.TypeA {
				continue
			}
			ip := net.ParseIP("127.0.0.1")
			if strings.HasPrefix(qq.Name, "elsewhere.") {
				ip = net.ParseIP("127.0.0.2")
			}
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: qq.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1}, A: ip})
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

// FreePort returns a loopback port nothing listens on (yet).
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Pebble runs Pebble in this process, validating HTTP-01 on httpPort of
// whatever the test DNS answers. down, while true, makes the CA unreachable
// (its directory answers 503). It returns the directory URL and a file with
// the root to trust for Pebble's HTTPS.
func Pebble(t testing.TB, httpPort int, down *atomic.Bool) (directory, rootsFile string) {
	t.Helper()
	return PebbleTLS(t, httpPort, FreePort(t), down)
}

// PebbleTLS is Pebble validating TLS-ALPN-01 on tlsPort as well.
func PebbleTLS(t testing.TB, httpPort, tlsPort int, down *atomic.Bool) (directory, rootsFile string) {
	t.Helper()
	return PebbleEAB(t, httpPort, tlsPort, down, nil)
}

// PebbleEAB is Pebble requiring external account binding with one of eab
// (key id to base64url HMAC key) when eab is not empty.
func PebbleEAB(t testing.TB, httpPort, tlsPort int, down *atomic.Bool, eab map[string]string) (directory, rootsFile string) {
	t.Helper()
	os.Setenv("PEBBLE_VA_NOSLEEP", "1") // the validation authority answers at once
	logger := log.New(io.Discard, "", 0)
	store := db.NewMemoryStore()
	for kid, key := range eab {
		if err := store.AddExternalAccountKeyByID(kid, key); err != nil {
			t.Fatal(err)
		}
	}
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "default"}})
	validator := va.New(logger, httpPort, tlsPort, false, DNS(t), store)
	front := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, len(eab) > 0, 1, 1)
	handler := front.Handler()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	roots := filepath.Join(t.TempDir(), "pebble-roots.pem")
	if err := os.WriteFile(roots, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv.URL + wfe.DirectoryPath, roots
}
