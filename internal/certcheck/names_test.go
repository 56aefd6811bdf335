package certcheck_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"

	"github.com/esacert/esacert/internal/certcheck"
	"github.com/google/go-cmp/cmp"
)

// selfSigned mints a certificate from tmpl, filling in what pkitest's
// options cannot express (IP SANs, an issuer Organization).
func selfSigned(t *testing.T, tmpl *x509.Certificate) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(0x1f2e3d4c5b6a)
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-day), now.Add(day)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNames(t *testing.T) {
	ip := []net.IP{net.ParseIP("192.0.2.1")}
	tests := []struct {
		name string
		cn   string
		dns  []string
		ips  []net.IP
		want []string
	}{
		{name: "ok/sans", cn: "www.example.com", dns: []string{"www.example.com", "example.com"}, want: []string{"www.example.com", "example.com"}},
		{name: "ok/sans-win-over-cn", cn: "other.example.org", dns: []string{"example.com"}, want: []string{"example.com"}},
		{name: "ok/lowercased-trailing-dot-deduplicated", dns: []string{"WWW.Example.COM.", "www.example.com", "Example.com"}, want: []string{"www.example.com", "example.com"}},
		{name: "ok/wildcard-san", dns: []string{"*.example.com", "example.com"}, want: []string{"*.example.com", "example.com"}},
		{name: "ok/cn-only", cn: "Shop.Example.com", want: []string{"shop.example.com"}},
		{name: "ok/cn-only-trailing-dot", cn: "shop.example.com.", want: []string{"shop.example.com"}},
		{name: "ok/cn-only-wildcard", cn: "*.example.com", want: []string{"*.example.com"}},
		{name: "ok/cn-only-single-label", cn: "intranet", want: []string{"intranet"}},
		{name: "ok/cn-with-ip-san", cn: "example.com", ips: ip, want: []string{"example.com"}},
		{name: "fail/cn-not-a-host-name", cn: "My Company Server"},
		{name: "fail/cn-ip-address", cn: "192.0.2.1"},
		{name: "fail/cn-ipv6-address", cn: "2001:db8::1"},
		{name: "fail/cn-numeric-tld", cn: "10.0.0"},
		{name: "fail/cn-inner-wildcard", cn: "www.*.example.com"},
		{name: "fail/cn-bad-label", cn: "-www.example.com"},
		{name: "fail/cn-empty-label", cn: "www..example.com"},
		{name: "fail/ip-san-only", ips: ip},
		{name: "fail/nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := selfSigned(t, &x509.Certificate{Subject: pkix.Name{CommonName: tt.cn}, DNSNames: tt.dns, IPAddresses: tt.ips})
			if diff := cmp.Diff(tt.want, certcheck.Names(c)); diff != "" {
				t.Errorf("Names (-want +got):\n%s", diff)
			}
		})
	}
	if got := certcheck.Names(nil); got != nil {
		t.Errorf("Names(nil) = %q, want nil", got)
	}
}

func TestUnderSite(t *testing.T) {
	tests := []struct {
		name       string
		host, site string
		want       bool
	}{
		{name: "ok/apex", host: "example.com", site: "example.com", want: true},
		{name: "ok/subdomain", host: "www.example.com", site: "example.com", want: true},
		{name: "ok/deep-subdomain", host: "a.b.c.example.com", site: "example.com", want: true},
		{name: "ok/case-insensitive", host: "WWW.Example.Com", site: "EXAMPLE.com", want: true},
		{name: "ok/trailing-dots", host: "www.example.com.", site: "example.com.", want: true},
		{name: "ok/wildcard-at-apex", host: "*.example.com", site: "example.com", want: true},
		{name: "ok/wildcard-under-site", host: "*.shop.example.com", site: "example.com", want: true},
		{name: "ok/site-is-subdomain", host: "*.shop.example.com", site: "shop.example.com", want: true},
		{name: "fail/other-domain", host: "example.org", site: "example.com"},
		{name: "fail/suffix-not-on-label-boundary", host: "badexample.com", site: "example.com"},
		{name: "fail/parent-of-site", host: "example.com", site: "shop.example.com"},
		{name: "fail/wildcard-above-site", host: "*.example.com", site: "shop.example.com"},
		{name: "fail/wildcard-tld", host: "*.com", site: "example.com"},
		{name: "fail/star-alone", host: "*", site: "example.com"},
		{name: "fail/partial-wildcard", host: "a*.example.com", site: "example.com"},
		{name: "fail/double-wildcard", host: "*.*.example.com", site: "example.com"},
		{name: "fail/inner-wildcard", host: "www.*.example.com", site: "example.com"},
		{name: "fail/wildcard-without-dot", host: "*example.com", site: "example.com"},
		{name: "fail/empty-label", host: "www..example.com", site: "example.com"},
		{name: "fail/leading-dot", host: ".example.com", site: "example.com"},
		{name: "fail/two-trailing-dots", host: "www.example.com..", site: "example.com"},
		{name: "fail/empty-name", host: "", site: "example.com"},
		{name: "fail/empty-site", host: "example.com", site: ""},
		{name: "fail/wildcard-site", host: "www.example.com", site: "*.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := certcheck.UnderSite(tt.host, tt.site); got != tt.want {
				t.Errorf("UnderSite(%q, %q) = %v, want %v", tt.host, tt.site, got, tt.want)
			}
		})
	}
}

func TestMatchesSite(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		site  string
		want  bool
	}{
		{name: "ok/one-of-several", names: []string{"example.org", "www.example.com"}, site: "example.com", want: true},
		{name: "ok/wildcard", names: []string{"*.example.com"}, site: "example.com", want: true},
		{name: "fail/none", names: []string{"example.org", "*.com"}, site: "example.com"},
		{name: "fail/no-names", site: "example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := certcheck.MatchesSite(tt.names, tt.site); got != tt.want {
				t.Errorf("MatchesSite(%q, %q) = %v, want %v", tt.names, tt.site, got, tt.want)
			}
		})
	}
}
