package edge

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/pkitest"
)

// BenchmarkCertBuild measures a certificate cache miss for each key type:
// "miss" is one build (unseal the key, make the tls.Certificate) with its
// time, bytes and allocations; "sign" and "miss+sign" are a signature with
// a key used before and a build followed by the new key's first signature
// (their difference is what a miss adds to a handshake); "entry" builds n certificates into a cache
// of n entries, signs once with each key (as its first handshake does,
// which makes crypto's own per-key state), and reports what they hold
// after a GC: heap bytes and heap objects per entry (heap-B/entry,
// objects/entry). Those are deterministic, unlike the times on a shared
// machine.
//
//	go test ./internal/edge -run '^$' -bench CertBuild -benchmem
func BenchmarkCertBuild(b *testing.B) {
	for _, kt := range []pkitest.KeyType{"ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-2048"} {
		f := newFixture(b)
		c, leaf := f.certificate(kt, now.Add(60*24*time.Hour), "www.build.test")
		e := &Edge{Sealer: f.sealer, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		conf := &siteConf{id: 1, name: "build.test", status: 2, served: true}
		sv := newServed(c, nil, placedBytes{}, conf, nil)
		b.Run(string(kt)+"/miss", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if err := e.buildCert(sv, &certEntry{leaf: sv.leaf()}); err != nil {
					b.Fatal(err)
				}
			}
		})
		// A handshake signs with the key built: the first signature of a
		// new key makes crypto's own state of it. "sign" signs with one
		// key over and over; "miss+sign" builds a key and signs once.
		digest := sha256.Sum256([]byte("handshake"))
		b.Run(string(kt)+"/sign", func(b *testing.B) {
			ent := &certEntry{leaf: sv.leaf()}
			if err := e.buildCert(sv, ent); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if err := signOnce(ent.cert.PrivateKey.(crypto.Signer), digest[:]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(kt)+"/miss+sign", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				ent := &certEntry{leaf: sv.leaf()}
				if err := e.buildCert(sv, ent); err != nil {
					b.Fatal(err)
				}
				if err := signOnce(ent.cert.PrivateKey.(crypto.Signer), digest[:]); err != nil {
					b.Fatal(err)
				}
			}
		})
		n := 10_000
		if kt == "rsa-2048" {
			n = 1_000 // an RSA key takes about a millisecond to parse
		}
		b.Run(string(kt)+"/entry", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				svs := make([]*served, n)
				for j := range svs {
					cj := c
					cj.ID = fmt.Sprintf("%032x", j)
					var err error
					if cj.SealedKey, err = cert.SealKey(f.sealer, cj.ID, []byte(leaf.KeyPEM)); err != nil {
						b.Fatal(err)
					}
					svs[j] = newServed(cj, nil, placedBytes{}, conf, nil)
				}
				cc := newCertCache(4 * n) // room to spare: the shards fill unevenly
				before := heapNow()
				for _, sv := range svs {
					ent := cc.get(sv, e.buildCert)
					if ent.c == nil {
						b.Fatal(ent.err)
					}
					if err := signOnce(ent.c.PrivateKey.(crypto.Signer), digest[:]); err != nil {
						b.Fatal(err)
					}
				}
				after := heapNow()
				if cc.len() != n {
					b.Fatalf("the cache holds %d entries, want %d", cc.len(), n)
				}
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "heap-B/entry")
				b.ReportMetric(float64(after.HeapObjects-before.HeapObjects)/float64(n), "objects/entry")
				runtime.KeepAlive(cc)
				runtime.KeepAlive(svs)
			}
		})
	}
}

// signOnce signs digest with key as a TLS 1.3 handshake does.
func signOnce(key crypto.Signer, digest []byte) error {
	var opts crypto.SignerOpts = crypto.SHA256
	switch key.Public().(type) {
	case *rsa.PublicKey:
		opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	case ed25519.PublicKey:
		opts = crypto.Hash(0)
		digest = []byte("handshake")
	}
	_, err := key.Sign(rand.Reader, digest, opts)
	return err
}

// heapNow returns the memory statistics after two GCs (the second one
// frees what the first one's cleanups let go).
func heapNow() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}
