package edge

import (
	"encoding/pem"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/esacert/esacert/internal/cert"
)

// served is one certificate as the index keeps it: only what a lookup
// needs and what its tls.Certificate is built from. The built certificate
// (unsealed key, chain; no parsed leaf) lives in the edge's bounded cache, keyed by
// id and fp (see certcache.go).
type served struct {
	self     [1]*served // the candidates of a name only it has (see below); first, in the cache line a lookup reads
	id       string
	site     *siteConf
	chain    [][]byte // DER; the intermediates shared by the site's certificates that have the same
	sealed   []byte
	notAfter time.Time
	fp       uint64 // certFingerprint of id, leaf and sealed key
	rsa      bool
	names    []string      // the names it is served for: exact ones, and "*.parent" for a wildcard
	hint     atomic.Uint64 // the cache entry used last (certEntry.hint, certcache.go)
	mem      *arenaChunk   // holds chain[0] and sealed when they are outside the heap (arena.go)

	// Every object of the index is marked by each collection, so a served
	// holds its small parts itself (one object instead of several): chain
	// and names are slices of these when they fit (a leaf and an
	// intermediate, one or two names: most certificates), and self is the
	// candidates of a name that only this certificate has (most names).
	// A served is never copied (hint may not be), so these stay its own.
	chainBuf [2][]byte
	nameBuf  [2]string
}

// alone returns the candidates of a name that only sv has.
func (sv *served) alone() candidates { return sv.self[:] }

// candidates are the certificates for one name, best first; the
// candidates of a name only one certificate has are its served.alone. They
// are never changed once in an index.
type candidates []*served

// better orders candidates: unexpired first, then keys other than RSA
// (cheaper handshakes), then the later NotAfter, then the id.
func better(now time.Time) func(a, b *served) bool {
	return func(a, b *served) bool {
		ae, be := !now.Before(a.notAfter), !now.Before(b.notAfter)
		if ae != be {
			return !ae
		}
		if a.rsa != b.rsa {
			return !a.rsa
		}
		if !a.notAfter.Equal(b.notAfter) {
			return a.notAfter.After(b.notAfter)
		}
		return a.id < b.id
	}
}

// newServed turns one certificate of a served site into what the index
// serves, or nil when it has nothing to serve yet. chain is its chain as
// DER when already decoded (from a snapshot), else nil: ChainPEM is read.
// The served and its strings come from sl (nil: allocated on their own).
func newServed(c cert.Certificate, chain [][]byte, conf *siteConf, sl *slabs) *served {
	if len(c.SealedKey) == 0 || (len(chain) == 0 && c.ChainPEM == "") {
		return nil // nothing to serve yet (a free certificate still being applied for)
	}
	sv := sl.newServed()
	sv.id, sv.site, sv.sealed, sv.notAfter, sv.rsa = c.ID, conf, c.SealedKey, c.Info.NotAfter, c.Info.PubAlg == "RSA"
	sv.self[0] = sv
	sv.chain = append(sv.chainBuf[:0], chain...)
	for rest := []byte(c.ChainPEM); chain == nil && len(rest) > 0; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		sv.chain = append(sv.chain, blk.Bytes)
	}
	if len(sv.chain) == 0 {
		*sv = served{} // its slab's place is left unused
		return nil
	}
	for j := 1; j < len(sv.chain); j++ { // one copy of an intermediate the certificates share
		sv.chain[j] = intermediates.intern(sv.chain[j])
	}
	sv.fp = certFingerprint(fpSeed, sv.id, sv.chain[0], sv.sealed)
	names := c.Info.SANs
	if len(names) == 0 && c.Info.CommonName != "" {
		names = []string{normalize(c.Info.CommonName)}
	}
	sv.names = sv.nameBuf[:0]
	for _, n := range names {
		if underSite(n, conf.name) && !slices.Contains(sv.names, n) {
			sv.names = append(sv.names, n)
		}
	}
	sl.pack(&sv.id, sv.names)                                         // one object for the collector to mark instead of one a string (or none: slab.go)
	sv.chain, sv.names = slices.Clip(sv.chain), slices.Clip(sv.names) // an append to them never writes into the served
	return sv
}

// underSite reports whether a certificate name belongs to site: the site
// itself, a name under it, or a wildcard whose parent is one of those.
func underSite(name, site string) bool {
	name = strings.TrimPrefix(name, "*.")
	return name == site || strings.HasSuffix(name, "."+site)
}
