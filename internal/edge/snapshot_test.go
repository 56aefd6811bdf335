package edge

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/sitesetting"
)

// snapshotCertOf is what a snapshot says of sv, without its Inters.
func snapshotCertOf(sv *served) snapshotCert {
	return snapshotCert{ID: sv.id(), Leaf: sv.leaf(), Sealed: sv.sealed(), NotAfter: sv.notAfter(), RSA: sv.rsa,
		Names: slices.Collect(sv.names())}
}

// describe renders what an index does for host: its certificates in the
// order they are tried, its route and its site's policy for the host.
func describe(ix *Index, host string) string {
	exact, wild := ix.lookupExact(host), ix.lookupWild(host)
	var b strings.Builder
	for _, set := range [2]candidates{exact, wild} {
		for _, sv := range set {
			fmt.Fprintf(&b, "cert %s site %d rsa %v until %s chain %d sealed %x|", sv.id(), sv.site.id, sv.rsa,
				sv.notAfter().Format(time.RFC3339), 1+len(sv.tail), sv.sealed())
		}
		b.WriteString("/")
	}
	if r := ix.routeFor(host); r != nil {
		fmt.Fprintf(&b, "route %s %s site %d auth %+v|", r.origin, r.originHost, r.site.id, r.asRoute("").Auth)
	}
	if s := ix.siteOf(host); s != nil {
		hp := s.policy().For(host)
		fmt.Fprintf(&b, "site %d %s status %s served %v policy %+v suites-nil %v settings %+v paused sites %d", s.id, s.name,
			s.statusName(), s.served, *hp, hp.CipherSuites == nil, s.settingsOf(), ix.paused)
	}
	return b.String()
}

// snapshotFixture is a store with every kind of thing an edge serves: exact,
// wildcard and RSA certificates, a name outside its site, an inactive site,
// routes, per-host policies, and a paused site with its other settings.
func snapshotFixture(t *testing.T) (*fixture, *memSource, []string) {
	f := newFixture(t)
	ecdsaWWW, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.example.com")
	rsaWWW, _ := f.certificate("rsa-2048", now.Add(90*24*time.Hour), "www.example.com")
	wild, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.com", "example.com")
	outside, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "api.example.com", "www.other.org")
	offline, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.offline.net")
	expired, _ := f.certificate("ecdsa-p256", now.Add(-time.Hour), "old.example.org")
	// The RSA twin of the ECDSA certificate, served under "<id>~rsa".
	twin, twinLeaf := f.certificate("rsa-2048", now.Add(45*24*time.Hour), "www.example.com")
	twin.ID = cert.TwinID(ecdsaWWW.ID)
	var err error
	if twin.SealedKey, err = cert.SealKey(f.sealer, twin.ID, []byte(twinLeaf.KeyPEM)); err != nil {
		t.Fatal(err)
	}
	one := siteState(1, "example.com", site.SiteActive, ecdsaWWW, rsaWWW, wild, outside, twin)
	one.Routes = []Route{{Name: "www.example.com", Origin: "10.0.0.1:80"}, {Name: "*.example.com", Origin: "10.0.0.2:8080", OriginHost: "origin.example.net",
		Auth: RouteAuth{Type: "private", Version: "v2", Region: "us-east-1", Record: 9, Sealed: []byte("sealed keys")}}}
	one.Policy.Hosts = map[string]HostPolicy{
		"api.example.com": {HTTPS: false, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, Force: true, ForceCode: 308, HSTS: "max-age=60"},
		// TLS 1.3 suites only: no TLS 1.2 suite is left, which is not Go's defaults.
		"shop.example.com": {HTTPS: true, HTTP2: true, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13, CipherSuites: []uint16{}},
	}
	three := siteState(3, "example.org", site.SiteActive, expired)
	three.Policy.Default.CipherSuites = []uint16{}
	three.Settings = sitesetting.Settings{Paused: true, IPv6Off: true, RealClientIPHeader: "Ali-Real-Client-IP"}
	src := newMemSource()
	src.put(one)
	src.put(siteState(2, "offline.net", site.SiteOffline, offline))
	src.put(three)
	hosts := []string{"www.example.com", "example.com", "shop.example.com", "api.example.com", "www.other.org",
		"www.offline.net", "old.example.org", "nothing.test", "a.b.example.com"}
	return f, src, hosts
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestSnapshotServesWhatTheStoreServed: an edge that cannot read its store
// at start serves exactly what the edge that wrote the snapshot served, by
// real handshakes too; it does not write the snapshot back; once the store
// answers it loads everything from the store, even when the store's
// revision is older than the snapshot's (a database restored from backup).
func TestSnapshotServesWhatTheStoreServed(t *testing.T) {
	f, src, hosts := snapshotFixture(t)
	path := filepath.Join(t.TempDir(), "edge-snapshot")
	first := &Edge{Source: src, Sealer: f.sealer, Log: quietLog(), Poll: time.Hour, Snapshot: path, SnapshotEvery: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := first.Start(ctx); err != nil {
		t.Fatal(err)
	}
	first.SaveSnapshot() // the writer goroutine may have written it already
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot not written 0600: %v %v", fi, err)
	}
	if wrote, err := first.SaveSnapshot(); wrote || err != nil {
		t.Errorf("an unchanged index was written again (%v, %v)", wrote, err)
	}

	down := newMemSource()
	down.fail = true
	second, addr := serveEdge(t, &Edge{Source: down, Sealer: f.sealer, Poll: time.Hour, Snapshot: path, SnapshotEvery: time.Hour})
	if !second.Stale() {
		t.Error("an edge serving its snapshot does not say it is stale")
	}
	for _, h := range hosts {
		if got, want := describe(second.Index(), h), describe(first.Index(), h); got != want {
			t.Errorf("%s from the snapshot:\n got %s\nwant %s", h, got, want)
		}
	}
	if chain, err := handshake(t, addr, "shop.example.com", nil); err != nil || chain[0].DNSNames[0] != "*.example.com" {
		t.Fatalf("the snapshot's wildcard is not served: %v", err)
	}
	rsaOnly := &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}}
	if chain, err := handshake(t, addr, "www.example.com", rsaOnly); err != nil || chain[0].PublicKeyAlgorithm.String() != "RSA" {
		t.Fatalf("the snapshot's RSA certificate is not served to an RSA-only client: %v", err)
	}
	if _, err := handshake(t, addr, "www.offline.net", nil); err == nil {
		t.Error("an offline site is served from the snapshot")
	}
	tls12 := &tls.Config{MaxVersion: tls.VersionTLS12}
	if _, err := handshake(t, addr, "shop.example.com", tls12); err == nil {
		t.Error("a host whose settings leave TLS 1.2 no suite takes a TLS 1.2 handshake from the snapshot")
	}
	before, _ := os.ReadFile(path)
	if wrote, err := second.SaveSnapshot(); wrote || err != nil {
		t.Errorf("an index read from the snapshot was written back (%v, %v)", wrote, err)
	}

	// The store answers again, restored to an older revision with other
	// content: the edge takes the store's state whole.
	restored, _ := f.certificate("ecdsa-p256", now.Add(30*24*time.Hour), "restored.example.com")
	down.setFail(false)
	down.put(siteState(1, "example.com", site.SiteActive, restored))
	if down.rev >= first.Index().Revision() {
		t.Fatalf("the restored store's revision %d is not older than the snapshot's %d", down.rev, first.Index().Revision())
	}
	second.Refresh(context.Background())
	if second.Stale() {
		t.Fatal("still stale after the store answered")
	}
	if _, err := handshake(t, addr, "restored.example.com", nil); err != nil {
		t.Errorf("the store's certificate is not served after it answered: %v", err)
	}
	if _, err := handshake(t, addr, "shop.example.com", nil); err == nil {
		t.Error("the snapshot's wildcard is still served after the store answered without it")
	}
	if wrote, err := second.SaveSnapshot(); !wrote || err != nil {
		t.Errorf("the store's state was not written to the snapshot (%v, %v)", wrote, err)
	}
	if after, _ := os.ReadFile(path); string(after) == string(before) {
		t.Error("the snapshot did not change")
	}
}

// TestSnapshotRefusedWhenDamaged: a truncated, altered or foreign file is
// never served; the edge refuses to start and says why, as it does without
// a snapshot.
func TestSnapshotRefusedWhenDamaged(t *testing.T) {
	f, src, _ := snapshotFixture(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "edge-snapshot")
	ix := load(maphash.MakeSeed(), mustLoad(t, src), 3, now, false)
	if err := saveSnapshot(path, ix, now); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(path)
	if _, _, err := readSnapshot(path); err != nil {
		t.Fatalf("a whole snapshot is refused: %v", err)
	}
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 1
	cases := map[string][]byte{
		"truncated": good[:len(good)-100],
		"flipped":   flipped,
		"empty":     nil,
		"foreign":   []byte(strings.Repeat("x", 200)),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name)
			os.WriteFile(p, data, 0o600)
			if _, _, err := readSnapshot(p); !errors.Is(err, errSnapshotCorrupt) {
				t.Fatalf("read gave %v, want errSnapshotCorrupt", err)
			}
			down := newMemSource()
			down.fail = true
			e := &Edge{Source: down, Sealer: f.sealer, Log: quietLog(), Snapshot: p}
			err := e.Start(t.Context())
			if err == nil || !strings.Contains(err.Error(), "cannot be used") || !strings.Contains(err.Error(), "database is locked") {
				t.Fatalf("start gave %v", err)
			}
		})
	}
	down := newMemSource()
	down.fail = true
	e := &Edge{Source: down, Sealer: f.sealer, Log: quietLog(), Snapshot: filepath.Join(dir, "missing")}
	if err := e.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "no snapshot") {
		t.Fatalf("start without a snapshot gave %v", err)
	}
}

func mustLoad(t *testing.T, src Source) []SiteState {
	t.Helper()
	states, _, err := src.Load(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return states
}

// TestRevisionWithoutSiteChanges: when the store's revision moves but no
// site changed, the edge takes the new revision without loading anything
// (it once loaded every site).
func TestRevisionWithoutSiteChanges(t *testing.T) {
	f, src, _ := snapshotFixture(t)
	e, _ := startEdge(t, src, f.sealer)
	src.mu.Lock()
	src.rev++
	full := src.full
	src.mu.Unlock()
	e.Refresh(context.Background())
	if e.Index().Revision() != src.rev {
		t.Errorf("revision %d, want %d", e.Index().Revision(), src.rev)
	}
	if src.full != full {
		t.Error("the edge loaded every site for a revision that changed none")
	}
}

// TestSnapshotRewrittenAfterChanges: the edge rewrites its snapshot after
// the index changes, by itself.
func TestSnapshotRewrittenAfterChanges(t *testing.T) {
	f, src, _ := snapshotFixture(t)
	path := filepath.Join(t.TempDir(), "edge-snapshot")
	e, _ := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, Snapshot: path, SnapshotEvery: 20 * time.Millisecond})
	added, _ := f.certificate("ecdsa-p256", now.Add(30*24*time.Hour), "new.example.net")
	src.put(siteState(4, "example.net", site.SiteActive, added))
	e.Refresh(context.Background())
	holds := func() bool {
		states, _, err := readSnapshot(path)
		if err != nil {
			return false
		}
		for _, st := range states {
			for _, c := range st.Certificates {
				if c.ID == added.ID {
					return true
				}
			}
		}
		return false
	}
	deadline := time.Now().Add(5 * time.Second)
	for !holds() {
		if time.Now().After(deadline) {
			t.Fatal("the snapshot was not rewritten after a change")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSnapshotFormat lists the fields the snapshot's records hold. When it
// fails, a type the snapshot writes has changed: change snapshotMagic's
// version (an edge then refuses the old files instead of misreading them;
// a change that only adds, as 11 did to 10 and 12 to 11, may keep reading
// the old versions: snapshotMagic10, snapshotMagic11), then this list.
func TestSnapshotFormat(t *testing.T) {
	var b strings.Builder
	for _, v := range []any{snapshotHeader{}, snapshotSite{}, snapshotChunk{}, snapshotCert{}, snapshotOriginCA{}, snapshotOriginClient{}, SitePolicy{}, HostPolicy{}, AltSvc{}, OriginPolicy{}, Route{}, RouteAuth{}, sitesetting.Settings{}, ClientCA{}} {
		rt := reflect.TypeOf(v)
		fmt.Fprintf(&b, "%s{", rt.Name())
		for i := 0; i < rt.NumField(); i++ {
			fmt.Fprintf(&b, " %s %s", rt.Field(i).Name, rt.Field(i).Type)
		}
		b.WriteString(" }\n")
	}
	const want = `snapshotHeader{ Rev int64 Written time.Time }
snapshotSite{ ID int64 Name string Status string Policy edge.SitePolicy DefaultNoSuites bool HostsNoSuites []string Inters [][]uint8 Certs []edge.snapshotCert Routes []edge.Route Settings sitesetting.Settings OriginCAs []edge.snapshotOriginCA OriginClients []edge.snapshotOriginClient ClientCAs []edge.ClientCA More bool }
snapshotChunk{ ID int64 Inters [][]uint8 Certs []edge.snapshotCert More bool }
snapshotCert{ ID string Leaf []uint8 Inters []int Sealed []uint8 NotAfter time.Time RSA bool Names []string }
snapshotOriginCA{ ID string CertPEM string }
snapshotOriginClient{ ID string Scope string ChainPEM string Sealed []uint8 Hostnames []string Created time.Time }
SitePolicy{ Default edge.HostPolicy Hosts map[string]edge.HostPolicy }
HostPolicy{ HTTPS bool HTTP2 bool MinVersion uint16 MaxVersion uint16 VersionsOff uint8 CipherSuites []uint16 Force bool ForceCode int HSTS string OCSP bool NoSNIDeny bool SNIAllow []string HTTP3 bool AltSvc edge.AltSvc Origin edge.OriginPolicy }
AltSvc{ On bool Clear bool MaxAge string Persist bool }
OriginPolicy{ Scheme string HTTPPort int HTTPSPort int Host string SNI string Verify bool Mtls bool ReadTimeout time.Duration }
Route{ Name string Origin string OriginHost string Auth edge.RouteAuth }
RouteAuth{ Type string Version string Region string Bucket string Record int64 Sealed []uint8 }
Settings{ Paused bool IPv6Off bool RealClientIPHeader string }
ClientCA{ ID string Certs [][]uint8 Hostnames []string Issued bool Active []string }
`
	if b.String() != want {
		t.Errorf("the snapshot's records changed (version %q):\n%s", snapshotMagic, b.String())
	}
}

// TestSnapshotIntermediatesOnce: the intermediate that many certificates
// share is written to the snapshot once, and every certificate read back
// has its whole chain (leaf, then that intermediate), the intermediate held
// once in memory; a certificate naming an intermediate the file never
// gave makes it corrupt.
func TestSnapshotIntermediatesOnce(t *testing.T) {
	f := newFixture(t)
	var states []SiteState
	for i := range 5 {
		name := fmt.Sprintf("inter%d.example", i)
		c, _ := f.certificate("ecdsa-p256", now.Add(24*time.Hour), "www."+name)
		states = append(states, siteState(int64(i+1), name, site.SiteActive, c))
	}
	path := filepath.Join(t.TempDir(), "edge-snapshot")
	if err := saveSnapshot(path, load(maphash.MakeSeed(), states, 1, now, false), now); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	inter := f.inter.Cert.Raw
	if n := bytes.Count(raw, inter); n != 1 {
		t.Fatalf("the intermediate is in the snapshot %d times, want once", n)
	}
	got, _, err := readSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	var first []byte
	for _, st := range got {
		if len(st.chains) != 1 || len(st.chains[0]) != 2 || !bytes.Equal(st.chains[0][1], inter) {
			t.Fatalf("site %d read back with chains %d", st.ID, len(st.chains))
		}
		if first == nil {
			first = st.chains[0][1]
		} else if &first[0] != &st.chains[0][1][0] {
			t.Errorf("site %d's intermediate is a copy of its own", st.ID)
		}
	}

	// A certificate naming intermediate 7 of a file that gave one.
	bad := filepath.Join(t.TempDir(), "edge-snapshot")
	file, _ := os.Create(bad)
	sw, _ := newSnapshotWriter(file, 1, now)
	c := states[0].Certificates[0]
	sw.site(snapshotSite{ID: 1, Name: "inter0.example", Status: site.SiteActive, Inters: [][]byte{inter},
		Certs: []snapshotCert{{ID: c.ID, Leaf: []byte("leaf"), Inters: []int{7}, Sealed: c.SealedKey, NotAfter: now.Add(time.Hour)}}})
	if err := sw.close(); err != nil {
		t.Fatal(err)
	}
	file.Close()
	if _, _, err := readSnapshot(bad); !errors.Is(err, errSnapshotCorrupt) {
		t.Fatalf("read gave %v, want errSnapshotCorrupt", err)
	}
}

// TestSnapshotLoadReusesBuffers: the index's load, whose decoder decodes
// every site into the same buffers and copies the certificates' bytes into
// an arena, builds the same index as reading every site's state whole and
// loading those: a site's fields never leak into the next one's (a site of
// several certificates, RSA among them, followed by sites of one).
func TestSnapshotLoadReusesBuffers(t *testing.T) {
	f, src, hosts := snapshotFixture(t)
	more, _ := f.certificate("ecdsa-p256", now.Add(20*24*time.Hour), "www.more.example")
	src.put(siteState(4, "more.example", site.SiteActive, more))
	hosts = append(hosts, "www.more.example")
	path := filepath.Join(t.TempDir(), "edge-snapshot")
	first := &Edge{Source: src, Sealer: f.sealer, Log: quietLog(), Poll: time.Hour, Snapshot: path, SnapshotEvery: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := first.Start(ctx); err != nil {
		t.Fatal(err)
	}
	first.SaveSnapshot()
	seed := maphash.MakeSeed()
	loaded, _, _, err := loadSnapshot(seed, path, now, false)
	if err != nil {
		t.Fatal(err)
	}
	states, hdr, err := readSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	whole := load(seed, states, hdr.Rev, now, false)
	for _, h := range hosts {
		if got, want := describe(loaded, h), describe(whole, h); got != want {
			t.Errorf("%s loaded from the snapshot:\n got %s\nwant %s", h, got, want)
		}
		if got, want := describe(loaded, h), describe(first.Index(), h); got != want {
			t.Errorf("%s loaded from the snapshot, against the edge that wrote it:\n got %s\nwant %s", h, got, want)
		}
	}
}

// site writes one site's record as given (indexSite writes the index's):
// for tests and benchmarks that write snapshots of their own making.
func (sw *snapshotWriter) site(s snapshotSite) error { return sw.enc.Encode(&s) }

// chunk writes more certificates of the site written last, as given.
func (sw *snapshotWriter) chunk(c snapshotChunk) error { return sw.enc.Encode(&c) }
