package ocsp_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/ocsp"
	"github.com/esacert/esacert/internal/ocsp/ocsptest"
	"github.com/esacert/esacert/internal/pkitest"
)

// memStore is a cert.OCSPStore held in memory: one certificate per id, its
// kept response and its next fetch.
type memStore struct {
	mu    sync.Mutex
	certs map[string]cert.OCSPDue
	kept  map[string]cert.OCSPResponse
	rev   int64
	// unqueued are certificates written without their queue entry (by a
	// node of an older version): ClaimOCSP misses them until CatchUpOCSP.
	unqueued   map[string]cert.OCSPDue
	catchUps   int
	catchUpErr error
}

func newMemStore() *memStore {
	return &memStore{certs: map[string]cert.OCSPDue{}, kept: map[string]cert.OCSPResponse{}}
}

func (m *memStore) add(id string, l *pkitest.Leaf) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sum := sha256.Sum256(l.Cert.Raw)
	m.certs[id] = cert.OCSPDue{CertificateID: id, SiteID: 1, Fingerprint: hex.EncodeToString(sum[:]), ChainPEM: l.ChainPEM}
}

func (m *memStore) ClaimOCSP(_ context.Context, now, until time.Time, n int) ([]cert.OCSPDue, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []cert.OCSPDue
	for id, c := range m.certs {
		k, ok := m.kept[id]
		if ok && k.Fingerprint == c.Fingerprint && k.Next.After(now) || len(out) == n {
			continue
		}
		if !ok || k.Fingerprint != c.Fingerprint {
			k = cert.OCSPResponse{CertificateID: id, Fingerprint: c.Fingerprint}
		}
		c.Last = k
		k.Next = until
		m.kept[id] = k
		out = append(out, c)
	}
	return out, nil
}

func (m *memStore) SaveOCSP(_ context.Context, r cert.OCSPResponse) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rev++
	r.Rev = m.rev
	m.kept[r.CertificateID] = r
	return nil
}

func (m *memStore) OCSPResponses(context.Context, int64) ([]cert.OCSPResponse, int64, error) {
	panic("not used")
}

func (m *memStore) CatchUpOCSP(_ context.Context, since int64) (int, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.catchUps++
	if m.catchUps == 1 && since != 0 {
		m.catchUpErr = errors.New("the first catch-up does not read every certificate")
	}
	n := len(m.unqueued)
	for id, c := range m.unqueued {
		m.certs[id] = c
	}
	clear(m.unqueued)
	return n, since + 1, nil
}

// addUnqueued adds a certificate as a node of an older version writes it.
func (m *memStore) addUnqueued(id string, l *pkitest.Leaf) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sum := sha256.Sum256(l.Cert.Raw)
	if m.unqueued == nil {
		m.unqueued = map[string]cert.OCSPDue{}
	}
	m.unqueued[id] = cert.OCSPDue{CertificateID: id, SiteID: 1, Fingerprint: hex.EncodeToString(sum[:]), ChainPEM: l.ChainPEM}
}

func (m *memStore) get(id string) cert.OCSPResponse {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.kept[id]
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type pki struct {
	root, inter *pkitest.CA
	responder   *ocsptest.Responder
}

func newPKI(t *testing.T) pki {
	now := time.Now()
	root := pkitest.NewCA(t, "OCSP Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	inter := root.Intermediate(t, "OCSP Intermediate", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	return pki{root: root, inter: inter, responder: ocsptest.New(t, inter.Cert, inter.Key)}
}

func (p pki) leaf(t *testing.T, name string) *pkitest.Leaf {
	return p.inter.Leaf(t, pkitest.LeafOptions{DNSNames: []string{name}, OCSPServer: []string{p.responder.URL}})
}

// TestRefresh: a certificate naming a responder gets a verified good
// response kept with its validity and a next fetch at about half of it; a
// revoked one gets "revoked"; one naming no responder "none", not fetched.
func TestRefresh(t *testing.T) {
	p := newPKI(t)
	store := newMemStore()
	good, revoked := p.leaf(t, "good.example.com"), p.leaf(t, "revoked.example.com")
	bare := p.inter.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"bare.example.com"}})
	store.add("good", good)
	store.add("revoked", revoked)
	store.add("bare", bare)
	p.responder.Revoke(revoked.Cert.SerialNumber)
	r := &ocsp.Refresher{Store: store, Log: quiet}
	if n, err := r.RefreshDue(t.Context()); err != nil || n != 3 {
		t.Fatalf("RefreshDue = %d, %v; want 3 certificates", n, err)
	}
	g := store.get("good")
	if g.Status != cert.OCSPGood || len(g.Response) == 0 || g.Error != "" {
		t.Fatalf("good certificate kept %+v", g)
	}
	parsed, err := xocsp.ParseResponseForCert(g.Response, good.Cert, p.inter.Cert)
	if err != nil || parsed.Status != xocsp.Good {
		t.Fatalf("kept response does not verify: %v", err)
	}
	window := g.NextUpdate.Sub(g.ThisUpdate)
	if half := g.ThisUpdate.Add(window / 2); g.Next.Before(half) || g.Next.After(half.Add(window/10)) {
		t.Errorf("next fetch %v, want half the validity (%v) plus at most a tenth", g.Next, half)
	}
	if rv := store.get("revoked"); rv.Status != cert.OCSPRevoked || rv.RevokedAt.IsZero() {
		t.Errorf("revoked certificate kept %+v", rv)
	}
	if b := store.get("bare"); b.Status != cert.OCSPNone || b.Response != nil || !b.Next.After(time.Now().Add(23*time.Hour)) {
		t.Errorf("certificate without responder kept %+v", b)
	}
	before := p.responder.Requests.Load()
	if n, err := r.RefreshDue(t.Context()); err != nil || n != 0 {
		t.Errorf("second round = %d, %v; want nothing due", n, err)
	}
	if p.responder.Requests.Load() != before {
		t.Error("the responder was asked again before half the validity")
	}
}

// TestRunCatchesUp: Run has the store queue what its queue misses when it
// starts (reading everything: since 0) and again every CatchUp (from what
// the run before returned), so a certificate a node of an older version
// wrote without its queue entry is fetched, whether it was there before
// Run started or came later.
func TestRunCatchesUp(t *testing.T) {
	p := newPKI(t)
	store := newMemStore()
	store.addUnqueued("before", p.leaf(t, "before.example.com"))
	r := &ocsp.Refresher{Store: store, Log: quiet, CatchUp: 20 * time.Millisecond}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx, 10*time.Millisecond)
	}()
	defer func() { cancel(); <-done }()
	waitGood := func(id string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); store.get(id).Status != cert.OCSPGood; {
			if time.Now().After(deadline) {
				t.Fatalf("certificate %q never fetched: %+v", id, store.get(id))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitGood("before")
	store.addUnqueued("later", p.leaf(t, "later.example.com"))
	waitGood("later")
	store.mu.Lock()
	defer store.mu.Unlock()
	if store.catchUps < 2 || store.catchUpErr != nil {
		t.Errorf("%d catch-ups: %v", store.catchUps, store.catchUpErr)
	}
}

// TestRefreshFailures: a responder that is down, or whose response does not
// verify against the issuer, keeps the response fetched before, records the
// error and backs off.
func TestRefreshFailures(t *testing.T) {
	p := newPKI(t)
	store := newMemStore()
	l := p.leaf(t, "www.example.com")
	store.add("c", l)
	now := time.Now()
	clock := now
	r := &ocsp.Refresher{Store: store, Log: quiet, Now: func() time.Time { return clock }, RetryBase: time.Minute}
	if _, err := r.RefreshDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	first := store.get("c")
	if first.Status != cert.OCSPGood {
		t.Fatalf("first fetch kept %+v", first)
	}
	p.responder.SetDown(true)
	clock = first.Next.Add(time.Second)
	if _, err := r.RefreshDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	down := store.get("c")
	if down.Status != cert.OCSPGood || string(down.Response) != string(first.Response) || down.Failures != 1 ||
		!strings.Contains(down.Error, "503") {
		t.Fatalf("after a failed fetch kept %+v; want the first response, one failure, the error", down)
	}
	if wait := down.Next.Sub(clock); wait > time.Minute || wait < 54*time.Second {
		t.Errorf("retry in %v, want about a minute", wait)
	}
	clock = down.Next.Add(time.Second)
	r.RefreshDue(t.Context())
	if again := store.get("c"); again.Failures != 2 || again.Next.Sub(clock) < 108*time.Second {
		t.Errorf("second failure kept %+v; want the wait doubled", again)
	}

	p.responder.SetDown(false)
	other := pkitest.NewCA(t, "Not The Issuer", now.Add(-time.Hour), now.Add(time.Hour))
	p.responder.SignWith(other.Key)
	clock = store.get("c").Next.Add(time.Second)
	r.RefreshDue(t.Context())
	if bad := store.get("c"); bad.Failures != 3 || !strings.Contains(bad.Error, "not usable") ||
		string(bad.Response) != string(first.Response) {
		t.Errorf("a response signed by another key kept %+v; want it refused", bad)
	}
}

// TestChain: the responder and the issuer come from the chain.
func TestChain(t *testing.T) {
	p := newPKI(t)
	l := p.leaf(t, "www.example.com")
	leaf, issuer, url, err := ocsp.Chain(l.ChainPEM)
	if err != nil || url != p.responder.URL || !issuer.Equal(p.inter.Cert) || !leaf.Equal(l.Cert) {
		t.Fatalf("Chain = %v, %v, %q, %v", leaf != nil, issuer != nil, url, err)
	}
	if _, _, _, err := ocsp.Chain(l.CertPEM); err != ocsp.ErrNoResponder {
		t.Errorf("Chain of a leaf alone = %v, want ErrNoResponder", err)
	}
}

// TestFetchPost: a request too long for a GET URL goes by POST.
func TestFetchPost(t *testing.T) {
	p := newPKI(t)
	l := p.leaf(t, "www.example.com")
	long := p.responder.URL + "/" + strings.Repeat("x", 250)
	before := p.responder.Requests.Load()
	_, resp, err := ocsp.Fetch(t.Context(), &http.Client{Timeout: 5 * time.Second}, long, l.Cert, p.inter.Cert)
	if err != nil || resp.Status != xocsp.Good || p.responder.Requests.Load() != before+1 {
		t.Fatalf("Fetch by POST = %v, %v", resp, err)
	}
}
