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

// trickyLeaf is a leaf with names that x509.Certificate.VerifyHostname
// treats apart: a bare wildcard, names that are no valid host pattern
// (matched exactly only), a trailing dot, upper case, and IP SANs.
func trickyLeaf(t testing.TB) *x509.Certificate {
	t.Helper()
	key, _ := pkitest.Key(t, "ecdsa-p256", "")
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"*", "k.example.com", "s.example.com", "*.example.com", "exact.example.org.", "a_b.example.net",
			"-x.example.net", "*.*.example.info", "f*.example.info", "WWW.Upper.Com", "a..b.example.biz", "odd name.example.biz"},
		IPAddresses: []net.IP{net.ParseIP("192.0.2.7"), net.ParseIP("fe80::1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

// TestLeafCoversAsGo: LeafCovers agrees with VerifyHostname on the names
// Go treats apart: ASCII case only (not Unicode folding), wildcards only
// for valid host names, exact matches for the others, brackets only in
// pairs, no zones.
func TestLeafCoversAsGo(t *testing.T) {
	leaf := trickyLeaf(t)
	for _, host := range []string{
		"localhost", "\u212a.example.com", "\u017f.example.com", "K.EXAMPLE.COM", "x.example.com", "a b.example.com",
		"-y.example.com", "_y.example.com", "y-.example.com", "exact.example.org.", "exact.example.org", "EXACT.example.org.",
		"a_b.example.net", "A_B.example.net", "-x.example.net", "-X.example.net", "x.y.example.info", "*.y.example.info",
		"fa.example.info", "f*.example.info", "www.upper.com", "a..b.example.biz", "A..B.example.biz", "odd name.example.biz",
		"ODD NAME.example.biz", "*", "*.example.com", "[192.0.2.7", "192.0.2.7]", "[192.0.2.7]", "192.0.2.7",
		"fe80::1%eth0", "[fe80::1%eth0]", "fe80::1", "::ffff:192.0.2.7", "y.example.com.", "y.example.com..", ".", "",
		"\xff.example.com", "y.example.com\x00",
	} {
		want := leaf.VerifyHostname(host) == nil
		if got := cert.LeafCovers(leaf.Raw, host); got != want {
			t.Errorf("LeafCovers(%q) = %v, VerifyHostname says %v", host, got, want)
		}
	}
}

// FuzzLeafCovers: LeafCovers agrees with VerifyHostname on any host.
func FuzzLeafCovers(f *testing.F) {
	for _, s := range []string{"k.example.com", "\u212a.example.com", "x.example.com", "exact.example.org.", "[192.0.2.7]", "fe80::1%1", "a_b.example.net"} {
		f.Add(s)
	}
	leaf := trickyLeaf(f)
	f.Fuzz(func(t *testing.T, host string) {
		want := leaf.VerifyHostname(host) == nil
		if got := cert.LeafCovers(leaf.Raw, host); got != want {
			t.Errorf("LeafCovers(%q) = %v, VerifyHostname says %v", host, got, want)
		}
	})
}

// TestLeafCoversAllocs: the name check allocates nothing, as its
// documentation says (it runs on handshakes that choose among candidates).
func TestLeafCoversAllocs(t *testing.T) {
	leaf := trickyLeaf(t)
	for _, host := range []string{"www.example.com", "odd name.example.biz", "192.0.2.7", "a-very-long-label-of-more-than-32-bytes.example.com"} {
		if n := testing.AllocsPerRun(100, func() { cert.LeafCovers(leaf.Raw, host) }); n != 0 {
			t.Errorf("LeafCovers(%q): %v allocations", host, n)
		}
	}
}
