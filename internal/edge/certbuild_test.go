package edge

import (
	"bytes"
	"crypto/tls"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/site"
)

// keyedCertificate mints a certificate for name with a key of type kt in
// format kf, sealed with the fixture's sealer as the service stores it.
func (f *fixture) keyedCertificate(kt pkitest.KeyType, kf pkitest.KeyFormat, name string) (cert.Certificate, *pkitest.Leaf) {
	f.t.Helper()
	notAfter := now.Add(60 * 24 * time.Hour)
	leaf := f.inter.Leaf(f.t, pkitest.LeafOptions{DNSNames: []string{name}, KeyType: kt, KeyFormat: kf,
		NotBefore: now.Add(-2 * time.Hour), NotAfter: notAfter})
	p, err := certcheck.Check(leaf.ChainPEM, leaf.KeyPEM, now)
	if err != nil {
		f.t.Fatal(err)
	}
	f.n++
	c := cert.Certificate{ID: strings.Repeat("1", 31) + string(rune('a'+f.n)), Type: cert.TypeUpload, Info: p.Info}
	for _, x := range p.Chain {
		c.ChainPEM += string(pemOf(x))
	}
	if c.SealedKey, err = cert.SealKey(f.sealer, c.ID, []byte(leaf.KeyPEM)); err != nil {
		f.t.Fatal(err)
	}
	return c, leaf
}

// TestCertBuiltOnEveryMiss: certificates of every key type and format are
// served, and verify (the client checks the handshake's signature with the
// leaf's public key), when each handshake misses the cache and builds its
// certificate again from the sealed key, over TLS 1.2 and 1.3.
func TestCertBuiltOnEveryMiss(t *testing.T) {
	f := newFixture(t)
	kinds := []struct {
		kt pkitest.KeyType
		kf pkitest.KeyFormat
	}{
		{"ecdsa-p256", "pkcs8"}, {"ecdsa-p256", "sec1"}, {"ecdsa-p384", "pkcs8"}, {"ecdsa-p521", "sec1"},
		{"rsa-2048", "pkcs8"}, {"rsa-2048", "pkcs1"}, {"ed25519", "pkcs8"},
	}
	var certs []cert.Certificate
	var names []string // in a fixed order: two handshakes in a row are for two certificates
	leaves := map[string]*pkitest.Leaf{}
	for _, k := range kinds {
		name := strings.ReplaceAll(string(k.kt)+"-"+string(k.kf), "_", "-") + ".keys.test"
		c, leaf := f.keyedCertificate(k.kt, k.kf, name)
		certs = append(certs, c)
		leaves[name] = leaf
		names = append(names, name)
	}
	src := newMemSource()
	src.put(siteState(1, "keys.test", site.SiteActive, certs...))
	e, addr := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, CertCache: 1})
	for round := range 2 {
		for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			for _, name := range names {
				leaf := leaves[name]
				misses := e.CertCacheStats().Misses
				chain, err := handshake(t, addr, name, &tls.Config{MinVersion: version, MaxVersion: version})
				if err != nil {
					t.Fatalf("round %d, %s over %s: %v", round, name, tls.VersionName(version), err)
				}
				if !bytes.Equal(chain[0].Raw, leaf.Cert.Raw) {
					t.Fatalf("%s: served another leaf", name)
				}
				if got := e.CertCacheStats().Misses; got != misses+1 {
					t.Fatalf("%s: %d misses, want %d (each handshake builds the certificate)", name, got, misses+1)
				}
			}
		}
	}
}

// TestCertKeyMismatchNotServed: a certificate whose sealed key is not its
// own (the database was changed behind the service: the key of another
// certificate, sealed for this one) is not served, so that no handshake
// goes out with a signature its leaf does not verify, and it is logged,
// once while its failed build stays in the cache. This holds for an ECDSA
// key that holds its public key (checked against the leaf's without a
// scalar multiplication) as for the other keys (parsed in full).
func TestCertKeyMismatchNotServed(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		name           string
		kt, other      pkitest.KeyType
		kf, otherFrmat pkitest.KeyFormat
	}{
		{"ecdsa_p256_pkcs8", "ecdsa-p256", "ecdsa-p256", "pkcs8", "pkcs8"},
		{"ecdsa_p256_sec1", "ecdsa-p256", "ecdsa-p256", "sec1", "sec1"},
		{"ecdsa_p384", "ecdsa-p384", "ecdsa-p384", "pkcs8", "pkcs8"},
		{"ecdsa_other_curve", "ecdsa-p256", "ecdsa-p384", "pkcs8", "pkcs8"},
		{"rsa", "rsa-2048", "rsa-3072", "pkcs8", "pkcs8"},
		{"ed25519", "ed25519", "ed25519", "pkcs8", "pkcs8"},
		{"ecdsa_cert_rsa_key", "ecdsa-p256", "rsa-2048", "pkcs8", "pkcs8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := f.keyedCertificate(tt.kt, tt.kf, "www.mismatch.test")
			_, otherKey := pkitest.Key(t, tt.other, tt.otherFrmat)
			var err error
			if c.SealedKey, err = cert.SealKey(f.sealer, c.ID, []byte(otherKey)); err != nil {
				t.Fatal(err)
			}
			var logs logBuffer
			src := newMemSource()
			src.put(siteState(1, "mismatch.test", site.SiteActive, c))
			_, addr := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, Log: slog.New(slog.NewTextHandler(&logs, nil))})
			for range 3 {
				if chain, err := handshake(t, addr, "www.mismatch.test", nil); err == nil {
					t.Fatalf("a certificate with another's key was served (%d certificates)", len(chain))
				}
			}
			if n := strings.Count(logs.String(), "whose private key does not match"); n != 1 || !strings.Contains(logs.String(), c.ID) {
				t.Fatalf("logged %d times, want once with the certificate's id:\n%s", n, logs.String())
			}
		})
	}
}
