package edge

import (
	"crypto/tls"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/httpsconf"
	"github.com/esacert/esacert/internal/site"
)

// TestTLSVersionGap: a host whose TLS versions on are not a range (TLS 1.1
// off between 1.0 and 1.2; 1.1 and 1.2 off between 1.0 and 1.3) negotiates
// the highest version on that the client has, refuses a client that has
// none, and offers HTTP/2 only from TLS 1.2; with tickets on and off (two
// ways to the host's configuration).
func TestTLSVersionGap(t *testing.T) {
	oneOff := hostPolicy(httpsconf.HTTPSBasic{Https: "on", Http2: "on", Tls10: "on", Tls11: "off", Tls12: "on", Tls13: "on"},
		httpsconf.HTTPSApplication{})
	twoOff := hostPolicy(httpsconf.HTTPSBasic{Https: "on", Http2: "on", Tls10: "on", Tls11: "off", Tls12: "off", Tls13: "on"},
		httpsconf.HTTPSApplication{})
	if oneOff.VersionsOff != versionBit(tls.VersionTLS11) || twoOff.VersionsOff != versionBit(tls.VersionTLS11)|versionBit(tls.VersionTLS12) {
		t.Fatalf("versions off: %b and %b", oneOff.VersionsOff, twoOff.VersionsOff)
	}
	// Versions off outside the range are no gap: the range leaves them out.
	edges := hostPolicy(httpsconf.HTTPSBasic{Https: "on", Tls10: "off", Tls11: "on", Tls12: "on", Tls13: "off"},
		httpsconf.HTTPSApplication{})
	if edges.VersionsOff != 0 || edges.MinVersion != tls.VersionTLS11 || edges.MaxVersion != tls.VersionTLS12 {
		t.Fatalf("TLS 1.1 to 1.2 on: versions off %b, range %x to %x", edges.VersionsOff, edges.MinVersion, edges.MaxVersion)
	}
	for _, tickets := range []bool{false, true} {
		t.Run(fmt.Sprintf("tickets=%v", tickets), func(t *testing.T) {
			f := newFixture(t)
			c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "one.example.com", "two.example.com")
			st := siteState(1, "example.com", site.SiteActive, c)
			st.Policy.Hosts = map[string]HostPolicy{"one.example.com": oneOff, "two.example.com": twoOff}
			src := newMemSource()
			src.put(st)
			e := &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour}
			if tickets {
				keys := &ticketkeyKeeper{}
				keys.init(t, f)
				e.Tickets = keys.k
			}
			_, addr := serveEdge(t, e)
			for _, tc := range []struct {
				host     string
				min, max uint16
				want     uint16 // 0: refused
			}{
				{"one.example.com", tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS10},
				{"one.example.com", tls.VersionTLS11, tls.VersionTLS11, 0},
				{"one.example.com", tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS12},
				{"one.example.com", tls.VersionTLS10, tls.VersionTLS13, tls.VersionTLS13},
				{"two.example.com", tls.VersionTLS10, tls.VersionTLS12, tls.VersionTLS10},
				{"two.example.com", tls.VersionTLS11, tls.VersionTLS12, 0},
				{"two.example.com", tls.VersionTLS12, tls.VersionTLS13, tls.VersionTLS13},
			} {
				for round := range 2 { // the second from the cached configuration
					conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{
						ServerName: tc.host, InsecureSkipVerify: true, MinVersion: tc.min, MaxVersion: tc.max,
						NextProtos: []string{"h2", "http/1.1"}})
					what := fmt.Sprintf("%s, a client of %s to %s (round %d)", tc.host, tls.VersionName(tc.min), tls.VersionName(tc.max), round)
					if tc.want == 0 {
						if err == nil {
							conn.Close()
							t.Fatalf("%s: connected, want it refused", what)
						}
						continue
					}
					if err != nil {
						t.Fatalf("%s: %v", what, err)
					}
					cs := conn.ConnectionState()
					conn.Close()
					if cs.Version != tc.want {
						t.Fatalf("%s: %s, want %s", what, tls.VersionName(cs.Version), tls.VersionName(tc.want))
					}
					if wantH2 := tc.want >= tls.VersionTLS12; (cs.NegotiatedProtocol == "h2") != wantH2 {
						t.Fatalf("%s: ALPN %q", what, cs.NegotiatedProtocol)
					}
				}
			}
		})
	}
}

// TestVersionConfigLegacyHello: a hello without supported_versions offers
// TLS 1.2 at most, whatever ClientHelloInfo lists for its legacy version
// (1.3 for a legacy version of 1.3): with TLS 1.2 off, it gets TLS 1.1,
// not the 1.2 crypto/tls would pick.
func TestVersionConfigLegacyHello(t *testing.T) {
	hp := hostPolicy(httpsconf.HTTPSBasic{Https: "on", Http2: "on", Tls10: "on", Tls11: "on", Tls12: "off", Tls13: "on"},
		httpsconf.HTTPSApplication{})
	e := &Edge{}
	base := &tls.Config{MinVersion: hp.MinVersion, MaxVersion: hp.MaxVersion, NextProtos: []string{"h2", "http/1.1"}}
	all := []uint16{tls.VersionTLS13, tls.VersionTLS12, tls.VersionTLS11, tls.VersionTLS10}
	legacy := e.versionConfig(base, "k", &hp, &tls.ClientHelloInfo{SupportedVersions: all})
	if legacy.MaxVersion != tls.VersionTLS11 || len(legacy.NextProtos) != 1 || legacy.NextProtos[0] != "http/1.1" {
		t.Fatalf("legacy hello: MaxVersion %s, ALPN %v; want TLS 1.1 and http/1.1", tls.VersionName(legacy.MaxVersion), legacy.NextProtos)
	}
	modern := e.versionConfig(base, "k", &hp, &tls.ClientHelloInfo{SupportedVersions: all, Extensions: []uint16{extSupportedVersions}})
	if modern != base {
		t.Fatalf("a hello with TLS 1.3: MaxVersion %s, want the host's configuration as it is", tls.VersionName(modern.MaxVersion))
	}
}
