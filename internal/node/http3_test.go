package node

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/esacert/esacert/internal/pkitest"
)

// TestHTTP3Node: a node serves HTTP/3 on its HTTPS listener's port over
// UDP by default; a site with Http3 and AltSvc on is advertised there by
// Alt-Svc on its HTTPS answers and answered there by quic-go's HTTP/3
// client. With --http3-addr off, nothing listens over UDP and nothing is
// advertised. The QUIC handshake is counted in /metrics with
// transport="quic", not as a TCP one.
func TestHTTP3Node(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "origin over "+r.Header.Get("X-Forwarded-Proto"))
	}))
	defer origin.Close()
	now := time.Now()
	ca := pkitest.NewCA(t, "H3 Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"*.h3.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})

	for _, h3addr := range []string{"", "off"} {
		t.Run("http3_addr="+h3addr, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.HTTP3Addr = h3addr
			cfg.PrivateOrigins = "127.0.0.0/8"
			cfg.MetricsAddr = "127.0.0.1:0"
			n, err := Start(t.Context(), cfg, quiet)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { stop(t, n) })
			_, httpsPort, _ := net.SplitHostPort(n.HTTPSAddr())
			switch h3addr {
			case "":
				if _, p, _ := net.SplitHostPort(n.HTTP3Addr()); p != httpsPort {
					t.Fatalf("HTTP/3 on %q, want the HTTPS port %s", n.HTTP3Addr(), httpsPort)
				}
			case "off":
				if n.HTTP3Addr() != "" {
					t.Fatalf("HTTP/3 on %q with --http3-addr off", n.HTTP3Addr())
				}
			}
			siteID := jsonNumber(call(t, n, "2024-09-10", "CreateSite", map[string]string{"SiteName": "h3.com"})["SiteId"])
			call(t, n, "2024-09-10", "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})
			call(t, n, "2024-09-10", "CreateRecord", map[string]string{"SiteId": siteID, "RecordName": "www.h3.com", "Type": "A/AAAA",
				"Proxied": "true", "BizName": "web", "Ttl": "1", "Data": `{"Value":"` + strings.TrimPrefix(origin.URL, "http://") + `"}`})
			call(t, n, "2024-09-10", "CreateHttpsBasicConfiguration", map[string]string{"SiteId": siteID, "Http3": "on"})
			call(t, n, "2024-09-10", "CreateHttpsApplicationConfiguration", map[string]string{"SiteId": siteID, "AltSvc": "on", "AltSvcMa": "600"})

			tcp := &http.Client{Transport: &http.Transport{
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, network, n.HTTPSAddr())
				},
			}}
			defer tcp.CloseIdleConnections()
			want := `h3=":` + httpsPort + `"; ma=600`
			if h3addr == "off" {
				want = ""
			}
			// The edge applies the changes at once (same process); wait
			// for the settings to be served rather than assume when.
			deadline := time.Now().Add(10 * time.Second)
			var got string
			for {
				resp, err := tcp.Get("https://www.h3.com/")
				if err == nil {
					resp.Body.Close()
					got = resp.Header.Get("Alt-Svc")
					if resp.StatusCode == 200 && (got == want || want == "") {
						break
					}
				}
				if time.Now().After(deadline) {
					t.Fatalf("Alt-Svc %q (%v), want %q", got, err, want)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if got != want {
				t.Errorf("Alt-Svc %q, want %q", got, want)
			}
			if h3addr == "off" {
				return
			}
			tr := &http3.Transport{
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
				QUICConfig:      &quic.Config{HandshakeIdleTimeout: 30 * time.Second},
				Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, qc *quic.Config) (*quic.Conn, error) {
					return quic.DialAddr(ctx, n.HTTP3Addr(), tlsCfg, qc)
				},
			}
			defer tr.Close()
			resp, err := (&http.Client{Transport: tr}).Get("https://www.h3.com/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.ProtoMajor != 3 || string(body) != "origin over https" || resp.Header.Get("Alt-Svc") != want {
				t.Errorf("over HTTP/3: %s %d %q, Alt-Svc %q", resp.Proto, resp.StatusCode, body, resp.Header.Get("Alt-Svc"))
			}
			// The edge tells the handshake's outcome as its side ends.
			var quicServed, tcpServed float64
			if !poll(10*time.Second, func() bool {
				fams := scrapeMetrics(t, n.MetricsAddr())
				quicServed, _ = sample(fams, "esacert_edge_tls_handshakes_total", "transport=quic", "outcome=served")
				tcpServed, _ = sample(fams, "esacert_edge_tls_handshakes_total", "transport=tcp", "outcome=served")
				timed, _ := sample(fams, "esacert_edge_tls_handshake_duration_seconds", "transport=quic", "outcome=served")
				return quicServed == 1 && timed == 1
			}) {
				t.Errorf("QUIC handshakes served in /metrics: %v, want 1", quicServed)
			}
			if tcpServed < 1 {
				t.Errorf("TCP handshakes served in /metrics: %v, want the Alt-Svc probes'", tcpServed)
			}
		})
	}
}
