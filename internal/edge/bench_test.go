package edge

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/site"
)

// syntheticSites makes n sites of one certificate each: site i is
// "site<i>.test" with a certificate for "www.site<i>.test" and
// "*.site<i>.test". Every certificate shares one chain and key (each sealed
// for its own id): the index does not look inside a chain until a handshake
// needs it.
func syntheticSites(tb testing.TB, f *fixture, n int) []SiteState {
	c, leaf := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.template.test")
	states := make([]SiteState, n)
	for i := range states {
		name := "site" + strconv.Itoa(i) + ".test"
		cc := c
		cc.ID = fmt.Sprintf("%032x", i)
		sealed, err := cert.SealKey(f.sealer, cc.ID, []byte(leaf.KeyPEM))
		if err != nil {
			tb.Fatal(err)
		}
		cc.SealedKey = sealed
		cc.Info.SANs = []string{"www." + name, "*." + name}
		states[i] = SiteState{ID: int64(i + 1), Site: &site.Site{ID: int64(i + 1), Name: name, Status: site.SiteActive},
			Certificates: []cert.Certificate{cc}, Policy: DefaultSitePolicy()}
	}
	return states
}

// BenchmarkLookup looks names up in an index of 1,000,000 names (500,000
// sites, each with an exact and a wildcard name).
//
//	go test ./internal/edge -run '^$' -bench Lookup -benchmem
func BenchmarkLookup(b *testing.B) {
	f := newFixture(b)
	ix := load(maphash.MakeSeed(), syntheticSites(b, f, 500_000), 1, now, false)
	if ix.Names() != 1_000_000 {
		b.Fatalf("index holds %d names", ix.Names())
	}
	hosts := make([]string, 1024)
	for i := range hosts {
		hosts[i] = "www.site" + strconv.Itoa(i*487%500_000) + ".test"
	}
	wild := make([]string, 1024)
	for i := range wild {
		wild[i] = "shop.site" + strconv.Itoa(i*487%500_000) + ".test"
	}
	runtime.GC() // the setup's garbage must not be collected while timing
	runtime.GC()
	b.Run("exact", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if len(ix.lookupExact(hosts[i&1023])) == 0 {
				b.Fatal("miss")
			}
		}
	})
	b.Run("wildcard", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ { // an exact miss, then the wildcard hit
			if len(ix.lookupExact(wild[i&1023])) != 0 || len(ix.lookupWild(wild[i&1023])) == 0 {
				b.Fatal("miss")
			}
		}
	})
}

// BenchmarkUpdate applies one site change (a certificate for two names) to
// an index of 10,000 and of 1,000,000 names: the cost must not follow the
// size of the index but for the groups an edit copies (pmap.go), each a
// thousandth of a map.
//
//	go test ./internal/edge -run '^$' -bench Update -benchmem
func BenchmarkUpdate(b *testing.B) {
	f := newFixture(b)
	for _, sites := range []int{5_000, 500_000} {
		b.Run(strconv.Itoa(2*sites)+"_names", func(b *testing.B) {
			states := syntheticSites(b, f, sites)
			ix := load(maphash.MakeSeed(), states, 1, now, false)
			change := []SiteState{states[sites/2]}
			runtime.GC()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ix = ix.apply(change, nil, int64(i+2), now)
			}
		})
	}
}

// BenchmarkCertificateUpdate applies one certificate change (add,
// replace, delete; one name each) to a site of 10,000 and of 1,000,000
// certificates: the cost must not follow the size of the site but for the
// groups of the index's maps an edit copies (pmap.go).
//
//	go test ./internal/edge -run '^$' -bench CertificateUpdate -benchmem
func BenchmarkCertificateUpdate(b *testing.B) {
	f := newFixture(b)
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.template.test")
	for _, n := range []int{10_000, 1_000_000} {
		b.Run(strconv.Itoa(n)+"_certificates", func(b *testing.B) {
			st := SiteState{ID: 1, Site: &site.Site{ID: 1, Name: "big.test", Status: site.SiteActive}, Policy: DefaultSitePolicy()}
			st.Certificates = make([]cert.Certificate, n)
			for i := range st.Certificates {
				cc := c
				cc.ID, cc.SiteID = fmt.Sprintf("%032x", i), 1
				cc.Info.SANs = []string{"h" + strconv.Itoa(i) + ".big.test"}
				st.Certificates[i] = cc
			}
			ix := load(maphash.MakeSeed(), []SiteState{st}, 1, now, false)
			st = SiteState{}
			runtime.GC()
			extra := c
			extra.ID, extra.SiteID, extra.Info.SANs = "extra", 1, []string{"extra.big.test"}
			replaced := c
			replaced.ID, replaced.SiteID, replaced.Info.SANs = fmt.Sprintf("%032x", n/2), 1, []string{"other.big.test"}
			for _, op := range []struct {
				name string
				u    certUpdate
			}{
				{"add", certUpdate{site: 1, ids: []string{extra.ID}, certs: []cert.Certificate{extra}}},
				{"replace", certUpdate{site: 1, ids: []string{replaced.ID}, certs: []cert.Certificate{replaced}}},
				{"delete", certUpdate{site: 1, ids: []string{fmt.Sprintf("%032x", n/3)}}},
			} {
				b.Run(op.name, func(b *testing.B) {
					b.ReportAllocs()
					for i := 0; i < b.N; i++ {
						ix.apply(nil, []certUpdate{op.u}, int64(i+2), now) // from the same index each time
					}
				})
			}
		})
	}
}

// BenchmarkHandshake compares full TLS 1.3 handshakes (ECDSA P-256, a new
// connection each) against the edge holding 100,000 certificates and
// against a plain crypto/tls server holding one, side by side in one run.
//
//	go test ./internal/edge -run '^$' -bench Handshake -benchtime 3s
func BenchmarkHandshake(b *testing.B) {
	f := newFixture(b)
	states := syntheticSites(b, f, 100_000)
	src := newMemSource()
	for _, st := range states {
		src.sites[st.ID] = st
	}
	e, addr := startEdge(b, src, f.sealer)
	_ = e
	plainCert := selfSigned(b, "www.site1.test")
	plainLn, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{plainCert}})
	if err != nil {
		b.Fatal(err)
	}
	defer plainLn.Close()
	go acceptLoop(plainLn)
	run := func(b *testing.B, addr string, host func(i int) string) {
		cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13, ClientSessionCache: nil}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			c := cfg.Clone()
			c.ServerName = host(i)
			conn, err := tls.Dial("tcp", addr, c)
			if err != nil {
				b.Fatal(err)
			}
			conn.Close()
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
	}
	b.Run("plain_crypto_tls_1_cert", func(b *testing.B) {
		run(b, plainLn.Addr().String(), func(int) string { return "www.site1.test" })
	})
	// A working set of 1,000 sites, warmed so that their keys are unsealed:
	// steady state, as an edge serving traffic is.
	host := func(i int) string { return "www.site" + strconv.Itoa(i%1000*97) + ".test" }
	for i := 0; i < 1000; i++ {
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: host(i)})
		if err != nil {
			b.Fatal(err)
		}
		conn.Close()
	}
	b.Run("edge_100k_certs", func(b *testing.B) { run(b, addr, host) })
	// One site paused (not one of the working set): the HTTPS listener now
	// keeps the bytes of every ClientHello, for the passthrough.
	pausedSite := states[1]
	pausedSite.Settings.Paused = true
	src.put(pausedSite)
	e.Refresh(context.Background())
	if e.Index().paused != 1 {
		b.Fatalf("%d sites paused, want 1", e.Index().paused)
	}
	b.Run("edge_100k_certs_one_site_paused", func(b *testing.B) { run(b, addr, host) })
}

// BenchmarkMemory reports the memory an index of 100,000 ECDSA certificates
// (each with its own chain bytes, as loaded from a database) holds: on Go's
// heap, outside it (the arena chunks of the leaves and sealed keys,
// arena.go), and both.
//
//	go test ./internal/edge -run '^$' -bench Memory -benchtime 1x
func BenchmarkMemory(b *testing.B) {
	f := newFixture(b)
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		off := OffHeapBytes()
		states := syntheticSites(b, f, 100_000)
		for j := range states { // give every certificate bytes of its own
			c := &states[j].Certificates[0]
			c.ChainPEM = string([]byte(c.ChainPEM))
			c.SealedKey = append([]byte(nil), c.SealedKey...)
		}
		ix := load(maphash.MakeSeed(), states, 1, now, false)
		states = nil
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		heap, offHeap := float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), float64(OffHeapBytes()-off)/(1<<20)
		b.ReportMetric(heap, "MB-heap")
		b.ReportMetric(offHeap, "MB-off-heap")
		b.ReportMetric(heap+offHeap, "MB")
		runtime.KeepAlive(ix)
	}
}

// BenchmarkIndexObjects reports what an index of 100,000 sites of one
// ECDSA certificate each holds on Go's heap per site: objects (what each
// collection marks) and bytes, with two names a certificate
// (www.site<i>.test and *.site<i>.test) and with one (www.site<i>.test).
// Each site's strings are its own, as decoded from a database; the leaves
// and sealed keys are off the heap (arena.go). The figures are
// deterministic, unlike the timings of a shared machine.
//
//	go test ./internal/edge -run '^$' -bench IndexObjects -benchtime 1x
func BenchmarkIndexObjects(b *testing.B) {
	const n = 100_000
	f := newFixture(b)
	for _, names := range []int{2, 1} {
		b.Run(strconv.Itoa(names)+"_names", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				states := syntheticSites(b, f, n)
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				ix := ownStringsIndex(states, names)
				runtime.GC()
				runtime.ReadMemStats(&after)
				runtime.KeepAlive(states)
				runtime.KeepAlive(ix)
				b.ReportMetric(float64(after.HeapObjects-before.HeapObjects)/n, "objects/site")
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/site")
			}
		})
	}
}

// ownStringsIndex builds the index of states, sites of one certificate
// from syntheticSites, keeping the first names of each certificate's
// names, with every site's strings its own copies, as decoded from a
// database (syntheticSites shares them).
func ownStringsIndex(states []SiteState, names int) *Index {
	ib := newIndexBuilder(maphash.MakeSeed(), now, false)
	for _, st := range states {
		s := *st.Site
		s.Name = strings.Clone(s.Name)
		st.Site = &s
		c := st.Certificates[0]
		c.ID = strings.Clone(c.ID)
		c.Info.SANs = nil
		for _, name := range st.Certificates[0].Info.SANs[:names] {
			c.Info.SANs = append(c.Info.SANs, strings.Clone(name))
		}
		st.Certificates = []cert.Certificate{c}
		ib.add(st)
	}
	return ib.done(1)
}

func selfSigned(tb testing.TB, name string) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func acceptLoop(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			c.(*tls.Conn).HandshakeContext(context.Background())
			c.Close()
		}()
	}
}

// BenchmarkSnapshot writes and reads the snapshot of an index of 100,000
// sites (one ECDSA certificate each, with its intermediate), and reports
// the file's size.
//
//	go test ./internal/edge -run '^$' -bench Snapshot -benchtime 3x
func BenchmarkSnapshot(b *testing.B) {
	f := newFixture(b)
	ix := load(maphash.MakeSeed(), syntheticSites(b, f, 100_000), 1, now, false)
	path := filepath.Join(b.TempDir(), "edge-snapshot")
	b.Run("write", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := saveSnapshot(path, ix, now); err != nil {
				b.Fatal(err)
			}
		}
		fi, _ := os.Stat(path)
		b.ReportMetric(float64(fi.Size())/1e6, "MB")
	})
	b.Run("read+load", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			got, _, _, err := loadSnapshot(maphash.MakeSeed(), path, now, false) // as the edge does
			if err != nil {
				b.Fatal(err)
			}
			if got.Names() != ix.Names() {
				b.Fatalf("%d names from the snapshot, want %d", got.Names(), ix.Names())
			}
		}
	})
}

// BenchmarkHelloConn is what keeping a ClientHello's bytes costs a
// connection while a site is paused: crypto/tls reads and parses a hello of
// Go's client (about 1.5 kB, with its post-quantum key share) up to
// GetConfigForClient, from the connection as accepted and from a helloConn.
//
//	go test ./internal/edge -run '^$' -bench HelloConn -benchmem
func BenchmarkHelloConn(b *testing.B) {
	c1, c2 := net.Pipe()
	go tls.Client(c1, &tls.Config{ServerName: "www.example.com", NextProtos: []string{"h2", "http/1.1"}}).Handshake()
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(c2, hdr); err != nil {
		b.Fatal(err)
	}
	hello := append(hdr, make([]byte, int(hdr[3])<<8|int(hdr[4]))...)
	if _, err := io.ReadFull(c2, hello[5:]); err != nil {
		b.Fatal(err)
	}
	c1.Close()
	c2.Close()
	stop := errors.New("stop")
	cfg := &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		if hc, ok := h.Conn.(*helloConn); ok && len(hc.read) != len(hello) {
			b.Fatalf("kept %d bytes of a hello of %d", len(hc.read), len(hello))
		}
		return nil, stop
	}}
	for _, kept := range []bool{false, true} {
		b.Run(map[bool]string{false: "as_accepted", true: "helloConn"}[kept], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var c net.Conn = &readerConn{Reader: bytes.NewReader(hello)}
				if kept {
					c = newHelloConn(c, time.Time{})
				}
				if err := tls.Server(c, cfg).Handshake(); !errors.Is(err, stop) {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(hello)), "hello-bytes")
		})
	}
}

// readerConn is a connection that reads from a Reader and writes nowhere.
type readerConn struct {
	net.Conn
	io.Reader
}

func (c *readerConn) Read(p []byte) (int, error)        { return c.Reader.Read(p) }
func (c *readerConn) Write(p []byte) (int, error)       { return len(p), nil }
func (c *readerConn) SetReadDeadline(t time.Time) error { return nil }
