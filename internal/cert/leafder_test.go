package cert_test

import (
	"crypto/rand"
	"crypto/x509"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/pkitest"
)

// TestLeafCovers: the name check on a leaf's DER agrees with
// x509.Certificate.VerifyHostname.
func TestLeafCovers(t *testing.T) {
	ca := pkitest.NewCA(t, "Covers Root", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	l := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.example.com", "*.shop.example.com"}})
	cnOnly := ca.Leaf(t, pkitest.LeafOptions{CommonName: "cn.example.com"})
	for _, host := range []string{
		"www.example.com", "WWW.Example.COM", "www.example.com.", "a.shop.example.com", "A.SHOP.example.com.",
		"shop.example.com", "a.b.shop.example.com", "example.com", "ww.example.com", "www.example.co", ".shop.example.com",
		"www..example.com", "*.shop.example.com", "", ".", "127.0.0.1", "[::1]",
	} {
		want := l.Cert.VerifyHostname(host) == nil
		if got := cert.LeafCovers(l.Cert.Raw, host); got != want {
			t.Errorf("LeafCovers(%q) = %v, VerifyHostname says %v", host, got, want)
		}
		if cert.LeafCovers(cnOnly.Cert.Raw, host) {
			t.Errorf("a leaf without SANs covers %q", host)
		}
	}
	if cert.LeafCovers(cnOnly.Cert.Raw, "cn.example.com") {
		t.Error("a common name covers a host (Go ignores it)")
	}
	key, _ := pkitest.Key(t, "ecdsa-p256", "")
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"ip.example.com"}, IPAddresses: []net.IP{net.ParseIP("192.0.2.7"), net.ParseIP("2001:db8::1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	ipLeaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"192.0.2.7", "192.0.2.8", "2001:db8::1", "[2001:db8::1]", "2001:db8::2", "::ffff:192.0.2.7", "ip.example.com"} {
		want := ipLeaf.VerifyHostname(host) == nil
		if got := cert.LeafCovers(der, host); got != want {
			t.Errorf("IP leaf: LeafCovers(%q) = %v, VerifyHostname says %v", host, got, want)
		}
	}
}

// TestLeafMustStaple agrees with cert.MustStaple on a parsed leaf.
func TestLeafMustStaple(t *testing.T) {
	ca := pkitest.NewCA(t, "Staple Root", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	for _, must := range []bool{false, true} {
		l := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.example.com"}, MustStaple: must})
		if got := cert.LeafMustStaple(l.Cert.Raw); got != must || got != cert.MustStaple(l.Cert) {
			t.Errorf("Must-Staple %v: LeafMustStaple says %v", must, got)
		}
	}
	if cert.LeafMustStaple([]byte{0x30, 0x03, 0x02, 0x01, 0x00}) {
		t.Error("a malformed leaf is Must-Staple")
	}
}
