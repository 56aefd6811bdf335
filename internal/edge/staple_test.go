package edge

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/site"
)

// memStaples is a StapleSource held in memory.
type memStaples struct {
	mu   sync.Mutex
	list []Staple // in revision order: revision i+1
	fail bool
}

func (m *memStaples) put(s Staple) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.list = append(m.list, s)
}

func (m *memStaples) Staples(_ context.Context, after int64) ([]Staple, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return nil, after, errors.New("database is locked")
	}
	if int(after) >= len(m.list) {
		return nil, after, nil
	}
	return append([]Staple(nil), m.list[after:]...), int64(len(m.list)), nil
}

// stapleFixture mints leaves that name an OCSP responder, and signs OCSP
// responses for them as their issuer.
type stapleFixture struct {
	*fixture
}

// leaf mints a certificate for names (Must-Staple when must).
func (f stapleFixture) leaf(t testing.TB, must bool, names ...string) (cert.Certificate, *pkitest.Leaf) {
	t.Helper()
	l := f.inter.Leaf(t, pkitest.LeafOptions{DNSNames: names, NotBefore: now.Add(-2 * time.Hour),
		NotAfter: now.Add(60 * 24 * time.Hour), OCSPServer: []string{"http://127.0.0.1:9/ocsp"}, MustStaple: must})
	p, err := certcheck.Check(l.ChainPEM, l.KeyPEM, now)
	if err != nil {
		t.Fatal(err)
	}
	f.n++
	c := cert.Certificate{ID: strings.Repeat("5", 31) + string(rune('a'+f.n)), Type: cert.TypeUpload, Info: p.Info}
	for _, x := range p.Chain {
		c.ChainPEM += string(pemOf(x))
	}
	if c.SealedKey, err = cert.SealKey(f.sealer, c.ID, []byte(l.KeyPEM)); err != nil {
		t.Fatal(err)
	}
	return c, l
}

// staple signs a response for l with status, valid from an hour ago to
// until, as the store would hand it to the edge.
func (f stapleFixture) staple(t testing.TB, c cert.Certificate, l *pkitest.Leaf, status int, until time.Time) Staple {
	t.Helper()
	tmpl := xocsp.Response{Status: status, SerialNumber: l.Cert.SerialNumber, ThisUpdate: now.Add(-time.Hour).Truncate(time.Second),
		NextUpdate: until.Truncate(time.Second)}
	if status == xocsp.Revoked {
		tmpl.RevokedAt = now.Add(-time.Minute).Truncate(time.Second)
	}
	der, err := xocsp.CreateResponse(f.inter.Cert, f.inter.Cert, tmpl, f.inter.Key)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(l.Cert.Raw)
	st := map[int]string{xocsp.Good: cert.OCSPGood, xocsp.Revoked: cert.OCSPRevoked, xocsp.Unknown: cert.OCSPUnknown}[status]
	return Staple{CertificateID: c.ID, Fingerprint: hex.EncodeToString(sum[:]), Status: st, Response: der,
		ThisUpdate: tmpl.ThisUpdate, NextUpdate: tmpl.NextUpdate}
}

// stapledHandshake connects with SNI name as a client that asks for the
// certificate's status, checks any staple against the issuer in
// VerifyConnection, and returns the served leaf and the staple.
func stapledHandshake(t *testing.T, addr, name string, issuer *x509.Certificate) (*x509.Certificate, []byte, error) {
	t.Helper()
	var staple []byte
	var leaf *x509.Certificate
	cfg := &tls.Config{ServerName: name, InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			leaf, staple = cs.PeerCertificates[0], cs.OCSPResponse
			if len(staple) == 0 {
				return nil
			}
			r, err := xocsp.ParseResponseForCert(staple, leaf, issuer)
			if err != nil {
				return err
			}
			if r.Status != xocsp.Good {
				return errors.New("stapled a response that is not good")
			}
			return nil
		}}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return nil, nil, err
	}
	conn.Close()
	return leaf, staple, nil
}

// TestOCSPStapling: hosts with OcspStapling on get the certificate's good
// response stapled, verified by a real TLS client; hosts with it off, on
// the same certificate, get none. A staple that arrives is served at the
// next read without a site reload; a revoked, expired, unknown or
// replaced-leaf response is never stapled; without any response (a
// responder down) the handshake goes on without a staple.
func TestOCSPStapling(t *testing.T) {
	f := stapleFixture{newFixture(t)}
	c, l := f.leaf(t, false, "www.example.com", "api.example.com")
	src := newMemSource()
	st := siteState(1, "example.com", site.SiteActive, c)
	on := DefaultHostPolicy()
	on.OCSP = true
	st.Policy.Hosts = map[string]HostPolicy{"www.example.com": on}
	src.put(st)
	staples := &memStaples{}
	e, addr := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, Staples: staples})

	// No response yet (the responder is down): served, no staple.
	if _, s, err := stapledHandshake(t, addr, "www.example.com", f.inter.Cert); err != nil || s != nil {
		t.Fatalf("without a response: staple %d bytes, %v; want a handshake without staple", len(s), err)
	}
	good := f.staple(t, c, l, xocsp.Good, now.Add(24*time.Hour))
	staples.put(good)
	if err := e.loadStaples(t.Context()); err != nil {
		t.Fatal(err)
	}
	full := src.full
	leaf, s, err := stapledHandshake(t, addr, "www.example.com", f.inter.Cert)
	if err != nil || !bytes.Equal(s, good.Response) || !leaf.Equal(l.Cert) {
		t.Fatalf("host with OcspStapling on: staple %d bytes, %v; want the good response", len(s), err)
	}
	if src.full != full {
		t.Error("a new staple reloaded the sites")
	}
	if _, s, err := stapledHandshake(t, addr, "api.example.com", f.inter.Cert); err != nil || s != nil {
		t.Errorf("host with OcspStapling off: staple %d bytes, %v; want none", len(s), err)
	}
	// The stapled copy is made once and shared.
	hello := &tls.ClientHelloInfo{ServerName: "www.example.com"}
	c1, _ := e.GetCertificate(hello)
	c2, _ := e.GetCertificate(hello)
	if c1 != c2 || c1.OCSPStaple == nil {
		t.Error("the stapled certificate is made on every handshake")
	}
	if c3, _ := e.GetCertificate(&tls.ClientHelloInfo{ServerName: "api.example.com"}); c3.OCSPStaple != nil {
		t.Error("stapling one host stapled the certificate shared with another")
	}

	other, otherLeaf := f.leaf(t, false, "other.example.com")
	wrongLeaf := f.staple(t, other, otherLeaf, xocsp.Good, now.Add(24*time.Hour))
	wrongLeaf.CertificateID = c.ID // a response for a leaf replaced since
	for _, tt := range []struct {
		name   string
		staple Staple
	}{
		{"revoked", f.staple(t, c, l, xocsp.Revoked, now.Add(24*time.Hour))},
		{"expired", f.staple(t, c, l, xocsp.Good, now.Add(-time.Minute))},
		{"unknown", f.staple(t, c, l, xocsp.Unknown, now.Add(24*time.Hour))},
		{"replaced_leaf", wrongLeaf},
	} {
		t.Run(tt.name, func(t *testing.T) {
			staples.put(tt.staple)
			if err := e.loadStaples(t.Context()); err != nil {
				t.Fatal(err)
			}
			if _, s, err := stapledHandshake(t, addr, "www.example.com", f.inter.Cert); err != nil || s != nil {
				t.Errorf("staple %d bytes, %v; want a handshake without staple", len(s), err)
			}
		})
	}
	// A store that cannot be read keeps the staples the edge has.
	staples.put(good)
	e.loadStaples(t.Context())
	staples.mu.Lock()
	staples.fail = true
	staples.mu.Unlock()
	if err := e.loadStaples(t.Context()); err == nil {
		t.Fatal("loadStaples from a failing store succeeded")
	}
	if _, s, err := stapledHandshake(t, addr, "www.example.com", f.inter.Cert); err != nil || !bytes.Equal(s, good.Response) {
		t.Errorf("with the store down: staple %d bytes, %v; want the good response kept", len(s), err)
	}
}

// TestStaplesGoWithTheirCertificates: the store drops a certificate's
// OCSP response with it, and no read of the staples says so; the edge
// drops the staple when the change feed takes the certificate out, whether
// it was deleted alone, left out of its site's new state or went with its
// site, and a read begun before the deletion that still returns the
// response does not put it back.
func TestStaplesGoWithTheirCertificates(t *testing.T) {
	f := stapleFixture{newFixture(t)}
	a, la := f.leaf(t, false, "a.example.com")
	b, lb := f.leaf(t, false, "b.example.com")
	d, ld := f.leaf(t, false, "d.example.org")
	src := newMemSource()
	src.put(siteState(1, "example.com", site.SiteActive, a, b))
	src.put(siteState(2, "example.org", site.SiteActive, d))
	staples := &memStaples{}
	e, _ := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, Staples: staples})
	sa, sb, sd := f.staple(t, a, la, xocsp.Good, now.Add(24*time.Hour)), f.staple(t, b, lb, xocsp.Good, now.Add(24*time.Hour)),
		f.staple(t, d, ld, xocsp.Good, now.Add(24*time.Hour))
	for _, s := range []Staple{sa, sb, sd} {
		staples.put(s)
	}
	if err := e.loadStaples(t.Context()); err != nil {
		t.Fatal(err)
	}
	held := func() []string {
		var ids []string
		e.staples.m.Range(func(k, _ any) bool { ids = append(ids, k.(string)); return true })
		slices.Sort(ids)
		return ids
	}
	want := []string{a.ID, b.ID, d.ID}
	slices.Sort(want)
	if got := held(); !slices.Equal(got, want) {
		t.Fatalf("staples held %v, want %v", got, want)
	}

	// b deleted alone (a certificate change); the next read still returns
	// b's response, as a read begun before the deletion would.
	src.deleteCert(1, b.ID)
	e.Refresh(t.Context())
	staples.put(sb)
	if err := e.loadStaples(t.Context()); err != nil {
		t.Fatal(err)
	}
	want = []string{a.ID, d.ID}
	slices.Sort(want)
	if got := held(); !slices.Equal(got, want) {
		t.Errorf("after b was deleted: staples held %v, want %v", got, want)
	}

	// x deleted while the feed did not reach back far enough: the
	// edge reloads every site.
	ex, lx := f.leaf(t, false, "x.example.com")
	src.put(siteState(1, "example.com", site.SiteActive, a, ex))
	e.Refresh(t.Context())
	staples.put(f.staple(t, ex, lx, xocsp.Good, now.Add(24*time.Hour)))
	if err := e.loadStaples(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.staples.m.Load(ex.ID); !ok {
		t.Fatal("x's staple is not held")
	}
	src.deleteCert(1, ex.ID)
	src.mu.Lock()
	src.partial = true
	src.mu.Unlock()
	full := src.full
	e.Refresh(t.Context())
	if src.full == full {
		t.Fatal("the edge did not reload every site")
	}
	src.mu.Lock()
	src.partial = false
	src.mu.Unlock()
	if err := e.loadStaples(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.staples.m.Load(ex.ID); ok {
		t.Error("after a whole reload without x: its staple is still held")
	}

	// a left out of its site's new state (a site reload).
	st := siteState(1, "example.com", site.SiteActive)
	src.put(st)
	e.Refresh(t.Context())
	// d's site deleted.
	src.deleteSite(2)
	e.Refresh(t.Context())
	if err := e.loadStaples(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := held(); len(got) != 0 {
		t.Errorf("after every certificate went: staples held %v, want none", got)
	}
}

// TestMustStaple: a Must-Staple certificate is served only with a good
// response (stapled whatever the host's setting); without one another
// certificate of the host is served, or else the handshake fails.
func TestMustStaple(t *testing.T) {
	f := stapleFixture{newFixture(t)}
	must, l := f.leaf(t, true, "www.example.com", "only.example.com")
	plain, plainLeaf := f.leaf(t, false, "www.example.com")
	src := newMemSource()
	src.put(siteState(1, "example.com", site.SiteActive, must, plain))
	staples := &memStaples{}
	e, addr := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, Staples: staples})

	if _, _, err := stapledHandshake(t, addr, "only.example.com", f.inter.Cert); err == nil {
		t.Fatal("a Must-Staple certificate was served without a response")
	}
	if leaf, _, err := stapledHandshake(t, addr, "www.example.com", f.inter.Cert); err != nil || !leaf.Equal(plainLeaf.Cert) {
		t.Fatalf("host with another certificate: %v; want the other certificate served", err)
	}
	staples.put(f.staple(t, must, l, xocsp.Revoked, now.Add(24*time.Hour)))
	e.loadStaples(t.Context())
	if _, _, err := stapledHandshake(t, addr, "only.example.com", f.inter.Cert); err == nil {
		t.Fatal("a revoked Must-Staple certificate was served")
	}
	good := f.staple(t, must, l, xocsp.Good, now.Add(24*time.Hour))
	staples.put(good)
	e.loadStaples(t.Context())
	leaf, s, err := stapledHandshake(t, addr, "only.example.com", f.inter.Cert)
	if err != nil || !leaf.Equal(l.Cert) || !bytes.Equal(s, good.Response) {
		t.Fatalf("Must-Staple with a good response: %v, staple %d bytes; want it served stapled (OcspStapling off)", err, len(s))
	}
	if !cert.LeafMustStaple(leaf.Raw) || cert.LeafMustStaple(plainLeaf.Cert.Raw) {
		t.Error("mustStaple misreads the TLS Feature extension")
	}
}

// BenchmarkGetCertificateStaple picks the certificate of a host (no TLS):
// with stapling off, with it on (the stapled copy served), and for a
// Must-Staple certificate; the staple's lookup is one sync.Map read.
//
//	go test ./internal/edge -run '^$' -bench GetCertificateStaple -benchmem
func BenchmarkGetCertificateStaple(b *testing.B) {
	t := b
	f := stapleFixture{newFixture(b)}
	c, l := f.leaf(t, false, "off.example.com", "on.example.com")
	must, ml := f.leaf(t, true, "must.example.com")
	st := siteState(1, "example.com", site.SiteActive, c, must)
	on := DefaultHostPolicy()
	on.OCSP = true
	st.Policy.Hosts = map[string]HostPolicy{"on.example.com": on}
	src := newMemSource()
	src.put(st)
	staples := &memStaples{}
	staples.put(f.staple(t, c, l, xocsp.Good, now.Add(24*time.Hour)))
	staples.put(f.staple(t, must, ml, xocsp.Good, now.Add(24*time.Hour)))
	e := &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, Staples: staples, Log: quietLog()}
	if err := e.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	if err := e.loadStaples(b.Context()); err != nil {
		b.Fatal(err)
	}
	for _, host := range []string{"off.example.com", "on.example.com", "must.example.com"} {
		hello := &tls.ClientHelloInfo{ServerName: host}
		b.Run(strings.Split(host, ".")[0], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if c, _ := e.GetCertificate(hello); c == nil || (host != "off.example.com") != (c.OCSPStaple != nil) {
					b.Fatal("wrong certificate")
				}
			}
		})
	}
}

// TestStaplesInSnapshot: an edge keeps its good OCSP responses in a file
// beside its snapshot (written when they change, not when they do not); an
// edge started from the snapshot while the store is down staples them, a
// Must-Staple certificate included, until the store answers, whose staples
// then replace the file's; a damaged file is refused.
func TestStaplesInSnapshot(t *testing.T) {
	f := stapleFixture{newFixture(t)}
	c, l := f.leaf(t, false, "www.example.com")
	m, lm := f.leaf(t, true, "must.example.com")
	src := newMemSource()
	st := siteState(1, "example.com", site.SiteActive, c, m)
	on := DefaultHostPolicy()
	on.OCSP = true
	st.Policy.Hosts = map[string]HostPolicy{"www.example.com": on}
	src.put(st)
	good, goodMust := f.staple(t, c, l, xocsp.Good, now.Add(24*time.Hour)), f.staple(t, m, lm, xocsp.Good, now.Add(24*time.Hour))
	staples := &memStaples{list: []Staple{good, goodMust}}
	path := filepath.Join(t.TempDir(), "edge-snapshot")
	first, _ := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, Snapshot: path, SnapshotEvery: time.Hour, Staples: staples})
	if err := first.loadStaples(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := first.SaveSnapshot(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(stapleSnapshotPath(path)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("staples' file not written 0600: %v %v", fi, err)
	}
	first.snapMu.Lock()
	if wrote, err := first.saveStapleSnapshot(time.Now(), true); wrote || err != nil {
		t.Errorf("unchanged staples were written again (%v, %v)", wrote, err)
	}
	// Changed, the staples wait for the next write every so often, unless
	// it is forced (a node's last write, at shutdown).
	staples.put(goodMust)
	if err := first.loadStaples(t.Context()); err != nil {
		t.Fatal(err)
	}
	if wrote, err := first.saveStapleSnapshot(time.Now(), false); wrote || err != nil {
		t.Errorf("changed staples were written again at once (%v, %v)", wrote, err)
	}
	if wrote, err := first.saveStapleSnapshot(time.Now().Add(stapleSaveEvery), false); !wrote || err != nil {
		t.Errorf("changed staples were not written %v later (%v, %v)", stapleSaveEvery, wrote, err)
	}
	first.snapMu.Unlock()

	down := newMemSource()
	down.fail = true
	downStaples := &memStaples{fail: true}
	second, addr := serveEdge(t, &Edge{Source: down, Sealer: f.sealer, Poll: time.Hour, Snapshot: path, SnapshotEvery: time.Hour,
		Staples: downStaples})
	if !second.Stale() {
		t.Fatal("the second edge did not start from the snapshot")
	}
	if leaf, s, err := stapledHandshake(t, addr, "www.example.com", f.inter.Cert); err != nil || !bytes.Equal(s, good.Response) || !leaf.Equal(l.Cert) {
		t.Errorf("from the snapshot, store down: staple %d bytes, %v; want the good response", len(s), err)
	}
	if leaf, s, err := stapledHandshake(t, addr, "must.example.com", f.inter.Cert); err != nil || !bytes.Equal(s, goodMust.Response) || !leaf.Equal(lm.Cert) {
		t.Errorf("from the snapshot, store down: the Must-Staple certificate: staple %d bytes, %v; want it served stapled", len(s), err)
	}

	// The store answers, and holds only www's response now.
	downStaples.mu.Lock()
	downStaples.fail, downStaples.list = false, []Staple{good}
	downStaples.mu.Unlock()
	if err := second.loadStaples(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, ok := second.staples.m.Load(m.ID); ok {
		t.Error("a staple of the file that the store no longer holds is still held")
	}
	if _, ok := second.staples.m.Load(c.ID); !ok {
		t.Error("the store's staple is not held")
	}

	// A damaged file is refused whole.
	data, _ := os.ReadFile(stapleSnapshotPath(path))
	data[len(data)/2] ^= 0xff
	os.WriteFile(stapleSnapshotPath(path), data, 0o600)
	third := &Edge{Snapshot: path}
	if n, err := third.loadStapleSnapshot(); !errors.Is(err, errSnapshotCorrupt) || n != 0 {
		t.Errorf("a damaged staples' file: %d read, %v; want it refused", n, err)
	}
}
