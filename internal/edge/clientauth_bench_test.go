package edge

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/site"
)

// BenchmarkHandshakeClientCert measures what asking for and verifying a
// client certificate adds to a full TLS 1.3 handshake (ECDSA P-256 server
// and client keys, no resumption): the same edge and site, one host
// without mutual TLS and one bound to the site's own client CA (with 1,000
// active certificates) and an uploaded one. Each iteration does one
// handshake of each kind, one after the other.
//
//	go test ./internal/edge -run '^$' -bench HandshakeClientCert -benchtime 2s
func BenchmarkHandshakeClientCert(b *testing.B) {
	f := newFixture(b)
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.com")
	issuer := pkitest.NewCA(b, "Bench Client CA", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	uploaded := pkitest.NewCA(b, "Bench Uploaded CA", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := issuer.Leaf(b, pkitest.LeafOptions{CommonName: "bench", ClientAuth: true, KeyType: "ecdsa-p256",
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)})
	pair, err := tls.X509KeyPair([]byte(leaf.CertPEM), []byte(leaf.KeyPEM))
	if err != nil {
		b.Fatal(err)
	}
	active := []string{fp(leaf.Cert.Raw)}
	for i := range 999 {
		active = append(active, fp([]byte{byte(i), byte(i >> 8)}))
	}
	st := siteState(1, "example.com", site.SiteActive, c)
	st.ClientCAs = []ClientCA{
		{ID: "issuer", Certs: [][]byte{issuer.Cert.Raw}, Hostnames: []string{"secure.example.com"}, Issued: true, Active: active},
		{ID: "upl", Certs: [][]byte{uploaded.Cert.Raw}, Hostnames: []string{"secure.example.com"}},
	}
	src := newMemSource()
	src.put(st)
	e, addr := startEdge(b, src, f.sealer)
	e.Refresh(context.Background())
	handshake := func(b *testing.B, host string, cert *tls.Certificate) time.Duration {
		cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13, ServerName: host}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		start := time.Now()
		conn, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			b.Fatal(err)
		}
		// The server's verdict on a TLS 1.3 client certificate comes after
		// the client's handshake ends: wait for an answer to a request, so
		// that both sides' work is counted.
		if _, err := conn.Write([]byte("GET /nothing HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Read(make([]byte, 1)); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		conn.Close()
		return took
	}
	// The two kinds alternate, so that the machine's load weighs on both
	// alike; each reports its mean time per handshake.
	var plain, mtls time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		plain += handshake(b, "www.example.com", nil)
		mtls += handshake(b, "secure.example.com", &pair)
	}
	b.ReportMetric(float64(plain.Microseconds())/float64(b.N), "µs/handshake-without-mtls")
	b.ReportMetric(float64(mtls.Microseconds())/float64(b.N), "µs/handshake-with-mtls")
	b.ReportMetric(float64(mtls-plain)/float64(plain)*100, "%-added-by-mtls")
}
