package edge

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/esacert/esacert/internal/cert"
)

// OCSP stapling. The responses are fetched elsewhere (internal/ocsp, on the
// nodes with the renewer role) and kept in the store; the edge reads the
// ones saved since it last looked (Edge.Staples, every Poll) into a map of
// its own keyed by certificate id, apart from the index: a new response
// costs one map entry, never a site's reload, and a handshake never waits
// for a responder.
//
// One tls.Certificate is shared by every host a certificate serves, but
// stapling is a setting of each host (OcspStapling), so a stapled copy of
// it (the same chain and key, with OCSPStaple set) is made once per
// response and built certificate (it lives in the certificate's cache
// entry, certcache.go) and served to the hosts that staple. A response is stapled only
// while it is valid (ThisUpdate ≤ now < NextUpdate), says "good" and is for
// the certificate's current leaf; a revoked certificate is never stapled
// (the fetcher logs it).
//
// A certificate with the TLS Feature extension asking for status_request
// (Must-Staple, RFC 7633) is served only with a good response, whatever the
// host's setting: a client that honours the extension refuses it without
// one. Without one the edge serves another certificate of the host if it
// can, else fails the handshake, and logs why once per certificate and
// reason.

// Staple is a certificate's OCSP state as the store keeps it.
type Staple struct {
	CertificateID string
	Fingerprint   string // hex SHA-256 of the leaf the response is for
	Status        string // good, revoked, unknown, none or "" (never fetched)
	Response      []byte // DER
	ThisUpdate    time.Time
	NextUpdate    time.Time
	Error         string // why the last fetch failed, if it did
}

// StapleSource is where the edge reads the OCSP responses.
type StapleSource interface {
	// Staples returns the staples saved after revision after (all of them
	// for 0) and the last revision returned (after when none is).
	Staples(ctx context.Context, after int64) ([]Staple, int64, error)
}

// stapleEntry is one certificate's staple as the edge keeps it, in fewer
// bytes than a Staple (BenchmarkStapleMemory): the fingerprint as its 32
// bytes, the times in seconds (an OCSP response's are), a known status as
// the package's constant. A new response is a new entry.
type stapleEntry struct {
	response   []byte // DER
	fp         [sha256.Size]byte
	thisUpdate int64 // Unix seconds
	nextUpdate int64
	status     string
	err        string
}

// newStapleEntry makes s's entry. A fingerprint that is not a SHA-256 in
// hex (none the store writes) leaves fp zero, which no leaf has.
func newStapleEntry(s Staple) *stapleEntry {
	ent := &stapleEntry{response: bytes.Clone(s.Response), thisUpdate: s.ThisUpdate.Unix(), nextUpdate: s.NextUpdate.Unix(),
		status: s.Status, err: s.Error}
	if i := slices.Index(ocspStatuses, s.Status); i >= 0 {
		ent.status = ocspStatuses[i] // not the reader's copy
	}
	if b, err := hex.DecodeString(s.Fingerprint); err == nil && len(b) == sha256.Size {
		ent.fp = [sha256.Size]byte(b)
	}
	return ent
}

// goodAt reports whether ent is a good response that has not expired at
// now (certFor also wants it issued by then, give or take a clock's skew).
func (ent *stapleEntry) goodAt(now time.Time) bool {
	return ent != nil && ent.status == cert.OCSPGood && len(ent.response) > 0 && now.Unix() < ent.nextUpdate
}

// ocspStatuses are the states a staple may be in.
var ocspStatuses = []string{cert.OCSPGood, cert.OCSPRevoked, cert.OCSPUnknown, ""}

// stapledCert is a built certificate c with the staple of the entry from
// (kept in the certificate's cache entry, see certcache.go).
type stapledCert struct {
	from *stapleEntry
	c    *tls.Certificate
}

// staples holds the edge's staples by certificate id.
type staples struct {
	m      sync.Map   // certificate id → *stapleEntry
	read   sync.Mutex // one read at a time
	rev    int64      // the last revision read, under read
	warned sync.Map   // "certificate id|reason" → struct{}: logged once
	// gone are the ids of certificates the store no longer holds, whose
	// staples the next read drops (see certsGone).
	goneMu sync.Mutex
	gone   []string
	// gen counts the changes of m; savedGen is the count the staples' file
	// was last written at (staple_snapshot.go).
	gen, savedGen atomic.Uint64
	nextSave      time.Time // when the file may be written again, under Edge.snapMu
	// failures counts the reads failed in a row.
	failures atomic.Int64
}

// loadStaples reads the staples saved since the last read.
func (e *Edge) loadStaples(ctx context.Context) error {
	e.staples.read.Lock()
	defer e.staples.read.Unlock()
	list, rev, err := e.Staples.Staples(ctx, e.staples.rev)
	defer e.dropGone() // after what this read stores: see certsGone
	if err != nil {
		// A node's edge starts before its database is reached: only a
		// failure that lasts is worth a line.
		if e.staples.failures.Add(1) == 4 {
			e.log().Warn("edge cannot read the OCSP responses; stapling what it has", "error", err)
		}
		return err
	}
	if e.staples.failures.Swap(0) >= 4 {
		e.log().Info("edge reads the OCSP responses again")
	}
	if e.staples.rev == 0 {
		// A read of every staple: the store's word replaces what the
		// staples' file gave an edge started from its snapshot.
		held := make(map[string]bool, len(list))
		for _, s := range list {
			held[s.CertificateID] = true
		}
		e.staples.m.Range(func(k, _ any) bool {
			if !held[k.(string)] {
				e.staples.m.Delete(k)
				e.staples.gen.Add(1)
			}
			return true
		})
	}
	for _, s := range list {
		if s.Status == "none" || s.Status == "" && s.Error == "" {
			// Nothing to staple nor to say: no entry (the map holds
			// only what a handshake may use or a refusal name).
			e.staples.m.Delete(s.CertificateID)
			continue
		}
		e.staples.m.Store(s.CertificateID, newStapleEntry(s))
	}
	if len(list) > 0 {
		e.staples.gen.Add(1) // after the changes: a file written at this count holds them
	}
	e.staples.rev = rev
	return nil
}

// certsGone notes that the store no longer holds the certificates of ids
// (the index learnt it from the change feed): their staples are dropped.
// The store drops a certificate's response with it, so no later read
// brings it back, and no read says it went: without this the map would
// keep a deleted certificate's response until the node restarts. They are
// dropped by the next read of the staples, after it has stored what it
// read, since a read begun before the deletion may still return the
// response: a read that stored it has the id dropped at its end, or at the
// end of the next one.
func (e *Edge) certsGone(ids []string) {
	if len(ids) == 0 || e.Staples == nil { // without staples, no read drains them
		return
	}
	e.staples.goneMu.Lock()
	e.staples.gone = append(e.staples.gone, ids...)
	e.staples.goneMu.Unlock()
}

// dropGone drops the staples of the certificates noted gone. The caller
// holds e.staples.read.
func (e *Edge) dropGone() {
	e.staples.goneMu.Lock()
	gone := e.staples.gone
	e.staples.gone = nil
	e.staples.goneMu.Unlock()
	if len(gone) == 0 {
		return
	}
	set := make(map[string]bool, len(gone))
	for _, id := range gone {
		e.staples.m.Delete(id)
		set[id] = true
	}
	e.staples.gen.Add(1)
	e.staples.warned.Range(func(k, _ any) bool {
		if id, _, _ := strings.Cut(k.(string), "|"); set[id] {
			e.staples.warned.Delete(k)
		}
		return true
	})
}

// goneOf returns the ids of the certificates that applying states and
// updates to ix takes out because the store no longer holds them: an
// update's ids it has no certificate for, and the certificates a site held
// in ix that its new state has not (all of them for a deleted site).
func goneOf(ix *Index, states []SiteState, updates []certUpdate) []string {
	var gone []string
	for _, u := range updates {
		for _, id := range u.ids {
			if !slices.ContainsFunc(u.certs, func(c cert.Certificate) bool { return c.ID == id }) {
				gone = append(gone, id)
			}
		}
	}
	for _, st := range states {
		old, ok := ix.sites.Get(strconv.FormatInt(st.ID, 10))
		if !ok || old.certs.Len() == 0 {
			continue
		}
		gone = goneFrom(gone, old, idsOf([]SiteState{st}))
	}
	return gone
}

// idsOf is the set of the ids of the certificates of states.
func idsOf(states []SiteState) map[string]bool {
	ids := map[string]bool{}
	for _, st := range states {
		for _, c := range st.Certificates {
			ids[c.ID] = true
		}
	}
	return ids
}

// goneFrom appends to gone the ids of the certificates e holds that held
// has not. A twin (cert.TwinID) has no staple of its own: its id is left
// out.
func goneFrom(gone []string, e siteEntry, held map[string]bool) []string {
	e.certs.each(func(id string, _ *served) bool {
		if !held[id] && !strings.HasSuffix(id, cert.TwinID("")) {
			gone = append(gone, id)
		}
		return true
	})
	return gone
}

// goneBetween returns the ids of the certificates that old holds and the
// store's states (all of them) do not, for a whole reload of the index (a
// change feed that does not reach back far enough).
func goneBetween(old *Index, states []SiteState) []string {
	if old == nil || old.snapshot { // the staples' first full read sees to those
		return nil
	}
	held := idsOf(states)
	var gone []string
	old.sites.each(func(e siteEntry) bool {
		gone = goneFrom(gone, e, held)
		return true
	})
	return gone
}

// followStaples reads the staples at once, then new ones every Poll, until
// ctx ends.
func (e *Edge) followStaples(ctx context.Context) {
	t := time.NewTicker(e.poll())
	defer t.Stop()
	for {
		e.loadStaples(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// staple returns what to serve of c (sv's certificate) for host: c itself
// when the host does not staple, a stapled copy when a good response is at
// hand, or nil when c must not be served (Must-Staple without a good
// response).
func (e *Edge) staple(sv *served, built *certEntry, host string, now time.Time) *tls.Certificate {
	c := built.c
	must := built.must
	if !must && !sv.site.policy().For(host).OCSP {
		return c
	}
	v, _ := e.staples.m.Load(sv.id())
	ent, _ := v.(*stapleEntry)
	if sc := ent.certFor(built, now); sc != nil {
		return sc
	}
	if must {
		e.warnOnce(sv.id(), whyNoStaple(ent, c, now))
		return nil
	}
	return c
}

// certFor returns built's certificate stapled with the entry's response
// when it is good and valid at now for its leaf; else nil. The stapled copy
// is kept in built, the cache entry, so it goes when the entry is evicted.
func (ent *stapleEntry) certFor(built *certEntry, now time.Time) *tls.Certificate {
	c := built.c
	if !ent.goodAt(now) || now.Unix() < ent.thisUpdate-5*60 {
		return nil
	}
	if m := built.stapled.Load(); m != nil && m.from == ent {
		return m.c
	}
	if built.leafSum != ent.fp { // a response for a leaf replaced since
		return nil
	}
	sc := *c
	sc.OCSPStaple = ent.response
	built.stapled.Store(&stapledCert{from: ent, c: &sc})
	return &sc
}

// whyNoStaple says why a certificate has no good response to staple (as
// GetCertificate shows it: cert.OCSPResponse.Problem).
func whyNoStaple(ent *stapleEntry, c *tls.Certificate, now time.Time) string {
	var r cert.OCSPResponse
	if ent != nil {
		r = cert.OCSPResponse{Fingerprint: hex.EncodeToString(ent.fp[:]), Status: ent.status, Response: ent.response,
			ThisUpdate: time.Unix(ent.thisUpdate, 0).UTC(), NextUpdate: time.Unix(ent.nextUpdate, 0).UTC(), Error: ent.err}
	}
	return r.Problem(fingerprint(c), now)
}

// warnOnce logs that a Must-Staple certificate is not served, once per
// certificate and reason.
func (e *Edge) warnOnce(id, why string) {
	if _, loaded := e.staples.warned.LoadOrStore(id+"|"+why, struct{}{}); loaded {
		return
	}
	e.log().Warn("edge does not serve a Must-Staple certificate without a good OCSP response", "certificate", id,
		"reason", why)
}

// fingerprint is the hex SHA-256 of c's leaf.
func fingerprint(c *tls.Certificate) string {
	sum := sha256.Sum256(c.Certificate[0])
	return hex.EncodeToString(sum[:])
}
