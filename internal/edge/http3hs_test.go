package edge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/esacert/esacert/internal/httpsconf"
	"github.com/esacert/esacert/internal/site"
)

// deafConn is a UDP socket that sends but never hears an answer: a QUIC
// client on it sends its ClientHello and is never heard from again.
type deafConn struct{ net.PacketConn }

func (c deafConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		if _, _, err := c.PacketConn.ReadFrom(p); err != nil {
			return 0, nil, err
		}
	}
}

// TestHTTP3HandshakeOutcomes: every QUIC handshake of the HTTP/3 listener
// is told to the HandshakeObserver as a TLS handshake is, with the QUIC
// transport, through quic-go's client: served (and only once, however many
// requests the connection carries); a name no site serves and a host with
// Http3 off (unknown_name); a client that does not trust the certificate
// (its alert); a client that offers no h3 (protocol); a client that goes
// silent mid-handshake (closed, at the handshake timeout). None of them is
// counted as a TCP handshake.
func TestHTTP3HandshakeOutcomes(t *testing.T) {
	f := newFixture(t)
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.com")
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer origin.Close()
	originAddr := strings.TrimPrefix(origin.URL, "http://")
	st := siteState(1, "example.com", site.SiteActive, c)
	st.Policy = sitePolicy(sitePolicies([]httpsconf.HTTPSConfig{
		httpsconf.HTTPSBasic{ConfigID: 1, SiteID: 1, ConfigType: httpsconf.ConfigGlobal, Http3: "on"}.Config(),
		httpsconf.HTTPSBasic{ConfigID: 2, SiteID: 1, ConfigType: httpsconf.ConfigRule, Rule: `(http.host eq "tcp.example.com")`,
			RuleEnable: "on", Sequence: 2, Http3: "off"}.Config(),
	}), 1)
	st.Routes = []Route{{Name: "www.example.com", Origin: originAddr}, {Name: "tcp.example.com", Origin: originAddr}}
	src := newMemSource()
	src.put(st)
	obs := &handshakes{}
	_, _, udp := h3Edge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, Handshakes: obs, HandshakeTimeout: time.Second})
	roots := x509.NewCertPool()
	roots.AddCert(f.ca.Cert)
	roots.AddCert(f.inter.Cert)
	dial := func(host string, cfg *tls.Config) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cfg.ServerName = host
		conn, err := quic.DialAddr(ctx, udp, cfg, &quic.Config{HandshakeIdleTimeout: 30 * time.Second})
		if err == nil {
			conn.CloseWithError(0, "")
		}
		return err
	}

	t.Run("served", func(t *testing.T) {
		tr := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: roots},
			Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
				return quic.DialAddr(ctx, udp, tlsCfg, cfg)
			}}
		defer tr.Close()
		for range 3 { // one connection, three requests
			resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Get("https://www.example.com/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		if got := obs.wait("quic/served", 1); got != 1 {
			t.Errorf("served over QUIC: told %d times, want 1", got)
		}
	})
	t.Run("unknown_name", func(t *testing.T) {
		for _, host := range []string{"www.example.net", "tcp.example.com"} {
			if err := dial(host, &tls.Config{RootCAs: roots, NextProtos: []string{http3.NextProtoH3}}); !isHandshakeRefusal(err) {
				t.Errorf("%s: %v, want a refused handshake", host, err)
			}
		}
		if got := obs.wait("quic/unknown_name", 2); got != 2 {
			t.Errorf("unknown_name over QUIC: told %d times, want 2", got)
		}
	})
	t.Run("alert", func(t *testing.T) {
		if err := dial("www.example.com", &tls.Config{NextProtos: []string{http3.NextProtoH3}}); err == nil {
			t.Fatal("a client trusting no CA completed the handshake")
		}
		if got := obs.wait("quic/alert", 1); got != 1 {
			t.Errorf("alert over QUIC: told %d times, want 1", got)
		}
	})
	t.Run("protocol", func(t *testing.T) {
		if err := dial("www.example.com", &tls.Config{RootCAs: roots, NextProtos: []string{"not-h3"}}); err == nil {
			t.Fatal("a client without h3 completed the handshake")
		}
		if got := obs.wait("quic/protocol", 1); got != 1 {
			t.Errorf("protocol over QUIC: told %d times, want 1 (%v)", got, obs.seen)
		}
	})
	t.Run("closed", func(t *testing.T) {
		t.Setenv("QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING", "true") // deafConn is no *net.UDPConn
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		tr := &quic.Transport{Conn: deafConn{pc}}
		defer tr.Close()
		defer pc.Close()
		ua, _ := net.ResolveUDPAddr("udp", udp)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if _, err := tr.Dial(ctx, ua, &tls.Config{RootCAs: roots, ServerName: "www.example.com", NextProtos: []string{http3.NextProtoH3}},
			&quic.Config{}); err == nil {
			t.Fatal("a client that hears nothing completed the handshake")
		}
		if got := obs.wait("quic/closed", 1); got != 1 {
			t.Errorf("closed over QUIC: told %d times, want 1", got)
		}
	})
	obs.mu.Lock()
	defer obs.mu.Unlock()
	for outcome, n := range obs.seen {
		if !strings.HasPrefix(outcome, "quic/") {
			t.Errorf("told %d TCP handshakes (%s), want none", n, outcome)
		}
	}
	if n := obs.seen["quic/served"]; n != 1 {
		t.Errorf("served over QUIC: told %d times in all, want 1", n)
	}
}
